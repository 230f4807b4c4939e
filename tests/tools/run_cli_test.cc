// `runlog log | fetch | show | errors` as a user runs them: every data-model rule of the
// issue through the command line, with real output and exit codes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "format/records.h"
#include "format/wal_writer.h"
#include "tests/util/cli_runner.h"
#include "tests/util/temp_dir.h"

namespace runlog {
namespace {

using nlohmann::json;
using test::ShellQuote;

std::vector<json> JsonLines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
  return out;
}

// Operations, one JSON object per line, as `runlog log` reads them.
std::string Ops(const std::vector<json>& ops) {
  std::string text;
  for (const json& op : ops) text += op.dump() + "\n";
  return text;
}

// What `runlog log` printed: the run line, then per input line an ack or an error.
struct Logged {
  int exit_code = -1;
  std::string run;              // {"run": ...}
  std::map<int, uint64_t> lsn;  // line -> LSN (--ack)
  std::map<int, json> error;    // line -> {"code", "message"}
  std::string out, err;
};

// The child runlog writer of the concurrency tests: stdin and stdout are pipes.
struct Child {
  pid_t pid = -1;
  FILE* in = nullptr;   // the child's stdin
  FILE* out = nullptr;  // the child's stdout

  // Sends one line and flushes it.
  void Send(const json& op) {
    std::fputs((op.dump() + "\n").c_str(), in);
    std::fflush(in);
  }
  // The next line the child prints; "" at end of file.
  std::string ReadLine() {
    char buf[4096];
    return std::fgets(buf, sizeof(buf), out) != nullptr ? std::string(buf) : std::string();
  }
  // Closes stdin and waits; the exit code.
  int Finish() {
    if (in != nullptr) std::fclose(in);
    in = nullptr;
    int status = 0;
    waitpid(pid, &status, 0);
    if (out != nullptr) std::fclose(out);
    out = nullptr;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
};

class RunCliTest : public ::testing::Test {
 protected:
  test::CliResult Runlog(const std::string& args, const std::string& in = "") {
    return test::RunCli(RUNLOG_BINARY, args, in);
  }

  // `runlog log REPO <flags>` with `ops` on stdin.
  Logged Log(const std::vector<json>& ops, const std::string& flags = "--custom-run-id exp --ack") {
    return LogText(Ops(ops), flags);
  }
  Logged LogText(const std::string& text, const std::string& flags) {
    test::CliResult r = Runlog("log " + ShellQuote(repo_) + " " + flags, text);
    Logged l;
    l.exit_code = r.exit_code;
    l.out = r.out;
    l.err = r.err;
    std::vector<json> lines = JsonLines(r.out);
    if (!lines.empty() && lines[0].contains("run")) l.run = lines[0]["run"];
    for (size_t i = 1; i < lines.size(); ++i) {
      int n = lines[i]["line"];
      if (lines[i].contains("lsn")) l.lsn[n] = lines[i]["lsn"];
      if (lines[i].contains("error")) l.error[n] = lines[i]["error"];
    }
    return l;
  }

  // `runlog fetch --json`; expects exit 0.
  json FetchJson(const std::string& path, const std::string& run = "exp",
                 const std::string& flags = "") {
    test::CliResult r = Runlog("fetch " + ShellQuote(repo_) + " " + ShellQuote(run) + " " +
                               ShellQuote(path) + " --json " + flags);
    EXPECT_EQ(r.exit_code, 0) << path << ": " << r.err;
    std::vector<json> lines = JsonLines(r.out);
    EXPECT_EQ(lines.size(), 1u) << r.out;
    return lines.empty() ? json() : lines[0];
  }
  test::CliResult Fetch(const std::string& path, const std::string& run = "exp",
                        const std::string& flags = "") {
    return Runlog("fetch " + ShellQuote(repo_) + " " + ShellQuote(run) + " " + ShellQuote(path) +
                  " " + flags);
  }

  // Starts `runlog log REPO <args...>` with piped stdin and stdout.
  Child Spawn(const std::vector<std::string>& args) {
    signal(SIGPIPE, SIG_IGN);  // a child that died must fail the test, not kill it
    int in_pipe[2], out_pipe[2];
    EXPECT_EQ(pipe(in_pipe), 0);
    EXPECT_EQ(pipe(out_pipe), 0);
    Child c;
    c.pid = fork();
    if (c.pid == 0) {
      dup2(in_pipe[0], 0);
      dup2(out_pipe[1], 1);
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 2);
      for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], devnull}) close(fd);
      std::vector<char*> argv = {const_cast<char*>(RUNLOG_BINARY), const_cast<char*>("log"),
                                 repo_.data()};
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(RUNLOG_BINARY, argv.data());
      _exit(127);
    }
    close(in_pipe[0]);
    close(out_pipe[1]);
    c.in = fdopen(in_pipe[1], "w");
    c.out = fdopen(out_pipe[0], "r");
    return c;
  }

  test::TempDir tmp_;
  std::string repo_ = tmp_.Sub("repo");
};

json Assign(const std::string& path, const json& value) {
  return {{"op", "assign"}, {"path", path}, {"value", value}};
}
json Append(const std::string& path, const json& value) {
  return {{"op", "append"}, {"path", path}, {"value", value}};
}
json AppendAt(const std::string& path, const json& value, double step) {
  return {{"op", "append"}, {"path", path}, {"value", value}, {"step", step}};
}
json Delete(const std::string& path) {
  return {{"op", "delete"}, {"path", path}};
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::vector<double> Steps(const json& series) {
  std::vector<double> steps;
  for (const json& p : series["points"]) steps.push_back(p["step"].get<double>());
  return steps;
}

// ---- rule 1: assign and overwrite ----------------------------------------------------------

TEST_F(RunCliTest, AssignedStringIsFetchedAndAReassignmentReplacesIt) {
  Logged l = Log({Assign("params/activation", "ReLU")});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  EXPECT_EQ(Fetch("params/activation").out, "ReLU\n");
  EXPECT_EQ(FetchJson("params/activation"),
            json({{"path", "params/activation"}, {"type", "string"}, {"value", "ReLU"}}));

  ASSERT_EQ(Log({Assign("params/activation", "ELU")}).exit_code, 0);
  EXPECT_EQ(Fetch("params/activation").out, "ELU\n");
  EXPECT_EQ(FetchJson("params/activation")["value"], "ELU");
}

// ---- rule 2: the type is fixed by the first write ------------------------------------------

TEST_F(RunCliTest, AnotherTypeAtAFloatFieldIsTypeMismatchNamingPathAndTypes) {
  ASSERT_EQ(Log({Assign("parameters/momentum", 0.9)}).exit_code, 0);
  Logged l = Log({Assign("parameters/momentum", "fast"), Append("parameters/momentum", 1.5),
                  Assign("parameters/momentum_file", "sample.csv")});
  EXPECT_EQ(l.exit_code, 3);
  ASSERT_TRUE(l.error.count(1)) << l.out;
  EXPECT_EQ(l.error[1]["code"], "TypeMismatch");
  std::string m1 = l.error[1]["message"];
  EXPECT_TRUE(Contains(m1, "parameters/momentum")) << m1;
  EXPECT_TRUE(Contains(m1, "Float")) << m1;
  EXPECT_TRUE(Contains(m1, "String")) << m1;
  ASSERT_TRUE(l.error.count(2)) << l.out;
  EXPECT_EQ(l.error[2]["code"], "TypeMismatch");
  EXPECT_TRUE(Contains(l.error[2]["message"], "FloatSeries")) << l.error[2];
  EXPECT_TRUE(l.lsn.count(3)) << l.out;  // the neighbour in the same namespace works
  EXPECT_FALSE(l.error.count(3));

  EXPECT_EQ(FetchJson("parameters/momentum")["value"], 0.9);
  EXPECT_EQ(FetchJson("parameters/momentum")["type"], "float");
  EXPECT_EQ(FetchJson("parameters/momentum_file")["value"], "sample.csv");
}

// ---- rule 3: Int widens into Float, not the reverse ------------------------------------------

TEST_F(RunCliTest, IntWidensIntoAFloatFieldAndAFloatIntoAnIntFieldIsTypeMismatch) {
  Logged l = Log({Assign("lr", 0.5),
                  Assign("lr", 3),
                  Assign("batch", 32),
                  Assign("batch", 0.5),
                  {{"op", "assign"}, {"path", "beta"}, {"value", 2}, {"type", "float"}}});
  EXPECT_EQ(l.exit_code, 3);
  EXPECT_TRUE(l.lsn.count(2)) << l.out;
  ASSERT_TRUE(l.error.count(4)) << l.out;
  EXPECT_EQ(l.error[4]["code"], "TypeMismatch");
  EXPECT_TRUE(Contains(l.error[4]["message"], "batch is Int, not Float")) << l.error[4];

  json lr = FetchJson("lr");
  EXPECT_EQ(lr["type"], "float");
  EXPECT_EQ(lr["value"], 3.0);
  EXPECT_TRUE(lr["value"].is_number_float()) << lr;
  EXPECT_EQ(Fetch("lr").out, "3.0\n");
  EXPECT_EQ(FetchJson("batch"), json({{"path", "batch"}, {"type", "int"}, {"value", 32}}));
  EXPECT_EQ(FetchJson("beta")["type"], "float");  // "type":"float" makes 2 a Float
}

// ---- rule 4: delete --------------------------------------------------------------------------

TEST_F(RunCliTest, DeleteFreesAFieldOrANamespaceAndOldDataNeverReappears) {
  ASSERT_EQ(Log({Assign("x", 1), Append("train/loss", 0.5), Append("train/loss", 0.4),
                 Assign("train/acc", 0.9), Assign("train/deep/x", "y")})
                .exit_code,
            0);
  Logged l = Log({Delete("x"), Delete("train"), Assign("x", "now a string"),
                  Append("train/loss", 7.0), Assign("train", true), Delete("nothing/here")});
  EXPECT_EQ(l.exit_code, 3);  // line 5: "train" is a namespace again; line 6: NotFound
  for (int n : {1, 2, 3, 4}) EXPECT_TRUE(l.lsn.count(n)) << n << ": " << l.out;
  EXPECT_EQ(l.error[5]["code"], "PathConflict");
  EXPECT_EQ(l.error[6]["code"], "NotFound");

  EXPECT_EQ(FetchJson("x")["value"], "now a string");
  json loss = FetchJson("train/loss");
  EXPECT_EQ(loss["count"], 1);
  EXPECT_EQ(loss["last"], 7.0);
  ASSERT_EQ(loss["points"].size(), 1u) << loss;
  EXPECT_EQ(loss["points"][0]["value"], 7.0);
  EXPECT_EQ(loss["points"][0]["step"], 0.0);  // a new series starts again at step 0
  EXPECT_EQ(Fetch("train/acc").exit_code, 4);
  EXPECT_EQ(Fetch("train/deep/x").exit_code, 4);

  // Deleted again and recreated as another type: still only the new data.
  ASSERT_EQ(Log({Delete("train/loss"), Assign("train/loss", "gone")}).exit_code, 0);
  EXPECT_EQ(FetchJson("train/loss"),
            json({{"path", "train/loss"}, {"type", "string"}, {"value", "gone"}}));
}

// ---- rule 5: the field limit ---------------------------------------------------------------

TEST_F(RunCliTest, NineThousandFieldsFitTheNextIsFieldLimitExceededAndADeleteMakesRoom) {
  std::string text;
  for (int i = 1; i < 9000; ++i) text += Assign("f/" + std::to_string(i), i).dump() + "\n";
  // A series of many points is one field: 8999 + 1 = 9000.
  json values = json::array();
  for (int i = 0; i < 5000; ++i) values.push_back(i * 0.5);
  text += json({{"op", "extend"}, {"path", "s"}, {"values", values}}).dump() + "\n";
  for (int i = 0; i < 100; ++i) text += Append("s", i).dump() + "\n";
  Logged full = LogText(text, "--custom-run-id exp");
  ASSERT_EQ(full.exit_code, 0) << full.err << full.out.substr(0, 2000);
  EXPECT_TRUE(full.error.empty());
  EXPECT_EQ(FetchJson("s")["count"], 5100);

  Logged l = Log({Assign("g", 1), Append("s", 1.0), Delete("f/1"), Assign("g", 1), Assign("h", 1)});
  EXPECT_EQ(l.exit_code, 3);
  ASSERT_TRUE(l.error.count(1)) << l.out;
  EXPECT_EQ(l.error[1]["code"], "FieldLimitExceeded");
  EXPECT_TRUE(Contains(l.error[1]["message"], "9000")) << l.error[1];
  for (int n : {2, 3, 4}) EXPECT_TRUE(l.lsn.count(n)) << n << ": " << l.out;
  EXPECT_EQ(l.error[5]["code"], "FieldLimitExceeded");
  EXPECT_EQ(FetchJson("g")["value"], 1);
}

// ---- rule 6: paths ---------------------------------------------------------------------------

TEST_F(RunCliTest, FieldUnderAFieldOrAtANamespaceIsPathConflictAndBadPathsAreInvalidPath) {
  std::string ok_1024 = "p/" + std::string(1022, 'a');
  std::string long_1025 = "p/" + std::string(1023, 'a');
  Logged l = Log({Assign("a/b", 1), Assign("a/b/c", 1), Assign("a", 1), Assign("a//b", 1),
                  Assign(long_1025, 1),
                  Assign("bad\x01"
                         "char",
                         1),
                  Assign("/lead", 1), Assign("trail/", 1), Assign("", 1), Assign(ok_1024, 1)});
  EXPECT_EQ(l.exit_code, 3);
  EXPECT_TRUE(l.lsn.count(1));
  EXPECT_EQ(l.error[2]["code"], "PathConflict");
  EXPECT_TRUE(Contains(l.error[2]["message"], "a/b")) << l.error[2];
  EXPECT_EQ(l.error[3]["code"], "PathConflict");
  for (int n : {4, 5, 6, 7, 8, 9}) {
    EXPECT_EQ(l.error[n]["code"], "InvalidPath") << n << ": " << l.out;
  }
  EXPECT_TRUE(l.lsn.count(10)) << l.out;  // exactly 1024 bytes is fine

  // Bad UTF-8 cannot travel in JSON: the line itself is rejected.
  Logged utf8 =
      LogText("{\"op\":\"assign\",\"path\":\"x\xff\",\"value\":1}\n", "--custom-run-id exp");
  EXPECT_EQ(utf8.exit_code, 3);
  EXPECT_EQ(utf8.error[1]["code"], "InvalidArgument");
  EXPECT_TRUE(Contains(utf8.error[1]["message"], "line 1: invalid JSON")) << utf8.error[1];
}

// ---- rule 7: series --------------------------------------------------------------------------

TEST_F(RunCliTest, StepsStrictlyIncreaseAMissingStepIsLastPlusOneAndAStaleStepIsAnError) {
  Logged l = Log({AppendAt("loss", 0.9, 1),
                  AppendAt("loss", 0.8, 2),
                  AppendAt("loss", 0.7, 5),
                  Append("loss", 0.6),
                  AppendAt("loss", 0.5, 6),
                  AppendAt("loss", 0.5, 3),
                  {{"op", "extend"}, {"path", "loss"}, {"values", {0.4, 0.3}}, {"steps", {10, 10}}},
                  {{"op", "extend"}, {"path", "loss"}, {"values", {0.2, 0.1}}}});
  EXPECT_EQ(l.exit_code, 3);
  for (int n : {1, 2, 3, 4, 8}) EXPECT_TRUE(l.lsn.count(n)) << n << ": " << l.out;
  ASSERT_TRUE(l.error.count(5)) << l.out;
  EXPECT_EQ(l.error[5]["code"], "StepNotIncreasing");
  std::string m = l.error[5]["message"];
  EXPECT_TRUE(Contains(m, "loss")) << m;
  EXPECT_TRUE(Contains(m, "6")) << m;
  EXPECT_EQ(l.error[6]["code"], "StepNotIncreasing");
  EXPECT_TRUE(Contains(l.error[6]["message"], "3")) << l.error[6];
  EXPECT_EQ(l.error[7]["code"], "StepNotIncreasing");  // repeated step within one extend

  json loss = FetchJson("loss");
  EXPECT_EQ(Steps(loss), (std::vector<double>{1, 2, 5, 6, 7, 8}));
  EXPECT_EQ(loss["count"], 6);
  EXPECT_EQ(loss["last"], 0.1);
  // Step range and limit.
  EXPECT_EQ(Steps(FetchJson("loss", "exp", "--from 2 --to 6")), (std::vector<double>{2, 5, 6}));
  EXPECT_EQ(Steps(FetchJson("loss", "exp", "--from 5 --limit 2")), (std::vector<double>{5, 6}));
  EXPECT_EQ(FetchJson("loss", "exp", "--from 2 --to 6")["count"], 6);  // the whole series'
}

TEST_F(RunCliTest, NonFiniteFloatsRoundTripExactly) {
  Logged l = Log({
      {{"op", "append"}, {"path", "m"}, {"value", "NaN"}, {"type", "float_series"}},
      {{"op", "extend"},
       {"path", "m"},
       {"values", {"Infinity", "-Infinity", 1.5}},
       {"type", "float_series"}},
      {{"op", "assign"}, {"path", "a"}, {"value", "-Infinity"}, {"type", "float"}},
      Append("m", "NaN"),  // without "type" a string is a string: m is a float series
      Append("text", "NaN"),
  });
  EXPECT_EQ(l.exit_code, 3);
  for (int n : {1, 2, 3, 5}) EXPECT_TRUE(l.lsn.count(n)) << n << ": " << l.out;
  EXPECT_EQ(l.error[4]["code"], "TypeMismatch");

  json m = FetchJson("m");
  ASSERT_EQ(m["points"].size(), 4u) << m;
  EXPECT_EQ(m["points"][0]["value"], "NaN");
  EXPECT_EQ(m["points"][1]["value"], "Infinity");
  EXPECT_EQ(m["points"][2]["value"], "-Infinity");
  EXPECT_EQ(m["points"][3]["value"], 1.5);
  EXPECT_EQ(m["last"], 1.5);
  EXPECT_EQ(FetchJson("a")["value"], "-Infinity");
  EXPECT_EQ(Fetch("a").out, "-Infinity\n");
  json text = FetchJson("text");
  EXPECT_EQ(text["type"], "string_series");
  EXPECT_EQ(text["points"][0]["value"], "NaN");
  EXPECT_EQ(text["last"], "NaN");
}

TEST_F(RunCliTest, LongStringsAreKeptWholeAndOverOneMebibyteIsValueTooLarge) {
  std::string long_text(100 * 1024, 'x');
  long_text[0] = 'A';
  long_text.back() = 'Z';
  std::string max_text(1 << 20, 'm');
  std::string too_long((1 << 20) + 1, 't');
  Logged l = Log({Assign("notes", long_text),
                  Append("log", long_text),
                  Assign("max", max_text),
                  Assign("big", too_long),
                  Append("log", too_long),
                  {{"op", "add"}, {"path", "tags"}, {"values", {too_long}}}});
  EXPECT_EQ(l.exit_code, 3);
  for (int n : {1, 2, 3}) EXPECT_TRUE(l.lsn.count(n)) << n;
  for (int n : {4, 5, 6}) {
    EXPECT_EQ(l.error[n]["code"], "ValueTooLarge") << n;
  }
  EXPECT_EQ(FetchJson("notes")["value"], long_text);
  EXPECT_EQ(FetchJson("log")["points"][0]["value"], long_text);
  EXPECT_EQ(FetchJson("max")["value"].get<std::string>().size(), max_text.size());
  EXPECT_EQ(Fetch("big").exit_code, 4);
}

TEST_F(RunCliTest, TimestampsAreRfc3339OrEpochSecondsAndPrintAsRfc3339) {
  Logged l = Log({{{"op", "append"},
                   {"path", "acc"},
                   {"value", 0.5},
                   {"timestamp", "2026-11-29T09:34:06.123456Z"}},
                  {{"op", "append"}, {"path", "acc"}, {"value", 0.6}, {"timestamp", 1795944847.5}},
                  {{"op", "append"},
                   {"path", "acc"},
                   {"value", 0.7},
                   {"timestamp", "2026-11-29T11:34:08+02:00"}},
                  {{"op", "assign"},
                   {"path", "started"},
                   {"value", "2026-01-02T03:04:05.5Z"},
                   {"type", "datetime"}},
                  {{"op", "append"}, {"path", "acc"}, {"value", 0.8}, {"timestamp", "yesterday"}}});
  EXPECT_EQ(l.exit_code, 3);
  EXPECT_EQ(l.error[5]["code"], "InvalidArgument");
  EXPECT_TRUE(Contains(l.error[5]["message"], "line 5")) << l.error[5];
  json acc = FetchJson("acc");
  ASSERT_EQ(acc["points"].size(), 3u) << acc;
  EXPECT_EQ(acc["points"][0]["timestamp"], "2026-11-29T09:34:06.123456Z");
  EXPECT_EQ(acc["points"][1]["timestamp"], "2026-11-29T09:34:07.500000Z");
  EXPECT_EQ(acc["points"][2]["timestamp"], "2026-11-29T09:34:08.000000Z");
  EXPECT_EQ(
      FetchJson("started"),
      json({{"path", "started"}, {"type", "datetime"}, {"value", "2026-01-02T03:04:05.500000Z"}}));
  // The human form: step, timestamp, value separated by tabs.
  test::CliResult human = Fetch("acc", "exp", "--limit 1");
  EXPECT_EQ(human.out, "0\t2026-11-29T09:34:06.123456Z\t0.5\n");
}

// ---- string sets -------------------------------------------------------------------------------

TEST_F(RunCliTest, StringSetAddRemoveClearAndFetchSorted) {
  Logged l = Log({{{"op", "add"}, {"path", "labels"}, {"values", {"zeta", "alpha", "mid"}}},
                  {{"op", "remove"}, {"path", "labels"}, {"values", {"mid"}}},
                  {{"op", "add"}, {"path", "empty"}, {"values", {"a"}}},
                  {{"op", "clear"}, {"path", "empty"}}});
  ASSERT_EQ(l.exit_code, 0) << l.out;
  EXPECT_EQ(FetchJson("labels"),
            json({{"path", "labels"}, {"type", "string_set"}, {"values", {"alpha", "zeta"}}}));
  EXPECT_EQ(Fetch("labels").out, "alpha\nzeta\n");
  EXPECT_EQ(FetchJson("empty")["values"], json::array());
}

// ---- rule 8: identity and sys/ ----------------------------------------------------------------

TEST_F(RunCliTest, SameCustomRunIdGivesTheSameRunAndSysIdIsKeyDashN) {
  Logged a = Log({Assign("x", 1)}, "--custom-run-id sweep-7");
  Logged b = Log({Assign("y", 2)}, "--custom-run-id sweep-7");
  Logged c = Log({}, "");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(a.run, b.run);
  EXPECT_NE(a.run, c.run);
  EXPECT_TRUE(std::regex_match(a.run, std::regex("[A-Z][A-Z0-9]*-[0-9]+"))) << a.run;
  EXPECT_TRUE(std::regex_match(c.run, std::regex("[A-Z][A-Z0-9]*-[0-9]+"))) << c.run;
  // The run is found by custom id, sys/id and uuid, and holds both invocations' fields.
  EXPECT_EQ(FetchJson("x", "sweep-7")["value"], 1);
  EXPECT_EQ(FetchJson("y", a.run)["value"], 2);
  EXPECT_EQ(FetchJson("sys/id", a.run)["value"], a.run);
  EXPECT_EQ(FetchJson("sys/custom_run_id", a.run)["value"], "sweep-7");
  std::string uuid = FetchJson("sys/uuid", a.run)["value"];
  EXPECT_EQ(FetchJson("x", uuid)["value"], 1);
  // --run resumes by sys/id.
  ASSERT_EQ(Log({Assign("z", 3)}, "--run " + a.run).exit_code, 0);
  EXPECT_EQ(FetchJson("z", "sweep-7")["value"], 3);
}

TEST_F(RunCliTest, WritesUnderSysAreReadOnlyExceptNameDescriptionAndTags) {
  Logged l = Log({Assign("sys/id", "RL-999"),
                  Assign("sys/foo", 1),
                  Assign("sys/name", "baseline"),
                  Assign("sys/description", "first try"),
                  {{"op", "add"}, {"path", "sys/tags"}, {"values", {"gpu", "baseline"}}},
                  Delete("sys/state")});
  EXPECT_EQ(l.exit_code, 3);
  EXPECT_EQ(l.error[1]["code"], "ReadOnly");
  EXPECT_TRUE(Contains(l.error[1]["message"], "sys/id")) << l.error[1];
  EXPECT_EQ(l.error[2]["code"], "ReadOnly");
  EXPECT_EQ(l.error[6]["code"], "ReadOnly");
  for (int n : {3, 4, 5}) EXPECT_TRUE(l.lsn.count(n)) << n << ": " << l.out;
  EXPECT_EQ(FetchJson("sys/id")["value"], l.run);
  EXPECT_EQ(FetchJson("sys/name")["value"], "baseline");
  EXPECT_EQ(FetchJson("sys/description")["value"], "first try");
  EXPECT_EQ(FetchJson("sys/tags")["values"], json({"baseline", "gpu"}));
}

// ---- rule 9: modes, ack, exit codes ------------------------------------------------------------

TEST_F(RunCliTest, SyncModeLogsAndEveryLineIsAcknowledgedInOrder) {
  Logged l = Log({Assign("a", 1), Append("b", 0.5), Append("b", 0.25)},
                 "--custom-run-id exp --mode sync --ack");
  ASSERT_EQ(l.exit_code, 0) << l.err;
  ASSERT_EQ(l.lsn.size(), 3u) << l.out;
  EXPECT_LT(l.lsn[1], l.lsn[2]);
  EXPECT_LT(l.lsn[2], l.lsn[3]);
  std::vector<json> lines = JsonLines(l.out);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1], json({{"line", 1}, {"lsn", l.lsn[1]}}));
  EXPECT_EQ(FetchJson("b")["last"], 0.25);
}

TEST_F(RunCliTest, WithoutAckOnlyTheRunAndTheRejectedLinesArePrinted) {
  Logged l = Log({Assign("a", 1), Assign("a", "s"), Assign("b", 2)}, "--custom-run-id exp");
  EXPECT_EQ(l.exit_code, 3);
  std::vector<json> lines = JsonLines(l.out);
  ASSERT_EQ(lines.size(), 2u) << l.out;
  EXPECT_EQ(lines[0], json({{"run", l.run}}));
  EXPECT_EQ(lines[1]["line"], 2);
  EXPECT_EQ(lines[1]["error"]["code"], "TypeMismatch");
  EXPECT_TRUE(Contains(l.err, "1 of 3 operation(s) rejected")) << l.err;
  EXPECT_EQ(FetchJson("b")["value"], 2);
}

TEST_F(RunCliTest, MalformedLinesAreInvalidArgumentNamingTheLineAndLoggingContinues) {
  std::string text =
      "not json\n"
      "{\"op\":\"frobnicate\",\"path\":\"a\"}\n"
      "{\"op\":\"assign\",\"value\":1}\n"
      "{\"op\":\"assign\",\"path\":\"a\",\"value\":[1,2]}\n"
      "{\"op\":\"append\",\"path\":\"s\",\"value\":1,\"stpe\":4}\n"
      "{\"op\":\"upload\",\"path\":\"f\",\"file\":\"x.csv\"}\n"
      "\n"
      "[1]\n"
      "{\"op\":\"extend\",\"path\":\"s\",\"values\":[1,\"two\"]}\n"
      "{\"op\":\"extend\",\"path\":\"s\",\"values\":[1,2],\"steps\":[1]}\n"
      "{\"op\":\"assign\",\"path\":\"n\",\"value\":3.5,\"type\":\"int\"}\n"
      "{\"op\":\"assign\",\"path\":\"ok\",\"value\":true}\n";
  Logged l = LogText(text, "--custom-run-id exp --ack");
  EXPECT_EQ(l.exit_code, 3);
  for (int n : {1, 2, 3, 4, 5, 6, 8, 9, 10, 11}) {
    ASSERT_TRUE(l.error.count(n)) << n << ": " << l.out;
    EXPECT_EQ(l.error[n]["code"], "InvalidArgument") << n;
    EXPECT_TRUE(Contains(l.error[n]["message"], "line " + std::to_string(n) + ": ")) << l.error[n];
  }
  EXPECT_FALSE(l.error.count(7));  // a blank line is skipped, not an operation
  EXPECT_FALSE(l.lsn.count(7));
  EXPECT_TRUE(Contains(l.error[2]["message"], "unknown op \"frobnicate\""));
  EXPECT_TRUE(Contains(l.error[5]["message"], "unknown key \"stpe\""));
  EXPECT_TRUE(Contains(l.error[3]["message"], "missing \"path\""));
  EXPECT_TRUE(Contains(l.error[6]["message"], "file operations are not supported yet"));
  EXPECT_TRUE(l.lsn.count(12)) << l.out;
  EXPECT_EQ(FetchJson("ok")["value"], true);
  EXPECT_EQ(Fetch("s").exit_code, 4);  // nothing of the bad lines was logged
}

TEST_F(RunCliTest, ExitCodesAreZeroOkTwoUsageThreeRejectedFourNotFound) {
  ASSERT_EQ(Log({Assign("params/lr", 0.1)}).exit_code, 0);
  EXPECT_EQ(Fetch("params/lr").exit_code, 0);
  // 2: usage.
  EXPECT_EQ(Runlog("log").exit_code, 2);
  EXPECT_EQ(Runlog("log " + ShellQuote(repo_) + " --mode fast").exit_code, 2);
  EXPECT_EQ(Runlog("log " + ShellQuote(repo_) + " --run RL-1 --custom-run-id x").exit_code, 2);
  EXPECT_EQ(Fetch("params/lr", "exp", "--limit many").exit_code, 2);
  EXPECT_EQ(Fetch("params/lr", "exp", "--limit 3").exit_code, 2);  // --limit is for series
  // 3: rejected.
  EXPECT_EQ(Log({Assign("params/lr", "high")}).exit_code, 3);
  // 4: not found.
  test::CliResult no_run = Fetch("params/lr", "no-such-run");
  EXPECT_EQ(no_run.exit_code, 4) << no_run.err;
  EXPECT_TRUE(Contains(no_run.err, "NotFound")) << no_run.err;
  EXPECT_EQ(Fetch("params/nothing").exit_code, 4);
  test::CliResult ns = Fetch("params");
  EXPECT_EQ(ns.exit_code, 4);
  EXPECT_TRUE(Contains(ns.err, "namespace")) << ns.err;
  EXPECT_EQ(Runlog("fetch " + ShellQuote(tmp_.Sub("no-repo")) + " exp x").exit_code, 4);
  test::CliResult resume = Runlog("log " + ShellQuote(repo_) + " --run RL-999");
  EXPECT_EQ(resume.exit_code, 4) << resume.err;
  EXPECT_EQ(resume.out, "");
  EXPECT_EQ(Runlog("show " + ShellQuote(repo_) + " no-such-run").exit_code, 4);
  EXPECT_EQ(Runlog("errors " + ShellQuote(repo_) + " no-such-run").exit_code, 4);
}

// ---- rule 10: one writer, many readers ---------------------------------------------------------

TEST_F(RunCliTest, ASecondWriterGetsRunLockedNamingThePidWhileReadersFetch) {
  Logged first = Log({Assign("before", 1)});
  ASSERT_EQ(first.exit_code, 0) << first.err;

  Child writer = Spawn({"--custom-run-id", "exp", "--ack"});
  json run_line = json::parse(writer.ReadLine());
  EXPECT_EQ(run_line["run"], first.run);
  writer.Send(Assign("during", 2));
  json ack = json::parse(writer.ReadLine());  // flushed while stdin is still open
  EXPECT_EQ(ack["line"], 1);
  EXPECT_TRUE(ack.contains("lsn")) << ack;

  test::CliResult second = Runlog("log " + ShellQuote(repo_) + " --run " + first.run, "");
  EXPECT_EQ(second.exit_code, 1);  // Fail() maps RunLocked to 1
  EXPECT_TRUE(Contains(second.err, "RunLocked")) << second.err;
  EXPECT_TRUE(Contains(second.err, std::to_string(writer.pid))) << second.err;
  EXPECT_EQ(second.out, "");

  // Readers open the run while the writer holds it.
  EXPECT_EQ(FetchJson("before")["value"], 1);
  // What the writer committed becomes visible within the flush interval (5 s by default).
  bool seen = false;
  for (int i = 0; i < 50 && !seen; ++i) {
    seen = Fetch("during").exit_code == 0;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(seen) << "a reader never saw the writer's committed field";

  EXPECT_EQ(writer.Finish(), 0);
  EXPECT_EQ(FetchJson("during")["value"], 2);
}

TEST_F(RunCliTest, AcknowledgedLinesSurviveKillNineOfTheCli) {
  Child writer = Spawn({"--custom-run-id", "exp", "--ack"});
  ASSERT_TRUE(json::parse(writer.ReadLine()).contains("run"));
  for (int i = 0; i < 50; ++i) {
    writer.Send(Append("loss", i * 0.5));
    json ack = json::parse(writer.ReadLine());
    ASSERT_EQ(ack["line"], i + 1) << ack;
  }
  kill(writer.pid, SIGKILL);
  EXPECT_EQ(writer.Finish(), 128 + SIGKILL);

  // The next writer recovers the log; every acknowledged point is there.
  ASSERT_EQ(Log({}).exit_code, 0);
  json loss = FetchJson("loss");
  EXPECT_EQ(loss["count"], 50);
  EXPECT_EQ(loss["last"], 49 * 0.5);
}

// ---- show and errors ---------------------------------------------------------------------------

TEST_F(RunCliTest, ShowListsEveryFieldSortedByPathWithTypeAndValue) {
  ASSERT_EQ(Log({Assign("params/lr", 0.1),
                 Assign("params/activation", "ReLU"),
                 Append("train/loss", 0.5),
                 Append("train/loss", 0.25),
                 {{"op", "add"}, {"path", "sys/tags"}, {"values", {"b", "a"}}}})
                .exit_code,
            0);
  test::CliResult r = Runlog("show " + ShellQuote(repo_) + " exp --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> lines = JsonLines(r.out);
  std::map<std::string, json> by_path;
  std::vector<std::string> paths;
  for (const json& j : lines) {
    paths.push_back(j["path"]);
    by_path[j["path"]] = j;
  }
  EXPECT_TRUE(std::is_sorted(paths.begin(), paths.end()));
  EXPECT_EQ(by_path["params/lr"], json({{"path", "params/lr"}, {"type", "float"}, {"value", 0.1}}));
  EXPECT_EQ(by_path["params/activation"]["value"], "ReLU");
  EXPECT_EQ(by_path["train/loss"],
            json({{"path", "train/loss"}, {"type", "float_series"}, {"count", 2}, {"last", 0.25}}));
  EXPECT_EQ(by_path["sys/tags"]["values"], json({"a", "b"}));
  EXPECT_EQ(by_path["sys/id"]["type"], "string");

  test::CliResult tree = Runlog("show " + ShellQuote(repo_) + " exp");
  ASSERT_EQ(tree.exit_code, 0) << tree.err;
  for (const char* s : {"params", "activation", "ReLU", "lr", "train", "loss"}) {
    EXPECT_TRUE(Contains(tree.out, s)) << s << " in\n" << tree.out;
  }
}

TEST_F(RunCliTest, ErrorsOfANormalRunIsAnEmptyList) {
  Logged l = Log({Assign("a", 1), Assign("a", "x")});  // rejected before logging
  EXPECT_EQ(l.exit_code, 3);
  test::CliResult json_form = Runlog("errors " + ShellQuote(repo_) + " exp --json");
  EXPECT_EQ(json_form.exit_code, 0) << json_form.err;
  EXPECT_EQ(json_form.out, "");
  test::CliResult human = Runlog("errors " + ShellQuote(repo_) + " exp");
  EXPECT_EQ(human.exit_code, 0) << human.err;
  EXPECT_EQ(human.out, "");
}

TEST_F(RunCliTest, ErrorsListsWhatTheCommitRejectedAndLogClaimsOnlyItsOwnLines) {
  ASSERT_EQ(Log({Assign("params/momentum", 0.9)}).exit_code, 0);
  // Another writer of the format (replay, sync, an old version) logs a type mismatch.
  std::string uuid = FetchJson("sys/uuid")["value"];
  wal::WriterOptions options;
  options.create_if_missing = false;
  auto w = wal::Writer::Open(repo_ + "/runs/" + uuid + "/wal", options);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  wal::RecordBuilder rb;
  auto lsn = (*w)->Append(static_cast<uint16_t>(wal::RecordType::AssignString),
                          rb.AssignString("params/momentum", "x"));
  ASSERT_TRUE(lsn.ok());
  ASSERT_TRUE((*w)->Close().ok());
  w->reset();

  // The next writer commits it (rejected) before logging its own line, which is fine.
  Logged l = Log({Assign("params/lr", 0.1)});
  EXPECT_EQ(l.exit_code, 0) << l.out << l.err;
  EXPECT_TRUE(l.error.empty()) << l.out;
  EXPECT_EQ(FetchJson("params/momentum")["value"], 0.9);

  test::CliResult r = Runlog("errors " + ShellQuote(repo_) + " exp --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> errors = JsonLines(r.out);
  ASSERT_EQ(errors.size(), 1u) << r.out;
  EXPECT_EQ(errors[0]["lsn"], *lsn);
  EXPECT_EQ(errors[0]["path"], "params/momentum");
  EXPECT_EQ(errors[0]["code"], "TypeMismatch");
  EXPECT_EQ(errors[0]["message"], "params/momentum is Float, not String");
  EXPECT_EQ(errors[0]["record_type"], "AssignString");
  EXPECT_EQ(errors[0]["operation"]["path"], "params/momentum");
  test::CliResult human = Runlog("errors " + ShellQuote(repo_) + " exp");
  EXPECT_EQ(human.out, "LSN " + std::to_string(*lsn) +
                           " AssignString params/momentum: TypeMismatch: params/momentum is "
                           "Float, not String\n");
}

}  // namespace
}  // namespace runlog
