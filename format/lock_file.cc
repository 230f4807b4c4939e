#include "format/lock_file.h"

#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

namespace runlog {

Result<std::unique_ptr<LockFile>> LockFile::Acquire(FileSystem* fs, const std::string& path,
                                                    const std::string& what) {
  RUNLOG_ASSIGN_OR_RETURN(int fd, fs->Open(path, O_RDWR | O_CREAT));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char buf[32] = {0};
    ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
    ::close(fd);
    if (err != EWOULDBLOCK) return Status::FromErrno("cannot lock", path, err);
    std::string holder = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "unknown";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    return Status::RunLocked(what + " is being written by process " + holder);
  }
  std::unique_ptr<LockFile> lock(new LockFile(fd));
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return Status::FromErrno("cannot write the pid into", path, errno);
  }
  return lock;
}

Status LockFile::Probe(FileSystem* fs, const std::string& path, const std::string& what) {
  RUNLOG_ASSIGN_OR_RETURN(auto lock, Acquire(fs, path, what));
  return Status::OK();
}

LockFile::~LockFile() {
  ::close(fd_);  // releases the flock
}

}  // namespace runlog
