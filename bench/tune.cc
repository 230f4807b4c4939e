// runlog-tune: one sweep per performance option of a run (RunOptions and RunOptions::store),
// each printing a small table of the option's effect on the workloads it matters for, so
// that users can pick settings. README "Tuning" shows the tables and which knob to turn for
// which workload.
//
//   runlog-tune [--knobs segment_size,sync_interval,...] [--scale F] [--repetitions N]
//
// --scale 1.0 (default) takes about 5 minutes on 2 cores, --scale 0.1 well under one;
// --repetitions N (default 1) runs every measurement N times and prints the medians.
//
// Each knob is swept over a few values (the default marked "*"), every other option at its
// default, on the workloads it matters for. Every measurement works in a fresh repository
// in its own /tmp/runlog_tune.* directory. The workloads (sizes at --scale 1.0):
//
//   logging      3 M one-point Append calls round-robin over 10 series (explicit steps),
//                at most 6 s; the final Wait() is timed, so pts/s is committed points per
//                second. syncs/s: the log's fdatasyncs (RunStats::log_syncs). wal MiB
//                active: the log's disk blocks before Stop() (segments are preallocated);
//                wal and db B/pt: after Stop().
//   paced        a training loop: one step per ms, one point into each of 100 series, 8 s;
//                the time of each Append call (p50, p99, p99.99), the syncs per second, and
//                the reader lag (median and max of samples every 250 ms): how far behind
//                the writer a read-only Run opened beside it is, in seconds of logging (a
//                reader in another process sees what the writer has flushed).
//   backlog      1 M one-point records over 1,000 series logged with the committer starved
//                (StarveOtherThreads), then only Wait() is timed: the committer alone.
//   reads        a 2 M-point series logged in 1,000-point Extend calls, stopped, reopened
//                read-only (open ms); medians of 3 full reads, 25 1,000-point range reads at
//                random places and 201 FetchLast calls. sst B/pt: RocksDB's tables alone.
//   many runs    24 runs opened one after another in one repository and kept open, 20,000
//                points over 10 series each: median StartRun time, committed pts/s, peak
//                memory and disk per run (active, and after Stop()).
//   burst+kill   a child process (this executable, re-run) logs 20 M points in 1,000-point
//                Extend calls over 10 series as fast as one thread can (the backlog grows:
//                its peak is sampled) and dies by SIGKILL; the parent reopens the run, which
//                replays the log the store had not flushed, and checks that every
//                acknowledged point is there.
//   steady+kill  as burst+kill, logging at the paced workload's rate for 8 s.
//
// RSS is the peak resident size a measurement added to this process (VmHWM after a reset,
// minus the size then); it counts the touched pages of the mmapped log segments. A child's
// RSS is its ru_maxrss. Byte figures are allocated blocks (what du reports), so preallocated
// files count in full. The machine's other load shows in every figure: compare the rows of
// one table, and use --repetitions 3 for steadier medians.
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <random>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include "bench/bench_util.h"
#include "runlog/runlog.h"

namespace runlog::bench {
namespace {

using std::chrono::milliseconds;

constexpr double kMiB = 1 << 20;
constexpr int64_t kBaseTimestampUs = 1'764'408'846'000'000;
constexpr size_t kCurvePoints = bench::kTrainingCurvePoints;
constexpr size_t kExtendPoints = 1000;  // points per Extend call
constexpr char kCrashChildFlag[] = "--crash-child";

// ---- errors: a failed Status throws, the sweep reports it with the knob and value ---------

void CheckOk(const Status& status, std::string_view what) {
  if (!status.ok()) throw Error(status.WithContext(what));
}

template <typename T>
T ValueOrThrow(Result<T> result, std::string_view what) {
  CheckOk(result.status(), what);
  return std::move(result).value();
}

void Check(bool condition, const std::string& what) {
  if (!condition) throw std::runtime_error(what);
}

// ---- the data ---------------------------------------------------------------------------

double CurveValue(int64_t i) {
  return bench::TrainingCurve()[static_cast<size_t>(i) & (kCurvePoints - 1)];
}

// n <= kExtendPoints consecutive curve values from about position i on.
std::span<const double> CurveSlice(int64_t i, size_t n) {
  return std::span(bench::TrainingCurve()).subspan(static_cast<size_t>(i) % (kCurvePoints - n), n);
}

std::vector<std::string> SeriesPaths(int count) {
  std::vector<std::string> paths;
  for (int i = 0; i < count; ++i) paths.push_back("metrics/m" + std::to_string(i));
  return paths;
}

// One point at step `i / series.size()` into series `i % series.size()`: step i of a
// round-robin training loop.
Result<uint64_t> AppendRoundRobin(Run& run, const std::vector<std::string>& series, int64_t i) {
  const auto n = static_cast<int64_t>(series.size());
  return run.Append(series[static_cast<size_t>(i % n)], CurveValue(i),
                    {.step = static_cast<double>(i / n)});
}

// Steps 1..n with a ~10 ms clock, kExtendPoints points per Extend call.
void LogCurve(Run& run, const std::string& path, int64_t n) {
  std::vector<double> steps(kExtendPoints);
  std::vector<int64_t> timestamps(kExtendPoints);
  for (int64_t first = 0; first < n; first += kExtendPoints) {
    const auto count = std::min(kExtendPoints, static_cast<size_t>(n - first));
    for (size_t k = 0; k < count; ++k) {
      const int64_t i = first + static_cast<int64_t>(k);
      steps[k] = static_cast<double>(i + 1);
      timestamps[k] = kBaseTimestampUs + i * 10000 + (i * 7919) % 200;
    }
    CheckOk(run.Extend(path, CurveSlice(first, count), std::span(steps).first(count),
                       std::span(timestamps).first(count))
                .status(),
            "extend " + path);
  }
}

// Points in all of `series`, checked against what was acknowledged.
void CheckPoints(Run& run, const std::vector<std::string>& series, int64_t expected) {
  int64_t found = 0;
  for (const std::string& path : series) {
    found += static_cast<int64_t>(ValueOrThrow(run.FetchLast(path), "fetch-last " + path).count);
  }
  Check(found == expected, "the run holds " + std::to_string(found) + " points, " +
                               std::to_string(expected) + " were acknowledged");
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Times `fn` `times` times; the median in seconds.
double MedianSeconds(int times, const std::function<void()>& fn) {
  std::vector<double> seconds;
  for (int k = 0; k < times; ++k) {
    const Clock::time_point start = Clock::now();
    fn();
    seconds.push_back(Seconds(Clock::now() - start));
  }
  return Median(seconds);
}

// A run in a fresh repository in its own TempDir (destroyed run first, directory last).
struct ScratchRun {
  explicit ScratchRun(const RunOptions& options)
      : repo(ValueOrThrow(Repository::Open(dir.path() + "/repo"), "open the repository")),
        run(ValueOrThrow(repo->StartRun(options), "start the run")) {}

  std::string run_dir() const { return repo->path() + "/runs/" + run->uuid(); }
  // Disk blocks under the run's `sub` directory ("wal", "db").
  double Bytes(const std::string& sub) const {
    return static_cast<double>(DiskBytes(run_dir() + "/" + sub));
  }

  TempDir dir{"tune"};
  std::unique_ptr<Repository> repo;
  std::unique_ptr<Run> run;
};

// The peak resident size a measurement adds to the process: memory freed by earlier
// measurements is handed back first (malloc_trim), then the high-water mark is reset.
class RssMeter {
 public:
  RssMeter() {
    ::malloc_trim(0);
    ResetBenchRss();
    base_ = BenchRssBytes();
  }
  double PeakMiB() const {
    const uint64_t peak = BenchRssBytes();
    return static_cast<double>(peak - std::min(base_, peak)) / kMiB;
  }

 private:
  uint64_t base_ = 0;
};

template <typename Duration>
Clock::duration ToClock(Duration d) {
  return std::chrono::duration_cast<Clock::duration>(d);
}

Clock::duration SecondsToClock(double seconds) {
  return ToClock(std::chrono::duration<double>(seconds));
}

// ---- what a measurement gets ---------------------------------------------------------------

// The workloads' sizes: the full ones times --scale, with a floor.
struct Sizes {
  explicit Sizes(double scale)
      : log_points(Scaled(3'000'000, scale)),
        log_seconds(std::max(1.0, 6 * scale)),
        paced_seconds(std::max(1.0, 8 * scale)),
        backlog_points(Scaled(1'000'000, scale)),
        read_points(Scaled(2'000'000, scale)),
        runs(static_cast<int>(Scaled(24, scale, 4))),
        run_points(20'000),
        burst_points(Scaled(20'000'000, scale)),
        steady_seconds(std::max(1.0, 8 * scale)) {}

  static int64_t Scaled(double full, double scale, int64_t least = 10'000) {
    return std::max(least, static_cast<int64_t>(full * scale));
  }

  int64_t log_points;      // logging: calls, unless ...
  double log_seconds;      // ... this time is up first (sync mode)
  double paced_seconds;    // paced: logging time
  int64_t backlog_points;  // backlog: one-point records
  int64_t read_points;     // reads: the series' points
  int runs;                // many runs: runs, each of ...
  int64_t run_points;      // ... this many points
  int64_t burst_points;    // burst+kill: points logged before the kill
  double steady_seconds;   // steady+kill: logging time before the kill
};

// One measurement: the options (defaults, the knob's value applied) and the sizes. The knob
// and setting index let a crash child rebuild the same options.
struct Trial {
  RunOptions options;
  Sizes sizes;
  double scale = 1;
  std::string knob;
  size_t setting = 0;
};

using Figures = std::vector<double>;  // one per column of the workload

// ---- the measurements ------------------------------------------------------------------------

constexpr int kPacedSeries = 100;
constexpr milliseconds kSampleEvery{250};

// Called between two steps of LogPaced: the steps logged so far, the seconds they took.
using PacedSampler = std::function<void(int64_t steps, double seconds)>;

// A training loop's pace: every millisecond one step, one point into each of kPacedSeries
// series (100 k points/s offered; a loop that falls behind goes on at once). Returns the
// points logged; `latency_us`, when given, gets each call's time; `sample`, when given, is
// called every kSampleEvery.
int64_t LogPaced(Run& run, double seconds, std::vector<double>* latency_us,
                 const PacedSampler& sample = nullptr) {
  const std::vector<std::string> series = SeriesPaths(kPacedSeries);
  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + SecondsToClock(seconds);
  Clock::time_point next_sample = start + ToClock(kSampleEvery);
  int64_t points = 0;
  for (int64_t step = 0; Clock::now() < end; ++step) {
    if (sample && Clock::now() >= next_sample) {
      sample(step, Seconds(Clock::now() - start));
      next_sample += ToClock(kSampleEvery);
    }
    std::this_thread::sleep_until(start + ToClock(milliseconds(step)));
    for (int k = 0; k < kPacedSeries; ++k, ++points) {
      const Clock::time_point call = Clock::now();
      CheckOk(AppendRoundRobin(run, series, points).status(), "append");
      if (latency_us != nullptr) latency_us->push_back(Seconds(Clock::now() - call) * 1e6);
    }
  }
  return points;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(k), v.end());
  return v[k];
}

Figures MeasureLogging(const Trial& t) {
  const std::vector<std::string> series = SeriesPaths(10);
  QuiesceDisk();
  RssMeter rss;
  ScratchRun s(t.options);
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + SecondsToClock(t.sizes.log_seconds);
  int64_t points = 0;
  for (; points < t.sizes.log_points; ++points) {
    if (points % 64 == 0 && Clock::now() > deadline) break;
    CheckOk(AppendRoundRobin(*s.run, series, points).status(), "append");
  }
  CheckOk(s.run->Wait(), "wait for the commit");
  const double seconds = Seconds(Clock::now() - start);
  const auto syncs = static_cast<double>(s.run->stats().log_syncs);
  const double wal_active = s.Bytes("wal");
  CheckOk(s.run->Stop(), "stop the run");
  const auto n = static_cast<double>(points);
  return {n / seconds,        syncs / seconds,   wal_active / kMiB,
          s.Bytes("wal") / n, s.Bytes("db") / n, rss.PeakMiB()};
}

// Steps of the paced loop that a reader in another process would not see yet: a read-only
// Run opened beside the live writer reads what the writer has flushed to RocksDB's files.
double ReaderLagSteps(const ScratchRun& s, int64_t steps) {
  RunOptions read;
  read.mode = Mode::kReadOnly;
  read.resume = s.run->sys_id();
  auto reader = ValueOrThrow(s.repo->StartRun(read), "open a reader beside the writer");
  Result<SeriesSummary> last = reader->FetchLast(SeriesPaths(1)[0]);
  if (!last.ok() && !last.status().Is(Code::kNotFound)) CheckOk(last.status(), "fetch-last");
  return static_cast<double>(steps) - (last.ok() ? static_cast<double>(last->count) : 0.0);
}

Figures MeasurePaced(const Trial& t) {
  QuiesceDisk();
  ScratchRun s(t.options);
  std::vector<double> latency_us;
  std::vector<double> lag_s;  // sampled every kSampleEvery
  const auto sample_lag = [&](int64_t steps, double seconds) {
    if (steps > 0) {
      lag_s.push_back(ReaderLagSteps(s, steps) * seconds / static_cast<double>(steps));
    }
  };
  const Clock::time_point start = Clock::now();
  const int64_t points = LogPaced(*s.run, t.sizes.paced_seconds, &latency_us, sample_lag);
  const double seconds = Seconds(Clock::now() - start);
  const auto syncs = static_cast<double>(s.run->stats().log_syncs);
  CheckOk(s.run->Stop(), "stop the run");
  return {static_cast<double>(points) / seconds,
          Percentile(latency_us, 0.5),
          Percentile(latency_us, 0.99),
          Percentile(latency_us, 0.9999),
          syncs / seconds,
          Median(lag_s),
          lag_s.empty() ? 0 : *std::max_element(lag_s.begin(), lag_s.end())};
}

Figures MeasureBacklogCommit(const Trial& t) {
  const std::vector<std::string> series = SeriesPaths(1000);
  RunOptions options = t.options;
  options.max_backlog_bytes = 1ull << 40;  // the whole backlog waits for the committer
  QuiesceDisk();
  RssMeter rss;
  ScratchRun s(options);
  {
    StarveOtherThreads starve;
    for (int64_t i = 0; i < t.sizes.backlog_points; ++i) {
      CheckOk(AppendRoundRobin(*s.run, series, i).status(), "log the backlog");
    }
  }
  const RunStats at_wait = s.run->stats();
  const Clock::time_point start = Clock::now();
  CheckOk(s.run->Wait(), "wait for the commit");
  const double seconds = Seconds(Clock::now() - start);
  CheckOk(s.run->Stop(), "stop the run");
  // The points committed during Wait(), estimated from the LSNs (the starved committer may
  // have applied a little before).
  const double committed_before = static_cast<double>(at_wait.committed_lsn) /
                                  static_cast<double>(std::max<uint64_t>(1, at_wait.logged_lsn));
  const auto n = static_cast<double>(t.sizes.backlog_points);
  return {n * (1 - committed_before) / seconds, static_cast<double>(at_wait.backlog_bytes) / kMiB,
          s.Bytes("db") / n, static_cast<double>(DiskBytes(s.run_dir() + "/db", ".sst")) / n,
          rss.PeakMiB()};
}

Figures MeasureReads(const Trial& t) {
  const int64_t n = t.sizes.read_points;
  const std::string path = "train/loss";
  QuiesceDisk();
  ScratchRun s(t.options);
  LogCurve(*s.run, path, n);
  CheckOk(s.run->Stop(), "stop the run");
  const double db_per_point = s.Bytes("db") / static_cast<double>(n);
  const double sst_per_point =
      static_cast<double>(DiskBytes(s.run_dir() + "/db", ".sst")) / static_cast<double>(n);
  QuiesceDisk();

  RssMeter rss;
  RunOptions read = t.options;
  read.mode = Mode::kReadOnly;
  read.resume = s.run->sys_id();
  const Clock::time_point open_start = Clock::now();
  auto reader = ValueOrThrow(s.repo->StartRun(read), "open the run read-only");
  const double open_s = Seconds(Clock::now() - open_start);
  const double full_s = MedianSeconds(3, [&] {
    const size_t got = ValueOrThrow(reader->FetchValues(path), "read the series").size();
    Check(got == static_cast<size_t>(n), "a full read returned " + std::to_string(got) + " points");
  });
  std::mt19937_64 rng(7);
  const double range_s = MedianSeconds(25, [&] {
    const auto from = static_cast<double>(1 + rng() % static_cast<uint64_t>(n - 999));
    const size_t got =
        ValueOrThrow(reader->FetchValues(path, {.from = from, .to = from + 999}), "read a range")
            .size();
    Check(got == 1000, "a 1,000-point range read returned " + std::to_string(got) + " points");
  });
  const double last_s = MedianSeconds(201, [&] {
    const uint64_t count = ValueOrThrow(reader->FetchLast(path), "fetch-last").count;
    Check(count == static_cast<uint64_t>(n), "fetch-last counted " + std::to_string(count));
  });
  return {open_s * 1e3,  static_cast<double>(n) / full_s,
          range_s * 1e6, last_s * 1e6,
          db_per_point,  sst_per_point,
          rss.PeakMiB()};
}

Figures MeasureManyRuns(const Trial& t) {
  const std::vector<std::string> series = SeriesPaths(10);
  QuiesceDisk();
  TempDir dir("tune");
  auto repo = ValueOrThrow(Repository::Open(dir.path() + "/repo"), "open the repository");
  RssMeter rss;
  std::vector<std::unique_ptr<Run>> runs;
  std::vector<double> start_ms;
  double log_s = 0;
  for (int r = 0; r < t.sizes.runs; ++r) {
    const Clock::time_point start = Clock::now();
    runs.push_back(ValueOrThrow(repo->StartRun(t.options), "start a run"));
    const Clock::time_point started = Clock::now();
    start_ms.push_back(Millis(started - start));
    for (int64_t i = 0; i < t.sizes.run_points; ++i) {
      CheckOk(AppendRoundRobin(*runs.back(), series, i).status(), "append");
    }
    log_s += Seconds(Clock::now() - started);
  }
  const Clock::time_point wait_start = Clock::now();
  for (auto& run : runs) CheckOk(run->Wait(), "wait for the commit");
  log_s += Seconds(Clock::now() - wait_start);
  const double n = t.sizes.runs;
  const double rss_per_run = rss.PeakMiB() / n;
  const double active = static_cast<double>(DiskBytes(repo->path())) / kMiB / n;
  for (auto& run : runs) CheckOk(run->Stop(), "stop a run");
  const double stopped = static_cast<double>(DiskBytes(repo->path())) / kMiB / n;
  runs.clear();
  return {Median(start_ms), n * static_cast<double>(t.sizes.run_points) / log_s, rss_per_run,
          active, stopped};
}

// ---- the crash measurements: a child process logs and dies by SIGKILL ------------------------
// The child is this executable: runlog-tune --crash-child PATTERN KNOB SETTING REPO FD --scale F

enum class Pattern { kBurst, kSteady };

constexpr std::string_view PatternName(Pattern p) {
  return p == Pattern::kBurst ? "burst" : "steady";
}

struct CrashReport {  // what the child writes to the pipe before it dies
  char sys_id[64] = {};
  int64_t points = 0;
  double log_seconds = 0;
  uint64_t peak_backlog_bytes = 0;  // burst: sampled every 16 calls
  RunStats stats;                   // at the kill
};

std::vector<std::string> CrashSeries(Pattern pattern) {
  return SeriesPaths(pattern == Pattern::kBurst ? 10 : kPacedSeries);
}

// burst: kExtendPoints-point Extend calls round-robin over 10 series as fast as one thread
// goes (faster than the commit); steady: LogPaced. Never returns.
[[noreturn]] void CrashChild(const Trial& t, Pattern pattern, const std::string& repo_path,
                             int fd) {
  auto repo = ValueOrThrow(Repository::Open(repo_path), "child: open the repository");
  auto run = ValueOrThrow(repo->StartRun(t.options), "child: start the run");
  CrashReport report;
  const Clock::time_point start = Clock::now();
  if (pattern == Pattern::kBurst) {
    const std::vector<std::string> series = CrashSeries(pattern);
    for (size_t call = 0; report.points < t.sizes.burst_points; ++call) {
      CheckOk(run->Extend(series[call % series.size()], CurveSlice(report.points, kExtendPoints))
                  .status(),
              "child: extend");
      report.points += kExtendPoints;
      if (call % 16 == 0) {
        report.peak_backlog_bytes = std::max(report.peak_backlog_bytes, run->stats().backlog_bytes);
      }
    }
  } else {
    report.points = LogPaced(*run, t.sizes.steady_seconds, nullptr);
  }
  report.log_seconds = Seconds(Clock::now() - start);
  report.stats = run->stats();
  std::snprintf(report.sys_id, sizeof report.sys_id, "%s", run->sys_id().c_str());
  if (::write(fd, &report, sizeof report) != static_cast<ssize_t>(sizeof report)) _exit(3);
  std::raise(SIGKILL);  // no Stop, no destructors, no flush
  _exit(4);             // not reached
}

// Runs the child to its SIGKILL; its report and peak RSS.
CrashReport RunCrashChild(const Trial& t, Pattern pattern, const std::string& repo_path,
                          double* child_rss_mib) {
  std::cout << std::flush;
  const bench::ChildProcess child = bench::RunSelf(
      {kCrashChildFlag, std::string(PatternName(pattern)), t.knob, std::to_string(t.setting),
       repo_path, "{fd}", "--scale", std::to_string(t.scale)});
  *child_rss_mib = static_cast<double>(child.peak_rss_bytes) / (1 << 20);
  CrashReport report;
  Check(child.report.size() == sizeof report && child.killed_by(SIGKILL),
        "the logging child failed (wait status " + std::to_string(child.wait_status) +
            ", see above)");
  std::memcpy(&report, child.report.data(), sizeof report);
  return report;
}

// Reopens the killed run, timed; checks that every acknowledged point is in it.
Figures MeasureCrash(const Trial& t, Pattern pattern) {
  TempDir dir("tune");
  const std::string repo_path = dir.path() + "/repo";
  double child_rss = 0;
  const CrashReport report = RunCrashChild(t, pattern, repo_path, &child_rss);
  QuiesceDisk();  // the log on disk and in the page cache, as after a process crash

  const Clock::time_point start = Clock::now();
  auto repo = ValueOrThrow(Repository::Open(repo_path), "reopen the repository");
  RunOptions options = t.options;
  options.resume = report.sys_id;
  auto run = ValueOrThrow(repo->StartRun(options), "reopen the killed run");
  const double reopen_ms = Millis(Clock::now() - start);
  CheckPoints(*run, CrashSeries(pattern), report.points);
  CheckOk(run->Stop(), "stop the reopened run");
  const auto points = static_cast<double>(report.points);
  const double backlog = static_cast<double>(report.stats.backlog_bytes) / kMiB;
  if (pattern == Pattern::kSteady) return {points, backlog, reopen_ms, child_rss};
  return {points / report.log_seconds, static_cast<double>(report.peak_backlog_bytes) / kMiB,
          backlog, reopen_ms, child_rss};
}

// ---- workloads and knobs -------------------------------------------------------------------

struct Column {
  const char* name;
  int decimals;  // < 0: 1.23 M style
};

struct Workload {
  const char* name;
  std::string (*describe)(const Sizes&);
  std::vector<Column> columns;
  std::function<Figures(const Trial&)> measure;
};

std::string Count(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string Fixed(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

const Workload kLogging{"logging",
                        [](const Sizes& s) {
                          return Count(s.log_points) +
                                 " one-point Append calls over 10 series (at most " +
                                 Fixed(s.log_seconds, 1) + " s), final Wait() timed";
                        },
                        {{"pts/s", -1},
                         {"syncs/s", 1},
                         {"wal MiB active", 1},
                         {"wal B/pt", 1},
                         {"db B/pt", 2},
                         {"RSS MiB", 0}},
                        MeasureLogging};

const Workload kPaced{
    "paced",
    [](const Sizes& s) {
      return "a training loop: 100 series, one step per ms (100 k points/s offered), for " +
             Fixed(s.paced_seconds, 1) + " s: time per Append call, a reader's lag every 250 ms";
    },
    {{"pts/s", -1},
     {"call us p50", 1},
     {"p99", 1},
     {"p99.99", 0},
     {"syncs/s", 1},
     {"reader lag s", 2},
     {"max", 2}},
    MeasurePaced};

const Workload kBacklog{
    "backlog",
    [](const Sizes& s) {
      return "commit of a starved backlog: " + Count(s.backlog_points) +
             " one-point records over 1,000 series, Wait() timed";
    },
    {{"commit pts/s", -1}, {"backlog MiB", 0}, {"db B/pt", 2}, {"sst B/pt", 2}, {"RSS MiB", 0}},
    MeasureBacklogCommit};

const Workload kReads{
    "reads",
    [](const Sizes& s) {
      return "a " + Count(s.read_points) +
             "-point series, stopped, opened read-only: medians of 3 full reads, 25 "
             "1,000-point range reads, 201 fetch-last";
    },
    {{"open ms", 1},
     {"full pts/s", -1},
     {"range us", 0},
     {"last us", 1},
     {"db B/pt", 2},
     {"sst B/pt", 2},
     {"RSS MiB", 0}},
    MeasureReads};

const Workload kManyRuns{"many runs",
                         [](const Sizes& s) {
                           return std::to_string(s.runs) +
                                  " runs open at once in one repository, " + Count(s.run_points) +
                                  " one-point Appends over 10 series each";
                         },
                         {{"start ms", 1},
                          {"pts/s", -1},
                          {"RSS MiB/run", 1},
                          {"disk MiB/run active", 1},
                          {"MiB/run stopped", 2}},
                         MeasureManyRuns};

const Workload kBurstKill{
    "burst+kill",
    [](const Sizes& s) {
      return "a child logs " + Count(s.burst_points) +
             " points in 1,000-point Extend calls over 10 series flat out, SIGKILL; "
             "reopen (replays the log since the last flush) timed";
    },
    {{"logged pts/s", -1},
     {"peak backlog MiB", 0},
     {"at kill", 0},
     {"reopen ms", 0},
     {"child RSS MiB", 0}},
    [](const Trial& t) { return MeasureCrash(t, Pattern::kBurst); }};

const Workload kSteadyKill{
    "steady+kill",
    [](const Sizes& s) {
      return "a child logs 100 series, one step per ms, for " + Fixed(s.steady_seconds, 1) +
             " s, SIGKILL; reopen (replays the log since the last flush) timed";
    },
    {{"points", -1}, {"backlog MiB at kill", 1}, {"reopen ms", 0}, {"child RSS MiB", 0}},
    [](const Trial& t) { return MeasureCrash(t, Pattern::kSteady); }};

// One value of a knob: its label and how it changes the default RunOptions.
struct Setting {
  std::string label;
  std::function<void(RunOptions&)> apply;
};

struct Knob {
  std::string name;
  std::string trade;  // what the knob trades, one line
  std::vector<Setting> settings;
  std::vector<const Workload*> workloads;
};

// The settings `field(options) = v` for each v.
template <typename T, typename Field>
std::vector<Setting> Values(Field field, std::initializer_list<T> values, std::string (*label)(T)) {
  std::vector<Setting> settings;
  for (T v : values) settings.push_back({label(v), [field, v](RunOptions& o) { field(o) = v; }});
  return settings;
}

std::string BytesLabel(uint64_t bytes) {
  if (bytes == 0) return "0 (per CF)";
  if (bytes % (1ull << 30) == 0) return std::to_string(bytes >> 30) + " GiB";
  return std::to_string(bytes >> 20) + " MiB";
}
std::string MsLabel(milliseconds ms) {
  return ms.count() % 1000 == 0 ? std::to_string(ms.count() / 1000) + " s"
                                : std::to_string(ms.count()) + " ms";
}
std::string CountLabel(size_t n) {
  return std::to_string(n);
}
std::string CompressionLabel(Compression c) {
  switch (c) {
    case Compression::kLz4: return "lz4";
    case Compression::kZstd: return "zstd";
    case Compression::kNone: return "none";
  }
  return "?";
}

constexpr uint64_t MiB(uint64_t n) {
  return n << 20;
}

const std::vector<Knob>& Knobs() {
  static const auto* knobs = new std::vector<Knob>{
      {"segment_size",
       "WAL segment: preallocated on disk and mmapped while the run is active",
       Values<uint64_t>([](RunOptions& o) -> uint64_t& { return o.segment_size; },
                        {MiB(4), MiB(16), MiB(64), MiB(256)}, BytesLabel),
       {&kLogging, &kManyRuns}},
      {"sync_interval",
       "async mode's fsync interval (what a power loss may take) vs. sync mode",
       [] {
         auto s = Values<milliseconds>(
             [](RunOptions& o) -> milliseconds& { return o.sync_interval; },
             {milliseconds(100), milliseconds(1000), milliseconds(5000)}, MsLabel);
         s.push_back({"sync mode", [](RunOptions& o) { o.mode = Mode::kSync; }});
         return s;
       }(),
       {&kPaced, &kLogging}},
      {"commit_batch_records",
       "records per RocksDB write batch: fewer, larger series pieces vs. memory and fetch lag",
       Values<size_t>([](RunOptions& o) -> size_t& { return o.commit_batch_records; },
                      {1024, 4096, 16384, 65536, 262144}, CountLabel),
       {&kBacklog, &kLogging}},
      {"series_chunk_points",
       "points per stored chunk: compression and scans vs. tail rewrites per batch",
       Values<size_t>([](RunOptions& o) -> size_t& { return o.series_chunk_points; },
                      {128, 256, 1024, 4096}, CountLabel),
       {&kReads, &kBacklog}},
      {"flush_interval",
       "RocksDB flush period: staleness of other readers and the log a crash replays",
       Values<milliseconds>([](RunOptions& o) -> milliseconds& { return o.flush_interval; },
                            {milliseconds(1000), milliseconds(5000), milliseconds(30000)}, MsLabel),
       {&kSteadyKill, &kPaced}},
      {"max_backlog_bytes",
       "uncommitted log allowed before writes wait: absorbs bursts vs. replay after a crash",
       Values<uint64_t>([](RunOptions& o) -> uint64_t& { return o.max_backlog_bytes; },
                        {MiB(16), MiB(64), MiB(256), MiB(1024)}, BytesLabel),
       {&kBurstKill}},
      {"write_buffer_bytes",
       "store.write_buffer_bytes: series memtable (others a quarter each), per run",
       Values<size_t>([](RunOptions& o) -> size_t& { return o.store.write_buffer_bytes; },
                      {MiB(4), MiB(16), MiB(64)}, BytesLabel),
       {&kManyRuns, &kBacklog}},
      {"compression",
       "store.compression of the RocksDB files (lz4: ZSTD on the last level)",
       Values<Compression>([](RunOptions& o) -> Compression& { return o.store.compression; },
                           {Compression::kLz4, Compression::kZstd, Compression::kNone},
                           CompressionLabel),
       {&kReads, &kBacklog}},
      {"block_cache_bytes",
       "store.block_cache_bytes: one LRU cache per run, 0 = RocksDB's own per column family",
       Values<size_t>([](RunOptions& o) -> size_t& { return o.store.block_cache_bytes; },
                      {0, MiB(8), MiB(64)}, BytesLabel),
       {&kReads, &kManyRuns}},
  };
  return *knobs;
}

const Knob* FindKnob(std::string_view name) {
  for (const Knob& k : Knobs()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

// The performance options, for spotting the default setting of a knob.
auto Tuned(const RunOptions& o) {
  return std::tuple(o.mode, o.segment_size, o.sync_interval, o.commit_batch_records,
                    o.series_chunk_points, o.flush_interval, o.max_backlog_bytes,
                    o.store.write_buffer_bytes, o.store.compression, o.store.block_cache_bytes);
}

bool IsDefault(const Setting& s) {
  RunOptions o;
  s.apply(o);
  return Tuned(o) == Tuned(RunOptions{});
}

Trial MakeTrial(const Knob& knob, size_t setting, double scale) {
  Trial t{
      .options = {}, .sizes = Sizes(scale), .scale = scale, .knob = knob.name, .setting = setting};
  knob.settings[setting].apply(t.options);
  return t;
}

// ---- the tables ------------------------------------------------------------------------------

std::string Format(double v, int decimals) {
  if (decimals >= 0) return Fixed(v, decimals);
  if (v >= 1e6) return Fixed(v / 1e6, 2) + " M";
  if (v >= 1e3) return Fixed(v / 1e3, 1) + " k";
  return Fixed(v, 0);
}

void PrintRow(const std::string& first, const std::vector<std::string>& cells,
              const std::vector<Column>& columns) {
  std::string line = "  " + first;
  line.resize(std::max<size_t>(line.size(), 16), ' ');
  for (size_t c = 0; c < cells.size(); ++c) {
    const size_t width = std::max<size_t>(10, std::string_view(columns[c].name).size()) + 2;
    line += std::string(width - std::min(width, cells[c].size()), ' ') + cells[c];
  }
  std::cout << line << "\n";
}

// Measures every setting of `knob` on `workload` and prints the table; throws on a failure
// with the knob, the value and the workload in the message.
void SweepTable(const Knob& knob, const Workload& workload, double scale, int repetitions) {
  std::cout << "\n  " << workload.name << ": " << workload.describe(Sizes(scale)) << "\n";
  std::vector<std::string> names;
  for (const Column& c : workload.columns) names.push_back(c.name);
  PrintRow("  value", names, workload.columns);
  for (size_t i = 0; i < knob.settings.size(); ++i) {
    const Setting& setting = knob.settings[i];
    std::vector<Figures> reps;
    for (int r = 0; r < repetitions; ++r) {
      const Clock::time_point start = Clock::now();
      try {
        reps.push_back(workload.measure(MakeTrial(knob, i, scale)));
      } catch (const std::exception& e) {
        throw std::runtime_error(knob.name + " = " + setting.label + ", workload " + workload.name +
                                 ": " + e.what());
      }
      std::cerr << "  [" << knob.name << " = " << setting.label << ", " << workload.name << ": "
                << Fixed(Seconds(Clock::now() - start), 1) << " s]\n";
    }
    std::vector<std::string> cells;
    for (size_t c = 0; c < workload.columns.size(); ++c) {
      std::vector<double> values;
      for (const Figures& f : reps) values.push_back(f[c]);
      cells.push_back(Format(Median(values), workload.columns[c].decimals));
    }
    PrintRow((IsDefault(setting) ? "* " : "  ") + setting.label, cells, workload.columns);
    std::cout << std::flush;
  }
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  double one = 0, five = 0;
  in >> one >> five;
  return Fixed(one, 2) + " " + Fixed(five, 2);
}

int Main(int argc, char** argv) {
  CLI::App app{
      "runlog-tune: sweeps each performance option of a run (RunOptions, RunOptions::store) "
      "and prints its effect on the workloads it matters for; '*' marks the default."};
  std::string knobs_arg;
  double scale = 1.0;
  int repetitions = 1;
  std::vector<std::string> crash_child;
  std::string knob_names;
  for (const Knob& k : Knobs()) knob_names += (knob_names.empty() ? "" : ", ") + k.name;
  app.add_option("--knobs", knobs_arg, "comma-separated knobs (default: all): " + knob_names);
  app.add_option("--scale", scale, "size of every workload: 1.0 about 5 minutes, 0.1 a quick look")
      ->check(CLI::Range(0.001, 100.0));
  app.add_option("--repetitions", repetitions, "runs of each measurement (medians printed)")
      ->check(CLI::Range(1, 100));
  app.add_option(kCrashChildFlag, crash_child)->expected(5)->group("");  // the crash child
  CLI11_PARSE(app, argc, argv);

  if (!crash_child.empty()) {
    const Knob* knob = FindKnob(crash_child[1]);
    const size_t setting = std::stoul(crash_child[2]);
    if (knob == nullptr || setting >= knob->settings.size()) {
      std::cerr << "runlog-tune: crash child: no setting " << crash_child[2] << " of knob '"
                << crash_child[1] << "'\n";
      return 2;
    }
    const Pattern pattern =
        crash_child[0] == PatternName(Pattern::kBurst) ? Pattern::kBurst : Pattern::kSteady;
    try {
      CrashChild(MakeTrial(*knob, setting, scale), pattern, crash_child[3],
                 std::stoi(crash_child[4]));
    } catch (const std::exception& e) {
      std::cerr << "runlog-tune: crash child (" << knob->name << " = "
                << knob->settings[setting].label << "): " << e.what() << "\n";
      return 1;
    }
  }

  std::vector<const Knob*> selected;
  for (const std::string& name : bench::SplitList(knobs_arg)) {
    const Knob* knob = FindKnob(name);
    if (knob == nullptr) {
      std::cerr << "runlog-tune: no knob named '" << name << "' (knobs: " << knob_names << ")\n";
      return 2;
    }
    selected.push_back(knob);
  }
  if (selected.empty()) {
    for (const Knob& k : Knobs()) selected.push_back(&k);
  }

  std::cout << "runlog-tune: " << ::sysconf(_SC_NPROCESSORS_ONLN) << " CPUs (" << CpuModel()
            << "), load average " << LoadAverage() << ", scale " << scale << ", " << repetitions
            << " repetition(s), medians; '*' marks the default\n";
  const Clock::time_point start = Clock::now();
  for (const Knob* knob : selected) {
    std::cout << "\n== " << knob->name << ": " << knob->trade << "\n";
    for (const Workload* workload : knob->workloads) {
      try {
        SweepTable(*knob, *workload, scale, repetitions);
      } catch (const std::exception& e) {
        std::cout << std::flush;
        std::cerr << "runlog-tune: failed: knob " << e.what() << "\n";
        return 1;
      }
    }
  }
  std::cout << "\n(" << Fixed(Seconds(Clock::now() - start), 0) << " s in all)\n";
  return 0;
}

}  // namespace
}  // namespace runlog::bench

int main(int argc, char** argv) {
  return runlog::bench::Main(argc, argv);
}
