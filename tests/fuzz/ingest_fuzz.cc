// libFuzzer target for stream ingest: a log written elsewhere (replay, sync, an old version)
// committed into a run. The input is decoded into a sequence of records (grammar below),
// written with the format's Writer, read back with the Reader and committed by the engine's
// Committer into in-memory RocksDB stores, the way a run's open catches up on its log
// (Run::Impl::CatchUp), with small limits, chunks and tails so every rule can trigger.
// Properties checked beyond "no crash":
//   - nothing is silently dropped: the reader returns every record that verifies, in LSN
//     order, skips only unknown "safe to ignore" types, and stops with Corruption or
//     NotSupported naming the LSN of the first record that does not verify;
//   - every returned record is applied or rejected; the errors column family holds exactly
//     the rejected LSNs, each with its code and a message; the applied LSN is the last one;
//   - the committed state reads back: every field of the structure answers its query, a
//     series' points have increasing steps and agree with its summary;
//   - the batching does not matter: the log committed one batch per few records and in one
//     batch gives the same state, and replaying it into a reloaded committer changes nothing.
//
// Input grammar (a cursor over the bytes; reads past the end give zeros):
//   record   := selector body
//   selector >= 0xE0: raw record: type:u16le len:u8 payload[len]
//   otherwise structured, kind = selector % 14: path byte (one of a few paths that nest and
//            collide, or 0xF0|n: n raw path bytes) then the operation's values.
//   scripts/fuzz [SECONDS]; the corpus (tests/fuzz/corpus/ingest) is replayed by
//   ingest_corpus_tests.
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/committer.h"
#include "engine/queries.h"
#include "engine/store.h"
#include "format/records.h"
#include "format/wal_reader.h"
#include "format/wal_writer.h"

namespace {

using namespace runlog;
using wal::RecordType;

constexpr size_t kMaxRecords = 200;

void Check(bool ok, const char* what, const std::string& detail = "") {
  if (!ok) {
    std::fprintf(stderr, "ingest_fuzz: property violated: %s %s\n", what, detail.c_str());
    std::abort();
  }
}

const std::string& FuzzDir() {
  static const std::string dir = [] {
    std::string tmpl = "/tmp/runlog-fuzz-ingest-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    return tmpl;
  }();
  return dir;
}

class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool done() const { return pos_ >= size_; }
  uint8_t U8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t U16() {
    const uint8_t lo = U8();
    return static_cast<uint16_t>(lo | (U8() << 8));
  }
  uint64_t U64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(U8()) << (8 * i);
    return v;
  }
  std::string Bytes(size_t n) {
    std::string s;
    while (n-- > 0 && !done()) s.push_back(static_cast<char>(U8()));
    return s;
  }
  // Mostly the values that matter to the rules; 0xF0 and up: any 8 bytes.
  double Double() {
    static const double kValues[] = {0.0, -0.0,     1.0,       -1.0,  2.5,
                                     NAN, INFINITY, -INFINITY, 1e308, 4.9e-324};
    const uint8_t b = U8();
    if (b >= 0xF0) {
      const uint64_t bits = U64();
      double d;
      std::memcpy(&d, &bits, sizeof d);
      return d;
    }
    return b < 10 ? kValues[b] : static_cast<double>(b) - 10;
  }
  std::string Path() {
    static const char* kPaths[] = {"a",        "a/b",      "a/b/c",  "b", "s",
                                   "sys/name", "sys/tags", "sys/id", "t", "a//b"};
    const uint8_t b = U8();
    if (b >= 0xF0) return Bytes(b & 0x0F);
    return kPaths[b % 10];
  }
  std::string Text() { return Bytes(U8() % 48); }
  std::vector<std::string> Texts() {
    std::vector<std::string> v(U8() % 4);
    for (auto& s : v) s = Text();
    return v;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

struct Built {
  uint16_t type = 0;
  std::string payload;
};

flatbuffers::Offset<wal::BlobRef> Blob(flatbuffers::FlatBufferBuilder& b, Cursor& in) {
  wal::Hash128 h(in.U64(), 0);
  const uint8_t size = in.U8();
  const std::string name = in.Text();
  return wal::CreateBlobRefDirect(b, &h, size, name.c_str(), "txt");
}

// One record from the cursor.
Built NextRecord(Cursor& in, wal::RecordBuilder& rb) {
  const uint8_t selector = in.U8();
  if (selector >= 0xE0) {
    Built raw;
    raw.type = in.U16();
    raw.payload = in.Bytes(in.U8());
    return raw;
  }
  auto out = [](RecordType t, std::span<const uint8_t> p) {
    return Built{static_cast<uint16_t>(t), std::string(p.begin(), p.end())};
  };
  const std::string path = in.Path();
  switch (selector % 14) {
    case 0: return out(RecordType::AssignFloat, rb.AssignFloat(path, in.Double()));
    case 1: return out(RecordType::AssignInt, rb.AssignInt(path, static_cast<int64_t>(in.U64())));
    case 2: return out(RecordType::AssignBool, rb.AssignBool(path, in.U8() & 1));
    case 3: return out(RecordType::AssignString, rb.AssignString(path, in.Text()));
    case 4: return out(RecordType::AssignDatetime, rb.AssignDatetime(path, in.U8() * 1000000));
    case 5: {
      std::vector<wal::FloatPoint> points(in.U8() % 5);
      for (auto& p : points) {
        const double step = in.Double();
        const uint8_t time = in.U8();
        p = wal::FloatPoint(step, time, in.Double());
      }
      return out(RecordType::AppendFloats, rb.AppendFloats(path, points));
    }
    case 6: {
      const size_t n = in.U8() % 5;
      std::vector<double> steps(n);
      std::vector<int64_t> times(n);
      std::vector<std::string> values(n);
      for (size_t i = 0; i < n; ++i) {
        steps[i] = in.Double();
        values[i] = in.Text();
      }
      return out(RecordType::AppendStrings, rb.AppendStrings(path, steps, times, values));
    }
    case 7:
      return out(RecordType::ClearField,
                 rb.ClearField(path, static_cast<wal::FieldType>(in.U8() % 14)));
    case 8: return out(RecordType::AddStrings, rb.StringSetChange(true, path, in.Texts()));
    case 9: return out(RecordType::RemoveStrings, rb.StringSetChange(false, path, in.Texts()));
    case 10: return out(RecordType::DeletePath, rb.DeletePath(path));
    case 11: {  // the run's lifecycle
      auto& b = rb.builder();
      const uint64_t hi = in.U64();
      wal::Uuid u(hi, in.U64());
      const uint8_t which = in.U8() % 4;
      const std::string text = in.Text();
      const uint8_t number = in.U8();
      switch (which) {
        case 0:
          return out(RecordType::CreateRun, rb.Finish(wal::CreateCreateRunDirect(
                                                b, &u, text.c_str(), "", number, "h", 1)));
        case 1:
          return out(RecordType::ResumeRun,
                     rb.Finish(wal::CreateResumeRunDirect(b, &u, number, "h", 2)));
        case 2:
          return out(
              RecordType::SetRunState,
              rb.Finish(wal::CreateSetRunState(b, static_cast<wal::RunState>(number % 3), number)));
        default:
          return out(RecordType::MarkFailed,
                     rb.Finish(wal::CreateMarkFailedDirect(b, number, text.c_str())));
      }
    }
    case 12: {  // files: an upload, a file series point, a file set change
      auto& b = rb.builder();
      switch (in.U8() % 4) {
        case 0: {
          auto blob = Blob(b, in);
          return out(RecordType::UploadFile,
                     rb.Finish(wal::CreateUploadFile(b, b.CreateString(path), blob)));
        }
        case 1: {
          std::vector<flatbuffers::Offset<wal::FilePoint>> points;
          for (int i = in.U8() % 3; i > 0; --i) {
            auto blob = Blob(b, in);
            const double step = in.Double();
            points.push_back(wal::CreateFilePoint(b, step, in.U8(), blob));
          }
          return out(RecordType::AppendFiles,
                     rb.Finish(wal::CreateAppendFilesDirect(b, path.c_str(), &points)));
        }
        case 2: {
          std::vector<flatbuffers::Offset<wal::FileSetEntry>> entries;
          for (int i = in.U8() % 3; i > 0; --i) {
            auto blob = Blob(b, in);
            const std::string name = in.Text();
            entries.push_back(wal::CreateFileSetEntryDirect(b, name.c_str(), blob));
          }
          return out(RecordType::UploadFiles,
                     rb.Finish(wal::CreateUploadFilesDirect(b, path.c_str(), &entries)));
        }
        default: {
          std::vector<std::string> names = in.Texts();
          auto v = b.CreateVectorOfStrings(names);
          return out(RecordType::DeleteFiles,
                     rb.Finish(wal::CreateDeleteFiles(b, b.CreateString(path), v)));
        }
      }
    }
    default: {  // an artifact's tracked files
      auto& b = rb.builder();
      wal::Hash128 h(in.U64(), 1);
      std::vector<flatbuffers::Offset<wal::ArtifactEntry>> entries;
      for (int i = in.U8() % 3; i > 0; --i) {
        const std::string name = in.Text();
        const uint8_t size = in.U8();
        entries.push_back(wal::CreateArtifactEntryDirect(b, name.c_str(), "s3://b/k", size, 7, &h));
      }
      const bool reset = in.U8() & 1;
      return out(RecordType::TrackFiles,
                 rb.Finish(wal::CreateTrackFilesDirect(b, path.c_str(), &entries, reset)));
    }
  }
}

enum class Fate { kReturned, kSkipped, kStops };

// What the reader must do with a record: return it, skip it (unknown, safe to ignore) or stop.
Fate FateOf(const Built& r) {
  std::span<const uint8_t> p(reinterpret_cast<const uint8_t*>(r.payload.data()), r.payload.size());
  if (!wal::IsKnownRecordType(r.type)) {
    return wal::IsSafeToIgnore(r.type) ? Fate::kSkipped : Fate::kStops;
  }
  return wal::VerifyPayload(r.type, p).ok() ? Fate::kReturned : Fate::kStops;
}

std::string Bits(double d) {
  uint64_t u;
  std::memcpy(&u, &d, sizeof u);
  return std::to_string(u);
}

// The committed state as text, checking on the way that each field answers its query and
// that series agree with their summaries.
std::string Dump(const engine::RunStore& store) {
  std::string out;
  auto structure = engine::QueryStructure(store);
  Check(structure.ok(), "the structure reads", structure.ok() ? "" : structure.status().ToString());
  for (const FieldInfo& f : *structure) {
    out += f.path + " " + std::string(TypeName(f.type)) + ":";
    switch (f.type) {
      case FieldType::kFloat:
      case FieldType::kInt:
      case FieldType::kBool:
      case FieldType::kString:
      case FieldType::kDatetime: {
        auto atom = engine::QueryAtom(store, f.path);
        Check(atom.ok(), "an atom reads", atom.ok() ? f.path : atom.status().ToString());
        std::visit(
            [&](const auto& v) {
              using V = std::decay_t<decltype(v)>;
              if constexpr (std::is_same_v<V, double>)
                out += Bits(v);
              else if constexpr (std::is_same_v<V, std::string>)
                out += v;
              else if constexpr (std::is_same_v<V, Datetime>)
                out += std::to_string(v.micros);
              else
                out += std::to_string(v);
            },
            atom->value);
        break;
      }
      case FieldType::kFloatSeries:
      case FieldType::kStringSeries:
      case FieldType::kFileSeries: {
        auto last = engine::QueryLast(store, f.path);
        auto values = engine::QueryValues(store, f.path, {});
        Check(last.ok() && values.ok(), "a series reads", f.path);
        Check(values->size() == last->count, "a series has as many points as its summary says",
              f.path);
        double prev = -INFINITY;
        for (size_t i = 0; i < values->size(); ++i) {
          const bool floats = f.type == FieldType::kFloatSeries;
          const double step = floats ? values->floats[i].step : values->strings[i].step;
          Check(i == 0 || step > prev, "a series' steps increase", f.path);
          prev = step;
          out += " " + Bits(step) + "=" +
                 (floats ? Bits(values->floats[i].value) : values->strings[i].value);
        }
        if (last->count > 0) {
          Check(Bits(last->last_step) == Bits(prev), "the summary's last step is the last point's",
                f.path);
        }
        break;
      }
      case FieldType::kStringSet:
      case FieldType::kFileSet:
      case FieldType::kArtifact: {
        auto set = engine::QuerySet(store, f.path);
        Check(set.ok(), "a set reads", set.ok() ? f.path : set.status().ToString());
        for (const std::string& s : *set) out += " " + s;
        break;
      }
      default: break;
    }
    out += "\n";
  }
  auto errors = engine::QueryErrors(store);
  Check(errors.ok(), "the errors read", errors.ok() ? "" : errors.status().ToString());
  for (const engine::ErrorEntry& e : *errors) {
    out += "error " + std::to_string(e.lsn) + " " + std::to_string(static_cast<int>(e.code)) + "\n";
  }
  return out;
}

// Commits the log in `dir` into `store` as a run's open does, `batch` records per
// WriteBatch. Returns the reader's final status; fills the LSNs returned and rejected.
Status CommitLog(const std::string& dir, engine::RunStore* store, size_t batch,
                 std::vector<uint64_t>* returned, std::vector<uint64_t>* rejected) {
  engine::CommitterOptions co;
  co.limits.max_fields = 6;
  co.limits.max_string_bytes = 24;
  co.series_chunk_points = 3;
  co.max_tail_points = 4;
  auto committer = engine::Committer::Open(store, co);
  Check(committer.ok(), "the committer opens", committer.ok() ? "" : committer.status().ToString());
  engine::Committer& c = **committer;
  const uint64_t rejected_before = c.rejected();
  wal::ReaderOptions ro;
  ro.start_lsn = c.applied_lsn() + 1;
  ro.detect_live_writer = false;
  auto reader = wal::Reader::Open(dir, ro);
  if (!reader.ok()) return reader.status();
  wal::Record rec;
  size_t n = 0;
  Status end;
  for (;;) {
    auto more = (*reader)->Next(&rec);
    if (!more.ok()) {
      end = more.status();
      break;
    }
    if (!*more) break;
    returned->push_back(rec.lsn);
    Status s = c.Add({rec.lsn, rec.type, rec.payload});
    if (!s.ok()) {
      Check(!s.message().empty(), "a rejection says why");
      rejected->push_back(rec.lsn);
    }
    if (++n % batch == 0) {
      Status committed = c.Commit();
      Check(committed.ok(), "a batch commits", committed.ToString());
    }
  }
  Status committed = c.Commit();
  Check(committed.ok(), "the last batch commits", committed.ToString());
  Check(c.rejected() - rejected_before == rejected->size(), "the committer counts its rejections");
  auto applied = engine::ReadAppliedLsn(*store);
  Check(applied.ok(), "the applied LSN reads");
  if (!returned->empty()) {
    Check(*applied == returned->back(), "the applied LSN is the last record's");
  }
  return end;
}

// An empty in-memory store. The two stores are opened once per process (a RocksDB open
// costs more than an input's whole commit) and emptied for each input: what the committer
// then loads is exactly a new run's state.
engine::RunStore& EmptyStore(int which) {
  // Never destroyed: closing a RocksDB from a static destructor races RocksDB's own statics.
  static engine::RunStore* stores[2];
  if (stores[which] == nullptr) {
    engine::StoreOptions so;
    so.mode = engine::StoreMode::kMemory;
    so.write_buffer_size = 256 << 10;
    so.compression = Compression::kNone;
    auto store = engine::RunStore::Open("/ingest/" + std::to_string(which), so);
    Check(store.ok(), "an in-memory store opens", store.ok() ? "" : store.status().ToString());
    stores[which] = store->release();
  }
  engine::RunStore& store = *stores[which];
  rocksdb::WriteBatch batch;
  for (int cf = 0; cf < engine::RunStore::kCfCount; ++cf) {
    auto* handle = store.cf(static_cast<engine::RunStore::Cf>(cf));
    std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator({}, handle));
    for (it->SeekToFirst(); it->Valid(); it->Next()) batch.Delete(handle, it->key());
    Check(it->status().ok(), "the store empties");
  }
  Check(store.Write(&batch).ok(), "the store empties");
  return store;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Cursor in(data, size);
  const size_t batch = 1 + in.U8() % 8;
  std::vector<Built> records;
  wal::RecordBuilder rb;
  while (!in.done() && records.size() < kMaxRecords) records.push_back(NextRecord(in, rb));

  // The log, as another writer of the format would leave it.
  const std::string dir = FuzzDir() + "/wal";
  std::filesystem::remove_all(dir);
  std::vector<Fate> fates;  // per LSN - 1
  {
    wal::WriterOptions wo;
    wo.durability = wal::Durability::kNone;
    wo.segment_size = 4096;
    wo.prefault_bytes = 0;
    wo.run_id.fill(0x5a);
    auto writer = wal::Writer::Open(dir, wo);
    Check(writer.ok(), "the log opens", writer.ok() ? "" : writer.status().ToString());
    for (const Built& r : records) {
      std::span<const uint8_t> p(reinterpret_cast<const uint8_t*>(r.payload.data()),
                                 r.payload.size());
      auto lsn = (*writer)->Append(r.type, p);
      if (!lsn.ok()) {
        Check(r.payload.empty() || r.type == 0,
              "the writer takes every non-empty payload of a non-zero type",
              lsn.status().ToString());
        continue;
      }
      fates.push_back(FateOf(r));
      Check(*lsn == fates.size(), "LSNs are dense");
    }
    Check((*writer)->Close().ok(), "the log closes");
  }

  // What the reader must return: every record that verifies, up to the first that does not.
  std::vector<uint64_t> want;
  uint64_t stop_lsn = 0;
  for (size_t i = 0; i < fates.size() && stop_lsn == 0; ++i) {
    if (fates[i] == Fate::kReturned) want.push_back(i + 1);
    if (fates[i] == Fate::kStops) stop_lsn = i + 1;
  }

  engine::RunStore* batched = &EmptyStore(0);
  std::vector<uint64_t> returned, rejected;
  Status end = CommitLog(dir, batched, batch, &returned, &rejected);
  Check(returned == want, "the reader returns every record that verifies, in order");
  if (stop_lsn == 0) {
    Check(end.ok(), "a log of verifiable records reads to its end", end.ToString());
  } else {
    Check(end.Is(Code::kCorruption) || end.Is(Code::kNotSupported),
          "a record that does not verify stops the commit with Corruption or NotSupported",
          end.ToString());
    Check(end.message().find("LSN " + std::to_string(stop_lsn)) != std::string::npos,
          "the error names the LSN of the record", end.ToString());
  }
  if (std::getenv("RUNLOG_FUZZ_VERBOSE") != nullptr) {
    std::fprintf(stderr, "ingest: %zu records, %zu returned, %zu rejected, stop at LSN %llu: %s\n",
                 fates.size(), returned.size(), rejected.size(),
                 static_cast<unsigned long long>(stop_lsn), end.ToString().c_str());
  }
  auto errors = engine::QueryErrors(*batched);
  Check(errors.ok() && errors->size() == rejected.size(), "every rejection is kept");
  for (size_t i = 0; i < rejected.size(); ++i) {
    const engine::ErrorEntry& e = (*errors)[i];
    Check(e.lsn == rejected[i] && e.code != Code::kOk && !e.message.empty(),
          "a kept rejection has its LSN, code and message");
  }
  const std::string state = Dump(*batched);

  // Replaying the log into a reloaded committer changes nothing.
  std::vector<uint64_t> again, again_rejected;
  (void)CommitLog(dir, batched, batch, &again, &again_rejected);
  Check(again.empty(), "a replay starts after the applied LSN");
  Check(Dump(*batched) == state, "a replay changes nothing");

  // One batch for the whole log gives the same state.
  engine::RunStore* whole = &EmptyStore(1);
  std::vector<uint64_t> returned1, rejected1;
  (void)CommitLog(dir, whole, kMaxRecords + 1, &returned1, &rejected1);
  Check(rejected1 == rejected, "the batching does not change what is rejected");
  const std::string whole_state = Dump(*whole);
  Check(whole_state == state, "the batching does not change the committed state",
        "\n" + state + "---\n" + whole_state);
  return 0;
}
