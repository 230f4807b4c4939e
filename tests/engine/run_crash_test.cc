// kill -9 at random moments while a run logs every kind of operation.
//
// A child process logs a seeded random mix into one run, resumed by its custom id in every
// life: assigns of every atom type (overwrites, Int into Float), float and string series
// (default and explicit steps and timestamps, bursts of large extends), string sets, clears,
// deletes of fields and namespaces (then other types at the same paths), MarkFailed, and
// calls that must be rejected (type mismatches, step regressions, non-finite steps,
// malformed extends, invalid paths, sys/ writes); now and then it waits for the commit.
// Before each call it reports the operation, after it the result (LSN or error code),
// through a pipe. The parent kills it with SIGKILL during its start (log recovery and
// replay), mid-run, after a number of acknowledgements, or right after large extends that
// the committer is still applying.
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
#include <fcntl.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/committer.h"
#include "format/records.h"
#include "format/wal_reader.h"
#include "runlog/runlog.h"
#include "tests/util/temp_dir.h"

namespace runlog {
namespace {

using wal::RecordType;

constexpr char kCustomRunId[] = "crash-sweep";
constexpr char kChildEnv[] = "RUNLOG_CRASH_CHILD";  // "<seed>:<threads>:<ops>:<repository>"
constexpr int kChildPipeFd = 100;                   // the child's end of the pipe

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint64_t Bits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
}

double FromBits(uint64_t b) {
  double d;
  std::memcpy(&d, &b, sizeof d);
  return d;
}

bool IsAtom(FieldType t) {
  return t >= FieldType::kFloat && t <= FieldType::kDatetime;
}
bool IsSeries(FieldType t) {
  return t == FieldType::kFloatSeries || t == FieldType::kStringSeries;
}
bool UnderSys(std::string_view p) {
  return p == "sys" || p.starts_with("sys/");
}

// The sys/ fields a user may write, with their type.
std::optional<FieldType> SysWritable(std::string_view p) {
  if (p == "sys/name" || p == "sys/description") return FieldType::kString;
  if (p == "sys/tags") return FieldType::kStringSet;
  return std::nullopt;
}

// ---- operations ----------------------------------------------------------------------

enum class OpKind : uint8_t {
  kAssignFloat,
  kAssignInt,
  kAssignBool,
  kAssignString,
  kAssignDatetime,
  kAppend,
  kExtend,
  kAppendString,
  kExtendStrings,
  kAddStrings,
  kRemoveStrings,
  kClear,
  kDelete,
  kMarkFailed,
};

constexpr const char* kOpNames[] = {"AssignFloat",    "AssignInt",  "AssignBool",    "AssignString",
                                    "AssignDatetime", "Append",     "Extend",        "AppendString",
                                    "ExtendStrings",  "AddStrings", "RemoveStrings", "Clear",
                                    "Delete",         "MarkFailed"};

// One call of the public API with everything it carries.
struct Op {
  OpKind kind = OpKind::kAssignInt;
  std::string path;
  double f = 0;                      // AssignFloat
  int64_t i = 0;                     // AssignInt, AssignDatetime (micros), AssignBool (0/1)
  std::vector<double> values;        // Append (one), Extend
  std::vector<std::string> strings;  // AssignString, AppendString (one), ExtendStrings, sets,
                                     // MarkFailed (the reason)
  std::vector<double> steps;         // series: empty for the default steps
  std::vector<int64_t> timestamps;   // series: empty for "now"
};

RecordType RecordOf(OpKind k) {
  constexpr RecordType kRecords[] = {
      RecordType::AssignFloat,  RecordType::AssignInt,      RecordType::AssignBool,
      RecordType::AssignString, RecordType::AssignDatetime, RecordType::AppendFloats,
      RecordType::AppendFloats, RecordType::AppendStrings,  RecordType::AppendStrings,
      RecordType::AddStrings,   RecordType::RemoveStrings,  RecordType::ClearField,
      RecordType::DeletePath,   RecordType::MarkFailed};
  return kRecords[static_cast<int>(k)];
}

// The type of the field an operation writes (kNone: clear, delete, MarkFailed).
FieldType TypeOf(OpKind k) {
  constexpr FieldType kTypes[] = {
      FieldType::kFloat,       FieldType::kInt,          FieldType::kBool,
      FieldType::kString,      FieldType::kDatetime,     FieldType::kFloatSeries,
      FieldType::kFloatSeries, FieldType::kStringSeries, FieldType::kStringSeries,
      FieldType::kStringSet,   FieldType::kStringSet,    FieldType::kNone,
      FieldType::kNone,        FieldType::kNone};
  return kTypes[static_cast<int>(k)];
}

size_t PointCount(const Op& op) {
  switch (op.kind) {
    case OpKind::kAppend:
    case OpKind::kAppendString: return 1;
    case OpKind::kExtend: return op.values.size();
    default: return op.strings.size();
  }
}

std::string Describe(const Op& op) {
  auto num = [](double d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    return std::string(buf);
  };
  std::string s = std::string(kOpNames[static_cast<int>(op.kind)]) + " \"" + op.path + "\"";
  switch (op.kind) {
    case OpKind::kAssignFloat: return s + " = " + num(op.f);
    case OpKind::kAssignInt:
    case OpKind::kAssignBool:
    case OpKind::kAssignDatetime: return s + " = " + std::to_string(op.i);
    case OpKind::kClear:
    case OpKind::kDelete: return s;
    default: break;
  }
  if (TypeOf(op.kind) == FieldType::kStringSet || op.kind == OpKind::kAssignString) {
    for (const auto& m : op.strings) s += " \"" + m + "\"";
    return s;
  }
  s += " " + std::to_string(PointCount(op)) + " point(s), steps ";
  s += op.steps.empty() ? "default"
                        : "[" + num(op.steps.front()) + " .. " + num(op.steps.back()) + "] (" +
                              std::to_string(op.steps.size()) + ")";
  s += op.timestamps.empty() ? ", now" : ", explicit timestamps";
  if (!op.values.empty()) s += ", first value " + num(op.values.front());
  return s;
}

// ---- the pipe: one frame per write(), under PIPE_BUF, so frames never interleave ------

class Encoder {
 public:
  template <typename T>
  void Put(T v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void Str(std::string_view s) {
    Put<uint16_t>(static_cast<uint16_t>(s.size()));
    out.append(s);
  }
  template <typename T>
  void Vec(const std::vector<T>& v) {
    Put<uint16_t>(static_cast<uint16_t>(v.size()));
    for (T x : v) Put(x);
  }
  std::string out;
};

class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}
  template <typename T>
  T Get() {
    T v{};
    if (in_.size() < sizeof v) {
      ok_ = false;
      return v;
    }
    std::memcpy(&v, in_.data(), sizeof v);
    in_.remove_prefix(sizeof v);
    return v;
  }
  std::string Str() {
    size_t n = Get<uint16_t>();
    if (in_.size() < n) ok_ = false;
    std::string s(in_.substr(0, n));
    in_.remove_prefix(std::min(n, in_.size()));
    return s;
  }
  template <typename T>
  std::vector<T> Vec() {
    std::vector<T> v(Get<uint16_t>());
    for (T& x : v) x = Get<T>();
    return v;
  }
  bool done() const { return ok_ && in_.empty(); }

 private:
  std::string_view in_;
  bool ok_ = true;
};

void EncodeOp(const Op& op, Encoder* e) {
  e->Put(static_cast<uint8_t>(op.kind));
  e->Str(op.path);
  e->Put(op.f);
  e->Put(op.i);
  e->Vec(op.values);
  e->Vec(op.steps);
  e->Vec(op.timestamps);
  e->Put<uint16_t>(static_cast<uint16_t>(op.strings.size()));
  for (const auto& s : op.strings) e->Str(s);
}

Op DecodeOp(Decoder* d) {
  Op op;
  op.kind = static_cast<OpKind>(std::min<uint8_t>(d->Get<uint8_t>(), 13));
  op.path = d->Str();
  op.f = d->Get<double>();
  op.i = d->Get<int64_t>();
  op.values = d->Vec<double>();
  op.steps = d->Vec<double>();
  op.timestamps = d->Vec<int64_t>();
  op.strings.resize(d->Get<uint16_t>());
  for (auto& s : op.strings) s = d->Str();
  return op;
}

enum class MsgType : uint8_t { kOpening = 1, kReady, kIntent, kResult, kFatal };

// Frame: u32 body size, u8 type, u8 thread, body.
void Send(MsgType type, int thread, const std::string& body) {
  Encoder e;
  e.Put<uint32_t>(static_cast<uint32_t>(body.size()));
  e.Put(static_cast<uint8_t>(type));
  e.Put(static_cast<uint8_t>(thread));
  e.out += body;
  if (e.out.size() > PIPE_BUF) _exit(6);
  if (::write(kChildPipeFd, e.out.data(), e.out.size()) != static_cast<ssize_t>(e.out.size())) {
    _exit(5);
  }
}

// ---- the oracle: the data model's rules over plain containers -------------------------

struct Point {
  double step = 0;
  int64_t ts_lo = 0, ts_hi = 0;  // the timestamp, or the call's time span for "now"
  double value = 0;
  std::string text;
};

struct OField {
  FieldType type = FieldType::kNone;
  double f = 0;
  int64_t i = 0;  // Int, Bool, Datetime
  std::string s;
  std::vector<Point> points;  // series: since the last clear
  std::optional<double> last_step;
  std::set<std::string> members;
};

bool ValidPath(std::string_view p) {
  if (p.empty() || p.size() > 1024 || p.front() == '/' || p.back() == '/' ||
      p.find("//") != std::string_view::npos) {
    return false;
  }
  for (unsigned char c : p) {
    if (c < 0x20 || c == 0x7f) return false;  // the workload's paths are valid UTF-8
  }
  return true;
}

bool Compatible(FieldType existing, FieldType attempted) {
  return existing == attempted || (existing == FieldType::kFloat && attempted == FieldType::kInt);
}

class Oracle {
 public:
  // The result the engine must give `op` in this state.
  Code Predict(const Op& op) const {
    switch (op.kind) {
      case OpKind::kAppend:
      case OpKind::kExtend:
      case OpKind::kAppendString:
      case OpKind::kExtendStrings: return CheckSeries(op);
      case OpKind::kClear: {
        if (!ValidPath(op.path)) return Code::kInvalidPath;
        const OField* f = Find(op.path);
        if (f == nullptr) return Code::kNotFound;
        if (!IsSeries(f->type) && f->type != FieldType::kStringSet) return Code::kTypeMismatch;
        if (UnderSys(op.path) && op.path != "sys/tags") return Code::kReadOnly;
        return Code::kOk;
      }
      case OpKind::kDelete:
        if (!ValidPath(op.path)) return Code::kInvalidPath;
        if (UnderSys(op.path) && !SysWritable(op.path)) return Code::kReadOnly;
        if (Find(op.path) == nullptr && !IsNamespace(op.path)) return Code::kNotFound;
        return Code::kOk;
      case OpKind::kMarkFailed: return Code::kOk;
      default: return CheckWrite(op.path, TypeOf(op.kind));
    }
  }

  // Applies an operation Predict accepted; "now" timestamps lie in [ts_lo, ts_hi].
  void Apply(const Op& op, int64_t ts_lo, int64_t ts_hi) {
    if (op.kind == OpKind::kDelete) {
      if (fields_.erase(op.path) > 0) return;
      const std::string prefix = op.path + "/";
      for (auto it = fields_.lower_bound(prefix);
           it != fields_.end() && it->first.starts_with(prefix);) {
        it = fields_.erase(it);
      }
      return;
    }
    if (op.kind == OpKind::kMarkFailed) {
      failed_ = true;
      return;
    }
    if (op.kind == OpKind::kClear) {
      OField& f = fields_.at(op.path);
      f.points.clear();
      f.last_step.reset();
      f.members.clear();
      return;
    }
    const std::vector<double> steps =
        IsSeries(TypeOf(op.kind)) ? StepsOf(op) : std::vector<double>();
    OField& f = fields_[op.path];
    if (f.type == FieldType::kNone) f.type = TypeOf(op.kind);
    switch (op.kind) {
      case OpKind::kAssignFloat: f.f = op.f; break;
      case OpKind::kAssignInt:
        if (f.type == FieldType::kFloat) {
          f.f = static_cast<double>(op.i);
        } else {
          f.i = op.i;
        }
        break;
      case OpKind::kAssignString: f.s = op.strings[0]; break;
      case OpKind::kAddStrings: f.members.insert(op.strings.begin(), op.strings.end()); break;
      case OpKind::kRemoveStrings:
        for (const auto& m : op.strings) f.members.erase(m);
        break;
      case OpKind::kAssignBool:
      case OpKind::kAssignDatetime: f.i = op.i; break;
      default:
        for (size_t k = 0; k < steps.size(); ++k) {
          Point p;
          p.step = steps[k];
          p.ts_lo = op.timestamps.empty() ? ts_lo : op.timestamps[k];
          p.ts_hi = op.timestamps.empty() ? ts_hi : op.timestamps[k];
          if (op.kind == OpKind::kAppend || op.kind == OpKind::kExtend) {
            p.value = op.values[k];
          } else {
            p.text = op.strings[k];
          }
          f.points.push_back(std::move(p));
        }
        f.last_step = steps.back();
    }
  }

  // A field known only by type and last step (the child's view at its start).
  void Restore(const std::string& path, FieldType type, std::optional<double> last_step) {
    OField& f = fields_[path];
    f.type = type;
    f.last_step = last_step;
  }

  const OField* Find(std::string_view path) const {
    auto it = fields_.find(path);
    return it == fields_.end() ? nullptr : &it->second;
  }
  bool IsNamespace(std::string_view path) const {
    const std::string prefix = std::string(path) + "/";
    auto it = fields_.lower_bound(prefix);
    return it != fields_.end() && it->first.starts_with(prefix);
  }
  const std::map<std::string, OField, std::less<>>& fields() const { return fields_; }
  bool failed() const { return failed_; }

 private:
  Code CheckWrite(std::string_view path, FieldType type) const {
    if (!ValidPath(path)) return Code::kInvalidPath;
    if (UnderSys(path)) {
      auto allowed = SysWritable(path);
      if (!allowed) return Code::kReadOnly;
      if (!Compatible(*allowed, type)) return Code::kTypeMismatch;
    }
    if (const OField* f = Find(path))
      return Compatible(f->type, type) ? Code::kOk : Code::kTypeMismatch;
    if (IsNamespace(path)) return Code::kPathConflict;
    for (size_t slash = path.find('/'); slash != std::string_view::npos;
         slash = path.find('/', slash + 1)) {
      if (Find(path.substr(0, slash)) != nullptr) return Code::kPathConflict;
    }
    return Code::kOk;
  }

  // Extend checks its arguments before anything else; then the path and type; then steps.
  Code CheckSeries(const Op& op) const {
    const size_t n = PointCount(op);
    if (op.kind == OpKind::kExtend || op.kind == OpKind::kExtendStrings) {
      if (n == 0 || (!op.steps.empty() && op.steps.size() != n) ||
          (!op.timestamps.empty() && op.timestamps.size() != n)) {
        return Code::kInvalidArgument;
      }
    }
    Code c = CheckWrite(op.path, TypeOf(op.kind));
    if (c != Code::kOk) return c;
    const OField* f = Find(op.path);
    std::optional<double> last = f != nullptr ? f->last_step : std::nullopt;
    for (double step : StepsOf(op)) {
      if (!std::isfinite(step)) return Code::kInvalidArgument;
      if (last && !(step > *last)) return Code::kStepNotIncreasing;
      last = step;
    }
    return Code::kOk;
  }

  // Given steps, or the series' last step + 1, + 2, ... (0, 1, ... for a new or empty one).
  std::vector<double> StepsOf(const Op& op) const {
    if (!op.steps.empty()) return op.steps;
    const OField* f = Find(op.path);
    const double next = f != nullptr && f->last_step ? *f->last_step + 1 : 0;
    std::vector<double> steps(PointCount(op));
    for (size_t k = 0; k < steps.size(); ++k) steps[k] = next + static_cast<double>(k);
    return steps;
  }

  std::map<std::string, OField, std::less<>> fields_;
  bool failed_ = false;
};

// Which thread of the child writes `path`: w<t>/..., sys/ (and MarkFailed's "") is thread 0's.
int ThreadOfPath(std::string_view path) {
  if (path.empty() || SysWritable(path)) return 0;
  if (!path.starts_with("w")) return -1;
  std::string num(path.substr(1, path.find('/') - 1));
  if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoi(num);
}

// ---- the child: a seeded random workload ----------------------------------------------

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

Result<uint64_t> Execute(Run& run, const Op& op) {
  PointOptions po;
  if (!op.steps.empty()) po.step = op.steps[0];
  if (!op.timestamps.empty()) po.timestamp_us = op.timestamps[0];
  switch (op.kind) {
    case OpKind::kAssignFloat: return run.AssignFloat(op.path, op.f);
    case OpKind::kAssignInt: return run.AssignInt(op.path, op.i);
    case OpKind::kAssignBool: return run.AssignBool(op.path, op.i != 0);
    case OpKind::kAssignString: return run.AssignString(op.path, op.strings[0]);
    case OpKind::kAssignDatetime: return run.AssignDatetime(op.path, Datetime{op.i});
    case OpKind::kAppend: return run.Append(op.path, op.values[0], po);
    case OpKind::kExtend: return run.Extend(op.path, op.values, op.steps, op.timestamps);
    case OpKind::kAppendString: return run.AppendString(op.path, op.strings[0], po);
    case OpKind::kExtendStrings:
      return run.ExtendStrings(op.path, op.strings, op.steps, op.timestamps);
    case OpKind::kAddStrings: return run.AddStrings(op.path, op.strings);
    case OpKind::kRemoveStrings: return run.RemoveStrings(op.path, op.strings);
    case OpKind::kClear: return run.Clear(op.path);
    case OpKind::kDelete: return run.Delete(op.path);
    case OpKind::kMarkFailed: return run.MarkFailed(op.strings[0]);
  }
  return Status::InvalidArgument("unknown operation");
}

[[noreturn]] void ChildFatal(const std::string& what) {
  Send(MsgType::kFatal, 0, what);
  _exit(3);
}

// Small batches, chunks and segments, frequent flushes: every life commits, seals chunks,
// flushes RocksDB and rolls segments. Some lives run in sync mode.
RunOptions ChildOptions(std::mt19937_64& rng) {
  constexpr Mode kModes[] = {Mode::kAsync, Mode::kAsync, Mode::kAsync,
                             Mode::kAsync, Mode::kSync,  Mode::kOffline};
  RunOptions o;
  o.custom_run_id = kCustomRunId;
  o.mode = kModes[rng() % std::size(kModes)];
  o.commit_batch_records = 64 + rng() % 449;
  o.series_chunk_points = 16 + rng() % 49;
  o.flush_interval = std::chrono::milliseconds(20 + rng() % 31);
  o.segment_size = (uint64_t{64} << 10) << (rng() % 3);
  o.sync_interval = std::chrono::milliseconds(10 + rng() % 200);
  return o;
}

// Logs `ops` calls per thread, then waits to be killed. Never returns.
[[noreturn]] void ChildMain(uint64_t seed, int threads, int ops, const std::string& repo_path) {
  std::mt19937_64 rng(seed);
  auto repo = Repository::Open(repo_path);
  if (!repo.ok()) ChildFatal("open the repository: " + repo.status().ToString());
  Send(MsgType::kOpening, 0, "");
  auto started = (*repo)->StartRun(ChildOptions(rng));
  if (!started.ok()) ChildFatal("start the run: " + started.status().ToString());
  Run& run = **started;
  // Each thread's view of its part of the run, so that most of its calls fit.
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
  Send(MsgType::kReady, 0, "");
  auto work = [&](int t, uint64_t thread_seed) {
    Workload workload(thread_seed, t);
    for (int n = 0; n < ops; ++n) {
      const Op op = workload.Next(models[t]);
      Encoder intent;
      intent.Put(NowMicros());
      EncodeOp(op, &intent);
      Send(MsgType::kIntent, t, intent.out);
      Result<uint64_t> r = Execute(run, op);
      Encoder result;
      result.Put(static_cast<uint8_t>(r.status().code()));
      result.Put<uint64_t>(r.ok() ? *r : 0);
      result.Put(NowMicros());
      result.Put<uint64_t>(run.stats().committed_lsn);
      Send(MsgType::kResult, t, result.out);
      if (r.ok()) models[t].Apply(op, 0, 0);
      // Now and then wait for the commit: the kill may land in the wait, or just after it.
      if (n % 211 == 210 && !run.Wait().ok()) ChildFatal("wait");
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, t, rng());
  work(0, rng());
  for (auto& th : pool) th.join();
  for (;;) pause();
}

// The entry point of the children (see the file comment); skipped when run directly.
TEST(RunCrashChild, DISABLED_Main) {
  const char* spec = std::getenv(kChildEnv);
  if (spec == nullptr) GTEST_SKIP() << "a child process of RunCrashTest, started by it";
  uint64_t seed = 0;
  int threads = 0, ops = 0, used = 0;
  ASSERT_EQ(std::sscanf(spec, "%lu:%d:%d:%n", &seed, &threads, &ops, &used), 3);
  ChildMain(seed, threads, ops, spec + used);
}

// ---- the parent -------------------------------------------------------------------------

struct CrashConfig {
  const char* name;
  int threads;
  int kills;
  int ops_per_thread;  // per child life: bounds the log's growth
};

void PrintTo(const CrashConfig& c, std::ostream* os) {
  *os << c.name;
}

struct InFlight {
  Op op;
  int64_t t0 = 0;  // before the call
};

// An acknowledged operation, until the scan of the log finds its record.
struct Acked {
  RecordType type;
  std::string path;
};

struct KillPlan {
  enum { kOpening, kAfterReady, kAfterAcks, kAfterBigExtends } at = kAfterReady;
  std::chrono::milliseconds delay{0};  // after the opening or ready report
  size_t acks = 0, big_extends = 0;    // the count triggers
};

struct Counters {
  int kills = 0, before_ready = 0, replaying = 0, mid_run = 0, behind_committer = 0;
  int checks = 0, partial_checks = 0;
  int in_flight_logged = 0, in_flight_lost = 0;
  size_t acked = 0, rejected = 0;
  std::map<std::string, size_t> outcomes;  // "Extend OK", "Append StepNotIncreasing", ...
  double start_secs = 0, scan_secs = 0, check_secs = 0;
};

struct Message {
  MsgType type = MsgType::kFatal;
  uint8_t thread = 0;
  std::string body;
};

// Takes the first complete frame (see Send) off `buf`.
bool PopFrame(std::string* buf, Message* m) {
  uint32_t size;
  if (buf->size() < 6) return false;
  std::memcpy(&size, buf->data(), sizeof size);
  if (buf->size() < 6 + size) return false;
  m->type = static_cast<MsgType>((*buf)[4]);
  m->thread = static_cast<uint8_t>((*buf)[5]);
  m->body = buf->substr(6, size);
  buf->erase(0, 6 + size);
  return true;
}

class RunCrashTest : public ::testing::TestWithParam<CrashConfig> {
 protected:
  void SetUp() override {
    uint64_t seed = std::random_device{}();
    if (const char* s = std::getenv("RUNLOG_CRASH_SEED")) seed = std::strtoull(s, nullptr, 10);
    seed_ = seed;
    rng_.seed(seed);
    repo_ = tmp_.Sub("repo");
    inflight_.resize(GetParam().threads);
  }
  // A child left by a failed assertion is killed and reaped (only that pid, never 0 or -1).
  void TearDown() override {
    if (child_ > 0 && ::kill(child_, SIGKILL) == 0) ::waitpid(child_, nullptr, 0);
    if (child_fd_ >= 0) ::close(child_fd_);
  }

  void Life();
  pid_t Spawn(int* read_fd);
  KillPlan ChooseKill();
  void Watch(pid_t pid, int fd);
  void Handle(const Message& m);
  void Acknowledge(int thread, const InFlight& call, Code code, uint64_t lsn, int64_t t1);
  void FindLog();
  void ScanLog();
  void Check(bool writable, bool full);
  void CompareState(runlog::Run& run, bool full);
  void CompareField(runlog::Run& run, const std::string& path, const OField& want);
  void CompareSeries(runlog::Run& run, const std::string& path, const OField& want);
  void CompareRange(runlog::Run& run, const std::string& path, const std::vector<Point>& pts);
  void Remember(uint64_t lsn, const Op& op, const std::string& what);
  std::string History(const std::string& path) const;

  uint64_t seed_ = 0;
  pid_t child_ = 0;  // the live child, until reaped
  int child_fd_ = -1;
  std::mt19937_64 rng_;
  test::TempDir tmp_;
  std::string repo_, wal_dir_;
  Oracle oracle_;
  std::map<uint64_t, Acked> acked_;                // acknowledged, not yet seen in the log
  std::vector<std::optional<InFlight>> inflight_;  // per child thread
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
  // Per path: (event number, text) of the calls that touched it, for failure reports.
  std::map<std::string, std::vector<std::pair<uint64_t, std::string>>, std::less<>> history_;
  uint64_t events_ = 0;
};

void RunCrashTest::Remember(uint64_t lsn, const Op& op, const std::string& what) {
  auto& h = history_[op.path];
  h.emplace_back(++events_, "life " + std::to_string(life_) + ", LSN " + std::to_string(lsn) +
                                ", " + what + ": " + Describe(op));
  if (h.size() > 60) h.erase(h.begin());
}

std::string RunCrashTest::History(const std::string& path) const {
  std::vector<std::pair<uint64_t, std::string>> all;
  auto add = [&](std::string_view p) {
    auto it = history_.find(p);
    if (it != history_.end()) all.insert(all.end(), it->second.begin(), it->second.end());
  };
  for (size_t s = path.find('/'); s != std::string::npos; s = path.find('/', s + 1)) {
    add(path.substr(0, s));
  }
  add(path);
  std::sort(all.begin(), all.end());
  std::string out =
      "\nrecent calls on " + path + " and its namespaces (seed " + std::to_string(seed_) + "):\n";
  for (const auto& [n, text] : all) out += "  " + text + "\n";
  return out;
}

// fork + exec of this binary; only async-signal-safe calls between the two.
pid_t RunCrashTest::Spawn(int* read_fd) {
  // /proc/self/exe: this very binary, even when a rebuild has replaced the file since.
  const char* exe = "/proc/self/exe";
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "GTEST_", 6) != 0) env.emplace_back(*e);  // no reports, no repeats
  }
  const CrashConfig& cfg = GetParam();
  env.push_back(std::string(kChildEnv) + "=" + std::to_string(rng_()) + ":" +
                std::to_string(cfg.threads) + ":" + std::to_string(cfg.ops_per_thread) + ":" +
                repo_);
  std::vector<std::string> args = {"engine_tests", "--gtest_filter=RunCrashChild.DISABLED_Main",
                                   "--gtest_also_run_disabled_tests"};
  std::vector<char*> envp, argv;
  for (auto& s : env) envp.push_back(s.data());
  for (auto& s : args) argv.push_back(s.data());
  envp.push_back(nullptr);
  argv.push_back(nullptr);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
  const int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::dup2(fds[1], kChildPipeFd) < 0 || ::dup2(devnull, STDOUT_FILENO) < 0) _exit(126);
    ::execve(exe, argv.data(), envp.data());
    _exit(127);
  }
  ::close(fds[1]);
  ::close(devnull);
  *read_fd = fds[0];
  return pid;
}

// Reads the child's reports and kills it at the moment this life chose.
// When a life is killed: inside StartRun (log recovery, the replay of a crash the last life
// left, the first commits), a random time into the run, after a number of acknowledgements,
// or right after large extends, with the committer mid-batch.
KillPlan RunCrashTest::ChooseKill() {
  KillPlan plan;
  const size_t r = rng_() % 100;
  plan.at = r < (crash_left_ ? 40u : 12u) ? KillPlan::kOpening
            : r < 55                      ? KillPlan::kAfterReady
            : r < 78                      ? KillPlan::kAfterAcks
                                          : KillPlan::kAfterBigExtends;
  plan.delay =
      std::chrono::milliseconds(plan.at == KillPlan::kOpening ? rng_() % 40 : 5 + rng_() % 76);
  plan.acks = 1 + rng_() % 1200;
  plan.big_extends = 1 + rng_() % 12;
  return plan;
}

// Reads the child's reports and kills it at the moment this life chose.
void RunCrashTest::Watch(pid_t pid, int fd) {
  ASSERT_GT(pid, 0);  // kill() below must name this child only
  using Clock = std::chrono::steady_clock;
  using namespace std::chrono_literals;
  const auto start = Clock::now();
  const KillPlan plan = ChooseKill();
  std::optional<Clock::time_point> deadline;
  bool killed = false;
  auto kill_now = [&] {
    if (killed) return;
    ::kill(pid, SIGKILL);
    kill_time_ = NowMicros();
    killed = true;
    n_.before_ready += !ready_;
    n_.replaying += !ready_ && opening_ && crash_left_;
    n_.mid_run += acks_now_ > 0;
    n_.behind_committer += acks_now_ > 0 && max_acked_lsn_ > committed_seen_;
  };
  std::string buf;
  char chunk[1 << 16];
  for (;;) {
    int64_t wait_ms = 100;
    if (!killed && deadline)
      wait_ms = std::clamp<int64_t>((*deadline - Clock::now()) / 1ms, 0, 100);
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait_ms)) > 0) {
      const ssize_t got = ::read(fd, chunk, sizeof chunk);
      if (got == 0) break;  // the child is gone
      if (got < 0 && errno == EINTR) continue;
      ASSERT_GT(got, 0) << std::strerror(errno);
      buf.append(chunk, static_cast<size_t>(got));
      Message m;
      while (PopFrame(&buf, &m)) {
        const bool was_opening = opening_, was_ready = ready_;
        ASSERT_NO_FATAL_FAILURE(Handle(m));
        if (opening_ && !was_opening && plan.at == KillPlan::kOpening) {
          deadline = Clock::now() + plan.delay;
        }
        if (ready_ && !was_ready) {
          n_.start_secs += std::chrono::duration<double>(Clock::now() - start).count();
          // The count triggers get a deadline too, in case the count is never reached.
          if (!deadline)
            deadline = Clock::now() + (plan.at == KillPlan::kAfterReady ? plan.delay : 400ms);
        }
        if (plan.at == KillPlan::kAfterAcks && acks_now_ >= plan.acks) kill_now();
        if (plan.at == KillPlan::kAfterBigExtends && big_extends_now_ >= plan.big_extends)
          kill_now();
      }
    }
    if (!killed && deadline && Clock::now() >= *deadline) kill_now();
    if (!killed && Clock::now() - start > 30s) {
      kill_now();
      ADD_FAILURE() << "the child did not get going in 30 s";
    }
  }
  ASSERT_TRUE(buf.empty()) << "a report cut short";
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  child_ = 0;  // reaped
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the child ended by itself, status " << status;
  ++n_.kills;
}

void RunCrashTest::Handle(const Message& m) {
  ASSERT_LT(m.thread, inflight_.size());
  Decoder d(m.body);
  switch (m.type) {
    case MsgType::kOpening: opening_ = true; return;
    case MsgType::kReady: ready_ = true; return;
    case MsgType::kFatal: FAIL() << "child: " << m.body;
    case MsgType::kIntent: {
      ASSERT_FALSE(inflight_[m.thread].has_value()) << "two calls in flight on one thread";
      InFlight call;
      call.t0 = d.Get<int64_t>();
      call.op = DecodeOp(&d);
      ASSERT_TRUE(d.done()) << "a malformed intent";
      inflight_[m.thread] = std::move(call);
      return;
    }
    case MsgType::kResult: {
      const auto code = static_cast<Code>(d.Get<uint8_t>());
      const uint64_t lsn = d.Get<uint64_t>();
      const int64_t t1 = d.Get<int64_t>();
      const uint64_t committed = d.Get<uint64_t>();
      ASSERT_TRUE(d.done()) << "a malformed result";
      ASSERT_TRUE(inflight_[m.thread].has_value()) << "a result without a call";
      InFlight call = std::move(*inflight_[m.thread]);
      inflight_[m.thread].reset();
      committed_seen_ = std::max(committed_seen_, committed);
      ASSERT_NO_FATAL_FAILURE(Acknowledge(m.thread, call, code, lsn, t1));
      return;
    }
  }
  FAIL() << "unknown report type " << static_cast<int>(m.type);
}

void RunCrashTest::Acknowledge(int thread, const InFlight& call, Code code, uint64_t lsn,
                               int64_t t1) {
  const Op& op = call.op;
  const Code want = oracle_.Predict(op);
  ++n_.outcomes[std::string(kOpNames[static_cast<int>(op.kind)]) + " " +
                std::string(CodeName(code))];
  ASSERT_EQ(CodeName(code), CodeName(want))
      << "thread " << thread << ": " << Describe(op) << History(op.path);
  if (code != Code::kOk) {
    ++n_.rejected;
    Remember(0, op, "rejected, " + std::string(CodeName(code)));
    return;
  }
  ASSERT_TRUE(acked_.emplace(lsn, Acked{RecordOf(op.kind), op.path}).second)
      << "LSN " << lsn << " acknowledged twice";
  oracle_.Apply(op, call.t0, t1);
  Remember(lsn, op, "acknowledged");
  ++n_.acked;
  ++acks_now_;
  max_acked_lsn_ = std::max(max_acked_lsn_, lsn);
  if (op.kind == OpKind::kExtend && op.values.size() >= 32) ++big_extends_now_;
}

// Reads the log past what was scanned: every acknowledged LSN holds its operation, every
// other record is a lifecycle record or the call in flight at the kill (then applied).
void RunCrashTest::FindLog() {
  auto repo = Repository::Open(repo_);
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  auto runs = (*repo)->ListRuns();
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  for (const RunListing& r : *runs) {
    if (r.custom_run_id == kCustomRunId) wal_dir_ = r.dir + "/wal";
  }
}

void RunCrashTest::ScanLog() {
  if (wal_dir_.empty()) {
    ASSERT_NO_FATAL_FAILURE(FindLog());
  }
  if (wal_dir_.empty()) {  // killed before the run was created
    ASSERT_TRUE(acked_.empty());
    return;
  }
  wal::ReaderOptions ro;
  ro.start_lsn = next_scan_lsn_;
  auto reader = wal::Reader::Open(wal_dir_, ro);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  wal::Record rec;
  for (;;) {
    auto more = (*reader)->Next(&rec);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
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
      ASSERT_EQ(static_cast<int>(it->second.type), rec.type) << "LSN " << rec.lsn;
      ASSERT_EQ(it->second.path, path) << "LSN " << rec.lsn;
      acked_.erase(it);
      continue;
    }
    const int t = ThreadOfPath(path);
    ASSERT_TRUE(t >= 0 && t < static_cast<int>(inflight_.size()) && inflight_[t] &&
                RecordOf(inflight_[t]->op.kind) == type && inflight_[t]->op.path == path)
        << "LSN " << rec.lsn << " (" << wal::RecordTypeName(rec.type) << " \"" << path
        << "\") is in the log but was neither acknowledged nor in flight" << History(path);
    const Op& op = inflight_[t]->op;
    ASSERT_EQ(CodeName(oracle_.Predict(op)), CodeName(Code::kOk))
        << "logged: " << Describe(op) << History(path);
    oracle_.Apply(op, inflight_[t]->t0, kill_time_);
    Remember(rec.lsn, op, "in flight at the kill, in the log");
    ++n_.in_flight_logged;
    inflight_[t].reset();
  }
  ASSERT_TRUE(acked_.empty()) << "acknowledged LSN " << acked_.begin()->first << " ("
                              << acked_.begin()->second.path << ") is not in the log";
  for (auto& call : inflight_) {
    if (!call) continue;
    Remember(0, call->op, "in flight at the kill, not in the log");
    ++n_.in_flight_lost;
    call.reset();
  }
}

// Reopens the run and compares it with the oracle: read-only (which commits what the crash
// left) or as a writer, which then stops. Read-only reads are slow (each one catches up with
// the primary), so a partial check compares the structure and a few fields only.
void RunCrashTest::Check(bool writable, bool full) {
  auto repo = Repository::Open(repo_);
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  RunOptions o;
  if (writable) {
    o.custom_run_id = kCustomRunId;
  } else {
    o.mode = Mode::kReadOnly;
    o.resume = kCustomRunId;
  }
  auto run = (*repo)->StartRun(o);
  ASSERT_TRUE(run.ok()) << (writable ? "writable" : "read-only") << " open after kill " << n_.kills
                        << ": " << run.status().ToString();
  if (writable) {
    ASSERT_NO_FATAL_FAILURE(ScanLog());  // its ResumeRun
  }
  ASSERT_NO_FATAL_FAILURE(CompareState(**run, full));
  if (writable) {
    ASSERT_TRUE((*run)->Stop().ok());
    run->reset();
    ASSERT_NO_FATAL_FAILURE(ScanLog());  // its SetRunState
  }
  ++(full ? n_.checks : n_.partial_checks);
}

// A String or Bool sys/ field as text, or the error.
std::string SysText(runlog::Run& run, const char* path) {
  auto a = run.Fetch(path);
  if (!a.ok()) return a.status().ToString();
  if (const auto* s = std::get_if<std::string>(&a->value)) return *s;
  if (const auto* b = std::get_if<bool>(&a->value)) return *b ? "true" : "false";
  return "not a string or bool";
}

void RunCrashTest::CompareState(runlog::Run& run, bool full) {
  auto structure = run.GetStructure();
  ASSERT_TRUE(structure.ok()) << structure.status().ToString();
  std::map<std::string, FieldType> got, want;
  for (const FieldInfo& f : *structure) {
    if (!UnderSys(f.path) || SysWritable(f.path)) got.emplace(f.path, f.type);
  }
  for (const auto& [path, f] : oracle_.fields()) want.emplace(path, f.type);
  if (got != want) {
    std::string diff;
    for (const auto& [path, type] : got) {
      if (!want.count(path) || want[path] != type) {
        diff += "\n\"" + path + "\" is " + std::string(TypeName(type)) + ", expected " +
                (want.count(path) ? std::string(TypeName(want[path])) : "nothing") + History(path);
      }
    }
    for (const auto& [path, type] : want) {
      if (!got.count(path)) {
        diff += "\n\"" + path + "\" is missing, expected " + std::string(TypeName(type)) +
                History(path);
      }
    }
    FAIL() << "after kill " << n_.kills << " the structure differs from the oracle:" << diff;
  }
  size_t k = 0, every = full ? 1 : 1 + oracle_.fields().size() / 6;
  for (const auto& [path, f] : oracle_.fields()) {
    if (k++ % every != 0) continue;
    ASSERT_NO_FATAL_FAILURE(CompareField(run, path, f));
  }
  EXPECT_EQ(SysText(run, "sys/custom_run_id"), kCustomRunId);
  EXPECT_EQ(SysText(run, "sys/failed"), oracle_.failed() ? "true" : "false");
  EXPECT_EQ(SysText(run, "sys/state"), active_ ? "active" : "inactive");
  auto rejected = run.RejectedOperations();
  ASSERT_TRUE(rejected.ok()) << rejected.status().ToString();
  ASSERT_TRUE(rejected->empty()) << "the commit rejected LSN " << rejected->front().lsn << " "
                                 << rejected->front().operation.substr(0, 300) << ": "
                                 << rejected->front().status.ToString()
                                 << History(rejected->front().path);
}

void RunCrashTest::CompareField(runlog::Run& run, const std::string& path, const OField& want) {
  if (IsSeries(want.type)) return CompareSeries(run, path, want);
  if (want.type == FieldType::kStringSet) {
    auto members = run.FetchSet(path);
    ASSERT_TRUE(members.ok()) << members.status().ToString();
    ASSERT_EQ(*members, std::vector<std::string>(want.members.begin(), want.members.end()))
        << path << History(path);
    return;
  }
  auto atom = run.Fetch(path);
  ASSERT_TRUE(atom.ok()) << path << ": " << atom.status().ToString();
  ASSERT_EQ(atom->type, want.type) << path;
  switch (want.type) {
    case FieldType::kFloat:
      ASSERT_EQ(Bits(std::get<double>(atom->value)), Bits(want.f))
          << path << " holds " << std::get<double>(atom->value) << ", expected " << want.f
          << History(path);
      break;
    case FieldType::kInt:
      ASSERT_EQ(std::get<int64_t>(atom->value), want.i) << path << History(path);
      break;
    case FieldType::kBool:
      ASSERT_EQ(std::get<bool>(atom->value), want.i != 0) << path << History(path);
      break;
    case FieldType::kString:
      ASSERT_EQ(std::get<std::string>(atom->value), want.s) << path << History(path);
      break;
    default: ASSERT_EQ(std::get<Datetime>(atom->value).micros, want.i) << path << History(path);
  }
}

void RunCrashTest::CompareSeries(runlog::Run& run, const std::string& path, const OField& want) {
  const bool floats = want.type == FieldType::kFloatSeries;
  const std::vector<Point>& pts = want.points;
  auto values = run.FetchValues(path);
  ASSERT_TRUE(values.ok()) << path << ": " << values.status().ToString();
  ASSERT_EQ(values->type, want.type) << path;
  ASSERT_EQ(values->size(), pts.size())
      << path << ": points lost or applied twice" << History(path);
  for (size_t k = 0; k < pts.size(); ++k) {
    const double step = floats ? values->floats[k].step : values->strings[k].step;
    const int64_t ts = floats ? values->floats[k].timestamp_us : values->strings[k].timestamp_us;
    ASSERT_EQ(step, pts[k].step) << path << " point " << k << History(path);
    ASSERT_TRUE(ts >= pts[k].ts_lo && ts <= pts[k].ts_hi)
        << path << " point " << k << ": timestamp " << ts << " not in [" << pts[k].ts_lo << ", "
        << pts[k].ts_hi << "]" << History(path);
    if (floats) {
      ASSERT_EQ(Bits(values->floats[k].value), Bits(pts[k].value))
          << path << " point " << k << ": " << values->floats[k].value << ", expected "
          << pts[k].value << History(path);
    } else {
      ASSERT_EQ(values->strings[k].value, pts[k].text) << path << " point " << k << History(path);
    }
  }
  auto last = run.FetchLast(path);
  ASSERT_TRUE(last.ok()) << path << ": " << last.status().ToString();
  ASSERT_EQ(last->count, pts.size()) << path << History(path);
  if (pts.empty()) return;
  EXPECT_EQ(last->first_step, pts.front().step) << path;
  EXPECT_EQ(last->last_step, pts.back().step) << path;
  EXPECT_EQ(last->last_timestamp_us,
            floats ? values->floats.back().timestamp_us : values->strings.back().timestamp_us)
      << path;
  if (floats) {
    EXPECT_EQ(Bits(last->last), Bits(pts.back().value)) << path;
    std::optional<std::pair<double, double>> mm;  // NaN ignored, as the summary does
    for (const Point& p : pts) {
      if (std::isnan(p.value)) continue;
      mm = mm ? std::pair(std::min(mm->first, p.value), std::max(mm->second, p.value))
              : std::pair(p.value, p.value);
    }
    if (mm) {
      EXPECT_EQ(Bits(last->min), Bits(mm->first))
          << path << ": min " << last->min << ", expected " << mm->first << History(path);
      EXPECT_EQ(Bits(last->max), Bits(mm->second))
          << path << ": max " << last->max << ", expected " << mm->second << History(path);
    } else {
      EXPECT_TRUE(std::isnan(last->min) && std::isnan(last->max)) << path;
    }
  } else {
    EXPECT_EQ(last->last_string, pts.back().text) << path;
  }
  ASSERT_NO_FATAL_FAILURE(CompareRange(run, path, pts));
}

// A range read (from, to, limit) that starts and ends anywhere, across chunk boundaries.
void RunCrashTest::CompareRange(runlog::Run& run, const std::string& path,
                                const std::vector<Point>& pts) {
  SeriesRange range;
  double a = pts[rng_() % pts.size()].step, b = pts[rng_() % pts.size()].step;
  range.from = std::min(a, b) - (rng_() % 2 ? 0.25 : 0);
  range.to = std::max(a, b);
  range.limit = rng_() % 4;
  std::vector<double> expected;
  for (const Point& p : pts) {
    if (p.step >= *range.from && p.step <= *range.to &&
        (range.limit == 0 || expected.size() < range.limit)) {
      expected.push_back(p.step);
    }
  }
  auto part = run.FetchValues(path, range);
  ASSERT_TRUE(part.ok()) << path << ": " << part.status().ToString();
  std::vector<double> got;
  for (const auto& p : part->floats) got.push_back(p.step);
  for (const auto& p : part->strings) got.push_back(p.step);
  EXPECT_EQ(got, expected) << path << " steps [" << *range.from << ", " << *range.to << "] limit "
                           << range.limit;
}

// One child life: start, kill, scan the log; then (mostly) reopen and compare.
void RunCrashTest::Life() {
  ++life_;
  opening_ = ready_ = false;
  acks_now_ = big_extends_now_ = 0;
  max_acked_lsn_ = committed_seen_ = 0;
  const pid_t pid = Spawn(&child_fd_);
  ASSERT_GT(pid, 0) << std::strerror(errno);
  child_ = pid;
  ASSERT_NO_FATAL_FAILURE(Watch(pid, child_fd_));
  ::close(child_fd_);
  child_fd_ = -1;
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_NO_FATAL_FAILURE(ScanLog());
  auto t1 = std::chrono::steady_clock::now();
  n_.scan_secs += std::chrono::duration<double>(t1 - t0).count();
  if (wal_dir_.empty()) return;  // no run yet
  const size_t r = rng_() % 100;
  crash_left_ = r < 20;
  if (crash_left_) return;  // the next child recovers this crash itself
  if (r >= 85) {  // first a reader commits the crash's log, then a writer checks everything
    ASSERT_NO_FATAL_FAILURE(Check(/*writable=*/false, /*full=*/false));
  }
  ASSERT_NO_FATAL_FAILURE(Check(/*writable=*/true, /*full=*/true));
  n_.check_secs += std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
}

TEST_P(RunCrashTest, ReopenedStateEqualsTheOracleOfAcknowledgedOperations) {
  const CrashConfig& cfg = GetParam();
  SCOPED_TRACE("seed " + std::to_string(seed_) + " (RUNLOG_CRASH_SEED reproduces)");
  const auto start = std::chrono::steady_clock::now();
  for (int kill = 0; kill < cfg.kills; ++kill) {
    ASSERT_NO_FATAL_FAILURE(Life()) << "life " << life_;
  }
  // A killed writer leaves no lock behind: a writer opens, sees the oracle's state and stops;
  // then a reader sees the same, inactive.
  ASSERT_NO_FATAL_FAILURE(Check(/*writable=*/true, /*full=*/true));
  ASSERT_NO_FATAL_FAILURE(Check(/*writable=*/false, /*full=*/true));
  EXPECT_GT(n_.mid_run, cfg.kills / 2) << "kills should mostly land while the child logs";
  std::string outcomes;
  for (const auto& [what, count] : n_.outcomes)
    outcomes += " " + what + ":" + std::to_string(count);
  for (const char* kind : kOpNames) {
    EXPECT_GT(n_.outcomes[std::string(kind) + " OK"], 0u) << "no " << kind << " was acknowledged";
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "[%s] seed %llu: %d kills in %.1f s (%d before the child was ready, %d of them in a start "
      "that "
      "replays a crash, %d mid-run, %d with a "
      "commit backlog at the last report), %zu calls acknowledged, %zu rejected as predicted, in "
      "flight at the "
      "kill: %d in the log, %d not; %d checks of the whole state, %d partial read-only ones, "
      "%zu fields at the end\n",
      cfg.name, static_cast<unsigned long long>(seed_), n_.kills, secs, n_.before_ready,
      n_.replaying, n_.mid_run, n_.behind_committer, n_.acked, n_.rejected, n_.in_flight_logged,
      n_.in_flight_lost, n_.checks, n_.partial_checks, oracle_.fields().size());
  std::printf("  time: child starts %.1f s, log scans %.1f s, checks %.1f s\n", n_.start_secs,
              n_.scan_secs, n_.check_secs);
  std::printf("  calls:%s\n", outcomes.c_str());
}

// 110 kills in all.
INSTANTIATE_TEST_SUITE_P(Workloads, RunCrashTest,
                         ::testing::Values(CrashConfig{"one_thread", 1, 70, 3000},
                                           CrashConfig{"four_threads", 4, 40, 800}),
                         [](const ::testing::TestParamInfo<CrashConfig>& p) {
                           return std::string(p.param.name);
                         });

}  // namespace
}  // namespace runlog
