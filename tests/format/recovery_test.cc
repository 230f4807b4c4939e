// Damage: torn tails, flipped bytes, bad headers, hostile lengths, unknown types, gaps;
// what each recovery mode does with them, and that a writer never appends after garbage.
#include <gtest/gtest.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "format/records.h"
#include "format/salvage.h"
#include "format/wal_reader.h"
#include "format/wal_writer.h"
#include "tests/util/temp_dir.h"
#include "tests/util/wal_fixtures.h"

namespace runlog::wal {
namespace {

// A closed one-segment log of `n` point records, and the byte extent of each record.
struct Log {
  std::string bytes;                               // the whole segment file
  std::vector<std::pair<size_t, size_t>> records;  // [start, end) of each record
};

Log MakeLog(int n) {
  test::TempDir dir;
  {
    auto w = Writer::Open(dir.path(), test::SmallLogOptions(64 << 10));
    EXPECT_TRUE(w.ok());
    test::AppendPoints(**w, n);
    EXPECT_TRUE((*w)->Close().ok());
  }
  Log log;
  log.bytes = test::ReadFile(test::SegmentPaths(dir.path()).at(0));
  auto reader = Reader::Open(dir.path(), {});
  Record rec;
  while (true) {
    auto more = (*reader)->Next(&rec);
    if (!more.ok() || !*more) break;
    log.records.push_back({rec.offset, rec.offset + AlignedRecordSize(rec.payload.size())});
  }
  EXPECT_EQ(log.records.size(), static_cast<size_t>(n));
  return log;
}

// Writes `bytes` as the only segment of a fresh wal directory; returns the directory.
std::string PutLog(const test::TempDir& tmp, const std::string& name, const std::string& bytes) {
  std::string dir = tmp.Sub(name);
  std::filesystem::create_directories(dir);
  test::WriteFile(dir + "/" + SegmentFileName(1), bytes);
  return dir;
}

ReaderOptions Mode(RecoveryMode m) {
  ReaderOptions o;
  o.mode = m;
  return o;
}

TEST(RecoveryTest, TruncatingTheLastRecordAtEveryByteKeepsAllEarlierRecords) {
  Log log = MakeLog(6);
  auto [start, end] = log.records.back();
  test::TempDir tmp;
  for (size_t cut = start; cut < end; ++cut) {
    // Cut short (the file ends mid-record) and torn in place (zeros up to the
    // preallocated size): both are torn tails.
    std::string cut_bytes = log.bytes.substr(0, cut);
    std::string zeroed = log.bytes;
    std::memset(zeroed.data() + cut, 0, end - cut);
    for (const std::string& bytes : {cut_bytes, zeroed}) {
      if (bytes == log.bytes) continue;  // the zeroed bytes were zeros already: intact
      std::string dir =
          PutLog(tmp, "cut" + std::to_string(cut) + "-" + std::to_string(bytes.size()), bytes);
      test::LogContents got = test::ReadLog(dir);
      ASSERT_TRUE(got.status.ok()) << cut << ": " << got.status.ToString();
      ASSERT_EQ(got.lsns.size(), 5u) << cut;
      for (bool ok : got.intact) EXPECT_TRUE(ok);
      // A cut exactly at the record boundary is a clean end; inside the record, a torn tail.
      const bool torn = !AllZero(
          std::span(reinterpret_cast<const uint8_t*>(bytes.data()) + start, bytes.size() - start));
      ASSERT_EQ(got.damage.size(), torn ? 1u : 0u) << cut;
      if (torn) {
        EXPECT_EQ(got.damage[0].kind, DamageKind::kTornTail);
        EXPECT_EQ(got.damage[0].offset, start);
      }
      EXPECT_TRUE(test::ReadLog(dir, Mode(RecoveryMode::kStrict)).status.ok() || torn);
      if (torn) {
        EXPECT_TRUE(test::ReadLog(dir, Mode(RecoveryMode::kStrict)).status.Is(Code::kCorruption));
      }

      // A writer clears the tail and appends right after LSN 5.
      std::vector<Damage> cleared;
      WriterOptions wo = test::SmallLogOptions(64 << 10);
      wo.on_damage = [&](const Damage& d) { cleared.push_back(d); };
      auto w = Writer::Open(dir, wo);
      ASSERT_TRUE(w.ok()) << w.status().ToString();
      EXPECT_EQ(cleared.size(), torn ? 1u : 0u);
      test::AppendPoints(**w, 1);
      ASSERT_TRUE((*w)->Close().ok());
      test::LogContents after = test::ReadLog(dir, Mode(RecoveryMode::kStrict));
      ASSERT_TRUE(after.status.ok()) << cut << ": " << after.status.ToString();
      ASSERT_EQ(after.lsns.size(), 6u);
      EXPECT_TRUE(after.intact.back());
    }
  }
}

TEST(RecoveryTest, FlippingAnyByteOfAMiddleRecordIsCorruptionAtItsOffset) {
  Log log = MakeLog(5);
  auto [start, end] = log.records[2];
  test::TempDir tmp;
  for (size_t i = start; i < end; ++i) {
    std::string bytes = log.bytes;
    bytes[i] ^= 0x5a;
    std::string dir = PutLog(tmp, "flip" + std::to_string(i), bytes);
    test::LogContents got = test::ReadLog(dir);
    ASSERT_TRUE(got.status.Is(Code::kCorruption)) << i << ": " << got.status.ToString();
    const std::string& m = got.status.message();
    EXPECT_NE(m.find(SegmentFileName(1)), std::string::npos) << m;
    EXPECT_NE(m.find("offset " + std::to_string(start) + ":"), std::string::npos) << m;
    if (i < start + 8 || i >= start + kRecordHeaderSize) {
      // Checksum or payload bytes: the message gives both checksums.
      EXPECT_NE(m.find("checksum mismatch: expected "), std::string::npos) << m;
      EXPECT_NE(m.find(", actual "), std::string::npos) << m;
    }
    EXPECT_EQ(got.lsns, (std::vector<Lsn>{1, 2}));
    EXPECT_TRUE(test::ReadLog(dir, Mode(RecoveryMode::kStrict)).status.Is(Code::kCorruption));

    // Salvage returns every other record and reports the damage.
    test::LogContents salvaged = test::ReadLog(dir, Mode(RecoveryMode::kSalvage));
    ASSERT_TRUE(salvaged.status.ok()) << salvaged.status.ToString();
    EXPECT_EQ(salvaged.lsns, (std::vector<Lsn>{1, 2, 4, 5})) << i;
    ASSERT_FALSE(salvaged.damage.empty());
    EXPECT_EQ(salvaged.damage[0].offset, start);
    for (bool ok : salvaged.intact) EXPECT_TRUE(ok);

    // A writer refuses to append to it.
    auto w = Writer::Open(dir, test::SmallLogOptions(64 << 10));
    EXPECT_TRUE(w.status().Is(Code::kCorruption)) << i;
  }
}

TEST(RecoveryTest, SalvageCopiesVerifiableRecordsIntoANewLog) {
  Log log = MakeLog(5);
  std::string bytes = log.bytes;
  bytes[log.records[1].first + 30] ^= 1;
  test::TempDir tmp;
  std::string dir = PutLog(tmp, "bad", bytes);
  auto result = SalvageLog(dir, tmp.Sub("out"));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->records, 4u);
  EXPECT_EQ(result->first_lsn, 1u);
  EXPECT_EQ(result->last_lsn, 4u);
  EXPECT_EQ(result->renumbered_from, 3u);
  ASSERT_GE(result->damage.size(), 1u);
  EXPECT_EQ(result->damage[0].kind, DamageKind::kChecksumMismatch);
  test::LogContents copy = test::ReadLog(tmp.Sub("out"), Mode(RecoveryMode::kStrict));
  ASSERT_TRUE(copy.status.ok()) << copy.status.ToString();
  EXPECT_EQ(copy.lsns, (std::vector<Lsn>{1, 2, 3, 4}));
  // The output must be new.
  EXPECT_TRUE(SalvageLog(dir, tmp.Sub("out")).status().Is(Code::kInvalidArgument));
}

TEST(RecoveryTest, AZeroFilledPreallocatedTailIsACleanEnd) {
  Log log = MakeLog(3);
  std::string bytes = log.bytes;
  bytes.resize(1 << 20, '\0');
  test::TempDir tmp;
  test::LogContents got = test::ReadLog(PutLog(tmp, "z", bytes), Mode(RecoveryMode::kStrict));
  ASSERT_TRUE(got.status.ok()) << got.status.ToString();
  EXPECT_EQ(got.lsns.size(), 3u);
  EXPECT_TRUE(got.damage.empty());
}

TEST(RecoveryTest, AnEmptySegmentHoldsNoRecordsAndAcceptsAppends) {
  test::TempDir tmp;
  {
    auto w = Writer::Open(tmp.path(), test::SmallLogOptions());
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Close().ok());
  }
  test::LogContents got = test::ReadLog(tmp.path(), Mode(RecoveryMode::kStrict));
  ASSERT_TRUE(got.status.ok());
  EXPECT_TRUE(got.lsns.empty());
  auto w = Writer::Open(tmp.path(), test::SmallLogOptions());
  ASSERT_TRUE(w.ok());
  test::AppendPoints(**w, 1);
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_EQ(test::ReadLog(tmp.path()).lsns, (std::vector<Lsn>{1}));
}

TEST(RecoveryTest, ALastSegmentWhoseHeaderNeverLandedIsATornTail) {
  test::TempDir tmp;
  test::WritePointLog(tmp.path(), 4096, 100);
  std::vector<std::string> segs = test::SegmentPaths(tmp.path());
  Lsn first;
  ASSERT_TRUE(ParseSegmentFileName(segs.back().substr(segs.back().rfind('/') + 1), &first));
  std::string zeros(4096, '\0');
  test::WriteFile(segs.back(), zeros);
  test::LogContents got = test::ReadLog(tmp.path());
  ASSERT_TRUE(got.status.ok()) << got.status.ToString();
  EXPECT_EQ(got.lsns.size(), first - 1);
  ASSERT_EQ(got.damage.size(), 1u);
  EXPECT_EQ(got.damage[0].kind, DamageKind::kTornTail);
  EXPECT_TRUE(test::ReadLog(tmp.path(), Mode(RecoveryMode::kStrict)).status.Is(Code::kCorruption));
  auto w = Writer::Open(tmp.path(), test::SmallLogOptions(4096));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ((*w)->last_lsn(), first - 1);
  test::AppendPoints(**w, 1);
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_TRUE(test::ReadLog(tmp.path(), Mode(RecoveryMode::kStrict)).status.ok());
}

// A power cut after a roll: the new segment's header was synced when it was created, the
// old segment's unsynced last record was lost. The empty new segment is a torn tail, not a
// gap; were a record in it, the gap would be corruption (its sync would have synced the old
// segment first).
TEST(RecoveryTest, AnEmptyLastSegmentAfterALostTailIsATornTail) {
  for (bool record_in_last : {false, true}) {
    SCOPED_TRACE(record_in_last ? "a record in the last segment" : "the last segment empty");
    test::TempDir tmp;
    test::WritePointLog(tmp.path(), 4096, 100);
    std::vector<std::string> segs = test::SegmentPaths(tmp.path());
    ASSERT_GE(segs.size(), 3u);
    const std::string old_seg = segs[segs.size() - 2], last_seg = segs.back();
    Lsn last_first;
    ASSERT_TRUE(ParseSegmentFileName(last_seg.substr(last_seg.rfind('/') + 1), &last_first));
    // The offsets of the old segment's last record and of the last segment's first.
    uint64_t old_last = 0, last_second = 0;
    {
      auto reader = Reader::Open(tmp.path(), {}).value();
      Record rec;
      while (reader->Next(&rec).value()) {
        if (rec.lsn == last_first - 1) old_last = rec.offset;
        if (rec.lsn == last_first + 1) last_second = rec.offset;
      }
    }
    ASSERT_GT(old_last, 0u);
    std::string old_bytes = test::ReadFile(old_seg);
    std::fill(old_bytes.begin() + static_cast<long>(old_last), old_bytes.end(), '\0');
    test::WriteFile(old_seg, old_bytes);
    std::string last_bytes = test::ReadFile(last_seg);
    const size_t keep = record_in_last ? last_second : kSegmentHeaderSize;
    ASSERT_GT(keep, 0u);
    std::fill(last_bytes.begin() + static_cast<long>(keep), last_bytes.end(), '\0');
    test::WriteFile(last_seg, last_bytes);

    test::LogContents got = test::ReadLog(tmp.path());
    if (record_in_last) {
      EXPECT_TRUE(got.status.Is(Code::kCorruption)) << got.status.ToString();
      EXPECT_NE(got.status.message().find("LSN gap"), std::string::npos) << got.status.message();
      EXPECT_FALSE(Writer::Open(tmp.path(), test::SmallLogOptions(4096)).ok());
      continue;
    }
    ASSERT_TRUE(got.status.ok()) << got.status.ToString();
    EXPECT_EQ(got.lsns.size(), last_first - 2);
    ASSERT_EQ(got.damage.size(), 1u);
    EXPECT_EQ(got.damage[0].kind, DamageKind::kTornTail);
    EXPECT_EQ(got.damage[0].segment, last_seg);
    EXPECT_TRUE(
        test::ReadLog(tmp.path(), Mode(RecoveryMode::kStrict)).status.Is(Code::kCorruption));
    // The writer drops the empty segment and goes on right after the last record.
    auto w = Writer::Open(tmp.path(), test::SmallLogOptions(4096));
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    EXPECT_EQ((*w)->last_lsn(), last_first - 2);
    test::AppendPoints(**w, 3);
    ASSERT_TRUE((*w)->Close().ok());
    got = test::ReadLog(tmp.path(), Mode(RecoveryMode::kStrict));
    ASSERT_TRUE(got.status.ok()) << got.status.ToString();
    EXPECT_EQ(got.lsns.size(), last_first + 1);
  }
}

TEST(RecoveryTest, BadMagicAndNewerVersionsAreClearErrors) {
  Log log = MakeLog(2);
  test::TempDir tmp;
  std::string magic = log.bytes;
  magic[3] = '!';
  test::LogContents got = test::ReadLog(PutLog(tmp, "magic", magic));
  EXPECT_TRUE(got.status.Is(Code::kCorruption));
  EXPECT_NE(got.status.message().find("bad magic"), std::string::npos);

  std::string version = log.bytes;
  uint32_t v = 9;
  std::memcpy(version.data() + 8, &v, 4);
  uint64_t sum = XXH3_64bits(version.data(), 56);
  std::memcpy(version.data() + 56, &sum, 8);
  got = test::ReadLog(PutLog(tmp, "version", version));
  EXPECT_TRUE(got.status.Is(Code::kNotSupported)) << got.status.ToString();
  EXPECT_NE(got.status.message().find("version 9"), std::string::npos);
}

TEST(RecoveryTest, HostileLengthsAreDamageNotCrashes) {
  Log log = MakeLog(4);
  test::TempDir tmp;
  const uint32_t lengths[] = {0,
                              1,
                              7,
                              0x7fffffff,
                              0xffffffff,
                              kMaxPayloadSize + 1,
                              static_cast<uint32_t>(log.bytes.size())};
  int n = 0;
  for (size_t r : {size_t{1}, size_t{3}}) {
    for (uint32_t len : lengths) {
      std::string bytes = log.bytes;
      std::memcpy(bytes.data() + log.records[r].first + 16, &len, 4);
      std::string dir = PutLog(tmp, "len" + std::to_string(n++), bytes);
      test::LogContents got = test::ReadLog(dir);
      if (r == 3) {
        // The last record: a torn tail, everything before it kept.
        ASSERT_TRUE(got.status.ok()) << got.status.ToString();
        EXPECT_EQ(got.lsns.size(), 3u);
        EXPECT_EQ(got.damage.size(), 1u);
      } else {
        EXPECT_TRUE(got.status.Is(Code::kCorruption)) << len;
        EXPECT_EQ(got.lsns.size(), 1u);
      }
      test::LogContents salvaged = test::ReadLog(dir, Mode(RecoveryMode::kSalvage));
      EXPECT_TRUE(salvaged.status.ok());
      EXPECT_EQ(salvaged.lsns.size(), 3u);
    }
  }
}

TEST(RecoveryTest, UnknownRecordTypesAreSkippedOnlyWhenMarkedSafe) {
  test::TempDir tmp;
  RecordBuilder rb;
  {
    auto w = Writer::Open(tmp.path(), test::SmallLogOptions());
    test::AppendPoints(**w, 1);
    ASSERT_TRUE((*w)->Append(0x8123, rb.AssignInt("future", 1)).ok());
    test::AppendPoints(**w, 1);
    ASSERT_TRUE((*w)->Close().ok());
  }
  test::LogContents got = test::ReadLog(tmp.path(), Mode(RecoveryMode::kStrict));
  ASSERT_TRUE(got.status.ok()) << got.status.ToString();
  EXPECT_EQ(got.lsns, (std::vector<Lsn>{1, 3}));

  test::TempDir tmp2;
  {
    auto w = Writer::Open(tmp2.path(), test::SmallLogOptions());
    test::AppendPoints(**w, 1);
    ASSERT_TRUE((*w)->Append(0x0123, rb.AssignInt("future", 1)).ok());
    test::AppendPoints(**w, 1);
    ASSERT_TRUE((*w)->Close().ok());
  }
  got = test::ReadLog(tmp2.path());
  EXPECT_TRUE(got.status.Is(Code::kNotSupported)) << got.status.ToString();
  EXPECT_NE(got.status.message().find("291"), std::string::npos);
  EXPECT_EQ(got.lsns, (std::vector<Lsn>{1}));
  // An old writer must not extend a log it cannot fully read.
  EXPECT_TRUE(Writer::Open(tmp2.path(), test::SmallLogOptions()).status().Is(Code::kNotSupported));
  got = test::ReadLog(tmp2.path(), Mode(RecoveryMode::kSalvage));
  EXPECT_TRUE(got.status.ok());
  EXPECT_EQ(got.lsns, (std::vector<Lsn>{1, 3}));
  ASSERT_EQ(got.damage.size(), 1u);
  EXPECT_EQ(got.damage[0].kind, DamageKind::kUnknownType);
}

TEST(RecoveryTest, AMissingSegmentIsAnLsnGap) {
  test::TempDir tmp;
  test::WritePointLog(tmp.path(), 4096, 200);
  std::vector<std::string> segs = test::SegmentPaths(tmp.path());
  ASSERT_GT(segs.size(), 3u);
  std::filesystem::remove(segs[1]);
  test::LogContents got = test::ReadLog(tmp.path());
  EXPECT_TRUE(got.status.Is(Code::kCorruption));
  EXPECT_NE(got.status.message().find("LSN gap"), std::string::npos) << got.status.message();
  got = test::ReadLog(tmp.path(), Mode(RecoveryMode::kSalvage));
  EXPECT_TRUE(got.status.ok());
  ASSERT_FALSE(got.damage.empty());
  EXPECT_EQ(got.damage[0].kind, DamageKind::kLsnGap);
}

TEST(RecoveryTest, ASegmentOfAnotherRunIsCorruption) {
  test::TempDir a, b;
  for (auto* t : {&a, &b}) {
    WriterOptions o = test::SmallLogOptions(4096);
    if (t == &b) o.run_id = test::TestRunId(50);
    auto w = Writer::Open(t->path(), o);
    test::AppendPoints(**w, 100);
    ASSERT_TRUE((*w)->Close().ok());
  }
  std::vector<std::string> sa = test::SegmentPaths(a.path()), sb = test::SegmentPaths(b.path());
  std::filesystem::copy_file(sb[2], sa[2], std::filesystem::copy_options::overwrite_existing);
  test::LogContents got = test::ReadLog(a.path());
  EXPECT_TRUE(got.status.Is(Code::kCorruption));
  EXPECT_NE(got.status.message().find("belongs to run"), std::string::npos);
}

TEST(RecoveryTest, GarbageInTheUnusedTailOfAnOlderSegmentIsCorruption) {
  test::TempDir tmp;
  test::WritePointLog(tmp.path(), 4096, 200);
  std::vector<std::string> segs = test::SegmentPaths(tmp.path());
  std::string bytes = test::ReadFile(segs[0]);
  bytes[bytes.size() - 1] = 0x11;
  test::WriteFile(segs[0], bytes);
  test::LogContents got = test::ReadLog(tmp.path());
  EXPECT_TRUE(got.status.Is(Code::kCorruption)) << got.status.ToString();
  EXPECT_TRUE(Writer::Open(tmp.path(), test::SmallLogOptions(4096)).status().Is(Code::kCorruption));
}

}  // namespace
}  // namespace runlog::wal
