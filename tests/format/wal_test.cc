// The WAL's normal life: appends, rolls, reads from any LSN, live tails, threads, reopen.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <set>
#include <thread>

#include "format/records.h"
#include "format/wal_reader.h"
#include "format/wal_writer.h"
#include "tests/util/temp_dir.h"
#include "tests/util/wal_fixtures.h"

namespace runlog::wal {
namespace {

constexpr uint16_t kPoints = static_cast<uint16_t>(RecordType::AppendFloats);

std::unique_ptr<Writer> MustOpen(const std::string& dir, const WriterOptions& o) {
  auto w = Writer::Open(dir, o);
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  return w.ok() ? std::move(*w) : nullptr;
}

TEST(WalTest, AppendedRecordsReadBackInOrderWithDenseLsns) {
  test::TempDir dir;
  auto w = MustOpen(dir.path(), test::SmallLogOptions());
  test::AppendPoints(*w, 100);
  EXPECT_EQ(w->last_lsn(), 100u);
  ASSERT_TRUE(w->Close().ok());
  test::LogContents log = test::ReadLog(dir.path());
  ASSERT_TRUE(log.status.ok()) << log.status.ToString();
  ASSERT_EQ(log.lsns.size(), 100u);
  for (size_t i = 0; i < 100; ++i) {
    EXPECT_EQ(log.lsns[i], i + 1);
    EXPECT_TRUE(log.intact[i]);
  }
  EXPECT_TRUE(log.damage.empty());
}

TEST(WalTest, SegmentsRollAtTheSizeLimit) {
  test::TempDir dir;
  auto w = MustOpen(dir.path(), test::SmallLogOptions(4096));
  test::AppendPoints(*w, 1000);
  ASSERT_TRUE(w->Close().ok());
  std::vector<std::string> segs = test::SegmentPaths(dir.path());
  EXPECT_GT(segs.size(), 20u);
  test::LogContents log = test::ReadLog(dir.path());
  ASSERT_TRUE(log.status.ok()) << log.status.ToString();
  ASSERT_EQ(log.lsns.size(), 1000u);
  EXPECT_EQ(log.lsns.back(), 1000u);
  // Each segment is readable on its own, starting at the LSN its name gives.
  for (const std::string& s : segs) {
    Lsn first;
    ASSERT_TRUE(ParseSegmentFileName(s.substr(s.rfind('/') + 1), &first));
    test::LogContents one = test::ReadLog(s);
    ASSERT_TRUE(one.status.ok()) << s;
    ASSERT_FALSE(one.lsns.empty());
    EXPECT_EQ(one.lsns.front(), first);
  }
}

TEST(WalTest, ARecordLargerThanASegmentGetsASegmentOfItsOwn) {
  test::TempDir dir;
  auto w = MustOpen(dir.path(), test::SmallLogOptions(4096));
  test::AppendPoints(*w, 3);
  RecordBuilder rb;
  std::string big(100000, 'x');
  ASSERT_TRUE(
      w->Append(static_cast<uint16_t>(RecordType::AssignString), rb.AssignString("s", big)).ok());
  test::AppendPoints(*w, 3);
  ASSERT_TRUE(w->Close().ok());
  test::LogContents log = test::ReadLog(dir.path());
  ASSERT_TRUE(log.status.ok()) << log.status.ToString();
  EXPECT_EQ(log.lsns.size(), 7u);
}

TEST(WalTest, ReadingStartsAtAnyLsn) {
  test::TempDir dir;
  auto w = MustOpen(dir.path(), test::SmallLogOptions(4096));
  test::AppendPoints(*w, 500);
  ASSERT_TRUE(w->Close().ok());
  for (Lsn start : {Lsn{1}, Lsn{2}, Lsn{41}, Lsn{42}, Lsn{43}, Lsn{250}, Lsn{499}, Lsn{500}}) {
    ReaderOptions ro;
    ro.start_lsn = start;
    test::LogContents log = test::ReadLog(dir.path(), ro);
    ASSERT_TRUE(log.status.ok());
    ASSERT_EQ(log.lsns.size(), 500 - start + 1) << start;
    EXPECT_EQ(log.lsns.front(), start);
  }
  ReaderOptions past;
  past.start_lsn = 501;
  EXPECT_TRUE(test::ReadLog(dir.path(), past).lsns.empty());
}

TEST(WalTest, ReopenContinuesTheLsnSequence) {
  test::TempDir dir;
  for (int round = 0; round < 3; ++round) {
    auto w = MustOpen(dir.path(), test::SmallLogOptions(4096));
    EXPECT_EQ(w->last_lsn(), static_cast<Lsn>(round * 50));
    test::AppendPoints(*w, 50);
    ASSERT_TRUE(w->Close().ok());
  }
  test::LogContents log = test::ReadLog(dir.path());
  ASSERT_TRUE(log.status.ok());
  ASSERT_EQ(log.lsns.size(), 150u);
  EXPECT_EQ(log.lsns.back(), 150u);
}

TEST(WalTest, CloseReleasesPreallocatedSpaceAndKeepsTheFileSize) {
  test::TempDir dir;
  auto w = MustOpen(dir.path(), test::SmallLogOptions(8 << 20));
  test::AppendPoints(*w, 10);
  std::string seg = test::SegmentPaths(dir.path()).at(0);
  struct stat open_st, closed_st;
  ASSERT_EQ(stat(seg.c_str(), &open_st), 0);
  ASSERT_TRUE(w->Close().ok());
  ASSERT_EQ(stat(seg.c_str(), &closed_st), 0);
  EXPECT_EQ(closed_st.st_size, 8 << 20);
  EXPECT_LT(closed_st.st_blocks * 512, open_st.st_blocks * 512);
  EXPECT_LE(closed_st.st_blocks * 512, 64 << 10);
  auto again = MustOpen(dir.path(), test::SmallLogOptions(8 << 20));
  test::AppendPoints(*again, 10);
  ASSERT_TRUE(again->Close().ok());
  EXPECT_EQ(test::ReadLog(dir.path()).lsns.size(), 20u);
}

TEST(WalTest, ConcurrentAppendsGetEveryRecordOnceWithDenseLsns) {
  test::TempDir dir;
  auto w = MustOpen(dir.path(), test::SmallLogOptions(16 << 10));
  constexpr int kThreads = 8, kPerThread = 2000;
  std::vector<std::vector<Lsn>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      RecordBuilder rb;
      for (int i = 0; i < kPerThread; ++i) {
        // Each thread writes its own id and counter; LSNs are assigned by the writer.
        auto lsn = w->Append(static_cast<uint16_t>(RecordType::AssignInt),
                             rb.AssignInt("t/" + std::to_string(t), i));
        ASSERT_TRUE(lsn.ok());
        got[t].push_back(*lsn);
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(w->Close().ok());
  std::set<Lsn> all;
  for (auto& v : got) {
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));
    all.insert(v.begin(), v.end());
  }
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(*all.begin(), 1u);
  EXPECT_EQ(*all.rbegin(), static_cast<Lsn>(kThreads * kPerThread));
  // The log holds each thread's counter exactly once, in order.
  auto reader = Reader::Open(dir.path(), {});
  ASSERT_TRUE(reader.ok());
  std::vector<int64_t> next(kThreads, 0);
  Record rec;
  Lsn expect = 1;
  while (true) {
    auto more = (*reader)->Next(&rec);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    if (!*more) break;
    ASSERT_EQ(rec.lsn, expect++);
    auto* op = PayloadAs<AssignInt>(rec.payload);
    int t = std::stoi(op->path()->str().substr(2));
    ASSERT_EQ(op->value(), next[t]++);
  }
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(next[t], kPerThread);
}

TEST(WalTest, AFollowingReaderSeesRecordsAsTheyAreAppendedAcrossRolls) {
  test::TempDir dir;
  WriterOptions o = test::SmallLogOptions(4096);
  auto w = MustOpen(dir.path(), o);
  ReaderOptions ro;
  ro.follow = true;
  auto reader = Reader::Open(dir.path(), ro);
  ASSERT_TRUE(reader.ok());
  Record rec;
  auto none = (*reader)->Next(&rec);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);  // no more yet: not an error

  constexpr int kTotal = 3000;
  std::thread writer([&] { test::AppendPoints(*w, kTotal); });
  Lsn expect = 1;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (expect <= kTotal && std::chrono::steady_clock::now() < deadline) {
    auto more = (*reader)->Next(&rec);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    if (!*more) {
      std::this_thread::yield();
      continue;
    }
    ASSERT_EQ(rec.lsn, expect);
    ASSERT_TRUE(test::IsPointPayload(rec.payload, rec.lsn));
    ++expect;
  }
  writer.join();
  EXPECT_EQ(expect, static_cast<Lsn>(kTotal + 1));
  ASSERT_TRUE(w->Close().ok());
}

TEST(WalTest, ASecondWriterIsRefusedWithTheHoldersPid) {
  test::TempDir dir;
  auto w = MustOpen(dir.path(), test::SmallLogOptions());
  auto second = Writer::Open(dir.path(), test::SmallLogOptions());
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().Is(Code::kRunLocked));
  EXPECT_NE(second.status().message().find(std::to_string(getpid())), std::string::npos)
      << second.status().message();
  ASSERT_TRUE(w->Close().ok());
  EXPECT_TRUE(Writer::Open(dir.path(), test::SmallLogOptions()).ok());
}

TEST(WalTest, ALogOfAnotherRunIsRefused) {
  test::TempDir dir;
  {
    auto w = MustOpen(dir.path(), test::SmallLogOptions());
    ASSERT_TRUE(w->Close().ok());
  }
  WriterOptions other = test::SmallLogOptions();
  other.run_id = test::TestRunId(99);
  auto w = Writer::Open(dir.path(), other);
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(w.status().Is(Code::kInvalidArgument));
  EXPECT_NE(w.status().message().find(RunIdHex(test::TestRunId())), std::string::npos);
}

TEST(WalTest, BadAppendsAreRejectedWithoutConsumingAnLsn) {
  test::TempDir dir;
  auto w = MustOpen(dir.path(), test::SmallLogOptions());
  EXPECT_TRUE(w->Append(kPoints, {}).status().Is(Code::kInvalidArgument));
  uint8_t b = 1;
  EXPECT_TRUE(w->Append(0, std::span(&b, 1)).status().Is(Code::kInvalidArgument));
  test::AppendPoints(*w, 1);
  EXPECT_EQ(w->last_lsn(), 1u);
  ASSERT_TRUE(w->Close().ok());
  EXPECT_TRUE(w->Append(kPoints, std::span(&b, 1)).status().Is(Code::kInvalidArgument));
}

TEST(WalTest, SyncModeAcknowledgesOnlyDurableRecordsAndSharesSyncs) {
  test::TempDir dir;
  WriterOptions o = test::SmallLogOptions(1 << 20);
  o.durability = Durability::kSync;
  auto w = MustOpen(dir.path(), o);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      RecordBuilder rb;
      for (int i = 0; i < 50; ++i) {
        auto lsn = w->Append(kPoints, rb.AssignInt("x", i));
        ASSERT_TRUE(lsn.ok());
        ASSERT_GE(w->durable_lsn(), *lsn);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(w->durable_lsn(), 400u);
  WriterStats stats = w->stats();
  EXPECT_EQ(stats.appends, 400u);
  EXPECT_GE(stats.syncs, 1u);
  EXPECT_LT(stats.syncs, stats.appends) << "concurrent appenders share syncs";
  ASSERT_TRUE(w->Close().ok());
}

TEST(WalTest, SyncCallsAfterUnsyncedAppendsFromManyThreadsAllReturn) {
  // Append (not synced), then Sync() as a second call, from 8 threads: a record appended
  // before a sync began but waited for after it is covered by that sync. Its waiter once
  // queued for the *next* sync, woke as that sync's leader, found itself covered, returned
  // without leading, and left the others of its round waiting forever.
  test::TempDir dir;
  WriterOptions o = test::SmallLogOptions(1 << 20);
  o.durability = Durability::kNone;
  auto w = MustOpen(dir.path(), o);
  std::atomic<int> done{0};
  std::thread watchdog([&] {
    for (int i = 0; i < 1200 && done.load() < 8; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (done.load() < 8) {
      std::fprintf(stderr, "Sync() callers still waiting after 120 s: lost wake-up\n");
      std::abort();
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      RecordBuilder rb;
      for (int i = 0; i < 300; ++i) {
        auto lsn = w->Append(kPoints, rb.AssignInt("x", i));
        ASSERT_TRUE(lsn.ok());
        ASSERT_TRUE(w->Sync().ok());
        ASSERT_GE(w->durable_lsn(), *lsn);
      }
      done.fetch_add(1);
    });
  }
  for (auto& th : threads) th.join();
  watchdog.join();
  EXPECT_EQ(w->durable_lsn(), 2400u);
  EXPECT_LT(w->stats().syncs, 2400u) << "concurrent callers share syncs";
  ASSERT_TRUE(w->Close().ok());
}

TEST(WalTest, AppendsWorkWithoutBackgroundPrefaulting) {
  test::TempDir dir;
  WriterOptions o = test::SmallLogOptions(16 << 10);
  o.prefault_bytes = 0;
  auto w = MustOpen(dir.path(), o);
  test::AppendPoints(*w, 1000);
  EXPECT_GE(w->stats().rolls, 4u);
  ASSERT_TRUE(w->Close().ok());
  EXPECT_EQ(test::ReadLog(dir.path()).lsns.size(), 1000u);
}

TEST(WalTest, BackgroundPrefaultAndSyncNeverStallAppendsAcrossRolls) {
  // Segments larger than an odd-sized prefault window, frequent background syncs and
  // several appenders: rolls must get past the background thread. A hang here aborts.
  test::TempDir dir;
  WriterOptions o = test::SmallLogOptions(2 << 20);
  o.durability = Durability::kInterval;
  o.prefault_bytes = 300001;
  o.sync_bytes = 100000;
  o.sync_interval = std::chrono::milliseconds(1);
  auto w = MustOpen(dir.path(), o);
  std::atomic<bool> done{false};
  std::thread watchdog([&] {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (!done && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!done) {
      std::fprintf(stderr, "appends stalled: the background thread starves the writer\n");
      std::abort();
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      RecordBuilder rb;
      for (int i = 0; i < 20000; ++i) {
        ASSERT_TRUE(w->Append(kPoints, test::PointPayload(rb, 1)).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  done = true;
  watchdog.join();
  EXPECT_GE(w->stats().rolls, 2u);
  ASSERT_TRUE(w->Close().ok());
  test::LogContents log = test::ReadLog(dir.path());
  ASSERT_TRUE(log.status.ok()) << log.status.ToString();
  EXPECT_EQ(log.lsns.size(), 80000u);
}

TEST(WalTest, IntervalModeSyncsInTheBackground) {
  test::TempDir dir;
  WriterOptions o = test::SmallLogOptions(1 << 20);
  o.durability = Durability::kInterval;
  o.sync_interval = std::chrono::milliseconds(5);
  auto w = MustOpen(dir.path(), o);
  test::AppendPoints(*w, 10);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (w->durable_lsn() < 10 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(w->durable_lsn(), 10u);
  ASSERT_TRUE(w->Close().ok());
}

TEST(WalTest, CreatingALogNeedsARunId) {
  test::TempDir dir;
  WriterOptions o = test::SmallLogOptions();
  o.run_id = RunId{};
  auto w = Writer::Open(dir.Sub("wal"), o);
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(w.status().Is(Code::kInvalidArgument));
}

TEST(WalTest, MissingDirectoryIsNotFoundWithoutCreateIfMissing) {
  test::TempDir dir;
  WriterOptions o = test::SmallLogOptions();
  o.create_if_missing = false;
  EXPECT_TRUE(Writer::Open(dir.Sub("nope"), o).status().Is(Code::kNotFound));
  EXPECT_TRUE(Reader::Open(dir.Sub("nope"), {}).status().Is(Code::kNotFound));
}

TEST(WalTest, ARunDirectoryIsReadThroughItsWalFolder) {
  test::TempDir dir;
  auto w = MustOpen(dir.Sub("wal"), test::SmallLogOptions());
  test::AppendPoints(*w, 5);
  ASSERT_TRUE(w->Close().ok());
  EXPECT_EQ(test::ReadLog(dir.path()).lsns.size(), 5u);
}

}  // namespace
}  // namespace runlog::wal
