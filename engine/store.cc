#include "engine/store.h"

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdarg>
#include <filesystem>

namespace runlog::engine {
namespace {

constexpr const char* kCfNames[RunStore::kCfCount] = {"schema", "scalars", "series", "files",
                                                      "errors"};

rocksdb::ColumnFamilyOptions CfOptions(RunStore::Cf cf, const StoreOptions& o,
                                       const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions c;
  c.write_buffer_size = cf == RunStore::kSeries ? o.write_buffer_size : o.write_buffer_size / 4;
  c.max_write_buffer_number = 3;
  // Series chunks are already delta/XOR encoded; LZ4 still finds the repeated structure.
  switch (o.compression) {
    case Compression::kLz4:
      c.compression = rocksdb::kLZ4Compression;
      c.bottommost_compression = rocksdb::kZSTD;
      break;
    case Compression::kZstd: c.compression = rocksdb::kZSTD; break;
    case Compression::kNone: c.compression = rocksdb::kNoCompression; break;
  }
  rocksdb::BlockBasedTableOptions t;
  if (cache != nullptr) t.block_cache = cache;
  // Fields, summaries and atoms are read by point lookups (fetch, fetch_last): a Bloom
  // filter spares the files without the key. Series and files are range scans.
  if (cf == RunStore::kSchema || cf == RunStore::kScalars) {
    t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    t.whole_key_filtering = true;
    t.cache_index_and_filter_blocks = false;
  }
  t.block_size = cf == RunStore::kSeries ? 16 << 10 : 4 << 10;
  c.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return c;
}

std::atomic<rocksdb::Env*> test_env{nullptr};

int64_t SteadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A secondary instance's info log would be a new file per open in its scratch directory,
// for messages nobody reads: readers open runs often (one per fetch).
class DiscardLogger : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char* /*format*/, va_list /*ap*/) override {}
};

class BeforeFlush : public rocksdb::EventListener {
 public:
  explicit BeforeFlush(std::function<void()> fn) : fn_(std::move(fn)) {}
  void OnFlushBegin(rocksdb::DB*, const rocksdb::FlushJobInfo&) override { fn_(); }

 private:
  std::function<void()> fn_;
};

}  // namespace

void SetStoreEnvForTesting(rocksdb::Env* env) {
  test_env.store(env);
}

Result<std::unique_ptr<RunStore>> RunStore::Open(const std::string& dir,
                                                 const StoreOptions& options) {
  std::unique_ptr<RunStore> store(new RunStore(dir, options.mode));
  rocksdb::DBOptions db;
  db.create_if_missing = options.mode != StoreMode::kSecondary;
  db.create_missing_column_families = options.mode != StoreMode::kSecondary;
  db.atomic_flush = true;
  // Table files opened at open time are opened by 16 new threads per column family by
  // default: 80 thread starts for the handful of files a run has (a secondary opens every
  // file at once), most of a reader's open time.
  db.max_file_opening_threads = 1;
  db.max_background_jobs = 2;
  db.keep_log_file_num = 2;
  db.max_log_file_size = 1 << 20;
  db.max_manifest_file_size = 4 << 20;
  // RocksDB preallocates 4 MiB for each MANIFEST, which a run's few flushes never fill:
  // most of a small stopped run's disk space.
  db.manifest_preallocation_size = 64 << 10;
  db.avoid_flush_during_shutdown = false;
  if (options.before_flush) {
    db.listeners.push_back(std::make_shared<BeforeFlush>(options.before_flush));
  }
  if (options.mode == StoreMode::kMemory) {
    store->mem_env_.reset(rocksdb::NewMemEnv(rocksdb::Env::Default()));
    db.env = store->mem_env_.get();
  } else if (rocksdb::Env* env = test_env.load()) {
    db.env = env;
  }
  std::shared_ptr<rocksdb::Cache> cache;
  if (options.block_cache_bytes > 0) cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  cfs.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (int i = 0; i < kCfCount; ++i) {
    cfs.emplace_back(kCfNames[i], CfOptions(static_cast<Cf>(i), options, cache));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (options.mode == StoreMode::kSecondary) {
    db.max_open_files = -1;  // required of a secondary
    char tmpl[] = "/tmp/runlog-secondary-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      return Status::FromErrno("create a scratch directory for", "/tmp", errno);
    }
    store->secondary_dir_ = tmpl;
    db.info_log = std::make_shared<DiscardLogger>();
    s = rocksdb::DB::OpenAsSecondary(db, dir, store->secondary_dir_, cfs, &handles, &raw);
  } else {
    db.max_open_files = 256;
    s = rocksdb::DB::Open(db, dir, cfs, &handles, &raw);
  }
  if (!s.ok()) return store->Convert(s, "open");
  store->db_.reset(raw);
  // A secondary just opened is as fresh as a catch-up would make it.
  if (options.mode == StoreMode::kSecondary) store->last_refresh_ms_ = SteadyMillis();
  // handles[0] is the default family: unused, closed with the database.
  store->handles_.assign(handles.begin() + 1, handles.end());
  store->handles_.push_back(handles[0]);
  return store;
}

RunStore::~RunStore() {
  if (db_) {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    if (mode_ == StoreMode::kPrimary) db_->Close().PermitUncheckedError();
    db_.reset();
  }
  if (!secondary_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(secondary_dir_, ec);
  }
}

Status RunStore::Write(rocksdb::WriteBatch* batch) {
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;
  return Convert(db_->Write(wo, batch), "write a commit batch to");
}

Status RunStore::Flush() {
  if (mode_ == StoreMode::kSecondary) return Status::OK();
  rocksdb::FlushOptions fo;
  fo.wait = true;
  std::vector<rocksdb::ColumnFamilyHandle*> all(handles_.begin(), handles_.begin() + kCfCount);
  return Convert(db_->Flush(fo, all), "flush");
}

Status RunStore::Refresh() {
  if (mode_ != StoreMode::kSecondary) return Status::OK();
  // Catching up re-reads the primary's MANIFEST (milliseconds); the writer flushes every
  // few seconds, so catching up more often than kRefreshInterval gains nothing.
  const int64_t now = SteadyMillis();
  int64_t last = last_refresh_ms_.load(std::memory_order_relaxed);
  if (now - last < kRefreshInterval.count() ||
      !last_refresh_ms_.compare_exchange_strong(last, now)) {
    return Status::OK();
  }
  return Convert(db_->TryCatchUpWithPrimary(), "catch up with the run's writer in");
}

Status RunStore::Resume() {
  if (mode_ == StoreMode::kSecondary) return Status::OK();
  return Convert(db_->Resume(), "resume");
}

Status RunStore::Convert(const rocksdb::Status& s, std::string_view what) const {
  if (s.ok()) return Status::OK();
  std::string msg = std::string(what) + " the run's database " + dir_ + ": " + s.ToString();
  if (s.IsCorruption()) return Status::Corruption(std::move(msg));
  if (s.IsNotFound() || s.IsPathNotFound()) return Status::NotFound(std::move(msg));
  return Status::IOError(std::move(msg));
}

}  // namespace runlog::engine
