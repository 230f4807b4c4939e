#include "tests/util/fault_file_system.h"

#include <fcntl.h>

namespace runlog::test {

void FaultFileSystem::Inject(FaultOp op, int err, int skip, int times, std::string path_filter) {
  std::lock_guard<std::mutex> lock(mu_);
  armed_ = true;
  op_ = op;
  err_ = err;
  skip_ = skip;
  times_ = times;
  filter_ = std::move(path_filter);
}

void FaultFileSystem::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  armed_ = false;
}

int FaultFileSystem::Check(FaultOp op, const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!armed_ || op != op_ || path.find(filter_) == std::string::npos) return 0;
  if (skip_ > 0) {
    --skip_;
    return 0;
  }
  if (times_ == 0) return 0;
  if (times_ > 0) --times_;
  fired_.fetch_add(1);
  return err_;
}

Result<int> FaultFileSystem::Open(const std::string& path, int flags, unsigned mode) {
  if ((flags & O_CREAT) != 0) {
    if (int err = Check(FaultOp::kOpenCreate, path))
      return Status::FromErrno("cannot open", path, err);
  }
  return FileSystem::Open(path, flags, mode);
}

Status FaultFileSystem::WriteAt(int fd, const std::string& path, uint64_t offset,
                                std::span<const uint8_t> data) {
  if (int err = Check(FaultOp::kWrite, path)) {
    // A short write: half the bytes land, then the error.
    (void)FileSystem::WriteAt(fd, path, offset, data.first(data.size() / 2));
    return Status::FromErrno(
        "cannot write at offset " + std::to_string(offset + data.size() / 2) + " of", path, err);
  }
  return FileSystem::WriteAt(fd, path, offset, data);
}

Status FaultFileSystem::Allocate(int fd, const std::string& path, uint64_t size) {
  if (int err = Check(FaultOp::kAllocate, path)) {
    return Status::FromErrno("cannot allocate " + std::to_string(size) + " bytes for", path, err);
  }
  return FileSystem::Allocate(fd, path, size);
}

Status FaultFileSystem::SyncData(int fd, const std::string& path) {
  if (int err = Check(FaultOp::kSync, path)) return Status::FromErrno("cannot sync", path, err);
  return FileSystem::SyncData(fd, path);
}

Status FaultFileSystem::SyncMapped(void* addr, size_t length, const std::string& path) {
  if (int err = Check(FaultOp::kSync, path)) return Status::FromErrno("cannot sync", path, err);
  return FileSystem::SyncMapped(addr, length, path);
}

Status FaultFileSystem::Rename(const std::string& from, const std::string& to) {
  if (int err = Check(FaultOp::kRename, to)) return Status::FromErrno("cannot rename", from, err);
  return FileSystem::Rename(from, to);
}

Result<void*> FaultFileSystem::Map(int fd, const std::string& path, size_t length, bool writable) {
  if (int err = Check(FaultOp::kMap, path)) return Status::FromErrno("cannot map", path, err);
  return FileSystem::Map(fd, path, length, writable);
}

}  // namespace runlog::test
