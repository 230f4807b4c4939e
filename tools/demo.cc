// runlog-demo: a small simulated training run logged into a local repository, then read
// back. Usage: runlog-demo [REPO] (default ./demo-repo).
//
// It writes the run's operations (create, parameters, tags, a loss curve per step, an
// accuracy curve per epoch, text notes, the final state) through the WAL's public format
// API, then reads the log back, verifies every record and prints what it found.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <string>

#include "format/record_json.h"
#include "format/records.h"
#include "format/wal_reader.h"
#include "format/wal_writer.h"

using namespace runlog;
using namespace runlog::wal;

namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A time-ordered 128-bit run id: creation time in the high bits, randomness below.
RunId NewRunId() {
  RunId id;
  uint64_t hi = static_cast<uint64_t>(NowMicros());
  uint64_t lo = std::random_device{}() * 0x9e3779b97f4a7c15ull ^ std::random_device{}();
  for (int i = 0; i < 8; ++i) {
    id[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    id[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  return id;
}

int Die(const Status& s) {
  std::fprintf(stderr, "runlog-demo: %s\n", s.ToString().c_str());
  return 1;
}

#define DEMO_CHECK(expr)                           \
  do {                                             \
    auto demo_r = (expr);                          \
    if (!demo_r.ok()) return Die(demo_r.status()); \
  } while (0)

}  // namespace

int main(int argc, char** argv) {
  const std::string repo = argc > 1 ? argv[1] : "./demo-repo";
  const RunId run_id = NewRunId();
  const std::string wal_dir = repo + "/runs/" + RunIdHex(run_id) + "/wal";
  constexpr int kEpochs = 5, kStepsPerEpoch = 2000;

  WriterOptions options;
  options.run_id = run_id;
  auto writer = Writer::Open(wal_dir, options);
  if (!writer.ok()) return Die(writer.status());
  Writer& w = **writer;
  RecordBuilder rb;
  auto type = [](RecordType t) { return static_cast<uint16_t>(t); };

  auto start = std::chrono::steady_clock::now();
  {
    auto& b = rb.builder();
    Uuid uuid(0, 0);
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    DEMO_CHECK(w.Append(type(RecordType::CreateRun),
                        rb.Finish(CreateCreateRunDirect(b, &uuid, "DEMO-1", "demo", NowMicros(),
                                                        host, static_cast<uint32_t>(getpid())))));
  }
  DEMO_CHECK(
      w.Append(type(RecordType::AssignFloat), rb.AssignFloat("params/learning_rate", 0.005)));
  DEMO_CHECK(w.Append(type(RecordType::AssignInt), rb.AssignInt("params/batch_size", 64)));
  DEMO_CHECK(
      w.Append(type(RecordType::AssignString), rb.AssignString("params/activation", "ReLU")));
  {
    auto& b = rb.builder();
    std::vector<std::string> tags = {"demo", "baseline"};
    auto v = b.CreateVectorOfStrings(tags);
    DEMO_CHECK(w.Append(type(RecordType::AddStrings),
                        rb.Finish(CreateAddStrings(b, b.CreateString("sys/tags"), v))));
  }
  std::mt19937 rng(42);
  std::normal_distribution<double> noise(0, 0.02);
  int step = 0;
  for (int epoch = 1; epoch <= kEpochs; ++epoch) {
    for (int i = 0; i < kStepsPerEpoch; ++i) {
      ++step;
      FloatPoint p(step, NowMicros(), 2.5 * std::exp(-step / 3000.0) + noise(rng));
      DEMO_CHECK(w.Append(type(RecordType::AppendFloats),
                          rb.AppendFloats("train/loss", std::span(&p, 1))));
    }
    FloatPoint acc(epoch, NowMicros(), 1.0 - 0.5 * std::exp(-epoch / 2.0));
    DEMO_CHECK(w.Append(type(RecordType::AppendFloats),
                        rb.AppendFloats("eval/accuracy", std::span(&acc, 1))));
    auto& b = rb.builder();
    std::vector<flatbuffers::Offset<StringPoint>> note = {CreateStringPointDirect(
        b, epoch, NowMicros(), ("epoch " + std::to_string(epoch) + " done").c_str())};
    DEMO_CHECK(w.Append(type(RecordType::AppendStrings),
                        rb.Finish(CreateAppendStringsDirect(b, "monitoring/notes", &note))));
  }
  DEMO_CHECK(w.Append(type(RecordType::SetRunState),
                      rb.Finish(CreateSetRunState(rb.builder(), RunState::Inactive, NowMicros()))));
  const Lsn last = w.last_lsn();
  if (Status s = w.Close(); !s.ok()) return Die(s);
  double write_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

  // Read it back: every record checksummed and verified.
  start = std::chrono::steady_clock::now();
  auto reader = Reader::Open(wal_dir, {});
  if (!reader.ok()) return Die(reader.status());
  std::map<std::string, int> by_type;
  double final_loss = 0, final_accuracy = 0;
  Record rec;
  for (;;) {
    auto more = (*reader)->Next(&rec);
    if (!more.ok()) return Die(more.status());
    if (!*more) break;
    by_type[RecordTypeName(rec.type)]++;
    if (rec.type == type(RecordType::AppendFloats)) {
      auto* op = PayloadAs<AppendFloats>(rec.payload);
      double v = op->points()->Get(op->points()->size() - 1)->value();
      (op->path()->str() == "train/loss" ? final_loss : final_accuracy) = v;
    }
  }
  double read_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

  std::printf("runlog demo: simulated training run %s\n", RunIdHex(run_id).c_str());
  std::printf("  logged %llu records (%d epochs x %d steps) in %.1f ms, creating and syncing the log included: %.2f M records/s\n",
              static_cast<unsigned long long>(last), kEpochs, kStepsPerEpoch, write_ms,
              static_cast<double>(last) / write_ms / 1000.0);
  std::printf("  read back and verified in %.1f ms\n", read_ms);
  for (const auto& [name, count] : by_type) std::printf("    %-14s %6d\n", name.c_str(), count);
  std::printf("  final train/loss %.4f, eval/accuracy %.4f\n", final_loss, final_accuracy);
  std::printf("  the log: %s\n", wal_dir.c_str());
  std::printf("  look inside:  build/runlog wal dump %s | tail -3\n", wal_dir.c_str());
  std::printf("  check it:     build/runlog wal verify %s\n", wal_dir.c_str());
  return 0;
}
