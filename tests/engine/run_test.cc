// The data model's rules through the public C++ API (include/runlog/runlog.h): one test per
// rule of the engine issue, each asserting what a user observes.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>
#include <thread>

#include "runlog/runlog.h"
#include "tests/util/temp_dir.h"

namespace runlog {
namespace {

class RunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto repo = Repository::Open(tmp_.Sub("repo"));
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(*repo);
  }
  std::unique_ptr<runlog::Run> Start(RunOptions options = {}) {
    auto run = repo_->StartRun(options);
    EXPECT_TRUE(run.ok()) << run.status().ToString();
    return run.ok() ? std::move(*run) : nullptr;
  }

  test::TempDir tmp_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(RunTest, AssignThenOverwriteFetchesTheLastValue) {
  auto run = Start();
  (*run)["params/activation"] = "ReLU";
  EXPECT_EQ((*run)["params/activation"].Fetch<std::string>().value(), "ReLU");
  (*run)["params/activation"] = "ELU";
  EXPECT_EQ((*run)["params/activation"].Fetch<std::string>().value(), "ELU");
  // After a restart too.
  std::string id = run->sys_id();
  ASSERT_TRUE(run->Stop().ok());
  run.reset();
  auto again = Start({.resume = id});
  EXPECT_EQ((*again)["params/activation"].Fetch<std::string>().value(), "ELU");
}

TEST_F(RunTest, EveryAtomTypeRoundTrips) {
  auto run = Start();
  (*run)["a/f"] = 0.25;
  (*run)["a/i"] = 42;
  (*run)["a/b"] = true;
  (*run)["a/s"] = std::string("text");
  (*run)["a/d"] = Datetime{1700000000123456};
  EXPECT_EQ((*run)["a/f"].Fetch<double>().value(), 0.25);
  EXPECT_EQ((*run)["a/i"].Fetch<int64_t>().value(), 42);
  EXPECT_EQ((*run)["a/b"].Fetch<bool>().value(), true);
  EXPECT_EQ((*run)["a/s"].Fetch<std::string>().value(), "text");
  EXPECT_EQ((*run)["a/d"].Fetch<Datetime>().value().micros, 1700000000123456);
  auto atom = run->Fetch("a/i");
  ASSERT_TRUE(atom.ok());
  EXPECT_EQ(atom->type, FieldType::kInt);
}

TEST_F(RunTest, AnotherTypeAtAFieldIsTypeMismatchNamingPathAndTypes) {
  auto run = Start();
  (*run)["parameters/momentum"] = 0.9;
  auto r = run->AssignString("parameters/momentum", "x");
  ASSERT_TRUE(r.status().Is(Code::kTypeMismatch)) << r.status().ToString();
  EXPECT_NE(r.status().message().find("parameters/momentum"), std::string::npos);
  EXPECT_NE(r.status().message().find("Float"), std::string::npos);
  EXPECT_NE(r.status().message().find("String"), std::string::npos);
  EXPECT_TRUE(run->Append("parameters/momentum", 1.0).status().Is(Code::kTypeMismatch));
  std::vector<std::string> tags{"a"};
  EXPECT_TRUE(run->AddStrings("parameters/momentum", tags).status().Is(Code::kTypeMismatch));
  // The throwing form carries the same status.
  try {
    (*run)["parameters/momentum"] = true;
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kTypeMismatch);
    EXPECT_NE(std::string(e.what()).find("parameters/momentum is Float, not Bool"),
              std::string::npos);
  }
  EXPECT_EQ((*run)["parameters/momentum"].Fetch<double>().value(), 0.9);
  (*run)["parameters/momentum_file"] = "sample.csv";
  EXPECT_EQ((*run)["parameters/momentum_file"].Fetch<std::string>().value(), "sample.csv");
}

TEST_F(RunTest, IntWidensIntoFloatButFloatIntoIntIsTypeMismatch) {
  auto run = Start();
  (*run)["lr"] = 0.5;
  (*run)["lr"] = 3;
  auto lr = run->Fetch("lr");
  ASSERT_TRUE(lr.ok());
  EXPECT_EQ(lr->type, FieldType::kFloat);
  EXPECT_EQ(std::get<double>(lr->value), 3.0);
  (*run)["epochs"] = 10;
  EXPECT_TRUE(run->AssignFloat("epochs", 1.5).status().Is(Code::kTypeMismatch));
  EXPECT_EQ((*run)["epochs"].Fetch<int64_t>().value(), 10);
}

TEST_F(RunTest, DeleteFreesThePathAndOldDataNeverReappears) {
  auto run = Start();
  (*run)["x"] = 1.0;
  (*run)["ns/a"] = 1;
  (*run)["ns/deep/b"] = "b";
  for (int i = 0; i < 3000; ++i) (*run)["ns/series"].Append(i);
  (*run)["x"].Delete();
  EXPECT_FALSE((*run)["x"].Exists());
  EXPECT_TRUE(run->Fetch("x").status().Is(Code::kNotFound));
  (*run)["x"] = "now a string";
  EXPECT_EQ((*run)["x"].Fetch<std::string>().value(), "now a string");

  ASSERT_TRUE(run->Delete("ns").ok());
  EXPECT_FALSE((*run)["ns/a"].Exists());
  EXPECT_TRUE(run->Fetch("ns/deep/b").status().Is(Code::kNotFound));
  EXPECT_TRUE(run->Delete("ns").status().Is(Code::kNotFound));
  (*run)["ns"] = 5;  // the namespace's path is free for a field now
  (*run)["ns"].Delete();
  (*run)["ns/series"].Append(7.0, {.step = 0});
  auto values = run->FetchValues("ns/series");
  ASSERT_TRUE(values.ok());
  ASSERT_EQ(values->floats.size(), 1u);
  EXPECT_EQ(values->floats[0].value, 7.0);
  // And after a restart (the committed state, not memory).
  std::string id = run->sys_id();
  ASSERT_TRUE(run->Stop().ok());
  run.reset();
  auto again = Start({.resume = id});
  EXPECT_EQ(again->FetchValues("ns/series")->floats.size(), 1u);
  EXPECT_TRUE(again->Fetch("ns/a").status().Is(Code::kNotFound));
  EXPECT_EQ((*again)["x"].Fetch<std::string>().value(), "now a string");
}

TEST_F(RunTest, FieldLimitCountsFieldsNotPoints) {
  auto run = Start({.max_fields = 50});
  for (int i = 0; i < 49; ++i) ASSERT_TRUE(run->AssignInt("f/" + std::to_string(i), i).ok());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(run->Append("series", i).ok());  // field 50
  auto over = run->AssignInt("f/over", 1);
  ASSERT_TRUE(over.status().Is(Code::kFieldLimitExceeded)) << over.status().ToString();
  EXPECT_NE(over.status().message().find("50"), std::string::npos);
  ASSERT_TRUE(run->Append("series", 1000).ok());  // more points: same field
  ASSERT_TRUE(run->Delete("f/0").ok());
  EXPECT_TRUE(run->AssignInt("f/over", 1).ok());
  EXPECT_TRUE(run->AssignInt("f/over2", 1).status().Is(Code::kFieldLimitExceeded));
  // sys/ fields do not count.
  EXPECT_TRUE(run->AssignString("sys/name", "limited").ok());
}

TEST_F(RunTest, NineThousandFieldsFitAndTheNextIsRejected) {
  auto run = Start();
  for (int i = 0; i < 9000; ++i) {
    ASSERT_TRUE(run->AssignInt("p/" + std::to_string(i), i).ok()) << i;
  }
  EXPECT_TRUE(run->AssignInt("p/9000", 1).status().Is(Code::kFieldLimitExceeded));
  ASSERT_TRUE(run->Delete("p/17").ok());
  EXPECT_TRUE(run->AssignInt("p/9000", 1).ok());
  EXPECT_EQ((*run)["p/8999"].Fetch<int64_t>().value(), 8999);
}

TEST_F(RunTest, PathConflictsAndInvalidPaths) {
  auto run = Start();
  (*run)["a/b"] = 1;
  auto under = run->AssignInt("a/b/c", 1);
  EXPECT_TRUE(under.status().Is(Code::kPathConflict)) << under.status().ToString();
  auto at_ns = run->AssignInt("a", 1);
  EXPECT_TRUE(at_ns.status().Is(Code::kPathConflict)) << at_ns.status().ToString();
  for (std::string bad :
       {std::string(""), std::string("a//b"), std::string("/a"), std::string("a/"),
        std::string(1025, 'x'), std::string("a\x01"), std::string("bad\xff")}) {
    auto r = run->AssignInt(bad, 1);
    EXPECT_TRUE(r.status().Is(Code::kInvalidPath)) << bad.size() << " " << r.status().ToString();
  }
  EXPECT_TRUE(run->AssignInt(std::string(1024, 'x'), 1).ok());
  EXPECT_TRUE(run->AssignInt("unicode/ścieżka/路径", 1).ok());
}

TEST_F(RunTest, NamespaceHandlersReachTheSameField) {
  auto run = Start();
  auto params = (*run)["params"];
  params["learning_rate"] = 0.005;
  EXPECT_EQ((*run)["params/learning_rate"].Fetch<double>().value(), 0.005);
  EXPECT_EQ(params["learning_rate"].path(), "params/learning_rate");
}

TEST_F(RunTest, SeriesStepsIncreaseDefaultToLastPlusOneAndRejectRegressions) {
  auto run = Start();
  (*run)["loss"].Append(1.0);                // step 0
  (*run)["loss"].Append(2.0);                // step 1
  (*run)["loss"].Append(3.0, {.step = 10});  // step 10
  (*run)["loss"].Append(4.0);                // step 11
  auto back = run->Append("loss", 5.0, {.step = 11});
  ASSERT_TRUE(back.status().Is(Code::kStepNotIncreasing)) << back.status().ToString();
  EXPECT_NE(back.status().message().find("loss"), std::string::npos);
  EXPECT_NE(back.status().message().find("11"), std::string::npos);
  std::vector<double> values{1, 2}, steps{12, 12};
  EXPECT_TRUE(run->Extend("loss", values, steps).status().Is(Code::kStepNotIncreasing));
  auto pts = run->FetchValues("loss");
  ASSERT_TRUE(pts.ok());
  ASSERT_EQ(pts->floats.size(), 4u);
  EXPECT_EQ(pts->floats[0].step, 0);
  EXPECT_EQ(pts->floats[1].step, 1);
  EXPECT_EQ(pts->floats[2].step, 10);
  EXPECT_EQ(pts->floats[3].step, 11);
  EXPECT_EQ(pts->floats[3].value, 4.0);
  auto last = run->FetchLast("loss");
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->count, 4u);
  EXPECT_EQ(last->last, 4.0);
  EXPECT_EQ(last->last_step, 11);
  EXPECT_EQ(last->min, 1.0);
  EXPECT_EQ(last->max, 4.0);
}

TEST_F(RunTest, NonFiniteValuesAreStoredExactly) {
  auto run = Start();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> values{std::nan(""), inf, -inf, -0.0, 1e-310};
  ASSERT_TRUE(run->Extend("weird", values).ok());
  (*run)["atom"] = -inf;
  auto pts = run->FetchValues("weird");
  ASSERT_TRUE(pts.ok());
  ASSERT_EQ(pts->floats.size(), 5u);
  EXPECT_TRUE(std::isnan(pts->floats[0].value));
  EXPECT_EQ(pts->floats[1].value, inf);
  EXPECT_EQ(pts->floats[2].value, -inf);
  EXPECT_TRUE(std::signbit(pts->floats[3].value));
  EXPECT_EQ(pts->floats[4].value, 1e-310);
  EXPECT_EQ((*run)["atom"].Fetch<double>().value(), -inf);
}

TEST_F(RunTest, StringsAreNeverTruncatedAndOverTheLimitIsAnError) {
  auto run = Start({.max_string_bytes = 1 << 20});
  std::string big((1 << 20), 'a');
  big.back() = 'z';
  (*run)["text"] = big;
  EXPECT_EQ((*run)["text"].Fetch<std::string>().value(), big);
  big.push_back('!');
  auto r = run->AssignString("text", big);
  EXPECT_TRUE(r.status().Is(Code::kValueTooLarge)) << r.status().ToString();
  EXPECT_TRUE(run->AppendString("log", big).status().Is(Code::kValueTooLarge));
  EXPECT_EQ((*run)["text"].Fetch<std::string>().value().size(), size_t{1} << 20);
}

TEST_F(RunTest, StringSeriesAndSetsRoundTrip) {
  auto run = Start();
  (*run)["log"].Append("epoch 1");
  (*run)["log"].Append("epoch 2", {.step = 5});
  auto pts = run->FetchValues("log");
  ASSERT_TRUE(pts.ok());
  ASSERT_EQ(pts->strings.size(), 2u);
  EXPECT_EQ(pts->strings[1].value, "epoch 2");
  EXPECT_EQ(pts->strings[1].step, 5);
  EXPECT_EQ(run->FetchLast("log")->last_string, "epoch 2");

  (*run)["sys/tags"].Add({"gpu", "baseline", "gpu"});
  (*run)["sys/tags"].Remove({"baseline"});
  (*run)["sys/tags"].Add({"alpha"});
  auto tags = run->FetchSet("sys/tags");
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(*tags, (std::vector<std::string>{"alpha", "gpu"}));
  (*run)["sys/tags"].Clear();
  EXPECT_TRUE(run->FetchSet("sys/tags")->empty());
  (*run)["log"].Clear();
  EXPECT_EQ(run->FetchLast("log")->count, 0u);
  (*run)["log"].Append("again", {.step = 0});  // steps start over after a clear
  EXPECT_EQ(run->FetchValues("log")->strings.size(), 1u);
  EXPECT_TRUE(run->Clear("nothing").status().Is(Code::kNotFound));
}

TEST_F(RunTest, SeriesRangesAndLimitsAcrossChunks) {
  auto run = Start({.series_chunk_points = 64});
  std::vector<double> values(1000), steps(1000);
  for (int i = 0; i < 1000; ++i) {
    values[i] = i * 0.5;
    steps[i] = i * 2;  // even steps
  }
  ASSERT_TRUE(run->Extend("s", values, steps).ok());
  auto mid = run->FetchValues("s", {.from = 301, .to = 500});
  ASSERT_TRUE(mid.ok());
  ASSERT_EQ(mid->floats.size(), 100u);  // 302..500
  EXPECT_EQ(mid->floats.front().step, 302);
  EXPECT_EQ(mid->floats.back().step, 500);
  auto limited = run->FetchValues("s", {.from = 100, .limit = 3});
  ASSERT_EQ(limited->floats.size(), 3u);
  EXPECT_EQ(limited->floats[2].step, 104);
  EXPECT_EQ(run->FetchValues("s")->floats.size(), 1000u);
  EXPECT_TRUE(run->FetchValues("s", {.from = 5000})->floats.empty());
}

TEST_F(RunTest, SystemFieldsAreWrittenByTheEngineOnly) {
  auto run = Start({.name = "baseline", .description = "first try", .tags = {"gpu"}});
  EXPECT_EQ((*run)["sys/id"].Fetch<std::string>().value(), run->sys_id());
  EXPECT_EQ((*run)["sys/uuid"].Fetch<std::string>().value(), run->uuid());
  EXPECT_EQ((*run)["sys/name"].Fetch<std::string>().value(), "baseline");
  EXPECT_EQ((*run)["sys/state"].Fetch<std::string>().value(), "active");
  EXPECT_EQ((*run)["sys/failed"].Fetch<bool>().value(), false);
  EXPECT_EQ(run->FetchSet("sys/tags").value(), std::vector<std::string>{"gpu"});
  EXPECT_TRUE(run->AssignString("sys/id", "RL-999").status().Is(Code::kReadOnly));
  EXPECT_TRUE(run->AssignInt("sys/custom", 1).status().Is(Code::kReadOnly));
  EXPECT_TRUE(run->Delete("sys").status().Is(Code::kReadOnly));
  EXPECT_TRUE(run->AssignInt("sys/name", 1).status().Is(Code::kTypeMismatch));
  EXPECT_TRUE(run->AssignString("sys/description", "second").ok());
  EXPECT_TRUE(run->MarkFailed("diverged").ok());
  EXPECT_EQ((*run)["sys/failed"].Fetch<bool>().value(), true);
  std::string id = run->sys_id();
  ASSERT_TRUE(run->Stop().ok());
  auto ro = Start({.mode = Mode::kReadOnly, .resume = id});
  EXPECT_EQ((*ro)["sys/state"].Fetch<std::string>().value(), "inactive");
}

TEST_F(RunTest, CustomRunIdResumesTheSameRun) {
  auto a = Start({.custom_run_id = "sweep-7"});
  std::string id = a->sys_id();
  (*a)["x"] = 1;
  ASSERT_TRUE(a->Stop().ok());
  a.reset();
  auto b = Start({.custom_run_id = "sweep-7"});
  EXPECT_EQ(b->sys_id(), id);
  EXPECT_EQ((*b)["x"].Fetch<int64_t>().value(), 1);
  EXPECT_EQ((*b)["sys/custom_run_id"].Fetch<std::string>().value(), "sweep-7");
  EXPECT_TRUE(repo_->StartRun({.resume = "RL-404"}).status().Is(Code::kNotFound));
}

TEST_F(RunTest, ReadOnlyModeRejectsWritesAndReadsCommittedData) {
  auto run = Start();
  (*run)["x"] = 1;
  std::string id = run->sys_id();
  ASSERT_TRUE(run->Stop().ok());
  auto ro = Start({.mode = Mode::kReadOnly, .resume = id});
  EXPECT_TRUE(ro->AssignInt("x", 2).status().Is(Code::kReadOnly));
  EXPECT_TRUE(ro->Delete("x").status().Is(Code::kReadOnly));
  EXPECT_EQ((*ro)["x"].Fetch<int64_t>().value(), 1);
  EXPECT_TRUE(repo_->StartRun({.mode = Mode::kReadOnly}).status().Is(Code::kInvalidArgument));
}

TEST_F(RunTest, DebugModeLeavesNothingOnDisk) {
  auto listing = [&] {
    std::vector<std::string> files;
    for (auto& e : std::filesystem::recursive_directory_iterator(tmp_.Sub("repo"))) {
      files.push_back(e.path().string());
    }
    return files;
  };
  auto before = listing();
  auto run = Start({.mode = Mode::kDebug});
  (*run)["x"] = 1.5;
  (*run)["s"].Append(2.0);
  EXPECT_TRUE(run->AssignString("x", "y").status().Is(Code::kTypeMismatch));
  EXPECT_EQ((*run)["x"].Fetch<double>().value(), 1.5);
  EXPECT_EQ(run->FetchLast("s")->last, 2.0);
  ASSERT_TRUE(run->Stop().ok());
  run.reset();
  EXPECT_EQ(listing(), before);
}

TEST_F(RunTest, SyncModeCommitsBeforeReturning) {
  auto run = Start({.mode = Mode::kSync});
  auto lsn = run->AssignInt("x", 1);
  ASSERT_TRUE(lsn.ok());
  EXPECT_GE(run->stats().committed_lsn, *lsn);
  EXPECT_EQ(run->stats().backlog_bytes, 0u);
}

TEST_F(RunTest, SyncModeCallersFromManyThreadsShareSyncs) {
  // 16 threads, each call durable and committed before it returns: everything is there,
  // and the log needed fewer fdatasyncs than calls (group commit).
  constexpr int kThreads = 16;
  constexpr int kCalls = 200;
  auto run = Start({.mode = Mode::kSync});
  const uint64_t syncs_before = run->stats().log_syncs;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        auto lsn = run->Append("t" + std::to_string(t), i);
        ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
        EXPECT_GE(run->stats().committed_lsn, *lsn);
      }
    });
  }
  for (auto& th : threads) th.join();
  const uint64_t syncs = run->stats().log_syncs - syncs_before;
  EXPECT_GT(syncs, 0u);
  EXPECT_LT(syncs, static_cast<uint64_t>(kThreads * kCalls));
  for (int t = 0; t < kThreads; ++t) {
    auto last = run->FetchLast("t" + std::to_string(t));
    ASSERT_TRUE(last.ok());
    EXPECT_EQ(last->count, static_cast<uint64_t>(kCalls));
  }
  ASSERT_TRUE(run->Stop().ok());
}

TEST_F(RunTest, SecondWriterGetsRunLockedAndReadersSeeCommittedData) {
  auto run = Start();
  (*run)["x"] = 7;
  ASSERT_TRUE(run->Wait().ok());
  auto second = repo_->StartRun({.resume = run->sys_id()});
  ASSERT_TRUE(second.status().Is(Code::kRunLocked)) << second.status().ToString();
  EXPECT_NE(second.status().message().find(std::to_string(::getpid())), std::string::npos);
}

TEST_F(RunTest, ReaderBesideALiveWriterSeesWhatItCommittedAndFlushed) {
  // A read-only open while the writer holds the run reads the writer's flushed state
  // (the same path a reader in another process takes), within flush_interval.
  auto writer = Start({.flush_interval = std::chrono::milliseconds(20)});
  (*writer)["x"] = 7;
  (*writer)["s"].Append(1.0);
  ASSERT_TRUE(writer->Wait().ok());
  auto reader = Start({.mode = Mode::kReadOnly, .resume = writer->sys_id()});
  auto eventually = [&](int64_t want) {
    for (int i = 0; i < 200; ++i) {
      auto v = (*reader)["x"].Fetch<int64_t>();
      if (v.ok() && *v == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  EXPECT_TRUE(eventually(7));
  (*writer)["x"] = 8;
  (*writer)["s"].Append(2.0);
  EXPECT_TRUE(eventually(8));
  EXPECT_EQ(reader->FetchLast("s")->count, 2u);
  EXPECT_TRUE(reader->AssignInt("x", 9).status().Is(Code::kReadOnly));
}

TEST_F(RunTest, ManyThreadsLogToOneRun) {
  auto run = Start();
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) (*run)["t" + std::to_string(t)].Append(i);
      (*run)["shared"].Append(static_cast<double>(t));  // steps decided under one lock
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 8; ++t) {
    auto last = run->FetchLast("t" + std::to_string(t));
    ASSERT_TRUE(last.ok());
    EXPECT_EQ(last->count, 2000u);
    EXPECT_EQ(last->last_step, 1999);
  }
  EXPECT_EQ(run->FetchLast("shared")->count, 8u);
}

TEST_F(RunTest, StructureListsEveryFieldSortedWithTypes) {
  auto run = Start();
  (*run)["b/x"] = 1;
  (*run)["a"] = "s";
  (*run)["b/s"].Append(1.0);
  auto fields = run->GetStructure();
  ASSERT_TRUE(fields.ok());
  std::vector<std::string> user;
  for (auto& f : *fields) {
    if (!f.path.starts_with("sys/")) user.push_back(f.path + ":" + std::string(TypeName(f.type)));
  }
  EXPECT_EQ(user, (std::vector<std::string>{"a:string", "b/s:float_series", "b/x:int"}));
  std::ostringstream out;
  ASSERT_TRUE(run->PrintStructure(out).ok());
  EXPECT_NE(out.str().find("b/\n  s: float_series (1 points, last 1.0)\n  x: int = 1\n"),
            std::string::npos)
      << out.str();
}

TEST_F(RunTest, BacklogOverTheLimitWaitsThenFailsWithoutLogging) {
  // A tiny backlog limit and timeout: with the committer racing, calls either go through
  // or fail with Busy; none is lost and every accepted one is committed.
  auto run = Start({.max_backlog_bytes = 1, .backlog_timeout = std::chrono::milliseconds(0)});
  int ok = 0, busy = 0;
  for (int i = 0; i < 2000; ++i) {
    auto r = run->Append("s", i, {.step = static_cast<double>(i)});
    if (r.ok()) {
      ++ok;
    } else {
      ASSERT_TRUE(r.status().Is(Code::kBusy)) << r.status().ToString();
      ++busy;
    }
  }
  EXPECT_GT(ok, 0);
  EXPECT_GT(busy, 0);
  EXPECT_EQ(run->FetchLast("s")->count, static_cast<uint64_t>(ok));
}

}  // namespace
}  // namespace runlog
