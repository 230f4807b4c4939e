// The fault matrix (issue 5): every fault kind (ENOSPC, EIO, a short write, a failed sync)
// on every write path that exists, driven through the public API. For each cell:
//   - the caller gets a non-OK Status naming the file and the errno text;
//   - stickiness: a failure that leaves the log's state unknown (a failed sync) fails every
//     later append until the run is reopened; a failure that changed nothing (a segment
//     that could not be created, a run or repository that could not be created or opened)
//     is not sticky; a RocksDB failure stops the commit until the fault clears;
//   - nothing acknowledged is lost: after the fault clears and the run is reopened its
//     series holds exactly the acknowledged values, in order (plus, where the failure came
//     after the append, the value whose call failed: logged, of unknown durability);
//   - logging works again: on the same run where the design allows, else after a reopen.
// Uploaded files (blobs) and run summaries are not written by the engine yet: no cells.
//
// RUNLOG_FAULT_REPORT=<file> appends "kind<TAB>path<TAB>outcome" per cell.
#include <gtest/gtest.h>
#include <rocksdb/env.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "engine/store.h"
#include "format/segment.h"
#include "runlog/runlog.h"
#include "tests/util/fault_file_system.h"
#include "tests/util/rocksdb_fault_fs.h"
#include "tests/util/temp_dir.h"
#include "tests/util/wal_fixtures.h"

namespace runlog {
namespace {

using namespace std::chrono_literals;
using test::FaultOp;

enum class Kind { kNoSpace, kEio, kShortWrite, kSyncFail };

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kNoSpace: return "enospc";
    case Kind::kEio: return "eio";
    case Kind::kShortWrite: return "short_write";
    case Kind::kSyncFail: return "fsync_fail";
  }
  return "?";
}

// A short write is half the bytes, then a full disk.
int KindErrno(Kind k) {
  return k == Kind::kNoSpace || k == Kind::kShortWrite ? ENOSPC : EIO;
}

// How a path is reached through the API.
enum class Where {
  kWalRoll,        // appends until a segment roll (async run)
  kSyncAppend,     // the sync of an append in sync mode
  kIntervalSync,   // the background sync of an async run
  kStopSync,       // the log sync of Stop()
  kRollSync,       // the sync that finishes a segment at a roll (async run)
  kResume,         // reopening a stopped run
  kTornTail,       // reopening a run whose log ends torn (the tail is cleared)
  kHeaderless,     // reopening a run whose last segment never got its header (removed)
  kNewRepository,  // creating a repository
  kNewRun,         // creating a run
  kRocksDbCommit,  // the commit and flush into the run's RocksDB
  kRocksDbOpen,    // opening the run's RocksDB
};

struct PathSpec {
  const char* name;
  Where where;
  std::vector<Kind> kinds;
  FaultOp op = FaultOp::kWrite;  // the WAL/repository seam
  uint32_t rdb_ops = 0;          // non-zero: RocksDB's seam instead
  // Contained in the faulted file's path; "{repo}..." is an exact path under the repository.
  std::string filter;
  int skip = 0;  // matching calls to let through first
};

const std::vector<Kind> kCreate = {Kind::kNoSpace, Kind::kEio};
const std::vector<Kind> kWrite = {Kind::kNoSpace, Kind::kEio, Kind::kShortWrite};
const std::vector<Kind> kSync = {Kind::kNoSpace, Kind::kSyncFail};
const std::vector<Kind> kEioOnly = {Kind::kEio};
const std::vector<Kind> kSyncOnly = {Kind::kSyncFail};

const std::vector<PathSpec>& Paths() {
  static const std::vector<PathSpec> paths = {
      // A new WAL segment at a roll: every step of its creation.
      {"wal.segment.create", Where::kWalRoll, kCreate, FaultOp::kOpenCreate, 0, ".wal.tmp"},
      {"wal.segment.fallocate", Where::kWalRoll, kCreate, FaultOp::kAllocate, 0, ".wal"},
      {"wal.segment.header_write", Where::kWalRoll, kWrite, FaultOp::kWrite, 0, ".wal.tmp"},
      {"wal.segment.header_sync", Where::kWalRoll, kSync, FaultOp::kSyncData, 0, ".wal.tmp"},
      {"wal.segment.rename", Where::kWalRoll, kCreate, FaultOp::kRename, 0, ".wal"},
      {"wal.segment.dir_sync", Where::kWalRoll, kSync, FaultOp::kSyncDir, 0, "/wal"},
      {"wal.segment.map", Where::kWalRoll, kEioOnly, FaultOp::kMap, 0, ".wal"},
      // Syncs of appended records, in each durability.
      {"wal.append.sync_mode_msync", Where::kSyncAppend, kSync, FaultOp::kSyncMapped, 0, ".wal"},
      {"wal.append.interval_sync", Where::kIntervalSync, kSync, FaultOp::kSyncMapped, 0, ".wal"},
      {"wal.append.stop_sync", Where::kStopSync, kSync, FaultOp::kSyncMapped, 0, ".wal"},
      {"wal.roll.finish_segment_sync", Where::kRollSync, kSync, FaultOp::kSyncMapped, 0,
       "00000000000000000001.wal"},
      // Reopening a run: the writer takes the last segment back.
      {"wal.reopen.open_segment", Where::kResume, kEioOnly, FaultOp::kOpen, 0, ".wal"},
      {"wal.reopen.fallocate", Where::kResume, kCreate, FaultOp::kAllocate, 0, ".wal"},
      {"wal.reopen.map", Where::kResume, kEioOnly, FaultOp::kMap, 0, ".wal"},
      {"wal.reopen.sync", Where::kResume, kSync, FaultOp::kSyncMapped, 0, ".wal"},
      {"wal.recovery.torn_tail_sync", Where::kTornTail, kSync, FaultOp::kSyncMapped, 0, ".wal"},
      {"wal.recovery.remove_headerless", Where::kHeaderless, kEioOnly, FaultOp::kRemove, 0, ".wal"},
      {"wal.recovery.remove_dir_sync", Where::kHeaderless, kSyncOnly, FaultOp::kSyncDir, 0, "/wal"},
      // Lock files: the run's and its log's.
      {"run.lock_file", Where::kResume, kCreate, FaultOp::kOpenCreate, 0, "/LOCK"},
      // The repository's own files.
      {"repository.file.create", Where::kNewRepository, kCreate, FaultOp::kOpenCreate, 0,
       "/repository.tmp"},
      {"repository.file.write", Where::kNewRepository, kWrite, FaultOp::kWrite, 0,
       "/repository.tmp"},
      {"repository.file.sync", Where::kNewRepository, kSync, FaultOp::kSyncData, 0,
       "/repository.tmp"},
      {"repository.dir_sync", Where::kNewRepository, kSync, FaultOp::kSyncDir, 0, "{repo}"},
      {"run.id_allocator.write", Where::kNewRun, kWrite, FaultOp::kWrite, 0, "{repo}/ids"},
      {"run.id_allocator.sync", Where::kNewRun, kSync, FaultOp::kSyncData, 0, "{repo}/ids"},
      {"run.index.create", Where::kNewRun, kCreate, FaultOp::kOpenCreate, 0, "/index/sys/"},
      {"run.index.write", Where::kNewRun, kWrite, FaultOp::kWrite, 0, "/index/sys/"},
      {"run.index.sync", Where::kNewRun, kSync, FaultOp::kSyncData, 0, "/index/sys/"},
      {"run.index.rename", Where::kNewRun, kCreate, FaultOp::kRename, 0, "/index/sys/"},
      {"run.index.dir_sync", Where::kNewRun, kSync, FaultOp::kSyncDir, 0, "{repo}/index/sys"},
      {"run.create.first_segment", Where::kNewRun, kCreate, FaultOp::kAllocate, 0, "/.creating-"},
      {"run.create.record_sync", Where::kNewRun, kSync, FaultOp::kSyncMapped, 0, "/.creating-"},
      // The staging directory's segment is renamed first, then the run directory.
      {"run.create.dir_rename", Where::kNewRun, kCreate, FaultOp::kRename, 0, "/runs/", 1},
      {"run.create.dir_sync", Where::kNewRun, kSync, FaultOp::kSyncDir, 0, "{repo}/runs"},
      // RocksDB, through its FileSystem.
      {"rocksdb.sst.create", Where::kRocksDbCommit, kCreate, {}, test::kRdbNewWritableFile, ".sst"},
      {"rocksdb.sst.append", Where::kRocksDbCommit, kWrite, {}, test::kRdbAppend, ".sst"},
      {"rocksdb.sst.sync", Where::kRocksDbCommit, kSync, {}, test::kRdbSync, ".sst"},
      {"rocksdb.sst.close", Where::kRocksDbCommit, kEioOnly, {}, test::kRdbClose, ".sst"},
      {"rocksdb.manifest.append",
       Where::kRocksDbCommit,
       kCreate,
       {},
       test::kRdbAppend,
       "/MANIFEST-"},
      {"rocksdb.manifest.sync", Where::kRocksDbCommit, kSyncOnly, {}, test::kRdbSync, "/MANIFEST-"},
      {"rocksdb.dir_fsync", Where::kRocksDbCommit, kSyncOnly, {}, test::kRdbDirFsync, "/db"},
      {"rocksdb.open.current_rename",
       Where::kRocksDbOpen,
       kEioOnly,
       {},
       test::kRdbRename,
       "/CURRENT"},
      {"rocksdb.open.new_directory",
       Where::kRocksDbOpen,
       kEioOnly,
       {},
       test::kRdbNewDirectory,
       "/db"},
      {"rocksdb.open.manifest_create",
       Where::kRocksDbOpen,
       kCreate,
       {},
       test::kRdbNewWritableFile,
       "/MANIFEST-"},
  };
  return paths;
}

struct Cell {
  Kind kind;
  const PathSpec* path;
};

void PrintTo(const Cell& cell, std::ostream* os) {
  *os << KindName(cell.kind) << " on " << cell.path->name;
}

std::vector<Cell> AllCells() {
  std::vector<Cell> cells;
  for (const PathSpec& p : Paths()) {
    for (Kind k : p.kinds) cells.push_back({k, &p});
  }
  return cells;
}

std::string CellName(const ::testing::TestParamInfo<Cell>& info) {
  std::string name = std::string(info.param.path->name) + "_" + KindName(info.param.kind);
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

class FaultMatrixTest : public ::testing::TestWithParam<Cell> {
 protected:
  void SetUp() override {
    const PathSpec& p = *GetParam().path;
    if (p.rdb_ops != 0) {
      rdb_ = std::make_shared<test::RocksDbFaultFs>();
      env_ = rocksdb::NewCompositeEnv(rdb_);
      engine::SetStoreEnvForTesting(env_.get());
    }
  }
  void TearDown() override {
    if (rdb_ != nullptr) engine::SetStoreEnvForTesting(nullptr);
    if (!outcome_.empty()) Report();
  }

  const PathSpec& path() const { return *GetParam().path; }
  Kind kind() const { return GetParam().kind; }
  std::string ErrnoText() const { return std::strerror(KindErrno(kind())); }

  void Arm() {
    const PathSpec& p = path();
    const int err = KindErrno(kind());
    if (p.rdb_ops != 0) {
      rdb_->Inject({.ops = p.rdb_ops,
                    .err = err,
                    .skip = p.skip,
                    .name_filter = p.filter,
                    .short_append = kind() == Kind::kShortWrite});
      return;
    }
    const bool exact = p.filter.starts_with("{repo}");
    fs_.Inject({.op = p.op,
                .err = err,
                .skip = p.skip,
                .path_filter = exact ? repo_path_ + p.filter.substr(6) : p.filter,
                .exact = exact,
                .short_write = kind() == Kind::kShortWrite});
  }
  void Disarm() {
    if (rdb_ != nullptr) rdb_->Clear();
    fs_.Clear();
  }
  int Fired() const { return rdb_ != nullptr ? rdb_->fired() : fs_.fired(); }

  // The error the caller got must say what failed, on which file, and why.
  void ExpectClearError(const Status& s) {
    ASSERT_FALSE(s.ok()) << "the fault (fired " << Fired() << " times) never reached the caller";
    EXPECT_GT(Fired(), 0);
    EXPECT_NE(s.message().find(ErrnoText()), std::string::npos) << s.ToString();
    if (rdb_ != nullptr) {
      EXPECT_NE(s.message().find(repo_path_ + "/runs/"), std::string::npos) << s.ToString();
      EXPECT_NE(s.message().find("/db"), std::string::npos) << s.ToString();
    } else {
      const std::string file = fs_.last_path();
      // A file created under a temporary name may be named by its final name.
      const std::string final_name =
          file.ends_with(".tmp") ? file.substr(0, file.size() - 4) : file;
      EXPECT_TRUE(s.message().find(file) != std::string::npos ||
                  s.message().find(final_name) != std::string::npos)
          << "the error does not name " << file << ": " << s.ToString();
    }
  }

  void OpenRepository() {
    auto repo = Repository::Open(repo_path_, {.file_system = &fs_});
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(*repo);
  }

  RunOptions Options(Mode mode) const {
    RunOptions o;
    o.mode = mode;
    o.segment_size = 64 << 10;
    o.sync_interval = 1h;  // no background sync unless a cell wants one
    o.flush_interval = 1h;
    o.backlog_timeout = 10s;
    return o;
  }

  std::unique_ptr<runlog::Run> Start(RunOptions o) {
    auto run = repo_->StartRun(o);
    EXPECT_TRUE(run.ok()) << run.status().ToString();
    if (!run.ok()) return nullptr;
    if (run_id_.empty()) run_id_ = (*run)->sys_id();
    return std::move(*run);
  }
  Result<std::unique_ptr<runlog::Run>> Resume(RunOptions o) {
    o.resume = run_id_;
    return repo_->StartRun(o);
  }

  // One call; the value goes to acked_ when the call succeeded, in_doubt_ when not.
  Status LogOne(runlog::Run& run) {
    const double v = ++next_;
    Result<uint64_t> r = run.Append("loss", v);
    (r.ok() ? acked_ : in_doubt_).push_back(v);
    return r.status();
  }
  Status LogMany(runlog::Run& run, int n) {
    for (int i = 0; i < n; ++i) RUNLOG_RETURN_IF_ERROR(LogOne(run));
    return Status::OK();
  }
  Status LogUntilError(runlog::Run& run, int limit, std::chrono::microseconds pause = 0us) {
    for (int i = 0; i < limit; ++i) {
      RUNLOG_RETURN_IF_ERROR(LogOne(run));
      if (pause > 0us) std::this_thread::sleep_for(pause);
    }
    return Status::OK();
  }

  // The run's series holds exactly the acknowledged values in order; a value whose call
  // failed may be there too (at most once), nothing else.
  void ExpectNothingLost(runlog::Run& run) {
    if (acked_.empty() && in_doubt_.empty()) return;
    Status waited = run.Wait();
    ASSERT_TRUE(waited.ok()) << waited.ToString();
    auto values = run.FetchValues("loss");
    ASSERT_TRUE(values.ok()) << values.status().ToString();
    std::vector<double> kept;
    std::vector<double> doubtful;
    for (const FloatPoint& p : values->floats) {
      const bool acked = std::binary_search(acked_.begin(), acked_.end(), p.value);
      const bool doubt = std::find(in_doubt_.begin(), in_doubt_.end(), p.value) != in_doubt_.end();
      ASSERT_TRUE(acked || doubt) << "value " << p.value << " was never logged";
      (acked ? kept : doubtful).push_back(p.value);
    }
    EXPECT_EQ(kept, acked_);
    std::sort(doubtful.begin(), doubtful.end());
    EXPECT_TRUE(std::adjacent_find(doubtful.begin(), doubtful.end()) == doubtful.end());
    kept_in_doubt_ = doubtful.size();
  }

  // Stops the run, reopens it, checks it and logs a few more values.
  void ReopenAndCheck(Mode mode = Mode::kAsync) {
    auto again = Resume(Options(mode));
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    ExpectNothingLost(**again);
    ASSERT_TRUE(LogMany(**again, 10).ok());
    ExpectNothingLost(**again);
    Status stopped = (*again)->Stop();
    ASSERT_TRUE(stopped.ok()) << stopped.ToString();
  }

  void Report() {
    const char* file = std::getenv("RUNLOG_FAULT_REPORT");
    if (file == nullptr || *file == '\0') return;
    std::ofstream out(file, std::ios::app);
    out << KindName(kind()) << '\t' << path().name << '\t' << outcome_ << '\n';
  }
  std::string NothingLost() const {
    if (acked_.empty()) return "nothing acknowledged to lose";
    return kept_in_doubt_ > 0 ? "nothing lost (failed call's value kept: logged)" : "nothing lost";
  }

  void RunWalRoll();
  void RunStickySync(Where where);
  void RunResume(Where where);
  void RunNewRepository();
  void RunNewRun();
  void RunRocksDbCommit();

  test::TempDir tmp_;
  const std::string repo_path_ = tmp_.Sub("repo");
  test::FaultFileSystem fs_;
  std::shared_ptr<test::RocksDbFaultFs> rdb_;
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<Repository> repo_;
  std::string run_id_;
  std::vector<double> acked_, in_doubt_;
  double next_ = 0;
  size_t kept_in_doubt_ = 0;
  std::string outcome_;
};

// A segment cannot be created: the append that needed it fails, nothing was written, the
// log is as before. The next append retries and, once the fault clears, succeeds.
void FaultMatrixTest::RunWalRoll() {
  OpenRepository();
  std::unique_ptr<runlog::Run> run = Start(Options(Mode::kAsync));
  ASSERT_NE(run, nullptr);
  ASSERT_TRUE(LogMany(*run, 50).ok());
  Arm();
  ExpectClearError(LogUntilError(*run, 20000));
  EXPECT_FALSE(LogOne(*run).ok()) << "fails again while the fault lasts";
  Disarm();
  Status after = LogOne(*run);
  EXPECT_TRUE(after.ok()) << "not sticky: " << after.ToString();
  ASSERT_TRUE(LogMany(*run, 1000).ok());  // across another roll
  ExpectNothingLost(*run);
  Status stopped = run->Stop();
  ASSERT_TRUE(stopped.ok()) << stopped.ToString();
  run.reset();
  ReopenAndCheck();
  outcome_ = "error to caller; not sticky; " + NothingLost() + "; recovered on same run";
}

// A failed sync: what reached the disk is unknown, so the log refuses every later append
// until the run is reopened; reopening keeps every acknowledged record.
void FaultMatrixTest::RunStickySync(Where where) {
  OpenRepository();
  RunOptions o = Options(where == Where::kSyncAppend ? Mode::kSync : Mode::kAsync);
  if (where == Where::kIntervalSync) o.sync_interval = 2ms;
  std::unique_ptr<runlog::Run> run = Start(o);
  ASSERT_NE(run, nullptr);
  ASSERT_TRUE(LogMany(*run, 50).ok());
  Arm();
  Status error;
  switch (where) {
    case Where::kSyncAppend: error = LogOne(*run); break;
    case Where::kIntervalSync: {
      const auto deadline = std::chrono::steady_clock::now() + 10s;
      while (error.ok() && std::chrono::steady_clock::now() < deadline) {
        error = LogOne(*run);
        std::this_thread::sleep_for(1ms);
      }
      break;
    }
    case Where::kStopSync: error = run->Stop(); break;
    default: error = LogUntilError(*run, 20000); break;  // kRollSync
  }
  ExpectClearError(error);
  Disarm();
  std::string sticky;
  if (where == Where::kStopSync) {
    EXPECT_FALSE(LogOne(*run).ok());
    sticky = "run closed by the failed Stop";
  } else {
    Status later = LogOne(*run);
    EXPECT_TRUE(later.Is(Code::kIOError)) << "sticky until reopen: " << later.ToString();
    EXPECT_NE(later.message().find("reopen"), std::string::npos) << later.ToString();
    sticky = "sticky until reopen";
    EXPECT_FALSE(run->Stop().ok()) << "Stop reports the sticky error";
  }
  run.reset();
  ReopenAndCheck(o.mode);
  outcome_ = "error to caller; " + sticky + "; " + NothingLost() + "; recovered after reopen";
}

// Reopening a stopped run fails on the fault and leaves the run as it was; the next
// reopen after the fault clears finds everything.
void FaultMatrixTest::RunResume(Where where) {
  OpenRepository();
  std::unique_ptr<runlog::Run> run = Start(Options(Mode::kAsync));
  ASSERT_NE(run, nullptr);
  ASSERT_TRUE(LogMany(*run, 300).ok());
  ASSERT_TRUE(run->Stop().ok());
  const std::string wal = repo_path_ + "/runs/" + run->uuid() + "/wal";
  run.reset();
  std::vector<std::string> segments = test::SegmentPaths(wal);
  ASSERT_FALSE(segments.empty());
  test::LogContents log = test::ReadLog(wal);
  ASSERT_TRUE(log.status.ok()) << log.status.ToString();
  if (where == Where::kTornTail) {
    // A crash in the middle of an append: a record header and part of a payload.
    std::string bytes = test::ReadFile(segments.back());
    ASSERT_GT(bytes.size(), log.end.offset + 64);
    for (size_t i = 0; i < 40; ++i) bytes[log.end.offset + i] = static_cast<char>(0x5a + i);
    test::WriteFile(segments.back(), bytes);
  } else if (where == Where::kHeaderless) {
    // A crash while the next segment was created: its header never landed.
    const std::string next = wal + "/" + wal::SegmentFileName(log.lsns.back() + 1);
    test::WriteFile(next, std::string(4096, '\0'));
  }
  Arm();
  auto failed = Resume(Options(Mode::kAsync));
  ExpectClearError(failed.status());
  Disarm();
  ReopenAndCheck();
  const char* what = where == Where::kTornTail     ? "torn tail cleared at the next open"
                     : where == Where::kHeaderless ? "header-less segment removed at the next open"
                                                   : "run unchanged";
  outcome_ = std::string("error to caller (open refused); not sticky; ") + what + "; " +
             NothingLost() + "; recovered after reopen";
}

// Creating the repository fails and changes nothing; the next open creates or reads it.
void FaultMatrixTest::RunNewRepository() {
  Arm();
  auto failed = Repository::Open(repo_path_, {.file_system = &fs_});
  ExpectClearError(failed.status());
  Disarm();
  OpenRepository();
  std::unique_ptr<runlog::Run> run = Start(Options(Mode::kAsync));
  ASSERT_NE(run, nullptr);
  ASSERT_TRUE(LogMany(*run, 10).ok());
  ASSERT_TRUE(run->Stop().ok());
  run.reset();
  ReopenAndCheck();
  outcome_ = "error to caller; not sticky; " + NothingLost() + "; recovered (repository usable)";
}

// Creating a run fails: the runs before it keep their data and ids; the next run gets a
// new id.
void FaultMatrixTest::RunNewRun() {
  OpenRepository();
  std::unique_ptr<runlog::Run> first = Start(Options(Mode::kAsync));
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(LogMany(*first, 100).ok());
  ASSERT_TRUE(first->Stop().ok());
  first.reset();
  Arm();
  auto failed = repo_->StartRun(Options(Mode::kAsync));
  ExpectClearError(failed.status());
  Disarm();
  auto second = repo_->StartRun(Options(Mode::kAsync));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_NE((*second)->sys_id(), run_id_);
  ASSERT_TRUE((*second)->Stop().ok());
  second->reset();
  ReopenAndCheck();  // by the first run's sys id: it still names the first run
  outcome_ = "error to caller; not sticky; " + NothingLost() +
             " (earlier run intact, its id unchanged); recovered (next run created)";
}

// RocksDB fails under the commit: the log goes on acknowledging and Wait() reports the
// error. A full disk is a background error RocksDB's Resume() clears: once space returns
// the committer resumes from the log on the same run. Any other I/O error in a flush or a
// MANIFEST write RocksDB does not resume from (its Resume() keeps failing after the fault
// has cleared): the commit stays stopped until the run is reopened, which replays the log.
void FaultMatrixTest::RunRocksDbCommit() {
  const bool resumable = KindErrno(kind()) == ENOSPC;
  OpenRepository();
  RunOptions o = Options(Mode::kAsync);
  o.flush_interval = 20ms;
  o.backlog_timeout = 300ms;  // how long Stop() waits for a stopped commit
  std::unique_ptr<runlog::Run> run = Start(o);
  ASSERT_NE(run, nullptr);
  ASSERT_TRUE(LogMany(*run, 50).ok());
  ASSERT_TRUE(run->Wait().ok());
  Arm();
  Status waited;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (waited.ok() && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(LogMany(*run, 50).ok()) << "the log acknowledges while RocksDB fails";
    std::this_thread::sleep_for(20ms);
    waited = run->Wait();
  }
  ExpectClearError(waited);
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(run->Wait().ok()) << "the commit stays stopped while the fault lasts";
  Disarm();
  ASSERT_TRUE(LogMany(*run, 50).ok());
  std::string sticky;
  if (resumable) {
    Status ok = Status::IOError("not yet");
    for (int i = 0; i < 100 && !ok.ok(); ++i) {
      std::this_thread::sleep_for(50ms);
      ok = run->Wait();
    }
    ASSERT_TRUE(ok.ok()) << "the commit never resumed: " << ok.ToString();
    ExpectNothingLost(*run);
    Status stopped = run->Stop();
    ASSERT_TRUE(stopped.ok()) << stopped.ToString();
    sticky = "sticky until the fault clears";
  } else {
    // Each Wait() wakes the committer, which retries (Resume) at once: they keep failing.
    for (int i = 0; i < 5; ++i) {
      std::this_thread::sleep_for(50ms);
      EXPECT_FALSE(run->Wait().ok()) << "RocksDB resumed after a non-space I/O error";
    }
    EXPECT_FALSE(run->Stop().ok()) << "Stop reports the stopped commit";
    sticky = "sticky until reopen (RocksDB does not resume)";
  }
  run.reset();
  ReopenAndCheck();
  outcome_ = "error to caller (Wait); " + sticky + "; " + NothingLost() +
             (resumable ? "; recovered on same run" : "; recovered after reopen");
}

TEST_P(FaultMatrixTest, CallerSeesTheErrorAndNothingAcknowledgedIsLost) {
  switch (path().where) {
    case Where::kWalRoll: RunWalRoll(); break;
    case Where::kSyncAppend:
    case Where::kIntervalSync:
    case Where::kStopSync:
    case Where::kRollSync: RunStickySync(path().where); break;
    case Where::kResume:
    case Where::kTornTail:
    case Where::kHeaderless:
    case Where::kRocksDbOpen: RunResume(path().where); break;
    case Where::kNewRepository: RunNewRepository(); break;
    case Where::kNewRun: RunNewRun(); break;
    case Where::kRocksDbCommit: RunRocksDbCommit(); break;
  }
  if (HasFailure()) outcome_ = "FAILED: see the test log";
}

// The id allocator's file written half-way ("10" over "9\n" leaves "1\n") must not hand
// out a run number again: the new run's index entry would take the old run's sys id.
// The id allocator's file written half-way ("10" over "9\n" leaves "1\n") must not hand
// out a run number again: the new run's index entry would take the old run's sys id.
TEST(FaultMatrixTestIds, AShortWriteOfTheIdAllocatorNeverReusesARunId) {
  test::TempDir tmp;
  test::FaultFileSystem fs;
  const std::string repo_path = tmp.Sub("repo");
  auto repo = Repository::Open(repo_path, {.file_system = &fs}).value();
  RunOptions o;
  o.segment_size = 64 << 10;
  auto first = repo->StartRun(o);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE((*first)->Stop().ok());
  // Runs RL-2 .. RL-9 as the index knows them (here: more names of the first run).
  const std::string entry = test::ReadFile(repo_path + "/index/sys/RL-1");
  for (int i = 2; i <= 9; ++i) {
    test::WriteFile(repo_path + "/index/sys/RL-" + std::to_string(i), entry);
  }
  test::WriteFile(repo_path + "/ids", "9\n");
  fs.Inject({.op = FaultOp::kWrite, .err = ENOSPC, .times = 1, .path_filter = "/ids"});
  auto failed = repo->StartRun(o);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("No space left on device"), std::string::npos);
  EXPECT_EQ(test::ReadFile(repo_path + "/ids"), "1\n");  // the short write's leftover
  fs.Clear();
  auto next = repo->StartRun(o);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ((*next)->sys_id(), "RL-10");
  ASSERT_TRUE((*next)->Stop().ok());
  for (int i = 2; i <= 9; ++i) {
    EXPECT_EQ(test::ReadFile(repo_path + "/index/sys/RL-" + std::to_string(i)), entry)
        << "RL-" << i << " was given to another run";
  }
}

INSTANTIATE_TEST_SUITE_P(AllPaths, FaultMatrixTest, ::testing::ValuesIn(AllCells()), CellName);

}  // namespace
}  // namespace runlog
