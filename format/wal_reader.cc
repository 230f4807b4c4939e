#include "format/wal_reader.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>

#include "format/records.h"

namespace runlog::wal {
namespace {

constexpr uint64_t kNone = ~uint64_t{0};

std::string Hex64(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%016" PRIx64, v);
  return buf;
}

}  // namespace

const char* DamageKindName(DamageKind kind) {
  switch (kind) {
    case DamageKind::kTornTail: return "torn tail";
    case DamageKind::kChecksumMismatch: return "checksum mismatch";
    case DamageKind::kBadRecordHeader: return "bad record header";
    case DamageKind::kBadSegmentHeader: return "bad segment header";
    case DamageKind::kVerifierFailure: return "verifier failure";
    case DamageKind::kLsnGap: return "LSN gap";
    case DamageKind::kUnknownType: return "unknown record type";
  }
  return "damage";
}

std::string Damage::ToString() const {
  std::string s = segment + " offset " + std::to_string(offset) + ": " + DamageKindName(kind);
  if (!detail.empty()) s += ": " + detail;
  if (length != 0) s += " (" + std::to_string(length) + " bytes)";
  return s;
}

struct Reader::Segment {
  FileSystem* fs = nullptr;
  std::string path;
  int fd = -1;
  const uint8_t* base = nullptr;
  size_t size = 0;

  ~Segment() {
    if (base != nullptr) fs->Unmap(const_cast<uint8_t*>(base), size);
    if (fd >= 0) (void)fs->Close(fd, path);
  }
};

Reader::Reader(std::string dir, std::string single_file, ReaderOptions options)
    : dir_(std::move(dir)),
      single_file_(std::move(single_file)),
      options_(std::move(options)),
      fs_(options_.fs != nullptr ? options_.fs : FileSystem::Default()) {}

Reader::~Reader() = default;

Result<std::unique_ptr<Reader>> Reader::Open(const std::string& path,
                                             const ReaderOptions& options) {
  FileSystem* fs = options.fs != nullptr ? options.fs : FileSystem::Default();
  RUNLOG_ASSIGN_OR_RETURN(bool is_dir, fs->IsDirectory(path));
  std::unique_ptr<Reader> reader;
  if (is_dir) {
    std::string dir = path;
    RUNLOG_ASSIGN_OR_RETURN(bool has_wal, fs->IsDirectory(path + "/wal"));
    if (has_wal) dir = path + "/wal";
    reader.reset(new Reader(dir, "", options));
  } else {
    RUNLOG_ASSIGN_OR_RETURN(int fd, fs->Open(path, O_RDONLY));
    (void)fs->Close(fd, path);
    reader.reset(new Reader("", path, options));
  }
  RUNLOG_RETURN_IF_ERROR(reader->Refresh());
  // Start in the last segment whose first LSN is at or before start_lsn.
  auto& segs = reader->segments_;
  auto it = std::upper_bound(segs.begin(), segs.end(), options.start_lsn,
                             [](Lsn lsn, const SegmentFile& s) { return lsn < s.first_lsn; });
  reader->index_ = it == segs.begin() ? 0 : static_cast<size_t>(it - segs.begin()) - 1;
  reader->index_first_lsn_ = segs.empty() ? 0 : segs[reader->index_].first_lsn;
  return reader;
}

Status Reader::Refresh() {
  if (!single_file_.empty()) {
    if (segments_.empty()) segments_.push_back({0, single_file_});
    return Status::OK();
  }
  RUNLOG_ASSIGN_OR_RETURN(segments_, ListSegments(fs_, dir_));
  // Keep pointing at the same segment even if older ones were removed meanwhile.
  auto it = std::lower_bound(segments_.begin(), segments_.end(), index_first_lsn_,
                             [](const SegmentFile& s, Lsn lsn) { return s.first_lsn < lsn; });
  index_ = static_cast<size_t>(it - segments_.begin());
  return Status::OK();
}

void Reader::CloseSegment() {
  seg_.reset();
  ++index_;
  index_first_lsn_ = index_ < segments_.size() ? segments_[index_].first_lsn : index_first_lsn_ + 1;
}

void Reader::Report(const Damage& damage) {
  damage_since_record_ = true;
  if (options_.on_damage) options_.on_damage(damage);
}

Reader::Step Reader::ErrorStep(Status status) {
  error_ = std::move(status);
  return Step::kError;
}

Result<bool> Reader::Next(Record* record) {
  if (!error_.ok()) return error_;
  for (;;) {
    switch (ReadOne(record)) {
      case Step::kRecord: return true;
      case Step::kSkip:
      case Step::kEndOfSegment: continue;
      case Step::kEndOfLog:
        end_.next_lsn = expected_lsn_ != 0 ? expected_lsn_ : end_.next_lsn;
        return false;
      case Step::kError: return error_;
    }
  }
}

Reader::Step Reader::ReadOne(Record* record) {
  if (seg_ == nullptr) {
    if (index_ >= segments_.size()) {
      if (options_.follow) {
        if (Status s = Refresh(); !s.ok()) return ErrorStep(s);
        if (index_ < segments_.size()) return Step::kSkip;
      }
      return Step::kEndOfLog;
    }
    const size_t opening = index_;
    if (Status s = OpenSegment(index_); !s.ok()) return ErrorStep(s);
    // Following, a segment whose header is not there yet is looked at again later.
    if (seg_ == nullptr && index_ == opening) return Step::kEndOfLog;
    return Step::kSkip;  // OpenSegment may also have skipped the segment
  }
  const uint8_t* base = seg_->base;
  const size_t size = seg_->size;
  if (offset_ + kRecordHeaderSize > size) return EndOfSegmentData(offset_);
  RecordHeader h = LoadRecordHeader(base + offset_);
  if (h.checksum == 0) return EndOfSegmentData(offset_);
  if (h.type == 0 || h.flags != 0 || h.length == 0 || h.length > kMaxPayloadSize ||
      offset_ + AlignedRecordSize(h.length) > size) {
    return Problem(DamageKind::kBadRecordHeader, offset_,
                   "length " + std::to_string(h.length) + ", type " + std::to_string(h.type) +
                       ", flags " + std::to_string(h.flags) + ", segment size " +
                       std::to_string(size));
  }
  uint64_t actual = ComputeRecordChecksum(base + offset_, h.length);
  if (actual != h.checksum) {
    return Problem(DamageKind::kChecksumMismatch, offset_,
                   "expected " + Hex64(h.checksum) + ", actual " + Hex64(actual) + " (LSN " +
                       std::to_string(expected_lsn_) + ")");
  }
  const uint64_t at = offset_;
  auto where = [&] { return seg_->path + " offset " + std::to_string(at) + ": "; };
  if (expected_lsn_ != 0 && h.lsn != expected_lsn_) {
    Damage d{DamageKind::kLsnGap, seg_->path, at, 0,
             "expected LSN " + std::to_string(expected_lsn_) + ", found " + std::to_string(h.lsn)};
    if (options_.mode != RecoveryMode::kSalvage) return ErrorStep(Status::Corruption(d.ToString()));
    // Records lost inside a damaged range that was just reported need no second report.
    if (!damage_since_record_ || h.lsn < expected_lsn_) Report(d);
    if (h.lsn < expected_lsn_) {  // a stale record: keep LSNs increasing
      offset_ += AlignedRecordSize(h.length);
      return Step::kSkip;
    }
  }
  offset_ += AlignedRecordSize(h.length);
  expected_lsn_ = h.lsn + 1;
  damage_since_record_ = false;
  end_.last_lsn = h.lsn;
  end_.offset = offset_;
  // Records before start_lsn are only stepped over: their payloads are never interpreted.
  if (h.lsn < options_.start_lsn) return Step::kSkip;
  const bool known = IsKnownRecordType(h.type);
  if (!known) {
    if (IsSafeToIgnore(h.type)) {
      if (!options_.return_skippable_records) return Step::kSkip;
      record->lsn = h.lsn;
      record->type = h.type;
      record->payload = std::span<const uint8_t>(base + at + kRecordHeaderSize, h.length);
      record->offset = at;
      return Step::kRecord;
    }
    Status s = VerifyPayload(h.type, {});  // NotSupported, naming the type
    if (options_.mode != RecoveryMode::kSalvage) {
      return ErrorStep(
          Status(s.code(), where() + "LSN " + std::to_string(h.lsn) + ": " + s.message()));
    }
    Report({DamageKind::kUnknownType, seg_->path, at, AlignedRecordSize(h.length),
            "LSN " + std::to_string(h.lsn) + ": " + s.message()});
    return Step::kSkip;
  }
  std::span<const uint8_t> payload(base + at + kRecordHeaderSize, h.length);
  if (options_.verify_payloads && !PayloadVerifies(h.type, payload)) {
    Status s = VerifyPayload(h.type, payload);  // the message
    if (options_.mode == RecoveryMode::kSalvage) {
      Report({DamageKind::kVerifierFailure, seg_->path, at, AlignedRecordSize(h.length),
              "LSN " + std::to_string(h.lsn) + ": " + s.message()});
      return Step::kSkip;
    }
    return ErrorStep(
        Status(s.code(), where() + "LSN " + std::to_string(h.lsn) + ": " + s.message()));
  }
  record->lsn = h.lsn;
  record->type = h.type;
  record->payload = payload;
  record->offset = at;
  return Step::kRecord;
}

Status Reader::OpenSegment(size_t index) {
  const SegmentFile& file = segments_[index];
  auto seg = std::make_unique<Segment>();
  seg->fs = fs_;
  seg->path = file.path;
  RUNLOG_ASSIGN_OR_RETURN(seg->fd, fs_->Open(file.path, O_RDONLY));
  RUNLOG_ASSIGN_OR_RETURN(uint64_t size, fs_->Size(seg->fd, file.path));
  seg->size = static_cast<size_t>(size);
  if (seg->size > 0) {
    RUNLOG_ASSIGN_OR_RETURN(void* base, fs_->Map(seg->fd, file.path, seg->size, false));
    seg->base = static_cast<const uint8_t*>(base);
  }
  std::span<const uint8_t> bytes(seg->base, seg->size);
  const bool is_last = index + 1 >= segments_.size();

  // A last segment whose header never reached the disk was torn while being created.
  // Such a segment never held a record: all of it is zero (a header of zeros followed by
  // records is damage, not a torn creation).
  std::span<const uint8_t> head = bytes.first(std::min(bytes.size(), kSegmentHeaderSize));
  if (is_last && AllZero(head) && FileIsZero(*seg)) {
    if (options_.follow) return Status::OK();  // keep seg_ null: not there yet
    Damage d{DamageKind::kTornTail, file.path, 0, size, "segment header never written"};
    if (options_.mode == RecoveryMode::kStrict) return Status::Corruption(d.ToString());
    Report(d);
    end_.unusable_segments.push_back(file.path);
    // Its name still says which LSN comes next when no older segment is left.
    if (expected_lsn_ == 0 && single_file_.empty()) end_.next_lsn = file.first_lsn;
    CloseSegment();
    return Status::OK();
  }

  SegmentHeader header;
  Status s = DecodeSegmentHeader(bytes, file.path, &header);
  if (s.ok() && single_file_.empty() && header.first_lsn != file.first_lsn) {
    s = Status::Corruption(file.path + " header: first LSN " + std::to_string(header.first_lsn) +
                           " does not match the file name");
  }
  if (s.ok() && have_run_id_ && header.run_id != end_.run_id) {
    s = Status::Corruption(file.path + " header: run " + RunIdHex(header.run_id) +
                           ", the log belongs to run " + RunIdHex(end_.run_id));
  }
  if (!s.ok()) {
    if (options_.mode != RecoveryMode::kSalvage) return s;
    Report({DamageKind::kBadSegmentHeader, file.path, 0, kSegmentHeaderSize, s.message()});
    seg_ = std::move(seg);
    offset_ = FindNextValidRecord(kSegmentHeaderSize);
    if (offset_ == kNone) CloseSegment();
    return Status::OK();
  }
  if (!have_run_id_) {
    have_run_id_ = true;
    end_.run_id = header.run_id;
  }
  // A last segment past a gap that holds no record was torn at a roll: its header was
  // synced when it was created, the previous segment's unsynced tail was lost (a power cut).
  // Nothing in it was ever acknowledged, since acknowledging it would have synced that tail.
  if (is_last && !options_.follow && expected_lsn_ != 0 && header.first_lsn > expected_lsn_ &&
      ForEachDataRegion(*seg, kSegmentHeaderSize,
                        [](uint64_t, std::span<const uint8_t> b) { return AllZero(b); })) {
    Damage d{DamageKind::kTornTail, file.path, 0, size,
             "an empty segment starting at LSN " + std::to_string(header.first_lsn) +
                 " after the previous one ended before LSN " + std::to_string(expected_lsn_) +
                 " (a roll whose previous segment lost its tail)"};
    if (options_.mode == RecoveryMode::kStrict) return Status::Corruption(d.ToString());
    Report(d);
    end_.unusable_segments.push_back(file.path);
    CloseSegment();
    return Status::OK();
  }
  end_.has_segments = true;
  if (expected_lsn_ != 0 && header.first_lsn != expected_lsn_) {
    Damage d{DamageKind::kLsnGap, file.path, 0, 0,
             "the previous segment ends before LSN " + std::to_string(expected_lsn_) +
                 ", this one starts at LSN " + std::to_string(header.first_lsn)};
    if (options_.mode != RecoveryMode::kSalvage) return Status::Corruption(d.ToString());
    Report(d);
  }
  if (expected_lsn_ == 0 || options_.mode == RecoveryMode::kSalvage) {
    expected_lsn_ = std::max(expected_lsn_, header.first_lsn);
  }
  end_.segment = file.path;
  end_.offset = kSegmentHeaderSize;
  end_.garbage_end = 0;
  seg_ = std::move(seg);
  offset_ = kSegmentHeaderSize;
  return Status::OK();
}

Reader::Step Reader::EndOfSegmentData(uint64_t offset) {
  const bool last = IsLastSegment();
  if (options_.follow && last) {
    // A record may be in the middle of being written here; look again later. Segments
    // are created whole, so a newer segment means this one is finished: read its header
    // again, the writer may have completed a record here just before it rolled.
    if (Status s = Refresh(); !s.ok()) return ErrorStep(s);
    return IsLastSegment() ? Step::kEndOfLog : Step::kSkip;
  }
  if (!RestIsZero(offset)) {
    return Problem(DamageKind::kBadRecordHeader, offset,
                   "a zero record header followed by non-zero bytes");
  }
  if (IsLastSegment()) return Step::kEndOfLog;
  CloseSegment();
  return Step::kEndOfSegment;
}

Reader::Step Reader::Problem(DamageKind kind, uint64_t offset, std::string detail) {
  if (options_.follow && IsLastSegment()) return Step::kEndOfLog;  // maybe still being written
  const uint64_t next = FindNextValidRecord(offset + kRecordAlignment);
  if (next == kNone && IsLastSegment() && options_.detect_live_writer && WriterIsActive()) {
    // A live writer recovered this log when it opened it: what follows its last complete
    // record is an append in progress, not a torn tail.
    return Step::kEndOfLog;
  }
  Damage d{kind, seg_->path, offset, 0, std::move(detail)};
  if (next == kNone && IsLastSegment()) {
    d.detail = std::string(DamageKindName(kind)) + ", " + d.detail + "; no valid record follows";
    d.kind = DamageKind::kTornTail;
    const uint64_t garbage_end = std::max(offset, LastNonZero());
    d.length = garbage_end - offset;
    if (options_.mode == RecoveryMode::kStrict) return ErrorStep(Status::Corruption(d.ToString()));
    Report(d);
    end_.garbage_end = garbage_end;
    CloseSegment();
    return Step::kEndOfLog;
  }
  if (options_.mode != RecoveryMode::kSalvage) {
    d.detail += next == kNone ? "; later segments follow"
                              : "; valid records follow at offset " + std::to_string(next);
    return ErrorStep(Status::Corruption(d.ToString()));
  }
  d.length = (next == kNone ? seg_->size : next) - offset;
  Report(d);
  if (next == kNone) {
    CloseSegment();
    return Step::kEndOfSegment;
  }
  offset_ = next;
  return Step::kSkip;
}

uint64_t Reader::FindNextValidRecord(uint64_t from) const {
  const uint8_t* base = seg_->base;
  const size_t size = seg_->size;
  for (uint64_t o = (from + kRecordAlignment - 1) & ~(kRecordAlignment - 1);
       o + kRecordHeaderSize <= size; o += kRecordAlignment) {
    RecordHeader h = LoadRecordHeader(base + o);
    if (h.checksum == 0 || h.type == 0 || h.flags != 0 || h.length == 0 ||
        h.length > kMaxPayloadSize || o + AlignedRecordSize(h.length) > size) {
      continue;
    }
    if (ComputeRecordChecksum(base + o, h.length) == h.checksum) return o;
  }
  return kNone;
}

// Calls fn(offset, bytes) for each data region of `seg` from `from` on, skipping holes (a
// closed writer's released tail, preallocated blocks never written): scanning those would
// fault in every page of a 64 MiB segment. Stops early when fn returns false; returns
// false then. Without SEEK_DATA support the rest of the segment is one region.
template <typename Fn>
bool Reader::ForEachDataRegion(const Segment& seg, uint64_t from, Fn&& fn) const {
  uint64_t pos = from, data = 0, hole = 0;
  while (pos < seg.size) {
    Result<bool> region = fs_->NextDataRegion(seg.fd, seg.path, pos, &data, &hole);
    if (!region.ok()) {
      data = pos;
      hole = seg.size;
    } else if (!*region) {
      return true;
    }
    data = std::max(data, pos);
    hole = std::min<uint64_t>(hole, seg.size);
    if (data < hole && !fn(data, std::span(seg.base + data, hole - data))) return false;
    if (hole <= pos) return true;
    pos = hole;
  }
  return true;
}

bool Reader::FileIsZero(const Segment& seg) const {
  return ForEachDataRegion(seg, 0, [](uint64_t, std::span<const uint8_t> b) { return AllZero(b); });
}

bool Reader::RestIsZero(uint64_t offset) const {
  return ForEachDataRegion(*seg_, offset,
                           [](uint64_t, std::span<const uint8_t> b) { return AllZero(b); });
}

// One past the last non-zero byte of the open segment (0 when all zero).
uint64_t Reader::LastNonZero() const {
  uint64_t last = 0;
  ForEachDataRegion(*seg_, 0, [&last](uint64_t at, std::span<const uint8_t> b) {
    size_t n = b.size();
    while (n > 0 && b[n - 1] == 0) --n;
    if (n > 0) last = at + n;
    return true;
  });
  return last;
}

bool Reader::WriterIsActive() const {
  if (dir_.empty()) return false;
  const std::string lock = dir_ + "/LOCK";
  int fd = ::open(lock.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // releases the shared lock if it was taken
  return held;
}

}  // namespace runlog::wal
