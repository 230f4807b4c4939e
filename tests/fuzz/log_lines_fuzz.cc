// libFuzzer target for the input of `runlog log`: the bytes are split into lines and each
// non-blank line goes through ParseAndApply (tools/log_ops.h), the code the command runs,
// into a fresh debug-mode run (in memory; small field, string and chunk limits so that
// every rule can trigger). Properties checked beyond "no crash, no exception":
//   - a rejected line gets a rejection (InvalidArgument, NotFound or a rule violation) with
//     a message, and logs nothing: the run's logged LSN does not move;
//   - an accepted line gets the next LSN;
//   - an accepted assign reads back as the value the line gave (an integer may read as a
//     Float, the field's widening), an accepted append or extend as the series' last point;
//   - afterwards the run is usable: everything commits with no rejected operation (each
//     write was checked before it was logged), a write to a path no line named succeeds
//     (or meets the field limit when the run is full), and the run stops cleanly.
//   scripts/fuzz [SECONDS]; the corpus (tests/fuzz/corpus/log_lines) is replayed by
//   log_lines_corpus_tests.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "runlog/runlog.h"
#include "tools/cli.h"
#include "tools/log_ops.h"

namespace {

using namespace runlog;
using nlohmann::json;

constexpr size_t kMaxLines = 64;
constexpr size_t kMaxFields = 12;
constexpr size_t kMaxStringBytes = 64;
constexpr std::string_view kProbePath = "zz-probe";

void Check(bool ok, const char* what, const std::string& detail = "") {
  if (!ok) {
    std::fprintf(stderr, "log_lines_fuzz: property violated: %s %s\n", what, detail.c_str());
    std::abort();
  }
}

Repository& Repo() {
  static Repository* repo = [] {
    std::string tmpl = "/tmp/runlog-fuzz-log-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    auto r = Repository::Open(tmpl + "/repo");
    Check(r.ok(), "the repository opens", r.ok() ? "" : r.status().ToString());
    return r->release();
  }();
  return *repo;
}

bool SameDouble(double got, double want) {
  return std::isnan(want) ? std::isnan(got) : std::memcmp(&got, &want, sizeof got) == 0;
}

// The double a JSON value stands for in a float position, if it is one.
bool FloatOf(const json& v, double* out) {
  if (v.is_number()) {
    *out = v.get<double>();
    return true;
  }
  if (!v.is_string()) return false;
  const std::string& s = v.get_ref<const std::string&>();
  if (s == "NaN")
    *out = std::nan("");
  else if (s == "Infinity")
    *out = INFINITY;
  else if (s == "-Infinity")
    *out = -INFINITY;
  else
    return false;
  return true;
}

// An accepted assign: the field holds what the line said.
void CheckAssign(Run& run, const std::string& path, const json& j) {
  const json& v = j["value"];
  std::string type;
  if (auto t = j.find("type"); t != j.end() && t->is_string()) type = *t;
  auto atom = run.Fetch(path);
  Check(atom.ok(), "an accepted assign reads back", atom.ok() ? path : atom.status().ToString());
  if (type == "datetime") {
    Check(atom->type == FieldType::kDatetime, "a datetime assign makes a Datetime", path);
  } else if (v.is_boolean()) {
    Check(atom->type == FieldType::kBool && std::get<bool>(atom->value) == v.get<bool>(),
          "a bool assign reads back", path);
  } else if (v.is_string() && type != "float") {
    Check(atom->type == FieldType::kString &&
              std::get<std::string>(atom->value) == v.get_ref<const std::string&>(),
          "a string assign reads back", path);
  } else if (v.is_number_integer() && type != "float") {
    const int64_t want =
        v.is_number_unsigned() ? static_cast<int64_t>(v.get<uint64_t>()) : v.get<int64_t>();
    if (atom->type == FieldType::kFloat) {  // an Int written to a Float field widens
      Check(SameDouble(std::get<double>(atom->value), static_cast<double>(want)),
            "an int assign to a Float field reads back as its double", path);
    } else {
      Check(atom->type == FieldType::kInt && std::get<int64_t>(atom->value) == want,
            "an int assign reads back", path);
    }
  } else {
    double want = 0;
    Check(FloatOf(v, &want), "an accepted float assign has a float value", j.dump());
    Check(atom->type == FieldType::kFloat && SameDouble(std::get<double>(atom->value), want),
          "a float assign reads back", path);
  }
}

// An accepted append or extend: the series ends with the line's last point.
void CheckLastPoint(Run& run, const std::string& path, const json& value, const json* step) {
  auto last = run.FetchLast(path);
  Check(last.ok(), "an accepted append reads back", last.ok() ? path : last.status().ToString());
  Check(last->count > 0, "a series appended to is not empty", path);
  if (step != nullptr && step->is_number()) {
    Check(SameDouble(last->last_step, step->get<double>()), "the last step is the line's", path);
  }
  double want = 0;
  if (last->type == FieldType::kFloatSeries) {
    Check(FloatOf(value, &want) && SameDouble(last->last, want), "the last float is the line's",
          path);
  } else {
    Check(last->type == FieldType::kStringSeries && value.is_string() &&
              last->last_string == value.get_ref<const std::string&>(),
          "the last string is the line's", path);
  }
}

// What an accepted line must have done, read back through the API.
void CheckAccepted(Run& run, const json& j) {
  const std::string& op = j["op"].get_ref<const std::string&>();
  const std::string& path = j["path"].get_ref<const std::string&>();
  if (op == "assign") {
    CheckAssign(run, path, j);
  } else if (op == "append") {
    CheckLastPoint(run, path, j["value"], j.contains("step") ? &j["step"] : nullptr);
  } else if (op == "extend") {
    const json* steps = j.contains("steps") && j["steps"].is_array() ? &j["steps"].back() : nullptr;
    CheckLastPoint(run, path, j["values"].back(), steps);
  } else if (op == "add" || op == "remove") {
    auto set = run.FetchSet(path);
    Check(set.ok(), "an accepted set change reads back", set.ok() ? path : set.status().ToString());
    for (const json& v : j["values"]) {
      const bool in =
          std::find(set->begin(), set->end(), v.get_ref<const std::string&>()) != set->end();
      Check(in == (op == "add"), "added strings are in the set, removed ones are not", path);
    }
  } else if (op == "delete") {
    auto exists = run.Exists(path);
    Check(exists.ok() && !*exists, "a deleted path is gone", path);
  }
}

bool IsRejection(Code code) {
  return cli::IsRuleViolation(code) || code == Code::kNotFound || code == Code::kInvalidArgument;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  RunOptions options;
  options.mode = Mode::kDebug;
  options.max_fields = kMaxFields;
  options.max_string_bytes = kMaxStringBytes;
  options.series_chunk_points = 4;
  auto started = Repo().StartRun(options);
  Check(started.ok(), "a debug run starts", started.ok() ? "" : started.status().ToString());
  Run& run = **started;

  const std::string_view input(reinterpret_cast<const char*>(data), size);
  bool probe_named = false;  // some accepted line wrote at or under kProbePath
  size_t lines = 0;
  for (size_t begin = 0; begin <= input.size() && lines < kMaxLines; ++lines) {
    size_t end = input.find('\n', begin);
    if (end == std::string_view::npos) end = input.size();
    const std::string line(input.substr(begin, end - begin));
    begin = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;  // as the command

    const uint64_t before = run.stats().logged_lsn;
    Result<uint64_t> lsn = cli::ParseAndApply(run, line);
    if (!lsn.ok()) {
      Check(IsRejection(lsn.status().code()), "a bad line is a rejection", lsn.status().ToString());
      Check(!lsn.status().message().empty(), "a rejection says why");
      Check(run.stats().logged_lsn == before, "a rejected line logs nothing");
      continue;
    }
    Check(*lsn == before + 1, "an accepted line gets the next LSN");
    const json j = json::parse(line);  // it parsed once, it parses again
    const std::string& path = j["path"].get_ref<const std::string&>();
    if (path.compare(0, kProbePath.size(), kProbePath) == 0) probe_named = true;
    CheckAccepted(run, j);
  }

  Status waited = run.Wait();
  Check(waited.ok(), "everything accepted commits", waited.ToString());
  auto rejected = run.RejectedOperations();
  Check(rejected.ok() && rejected->empty(), "the commit rejects nothing that was checked",
        rejected.ok() && !rejected->empty() ? rejected->front().status.ToString() : "");
  if (!probe_named) {
    auto probe = run.AssignInt(kProbePath, 1);
    if (!probe.ok()) {
      auto structure = run.GetStructure();
      size_t user_fields = 0;
      if (structure.ok()) {
        for (const FieldInfo& f : *structure) user_fields += f.path.rfind("sys/", 0) != 0;
      }
      Check(probe.status().Is(Code::kFieldLimitExceeded) && user_fields >= kMaxFields,
            "the run takes a write to a fresh path", probe.status().ToString());
    }
  }
  Status stopped = run.Stop();
  Check(stopped.ok(), "the run stops", stopped.ToString());
  return 0;
}
