#include "engine/series_codec.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>

namespace runlog::engine {
namespace {

std::vector<SeriesPoint> RoundTrip(const std::vector<SeriesPoint>& points,
                                   size_t* bytes = nullptr) {
  std::string enc;
  EncodeSeriesChunk(points, &enc);
  if (bytes != nullptr) *bytes = enc.size();
  std::vector<SeriesPoint> out;
  Status s =
      DecodeSeriesChunk(std::span(reinterpret_cast<const uint8_t*>(enc.data()), enc.size()), &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

void ExpectBitExact(const std::vector<SeriesPoint>& a, const std::vector<SeriesPoint>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(std::bit_cast<uint64_t>(a[i].step), std::bit_cast<uint64_t>(b[i].step)) << i;
    EXPECT_EQ(a[i].timestamp_us, b[i].timestamp_us) << i;
    EXPECT_EQ(std::bit_cast<uint64_t>(a[i].value), std::bit_cast<uint64_t>(b[i].value)) << i;
  }
}

// A loss curve as training code logs it: float32 values, steps 1, 2, 3..., a clock ticking
// about every 10 ms.
std::vector<SeriesPoint> TrainingCurve(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0, 0.02f);
  std::vector<SeriesPoint> pts;
  int64_t t = 1764408846000000;
  for (size_t i = 0; i < n; ++i) {
    t += 10000 + static_cast<int64_t>(rng() % 200);
    float loss = 2.5f * std::exp(-static_cast<float>(i) / 3000.f) + noise(rng);
    pts.push_back({static_cast<double>(i + 1), t, static_cast<double>(loss)});
  }
  return pts;
}

TEST(SeriesCodecTest, ATrainingCurveRoundTripsInUnderTenBytesAPoint) {
  std::vector<SeriesPoint> pts = TrainingCurve(1024, 7);
  size_t bytes = 0;
  ExpectBitExact(RoundTrip(pts, &bytes), pts);
  EXPECT_LE(static_cast<double>(bytes) / pts.size(), 10.0) << bytes << " bytes";
}

TEST(SeriesCodecTest, SpecialValuesRoundTripBitForBit) {
  const double nan_payload = std::bit_cast<double>(0x7ff8dead0000beefull);
  std::vector<SeriesPoint> pts = {
      {1, 0, std::numeric_limits<double>::quiet_NaN()},
      {2, 1, nan_payload},
      {3, 2, std::numeric_limits<double>::infinity()},
      {4, 3, -std::numeric_limits<double>::infinity()},
      {5, 4, -0.0},
      {6, 5, 0.0},
      {7, 6, std::numeric_limits<double>::denorm_min()},
      {8, 7, std::numeric_limits<double>::max()},
      {9, 7, std::numeric_limits<double>::max()},  // same value, same time
  };
  ExpectBitExact(RoundTrip(pts), pts);
}

TEST(SeriesCodecTest, ArbitraryStepsAndTimestampsRoundTrip) {
  std::mt19937_64 rng(99);
  for (int round = 0; round < 50; ++round) {
    std::vector<SeriesPoint> pts;
    double step = -1e6 * static_cast<double>(rng() % 3);
    for (size_t i = 0; i < 1 + rng() % 300; ++i) {
      step += (rng() % 4 == 0) ? 0.5 : static_cast<double>(1 + rng() % 1000);
      pts.push_back({step, static_cast<int64_t>(rng()), std::bit_cast<double>(rng())});
    }
    ExpectBitExact(RoundTrip(pts), pts);
  }
  std::vector<SeriesPoint> extremes = {{1, std::numeric_limits<int64_t>::min(), 1},
                                       {2, std::numeric_limits<int64_t>::max(), 2},
                                       {3, std::numeric_limits<int64_t>::min(), 3}};
  ExpectBitExact(RoundTrip(extremes), extremes);
  ExpectBitExact(RoundTrip({}), {});
}

TEST(SeriesCodecTest, TruncatedAndGarbageChunksAreCorruptionNotCrashes) {
  std::vector<SeriesPoint> pts = TrainingCurve(100, 3);
  std::string enc;
  EncodeSeriesChunk(pts, &enc);
  for (size_t cut = 0; cut < enc.size(); ++cut) {
    std::vector<SeriesPoint> out;
    Status s =
        DecodeSeriesChunk(std::span(reinterpret_cast<const uint8_t*>(enc.data()), cut), &out);
    EXPECT_TRUE(s.Is(Code::kCorruption)) << cut;
    EXPECT_TRUE(out.empty()) << cut;
  }
  std::mt19937_64 rng(5);
  for (int i = 0; i < 2000; ++i) {
    std::string junk = enc;
    junk[rng() % junk.size()] = static_cast<char>(rng());
    std::vector<SeriesPoint> out;
    (void)DecodeSeriesChunk(std::span(reinterpret_cast<const uint8_t*>(junk.data()), junk.size()),
                            &out);  // any result but a crash
  }
  std::string huge_count = {1, 0, '\xff', '\xff', '\xff', '\xff', '\x0f'};
  std::vector<SeriesPoint> out;
  EXPECT_TRUE(
      DecodeSeriesChunk(
          std::span(reinterpret_cast<const uint8_t*>(huge_count.data()), huge_count.size()), &out)
          .Is(Code::kCorruption));
}

}  // namespace
}  // namespace runlog::engine
