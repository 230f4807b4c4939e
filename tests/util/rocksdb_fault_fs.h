// A RocksDB FileSystem that injects faults under a run's database, the RocksDB side of
// tests/util/fault_file_system.h: ENOSPC or EIO from creating, appending to (optionally a
// short append first), syncing or closing a writable file, from renames and from directory
// syncs. A fault fires for files whose name contains `name_filter` (empty: all), after
// `skip` matching calls, `times` times (-1: until cleared).
//
// Install it for the stores a test opens with
//   auto env = rocksdb::NewCompositeEnv(fs);
//   engine::SetStoreEnvForTesting(env.get());
//
// Thread safety: safe from any thread (RocksDB flushes on its own threads).
#pragma once

#include <rocksdb/file_system.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace runlog::test {

// Bits: a fault may cover several operations (a full disk fails creation and appends).
enum RocksDbFaultOp : uint32_t {
  kRdbNewWritableFile = 1u << 0,  // NewWritableFile, ReopenWritableFile, ReuseWritableFile
  kRdbAppend = 1u << 1,           // Append, PositionedAppend
  kRdbSync = 1u << 2,             // Sync, Fsync, RangeSync of a writable file
  kRdbClose = 1u << 3,            // Close of a writable file
  kRdbRename = 1u << 4,           // RenameFile (matched against the target name)
  kRdbNewDirectory = 1u << 5,     // NewDirectory
  kRdbDirFsync = 1u << 6,         // Fsync of a directory (matched against its name)
};

struct RocksDbFault {
  uint32_t ops = 0;  // RocksDbFaultOp bits
  int err = 0;       // ENOSPC gives IOStatus::NoSpace, anything else IOStatus::IOError
  int skip = 0;
  int times = -1;
  std::string name_filter;
  bool short_append = false;  // kRdbAppend: half of the data lands before the error
};

class RocksDbFaultFs : public rocksdb::FileSystemWrapper {
 public:
  RocksDbFaultFs();
  const char* Name() const override { return "RocksDbFaultFs"; }

  void Inject(RocksDbFault fault);
  // A full disk: creating and appending fail with ENOSPC while `full`.
  void SetFull(bool full);
  void Clear();
  int fired() const { return fired_.load(); }

  // The error to fail with for `op` on `name` (OK: go ahead). Used by the file wrappers.
  rocksdb::IOStatus Check(RocksDbFaultOp op, const std::string& name, bool* short_append = nullptr);

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* out,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* out,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& name, const std::string& old,
                                      const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* out,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& from, const std::string& to,
                               const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& o,
                                 std::unique_ptr<rocksdb::FSDirectory>* out,
                                 rocksdb::IODebugContext* dbg) override;

 private:
  rocksdb::IOStatus Wrap(const std::string& name, rocksdb::IOStatus s,
                         std::unique_ptr<rocksdb::FSWritableFile>* out);

  std::mutex mu_;
  bool armed_ = false;  // guarded by mu_
  RocksDbFault fault_;  // guarded by mu_
  std::atomic<int> fired_{0};
};

}  // namespace runlog::test
