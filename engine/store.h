// A run's RocksDB (DESIGN §3, §5): runs/<uuid>/db with the column families schema,
// scalars, series, files and errors (layout in store_format.h). RocksDB's own WAL is off and
// atomic_flush is on: the run's WAL is the log, and a flushed state is always consistent
// with one applied LSN.
//
// Thread safety: a RunStore may be read from many threads; writes come from one committer.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runlog/run.h"  // Compression
#include "runlog/status.h"

namespace runlog::engine {

enum class StoreMode {
  kPrimary,    // the run's writer (or a recovery): reads and writes
  kSecondary,  // another process while the writer runs: reads what it flushed
  kMemory,     // debug mode: an in-memory file system, nothing on disk
};

struct StoreOptions {
  StoreMode mode = StoreMode::kPrimary;
  // Memtable size per column family; a full one is flushed (atomically with the others).
  size_t write_buffer_size = 16 << 20;
  Compression compression = Compression::kLz4;
  // One LRU cache for every column family; 0: RocksDB's own per column family.
  size_t block_cache_bytes = 0;
  // Called on RocksDB's thread before every flush it runs (also the ones it starts on its
  // own when a memtable fills). The run syncs its log there.
  std::function<void()> before_flush;
};

// Tests: the RocksDB Env of every store opened on disk after the call (nullptr: the
// default). Lets fault-injection tests fail RocksDB's writes (disk full).
void SetStoreEnvForTesting(rocksdb::Env* env);

class RunStore {
 public:
  enum Cf { kSchema = 0, kScalars, kSeries, kFiles, kErrors, kCfCount };

  static Result<std::unique_ptr<RunStore>> Open(const std::string& dir,
                                                const StoreOptions& options = {});
  ~RunStore();
  RunStore(const RunStore&) = delete;
  RunStore& operator=(const RunStore&) = delete;

  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* cf(Cf which) const { return handles_[which]; }
  const std::string& dir() const { return dir_; }
  StoreMode mode() const { return mode_; }

  // Applies a batch (RocksDB WAL off: durable once flushed; the run's WAL covers the rest).
  Status Write(rocksdb::WriteBatch* batch);
  // Flushes every column family at once.
  Status Flush();
  // Secondary: picks up what the primary has flushed since, at most once per
  // kRefreshInterval. No-op otherwise.
  Status Refresh();
  static constexpr std::chrono::milliseconds kRefreshInterval{100};
  // Primary: clears a background error (a failed flush, e.g. disk full) so that writes
  // may go on; the error comes back if its cause has not gone away.
  Status Resume();

  // Converts a RocksDB status into ours, naming the operation and the database.
  Status Convert(const rocksdb::Status& s, std::string_view what) const;

 private:
  RunStore(std::string dir, StoreMode mode) : dir_(std::move(dir)), mode_(mode) {}

  const std::string dir_;
  const StoreMode mode_;
  std::unique_ptr<rocksdb::Env> mem_env_;           // kMemory
  std::string secondary_dir_;                       // kSecondary: RocksDB's scratch directory
  std::atomic<int64_t> last_refresh_ms_{-1000000};  // kSecondary: steady clock of the last catch-up
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace runlog::engine
