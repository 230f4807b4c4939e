// The stress child (driver.cc explains the whole): `runlog-stress child ...`, executed by the
// driver. It logs a seeded random mix of calls into the run kCrashRunId and reports each
// call, before and after, to the driver through a pipe, with the file events its probes see
// (power_loss.h), until the driver kills it.
#include <limits.h>
#include <rocksdb/env.h>
#include <unistd.h>

#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/store.h"
#include "runlog/runlog.h"
#include "tools/stress/ops.h"
#include "tools/stress/oracle.h"
#include "tools/stress/power_loss.h"
#include "tools/stress/stress.h"

namespace runlog::stress {
namespace {

double FromBits(uint64_t b) {
  return std::bit_cast<double>(b);
}

bool IsAtom(FieldType t) {
  return t >= FieldType::kFloat && t <= FieldType::kDatetime;
}

constexpr const char* kNamespaces[] = {"p", "q", "r"};
constexpr const char* kNames[] = {"a", "b", "c", "d", "e", "łoss"};
constexpr const char* kMembers[] = {"a", "b", "c", "gpu", "żółw", ""};
constexpr FieldType kCreatable[] = {
    FieldType::kFloat,        FieldType::kInt,         FieldType::kBool,
    FieldType::kString,       FieldType::kDatetime,    FieldType::kFloatSeries,
    FieldType::kFloatSeries,  FieldType::kFloatSeries, FieldType::kStringSeries,
    FieldType::kStringSeries, FieldType::kStringSet,   FieldType::kStringSet};

// Mostly calls that fit the field at their path (as the thread's model knows it), some
// meant to be rejected, deletes and clears often, bursts of large extends now and then.
// Thread t writes under w<t>/ only; thread 0 also writes sys/tags and sys/name.
class Workload {
 public:
  Workload(uint64_t seed, int thread)
      : rng_(seed), root_("w" + std::to_string(thread)), sys_(thread == 0) {}

  Op Next(const Oracle& model) {
    if (burst_ > 0) {
      --burst_;
      std::string p = Leaf();
      const OField* f = model.Find(p);
      if (f == nullptr || f->type == FieldType::kFloatSeries) {
        return Series(OpKind::kExtend, model, p, 110, /*default_steps=*/true);
      }
    }
    const size_t r = Pick(1000);
    if (r < 12) burst_ = 8 + static_cast<int>(Pick(33));
    if (r < 50) return Make(OpKind::kDelete, Chance(75) ? Leaf() : Namespace());
    if (r < 80) return Make(OpKind::kClear, Leaf());
    if (r < 190) return Invalid(model);
    if (sys_ && r < 225) return Sys();
    if (r < 250) return Write(model, Odd());
    return Write(model, Leaf());
  }

 private:
  size_t Pick(size_t n) { return rng_() % n; }
  bool Chance(size_t percent) { return Pick(100) < percent; }
  static Op Make(OpKind kind, std::string path) {
    Op op;
    op.kind = kind;
    op.path = std::move(path);
    return op;
  }
  std::string Leaf() {
    return root_ + "/" + kNamespaces[Pick(3)] + "/" + kNames[Pick(std::size(kNames))];
  }
  std::string Namespace() { return Chance(85) ? root_ + "/" + kNamespaces[Pick(3)] : root_; }
  // Paths that conflict with the fields around them: under a field, at a namespace.
  std::string Odd() {
    switch (Pick(3)) {
      case 0: return Leaf() + "/sub";
      case 1: return root_ + "/" + kNamespaces[Pick(3)];
      default: return root_;
    }
  }

  double Value() {
    switch (Pick(40)) {
      case 0: return FromBits(0x7ff8000000000000 | (rng_() & 0x8007ffffffffffff));  // NaN payloads
      case 1: return std::numeric_limits<double>::infinity();
      case 2: return -std::numeric_limits<double>::infinity();
      case 3: return -0.0;
      case 4: return 1e-310;
      case 5: return std::numeric_limits<double>::max();
      case 6: return std::uniform_real_distribution<double>(-1e6, 1e6)(rng_);
      default: return static_cast<double>(Pick(4000)) * 0.25 - 500;
    }
  }
  int64_t Int() {
    constexpr int64_t kEdges[] = {std::numeric_limits<int64_t>::min(),
                                  std::numeric_limits<int64_t>::max(), 0, -1};
    return Chance(10) ? kEdges[Pick(4)] : static_cast<int64_t>(Pick(2000000)) - 1000000;
  }
  std::string Text() {
    switch (Pick(20)) {
      case 0: return "";
      case 1: return "żółw 🐢";
      case 2: return std::string(100 + Pick(100), 'x');
      default: return "v" + std::to_string(Pick(100000));
    }
  }
  int64_t Timestamp() {
    return Chance(5) ? -static_cast<int64_t>(Pick(1000000000))
                     : 1700000000000000 + static_cast<int64_t>(Pick(1000000000000));
  }

  // A series call of `kind` with up to `max_points` points.
  Op Series(OpKind kind, const Oracle& model, const std::string& path, size_t max_points,
            bool default_steps) {
    Op op = Make(kind, path);
    const bool floats = kind == OpKind::kAppend || kind == OpKind::kExtend;
    const size_t n =
        kind == OpKind::kAppend || kind == OpKind::kAppendString ? 1 : 1 + Pick(max_points);
    for (size_t k = 0; k < n; ++k) {
      if (floats) {
        op.values.push_back(Value());
      } else {
        op.strings.push_back(Text());
      }
    }
    if (!default_steps) {
      constexpr double kDeltas[] = {1, 0.5, 3, 1000};
      const OField* f = model.Find(path);
      double step =
          f != nullptr && f->last_step ? *f->last_step : static_cast<double>(Pick(20)) - 10;
      for (size_t k = 0; k < n; ++k) op.steps.push_back(step += kDeltas[Pick(4)]);
    }
    if (Chance(50)) {
      for (size_t k = 0; k < n; ++k) op.timestamps.push_back(Timestamp());
    }
    return op;
  }

  // A call meant to succeed: of the field's type, or of any type at a free path.
  Op Write(const Oracle& model, const std::string& path) {
    const OField* f = model.Find(path);
    const FieldType t = f != nullptr ? f->type : kCreatable[Pick(std::size(kCreatable))];
    Op op = Make(OpKind::kAssignInt, path);
    switch (t) {
      case FieldType::kFloat:
        if (Chance(30)) {
          op.i = Int();  // widens
        } else {
          op.kind = OpKind::kAssignFloat;
          op.f = Value();
        }
        return op;
      case FieldType::kInt: op.i = Int(); return op;
      case FieldType::kBool:
        op.kind = OpKind::kAssignBool;
        op.i = static_cast<int64_t>(Pick(2));
        return op;
      case FieldType::kString:
        op.kind = OpKind::kAssignString;
        op.strings = {Text()};
        return op;
      case FieldType::kDatetime:
        op.kind = OpKind::kAssignDatetime;
        op.i = Timestamp();
        return op;
      case FieldType::kFloatSeries:
        return Series(Chance(50) ? OpKind::kAppend : OpKind::kExtend, model, path, 40, Chance(50));
      case FieldType::kStringSeries:
        return Series(Chance(50) ? OpKind::kAppendString : OpKind::kExtendStrings, model, path, 8,
                      Chance(50));
      default:
        op.kind = Chance(65) ? OpKind::kAddStrings : OpKind::kRemoveStrings;
        for (size_t k = 1 + Pick(4); k > 0; --k)
          op.strings.push_back(kMembers[Pick(std::size(kMembers))]);
        return op;
    }
  }

  // A call the engine must reject (when the model's guess of the state holds).
  Op Invalid(const Oracle& model) {
    const std::string p = Leaf();
    const OField* f = model.Find(p);
    const double next = f != nullptr && f->last_step ? *f->last_step + 1 : 0;
    switch (Pick(9)) {
      case 0:  // another type at a field
        if (f != nullptr) {
          for (int tries = 0; tries < 8; ++tries) {
            Op op = Write(Oracle(), p);
            if (!Compatible(f->type, TypeOf(op.kind))) return op;
          }
        }
        break;
      case 1:  // a step at or before the last one
        if (f != nullptr && f->last_step && IsSeries(f->type)) {
          Op op =
              Series(f->type == FieldType::kFloatSeries ? OpKind::kAppend : OpKind::kAppendString,
                     model, p, 1, true);
          op.steps = {*f->last_step - static_cast<double>(Pick(2))};
          return op;
        }
        break;
      case 2: {  // steps not increasing within one extend
        Op op = Make(OpKind::kExtend, p);
        op.values = {Value(), Value()};
        op.steps = {next, next};
        return op;
      }
      case 3: {  // a step that is no number
        Op op = Make(OpKind::kAppend, p);
        op.values = {Value()};
        op.steps = {Chance(50) ? std::nan("") : std::numeric_limits<double>::infinity()};
        return op;
      }
      case 4: {  // no points, or fewer steps than values
        Op op = Make(Chance(50) ? OpKind::kExtend : OpKind::kExtendStrings, p);
        if (Chance(50)) {
          op.values = {1, 2, 3};
          op.strings = {"x", "y", "z"};
          op.steps = {next, next + 1};
        }
        if (op.kind == OpKind::kExtend) op.strings.clear();
        if (op.kind == OpKind::kExtendStrings) op.values.clear();
        return op;
      }
      case 5: {  // invalid paths
        const std::string bad[] = {root_ + "//x", root_ + "/x\x01y", root_ + "/", ""};
        return Make(Chance(70) ? OpKind::kAssignInt : OpKind::kDelete, bad[Pick(4)]);
      }
      case 6: {  // sys/ belongs to the engine
        Op ops[] = {Make(OpKind::kAssignInt, "sys/custom"), Make(OpKind::kDelete, "sys/state"),
                    Make(OpKind::kAssignInt, "sys/tags"), Make(OpKind::kAssignString, "sys/id")};
        ops[3].strings = {"RL-999"};
        return ops[Pick(4)];
      }
      case 7: return Make(Chance(50) ? OpKind::kDelete : OpKind::kClear, root_ + "/none/x");
      default:  // Float into an Int field; clear of an atom
        if (f != nullptr && f->type == FieldType::kInt) {
          Op op = Make(OpKind::kAssignFloat, p);
          op.f = 0.5;
          return op;
        }
        if (f != nullptr && IsAtom(f->type)) return Make(OpKind::kClear, p);
        break;
    }
    return Make(OpKind::kClear, root_ + "/none");
  }

  Op Sys() {
    switch (Pick(10)) {
      case 0:
      case 1: {
        Op op = Make(OpKind::kMarkFailed, "");
        op.strings = {"diverged"};
        return op;
      }
      case 2: {
        Op op = Make(OpKind::kAssignString, "sys/name");
        op.strings = {Text()};
        return op;
      }
      case 3: return Make(OpKind::kDelete, Chance(50) ? "sys/name" : "sys/tags");
      case 4: return Make(OpKind::kClear, "sys/tags");
      default: {
        Op op = Make(Chance(65) ? OpKind::kAddStrings : OpKind::kRemoveStrings, "sys/tags");
        for (size_t k = 1 + Pick(3); k > 0; --k)
          op.strings.push_back(kMembers[Pick(std::size(kMembers))]);
        return op;
      }
    }
  }

  std::mt19937_64 rng_;
  const std::string root_;
  const bool sys_;
  int burst_ = 0;
};

// One frame per write(), under PIPE_BUF, so that the threads' frames never interleave.
void Send(MsgType type, int thread, const std::string& body) {
  const std::string frame = Frame(type, thread, body);
  if (frame.size() > PIPE_BUF) _exit(6);
  if (::write(kCrashChildPipeFd, frame.data(), frame.size()) !=
      static_cast<ssize_t>(frame.size())) {
    _exit(5);
  }
}

[[noreturn]] void ChildFatal(const std::string& what) {
  Send(MsgType::kFatal, 0, what);
  _exit(3);
}

// Small batches, chunks and segments, frequent flushes: every life commits, seals chunks,
// flushes RocksDB and rolls segments. Some lives run in sync mode; all do under power loss.
RunOptions ChildOptions(std::mt19937_64& rng, bool power_loss) {
  constexpr Mode kModes[] = {Mode::kAsync, Mode::kAsync, Mode::kAsync,
                             Mode::kAsync, Mode::kSync,  Mode::kOffline};
  RunOptions o;
  o.custom_run_id = kCrashRunId;
  o.mode = kModes[rng() % std::size(kModes)];
  o.commit_batch_records = 64 + rng() % 449;
  o.series_chunk_points = 16 + rng() % 49;
  o.flush_interval = std::chrono::milliseconds(20 + rng() % 31);
  o.segment_size = (uint64_t{64} << 10) << (rng() % 3);
  o.sync_interval = std::chrono::milliseconds(10 + rng() % 200);
  if (power_loss) o.mode = Mode::kSync;
  return o;
}

// Each thread's view of its part of the run, so that most of its calls fit.
std::vector<Oracle> ThreadModels(Run& run, int threads) {
  std::vector<Oracle> models(threads);
  auto structure = run.GetStructure();
  if (!structure.ok()) ChildFatal("structure: " + structure.status().ToString());
  for (const FieldInfo& fi : *structure) {
    const int t = ThreadOfPath(fi.path);
    if (t < 0 || t >= threads || (UnderSys(fi.path) && !SysWritable(fi.path))) continue;
    std::optional<double> last;
    if (IsSeries(fi.type)) {
      auto s = run.FetchLast(fi.path);
      if (!s.ok()) ChildFatal("fetch last: " + s.status().ToString());
      if (s->count > 0) last = s->last_step;
    }
    models[t].Restore(fi.path, fi.type, last);
  }
  return models;
}

// Thread t's `ops` calls, each reported before and after.
void Work(Run& run, Oracle& model, int t, uint64_t thread_seed, int ops) {
  Workload workload(thread_seed, t);
  for (int n = 0; n < ops; ++n) {
    const Op op = workload.Next(model);
    Send(MsgType::kIntent, t, EncodeIntent({op, NowMicros()}));
    Result<uint64_t> r = Execute(run, op);
    Send(
        MsgType::kResult, t,
        EncodeResult({r.status().code(), r.ok() ? *r : 0, NowMicros(), run.stats().committed_lsn}));
    if (r.ok()) model.Apply(op, 0, 0);
    // Now and then wait for the commit: the kill may land in the wait, or just after it.
    if (n % 211 == 210 && !run.Wait().ok()) ChildFatal("wait");
  }
}

// Logs `ops` calls per thread, then waits to be killed. Never returns.
[[noreturn]] void ChildMain(const ChildConfig& c) {
  std::mt19937_64 rng(c.seed);
  const EventSink sink = [](const char* event) { Send(MsgType::kEvent, 0, event); };
  std::unique_ptr<SyncJournal> journal;
  if (!c.journal.empty()) {
    journal = SyncJournal::Open(c.journal);
    if (journal == nullptr) ChildFatal("open the journal " + c.journal);
  }
  ProbeFileSystem fs(sink, journal.get());
  auto env = rocksdb::NewCompositeEnv(std::make_shared<ProbeRocksFs>(sink, journal.get()));
  engine::SetStoreEnvForTesting(env.get());
  auto repo = Repository::Open(c.repo, {.file_system = &fs});
  if (!repo.ok()) ChildFatal("open the repository: " + repo.status().ToString());
  Send(MsgType::kOpening, 0, "");
  auto started = (*repo)->StartRun(ChildOptions(rng, journal != nullptr));
  if (!started.ok()) ChildFatal("start the run: " + started.status().ToString());
  Run& run = **started;
  std::vector<Oracle> models = ThreadModels(run, c.threads);
  Send(MsgType::kReady, 0, "");
  std::vector<std::thread> pool;
  for (int t = 1; t < c.threads; ++t) {
    pool.emplace_back(Work, std::ref(run), std::ref(models[t]), t, rng(), c.ops_per_thread);
  }
  Work(run, models[0], 0, rng(), c.ops_per_thread);
  for (auto& th : pool) th.join();
  for (;;) pause();
}

}  // namespace

void RunChild(const ChildConfig& config) {
  ChildMain(config);
}

}  // namespace runlog::stress
