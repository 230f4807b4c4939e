// The committer's storage of series: pieces per batch, sealing into chunks, tails dropped
// from memory and reloaded, and the committed state after a reopen.
#include "engine/committer.h"

#include <gtest/gtest.h>

#include "engine/queries.h"
#include "format/records.h"
#include "tests/util/temp_dir.h"

namespace runlog::engine {
namespace {

class CommitterTest : public ::testing::Test {
 protected:
  void Open(size_t chunk_points, size_t max_tail_points) {
    committer_.reset();
    store_.reset();
    store_ = RunStore::Open(tmp_.Sub("db")).value();
    CommitterOptions o;
    o.series_chunk_points = chunk_points;
    o.max_tail_points = max_tail_points;
    committer_ = Committer::Open(store_.get(), o).value();
  }

  // Appends points [from, to) to `path` (step i, value i / 2) in one record.
  void Append(const std::string& path, int from, int to) {
    std::vector<wal::FloatPoint> pts;
    for (int i = from; i < to; ++i) pts.emplace_back(i, 1000 + i, i / 2.0);
    auto payload = rb_.AppendFloats(path, pts);
    ASSERT_TRUE(committer_->Add({++lsn_, static_cast<uint16_t>(wal::RecordType::AppendFloats),
                                 payload})
                    .ok());
  }

  void ExpectSeries(const std::string& path, int n) {
    auto values = QueryValues(*store_, path, {});
    ASSERT_TRUE(values.ok()) << values.status().ToString();
    ASSERT_EQ(values->floats.size(), static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(values->floats[i].step, i);
      ASSERT_EQ(values->floats[i].value, i / 2.0);
      ASSERT_EQ(values->floats[i].timestamp_us, 1000 + i);
    }
    auto last = QueryLast(*store_, path).value();
    EXPECT_EQ(last.count, static_cast<uint64_t>(n));
    EXPECT_EQ(last.last_step, n - 1);
  }

  size_t SeriesKeys() {
    std::unique_ptr<rocksdb::Iterator> it(
        store_->db()->NewIterator({}, store_->cf(RunStore::kSeries)));
    size_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
    return n;
  }

  test::TempDir tmp_;
  std::unique_ptr<RunStore> store_;
  std::unique_ptr<Committer> committer_;
  wal::RecordBuilder rb_;
  uint64_t lsn_ = 0;
};

TEST_F(CommitterTest, EachBatchWritesOnePieceAndAFullTailIsSealedIntoChunks) {
  Open(/*chunk_points=*/8, /*max_tail_points=*/1 << 20);
  for (int i = 0; i < 20; ++i) {
    Append("s", i, i + 1);
    ASSERT_TRUE(committer_->Commit().ok());
    ExpectSeries("s", i + 1);
  }
  // Two sealed chunks (steps 0-7, 8-15) and four one-point pieces (16..19).
  EXPECT_EQ(SeriesKeys(), 6u);
  Append("s", 20, 24);  // the tail reaches 8 points: sealed, the pieces deleted
  ASSERT_TRUE(committer_->Commit().ok());
  EXPECT_EQ(SeriesKeys(), 3u);
  ExpectSeries("s", 24);
  // A large batch seals several chunks at once and keeps the rest as one piece.
  Append("s", 24, 24 + 8 * 3 + 5);
  ASSERT_TRUE(committer_->Commit().ok());
  EXPECT_EQ(SeriesKeys(), 3u + 3u + 1u);
  ExpectSeries("s", 53);
}

TEST_F(CommitterTest, TailsDroppedFromMemoryOrLostWithTheProcessAreReloadedFromPieces) {
  Open(/*chunk_points=*/8, /*max_tail_points=*/4);  // over 4 tail points: dropped
  for (int i = 0; i < 30; ++i) {
    Append("a", i, i + 1);
    Append("b", i, i + 1);
    ASSERT_TRUE(committer_->Commit().ok());
  }
  ExpectSeries("a", 30);
  ExpectSeries("b", 30);
  EXPECT_EQ(SeriesKeys(), 2u * (3 + 6));  // per series: 3 sealed, 6 pieces (24..29)
  Open(8, 1 << 20);  // a new process: the committed state only
  EXPECT_EQ(committer_->applied_lsn(), lsn_);
  Append("a", 30, 33);
  ASSERT_TRUE(committer_->Commit().ok());
  ExpectSeries("a", 33);
  EXPECT_EQ(SeriesKeys(), 2u * 3 + 1 + 6 + 1);  // a: 4 sealed + piece 32; b: 3 + 6 pieces
}

TEST_F(CommitterTest, ReplayedRecordsAtOrBelowTheAppliedLsnAreSkipped) {
  Open(8, 1 << 20);
  Append("s", 0, 5);
  ASSERT_TRUE(committer_->Commit().ok());
  lsn_ = 0;  // the same LSN again, as a replay after a crash would present it
  Append("s", 0, 5);
  ASSERT_TRUE(committer_->Commit().ok());
  ExpectSeries("s", 5);
  EXPECT_EQ(committer_->rejected(), 0u);
}

}  // namespace
}  // namespace runlog::engine
