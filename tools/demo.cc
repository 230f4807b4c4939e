// runlog-demo: a small simulated training run logged into a local repository, then read
// back. Usage: runlog-demo [REPO] (default ./demo-repo).
//
// It creates the run in the repository (which gives it a uuid, a sys/id and a log that
// starts with CreateRun), writes its operations (parameters, tags, a loss curve per step,
// an accuracy curve per epoch, text notes, the final state) through the WAL's public
// format API, then reads the log back, verifies every record and prints what it found.

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <string>

#include "engine/repository.h"
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
  const std::string repo_path = argc > 1 ? argv[1] : "./demo-repo";
  constexpr int kEpochs = 5, kStepsPerEpoch = 2000;

  auto repo = engine::Repository::Open(repo_path);
  if (!repo.ok()) return Die(repo.status());
  auto run = (*repo)->CreateRun();
  if (!run.ok()) return Die(run.status());
  const std::string wal_dir = run->dir + "/wal";

  WriterOptions options;
  options.run_id = run->uuid;
  auto writer = Writer::Open(wal_dir, options);
  if (!writer.ok()) return Die(writer.status());
  Writer& w = **writer;
  RecordBuilder rb;
  auto type = [](RecordType t) { return static_cast<uint16_t>(t); };

  auto start = std::chrono::steady_clock::now();
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

  std::printf("runlog demo: simulated training run %s (%s) in %s\n", run->sys_id.c_str(),
              run->uuid_hex.c_str(), repo_path.c_str());
  std::printf(
      "  logged %llu records (%d epochs x %d steps) in %.1f ms, closing and syncing the log "
      "included: %.2f M records/s\n",
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
