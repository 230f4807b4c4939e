// The stress driver: kill -9, and in power-loss mode a simulated power cut, at random
// moments while a run logs every kind of operation.
//
// A child process logs a seeded random mix into one run, resumed by its custom id in every
// life: assigns of every atom type (overwrites, Int into Float), float and string series
// (default and explicit steps and timestamps, bursts of large extends), string sets, clears,
// deletes of fields and namespaces (then other types at the same paths), MarkFailed, and
// calls that must be rejected (type mismatches, step regressions, non-finite steps,
// malformed extends, invalid paths, sys/ writes); now and then it waits for the commit.
// Before each call it reports the operation, after it the result (LSN or error code),
// through a pipe, with the file events its probes see (a segment created, a log sync, a
// RocksDB table written by a flush, a RocksDB sync). The parent kills it with SIGKILL during
// its start (log recovery and replay), mid-run, after a number of acknowledgements, right
// after large extends that the committer is still applying, or at the n-th file event of a
// kind. In power-loss mode every life runs in sync mode and, after the kill, the files lose
// whatever no sync covered (power_loss.h) before anything reads them: a call acknowledged
// in sync mode must survive that too.
//
// The oracle lives in the parent, outside the repository: it predicts every call's result
// from the data model's rules and applies the acknowledged operations. The call in flight
// at the kill is decided by the log: it is applied when its record is there; every other
// record of the log must be an acknowledged operation, at its LSN. After most kills the run
// is reopened (read-only, which commits what the crash left; sometimes as a writer that
// then stops) and must hold exactly the oracle's state: the structure with every type, atom
// values, series points (steps, timestamps, value bits), summaries, range reads, set
// members, sys/failed and sys/state. Nothing applied twice: point counts are exact and the
// commit rejects nothing. After the other kills the next child replays the crash itself.
//
// RocksDB is not fork-safe (its background threads do not survive fork()), so a child is
// this test binary executed again (fork + exec), running RunCrashChild.DISABLED_Main.
// The seed is printed; RUNLOG_CRASH_SEED=<n> replays a run's choices (the kill moments
// depend on the machine's speed).
//
// Here: the parent, which starts the children and kills them, reads the log and checks. The
// child is in run_crash_child_test.cc; the calls as data and their reports through the pipe
// in tools/stress/ops.h; the oracle and the comparison of a run with it in
// tools/stress/oracle.h.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "engine/committer.h"
#include "format/records.h"
#include "format/wal_reader.h"
#include "runlog/runlog.h"
#include "tools/stress/check.h"
#include "tools/stress/ops.h"
#include "tools/stress/oracle.h"
#include "tools/stress/power_loss.h"
#include "tools/stress/stress.h"

namespace runlog::stress {
namespace {

using wal::RecordType;

// An acknowledged operation, until the scan of the log finds its record.
struct Acked {
  RecordType type;
  std::string path;
};

struct KillPlan {
  enum { kOpening, kAfterReady, kAfterAcks, kAfterBigExtends, kAtEvent } at = kAfterReady;
  const char* event = nullptr;  // kAtEvent: its kind, and which one of this life
  size_t nth_event = 1;
  std::chrono::milliseconds delay{0};  // after the opening or ready report
  size_t acks = 0, big_extends = 0;    // the count triggers
};

using Clock = std::chrono::steady_clock;

// A life's kill: when it is due, and whether it happened.
struct Kill {
  pid_t pid = 0;
  KillPlan plan;
  Clock::time_point start;  // of the life
  std::optional<Clock::time_point> deadline;
  bool done = false;
};

struct Counters {
  int kills = 0, before_ready = 0, replaying = 0, mid_run = 0, behind_committer = 0;
  int at_event = 0, power_losses = 0;
  size_t files_removed = 0, files_cut = 0, bytes_dropped = 0;
  int checks = 0, partial_checks = 0;
  int in_flight_logged = 0, in_flight_lost = 0;
  size_t acked = 0, rejected = 0;
  std::map<std::string, size_t> outcomes;  // "Extend OK", "Append StepNotIncreasing", ...
  double start_secs = 0, scan_secs = 0, check_secs = 0;
};

class Driver {
 public:
  explicit Driver(const StressConfig& config);
  // A child left by a failure is killed and reaped (only that pid, never 0 or -1).
  ~Driver() {
    if (child_ > 0 && ::kill(child_, SIGKILL) == 0) ::waitpid(child_, nullptr, 0);
    if (child_fd_ >= 0) ::close(child_fd_);
  }
  // Every life, then the final checks; throws Failure.
  void Run();
  // The figures, as one JSON object.
  nlohmann::json Figures(double seconds) const;
  void PrintFigures(double seconds) const;
  int life() const { return life_; }

 private:
  void Life();
  pid_t Spawn(int* read_fd);
  KillPlan ChooseKill();
  void Watch(pid_t pid, int fd);
  void OnReport(const Message& m, Kill* k);
  void KillNow(Kill* k);
  void Handle(const Message& m);
  void Acknowledge(int thread, const Intent& call, const CallResult& result);
  void FindLog();
  void ScanLog();
  void ApplyInFlight(const wal::Record& rec, const std::string& path);
  void Check(bool writable, bool full);
  void Remember(uint64_t lsn, const Op& op, const std::string& what);
  std::string History(const std::string& path) const { return history_.Of(path); }

  const StressConfig cfg_;
  uint64_t seed_ = 0;
  pid_t child_ = 0;  // the live child, until reaped
  int child_fd_ = -1;
  std::mt19937_64 rng_;
  std::string repo_, wal_dir_, journal_;
  Oracle oracle_;
  std::map<uint64_t, Acked> acked_;              // acknowledged, not yet seen in the log
  std::vector<std::optional<Intent>> inflight_;  // per child thread: the call in flight
  uint64_t next_scan_lsn_ = 1;
  bool active_ = true;     // sys/state, from the last lifecycle record in the log
  int64_t kill_time_ = 0;  // after the last kill
  int life_ = 0;
  // This life's progress, for the kill triggers.
  bool opening_ = false, ready_ = false;
  bool crash_left_ = false;  // the last life was not checked: the next child replays a crash
  size_t acks_now_ = 0, big_extends_now_ = 0;
  uint64_t max_acked_lsn_ = 0, committed_seen_ = 0;
  Counters n_;
  CallHistory history_;
  std::map<std::string, size_t, std::less<>> events_now_;  // this life's file events by kind
};

Driver::Driver(const StressConfig& config)
    : cfg_(config),
      seed_(config.seed),
      rng_(config.seed),
      repo_(config.repo),
      inflight_(config.threads),
      history_(config.seed) {
  if (cfg_.power_loss) journal_ = repo_ + ".journal";
}

void Driver::Remember(uint64_t lsn, const Op& op, const std::string& what) {
  history_.Add(op.path, "life " + std::to_string(life_) + ", LSN " + std::to_string(lsn) + ", " +
                            what + ": " + Describe(op));
}

// fork + exec of this binary as `runlog-stress child`; only async-signal-safe calls between
// the two.
pid_t Driver::Spawn(int* read_fd) {
  // /proc/self/exe: this very binary, even when a rebuild has replaced the file since.
  const char* exe = "/proc/self/exe";
  std::vector<std::string> args = {"runlog-stress", "child",
                                   "--seed",        std::to_string(rng_()),
                                   "--threads",     std::to_string(cfg_.threads),
                                   "--ops",         std::to_string(cfg_.ops_per_thread),
                                   "--repo",        repo_};
  if (!journal_.empty()) {
    args.push_back("--journal");
    args.push_back(journal_);
  }
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
  const int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::dup2(fds[1], kCrashChildPipeFd) < 0 || ::dup2(devnull, STDOUT_FILENO) < 0) _exit(126);
    ::execv(exe, argv.data());
    _exit(127);
  }
  ::close(fds[1]);
  ::close(devnull);
  *read_fd = fds[0];
  return pid;
}

// When this life is killed: inside StartRun (log recovery, the replay of a crash the last life
// left, the first commits), a random time into the run, after a number of acknowledgements,
// right after large extends, with the committer mid-batch, or at the n-th file event of a
// kind (a segment roll, a log sync, a RocksDB flush's table, a RocksDB sync).
KillPlan Driver::ChooseKill() {
  KillPlan plan;
  const size_t r = rng_() % 100;
  plan.at = r < (crash_left_ ? 40u : 12u) ? KillPlan::kOpening
            : r < 45                      ? KillPlan::kAfterReady
            : r < 62                      ? KillPlan::kAfterAcks
            : r < 75                      ? KillPlan::kAfterBigExtends
                                          : KillPlan::kAtEvent;
  plan.delay =
      std::chrono::milliseconds(plan.at == KillPlan::kOpening ? rng_() % 40 : 5 + rng_() % 76);
  plan.acks = 1 + rng_() % 1200;
  plan.big_extends = 1 + rng_() % 12;
  plan.event = kEvents[rng_() % std::size(kEvents)];
  plan.nth_event = 1 + rng_() % (plan.event == kEventSegment ? 4 : 40);
  return plan;
}

// Reads the child's reports and kills it at the moment this life chose.
void Driver::Watch(pid_t pid, int fd) {
  STRESS_CHECK_GT(pid, 0);  // kill() below must name this child only
  using namespace std::chrono_literals;
  Kill k;
  k.pid = pid;
  k.start = Clock::now();
  k.plan = ChooseKill();
  std::string buf;
  char chunk[1 << 16];
  for (;;) {
    int64_t wait_ms = 100;
    if (!k.done && k.deadline)
      wait_ms = std::clamp<int64_t>((*k.deadline - Clock::now()) / 1ms, 0, 100);
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait_ms)) > 0) {
      const ssize_t got = ::read(fd, chunk, sizeof chunk);
      if (got == 0) break;  // the child is gone
      if (got < 0 && errno == EINTR) continue;
      STRESS_CHECK_GT(got, 0) << std::strerror(errno);
      buf.append(chunk, static_cast<size_t>(got));
      Message m;
      while (PopFrame(&buf, &m)) {
        OnReport(m, &k);
      }
    }
    if (!k.done && k.deadline && Clock::now() >= *k.deadline) KillNow(&k);
    if (!k.done && Clock::now() - k.start > 30s) {
      KillNow(&k);
      ::waitpid(pid, nullptr, 0);
      child_ = 0;
      STRESS_FAIL() << "the child did not get going in 30 s";
    }
  }
  STRESS_CHECK(buf.empty()) << "a report cut short";
  int status = 0;
  STRESS_CHECK_EQ(::waitpid(pid, &status, 0), pid);
  child_ = 0;  // reaped
  STRESS_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the child ended by itself, status " << status;
  ++n_.kills;
}

// Handles one report, then sets the deadline or kills when the report meets the plan.
void Driver::OnReport(const Message& m, Kill* k) {
  using namespace std::chrono_literals;
  const bool was_opening = opening_, was_ready = ready_;
  Handle(m);
  if (opening_ && !was_opening && k->plan.at == KillPlan::kOpening) {
    k->deadline = Clock::now() + k->plan.delay;
  }
  if (ready_ && !was_ready) {
    n_.start_secs += std::chrono::duration<double>(Clock::now() - k->start).count();
    // The count triggers get a deadline too, in case the count is never reached.
    if (!k->deadline)
      k->deadline = Clock::now() + (k->plan.at == KillPlan::kAfterReady ? k->plan.delay : 400ms);
  }
  if (k->plan.at == KillPlan::kAfterAcks && acks_now_ >= k->plan.acks) KillNow(k);
  if (k->plan.at == KillPlan::kAfterBigExtends && big_extends_now_ >= k->plan.big_extends)
    KillNow(k);
  if (k->plan.at == KillPlan::kAtEvent && m.type == MsgType::kEvent && m.body == k->plan.event &&
      events_now_[m.body] == k->plan.nth_event && !k->done) {
    KillNow(k);
    ++n_.at_event;
  }
}

void Driver::KillNow(Kill* k) {
  if (k->done) return;
  ::kill(k->pid, SIGKILL);
  kill_time_ = NowMicros();
  k->done = true;
  n_.before_ready += !ready_;
  n_.replaying += !ready_ && opening_ && crash_left_;
  n_.mid_run += acks_now_ > 0;
  n_.behind_committer += acks_now_ > 0 && max_acked_lsn_ > committed_seen_;
}

void Driver::Handle(const Message& m) {
  STRESS_CHECK_LT(m.thread, inflight_.size());
  switch (m.type) {
    case MsgType::kOpening: opening_ = true; return;
    case MsgType::kReady: ready_ = true; return;
    case MsgType::kFatal: STRESS_FAIL() << "child: " << m.body; return;
    case MsgType::kEvent: ++events_now_[m.body]; return;
    case MsgType::kIntent: {
      STRESS_CHECK(!(inflight_[m.thread].has_value())) << "two calls in flight on one thread";
      Intent call;
      STRESS_CHECK(DecodeIntent(m.body, &call)) << "a malformed intent";
      inflight_[m.thread] = std::move(call);
      return;
    }
    case MsgType::kResult: {
      CallResult result;
      STRESS_CHECK(DecodeResult(m.body, &result)) << "a malformed result";
      STRESS_CHECK(inflight_[m.thread].has_value()) << "a result without a call";
      Intent call = std::move(*inflight_[m.thread]);
      inflight_[m.thread].reset();
      committed_seen_ = std::max(committed_seen_, result.committed_lsn);
      Acknowledge(m.thread, call, result);
      return;
    }
  }
  STRESS_FAIL() << "unknown report type " << static_cast<int>(m.type);
}

void Driver::Acknowledge(int thread, const Intent& call, const CallResult& result) {
  const Op& op = call.op;
  const Code code = result.code;
  const uint64_t lsn = result.lsn;
  const Code want = oracle_.Predict(op);
  ++n_.outcomes[std::string(OpName(op.kind)) + " " + std::string(CodeName(code))];
  STRESS_CHECK_EQ(CodeName(code), CodeName(want))
      << "thread " << thread << ": " << Describe(op) << History(op.path);
  if (code != Code::kOk) {
    ++n_.rejected;
    Remember(0, op, "rejected, " + std::string(CodeName(code)));
    return;
  }
  STRESS_CHECK(acked_.emplace(lsn, Acked{RecordOf(op.kind), op.path}).second)
      << "LSN " << lsn << " acknowledged twice";
  oracle_.Apply(op, call.t0, result.t1);
  Remember(lsn, op, "acknowledged");
  ++n_.acked;
  ++acks_now_;
  max_acked_lsn_ = std::max(max_acked_lsn_, lsn);
  if (op.kind == OpKind::kExtend && op.values.size() >= 32) ++big_extends_now_;
}

// The wal/ of the run, once the child has created it.
void Driver::FindLog() {
  auto repo = Repository::Open(repo_);
  STRESS_CHECK(repo.ok()) << repo.status().ToString();
  auto runs = (*repo)->ListRuns();
  STRESS_CHECK(runs.ok()) << runs.status().ToString();
  for (const RunListing& r : *runs) {
    if (r.custom_run_id == kCrashRunId) wal_dir_ = r.dir + "/wal";
  }
}

// Reads the log past what was scanned: every acknowledged LSN holds its operation, every
// other record is a lifecycle record or the call in flight at the kill (then applied).
void Driver::ScanLog() {
  if (wal_dir_.empty()) {
    FindLog();
  }
  if (wal_dir_.empty()) {  // killed before the run was created
    STRESS_CHECK(acked_.empty());
    return;
  }
  wal::ReaderOptions ro;
  ro.start_lsn = next_scan_lsn_;
  auto reader = wal::Reader::Open(wal_dir_, ro);
  STRESS_CHECK(reader.ok()) << reader.status().ToString();
  wal::Record rec;
  for (;;) {
    auto more = (*reader)->Next(&rec);
    STRESS_CHECK(more.ok()) << more.status().ToString();
    if (!*more) break;
    next_scan_lsn_ = rec.lsn + 1;
    const auto type = static_cast<RecordType>(rec.type);
    if (type == RecordType::CreateRun || type == RecordType::ResumeRun) {
      active_ = true;
      continue;
    }
    if (type == RecordType::SetRunState) {
      active_ = wal::PayloadAs<wal::SetRunState>(rec.payload)->state() == wal::RunState::Active;
      continue;
    }
    const std::string path(engine::RecordPath(rec.type, rec.payload));
    if (auto it = acked_.find(rec.lsn); it != acked_.end()) {
      STRESS_CHECK_EQ(static_cast<int>(it->second.type), rec.type) << "LSN " << rec.lsn;
      STRESS_CHECK_EQ(it->second.path, path) << "LSN " << rec.lsn;
      acked_.erase(it);
      continue;
    }
    ApplyInFlight(rec, path);
  }
  STRESS_CHECK(acked_.empty()) << "acknowledged LSN " << acked_.begin()->first << " ("
                               << acked_.begin()->second.path << ") is not in the log";
  for (auto& call : inflight_) {
    if (!call) continue;
    Remember(0, call->op, "in flight at the kill, not in the log");
    ++n_.in_flight_lost;
    call.reset();
  }
}

// A record in the log that was not acknowledged: it must be the call in flight on its
// thread at the kill, one the oracle accepts; it is applied.
void Driver::ApplyInFlight(const wal::Record& rec, const std::string& path) {
  const auto type = static_cast<RecordType>(rec.type);
  const int t = ThreadOfPath(path);
  STRESS_CHECK(t >= 0 && t < static_cast<int>(inflight_.size()) && inflight_[t] &&
               RecordOf(inflight_[t]->op.kind) == type && inflight_[t]->op.path == path)
      << "LSN " << rec.lsn << " (" << wal::RecordTypeName(rec.type) << " \"" << path
      << "\") is in the log but was neither acknowledged nor in flight" << History(path);
  const Op& op = inflight_[t]->op;
  STRESS_CHECK_EQ(CodeName(oracle_.Predict(op)), CodeName(Code::kOk))
      << "logged: " << Describe(op) << History(path);
  oracle_.Apply(op, inflight_[t]->t0, kill_time_);
  Remember(rec.lsn, op, "in flight at the kill, in the log");
  ++n_.in_flight_logged;
  inflight_[t].reset();
}

// Reopens the run and compares it with the oracle: read-only (which commits what the crash
// left) or as a writer, which then stops. Read-only reads are slow (each one catches up with
// the primary), so a partial check compares the structure and a few fields only.
void Driver::Check(bool writable, bool full) {
  auto repo = Repository::Open(repo_);
  STRESS_CHECK(repo.ok()) << repo.status().ToString();
  RunOptions o;
  if (writable) {
    o.custom_run_id = kCrashRunId;
  } else {
    o.mode = Mode::kReadOnly;
    o.resume = kCrashRunId;
  }
  auto run = (*repo)->StartRun(o);
  STRESS_CHECK(run.ok()) << (writable ? "writable" : "read-only") << " open after kill " << n_.kills
                         << ": " << run.status().ToString();
  if (writable) {
    ScanLog();  // its ResumeRun
  }
  OracleComparison comparison(oracle_, history_, &rng_);

  comparison.CompareState(**run, {.custom_run_id = kCrashRunId,
                                  .active = active_,
                                  .full = full,
                                  .when = "after kill " + std::to_string(n_.kills)});
  if (writable) {
    STRESS_CHECK((*run)->Stop().ok());
    run->reset();
    ScanLog();  // its SetRunState
  }
  ++(full ? n_.checks : n_.partial_checks);
}

// One child life: start, kill, scan the log; then (mostly) reopen and compare.
void Driver::Life() {
  ++life_;
  opening_ = ready_ = false;
  acks_now_ = big_extends_now_ = 0;
  max_acked_lsn_ = committed_seen_ = 0;
  events_now_.clear();
  const pid_t pid = Spawn(&child_fd_);
  STRESS_CHECK_GT(pid, 0) << std::strerror(errno);
  child_ = pid;
  Watch(pid, child_fd_);
  ::close(child_fd_);
  child_fd_ = -1;
  if (!journal_.empty()) {  // the power is cut at the kill
    Result<PowerLossOutcome> lost = SimulatePowerLoss(journal_);
    STRESS_CHECK(lost.ok()) << lost.status().ToString();
    ++n_.power_losses;
    n_.files_removed += lost->files_removed;
    n_.files_cut += lost->files_cut;
    n_.bytes_dropped += lost->bytes_dropped;
    STRESS_CHECK(::unlink(journal_.c_str()) == 0 || errno == ENOENT) << journal_;
  }
  auto t0 = std::chrono::steady_clock::now();
  ScanLog();
  auto t1 = std::chrono::steady_clock::now();
  n_.scan_secs += std::chrono::duration<double>(t1 - t0).count();
  if (wal_dir_.empty()) return;  // no run yet
  const size_t r = rng_() % 100;
  crash_left_ = r < 20;
  if (crash_left_) return;  // the next child recovers this crash itself
  if (r >= 85) {  // first a reader commits the crash's log, then a writer checks everything
    Check(/*writable=*/false, /*full=*/false);
  }
  Check(/*writable=*/true, /*full=*/true);
  n_.check_secs += std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
}

void Driver::Run() {
  for (int kill = 0; kill < cfg_.kills; ++kill) Life();
  // A killed writer leaves no lock behind: a writer opens, sees the oracle's state and stops;
  // then a reader sees the same, inactive.
  Check(/*writable=*/true, /*full=*/true);
  Check(/*writable=*/false, /*full=*/true);
  if (cfg_.kills >= 20) {  // too few lives say nothing of where the kills land
    STRESS_CHECK_GT(n_.mid_run, cfg_.kills / 2) << "kills should mostly land while the child logs";
    for (const char* kind : kOpNames) {
      STRESS_CHECK_GT(n_.outcomes[std::string(kind) + " OK"], 0u)
          << "no " << kind << " was acknowledged";
    }
  }
}

nlohmann::json Driver::Figures(double seconds) const {
  nlohmann::json outcomes = nlohmann::json::object();
  for (const auto& [what, count] : n_.outcomes) outcomes[what] = count;
  return {{"name", cfg_.name},
          {"seed", seed_},
          {"threads", cfg_.threads},
          {"power_loss", cfg_.power_loss},
          {"kills", n_.kills},
          {"seconds", seconds},
          {"kills_before_ready", n_.before_ready},
          {"kills_replaying_a_crash", n_.replaying},
          {"kills_mid_run", n_.mid_run},
          {"kills_with_commit_backlog", n_.behind_committer},
          {"kills_at_file_event", n_.at_event},
          {"power_losses", n_.power_losses},
          {"files_removed_by_power_loss", n_.files_removed},
          {"files_cut_by_power_loss", n_.files_cut},
          {"bytes_dropped_by_power_loss", n_.bytes_dropped},
          {"acknowledged", n_.acked},
          {"rejected_as_predicted", n_.rejected},
          {"in_flight_logged", n_.in_flight_logged},
          {"in_flight_lost", n_.in_flight_lost},
          {"full_checks", n_.checks},
          {"partial_checks", n_.partial_checks},
          {"calls", outcomes}};
}

void Driver::PrintFigures(double seconds) const {
  std::printf(
      "[%s] seed %llu: %d kills in %.1f s (%d before the child was ready, %d of them in a start "
      "that replays a crash, %d mid-run, %d with a commit backlog at the last report, %d at a "
      "file event), %zu calls acknowledged, %zu rejected as predicted, in flight at the kill: "
      "%d in the log, %d not; %d checks of the whole state, %d partial read-only ones, %zu "
      "fields at the end\n",
      cfg_.name.c_str(), static_cast<unsigned long long>(seed_), n_.kills, seconds, n_.before_ready,
      n_.replaying, n_.mid_run, n_.behind_committer, n_.at_event, n_.acked, n_.rejected,
      n_.in_flight_logged, n_.in_flight_lost, n_.checks, n_.partial_checks,
      oracle_.fields().size());
  if (cfg_.power_loss) {
    std::printf(
        "  power losses: %d (%zu files never synced removed, %zu cut back, %zu bytes "
        "dropped)\n",
        n_.power_losses, n_.files_removed, n_.files_cut, n_.bytes_dropped);
  }
  std::printf("  time: child starts %.1f s, log scans %.1f s, checks %.1f s\n", n_.start_secs,
              n_.scan_secs, n_.check_secs);
  std::string outcomes;
  for (const auto& [what, count] : n_.outcomes)
    outcomes += " " + what + ":" + std::to_string(count);
  std::printf("  calls:%s\n", outcomes.c_str());
}

// A temporary directory for the repository, or an error.
std::string MakeTempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(base != nullptr && *base ? base : "/tmp") + "/runlog-stress-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return "";
  return tmpl;
}

}  // namespace

int RunDriver(const StressConfig& config) {
  StressConfig c = config;
  std::string tmp;
  if (c.repo.empty()) {
    tmp = MakeTempDir();
    if (tmp.empty()) {
      std::fprintf(stderr, "runlog-stress: cannot create a temporary directory: %s\n",
                   std::strerror(errno));
      return 1;
    }
    c.repo = tmp + "/repo";
  }
  std::printf("[%s] seed %llu, %d threads, %d kills%s, repository %s\n", c.name.c_str(),
              static_cast<unsigned long long>(c.seed), c.threads, c.kills,
              c.power_loss ? " with power loss" : "", c.repo.c_str());
  std::fflush(stdout);
  const auto start = std::chrono::steady_clock::now();
  Driver driver(c);
  int rc = 0;
  try {
    driver.Run();
  } catch (const Failure& f) {
    std::fprintf(stderr,
                 "[%s] FAILED in life %d: %s\n  seed %llu (--seed %llu reproduces the "
                 "choices); the repository is kept at %s\n",
                 c.name.c_str(), driver.life(), f.what(), static_cast<unsigned long long>(c.seed),
                 static_cast<unsigned long long>(c.seed), c.repo.c_str());
    rc = 1;
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  driver.PrintFigures(secs);
  if (!c.report.empty()) {
    nlohmann::json fig = driver.Figures(secs);
    fig["ok"] = rc == 0;
    std::FILE* f = std::fopen(c.report.c_str(), "a");
    if (f == nullptr || std::fprintf(f, "%s\n", fig.dump().c_str()) < 0 || std::fclose(f) != 0) {
      std::fprintf(stderr, "runlog-stress: cannot write the report %s: %s\n", c.report.c_str(),
                   std::strerror(errno));
      rc = rc == 0 ? 1 : rc;
    }
  }
  if (rc == 0 && !tmp.empty()) std::filesystem::remove_all(tmp);
  return rc;
}

}  // namespace runlog::stress
