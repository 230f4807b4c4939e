// The commit's authoritative checks (DESIGN §2, §5): a log written elsewhere (replay, sync,
// an old version, a hand-made file) is applied record by record; what breaks a rule is kept
// in the errors column family with its LSN, path, code, message and operation, and the rest
// is applied.
#include <gtest/gtest.h>

#include <cmath>

#include "format/records.h"
#include "format/wal_writer.h"
#include "runlog/runlog.h"
#include "tests/util/temp_dir.h"

namespace runlog {
namespace {

using wal::RecordType;

class CommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = Repository::Open(tmp_.Sub("repo")).value();
    auto run = repo_->StartRun({.custom_run_id = "foreign"}).value();
    (*run)["params/momentum"] = 0.9;
    (*run)["loss"].Append(1.0, {.step = 10});
    sys_id_ = run->sys_id();
    ASSERT_TRUE(run->Stop().ok());
    run.reset();
    dir_ = repo_->ListRuns().value().at(0).dir;
  }

  // Appends records straight to the run's log, as another writer of the format would.
  std::unique_ptr<wal::Writer> OpenLog() {
    wal::WriterOptions o;
    o.create_if_missing = false;
    auto w = wal::Writer::Open(dir_ + "/wal", o);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return std::move(*w);
  }

  std::unique_ptr<runlog::Run> OpenReadOnly() {
    auto run = repo_->StartRun({.mode = Mode::kReadOnly, .resume = sys_id_});
    EXPECT_TRUE(run.ok()) << run.status().ToString();
    return std::move(*run);
  }

  test::TempDir tmp_;
  std::unique_ptr<Repository> repo_;
  std::string sys_id_;
  std::string dir_;
};

TEST_F(CommitTest, RecordsBreakingRulesAreKeptAsErrorsAndTheRestIsApplied) {
  auto log = OpenLog();
  wal::RecordBuilder rb;
  auto append = [&](RecordType t, std::span<const uint8_t> p) {
    auto lsn = log->Append(static_cast<uint16_t>(t), p);
    EXPECT_TRUE(lsn.ok());
    return *lsn;
  };
  uint64_t mismatch = append(RecordType::AssignString, rb.AssignString("params/momentum", "x"));
  append(RecordType::AssignFloat, rb.AssignFloat("params/lr", 0.01));
  wal::FloatPoint back(5, 0, 2.0);
  uint64_t step = append(RecordType::AppendFloats, rb.AppendFloats("loss", std::span(&back, 1)));
  wal::FloatPoint next(11, 0, 3.0);
  append(RecordType::AppendFloats, rb.AppendFloats("loss", std::span(&next, 1)));
  uint64_t conflict = append(RecordType::AssignInt, rb.AssignInt("params/momentum/x", 1));
  uint64_t invalid = append(RecordType::AssignInt, rb.AssignInt("a//b", 1));
  uint64_t sys = append(RecordType::AssignString, rb.AssignString("sys/id", "RL-999"));
  uint64_t missing = append(RecordType::DeletePath, rb.DeletePath("nothing/here"));
  ASSERT_TRUE(log->Close().ok());
  log.reset();

  auto run = OpenReadOnly();
  EXPECT_EQ((*run)["params/momentum"].Fetch<double>().value(), 0.9);
  EXPECT_EQ((*run)["params/lr"].Fetch<double>().value(), 0.01);
  auto loss = run->FetchValues("loss").value();
  ASSERT_EQ(loss.floats.size(), 2u);
  EXPECT_EQ(loss.floats[1].step, 11);
  EXPECT_EQ((*run)["sys/id"].Fetch<std::string>().value(), sys_id_);

  auto errors = run->RejectedOperations();
  ASSERT_TRUE(errors.ok()) << errors.status().ToString();
  ASSERT_EQ(errors->size(), 6u);
  struct Want {
    uint64_t lsn;
    const char* path;
    Code code;
    const char* text;
  };
  const Want want[] = {
      {mismatch, "params/momentum", Code::kTypeMismatch, "params/momentum is Float, not String"},
      {step, "loss", Code::kStepNotIncreasing, "step 5 is not after the last step 10"},
      {conflict, "params/momentum/x", Code::kPathConflict, "params/momentum is a Float field"},
      {invalid, "a//b", Code::kInvalidPath, "empty component"},
      {sys, "sys/id", Code::kReadOnly, "written by runlog"},
      {missing, "nothing/here", Code::kNotFound, "no field or namespace"},
  };
  for (size_t i = 0; i < 6; ++i) {
    const RejectedOperation& e = (*errors)[i];
    SCOPED_TRACE(e.status.ToString());
    EXPECT_EQ(e.lsn, want[i].lsn);
    EXPECT_EQ(e.path, want[i].path);
    EXPECT_EQ(e.status.code(), want[i].code);
    EXPECT_NE(e.status.message().find(want[i].text), std::string::npos);
    EXPECT_NE(e.operation.find(want[i].path), std::string::npos) << e.operation;
  }
  EXPECT_EQ((*errors)[0].record_type, "AssignString");
}

TEST_F(CommitTest, ReplayingTheSameLogTwiceAppliesNothingTwice) {
  // Reopen for writing repeatedly: each open commits the log beyond the applied LSN only.
  for (int i = 0; i < 3; ++i) {
    auto run = repo_->StartRun({.resume = sys_id_}).value();
    (*run)["loss"].Append(static_cast<double>(i));
    ASSERT_TRUE(run->Stop().ok());
  }
  auto run = OpenReadOnly();
  EXPECT_EQ(run->FetchLast("loss")->count, 4u);
  EXPECT_TRUE(run->RejectedOperations()->empty());
}

TEST_F(CommitTest, AnUncommittedLogIsCommittedWhenTheRunIsNextOpened) {
  // Records in the log that no committer applied (the state a kill leaves).
  auto log = OpenLog();
  wal::RecordBuilder rb;
  std::vector<wal::FloatPoint> pts;
  for (int i = 0; i < 5000; ++i) pts.emplace_back(11 + i, 0, i * 0.5);
  ASSERT_TRUE(
      log->Append(static_cast<uint16_t>(RecordType::AppendFloats), rb.AppendFloats("loss", pts))
          .ok());
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  auto run = OpenReadOnly();
  auto last = run->FetchLast("loss").value();
  EXPECT_EQ(last.count, 5001u);
  EXPECT_EQ(last.last, 4999 * 0.5);
  EXPECT_EQ(last.min, 0.0);
  EXPECT_EQ(last.max, 4999 * 0.5);
}

}  // namespace
}  // namespace runlog
