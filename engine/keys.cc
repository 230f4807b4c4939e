#include "engine/keys.h"

#include <bit>
#include <cmath>
#include <limits>

namespace runlog::engine {

uint64_t OrderedDoubleBits(double v) {
  if (std::isnan(v)) return ~uint64_t{0};  // every NaN sorts last, as one value
  const uint64_t bits = std::bit_cast<uint64_t>(v);
  // Negative numbers: flip every bit (larger magnitude sorts first); positive numbers and
  // +0.0: flip the sign bit so they sort after all negatives.
  return (bits >> 63) != 0 ? ~bits : bits | (uint64_t{1} << 63);
}

double DoubleFromOrderedBits(uint64_t bits) {
  if (bits == ~uint64_t{0}) return std::numeric_limits<double>::quiet_NaN();
  return std::bit_cast<double>((bits >> 63) != 0 ? bits & ~(uint64_t{1} << 63) : ~bits);
}

void PutBigEndian64(uint64_t v, std::string* out) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t GetBigEndian64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | static_cast<uint8_t>(in[i]);
  return v;
}

std::string SeriesChunkKey(uint64_t field_id, double first_step) {
  std::string key;
  key.reserve(16);
  PutBigEndian64(field_id, &key);
  PutBigEndian64(OrderedDoubleBits(first_step), &key);
  return key;
}

bool ParseSeriesChunkKey(std::string_view key, uint64_t* field_id, double* first_step) {
  if (key.size() != 16) return false;
  *field_id = GetBigEndian64(key);
  *first_step = DoubleFromOrderedBits(GetBigEndian64(key.substr(8)));
  return true;
}

std::string FieldRangeBegin(uint64_t field_id) {
  std::string key;
  PutBigEndian64(field_id, &key);
  return key;
}

std::string FieldRangeEnd(uint64_t field_id) {
  // Field ids stop below 2^64 - 1, so the next id always exists.
  return FieldRangeBegin(field_id + 1);
}

}  // namespace runlog::engine
