// The fixture of the `runlog log | fetch | show | errors` tests (tests/tools/run_cli_*_test.cc):
// a fresh repository, the commands run against it, what `runlog log` printed, a writer on
// pipes, and operations as the JSON lines `runlog log` reads. The commands are those of the
// runlog executable of this build tree (RUNLOG_BINARY, see tests/CMakeLists.txt).
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/util/cli_runner.h"
#include "tests/util/temp_dir.h"

namespace runlog::test {

// One JSON value per line of `text`.
std::vector<nlohmann::json> JsonLines(const std::string& text);

// Operations, one JSON object per line, as `runlog log` reads them.
std::string Ops(const std::vector<nlohmann::json>& ops);

nlohmann::json Assign(const std::string& path, const nlohmann::json& value);
nlohmann::json Append(const std::string& path, const nlohmann::json& value);
nlohmann::json AppendAt(const std::string& path, const nlohmann::json& value, double step);
nlohmann::json Delete(const std::string& path);

bool Contains(const std::string& haystack, const std::string& needle);

// The steps of the points of a fetched series.
std::vector<double> Steps(const nlohmann::json& series);

// What `runlog log` printed: the run line, then per input line an ack or an error.
struct Logged {
  int exit_code = -1;
  std::string run;                      // {"run": ...}
  std::map<int, uint64_t> lsn;          // line -> LSN (--ack)
  std::map<int, nlohmann::json> error;  // line -> {"code", "message"}
  std::string out, err;
};

// A runlog writer started by RunCliTest::Spawn: stdin and stdout are pipes.
struct CliChild {
  pid_t pid = -1;
  FILE* in = nullptr;   // the child's stdin
  FILE* out = nullptr;  // the child's stdout

  // Sends one line and flushes it.
  void Send(const nlohmann::json& op);
  // The next line the child prints; "" at end of file.
  std::string ReadLine();
  // Closes stdin and waits; the exit code.
  int Finish();
};

class RunCliTest : public ::testing::Test {
 protected:
  CliResult Runlog(const std::string& args, const std::string& in = "");

  // `runlog log REPO <flags>` with `ops` on stdin.
  Logged Log(const std::vector<nlohmann::json>& ops,
             const std::string& flags = "--custom-run-id exp --ack");
  Logged LogText(const std::string& text, const std::string& flags);

  // `runlog fetch --json`; expects exit 0.
  nlohmann::json FetchJson(const std::string& path, const std::string& run = "exp",
                           const std::string& flags = "");
  CliResult Fetch(const std::string& path, const std::string& run = "exp",
                  const std::string& flags = "");

  // Starts `runlog log REPO <args...>` with piped stdin and stdout.
  CliChild Spawn(const std::vector<std::string>& args);

  TempDir tmp_;
  std::string repo_ = tmp_.Sub("repo");
};

}  // namespace runlog::test
