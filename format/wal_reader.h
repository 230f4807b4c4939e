// Reading a WAL: iterate records from any LSN, verify each (checksum, then the FlatBuffers
// Verifier), follow a log that is still being written, and classify damage.
//
// The reader detects and reports; the RecoveryMode chosen by the caller decides the policy:
//   kTolerateTornTail (default)  a damaged or zero-filled end of the last segment is a clean
//                                end (reported once through on_damage); damage followed by
//                                valid records is Corruption naming segment, offset,
//                                expected and actual checksum.
//   kStrict                      any damage, a torn tail included, is Corruption.
//   kSalvage                     every damaged range is reported and skipped; every
//                                verifiable record is returned.
//
// Thread safety: a Reader is used by one thread at a time. Any number of Readers, in any
// number of processes, may read a log while one Writer appends to it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "format/file_system.h"
#include "format/log_format.h"
#include "format/segment.h"
#include "runlog/status.h"

namespace runlog::wal {

enum class RecoveryMode {
  kTolerateTornTail,
  kStrict,
  kSalvage,
};

enum class DamageKind {
  kTornTail,          // the end of the last segment: a record cut short, or zeros and debris
  kChecksumMismatch,  // a record whose checksum does not match its bytes
  kBadRecordHeader,   // a length past the segment's end or over the limit, a zero type
  kBadSegmentHeader,  // bad magic, checksum, size, or a header of another run
  kVerifierFailure,   // a record whose checksum matches but whose payload fails the Verifier
  kLsnGap,            // records missing between two valid ones
  kUnknownType,       // a record type this build does not know and may not skip
};

// "torn tail", "checksum mismatch", ...
const char* DamageKindName(DamageKind kind);

struct Damage {
  DamageKind kind = DamageKind::kTornTail;
  std::string segment;  // path of the segment file
  uint64_t offset = 0;  // byte offset in the segment where the damage starts
  uint64_t length = 0;  // bytes affected (skipped, or to be truncated)
  std::string detail;   // expected/actual checksum, lengths, LSNs

  // "<segment> offset <o>: <kind>: <detail> (<length> bytes)".
  std::string ToString() const;
};

struct ReaderOptions {
  RecoveryMode mode = RecoveryMode::kTolerateTornTail;
  // Return records from this LSN on; earlier ones are checked but not returned.
  Lsn start_lsn = kFirstLsn;
  // Live tail: at the end of the log Next() returns false ("no more yet") and a later call
  // returns records appended since. A record still being written is never reported as
  // damage while following.
  bool follow = false;
  // Run the FlatBuffers Verifier on every returned payload. Turning it off is only for
  // callers that verify themselves.
  bool verify_payloads = true;
  // Treat bytes after the last complete record of the last segment as an append in
  // progress, not a torn tail, while a writer holds the log's LOCK. Writers turn this off
  // to recover their own log.
  bool detect_live_writer = true;
  // Return records of unknown types marked safe to ignore (their payload uninterpreted)
  // instead of skipping them: for copying a log whole (salvage).
  bool return_skippable_records = false;
  // Receives each torn tail (kTolerateTornTail) and each skipped range (kSalvage).
  std::function<void(const Damage&)> on_damage;
  FileSystem* fs = nullptr;  // nullptr: FileSystem::Default()
};

struct Record {
  Lsn lsn = 0;
  uint16_t type = 0;
  // Borrowed from the segment's mapping: valid until the next call to Next() or the
  // Reader's destruction.
  std::span<const uint8_t> payload;
  uint64_t offset = 0;  // of the record header in its segment
};

// Where the valid part of a log ends, after Next() returned false without following.
struct LogEnd {
  bool has_segments = false;
  RunId run_id{};
  Lsn last_lsn = 0;          // 0 when the log holds no record
  Lsn next_lsn = kFirstLsn;  // the LSN the next appended record gets
  std::string segment;       // the last usable segment (empty when none)
  uint64_t offset = 0;       // end of its last valid record: where the next one goes
  uint64_t garbage_end = 0;  // > offset when a torn tail spans [offset, garbage_end)
  std::vector<std::string> unusable_segments;  // last segments torn at creation
};

class Reader {
 public:
  // `path` is a wal/ directory, a run directory containing wal/, or one segment file.
  static Result<std::unique_ptr<Reader>> Open(const std::string& path,
                                              const ReaderOptions& options);
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // true: *record holds the next record. false: the end of the log (while following: no
  // more yet). An error (Corruption, NotSupported, IOError) is sticky.
  Result<bool> Next(Record* record);

  // Valid after Next() returned false.
  const LogEnd& end() const { return end_; }

 private:
  struct Segment;
  enum class Step { kRecord, kSkip, kEndOfSegment, kEndOfLog, kError };

  Reader(std::string dir, std::string single_file, ReaderOptions options);
  Status Refresh();
  Status OpenSegment(size_t index);
  Step ReadOne(Record* record);
  Step Problem(DamageKind kind, uint64_t offset, std::string detail);
  Step EndOfSegmentData(uint64_t offset);
  Step ErrorStep(Status status);
  uint64_t FindNextValidRecord(uint64_t from) const;
  uint64_t LastNonZero() const;
  bool RestIsZero(uint64_t offset) const;
  bool FileIsZero(const Segment& seg) const;
  template <typename Fn>
  bool ForEachDataRegion(const Segment& seg, uint64_t from, Fn&& fn) const;
  bool WriterIsActive() const;
  bool IsLastSegment() const { return index_ + 1 >= segments_.size(); }
  void CloseSegment();
  void Report(const Damage& damage);

  const std::string dir_;          // empty when reading one file
  const std::string single_file_;  // empty when reading a directory
  ReaderOptions options_;
  FileSystem* fs_;
  std::vector<SegmentFile> segments_;
  size_t index_ = 0;
  Lsn index_first_lsn_ = 0;       // first LSN of segments_[index_], kept across Refresh()
  std::unique_ptr<Segment> seg_;  // the open segment, or null
  uint64_t offset_ = 0;
  Lsn expected_lsn_ = 0;  // next LSN the log must hold; 0 before the first record
  bool have_run_id_ = false;
  bool damage_since_record_ = false;  // salvage: a range was reported since the last record
  Status error_;
  LogEnd end_;
};

}  // namespace runlog::wal
