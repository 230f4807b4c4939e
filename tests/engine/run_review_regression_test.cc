// Regressions for defects a review of the engine found, each reproduced before its fix.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "engine/committer.h"
#include "engine/queries.h"
#include "format/records.h"
#include "format/wal_reader.h"
#include "format/wal_writer.h"
#include "runlog/runlog.h"
#include "tests/util/temp_dir.h"

namespace runlog {
namespace {

std::string RunDir(Repository& repo, const std::string& sys_id) {
  for (auto& r : repo.ListRuns().value()) {
    if (r.sys_id == sys_id) return r.dir;
  }
  return "";
}

// A new run, filled by `fill`, stopped; its sys/id.
std::string StoppedRun(Repository& repo, const std::function<void(runlog::Run&)>& fill = {}) {
  auto run = repo.StartRun().value();
  if (fill) fill(*run);
  const Status stopped = run->Stop();
  EXPECT_TRUE(stopped.ok()) << stopped.ToString();
  return run->sys_id();
}

std::vector<std::string> RecordTypes(const std::string& wal_dir) {
  auto reader = wal::Reader::Open(wal_dir, {}).value();
  wal::Record rec;
  std::vector<std::string> types;
  while (reader->Next(&rec).value()) types.push_back(wal::RecordTypeName(rec.type));
  return types;
}

TEST(RunReviewRegression, TwoStopsAtOnceStopOnce) {
  test::TempDir tmp;
  auto repo = Repository::Open(tmp.Sub("repo")).value();
  for (int i = 0; i < 10; ++i) {
    auto run = repo->StartRun().value();
    std::atomic<int> ready{0};
    auto stopper = [&] {
      ready++;
      while (ready < 2) std::this_thread::yield();
      EXPECT_TRUE(run->Stop().ok());
    };
    std::thread a(stopper), b(stopper);
    a.join();
    b.join();
    auto types = RecordTypes(RunDir(*repo, run->sys_id()) + "/wal");
    EXPECT_EQ(std::count(types.begin(), types.end(), "SetRunState"), 1);
  }
}

TEST(RunReviewRegression, StopWaitsForSyncModeCallsInFlight) {
  test::TempDir tmp;
  auto repo = Repository::Open(tmp.Sub("repo")).value();
  for (int i = 0; i < 5; ++i) {
    auto run = repo->StartRun({.mode = Mode::kSync}).value();
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t) {
      writers.emplace_back([&, t] {
        for (int k = 0; !stop; ++k) (void)run->AssignFloat("a" + std::to_string(t), k);
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_TRUE(run->Stop().ok());
    stop = true;
    for (auto& w : writers) w.join();
    // Nothing was admitted after the run's end.
    auto types = RecordTypes(RunDir(*repo, run->sys_id()) + "/wal");
    EXPECT_EQ(types.back(), "SetRunState");
  }
}

TEST(RunReviewRegression, AReadOnlyOpenRebuildsAMissingDatabaseFromTheLog) {
  // A writer killed before it created its database (or a database removed by hand): the
  // log is the source of truth, and a reader with no writer present commits it.
  test::TempDir tmp;
  auto repo = Repository::Open(tmp.Sub("repo")).value();
  const std::string id = StoppedRun(*repo, [](runlog::Run& run) {
    run["params/lr"] = 0.5;
    for (int i = 0; i < 100; ++i) run["loss"].Append(i);
  });
  std::filesystem::remove_all(RunDir(*repo, id) + "/db");
  auto reader = repo->StartRun({.mode = Mode::kReadOnly, .resume = id});
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*(*reader))["params/lr"].Fetch<double>().value(), 0.5);
  EXPECT_EQ((*reader)->FetchLast("loss").value().count, 100u);
}

TEST(RunReviewRegression, AFailedOpenWritesNothingToTheLog) {
  test::TempDir tmp;
  auto repo = Repository::Open(tmp.Sub("repo")).value();
  const std::string id = StoppedRun(*repo);
  const std::string dir = RunDir(*repo, id);
  auto before = RecordTypes(dir + "/wal");
  std::filesystem::rename(dir + "/db", dir + "/db.moved");
  { std::ofstream(dir + "/db") << "not a directory"; }
  EXPECT_FALSE(repo->StartRun({.resume = id}).ok());
  EXPECT_EQ(RecordTypes(dir + "/wal"), before);
}

TEST(RunReviewRegression, ADatabaseAheadOfItsLogIsRefusedNotSilentlyFollowed) {
  test::TempDir tmp;
  auto repo = Repository::Open(tmp.Sub("repo")).value();
  std::string id;
  uint64_t cut = 0;
  {
    auto run = repo->StartRun().value();
    id = run->sys_id();
    ASSERT_TRUE(run->AssignString("x", "old").ok());
    cut = run->AssignString("y", "lost").value();
    ASSERT_TRUE(run->Stop().ok());
  }
  // A power loss that kept the database's files but not the log's tail (which runlog now
  // prevents by syncing the log before every flush; a damaged disk can still do it).
  const std::string dir = RunDir(*repo, id);
  std::string segment;
  uint64_t offset = 0;
  for (auto& e : std::filesystem::directory_iterator(dir + "/wal")) {
    if (e.path().extension() == ".wal") segment = e.path();
  }
  {
    auto reader = wal::Reader::Open(dir + "/wal", {}).value();
    wal::Record rec;
    while (reader->Next(&rec).value()) {
      if (rec.lsn == cut) offset = rec.offset;
    }
  }
  ASSERT_GT(offset, 0u);
  int fd = ::open(segment.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  std::vector<char> zeros(std::filesystem::file_size(segment) - offset, 0);
  ASSERT_EQ(::pwrite(fd, zeros.data(), zeros.size(), static_cast<off_t>(offset)),
            static_cast<ssize_t>(zeros.size()));
  ::close(fd);
  auto run = repo->StartRun({.resume = id});
  ASSERT_TRUE(run.status().Is(Code::kCorruption)) << run.status().ToString();
  EXPECT_NE(run.status().message().find("applied LSN"), std::string::npos);
}

TEST(RunReviewRegression, TheCommitterAppliesNothingAfterAFailedReload) {
  test::TempDir tmp;
  auto store = engine::RunStore::Open(tmp.Sub("db")).value();
  auto c = engine::Committer::Open(store.get(), {}).value();
  wal::RecordBuilder rb;
  std::vector<wal::FloatPoint> pts;
  for (int i = 0; i < 10; ++i) pts.emplace_back(i, 0, i);
  ASSERT_TRUE(
      c->Add({1, static_cast<uint16_t>(wal::RecordType::AppendFloats), rb.AppendFloats("s", pts)})
          .ok());
  ASSERT_TRUE(c->Commit().ok());
  ASSERT_TRUE(store->db()->Put({}, store->cf(engine::RunStore::kSchema), "Fzz", "\xff\xff").ok());
  ASSERT_FALSE(c->Reload().ok());
  wal::FloatPoint again(0, 0, 42.0);
  EXPECT_FALSE(c->Add({2, static_cast<uint16_t>(wal::RecordType::AppendFloats),
                       rb.AppendFloats("s", std::span(&again, 1))})
                   .ok());
  EXPECT_FALSE(c->Commit().ok());
  EXPECT_EQ(engine::QueryLast(*store, "s")->count, 10u);
}

TEST(RunReviewRegression, AReadOnlyOpenByCustomIdFindsTheCustomIdNotASysId) {
  test::TempDir tmp;
  auto repo = Repository::Open(tmp.Sub("repo")).value();
  {
    auto a = repo->StartRun({.custom_run_id = "RL-2"}).value();  // gets sys/id RL-1
    (*a)["who"] = "A";
    auto b = repo->StartRun().value();  // RL-2
    (*b)["who"] = "B";
  }
  auto r = repo->StartRun({.mode = Mode::kReadOnly, .custom_run_id = "RL-2"}).value();
  EXPECT_EQ((*r)["who"].Fetch<std::string>().value(), "A");
}

TEST(RunReviewRegression, ASecondCreateRunRecordCannotRewriteTheRunsIdentity) {
  test::TempDir tmp;
  auto repo = Repository::Open(tmp.Sub("repo")).value();
  const std::string id = StoppedRun(*repo);
  {
    wal::WriterOptions o;
    o.create_if_missing = false;
    auto log = wal::Writer::Open(RunDir(*repo, id) + "/wal", o).value();
    wal::RecordBuilder rb;
    auto& b = rb.builder();
    wal::Uuid other(0x1111, 0x2222);
    auto payload = rb.Finish(wal::CreateCreateRunDirect(b, &other, "XX-99", "", 0, "", 0));
    ASSERT_TRUE(log->Append(static_cast<uint16_t>(wal::RecordType::CreateRun), payload).ok());
    ASSERT_TRUE(log->Close().ok());
  }
  auto run = repo->StartRun({.mode = Mode::kReadOnly, .resume = id}).value();
  EXPECT_EQ((*run)["sys/id"].Fetch<std::string>().value(), id);
  auto errors = run->RejectedOperations().value();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].record_type, "CreateRun");
}

TEST(RunReviewRegression, ACatchUpChecksTheLimitsTheWriterAdmittedUnder) {
  test::TempDir tmp;
  auto repo = Repository::Open(tmp.Sub("repo")).value();
  std::string id;
  const std::string big(1536 << 10, 'x');  // 1.5 MiB: over the default 1 MiB limit
  {
    auto run = repo->StartRun({.max_string_bytes = 2 << 20}).value();
    id = run->sys_id();
    ASSERT_TRUE(run->AssignString("notes/first", big).ok());
    ASSERT_TRUE(run->Stop().ok());
  }
  {
    // What the writer logged just before it died, not committed yet.
    wal::WriterOptions o;
    o.create_if_missing = false;
    auto log = wal::Writer::Open(RunDir(*repo, id) + "/wal", o).value();
    wal::RecordBuilder rb;
    ASSERT_TRUE(log->Append(static_cast<uint16_t>(wal::RecordType::AssignString),
                            rb.AssignString("notes/big", big))
                    .ok());
    ASSERT_TRUE(log->Close().ok());
  }
  auto reader = repo->StartRun({.mode = Mode::kReadOnly, .resume = id}).value();  // defaults
  EXPECT_EQ((*reader)["notes/big"].Fetch<std::string>().value().size(), big.size());
  EXPECT_TRUE(reader->RejectedOperations().value().empty());
  reader.reset();
  // A writer with other limits applies them from its open on.
  auto writer = repo->StartRun({.resume = id}).value();
  EXPECT_TRUE(writer->AssignString("notes/third", big).status().Is(Code::kValueTooLarge));
}

}  // namespace
}  // namespace runlog
