#include "format/segment.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <cstring>

#include "tests/util/wal_fixtures.h"

namespace runlog::wal {
namespace {

SegmentHeader SampleHeader() {
  SegmentHeader h;
  h.run_id = test::TestRunId(3);
  h.first_lsn = 4242;
  h.created_us = 1700000000123456;
  return h;
}

TEST(SegmentHeaderTest, RoundTripsEveryField) {
  uint8_t buf[kSegmentHeaderSize];
  EncodeSegmentHeader(SampleHeader(), buf);
  SegmentHeader out;
  ASSERT_TRUE(DecodeSegmentHeader(buf, "s.wal", &out).ok());
  EXPECT_EQ(out.version, kFormatVersion);
  EXPECT_EQ(out.run_id, test::TestRunId(3));
  EXPECT_EQ(out.first_lsn, 4242u);
  EXPECT_EQ(out.created_us, 1700000000123456);
}

TEST(SegmentHeaderTest, BadMagicIsCorruptionNamingTheFile) {
  uint8_t buf[kSegmentHeaderSize];
  EncodeSegmentHeader(SampleHeader(), buf);
  buf[0] = 'X';
  SegmentHeader out;
  Status s = DecodeSegmentHeader(buf, "dir/7.wal", &out);
  EXPECT_TRUE(s.Is(Code::kCorruption));
  EXPECT_NE(s.message().find("dir/7.wal"), std::string::npos);
  EXPECT_NE(s.message().find("bad magic"), std::string::npos);
}

TEST(SegmentHeaderTest, FlippedByteIsChecksumMismatch) {
  for (size_t i = 8; i < kSegmentHeaderSize; ++i) {
    uint8_t buf[kSegmentHeaderSize];
    EncodeSegmentHeader(SampleHeader(), buf);
    buf[i] ^= 0x40;
    SegmentHeader out;
    Status s = DecodeSegmentHeader(buf, "s.wal", &out);
    EXPECT_TRUE(s.Is(Code::kCorruption)) << "byte " << i;
    EXPECT_NE(s.message().find("checksum mismatch"), std::string::npos) << s.message();
  }
}

TEST(SegmentHeaderTest, NewerVersionIsNotSupported) {
  uint8_t buf[kSegmentHeaderSize];
  EncodeSegmentHeader(SampleHeader(), buf);
  uint32_t v = kFormatVersion + 1;
  std::memcpy(buf + 8, &v, 4);
  uint64_t sum = XXH3_64bits(buf, 56);
  std::memcpy(buf + 56, &sum, 8);
  SegmentHeader out;
  Status s = DecodeSegmentHeader(buf, "s.wal", &out);
  EXPECT_TRUE(s.Is(Code::kNotSupported)) << s.ToString();
  EXPECT_NE(s.message().find("version 2"), std::string::npos);
}

TEST(SegmentHeaderTest, ShortHeaderIsCorruption) {
  uint8_t buf[kSegmentHeaderSize];
  EncodeSegmentHeader(SampleHeader(), buf);
  SegmentHeader out;
  EXPECT_TRUE(DecodeSegmentHeader(std::span(buf, 10), "s.wal", &out).Is(Code::kCorruption));
}

TEST(SegmentNameTest, NamesSortByFirstLsn) {
  EXPECT_EQ(SegmentFileName(1), "00000000000000000001.wal");
  Lsn lsn = 0;
  ASSERT_TRUE(ParseSegmentFileName(SegmentFileName(18446744073709551615ull), &lsn));
  EXPECT_EQ(lsn, 18446744073709551615ull);
  EXPECT_FALSE(ParseSegmentFileName("99999999999999999999.wal", &lsn));  // overflows
  EXPECT_FALSE(ParseSegmentFileName("0000000000000000001.wal", &lsn));
  EXPECT_FALSE(ParseSegmentFileName("0000000000000000000a.wal", &lsn));
  EXPECT_FALSE(ParseSegmentFileName("00000000000000000001.wal.tmp", &lsn));
  EXPECT_LT(SegmentFileName(9), SegmentFileName(10));
}

TEST(RecordCodecTest, ChecksumCoversHeaderPayloadAndPadding) {
  std::vector<uint8_t> payload = {1, 2, 3, 4, 5};
  std::vector<uint8_t> rec(AlignedRecordSize(payload.size()));
  EncodeRecord(rec.data(), 77, 32, payload);
  RecordHeader h = LoadRecordHeader(rec.data());
  EXPECT_EQ(h.lsn, 77u);
  EXPECT_EQ(h.length, 5u);
  EXPECT_EQ(h.type, 32);
  EXPECT_EQ(h.checksum, ComputeRecordChecksum(rec.data(), 5));
  for (size_t i = 8; i < rec.size(); ++i) {
    rec[i] ^= 1;
    EXPECT_NE(h.checksum, ComputeRecordChecksum(rec.data(), 5)) << "byte " << i;
    rec[i] ^= 1;
  }
}

}  // namespace
}  // namespace runlog::wal
