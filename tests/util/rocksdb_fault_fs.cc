#include "tests/util/rocksdb_fault_fs.h"

#include <cerrno>
#include <cstring>

namespace runlog::test {
namespace {

class FaultyWritableFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultyWritableFile(std::unique_ptr<rocksdb::FSWritableFile> file, std::string name,
                     RocksDbFaultFs* fs)
      : rocksdb::FSWritableFileOwnerWrapper(std::move(file)), name_(std::move(name)), fs_(fs) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* dbg) override {
    bool short_append = false;
    rocksdb::IOStatus s = fs_->Check(kRdbAppend, name_, &short_append);
    if (!s.ok()) {
      if (short_append && data.size() > 1) {
        target()
            ->Append(rocksdb::Slice(data.data(), data.size() / 2), o, dbg)
            .PermitUncheckedError();
      }
      return s;
    }
    return target()->Append(data, o, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& /*info*/,
                           rocksdb::IODebugContext* dbg) override {
    return Append(data, o, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& o,
                                     rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = fs_->Check(kRdbAppend, name_);
    if (!s.ok()) return s;
    return target()->PositionedAppend(data, offset, o, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& o,
                                     const rocksdb::DataVerificationInfo& /*info*/,
                                     rocksdb::IODebugContext* dbg) override {
    return PositionedAppend(data, offset, o, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = fs_->Check(kRdbSync, name_);
    return s.ok() ? target()->Sync(o, dbg) : s;
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = fs_->Check(kRdbSync, name_);
    return s.ok() ? target()->Fsync(o, dbg) : s;
  }
  rocksdb::IOStatus RangeSync(uint64_t offset, uint64_t n, const rocksdb::IOOptions& o,
                              rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = fs_->Check(kRdbSync, name_);
    return s.ok() ? target()->RangeSync(offset, n, o, dbg) : s;
  }
  rocksdb::IOStatus Close(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = fs_->Check(kRdbClose, name_);
    // The descriptor goes either way, as close(2)'s does.
    rocksdb::IOStatus closed = target()->Close(o, dbg);
    return s.ok() ? closed : s;
  }

 private:
  const std::string name_;
  RocksDbFaultFs* const fs_;
};

class FaultyDirectory : public rocksdb::FSDirectoryWrapper {
 public:
  FaultyDirectory(std::unique_ptr<rocksdb::FSDirectory> dir, std::string name, RocksDbFaultFs* fs)
      : rocksdb::FSDirectoryWrapper(std::move(dir)), name_(std::move(name)), fs_(fs) {}

  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = fs_->Check(kRdbDirFsync, name_);
    return s.ok() ? rocksdb::FSDirectoryWrapper::Fsync(o, dbg) : s;
  }
  rocksdb::IOStatus FsyncWithDirOptions(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg,
                                        const rocksdb::DirFsyncOptions& d) override {
    rocksdb::IOStatus s = fs_->Check(kRdbDirFsync, name_);
    return s.ok() ? rocksdb::FSDirectoryWrapper::FsyncWithDirOptions(o, dbg, d) : s;
  }

 private:
  const std::string name_;
  RocksDbFaultFs* const fs_;
};

}  // namespace

RocksDbFaultFs::RocksDbFaultFs() : rocksdb::FileSystemWrapper(rocksdb::FileSystem::Default()) {}

void RocksDbFaultFs::Inject(RocksDbFault fault) {
  std::lock_guard<std::mutex> lock(mu_);
  armed_ = true;
  fault_ = std::move(fault);
}

void RocksDbFaultFs::SetFull(bool full) {
  if (full) {
    Inject({.ops = kRdbNewWritableFile | kRdbAppend, .err = ENOSPC});
  } else {
    Clear();
  }
}

void RocksDbFaultFs::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  armed_ = false;
}

rocksdb::IOStatus RocksDbFaultFs::Check(RocksDbFaultOp op, const std::string& name,
                                        bool* short_append) {
  int err;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!armed_ || (fault_.ops & op) == 0 || name.find(fault_.name_filter) == std::string::npos) {
      return rocksdb::IOStatus::OK();
    }
    if (fault_.skip > 0) {
      --fault_.skip;
      return rocksdb::IOStatus::OK();
    }
    if (fault_.times == 0) return rocksdb::IOStatus::OK();
    if (fault_.times > 0) --fault_.times;
    err = fault_.err;
    if (short_append != nullptr) *short_append = fault_.short_append;
  }
  fired_.fetch_add(1);
  // RocksDB's own messages read "<context>: <file>: <strerror>".
  const std::string msg = "injected fault: " + name;
  if (err == ENOSPC) return rocksdb::IOStatus::NoSpace(msg, std::strerror(err));
  return rocksdb::IOStatus::IOError(msg, std::strerror(err));
}

rocksdb::IOStatus RocksDbFaultFs::Wrap(const std::string& name, rocksdb::IOStatus s,
                                       std::unique_ptr<rocksdb::FSWritableFile>* out) {
  if (s.ok()) out->reset(new FaultyWritableFile(std::move(*out), name, this));
  return s;
}

rocksdb::IOStatus RocksDbFaultFs::NewWritableFile(const std::string& name,
                                                  const rocksdb::FileOptions& o,
                                                  std::unique_ptr<rocksdb::FSWritableFile>* out,
                                                  rocksdb::IODebugContext* dbg) {
  if (rocksdb::IOStatus s = Check(kRdbNewWritableFile, name); !s.ok()) return s;
  return Wrap(name, target()->NewWritableFile(name, o, out, dbg), out);
}

rocksdb::IOStatus RocksDbFaultFs::ReopenWritableFile(const std::string& name,
                                                     const rocksdb::FileOptions& o,
                                                     std::unique_ptr<rocksdb::FSWritableFile>* out,
                                                     rocksdb::IODebugContext* dbg) {
  if (rocksdb::IOStatus s = Check(kRdbNewWritableFile, name); !s.ok()) return s;
  return Wrap(name, target()->ReopenWritableFile(name, o, out, dbg), out);
}

rocksdb::IOStatus RocksDbFaultFs::ReuseWritableFile(const std::string& name, const std::string& old,
                                                    const rocksdb::FileOptions& o,
                                                    std::unique_ptr<rocksdb::FSWritableFile>* out,
                                                    rocksdb::IODebugContext* dbg) {
  if (rocksdb::IOStatus s = Check(kRdbNewWritableFile, name); !s.ok()) return s;
  return Wrap(name, target()->ReuseWritableFile(name, old, o, out, dbg), out);
}

rocksdb::IOStatus RocksDbFaultFs::RenameFile(const std::string& from, const std::string& to,
                                             const rocksdb::IOOptions& o,
                                             rocksdb::IODebugContext* dbg) {
  if (rocksdb::IOStatus s = Check(kRdbRename, to); !s.ok()) return s;
  return target()->RenameFile(from, to, o, dbg);
}

rocksdb::IOStatus RocksDbFaultFs::NewDirectory(const std::string& name, const rocksdb::IOOptions& o,
                                               std::unique_ptr<rocksdb::FSDirectory>* out,
                                               rocksdb::IODebugContext* dbg) {
  if (rocksdb::IOStatus s = Check(kRdbNewDirectory, name); !s.ok()) return s;
  rocksdb::IOStatus s = target()->NewDirectory(name, o, out, dbg);
  if (s.ok()) out->reset(new FaultyDirectory(std::move(*out), name, this));
  return s;
}

}  // namespace runlog::test
