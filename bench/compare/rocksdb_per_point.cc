// The "rocksdb_per_point" baseline of runlog-compare: Aim's storage idea, a RocksDB database
// per run (Aim's .aim/seqs/chunks/<run>) with one key per point of a series, written by the
// tracker through RocksDB's own WAL and read by prefix seeks.
//
// Layout, one database at <dir>/<run>/db, keys ordered so that a series is one key range:
//   'S' path '\0' step  -> value: 8-byte double + 8-byte timestamp_us, both little-endian
//   'T' path '\0' step  -> 8-byte timestamp_us (LE) + the string          (LogString)
//   'A' path            -> 'f' + 8-byte double | 'i' + 8-byte int64 | 's' + bytes (atoms)
//   'E' path '\0' value -> empty                                          (AddStrings' set)
// step is 8 bytes big-endian with the sign bit flipped, so byte order is step order. Paths
// may not hold '\0'. (Aim itself keeps a point's value, step and time under separate keys of
// its own encoding; one fixed 16-byte value per key is the cheapest form of the idea.)
//
// Settings: RocksDB 7.8 defaults, plus Aim's RocksContainer options that do not trade speed
// for memory (max_open_files -1, skip_stats_update_on_db_open, skip_checking_sst_file_sizes
// _on_db_open, keep_log_file_num 10, level0 triggers 8/17/24, 4 levels, 64 MiB target files,
// 512 MiB level base, multiplier 8), plus what a tuner would set: the default 64 MiB write
// buffer (Aim's 1 MiB saves memory across many open runs but makes a flush per MiB), LZ4 with
// ZSTD for the bottommost level (RocksDB's tuning guide, and runlog's own choice; Debian's
// default would be Snappy), 2 background jobs (the machine's cores; runlog's setting too).
// Writes go through RocksDB's WAL: kBuffered is WriteOptions.sync = false (in the page cache,
// Aim's way), kSynced is sync = true (fsync per write; RocksDB group-commits concurrent writers
// itself, so no lock). LogFloat is one Put; LogFloats one WriteBatch per call.
// Flush() is DB::Flush(wait): every memtable becomes an SST file, RocksDB's durable form, as
// Aim does when a run is finalized. Open is DB::OpenForReadOnly, as Aim's readers open a run:
// it replays the WAL left by a killed writer into memory (RocksDB's recovery cost) and stops
// at a torn tail (kPointInTimeRecovery, the default).
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <bit>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bench/compare/fixed_bytes.h"
#include "bench/compare/run_dir.h"
#include "bench/compare/store.h"

namespace runlog::compare {
namespace {

static_assert(std::endian::native == std::endian::little, "values are stored little-endian");

constexpr char kSeries = 'S';
constexpr char kText = 'T';
constexpr char kAtom = 'A';
constexpr char kSet = 'E';
constexpr char kAtomFloat = 'f';
constexpr char kAtomInt = 'i';
constexpr char kAtomString = 's';
constexpr size_t kStepBytes = 8;
constexpr size_t kPointBytes = 16;

[[noreturn]] void Fail(const rocksdb::Status& status, std::string_view what,
                       const std::string& db_path) {
  throw std::runtime_error("rocksdb_per_point: " + std::string(what) + " " + db_path + ": " +
                           status.ToString());
}

// `tag` path '\0': the prefix of a series' keys.
void SeriesPrefix(std::string* key, char tag, std::string_view path) {
  if (path.find('\0') != std::string_view::npos) {
    throw std::runtime_error("rocksdb_per_point: a path with a NUL byte");
  }
  key->clear();
  key->reserve(path.size() + 2 + kStepBytes);
  key->push_back(tag);
  key->append(path);
  key->push_back('\0');
}

void AppendStep(std::string* key, int64_t step) {
  const uint64_t ordered = static_cast<uint64_t>(step) ^ (uint64_t{1} << 63);
  AppendFixed<uint64_t>(key, __builtin_bswap64(ordered));
}

int64_t StepOf(std::string_view key) {
  const uint64_t ordered = __builtin_bswap64(LoadFixed<uint64_t>(key.data() + key.size() - 8));
  return static_cast<int64_t>(ordered ^ (uint64_t{1} << 63));
}

rocksdb::Options DbOptions() {
  rocksdb::Options o;
  o.create_if_missing = true;
  // Aim's RocksContainer options (aim/storage/rockscontainer.pyx), bar its memory savers.
  o.keep_log_file_num = 10;
  o.skip_stats_update_on_db_open = true;
  o.skip_checking_sst_file_sizes_on_db_open = true;
  o.max_open_files = -1;
  o.target_file_size_base = 64 << 20;
  o.level0_file_num_compaction_trigger = 8;
  o.level0_slowdown_writes_trigger = 17;
  o.level0_stop_writes_trigger = 24;
  o.num_levels = 4;
  o.max_bytes_for_level_base = 512 << 20;
  o.max_bytes_for_level_multiplier = 8;
  // A tuner's: the default 64 MiB memtable, LZ4 / ZSTD bottommost, a job per core.
  o.write_buffer_size = 64 << 20;
  o.compression = rocksdb::kLZ4Compression;
  o.bottommost_compression = rocksdb::kZSTD;
  o.max_background_jobs = 2;
  return o;
}

class RocksdbPerPointStore : public Store {
 public:
  RocksdbPerPointStore(std::unique_ptr<rocksdb::DB> db, std::string db_path, bool synced)
      : db_(std::move(db)), db_path_(std::move(db_path)) {
    write_options_.sync = synced;
  }

  ~RocksdbPerPointStore() override { db_->Close().PermitUncheckedError(); }

  void AssignFloat(std::string_view path, double value) override {
    std::string v(1, kAtomFloat);
    AppendFixed<double>(&v, value);
    PutAtom(path, v);
  }
  void AssignInt(std::string_view path, int64_t value) override {
    std::string v(1, kAtomInt);
    AppendFixed<int64_t>(&v, value);
    PutAtom(path, v);
  }
  void AssignString(std::string_view path, std::string_view value) override {
    std::string v(1, kAtomString);
    v.append(value);
    PutAtom(path, v);
  }

  void LogFloat(std::string_view path, const Point& point) override {
    std::string key;
    SeriesPrefix(&key, kSeries, path);
    AppendStep(&key, point.step);
    char value[kPointBytes];
    EncodePoint(point, value);
    Check(db_->Put(write_options_, key, rocksdb::Slice(value, kPointBytes)), "put into");
  }
  void LogFloats(std::string_view path, std::span<const Point> points) override {
    std::string key;
    SeriesPrefix(&key, kSeries, path);
    const size_t prefix = key.size();
    rocksdb::WriteBatch batch(points.size() * (prefix + kStepBytes + kPointBytes + 8));
    for (const Point& point : points) {
      key.resize(prefix);
      AppendStep(&key, point.step);
      char value[kPointBytes];
      EncodePoint(point, value);
      Check(batch.Put(key, rocksdb::Slice(value, kPointBytes)), "batch for");
    }
    Check(db_->Write(write_options_, &batch), "write a batch into");
  }
  void LogString(std::string_view path, int64_t step, std::string_view value,
                 int64_t timestamp_us) override {
    std::string key;
    SeriesPrefix(&key, kText, path);
    AppendStep(&key, step);
    std::string v;
    v.reserve(8 + value.size());
    AppendFixed<int64_t>(&v, timestamp_us);
    v.append(value);
    Check(db_->Put(write_options_, key, v), "put into");
  }
  void AddStrings(std::string_view path, std::span<const std::string> values) override {
    std::string key;
    SeriesPrefix(&key, kSet, path);
    const size_t prefix = key.size();
    rocksdb::WriteBatch batch;
    for (const std::string& member : values) {
      key.resize(prefix);
      key.append(member);
      Check(batch.Put(key, rocksdb::Slice()), "batch for");
    }
    Check(db_->Write(write_options_, &batch), "write a batch into");
  }

  void Flush() override {
    rocksdb::FlushOptions options;
    options.wait = true;
    const rocksdb::Status s = db_->Flush(options);
    // A read-only instance has nothing of its own to flush.
    if (s.IsNotSupported()) return;
    Check(s, "flush");
  }

  std::vector<Point> ReadSeries(std::string_view path, int64_t from_step,
                                int64_t to_step) override {
    std::vector<Point> points;
    if (to_step <= from_step) return points;
    std::string lower;
    SeriesPrefix(&lower, kSeries, path);
    std::string upper = lower;
    AppendStep(&lower, from_step);
    AppendStep(&upper, to_step);
    const rocksdb::Slice upper_slice(upper);
    rocksdb::ReadOptions options;
    options.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options));
    for (it->Seek(lower); it->Valid(); it->Next()) {
      points.push_back(DecodePoint(it->key(), it->value()));
    }
    Check(it->status(), "scan");
    return points;
  }

  Point ReadLast(std::string_view path) override {
    std::string prefix;
    SeriesPrefix(&prefix, kSeries, path);
    std::string target = prefix;
    AppendStep(&target, std::numeric_limits<int64_t>::max());
    const rocksdb::Slice lower_slice(prefix);
    rocksdb::ReadOptions options;
    options.iterate_lower_bound = &lower_slice;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options));
    it->SeekForPrev(target);
    Check(it->status(), "seek in");
    if (!it->Valid() || !it->key().starts_with(prefix) ||
        it->key().size() != prefix.size() + kStepBytes) {
      throw std::runtime_error("rocksdb_per_point: no points of " + std::string(path) + " in " +
                               db_path_);
    }
    return DecodePoint(it->key(), it->value());
  }

  double ReadFloat(std::string_view path) override {
    std::string key(1, kAtom);
    key.append(path);
    std::string value;
    const rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &value);
    if (s.IsNotFound()) {
      throw std::runtime_error("rocksdb_per_point: no atom " + std::string(path) + " in " +
                               db_path_);
    }
    Check(s, "get from");
    if (value.size() != 1 + sizeof(double) || value[0] != kAtomFloat) {
      throw std::runtime_error("rocksdb_per_point: atom " + std::string(path) +
                               " is not a float in " + db_path_);
    }
    return LoadFixed<double>(value.data() + 1);
  }

 private:
  void Check(const rocksdb::Status& status, std::string_view what) const {
    if (!status.ok()) Fail(status, what, db_path_);
  }

  void PutAtom(std::string_view path, std::string_view value) {
    std::string key(1, kAtom);
    key.append(path);
    Check(db_->Put(write_options_, key, value), "put into");
  }

  static void EncodePoint(const Point& point, char* out) {
    std::memcpy(out, &point.value, 8);
    std::memcpy(out + 8, &point.timestamp_us, 8);
  }

  Point DecodePoint(const rocksdb::Slice& key, const rocksdb::Slice& value) const {
    if (value.size() != kPointBytes) {
      throw std::runtime_error("rocksdb_per_point: a point value of " +
                               std::to_string(value.size()) + " bytes in " + db_path_);
    }
    return {.step = StepOf(std::string_view(key.data(), key.size())),
            .value = LoadFixed<double>(value.data()),
            .timestamp_us = LoadFixed<int64_t>(value.data() + 8)};
  }

  std::unique_ptr<rocksdb::DB> db_;
  const std::string db_path_;
  rocksdb::WriteOptions write_options_;
};

class RocksdbPerPointSystem : public System {
 public:
  std::string name() const override { return "rocksdb_per_point"; }

  std::unique_ptr<Store> Create(const std::string& dir, const std::string& run,
                                const StoreOptions& options) override {
    const std::filesystem::path run_dir = MakeRunDir(dir, run, name());
    const std::string db_path = (run_dir / "db").string();
    rocksdb::DB* raw = nullptr;
    const rocksdb::Status s = rocksdb::DB::Open(DbOptions(), db_path, &raw);
    if (!s.ok()) Fail(s, "open", db_path);
    return std::make_unique<RocksdbPerPointStore>(std::unique_ptr<rocksdb::DB>(raw), db_path,
                                                  options.durability == Durability::kSynced);
  }

  std::unique_ptr<Store> Open(const std::string& dir, const std::string& run) override {
    const std::string db_path = (std::filesystem::path(dir) / run / "db").string();
    rocksdb::Options options = DbOptions();
    options.create_if_missing = false;
    rocksdb::DB* raw = nullptr;
    const rocksdb::Status s = rocksdb::DB::OpenForReadOnly(options, db_path, &raw);
    if (!s.ok()) Fail(s, "open for reading", db_path);
    return std::make_unique<RocksdbPerPointStore>(std::unique_ptr<rocksdb::DB>(raw), db_path,
                                                  false);
  }

  std::string settings() const override {
    return "RocksDB 7.8 per run, one key per point (path, step -> double, timestamp); "
           "Aim's open/compaction options, 64 MiB memtable, LZ4 + ZSTD bottommost, WAL on "
           "(sync=false; sync=true when synced), one WriteBatch per LogFloats, Flush() = "
           "memtable flush to SST, read-only open replays the WAL";
  }
};

}  // namespace

std::unique_ptr<System> MakeRocksdbPerPointSystem() {
  return std::make_unique<RocksdbPerPointSystem>();
}

}  // namespace runlog::compare
