#include "format/wal_writer.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace runlog::wal {
namespace {

uint64_t PageSize() {
  static const uint64_t size = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  return size;
}
constexpr char kLockName[] = "LOCK";
constexpr char kTempSuffix[] = ".tmp";

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool IsZero(const RunId& id) {
  return std::all_of(id.begin(), id.end(), [](uint8_t b) { return b == 0; });
}

uint64_t PageDown(uint64_t v) {
  return v & ~(PageSize() - 1);
}
uint64_t PageUp(uint64_t v) {
  return (v + PageSize() - 1) & ~(PageSize() - 1);
}

}  // namespace

Writer::Writer(std::string dir, const WriterOptions& options)
    : dir_(std::move(dir)),
      options_(options),
      fs_(options.fs != nullptr ? options.fs : FileSystem::Default()),
      run_id_(options.run_id) {}

Result<std::unique_ptr<Writer>> Writer::Open(const std::string& dir, const WriterOptions& options) {
  if (options.recovery == RecoveryMode::kSalvage) {
    return Status::InvalidArgument(
        "a writer cannot open " + dir +
        " in salvage mode: copy the valid records out with `runlog wal salvage` instead");
  }
  if (options.segment_size < kSegmentHeaderSize + AlignedRecordSize(1) ||
      options.segment_size > (uint64_t{1} << 40)) {
    return Status::InvalidArgument("segment_size " + std::to_string(options.segment_size) +
                                   " is out of range");
  }
  FileSystem* fs = options.fs != nullptr ? options.fs : FileSystem::Default();
  RUNLOG_ASSIGN_OR_RETURN(bool exists, fs->IsDirectory(dir));
  if (!exists) {
    if (!options.create_if_missing) return Status::NotFound("no WAL directory " + dir);
    RUNLOG_RETURN_IF_ERROR(fs->CreateDirs(dir));
  }
  std::unique_ptr<Writer> w(new Writer(dir, options));
  RUNLOG_RETURN_IF_ERROR(w->AcquireLock());
  RUNLOG_RETURN_IF_ERROR(w->Recover());
  if (options.durability == Durability::kInterval || options.prefault_bytes > 0) {
    w->background_ = std::thread([raw = w.get()] { raw->BackgroundLoop(); });
  }
  return w;
}

Writer::~Writer() {
  (void)Close();
}

Status Writer::AcquireLock() {
  RUNLOG_ASSIGN_OR_RETURN(lock_, LockFile::Acquire(fs_, dir_ + "/" + kLockName, dir_));
  return Status::OK();
}

Status Writer::Recover() {
  // Leftovers of a segment creation that a crash interrupted never held records.
  RUNLOG_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_->ListDir(dir_));
  for (const std::string& name : names) {
    if (name.size() > 4 && name.ends_with(kTempSuffix)) {
      RUNLOG_RETURN_IF_ERROR(fs_->Remove(dir_ + "/" + name));
    }
  }
  ReaderOptions ro;
  ro.mode = options_.recovery;
  ro.verify_payloads = false;     // checksums prove what this format wrote; commit verifies
  ro.detect_live_writer = false;  // this writer holds the lock: a torn tail is a torn tail
  ro.on_damage = options_.on_damage;
  ro.fs = fs_;
  RUNLOG_ASSIGN_OR_RETURN(std::unique_ptr<Reader> reader, Reader::Open(dir_, ro));
  Record rec;
  for (;;) {
    RUNLOG_ASSIGN_OR_RETURN(bool more, reader->Next(&rec));
    if (!more) break;
  }
  const LogEnd& end = reader->end();
  for (const std::string& path : end.unusable_segments) RUNLOG_RETURN_IF_ERROR(fs_->Remove(path));
  if (!end.unusable_segments.empty()) RUNLOG_RETURN_IF_ERROR(fs_->SyncDir(dir_));

  if (!end.has_segments) {
    if (IsZero(run_id_)) {
      return Status::InvalidArgument("creating the log " + dir_ + " needs a run id");
    }
    if (options_.first_lsn < kFirstLsn) {
      return Status::InvalidArgument("first_lsn must be at least 1");
    }
    // A log whose only segment was torn at creation continues at that segment's LSN.
    const Lsn first = end.unusable_segments.empty() ? options_.first_lsn : end.next_lsn;
    RUNLOG_ASSIGN_OR_RETURN(seg_, CreateSegment(first, options_.segment_size));
    next_lsn_ = first;
    last_lsn_.store(next_lsn_ - 1);
    durable_lsn_.store(next_lsn_ - 1);
    return Status::OK();
  }
  if (!IsZero(run_id_) && run_id_ != end.run_id) {
    return Status::InvalidArgument("the log " + dir_ + " belongs to run " + RunIdHex(end.run_id) +
                                   ", not " + RunIdHex(run_id_));
  }
  run_id_ = end.run_id;
  next_lsn_ = end.next_lsn;
  last_lsn_.store(end.next_lsn - 1);
  RUNLOG_RETURN_IF_ERROR(MapExisting(end));
  durable_lsn_.store(end.next_lsn - 1);
  return Status::OK();
}

Status Writer::MapExisting(const LogEnd& end) {
  OpenSegment seg;
  seg.path = end.segment;
  RUNLOG_ASSIGN_OR_RETURN(seg.fd, fs_->Open(seg.path, O_RDWR));
  auto fail = [&](Status s) {
    (void)fs_->Close(seg.fd, seg.path);
    return s;
  };
  Result<uint64_t> size = fs_->Size(seg.fd, seg.path);
  if (!size.ok()) return fail(size.status());
  seg.capacity = *size;
  // Close() released the unused tail; take the blocks back before mapping for writes.
  if (Status s = fs_->Allocate(seg.fd, seg.path, seg.capacity); !s.ok()) return fail(s);
  if (Status s = MapSegment(&seg); !s.ok()) return fail(s);
  seg.offset = end.offset;
  if (end.garbage_end > end.offset) {
    // Clear the torn tail so that nothing is ever appended after garbage.
    std::memset(seg.base + end.offset, 0, end.garbage_end - end.offset);
  }
  // What recovery found becomes durable now, whatever the previous process synced.
  Status s = fs_->SyncMapped(const_cast<uint8_t*>(seg.ro_base), seg.capacity, seg.path);
  if (!s.ok()) {
    ReleaseSegment(&seg);
    return s;
  }
  seg.synced = seg.offset;
  seg_ = seg;
  return Status::OK();
}

Result<Writer::OpenSegment> Writer::CreateSegment(Lsn first_lsn, uint64_t capacity) {
  OpenSegment seg;
  seg.path = dir_ + "/" + SegmentFileName(first_lsn);
  const std::string tmp = seg.path + kTempSuffix;
  RUNLOG_ASSIGN_OR_RETURN(seg.fd, fs_->Open(tmp, O_RDWR | O_CREAT | O_TRUNC));
  seg.capacity = capacity;
  uint8_t header[kSegmentHeaderSize];
  EncodeSegmentHeader({kFormatVersion, run_id_, first_lsn, NowMicros()}, header);
  bool renamed = false;
  Status s = fs_->Allocate(seg.fd, tmp, capacity);
  if (s.ok()) s = fs_->WriteAt(seg.fd, tmp, 0, header);
  if (s.ok()) s = fs_->SyncData(seg.fd, tmp);
  if (s.ok()) {
    s = fs_->Rename(tmp, seg.path);
    renamed = s.ok();
  }
  if (s.ok()) s = fs_->SyncDir(dir_);
  if (s.ok()) s = MapSegment(&seg);
  if (!s.ok()) {
    (void)fs_->Close(seg.fd, tmp);
    // An empty segment left under its final name would claim LSNs that may still go into
    // the previous segment: remove it (RollLocked checks that it is gone).
    (void)fs_->Remove(renamed ? seg.path : tmp);
    return s.WithContext("cannot create WAL segment " + seg.path);
  }
  seg.offset = kSegmentHeaderSize;
  seg.synced = kSegmentHeaderSize;
  return seg;
}

Status Writer::MapSegment(OpenSegment* seg) {
  Result<void*> rw = fs_->Map(seg->fd, seg->path, seg->capacity, true);
  if (!rw.ok()) return rw.status();
  Result<void*> ro = fs_->Map(seg->fd, seg->path, seg->capacity, false);
  if (!ro.ok()) {
    fs_->Unmap(*rw, seg->capacity);
    return ro.status();
  }
  seg->base = static_cast<uint8_t*>(*rw);
  seg->ro_base = static_cast<const uint8_t*>(*ro);
  seg->unmapped = 0;
  return Status::OK();
}

void Writer::ReleaseSegment(OpenSegment* seg) {
  if (seg->base != nullptr && seg->unmapped < seg->capacity) {
    fs_->Unmap(seg->base + seg->unmapped, seg->capacity - seg->unmapped);
  }
  if (seg->ro_base != nullptr) fs_->Unmap(const_cast<uint8_t*>(seg->ro_base), seg->capacity);
  if (seg->fd >= 0) {
    // Free the preallocated blocks past the last record; the size stays, so readers that
    // mapped the whole file read zeros there instead of faulting.
    uint64_t used = PageUp(seg->offset);
    if (used < seg->capacity) (void)fs_->PunchHole(seg->fd, seg->path, used, seg->capacity - used);
    (void)fs_->Close(seg->fd, seg->path);
  }
  *seg = OpenSegment();
}

Result<Lsn> Writer::Append(uint16_t type, std::span<const uint8_t> payload) {
  if (payload.empty()) return Status::InvalidArgument("empty WAL record payload");
  if (payload.size() > kMaxPayloadSize) {
    return Status::ValueTooLarge("WAL record of " + std::to_string(payload.size()) +
                                 " bytes exceeds the limit of " + std::to_string(kMaxPayloadSize));
  }
  if (type == 0) return Status::InvalidArgument("record type 0 is reserved");
  const size_t need = AlignedRecordSize(payload.size());
  std::unique_lock<std::mutex> lock(mu_);
  if (closed_) return Status::InvalidArgument("the WAL writer of " + dir_ + " is closed");
  if (!error_.ok()) return error_;
  if (seg_.offset + need > seg_.capacity) RUNLOG_RETURN_IF_ERROR(RollLocked(lock, need));
  const Lsn lsn = next_lsn_++;
  ++stats_.appends;
  EncodeRecord(seg_.base + seg_.offset, lsn, type, payload);
  seg_.offset += need;
  last_lsn_.store(lsn, std::memory_order_release);
  if (seg_.offset >= wake_at_) {
    wake_at_ = UINT64_MAX;  // the background thread sets the next threshold
    bg_cv_.notify_one();
  }
  if (options_.durability == Durability::kSync) {
    RUNLOG_RETURN_IF_ERROR(WaitDurableLocked(lock, lsn));
  }
  return lsn;
}

Status Writer::RollLocked(std::unique_lock<std::mutex>& lock, size_t need) {
  // A sync or prefault running without the lock uses the current mapping: let it finish.
  WaitIdleLocked(lock);
  if (!error_.ok()) return error_;
  // Create the next segment first: if that fails nothing has changed, and appends that
  // still fit go on in this one.
  const uint64_t capacity = std::max<uint64_t>(options_.segment_size, kSegmentHeaderSize + need);
  Result<OpenSegment> next = CreateSegment(next_lsn_, capacity);
  if (!next.ok()) {
    const std::string left = dir_ + "/" + SegmentFileName(next_lsn_);
    if (::access(left.c_str(), F_OK) == 0) {
      SetErrorLocked(next.status().WithContext("an empty segment could not be removed"));
    }
    return next.status();
  }
  // Done writing here: drop the writable mapping before the pages are written back.
  if (seg_.unmapped < seg_.capacity) {
    fs_->Unmap(seg_.base + seg_.unmapped, seg_.capacity - seg_.unmapped);
    seg_.unmapped = seg_.capacity;
  }
  if (seg_.offset > seg_.synced) {
    if (options_.durability == Durability::kNone) {
      unsynced_segments_.push_back(seg_.path);  // Sync() and Close() still cover it
    } else {
      // Only the last segment may ever end torn: finish this one on disk first.
      const uint64_t start = PageDown(seg_.synced);
      Status s = fs_->SyncMapped(const_cast<uint8_t*>(seg_.ro_base) + start, seg_.offset - start,
                                 seg_.path);
      if (!s.ok()) {
        ReleaseSegment(&next.value());  // an empty, valid segment stays behind
        SetErrorLocked(s.WithContext("WAL sync failed; the log must be reopened to recover"));
        return error_;
      }
      seg_.synced = seg_.offset;
      ++stats_.syncs;
      PublishDurableLocked(next_lsn_ - 1);
    }
  }
  ReleaseSegment(&seg_);
  seg_ = std::move(next).value();
  ++stats_.rolls;
  prefaulted_ = PageDown(seg_.offset);
  wake_at_ = 0;  // the first append wakes the background thread to prefault
  return Status::OK();
}

void Writer::SetErrorLocked(Status status) {
  if (error_.ok()) error_ = std::move(status);
  has_error_.store(true, std::memory_order_release);
  // Nobody may stay waiting for a sync that will not come.
  WakeRound(0);
  WakeRound(1);
  gather_cv_.notify_all();
  idle_cv_.notify_all();
}

void Writer::PublishDurableLocked(Lsn lsn) {
  if (durable_lsn_.load(std::memory_order_relaxed) < lsn) {
    durable_lsn_.store(lsn, std::memory_order_release);
  }
  WakeRound(0);
  WakeRound(1);
}

void Writer::WakeRound(uint64_t gen) {
  round_seq_[gen % 2].fetch_add(1, std::memory_order_relaxed);
  round_cv_[gen % 2].notify_all();
}

void Writer::WaitIdleLocked(std::unique_lock<std::mutex>& lock) {
  ++idle_waiters_;  // makes the background prefault yield between chunks
  idle_cv_.wait(lock, [this] { return !syncing_ && !prefaulting_; });
  --idle_waiters_;
}

Status Writer::WaitDurableLocked(std::unique_lock<std::mutex>& lock, Lsn lsn) {
  // Group commit: one thread (the leader) syncs everything appended so far while the
  // others wait for the sync generation that will cover their record. When a sync ends,
  // its waiters return and the next generation's waiters wake: the first to take the
  // lock leads the next sync.
  bool counted = false;
  uint64_t gen = 0;
  auto uncount = [&] {
    if (counted) round_waiting_[gen % 2].fetch_sub(1, std::memory_order_relaxed);
    counted = false;
  };
  while (durable_lsn_.load(std::memory_order_acquire) < lsn) {
    if (!error_.ok()) {
      uncount();
      return error_;
    }
    if (!syncing_) {
      uncount();
      GatherLocked(lock);
      SyncLocked(lock);
      continue;
    }
    if (!counted) {
      // The running sync covers this record when it was appended before that sync began
      // (an append, then Sync() as a separate call); otherwise the sync that starts next
      // does. Queuing for the next one would leave it waiting for a sync nobody needs: the
      // next sync's leader is one of its waiters, and a covered waiter returns, not leads.
      gen = sync_running_ && lsn <= sync_target_ ? next_sync_gen_ - 1 : next_sync_gen_;
      round_waiting_[gen % 2].fetch_add(1, std::memory_order_relaxed);
      counted = true;
      if (gathering_) gather_cv_.notify_one();
    }
    // A condition variable, not an atomic wait: on few cores, the spinning and yielding of
    // many waiters before they sleep costs the leader's sync its CPU.
    // Woken by the end of its round (or of any sync, or an error); whatever woke it, the
    // loop decides again under the lock: covered, lead, or wait.
    const uint32_t seq = round_seq_[gen % 2].load(std::memory_order_relaxed);
    round_cv_[gen % 2].wait(lock, [&] {
      return round_seq_[gen % 2].load(std::memory_order_relaxed) != seq || !syncing_ ||
             durable_lsn_.load(std::memory_order_relaxed) >= lsn || !error_.ok();
    });
  }
  uncount();
  return Status::OK();
}

void Writer::GatherLocked(std::unique_lock<std::mutex>& lock) {
  // The appenders the previous sync released usually append again at once; waiting for
  // them (at most half a sync's time) lets one sync cover them all, as a database's
  // commit delay does. A lone appender never waits.
  if (last_round_woken_ <= 1) return;
  const size_t want = last_round_woken_ - 1;
  const auto deadline = std::chrono::steady_clock::now() + last_sync_time_ / 2;
  syncing_ = true;  // others queue meanwhile instead of leading
  gathering_ = true;
  while (round_waiting_[next_sync_gen_ % 2].load(std::memory_order_relaxed) < want && error_.ok() &&
         gather_cv_.wait_until(lock, deadline) != std::cv_status::timeout) {
  }
  gathering_ = false;
  syncing_ = false;
}

void Writer::SyncLocked(std::unique_lock<std::mutex>& lock) {
  syncing_ = true;
  const uint64_t gen = next_sync_gen_++;
  const auto started = std::chrono::steady_clock::now();
  const Lsn target = next_lsn_ - 1;
  sync_running_ = true;
  sync_target_ = target;
  const uint64_t start = PageDown(seg_.synced);
  const uint64_t end = seg_.offset;
  // Unmap the fully written pages from the writable mapping first (see OpenSegment); the
  // appender only ever writes at or past seg_.offset.
  // A prefault running unlocked owns the pages from prefault_start_ on.
  const uint64_t unmap_from = seg_.unmapped;
  uint64_t unmap_to = std::max(unmap_from, PageDown(end));
  if (prefaulting_) unmap_to = std::max(unmap_from, std::min(unmap_to, prefault_start_));
  seg_.unmapped = unmap_to;
  uint8_t* base = seg_.base;
  uint8_t* ro_base = const_cast<uint8_t*>(seg_.ro_base);
  const std::string path = seg_.path;
  std::vector<std::string> rolled;  // kNone: finished segments never synced
  rolled.swap(unsynced_segments_);
  lock.unlock();
  if (unmap_to > unmap_from) fs_->Unmap(base + unmap_from, unmap_to - unmap_from);
  Status s;
  for (const std::string& old : rolled) {
    Result<int> fd = fs_->Open(old, O_RDONLY);
    s = fd.ok() ? fs_->SyncData(*fd, old) : fd.status();
    if (fd.ok()) (void)fs_->Close(*fd, old);
    if (!s.ok()) break;
  }
  if (s.ok()) s = fs_->SyncMapped(ro_base + start, end - start, path);
  lock.lock();
  syncing_ = false;
  sync_running_ = false;
  last_sync_time_ = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
  ++stats_.syncs;
  if (s.ok()) {
    seg_.synced = std::max(seg_.synced, end);
    if (durable_lsn_.load(std::memory_order_relaxed) < target) {
      durable_lsn_.store(target, std::memory_order_release);
    }
  } else {
    SetErrorLocked(s.WithContext("WAL sync failed; the log must be reopened to recover"));
  }
  last_round_woken_ = round_waiting_[gen % 2].load(std::memory_order_relaxed);
  WakeRound(gen);
  if (!error_.ok()) {
    WakeRound(gen + 1);
  } else if (round_waiting_[(gen + 1) % 2].load(std::memory_order_relaxed) > 0) {
    // The next generation's waiters: the first to take the lock leads its sync, the others
    // see it running and wait again. (Waking one to lead is cheaper, but if that one finds
    // its record covered it returns instead, and the rest wait for a sync nobody starts.)
    WakeRound(gen + 1);
  }
  idle_cv_.notify_all();
}

void Writer::PrefaultLocked(std::unique_lock<std::mutex>& lock) {
  constexpr uint64_t kChunk = 4 << 20;
  // Every bound is page-aligned, so each pass moves prefaulted_ forward or ends the loop.
  const uint64_t target =
      std::min(PageUp(seg_.capacity), PageUp(seg_.offset + options_.prefault_bytes));
  while (!stop_ && prefault_supported_ && seg_.base != nullptr && idle_waiters_ == 0) {
    const uint64_t start = std::max(prefaulted_, PageDown(std::max(seg_.offset, seg_.unmapped)));
    const uint64_t end = std::min(start + kChunk, target);
    if (start >= end) return;
    uint8_t* base = seg_.base;
    prefaulting_ = true;
    prefault_start_ = start;
    lock.unlock();
    // Faults the pages in writable without changing a byte: safe next to appends.
    int rc = ::madvise(base + start, end - start, MADV_POPULATE_WRITE);
    lock.lock();
    prefaulting_ = false;
    idle_cv_.notify_all();
    if (rc != 0) {
      prefault_supported_ = false;  // an older kernel: appends fault pages in themselves
      return;
    }
    prefaulted_ = end;
  }
}

WriterStats Writer::stats() {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

Status Writer::Sync() {
  std::unique_lock<std::mutex> lock(mu_);
  if (closed_) return Status::InvalidArgument("the WAL writer of " + dir_ + " is closed");
  return WaitDurableLocked(lock, next_lsn_ - 1);
}

void Writer::BackgroundLoop() {
  using Clock = std::chrono::steady_clock;
  const bool interval = options_.durability == Durability::kInterval;
  std::unique_lock<std::mutex> lock(mu_);
  Clock::time_point next_sync = Clock::now() + options_.sync_interval;
  while (!stop_) {
    if (interval) {
      bg_cv_.wait_until(lock, next_sync);
    } else {
      bg_cv_.wait(lock);
    }
    if (stop_) break;
    if (options_.prefault_bytes > 0 && error_.ok()) PrefaultLocked(lock);
    if (interval && error_.ok() && !syncing_ &&
        durable_lsn_.load(std::memory_order_relaxed) < next_lsn_ - 1 &&
        (Clock::now() >= next_sync || seg_.offset - seg_.synced >= options_.sync_bytes)) {
      SyncLocked(lock);
    }
    if (Clock::now() >= next_sync) next_sync = Clock::now() + options_.sync_interval;
    // Wake again when appends near the end of the prefaulted range or pile up unsynced.
    uint64_t wake = UINT64_MAX;
    if (options_.prefault_bytes > 0 && prefault_supported_) {
      wake =
          prefaulted_ > options_.prefault_bytes / 2 ? prefaulted_ - options_.prefault_bytes / 2 : 0;
    }
    if (interval) wake = std::min(wake, seg_.synced + options_.sync_bytes);
    wake_at_ = std::max(wake, seg_.offset + 1);
  }
}

Status Writer::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Status::OK();
    stop_ = true;
  }
  bg_cv_.notify_all();
  if (background_.joinable()) background_.join();
  Status result;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (options_.durability != Durability::kNone && seg_.base != nullptr) {
      result = WaitDurableLocked(lock, next_lsn_ - 1);
      if (!lock.owns_lock()) lock.lock();
    }
    WaitIdleLocked(lock);
    ReleaseSegment(&seg_);
    closed_ = true;
  }
  lock_.reset();  // releases the flock
  return result;
}

}  // namespace runlog::wal
