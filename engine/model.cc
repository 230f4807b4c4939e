#include "engine/model.h"

#include <cmath>
#include <cstdio>

#include "engine/path.h"
#include "format/records.h"
#include "format/segment.h"

namespace runlog::engine {
namespace {

using wal::RecordType;

std::string_view View(const flatbuffers::String* s) {
  return s == nullptr ? std::string_view() : std::string_view(s->data(), s->size());
}

std::string StepText(double step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", step);
  return buf;
}

std::string UuidHex(const wal::Uuid* u) {
  wal::RunId id{};
  if (u != nullptr) {
    for (int i = 0; i < 8; ++i) {
      id[i] = static_cast<uint8_t>(u->hi() >> (56 - 8 * i));
      id[8 + i] = static_cast<uint8_t>(u->lo() >> (56 - 8 * i));
    }
  }
  return wal::RunIdHex(id);
}

}  // namespace

bool UserWritableSystemField(std::string_view path, FieldType* type) {
  if (path == "sys/name" || path == "sys/description") {
    *type = FieldType::String;
    return true;
  }
  if (path == "sys/tags") {
    *type = FieldType::StringSet;
    return true;
  }
  return false;
}

Result<Plan> RunModel::CheckWrite(uint16_t type, std::string_view path,
                                  FieldType field_type) const {
  // Schema::CheckWrite validates the path of a field it does not know yet.
  if (PathIsUnder(path, kSystemNamespace)) {
    RUNLOG_RETURN_IF_ERROR(ValidatePath(path));
    FieldType allowed;
    if (!UserWritableSystemField(path, &allowed)) {
      return Status::ReadOnly(EscapePath(path) +
                              " is written by runlog; only sys/name, sys/description and "
                              "sys/tags may be written");
    }
    RUNLOG_RETURN_IF_ERROR(CheckTypeCompatible(path, allowed, field_type));
  }
  RUNLOG_ASSIGN_OR_RETURN(WriteTarget target, schema_.CheckWrite(path, field_type));
  Plan plan;
  plan.kind = PlanKind::kWrite;
  plan.record_type = type;
  plan.path = path;
  plan.type = field_type;
  plan.target = target;
  return plan;
}

template <typename StepAt>
Status RunModel::CheckSteps(const Plan& plan, size_t n, StepAt step_at) const {
  std::optional<double> last;
  if (!plan.target.create) {
    auto it = last_step_.find(plan.target.field.id);
    if (it != last_step_.end()) last = it->second;
  }
  for (size_t i = 0; i < n; ++i) {
    double step = step_at(i);
    if (!std::isfinite(step)) {
      return Status::InvalidArgument(EscapePath(plan.path) + ": step " + StepText(step) +
                                     " is not a finite number");
    }
    if (last && !(step > *last)) {
      return Status::StepNotIncreasing(EscapePath(plan.path) + ": step " + StepText(step) +
                                       " is not after the last step " + StepText(*last) +
                                       (i > 0 ? " (within the same operation)" : ""));
    }
    last = step;
  }
  return Status::OK();
}

Status RunModel::CheckString(std::string_view path, std::string_view value) const {
  if (value.size() > limits_.max_string_bytes) {
    return Status::ValueTooLarge(EscapePath(path) + ": a string of " +
                                 std::to_string(value.size()) + " bytes is over the limit of " +
                                 std::to_string(limits_.max_string_bytes) + " bytes");
  }
  return Status::OK();
}

Result<Plan> RunModel::Check(uint16_t type, std::span<const uint8_t> payload) const {
  switch (static_cast<RecordType>(type)) {
    case RecordType::CreateRun:
      // Only a run's first record: a later one would rewrite its identity.
      if (schema_.Find("sys/uuid") != nullptr) {
        return Status::InvalidArgument("a CreateRun record for run " +
                                       UuidHex(wal::PayloadAs<wal::CreateRun>(payload)->uuid()) +
                                       " in the log of run " + run_uuid_ + ", which exists");
      }
      [[fallthrough]];
    case RecordType::ResumeRun:
      if (type == static_cast<uint16_t>(RecordType::ResumeRun) && !run_uuid_.empty()) {
        std::string uuid = UuidHex(wal::PayloadAs<wal::ResumeRun>(payload)->uuid());
        if (uuid != run_uuid_) {
          return Status::InvalidArgument("a ResumeRun record of run " + uuid +
                                         " in the log of run " + run_uuid_);
        }
      }
      [[fallthrough]];
    case RecordType::SetRunState:
    case RecordType::MarkFailed: {
      Plan plan;
      plan.kind = PlanKind::kLifecycle;
      plan.record_type = type;
      return plan;
    }
    case RecordType::AssignFloat:
      return CheckWrite(type, View(wal::PayloadAs<wal::AssignFloat>(payload)->path()),
                        FieldType::Float);
    case RecordType::AssignInt:
      return CheckWrite(type, View(wal::PayloadAs<wal::AssignInt>(payload)->path()),
                        FieldType::Int);
    case RecordType::AssignBool:
      return CheckWrite(type, View(wal::PayloadAs<wal::AssignBool>(payload)->path()),
                        FieldType::Bool);
    case RecordType::AssignDatetime:
      return CheckWrite(type, View(wal::PayloadAs<wal::AssignDatetime>(payload)->path()),
                        FieldType::Datetime);
    case RecordType::AssignString: {
      auto* op = wal::PayloadAs<wal::AssignString>(payload);
      RUNLOG_ASSIGN_OR_RETURN(Plan plan, CheckWrite(type, View(op->path()), FieldType::String));
      RUNLOG_RETURN_IF_ERROR(CheckString(plan.path, View(op->value())));
      return plan;
    }
    case RecordType::AppendFloats: {
      auto* op = wal::PayloadAs<wal::AppendFloats>(payload);
      RUNLOG_ASSIGN_OR_RETURN(Plan plan,
                              CheckWrite(type, View(op->path()), FieldType::FloatSeries));
      if (op->points() == nullptr || op->points()->size() == 0) {
        return Status::InvalidArgument(EscapePath(plan.path) + ": an append without points");
      }
      // FloatPoint structs are contiguous: their steps are read in place, 24 bytes apart.
      const auto* points = op->points();
      RUNLOG_RETURN_IF_ERROR(CheckSteps(plan, points->size(), [&](size_t i) {
        return points->Get(static_cast<flatbuffers::uoffset_t>(i))->step();
      }));
      plan.last_step = points->Get(points->size() - 1)->step();
      return plan;
    }
    case RecordType::AppendStrings:
    case RecordType::AppendFiles: {
      const bool strings = type == static_cast<uint16_t>(RecordType::AppendStrings);
      std::string_view path;
      std::vector<double> steps;
      std::vector<std::string_view> values;
      if (strings) {
        auto* op = wal::PayloadAs<wal::AppendStrings>(payload);
        path = View(op->path());
        if (op->points() != nullptr) {
          for (const wal::StringPoint* p : *op->points()) {
            steps.push_back(p->step());
            values.push_back(View(p->value()));
          }
        }
      } else {
        auto* op = wal::PayloadAs<wal::AppendFiles>(payload);
        path = View(op->path());
        if (op->points() != nullptr) {
          for (const wal::FilePoint* p : *op->points()) steps.push_back(p->step());
        }
      }
      RUNLOG_ASSIGN_OR_RETURN(
          Plan plan,
          CheckWrite(type, path, strings ? FieldType::StringSeries : FieldType::FileSeries));
      if (steps.empty()) {
        return Status::InvalidArgument(EscapePath(plan.path) + ": an append without points");
      }
      for (std::string_view v : values) RUNLOG_RETURN_IF_ERROR(CheckString(plan.path, v));
      RUNLOG_RETURN_IF_ERROR(CheckSteps(plan, steps.size(), [&](size_t i) { return steps[i]; }));
      plan.last_step = steps.back();
      return plan;
    }
    case RecordType::ClearField: {
      auto* op = wal::PayloadAs<wal::ClearField>(payload);
      std::string_view path = View(op->path());
      RUNLOG_RETURN_IF_ERROR(ValidatePath(path));
      const Field* f = schema_.Find(path);
      if (f == nullptr) return Status::NotFound("cannot clear " + EscapePath(path) + ": no field");
      if (!IsSeries(f->type) && f->type != FieldType::StringSet && f->type != FieldType::FileSet &&
          f->type != FieldType::Artifact) {
        return Status::TypeMismatch("cannot clear " + EscapePath(path) + ": it is a " +
                                    std::string(FieldTypeTitle(f->type)) +
                                    ", not a series or a set");
      }
      if (op->type() != f->type) {
        RUNLOG_RETURN_IF_ERROR(CheckTypeCompatible(path, f->type, op->type()));
      }
      if (PathIsUnder(path, kSystemNamespace) && path != "sys/tags") {
        return Status::ReadOnly(EscapePath(path) + " is written by runlog");
      }
      Plan plan;
      plan.record_type = type;
      plan.path = path;
      plan.type = f->type;
      plan.target = WriteTarget{false, *f};
      plan.clears = true;
      return plan;
    }
    case RecordType::AddStrings:
    case RecordType::RemoveStrings: {
      auto* op = wal::PayloadAs<wal::AddStrings>(payload);  // same layout as RemoveStrings
      RUNLOG_ASSIGN_OR_RETURN(Plan plan, CheckWrite(type, View(op->path()), FieldType::StringSet));
      if (op->values() != nullptr) {
        for (const flatbuffers::String* v : *op->values()) {
          RUNLOG_RETURN_IF_ERROR(CheckString(plan.path, View(v)));
        }
      }
      return plan;
    }
    case RecordType::UploadFile:
      return CheckWrite(type, View(wal::PayloadAs<wal::UploadFile>(payload)->path()),
                        FieldType::File);
    case RecordType::UploadFiles:
      return CheckWrite(type, View(wal::PayloadAs<wal::UploadFiles>(payload)->path()),
                        FieldType::FileSet);
    case RecordType::DeleteFiles:
      return CheckWrite(type, View(wal::PayloadAs<wal::DeleteFiles>(payload)->path()),
                        FieldType::FileSet);
    case RecordType::TrackFiles:
      return CheckWrite(type, View(wal::PayloadAs<wal::TrackFiles>(payload)->path()),
                        FieldType::Artifact);
    case RecordType::DeletePath: {
      std::string_view path = View(wal::PayloadAs<wal::DeletePath>(payload)->path());
      RUNLOG_RETURN_IF_ERROR(ValidatePath(path));
      FieldType ignored;
      if (PathIsUnder(path, kSystemNamespace) && !UserWritableSystemField(path, &ignored)) {
        return Status::ReadOnly("cannot delete " + EscapePath(path) +
                                ": sys/ is written by runlog; only sys/name, sys/description "
                                "and sys/tags may be deleted");
      }
      if (schema_.Find(path) == nullptr && !schema_.IsNamespace(path)) {
        return Status::NotFound("cannot delete " + EscapePath(path) +
                                ": no field or namespace there");
      }
      Plan plan;
      plan.kind = PlanKind::kDelete;
      plan.record_type = type;
      plan.path = path;
      return plan;
    }
    case RecordType::Invalid: break;
  }
  if (wal::IsSafeToIgnore(type)) {
    Plan plan;
    plan.kind = PlanKind::kSkip;
    plan.record_type = type;
    return plan;
  }
  return Status::NotSupported("record type " + std::to_string(type) +
                              " is unknown to this version of runlog");
}

Field RunModel::Apply(const Plan& plan, std::vector<std::pair<std::string, Field>>* deleted) {
  switch (plan.kind) {
    case PlanKind::kDelete: {
      auto removed = schema_.Delete(plan.path);
      for (auto& [path, field] : removed) last_step_.erase(field.id);
      if (deleted != nullptr) *deleted = std::move(removed);
      return Field{};
    }
    case PlanKind::kWrite: {
      Field f = plan.target.create ? schema_.Create(plan.path, plan.type) : plan.target.field;
      if (plan.clears) last_step_.erase(f.id);
      if (plan.last_step) last_step_[f.id] = *plan.last_step;
      return f;
    }
    case PlanKind::kLifecycle:
    case PlanKind::kSkip: break;
  }
  return Field{};
}

Field RunModel::SystemField(std::string_view path, FieldType type) {
  if (const Field* f = schema_.Find(path)) return *f;
  return schema_.Create(path, type);
}

std::vector<SystemWrite> RunModel::ApplyLifecycle(uint16_t type, std::span<const uint8_t> payload) {
  std::vector<SystemWrite> out;
  auto put_string = [&](const char* path, std::string_view v) {
    out.push_back({path, SystemField(path, FieldType::String), std::string(v), 0});
  };
  auto put_time = [&](const char* path, int64_t us) {
    out.push_back({path, SystemField(path, FieldType::Datetime), {}, us});
  };
  auto put_bool = [&](const char* path, bool v) {
    out.push_back({path, SystemField(path, FieldType::Bool), {}, v ? 1 : 0});
  };
  switch (static_cast<RecordType>(type)) {
    case RecordType::CreateRun: {
      auto* op = wal::PayloadAs<wal::CreateRun>(payload);
      run_uuid_ = UuidHex(op->uuid());
      put_string("sys/uuid", run_uuid_);
      put_string("sys/id", View(op->sys_id()));
      if (op->custom_run_id() != nullptr && op->custom_run_id()->size() > 0) {
        put_string("sys/custom_run_id", View(op->custom_run_id()));
      }
      put_time("sys/creation_time", op->creation_time_us());
      put_time("sys/modification_time", op->creation_time_us());
      put_string("sys/hostname", View(op->hostname()));
      put_string("sys/state", "active");
      put_bool("sys/failed", false);
      break;
    }
    case RecordType::ResumeRun: {
      auto* op = wal::PayloadAs<wal::ResumeRun>(payload);
      put_string("sys/state", "active");
      put_time("sys/modification_time", op->time_us());
      if (op->hostname() != nullptr) put_string("sys/hostname", View(op->hostname()));
      break;
    }
    case RecordType::SetRunState: {
      auto* op = wal::PayloadAs<wal::SetRunState>(payload);
      put_string("sys/state", op->state() == wal::RunState::Active ? "active" : "inactive");
      put_time("sys/modification_time", op->time_us());
      break;
    }
    case RecordType::MarkFailed: {
      auto* op = wal::PayloadAs<wal::MarkFailed>(payload);
      put_bool("sys/failed", true);
      put_time("sys/modification_time", op->time_us());
      break;
    }
    default: break;
  }
  return out;
}

double RunModel::NextStep(std::string_view path) const {
  const Field* f = schema_.Find(path);
  if (f == nullptr) return 0;
  auto it = last_step_.find(f->id);
  return it == last_step_.end() ? 0 : it->second + 1;
}

void RunModel::RestoreLastStep(FieldId id, std::optional<double> step) {
  if (step) {
    last_step_[id] = *step;
  } else {
    last_step_.erase(id);
  }
}

}  // namespace runlog::engine
