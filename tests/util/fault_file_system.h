// A FileSystem that injects faults at the file seam, like LevelDB's FaultInjectionTestEnv:
// ENOSPC from allocation, EIO from syncs, short writes, failures of creation. Each fault
// fires for calls whose file path contains `path_filter` (empty: all files), after
// `skip` matching calls, `times` times (-1: until cleared).
#pragma once

#include <atomic>
#include <mutex>
#include <string>

#include "format/file_system.h"

namespace runlog::test {

enum class FaultOp { kOpenCreate, kAllocate, kWrite, kSync, kRename, kMap };

class FaultFileSystem : public FileSystem {
 public:
  // Arms a fault: `op` on a matching file fails with `err` (a short write writes half
  // first), after `skip` matching calls, `times` times.
  void Inject(FaultOp op, int err, int skip = 0, int times = -1, std::string path_filter = "");
  void Clear();
  int fired() const { return fired_.load(); }

  Result<int> Open(const std::string& path, int flags, unsigned mode) override;
  Status WriteAt(int fd, const std::string& path, uint64_t offset,
                 std::span<const uint8_t> data) override;
  Status Allocate(int fd, const std::string& path, uint64_t size) override;
  Status SyncData(int fd, const std::string& path) override;
  Status SyncMapped(void* addr, size_t length, const std::string& path) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Result<void*> Map(int fd, const std::string& path, size_t length, bool writable) override;

 private:
  // The errno to fail with, or 0 to go ahead.
  int Check(FaultOp op, const std::string& path);

  std::mutex mu_;
  bool armed_ = false;
  FaultOp op_ = FaultOp::kWrite;
  int err_ = 0;
  int skip_ = 0;
  int times_ = 0;
  std::string filter_;
  std::atomic<int> fired_{0};
};

}  // namespace runlog::test
