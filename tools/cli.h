// Shared pieces of the runlog command: exit codes and Status → exit code mapping.
#pragma once

#include <CLI/CLI.hpp>

#include "runlog/status.h"

namespace runlog::cli {

// Exit codes of every runlog command.
enum Exit : int {
  kExitOk = 0,
  kExitIoOrCorruption = 1,
  kExitUsage = 2,
  kExitRejected = 3,
  kExitNotFound = 4,
};

// A data-model rule the operation broke (exit code kExitRejected): the call was refused and
// nothing was logged; the rest of the run is fine.
inline bool IsRuleViolation(Code code) {
  switch (code) {
    case Code::kTypeMismatch:
    case Code::kPathConflict:
    case Code::kInvalidPath:
    case Code::kFieldLimitExceeded:
    case Code::kStepNotIncreasing:
    case Code::kValueTooLarge:
    case Code::kReadOnly: return true;
    default: return false;
  }
}

// Prints "runlog: <status>" to stderr and returns the exit code for it.
int Fail(const Status& status);

// Registers `runlog wal dump|verify|salvage` on `app`; `*exit_code` receives the result.
void AddWalCommands(CLI::App& app, int* exit_code);

// Registers `runlog log` (tools/log_command.cc) on `app`.
void AddLogCommand(CLI::App& app, int* exit_code);
// Registers `runlog fetch|show|errors` (tools/read_commands.cc) on `app`.
void AddReadCommands(CLI::App& app, int* exit_code);

}  // namespace runlog::cli
