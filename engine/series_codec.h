// The encoding of a chunk of float-series points (step, timestamp, value) as RocksDB stores
// them (DESIGN §5). Byte-oriented, so decoding stays fast:
//   steps       a flag when every step is the previous + 1 (the common case: no bytes per
//               point); otherwise each step XOR the previous, as below
//   timestamps  delta-of-delta in microseconds, zigzag varint (1 byte for a steady clock)
//   values      each value XOR the previous: one control byte (leading and trailing zero
//               bytes of the XOR), then the bytes between them
// Every double round-trips bit for bit: NaN payloads, -0.0 and infinities included.
//
// Chunk := u8 version(1) | u8 flags | varint count | step0 f64 | ts0 i64 | value0 f64
//          | steps... | timestamps... | values...
//
// Thread safety: free functions; safe from any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "runlog/status.h"

namespace runlog::engine {

struct SeriesPoint {
  double step = 0;
  int64_t timestamp_us = 0;
  double value = 0;
};

// Appends the encoding of `points` (at least one) to *out.
void EncodeSeriesChunk(std::span<const SeriesPoint> points, std::string* out);

// Decodes a whole chunk, appending its points to *out. Corruption for truncated or
// malformed input (the input is untrusted: every length is checked).
Status DecodeSeriesChunk(std::span<const uint8_t> chunk, std::vector<SeriesPoint>* out);

// String (and file) series points: the value is bytes.
//   StringChunk := u8 version(2) | varint count | step0 f64 | ts0 i64
//                  | (XOR'd step, zigzag delta-of-delta ts) per later point
//                  | (varint length, bytes) per point
struct StringSeriesPoint {
  double step = 0;
  int64_t timestamp_us = 0;
  std::string value;
};
void EncodeStringChunk(std::span<const StringSeriesPoint> points, std::string* out);
Status DecodeStringChunk(std::span<const uint8_t> chunk, std::vector<StringSeriesPoint>* out);

}  // namespace runlog::engine
