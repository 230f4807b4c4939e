// The public Run and FieldHandle (include/runlog/run.h) over Run::Impl.
#include <cmath>
#include <ostream>

#include "engine/field_type.h"
#include "engine/path.h"
#include "engine/queries.h"
#include "engine/run_impl.h"
#include "format/record_json.h"

namespace runlog {
namespace {

using wal::RecordType;

void ThrowIfError(const Status& s) {
  if (!s.ok()) throw Error(s);
}

std::string_view TypeTitle(FieldType t) {
  return engine::FieldTypeTitle(static_cast<engine::FieldType>(t));
}

Status Mismatch(std::string_view path, FieldType actual, const char* wanted) {
  return Status::TypeMismatch(engine::EscapePath(path) + " is " + std::string(TypeTitle(actual)) +
                              ", not " + wanted);
}

}  // namespace

Run::Run(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Run::~Run() = default;

// ---- writes ---------------------------------------------------------------------------

Result<uint64_t> Run::AssignFloat(std::string_view path, double value) {
  return impl_->Log(RecordType::AssignFloat, [&](wal::RecordBuilder& rb, engine::RunModel&) {
    return rb.AssignFloat(path, value);
  });
}

Result<uint64_t> Run::AssignInt(std::string_view path, int64_t value) {
  return impl_->Log(RecordType::AssignInt, [&](wal::RecordBuilder& rb, engine::RunModel&) {
    return rb.AssignInt(path, value);
  });
}

Result<uint64_t> Run::AssignBool(std::string_view path, bool value) {
  return impl_->Log(RecordType::AssignBool, [&](wal::RecordBuilder& rb, engine::RunModel&) {
    return rb.AssignBool(path, value);
  });
}

Result<uint64_t> Run::AssignString(std::string_view path, std::string_view value) {
  return impl_->Log(RecordType::AssignString, [&](wal::RecordBuilder& rb, engine::RunModel&) {
    return rb.AssignString(path, value);
  });
}

Result<uint64_t> Run::AssignDatetime(std::string_view path, Datetime value) {
  return impl_->Log(RecordType::AssignDatetime, [&](wal::RecordBuilder& rb, engine::RunModel&) {
    return rb.AssignDatetime(path, value.micros);
  });
}

Result<uint64_t> Run::Append(std::string_view path, double value, const PointOptions& options) {
  const int64_t now = options.timestamp_us ? 0 : impl_->NowMicros();
  return impl_->Log(RecordType::AppendFloats, [&](wal::RecordBuilder& rb, engine::RunModel& m) {
    wal::FloatPoint p(options.step ? *options.step : m.NextStep(path),
                      options.timestamp_us ? *options.timestamp_us : now, value);
    return rb.AppendFloats(path, std::span(&p, 1));
  });
}

Result<uint64_t> Run::AppendString(std::string_view path, std::string_view value,
                                   const PointOptions& options) {
  const std::string v(value);
  return ExtendStrings(
      path, std::span(&v, 1),
      options.step ? std::span(&*options.step, 1) : std::span<const double>(),
      options.timestamp_us ? std::span(&*options.timestamp_us, 1) : std::span<const int64_t>());
}

namespace {

// Steps (given, or the series' last + 1, + 2, ...) and timestamps (given, or now) for n points.
Status PointsFor(std::string_view path, size_t n, std::span<const double> steps,
                 std::span<const int64_t> timestamps, double next_step, int64_t now,
                 std::vector<double>* out_steps, std::vector<int64_t>* out_ts) {
  if (n == 0) return Status::InvalidArgument(engine::EscapePath(path) + ": nothing to append");
  if ((!steps.empty() && steps.size() != n) || (!timestamps.empty() && timestamps.size() != n)) {
    return Status::InvalidArgument(engine::EscapePath(path) + ": " + std::to_string(n) +
                                   " values but " + std::to_string(steps.size()) + " steps and " +
                                   std::to_string(timestamps.size()) + " timestamps");
  }
  out_steps->resize(n);
  out_ts->resize(n);
  for (size_t i = 0; i < n; ++i) {
    (*out_steps)[i] = steps.empty() ? next_step + static_cast<double>(i) : steps[i];
    (*out_ts)[i] = timestamps.empty() ? now : timestamps[i];
  }
  return Status::OK();
}

}  // namespace

Result<uint64_t> Run::Extend(std::string_view path, std::span<const double> values,
                             std::span<const double> steps, std::span<const int64_t> timestamps) {
  const int64_t now = impl_->NowMicros();
  Status bad;
  std::vector<wal::FloatPoint> points;
  auto lsn = impl_->Log(RecordType::AppendFloats, [&](wal::RecordBuilder& rb, engine::RunModel& m) {
    std::vector<double> s;
    std::vector<int64_t> t;
    bad = PointsFor(path, values.size(), steps, timestamps, m.NextStep(path), now, &s, &t);
    points.clear();
    for (size_t i = 0; bad.ok() && i < values.size(); ++i)
      points.emplace_back(s[i], t[i], values[i]);
    return rb.AppendFloats(path, points);
  });
  if (!bad.ok()) return bad;
  return lsn;
}

Result<uint64_t> Run::ExtendStrings(std::string_view path, std::span<const std::string> values,
                                    std::span<const double> steps,
                                    std::span<const int64_t> timestamps) {
  const int64_t now = impl_->NowMicros();
  Status bad;
  auto lsn =
      impl_->Log(RecordType::AppendStrings, [&](wal::RecordBuilder& rb, engine::RunModel& m) {
        std::vector<double> s;
        std::vector<int64_t> t;
        bad = PointsFor(path, values.size(), steps, timestamps, m.NextStep(path), now, &s, &t);
        if (!bad.ok()) return rb.AppendStrings(path, {}, {}, {});
        return rb.AppendStrings(path, s, t, values);
      });
  if (!bad.ok()) return bad;
  return lsn;
}

Result<uint64_t> Run::AddStrings(std::string_view path, std::span<const std::string> values) {
  return impl_->Log(RecordType::AddStrings, [&](wal::RecordBuilder& rb, engine::RunModel&) {
    return rb.StringSetChange(true, path, values);
  });
}

Result<uint64_t> Run::RemoveStrings(std::string_view path, std::span<const std::string> values) {
  return impl_->Log(RecordType::RemoveStrings, [&](wal::RecordBuilder& rb, engine::RunModel&) {
    return rb.StringSetChange(false, path, values);
  });
}

Result<uint64_t> Run::Clear(std::string_view path) {
  return impl_->Log(RecordType::ClearField, [&](wal::RecordBuilder& rb, engine::RunModel& m) {
    const engine::Field* f = m.schema().Find(path);
    return rb.ClearField(path, f == nullptr ? engine::FieldType::None : f->type);
  });
}

Result<uint64_t> Run::Delete(std::string_view path) {
  return impl_->Log(RecordType::DeletePath,
                    [&](wal::RecordBuilder& rb, engine::RunModel&) { return rb.DeletePath(path); });
}

Result<uint64_t> Run::MarkFailed(std::string_view reason) {
  return impl_->Log(RecordType::MarkFailed, [&](wal::RecordBuilder& rb, engine::RunModel&) {
    auto& b = rb.builder();
    auto r = b.CreateString(reason);
    return rb.Finish(wal::CreateMarkFailed(b, impl_->NowMicros(), r));
  });
}

// ---- reads ----------------------------------------------------------------------------

Result<bool> Run::Exists(std::string_view path) {
  return impl_->Exists(path);
}

Result<Atom> Run::Fetch(std::string_view path) {
  RUNLOG_RETURN_IF_ERROR(impl_->WaitForReads());
  return engine::QueryAtom(*impl_->store(), path);
}

Result<SeriesSummary> Run::FetchLast(std::string_view path) {
  RUNLOG_RETURN_IF_ERROR(impl_->WaitForReads());
  return engine::QueryLast(*impl_->store(), path);
}

Result<SeriesValues> Run::FetchValues(std::string_view path, const SeriesRange& range) {
  RUNLOG_RETURN_IF_ERROR(impl_->WaitForReads());
  return engine::QueryValues(*impl_->store(), path, range);
}

Result<std::vector<std::string>> Run::FetchSet(std::string_view path) {
  RUNLOG_RETURN_IF_ERROR(impl_->WaitForReads());
  return engine::QuerySet(*impl_->store(), path);
}

Result<std::vector<FieldInfo>> Run::GetStructure() {
  RUNLOG_RETURN_IF_ERROR(impl_->WaitForReads());
  return engine::QueryStructure(*impl_->store());
}

namespace {

std::string AtomText(const Atom& a) {
  switch (a.type) {
    case FieldType::kFloat: return wal::FloatToJson(std::get<double>(a.value)).dump();
    case FieldType::kInt: return std::to_string(std::get<int64_t>(a.value));
    case FieldType::kBool: return std::get<bool>(a.value) ? "true" : "false";
    case FieldType::kString:
      return nlohmann::json(std::get<std::string>(a.value))
          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    case FieldType::kDatetime: return wal::FormatTimeMicros(std::get<Datetime>(a.value).micros);
    default: return "";
  }
}

}  // namespace

Status Run::PrintStructure(std::ostream& out) {
  RUNLOG_ASSIGN_OR_RETURN(auto fields, GetStructure());
  std::vector<std::string_view> open;  // the namespaces printed above, outermost first
  for (const FieldInfo& f : fields) {
    auto parts = engine::SplitPath(f.path);
    size_t common = 0;
    while (common < open.size() && common + 1 < parts.size() && open[common] == parts[common]) {
      ++common;
    }
    open.resize(common);
    for (size_t i = common; i + 1 < parts.size(); ++i) {
      out << std::string(2 * i, ' ') << parts[i] << "/\n";
      open.push_back(parts[i]);
    }
    out << std::string(2 * (parts.size() - 1), ' ') << parts.back() << ": " << TypeName(f.type);
    if (f.type <= FieldType::kDatetime) {
      auto atom = engine::QueryAtom(*impl_->store(), f.path);
      if (atom.ok()) out << " = " << AtomText(*atom);
    } else if (f.type == FieldType::kFloatSeries || f.type == FieldType::kStringSeries ||
               f.type == FieldType::kFileSeries) {
      auto last = engine::QueryLast(*impl_->store(), f.path);
      if (last.ok()) {
        out << " (" << last->count << " points";
        if (last->count > 0 && f.type == FieldType::kFloatSeries) {
          out << ", last " << wal::FloatToJson(last->last).dump();
        }
        out << ")";
      }
    } else if (f.type == FieldType::kStringSet) {
      auto members = engine::QuerySet(*impl_->store(), f.path);
      if (members.ok()) {
        out << " = {";
        for (size_t i = 0; i < members->size(); ++i) {
          if (i == 8) {
            out << ", ... " << members->size() - 8 << " more";
            break;
          }
          out << (i > 0 ? ", " : "")
              << nlohmann::json((*members)[i])
                     .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        }
        out << "}";
      }
    }
    out << "\n";
  }
  return out.good() ? Status::OK() : Status::IOError("cannot write the structure");
}

Result<std::vector<RejectedOperation>> Run::RejectedOperations() {
  RUNLOG_RETURN_IF_ERROR(impl_->WaitForReads());
  RUNLOG_ASSIGN_OR_RETURN(auto entries, engine::QueryErrors(*impl_->store()));
  std::vector<RejectedOperation> out;
  for (engine::ErrorEntry& e : entries) {
    RejectedOperation r;
    r.lsn = e.lsn;
    r.path = std::move(e.path);
    r.status = Status(e.code, std::move(e.message));
    const char* name = wal::RecordTypeName(e.record_type);
    r.record_type = name != nullptr ? name : "type" + std::to_string(e.record_type);
    std::span<const uint8_t> payload(reinterpret_cast<const uint8_t*>(e.payload.data()),
                                     e.payload.size());
    r.operation = wal::VerifyPayload(e.record_type, payload).ok()
                      ? wal::PayloadToJson(e.record_type, payload)
                            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                      : "null";
    out.push_back(std::move(r));
  }
  return out;
}

// ---- lifecycle ------------------------------------------------------------------------

Status Run::Wait() {
  return impl_->Wait();
}
Status Run::Stop() {
  return impl_->Stop();
}
const std::string& Run::sys_id() const {
  return impl_->sys_id();
}
const std::string& Run::uuid() const {
  return impl_->uuid();
}
const std::string& Run::custom_run_id() const {
  return impl_->custom_run_id();
}
Mode Run::mode() const {
  return impl_->mode();
}
RunStats Run::stats() const {
  return impl_->stats();
}

// ---- FieldHandle ----------------------------------------------------------------------

FieldHandle FieldHandle::operator[](std::string_view name) const {
  return FieldHandle(run_, engine::JoinPath(path_, name));
}

FieldHandle& FieldHandle::operator=(double v) {
  ThrowIfError(run_->AssignFloat(path_, v).status());
  return *this;
}
FieldHandle& FieldHandle::operator=(bool v) {
  ThrowIfError(run_->AssignBool(path_, v).status());
  return *this;
}
FieldHandle& FieldHandle::operator=(std::string_view v) {
  ThrowIfError(run_->AssignString(path_, v).status());
  return *this;
}
FieldHandle& FieldHandle::operator=(Datetime v) {
  ThrowIfError(run_->AssignDatetime(path_, v).status());
  return *this;
}
void FieldHandle::AssignInt(int64_t v) {
  ThrowIfError(run_->AssignInt(path_, v).status());
}
void FieldHandle::Append(double value, const PointOptions& options) {
  ThrowIfError(run_->Append(path_, value, options).status());
}
void FieldHandle::Append(std::string_view value, const PointOptions& options) {
  ThrowIfError(run_->AppendString(path_, value, options).status());
}
void FieldHandle::Extend(std::span<const double> values, std::span<const double> steps) {
  ThrowIfError(run_->Extend(path_, values, steps).status());
}
void FieldHandle::Add(std::initializer_list<std::string_view> values) {
  std::vector<std::string> v(values.begin(), values.end());
  ThrowIfError(run_->AddStrings(path_, v).status());
}
void FieldHandle::Remove(std::initializer_list<std::string_view> values) {
  std::vector<std::string> v(values.begin(), values.end());
  ThrowIfError(run_->RemoveStrings(path_, v).status());
}
void FieldHandle::Clear() {
  ThrowIfError(run_->Clear(path_).status());
}
void FieldHandle::Delete() {
  ThrowIfError(run_->Delete(path_).status());
}
bool FieldHandle::Exists() const {
  auto r = run_->Exists(path_);
  ThrowIfError(r.status());
  return *r;
}
Result<Atom> FieldHandle::Fetch() const {
  return run_->Fetch(path_);
}
Result<SeriesSummary> FieldHandle::FetchLast() const {
  return run_->FetchLast(path_);
}
Result<SeriesValues> FieldHandle::FetchValues(const SeriesRange& range) const {
  return run_->FetchValues(path_, range);
}
Result<std::vector<std::string>> FieldHandle::FetchSet() const {
  return run_->FetchSet(path_);
}

namespace internal {

Result<double> AtomAsDouble(Result<Atom> atom, std::string_view path) {
  RUNLOG_RETURN_IF_ERROR(atom.status());
  if (atom->type == FieldType::kFloat) return std::get<double>(atom->value);
  if (atom->type == FieldType::kInt) return static_cast<double>(std::get<int64_t>(atom->value));
  return Mismatch(path, atom->type, "Float");
}
Result<int64_t> AtomAsInt(Result<Atom> atom, std::string_view path) {
  RUNLOG_RETURN_IF_ERROR(atom.status());
  if (atom->type == FieldType::kInt) return std::get<int64_t>(atom->value);
  return Mismatch(path, atom->type, "Int");
}
Result<bool> AtomAsBool(Result<Atom> atom, std::string_view path) {
  RUNLOG_RETURN_IF_ERROR(atom.status());
  if (atom->type == FieldType::kBool) return std::get<bool>(atom->value);
  return Mismatch(path, atom->type, "Bool");
}
Result<std::string> AtomAsString(Result<Atom> atom, std::string_view path) {
  RUNLOG_RETURN_IF_ERROR(atom.status());
  if (atom->type == FieldType::kString) return std::get<std::string>(std::move(atom).value().value);
  return Mismatch(path, atom->type, "String");
}
Result<Datetime> AtomAsDatetime(Result<Atom> atom, std::string_view path) {
  RUNLOG_RETURN_IF_ERROR(atom.status());
  if (atom->type == FieldType::kDatetime) return std::get<Datetime>(atom->value);
  return Mismatch(path, atom->type, "Datetime");
}

}  // namespace internal
}  // namespace runlog
