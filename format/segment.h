// Encoding and decoding of segment headers and record headers, and segment file naming.
// The byte layout is in format/FORMAT.md and format/log_format.h.
//
// Thread safety: free functions over caller-owned bytes; safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "format/file_system.h"
#include "format/log_format.h"
#include "runlog/status.h"

namespace runlog::wal {

using RunId = std::array<uint8_t, 16>;

// "0123456789abcdef0123456789abcdef".
std::string RunIdHex(const RunId& id);

struct SegmentHeader {
  uint32_t version = kFormatVersion;
  RunId run_id{};
  Lsn first_lsn = kFirstLsn;
  int64_t created_us = 0;
};

void EncodeSegmentHeader(const SegmentHeader& header, uint8_t out[kSegmentHeaderSize]);

// Corruption for a bad magic, size or checksum; NotSupported for a newer version. `file`
// names the segment in the message.
Status DecodeSegmentHeader(std::span<const uint8_t> in, std::string_view file,
                           SegmentHeader* header);

struct RecordHeader {
  uint64_t checksum = 0;
  Lsn lsn = 0;
  uint32_t length = 0;
  uint16_t type = 0;
  uint16_t flags = 0;
};

// Reads the header at `p` (kRecordHeaderSize readable bytes). The checksum is loaded with
// acquire ordering: a writer stores it last, so a non-zero checksum means the rest of the
// record was written before it (within this machine).
RecordHeader LoadRecordHeader(const uint8_t* p);

// XXH3-64 of the record's bytes [8, AlignedRecordSize(length)): the header fields after
// the checksum, the payload and its zero padding.
uint64_t ComputeRecordChecksum(const uint8_t* record, uint32_t length);

// Writes a complete record (header, payload, zero padding) at `dst`, which has
// AlignedRecordSize(payload.size()) writable bytes. The checksum is stored last, with
// release ordering, so a concurrent reader never sees a checksum before its record.
void EncodeRecord(uint8_t* dst, Lsn lsn, uint16_t type, std::span<const uint8_t> payload);

// "00000000000000000001.wal" for first LSN 1.
std::string SegmentFileName(Lsn first_lsn);
// True when `name` is a segment file name; sets *first_lsn.
bool ParseSegmentFileName(std::string_view name, Lsn* first_lsn);

struct SegmentFile {
  Lsn first_lsn = 0;  // from the file name
  std::string path;
};

// The segment files of a wal/ directory, in LSN order. Other files are ignored.
Result<std::vector<SegmentFile>> ListSegments(FileSystem* fs, const std::string& dir);

// True when every byte of `bytes` is zero.
bool AllZero(std::span<const uint8_t> bytes);

}  // namespace runlog::wal
