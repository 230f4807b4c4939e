// The operations of `runlog log`: one JSON object per input line, checked for its shape and
// applied to a run through the public API. The rules are in tools/log_command.cc's header
// comment; tools/log_command.cc prints what these return, and the fuzz target
// tests/fuzz/log_lines_fuzz.cc feeds them arbitrary lines.
//
// Thread safety: as the Run they write to.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "runlog/runlog.h"

namespace runlog::cli {

// Checks the shape of operation `j` and logs it into `run`; the LSN, or why not:
// InvalidArgument for a malformed operation, otherwise the run's own error (TypeMismatch,
// NotFound, ...). Never throws.
Result<uint64_t> ApplyOperation(Run& run, const nlohmann::json& j);

// Parses `line` as JSON and applies it (ApplyOperation); InvalidArgument "invalid JSON: ..."
// when the line is no JSON. Never throws, whatever the bytes.
Result<uint64_t> ParseAndApply(Run& run, const std::string& line);

}  // namespace runlog::cli
