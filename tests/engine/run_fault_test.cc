// Disk full under a run (DESIGN §8): logging reports the error, keeps everything already
// acknowledged, does not corrupt, and recovers when space returns. Faults are injected at
// the file seam under the WAL (tests/util/fault_file_system.h) and under RocksDB
// (tests/util/rocksdb_fault_fs.h). Every fault kind on every path: fault_matrix_test.cc.
#include <gtest/gtest.h>
#include <rocksdb/env.h>

#include <chrono>
#include <thread>

#include "engine/store.h"
#include "runlog/runlog.h"
#include "tests/util/fault_file_system.h"
#include "tests/util/rocksdb_fault_fs.h"
#include "tests/util/temp_dir.h"

namespace runlog {
namespace {

TEST(RunFaultTest, DiskFullUnderTheLogFailsTheCallAndLosesNothingAcknowledged) {
  test::TempDir tmp;
  test::FaultFileSystem fs;
  auto repo = Repository::Open(tmp.Sub("repo"), {.file_system = &fs}).value();
  auto run = repo->StartRun({.segment_size = 64 << 10}).value();
  fs.Inject(test::FaultOp::kAllocate, ENOSPC);  // the next segment cannot be created
  uint64_t acked = 0;
  Status error;
  for (int i = 0; i < 100000 && error.ok(); ++i) {
    auto r = run->Append("loss", i);
    if (r.ok()) {
      ++acked;
    } else {
      error = r.status();
    }
  }
  ASSERT_TRUE(error.Is(Code::kIOError)) << error.ToString();
  EXPECT_NE(error.message().find("No space left on device"), std::string::npos);
  EXPECT_GT(acked, 100u);
  EXPECT_EQ(run->FetchLast("loss")->count, acked);  // reads go on
  fs.Clear();                                       // space returns
  ASSERT_TRUE(run->Append("loss", -1).ok());
  std::string id = run->sys_id();
  ASSERT_TRUE(run->Stop().ok());
  run.reset();
  auto again = repo->StartRun({.resume = id}).value();
  auto last = again->FetchLast("loss").value();
  EXPECT_EQ(last.count, acked + 1);
  EXPECT_EQ(last.last, -1);
  EXPECT_TRUE(again->RejectedOperations()->empty());
}

TEST(RunFaultTest, DiskFullUnderRocksDbStopsTheCommitUntilSpaceReturns) {
  test::TempDir tmp;
  auto fault_fs = std::make_shared<test::RocksDbFaultFs>();
  auto env = rocksdb::NewCompositeEnv(fault_fs);
  engine::SetStoreEnvForTesting(env.get());
  {
    auto repo = Repository::Open(tmp.Sub("repo")).value();
    auto run = repo->StartRun({.flush_interval = std::chrono::milliseconds(10)}).value();
    (*run)["before"] = 1;
    ASSERT_TRUE(run->Wait().ok());
    fault_fs->SetFull(true);
    // The log still acknowledges; the commit fails at its next flush and says so.
    for (int i = 0; i < 20000; ++i) ASSERT_TRUE(run->Append("loss", i).ok());
    Status waited;
    for (int i = 0; i < 200 && waited.ok(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      (*run)["tick"] = i;
      waited = run->Wait();
    }
    ASSERT_FALSE(waited.ok()) << "the commit never reported the full disk";
    EXPECT_TRUE(waited.Is(Code::kIOError)) << waited.ToString();
    fault_fs->SetFull(false);  // space returns: the committer resumes from the log
    Status ok = Status::IOError("not yet");
    for (int i = 0; i < 100 && !ok.ok(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      ok = run->Wait();
    }
    ASSERT_TRUE(ok.ok()) << ok.ToString();
    EXPECT_EQ(run->FetchLast("loss")->count, 20000u);
    EXPECT_EQ((*run)["before"].Fetch<int64_t>().value(), 1);
    Status stopped = run->Stop();
    EXPECT_TRUE(stopped.ok()) << stopped.ToString();
  }
  engine::SetStoreEnvForTesting(nullptr);
}

}  // namespace
}  // namespace runlog
