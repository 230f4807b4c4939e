#include "format/segment.h"

// Inlined: a call into the shared library costs as much as hashing a small record.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cstring>

namespace runlog::wal {

static_assert(std::endian::native == std::endian::little,
              "the WAL format is little-endian; big-endian hosts need byte swapping");

namespace {

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

template <typename T>
void Store(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

constexpr size_t kHeaderChecksumOffset = 56;

}  // namespace

std::string RunIdHex(const RunId& id) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : id) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

void EncodeSegmentHeader(const SegmentHeader& header, uint8_t out[kSegmentHeaderSize]) {
  std::memset(out, 0, kSegmentHeaderSize);
  std::memcpy(out, kSegmentMagic, sizeof(kSegmentMagic));
  Store<uint32_t>(out + 8, header.version);
  Store<uint32_t>(out + 12, static_cast<uint32_t>(kSegmentHeaderSize));
  std::memcpy(out + 16, header.run_id.data(), header.run_id.size());
  Store<uint64_t>(out + 32, header.first_lsn);
  Store<int64_t>(out + 40, header.created_us);
  Store<uint64_t>(out + kHeaderChecksumOffset, XXH3_64bits(out, kHeaderChecksumOffset));
}

Status DecodeSegmentHeader(std::span<const uint8_t> in, std::string_view file,
                           SegmentHeader* header) {
  std::string where = std::string(file) + " header: ";
  if (in.size() < kSegmentHeaderSize) {
    return Status::Corruption(where + "only " + std::to_string(in.size()) + " of " +
                              std::to_string(kSegmentHeaderSize) + " bytes");
  }
  if (std::memcmp(in.data(), kSegmentMagic, sizeof(kSegmentMagic)) != 0) {
    return Status::Corruption(where + "bad magic (not a runlog WAL segment)");
  }
  uint64_t expected = Load<uint64_t>(in.data() + kHeaderChecksumOffset);
  uint64_t actual = XXH3_64bits(in.data(), kHeaderChecksumOffset);
  if (expected != actual) {
    char buf[96];
    std::snprintf(buf, sizeof(buf), "checksum mismatch: expected %016llx, actual %016llx",
                  static_cast<unsigned long long>(expected),
                  static_cast<unsigned long long>(actual));
    return Status::Corruption(where + buf);
  }
  header->version = Load<uint32_t>(in.data() + 8);
  if (header->version != kFormatVersion) {
    return Status::NotSupported(where + "format version " + std::to_string(header->version) +
                                ", this build reads version " + std::to_string(kFormatVersion));
  }
  uint32_t size = Load<uint32_t>(in.data() + 12);
  if (size != kSegmentHeaderSize) {
    return Status::Corruption(where + "header size " + std::to_string(size) + ", expected " +
                              std::to_string(kSegmentHeaderSize));
  }
  std::memcpy(header->run_id.data(), in.data() + 16, header->run_id.size());
  header->first_lsn = Load<uint64_t>(in.data() + 32);
  header->created_us = Load<int64_t>(in.data() + 40);
  if (header->first_lsn < kFirstLsn) {
    return Status::Corruption(where + "first LSN 0");
  }
  return Status::OK();
}

RecordHeader LoadRecordHeader(const uint8_t* p) {
  RecordHeader h;
  h.checksum = __atomic_load_n(reinterpret_cast<const uint64_t*>(p), __ATOMIC_ACQUIRE);
  h.lsn = Load<uint64_t>(p + 8);
  h.length = Load<uint32_t>(p + 16);
  h.type = Load<uint16_t>(p + 20);
  h.flags = Load<uint16_t>(p + 22);
  return h;
}

uint64_t ComputeRecordChecksum(const uint8_t* record, uint32_t length) {
  return XXH3_64bits(record + 8, AlignedRecordSize(length) - 8);
}

void EncodeRecord(uint8_t* dst, Lsn lsn, uint16_t type, std::span<const uint8_t> payload) {
  uint32_t length = static_cast<uint32_t>(payload.size());
  Store<uint64_t>(dst + 8, lsn);
  Store<uint32_t>(dst + 16, length);
  Store<uint16_t>(dst + 20, type);
  Store<uint16_t>(dst + 22, 0);
  std::memcpy(dst + kRecordHeaderSize, payload.data(), payload.size());
  size_t padded = AlignedRecordSize(payload.size());
  std::memset(dst + kRecordHeaderSize + length, 0, padded - kRecordHeaderSize - length);
  __atomic_store_n(reinterpret_cast<uint64_t*>(dst), ComputeRecordChecksum(dst, length),
                   __ATOMIC_RELEASE);
}

std::string SegmentFileName(Lsn first_lsn) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020llu%s", static_cast<unsigned long long>(first_lsn),
                kSegmentSuffix);
  return buf;
}

bool ParseSegmentFileName(std::string_view name, Lsn* first_lsn) {
  std::string_view suffix(kSegmentSuffix);
  if (name.size() != kSegmentNameDigits + suffix.size()) return false;
  if (name.substr(kSegmentNameDigits) != suffix) return false;
  Lsn v = 0;
  for (size_t i = 0; i < kSegmentNameDigits; ++i) {
    char c = name[i];
    if (c < '0' || c > '9') return false;
    Lsn next = v * 10 + static_cast<Lsn>(c - '0');
    if (next / 10 != v) return false;  // overflow
    v = next;
  }
  *first_lsn = v;
  return true;
}

Result<std::vector<SegmentFile>> ListSegments(FileSystem* fs, const std::string& dir) {
  RUNLOG_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(dir));
  std::vector<SegmentFile> out;
  for (const std::string& name : names) {
    Lsn first;
    if (ParseSegmentFileName(name, &first)) out.push_back({first, dir + "/" + name});
  }
  std::sort(out.begin(), out.end(),
            [](const SegmentFile& a, const SegmentFile& b) { return a.first_lsn < b.first_lsn; });
  return out;
}

bool AllZero(std::span<const uint8_t> bytes) {
  const uint8_t* p = bytes.data();
  size_t n = bytes.size();
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    if (v != 0) return false;
    p += 8;
    n -= 8;
  }
  while (n-- > 0) {
    if (*p++ != 0) return false;
  }
  return true;
}

}  // namespace runlog::wal
