// Appending to a WAL: preallocated, memory-mapped segments; thread-safe appends with dense
// LSNs; three durability settings with group commit.
//
// Acknowledged means it survives a crash of the process: Append() returns only after the
// whole record is in a shared mapping of the segment file (the kernel's page cache), so
// kill -9, a segfault or an OOM kill of the host program loses nothing it returned.
// Power loss or a kernel crash loses what was not yet synced:
//   Durability::kNone      no sync at all (benchmarks, scratch runs)
//   Durability::kInterval  a background sync at most `sync_interval` after an append
//                          (default, 1 s)
//   Durability::kSync      Append() returns after the record is synced; concurrent
//                          appenders share one sync (group commit)
//
// Open() recovers the log first (RecoveryMode, wal_reader.h): a torn tail is cleared
// (reported through on_damage) and appends continue after the last valid record; damage
// in the middle of the log refuses the open with Corruption. Nothing is ever appended
// after garbage.
//
// Thread safety: Append(), Sync(), last_lsn() and durable_lsn() may be called from any
// number of threads at once. Close() must not race with other calls. One Writer per log:
// a second writer, in any process, gets RunLocked naming the holder's pid.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "format/file_system.h"
#include "format/lock_file.h"
#include "format/log_format.h"
#include "format/segment.h"
#include "format/wal_reader.h"
#include "runlog/status.h"

namespace runlog::wal {

enum class Durability { kNone, kInterval, kSync };

struct WriterOptions {
  // Size segments are preallocated to; a new segment starts when a record does not fit
  // (a record larger than this gets a segment of its own size). Default 64 MiB. Larger
  // means fewer files and rolls; the open segment's unused blocks stay allocated until
  // Close().
  uint64_t segment_size = 64ull << 20;
  // What survives power loss; see the file comment. Default kInterval.
  Durability durability = Durability::kInterval;
  // kInterval only: the longest an appended record waits for its sync. Default 1 s.
  // Shorter loses less on power loss and costs more syncs.
  std::chrono::milliseconds sync_interval{1000};
  // kInterval only: also sync as soon as this many bytes are unsynced (default 4 MiB), so
  // that syncing keeps pace with fast logging in the background and a segment roll, which
  // must finish the old segment on disk, never waits for a large backlog.
  uint64_t sync_bytes = 4ull << 20;
  // Bytes past the write position that a background thread keeps faulted in (writable) so
  // appends do not take page faults. Default 32 MiB; 0 turns it off (every new page then
  // costs the appending thread a fault, 1-10 us).
  uint64_t prefault_bytes = 32ull << 20;
  // How Open() treats damage. kSalvage is refused: salvage copies a log (SalvageLog, salvage.h),
  // it never appends to a damaged one.
  RecoveryMode recovery = RecoveryMode::kTolerateTornTail;
  // The run the log belongs to, written in every segment header. Opening an existing log
  // of another run fails; all zero accepts any.
  RunId run_id{};
  // The LSN of the first record of a new log (default 1). Ignored for an existing log.
  Lsn first_lsn = kFirstLsn;
  // Create the directory and the first segment when missing (default). When false, a
  // missing directory is NotFound.
  bool create_if_missing = true;
  // Receives the torn tail cleared by recovery, if any.
  std::function<void(const Damage&)> on_damage;
  FileSystem* fs = nullptr;  // nullptr: FileSystem::Default()
};

// Counters since Open(), for tuning and benchmarks.
struct WriterStats {
  uint64_t appends = 0;  // records appended
  uint64_t syncs = 0;    // data syncs (group commit: appends / syncs records per sync)
  uint64_t rolls = 0;    // segments started after the first
};

class Writer {
 public:
  static Result<std::unique_ptr<Writer>> Open(const std::string& dir, const WriterOptions& options);
  // Closes if still open; a close error is lost then, so call Close() to see it.
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Appends one record and returns its LSN. `payload` must be a FlatBuffer of `type`'s
  // table (the writer does not verify it: encode with RecordBuilder). Errors:
  // InvalidArgument (empty payload, closed writer), ValueTooLarge (over kMaxPayloadSize),
  // IOError (a new segment could not be created: nothing was appended, a later call may
  // succeed; or a sync failed: sticky, every later call fails, reopen to recover).
  Result<Lsn> Append(uint16_t type, std::span<const uint8_t> payload);

  // Returns once every record appended before the call is synced to disk.
  Status Sync();

  // Syncs (unless kNone), releases the unused preallocated space and the lock.
  Status Close();

  WriterStats stats();

  Lsn last_lsn() const { return last_lsn_.load(std::memory_order_acquire); }
  Lsn durable_lsn() const { return durable_lsn_.load(std::memory_order_acquire); }
  const RunId& run_id() const { return run_id_; }
  const std::string& dir() const { return dir_; }

 private:
  // The segment being appended to. It is mapped twice: writable for appends, and
  // read-only for syncing. Pages behind the write position are unmapped from the writable
  // mapping before they are synced: writing back a page that is still mapped writable
  // costs a TLB shootdown per page, a cross-CPU interrupt.
  struct OpenSegment {
    std::string path;
    int fd = -1;
    uint8_t* base = nullptr;           // writable mapping; [0, unmapped) is gone
    const uint8_t* ro_base = nullptr;  // read-only mapping of the whole segment
    uint64_t capacity = 0;
    uint64_t offset = 0;    // where the next record goes
    uint64_t synced = 0;    // bytes known durable
    uint64_t unmapped = 0;  // page-aligned end of the range unmapped from `base`
  };

  Writer(std::string dir, const WriterOptions& options);
  Status Recover();
  Status AcquireLock();
  Result<OpenSegment> CreateSegment(Lsn first_lsn, uint64_t capacity);
  Status MapExisting(const LogEnd& end);
  Status MapSegment(OpenSegment* seg);
  Status RollLocked(std::unique_lock<std::mutex>& lock, size_t need);
  Status WaitDurableLocked(std::unique_lock<std::mutex>& lock, Lsn lsn);
  void GatherLocked(std::unique_lock<std::mutex>& lock);
  void SetErrorLocked(Status status);
  void PublishDurableLocked(Lsn lsn);
  void WakeRound(uint64_t gen);
  void SyncLocked(std::unique_lock<std::mutex>& lock);
  void WaitIdleLocked(std::unique_lock<std::mutex>& lock);
  void PrefaultLocked(std::unique_lock<std::mutex>& lock);
  void ReleaseSegment(OpenSegment* seg);
  void BackgroundLoop();

  const std::string dir_;
  const WriterOptions options_;
  FileSystem* const fs_;
  RunId run_id_{};
  std::unique_ptr<LockFile> lock_;

  std::mutex mu_;
  std::condition_variable idle_cv_;             // a sync or prefault that ran unlocked has finished
  std::condition_variable bg_cv_;               // wakes the background thread
  OpenSegment seg_;                             // guarded by mu_
  Lsn next_lsn_ = kFirstLsn;                    // guarded by mu_
  bool syncing_ = false;                        // guarded by mu_: a sync runs without the lock held
  bool prefaulting_ = false;                    // guarded by mu_: a prefault runs without the lock
  bool prefault_supported_ = true;              // guarded by mu_
  int idle_waiters_ = 0;                        // guarded by mu_: threads in WaitIdleLocked
  uint64_t prefaulted_ = 0;                     // guarded by mu_: end of the prefaulted range
  uint64_t prefault_start_ = 0;                 // guarded by mu_: start of the running prefault
  std::vector<std::string> unsynced_segments_;  // guarded by mu_: kNone, rolled unsynced
  uint64_t wake_at_ = 0;                        // guarded by mu_: an append past it wakes bg_cv_
  // Group commit: waiters for sync generation g wait on round_seq_[g % 2]; g is the value
  // of next_sync_gen_ when they queued.
  std::atomic<uint32_t> round_seq_[2] = {0, 0};    // bumped under mu_ to wake waiters
  std::condition_variable round_cv_[2];            // where they wait
  std::atomic<size_t> round_waiting_[2] = {0, 0};  // waiters per generation parity
  std::atomic<bool> has_error_{false};             // error_ is set
  uint64_t next_sync_gen_ = 1;                     // guarded by mu_
  bool sync_running_ = false;                      // guarded by mu_: SyncLocked is syncing ...
  Lsn sync_target_ = 0;                            // guarded by mu_: ... up to this LSN
  std::condition_variable gather_cv_;              // a waiter queued while a leader gathers
  bool gathering_ = false;                         // guarded by mu_
  size_t last_round_woken_ = 0;                    // guarded by mu_: waiters the last sync released
  std::chrono::microseconds last_sync_time_{0};    // guarded by mu_
  WriterStats stats_;                              // guarded by mu_
  bool closed_ = false;                            // guarded by mu_
  bool stop_ = false;                              // guarded by mu_
  Status error_;                                   // guarded by mu_: sticky after a failed sync
  std::atomic<Lsn> last_lsn_{0};
  std::atomic<Lsn> durable_lsn_{0};
  std::thread background_;
};

}  // namespace runlog::wal
