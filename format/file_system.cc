#include "format/file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace runlog {
namespace {

std::string AtOffset(std::string_view what, uint64_t offset) {
  return std::string(what) + " at offset " + std::to_string(offset) + " of";
}

}  // namespace

FileSystem* FileSystem::Default() {
  static FileSystem* fs = new FileSystem();
  return fs;
}

Result<int> FileSystem::Open(const std::string& path, int flags, unsigned mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("no such file " + path);
    return Status::FromErrno("cannot open", path, errno);
  }
  return fd;
}

Status FileSystem::Close(int fd, const std::string& path) {
  if (::close(fd) != 0 && errno != EINTR) return Status::FromErrno("cannot close", path, errno);
  return Status::OK();
}

Result<uint64_t> FileSystem::Size(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::FromErrno("cannot stat", path, errno);
  return static_cast<uint64_t>(st.st_size);
}

Result<size_t> FileSystem::ReadAt(int fd, const std::string& path, uint64_t offset,
                                  std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n =
        ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(AtOffset("cannot read", offset + done), path, errno);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

Status FileSystem::WriteAt(int fd, const std::string& path, uint64_t offset,
                           std::span<const uint8_t> data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n =
        ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(AtOffset("cannot write", offset + done), path, errno);
    }
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

Status FileSystem::Allocate(int fd, const std::string& path, uint64_t size) {
  if (::fallocate(fd, 0, 0, static_cast<off_t>(size)) == 0) return Status::OK();
  int err = errno;
  if (err != EOPNOTSUPP && err != ENOSYS) {
    return Status::FromErrno("cannot allocate " + std::to_string(size) + " bytes for", path, err);
  }
  // No fallocate here: write zeros so the blocks exist before the file is mapped.
  RUNLOG_ASSIGN_OR_RETURN(uint64_t current, Size(fd, path));
  static const std::vector<uint8_t> zeros(1 << 20, 0);
  for (uint64_t off = current; off < size;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), size - off));
    RUNLOG_RETURN_IF_ERROR(WriteAt(fd, path, off, std::span(zeros.data(), n)));
    off += n;
  }
  return Status::OK();
}

Status FileSystem::PunchHole(int fd, const std::string& path, uint64_t offset, uint64_t length) {
  if (length == 0) return Status::OK();
  if (::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                  static_cast<off_t>(length)) == 0) {
    return Status::OK();
  }
  if (errno == EOPNOTSUPP || errno == ENOSYS) {
    return Status::NotSupported("hole punching is not supported for " + path);
  }
  return Status::FromErrno(AtOffset("cannot punch a hole", offset), path, errno);
}

Status FileSystem::Truncate(int fd, const std::string& path, uint64_t size) {
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    return Status::FromErrno("cannot truncate to " + std::to_string(size) + " bytes", path, errno);
  }
  return Status::OK();
}

Result<bool> FileSystem::NextDataRegion(int fd, const std::string& path, uint64_t offset,
                                        uint64_t* data, uint64_t* hole) {
  RUNLOG_ASSIGN_OR_RETURN(uint64_t size, Size(fd, path));
  if (offset >= size) return false;
  off_t d = ::lseek(fd, static_cast<off_t>(offset), SEEK_DATA);
  if (d < 0) {
    if (errno == ENXIO) return false;
    if (errno != EINVAL && errno != EOPNOTSUPP) {
      return Status::FromErrno("cannot seek in", path, errno);
    }
    *data = offset;  // no SEEK_DATA here: everything may be data
    *hole = size;
    return true;
  }
  off_t h = ::lseek(fd, d, SEEK_HOLE);
  *data = static_cast<uint64_t>(d);
  *hole = h < 0 ? size : std::min<uint64_t>(static_cast<uint64_t>(h), size);
  return true;
}

Status FileSystem::SyncData(int fd, const std::string& path) {
  if (::fdatasync(fd) != 0) return Status::FromErrno("cannot sync", path, errno);
  return Status::OK();
}

Status FileSystem::SyncMapped(void* addr, size_t length, const std::string& path) {
  if (length == 0) return Status::OK();
  if (::msync(addr, length, MS_SYNC) != 0) return Status::FromErrno("cannot sync", path, errno);
  return Status::OK();
}

Status FileSystem::SyncDir(const std::string& dir) {
  RUNLOG_ASSIGN_OR_RETURN(int fd, Open(dir, O_RDONLY | O_DIRECTORY));
  Status s;
  if (::fsync(fd) != 0) s = Status::FromErrno("cannot sync directory", dir, errno);
  ::close(fd);
  return s;
}

Result<void*> FileSystem::Map(int fd, const std::string& path, size_t length, bool writable) {
  int prot = PROT_READ | (writable ? PROT_WRITE : 0);
  void* p = ::mmap(nullptr, length, prot, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return Status::FromErrno("cannot map", path, errno);
  return p;
}

void FileSystem::Unmap(void* addr, size_t length) {
  if (addr != nullptr) ::munmap(addr, length);
}

Status FileSystem::CreateDirs(const std::string& dir) {
  if (dir.empty()) return Status::InvalidArgument("empty directory name");
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    std::string prefix = dir.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::FromErrno("cannot create directory", prefix, errno);
    }
  }
  RUNLOG_ASSIGN_OR_RETURN(bool is_dir, IsDirectory(dir));
  if (!is_dir) return Status::IOError("cannot create directory " + dir);
  return Status::OK();
}

Result<std::vector<std::string>> FileSystem::ListDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return Status::NotFound("no such directory " + dir);
    return Status::FromErrno("cannot list directory", dir, errno);
  }
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view n(e->d_name);
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(d);
  return names;
}

Status FileSystem::Rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return Status::FromErrno("cannot rename to " + to + ":", from, errno);
  }
  return Status::OK();
}

Status FileSystem::Remove(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return Status::FromErrno("cannot remove", path, errno);
  return Status::OK();
}

Result<bool> FileSystem::IsDirectory(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    return Status::FromErrno("cannot stat", path, errno);
  }
  return S_ISDIR(st.st_mode);
}

}  // namespace runlog
