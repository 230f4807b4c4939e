#include "tests/util/cli_runner.h"

#include <sys/wait.h>

#include <cstdlib>
#include <string>

#include "tests/util/temp_dir.h"
#include "tests/util/wal_fixtures.h"

namespace runlog::test {

std::string ShellQuote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

CliResult RunCli(const std::string& binary, const std::string& args,
                 const std::string& stdin_text) {
  TempDir io;
  WriteFile(io.Sub("in"), stdin_text);
  std::string cmd = ShellQuote(binary) + " " + args + " <" + ShellQuote(io.Sub("in")) + " >" +
                    ShellQuote(io.Sub("out")) + " 2>" + ShellQuote(io.Sub("err"));
  int status = std::system(cmd.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = ReadFile(io.Sub("out"));
  r.err = ReadFile(io.Sub("err"));
  return r;
}

std::string RunlogBinary() {
  if (const char* env = std::getenv("RUNLOG_BINARY"); env != nullptr && *env != '\0') return env;
  return RUNLOG_BINARY;
}

}  // namespace runlog::test
