// Runs the runlog binary as a user would and captures what it prints.
#pragma once

#include <string>

namespace runlog::test {

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `runlog <args>` (args are passed to /bin/sh: quote them) with `stdin_text` on
// standard input.
CliResult RunCli(const std::string& binary, const std::string& args,
                 const std::string& stdin_text = "");

// The runlog executable of this build tree (RUNLOG_BINARY, see tests/CMakeLists.txt), or
// $RUNLOG_BINARY when set.
std::string RunlogBinary();

// Single-quotes `s` for /bin/sh.
std::string ShellQuote(const std::string& s);

}  // namespace runlog::test
