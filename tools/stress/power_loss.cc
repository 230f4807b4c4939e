#include "tools/stress/power_loss.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace runlog::stress {
namespace {

// A log segment keeps its preallocated size when its tail is lost (the pages read as
// zeros); other files are cut back to their synced size.
bool IsLogSegment(const std::string& path) {
  return path.find("/wal/") != std::string::npos;
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// One past the last non-zero byte of `data`, or 0.
size_t NonZeroEnd(const uint8_t* data, size_t n) {
  while (n > 0 && data[n - 1] == 0) --n;
  return n;
}

// One past the last non-zero byte of the file, read backwards; 0 for an all-zero file.
Result<uint64_t> FileNonZeroEnd(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::IOError(path + ": fstat: " + std::strerror(errno));
  std::vector<uint8_t> buf(1 << 16);
  uint64_t end = static_cast<uint64_t>(st.st_size);
  while (end > 0) {
    const uint64_t start = end > buf.size() ? end - buf.size() : 0;
    const ssize_t got = ::pread(fd, buf.data(), end - start, static_cast<off_t>(start));
    if (got != static_cast<ssize_t>(end - start))
      return Status::IOError(path + ": pread: " + std::strerror(errno));
    if (size_t n = NonZeroEnd(buf.data(), end - start); n > 0) return start + n;
    end = start;
  }
  return 0;
}

}  // namespace

// ---- SyncJournal -------------------------------------------------------------------------

std::unique_ptr<SyncJournal> SyncJournal::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return nullptr;
  return std::unique_ptr<SyncJournal>(new SyncJournal(fd));
}

SyncJournal::~SyncJournal() {
  ::close(fd_);
}

// O_APPEND and one write() per line: lines from many threads never interleave.
void SyncJournal::Line(const std::string& line) {
  if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(7);
}

void SyncJournal::Created(const std::string& path) {
  Line("C\t" + path + "\n");
}
void SyncJournal::Synced(const std::string& path, uint64_t extent) {
  Line("S\t" + path + "\t" + std::to_string(extent) + "\n");
}
void SyncJournal::Renamed(const std::string& from, const std::string& to) {
  Line("R\t" + from + "\t" + to + "\n");
}
void SyncJournal::Removed(const std::string& path) {
  Line("D\t" + path + "\n");
}

// ---- ProbeFileSystem ---------------------------------------------------------------------

Result<int> ProbeFileSystem::Open(const std::string& path, int flags, unsigned mode) {
  if (j_ != nullptr && (flags & O_CREAT) != 0 && ::access(path.c_str(), F_OK) != 0)
    j_->Created(path);
  return base()->Open(path, flags, mode);
}

// A log segment's durable extent is where its data ends (its tail is preallocated zeros);
// any other file's is its size.
Status ProbeFileSystem::SyncData(int fd, const std::string& path) {
  RUNLOG_RETURN_IF_ERROR(base()->SyncData(fd, path));
  if (j_ != nullptr) {
    Result<uint64_t> extent =
        IsLogSegment(path) ? FileNonZeroEnd(fd, path) : base()->Size(fd, path);
    if (!extent.ok()) return extent.status();
    j_->Synced(path, *extent);
  }
  sink_(kEventLogSync);
  return Status::OK();
}

Status ProbeFileSystem::SyncMapped(void* addr, size_t length, const std::string& path) {
  RUNLOG_RETURN_IF_ERROR(base()->SyncMapped(addr, length, path));
  if (j_ != nullptr) {
    const auto* p = static_cast<const uint8_t*>(addr);
    uint64_t offset = 0;
    {
      std::lock_guard lock(mu_);
      auto it = std::find_if(maps_.rbegin(), maps_.rend(), [&](const Mapping& m) {
        return m.path == path && p >= m.base && p + length <= m.base + m.length;
      });
      if (it == maps_.rend())
        return Status::InvalidArgument("stress: an msync outside any mapping of " + path);
      offset = static_cast<uint64_t>(p - it->base);
    }
    // Only the synced range is read: appenders may be writing past it.
    if (size_t n = NonZeroEnd(p, length); n > 0) j_->Synced(path, offset + n);
  }
  sink_(kEventLogSync);
  return Status::OK();
}

Result<void*> ProbeFileSystem::Map(int fd, const std::string& path, size_t length, bool writable) {
  Result<void*> r = base()->Map(fd, path, length, writable);
  if (r.ok() && !writable) {
    std::lock_guard lock(mu_);
    maps_.push_back({static_cast<const uint8_t*>(*r), length, path});
  }
  return r;
}

void ProbeFileSystem::Unmap(void* addr, size_t length) {
  {
    std::lock_guard lock(mu_);
    std::erase_if(maps_, [&](const Mapping& m) { return m.base == addr && m.length == length; });
  }
  base()->Unmap(addr, length);
}

Status ProbeFileSystem::Rename(const std::string& from, const std::string& to) {
  RUNLOG_RETURN_IF_ERROR(base()->Rename(from, to));
  if (j_ != nullptr) j_->Renamed(from, to);
  if (IsLogSegment(to) && EndsWith(to, ".wal")) sink_(kEventSegment);
  return Status::OK();
}

Status ProbeFileSystem::Remove(const std::string& path) {
  RUNLOG_RETURN_IF_ERROR(base()->Remove(path));
  if (j_ != nullptr) j_->Removed(path);
  return Status::OK();
}

// ---- ProbeRocksFs ------------------------------------------------------------------------

// Counts what was appended; a sync makes that much durable.
class ProbeRocksFs::File : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  File(std::unique_ptr<rocksdb::FSWritableFile> f, std::string name, uint64_t size,
       const EventSink& sink, SyncJournal* j)
      : rocksdb::FSWritableFileOwnerWrapper(std::move(f)),
        name_(std::move(name)),
        size_(size),
        sink_(sink),
        j_(j) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* dbg) override {
    auto s = target()->Append(data, o, dbg);
    if (s.ok()) size_ += data.size();
    return s;
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& v,
                           rocksdb::IODebugContext* dbg) override {
    auto s = target()->Append(data, o, v, dbg);
    if (s.ok()) size_ += data.size();
    return s;
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& o,
                                     rocksdb::IODebugContext* dbg) override {
    auto s = target()->PositionedAppend(data, offset, o, dbg);
    if (s.ok()) size_ = std::max<uint64_t>(size_, offset + data.size());
    return s;
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& o,
                                     const rocksdb::DataVerificationInfo& v,
                                     rocksdb::IODebugContext* dbg) override {
    auto s = target()->PositionedAppend(data, offset, o, v, dbg);
    if (s.ok()) size_ = std::max<uint64_t>(size_, offset + data.size());
    return s;
  }
  rocksdb::IOStatus Truncate(uint64_t size, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* dbg) override {
    auto s = target()->Truncate(size, o, dbg);
    if (s.ok()) size_ = size;
    return s;
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    return Synced(target()->Sync(o, dbg));
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    return Synced(target()->Fsync(o, dbg));
  }

 private:
  rocksdb::IOStatus Synced(rocksdb::IOStatus s) {
    if (!s.ok()) return s;
    if (j_ != nullptr) j_->Synced(name_, size_);
    sink_(kEventStoreSync);
    return s;
  }

  const std::string name_;
  uint64_t size_;  // RocksDB does not append to one file from two threads at once
  const EventSink& sink_;
  SyncJournal* j_;
};

rocksdb::IOStatus ProbeRocksFs::NewWritableFile(const std::string& name,
                                                const rocksdb::FileOptions& o,
                                                std::unique_ptr<rocksdb::FSWritableFile>* out,
                                                rocksdb::IODebugContext* dbg) {
  if (j_ != nullptr) j_->Created(name);
  std::unique_ptr<rocksdb::FSWritableFile> file;
  auto s = target()->NewWritableFile(name, o, &file, dbg);
  if (!s.ok()) return s;
  out->reset(new File(std::move(file), name, 0, sink_, j_));
  if (EndsWith(name, ".sst")) sink_(kEventTable);
  return s;
}

// Reopened files keep what they held (it was durable); appends are tracked from there.
rocksdb::IOStatus ProbeRocksFs::ReopenWritableFile(const std::string& name,
                                                   const rocksdb::FileOptions& o,
                                                   std::unique_ptr<rocksdb::FSWritableFile>* out,
                                                   rocksdb::IODebugContext* dbg) {
  uint64_t size = 0;
  if (!target()->GetFileSize(name, rocksdb::IOOptions(), &size, dbg).ok()) size = 0;
  std::unique_ptr<rocksdb::FSWritableFile> file;
  auto s = target()->ReopenWritableFile(name, o, &file, dbg);
  if (!s.ok()) return s;
  if (j_ != nullptr) j_->Synced(name, size);
  out->reset(new File(std::move(file), name, size, sink_, j_));
  return s;
}

rocksdb::IOStatus ProbeRocksFs::RenameFile(const std::string& from, const std::string& to,
                                           const rocksdb::IOOptions& o,
                                           rocksdb::IODebugContext* dbg) {
  auto s = target()->RenameFile(from, to, o, dbg);
  if (s.ok() && j_ != nullptr) j_->Renamed(from, to);
  return s;
}

rocksdb::IOStatus ProbeRocksFs::DeleteFile(const std::string& name, const rocksdb::IOOptions& o,
                                           rocksdb::IODebugContext* dbg) {
  auto s = target()->DeleteFile(name, o, dbg);
  if (s.ok() && j_ != nullptr) j_->Removed(name);
  return s;
}

// ---- the power loss ----------------------------------------------------------------------

namespace {

struct FileState {
  bool created = false;  // in this life
  bool synced = false;
  uint64_t extent = 0;  // durable bytes
};

// Zeroes [from, size) of a log segment: its lost pages.
Result<uint64_t> DropLogTail(const std::string& path, uint64_t from) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Status::IOError(path + ": open: " + std::strerror(errno));
  Result<uint64_t> end = FileNonZeroEnd(fd, path);
  uint64_t dropped = 0;
  if (end.ok() && *end > from) {
    std::vector<uint8_t> zeros(*end - from);
    if (::pwrite(fd, zeros.data(), zeros.size(), static_cast<off_t>(from)) !=
        static_cast<ssize_t>(zeros.size())) {
      end = Status::IOError(path + ": pwrite: " + std::strerror(errno));
    }
    dropped = zeros.size();
  }
  ::close(fd);
  if (!end.ok()) return end.status();
  return dropped;
}

}  // namespace

Result<PowerLossOutcome> SimulatePowerLoss(const std::string& journal_path) {
  std::ifstream in(journal_path);
  std::map<std::string, FileState> files;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string part; std::getline(ss, part, '\t');) f.push_back(part);
    if (f.size() < 2) return Status::Corruption("stress journal " + journal_path + ": " + line);
    if (f[0] == "C") {
      files[f[1]] = FileState{.created = true};
    } else if (f[0] == "S" && f.size() == 3) {
      FileState& s = files[f[1]];
      s.synced = true;
      s.extent = std::max<uint64_t>(s.extent, std::stoull(f[2]));
    } else if (f[0] == "R" && f.size() == 3) {
      FileState moved = files[f[1]];
      files.erase(f[1]);
      files[f[2]] = moved;
    } else if (f[0] == "D") {
      files.erase(f[1]);
    } else {
      return Status::Corruption("stress journal " + journal_path + ": " + line);
    }
  }
  PowerLossOutcome out;
  for (const auto& [path, s] : files) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) continue;
    if (!s.synced) {
      if (!s.created) continue;
      if (::unlink(path.c_str()) != 0)
        return Status::IOError(path + ": unlink: " + std::strerror(errno));
      ++out.files_removed;
      out.bytes_dropped += static_cast<uint64_t>(st.st_size);
      continue;
    }
    if (IsLogSegment(path)) {
      RUNLOG_ASSIGN_OR_RETURN(uint64_t dropped, DropLogTail(path, s.extent));
      out.files_cut += dropped > 0;
      out.bytes_dropped += dropped;
    } else if (static_cast<uint64_t>(st.st_size) > s.extent) {
      if (::truncate(path.c_str(), static_cast<off_t>(s.extent)) != 0)
        return Status::IOError(path + ": truncate: " + std::strerror(errno));
      ++out.files_cut;
      out.bytes_dropped += static_cast<uint64_t>(st.st_size) - s.extent;
    }
  }
  return out;
}

}  // namespace runlog::stress
