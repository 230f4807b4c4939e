// The file seam: every system call the WAL makes on files goes through a FileSystem, so
// tests can inject faults (ENOSPC, EIO, short writes, failed syncs) at exactly one place.
//
// Thread safety: the default FileSystem is stateless and safe from any thread. Wrappers
// must be safe from any thread too (the WAL syncs from a background thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "runlog/status.h"

namespace runlog {

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // The process-wide POSIX implementation. Never null, never destroyed.
  static FileSystem* Default();

  // open(2); `path` only names the file in errors.
  virtual Result<int> Open(const std::string& path, int flags, unsigned mode = 0644);
  virtual Status Close(int fd, const std::string& path);
  virtual Result<uint64_t> Size(int fd, const std::string& path);

  // Reads exactly out.size() bytes at `offset` unless the file ends first; returns the
  // number of bytes read.
  virtual Result<size_t> ReadAt(int fd, const std::string& path, uint64_t offset,
                                std::span<uint8_t> out);
  // Writes all of `data` at `offset`, retrying short writes; an error names the offset.
  virtual Status WriteAt(int fd, const std::string& path, uint64_t offset,
                         std::span<const uint8_t> data);

  // Reserves disk blocks for [0, size) so that later writes through a mapping cannot fail
  // for lack of space (fallocate; writes zeros where the filesystem cannot fallocate).
  virtual Status Allocate(int fd, const std::string& path, uint64_t size);
  // Frees the blocks of [offset, offset + length) keeping the file size; the range reads
  // as zeros. Filesystems without hole punching return NotSupported, which callers ignore.
  virtual Status PunchHole(int fd, const std::string& path, uint64_t offset, uint64_t length);
  virtual Status Truncate(int fd, const std::string& path, uint64_t size);
  // The data regions at or after `offset` (lseek SEEK_DATA/SEEK_HOLE): sets *data to the
  // start of the next region that may hold non-zero bytes and *hole to its end. Returns
  // false when only holes follow. Filesystems without the lseek extension report one
  // region up to the end of the file.
  virtual Result<bool> NextDataRegion(int fd, const std::string& path, uint64_t offset,
                                      uint64_t* data, uint64_t* hole);

  // fdatasync(2).
  virtual Status SyncData(int fd, const std::string& path);
  // msync(MS_SYNC) of a range of a shared mapping (page-aligned start).
  virtual Status SyncMapped(void* addr, size_t length, const std::string& path);
  // fsync of a directory, making created, renamed and removed entries durable.
  virtual Status SyncDir(const std::string& dir);

  // mmap of [0, length) of `fd`, shared; read-only unless `writable`.
  virtual Result<void*> Map(int fd, const std::string& path, size_t length, bool writable);
  virtual void Unmap(void* addr, size_t length);

  // Creates `dir` and its missing parents.
  virtual Status CreateDirs(const std::string& dir);
  // Names of the entries of `dir` (no "." or ".."), unsorted.
  virtual Result<std::vector<std::string>> ListDir(const std::string& dir);
  virtual Status Rename(const std::string& from, const std::string& to);
  virtual Status Remove(const std::string& path);
  // True for an existing directory, false for a missing path; an error for anything else.
  virtual Result<bool> IsDirectory(const std::string& path);
};

}  // namespace runlog
