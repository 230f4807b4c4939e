// An exclusive, non-blocking writer lock held through flock(2) on a file that records the
// holder's pid: one writer process per log or run, and an error naming the holder for the
// others. The lock dies with its process (kill -9 included).
//
// Thread safety: a LockFile is owned by one object; distinct locks are independent.
#pragma once

#include <memory>
#include <string>

#include "format/file_system.h"
#include "runlog/status.h"

namespace runlog {

class LockFile {
 public:
  // Locks `path` (created when missing). RunLocked "<what> is being written by process
  // <pid>" when another process holds it.
  static Result<std::unique_ptr<LockFile>> Acquire(FileSystem* fs, const std::string& path,
                                                   const std::string& what);
  // Tries the lock without keeping it: OK when no process holds it, RunLocked otherwise.
  static Status Probe(FileSystem* fs, const std::string& path, const std::string& what);
  ~LockFile();
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;

 private:
  explicit LockFile(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace runlog
