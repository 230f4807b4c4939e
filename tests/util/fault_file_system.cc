#include "tests/util/fault_file_system.h"

#include <fcntl.h>

namespace runlog::test {

void FaultFileSystem::Inject(FaultOp op, int err, int skip, int times, std::string path_filter) {
  Inject(Fault{
      .op = op, .err = err, .skip = skip, .times = times, .path_filter = std::move(path_filter)});
}

void FaultFileSystem::Inject(Fault fault) {
  std::lock_guard<std::mutex> lock(mu_);
  armed_ = true;
  fault_ = std::move(fault);
}

void FaultFileSystem::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  armed_ = false;
}

std::string FaultFileSystem::last_path() {
  std::lock_guard<std::mutex> lock(mu_);
  return last_path_;
}

int FaultFileSystem::Check(FaultOp op, const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!armed_) return 0;
  if (fault_.exact ? path != fault_.path_filter
                   : path.find(fault_.path_filter) == std::string::npos) {
    return 0;
  }
  const bool matches =
      op == fault_.op ||
      (fault_.op == FaultOp::kSync && (op == FaultOp::kSyncData || op == FaultOp::kSyncMapped));
  if (!matches) return 0;
  if (fault_.skip > 0) {
    --fault_.skip;
    return 0;
  }
  if (fault_.times == 0) return 0;
  if (fault_.times > 0) --fault_.times;
  fired_.fetch_add(1);
  last_path_ = path;
  return fault_.err;
}

Result<int> FaultFileSystem::Open(const std::string& path, int flags, unsigned mode) {
  const FaultOp op = (flags & O_CREAT) != 0 ? FaultOp::kOpenCreate : FaultOp::kOpen;
  if (int err = Check(op, path)) return Status::FromErrno("cannot open", path, err);
  return FileSystem::Open(path, flags, mode);
}

Status FaultFileSystem::Close(int fd, const std::string& path) {
  if (int err = Check(FaultOp::kClose, path)) {
    // close(2) releases the descriptor even when it reports an error.
    (void)FileSystem::Close(fd, path);
    return Status::FromErrno("cannot close", path, err);
  }
  return FileSystem::Close(fd, path);
}

Status FaultFileSystem::WriteAt(int fd, const std::string& path, uint64_t offset,
                                std::span<const uint8_t> data) {
  if (int err = Check(FaultOp::kWrite, path)) {
    bool short_write;
    {
      std::lock_guard<std::mutex> lock(mu_);
      short_write = fault_.short_write;
    }
    // A short write: half the bytes land, then the error.
    const size_t landed = short_write ? data.size() / 2 : 0;
    if (landed > 0) (void)FileSystem::WriteAt(fd, path, offset, data.first(landed));
    return Status::FromErrno("cannot write at offset " + std::to_string(offset + landed) + " of",
                             path, err);
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
  if (int err = Check(FaultOp::kSyncData, path)) {
    return Status::FromErrno("cannot sync", path, err);
  }
  return FileSystem::SyncData(fd, path);
}

Status FaultFileSystem::SyncMapped(void* addr, size_t length, const std::string& path) {
  if (int err = Check(FaultOp::kSyncMapped, path)) {
    return Status::FromErrno("cannot sync", path, err);
  }
  return FileSystem::SyncMapped(addr, length, path);
}

Status FaultFileSystem::SyncDir(const std::string& dir) {
  if (int err = Check(FaultOp::kSyncDir, dir)) {
    return Status::FromErrno("cannot sync directory", dir, err);
  }
  return FileSystem::SyncDir(dir);
}

Status FaultFileSystem::Rename(const std::string& from, const std::string& to) {
  if (int err = Check(FaultOp::kRename, to)) {
    return Status::FromErrno("cannot rename to " + to + ":", from, err);
  }
  return FileSystem::Rename(from, to);
}

Status FaultFileSystem::Remove(const std::string& path) {
  if (int err = Check(FaultOp::kRemove, path)) return Status::FromErrno("cannot remove", path, err);
  return FileSystem::Remove(path);
}

Result<void*> FaultFileSystem::Map(int fd, const std::string& path, size_t length, bool writable) {
  // Only writable mappings: readers (the committer's, following the log) map read-only.
  if (int err = writable ? Check(FaultOp::kMap, path) : 0) {
    return Status::FromErrno("cannot map", path, err);
  }
  return FileSystem::Map(fd, path, length, writable);
}

}  // namespace runlog::test
