// Helpers shared by the WAL tests: a test run id, records whose content follows from their
// LSN (so any record can be checked for integrity on its own), and whole-log reads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/records.h"
#include "format/wal_reader.h"
#include "format/wal_writer.h"

namespace runlog::test {

wal::RunId TestRunId(uint8_t seed = 7);

// Writer options for tests: the test run id, a small segment size, no syncing.
wal::WriterOptions SmallLogOptions(uint64_t segment_size = 64 << 10);

// The payload that the record at `lsn` carries in these tests: an AppendFloats of one
// point at path "m/<lsn % 10>" with step and value equal to the LSN.
std::span<const uint8_t> PointPayload(wal::RecordBuilder& builder, wal::Lsn lsn);
// True when `payload` is exactly PointPayload(lsn)'s content.
bool IsPointPayload(std::span<const uint8_t> payload, wal::Lsn lsn);

// Appends records carrying PointPayload(lsn) until `count` were added; fails the test on
// an error.
void AppendPoints(wal::Writer& writer, int count);

// Writes a closed log of `count` PointPayload records into `dir` with `segment_size`
// segments; fails the test on an error.
void WritePointLog(const std::string& dir, uint64_t segment_size, int count);

struct LogContents {
  Status status;                    // the reader's final status
  std::vector<wal::Lsn> lsns;       // records returned, in order
  std::vector<bool> intact;         // IsPointPayload for each
  std::vector<wal::Damage> damage;  // reported through on_damage
  wal::LogEnd end;
};

LogContents ReadLog(const std::string& path, wal::ReaderOptions options = {});

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& bytes);
// The segment files of a wal directory, in LSN order.
std::vector<std::string> SegmentPaths(const std::string& dir);

}  // namespace runlog::test
