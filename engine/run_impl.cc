#include "engine/run_impl.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "engine/path.h"
#include "engine/queries.h"
#include "format/log_format.h"

namespace runlog {
namespace {

using Clock = std::chrono::steady_clock;

// Records waiting before a writer wakes the committer, and the committer's own tick: how
// long an async commit may lag when nobody waits for it.
constexpr uint64_t kWakeRecords = 4096;
constexpr std::chrono::milliseconds kCommitterTick{10};
// Log bytes per commit batch at most, whatever commit_batch_records says: a batch and the
// series tails it gathers are held in memory until written (65,536 records of 1,000
// points would be 1.5 GiB).
constexpr uint64_t kMaxBatchBytes = 32ull << 20;

engine::CommitterOptions CommitterOptionsFrom(const RunOptions& o) {
  engine::CommitterOptions c;
  c.limits.max_fields = o.max_fields;
  c.limits.max_string_bytes = o.max_string_bytes;
  c.series_chunk_points = o.series_chunk_points == 0 ? 1 : o.series_chunk_points;
  return c;
}

std::string Hostname() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

wal::Uuid UuidOf(const std::string& hex) {
  uint64_t hi = std::stoull(hex.substr(0, 16), nullptr, 16);
  uint64_t lo = std::stoull(hex.substr(16, 16), nullptr, 16);
  return wal::Uuid(hi, lo);
}

}  // namespace

int64_t Run::Impl::NowMicros() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::unique_ptr<Run::Impl>> Run::Impl::Start(engine::Repository* repo,
                                                    const RunOptions& options) {
  std::unique_ptr<Impl> impl(new Impl(options));
  impl->model_ = engine::RunModel(CommitterOptionsFrom(options).limits);
  impl->fs_ = repo->fs();
  switch (options.mode) {
    case Mode::kReadOnly: RUNLOG_RETURN_IF_ERROR(impl->OpenReadOnly(repo)); return impl;
    case Mode::kDebug: RUNLOG_RETURN_IF_ERROR(impl->OpenDebug(repo)); return impl;
    default: RUNLOG_RETURN_IF_ERROR(impl->OpenWritable(repo)); return impl;
  }
}

engine::StoreOptions Run::Impl::StoreOptionsFor(engine::StoreMode mode,
                                                std::function<void()> before_flush) const {
  return {.mode = mode,
          .write_buffer_size = options_.store.write_buffer_bytes,
          .compression = options_.store.compression,
          .block_cache_bytes = options_.store.block_cache_bytes,
          .before_flush = std::move(before_flush)};
}

Status Run::Impl::OpenWritable(engine::Repository* repo) {
  engine::RunInfo info;
  if (!options_.resume.empty()) {
    RUNLOG_ASSIGN_OR_RETURN(info, repo->FindRun(options_.resume));
  } else {
    RUNLOG_ASSIGN_OR_RETURN(info, repo->CreateRun({.custom_run_id = options_.custom_run_id}));
  }
  sys_id_ = info.sys_id;
  uuid_ = info.uuid_hex;
  custom_run_id_ = info.custom_run_id;
  dir_ = info.dir;
  RUNLOG_ASSIGN_OR_RETURN(
      lock_, LockFile::Acquire(repo->fs(), dir_ + "/LOCK", "run " + sys_id_ + " (" + dir_ + ")"));
  wal::WriterOptions wo;
  wo.run_id = info.uuid;
  wo.segment_size = options_.segment_size;
  wo.sync_interval = options_.sync_interval;
  // Sync mode: the append is not synced under the admission lock; the caller syncs after
  // it (Log), where the writer's group commit lets one fdatasync cover every caller that
  // appended meanwhile.
  wo.durability =
      options_.mode == Mode::kSync ? wal::Durability::kNone : wal::Durability::kInterval;
  wo.create_if_missing = false;
  wo.fs = repo->fs();
  RUNLOG_ASSIGN_OR_RETURN(writer_, wal::Writer::Open(dir_ + "/wal", wo));
  flush_hook_writer_ = writer_.get();
  // RocksDB flushes on its own when a memtable fills: the log is synced first, so the
  // applied LSN on disk never passes the log's durable end.
  RUNLOG_RETURN_IF_ERROR(OpenPrimary([this] { SyncLogBeforeFlush(); }));
  RUNLOG_RETURN_IF_ERROR(CatchUp());
  if (committer_->applied_lsn() > writer_->last_lsn()) {
    return Status::Corruption("run " + sys_id_ + ": the database has applied LSN " +
                              std::to_string(committer_->applied_lsn()) +
                              " but the log ends at LSN " + std::to_string(writer_->last_lsn()) +
                              " (" + dir_ + "/wal lost records it had acknowledged)");
  }
  // The log so far was committed under the limits stored with the run; from here on this
  // opener's limits apply, stored and flushed before anything is logged under them.
  RUNLOG_RETURN_IF_ERROR(committer_->SetLimits(CommitterOptionsFrom(options_).limits));
  RUNLOG_RETURN_IF_ERROR(SyncLogThenFlush());
  model_ = committer_->model();
  StartCommitter();
  started_ = true;
  return LogStartRecords(!info.created);
}

Result<bool> Run::Impl::LogHasRecordsAfter(uint64_t lsn) {
  wal::ReaderOptions ro;
  ro.start_lsn = lsn + 1;
  ro.detect_live_writer = false;  // the run's lock is ours: no writer is appending
  ro.fs = fs_;
  RUNLOG_ASSIGN_OR_RETURN(auto reader, wal::Reader::Open(dir_ + "/wal", ro));
  wal::Record rec;
  return reader->Next(&rec);
}

Status Run::Impl::CatchUp() {
  wal::ReaderOptions ro;
  ro.start_lsn = committer_->applied_lsn() + 1;
  ro.detect_live_writer = false;  // the run's lock is ours: no writer is appending
  ro.fs = fs_;
  RUNLOG_ASSIGN_OR_RETURN(auto reader, wal::Reader::Open(dir_ + "/wal", ro));
  wal::Record rec;
  size_t n = 0;
  uint64_t bytes = 0;
  for (;;) {
    RUNLOG_ASSIGN_OR_RETURN(bool more, reader->Next(&rec));
    if (!more) break;
    (void)committer_->Add({rec.lsn, rec.type, rec.payload});
    bytes += rec.payload.size();
    if (++n >= options_.commit_batch_records || bytes >= kMaxBatchBytes) {
      RUNLOG_RETURN_IF_ERROR(committer_->Commit());
      n = 0;
      bytes = 0;
    }
  }
  RUNLOG_RETURN_IF_ERROR(committer_->Commit());
  committed_lsn_ = committer_->applied_lsn();
  logged_lsn_ = committed_lsn_.load();
  return Status::OK();
}

Status Run::Impl::OpenReadOnly(engine::Repository* repo) {
  std::string id = !options_.resume.empty() ? options_.resume : options_.custom_run_id;
  if (id.empty()) {
    return Status::InvalidArgument(
        "read-only mode opens an existing run: give its sys/id, uuid or custom run id");
  }
  // A custom run id is looked up as one (it may look like a sys/id or a uuid).
  RUNLOG_ASSIGN_OR_RETURN(engine::RunInfo info, !options_.resume.empty()
                                                    ? repo->FindRun(id)
                                                    : repo->FindRunByCustomId(id));
  sys_id_ = info.sys_id;
  uuid_ = info.uuid_hex;
  custom_run_id_ = info.custom_run_id;
  dir_ = info.dir;
  // No writer: commit what a crash left in the log, so that reads see every acknowledged
  // operation. With a live writer: read what it has committed and flushed.
  auto lock = LockFile::Acquire(repo->fs(), dir_ + "/LOCK", "run " + sys_id_);
  if (!lock.ok() && !lock.status().Is(Code::kRunLocked)) return lock.status();
  auto open_secondary = [&] {
    return engine::RunStore::Open(dir_ + "/db", StoreOptionsFor(engine::StoreMode::kSecondary));
  };
  if (lock.ok()) {
    // No writer. A run stopped cleanly has nothing in its log past the applied LSN, which one
    // read of the log shows; opening the database as a writer (tens of milliseconds, and
    // writes) is only for a log a dead writer left behind, or a database it never created.
    // A database that cannot be read, or is another run's, goes the writer's way too (OpenPrimary
    // rebuilds it from the log).
    bool behind = true;
    if (auto opened = open_secondary(); opened.ok()) {
      store_ = std::move(opened).value();
      Result<uint64_t> applied = engine::ReadAppliedLsn(*store_);
      if (applied.ok() && CheckIdentity(*store_).ok()) {
        RUNLOG_ASSIGN_OR_RETURN(behind, LogHasRecordsAfter(*applied));
      }
    }
    if (behind) {
      store_.reset();
      RUNLOG_RETURN_IF_ERROR(OpenPrimary(nullptr));
      RUNLOG_RETURN_IF_ERROR(CatchUp());
      RUNLOG_RETURN_IF_ERROR(SyncLogThenFlush());
      committer_.reset();
      store_.reset();
    }
  }
  if (store_ == nullptr) {
    RUNLOG_ASSIGN_OR_RETURN(store_, open_secondary());
    // Beside a live writer nothing is rebuilt here (the writer's open would have): refuse.
    RUNLOG_RETURN_IF_ERROR(CheckIdentity(*store_));
  }
  RUNLOG_ASSIGN_OR_RETURN(uint64_t applied, engine::ReadAppliedLsn(*store_));
  committed_lsn_ = applied;
  logged_lsn_ = applied;
  stopped_ = true;  // no writes
  return Status::OK();
}

Status Run::Impl::TryOpenPrimary(const std::function<void()>& before_flush) {
  committer_.reset();
  store_.reset();
  RUNLOG_ASSIGN_OR_RETURN(
      store_, engine::RunStore::Open(dir_ + "/db",
                                     StoreOptionsFor(engine::StoreMode::kPrimary, before_flush)));
  RUNLOG_ASSIGN_OR_RETURN(committer_,
                          engine::Committer::Open(store_.get(), CommitterOptionsFrom(options_)));
  return CheckIdentity(*store_);
}

Status Run::Impl::OpenPrimary(const std::function<void()>& before_flush) {
  Status damage = TryOpenPrimary(before_flush);
  // Only damage is rebuilt: an I/O error (permissions, a full disk, db/ not a directory)
  // says nothing about the database and is the caller's to see.
  if (damage.ok() || !damage.Is(Code::kCorruption)) return damage;
  committer_.reset();
  store_.reset();
  // The log is the source of truth (DESIGN §2) and is never trimmed: when it starts at LSN 1
  // with the run's CreateRun and reads to its end (a torn tail aside), committing it from the
  // start rebuilds the whole database. Read through once first: a log that cannot rebuild
  // leaves the damaged database where it is.
  wal::ReaderOptions ro;
  ro.detect_live_writer = false;  // the run's lock is ours
  ro.fs = fs_;
  Status log_ok;
  if (auto reader = wal::Reader::Open(dir_ + "/wal", ro); !reader.ok()) {
    log_ok = reader.status();
  } else {
    wal::Record rec;
    for (bool first = true;; first = false) {
      Result<bool> more = (*reader)->Next(&rec);
      if (!more.ok()) {
        log_ok = more.status();
        break;
      }
      if (!*more) break;
      if (first &&
          (rec.lsn != 1 || rec.type != static_cast<uint16_t>(wal::RecordType::CreateRun))) {
        log_ok = Status::Corruption(dir_ + "/wal does not start with the run's CreateRun at LSN 1");
        break;
      }
    }
  }
  if (!log_ok.ok()) {
    return damage.WithContext("run " + sys_id_ + ": the log cannot rebuild the database (" +
                              log_ok.ToString() + "); it is left in place");
  }
  RUNLOG_RETURN_IF_ERROR(MoveDatabaseAside(damage));
  return TryOpenPrimary(before_flush);
}

Status Run::Impl::MoveDatabaseAside(const Status& why) {
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  std::string aside = dir_ + "/db.damaged-" + stamp;
  for (int n = 2; ::access(aside.c_str(), F_OK) == 0; ++n) {
    aside = dir_ + "/db.damaged-" + stamp + "-" + std::to_string(n);
  }
  RUNLOG_RETURN_IF_ERROR(fs_->Rename(dir_ + "/db", aside));
  RUNLOG_RETURN_IF_ERROR(fs_->SyncDir(dir_));
  // Never deleted: kept for inspection with the reason, and said on stderr, the only channel
  // a library has for a recovery that succeeds.
  const std::string note =
      "runlog moved this database aside and rebuilt the run's database "
      "from its log: " +
      why.ToString() + "\n";
  if (auto fd = fs_->Open(aside + "/RUNLOG-DAMAGED.txt", O_WRONLY | O_CREAT | O_TRUNC); fd.ok()) {
    (void)fs_->WriteAt(*fd, aside, 0,
                       std::span(reinterpret_cast<const uint8_t*>(note.data()), note.size()));
    (void)fs_->Close(*fd, aside);
  }
  std::fprintf(stderr, "runlog: run %s: %s; moved it to %s and rebuilding it from the log\n",
               sys_id_.c_str(), why.ToString().c_str(), aside.c_str());
  return Status::OK();
}

Status Run::Impl::CheckIdentity(const engine::RunStore& store) const {
  Result<Atom> uuid = engine::QueryAtom(store, "sys/uuid");
  if (!uuid.ok()) return uuid.status().Is(Code::kNotFound) ? Status::OK() : uuid.status();
  const std::string* hex = std::get_if<std::string>(&uuid->value);
  if (hex != nullptr && *hex == uuid_) return Status::OK();
  return Status::Corruption(store.dir() + " is the database of run " +
                            (hex != nullptr ? *hex : std::string("?")) + ", not of run " + sys_id_ +
                            " (" + uuid_ + ")");
}

Status Run::Impl::OpenDebug(engine::Repository* repo) {
  wal::RunId uuid = engine::NewRunUuid();
  uuid_ = wal::RunIdHex(uuid);
  sys_id_ = repo->key() + "-DEBUG";
  custom_run_id_ = options_.custom_run_id;
  RUNLOG_ASSIGN_OR_RETURN(store_,
                          engine::RunStore::Open("/runlog-debug/" + uuid_,
                                                 StoreOptionsFor(engine::StoreMode::kMemory)));
  RUNLOG_ASSIGN_OR_RETURN(committer_,
                          engine::Committer::Open(store_.get(), CommitterOptionsFrom(options_)));
  StartCommitter();
  started_ = true;
  auto created = Log(wal::RecordType::CreateRun, [&](wal::RecordBuilder& rb, engine::RunModel&) {
    auto& b = rb.builder();
    wal::Uuid u = UuidOf(uuid_);
    return rb.Finish(wal::CreateCreateRunDirect(b, &u, sys_id_.c_str(), custom_run_id_.c_str(),
                                                NowMicros(), Hostname().c_str(),
                                                static_cast<uint32_t>(::getpid())));
  });
  RUNLOG_RETURN_IF_ERROR(created.status());
  return LogStartRecords(false);
}

Status Run::Impl::SyncLogThenFlush() {
  if (writer_ != nullptr) {
    RUNLOG_RETURN_IF_ERROR(writer_->Sync());
  } else if (options_.mode != Mode::kDebug) {
    // No writer (a reader's catch-up): sync the segments it committed from.
    RUNLOG_ASSIGN_OR_RETURN(auto names, fs_->ListDir(dir_ + "/wal"));
    for (const std::string& name : names) {
      if (!name.ends_with(".wal")) continue;
      const std::string path = dir_ + "/wal/" + name;
      RUNLOG_ASSIGN_OR_RETURN(int fd, fs_->Open(path, O_RDONLY));
      Status s = fs_->SyncData(fd, path);
      (void)fs_->Close(fd, path);
      RUNLOG_RETURN_IF_ERROR(s);
    }
  }
  return store_->Flush();
}

void Run::Impl::SyncLogBeforeFlush() {
  std::lock_guard<std::mutex> lock(flush_hook_mu_);
  if (flush_hook_writer_ != nullptr) (void)flush_hook_writer_->Sync();
}

Status Run::Impl::LogStartRecords(bool resumed) {
  if (resumed) {
    auto r = Log(wal::RecordType::ResumeRun, [&](wal::RecordBuilder& rb, engine::RunModel&) {
      auto& b = rb.builder();
      wal::Uuid u = UuidOf(uuid_);
      return rb.Finish(wal::CreateResumeRunDirect(b, &u, NowMicros(), Hostname().c_str(),
                                                  static_cast<uint32_t>(::getpid())));
    });
    RUNLOG_RETURN_IF_ERROR(r.status());
  }
  auto assign = [&](const char* path, const std::string& v) -> Status {
    if (v.empty()) return Status::OK();
    return Log(wal::RecordType::AssignString,
               [&](wal::RecordBuilder& rb, engine::RunModel&) { return rb.AssignString(path, v); })
        .status();
  };
  RUNLOG_RETURN_IF_ERROR(assign("sys/name", options_.name));
  RUNLOG_RETURN_IF_ERROR(assign("sys/description", options_.description));
  if (!options_.tags.empty()) {
    auto r = Log(wal::RecordType::AddStrings, [&](wal::RecordBuilder& rb, engine::RunModel&) {
      return rb.StringSetChange(true, "sys/tags", options_.tags);
    });
    RUNLOG_RETURN_IF_ERROR(r.status());
  }
  return Status::OK();
}

Run::Impl::~Impl() {
  (void)Stop();
}

Status Run::Impl::WaitBacklog() {
  auto backlog = [&] {
    return logged_bytes_.load(std::memory_order_relaxed) -
           committed_bytes_.load(std::memory_order_relaxed);
  };
  if (backlog() <= options_.max_backlog_bytes) return Status::OK();
  std::unique_lock<std::mutex> lock(cmu_);
  work_cv_.notify_one();
  const auto deadline = Clock::now() + options_.backlog_timeout;
  while (backlog() > options_.max_backlog_bytes) {
    if (!commit_error_.ok()) return commit_error_;
    if (done_cv_.wait_until(lock, deadline) == std::cv_status::timeout &&
        backlog() > options_.max_backlog_bytes) {
      return Status::Busy("run " + sys_id_ + ": " + std::to_string(backlog()) +
                          " bytes of the log are not committed yet, over max_backlog_bytes (" +
                          std::to_string(options_.max_backlog_bytes) + "); waited " +
                          std::to_string(options_.backlog_timeout.count()) +
                          " ms for the committer (committed LSN " +
                          std::to_string(committed_lsn_.load()) + ", logged LSN " +
                          std::to_string(logged_lsn_.load()) + "); the operation was not logged");
    }
  }
  return Status::OK();
}

Result<uint64_t> Run::Impl::Log(wal::RecordType type, const Builder& build, bool final) {
  if (options_.mode == Mode::kReadOnly) {
    return Status::ReadOnly("run " + sys_id_ + " is open read-only");
  }
  RUNLOG_RETURN_IF_ERROR(WaitBacklog());
  const uint16_t t = static_cast<uint16_t>(type);
  uint64_t lsn;
  std::shared_lock<std::shared_mutex> syncing;  // sync mode: held while this call syncs
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return Status::InvalidArgument("run " + sys_id_ + " is stopped");
    std::span<const uint8_t> payload = build(builder_, model_);
    RUNLOG_ASSIGN_OR_RETURN(engine::Plan plan, model_.Check(t, payload));
    if (writer_ != nullptr) {
      RUNLOG_ASSIGN_OR_RETURN(lsn, writer_->Append(t, payload));
    } else {
      lsn = ++debug_lsn_;
      std::lock_guard<std::mutex> q(queue_mu_);
      queue_.emplace_back();
      auto& [rec, bytes] = queue_.back();
      bytes.assign(reinterpret_cast<const char*>(payload.data()), payload.size());
      rec.lsn = lsn;
      rec.type = t;
      rec.payload = {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
    }
    if (plan.kind == engine::PlanKind::kLifecycle) {
      (void)model_.ApplyLifecycle(t, payload);
    } else {
      model_.Apply(plan, nullptr);
    }
    logged_bytes_.fetch_add(wal::AlignedRecordSize(payload.size()), std::memory_order_relaxed);
    logged_lsn_.store(lsn, std::memory_order_seq_cst);
    if (final) stopped_ = true;
    // Taken before the admission lock is let go: Stop closes the writer only after every
    // caller admitted before it has finished its sync.
    if (options_.mode == Mode::kSync) syncing = std::shared_lock<std::shared_mutex>(syncers_);
  }
  // The commit of a sync-mode call runs while its log sync does. Waking the committer per
  // call would otherwise cost a context switch per call: it is woken when
  // a batch's worth is waiting, by anyone waiting for the commit, or by its own timer.
  if (options_.mode == Mode::kSync || options_.mode == Mode::kDebug ||
      lsn - committed_lsn_.load(std::memory_order_relaxed) >= kWakeRecords) {
    NotifyCommitter();
  }
  if (options_.mode == Mode::kSync) {
    // Group commit: callers that appended while another's fdatasync ran share the next one.
    // A failed sync leaves the operation logged but of unknown durability, and the log
    // refuses every later write (reopen the run to recover): the caller must know.
    Status synced = writer_->Sync();
    syncing.unlock();
    if (!synced.ok()) {
      return synced.WithContext("run " + sys_id_ + ": LSN " + std::to_string(lsn) +
                                " was logged but syncing the log failed; its durability is "
                                "unknown");
    }
  }
  if (options_.mode == Mode::kSync) {
    // Durable already: the operation will be committed even if the commit fails for the
    // moment (it retries from the log); an error here would invite a duplicate retry.
    // Wait() reports a commit error.
    (void)WaitCommitted(lsn);
  }
  return lsn;
}

void Run::Impl::NotifyCommitter() {
  if (committer_idle_.load(std::memory_order_seq_cst)) {
    std::lock_guard<std::mutex> lock(cmu_);
    work_cv_.notify_one();
  }
}

Status Run::Impl::WaitCommitted(uint64_t lsn, bool patient) {
  if (committed_lsn_.load(std::memory_order_acquire) >= lsn) return Status::OK();
  std::unique_lock<std::mutex> lock(cmu_);
  work_cv_.notify_one();
  const auto deadline = Clock::now() + options_.backlog_timeout;
  for (;;) {
    if (committed_lsn_.load(std::memory_order_acquire) >= lsn) return Status::OK();
    // The committer retries a failed commit every second; a patient caller gives it time.
    if (!commit_error_.ok() && (!patient || Clock::now() >= deadline)) return commit_error_;
    if (!committer_running_.load() || stop_thread_) {
      return Status::IOError("run " + sys_id_ + ": the committer stopped at LSN " +
                             std::to_string(committed_lsn_.load()) + " before LSN " +
                             std::to_string(lsn));
    }
    done_cv_.wait_for(lock, std::chrono::milliseconds(100));
  }
}

Status Run::Impl::WaitForReads() {
  if (options_.mode == Mode::kReadOnly) return store_->Refresh();
  return WaitCommitted(logged_lsn_.load(std::memory_order_seq_cst));
}

Status Run::Impl::Wait() {
  if (options_.mode == Mode::kReadOnly) return Status::OK();
  return WaitCommitted(logged_lsn_.load(std::memory_order_seq_cst));
}

Status Run::Impl::Stop() {
  std::lock_guard<std::mutex> stop_lock(stop_mu_);  // one Stop at a time; later ones return
  if (stop_done_) return stop_result_;
  Status result;
  const bool writable = options_.mode != Mode::kReadOnly;
  if (writable && started_) {
    // The end of the run is the log's last record: stopped_ is set with it.
    auto r = Log(
        wal::RecordType::SetRunState,
        [&](wal::RecordBuilder& rb, engine::RunModel&) {
          auto& b = rb.builder();
          return rb.Finish(wal::CreateSetRunState(b, wal::RunState::Inactive, NowMicros()));
        },
        /*final=*/true);
    if (!r.ok()) result = r.status();
  }
  {
    // Calls use the log writer only under mu_: once admission is closed, none is left.
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
  }
  // Sync-mode callers admitted before stopped_ may still be syncing the log.
  { std::unique_lock<std::shared_mutex> no_syncers(syncers_); }
  if (writable && started_) {
    Status waited = WaitCommitted(logged_lsn_.load(), /*patient=*/true);
    if (result.ok()) result = waited;
  }
  if (thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(cmu_);
      stop_thread_ = true;
      work_cv_.notify_all();
    }
    thread_.join();
    committer_running_ = false;
  }
  reader_.reset();
  if (started_ && store_ != nullptr && store_->mode() == engine::StoreMode::kPrimary) {
    Status flushed = SyncLogThenFlush();
    if (result.ok()) result = flushed;
  }
  if (writer_ != nullptr) {
    {
      std::lock_guard<std::mutex> lock(flush_hook_mu_);
      flush_hook_writer_ = nullptr;
    }
    Status closed = writer_->Close();
    if (result.ok()) result = closed;
    writer_.reset();
  }
  // The run's lock stays until the run is destroyed: its database is still open for reads.
  stop_done_ = true;
  stop_result_ = result;
  return result;
}

Result<bool> Run::Impl::Exists(std::string_view path) {
  if (options_.mode == Mode::kReadOnly) {
    RUNLOG_RETURN_IF_ERROR(store_->Refresh());
    auto f = engine::LookupField(*store_, path);
    if (f.ok()) return true;
    if (f.status().Is(Code::kNotFound)) return false;
    return f.status();
  }
  RUNLOG_RETURN_IF_ERROR(engine::ValidatePath(path));
  return EagerType(path) != engine::FieldType::None;
}

engine::FieldType Run::Impl::EagerType(std::string_view path) {
  std::lock_guard<std::mutex> lock(mu_);
  const engine::Field* f = model_.schema().Find(path);
  return f == nullptr ? engine::FieldType::None : f->type;
}

RunStats Run::Impl::stats() const {
  RunStats s;
  s.logged_lsn = logged_lsn_.load();
  s.committed_lsn = committed_lsn_.load();
  s.backlog_bytes = logged_bytes_.load() - committed_bytes_.load();
  s.rejected_at_commit = committer_ != nullptr ? committer_->rejected() : 0;
  // writer_ is reset by Stop under stop_mu_; stats() after Stop reports no syncs.
  std::lock_guard<std::mutex> lock(stop_mu_);
  if (writer_ != nullptr) s.log_syncs = writer_->stats().syncs;
  return s;
}

void Run::Impl::StartCommitter() {
  committer_running_ = true;
  thread_ = std::thread([this] { CommitLoop(); });
}

// The next record to commit: from the debug queue, or from the WAL (following its tail).
bool Run::Impl::NextRecord(wal::Record* rec, Status* error) {
  if (writer_ == nullptr) {
    std::lock_guard<std::mutex> q(queue_mu_);
    if (queue_.empty()) return false;
    *rec = queue_.front().first;  // the bytes stay in the queue until popped after commit
    return true;
  }
  if (reader_ == nullptr) {
    wal::ReaderOptions ro;
    ro.start_lsn = committer_->applied_lsn() + 1;
    ro.follow = true;
    ro.fs = fs_;
    auto r = wal::Reader::Open(dir_ + "/wal", ro);
    if (!r.ok()) {
      *error = r.status();
      return false;
    }
    reader_ = std::move(*r);
  }
  auto more = reader_->Next(rec);
  if (!more.ok()) {
    *error = more.status();
    return false;
  }
  return *more;
}

void Run::Impl::CommitLoop() {
  auto last_flush = Clock::now();
  bool unflushed = false;
  for (;;) {
    Status error;
    wal::Record rec;
    size_t n = 0;
    uint64_t bytes = 0;
    // The target is read once per batch: the writers' counter is a contended cache line.
    const uint64_t target = logged_lsn_.load(std::memory_order_seq_cst);
    const uint64_t start = committed_lsn_.load(std::memory_order_relaxed);
    while (n < options_.commit_batch_records && bytes < kMaxBatchBytes && start + n < target) {
      if (!NextRecord(&rec, &error)) break;
      (void)committer_->Add({rec.lsn, rec.type, rec.payload});
      bytes += wal::AlignedRecordSize(rec.payload.size());
      ++n;
      if (writer_ == nullptr) {
        // Debug: the payload lives in the queue; commit before dropping it.
        // After a failed commit the record stays queued and is applied again on retry.
        error = committer_->Commit();
        if (!error.ok()) break;
        std::lock_guard<std::mutex> q(queue_mu_);
        queue_.pop_front();
      }
    }
    if (error.ok()) error = committer_->Commit();
    if (!error.ok()) {
      std::unique_lock<std::mutex> lock(cmu_);
      commit_error_ = error.WithContext("run " + sys_id_ + ": commit stopped at LSN " +
                                        std::to_string(committer_->applied_lsn()));
      done_cv_.notify_all();
      // The log keeps everything: retry from the database's state after a pause (disk
      // full clears, a reader error is re-read).
      work_cv_.wait_for(lock, std::chrono::seconds(1));
      if (stop_thread_) return;
      lock.unlock();
      reader_.reset();
      // Until a reload succeeds, the committer refuses work and this loop retries it.
      if (committer_->Reload().ok()) {
        committed_lsn_ = committer_->applied_lsn();
        std::lock_guard<std::mutex> relock(cmu_);
        commit_error_ = Status::OK();
      }
      continue;
    }
    if (n > 0) {
      committed_bytes_.fetch_add(bytes, std::memory_order_relaxed);
      committed_lsn_.store(committer_->applied_lsn(), std::memory_order_release);
      unflushed = true;
      std::lock_guard<std::mutex> lock(cmu_);
      done_cv_.notify_all();
    }
    if (unflushed && Clock::now() - last_flush >= options_.flush_interval) {
      Status s = SyncLogThenFlush();
      last_flush = Clock::now();
      unflushed = !s.ok();
    }
    if (n == options_.commit_batch_records) continue;  // more is waiting
    std::unique_lock<std::mutex> lock(cmu_);
    if (stop_thread_ && committed_lsn_.load() >= logged_lsn_.load()) return;
    committer_idle_.store(true, std::memory_order_seq_cst);
    if (committed_lsn_.load() >= logged_lsn_.load(std::memory_order_seq_cst) && !stop_thread_) {
      work_cv_.wait_for(lock, kCommitterTick);
    }
    committer_idle_.store(false, std::memory_order_relaxed);
  }
}

}  // namespace runlog
