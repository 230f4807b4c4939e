#include "tools/stress/oracle.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <variant>

#include "tools/stress/check.h"

namespace runlog::stress {
namespace {

uint64_t Bits(double d) {
  return std::bit_cast<uint64_t>(d);
}

// A String or Bool sys/ field as text, or the error.
std::string SysText(Run& run, const char* path) {
  auto a = run.Fetch(path);
  if (!a.ok()) return a.status().ToString();
  if (const auto* s = std::get_if<std::string>(&a->value)) return *s;
  if (const auto* b = std::get_if<bool>(&a->value)) return *b ? "true" : "false";
  return "not a string or bool";
}

}  // namespace

bool IsSeries(FieldType t) {
  return t == FieldType::kFloatSeries || t == FieldType::kStringSeries;
}

bool UnderSys(std::string_view p) {
  return p == "sys" || p.starts_with("sys/");
}

std::optional<FieldType> SysWritable(std::string_view p) {
  if (p == "sys/name" || p == "sys/description") return FieldType::kString;
  if (p == "sys/tags") return FieldType::kStringSet;
  return std::nullopt;
}

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

// ---- Oracle -----------------------------------------------------------------------------

Code Oracle::Predict(const Op& op) const {
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

void Oracle::Apply(const Op& op, int64_t ts_lo, int64_t ts_hi) {
  if (op.kind == OpKind::kDelete) return Delete(op.path);
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
  const std::vector<double> steps = IsSeries(TypeOf(op.kind)) ? StepsOf(op) : std::vector<double>();
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
    default: AddPoints(op, steps, ts_lo, ts_hi, &f);
  }
}

void Oracle::Delete(const std::string& path) {
  if (fields_.erase(path) > 0) return;
  const std::string prefix = path + "/";
  for (auto it = fields_.lower_bound(prefix);
       it != fields_.end() && it->first.starts_with(prefix);) {
    it = fields_.erase(it);
  }
}

void Oracle::AddPoints(const Op& op, const std::vector<double>& steps, int64_t ts_lo, int64_t ts_hi,
                       OField* f) {
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
    f->points.push_back(std::move(p));
  }
  f->last_step = steps.back();
}

void Oracle::Restore(const std::string& path, FieldType type, std::optional<double> last_step) {
  OField& f = fields_[path];
  f.type = type;
  f.last_step = last_step;
}

const OField* Oracle::Find(std::string_view path) const {
  auto it = fields_.find(path);
  return it == fields_.end() ? nullptr : &it->second;
}

bool Oracle::IsNamespace(std::string_view path) const {
  const std::string prefix = std::string(path) + "/";
  auto it = fields_.lower_bound(prefix);
  return it != fields_.end() && it->first.starts_with(prefix);
}

Code Oracle::CheckWrite(std::string_view path, FieldType type) const {
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
Code Oracle::CheckSeries(const Op& op) const {
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
  // A flag and a double rather than std::optional: g++ 12 -O2 warns about the latter here.
  bool has_last = f != nullptr && f->last_step.has_value();
  double last = has_last ? *f->last_step : 0;
  for (double step : StepsOf(op)) {
    if (!std::isfinite(step)) return Code::kInvalidArgument;
    if (has_last && !(step > last)) return Code::kStepNotIncreasing;
    last = step;
    has_last = true;
  }
  return Code::kOk;
}

// Given steps, or the series' last step + 1, + 2, ... (0, 1, ... for a new or empty one).
std::vector<double> Oracle::StepsOf(const Op& op) const {
  if (!op.steps.empty()) return op.steps;
  const OField* f = Find(op.path);
  const double next = f != nullptr && f->last_step ? *f->last_step + 1 : 0;
  std::vector<double> steps(PointCount(op));
  for (size_t k = 0; k < steps.size(); ++k) steps[k] = next + static_cast<double>(k);
  return steps;
}

// ---- CallHistory ------------------------------------------------------------------------

void CallHistory::Add(const std::string& path, std::string text) {
  auto& h = calls_[path];
  h.emplace_back(++events_, std::move(text));
  if (h.size() > 60) h.erase(h.begin());
}

std::string CallHistory::Of(const std::string& path) const {
  std::vector<std::pair<uint64_t, std::string>> all;
  auto add = [&](std::string_view p) {
    auto it = calls_.find(p);
    if (it != calls_.end()) all.insert(all.end(), it->second.begin(), it->second.end());
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

// ---- OracleComparison -------------------------------------------------------------------

void OracleComparison::CompareState(Run& run, const CompareOptions& options) {
  CompareStructure(run, options.when);
  size_t k = 0, every = options.full ? 1 : 1 + oracle_.fields().size() / 6;
  for (const auto& [path, f] : oracle_.fields()) {
    if (k++ % every != 0) continue;
    CompareField(run, path, f);
  }
  STRESS_CHECK_EQ(SysText(run, "sys/custom_run_id"), options.custom_run_id);
  STRESS_CHECK_EQ(SysText(run, "sys/failed"), oracle_.failed() ? "true" : "false");
  STRESS_CHECK_EQ(SysText(run, "sys/state"), options.active ? "active" : "inactive");
  auto rejected = run.RejectedOperations();
  STRESS_CHECK(rejected.ok()) << rejected.status().ToString();
  STRESS_CHECK(rejected->empty()) << "the commit rejected LSN " << rejected->front().lsn << " "
                                  << rejected->front().operation.substr(0, 300) << ": "
                                  << rejected->front().status.ToString()
                                  << History(rejected->front().path);
}

// The paths and types of the fields a user may write.
void OracleComparison::CompareStructure(Run& run, const std::string& when) {
  auto structure = run.GetStructure();
  STRESS_CHECK(structure.ok()) << structure.status().ToString();
  std::map<std::string, FieldType> got, want;
  for (const FieldInfo& f : *structure) {
    if (!UnderSys(f.path) || SysWritable(f.path)) got.emplace(f.path, f.type);
  }
  for (const auto& [path, f] : oracle_.fields()) want.emplace(path, f.type);
  if (got == want) return;
  std::string diff;
  for (const auto& [path, type] : got) {
    if (!want.count(path) || want[path] != type) {
      diff += "\n\"" + path + "\" is " + std::string(TypeName(type)) + ", expected " +
              (want.count(path) ? std::string(TypeName(want[path])) : "nothing") + History(path);
    }
  }
  for (const auto& [path, type] : want) {
    if (!got.count(path)) {
      diff +=
          "\n\"" + path + "\" is missing, expected " + std::string(TypeName(type)) + History(path);
    }
  }
  STRESS_FAIL() << when << " the structure differs from the oracle:" << diff;
}

void OracleComparison::CompareField(Run& run, const std::string& path, const OField& want) {
  if (IsSeries(want.type)) return CompareSeries(run, path, want);
  if (want.type == FieldType::kStringSet) {
    auto members = run.FetchSet(path);
    STRESS_CHECK(members.ok()) << members.status().ToString();
    STRESS_CHECK_EQ(*members, std::vector<std::string>(want.members.begin(), want.members.end()))
        << path << History(path);
    return;
  }
  auto atom = run.Fetch(path);
  STRESS_CHECK(atom.ok()) << path << ": " << atom.status().ToString();
  STRESS_CHECK_EQ(atom->type, want.type) << path;
  switch (want.type) {
    case FieldType::kFloat:
      STRESS_CHECK_EQ(Bits(std::get<double>(atom->value)), Bits(want.f))
          << path << " holds " << std::get<double>(atom->value) << ", expected " << want.f
          << History(path);
      break;
    case FieldType::kInt:
      STRESS_CHECK_EQ(std::get<int64_t>(atom->value), want.i) << path << History(path);
      break;
    case FieldType::kBool:
      STRESS_CHECK_EQ(std::get<bool>(atom->value), want.i != 0) << path << History(path);
      break;
    case FieldType::kString:
      STRESS_CHECK_EQ(std::get<std::string>(atom->value), want.s) << path << History(path);
      break;
    default:
      STRESS_CHECK_EQ(std::get<Datetime>(atom->value).micros, want.i) << path << History(path);
  }
}

// Every point (step, timestamp, value bits), the summary, a range read.
void OracleComparison::CompareSeries(Run& run, const std::string& path, const OField& want) {
  const bool floats = want.type == FieldType::kFloatSeries;
  const std::vector<Point>& pts = want.points;
  auto values = run.FetchValues(path);
  STRESS_CHECK(values.ok()) << path << ": " << values.status().ToString();
  STRESS_CHECK_EQ(values->type, want.type) << path;
  STRESS_CHECK_EQ(values->size(), pts.size())
      << path << ": points lost or applied twice" << History(path);
  for (size_t k = 0; k < pts.size(); ++k) {
    const double step = floats ? values->floats[k].step : values->strings[k].step;
    const int64_t ts = floats ? values->floats[k].timestamp_us : values->strings[k].timestamp_us;
    STRESS_CHECK_EQ(step, pts[k].step) << path << " point " << k << History(path);
    STRESS_CHECK(ts >= pts[k].ts_lo && ts <= pts[k].ts_hi)
        << path << " point " << k << ": timestamp " << ts << " not in [" << pts[k].ts_lo << ", "
        << pts[k].ts_hi << "]" << History(path);
    if (floats) {
      STRESS_CHECK_EQ(Bits(values->floats[k].value), Bits(pts[k].value))
          << path << " point " << k << ": " << values->floats[k].value << ", expected "
          << pts[k].value << History(path);
    } else {
      STRESS_CHECK_EQ(values->strings[k].value, pts[k].text)
          << path << " point " << k << History(path);
    }
  }
  CompareSummary(run, path, want, *values);
  if (pts.empty()) return;
  CompareRange(run, path, pts);
}

// FetchLast against the points: count, first and last step, last timestamp and value,
// min and max (NaN ignored, as the summary does).
void OracleComparison::CompareSummary(Run& run, const std::string& path, const OField& want,
                                      const SeriesValues& values) {
  const bool floats = want.type == FieldType::kFloatSeries;
  const std::vector<Point>& pts = want.points;
  auto last = run.FetchLast(path);
  STRESS_CHECK(last.ok()) << path << ": " << last.status().ToString();
  STRESS_CHECK_EQ(last->count, pts.size()) << path << History(path);
  if (pts.empty()) return;
  STRESS_CHECK_EQ(last->first_step, pts.front().step) << path;
  STRESS_CHECK_EQ(last->last_step, pts.back().step) << path;
  STRESS_CHECK_EQ(last->last_timestamp_us,
                  floats ? values.floats.back().timestamp_us : values.strings.back().timestamp_us)
      << path;
  if (!floats) {
    STRESS_CHECK_EQ(last->last_string, pts.back().text) << path;
    return;
  }
  STRESS_CHECK_EQ(Bits(last->last), Bits(pts.back().value)) << path;
  std::optional<std::pair<double, double>> mm;
  for (const Point& p : pts) {
    if (std::isnan(p.value)) continue;
    mm = mm ? std::pair(std::min(mm->first, p.value), std::max(mm->second, p.value))
            : std::pair(p.value, p.value);
  }
  if (mm) {
    STRESS_CHECK_EQ(Bits(last->min), Bits(mm->first))
        << path << ": min " << last->min << ", expected " << mm->first << History(path);
    STRESS_CHECK_EQ(Bits(last->max), Bits(mm->second))
        << path << ": max " << last->max << ", expected " << mm->second << History(path);
  } else {
    STRESS_CHECK(std::isnan(last->min) && std::isnan(last->max)) << path;
  }
}

// A range read (from, to, limit) that starts and ends anywhere, across chunk boundaries.
void OracleComparison::CompareRange(Run& run, const std::string& path,
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
  STRESS_CHECK(part.ok()) << path << ": " << part.status().ToString();
  std::vector<double> got;
  for (const auto& p : part->floats) got.push_back(p.step);
  for (const auto& p : part->strings) got.push_back(p.step);
  STRESS_CHECK_EQ(got, expected) << path << " steps [" << *range.from << ", " << *range.to
                                 << "] limit " << range.limit;
}

}  // namespace runlog::stress
