// The seam of runlog-compare: one interface that runlog and each peer baseline implement, so
// that every workload (workloads.cc) runs the same calls against every system.
//
// A System opens Stores. A Store is one run of one system under a directory that the driver
// owns (created empty for the workload, removed after it). Runs of one workload share the
// directory (W7 puts 10,000 runs in it): a system that keeps every run in one file (SQLite)
// opens that file there; one that keeps a file or database per run names it after the run.
//
// Calls report failure by throwing (std::runtime_error or runlog::Error); the driver turns
// a throw into that benchmark's error row. A baseline does what the system it stands for
// does, with the best settings that system allows (documented in its file), never less
// work than the real system would do to keep the same data.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace runlog::compare {

struct Point {
  int64_t step = 0;
  double value = 0;
  int64_t timestamp_us = 0;  // microseconds since the Unix epoch
};

// What a write must have done before it returns.
enum class Durability {
  kBuffered,  // the system's default: in its own buffers or the page cache, synced later
  kSynced,    // on disk (fsync/fdatasync) before the call returns: W8
};

struct StoreOptions {
  Durability durability = Durability::kBuffered;
  // W8 calls LogFloat from this many threads at once (1, 4, 16); a baseline that needs a
  // lock for that takes it, one that does not (RocksDB, runlog) does not.
  int writer_threads = 1;
};

class Store {
 public:
  virtual ~Store() = default;

  // ---- writes (a run opened by System::Create) -------------------------------------------
  // Atoms: params and config, written once (W3, W7).
  virtual void AssignFloat(std::string_view path, double value) = 0;
  virtual void AssignInt(std::string_view path, int64_t value) = 0;
  virtual void AssignString(std::string_view path, std::string_view value) = 0;
  // One point of a float series (W1, W3, W8). Steps of one path increase.
  virtual void LogFloat(std::string_view path, const Point& point) = 0;
  // Many points of one float series in one call (W2, W5 setup, W9).
  virtual void LogFloats(std::string_view path, std::span<const Point> points) = 0;
  // One point of a string series (W3's text).
  virtual void LogString(std::string_view path, int64_t step, std::string_view value,
                         int64_t timestamp_us) = 0;
  // Members added to a string set (W3's tags).
  virtual void AddStrings(std::string_view path, std::span<const std::string> values) = 0;

  // Everything written so far is in the system's durable form and readable by a new
  // reader: runlog waits for its commit; a baseline commits its open transaction, flushes
  // its buffers and memtables. The end of every write workload's timed region.
  virtual void Flush() = 0;

  // ---- reads (a run opened by System::Open, or the writer after Flush) -------------------
  // Points of a float series with from_step <= step < to_step, in step order.
  virtual std::vector<Point> ReadSeries(std::string_view path, int64_t from_step,
                                        int64_t to_step) = 0;
  // The point with the highest step; throws when the series is empty or missing.
  virtual Point ReadLast(std::string_view path) = 0;
  // A float atom; throws when missing.
  virtual double ReadFloat(std::string_view path) = 0;
};

class System {
 public:
  virtual ~System() = default;

  // "runlog", "jsonl_queue", "sqlite_ops", "sqlite_rows", "tfrecord", "rocksdb_per_point".
  virtual std::string name() const = 0;

  // A new run named `run` (letters, digits, '-') under `dir`, open for writing.
  virtual std::unique_ptr<Store> Create(const std::string& dir, const std::string& run,
                                        const StoreOptions& options) = 0;
  // An existing run, open for reading only. For W9 this is the reopen after the writer was
  // killed: whatever the system does to recover its log (replay, checkpoint, re-index,
  // finding the valid end) happens here, so that ReadSeries sees every write acknowledged
  // before the kill.
  virtual std::unique_ptr<Store> Open(const std::string& dir, const std::string& run) = 0;

  // A one-line summary of the settings the baseline uses, for the table's notes and the
  // README ("page_size 4096, WAL journal, synchronous=FULL, 1,000 rows per transaction").
  virtual std::string settings() const = 0;

  // True for a file under the workload's directory that is a log the system keeps beside
  // its committed form (runlog's WAL segments): W1-W3 report bytes per point with and
  // without them. A peer's files are all its committed form (false).
  virtual bool IsLogFile(const std::string& /*path*/) const { return false; }
};

// The systems, each defined in its own file.
std::unique_ptr<System> MakeRunlogSystem();
std::unique_ptr<System> MakeJsonlQueueSystem();       // jsonl_queue.cc
std::unique_ptr<System> MakeSqliteOpsSystem();        // sqlite_systems.cc
std::unique_ptr<System> MakeSqliteRowsSystem();       // sqlite_systems.cc
std::unique_ptr<System> MakeTfrecordSystem();         // tfrecord.cc
std::unique_ptr<System> MakeRocksdbPerPointSystem();  // rocksdb_per_point.cc

}  // namespace runlog::compare
