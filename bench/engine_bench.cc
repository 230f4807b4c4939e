// Benchmarks of the engine through its public API (include/runlog/runlog.h): logging,
// committing the log into RocksDB, reading series back and reopening a crashed run. The
// issue's list, side by side in one binary, with baselines for ratios:
//
//   BM_LogFloat          Run::Append(path, value), one point per call, async mode, one
//                        thread, 10 FloatSeries round-robin. The last iteration calls Wait()
//                        inside the timed region, so items/s is *committed* points per
//                        second (the committer has to keep up; past max_backlog_bytes,
//                        256 MiB, appends wait for it).
//   BM_LogExtend         as BM_LogFloat with Run::Extend of 1,000 points per call into one
//                        series (engine-assigned steps and timestamps).
//   BM_LogManyFields     a training loop: each iteration is one step that appends one point,
//                        at that step, to each of 1,000 series metrics/m0 ... metrics/m999.
//                        Final Wait() timed, as above.
//   BM_Commit            the committer alone, WAL -> RocksDB: a backlog is logged while
//                        the committer is starved (every thread pinned to the logging
//                        thread's CPU, the others under SCHED_IDLE), then the threads are
//                        restored and only Wait() is timed. Shapes: 20 M points in 1,000-point
//                        records into 1 series; 2 M 1-point records round-robin over 10 and
//                        over 1,000 series.
//   BM_FetchSeries       FetchValues on a 1 M-point FloatSeries (integer steps, ~10 ms
//                        clock, float32 training-curve values) of a stopped run: all points
//                        or a 1,000-point step range in the middle, through the writer's
//                        Run (reader:0) or a Run opened read-only (reader:1). The same run
//                        gives the bytes on disk per point.
//   BM_FetchLast         FetchLast on one of 100 series (round-robin), time per call: from
//                        the writing run after Wait() (reader:0) and from a stopped run
//                        opened read-only (reader:1).
//   BM_Recover           reopen a run whose log holds an uncommitted backlog of log_mb MiB
//                        (256 and the 1,024): a child process (this binary,
//                        re-executed) logs 1,000-point Extend records with its committer
//                        starved (as in BM_Commit; one segment, so that no roll waits for
//                        a sync) and SIGKILLs itself; the timed part is Repository::Open +
//                        StartRun({.resume = sys/id}), which commits the backlog before it
//                        returns. Rates are over the backlog the child's engine reported
//                        uncommitted at the kill (backlog_mb); the log is in the page cache
//                        (synced to disk before the clock starts), as after a process crash.
//
// Baselines (same binary, same run, for ratios on a noisy machine):
//   BM_Baseline_WalAppend        format/ Writer::Append of the same one-point AppendFloats
//                                record, 10 paths round-robin: the log alone, no engine.
//   BM_Baseline_RocksDBChunkPut  RocksDB (defaults, its WAL off) Put of raw 1,024-point
//                                chunks (24 B/point: step, timestamp, value) into one key
//                                range: the "raw chunks" peer, vs. BM_Commit.
//   BM_Baseline_RocksDBChunkScan iterate those chunks (1 M points) into a vector<FloatPoint>:
//                                the peer of BM_FetchSeries.
//   BM_Baseline_CopyPoints       copy 1 M FloatPoints into a fresh vector: what returning
//                                a 1 M-point vector costs at least.
//
// Counters: items/s are points per second over wall-clock time. wal_bytes_per_point and
// db_bytes_per_point are the blocks allocated under runs/<uuid>/wal and runs/<uuid>/db after
// Stop() (which commits, flushes RocksDB and closes the log, freeing the open segment's
// preallocated tail), divided by the points logged (sys/ fields included, negligible).
// sst_bytes_per_point counts the RocksDB table files only. peak_rss_mb is getrusage()'s
// ru_maxrss; bench_rss_mb is the peak resident size since this benchmark function started
// (VmHWM, reset through /proc/self/clear_refs), which the process-wide figure hides. Both
// include file-backed pages: WAL segments are mmapped, so a large log counts in full while
// mapped (BM_Recover's peak is mostly its segment, not heap).
//
// Every benchmark works in its own mkdtemp() directory under /tmp and removes it.
//
//   build-bench/bench/engine_bench --benchmark_repetitions=3
//                                  --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "bench/bench_util.h"
#include "format/records.h"
#include "format/wal_writer.h"
#include "runlog/runlog.h"

namespace runlog::bench {
namespace {

constexpr size_t kCurvePoints = bench::kTrainingCurvePoints;
constexpr int64_t kBaseTimestampUs = 1'764'408'846'000'000;
constexpr size_t kExtendPoints = 1000;        // points per Extend call
constexpr int64_t kSeriesPoints = 1'000'000;  // BM_FetchSeries' series
constexpr int kLastSeries = 100;              // BM_FetchLast's series ...
constexpr int64_t kLastSeriesPoints = 1000;   // ... of this many points each
constexpr size_t kRawChunkPoints = 1024;      // the RocksDB baselines' chunk
constexpr char kRecoverChildFlag[] = "--runlog-recover-child";

// A failure outside the measured calls (setup, Wait, Stop) throws; Guarded() turns it into
// SkipWithError for that benchmark alone, so one engine bug does not cost the other figures.
void CheckOk(const Status& status, const char* what) {
  if (!status.ok()) throw Error(status.WithContext(what));
}

template <typename T>
T ValueOrThrow(Result<T> result, const char* what) {
  CheckOk(result.status(), what);
  return std::move(result).value();
}

void CheckRocks(const rocksdb::Status& status, const char* what) {
  if (!status.ok()) throw std::runtime_error(std::string(what) + ": " + status.ToString());
}

template <void (*Body)(benchmark::State&)>
void Guarded(benchmark::State& state) {
  try {
    Body(state);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

// BENCHMARK(fn) with fn run through Guarded().
#define RUNLOG_BENCHMARK(fn)                                               \
  [[maybe_unused]] benchmark::internal::Benchmark* const fn##_registered = \
      benchmark::RegisterBenchmark(#fn, Guarded<fn>)

// The values from position `i` on, wrapping: n <= kExtendPoints consecutive curve values.
std::span<const double> CurveSlice(int64_t i, size_t n) {
  const size_t start = static_cast<size_t>(i) % (kCurvePoints - n);
  return std::span<const double>(bench::TrainingCurve()).subspan(start, n);
}

double CurveValue(int64_t i) {
  return bench::TrainingCurve()[static_cast<size_t>(i) & (kCurvePoints - 1)];
}

std::vector<std::string> SeriesPaths(std::string_view prefix, int count) {
  std::vector<std::string> paths;
  paths.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) paths.push_back(std::string(prefix) + std::to_string(i));
  return paths;
}

// ---- a run in a fresh repository ---------------------------------------------------------

struct BenchRun {
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<Repository> repo;
  std::unique_ptr<Run> run;

  std::string run_dir() const { return repo->path() + "/runs/" + run->uuid(); }
};

BenchRun StartBenchRun(const RunOptions& options = {}) {
  bench::TrainingCurve();  // built here, not in the first timed loop
  BenchRun b;
  b.dir = std::make_unique<TempDir>();
  b.repo = ValueOrThrow(Repository::Open(b.dir->path() + "/repo"), "open the repository");
  b.run = ValueOrThrow(b.repo->StartRun(options), "start the run");
  return b;
}

// Stops the run (commit, RocksDB flush, log closed) and reports the bytes its log and its
// database take per point.
void StopAndReportBytes(BenchRun& b, double points, benchmark::State& state) {
  const Clock::time_point start = Clock::now();
  CheckOk(b.run->Stop(), "stop the run");
  state.counters["stop_ms"] = Millis(Clock::now() - start);
  if (points <= 0) return;
  const std::string dir = b.run_dir();
  state.counters["wal_bytes_per_point"] = static_cast<double>(DiskBytes(dir + "/wal")) / points;
  state.counters["db_bytes_per_point"] = static_cast<double>(DiskBytes(dir + "/db")) / points;
  state.counters["sst_bytes_per_point"] =
      static_cast<double>(DiskBytes(dir + "/db", ".sst")) / points;
}

void ReportRss(benchmark::State& state) {
  state.counters["peak_rss_mb"] = static_cast<double>(PeakRssBytes()) / (1 << 20);
  state.counters["bench_rss_mb"] = static_cast<double>(BenchRssBytes()) / (1 << 20);
}

// ---- the logging benchmarks ----------------------------------------------------------------
// Shared shape: a fresh run per benchmark function call (untimed setup); the loop logs;
// the last iteration (state.max_iterations - 1) calls Wait() inside the timed region, so
// the rate is that of committed points. Extra counters:
//   ack_points_per_s   points per second acknowledged (logged) before that Wait(),
//   backlog_mb         uncommitted log when the final Wait() started,
//   wait_ms            how long the final Wait() took.

struct FinalWait {
  Clock::time_point loop_start = Clock::now();
  Clock::time_point wait_start;
  Clock::time_point wait_end;
  uint64_t backlog_bytes = 0;

  void Wait(Run& run) {
    backlog_bytes = run.stats().backlog_bytes;
    wait_start = Clock::now();
    CheckOk(run.Wait(), "wait for the commit");
    wait_end = Clock::now();
  }

  void Report(benchmark::State& state, double points) const {
    if (wait_end == Clock::time_point()) return;  // the loop stopped on an error
    state.counters["ack_points_per_s"] = points / Seconds(wait_start - loop_start);
    state.counters["backlog_mb"] = static_cast<double>(backlog_bytes) / (1 << 20);
    state.counters["wait_ms"] = Millis(wait_end - wait_start);
  }
};

void BM_LogFloat(benchmark::State& state) {
  QuiesceDisk();
  ResetBenchRss();
  BenchRun b = StartBenchRun();
  const std::vector<std::string> paths = SeriesPaths("metrics/f", 10);
  const int64_t last = state.max_iterations - 1;
  int64_t i = 0;
  FinalWait final_wait;
  for (auto _ : state) {
    Result<uint64_t> lsn = b.run->Append(paths[static_cast<size_t>(i % 10)], CurveValue(i));
    if (!lsn.ok()) {
      state.SkipWithError(lsn.status().ToString().c_str());
      break;
    }
    if (i == last) final_wait.Wait(*b.run);
    ++i;
  }
  const auto points = static_cast<double>(i);
  state.SetItemsProcessed(i);
  final_wait.Report(state, points);
  StopAndReportBytes(b, points, state);
  ReportRss(state);
}
RUNLOG_BENCHMARK(BM_LogFloat)->UseRealTime();

void BM_LogExtend(benchmark::State& state) {
  QuiesceDisk();
  ResetBenchRss();
  BenchRun b = StartBenchRun();
  const int64_t last = state.max_iterations - 1;
  int64_t i = 0;
  FinalWait final_wait;
  for (auto _ : state) {
    Result<uint64_t> lsn =
        b.run->Extend("train/loss", CurveSlice(i * kExtendPoints, kExtendPoints));
    if (!lsn.ok()) {
      state.SkipWithError(lsn.status().ToString().c_str());
      break;
    }
    if (i == last) final_wait.Wait(*b.run);
    ++i;
  }
  const double points = static_cast<double>(i) * kExtendPoints;
  state.SetItemsProcessed(i * static_cast<int64_t>(kExtendPoints));
  final_wait.Report(state, points);
  StopAndReportBytes(b, points, state);
  ReportRss(state);
}
RUNLOG_BENCHMARK(BM_LogExtend)->UseRealTime();

void BM_LogManyFields(benchmark::State& state) {
  constexpr int kFields = 1000;
  QuiesceDisk();
  ResetBenchRss();
  BenchRun b = StartBenchRun();
  const std::vector<std::string> paths = SeriesPaths("metrics/m", kFields);
  const int64_t last = state.max_iterations - 1;
  int64_t step = 0;
  FinalWait final_wait;
  for (auto _ : state) {
    PointOptions at;
    at.step = static_cast<double>(step);
    for (int f = 0; f < kFields; ++f) {
      Result<uint64_t> lsn =
          b.run->Append(paths[static_cast<size_t>(f)], CurveValue(step * kFields + f), at);
      if (!lsn.ok()) {
        state.SkipWithError(lsn.status().ToString().c_str());
        break;
      }
    }
    if (state.error_occurred()) break;
    if (step == last) final_wait.Wait(*b.run);
    ++step;
  }
  const double points = static_cast<double>(step) * kFields;
  state.SetItemsProcessed(step * kFields);
  final_wait.Report(state, points);
  StopAndReportBytes(b, points, state);
  ReportRss(state);
}
RUNLOG_BENCHMARK(BM_LogManyFields)->UseRealTime();

// ---- BM_Commit ---------------------------------------------------------------------------
// The committer alone, WAL -> RocksDB. Each iteration: a fresh run (backlog limit lifted);
// `points` points logged in records of `points_per_record` points, round-robin over `fields`
// series, with the committer starved (StarveOtherThreads), so nearly all of it is an
// uncommitted backlog; then the threads are restored and only Wait() is timed (manual
// time). items/s counts the points that were uncommitted when Wait() started (estimated
// from the LSNs). Counters: committed_frac_at_wait, backlog_mb, log_ms (the starved
// logging, not timed).
void BM_Commit(benchmark::State& state) {
  const auto per_record = static_cast<size_t>(state.range(0));
  const auto fields = static_cast<int>(state.range(1));
  const int64_t points = state.range(2);
  const std::vector<std::string> paths = SeriesPaths("metrics/c", fields);
  ResetBenchRss();
  double committed_points = 0;  // by the timed Wait()s
  for (auto _ : state) {
    QuiesceDisk();
    RunOptions options;
    options.max_backlog_bytes = 1ull << 40;
    BenchRun b = StartBenchRun(options);
    const Clock::time_point log_start = Clock::now();
    {
      StarveOtherThreads starve;
      for (int64_t p = 0; p < points; p += static_cast<int64_t>(per_record)) {
        const std::string& path = paths[static_cast<size_t>((p / per_record) % fields)];
        Result<uint64_t> lsn = per_record == 1 ? b.run->Append(path, CurveValue(p))
                                               : b.run->Extend(path, CurveSlice(p, per_record));
        CheckOk(lsn.status(), "log the backlog");
      }
    }
    const RunStats at_wait = b.run->stats();
    const Clock::time_point start = Clock::now();
    CheckOk(b.run->Wait(), "wait for the commit");
    state.SetIterationTime(Seconds(Clock::now() - start));

    const double committed_frac = static_cast<double>(at_wait.committed_lsn) /
                                  static_cast<double>(std::max<uint64_t>(1, at_wait.logged_lsn));
    committed_points += static_cast<double>(points) * (1 - committed_frac);
    state.counters["log_ms"] = Millis(start - log_start);
    state.counters["committed_frac_at_wait"] = committed_frac;
    state.counters["backlog_mb"] = static_cast<double>(at_wait.backlog_bytes) / (1 << 20);
    StopAndReportBytes(b, static_cast<double>(points), state);
  }
  state.SetItemsProcessed(static_cast<int64_t>(committed_points));
  ReportRss(state);
}
RUNLOG_BENCHMARK(BM_Commit)
    ->ArgNames({"points_per_record", "fields", "points"})
    ->Args({1000, 1, 20'000'000})
    ->Args({1, 10, 2'000'000})
    ->Args({1, 1000, 2'000'000})
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// ---- the read fixtures ---------------------------------------------------------------------
// Built on first use, outside timed code; removed by RemoveFixtures() before exit.

// Points at steps 1, 2, ..., n with a ~10 ms clock and training-curve values, logged
// kExtendPoints at a time with explicit steps and timestamps.
void LogCurve(Run& run, const std::string& path, int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<double> steps(kExtendPoints);
  std::vector<int64_t> timestamps(kExtendPoints);
  int64_t t = kBaseTimestampUs;
  for (int64_t first = 0; first < n; first += kExtendPoints) {
    const size_t count = std::min<size_t>(kExtendPoints, static_cast<size_t>(n - first));
    for (size_t k = 0; k < count; ++k) {
      steps[k] = static_cast<double>(first + static_cast<int64_t>(k) + 1);
      t += 10000 + static_cast<int64_t>(rng() % 200);
      timestamps[k] = t;
    }
    CheckOk(run.Extend(path, CurveSlice(first, count), std::span(steps).first(count),
                       std::span(timestamps).first(count))
                .status(),
            "log a fixture series");
  }
}

struct SeriesFixture {
  BenchRun writer;              // stopped after logging
  std::unique_ptr<Run> reader;  // the same run, opened read-only
  double wal_bytes_per_point = 0;
  double db_bytes_per_point = 0;
  double sst_bytes_per_point = 0;
};

std::unique_ptr<SeriesFixture>& SeriesSlot() {
  static auto* slot = new std::unique_ptr<SeriesFixture>;
  return *slot;
}

// One run holding "train/loss", a kSeriesPoints-point FloatSeries, and nothing else.
SeriesFixture& Series() {
  std::unique_ptr<SeriesFixture>& slot = SeriesSlot();
  if (slot == nullptr) {
    auto fx = std::make_unique<SeriesFixture>();
    fx->writer = StartBenchRun();
    LogCurve(*fx->writer.run, "train/loss", kSeriesPoints, 7);
    CheckOk(fx->writer.run->Stop(), "stop the series fixture");
    const std::string dir = fx->writer.run_dir();
    const auto points = static_cast<double>(kSeriesPoints);
    fx->wal_bytes_per_point = static_cast<double>(DiskBytes(dir + "/wal")) / points;
    fx->db_bytes_per_point = static_cast<double>(DiskBytes(dir + "/db")) / points;
    fx->sst_bytes_per_point = static_cast<double>(DiskBytes(dir + "/db", ".sst")) / points;
    RunOptions read;
    read.mode = Mode::kReadOnly;
    read.resume = fx->writer.run->sys_id();
    fx->reader = ValueOrThrow(fx->writer.repo->StartRun(read), "open the series run read-only");
    QuiesceDisk();
    slot = std::move(fx);
  }
  return *slot;
}

struct LastFixture {
  BenchRun writer;   // active, everything committed (Wait)
  BenchRun stopped;  // stopped, then opened read-only as `reader`
  std::unique_ptr<Run> reader;
  std::vector<std::string> paths;
};

std::unique_ptr<LastFixture>& LastSlot() {
  static auto* slot = new std::unique_ptr<LastFixture>;
  return *slot;
}

// Two runs of kLastSeries series of kLastSeriesPoints points each.
LastFixture& Last() {
  std::unique_ptr<LastFixture>& slot = LastSlot();
  if (slot == nullptr) {
    auto fx = std::make_unique<LastFixture>();
    fx->paths = SeriesPaths("metrics/s", kLastSeries);
    fx->writer = StartBenchRun();
    fx->stopped = StartBenchRun();
    for (int s = 0; s < kLastSeries; ++s) {
      const std::string& path = fx->paths[static_cast<size_t>(s)];
      LogCurve(*fx->writer.run, path, kLastSeriesPoints, static_cast<uint64_t>(s));
      LogCurve(*fx->stopped.run, path, kLastSeriesPoints, static_cast<uint64_t>(s));
    }
    CheckOk(fx->writer.run->Wait(), "wait for the FetchLast fixture");
    CheckOk(fx->stopped.run->Stop(), "stop the FetchLast fixture");
    RunOptions read;
    read.mode = Mode::kReadOnly;
    read.resume = fx->stopped.run->sys_id();
    fx->reader = ValueOrThrow(fx->stopped.repo->StartRun(read), "open the FetchLast run read-only");
    QuiesceDisk();
    slot = std::move(fx);
  }
  return *slot;
}

// ---- BM_FetchSeries ------------------------------------------------------------------------
// points: how many points one FetchValues returns: kSeriesPoints (the whole series, no range)
// or 1,000 (steps [500001, 501000]). reader:0 reads through the writer's own (stopped) Run,
// reader:1 through a Run opened read-only. The result's size is checked on every call.
void BM_FetchSeries(benchmark::State& state) {
  const auto want = static_cast<size_t>(state.range(0));
  SeriesFixture& fx = Series();
  Run& run = state.range(1) == 0 ? *fx.writer.run : *fx.reader;
  ResetBenchRss();
  SeriesRange range;
  if (want < static_cast<size_t>(kSeriesPoints)) {
    range.from = 500001;
    range.to = 500000 + static_cast<double>(want);
  }
  for (auto _ : state) {
    Result<SeriesValues> values = run.FetchValues("train/loss", range);
    if (!values.ok()) {
      state.SkipWithError(values.status().ToString().c_str());
      break;
    }
    if (values->floats.size() != want) {
      state.SkipWithError(("FetchValues returned " + std::to_string(values->floats.size()) +
                           " points, expected " + std::to_string(want))
                              .c_str());
      break;
    }
    benchmark::DoNotOptimize(values->floats.back().value);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * want));
  state.counters["wal_bytes_per_point"] = fx.wal_bytes_per_point;
  state.counters["db_bytes_per_point"] = fx.db_bytes_per_point;
  state.counters["sst_bytes_per_point"] = fx.sst_bytes_per_point;
  ReportRss(state);
}
RUNLOG_BENCHMARK(BM_FetchSeries)
    ->ArgNames({"points", "reader"})
    ->ArgsProduct({{kSeriesPoints, 1000}, {0, 1}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// ---- BM_FetchLast --------------------------------------------------------------------------
void BM_FetchLast(benchmark::State& state) {
  LastFixture& fx = Last();
  Run& run = state.range(0) == 0 ? *fx.writer.run : *fx.reader;
  size_t i = 0;
  double sum = 0;
  for (auto _ : state) {
    Result<SeriesSummary> last = run.FetchLast(fx.paths[i % kLastSeries]);
    if (!last.ok() || last->count != kLastSeriesPoints) {
      state.SkipWithError(last.ok() ? "FetchLast: wrong count" : last.status().ToString().c_str());
      break;
    }
    sum += last->last;
    ++i;
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
RUNLOG_BENCHMARK(BM_FetchLast)->ArgName("reader")->Arg(0)->Arg(1)->UseRealTime();

// ---- BM_Recover ----------------------------------------------------------------------------
// The child: `engine_bench --runlog-recover-child REPO BYTES FD`. Creates a run in REPO, logs
// about BYTES of 1,000-point Extend records with its committer starved, writes a
// RecoverReport to FD and kills itself with SIGKILL (no Stop, no destructor, no flush).

struct RecoverReport {
  char sys_id[64] = {};
  uint64_t points = 0;
  RunStats stats;  // at the kill
};

int RecoverChildMain(int argc, char** argv) {
  if (argc != 5) return 2;
  const std::string repo_path = argv[2];
  const uint64_t bytes = std::strtoull(argv[3], nullptr, 10);
  const int fd = std::atoi(argv[4]);
  auto repo = ValueOrThrow(Repository::Open(repo_path), "child: open the repository");
  RunOptions options;
  options.max_backlog_bytes = 1ull << 40;
  // One segment for the whole log: at a roll the appending thread waits for the old
  // segment's sync, and the starved committer would run meanwhile.
  options.segment_size = bytes + (64ull << 20);
  auto run = ValueOrThrow(repo->StartRun(options), "child: start the run");
  StarveOtherThreads starve;  // never undone: the child dies with its backlog

  // 1,000 points with engine-assigned steps and timestamps: ~24 bytes each in the log.
  const uint64_t records = bytes / (24 * kExtendPoints) + 1;
  RecoverReport report;
  for (uint64_t r = 0; r < records; ++r) {
    CheckOk(run->Extend("train/loss",
                        CurveSlice(static_cast<int64_t>(r * kExtendPoints), kExtendPoints))
                .status(),
            "child: extend");
  }
  report.points = records * kExtendPoints;
  report.stats = run->stats();
  std::snprintf(report.sys_id, sizeof report.sys_id, "%s", run->sys_id().c_str());
  if (::write(fd, &report, sizeof report) != static_cast<ssize_t>(sizeof report)) _exit(3);
  ::kill(::getpid(), SIGKILL);
  _exit(4);  // not reached
}

// Runs the child to completion; false (and a message in `error`) unless it died by SIGKILL
// after reporting.
bool RunRecoverChild(const std::string& repo_path, uint64_t bytes, RecoverReport* report,
                     double* child_rss_mb, std::string* error) {
  const ChildProcess child = RunSelf({kRecoverChildFlag, repo_path, std::to_string(bytes), "{fd}"});
  *child_rss_mb = static_cast<double>(child.peak_rss_bytes) / (1 << 20);
  if (child.report.size() != sizeof *report || !child.killed_by(SIGKILL)) {
    *error = "the logging child failed (status " + std::to_string(child.wait_status) + ")";
    return false;
  }
  std::memcpy(report, child.report.data(), sizeof *report);
  return true;
}

// log_mb: the size of the log the child writes. Counters: backlog_mb (uncommitted at the
// kill), log_points, uncommitted_frac_at_kill, backlog_mb_per_s (backlog / open time),
// child_rss_mb (the logging child's peak: memory with an unbounded backlog), stop_ms.
// items/s counts the points of the uncommitted records.
void BM_Recover(benchmark::State& state) {
  const uint64_t bytes = static_cast<uint64_t>(state.range(0)) << 20;
  ResetBenchRss();
  double backlog_bytes = 0;
  double uncommitted_points = 0;  // summed over the iterations
  for (auto _ : state) {
    TempDir dir;
    const std::string repo_path = dir.path() + "/repo";
    RecoverReport report;
    double child_rss_mb = 0;
    std::string error;
    if (!RunRecoverChild(repo_path, bytes, &report, &child_rss_mb, &error)) {
      state.SkipWithError(error.c_str());
      return;
    }
    QuiesceDisk();  // the log on disk and clean in the page cache before the clock starts

    const Clock::time_point start = Clock::now();
    auto repo = ValueOrThrow(Repository::Open(repo_path), "reopen the repository");
    RunOptions options;
    options.resume = report.sys_id;
    Result<std::unique_ptr<Run>> run = repo->StartRun(options);
    const Clock::time_point opened = Clock::now();
    if (!run.ok()) {
      state.SkipWithError(run.status().ToString().c_str());
      return;
    }
    state.SetIterationTime(Seconds(opened - start));

    // Nothing lost: every logged point is in the reopened run.
    Result<SeriesSummary> last = (*run)->FetchLast("train/loss");
    if (!last.ok() || last->count != report.points) {
      state.SkipWithError(last.ok() ? ("recovered " + std::to_string(last->count) + " points of " +
                                       std::to_string(report.points))
                                          .c_str()
                                    : last.status().ToString().c_str());
      return;
    }
    const RunStats& s = report.stats;
    const double uncommitted_records =
        static_cast<double>(s.logged_lsn - std::min(s.committed_lsn, s.logged_lsn));
    uncommitted_points +=
        std::min(static_cast<double>(report.points), uncommitted_records * kExtendPoints);
    backlog_bytes += static_cast<double>(s.backlog_bytes);
    state.counters["backlog_mb"] = static_cast<double>(s.backlog_bytes) / (1 << 20);
    state.counters["log_points"] = static_cast<double>(report.points);
    state.counters["uncommitted_frac_at_kill"] =
        s.logged_lsn == 0 ? 0 : uncommitted_records / static_cast<double>(s.logged_lsn);
    state.counters["backlog_mb_per_s"] =
        static_cast<double>(s.backlog_bytes) / (1 << 20) / Seconds(opened - start);
    state.counters["child_rss_mb"] = child_rss_mb;
    const Clock::time_point stop_start = Clock::now();
    CheckOk((*run)->Stop(), "stop the recovered run");
    state.counters["stop_ms"] = Millis(Clock::now() - stop_start);
  }
  state.SetItemsProcessed(static_cast<int64_t>(uncommitted_points));
  state.SetBytesProcessed(static_cast<int64_t>(backlog_bytes));
  ReportRss(state);
}
RUNLOG_BENCHMARK(BM_Recover)
    ->ArgName("log_mb")
    ->Arg(256)
    ->Arg(1024)
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// ---- baselines -----------------------------------------------------------------------------

// The log alone: what BM_LogFloat's records cost in format/'s Writer, default durability.
void BM_Baseline_WalAppend(benchmark::State& state) {
  QuiesceDisk();
  TempDir tmp;
  wal::WriterOptions options;
  for (size_t i = 0; i < options.run_id.size(); ++i) options.run_id[i] = static_cast<uint8_t>(i);
  auto writer = ValueOrThrow(wal::Writer::Open(tmp.path() + "/wal", options), "open the WAL");
  const std::vector<std::string> paths = SeriesPaths("metrics/f", 10);
  wal::RecordBuilder builder;
  int64_t i = 0;
  for (auto _ : state) {
    const wal::FloatPoint point(static_cast<double>(i / 10), kBaseTimestampUs + i, CurveValue(i));
    Result<wal::Lsn> lsn =
        writer->Append(static_cast<uint16_t>(wal::RecordType::AppendFloats),
                       builder.AppendFloats(paths[static_cast<size_t>(i % 10)], {&point, 1}));
    if (!lsn.ok()) {
      state.SkipWithError(lsn.status().ToString().c_str());
      break;
    }
    ++i;
  }
  CheckOk(writer->Close(), "close the WAL");
  state.SetItemsProcessed(i);
}
RUNLOG_BENCHMARK(BM_Baseline_WalAppend)->UseRealTime();

std::unique_ptr<rocksdb::DB> OpenRawDb(const std::string& path) {
  rocksdb::Options options;  // RocksDB's defaults (snappy compression, 64 MiB memtables)
  options.create_if_missing = true;
  rocksdb::DB* db = nullptr;
  CheckRocks(rocksdb::DB::Open(options, path, &db), "open the baseline RocksDB");
  return std::unique_ptr<rocksdb::DB>(db);
}

// Raw chunk `c` of the baseline series: kRawChunkPoints points at steps c*1024 + 1, ...
void FillRawChunk(int64_t c, std::vector<FloatPoint>* chunk) {
  for (size_t k = 0; k < chunk->size(); ++k) {
    const int64_t i = c * static_cast<int64_t>(kRawChunkPoints) + static_cast<int64_t>(k);
    (*chunk)[k] =
        FloatPoint{static_cast<double>(i + 1), kBaseTimestampUs + i * 10000, CurveValue(i)};
  }
}

std::string RawChunkKey(int64_t c) {
  std::string key(16, '\0');
  key[7] = 1;  // field id 1, big-endian
  for (int b = 0; b < 8; ++b) key[15 - b] = static_cast<char>((c >> (8 * b)) & 0xff);
  return key;
}

rocksdb::Slice PointsSlice(const std::vector<FloatPoint>& points) {
  return rocksdb::Slice(reinterpret_cast<const char*>(points.data()),
                        points.size() * sizeof(FloatPoint));
}

void BM_Baseline_RocksDBChunkPut(benchmark::State& state) {
  QuiesceDisk();
  ResetBenchRss();
  TempDir tmp;
  std::unique_ptr<rocksdb::DB> db = OpenRawDb(tmp.path() + "/db");
  rocksdb::WriteOptions write;
  write.disableWAL = true;
  std::vector<FloatPoint> chunk(kRawChunkPoints);
  int64_t c = 0;
  for (auto _ : state) {
    FillRawChunk(c, &chunk);
    CheckRocks(db->Put(write, RawChunkKey(c), PointsSlice(chunk)), "put a chunk");
    ++c;
  }
  const int64_t points = c * static_cast<int64_t>(kRawChunkPoints);
  state.SetItemsProcessed(points);
  CheckRocks(db->Flush(rocksdb::FlushOptions()), "flush");
  state.counters["sst_bytes_per_point"] =
      static_cast<double>(DiskBytes(tmp.path() + "/db", ".sst")) / static_cast<double>(points);
  CheckRocks(db->Close(), "close");
  ReportRss(state);
}
RUNLOG_BENCHMARK(BM_Baseline_RocksDBChunkPut)->UseRealTime();

struct RawFixture {
  TempDir dir;
  std::unique_ptr<rocksdb::DB> db;
};

std::unique_ptr<RawFixture>& RawSlot() {
  static auto* slot = new std::unique_ptr<RawFixture>;
  return *slot;
}

RawFixture& Raw() {
  std::unique_ptr<RawFixture>& slot = RawSlot();
  if (slot == nullptr) {
    auto fx = std::make_unique<RawFixture>();
    fx->db = OpenRawDb(fx->dir.path() + "/db");
    rocksdb::WriteOptions write;
    write.disableWAL = true;
    std::vector<FloatPoint> chunk(kRawChunkPoints);
    const int64_t chunks = (kSeriesPoints + kRawChunkPoints - 1) / kRawChunkPoints;
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t left = kSeriesPoints - c * static_cast<int64_t>(kRawChunkPoints);
      chunk.resize(std::min<size_t>(kRawChunkPoints, static_cast<size_t>(left)));
      FillRawChunk(c, &chunk);
      CheckRocks(fx->db->Put(write, RawChunkKey(c), PointsSlice(chunk)), "put a chunk");
    }
    CheckRocks(fx->db->Flush(rocksdb::FlushOptions()), "flush");
    QuiesceDisk();
    slot = std::move(fx);
  }
  return *slot;
}

void BM_Baseline_RocksDBChunkScan(benchmark::State& state) {
  RawFixture& fx = Raw();
  const std::string prefix = RawChunkKey(0).substr(0, 8);
  for (auto _ : state) {
    std::vector<FloatPoint> out;
    out.reserve(static_cast<size_t>(kSeriesPoints));
    std::unique_ptr<rocksdb::Iterator> it(fx.db->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      const rocksdb::Slice v = it->value();
      const size_t n = v.size() / sizeof(FloatPoint);
      const size_t old = out.size();
      out.resize(old + n);
      std::memcpy(out.data() + old, v.data(), n * sizeof(FloatPoint));
    }
    if (out.size() != static_cast<size_t>(kSeriesPoints)) {
      state.SkipWithError("the baseline scan returned the wrong number of points");
      break;
    }
    benchmark::DoNotOptimize(out.back().value);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kSeriesPoints);
}
RUNLOG_BENCHMARK(BM_Baseline_RocksDBChunkScan)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_Baseline_CopyPoints(benchmark::State& state) {
  std::vector<FloatPoint> source(static_cast<size_t>(kSeriesPoints));
  FillRawChunk(0, &source);
  for (auto _ : state) {
    std::vector<FloatPoint> out(source.begin(), source.end());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kSeriesPoints);
}
RUNLOG_BENCHMARK(BM_Baseline_CopyPoints)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The fixtures' runs are stopped and their directories removed before the binary exits
// (runs before repositories before directories).
void RemoveFixtures() {
  SeriesSlot().reset();
  LastSlot().reset();
  RawSlot().reset();
}

}  // namespace
}  // namespace runlog::bench

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == runlog::bench::kRecoverChildFlag) {
    try {
      return runlog::bench::RecoverChildMain(argc, argv);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "engine_bench: recover child: %s\n", e.what());
      return 1;
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  runlog::bench::RemoveFixtures();
  benchmark::Shutdown();
  return 0;
}
