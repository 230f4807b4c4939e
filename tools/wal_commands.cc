// `runlog wal dump | verify | salvage`: inspecting and rescuing write-ahead logs.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "format/record_json.h"
#include "format/records.h"
#include "format/salvage.h"
#include "format/wal_reader.h"
#include "tools/cli.h"

namespace runlog::cli {
namespace {

using nlohmann::json;
using wal::Damage;
using wal::RecoveryMode;

std::string TypeName(uint16_t type) {
  const char* name = wal::RecordTypeName(type);
  return name != nullptr ? name : "type" + std::to_string(type);
}

int Dump(const std::string& path, uint64_t from, const std::string& mode_name) {
  wal::ReaderOptions ro;
  ro.start_lsn = from;
  if (mode_name == "strict") ro.mode = RecoveryMode::kStrict;
  if (mode_name == "salvage") ro.mode = RecoveryMode::kSalvage;
  ro.on_damage = [](const Damage& d) {
    std::fprintf(stderr, "runlog: %s\n", d.ToString().c_str());
  };
  auto reader = wal::Reader::Open(path, ro);
  if (!reader.ok()) return Fail(reader.status());
  wal::Record rec;
  for (;;) {
    auto more = (*reader)->Next(&rec);
    if (!more.ok()) {
      std::cout.flush();
      return Fail(more.status());
    }
    if (!*more) break;
    json line = {{"lsn", rec.lsn},
                 {"type", TypeName(rec.type)},
                 {"op", wal::PayloadToJson(rec.type, rec.payload)}};
    std::cout << line.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
  }
  return kExitOk;
}

int Verify(const std::string& path) {
  std::vector<Damage> problems;
  wal::ReaderOptions ro;
  ro.mode = RecoveryMode::kSalvage;  // read on past damage to list every problem
  ro.on_damage = [&problems](const Damage& d) { problems.push_back(d); };
  auto reader = wal::Reader::Open(path, ro);
  if (!reader.ok()) return Fail(reader.status());
  wal::Record rec;
  uint64_t records = 0;
  wal::Lsn first = 0, last = 0;
  for (;;) {
    auto more = (*reader)->Next(&rec);
    if (!more.ok()) return Fail(more.status());
    if (!*more) break;
    if (records++ == 0) first = rec.lsn;
    last = rec.lsn;
  }
  for (const Damage& d : problems) std::cout << d.ToString() << '\n';
  if (!problems.empty()) {
    std::fprintf(stderr, "runlog: %zu problem(s) in %s; %llu verifiable record(s)\n",
                 problems.size(), path.c_str(), static_cast<unsigned long long>(records));
    return kExitIoOrCorruption;
  }
  std::cout << "ok: " << records << " record(s)";
  if (records > 0) std::cout << ", LSN " << first << ".." << last;
  std::cout << '\n';
  return kExitOk;
}

int Salvage(const std::string& path, const std::string& out) {
  auto result = wal::SalvageLog(path, out);
  if (!result.ok()) return Fail(result.status());
  json skipped = json::array();
  for (const Damage& d : result->damage) {
    std::fprintf(stderr, "runlog: skipped %s\n", d.ToString().c_str());
    skipped.push_back({{"segment", d.segment},
                       {"offset", d.offset},
                       {"length", d.length},
                       {"kind", wal::DamageKindName(d.kind)},
                       {"detail", d.detail}});
  }
  json summary = {{"records", result->records},   {"first_lsn", result->first_lsn},
                  {"last_lsn", result->last_lsn}, {"renumbered_from", result->renumbered_from},
                  {"skipped", skipped},           {"out", out}};
  std::cout << summary.dump() << '\n';
  return kExitOk;
}

}  // namespace

void AddWalCommands(CLI::App& app, int* exit_code) {
  CLI::App* wal = app.add_subcommand("wal", "Inspect, verify and salvage write-ahead logs");
  wal->require_subcommand(1);

  CLI::App* dump = wal->add_subcommand("dump", "Print one JSON object per record");
  static std::string dump_path, dump_mode = "tolerate";
  static uint64_t dump_from = 1;
  dump->add_option("PATH", dump_path, "A segment file, a wal/ directory or a run directory")
      ->required();
  dump->add_option("--from", dump_from, "First LSN to print")->check(CLI::PositiveNumber);
  dump->add_option("--mode", dump_mode, "Recovery mode: tolerate (default), strict, salvage")
      ->check(CLI::IsMember({"tolerate", "strict", "salvage"}));
  dump->callback([=] { *exit_code = Dump(dump_path, dump_from, dump_mode); });

  CLI::App* verify = wal->add_subcommand(
      "verify", "Check every record; print one line per problem, exit 0 only when clean");
  static std::string verify_path;
  verify->add_option("PATH", verify_path, "A segment file, a wal/ directory or a run directory")
      ->required();
  verify->callback([=] { *exit_code = Verify(verify_path); });

  CLI::App* salvage =
      wal->add_subcommand("salvage", "Copy every verifiable record into OUT, a new wal/ directory");
  static std::string salvage_path, salvage_out;
  salvage->add_option("PATH", salvage_path, "The damaged log")->required();
  salvage->add_option("OUT", salvage_out, "A new directory for the copy")->required();
  salvage->callback([=] { *exit_code = Salvage(salvage_path, salvage_out); });
}

}  // namespace runlog::cli
