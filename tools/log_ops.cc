// The operations of `runlog log` (tools/log_command.cc, whose header comment states the
// rules): one JSON object per input line, checked and applied through the public API.
#include "tools/log_ops.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace runlog::cli {
namespace {

using nlohmann::json;

// ---- values in operations ----------------------------------------------------------------

Status Bad(std::string message) {
  return Status::InvalidArgument(std::move(message));
}

Status WrongKind(std::string_view key, std::string_view expected, const json& got) {
  if (got.is_null()) {
    return Bad("missing \"" + std::string(key) + "\" (" + std::string(expected) + ")");
  }
  return Bad("\"" + std::string(key) + "\" must be " + std::string(expected) + ", not " +
             got.dump(-1, ' ', false, json::error_handler_t::replace).substr(0, 80));
}

// A float: a JSON number, or "NaN", "Infinity", "-Infinity".
Result<double> ParseFloat(const json& v, std::string_view key) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (s == "Infinity") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
  }
  return WrongKind(key, "a number or \"NaN\", \"Infinity\", \"-Infinity\"", v);
}

Result<int64_t> ParseInt(const json& v, std::string_view key) {
  if (v.is_number_unsigned()) {
    if (v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Bad("\"" + std::string(key) + "\": " + v.dump() + " is out of the int range");
    }
    return static_cast<int64_t>(v.get<uint64_t>());
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  return WrongKind(key, "an integer", v);
}

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// "2026-11-29T09:34:06.123456Z", "2026-11-29t09:34:06+02:00", "2026-11-29 09:34:06Z".
// Digits past microseconds are truncated.
bool ParseRfc3339(std::string_view s, int64_t* micros) {
  size_t i = 0;
  auto num = [&](int n, int* out) {
    *out = 0;
    for (int k = 0; k < n; ++k, ++i) {
      if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
      *out = *out * 10 + (s[i] - '0');
    }
    return true;
  };
  auto lit = [&](std::string_view chars) {
    if (i >= s.size() || chars.find(s[i]) == std::string_view::npos) return false;
    ++i;
    return true;
  };
  int y, mo, d, h, mi, sec, oh = 0, om = 0;
  if (!num(4, &y) || !lit("-") || !num(2, &mo) || !lit("-") || !num(2, &d) || !lit("Tt ") ||
      !num(2, &h) || !lit(":") || !num(2, &mi) || !lit(":") || !num(2, &sec)) {
    return false;
  }
  int64_t frac = 0;
  if (lit(".")) {
    int digits = 0;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++digits) {
      if (digits < 6) frac = frac * 10 + (s[i] - '0');
    }
    if (digits == 0) return false;
    for (; digits < 6; ++digits) frac *= 10;
  }
  int sign = 0;
  if (!lit("Zz")) {
    if (i >= s.size() || (s[i] != '+' && s[i] != '-')) return false;
    sign = s[i++] == '+' ? 1 : -1;
    if (!num(2, &oh) || !lit(":") || !num(2, &om)) return false;
  }
  if (i != s.size() || mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, mo) || h > 23 || mi > 59 ||
      sec > 60 || oh > 23 || om > 59) {
    return false;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  const int64_t secs = static_cast<int64_t>(::timegm(&tm)) - sign * (oh * 3600 + om * 60);
  *micros = secs * 1000000 + frac;
  return true;
}

// A time: an RFC 3339 string or epoch seconds (a number, may be fractional).
Result<int64_t> ParseTime(const json& v, std::string_view key) {
  if (v.is_number()) {
    double secs = v.get<double>();
    if (!(std::fabs(secs) < 9.2e12)) return WrongKind(key, "a time", v);
    return static_cast<int64_t>(std::llround(secs * 1e6));
  }
  int64_t micros = 0;
  if (v.is_string() && ParseRfc3339(v.get_ref<const std::string&>(), &micros)) return micros;
  return WrongKind(key, "an RFC 3339 time (2026-11-29T09:34:06.123456Z) or epoch seconds", v);
}

// ---- one operation ---------------------------------------------------------------------

struct OpSpec {
  std::string_view name;
  std::vector<std::string_view> keys;  // besides "op" and "path"
};

const std::vector<OpSpec>& Ops() {
  static const std::vector<OpSpec> ops = {
      {"assign", {"value", "type"}},
      {"append", {"value", "step", "timestamp", "type"}},
      {"extend", {"values", "steps", "timestamps", "type"}},
      {"add", {"values"}},
      {"remove", {"values"}},
      {"clear", {}},
      {"delete", {}},
  };
  return ops;
}

bool IsFileOp(std::string_view op) {
  return op == "upload" || op == "upload_files" || op == "delete_files" || op == "append_file" ||
         op == "track_files";
}

// The member `key` of `j`; null when absent.
const json& Member(const json& j, std::string_view key) {
  static const json kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

Result<std::string> OptionalString(const json& j, std::string_view key) {
  const json& v = Member(j, key);
  if (v.is_null()) return std::string();
  if (!v.is_string()) return WrongKind(key, "a string", v);
  return v.get<std::string>();
}

Result<uint64_t> Assign(Run& run, const std::string& path, const json& j) {
  const json& v = Member(j, "value");
  if (v.is_null()) return WrongKind("value", "a number, a boolean or a string", v);
  RUNLOG_ASSIGN_OR_RETURN(std::string type, OptionalString(j, "type"));
  if (type.empty()) {
    if (v.is_boolean()) return run.AssignBool(path, v.get<bool>());
    if (v.is_number_integer()) {
      RUNLOG_ASSIGN_OR_RETURN(int64_t i, ParseInt(v, "value"));
      return run.AssignInt(path, i);
    }
    if (v.is_number()) return run.AssignFloat(path, v.get<double>());
    if (v.is_string()) return run.AssignString(path, v.get_ref<const std::string&>());
    return WrongKind("value", "a number, a boolean or a string", v);
  }
  if (type == "float") {
    RUNLOG_ASSIGN_OR_RETURN(double f, ParseFloat(v, "value"));
    return run.AssignFloat(path, f);
  }
  if (type == "int") {
    RUNLOG_ASSIGN_OR_RETURN(int64_t i, ParseInt(v, "value"));
    return run.AssignInt(path, i);
  }
  if (type == "bool") {
    if (!v.is_boolean()) return WrongKind("value", "true or false", v);
    return run.AssignBool(path, v.get<bool>());
  }
  if (type == "string") {
    if (!v.is_string()) return WrongKind("value", "a string", v);
    return run.AssignString(path, v.get_ref<const std::string&>());
  }
  if (type == "datetime") {
    RUNLOG_ASSIGN_OR_RETURN(int64_t micros, ParseTime(v, "value"));
    return run.AssignDatetime(path, Datetime{micros});
  }
  return Bad("unknown assign type \"" + type + "\"; expected float, int, bool, string, datetime");
}

// Whether values go to a float series (true) or a string series: "type" when given, else the
// kind of the values (all numbers or all strings).
Result<bool> IsFloatSeries(const json& j, const std::vector<const json*>& values) {
  RUNLOG_ASSIGN_OR_RETURN(std::string type, OptionalString(j, "type"));
  if (type == "float_series") return true;
  if (type == "string_series") return false;
  if (!type.empty()) {
    return Bad("unknown series type \"" + type + "\"; expected float_series, string_series");
  }
  bool numbers = std::all_of(values.begin(), values.end(), [](auto* v) { return v->is_number(); });
  bool strings = std::all_of(values.begin(), values.end(), [](auto* v) { return v->is_string(); });
  if (numbers) return true;
  if (strings) return false;
  return Bad(
      "values must be all numbers (a float series) or all strings (a string series); "
      "\"type\":\"float_series\" makes \"NaN\", \"Infinity\", \"-Infinity\" floats");
}

Result<uint64_t> AppendPoint(Run& run, const std::string& path, const json& j) {
  const json& v = Member(j, "value");
  if (v.is_null()) return WrongKind("value", "a number or a string", v);
  RUNLOG_ASSIGN_OR_RETURN(bool floats, IsFloatSeries(j, {&v}));
  PointOptions options;
  const json& step = Member(j, "step");
  if (!step.is_null()) {
    if (!step.is_number()) return WrongKind("step", "a number", step);
    options.step = step.get<double>();
  }
  const json& ts = Member(j, "timestamp");
  if (!ts.is_null()) {
    RUNLOG_ASSIGN_OR_RETURN(options.timestamp_us, ParseTime(ts, "timestamp"));
  }
  if (floats) {
    RUNLOG_ASSIGN_OR_RETURN(double f, ParseFloat(v, "value"));
    return run.Append(path, f, options);
  }
  if (!v.is_string()) return WrongKind("value", "a string", v);
  return run.AppendString(path, v.get_ref<const std::string&>(), options);
}

// The non-empty array `key` of `j`.
Result<const json*> NonEmptyArray(const json& j, std::string_view key) {
  const json& v = Member(j, key);
  if (!v.is_array() || v.empty()) return WrongKind(key, "a non-empty array", v);
  return &v;
}

Result<uint64_t> ExtendSeries(Run& run, const std::string& path, const json& j) {
  RUNLOG_ASSIGN_OR_RETURN(const json* values, NonEmptyArray(j, "values"));
  std::vector<const json*> items;
  for (const json& v : *values) items.push_back(&v);
  RUNLOG_ASSIGN_OR_RETURN(bool floats, IsFloatSeries(j, items));
  std::vector<double> steps;
  std::vector<int64_t> timestamps;
  for (std::string_view key : {"steps", "timestamps"}) {
    const json& arr = Member(j, key);
    if (arr.is_null()) continue;
    if (!arr.is_array() || arr.size() != values->size()) {
      return WrongKind(key, "an array as long as \"values\"", arr);
    }
    for (const json& x : arr) {
      if (key == "steps") {
        if (!x.is_number()) return WrongKind("steps", "numbers", x);
        steps.push_back(x.get<double>());
      } else {
        RUNLOG_ASSIGN_OR_RETURN(int64_t t, ParseTime(x, "timestamps"));
        timestamps.push_back(t);
      }
    }
  }
  if (floats) {
    std::vector<double> f;
    for (const json& v : *values) {
      RUNLOG_ASSIGN_OR_RETURN(double d, ParseFloat(v, "values"));
      f.push_back(d);
    }
    return run.Extend(path, f, steps, timestamps);
  }
  std::vector<std::string> s;
  for (const json& v : *values) {
    if (!v.is_string()) return WrongKind("values", "strings", v);
    s.push_back(v.get<std::string>());
  }
  return run.ExtendStrings(path, s, steps, timestamps);
}

Result<uint64_t> AddOrRemove(Run& run, const std::string& path, const json& j, bool add) {
  RUNLOG_ASSIGN_OR_RETURN(const json* values, NonEmptyArray(j, "values"));
  std::vector<std::string> s;
  for (const json& v : *values) {
    if (!v.is_string()) return WrongKind("values", "strings", v);
    s.push_back(v.get<std::string>());
  }
  return add ? run.AddStrings(path, s) : run.RemoveStrings(path, s);
}

}  // namespace

Result<uint64_t> ApplyOperation(Run& run, const json& j) {
  if (!j.is_object()) return WrongKind("the line", "a JSON object", j);
  const json& opv = Member(j, "op");
  if (!opv.is_string()) return WrongKind("op", "a string", opv);
  const std::string& op = opv.get_ref<const std::string&>();
  if (IsFileOp(op)) return Bad("file operations are not supported yet (\"" + op + "\")");
  auto spec = std::find_if(Ops().begin(), Ops().end(), [&](auto& s) { return s.name == op; });
  if (spec == Ops().end()) {
    return Bad("unknown op \"" + op +
               "\"; expected assign, append, extend, add, remove, clear, delete");
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    if (key != "op" && key != "path" &&
        std::find(spec->keys.begin(), spec->keys.end(), key) == spec->keys.end()) {
      return Bad("unknown key \"" + key + "\" for op \"" + op + "\"");
    }
  }
  const json& pathv = Member(j, "path");
  if (!pathv.is_string()) return WrongKind("path", "a string", pathv);
  const std::string& path = pathv.get_ref<const std::string&>();
  if (op == "assign") return Assign(run, path, j);
  if (op == "append") return AppendPoint(run, path, j);
  if (op == "extend") return ExtendSeries(run, path, j);
  if (op == "add" || op == "remove") return AddOrRemove(run, path, j, op == "add");
  if (op == "clear") return run.Clear(path);
  return run.Delete(path);
}

Result<uint64_t> ParseAndApply(Run& run, const std::string& line) {
  json j;
  try {
    j = json::parse(line);
  } catch (const json::exception& e) {
    // parse_error, and out_of_range for a number too large for a double ("1e999").
    std::string what = e.what();  // "[json.exception.parse_error.101] parse error at ..."
    return Bad("invalid JSON: " + what.substr(what.find("] ") + 2));
  }
  return ApplyOperation(run, j);
}

}  // namespace runlog::cli
