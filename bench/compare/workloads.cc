// The workloads of runlog-compare. Sizes at scale 1.0 (the issue's), each multiplied by
// --scale (with a floor that keeps every figure meaningful):
//   W1/log_point        5 M one-point LogFloat calls, 10 series round-robin, then Flush.
//   W2/log_extend       20 M points in LogFloats calls of 1,000 points into one series.
//   W3/training_loop    10,000 steps of a training script with 1,000 fields: 690 params
//                       (float, int, string) and a 10-member tag set written first; each
//                       step one point to each of 300 metric series; every 100th step a
//                       text point to each of 9 string series. Items: every value written.
//   W4/commit           runlog only: 2 M one-point records over 10 series logged with the
//                       committer starved, then only the commit (Flush) is timed. The
//                       peers have no separate commit: their write is their commit.
//   W5/read_series      all points of a 1 M-point series (median of 5 reads).
//   W5/read_range       a 1,000-point step range in the middle of it (median of up to 200).
//   W6/read_last        the last point of one of 100 series of 1,000 points, round-robin;
//                       items are calls.
//   W7/runs_table       10,000 runs of 50 float params each; timed: open every run and read
//                       one param (the runs table does not exist yet). Items are runs.
//   W8/durable_log/T    T = 1, 4, 16 threads each logging one-point calls to its own series,
//                       every call on disk (fsync) before it returns: group commit at work.
//                       16,000 points in all, or what 5 s allow.
//   W9/recover          a writer process logs 1,000-point calls until the system's files
//                       hold 1 GiB and is killed (SIGKILL; runlog's committer starved, so the
//                       log is uncommitted, up to max_backlog_bytes); timed: System::Open +
//                       ReadLast. Items: points recovered; acknowledged points the reopen
//                       does not find are reported as lost_points (a disk queue's
//                       in-process write buffer dies with the process).
// Write workloads time everything up to their Flush() (for runlog: committed); the store
// is then closed and the bytes of every file under the workload's directory divided by
// the points.
#include "bench/compare/workloads.h"

#include <benchmark/benchmark.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "bench/compare/store.h"
#include "runlog/runlog.h"

namespace runlog::compare {
namespace {

using bench::Clock;
using bench::Seconds;

constexpr int64_t kBaseTimestampUs = 1'764'408'846'000'000;
constexpr size_t kCurvePoints = bench::kTrainingCurvePoints;
constexpr char kRun[] = "run-1";

std::unique_ptr<System> MakeSystem(const std::string& name) {
  if (name == "runlog") return MakeRunlogSystem();
  if (name == "jsonl_queue") return MakeJsonlQueueSystem();
  if (name == "sqlite_ops") return MakeSqliteOpsSystem();
  if (name == "sqlite_rows") return MakeSqliteRowsSystem();
  if (name == "tfrecord") return MakeTfrecordSystem();
  if (name == "rocksdb_per_point") return MakeRocksdbPerPointSystem();
  throw std::invalid_argument("no system named " + name);
}

Point PointAt(int64_t step) {
  return {.step = step,
          .value = bench::TrainingCurve()[static_cast<size_t>(step) & (kCurvePoints - 1)],
          .timestamp_us = kBaseTimestampUs + step * 10'000};
}

// Points [first, first + n) of one series.
void FillPoints(int64_t first, size_t n, std::vector<Point>* out) {
  out->resize(n);
  for (size_t i = 0; i < n; ++i) (*out)[i] = PointAt(first + static_cast<int64_t>(i));
}

std::vector<std::string> Paths(const std::string& prefix, int count) {
  std::vector<std::string> paths;
  for (int i = 0; i < count; ++i) paths.push_back(prefix + std::to_string(i));
  return paths;
}

int64_t Scaled(double scale, int64_t full, int64_t floor) {
  return std::max(floor, static_cast<int64_t>(std::llround(static_cast<double>(full) * scale)));
}

// One benchmark's outcome: the timed seconds and the items they handled, and the files'
// bytes per point when the workload writes.
struct Measured {
  double seconds = 0;
  double items = 0;
  double bytes_per_point = 0;
  double lost_points = 0;  // W9: acknowledged before the kill, missing after the reopen
  double committed_bytes_per_point = 0;  // writes: without the system's log (IsLogFile)
};

void Report(benchmark::State& state, const Measured& m) {
  state.SetIterationTime(std::max(m.seconds, 1e-9));
  state.SetItemsProcessed(static_cast<int64_t>(m.items));
  state.counters["bytes_per_point"] = m.bytes_per_point;
  state.counters["points"] = m.items;
  state.counters["lost_points"] = m.lost_points;
  state.counters["committed_bytes_per_point"] = m.committed_bytes_per_point;
}

using Body = std::function<Measured(System&, const std::string& dir)>;

// Registers `workload/system` running `body` once in a fresh directory.
void Register(const std::string& workload, const std::string& system, Body body) {
  benchmark::RegisterBenchmark((workload + "/" + system).c_str(),
                               [system, body](benchmark::State& state) {
                                 try {
                                   for (auto _ : state) {
                                     bench::QuiesceDisk();
                                     std::unique_ptr<System> sys = MakeSystem(system);
                                     bench::TempDir dir("compare");
                                     Report(state, body(*sys, dir.path()));
                                   }
                                 } catch (const std::exception& e) {
                                   state.SkipWithError(e.what());
                                 }
                               })
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

// Closes the store and divides the directory's bytes by the points written: all files in
// m->bytes_per_point, the committed form without the system's log in
// m->committed_bytes_per_point.
void CloseAndMeasure(const System& sys, std::unique_ptr<Store>& store, const std::string& dir,
                     Measured* m) {
  store.reset();
  if (m->items <= 0) return;
  m->bytes_per_point = static_cast<double>(bench::DiskBytes(dir)) / m->items;
  m->committed_bytes_per_point =
      static_cast<double>(
          bench::DiskBytesIf(dir, [&](const std::string& path) { return !sys.IsLogFile(path); })) /
      m->items;
}

// ---- writes -----------------------------------------------------------------------------

Measured LogPoint(System& sys, const std::string& dir, int64_t points) {
  const std::vector<std::string> paths = Paths("metrics/m", 10);
  std::unique_ptr<Store> store = sys.Create(dir, kRun, {});
  bench::TrainingCurve();
  const Clock::time_point start = Clock::now();
  for (int64_t i = 0; i < points; ++i) {
    store->LogFloat(paths[static_cast<size_t>(i % 10)], PointAt(i / 10));
  }
  store->Flush();
  Measured m{.seconds = Seconds(Clock::now() - start), .items = static_cast<double>(points)};
  CloseAndMeasure(sys, store, dir, &m);
  return m;
}

// `calls` LogFloats calls of `per_call` points into one series; untimed when `timed` is off.
void LogBulk(Store& store, const std::string& path, int64_t calls, size_t per_call) {
  std::vector<Point> batch;
  for (int64_t c = 0; c < calls; ++c) {
    FillPoints(c * static_cast<int64_t>(per_call), per_call, &batch);
    store.LogFloats(path, batch);
  }
}

Measured LogExtend(System& sys, const std::string& dir, int64_t points) {
  constexpr size_t kPerCall = 1000;
  const int64_t calls = points / static_cast<int64_t>(kPerCall);
  std::unique_ptr<Store> store = sys.Create(dir, kRun, {});
  // The points are built outside the timed region, as a client hands over its arrays.
  std::vector<std::vector<Point>> batches(static_cast<size_t>(std::min<int64_t>(calls, 64)));
  for (size_t b = 0; b < batches.size(); ++b) {
    FillPoints(static_cast<int64_t>(b * kPerCall), kPerCall, &batches[b]);
  }
  const Clock::time_point start = Clock::now();
  for (int64_t c = 0; c < calls; ++c) {
    std::vector<Point>& batch = batches[static_cast<size_t>(c) % batches.size()];
    const int64_t shift = c * static_cast<int64_t>(kPerCall) - batch.front().step;
    for (Point& p : batch) p.step += shift;  // steps keep increasing across reused arrays
    store->LogFloats("train/loss", batch);
  }
  store->Flush();
  Measured m{.seconds = Seconds(Clock::now() - start),
             .items = static_cast<double>(calls * static_cast<int64_t>(kPerCall))};
  CloseAndMeasure(sys, store, dir, &m);
  return m;
}

Measured TrainingLoop(System& sys, const std::string& dir, int64_t steps) {
  const std::vector<std::string> metrics = Paths("metrics/series_", 300);
  const std::vector<std::string> texts = Paths("text/sample_", 9);
  const std::vector<std::string> tags = Paths("tag-", 10);
  std::unique_ptr<Store> store = sys.Create(dir, kRun, {});
  bench::TrainingCurve();
  const Clock::time_point start = Clock::now();
  double items = 0;
  for (int i = 0; i < 230; ++i) {
    store->AssignFloat("params/float_" + std::to_string(i), 0.001 * i);
    store->AssignInt("params/int_" + std::to_string(i), i);
    store->AssignString("params/str_" + std::to_string(i), "value-" + std::to_string(i));
    items += 3;
  }
  store->AddStrings("sys/tags", tags);
  items += static_cast<double>(tags.size());
  for (int64_t step = 0; step < steps; ++step) {
    for (size_t s = 0; s < metrics.size(); ++s) {
      Point p = PointAt(step * 300 + static_cast<int64_t>(s));
      p.step = step;
      store->LogFloat(metrics[s], p);
    }
    items += static_cast<double>(metrics.size());
    if (step % 100 == 0) {
      for (const std::string& t : texts) {
        store->LogString(t, step, "sample text of step " + std::to_string(step),
                         PointAt(step).timestamp_us);
      }
      items += static_cast<double>(texts.size());
    }
  }
  store->Flush();
  Measured m{.seconds = Seconds(Clock::now() - start), .items = items};
  CloseAndMeasure(sys, store, dir, &m);
  return m;
}

// runlog only: the committer alone. The backlog is logged with the run's committer starved
// (bench::StarveOtherThreads), so only Wait() does the commit.
Measured Commit(const std::string& dir, int64_t points) {
  auto repo = Repository::Open(dir);
  if (!repo.ok()) throw Error(repo.status());
  RunOptions options;
  options.max_backlog_bytes = 1ull << 40;
  auto run = (*repo)->StartRun(options);
  if (!run.ok()) throw Error(run.status());
  const std::vector<std::string> paths = Paths("metrics/m", 10);
  bench::TrainingCurve();
  {
    bench::StarveOtherThreads starve;
    for (int64_t i = 0; i < points; ++i) {
      const Point p = PointAt(i / 10);
      Result<uint64_t> lsn =
          (*run)->Append(paths[static_cast<size_t>(i % 10)], p.value,
                         {.step = static_cast<double>(p.step), .timestamp_us = p.timestamp_us});
      if (!lsn.ok()) throw Error(lsn.status());
    }
  }
  const RunStats at_wait = (*run)->stats();
  const Clock::time_point start = Clock::now();
  if (Status s = (*run)->Wait(); !s.ok()) throw Error(s);
  Measured m{.seconds = Seconds(Clock::now() - start)};
  // Only what was still uncommitted when the clock started counts.
  const double committed = static_cast<double>(at_wait.committed_lsn) /
                           static_cast<double>(std::max<uint64_t>(1, at_wait.logged_lsn));
  m.items = static_cast<double>(points) * (1 - committed);
  if (Status s = (*run)->Stop(); !s.ok()) throw Error(s);
  m.bytes_per_point = static_cast<double>(bench::DiskBytes(dir)) / static_cast<double>(points);
  return m;
}

// Synced one-point calls from `threads` threads, each to its own series, until `points`
// are logged in all or 5 s have passed.
Measured DurableLog(System& sys, const std::string& dir, int threads, int64_t points) {
  std::unique_ptr<Store> store =
      sys.Create(dir, kRun, {.durability = Durability::kSynced, .writer_threads = threads});
  const int64_t per_thread = std::max<int64_t>(1, points / threads);
  std::atomic<int64_t> logged{0};
  std::atomic<bool> failed{false};
  std::string error;
  std::mutex error_mu;
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + std::chrono::seconds(5);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      const std::string path = "metrics/thread_" + std::to_string(t);
      try {
        for (int64_t i = 0; i < per_thread && !failed.load(); ++i) {
          store->LogFloat(path, PointAt(i));
          logged.fetch_add(1, std::memory_order_relaxed);
          if ((i & 15) == 15 && Clock::now() >= deadline) break;
        }
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(error_mu);
        error = e.what();
        failed = true;
      }
    });
  }
  for (std::thread& w : workers) w.join();
  const double seconds = Seconds(Clock::now() - start);
  if (failed) throw std::runtime_error(error);
  store->Flush();
  Measured m{.seconds = seconds, .items = static_cast<double>(logged.load())};
  CloseAndMeasure(sys, store, dir, &m);
  return m;
}

// ---- reads ------------------------------------------------------------------------------

// Runs `call` (which handles `items` items) until `max_calls` calls or `budget` seconds
// (at least `min_calls`), and reports the median time per call.
Measured MedianOf(const std::function<void()>& call, double items, int min_calls, int max_calls,
                  double budget) {
  std::vector<double> times;
  const Clock::time_point begin = Clock::now();
  while (static_cast<int>(times.size()) < max_calls) {
    const Clock::time_point start = Clock::now();
    call();
    times.push_back(Seconds(Clock::now() - start));
    if (static_cast<int>(times.size()) >= min_calls && Seconds(Clock::now() - begin) > budget) {
      break;
    }
  }
  std::nth_element(times.begin(), times.begin() + static_cast<ptrdiff_t>(times.size() / 2),
                   times.end());
  return {.seconds = times[times.size() / 2], .items = items};
}

Measured ReadSeries(System& sys, const std::string& dir, int64_t points, bool range) {
  {
    std::unique_ptr<Store> w = sys.Create(dir, kRun, {});
    LogBulk(*w, "train/loss", points / 1000, 1000);
    w->Flush();
  }
  std::unique_ptr<Store> r = sys.Open(dir, kRun);
  const int64_t total = points / 1000 * 1000;
  const int64_t from = range ? total / 2 : 0;
  const int64_t to = range ? from + 1000 : total;
  auto read = [&] {
    std::vector<Point> got = r->ReadSeries("train/loss", from, to);
    if (static_cast<int64_t>(got.size()) != to - from || got.front().step != from) {
      throw std::runtime_error("read " + std::to_string(got.size()) + " points of " +
                               std::to_string(to - from));
    }
    benchmark::DoNotOptimize(got.data());
  };
  return range ? MedianOf(read, 1000, 3, 200, 2.0)
               : MedianOf(read, static_cast<double>(total), 1, 5, 5.0);
}

Measured ReadLast(System& sys, const std::string& dir, int64_t series) {
  const std::vector<std::string> paths = Paths("metrics/m", static_cast<int>(series));
  {
    std::unique_ptr<Store> w = sys.Create(dir, kRun, {});
    for (const std::string& p : paths) LogBulk(*w, p, 1, 1000);
    w->Flush();
  }
  std::unique_ptr<Store> r = sys.Open(dir, kRun);
  size_t next = 0;
  auto call = [&] {
    const Point last = r->ReadLast(paths[next++ % paths.size()]);
    if (last.step != 999) throw std::runtime_error("last step " + std::to_string(last.step));
  };
  Measured m = MedianOf(call, 1, 10, 100'000, 2.0);
  return m;
}

Measured RunsTable(System& sys, const std::string& dir, int64_t runs) {
  for (int64_t r = 0; r < runs; ++r) {
    std::unique_ptr<Store> w = sys.Create(dir, "run-" + std::to_string(r), {});
    for (int f = 0; f < 50; ++f) w->AssignFloat("params/p" + std::to_string(f), r + f * 0.5);
    w->Flush();
  }
  bench::QuiesceDisk();
  const Clock::time_point start = Clock::now();
  for (int64_t r = 0; r < runs; ++r) {
    std::unique_ptr<Store> reader = sys.Open(dir, "run-" + std::to_string(r));
    if (reader->ReadFloat("params/p7") != static_cast<double>(r) + 3.5) {
      throw std::runtime_error("run-" + std::to_string(r) + ": wrong params/p7");
    }
  }
  return {.seconds = Seconds(Clock::now() - start),
          .items = static_cast<double>(runs),
          .bytes_per_point =
              static_cast<double>(bench::DiskBytes(dir)) / static_cast<double>(runs * 50)};
}

// ---- W9: recovery after a kill ----------------------------------------------------------

struct WriterReport {
  int64_t points = 0;
};

Measured Recover(System& sys, const std::string& dir, uint64_t bytes) {
  const bench::ChildProcess writer =
      bench::RunSelf({"--w9-writer", sys.name(), dir, std::to_string(bytes), "{fd}"});
  WriterReport report;
  if (writer.report.size() != sizeof report || !writer.killed_by(SIGKILL)) {
    throw std::runtime_error("the W9 writer process failed (wait status " +
                             std::to_string(writer.wait_status) + ")");
  }
  std::memcpy(&report, writer.report.data(), sizeof report);
  const double on_disk = static_cast<double>(bench::DiskBytes(dir));
  bench::QuiesceDisk();  // the files on disk and clean in the page cache, as after a crash
  const Clock::time_point start = Clock::now();
  std::unique_ptr<Store> r = sys.Open(dir, kRun);
  const Point last = r->ReadLast("train/loss");
  const double seconds = Seconds(Clock::now() - start);
  // A system that buffers acknowledged writes in the process (a disk queue's write buffer)
  // loses them with the process: reported, not hidden. Anything past the acknowledged end
  // would be a bug in the baseline.
  if (last.step >= report.points) {
    throw std::runtime_error("recovered step " + std::to_string(last.step) + " but only " +
                             std::to_string(report.points) + " points were logged");
  }
  const int64_t recovered = last.step + 1;
  return {.seconds = seconds,
          .items = static_cast<double>(recovered),
          .bytes_per_point = on_disk / static_cast<double>(report.points),
          .lost_points = static_cast<double>(report.points - recovered)};
}

}  // namespace

int RecoverWriterMain(const std::string& system, const std::string& dir, uint64_t bytes, int fd) {
  try {
    std::unique_ptr<System> sys = MakeSystem(system);
    std::unique_ptr<Store> store = sys->Create(dir, kRun, {});
    // runlog's committer must not commit the log behind the writer's back: starved, the
    // whole log is what the reopen commits. The peers' own background work (RocksDB's
    // flushes) runs whenever the writer waits, as it would.
    std::unique_ptr<bench::StarveOtherThreads> starve;
    if (system == "runlog") starve = std::make_unique<bench::StarveOtherThreads>();
    std::vector<Point> batch;
    WriterReport report;
    for (int64_t call = 0;; ++call) {
      FillPoints(report.points, 1000, &batch);
      store->LogFloats("train/loss", batch);
      report.points += 1000;
      if (call % 64 == 63 && bench::DiskBytes(dir) >= bytes) break;
    }
    if (::write(fd, &report, sizeof report) != static_cast<ssize_t>(sizeof report)) return 3;
    ::kill(::getpid(), SIGKILL);
    return 4;  // not reached
  } catch (const std::exception& e) {
    std::fprintf(stderr, "runlog-compare W9 writer (%s): %s\n", system.c_str(), e.what());
    return 2;
  }
}

std::string SystemSettings(const std::string& system) {
  return MakeSystem(system)->settings();
}

const std::vector<Workload>& Workloads() {
  static const auto* w = new std::vector<Workload>{
      {"W1/log_point", "one point per call, 10 series round-robin, 5 M points"},
      {"W2/log_extend", "1,000 points per call into one series, 20 M points"},
      {"W3/training_loop", "1,000 fields (params, 300 metric series, text, tags) x 10,000 steps"},
      {"W4/commit", "runlog only: commit of 2 M one-point records over 10 series"},
      {"W5/read_series", "all points of a 1 M-point series"},
      {"W5/read_range", "a 1,000-point step range of the 1 M-point series"},
      {"W6/read_last", "last point of one of 100 series, per call"},
      {"W7/runs_table", "open each of 10,000 runs and read one of its 50 params, per run"},
      {"W8/durable_log/1", "fsync before ack, 1 thread"},
      {"W8/durable_log/4", "fsync before ack, 4 threads"},
      {"W8/durable_log/16", "fsync before ack, 16 threads"},
      {"W9/recover", "reopen after SIGKILL with 1 GiB written (runlog: uncommitted)"},
  };
  return *w;
}

const std::vector<std::string>& SystemNames() {
  static const auto* names = new std::vector<std::string>{
      "runlog", "jsonl_queue", "sqlite_ops", "sqlite_rows", "tfrecord", "rocksdb_per_point"};
  return *names;
}

void RegisterBenchmarks(double scale) {
  const int64_t w1 = Scaled(scale, 5'000'000, 10'000);
  const int64_t w2 = Scaled(scale, 20'000'000, 100'000);
  const int64_t w3 = Scaled(scale, 10'000, 100);
  const int64_t w4 = Scaled(scale, 2'000'000, 10'000);
  const int64_t w5 = Scaled(scale, 1'000'000, 10'000);
  const int64_t w7 = Scaled(scale, 10'000, 20);
  const int64_t w8 = Scaled(scale, 16'000, 160);
  const auto w9 = static_cast<uint64_t>(Scaled(scale, 1 << 30, 8 << 20));
  for (const std::string& system : SystemNames()) {
    Register("W1/log_point", system,
             [w1](System& s, const std::string& d) { return LogPoint(s, d, w1); });
    Register("W2/log_extend", system,
             [w2](System& s, const std::string& d) { return LogExtend(s, d, w2); });
    Register("W3/training_loop", system,
             [w3](System& s, const std::string& d) { return TrainingLoop(s, d, w3); });
    if (system == "runlog") {
      Register("W4/commit", system, [w4](System&, const std::string& d) { return Commit(d, w4); });
    }
    Register("W5/read_series", system,
             [w5](System& s, const std::string& d) { return ReadSeries(s, d, w5, false); });
    Register("W5/read_range", system,
             [w5](System& s, const std::string& d) { return ReadSeries(s, d, w5, true); });
    Register("W6/read_last", system,
             [](System& s, const std::string& d) { return ReadLast(s, d, 100); });
    Register("W7/runs_table", system,
             [w7](System& s, const std::string& d) { return RunsTable(s, d, w7); });
    for (int threads : {1, 4, 16}) {
      Register(
          "W8/durable_log/" + std::to_string(threads), system,
          [w8, threads](System& s, const std::string& d) { return DurableLog(s, d, threads, w8); });
    }
    Register("W9/recover", system,
             [w9](System& s, const std::string& d) { return Recover(s, d, w9); });
  }
}

}  // namespace runlog::compare
