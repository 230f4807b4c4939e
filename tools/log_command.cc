// `runlog log | fetch | show | errors`: writing and reading runs through the public API
// (include/runlog/runlog.h). Thin: parse a line or the arguments, call the API, print.
//
// `log` reads one JSON operation per line from stdin. Its rules where the issue is silent:
// - every rejected line is printed on stdout as {"line":N,"error":{"code","message"}}, with
//   or without --ack; --ack adds {"line":N,"lsn":L} for each accepted line. Every stdout
//   line is flushed at once, so what was printed survives kill -9 of this process.
// - blank lines are skipped (no output, still counted in N); unknown keys are rejected, so a
//   typo ("stpe") never silently drops a step.
// - append/extend: numbers make a float series, strings a string series; "type":
//   "float_series" makes "NaN"/"Infinity"/"-Infinity" floats, "string_series" insists on
//   strings. Without "type", a string is a string.
// - exit 3 when any line was rejected (bad input included), 1 when a write failed for another
//   reason (I/O, corruption, backlog timeout), 0 otherwise.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "format/record_json.h"
#include "runlog/runlog.h"
#include "tools/cli.h"
#include "tools/cli_output.h"

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

// Checks the shape of operation `j` and logs it; the LSN or why not.
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

// ---- runlog log ------------------------------------------------------------------------

bool IsRejection(Code code) {
  return IsRuleViolation(code) || code == Code::kNotFound || code == Code::kInvalidArgument;
}

// Input lines and the LSNs they were logged at, as runs of consecutive lines with
// consecutive LSNs: small however many lines are read.
class LineMap {
 public:
  void Add(uint64_t lsn, uint64_t line) {
    if (!spans_.empty()) {
      Span& s = spans_.back();
      if (s.lsn + s.count == lsn && s.line + s.count == line) {
        ++s.count;
        return;
      }
    }
    spans_.push_back({lsn, line, 1});
  }
  // The line logged at `lsn`, 0 when not logged by this invocation.
  uint64_t Find(uint64_t lsn) const {
    auto it = std::upper_bound(spans_.begin(), spans_.end(), lsn,
                               [](uint64_t l, const Span& s) { return l < s.lsn; });
    if (it == spans_.begin()) return 0;
    --it;
    return lsn < it->lsn + it->count ? it->line + (lsn - it->lsn) : 0;
  }
  bool empty() const { return spans_.empty(); }

 private:
  struct Span {
    uint64_t lsn, line, count;
  };
  std::vector<Span> spans_;
};

struct LogArgs {
  std::string repo, run, custom_run_id, mode = "async";
  bool ack = false;
};

// One `runlog log` invocation: logs lines into `run`, prints acks and errors, and keeps
// what the exit code needs.
class LogSession {
 public:
  LogSession(Run& run, bool ack) : run_(run), ack_(ack) {}

  // Logs input line `n` (1-based) and prints its ack or its error.
  void Process(uint64_t n, const std::string& line) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) return;
    ++operations_;
    Result<uint64_t> lsn = ParseAndApply(line);
    if (lsn.ok()) {
      lines_.Add(*lsn, n);
      if (ack_) Emit({{"line", n}, {"lsn", *lsn}});
      return;
    }
    Status s = lsn.status();
    if (s.code() == Code::kInvalidArgument) {
      s = Status(s.code(), "line " + std::to_string(n) + ": " + s.message());
    }
    Reject(n, s);
  }

  // Reports the operations of this invocation that the commit refused.
  void ReportCommitErrors() {
    if (lines_.empty()) return;
    auto rejected = run_.RejectedOperations();
    if (!rejected.ok()) {
      Failed(rejected.status().WithContext("listing the operations rejected at commit"));
      return;
    }
    for (const RejectedOperation& r : *rejected) {
      uint64_t line = lines_.Find(r.lsn);
      if (line != 0) Reject(line, r.status);
    }
  }

  // A failure that is no rejection (I/O, corruption, ...): exit code 1.
  void Failed(const Status& s) {
    std::fprintf(stderr, "runlog: %s\n", s.ToString().c_str());
    failed_ = true;
  }

  // Says how many lines were rejected; the exit code.
  int Finish() const {
    if (rejected_ > 0) {
      std::fprintf(stderr, "runlog: %llu of %llu operation(s) rejected\n",
                   static_cast<unsigned long long>(rejected_),
                   static_cast<unsigned long long>(operations_));
    }
    if (failed_) return kExitIoOrCorruption;
    return rejected_ > 0 ? kExitRejected : kExitOk;
  }

 private:
  Result<uint64_t> ParseAndApply(const std::string& line) {
    json j;
    try {
      j = json::parse(line);
    } catch (const json::parse_error& e) {
      std::string what = e.what();  // "[json.exception.parse_error.101] parse error at ..."
      return Bad("invalid JSON: " + what.substr(what.find("] ") + 2));
    }
    return ApplyOperation(run_, j);
  }

  // Prints the error line; a rejection makes the exit code 3, anything else 1.
  void Reject(uint64_t n, const Status& s) {
    Emit({{"line", n}, {"error", ErrorJson(s)}});
    if (IsRejection(s.code())) {
      ++rejected_;
    } else {
      Failed(s.WithContext("line " + std::to_string(n)));
    }
  }

  Run& run_;
  bool ack_;
  LineMap lines_;
  uint64_t operations_ = 0, rejected_ = 0;
  bool failed_ = false;
};

int Log(const LogArgs& args) {
  auto repo = Repository::Open(args.repo);
  if (!repo.ok()) return Fail(repo.status());
  RunOptions options;
  options.mode = args.mode == "sync"      ? Mode::kSync
                 : args.mode == "offline" ? Mode::kOffline
                                          : Mode::kAsync;
  options.resume = args.run;
  options.custom_run_id = args.custom_run_id;
  auto run = (*repo)->StartRun(options);
  if (!run.ok()) return Fail(run.status());
  Emit({{"run", (*run)->sys_id()}});

  LogSession session(**run, args.ack);
  std::string line;
  uint64_t n = 0;
  while (std::getline(std::cin, line)) session.Process(++n, line);
  if (std::cin.bad()) session.Failed(Status::IOError("reading stdin failed"));
  Status stop = (*run)->Stop();
  if (!stop.ok()) session.Failed(stop.WithContext("stopping the run"));
  session.ReportCommitErrors();
  return session.Finish();
}

}  // namespace

void AddLogCommand(CLI::App& app, int* exit_code) {
  CLI::App* log = app.add_subcommand(
      "log", "Log operations (one JSON object per line on stdin) into a run of REPO");
  static LogArgs log_args;
  log->add_option("REPO", log_args.repo, "The repository (created when missing)")->required();
  CLI::Option* run = log->add_option("--run", log_args.run, "Resume this run (sys/id or uuid)");
  log->add_option("--custom-run-id", log_args.custom_run_id,
                  "Resume the run with this custom id, creating it when missing")
      ->excludes(run);
  log->add_option("--mode", log_args.mode, "async (default), sync or offline")
      ->check(CLI::IsMember({"async", "sync", "offline"}));
  log->add_flag("--ack", log_args.ack, "Print {\"line\":N,\"lsn\":L} for each logged line");
  log->callback([=] { *exit_code = Log(log_args); });
}

}  // namespace runlog::cli
