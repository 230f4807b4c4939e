// `runlog fetch | show | errors`: reading runs through the public API
// (include/runlog/runlog.h), read-only, beside a live writer or after a crash. Thin: parse
// the arguments, call the API, print.
//
// Rules where the issue is silent: fetch opens the repository without creating it (a missing
// one is exit 4); --from/--to/--limit apply to series only (exit 2 otherwise); in JSON,
// "count" and "last" describe the whole series whatever the range; show --json prints one
// object per field (atoms with "value", series with "count" and "last", sets with sorted
// "values"); errors prints nothing for a run without rejected operations.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
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
using wal::FloatToJson;
using wal::FormatTimeMicros;

Status Bad(std::string message) {
  return Status::InvalidArgument(std::move(message));
}

// ---- reading a run -------------------------------------------------------------------------

// A run opened read-only, with the repository it belongs to.
struct OpenRun {
  std::unique_ptr<Repository> repo;
  std::unique_ptr<Run> run;
};

Result<OpenRun> OpenForReading(const std::string& repo_path, const std::string& run_id) {
  RepositoryOptions ro;
  ro.create_if_missing = false;
  RUNLOG_ASSIGN_OR_RETURN(std::unique_ptr<Repository> repo, Repository::Open(repo_path, ro));
  RunOptions options;
  options.mode = Mode::kReadOnly;
  options.resume = run_id;
  RUNLOG_ASSIGN_OR_RETURN(std::unique_ptr<Run> run, repo->StartRun(options));
  return OpenRun{std::move(repo), std::move(run)};
}

// The type of the field at `path`; NotFound saying whether it is a namespace or nothing.
Result<FieldType> FieldTypeAt(Run& run, const std::string& path) {
  RUNLOG_ASSIGN_OR_RETURN(std::vector<FieldInfo> fields, run.GetStructure());
  const std::string prefix = path + "/";
  size_t under = 0;
  for (const FieldInfo& f : fields) {
    if (f.path == path) return f.type;
    if (f.path.starts_with(prefix)) ++under;
  }
  if (under > 0) {
    return Status::NotFound(path + " is a namespace of " + std::to_string(under) +
                            " field(s), not a field, in run " + run.sys_id() +
                            "; `runlog show` lists them");
  }
  return Status::NotFound("no field " + path + " in run " + run.sys_id());
}

bool IsAtom(FieldType t) {
  return t == FieldType::kFloat || t == FieldType::kInt || t == FieldType::kBool ||
         t == FieldType::kString || t == FieldType::kDatetime;
}
bool IsSeries(FieldType t) {
  return t == FieldType::kFloatSeries || t == FieldType::kStringSeries ||
         t == FieldType::kFileSeries;
}

Out AtomJson(const Atom& a) {
  if (auto* i = std::get_if<int64_t>(&a.value); i && a.type == FieldType::kFloat) {
    return FloatToJson(static_cast<double>(*i));
  }
  if (auto* d = std::get_if<double>(&a.value)) return FloatToJson(*d);
  if (auto* i = std::get_if<int64_t>(&a.value)) return *i;
  if (auto* b = std::get_if<bool>(&a.value)) return *b;
  if (auto* s = std::get_if<std::string>(&a.value)) return *s;
  return FormatTimeMicros(std::get<Datetime>(a.value).micros);
}

std::string AtomText(const Atom& a) {
  Out j = AtomJson(a);
  if (j.is_string()) return j.get<std::string>();
  return j.dump();
}

Out SeriesLastJson(const SeriesSummary& s) {
  if (s.count == 0) return nullptr;
  return s.type == FieldType::kFloatSeries ? Out(FloatToJson(s.last)) : Out(s.last_string);
}

struct FetchArgs {
  std::string repo, run, path;
  bool json = false;
  double from = 0, to = 0;
  size_t limit = 0;
  bool has_from = false, has_to = false, has_limit = false;
};

int FetchSeries(Run& run, const FetchArgs& a, FieldType type) {
  auto last = run.FetchLast(a.path);
  if (!last.ok()) return Fail(last.status());
  SeriesRange range;
  if (a.has_from) range.from = a.from;
  if (a.has_to) range.to = a.to;
  range.limit = a.limit;
  auto values = run.FetchValues(a.path, range);
  if (!values.ok()) return Fail(values.status());
  const bool floats = values->type == FieldType::kFloatSeries;
  Out points = Out::array();
  for (size_t i = 0; i < values->size(); ++i) {
    double step = floats ? values->floats[i].step : values->strings[i].step;
    int64_t ts = floats ? values->floats[i].timestamp_us : values->strings[i].timestamp_us;
    Out value = floats ? Out(FloatToJson(values->floats[i].value)) : Out(values->strings[i].value);
    if (a.json) {
      points.push_back({{"step", FloatToJson(step)},
                        {"timestamp", FormatTimeMicros(ts)},
                        {"value", std::move(value)}});
    } else {
      std::string text = value.is_string() ? OneLine(value.get<std::string>()) : value.dump();
      std::cout << StepText(step) << '\t' << FormatTimeMicros(ts) << '\t' << text << '\n';
    }
  }
  if (a.json) {
    Emit({{"path", a.path},
          {"type", std::string(TypeName(type))},
          {"count", last->count},
          {"last", SeriesLastJson(*last)},
          {"points", std::move(points)}});
  }
  return kExitOk;
}

int Fetch(const FetchArgs& a) {
  auto reader = OpenForReading(a.repo, a.run);
  if (!reader.ok()) return Fail(reader.status());
  Run& run = *reader->run;
  auto type = FieldTypeAt(run, a.path);
  if (!type.ok()) return Fail(type.status());
  const std::string type_name(TypeName(*type));
  if (IsSeries(*type)) return FetchSeries(run, a, *type);
  if (a.has_from || a.has_to || a.has_limit) {
    return Fail(
        Bad("--from, --to and --limit select series points; " + a.path + " is a " + type_name));
  }
  if (IsAtom(*type)) {
    auto atom = run.Fetch(a.path);
    if (!atom.ok()) return Fail(atom.status());
    if (a.json) {
      Emit({{"path", a.path}, {"type", type_name}, {"value", AtomJson(*atom)}});
    } else {
      std::cout << AtomText(*atom) << '\n';
    }
    return kExitOk;
  }
  if (*type == FieldType::kStringSet) {
    auto set = run.FetchSet(a.path);
    if (!set.ok()) return Fail(set.status());
    std::sort(set->begin(), set->end());
    if (a.json) {
      Emit({{"path", a.path}, {"type", type_name}, {"values", *set}});
    } else {
      for (const std::string& v : *set) std::cout << OneLine(v) << '\n';
    }
    return kExitOk;
  }
  return Fail(Bad("fetch of " + type_name + " fields is not supported yet (" + a.path + ")"));
}

// ---- runlog show / errors --------------------------------------------------------------------

struct RunArgs {
  std::string repo, run;
  bool json = false;
};

// One field of `show --json`: path, type and the value (atoms), count and last (series) or
// the members (sets).
Result<Out> FieldJson(Run& run, const FieldInfo& f) {
  Out j = {{"path", f.path}, {"type", std::string(TypeName(f.type))}};
  if (IsAtom(f.type)) {
    RUNLOG_ASSIGN_OR_RETURN(Atom atom, run.Fetch(f.path));
    j["value"] = AtomJson(atom);
  } else if (IsSeries(f.type)) {
    RUNLOG_ASSIGN_OR_RETURN(SeriesSummary last, run.FetchLast(f.path));
    j["count"] = last.count;
    j["last"] = SeriesLastJson(last);
  } else if (f.type == FieldType::kStringSet) {
    RUNLOG_ASSIGN_OR_RETURN(std::vector<std::string> set, run.FetchSet(f.path));
    std::sort(set.begin(), set.end());
    j["values"] = set;
  }
  return j;
}

int Show(const RunArgs& a) {
  auto reader = OpenForReading(a.repo, a.run);
  if (!reader.ok()) return Fail(reader.status());
  Run& run = *reader->run;
  if (!a.json) {
    Status s = run.PrintStructure(std::cout);
    std::cout.flush();
    return s.ok() ? kExitOk : Fail(s);
  }
  auto fields = run.GetStructure();
  if (!fields.ok()) return Fail(fields.status());
  for (const FieldInfo& f : *fields) {
    auto j = FieldJson(run, f);
    if (!j.ok()) return Fail(j.status());
    Emit(*j);
  }
  return kExitOk;
}

int Errors(const RunArgs& a) {
  auto reader = OpenForReading(a.repo, a.run);
  if (!reader.ok()) return Fail(reader.status());
  auto rejected = reader->run->RejectedOperations();
  if (!rejected.ok()) return Fail(rejected.status());
  for (const RejectedOperation& r : *rejected) {
    if (a.json) {
      Out op = Out::parse(r.operation, nullptr, /*allow_exceptions=*/false);
      Emit({{"lsn", r.lsn},
            {"path", r.path},
            {"code", std::string(CodeName(r.status.code()))},
            {"message", r.status.message()},
            {"record_type", r.record_type},
            {"operation", op.is_discarded() ? Out(r.operation) : op}});
    } else {
      std::cout << "LSN " << r.lsn << ' ' << r.record_type << ' ' << OneLine(r.path) << ": "
                << CodeName(r.status.code()) << ": " << OneLine(r.status.message()) << '\n';
    }
  }
  return kExitOk;
}

}  // namespace

void AddReadCommands(CLI::App& app, int* exit_code) {
  CLI::App* fetch = app.add_subcommand("fetch", "Print the value of one field of a run");
  static FetchArgs fetch_args;
  fetch->add_option("REPO", fetch_args.repo, "The repository")->required();
  fetch->add_option("RUN", fetch_args.run, "sys/id, custom run id or uuid")->required();
  fetch->add_option("PATH", fetch_args.path, "The field")->required();
  fetch->add_flag("--json", fetch_args.json, "One JSON object");
  CLI::Option* from = fetch->add_option("--from", fetch_args.from, "Series: first step");
  CLI::Option* to = fetch->add_option("--to", fetch_args.to, "Series: last step");
  CLI::Option* limit = fetch->add_option("--limit", fetch_args.limit, "Series: at most N points");
  fetch->callback([=] {
    fetch_args.has_from = from->count() > 0;
    fetch_args.has_to = to->count() > 0;
    fetch_args.has_limit = limit->count() > 0;
    *exit_code = Fetch(fetch_args);
  });

  static RunArgs show_args, errors_args;
  CLI::App* show = app.add_subcommand("show", "Print every field of a run, sorted by path");
  show->add_option("REPO", show_args.repo, "The repository")->required();
  show->add_option("RUN", show_args.run, "sys/id, custom run id or uuid")->required();
  show->add_flag("--json", show_args.json, "One JSON object per field");
  show->callback([=] { *exit_code = Show(show_args); });

  CLI::App* errors =
      app.add_subcommand("errors", "Print the operations of a run that the commit rejected");
  errors->add_option("REPO", errors_args.repo, "The repository")->required();
  errors->add_option("RUN", errors_args.run, "sys/id, custom run id or uuid")->required();
  errors->add_flag("--json", errors_args.json, "One JSON object per operation");
  errors->callback([=] { *exit_code = Errors(errors_args); });
}

}  // namespace runlog::cli
