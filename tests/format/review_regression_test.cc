// Regressions for faults found in review: a failed roll, lost wake-ups after a sync error,
// a following reader racing a roll, Sync() in kNone mode, salvage of skippable records, and
// a zeroed header in front of records.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "format/records.h"
#include "format/salvage.h"
#include "format/wal_reader.h"
#include "format/wal_writer.h"
#include "tests/util/fault_file_system.h"
#include "tests/util/temp_dir.h"
#include "tests/util/wal_fixtures.h"

namespace runlog::wal {
namespace {

constexpr uint16_t kPoints = static_cast<uint16_t>(RecordType::AppendFloats);
constexpr uint16_t kString = static_cast<uint16_t>(RecordType::AssignString);

TEST(ReviewRegressionTest, AFailedRollLeavesTheCurrentSegmentUsable) {
  test::TempDir dir;
  test::FaultFileSystem fs;
  WriterOptions o = test::SmallLogOptions(4096);
  o.fs = &fs;
  auto w = Writer::Open(dir.path(), o);
  ASSERT_TRUE(w.ok());
  test::AppendPoints(**w, 10);  // about a quarter of the segment
  RecordBuilder rb;
  fs.Inject(test::FaultOp::kAllocate, ENOSPC, 0, 1);
  auto big = (*w)->Append(kString, rb.AssignString("big", std::string(3500, 'x')));
  ASSERT_TRUE(big.status().Is(Code::kIOError)) << big.status().ToString();
  // A record that still fits goes into the current segment.
  test::AppendPoints(**w, 1);
  auto again = (*w)->Append(kString, rb.AssignString("big", std::string(3500, 'x')));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ASSERT_TRUE((*w)->Close().ok());
  test::LogContents log = test::ReadLog(dir.path());
  ASSERT_TRUE(log.status.ok()) << log.status.ToString();
  EXPECT_EQ(log.lsns.size(), 12u);
}

TEST(ReviewRegressionTest, EveryWaiterReturnsWhenSyncsStartFailing) {
  for (int round = 0; round < 5; ++round) {
    test::TempDir dir;
    test::FaultFileSystem fs;
    WriterOptions o = test::SmallLogOptions(2048);  // rolls often: their syncs fail too
    o.fs = &fs;
    o.durability = Durability::kSync;
    auto w = Writer::Open(dir.path(), o);
    ASSERT_TRUE(w.ok());
    fs.Inject(test::FaultOp::kSync, EIO, 20 + round * 7);
    std::atomic<int> finished{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
      threads.emplace_back([&] {
        RecordBuilder rb;
        for (int i = 0; i < 200; ++i) {
          if (!(*w)->Append(kPoints, test::PointPayload(rb, 1)).ok()) break;
        }
        finished.fetch_add(1);
      });
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (finished.load() < 6 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (finished.load() < 6) {
      std::fprintf(stderr, "appenders stuck after a sync error\n");
      std::abort();
    }
    for (auto& th : threads) th.join();
    // A failed sync of a new segment only fails that roll; either way Close() returns.
    (void)(*w)->Close();
  }
}

// A FileSystem that runs a hook (once) when the reader lists the directory.
class HookedFileSystem : public FileSystem {
 public:
  std::function<void()> on_list;
  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    if (on_list) {
      auto hook = std::move(on_list);
      on_list = nullptr;
      hook();
    }
    return FileSystem::ListDir(dir);
  }
};

TEST(ReviewRegressionTest, AFollowingReaderSeesARecordWrittenJustBeforeARoll) {
  test::TempDir dir;
  auto w = Writer::Open(dir.path(), test::SmallLogOptions(4096));
  ASSERT_TRUE(w.ok());
  test::AppendPoints(**w, 5);
  HookedFileSystem fs;
  ReaderOptions ro;
  ro.follow = true;
  ro.fs = &fs;
  auto reader = Reader::Open(dir.path(), ro);
  ASSERT_TRUE(reader.ok());
  Record rec;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(*(*reader)->Next(&rec));
  // At the live tail the reader lists the directory: meanwhile one record lands where it
  // saw zeros, and the writer rolls.
  fs.on_list = [&] { test::AppendPoints(**w, 60); };
  std::vector<Lsn> seen;
  for (int spins = 0; spins < 1000 && seen.size() < 60; ++spins) {
    auto more = (*reader)->Next(&rec);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    if (*more) seen.push_back(rec.lsn);
  }
  ASSERT_EQ(seen.size(), 60u);
  EXPECT_EQ(seen.front(), 6u);
  EXPECT_EQ(seen.back(), 65u);
  ASSERT_TRUE((*w)->Close().ok());
}

// Records the files synced.
class SyncRecordingFileSystem : public FileSystem {
 public:
  std::mutex mu;
  std::set<std::string> synced;
  Status SyncData(int fd, const std::string& path) override {
    {
      std::lock_guard<std::mutex> l(mu);
      synced.insert(path);
    }
    return FileSystem::SyncData(fd, path);
  }
  Status SyncMapped(void* addr, size_t length, const std::string& path) override {
    {
      std::lock_guard<std::mutex> l(mu);
      synced.insert(path);
    }
    return FileSystem::SyncMapped(addr, length, path);
  }
};

TEST(ReviewRegressionTest, SyncWithoutADurabilitySettingStillSyncsRolledSegments) {
  test::TempDir dir;
  SyncRecordingFileSystem fs;
  WriterOptions o = test::SmallLogOptions(4096);
  o.fs = &fs;
  auto w = Writer::Open(dir.path(), o);
  ASSERT_TRUE(w.ok());
  test::AppendPoints(**w, 200);
  ASSERT_TRUE((*w)->Sync().ok());
  EXPECT_EQ((*w)->durable_lsn(), 200u);
  for (const std::string& seg : test::SegmentPaths(dir.path())) {
    EXPECT_TRUE(fs.synced.count(seg)) << seg << " was never synced";
  }
  ASSERT_TRUE((*w)->Close().ok());
}

TEST(ReviewRegressionTest, SalvageCopiesRecordsMarkedSafeToIgnore) {
  test::TempDir dir;
  RecordBuilder rb;
  {
    auto w = Writer::Open(dir.Sub("wal"), test::SmallLogOptions());
    test::AppendPoints(**w, 1);
    ASSERT_TRUE((*w)->Append(0x8123, rb.AssignInt("future", 7)).ok());
    test::AppendPoints(**w, 1);
    ASSERT_TRUE((*w)->Close().ok());
  }
  auto result = SalvageLog(dir.Sub("wal"), dir.Sub("out"));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->records, 3u);
  EXPECT_EQ(result->renumbered_from, 0u);
  EXPECT_TRUE(result->damage.empty());
}

TEST(ReviewRegressionTest, AZeroedHeaderInFrontOfRecordsIsCorruptionNotATornCreation) {
  test::TempDir dir;
  test::WritePointLog(dir.path(), 4096, 100);
  std::vector<std::string> segs = test::SegmentPaths(dir.path());
  std::string bytes = test::ReadFile(segs.back());
  std::memset(bytes.data(), 0, kSegmentHeaderSize);
  test::WriteFile(segs.back(), bytes);
  test::LogContents log = test::ReadLog(dir.path());
  EXPECT_TRUE(log.status.Is(Code::kCorruption)) << log.status.ToString();
  EXPECT_TRUE(Writer::Open(dir.path(), test::SmallLogOptions(4096)).status().Is(Code::kCorruption));
}

TEST(ReviewRegressionTest, ALogWhoseOnlySegmentWasTornAtCreationKeepsItsLsns) {
  test::TempDir dir;
  std::filesystem::create_directories(dir.path());
  // Segment 42 exists with a zero header and nothing else: its creation was torn.
  test::WriteFile(dir.path() + "/" + SegmentFileName(42), std::string(4096, '\0'));
  auto w = Writer::Open(dir.path(), test::SmallLogOptions(4096));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  RecordBuilder rb;
  auto lsn = (*w)->Append(kPoints, test::PointPayload(rb, 42));
  ASSERT_TRUE(lsn.ok());
  EXPECT_EQ(*lsn, 42u);
  ASSERT_TRUE((*w)->Close().ok());
}

TEST(ReviewRegressionTest, AReaderDoesNotCallALiveWritersAppendInProgressATornTail) {
  test::TempDir dir;
  auto w = Writer::Open(dir.path(), test::SmallLogOptions(64 << 10));
  ASSERT_TRUE(w.ok());
  test::AppendPoints(**w, 3);
  // Simulate an append caught half-way: header fields written, checksum not yet.
  std::string seg = test::SegmentPaths(dir.path())[0];
  test::LogContents before = test::ReadLog(dir.path());
  ASSERT_EQ(before.lsns.size(), 3u);
  const uint64_t end = before.end.offset;
  {
    std::FILE* f = std::fopen(seg.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    std::fseek(f, static_cast<long>(end + 8), SEEK_SET);
    uint64_t lsn = 4;
    std::fwrite(&lsn, sizeof lsn, 1, f);
    std::fclose(f);
  }
  test::LogContents live = test::ReadLog(dir.path());
  ASSERT_TRUE(live.status.ok());
  EXPECT_EQ(live.lsns.size(), 3u);
  EXPECT_TRUE(live.damage.empty()) << live.damage[0].ToString();
  ASSERT_TRUE((*w)->Close().ok());
}

}  // namespace
}  // namespace runlog::wal
