// Constants of the WAL's on-disk format. The byte grammar is in format/FORMAT.md; this
// header and that document change together.
#pragma once

#include <cstddef>
#include <cstdint>

namespace runlog::wal {

using Lsn = uint64_t;  // log sequence number: dense, increasing, first record of a log is 1

inline constexpr Lsn kFirstLsn = 1;

// ---- segment header (64 bytes) ----
// 0  magic "RUNLOGWL"          8 bytes
// 8  format version            u32
// 12 header size               u32 (64)
// 16 run id                    16 bytes
// 32 first LSN                 u64
// 40 creation time (us)        i64
// 48 reserved                  8 bytes, zero
// 56 XXH3-64 of bytes [0, 56)  u64
inline constexpr char kSegmentMagic[8] = {'R', 'U', 'N', 'L', 'O', 'G', 'W', 'L'};
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kSegmentHeaderSize = 64;

// ---- record header (24 bytes), then the payload, then zeros to an 8-byte boundary ----
// 0  checksum  u64  XXH3-64 of bytes [8, AlignedRecordSize(length)) of the record
// 8  lsn       u64
// 16 length    u32  payload bytes, without padding
// 20 type      u16  RecordType; bit 15 set = readers that do not know it may skip it
// 22 flags     u16  zero in this version
inline constexpr size_t kRecordHeaderSize = 24;
inline constexpr size_t kRecordAlignment = 8;
inline constexpr uint16_t kSafeToIgnoreBit = 0x8000;

// The largest payload a reader accepts; larger lengths are damage, not records.
inline constexpr uint32_t kMaxPayloadSize = 256u << 20;

// Every payload is a FlatBuffer with this file identifier.
inline constexpr char kPayloadIdentifier[5] = "RLOG";

inline constexpr size_t AlignedRecordSize(size_t payload_size) {
  return (kRecordHeaderSize + payload_size + kRecordAlignment - 1) & ~(kRecordAlignment - 1);
}

// Segment file names: the first LSN as 20 decimal digits, then ".wal".
inline constexpr size_t kSegmentNameDigits = 20;
inline constexpr char kSegmentSuffix[] = ".wal";

}  // namespace runlog::wal
