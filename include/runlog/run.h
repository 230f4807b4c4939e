// A run: a tree of namespaces and typed fields, logged through a write-ahead log and
// committed into the run's RocksDB (DESIGN §1, §2, §5, §6).
//
//   auto run = (*repo)->StartRun({.custom_run_id = "sweep-7"}).value();
//   (*run)["params/lr"] = 0.005;                 // Float, fixed from now on
//   (*run)["train/loss"].Append(0.25);            // FloatSeries, step = last + 1
//   auto loss = (*run)["train/loss"].FetchLast(); // waits for the commit, O(1)
//
// The core methods of Run return Status / Result<T> and never throw. The handle returned by
// operator[] is the ergonomic layer: its writes throw runlog::Error carrying the Status.
//
// Every write is checked before it is logged (path, type, field limit, step order, size);
// a rejected write is not logged and the caller gets the error. An accepted write is
// acknowledged when it is in the log: it survives kill -9 of the process (every mode but
// debug), and the commit applies it in the background (async, offline) or before the call
// returns (sync).
//
// Thread safety: a Run may be used from many threads at once; writes are logged in one
// order, the order their calls were admitted. FieldHandle is a cheap value (a Run pointer and
// a path) and must not outlive its Run.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "runlog/status.h"
#include "runlog/value.h"

namespace runlog {

enum class Mode {
  kAsync,     // default: a call returns once the operation is in the log (survives kill -9);
              //   the log is synced every sync_interval; commit runs in the background
  kSync,      // a call returns once the operation is durable (fdatasync) and committed;
              //   concurrent callers share fdatasyncs (group commit: one sync covers every
              //   call that appended while the previous one ran). If the commit is failing at that
              //   moment the call still succeeds (the operation is durable and is committed
              //   when the commit recovers); Wait() reports the commit error
  kOffline,   // as kAsync; the run is never shipped to a sync target
  kReadOnly,  // every write is ReadOnly; reads see what the run's writer committed
  kDebug,     // in memory: nothing is written to disk, everything is checked and readable
};

// "async", "sync", "offline", "read-only", "debug".
std::string_view ModeName(Mode mode);

// Compression of the committed store's files (series chunks are delta/XOR encoded first).
enum class Compression { kLz4, kZstd, kNone };

// The committed store (one RocksDB database per run). README "Tuning" has the sweeps.
struct StoreTuning {
  // Memtable of the series column family (the other column families get a quarter each);
  // a full one is flushed with the others. Default 16 MiB.
  size_t write_buffer_bytes = 16 << 20;
  // Default kLz4, with ZSTD for the last level's files; kZstd and kNone use that for all.
  Compression compression = Compression::kLz4;
  // One LRU block cache shared by the run's column families. 0 (default): RocksDB's own
  // 8 MiB cache per column family.
  size_t block_cache_bytes = 0;
};

struct RunOptions {
  Mode mode = Mode::kAsync;
  // An existing run to open: its sys/id ("RL-7"), sys/uuid (32 hex digits) or custom run id.
  // NotFound when there is none. Empty: a new run (or custom_run_id's run).
  std::string resume;
  // Resume-or-create: the run with this custom id, created when missing. Processes racing
  // on the same id get the same run.
  std::string custom_run_id;
  // Written to sys/name, sys/description, sys/tags when not empty.
  std::string name;
  std::string description;
  std::vector<std::string> tags;

  // The field limit (DESIGN §1). Default 9000.
  size_t max_fields = 9000;
  // Longest string value (String, StringSeries point, StringSet member). Default 1 MiB.
  size_t max_string_bytes = 1 << 20;

  // Uncommitted log bytes past which a write waits for the committer; after backlog_timeout
  // it fails with Busy (nothing is logged, nothing dropped). Default 256 MiB, 30 s.
  uint64_t max_backlog_bytes = 256ull << 20;
  std::chrono::milliseconds backlog_timeout{30000};

  // Records the committer applies per RocksDB write batch at most (more: fewer, larger
  // series pieces and faster bulk commit; a fetch behind a backlog waits for whole
  // batches). Default 65536 (README "Tuning" has the sweep).
  size_t commit_batch_records = 65536;
  // Points per stored series chunk. Default 1024.
  size_t series_chunk_points = 1024;
  // How often committed data is flushed to RocksDB's files, which bounds how stale readers
  // in other processes are and how much log a crash replays. Default 5 s.
  std::chrono::milliseconds flush_interval{5000};

  // WAL segment size (default 16 MiB: an open run maps and preallocates one segment, so
  // this is most of a small run's memory and disk; larger segments gained nothing in the
  // sweep, README "Tuning") and, for kAsync/kOffline, the fsync interval: what a power loss
  // may take (default 1 s).
  uint64_t segment_size = 16ull << 20;
  std::chrono::milliseconds sync_interval{1000};

  // RocksDB settings of the run's committed store (writers and readers).
  StoreTuning store;
};

// Counters of a run (for tuning and tests).
struct RunStats {
  uint64_t logged_lsn = 0;     // last LSN acknowledged to a caller
  uint64_t committed_lsn = 0;  // last LSN applied to RocksDB
  uint64_t backlog_bytes = 0;  // log bytes not yet committed
  uint64_t rejected_at_commit = 0;
  uint64_t log_syncs = 0;  // fdatasyncs of the log so far (sync mode: fewer than calls
                           //   when concurrent callers shared them)
};

class Run;

// A path in a run: a field, or a namespace whose operator[] reaches deeper.
// Writes throw runlog::Error; reads return Result<T>.
class FieldHandle {
 public:
  FieldHandle(Run* run, std::string path) : run_(run), path_(std::move(path)) {}

  // run["params"]["lr"] is run["params/lr"].
  FieldHandle operator[](std::string_view name) const;
  const std::string& path() const { return path_; }

  // Assign an atom: floating point -> Float, integers -> Int, bool -> Bool, strings ->
  // String, Datetime -> Datetime.
  FieldHandle& operator=(double v);
  FieldHandle& operator=(bool v);
  FieldHandle& operator=(std::string_view v);
  FieldHandle& operator=(const char* v) { return *this = std::string_view(v); }
  FieldHandle& operator=(const std::string& v) { return *this = std::string_view(v); }
  FieldHandle& operator=(Datetime v);
  template <typename I>
  requires(std::is_integral_v<I> && !std::is_same_v<I, bool>) FieldHandle& operator=(I v) {
    AssignInt(static_cast<int64_t>(v));
    return *this;
  }

  void Append(double value, const PointOptions& options = {});
  void Append(std::string_view value, const PointOptions& options = {});
  void Extend(std::span<const double> values, std::span<const double> steps = {});
  void Add(std::initializer_list<std::string_view> values);
  void Remove(std::initializer_list<std::string_view> values);
  void Clear();
  void Delete();

  bool Exists() const;
  Result<Atom> Fetch() const;
  // The atom as T (double, int64_t, bool, std::string, Datetime); TypeMismatch otherwise.
  // A double may be fetched from an Int field.
  template <typename T>
  Result<T> Fetch() const;
  Result<SeriesSummary> FetchLast() const;
  Result<SeriesValues> FetchValues(const SeriesRange& range = {}) const;
  Result<std::vector<std::string>> FetchSet() const;

 private:
  void AssignInt(int64_t v);

  Run* run_;
  std::string path_;
};

class Run {
 public:
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;
  // Stops the run (see Stop) if it was not stopped; errors are kept in last_error().
  ~Run();

  FieldHandle operator[](std::string_view path) { return FieldHandle(this, std::string(path)); }

  // ---- writes: each returns the LSN of the logged operation once acknowledged ---------
  Result<uint64_t> AssignFloat(std::string_view path, double value);
  Result<uint64_t> AssignInt(std::string_view path, int64_t value);
  Result<uint64_t> AssignBool(std::string_view path, bool value);
  Result<uint64_t> AssignString(std::string_view path, std::string_view value);
  Result<uint64_t> AssignDatetime(std::string_view path, Datetime value);

  Result<uint64_t> Append(std::string_view path, double value, const PointOptions& options = {});
  Result<uint64_t> AppendString(std::string_view path, std::string_view value,
                                const PointOptions& options = {});
  // Many points in one operation. `steps` and `timestamps` are empty (last + 1, ...; now)
  // or as long as `values`.
  Result<uint64_t> Extend(std::string_view path, std::span<const double> values,
                          std::span<const double> steps = {},
                          std::span<const int64_t> timestamps = {});
  Result<uint64_t> ExtendStrings(std::string_view path, std::span<const std::string> values,
                                 std::span<const double> steps = {},
                                 std::span<const int64_t> timestamps = {});

  Result<uint64_t> AddStrings(std::string_view path, std::span<const std::string> values);
  Result<uint64_t> RemoveStrings(std::string_view path, std::span<const std::string> values);
  // Empties a series or a set (NotFound when the path is no field).
  Result<uint64_t> Clear(std::string_view path);
  // Removes a field, or a namespace with everything under it (NotFound when nothing is
  // there). The path is then free for any type; the old data never reappears.
  Result<uint64_t> Delete(std::string_view path);

  // Marks the run failed (sys/failed = true) with a reason.
  Result<uint64_t> MarkFailed(std::string_view reason);

  // ---- reads: see every write this process made before the call ----------------------
  // True when `path` is a field (false for a namespace or nothing).
  Result<bool> Exists(std::string_view path);
  Result<Atom> Fetch(std::string_view path);
  Result<SeriesSummary> FetchLast(std::string_view path);
  Result<SeriesValues> FetchValues(std::string_view path, const SeriesRange& range = {});
  Result<std::vector<std::string>> FetchSet(std::string_view path);
  // Every field with its type, sorted by path.
  Result<std::vector<FieldInfo>> GetStructure();
  // The structure as an indented tree, atoms with their values.
  Status PrintStructure(std::ostream& out);
  // Operations the commit refused (only logs written elsewhere can hold them: this
  // process checks every write before logging it).
  Result<std::vector<RejectedOperation>> RejectedOperations();

  // ---- lifecycle ----------------------------------------------------------------------
  // Waits until everything logged so far is committed.
  Status Wait();
  // Logs the run's end (sys/state = inactive), commits, flushes RocksDB and closes the
  // log. Later writes fail; reads still work. Idempotent.
  Status Stop();

  const std::string& sys_id() const;
  const std::string& uuid() const;  // 32 hex digits
  const std::string& custom_run_id() const;
  Mode mode() const;
  RunStats stats() const;

  class Impl;

 private:
  friend class Repository;
  explicit Run(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---- FieldHandle::Fetch<T> -------------------------------------------------------------

namespace internal {
Result<double> AtomAsDouble(Result<Atom> atom, std::string_view path);
Result<int64_t> AtomAsInt(Result<Atom> atom, std::string_view path);
Result<bool> AtomAsBool(Result<Atom> atom, std::string_view path);
Result<std::string> AtomAsString(Result<Atom> atom, std::string_view path);
Result<Datetime> AtomAsDatetime(Result<Atom> atom, std::string_view path);
}  // namespace internal

template <typename T>
Result<T> FieldHandle::Fetch() const {
  if constexpr (std::is_same_v<T, double>) {
    return internal::AtomAsDouble(Fetch(), path_);
  } else if constexpr (std::is_same_v<T, bool>) {
    return internal::AtomAsBool(Fetch(), path_);
  } else if constexpr (std::is_integral_v<T>) {
    RUNLOG_ASSIGN_OR_RETURN(int64_t v, internal::AtomAsInt(Fetch(), path_));
    return static_cast<T>(v);
  } else if constexpr (std::is_same_v<T, std::string>) {
    return internal::AtomAsString(Fetch(), path_);
  } else {
    static_assert(std::is_same_v<T, Datetime>, "Fetch<T>: double, integer, bool, string, Datetime");
    return internal::AtomAsDatetime(Fetch(), path_);
  }
}

}  // namespace runlog
