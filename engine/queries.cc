#include "engine/queries.h"

#include <rocksdb/snapshot.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "engine/keys.h"
#include "engine/path.h"
#include "engine/series_codec.h"

namespace runlog::engine {
namespace {

// A consistent view for one query.
class View {
 public:
  // A secondary instance has no snapshots: it changes only when Refresh() catches up.
  // Without `snapshot` (a read of one key) the view is the latest state.
  explicit View(const RunStore& store, bool snapshot = true)
      : store_(store),
        snap_(!snapshot || store.mode() == StoreMode::kSecondary
                  ? nullptr
                  : new rocksdb::ManagedSnapshot(store.db())) {
    ro_.snapshot = snap_ != nullptr ? snap_->snapshot() : nullptr;
  }
  Result<std::optional<std::string>> Get(RunStore::Cf cf, std::string_view key) const {
    std::string value;
    rocksdb::Status s = store_.db()->Get(ro_, store_.cf(cf), key, &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return store_.Convert(s, "read");
    return std::optional<std::string>(std::move(value));
  }
  std::unique_ptr<rocksdb::Iterator> Scan(RunStore::Cf cf, rocksdb::ReadOptions ro) const {
    ro.snapshot = ro_.snapshot;
    return std::unique_ptr<rocksdb::Iterator>(store_.db()->NewIterator(ro, store_.cf(cf)));
  }
  const RunStore& store() const { return store_; }

 private:
  const RunStore& store_;
  std::unique_ptr<rocksdb::ManagedSnapshot> snap_;
  rocksdb::ReadOptions ro_;
};

bool HasPrefix(const rocksdb::Slice& key, std::string_view prefix) {
  return key.size() >= prefix.size() && std::memcmp(key.data(), prefix.data(), prefix.size()) == 0;
}

std::string_view SliceView(const rocksdb::Slice& s) {
  return {s.data(), s.size()};
}

// The field at `path`; a series' summary into *summary when given (count 0 when none).
Result<Field> Lookup(const View& v, std::string_view path, StoredSummary* summary = nullptr) {
  RUNLOG_RETURN_IF_ERROR(ValidatePath(path));
  RUNLOG_ASSIGN_OR_RETURN(auto meta, v.Get(RunStore::kSchema, FieldKey(path)));
  if (meta) return DecodeFieldMeta(*meta, path, summary);
  // A namespace: some field key lies under path + "/".
  std::string prefix = FieldKey(path) + "/";
  auto it = v.Scan(RunStore::kSchema, {});
  it->Seek(prefix);
  if (it->Valid() && HasPrefix(it->key(), prefix)) {
    return Status::NotFound(EscapePath(path) + " is a namespace, not a field");
  }
  RUNLOG_RETURN_IF_ERROR(v.store().Convert(it->status(), "scan"));
  return Status::NotFound("no field " + EscapePath(path));
}

Status WrongKind(std::string_view path, FieldType type, const char* wanted) {
  return Status::TypeMismatch(EscapePath(path) + " is " + std::string(FieldTypeTitle(type)) +
                              ", not " + wanted);
}

bool IsAtom(FieldType t) {
  return t == FieldType::Float || t == FieldType::Int || t == FieldType::Bool ||
         t == FieldType::String || t == FieldType::Datetime;
}

bool InRange(double step, const SeriesRange& r) {
  return (!r.from || step >= *r.from) && (!r.to || step <= *r.to);
}

}  // namespace

Result<uint64_t> ReadAppliedLsn(const RunStore& store) {
  View v(store);
  RUNLOG_ASSIGN_OR_RETURN(auto value, v.Get(RunStore::kSchema, kAppliedLsnKey));
  if (!value) return uint64_t{0};
  return DecodeFixed64(*value, "applied LSN");
}

Result<Field> LookupField(const RunStore& store, std::string_view path) {
  return Lookup(View(store), path);
}

Result<Atom> QueryAtom(const RunStore& store, std::string_view path) {
  View v(store);
  RUNLOG_ASSIGN_OR_RETURN(Field f, Lookup(v, path));
  if (!IsAtom(f.type))
    return WrongKind(path, f.type, "an atom (Float, Int, Bool, String, Datetime)");
  RUNLOG_ASSIGN_OR_RETURN(auto value, v.Get(RunStore::kScalars, IdKey(f.id)));
  if (!value) return Status::Corruption("the value of " + EscapePath(path) + " is missing");
  return DecodeAtom(*value, path);
}

Result<SeriesSummary> QueryLast(const RunStore& store, std::string_view path) {
  View v(store, /*snapshot=*/false);  // one lookup: the field entry carries the summary
  StoredSummary s;
  RUNLOG_ASSIGN_OR_RETURN(Field f, Lookup(v, path, &s));
  if (!IsSeries(f.type)) return WrongKind(path, f.type, "a series");
  s.summary.type = PublicType(f.type);
  return s.summary;
}

Result<SeriesValues> QueryValues(const RunStore& store, std::string_view path,
                                 const SeriesRange& range) {
  View v(store);
  StoredSummary summary;
  RUNLOG_ASSIGN_OR_RETURN(Field f, Lookup(v, path, &summary));
  if (!IsSeries(f.type)) return WrongKind(path, f.type, "a series");
  SeriesValues out;
  out.type = PublicType(f.type);
  const std::string end = FieldRangeEnd(f.id);
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper(end);
  ro.iterate_upper_bound = &upper;
  auto it = v.Scan(RunStore::kSeries, ro);
  // The chunk holding `from` starts at or before it.
  if (range.from) {
    it->SeekForPrev(SeriesChunkKey(f.id, *range.from));
    if (!it->Valid() || !HasPrefix(it->key(), FieldRangeBegin(f.id)))
      it->Seek(FieldRangeBegin(f.id));
  } else {
    it->Seek(FieldRangeBegin(f.id));
  }
  const bool floats = f.type == FieldType::FloatSeries;
  static_assert(sizeof(runlog::FloatPoint) == sizeof(SeriesPoint) &&
                offsetof(runlog::FloatPoint, value) == offsetof(SeriesPoint, value));
  if (floats && !range.from && !range.to) {  // the summary's count sizes the result once
    const size_t n = summary.summary.count;
    out.floats.reserve(range.limit != 0 ? std::min(n, range.limit) : n);
  }
  std::vector<SeriesPoint> fp;
  std::vector<StringSeriesPoint> sp;
  auto full = [&] { return range.limit != 0 && out.size() >= range.limit; };
  for (; it->Valid() && !full(); it->Next()) {
    uint64_t id;
    double first;
    if (!ParseSeriesChunkKey(SliceView(it->key()), &id, &first) || id != f.id) continue;
    if (range.to && first > *range.to) break;
    std::span<const uint8_t> chunk(reinterpret_cast<const uint8_t*>(it->value().data()),
                                   it->value().size());
    if (floats) {
      fp.clear();
      RUNLOG_RETURN_IF_ERROR(DecodeSeriesChunk(chunk, &fp).WithContext(EscapePath(path)));
      // Points are in step order: the range is one slice, copied at once (same layout).
      auto by_step = [](const SeriesPoint& p, double step) { return p.step < step; };
      auto lo =
          range.from ? std::lower_bound(fp.begin(), fp.end(), *range.from, by_step) : fp.begin();
      auto hi = range.to ? std::upper_bound(
                               fp.begin(), fp.end(), *range.to,
                               [](double step, const SeriesPoint& p) { return step < p.step; })
                         : fp.end();
      size_t take = hi > lo ? static_cast<size_t>(hi - lo) : 0;
      if (range.limit != 0) take = std::min(take, range.limit - out.floats.size());
      const size_t at = out.floats.size();
      out.floats.resize(at + take);
      if (take > 0) {
        std::memcpy(static_cast<void*>(&out.floats[at]), &*lo, take * sizeof(SeriesPoint));
      }
    } else {
      sp.clear();
      RUNLOG_RETURN_IF_ERROR(DecodeStringChunk(chunk, &sp).WithContext(EscapePath(path)));
      for (StringSeriesPoint& p : sp) {
        if (!InRange(p.step, range)) continue;
        out.strings.push_back({p.step, p.timestamp_us, std::move(p.value)});
        if (full()) break;
      }
    }
  }
  RUNLOG_RETURN_IF_ERROR(store.Convert(it->status(), "scan"));
  return out;
}

Result<std::vector<std::string>> QuerySet(const RunStore& store, std::string_view path) {
  View v(store);
  RUNLOG_ASSIGN_OR_RETURN(Field f, Lookup(v, path));
  RunStore::Cf cf;
  if (f.type == FieldType::StringSet) {
    cf = RunStore::kScalars;
  } else if (f.type == FieldType::FileSet || f.type == FieldType::Artifact) {
    cf = RunStore::kFiles;
  } else {
    return WrongKind(path, f.type, "a set");
  }
  const std::string begin = FieldRangeBegin(f.id), end = FieldRangeEnd(f.id);
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper(end);
  ro.iterate_upper_bound = &upper;
  auto it = v.Scan(cf, ro);
  std::vector<std::string> out;
  for (it->Seek(begin); it->Valid(); it->Next()) {
    if (it->key().size() < 8) continue;
    out.emplace_back(it->key().data() + 8, it->key().size() - 8);
  }
  RUNLOG_RETURN_IF_ERROR(store.Convert(it->status(), "scan"));
  return out;  // key order: bytewise sorted
}

Result<std::vector<FieldInfo>> QueryStructure(const RunStore& store) {
  View v(store);
  std::vector<FieldInfo> out;
  const std::string prefix(1, kFieldPrefix);
  auto it = v.Scan(RunStore::kSchema, {});
  for (it->Seek(prefix); it->Valid() && HasPrefix(it->key(), prefix); it->Next()) {
    std::string path(it->key().data() + 1, it->key().size() - 1);
    RUNLOG_ASSIGN_OR_RETURN(Field f, DecodeFieldMeta(SliceView(it->value()), path));
    out.push_back({std::move(path), PublicType(f.type)});
  }
  RUNLOG_RETURN_IF_ERROR(store.Convert(it->status(), "scan"));
  return out;
}

Result<std::vector<ErrorEntry>> QueryErrors(const RunStore& store) {
  View v(store);
  std::vector<ErrorEntry> out;
  auto it = v.Scan(RunStore::kErrors, {});
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    RUNLOG_ASSIGN_OR_RETURN(ErrorEntry e,
                            DecodeError(SliceView(it->key()), SliceView(it->value())));
    out.push_back(std::move(e));
  }
  RUNLOG_RETURN_IF_ERROR(store.Convert(it->status(), "scan"));
  return out;
}

}  // namespace runlog::engine
