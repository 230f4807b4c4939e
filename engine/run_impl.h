// Run::Impl: one open run. It owns the run's writer lock, its WAL writer, its RocksDB, the
// eager model that checks each call before it is logged, and the committer thread that
// applies the log to RocksDB behind the callers (DESIGN §2).
//
//   caller ─► mu_: model_.Check ─► WAL append (acknowledged) ─► model_.Apply ─► logged_lsn_
//   committer thread ─► WAL reader (following) ─► Committer::Add/Commit ─► committed LSN
//
// Thread safety: every public method may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>

#include "engine/committer.h"
#include "engine/model.h"
#include "engine/repository.h"
#include "engine/store.h"
#include "format/lock_file.h"
#include "format/records.h"
#include "format/wal_reader.h"
#include "format/wal_writer.h"
#include "runlog/run.h"

namespace runlog {

class Run::Impl {
 public:
  static Result<std::unique_ptr<Impl>> Start(engine::Repository* repo, const RunOptions& options);
  ~Impl();

  // Builds a payload under the admission lock (with the eager model, e.g. for default
  // steps), checks it, logs it, applies it to the model. Returns the LSN.
  using Builder = std::function<std::span<const uint8_t>(wal::RecordBuilder&, engine::RunModel&)>;
  // `final`: the run's last record (Stop); no call is admitted after it.
  Result<uint64_t> Log(wal::RecordType type, const Builder& build, bool final = false);

  // Waits until everything logged before the call is committed; then reads see it.
  Status WaitForReads();
  Status Wait();
  Status Stop();

  // True when `path` is a field, as far as this process logged.
  Result<bool> Exists(std::string_view path);
  // The field's type in the eager model (None when no field).
  engine::FieldType EagerType(std::string_view path);

  engine::RunStore* store() { return store_.get(); }
  const std::string& sys_id() const { return sys_id_; }
  const std::string& uuid() const { return uuid_; }
  const std::string& custom_run_id() const { return custom_run_id_; }
  Mode mode() const { return options_.mode; }
  RunStats stats() const;
  int64_t NowMicros() const;

 private:
  explicit Impl(const RunOptions& options) : options_(options) {}

  Status OpenWritable(engine::Repository* repo);
  // True when the log holds a record past `lsn` (the run's lock must be held).
  Result<bool> LogHasRecordsAfter(uint64_t lsn);
  // The run's StoreTuning as the store's options.
  engine::StoreOptions StoreOptionsFor(engine::StoreMode mode,
                                       std::function<void()> before_flush = nullptr) const;
  Status OpenReadOnly(engine::Repository* repo);
  // Opens the run's database as its primary with a committer (the run's lock is held). A
  // damaged database (Corruption opening or loading it) or another run's is moved aside to
  // db.damaged-<UTC time> and rebuilt from the log, which holds the whole run.
  Status OpenPrimary(const std::function<void()>& before_flush);
  Status TryOpenPrimary(const std::function<void()>& before_flush);
  Status MoveDatabaseAside(const Status& why);
  // Corruption when the database holds another run's sys/uuid.
  Status CheckIdentity(const engine::RunStore& store) const;
  Status OpenDebug(engine::Repository* repo);
  Status CatchUp();  // commits everything the WAL holds beyond the applied LSN
  // Syncs the log, then flushes RocksDB: a flushed applied LSN never passes the log's
  // durable end (the committer flushes the same way).
  Status SyncLogThenFlush();
  // RocksDB's flush listener: syncs the log before any flush RocksDB starts on its own.
  void SyncLogBeforeFlush();
  Status LogStartRecords(bool resumed);
  Status WaitBacklog();
  // Waits until `lsn` is committed. A commit error returns at once, or, when `patient`,
  // after the committer's retries failed for backlog_timeout.
  Status WaitCommitted(uint64_t lsn, bool patient = false);
  void StartCommitter();
  void CommitLoop();
  bool NextRecord(wal::Record* rec, Status* error);
  void NotifyCommitter();

  const RunOptions options_;
  FileSystem* fs_ = nullptr;  // the repository's file layer
  std::string sys_id_, uuid_, custom_run_id_, dir_;
  std::unique_ptr<LockFile> lock_;
  std::unique_ptr<wal::Writer> writer_;  // null: read-only, debug
  std::mutex flush_hook_mu_;
  wal::Writer* flush_hook_writer_ = nullptr;  // guarded by flush_hook_mu_
  std::unique_ptr<engine::RunStore> store_;
  std::unique_ptr<engine::Committer> committer_;

  // Admission: the eager model and the order of the log.
  std::mutex mu_;
  engine::RunModel model_;      // guarded by mu_
  wal::RecordBuilder builder_;  // guarded by mu_
  // Sync mode: shared by each call while it syncs the log outside mu_; Stop takes it
  // exclusively before it closes the writer.
  std::shared_mutex syncers_;
  bool stopped_ = false;  // guarded by mu_: no more calls are admitted
  bool started_ = false;  // the open completed (set before other threads exist)

  // Stop: one at a time, idempotent.
  mutable std::mutex stop_mu_;
  bool stop_done_ = false;  // guarded by stop_mu_
  Status stop_result_;      // guarded by stop_mu_
  // Written by callers (one cache line), read by the committer.
  alignas(64) std::atomic<uint64_t> logged_lsn_{0};
  std::atomic<uint64_t> logged_bytes_{0};

  // Debug mode: the log is this queue, in memory.
  std::mutex queue_mu_;
  std::deque<std::pair<wal::Record, std::string>> queue_;  // guarded by queue_mu_
  uint64_t debug_lsn_ = 0;                                 // guarded by mu_

  // The committer thread.
  std::thread thread_;
  std::unique_ptr<wal::Reader> reader_;  // committer thread only
  std::mutex cmu_;
  std::condition_variable work_cv_;  // new records, or stop
  std::condition_variable done_cv_;  // a batch committed, or an error
  bool stop_thread_ = false;         // guarded by cmu_
  Status commit_error_;              // guarded by cmu_
  // Written by the committer (another cache line), read by callers.
  alignas(64) std::atomic<bool> committer_idle_{false};
  std::atomic<bool> committer_running_{false};
  std::atomic<uint64_t> committed_lsn_{0};
  std::atomic<uint64_t> committed_bytes_{0};
};

}  // namespace runlog
