// Order-preserving RocksDB keys of the engine's column families (DESIGN §5). Field ids and
// steps are encoded so that bytewise key order is numeric order: a series' chunks sort by
// their first step, and all keys of a field id form one range (what a delete removes).
//
//   series chunk key := field_id (u64 big-endian) | first_step (ordered f64)
//   field range      := [field_id, field_id + 1) as 8-byte big-endian prefixes
//
// Thread safety: free functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace runlog::engine {

// 8 bytes whose unsigned bytewise order is the numeric order of doubles: -Inf < negative
// < -0.0 < +0.0 < positive < +Inf < NaN (NaNs sort last).
uint64_t OrderedDoubleBits(double v);
double DoubleFromOrderedBits(uint64_t bits);

void PutBigEndian64(uint64_t v, std::string* out);
uint64_t GetBigEndian64(std::string_view in);  // precondition: in.size() >= 8

// The key of the chunk of series `field_id` whose first point is at `first_step`.
std::string SeriesChunkKey(uint64_t field_id, double first_step);
// Decodes a SeriesChunkKey; false when `key` is not 16 bytes.
bool ParseSeriesChunkKey(std::string_view key, uint64_t* field_id, double* first_step);

// The smallest key of `field_id` and the smallest key of the next id: every key of the
// field lies in [begin, end), the range a delete of the field removes.
std::string FieldRangeBegin(uint64_t field_id);
std::string FieldRangeEnd(uint64_t field_id);

}  // namespace runlog::engine
