// The stress child's view of its files, and the simulated power loss.
//
// The child runs its repository on ProbeFileSystem (the WAL's file seam) and its run
// databases on ProbeRocksFs (RocksDB's FileSystem). Both report moments worth a kill to the
// driver (a segment created, a log sync, a RocksDB table or manifest written, a RocksDB
// sync) and, in power-loss mode, journal what became durable: a file created, the extent of
// a file made durable by a sync, a rename, a removal. The journal is a file outside the
// repository, appended with one write() per line, so that it survives the child's SIGKILL.
//
// After the kill, SimulatePowerLoss() makes the repository look as it would after a power
// cut at that moment: the data a sync did not cover is dropped (the unsynced tail of a log
// segment reads as zeros, as the log's recovery expects of lost pages; a RocksDB file is cut
// back to its synced size), and files created but never synced disappear. Directory syncs
// are not modelled: a created or renamed name is taken to be durable once its file's data
// is. Files the child did not write are left alone (what an earlier life left was durable).
#pragma once

#include <rocksdb/file_system.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "format/file_system.h"

namespace runlog::stress {

// What the probes report (the names travel through the report pipe).
inline constexpr const char* kEventSegment = "segment";  // a log segment was created
inline constexpr const char* kEventLogSync = "log-sync";
inline constexpr const char* kEventTable = "table";  // RocksDB created an .sst (a flush)
inline constexpr const char* kEventStoreSync = "store-sync";
inline constexpr const char* kEvents[] = {kEventSegment, kEventLogSync, kEventTable,
                                          kEventStoreSync};

using EventSink = std::function<void(const char* event)>;

// The journal of durable state; thread-safe. Lines: "C\tpath", "S\tpath\textent",
// "R\tfrom\tto", "D\tpath".
class SyncJournal {
 public:
  // Appends to `path` (created if missing). A null journal journals nothing.
  static std::unique_ptr<SyncJournal> Open(const std::string& path);
  ~SyncJournal();

  void Created(const std::string& path);
  void Synced(const std::string& path, uint64_t extent);
  void Renamed(const std::string& from, const std::string& to);
  void Removed(const std::string& path);

 private:
  explicit SyncJournal(int fd) : fd_(fd) {}
  void Line(const std::string& line);
  int fd_;
};

// The log's file seam with probes. `journal` may be null (kills only, no power loss).
class ProbeFileSystem : public FileSystem {
 public:
  ProbeFileSystem(EventSink sink, SyncJournal* journal) : sink_(std::move(sink)), j_(journal) {}

  Result<int> Open(const std::string& path, int flags, unsigned mode) override;
  Status SyncData(int fd, const std::string& path) override;
  Status SyncMapped(void* addr, size_t length, const std::string& path) override;
  Result<void*> Map(int fd, const std::string& path, size_t length, bool writable) override;
  void Unmap(void* addr, size_t length) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Remove(const std::string& path) override;

 private:
  struct Mapping {
    const uint8_t* base;
    size_t length;
    std::string path;
  };
  FileSystem* base() { return FileSystem::Default(); }

  EventSink sink_;
  SyncJournal* j_;
  std::mutex mu_;
  std::vector<Mapping> maps_;
};

// RocksDB's files with probes.
class ProbeRocksFs : public rocksdb::FileSystemWrapper {
 public:
  ProbeRocksFs(EventSink sink, SyncJournal* journal)
      : rocksdb::FileSystemWrapper(rocksdb::FileSystem::Default()),
        sink_(std::move(sink)),
        j_(journal) {}
  const char* Name() const override { return "ProbeRocksFs"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* out,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* out,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& from, const std::string& to,
                               const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& name, const rocksdb::IOOptions& o,
                               rocksdb::IODebugContext* dbg) override;

 private:
  class File;
  EventSink sink_;
  SyncJournal* j_;
};

struct PowerLossOutcome {
  size_t files_removed = 0;  // created, never synced
  size_t files_cut = 0;      // lost an unsynced tail
  uint64_t bytes_dropped = 0;
};

// Applies the journal at `journal_path` to the files it names (see the file comment).
Result<PowerLossOutcome> SimulatePowerLoss(const std::string& journal_path);

}  // namespace runlog::stress
