// The two SQLite baselines of runlog-compare, on the system's SQLite3 library.
//
// sqlite_ops: neptune-scale's local operation store (neptune_scale/sync/operations_repository.py),
// the SQLite file every logging call is saved to before the sync process sends it.
//   Schema: run_operations(sequence_id INTEGER PRIMARY KEY AUTOINCREMENT, run, timestamp (ms),
//   operation_type (0 snapshot, 1 create run), operation BLOB, operation_size_bytes) with an
//   index on (run, sequence_id, operation_size_bytes), and metadata(id, version, project,
//   run_id). neptune-scale keeps one such file per run and indexes (sequence_id,
//   operation_size_bytes); here the runs of a directory share <dir>/operations.sqlite3, so each
//   row names its run (metadata.id) and the index leads with it: a run's rows are still one
//   index range, as they are one file in neptune-scale.
//   One row per operation. neptune-scale's operation is an UpdateRunSnapshot protobuf holding
//   one step (its log_metrics takes one step per call), so a float or string point is one row
//   and LogFloats writes one row per point; an assign or a tag set is one row. The blob is a
//   hand-rolled packed encoding (kind, path, zigzag varint step and timestamp, raw double):
//   about the protobuf's size and cheaper to produce than protobuf.
//   Settings, neptune-scale's: journal_mode=WAL, synchronous=FULL (it sets both on every
//   connection), AUTOINCREMENT keys. Create is its own committed transaction (neptune-scale
//   commits the schema, metadata and create-run operation before logging).
//
// sqlite_rows: MLflow's SQL tracking store (mlflow/store/tracking/sqlalchemy_store.py) on SQLite.
//   Schema: runs(run_uuid, name, status, start_time, ...), metrics(run_uuid, key, step, value,
//   timestamp, is_nan, PRIMARY KEY(run_uuid, key, step)), latest_metrics(run_uuid, key, value,
//   timestamp, step, is_nan, PRIMARY KEY(run_uuid, key)), params(run_uuid, key, value TEXT),
//   tags(run_uuid, key, value), string_series(run_uuid, key, step, value, timestamp), all
//   WITHOUT ROWID (one B-tree per table: the best layout for these keys). MLflow's metrics key
//   is (key, timestamp, step, run_uuid, value, is_nan) in a rowid table, which costs a second
//   B-tree; (run_uuid, key, step) is the key this benchmark's reads need. run_uuid is 32 hex
//   characters like MLflow's uuid4().hex (derived from the run name, so Open needs no lookup
//   by name). Timestamps are microseconds (MLflow keeps milliseconds; the contract needs us).
//   Each point inserts into metrics and upserts latest_metrics keeping the highest (step,
//   timestamp, value), as MLflow's _update_latest_metrics_if_necessary does; LogFloats works
//   in batches of 1,000 (MLflow's log_batch limit) with one latest_metrics upsert per batch.
//   Params are text, a float written with the shortest digits that round-trip (Python's
//   str(float)); NaN is stored as value 0, is_nan 1 like MLflow. String series (which MLflow
//   lacks) have their own table; a string set member is a tag "<path>/<member>".
//   Settings, MLflow's best: journal_mode=WAL (MLflow leaves SQLite's rollback journal),
//   synchronous=NORMAL for kBuffered (in WAL mode a commit is still atomic and survives a
//   process kill; only an OS crash can lose the last commits), FULL for kSynced.
//
// Both: one connection per Store, prepared statements, busy_timeout 10 s, one mutex around
// every call (SQLite has one writer; W8 calls from several threads). kBuffered commits a
// transaction once it holds 1,000 rows (checked at the end of a call or a 1,000-point batch,
// so a call's rows are committed together), at Flush() and when the Store is destroyed; the
// real clients commit every call (neptune-scale with synchronous=FULL, so an fsync per call):
// batching is the best the systems allow, not what they do by default. kSynced: every call is
// its own transaction, committed with synchronous=FULL before it returns. System::Open opens
// the file read-write (so that SQLite can run its WAL recovery after a kill) and only reads.
#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include "bench/compare/store.h"

namespace runlog::compare {
namespace {

constexpr int kRowsPerTransaction = 1000;
constexpr size_t kBatchPoints = 1000;
constexpr int kBusyTimeoutMs = 10'000;

// ---- a thin RAII layer over the SQLite C API --------------------------------------------

class Db {
 public:
  Db(std::string system, std::string path, bool create)
      : system_(std::move(system)), path_(std::move(path)) {
    const int flags =
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close_v2(db_);
      throw std::runtime_error(system_ + ": open " + path_ + ": " + message);
    }
    if (sqlite3_busy_timeout(db_, kBusyTimeoutMs) != SQLITE_OK) Fail("busy_timeout");
  }
  ~Db() { sqlite3_close_v2(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* get() const { return db_; }
  const std::string& system() const { return system_; }

  void Exec(const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
      const std::string message = error ? error : sqlite3_errmsg(db_);
      sqlite3_free(error);
      throw std::runtime_error(system_ + ": " + path_ + ": " + message + " [" + sql + "]");
    }
  }

  // For cleanup on an error path: the error being handled matters more than this one.
  void ExecIgnoringErrors(const char* sql) { sqlite3_exec(db_, sql, nullptr, nullptr, nullptr); }

  [[noreturn]] void Fail(std::string_view sql) const {
    throw std::runtime_error(system_ + ": " + path_ + ": " + sqlite3_errmsg(db_) + " [" +
                             std::string(sql) + "]");
  }

 private:
  std::string system_;
  std::string path_;
  sqlite3* db_ = nullptr;
};

class Stmt {
 public:
  Stmt(Db& db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) !=
        SQLITE_OK) {
      db_.Fail(sql);
    }
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Text and blobs are bound without a copy: the caller keeps them alive until Reset().
  Stmt& Bind(int i, int64_t v) { return Check(sqlite3_bind_int64(stmt_, i, v)); }
  Stmt& Bind(int i, double v) { return Check(sqlite3_bind_double(stmt_, i, v)); }
  Stmt& BindText(int i, std::string_view v) {
    return Check(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
  }
  Stmt& BindBlob(int i, std::string_view v) {
    return Check(sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
  }

  // True for a row, false when done.
  bool Step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    Fail();
  }
  // A statement without rows: runs it and resets it.
  void Run() {
    Step();
    Reset();
  }
  void Reset() { sqlite3_reset(stmt_); }

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Real(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string_view Bytes(int col) const {
    const void* data = sqlite3_column_blob(stmt_, col);  // before _bytes, as SQLite asks
    const int size = sqlite3_column_bytes(stmt_, col);
    return data ? std::string_view(static_cast<const char*>(data), static_cast<size_t>(size))
                : std::string_view();
  }

 private:
  Stmt& Check(int rc) {
    if (rc != SQLITE_OK) Fail();
    return *this;
  }
  [[noreturn]] void Fail() {
    const std::string sql = sqlite3_sql(stmt_);
    const std::string message = sqlite3_errmsg(db_.get());
    sqlite3_reset(stmt_);
    throw std::runtime_error(db_.system() + ": " + message + " [" + sql + "]");
  }

  Db& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a query's statement however its loop ends, so no read transaction stays open.
class ResetOnExit {
 public:
  explicit ResetOnExit(Stmt& stmt) : stmt_(stmt) {}
  ~ResetOnExit() { stmt_.Reset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  Stmt& stmt_;
};

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool StepLess(const Point& a, const Point& b) {
  return a.step < b.step;
}

// ---- what both stores share: the connection, the lock, transaction batching --------------

class SqliteStore : public Store {
 public:
  ~SqliteStore() override {
    if (!in_transaction_) return;
    try {
      commit_.Run();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
    }
  }

  void Flush() override {
    std::lock_guard<std::mutex> lock(mu_);
    Commit();
  }

 protected:
  SqliteStore(const std::string& system, const std::string& path, bool writer,
              const StoreOptions& options)
      : db_(system, path, /*create=*/writer),
        writer_(writer),
        synced_(options.durability == Durability::kSynced),
        begin_(db_, "BEGIN IMMEDIATE"),
        commit_(db_, "COMMIT"),
        rollback_(db_, "ROLLBACK") {}

  // Runs one write call under the lock in the open transaction (one of its own for kSynced,
  // committed before returning).
  template <typename F>
  void Write(F&& write) {
    if (!writer_) throw std::runtime_error(db_.system() + ": the run is open for reading only");
    std::lock_guard<std::mutex> lock(mu_);
    if (!in_transaction_) {
      begin_.Run();
      in_transaction_ = true;
    }
    try {
      write();
    } catch (...) {
      if (synced_) Rollback();
      throw;
    }
    if (synced_) Commit();
  }

  // `rows` more rows are in the transaction: kBuffered commits at 1,000.
  void Written(int rows) {
    rows_ += rows;
    if (!synced_ && rows_ >= kRowsPerTransaction) {
      Commit();
      begin_.Run();
      in_transaction_ = true;
    }
  }

  void Commit() {
    if (!in_transaction_) return;
    commit_.Run();
    in_transaction_ = false;
    rows_ = 0;
  }

  void Rollback() {
    in_transaction_ = false;
    rows_ = 0;
    try {
      rollback_.Run();
    } catch (const std::exception&) {  // SQLite may have rolled back already
    }
  }

  // journal_mode=WAL is kept in the file; synchronous is per connection.
  void SetWriterPragmas(bool synchronous_full) {
    {
      Stmt wal(db_, "PRAGMA journal_mode=WAL");
      ResetOnExit reset(wal);
      if (!wal.Step() || wal.Bytes(0) != "wal") {
        throw std::runtime_error(db_.system() + ": could not switch to journal_mode=WAL");
      }
    }
    db_.Exec(synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  }

  Db db_;
  const bool writer_;
  const bool synced_;
  std::mutex mu_;  // every call, reads too: the connection is opened without SQLite's mutex

 private:
  Stmt begin_;
  Stmt commit_;
  Stmt rollback_;
  bool in_transaction_ = false;
  int rows_ = 0;
};

// ---- sqlite_ops: neptune-scale ------------------------------------------------------------

// The operation blob: kind, path, then the kind's payload (see the header comment).
enum class OpKind : uint8_t {
  kCreateRun = 0,
  kAssignFloat = 1,
  kAssignInt = 2,
  kAssignString = 3,
  kAppendFloat = 4,
  kAppendString = 5,
  kAddStrings = 6,
};
enum OperationType : int64_t { kUpdateSnapshot = 0, kCreateRunType = 1 };

class OpWriter {
 public:
  explicit OpWriter(std::string& out) : out_(out) { out_.clear(); }
  OpWriter& Kind(OpKind kind) {
    out_ += static_cast<char>(kind);
    return *this;
  }
  OpWriter& Varint(uint64_t v) {
    while (v >= 0x80) {
      out_ += static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    out_ += static_cast<char>(v);
    return *this;
  }
  OpWriter& Signed(int64_t v) {
    return Varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  OpWriter& Double(double v) {
    char bytes[sizeof(v)];
    std::memcpy(bytes, &v, sizeof(v));  // little-endian hosts only, like runlog
    out_.append(bytes, sizeof(bytes));
    return *this;
  }
  OpWriter& Bytes(std::string_view s) {
    Varint(s.size());
    out_ += s;
    return *this;
  }

 private:
  std::string& out_;
};

class OpReader {
 public:
  explicit OpReader(std::string_view in) : in_(in) {}
  OpKind Kind() { return static_cast<OpKind>(Byte()); }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const uint8_t b = Byte();
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    Corrupt();
  }
  int64_t Signed() {
    const uint64_t v = Varint();
    return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
  }
  double Double() {
    if (in_.size() < sizeof(double)) Corrupt();
    double v;
    std::memcpy(&v, in_.data(), sizeof(v));
    in_.remove_prefix(sizeof(v));
    return v;
  }
  std::string_view Bytes() {
    const uint64_t n = Varint();
    if (n > in_.size()) Corrupt();
    std::string_view s = in_.substr(0, n);
    in_.remove_prefix(n);
    return s;
  }

 private:
  uint8_t Byte() {
    if (in_.empty()) Corrupt();
    const uint8_t b = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return b;
  }
  [[noreturn]] static void Corrupt() {
    throw std::runtime_error("sqlite_ops: corrupt operation blob");
  }
  std::string_view in_;
};

constexpr const char* kOpsSchema = R"sql(
CREATE TABLE IF NOT EXISTS run_operations (
  sequence_id INTEGER PRIMARY KEY AUTOINCREMENT,
  run INTEGER NOT NULL,
  timestamp INTEGER NOT NULL,
  operation_type INTEGER NOT NULL,
  operation BLOB NOT NULL,
  operation_size_bytes INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS idx_run_operations_run_sequence_size
  ON run_operations (run, sequence_id, operation_size_bytes);
CREATE TABLE IF NOT EXISTS metadata (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  version TEXT NOT NULL,
  project TEXT NOT NULL,
  run_id TEXT NOT NULL UNIQUE);
)sql";

class SqliteOpsStore : public SqliteStore {
 public:
  SqliteOpsStore(const std::string& dir, const std::string& run, bool writer,
                 const StoreOptions& options)
      : SqliteStore("sqlite_ops", dir + "/operations.sqlite3", writer, options) {
    if (writer) {
      SetWriterPragmas(/*synchronous_full=*/true);  // neptune-scale's, kBuffered or not
      // Run creation, committed on its own: schema, metadata row, create-run operation.
      db_.Exec("BEGIN IMMEDIATE");
      try {
        db_.Exec(kOpsSchema);
        Stmt add_run(db_,
                     "INSERT INTO metadata (version, project, run_id) VALUES ('v5', "
                     "'runlog-compare', ?1) ON CONFLICT (run_id) DO NOTHING");
        add_run.BindText(1, run).Run();
        run_id_ = LookUpRun(run);
        PrepareWrites();
        OpWriter(blob_).Kind(OpKind::kCreateRun).Bytes(run);
        Insert(kCreateRunType);
        db_.Exec("COMMIT");
      } catch (...) {
        db_.ExecIgnoringErrors("ROLLBACK");
        throw;
      }
    } else {
      run_id_ = LookUpRun(run);
    }
    scan_forward_ = std::make_unique<Stmt>(
        db_,
        "SELECT operation FROM run_operations WHERE run = ?1 AND operation_type = 0 "
        "ORDER BY sequence_id");
    scan_backward_ = std::make_unique<Stmt>(
        db_,
        "SELECT operation FROM run_operations WHERE run = ?1 AND operation_type = 0 "
        "ORDER BY sequence_id DESC");
  }

  void AssignFloat(std::string_view path, double value) override {
    Write([&] {
      OpWriter(blob_).Kind(OpKind::kAssignFloat).Bytes(path).Double(value);
      Insert(kUpdateSnapshot);
      Written(1);
    });
  }
  void AssignInt(std::string_view path, int64_t value) override {
    Write([&] {
      OpWriter(blob_).Kind(OpKind::kAssignInt).Bytes(path).Signed(value);
      Insert(kUpdateSnapshot);
      Written(1);
    });
  }
  void AssignString(std::string_view path, std::string_view value) override {
    Write([&] {
      OpWriter(blob_).Kind(OpKind::kAssignString).Bytes(path).Bytes(value);
      Insert(kUpdateSnapshot);
      Written(1);
    });
  }
  void LogFloat(std::string_view path, const Point& point) override {
    LogFloats(path, std::span<const Point>(&point, 1));
  }
  void LogFloats(std::string_view path, std::span<const Point> points) override {
    Write([&] {
      for (size_t begin = 0; begin < points.size(); begin += kBatchPoints) {
        const size_t n = std::min(kBatchPoints, points.size() - begin);
        for (const Point& p : points.subspan(begin, n)) {
          OpWriter(blob_)
              .Kind(OpKind::kAppendFloat)
              .Bytes(path)
              .Signed(p.step)
              .Signed(p.timestamp_us)
              .Double(p.value);
          Insert(kUpdateSnapshot);
        }
        Written(static_cast<int>(n));
      }
    });
  }
  void LogString(std::string_view path, int64_t step, std::string_view value,
                 int64_t timestamp_us) override {
    Write([&] {
      OpWriter(blob_)
          .Kind(OpKind::kAppendString)
          .Bytes(path)
          .Signed(step)
          .Signed(timestamp_us)
          .Bytes(value);
      Insert(kUpdateSnapshot);
      Written(1);
    });
  }
  void AddStrings(std::string_view path, std::span<const std::string> values) override {
    Write([&] {
      OpWriter writer(blob_);
      writer.Kind(OpKind::kAddStrings).Bytes(path).Varint(values.size());
      for (const std::string& value : values) writer.Bytes(value);
      Insert(kUpdateSnapshot);
      Written(1);
    });
  }

  // The run's operations in sequence order, decoded, the path's points kept.
  std::vector<Point> ReadSeries(std::string_view path, int64_t from_step,
                                int64_t to_step) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Point> points;
    Stmt& scan = *scan_forward_;
    ResetOnExit reset(scan);
    scan.Bind(1, run_id_);
    while (scan.Step()) {
      OpReader op(scan.Bytes(0));
      if (op.Kind() != OpKind::kAppendFloat || op.Bytes() != path) continue;
      Point p;
      p.step = op.Signed();
      if (p.step < from_step || p.step >= to_step) continue;
      p.timestamp_us = op.Signed();
      p.value = op.Double();
      points.push_back(p);
    }
    if (!std::is_sorted(points.begin(), points.end(), StepLess)) {
      std::stable_sort(points.begin(), points.end(), StepLess);
    }
    return points;
  }

  // Steps of a path increase, so the path's last operation holds its highest step: the scan
  // runs backwards and stops there.
  Point ReadLast(std::string_view path) override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt& scan = *scan_backward_;
    ResetOnExit reset(scan);
    scan.Bind(1, run_id_);
    while (scan.Step()) {
      OpReader op(scan.Bytes(0));
      if (op.Kind() != OpKind::kAppendFloat || op.Bytes() != path) continue;
      Point p;
      p.step = op.Signed();
      p.timestamp_us = op.Signed();
      p.value = op.Double();
      return p;
    }
    throw std::runtime_error("sqlite_ops: no float series " + std::string(path));
  }

  // The last assignment wins.
  double ReadFloat(std::string_view path) override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt& scan = *scan_backward_;
    ResetOnExit reset(scan);
    scan.Bind(1, run_id_);
    while (scan.Step()) {
      OpReader op(scan.Bytes(0));
      if (op.Kind() == OpKind::kAssignFloat && op.Bytes() == path) return op.Double();
    }
    throw std::runtime_error("sqlite_ops: no float field " + std::string(path));
  }

 private:
  int64_t LookUpRun(const std::string& run) {
    Stmt find(db_, "SELECT id FROM metadata WHERE run_id = ?1");
    ResetOnExit reset(find);
    find.BindText(1, run);
    if (!find.Step()) throw std::runtime_error("sqlite_ops: no run " + run);
    return find.Int(0);
  }

  void PrepareWrites() {
    insert_ = std::make_unique<Stmt>(
        db_,
        "INSERT INTO run_operations (run, timestamp, operation_type, operation, "
        "operation_size_bytes) VALUES (?1, ?2, ?3, ?4, ?5)");
  }

  // One row holding blob_.
  void Insert(OperationType type) {
    insert_->Bind(1, run_id_)
        .Bind(2, NowMillis())
        .Bind(3, static_cast<int64_t>(type))
        .BindBlob(4, blob_)
        .Bind(5, static_cast<int64_t>(blob_.size()))
        .Run();
  }

  int64_t run_id_ = 0;
  std::string blob_;  // reused encoding buffer
  std::unique_ptr<Stmt> insert_;
  std::unique_ptr<Stmt> scan_forward_;
  std::unique_ptr<Stmt> scan_backward_;
};

// ---- sqlite_rows: MLflow ------------------------------------------------------------------

constexpr const char* kMlflowSchema = R"sql(
CREATE TABLE IF NOT EXISTS runs (
  run_uuid TEXT NOT NULL PRIMARY KEY,
  name TEXT,
  status TEXT,
  start_time INTEGER,
  end_time INTEGER,
  lifecycle_stage TEXT,
  experiment_id INTEGER,
  artifact_uri TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS metrics (
  run_uuid TEXT NOT NULL,
  key TEXT NOT NULL,
  step INTEGER NOT NULL,
  value REAL NOT NULL,
  timestamp INTEGER NOT NULL,
  is_nan INTEGER NOT NULL,
  PRIMARY KEY (run_uuid, key, step)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS latest_metrics (
  run_uuid TEXT NOT NULL,
  key TEXT NOT NULL,
  value REAL NOT NULL,
  timestamp INTEGER NOT NULL,
  step INTEGER NOT NULL,
  is_nan INTEGER NOT NULL,
  PRIMARY KEY (run_uuid, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS params (
  run_uuid TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (run_uuid, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tags (
  run_uuid TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT,
  PRIMARY KEY (run_uuid, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS string_series (
  run_uuid TEXT NOT NULL,
  key TEXT NOT NULL,
  step INTEGER NOT NULL,
  value TEXT NOT NULL,
  timestamp INTEGER NOT NULL,
  PRIMARY KEY (run_uuid, key, step)) WITHOUT ROWID;
)sql";

// 32 hex characters (MLflow's uuid4().hex), a 128-bit FNV-1a-style hash of the run name.
std::string RunUuid(std::string_view run) {
  uint64_t halves[2] = {0xcbf29ce484222325ull, 0x84222325cbf29ce4ull};
  for (uint64_t& h : halves) {
    for (const char c : run) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
  }
  char hex[33];
  std::snprintf(hex, sizeof(hex), "%016llx%016llx", static_cast<unsigned long long>(halves[0]),
                static_cast<unsigned long long>(halves[1]));
  return hex;
}

class SqliteRowsStore : public SqliteStore {
 public:
  SqliteRowsStore(const std::string& dir, const std::string& run, bool writer,
                  const StoreOptions& options)
      : SqliteStore("sqlite_rows", dir + "/mlflow.sqlite3", writer, options),
        run_uuid_(RunUuid(run)) {
    if (writer) {
      SetWriterPragmas(/*synchronous_full=*/synced_);
      // create_run, committed on its own: the runs row and the mlflow.runName tag.
      db_.Exec("BEGIN IMMEDIATE");
      try {
        db_.Exec(kMlflowSchema);
        Stmt add_run(db_,
                     "INSERT INTO runs (run_uuid, name, status, start_time, lifecycle_stage, "
                     "experiment_id, artifact_uri) VALUES (?1, ?2, 'RUNNING', ?3, 'active', 0, "
                     "'') ON CONFLICT (run_uuid) DO NOTHING");
        add_run.BindText(1, run_uuid_).BindText(2, run).Bind(3, NowMillis()).Run();
        Stmt add_tag(db_,
                     "INSERT OR REPLACE INTO tags (run_uuid, key, value) VALUES (?1, "
                     "'mlflow.runName', ?2)");
        add_tag.BindText(1, run_uuid_).BindText(2, run).Run();
        db_.Exec("COMMIT");
      } catch (...) {
        db_.ExecIgnoringErrors("ROLLBACK");
        throw;
      }
      insert_metric_ = std::make_unique<Stmt>(
          db_,
          "INSERT INTO metrics (run_uuid, key, step, value, timestamp, is_nan) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
      upsert_latest_ = std::make_unique<Stmt>(
          db_,
          "INSERT INTO latest_metrics (run_uuid, key, value, timestamp, step, is_nan) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (run_uuid, key) DO UPDATE SET "
          "value = excluded.value, timestamp = excluded.timestamp, step = excluded.step, "
          "is_nan = excluded.is_nan WHERE (excluded.step, excluded.timestamp, excluded.value) "
          ">= (latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)");
      set_param_ = std::make_unique<Stmt>(
          db_, "INSERT OR REPLACE INTO params (run_uuid, key, value) VALUES (?1, ?2, ?3)");
      add_tag_ = std::make_unique<Stmt>(
          db_, "INSERT OR IGNORE INTO tags (run_uuid, key, value) VALUES (?1, ?2, '')");
      insert_string_ = std::make_unique<Stmt>(
          db_,
          "INSERT INTO string_series (run_uuid, key, step, value, timestamp) "
          "VALUES (?1, ?2, ?3, ?4, ?5)");
    } else {
      Stmt find(db_, "SELECT 1 FROM runs WHERE run_uuid = ?1");
      ResetOnExit reset(find);
      find.BindText(1, run_uuid_);
      if (!find.Step()) throw std::runtime_error("sqlite_rows: no run " + run);
    }
    read_series_ = std::make_unique<Stmt>(
        db_,
        "SELECT step, value, timestamp, is_nan FROM metrics WHERE run_uuid = ?1 AND key = ?2 "
        "AND step >= ?3 AND step < ?4 ORDER BY step");
    read_last_ = std::make_unique<Stmt>(
        db_,
        "SELECT step, value, timestamp, is_nan FROM latest_metrics WHERE run_uuid = ?1 AND "
        "key = ?2");
    read_param_ =
        std::make_unique<Stmt>(db_, "SELECT value FROM params WHERE run_uuid = ?1 AND key = ?2");
  }

  void AssignFloat(std::string_view path, double value) override {
    // str(value): the shortest digits that read back as the same double.
    char text[32];
    const std::to_chars_result r = std::to_chars(text, text + sizeof(text), value);
    SetParam(path, std::string_view(text, static_cast<size_t>(r.ptr - text)));
  }
  void AssignInt(std::string_view path, int64_t value) override {
    SetParam(path, std::to_string(value));
  }
  void AssignString(std::string_view path, std::string_view value) override {
    SetParam(path, value);
  }
  void LogFloat(std::string_view path, const Point& point) override {
    LogFloats(path, std::span<const Point>(&point, 1));
  }
  void LogFloats(std::string_view path, std::span<const Point> points) override {
    Write([&] {
      for (size_t begin = 0; begin < points.size(); begin += kBatchPoints) {
        const std::span<const Point> batch =
            points.subspan(begin, std::min(kBatchPoints, points.size() - begin));
        const Point* latest = &batch[0];
        for (const Point& p : batch) {
          const bool is_nan = std::isnan(p.value);
          insert_metric_->BindText(1, run_uuid_)
              .BindText(2, path)
              .Bind(3, p.step)
              .Bind(4, is_nan ? 0.0 : p.value)
              .Bind(5, p.timestamp_us)
              .Bind(6, int64_t{is_nan})
              .Run();
          if (std::tie(p.step, p.timestamp_us, p.value) >
              std::tie(latest->step, latest->timestamp_us, latest->value)) {
            latest = &p;
          }
        }
        const bool is_nan = std::isnan(latest->value);
        upsert_latest_->BindText(1, run_uuid_)
            .BindText(2, path)
            .Bind(3, is_nan ? 0.0 : latest->value)
            .Bind(4, latest->timestamp_us)
            .Bind(5, latest->step)
            .Bind(6, int64_t{is_nan})
            .Run();
        Written(static_cast<int>(batch.size()));
      }
    });
  }
  void LogString(std::string_view path, int64_t step, std::string_view value,
                 int64_t timestamp_us) override {
    Write([&] {
      insert_string_->BindText(1, run_uuid_)
          .BindText(2, path)
          .Bind(3, step)
          .BindText(4, value)
          .Bind(5, timestamp_us)
          .Run();
      Written(1);
    });
  }
  void AddStrings(std::string_view path, std::span<const std::string> values) override {
    Write([&] {
      std::string key;
      for (const std::string& value : values) {
        key.assign(path).append("/").append(value);
        add_tag_->BindText(1, run_uuid_).BindText(2, key).Run();
      }
      Written(static_cast<int>(values.size()));
    });
  }

  std::vector<Point> ReadSeries(std::string_view path, int64_t from_step,
                                int64_t to_step) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Point> points;
    Stmt& query = *read_series_;
    ResetOnExit reset(query);
    query.BindText(1, run_uuid_).BindText(2, path).Bind(3, from_step).Bind(4, to_step);
    while (query.Step()) points.push_back(PointAt(query));
    return points;
  }

  Point ReadLast(std::string_view path) override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt& query = *read_last_;
    ResetOnExit reset(query);
    query.BindText(1, run_uuid_).BindText(2, path);
    if (!query.Step()) {
      throw std::runtime_error("sqlite_rows: no metric " + std::string(path));
    }
    return PointAt(query);
  }

  double ReadFloat(std::string_view path) override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt& query = *read_param_;
    ResetOnExit reset(query);
    query.BindText(1, run_uuid_).BindText(2, path);
    if (!query.Step()) throw std::runtime_error("sqlite_rows: no param " + std::string(path));
    const std::string_view text = query.Bytes(0);
    double value = 0;
    const std::from_chars_result r = std::from_chars(text.data(), text.data() + text.size(), value);
    if (r.ec != std::errc() || r.ptr != text.data() + text.size()) {
      throw std::runtime_error("sqlite_rows: param " + std::string(path) + " is not a float");
    }
    return value;
  }

 private:
  void SetParam(std::string_view path, std::string_view value) {
    Write([&] {
      set_param_->BindText(1, run_uuid_).BindText(2, path).BindText(3, value).Run();
      Written(1);
    });
  }

  // Columns step, value, timestamp, is_nan.
  static Point PointAt(const Stmt& row) {
    return Point{.step = row.Int(0),
                 .value = row.Int(3) ? std::numeric_limits<double>::quiet_NaN() : row.Real(1),
                 .timestamp_us = row.Int(2)};
  }

  const std::string run_uuid_;
  std::unique_ptr<Stmt> insert_metric_;
  std::unique_ptr<Stmt> upsert_latest_;
  std::unique_ptr<Stmt> set_param_;
  std::unique_ptr<Stmt> add_tag_;
  std::unique_ptr<Stmt> insert_string_;
  std::unique_ptr<Stmt> read_series_;
  std::unique_ptr<Stmt> read_last_;
  std::unique_ptr<Stmt> read_param_;
};

// Both SQLite systems: a Store per run over the directory's database file.
template <typename StoreT>
class SqliteSystem : public System {
 public:
  SqliteSystem(std::string name, std::string settings)
      : name_(std::move(name)), settings_(std::move(settings)) {}
  std::string name() const override { return name_; }
  std::unique_ptr<Store> Create(const std::string& dir, const std::string& run,
                                const StoreOptions& options) override {
    return std::make_unique<StoreT>(dir, run, /*writer=*/true, options);
  }
  std::unique_ptr<Store> Open(const std::string& dir, const std::string& run) override {
    return std::make_unique<StoreT>(dir, run, /*writer=*/false, StoreOptions{});
  }
  std::string settings() const override { return settings_; }

 private:
  std::string name_;
  std::string settings_;
};

}  // namespace

std::unique_ptr<System> MakeSqliteOpsSystem() {
  return std::make_unique<SqliteSystem<SqliteOpsStore>>(
      "sqlite_ops",
      "neptune-scale run_operations: one row (packed blob) per op/point, AUTOINCREMENT, "
      "index (run, sequence_id, size), journal_mode=WAL, synchronous=FULL, 1,000 rows per "
      "transaction (kSynced: one per call), reads decode the run's rows in order");
}
std::unique_ptr<System> MakeSqliteRowsSystem() {
  return std::make_unique<SqliteSystem<SqliteRowsStore>>(
      "sqlite_rows",
      "MLflow SQL store: metrics PK (run_uuid, key, step) and latest_metrics upsert, "
      "WITHOUT ROWID, journal_mode=WAL, synchronous=NORMAL (kSynced: FULL), 1,000 rows per "
      "transaction (kSynced: one per call), params as shortest-repr text");
}

}  // namespace runlog::compare
