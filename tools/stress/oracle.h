// The oracle of the stress driver (tools/stress/driver.cc), kept outside the
// repository: the data model's rules over plain containers. It predicts the result code of
// every call, applies the calls that succeed, and compares a run reopened after a crash with
// its state. The stress child also keeps one per thread, as its guess of the run.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runlog/runlog.h"
#include "tools/stress/ops.h"

namespace runlog::stress {

bool IsSeries(FieldType t);
bool UnderSys(std::string_view p);
// The sys/ fields a user may write, with their type.
std::optional<FieldType> SysWritable(std::string_view p);
bool ValidPath(std::string_view p);
// Whether a write of type `attempted` fits a field of type `existing` (Int widens to Float).
bool Compatible(FieldType existing, FieldType attempted);

struct Point {
  double step = 0;
  int64_t ts_lo = 0, ts_hi = 0;  // the timestamp, or the call's time span for "now"
  double value = 0;
  std::string text;
};

// A field as the oracle knows it.
struct OField {
  FieldType type = FieldType::kNone;
  double f = 0;
  int64_t i = 0;  // Int, Bool, Datetime
  std::string s;
  std::vector<Point> points;  // series: since the last clear
  std::optional<double> last_step;
  std::set<std::string> members;
};

using OFields = std::map<std::string, OField, std::less<>>;

class Oracle {
 public:
  // The result the engine must give `op` in this state.
  Code Predict(const Op& op) const;

  // Applies an operation Predict accepted; "now" timestamps lie in [ts_lo, ts_hi].
  void Apply(const Op& op, int64_t ts_lo, int64_t ts_hi);

  // A field known only by type and last step (the child's view at its start).
  void Restore(const std::string& path, FieldType type, std::optional<double> last_step);

  const OField* Find(std::string_view path) const;
  bool IsNamespace(std::string_view path) const;
  const OFields& fields() const { return fields_; }
  bool failed() const { return failed_; }

 private:
  Code CheckWrite(std::string_view path, FieldType type) const;
  Code CheckSeries(const Op& op) const;
  std::vector<double> StepsOf(const Op& op) const;
  void Delete(const std::string& path);
  void AddPoints(const Op& op, const std::vector<double>& steps, int64_t ts_lo, int64_t ts_hi,
                 OField* f);

  OFields fields_;
  bool failed_ = false;
};

// The recent calls on each path, for failure reports.
class CallHistory {
 public:
  CallHistory() = default;
  explicit CallHistory(uint64_t seed) : seed_(seed) {}

  // Records a call on `path`; the last 60 per path are kept.
  void Add(const std::string& path, std::string text);

  // The calls on `path` and its namespaces in the order they were made, as the tail of a
  // failure message that names the seed.
  std::string Of(const std::string& path) const;

 private:
  uint64_t seed_ = 0;
  uint64_t events_ = 0;
  // Per path: (event number, text).
  std::map<std::string, std::vector<std::pair<uint64_t, std::string>>, std::less<>> calls_;
};

// What a comparison checks besides the oracle's fields.
struct CompareOptions {
  std::string custom_run_id;  // sys/custom_run_id
  bool active = true;         // sys/state: "active" or "inactive"
  // Every field's content, or the structure and a few fields only (read-only reads are slow:
  // each one catches up with the primary).
  bool full = true;
  std::string when;  // the moment, for failure messages: "after kill 7"
};

// Compares a run with the oracle; a difference fails the test, naming the path and its
// history. Range reads start and end at steps drawn from `rng`.
class OracleComparison {
 public:
  OracleComparison(const Oracle& oracle, const CallHistory& history, std::mt19937_64* rng)
      : oracle_(oracle), history_(history), rng_(*rng) {}

  // The structure with every type, field contents, sys/custom_run_id, sys/failed, sys/state,
  // and no operation rejected by the commit.
  void CompareState(Run& run, const CompareOptions& options);

 private:
  void CompareStructure(Run& run, const std::string& when);
  void CompareField(Run& run, const std::string& path, const OField& want);
  void CompareSeries(Run& run, const std::string& path, const OField& want);
  void CompareSummary(Run& run, const std::string& path, const OField& want,
                      const SeriesValues& values);
  void CompareRange(Run& run, const std::string& path, const std::vector<Point>& pts);
  std::string History(const std::string& path) const { return history_.Of(path); }

  const Oracle& oracle_;
  const CallHistory& history_;
  std::mt19937_64& rng_;
};

}  // namespace runlog::stress
