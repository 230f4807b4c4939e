// `runlog log` as a user runs it: every data-model rule of the issue through the command line
// (assign, types, delete, the field limit, paths, series, sets, identity and sys/), acks and
// exit codes, and kill -9 of the writer. Readers beside a writer, show and errors are in
// run_cli_read_test.cc; the fixture is in tests/util/run_cli_fixtures.h.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/util/cli_runner.h"
#include "tests/util/run_cli_fixtures.h"

namespace runlog::test {
namespace {

// "<KEY>-<n>": a letter, letters or digits, a dash, digits. (Not std::regex: g++ 12 warns
// about its internals at -O2, and CI builds with -Werror.)
bool IsSysId(const std::string& s) {
  const size_t dash = s.rfind('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == s.size()) return false;
  if (s[0] < 'A' || s[0] > 'Z') return false;
  for (size_t i = 1; i < dash; ++i) {
    if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9'))) return false;
  }
  for (size_t i = dash + 1; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

using nlohmann::json;

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
  CliResult human = Fetch("acc", "exp", "--limit 1");
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
  EXPECT_TRUE(IsSysId(a.run)) << a.run;
  EXPECT_TRUE(IsSysId(c.run)) << c.run;
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
  CliResult no_run = Fetch("params/lr", "no-such-run");
  EXPECT_EQ(no_run.exit_code, 4) << no_run.err;
  EXPECT_TRUE(Contains(no_run.err, "NotFound")) << no_run.err;
  EXPECT_EQ(Fetch("params/nothing").exit_code, 4);
  CliResult ns = Fetch("params");
  EXPECT_EQ(ns.exit_code, 4);
  EXPECT_TRUE(Contains(ns.err, "namespace")) << ns.err;
  EXPECT_EQ(Runlog("fetch " + ShellQuote(tmp_.Sub("no-repo")) + " exp x").exit_code, 4);
  CliResult resume = Runlog("log " + ShellQuote(repo_) + " --run RL-999");
  EXPECT_EQ(resume.exit_code, 4) << resume.err;
  EXPECT_EQ(resume.out, "");
  EXPECT_EQ(Runlog("show " + ShellQuote(repo_) + " no-such-run").exit_code, 4);
  EXPECT_EQ(Runlog("errors " + ShellQuote(repo_) + " no-such-run").exit_code, 4);
}

// ---- rule 10: one writer, killed with kill -9 --------------------------------------------------

TEST_F(RunCliTest, AcknowledgedLinesSurviveKillNineOfTheCli) {
  CliChild writer = Spawn({"--custom-run-id", "exp", "--ack"});
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

}  // namespace
}  // namespace runlog::test
