// `runlog fetch | show | errors` as a user runs them: readers beside a live writer, the
// listing of a run's fields, and the operations the commit rejected. What `runlog log`
// accepts, and how fetch prints it, is in run_cli_log_test.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "format/records.h"
#include "format/wal_writer.h"
#include "tests/util/cli_runner.h"
#include "tests/util/run_cli_fixtures.h"

namespace runlog::test {
namespace {

using nlohmann::json;

// ---- rule 10: one writer, many readers ---------------------------------------------------------

TEST_F(RunCliTest, ASecondWriterGetsRunLockedNamingThePidWhileReadersFetch) {
  Logged first = Log({Assign("before", 1)});
  ASSERT_EQ(first.exit_code, 0) << first.err;

  CliChild writer = Spawn({"--custom-run-id", "exp", "--ack"});
  json run_line = json::parse(writer.ReadLine());
  EXPECT_EQ(run_line["run"], first.run);
  writer.Send(Assign("during", 2));
  json ack = json::parse(writer.ReadLine());  // flushed while stdin is still open
  EXPECT_EQ(ack["line"], 1);
  EXPECT_TRUE(ack.contains("lsn")) << ack;

  CliResult second = Runlog("log " + ShellQuote(repo_) + " --run " + first.run, "");
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

// ---- show and errors ---------------------------------------------------------------------------

TEST_F(RunCliTest, ShowListsEveryFieldSortedByPathWithTypeAndValue) {
  ASSERT_EQ(Log({Assign("params/lr", 0.1),
                 Assign("params/activation", "ReLU"),
                 Append("train/loss", 0.5),
                 Append("train/loss", 0.25),
                 {{"op", "add"}, {"path", "sys/tags"}, {"values", {"b", "a"}}}})
                .exit_code,
            0);
  CliResult r = Runlog("show " + ShellQuote(repo_) + " exp --json");
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

  CliResult tree = Runlog("show " + ShellQuote(repo_) + " exp");
  ASSERT_EQ(tree.exit_code, 0) << tree.err;
  for (const char* s : {"params", "activation", "ReLU", "lr", "train", "loss"}) {
    EXPECT_TRUE(Contains(tree.out, s)) << s << " in\n" << tree.out;
  }
}

TEST_F(RunCliTest, ErrorsOfANormalRunIsAnEmptyList) {
  Logged l = Log({Assign("a", 1), Assign("a", "x")});  // rejected before logging
  EXPECT_EQ(l.exit_code, 3);
  CliResult json_form = Runlog("errors " + ShellQuote(repo_) + " exp --json");
  EXPECT_EQ(json_form.exit_code, 0) << json_form.err;
  EXPECT_EQ(json_form.out, "");
  CliResult human = Runlog("errors " + ShellQuote(repo_) + " exp");
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

  CliResult r = Runlog("errors " + ShellQuote(repo_) + " exp --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> errors = JsonLines(r.out);
  ASSERT_EQ(errors.size(), 1u) << r.out;
  EXPECT_EQ(errors[0]["lsn"], *lsn);
  EXPECT_EQ(errors[0]["path"], "params/momentum");
  EXPECT_EQ(errors[0]["code"], "TypeMismatch");
  EXPECT_EQ(errors[0]["message"], "params/momentum is Float, not String");
  EXPECT_EQ(errors[0]["record_type"], "AssignString");
  EXPECT_EQ(errors[0]["operation"]["path"], "params/momentum");
  CliResult human = Runlog("errors " + ShellQuote(repo_) + " exp");
  EXPECT_EQ(human.out, "LSN " + std::to_string(*lsn) +
                           " AssignString params/momentum: TypeMismatch: params/momentum is "
                           "Float, not String\n");
}

}  // namespace
}  // namespace runlog::test
