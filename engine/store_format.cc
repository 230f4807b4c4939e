#include "engine/store_format.h"

#include <bit>
#include <cstring>

#include "engine/keys.h"
#include "engine/path.h"

namespace runlog::engine {
namespace {

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// A cursor over untrusted bytes: every read checks what is left.
class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}
  bool Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift <= 63; shift += 7) {
      if (in_.empty()) return false;
      uint8_t b = static_cast<uint8_t>(in_[0]);
      in_.remove_prefix(1);
      *v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  bool Fixed64(uint64_t* v) {
    if (in_.size() < 8) return false;
    std::memcpy(v, in_.data(), 8);
    in_.remove_prefix(8);
    return true;
  }
  bool Double(double* d) {
    uint64_t bits;
    if (!Fixed64(&bits)) return false;
    *d = std::bit_cast<double>(bits);
    return true;
  }
  bool Byte(uint8_t* b) {
    if (in_.empty()) return false;
    *b = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool Bytes(std::string* s) {
    uint64_t n;
    if (!Varint(&n) || n > in_.size()) return false;
    s->assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  std::string_view rest() const { return in_; }
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

void PutBytes(std::string_view s, std::string* out) {
  PutVarint(s.size(), out);
  out->append(s);
}

void PutDouble(double d, std::string* out) {
  PutFixed64(std::bit_cast<uint64_t>(d), out);
}

Status Bad(std::string_view what, std::string_view path) {
  return Status::Corruption("malformed " + std::string(what) + " of " + EscapePath(path) +
                            " in the run's database");
}

}  // namespace

std::string FieldKey(std::string_view path) {
  std::string k(1, kFieldPrefix);
  k.append(path);
  return k;
}

std::string IdKey(FieldId id) {
  std::string k;
  PutBigEndian64(id, &k);
  return k;
}

std::string MemberKey(FieldId id, std::string_view name) {
  std::string k = IdKey(id);
  k.append(name);
  return k;
}

std::string ErrorKey(uint64_t lsn) {
  return IdKey(lsn);
}

void PutFixed64(uint64_t v, std::string* out) {
  char buf[8];
  std::memcpy(buf, &v, 8);
  out->append(buf, 8);
}

Result<uint64_t> DecodeFixed64(std::string_view in, std::string_view what) {
  if (in.size() != 8) {
    return Status::Corruption("malformed " + std::string(what) + " in the run's database (" +
                              std::to_string(in.size()) + " bytes, expected 8)");
  }
  uint64_t v;
  std::memcpy(&v, in.data(), 8);
  return v;
}

std::string EncodeFieldMeta(Field field, const StoredSummary* summary) {
  std::string out;
  PutVarint(field.id, &out);
  out.push_back(static_cast<char>(field.type));
  if (summary != nullptr) out.append(EncodeSummary(*summary));
  return out;
}

Result<Field> DecodeFieldMeta(std::string_view value, std::string_view path, StoredSummary* summary,
                              bool* has_summary) {
  Decoder d(value);
  uint64_t id;
  uint8_t type;
  if (!d.Varint(&id) || !d.Byte(&type) || id == 0 || type == 0 ||
      type > static_cast<uint8_t>(FieldType::MAX)) {
    return Bad("field entry", path);
  }
  if (has_summary != nullptr) *has_summary = !d.done();
  if (!d.done() && summary != nullptr) {
    RUNLOG_ASSIGN_OR_RETURN(*summary, DecodeSummary(d.rest(), path));
  }
  return Field{id, static_cast<FieldType>(type)};
}

std::string EncodeAtom(const Atom& atom) {
  std::string out(1, static_cast<char>(atom.type));
  switch (atom.type) {
    case runlog::FieldType::kFloat: PutDouble(std::get<double>(atom.value), &out); break;
    case runlog::FieldType::kInt:
      PutFixed64(static_cast<uint64_t>(std::get<int64_t>(atom.value)), &out);
      break;
    case runlog::FieldType::kBool: out.push_back(std::get<bool>(atom.value) ? 1 : 0); break;
    case runlog::FieldType::kString: out.append(std::get<std::string>(atom.value)); break;
    case runlog::FieldType::kDatetime:
      PutFixed64(static_cast<uint64_t>(std::get<Datetime>(atom.value).micros), &out);
      break;
    default: break;
  }
  return out;
}

Result<Atom> DecodeAtom(std::string_view value, std::string_view path) {
  Decoder d(value);
  uint8_t type;
  if (!d.Byte(&type)) return Bad("value", path);
  Atom atom;
  atom.type = static_cast<runlog::FieldType>(type);
  uint64_t bits = 0;
  switch (atom.type) {
    case runlog::FieldType::kFloat:
      if (!d.Fixed64(&bits) || !d.done()) return Bad("Float value", path);
      atom.value = std::bit_cast<double>(bits);
      return atom;
    case runlog::FieldType::kInt:
      if (!d.Fixed64(&bits) || !d.done()) return Bad("Int value", path);
      atom.value = static_cast<int64_t>(bits);
      return atom;
    case runlog::FieldType::kBool: {
      uint8_t b;
      if (!d.Byte(&b) || b > 1 || !d.done()) return Bad("Bool value", path);
      atom.value = b == 1;
      return atom;
    }
    case runlog::FieldType::kString: atom.value = std::string(d.rest()); return atom;
    case runlog::FieldType::kDatetime:
      if (!d.Fixed64(&bits) || !d.done()) return Bad("Datetime value", path);
      atom.value = Datetime{static_cast<int64_t>(bits)};
      return atom;
    default: return Bad("value", path);
  }
}

std::string EncodeSummary(const StoredSummary& s) {
  std::string out;
  out.push_back(static_cast<char>(s.summary.type));
  out.push_back(s.has_minmax ? 1 : 0);
  PutVarint(s.summary.count, &out);
  PutDouble(s.summary.first_step, &out);
  PutDouble(s.summary.last_step, &out);
  PutFixed64(static_cast<uint64_t>(s.summary.last_timestamp_us), &out);
  PutDouble(s.summary.last, &out);
  PutDouble(s.summary.min, &out);
  PutDouble(s.summary.max, &out);
  PutBytes(s.summary.last_string, &out);
  return out;
}

Result<StoredSummary> DecodeSummary(std::string_view value, std::string_view path) {
  Decoder d(value);
  StoredSummary s;
  uint8_t type, minmax;
  uint64_t ts;
  if (!d.Byte(&type) || !d.Byte(&minmax) || !d.Varint(&s.summary.count) ||
      !d.Double(&s.summary.first_step) || !d.Double(&s.summary.last_step) || !d.Fixed64(&ts) ||
      !d.Double(&s.summary.last) || !d.Double(&s.summary.min) || !d.Double(&s.summary.max) ||
      !d.Bytes(&s.summary.last_string) || !d.done() || minmax > 1) {
    return Bad("series summary", path);
  }
  s.summary.type = static_cast<runlog::FieldType>(type);
  s.summary.last_timestamp_us = static_cast<int64_t>(ts);
  s.has_minmax = minmax == 1;
  return s;
}

std::string EncodeError(const ErrorEntry& e) {
  std::string out;
  out.push_back(static_cast<char>(e.code));
  PutVarint(e.record_type, &out);
  PutBytes(e.path, &out);
  PutBytes(e.message, &out);
  out.append(e.payload);
  return out;
}

Result<ErrorEntry> DecodeError(std::string_view key, std::string_view value) {
  ErrorEntry e;
  Decoder d(value);
  uint8_t code;
  uint64_t type;
  if (key.size() != 8 || !d.Byte(&code) || !d.Varint(&type) || type > 0xffff || !d.Bytes(&e.path) ||
      !d.Bytes(&e.message)) {
    return Status::Corruption("malformed entry in the run's errors column family");
  }
  e.lsn = GetBigEndian64(key);
  e.code = static_cast<Code>(code);
  e.record_type = static_cast<uint16_t>(type);
  e.payload = std::string(d.rest());
  return e;
}

}  // namespace runlog::engine
