// A FileSystem that injects faults at the file seam, like LevelDB's FaultInjectionTestEnv:
// ENOSPC from allocation, EIO from syncs, short writes, failures of creation, renames,
// removals, closes and directory syncs. Each fault fires for calls whose file path
// contains `path_filter` (empty: all files), after `skip` matching calls, `times` times
// (-1: until cleared). One fault is armed at a time.
//
// Thread safety: safe from any thread (the WAL syncs from a background thread).
#pragma once

#include <atomic>
#include <mutex>
#include <string>

#include "format/file_system.h"

namespace runlog::test {

enum class FaultOp {
  kOpenCreate,  // Open with O_CREAT
  kOpen,        // Open without O_CREAT (reopening a segment, a lock or a small file)
  kAllocate,    // fallocate of a new or reopened segment
  kWrite,       // WriteAt (a segment header, a small file)
  kSync,        // SyncData or SyncMapped
  kSyncData,    // fdatasync only
  kSyncMapped,  // msync only
  kSyncDir,     // fsync of a directory
  kRename,      // matched against the target name
  kRemove,
  kClose,
  kMap,  // a writable mapping (readers map read-only and are left alone)
};

struct Fault {
  FaultOp op = FaultOp::kWrite;
  int err = 0;  // the errno the call fails with
  int skip = 0;
  int times = -1;
  std::string path_filter;
  bool exact = false;  // the path must equal path_filter, not just contain it
  // kWrite: half of the bytes land before the error (a short write). False: none do.
  bool short_write = true;
};

class FaultFileSystem : public FileSystem {
 public:
  // Arms a fault: `op` on a matching file fails with `err` (a short write writes half
  // first), after `skip` matching calls, `times` times.
  void Inject(FaultOp op, int err, int skip = 0, int times = -1, std::string path_filter = "");
  void Inject(Fault fault);
  void Clear();
  int fired() const { return fired_.load(); }
  // The file the last fault fired on ("" before any).
  std::string last_path();

  Result<int> Open(const std::string& path, int flags, unsigned mode) override;
  Status Close(int fd, const std::string& path) override;
  Status WriteAt(int fd, const std::string& path, uint64_t offset,
                 std::span<const uint8_t> data) override;
  Status Allocate(int fd, const std::string& path, uint64_t size) override;
  Status SyncData(int fd, const std::string& path) override;
  Status SyncMapped(void* addr, size_t length, const std::string& path) override;
  Status SyncDir(const std::string& dir) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Remove(const std::string& path) override;
  Result<void*> Map(int fd, const std::string& path, size_t length, bool writable) override;

 private:
  // The errno to fail with, or 0 to go ahead.
  int Check(FaultOp op, const std::string& path);

  std::mutex mu_;
  bool armed_ = false;     // guarded by mu_
  Fault fault_;            // guarded by mu_
  std::string last_path_;  // guarded by mu_
  std::atomic<int> fired_{0};
};

}  // namespace runlog::test
