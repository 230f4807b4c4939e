// Faults at the file seam: a full disk, failed syncs, short writes, refused creation. The
// caller gets a clear error; nothing acknowledged is lost; the log recovers once the
// fault clears.
#include <gtest/gtest.h>

#include <cerrno>

#include "format/wal_reader.h"
#include "format/wal_writer.h"
#include "tests/util/fault_file_system.h"
#include "tests/util/temp_dir.h"
#include "tests/util/wal_fixtures.h"

namespace runlog::wal {
namespace {

constexpr uint16_t kPoints = static_cast<uint16_t>(RecordType::AppendFloats);

WriterOptions FaultyOptions(test::FaultFileSystem* fs, Durability d = Durability::kNone) {
  WriterOptions o = test::SmallLogOptions(4096);
  o.fs = fs;
  o.durability = d;
  return o;
}

// Appends until an error; returns it. Every LSN acknowledged before is recorded.
Status AppendUntilError(Writer& w, std::vector<Lsn>* acked, int limit = 10000) {
  RecordBuilder rb;
  for (int i = 0; i < limit; ++i) {
    auto lsn = w.Append(kPoints, test::PointPayload(rb, w.last_lsn() + 1));
    if (!lsn.ok()) return lsn.status();
    acked->push_back(*lsn);
  }
  return Status::OK();
}

void ExpectLogHolds(const std::string& dir, Lsn last) {
  test::LogContents log = test::ReadLog(dir);
  ASSERT_TRUE(log.status.ok()) << log.status.ToString();
  ASSERT_EQ(log.lsns.size(), last);
  for (size_t i = 0; i < log.lsns.size(); ++i) {
    EXPECT_EQ(log.lsns[i], i + 1);
    EXPECT_TRUE(log.intact[i]);
  }
}

TEST(FaultTest, DiskFullAtSegmentRollFailsTheAppendAndLosesNothing) {
  test::TempDir dir;
  test::FaultFileSystem fs;
  auto w = Writer::Open(dir.path(), FaultyOptions(&fs));
  ASSERT_TRUE(w.ok());
  fs.Inject(test::FaultOp::kAllocate, ENOSPC);
  std::vector<Lsn> acked;
  Status s = AppendUntilError(**w, &acked);
  ASSERT_TRUE(s.Is(Code::kIOError)) << s.ToString();
  EXPECT_NE(s.message().find("No space left on device"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(".wal"), std::string::npos) << s.message();
  // Not sticky: the state is known, nothing was appended. The next try fails the same way
  // until space returns, then succeeds with the next dense LSN.
  RecordBuilder rb;
  EXPECT_FALSE((*w)->Append(kPoints, test::PointPayload(rb, acked.size() + 1)).ok());
  fs.Clear();
  auto lsn = (*w)->Append(kPoints, test::PointPayload(rb, acked.size() + 1));
  ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
  EXPECT_EQ(*lsn, acked.size() + 1);
  ASSERT_TRUE((*w)->Close().ok());
  ExpectLogHolds(dir.path(), acked.size() + 1);
}

TEST(FaultTest, AShortWriteOfANewSegmentHeaderLeavesNoSegmentBehind) {
  test::TempDir dir;
  test::FaultFileSystem fs;
  auto w = Writer::Open(dir.path(), FaultyOptions(&fs));
  ASSERT_TRUE(w.ok());
  fs.Inject(test::FaultOp::kWrite, ENOSPC, 0, 1);
  std::vector<Lsn> acked;
  Status s = AppendUntilError(**w, &acked);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(fs.fired(), 1);
  size_t segments = test::SegmentPaths(dir.path()).size();
  EXPECT_EQ(segments, 1u);
  s = AppendUntilError(**w, &acked, 100);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE((*w)->Close().ok());
  ExpectLogHolds(dir.path(), acked.size());
}

TEST(FaultTest, ARefusedRenameOrCreateIsAnErrorAndRetryable) {
  for (test::FaultOp op :
       {test::FaultOp::kRename, test::FaultOp::kOpenCreate, test::FaultOp::kMap}) {
    test::TempDir dir;
    test::FaultFileSystem fs;
    auto w = Writer::Open(dir.path(), FaultyOptions(&fs));
    ASSERT_TRUE(w.ok());
    fs.Inject(op, EACCES, 0, 1, ".wal");
    std::vector<Lsn> acked;
    Status s = AppendUntilError(**w, &acked);
    EXPECT_TRUE(s.Is(Code::kIOError)) << s.ToString();
    ASSERT_TRUE(AppendUntilError(**w, &acked, 100).ok());
    ASSERT_TRUE((*w)->Close().ok());
    ExpectLogHolds(dir.path(), acked.size());
  }
}

TEST(FaultTest, AFailedSyncIsStickyAndReopeningRecoversEveryAcknowledgedRecord) {
  test::TempDir dir;
  test::FaultFileSystem fs;
  std::vector<Lsn> acked;
  {
    auto w = Writer::Open(dir.path(), FaultyOptions(&fs, Durability::kSync));
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(AppendUntilError(**w, &acked, 20).ok());
    fs.Inject(test::FaultOp::kSync, EIO);
    Status s = AppendUntilError(**w, &acked, 20);
    ASSERT_TRUE(s.Is(Code::kIOError)) << s.ToString();
    EXPECT_NE(s.message().find("Input/output error"), std::string::npos);
    fs.Clear();
    // The log's durable state is unknown: every later call reports the error.
    RecordBuilder rb;
    EXPECT_TRUE((*w)->Append(kPoints, rb.AssignInt("x", 1)).status().Is(Code::kIOError));
    EXPECT_TRUE((*w)->Sync().Is(Code::kIOError));
    EXPECT_FALSE((*w)->Close().ok());
  }
  auto w = Writer::Open(dir.path(), FaultyOptions(&fs, Durability::kSync));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  // The record whose sync failed was not acknowledged but is in the log: it stays.
  EXPECT_EQ((*w)->last_lsn(), acked.size() + 1);
  ASSERT_TRUE(AppendUntilError(**w, &acked, 5).ok());
  ASSERT_TRUE((*w)->Close().ok());
  test::LogContents log = test::ReadLog(dir.path());
  ASSERT_TRUE(log.status.ok());
  for (Lsn lsn : acked) EXPECT_TRUE(std::count(log.lsns.begin(), log.lsns.end(), lsn) == 1);
}

TEST(FaultTest, AFailedSyncInIntervalModeFailsLaterAppends) {
  test::TempDir dir;
  test::FaultFileSystem fs;
  WriterOptions o = FaultyOptions(&fs, Durability::kInterval);
  o.sync_interval = std::chrono::milliseconds(1);
  auto w = Writer::Open(dir.path(), o);
  ASSERT_TRUE(w.ok());
  fs.Inject(test::FaultOp::kSync, EIO);
  std::vector<Lsn> acked;
  Status s;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (s.ok() && std::chrono::steady_clock::now() < deadline) {
    s = AppendUntilError(**w, &acked, 1);
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  EXPECT_TRUE(s.Is(Code::kIOError)) << s.ToString();
  fs.Clear();
  (void)(*w)->Close();
  w = Writer::Open(dir.path(), FaultyOptions(&fs));
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->last_lsn(), acked.size());
}

TEST(FaultTest, ANewLogOnAFullDiskIsAClearError) {
  test::TempDir dir;
  test::FaultFileSystem fs;
  fs.Inject(test::FaultOp::kAllocate, ENOSPC);
  auto w = Writer::Open(dir.path(), FaultyOptions(&fs));
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(w.status().Is(Code::kIOError));
  EXPECT_NE(w.status().message().find("cannot create WAL segment"), std::string::npos);
  fs.Clear();
  EXPECT_TRUE(Writer::Open(dir.path(), FaultyOptions(&fs)).ok());
}

}  // namespace
}  // namespace runlog::wal
