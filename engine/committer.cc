#include "engine/committer.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <nlohmann/json.hpp>

#include "engine/keys.h"
#include "engine/path.h"
#include "engine/queries.h"
#include "format/records.h"

namespace runlog::engine {
namespace {

using wal::RecordType;

std::string_view View(const flatbuffers::String* s) {
  return s == nullptr ? std::string_view() : std::string_view(s->data(), s->size());
}

std::string HashHex(const wal::Hash128* h) {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx",
                static_cast<unsigned long long>(h == nullptr ? 0 : h->hi()),
                static_cast<unsigned long long>(h == nullptr ? 0 : h->lo()));
  return buf;
}

// A blob reference as the files column family and file series keep it: a JSON object.
std::string BlobRefText(const wal::BlobRef* ref) {
  nlohmann::json j;
  if (ref != nullptr) {
    j["hash"] = HashHex(ref->hash());
    j["size"] = ref->size();
    j["name"] = std::string(View(ref->name()));
    j["extension"] = std::string(View(ref->extension()));
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ArtifactEntryText(const wal::ArtifactEntry* e) {
  nlohmann::json j;
  j["source"] = std::string(View(e->source()));
  j["size"] = e->size();
  j["mtime_us"] = e->mtime_us();
  j["hash"] = HashHex(e->hash());
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string_view RecordPath(uint16_t type, std::span<const uint8_t> payload) {
  switch (static_cast<RecordType>(type)) {
    case RecordType::AssignFloat: return View(wal::PayloadAs<wal::AssignFloat>(payload)->path());
    case RecordType::AssignInt: return View(wal::PayloadAs<wal::AssignInt>(payload)->path());
    case RecordType::AssignBool: return View(wal::PayloadAs<wal::AssignBool>(payload)->path());
    case RecordType::AssignString: return View(wal::PayloadAs<wal::AssignString>(payload)->path());
    case RecordType::AssignDatetime:
      return View(wal::PayloadAs<wal::AssignDatetime>(payload)->path());
    case RecordType::AppendFloats: return View(wal::PayloadAs<wal::AppendFloats>(payload)->path());
    case RecordType::AppendStrings:
      return View(wal::PayloadAs<wal::AppendStrings>(payload)->path());
    case RecordType::AppendFiles: return View(wal::PayloadAs<wal::AppendFiles>(payload)->path());
    case RecordType::ClearField: return View(wal::PayloadAs<wal::ClearField>(payload)->path());
    case RecordType::AddStrings: return View(wal::PayloadAs<wal::AddStrings>(payload)->path());
    case RecordType::RemoveStrings:
      return View(wal::PayloadAs<wal::RemoveStrings>(payload)->path());
    case RecordType::UploadFile: return View(wal::PayloadAs<wal::UploadFile>(payload)->path());
    case RecordType::UploadFiles: return View(wal::PayloadAs<wal::UploadFiles>(payload)->path());
    case RecordType::DeleteFiles: return View(wal::PayloadAs<wal::DeleteFiles>(payload)->path());
    case RecordType::TrackFiles: return View(wal::PayloadAs<wal::TrackFiles>(payload)->path());
    case RecordType::DeletePath: return View(wal::PayloadAs<wal::DeletePath>(payload)->path());
    default: return {};
  }
}

Result<std::unique_ptr<Committer>> Committer::Open(RunStore* store,
                                                   const CommitterOptions& options) {
  std::unique_ptr<Committer> c(new Committer(store, options));
  RUNLOG_RETURN_IF_ERROR(c->Load());
  return c;
}

Status Committer::Load() {
  loaded_ = false;  // until the whole state is back: Add and Commit refuse meanwhile
  model_ = RunModel(options_.limits);
  series_.clear();
  dirty_.clear();
  tail_points_ = 0;
  batch_.Clear();
  pending_records_ = 0;
  tail_error_ = Status::OK();
  RUNLOG_ASSIGN_OR_RETURN(uint64_t applied, ReadAppliedLsn(*store_));
  applied_lsn_.store(applied, std::memory_order_release);
  batch_lsn_ = applied;

  rocksdb::ReadOptions ro;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(ro, store_->cf(RunStore::kSchema)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view key(it->key().data(), it->key().size());
    std::string_view value(it->value().data(), it->value().size());
    if (key.empty()) continue;
    if (key[0] == kFieldPrefix) {
      std::string_view path = key.substr(1);
      StoredSummary s;
      bool has_summary = false;
      RUNLOG_ASSIGN_OR_RETURN(Field f, DecodeFieldMeta(value, path, &s, &has_summary));
      model_.schema().Restore(path, f);
      if (has_summary) {
        SeriesState& st = series_[f.id];
        st.stored = s;
        st.path = std::string(path);
        model_.RestoreLastStep(
            f.id, s.summary.count > 0 ? std::optional(s.summary.last_step) : std::nullopt);
      }
    } else if (key == kLimitsKey && value.size() == 16) {
      RUNLOG_ASSIGN_OR_RETURN(uint64_t fields, DecodeFixed64(value.substr(0, 8), "limits"));
      RUNLOG_ASSIGN_OR_RETURN(uint64_t bytes, DecodeFixed64(value.substr(8), "limits"));
      model_.set_limits({fields, bytes});
    } else if (key == kNextFieldIdKey) {
      RUNLOG_ASSIGN_OR_RETURN(uint64_t next, DecodeFixed64(value, "next field id"));
      model_.schema().set_next_id(next);
    }
  }
  RUNLOG_RETURN_IF_ERROR(store_->Convert(it->status(), "load the schema of"));
  if (const Field* uuid = model_.schema().Find("sys/uuid")) {
    std::string value;
    rocksdb::Status s =
        store_->db()->Get({}, store_->cf(RunStore::kScalars), IdKey(uuid->id), &value);
    RUNLOG_RETURN_IF_ERROR(store_->Convert(s, "read sys/uuid from"));
    RUNLOG_ASSIGN_OR_RETURN(Atom atom, DecodeAtom(value, "sys/uuid"));
    if (auto* hex = std::get_if<std::string>(&atom.value)) model_.set_run_uuid(*hex);
  }
  loaded_ = true;
  return Status::OK();
}

Status Committer::SetLimits(ModelLimits limits) {
  if (!loaded_) return NotLoaded();
  if (pending_records_ > 0) return Status::InvalidArgument("SetLimits inside a batch");
  std::string value;
  PutFixed64(limits.max_fields, &value);
  PutFixed64(limits.max_string_bytes, &value);
  rocksdb::WriteBatch batch;
  batch.Put(store_->cf(RunStore::kSchema), kLimitsKey, value);
  RUNLOG_RETURN_IF_ERROR(store_->Write(&batch));
  model_.set_limits(limits);
  return Status::OK();
}

Status Committer::NotLoaded() const {
  return Status::IOError("the committer of " + store_->dir() +
                         " could not load the committed state; it applies nothing until a "
                         "reload succeeds");
}

Status Committer::Reload() {
  RUNLOG_RETURN_IF_ERROR(store_->Resume());
  return Load();
}

void Committer::Reject(const RecordView& record, const Status& status) {
  ErrorEntry e;
  e.lsn = record.lsn;
  e.record_type = record.type;
  e.code = status.code();
  e.path = std::string(RecordPath(record.type, record.payload));
  e.message = status.message();
  e.payload.assign(reinterpret_cast<const char*>(record.payload.data()), record.payload.size());
  batch_.Put(store_->cf(RunStore::kErrors), ErrorKey(record.lsn), EncodeError(e));
  rejected_.fetch_add(1, std::memory_order_relaxed);
}

Status Committer::Add(const RecordView& record) {
  if (!loaded_) return NotLoaded();
  if (record.lsn <= batch_lsn_) return Status::OK();  // already applied
  batch_lsn_ = record.lsn;
  ++pending_records_;
  Result<Plan> plan = model_.Check(record.type, record.payload);
  if (!plan.ok()) {
    Status s = plan.status().WithContext("LSN " + std::to_string(record.lsn));
    Reject(record, plan.status());
    return s;
  }
  switch (plan->kind) {
    case PlanKind::kSkip: break;
    case PlanKind::kLifecycle: ApplyLifecycle(record); break;
    case PlanKind::kDelete: {
      std::vector<std::pair<std::string, Field>> deleted;
      model_.Apply(*plan, &deleted);
      for (auto& [path, field] : deleted) DeleteFieldData(path, field);
      break;
    }
    case PlanKind::kWrite: {
      Field f = model_.Apply(*plan, nullptr);
      if (plan->target.create) {
        batch_.Put(store_->cf(RunStore::kSchema), FieldKey(plan->path), EncodeFieldMeta(f));
      }
      ApplyWrite(record, *plan, f);
      break;
    }
  }
  return Status::OK();
}

void Committer::ApplyLifecycle(const RecordView& record) {
  for (const SystemWrite& w : model_.ApplyLifecycle(record.type, record.payload)) {
    batch_.Put(store_->cf(RunStore::kSchema), FieldKey(w.path), EncodeFieldMeta(w.field));
    Atom atom;
    atom.type = PublicType(w.field.type);
    if (w.field.type == FieldType::String) {
      atom.value = w.string_value;
    } else if (w.field.type == FieldType::Bool) {
      atom.value = w.int_value != 0;
    } else {
      atom.value = Datetime{w.int_value};
    }
    batch_.Put(store_->cf(RunStore::kScalars), IdKey(w.field.id), EncodeAtom(atom));
  }
}

void Committer::DeleteFieldData(const std::string& path, Field field) {
  const std::string begin = FieldRangeBegin(field.id), end = FieldRangeEnd(field.id);
  for (RunStore::Cf cf : {RunStore::kScalars, RunStore::kSeries, RunStore::kFiles}) {
    batch_.DeleteRange(store_->cf(cf), begin, end);
  }
  batch_.Delete(store_->cf(RunStore::kSchema), FieldKey(path));
  if (auto it = series_.find(field.id); it != series_.end()) {
    tail_points_ -= it->second.float_tail.size() + it->second.string_tail.size();
    series_.erase(it);
  }
}

void Committer::ApplyWrite(const RecordView& record, const Plan& plan, Field field) {
  if (IsSeries(field.type)) {
    SeriesState& st = series_[field.id];
    if (st.path.empty()) st.path = std::string(plan.path);  // a field id never changes path
  }
  auto* scalars = store_->cf(RunStore::kScalars);
  auto* files = store_->cf(RunStore::kFiles);
  const auto payload = record.payload;
  auto put_atom = [&](Atom atom) { batch_.Put(scalars, IdKey(field.id), EncodeAtom(atom)); };
  if (plan.clears) {
    const std::string begin = FieldRangeBegin(field.id), end = FieldRangeEnd(field.id);
    RunStore::Cf cf = IsSeries(field.type)                 ? RunStore::kSeries
                      : field.type == FieldType::StringSet ? RunStore::kScalars
                                                           : RunStore::kFiles;
    batch_.DeleteRange(store_->cf(cf), begin, end);
    if (IsSeries(field.type)) {
      SeriesState& st = series_[field.id];
      const bool listed = st.dirty;
      tail_points_ -= st.float_tail.size() + st.string_tail.size();
      st = SeriesState{};
      st.path = std::string(plan.path);
      st.stored.summary.type = PublicType(field.type);
      st.tail_loaded = true;
      st.dirty = true;
      if (!listed) dirty_.push_back(field.id);
    }
    return;
  }
  switch (static_cast<RecordType>(record.type)) {
    case RecordType::AssignFloat:
      put_atom({runlog::FieldType::kFloat, wal::PayloadAs<wal::AssignFloat>(payload)->value()});
      break;
    case RecordType::AssignInt: {
      int64_t v = wal::PayloadAs<wal::AssignInt>(payload)->value();
      if (field.type == FieldType::Float) {  // widening
        put_atom({runlog::FieldType::kFloat, static_cast<double>(v)});
      } else {
        put_atom({runlog::FieldType::kInt, v});
      }
      break;
    }
    case RecordType::AssignBool:
      put_atom({runlog::FieldType::kBool, wal::PayloadAs<wal::AssignBool>(payload)->value()});
      break;
    case RecordType::AssignString:
      put_atom({runlog::FieldType::kString,
                std::string(View(wal::PayloadAs<wal::AssignString>(payload)->value()))});
      break;
    case RecordType::AssignDatetime:
      put_atom({runlog::FieldType::kDatetime,
                Datetime{wal::PayloadAs<wal::AssignDatetime>(payload)->value_us()}});
      break;
    case RecordType::AppendFloats: {
      auto* pts = wal::PayloadAs<wal::AppendFloats>(payload)->points();
      // FloatPoint (schema) and SeriesPoint share the layout: step, timestamp, value.
      static_assert(sizeof(wal::FloatPoint) == sizeof(SeriesPoint));
      AppendFloats(field.id,
                   std::span(reinterpret_cast<const SeriesPoint*>(pts->data()), pts->size()));
      break;
    }
    case RecordType::AppendStrings: {
      std::vector<StringSeriesPoint> points;
      for (const wal::StringPoint* p : *wal::PayloadAs<wal::AppendStrings>(payload)->points()) {
        points.push_back({p->step(), p->timestamp_us(), std::string(View(p->value()))});
      }
      AppendStrings(field.id, field.type, std::move(points));
      break;
    }
    case RecordType::AppendFiles: {
      std::vector<StringSeriesPoint> points;
      for (const wal::FilePoint* p : *wal::PayloadAs<wal::AppendFiles>(payload)->points()) {
        points.push_back({p->step(), p->timestamp_us(), BlobRefText(p->file())});
      }
      AppendStrings(field.id, field.type, std::move(points));
      break;
    }
    case RecordType::AddStrings:
    case RecordType::RemoveStrings: {
      const bool add = record.type == static_cast<uint16_t>(RecordType::AddStrings);
      auto* values = wal::PayloadAs<wal::AddStrings>(payload)->values();
      if (values == nullptr) break;
      for (const flatbuffers::String* v : *values) {
        if (add) {
          batch_.Put(scalars, MemberKey(field.id, View(v)), "");
        } else {
          batch_.Delete(scalars, MemberKey(field.id, View(v)));
        }
      }
      break;
    }
    case RecordType::UploadFile:
      batch_.Put(files, IdKey(field.id),
                 BlobRefText(wal::PayloadAs<wal::UploadFile>(payload)->file()));
      break;
    case RecordType::UploadFiles: {
      auto* entries = wal::PayloadAs<wal::UploadFiles>(payload)->entries();
      if (entries == nullptr) break;
      for (const wal::FileSetEntry* e : *entries) {
        batch_.Put(files, MemberKey(field.id, View(e->name())), BlobRefText(e->file()));
      }
      break;
    }
    case RecordType::DeleteFiles: {
      auto* names = wal::PayloadAs<wal::DeleteFiles>(payload)->names();
      if (names == nullptr) break;
      for (const flatbuffers::String* n : *names)
        batch_.Delete(files, MemberKey(field.id, View(n)));
      break;
    }
    case RecordType::TrackFiles: {
      auto* op = wal::PayloadAs<wal::TrackFiles>(payload);
      if (op->reset()) {
        batch_.DeleteRange(files, FieldRangeBegin(field.id), FieldRangeEnd(field.id));
      }
      if (op->entries() == nullptr) break;
      for (const wal::ArtifactEntry* e : *op->entries()) {
        batch_.Put(files, MemberKey(field.id, View(e->path())), ArtifactEntryText(e));
      }
      break;
    }
    default: break;
  }
}

Committer::SeriesState& Committer::Series(FieldId id, FieldType type) {
  SeriesState& st = series_[id];
  st.stored.summary.type = PublicType(type);
  if (!st.tail_loaded) {
    Status s = LoadTail(id, &st);
    if (!s.ok() && tail_error_.ok()) tail_error_ = s;
    st.tail_loaded = true;
  }
  if (!st.dirty) {
    st.dirty = true;
    dirty_.push_back(id);
  }
  return st;
}

namespace {

void EncodeChunk(std::span<const SeriesPoint> points, std::string* out) {
  EncodeSeriesChunk(points, out);
}
void EncodeChunk(std::span<const StringSeriesPoint> points, std::string* out) {
  EncodeStringChunk(points, out);
}
Status DecodeChunk(std::span<const uint8_t> chunk, std::vector<SeriesPoint>* out) {
  return DecodeSeriesChunk(chunk, out);
}
Status DecodeChunk(std::span<const uint8_t> chunk, std::vector<StringSeriesPoint>* out) {
  return DecodeStringChunk(chunk, out);
}

// The trailing chunks of series `id` with fewer than `chunk_points` points (the unsealed
// pieces), decoded in step order into *tail, their first steps into *pieces.
template <typename Point>
Status LoadPieces(const RunStore& store, FieldId id, size_t chunk_points, std::vector<Point>* tail,
                  std::vector<double>* pieces) {
  rocksdb::ReadOptions ro;
  const std::string begin = FieldRangeBegin(id), end = FieldRangeEnd(id);
  rocksdb::Slice lower(begin);
  ro.iterate_lower_bound = &lower;
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(ro, store.cf(RunStore::kSeries)));
  std::vector<std::vector<Point>> found;  // newest first
  for (it->SeekForPrev(end); it->Valid(); it->Prev()) {
    uint64_t key_id;
    double first;
    if (!ParseSeriesChunkKey({it->key().data(), it->key().size()}, &key_id, &first) ||
        key_id != id) {
      return Status::Corruption("series " + std::to_string(id) + ": bad chunk key");
    }
    std::vector<Point> points;
    RUNLOG_RETURN_IF_ERROR(DecodeChunk(
        {reinterpret_cast<const uint8_t*>(it->value().data()), it->value().size()}, &points));
    if (points.size() >= chunk_points) break;  // sealed
    found.push_back(std::move(points));
    pieces->push_back(first);
  }
  RUNLOG_RETURN_IF_ERROR(store.Convert(it->status(), "read the last chunks of a series in"));
  std::reverse(pieces->begin(), pieces->end());
  for (auto f = found.rbegin(); f != found.rend(); ++f) {
    std::move(f->begin(), f->end(), std::back_inserter(*tail));
  }
  return Status::OK();
}

}  // namespace

Status Committer::LoadTail(FieldId id, SeriesState* st) {
  st->float_tail.clear();
  st->string_tail.clear();
  st->pieces.clear();
  st->stored_points = 0;
  if (st->stored.summary.count == 0) return Status::OK();
  if (st->stored.summary.type == runlog::FieldType::kFloatSeries) {
    RUNLOG_RETURN_IF_ERROR(
        LoadPieces(*store_, id, options_.series_chunk_points, &st->float_tail, &st->pieces));
    st->stored_points = st->float_tail.size();
    tail_points_ += st->stored_points;
  } else {
    RUNLOG_RETURN_IF_ERROR(
        LoadPieces(*store_, id, options_.series_chunk_points, &st->string_tail, &st->pieces));
    st->stored_points = st->string_tail.size();
    tail_points_ += st->stored_points;
  }
  return Status::OK();
}

// Writes what a batch added to a series' tail. The tail (every point since the last sealed
// chunk) is stored as small pieces, one per batch that touched the series, so a batch costs
// only its own points; once the tail holds a chunk's worth, it is rewritten as sealed chunks
// of series_chunk_points points (plus one piece for the rest) and the pieces are deleted.
template <typename Point>
void Committer::StoreTail(FieldId id, std::vector<Point>& tail, SeriesState* st) {
  auto* cf = store_->cf(RunStore::kSeries);
  const size_t n = tail.size(), cp = options_.series_chunk_points;
  std::string chunk;
  auto put = [&](size_t from, size_t to) {
    chunk.clear();
    EncodeChunk(std::span<const Point>(tail.data() + from, to - from), &chunk);
    batch_.Put(cf, SeriesChunkKey(id, tail[from].step), chunk);
    return tail[from].step;
  };
  if (n < cp) {
    if (st->stored_points < n) {
      st->pieces.push_back(put(st->stored_points, n));
      st->stored_points = n;
    }
    return;
  }
  std::vector<double> written;
  size_t i = 0;
  for (; n - i >= cp; i += cp) written.push_back(put(i, i + cp));
  if (i < n) written.push_back(put(i, n));
  for (double piece : st->pieces) {
    if (std::find(written.begin(), written.end(), piece) == written.end()) {
      batch_.Delete(cf, SeriesChunkKey(id, piece));
    }
  }
  tail.erase(tail.begin(), tail.begin() + static_cast<std::ptrdiff_t>(i));
  tail_points_ -= i;
  st->pieces.clear();
  if (!tail.empty()) st->pieces.push_back(tail.front().step);
  st->stored_points = tail.size();
}

void Committer::AppendFloats(FieldId id, std::span<const SeriesPoint> points) {
  SeriesState& st = Series(id, FieldType::FloatSeries);
  SeriesSummary& s = st.stored.summary;
  st.float_tail.insert(st.float_tail.end(), points.begin(), points.end());
  tail_points_ += points.size();
  for (const SeriesPoint& p : points) {
    if (s.count == 0) s.first_step = p.step;
    ++s.count;
    s.last_step = p.step;
    s.last_timestamp_us = p.timestamp_us;
    s.last = p.value;
    if (!std::isnan(p.value)) {
      if (!st.stored.has_minmax) {
        s.min = s.max = p.value;
        st.stored.has_minmax = true;
      } else {
        s.min = std::min(s.min, p.value);
        s.max = std::max(s.max, p.value);
      }
    }
  }
  if (!st.stored.has_minmax) s.min = s.max = std::nan("");
}

void Committer::AppendStrings(FieldId id, FieldType type, std::vector<StringSeriesPoint> points) {
  SeriesState& st = Series(id, type);
  SeriesSummary& s = st.stored.summary;
  tail_points_ += points.size();
  for (StringSeriesPoint& p : points) {
    if (s.count == 0) s.first_step = p.step;
    ++s.count;
    s.last_step = p.step;
    s.last_timestamp_us = p.timestamp_us;
    s.last_string = p.value;
    st.string_tail.push_back(std::move(p));
  }
}

Status Committer::Commit() {
  if (!loaded_) return NotLoaded();
  if (pending_records_ == 0) return Status::OK();
  if (!tail_error_.ok()) return tail_error_;
  for (FieldId id : dirty_) {
    auto it = series_.find(id);
    if (it == series_.end()) continue;  // deleted in this batch
    SeriesState& st = it->second;
    if (st.stored.summary.type == runlog::FieldType::kFloatSeries) {
      StoreTail(id, st.float_tail, &st);
    } else {
      StoreTail(id, st.string_tail, &st);
    }
    const Field field{id, static_cast<FieldType>(st.stored.summary.type)};
    batch_.Put(store_->cf(RunStore::kSchema), FieldKey(st.path),
               EncodeFieldMeta(field, &st.stored));
    st.dirty = false;
  }
  dirty_.clear();
  auto* schema = store_->cf(RunStore::kSchema);
  std::string lsn, next_id;
  PutFixed64(batch_lsn_, &lsn);
  PutFixed64(model_.schema().next_id(), &next_id);
  batch_.Put(schema, kAppliedLsnKey, lsn);
  batch_.Put(schema, kNextFieldIdKey, next_id);
  RUNLOG_RETURN_IF_ERROR(store_->Write(&batch_));
  batch_.Clear();
  pending_records_ = 0;
  applied_lsn_.store(batch_lsn_, std::memory_order_release);
  if (tail_points_ > options_.max_tail_points) {
    // Every tail point is stored (in pieces): dropping them costs a reload, loses nothing.
    for (auto& [id, st] : series_) {
      st.float_tail = {};
      st.string_tail = {};
      st.pieces = {};
      st.stored_points = 0;
      st.tail_loaded = false;
    }
    tail_points_ = 0;
  }
  return Status::OK();
}

}  // namespace runlog::engine
