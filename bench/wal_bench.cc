// Benchmarks of the write-ahead log in format/: append throughput (one thread, several
// threads, synced group commit), the bytes a record takes in a segment, and read
// throughput (checksum, FlatBuffers Verifier and decode of every record).
//
// Every benchmark works in its own mkdtemp() directory under /tmp and removes it with
// everything in it when it finishes. Each reports `peak_rss_mb`, getrusage()'s ru_maxrss:
// the peak resident size of the whole process so far, so it never decreases from one
// benchmark to the next. Rates (items/s, points/s) are over wall-clock time.
//
//   build-bench/bench/wal_bench --benchmark_repetitions=3
//                               --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "bench/bench_util.h"
#include "format/log_format.h"
#include "format/records.h"
#include "format/segment.h"
#include "format/wal_reader.h"
#include "format/wal_writer.h"
#include "runlog/status.h"

namespace runlog::wal {
namespace {

using bench::PeakRssBytes;
using bench::QuiesceDisk;
using bench::TempDir;

constexpr char kSeriesPath[] = "train/loss";
constexpr uint64_t kSegmentSize = 64ull << 20;
constexpr uint16_t kAppendFloatsType = static_cast<uint16_t>(RecordType::AppendFloats);
constexpr int64_t kBaseTimestampUs = 1'700'000'000'000'000;
// Records in the log BM_WalRead reads.
constexpr int64_t kReadLogRecords = 2'000'000;

// Setup failures make every figure meaningless: report and stop the whole binary.
void CheckOk(const Status& status, const char* what) {
  if (status.ok()) return;
  std::fprintf(stderr, "wal_bench: %s: %s\n", what, status.ToString().c_str());
  std::abort();
}

template <typename T>
T ValueOrDie(Result<T> result, const char* what) {
  CheckOk(result.status(), what);
  return std::move(result).value();
}

double PeakRssMb() {
  return static_cast<double>(PeakRssBytes()) / (1 << 20);
}

// The WAL directory of a scratch directory; Writer::Open creates it.
std::string WalDir(const TempDir& dir) {
  return dir.path() + "/wal";
}

RunId BenchRunId() {
  RunId id{};
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(i + 1);
  return id;
}

std::unique_ptr<Writer> OpenWriter(const std::string& dir, Durability durability) {
  WriterOptions options;
  options.segment_size = kSegmentSize;
  options.durability = durability;
  options.run_id = BenchRunId();
  return ValueOrDie(Writer::Open(dir, options), "open the WAL writer");
}

// `count` points at consecutive steps. The content does not change the cost of an append
// (no compression; XXH3 and the copies are data-independent), so every record of a
// benchmark carries the same points.
std::vector<FloatPoint> MakePoints(size_t count) {
  std::vector<FloatPoint> points;
  points.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    points.emplace_back(static_cast<double>(i), kBaseTimestampUs + static_cast<int64_t>(i),
                        0.5 + static_cast<double>(i));
  }
  return points;
}

// ---- BM_WalAppend ------------------------------------------------------------------------
// One thread appending AppendFloats records of `points` points to "train/loss" with the
// default durability (kInterval: a background msync at most 1 s after an append). Each
// iteration encodes the record with a reused RecordBuilder and appends it, so the figure
// includes FlatBuffers encoding, the copy into the mapped segment, XXH3, page faults on
// fresh segment pages and the sync and file creation of each segment roll (every 64 MiB).
// Counters: bytes_per_record = header + payload + padding, the segment bytes a record
// consumes; bytes_per_point = bytes_per_record / points.
void BM_WalAppend(benchmark::State& state) {
  const auto points_per_record = static_cast<size_t>(state.range(0));
  QuiesceDisk();
  TempDir tmp;
  const Durability durability = state.range(1) == 0 ? Durability::kNone : Durability::kInterval;
  std::unique_ptr<Writer> writer = OpenWriter(WalDir(tmp), durability);
  RecordBuilder builder;
  const std::vector<FloatPoint> points = MakePoints(points_per_record);
  const size_t record_bytes = AlignedRecordSize(builder.AppendFloats(kSeriesPath, points).size());
  struct rusage before {};
  ::getrusage(RUSAGE_THREAD, &before);

  for (auto _ : state) {
    std::span<const uint8_t> payload = builder.AppendFloats(kSeriesPath, points);
    Result<Lsn> lsn = writer->Append(kAppendFloatsType, payload);
    if (!lsn.ok()) {
      state.SkipWithError(lsn.status().ToString().c_str());
      break;
    }
  }
  struct rusage after {};
  ::getrusage(RUSAGE_THREAD, &after);
  CheckOk(writer->Close(), "close the WAL writer");

  const auto iterations = static_cast<int64_t>(state.iterations());
  // Page faults taken by the appending thread itself: the background prefault's job.
  state.counters["faults_per_mrecord"] =
      static_cast<double>(after.ru_minflt + after.ru_majflt - before.ru_minflt - before.ru_majflt) *
      1e6 / static_cast<double>(iterations);
  state.SetItemsProcessed(iterations);
  state.SetBytesProcessed(iterations * static_cast<int64_t>(record_bytes));
  state.counters["points"] =
      benchmark::Counter(static_cast<double>(iterations) * static_cast<double>(points_per_record),
                         benchmark::Counter::kIsRate);
  state.counters["bytes_per_record"] = static_cast<double>(record_bytes);
  state.counters["bytes_per_point"] =
      static_cast<double>(record_bytes) / static_cast<double>(points_per_record);
  state.counters["peak_rss_mb"] = PeakRssMb();
}
// durability: 1 = kInterval (the default), 0 = kNone (no sync: the page-cache bound).
BENCHMARK(BM_WalAppend)
    ->ArgNames({"points", "durability"})
    ->Args({1, 1})
    ->Args({1000, 1})
    ->Args({1, 0})
    ->UseRealTime();

// ---- shared writer for the multi-threaded benchmarks -------------------------------------
// Thread 0 opens the writer before the benchmark loop and closes it after. Google Benchmark
// holds every thread at a barrier where the loop starts and again where it ends, so the
// other threads only touch the writer between those two points.
struct SharedLog {
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<Writer> writer;
};

SharedLog& Shared() {
  static auto* log = new SharedLog;
  return *log;
}

// Appends single-point records from every thread of `state` to one shared writer.
void AppendFromThreads(benchmark::State& state, Durability durability) {
  SharedLog& log = Shared();
  if (state.thread_index() == 0) {
    QuiesceDisk();
    log.dir = std::make_unique<TempDir>();
    log.writer = OpenWriter(WalDir(*log.dir), durability);
  }
  RecordBuilder builder;  // one per thread
  const std::vector<FloatPoint> points = MakePoints(1);

  for (auto _ : state) {
    std::span<const uint8_t> payload = builder.AppendFloats(kSeriesPath, points);
    Result<Lsn> lsn = log.writer->Append(kAppendFloatsType, payload);
    if (!lsn.ok()) {
      state.SkipWithError(lsn.status().ToString().c_str());
      break;
    }
  }

  // Items are summed over the threads; the other counters come from thread 0 alone.
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    const WriterStats stats = log.writer->stats();
    if (durability == Durability::kSync && stats.syncs > 0) {
      // Group commit at work: how many appends one sync made durable.
      state.counters["records_per_sync"] =
          static_cast<double>(stats.appends) / static_cast<double>(stats.syncs);
    }
    CheckOk(log.writer->Close(), "close the WAL writer");
    log.writer.reset();
    log.dir.reset();
    state.counters["peak_rss_mb"] = PeakRssMb();
  }
}

// ---- BM_WalAppendThreads -----------------------------------------------------------------
// Four threads appending single-point records concurrently to one writer with the default
// durability (kInterval); items/s is the total over the threads. Shows what the writer's
// single mutex costs under contention.
void BM_WalAppendThreads(benchmark::State& state) {
  AppendFromThreads(state, Durability::kInterval);
}
BENCHMARK(BM_WalAppendThreads)->Threads(4)->UseRealTime();

// ---- BM_WalAppendSync --------------------------------------------------------------------
// Single-point appends with Durability::kSync: Append() returns once the record is msync'ed.
// Concurrent appenders share one sync (group commit), so total items/s should grow with the
// thread count while each sync's latency stays the same.
void BM_WalAppendSync(benchmark::State& state) {
  AppendFromThreads(state, Durability::kSync);
}
BENCHMARK(BM_WalAppendSync)->Threads(1)->Threads(4)->Threads(16)->UseRealTime();

// ---- BM_WalRead --------------------------------------------------------------------------
// Reads a log of kReadLogRecords single-point records from the page cache, start to end:
// per record the header checks, XXH3 checksum, FlatBuffers Verifier (verify_payloads) and
// decoding of the AppendFloats payload, summing its values. items/s is records per second.

// The directory of the log BM_WalRead reads: written on first use (outside the timed loop,
// with kNone durability), removed by RemoveReadLog() before the binary exits.
std::unique_ptr<TempDir>& ReadLogDir() {
  static auto* dir = new std::unique_ptr<TempDir>;
  return *dir;
}

std::string PrepareReadLog() {
  std::unique_ptr<TempDir>& dir = ReadLogDir();
  if (dir == nullptr) {
    dir = std::make_unique<TempDir>();
    std::unique_ptr<Writer> writer = OpenWriter(WalDir(*dir), Durability::kNone);
    RecordBuilder builder;
    for (int64_t i = 0; i < kReadLogRecords; ++i) {
      const FloatPoint point(static_cast<double>(i), kBaseTimestampUs + i,
                             1.0 / static_cast<double>(i + 1));
      CheckOk(writer->Append(kAppendFloatsType, builder.AppendFloats(kSeriesPath, {&point, 1}))
                  .status(),
              "append to the read benchmark's log");
    }
    CheckOk(writer->Close(), "close the read benchmark's log");
    QuiesceDisk();
  }
  return WalDir(*dir);
}

void RemoveReadLog() {
  ReadLogDir().reset();
}

void BM_WalRead(benchmark::State& state) {
  const std::string dir = PrepareReadLog();
  ReaderOptions options;
  options.verify_payloads = true;
  int64_t records = 0;

  for (auto _ : state) {
    std::unique_ptr<Reader> reader = ValueOrDie(Reader::Open(dir, options), "open the reader");
    Record record;
    double sum = 0;
    int64_t count = 0;
    for (;;) {
      Result<bool> more = reader->Next(&record);
      if (!more.ok()) {
        state.SkipWithError(more.status().ToString().c_str());
        return;
      }
      if (!*more) break;
      if (record.type != kAppendFloatsType) {
        state.SkipWithError("unexpected record type");
        return;
      }
      const AppendFloats* op = PayloadAs<AppendFloats>(record.payload);
      for (const FloatPoint* point : *op->points()) sum += point->value();
      ++count;
    }
    benchmark::DoNotOptimize(sum);
    if (count != kReadLogRecords) {
      state.SkipWithError("the log holds fewer records than were written");
      return;
    }
    records += count;
  }

  state.SetItemsProcessed(records);
  state.counters["peak_rss_mb"] = PeakRssMb();
}
BENCHMARK(BM_WalRead)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- baselines: what an append costs at least on this machine -------------------------
// BM_WalAppend measured against two floors in the same run:
//   BM_Baseline_EncodeHashCopy   FlatBuffers encode + XXH3 + a copy into a reused buffer in
//                                memory: the user-space work of an append, no file at all.
//   BM_Baseline_PageCacheCopy    memcpy of 96-byte records into fresh, preallocated, shared
//                                mappings of 64 MiB files (no encoding, no checksum, no
//                                sync): the kernel's price of putting new bytes into the
//                                page cache, which is what "acknowledged" means.
void BM_Baseline_EncodeHashCopy(benchmark::State& state) {
  RecordBuilder builder;
  const std::vector<FloatPoint> points = MakePoints(1);
  std::vector<uint8_t> ring(1 << 20);
  size_t offset = 0;
  for (auto _ : state) {
    std::span<const uint8_t> payload = builder.AppendFloats(kSeriesPath, points);
    const size_t need = AlignedRecordSize(payload.size());
    if (offset + need > ring.size()) offset = 0;
    EncodeRecord(ring.data() + offset, 1, kAppendFloatsType, payload);
    offset += need;
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Baseline_EncodeHashCopy)->UseRealTime();

void BM_Baseline_PageCacheCopy(benchmark::State& state) {
  QuiesceDisk();
  TempDir tmp;
  std::filesystem::create_directories(WalDir(tmp));
  FileSystem* fs = FileSystem::Default();
  uint8_t record[96];
  std::memset(record, 0x5a, sizeof record);
  int file_no = 0;
  int fd = -1;
  uint8_t* base = nullptr;
  size_t offset = kSegmentSize;
  auto close_file = [&] {
    if (base != nullptr) fs->Unmap(base, kSegmentSize);
    if (fd >= 0) ::close(fd);
  };
  for (auto _ : state) {
    if (offset + sizeof record > kSegmentSize) {
      close_file();
      const std::string path = WalDir(tmp) + "/" + std::to_string(file_no++);
      fd = ValueOrDie(fs->Open(path, O_RDWR | O_CREAT), "create a file");
      CheckOk(fs->Allocate(fd, path, kSegmentSize), "allocate");
      base = static_cast<uint8_t*>(ValueOrDie(fs->Map(fd, path, kSegmentSize, true), "map"));
      offset = 0;
    }
    std::memcpy(base + offset, record, sizeof record);
    offset += sizeof record;
  }
  close_file();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Baseline_PageCacheCopy)->UseRealTime();

// The disk's sustained write bandwidth, as 96-byte records per second: 4 MiB pwrite()s,
// each followed by fdatasync (what kInterval does every 4 MiB). Appending faster than
// this only lasts until a segment roll, which must finish the old segment on disk.
void BM_Baseline_DiskWrite(benchmark::State& state) {
  QuiesceDisk();
  TempDir tmp;
  std::filesystem::create_directories(WalDir(tmp));
  FileSystem* fs = FileSystem::Default();
  const std::string path = WalDir(tmp) + "/data";
  int fd = ValueOrDie(fs->Open(path, O_RDWR | O_CREAT), "create a file");
  std::vector<uint8_t> chunk(4 << 20, 0x5a);
  uint64_t offset = 0;
  for (auto _ : state) {
    if (offset >= (1ull << 30)) offset = 0;  // bound the file at 1 GiB
    CheckOk(fs->WriteAt(fd, path, offset, chunk), "write");
    CheckOk(fs->SyncData(fd, path), "sync");
    offset += chunk.size();
  }
  ::close(fd);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * chunk.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * chunk.size() / 96));
}
BENCHMARK(BM_Baseline_DiskWrite)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace runlog::wal

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  runlog::wal::RemoveReadLog();
  benchmark::Shutdown();
  return 0;
}
