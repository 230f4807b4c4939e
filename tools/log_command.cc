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
// The line -> operation rules themselves live in tools/log_ops.{h,cc} (shared with the fuzz
// target tests/fuzz/log_lines_fuzz.cc); this file is the command around them.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "runlog/runlog.h"
#include "tools/cli.h"
#include "tools/cli_output.h"
#include "tools/log_ops.h"

namespace runlog::cli {
namespace {

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
    Result<uint64_t> lsn = ParseAndApply(run_, line);
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
