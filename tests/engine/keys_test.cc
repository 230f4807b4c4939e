#include "engine/keys.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <random>

namespace runlog::engine {
namespace {

TEST(KeysTest, OrderedDoubleBitsSortLikeTheNumbers) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> v = {-inf,
                           -1e300,
                           -2.5,
                           -1,
                           -std::numeric_limits<double>::denorm_min(),
                           -0.0,
                           0.0,
                           std::numeric_limits<double>::denorm_min(),
                           1,
                           1.5,
                           1e300,
                           inf};
  for (size_t i = 1; i < v.size(); ++i) {
    EXPECT_LT(OrderedDoubleBits(v[i - 1]), OrderedDoubleBits(v[i])) << v[i - 1] << " " << v[i];
  }
  EXPECT_GT(OrderedDoubleBits(std::nan("")), OrderedDoubleBits(inf));
  for (double d : v) {
    EXPECT_EQ(std::bit_cast<uint64_t>(DoubleFromOrderedBits(OrderedDoubleBits(d))),
              std::bit_cast<uint64_t>(d));
  }
  EXPECT_TRUE(std::isnan(DoubleFromOrderedBits(OrderedDoubleBits(std::nan("")))));
}

TEST(KeysTest, ChunkKeysSortByFieldThenStepAndStayInTheFieldRange) {
  std::mt19937_64 rng(1);
  std::vector<std::pair<uint64_t, double>> items;
  for (int i = 0; i < 2000; ++i) {
    items.push_back({rng() % 5 + 1, (static_cast<double>(rng() % 20001) - 10000) / 7});
  }
  std::vector<std::string> keys;
  for (auto [f, s] : items) keys.push_back(SeriesChunkKey(f, s));
  std::sort(items.begin(), items.end());
  std::sort(keys.begin(), keys.end());
  for (size_t i = 0; i < keys.size(); ++i) {
    uint64_t f;
    double s;
    ASSERT_TRUE(ParseSeriesChunkKey(keys[i], &f, &s));
    EXPECT_EQ(f, items[i].first);
    EXPECT_EQ(s, items[i].second);
    EXPECT_GE(keys[i], FieldRangeBegin(f));
    EXPECT_LT(keys[i], FieldRangeEnd(f));
  }
  uint64_t f;
  double s;
  EXPECT_FALSE(ParseSeriesChunkKey("short", &f, &s));
  EXPECT_EQ(FieldRangeEnd(255), FieldRangeBegin(256));
}

}  // namespace
}  // namespace runlog::engine
