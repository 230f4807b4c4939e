#include "engine/series_codec.h"

#include <bit>
#include <cstring>

namespace runlog::engine {
namespace {

constexpr uint8_t kVersion = 1;
constexpr uint8_t kStringVersion = 2;
constexpr uint8_t kUnitSteps = 1;  // flags: every step is the previous + 1

uint64_t Bits(double d) {
  return std::bit_cast<uint64_t>(d);
}
double FromBits(uint64_t b) {
  return std::bit_cast<double>(b);
}

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutFixed64(uint64_t v, std::string* out) {
  char buf[8];
  std::memcpy(buf, &v, 8);
  out->append(buf, 8);
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

// One XOR'd double: a control byte (leading zero bytes << 4 | trailing zero bytes), then
// the 8 - leading - trailing bytes between them, most significant first.
void PutXor(uint64_t x, std::string* out) {
  if (x == 0) {
    out->push_back(static_cast<char>(0x80));  // leading 8: no bytes follow
    return;
  }
  const int lead = std::countl_zero(x) / 8;
  const int trail = std::countr_zero(x) / 8;
  out->push_back(static_cast<char>(lead << 4 | trail));
  for (int i = 7 - lead; i >= trail; --i) out->push_back(static_cast<char>(x >> (8 * i)));
}

class Cursor {
 public:
  explicit Cursor(std::span<const uint8_t> in) : p_(in.data()), end_(in.data() + in.size()) {}
  bool Varint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift <= 63 && p_ < end_; shift += 7) {
      const uint8_t b = *p_++;
      result |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
    return false;
  }
  bool Fixed64(uint64_t* v) {
    if (end_ - p_ < 8) return false;
    std::memcpy(v, p_, 8);
    p_ += 8;
    return true;
  }
  bool Byte(uint8_t* b) {
    if (p_ >= end_) return false;
    *b = *p_++;
    return true;
  }
  bool Xor(uint64_t* x) {
    uint8_t control;
    if (!Byte(&control)) return false;
    const int lead = control >> 4, trail = control & 15;
    if (lead == 8 && trail == 0) {
      *x = 0;
      return true;
    }
    if (lead + trail >= 8 || end_ - p_ < 8 - lead - trail) return false;
    uint64_t v = 0;
    for (int i = 7 - lead; i >= trail; --i) v |= static_cast<uint64_t>(*p_++) << (8 * i);
    *x = v;
    return true;
  }
  bool done() const { return p_ == end_; }
  size_t left() const { return static_cast<size_t>(end_ - p_); }
  void Take(size_t n, std::string* s) {  // precondition: n <= left()
    s->assign(reinterpret_cast<const char*>(p_), n);
    p_ += n;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

}  // namespace

void EncodeSeriesChunk(std::span<const SeriesPoint> points, std::string* out) {
  bool unit = true;
  for (size_t i = 1; i < points.size() && unit; ++i) {
    unit = Bits(points[i].step) == Bits(points[i - 1].step + 1);
  }
  out->push_back(static_cast<char>(kVersion));
  out->push_back(static_cast<char>(unit ? kUnitSteps : 0));
  PutVarint(points.size(), out);
  if (points.empty()) return;
  PutFixed64(Bits(points[0].step), out);
  PutFixed64(static_cast<uint64_t>(points[0].timestamp_us), out);
  PutFixed64(Bits(points[0].value), out);
  if (!unit) {
    for (size_t i = 1; i < points.size(); ++i) {
      PutXor(Bits(points[i].step) ^ Bits(points[i - 1].step), out);
    }
  }
  int64_t prev_delta = 0;
  for (size_t i = 1; i < points.size(); ++i) {
    // Wrapping arithmetic: any int64 timestamps round-trip.
    const int64_t delta = static_cast<int64_t>(static_cast<uint64_t>(points[i].timestamp_us) -
                                               static_cast<uint64_t>(points[i - 1].timestamp_us));
    PutVarint(ZigZag(static_cast<int64_t>(static_cast<uint64_t>(delta) -
                                          static_cast<uint64_t>(prev_delta))),
              out);
    prev_delta = delta;
  }
  for (size_t i = 1; i < points.size(); ++i) {
    PutXor(Bits(points[i].value) ^ Bits(points[i - 1].value), out);
  }
}

Status DecodeSeriesChunk(std::span<const uint8_t> chunk, std::vector<SeriesPoint>* out) {
  Cursor in(chunk);
  auto bad = [](const char* what) {
    return Status::Corruption(std::string("series chunk: ") + what);
  };
  uint8_t version, flags;
  uint64_t count;
  if (!in.Byte(&version) || !in.Byte(&flags) || !in.Varint(&count)) return bad("truncated header");
  if (version != kVersion) return bad("unknown version");
  if ((flags & ~kUnitSteps) != 0) return bad("unknown flags");
  // Each point past the first takes at least 2 bytes (a timestamp and a value control).
  if (count > chunk.size()) return bad("point count larger than the chunk");
  if (count == 0) return in.done() ? Status::OK() : bad("trailing bytes");
  const size_t base = out->size();
  out->resize(base + count);
  SeriesPoint* p = out->data() + base;
  uint64_t step, ts, value;
  if (!in.Fixed64(&step) || !in.Fixed64(&ts) || !in.Fixed64(&value)) {
    out->resize(base);
    return bad("truncated first point");
  }
  p[0] = {FromBits(step), static_cast<int64_t>(ts), FromBits(value)};
  for (uint64_t i = 1; i < count; ++i) {
    if ((flags & kUnitSteps) != 0) {
      p[i].step = p[i - 1].step + 1;
    } else {
      uint64_t x;
      if (!in.Xor(&x)) {
        out->resize(base);
        return bad("truncated steps");
      }
      p[i].step = FromBits(Bits(p[i - 1].step) ^ x);
    }
  }
  uint64_t prev_delta = 0;
  for (uint64_t i = 1; i < count; ++i) {
    uint64_t zz;
    if (!in.Varint(&zz)) {
      out->resize(base);
      return bad("truncated timestamps");
    }
    const uint64_t delta = prev_delta + static_cast<uint64_t>(UnZigZag(zz));
    p[i].timestamp_us = static_cast<int64_t>(static_cast<uint64_t>(p[i - 1].timestamp_us) + delta);
    prev_delta = delta;
  }
  for (uint64_t i = 1; i < count; ++i) {
    uint64_t x;
    if (!in.Xor(&x)) {
      out->resize(base);
      return bad("truncated values");
    }
    p[i].value = FromBits(Bits(p[i - 1].value) ^ x);
  }
  if (!in.done()) {
    out->resize(base);
    return bad("trailing bytes");
  }
  return Status::OK();
}

void EncodeStringChunk(std::span<const StringSeriesPoint> points, std::string* out) {
  out->push_back(static_cast<char>(kStringVersion));
  PutVarint(points.size(), out);
  if (points.empty()) return;
  PutFixed64(Bits(points[0].step), out);
  PutFixed64(static_cast<uint64_t>(points[0].timestamp_us), out);
  int64_t prev_delta = 0;
  for (size_t i = 1; i < points.size(); ++i) {
    PutXor(Bits(points[i].step) ^ Bits(points[i - 1].step), out);
    const int64_t delta = static_cast<int64_t>(static_cast<uint64_t>(points[i].timestamp_us) -
                                               static_cast<uint64_t>(points[i - 1].timestamp_us));
    PutVarint(ZigZag(static_cast<int64_t>(static_cast<uint64_t>(delta) -
                                          static_cast<uint64_t>(prev_delta))),
              out);
    prev_delta = delta;
  }
  for (const StringSeriesPoint& p : points) {
    PutVarint(p.value.size(), out);
    out->append(p.value);
  }
}

Status DecodeStringChunk(std::span<const uint8_t> chunk, std::vector<StringSeriesPoint>* out) {
  Cursor in(chunk);
  auto bad = [](const char* what) {
    return Status::Corruption(std::string("string series chunk: ") + what);
  };
  uint8_t version;
  uint64_t count;
  if (!in.Byte(&version) || version != kStringVersion) return bad("unknown version");
  // Every point takes at least two bytes: a bound on count before reserving.
  if (!in.Varint(&count) || count > chunk.size()) return bad("bad point count");
  if (count == 0) return in.done() ? Status::OK() : bad("trailing bytes");
  const size_t first = out->size();
  out->resize(first + count);
  StringSeriesPoint* pts = out->data() + first;
  uint64_t step_bits, ts;
  if (!in.Fixed64(&step_bits) || !in.Fixed64(&ts)) {
    out->resize(first);
    return bad("truncated first point");
  }
  pts[0].step = FromBits(step_bits);
  pts[0].timestamp_us = static_cast<int64_t>(ts);
  uint64_t prev_delta = 0;
  for (uint64_t i = 1; i < count; ++i) {
    uint64_t x, dod;
    if (!in.Xor(&x) || !in.Varint(&dod)) {
      out->resize(first);
      return bad("truncated steps or timestamps");
    }
    step_bits ^= x;
    prev_delta += static_cast<uint64_t>(UnZigZag(dod));
    ts += prev_delta;
    pts[i].step = FromBits(step_bits);
    pts[i].timestamp_us = static_cast<int64_t>(ts);
  }
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t n;
    if (!in.Varint(&n) || n > in.left()) {
      out->resize(first);
      return bad("truncated value");
    }
    in.Take(n, &pts[i].value);
  }
  if (!in.done()) {
    out->resize(first);
    return bad("trailing bytes");
  }
  return Status::OK();
}

}  // namespace runlog::engine
