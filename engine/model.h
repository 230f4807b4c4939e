// The data model's rules applied to WAL records (DESIGN §1, §2). One RunModel decides
// whether an operation may be applied to a run and what it changes in the run's structure:
// the schema (fields, types, ids) and the last step of every series. The API runs it on each
// operation before logging it (eager checks); the committer runs another instance,
// authoritatively, on each record it applies. Both read the same record bytes, so they agree.
//
//   Check(record)  -> a Plan, or the error that rejects the operation (nothing changes)
//   Apply(plan)    -> the change: the field written (created when new), fields deleted
//
// Thread safety: none; the owner synchronises.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/schema.h"
#include "runlog/status.h"

namespace runlog::engine {

struct ModelLimits {
  size_t max_fields = kDefaultMaxFields;
  size_t max_string_bytes = 1 << 20;
};

enum class PlanKind : uint8_t {
  kWrite,      // writes one field (assign, append, set add/remove, files, clear)
  kDelete,     // removes a field or a namespace
  kLifecycle,  // run lifecycle: the engine writes sys/ fields (SystemWrites)
  kSkip,       // an unknown record type marked safe to ignore
};

// What Check decided. Views point into the record's payload, which must outlive the plan.
struct Plan {
  PlanKind kind = PlanKind::kWrite;
  uint16_t record_type = 0;
  std::string_view path;
  FieldType type = FieldType::None;  // the type the operation writes
  WriteTarget target;                // kWrite: the field, or a field to create
  bool clears = false;               // ClearField: the field is emptied
  std::optional<double> last_step;   // series appends: the series' last step afterwards
};

// A sys/ field the engine writes for a lifecycle record.
struct SystemWrite {
  std::string path;
  Field field;
  // Exactly one holds the value, per the field's type.
  std::string string_value;
  int64_t int_value = 0;  // Datetime micros, Bool 0/1
};

class RunModel {
 public:
  explicit RunModel(ModelLimits limits = {}) : limits_(limits), schema_(limits.max_fields) {}

  // Checks one record (type + verified payload) against the rules. Nothing changes.
  Result<Plan> Check(uint16_t type, std::span<const uint8_t> payload) const;

  // Makes the change Check planned. Returns the field written (kWrite); fills *deleted with
  // the removed fields (kDelete).
  Field Apply(const Plan& plan, std::vector<std::pair<std::string, Field>>* deleted);

  // Lifecycle records (CreateRun, ResumeRun, SetRunState, MarkFailed): creates the sys/
  // fields they set when missing and returns their values.
  std::vector<SystemWrite> ApplyLifecycle(uint16_t type, std::span<const uint8_t> payload);

  // The step a point without one gets: the series' last step + 1, or 0 for an empty or
  // new series.
  double NextStep(std::string_view path) const;

  // Loading a stored state.
  Schema& schema() { return schema_; }
  const Schema& schema() const { return schema_; }
  void RestoreLastStep(FieldId id, std::optional<double> step);
  // The run's uuid (32 hex digits), from its CreateRun record or the stored sys/uuid.
  void set_run_uuid(std::string uuid) { run_uuid_ = std::move(uuid); }

  const ModelLimits& limits() const { return limits_; }
  void set_limits(ModelLimits limits) {
    limits_ = limits;
    schema_.set_max_fields(limits.max_fields);
  }

 private:
  Result<Plan> CheckWrite(uint16_t type, std::string_view path, FieldType field_type) const;
  // Steps strictly increase, after the series' last; step_at(i) is the i-th of n steps.
  template <typename StepAt>
  Status CheckSteps(const Plan& plan, size_t n, StepAt step_at) const;
  Status CheckString(std::string_view path, std::string_view value) const;
  Field SystemField(std::string_view path, FieldType type);

  ModelLimits limits_;
  Schema schema_;
  std::unordered_map<FieldId, double> last_step_;  // series with at least one point
  std::string run_uuid_;                           // empty until CreateRun
};

// True for the sys/ paths a user may write, with their type: sys/name and
// sys/description (String), sys/tags (StringSet).
bool UserWritableSystemField(std::string_view path, FieldType* type);

}  // namespace runlog::engine
