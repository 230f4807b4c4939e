// The committer (DESIGN §2, §5): applies WAL records, in LSN order, to the run's RocksDB.
// Each record passes the data model's checks again (RunModel, authoritative); a record
// that fails them is not applied and is kept in the errors column family with its LSN, path,
// code, message and payload. A group of records becomes one WriteBatch that also carries
// the new applied LSN, so after any crash the database matches one LSN and replaying from
// there applies nothing twice.
//
// Series are stored in chunks of `series_chunk_points` points keyed by (field id, first
// step). The open tail of each series is written as one small piece per batch that touched
// it (so a batch writes only its own points) and kept in memory until a chunk's worth is
// there; then it is rewritten as a sealed chunk and the pieces are deleted. Readers see
// pieces and chunks alike: they never overlap and sort by step. Per-series summaries
// (count, first/last step, last value, min, max) are written with every batch.
//
//   auto c = Committer::Open(store, options);   // loads schema, summaries, applied LSN
//   c->Add(record); c->Add(record); ...         // into the current batch
//   c->Commit();                                // one atomic WriteBatch
//
// Thread safety: one thread drives a Committer; applied_lsn() and rejected() may be read
// from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/model.h"
#include "engine/series_codec.h"
#include "engine/store.h"
#include "engine/store_format.h"

namespace runlog::engine {

struct CommitterOptions {
  // The limits of a run that has none stored (SetLimits stores them).
  ModelLimits limits;
  size_t series_chunk_points = 1024;
  // Open tail chunks kept in memory across batches, in points over all series; past it the
  // tails are dropped after a batch and reloaded from RocksDB when next appended to.
  size_t max_tail_points = 1 << 20;
};

// One record to apply; the payload passed the Verifier.
struct RecordView {
  uint64_t lsn = 0;
  uint16_t type = 0;
  std::span<const uint8_t> payload;
};

class Committer {
 public:
  static Result<std::unique_ptr<Committer>> Open(RunStore* store, const CommitterOptions& options);

  // Adds a record to the current batch (records at or below the applied LSN are skipped:
  // replay is idempotent). Returns the record's own rejection, if any, for the caller's
  // information; it is already recorded in the batch.
  Status Add(const RecordView& record);
  // Writes the current batch with the last added LSN as the applied LSN. On an error the
  // committer's memory is ahead of the database: call Reload() before going on.
  Status Commit();
  // Drops the current batch and reloads everything from the database.
  Status Reload();
  // Records the limits later records are admitted under (stored with the run, so a catch-up
  // by anyone, with any options, checks them as their writer did). Between batches only;
  // flush before logging under them.
  Status SetLimits(ModelLimits limits);

  bool pending() const { return pending_records_ > 0; }
  uint64_t applied_lsn() const { return applied_lsn_.load(std::memory_order_acquire); }
  uint64_t rejected() const { return rejected_.load(std::memory_order_relaxed); }
  // The committed structure and series cursors: the eager model of a writer starts here.
  const RunModel& model() const { return model_; }

 private:
  struct SeriesState {
    std::string path;  // its field entry carries the summary
    StoredSummary stored;
    bool tail_loaded = false;
    bool dirty = false;  // touched by the current batch (listed in dirty_)
    // The points since the last sealed chunk; the first stored_points of them are in the
    // database as the pieces starting at the steps in `pieces`.
    std::vector<SeriesPoint> float_tail;
    std::vector<StringSeriesPoint> string_tail;
    size_t stored_points = 0;
    std::vector<double> pieces;
  };

  Committer(RunStore* store, const CommitterOptions& options)
      : store_(store), options_(options), model_(options.limits) {}

  Status Load();
  Status NotLoaded() const;
  void Reject(const RecordView& record, const Status& status);
  void ApplyWrite(const RecordView& record, const Plan& plan, Field field);
  void ApplyLifecycle(const RecordView& record);
  void DeleteFieldData(const std::string& path, Field field);
  Status LoadTail(FieldId id, SeriesState* st);
  SeriesState& Series(FieldId id, FieldType type);
  void AppendFloats(FieldId id, std::span<const SeriesPoint> points);
  void AppendStrings(FieldId id, FieldType type, std::vector<StringSeriesPoint> points);
  template <typename Point>
  void StoreTail(FieldId id, std::vector<Point>& tail, SeriesState* st);

  RunStore* const store_;
  const CommitterOptions options_;
  RunModel model_;
  std::unordered_map<FieldId, SeriesState> series_;
  std::vector<FieldId> dirty_;  // series touched by the current batch
  size_t tail_points_ = 0;      // tail points held in memory, over all series
  rocksdb::WriteBatch batch_;
  bool loaded_ = false;  // false after a failed Load: nothing is applied on a partial state
  size_t pending_records_ = 0;
  uint64_t batch_lsn_ = 0;  // the last LSN added to the batch
  Status tail_error_;       // a tail that could not be read back (reported at Commit)
  std::atomic<uint64_t> applied_lsn_{0};
  std::atomic<uint64_t> rejected_{0};
};

// The path an operation names ("" for lifecycle and unknown records).
std::string_view RecordPath(uint16_t type, std::span<const uint8_t> payload);

}  // namespace runlog::engine
