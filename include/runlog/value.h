// The values a run holds, as the API hands them out: field types, atoms, series points,
// series summaries and the structure of a run.
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "runlog/status.h"

namespace runlog {

// A field's type, fixed by its first write. The numbers are those of the WAL schema
// (schemas/wal.fbs, FieldType) and never change.
enum class FieldType : uint8_t {
  kNone = 0,
  kFloat = 1,
  kInt = 2,
  kBool = 3,
  kString = 4,
  kDatetime = 5,
  kFloatSeries = 6,
  kStringSeries = 7,
  kFileSeries = 8,
  kStringSet = 9,
  kFile = 10,
  kFileSet = 11,
  kArtifact = 12,
};

// "float", "int", "bool", "string", "datetime", "float_series", "string_series",
// "file_series", "string_set", "file", "file_set", "artifact" (the CLI's names).
std::string_view TypeName(FieldType type);

// A point in time: microseconds since the Unix epoch, UTC.
struct Datetime {
  int64_t micros = 0;
  friend bool operator==(const Datetime&, const Datetime&) = default;
};

// The value of an atom field (Float, Int, Bool, String, Datetime).
struct Atom {
  FieldType type = FieldType::kNone;
  std::variant<double, int64_t, bool, std::string, Datetime> value;
};

// Where a series point goes. A missing step is the series' last step + 1 (0 for the first
// point); a missing timestamp is the time of the call.
struct PointOptions {
  std::optional<double> step;
  std::optional<int64_t> timestamp_us;
};

struct FloatPoint {
  double step = 0;
  int64_t timestamp_us = 0;
  double value = 0;
};

struct StringPoint {
  double step = 0;
  int64_t timestamp_us = 0;
  std::string value;
};

// Which points of a series to read: steps in [from, to] (both inclusive, both optional),
// at most `limit` of them from the start of the range (0: all).
struct SeriesRange {
  std::optional<double> from;
  std::optional<double> to;
  size_t limit = 0;
};

// A series' points (floats for FloatSeries, strings for StringSeries and FileSeries).
struct SeriesValues {
  FieldType type = FieldType::kNone;
  std::vector<FloatPoint> floats;
  std::vector<StringPoint> strings;
  size_t size() const { return type == FieldType::kFloatSeries ? floats.size() : strings.size(); }
};

// What the engine keeps per series at commit, so the last value never reads the series.
// For an empty (cleared) series count is 0 and the rest is unset.
struct SeriesSummary {
  FieldType type = FieldType::kNone;
  uint64_t count = 0;
  double first_step = 0;
  double last_step = 0;
  int64_t last_timestamp_us = 0;
  double last = 0;          // FloatSeries: the last value
  double min = 0;           // FloatSeries: the smallest and largest value (NaN ignored;
  double max = 0;           //   NaN when every value is NaN)
  std::string last_string;  // StringSeries, FileSeries: the last value
};

// One field of a run's structure.
struct FieldInfo {
  std::string path;
  FieldType type = FieldType::kNone;
};

// An operation the commit refused (DESIGN §2): kept, never dropped, with its reason.
struct RejectedOperation {
  uint64_t lsn = 0;
  std::string path;
  Status status;            // code and message: what, where, why
  std::string record_type;  // "AssignFloat", ...
  std::string operation;    // the operation as JSON (the WAL record's payload)
};

}  // namespace runlog
