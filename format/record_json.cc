#include "format/record_json.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "format/records.h"

namespace runlog::wal {
namespace {

using nlohmann::json;

std::string Str(const flatbuffers::String* s) {
  return s == nullptr ? "" : s->str();
}

std::string Hex128(uint64_t hi, uint64_t lo) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%016" PRIx64 "%016" PRIx64, hi, lo);
  return buf;
}

json HashJson(const Hash128* h) {
  return h == nullptr ? json() : json(Hex128(h->hi(), h->lo()));
}
json UuidJson(const Uuid* u) {
  return u == nullptr ? json() : json(Hex128(u->hi(), u->lo()));
}

json BlobJson(const BlobRef* b) {
  if (b == nullptr) return nullptr;
  return {{"hash", HashJson(b->hash())},
          {"size", b->size()},
          {"name", Str(b->name())},
          {"extension", Str(b->extension())}};
}

json Strings(const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>* v) {
  json out = json::array();
  if (v != nullptr) {
    for (const auto* s : *v) out.push_back(Str(s));
  }
  return out;
}

template <typename T>
const T* Root(std::span<const uint8_t> payload) {
  return PayloadAs<T>(payload);
}

json FloatPoints(const AppendFloats* op) {
  json points = json::array();
  if (op->points() != nullptr) {
    for (const FloatPoint* p : *op->points()) {
      points.push_back({{"step", FloatToJson(p->step())},
                        {"timestamp", FormatTimeMicros(p->timestamp_us())},
                        {"value", FloatToJson(p->value())}});
    }
  }
  return {{"path", Str(op->path())}, {"points", points}};
}

json StringPoints(const AppendStrings* op) {
  json points = json::array();
  if (op->points() != nullptr) {
    for (const StringPoint* p : *op->points()) {
      points.push_back({{"step", FloatToJson(p->step())},
                        {"timestamp", FormatTimeMicros(p->timestamp_us())},
                        {"value", Str(p->value())}});
    }
  }
  return {{"path", Str(op->path())}, {"points", points}};
}

json FilePoints(const AppendFiles* op) {
  json points = json::array();
  if (op->points() != nullptr) {
    for (const FilePoint* p : *op->points()) {
      points.push_back({{"step", FloatToJson(p->step())},
                        {"timestamp", FormatTimeMicros(p->timestamp_us())},
                        {"file", BlobJson(p->file())}});
    }
  }
  return {{"path", Str(op->path())}, {"points", points}};
}

json FileSetEntries(const UploadFiles* op) {
  json entries = json::array();
  if (op->entries() != nullptr) {
    for (const FileSetEntry* e : *op->entries()) {
      entries.push_back({{"name", Str(e->name())}, {"file", BlobJson(e->file())}});
    }
  }
  return {{"path", Str(op->path())}, {"entries", entries}};
}

json ArtifactEntries(const TrackFiles* op) {
  json entries = json::array();
  if (op->entries() != nullptr) {
    for (const ArtifactEntry* e : *op->entries()) {
      entries.push_back({{"path", Str(e->path())},
                         {"source", Str(e->source())},
                         {"size", e->size()},
                         {"mtime", FormatTimeMicros(e->mtime_us())},
                         {"hash", HashJson(e->hash())}});
    }
  }
  return {{"path", Str(op->path())}, {"entries", entries}, {"reset", op->reset()}};
}

}  // namespace

json FloatToJson(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}

std::string FormatTimeMicros(int64_t micros) {
  int64_t secs = micros / 1000000;
  int64_t frac = micros % 1000000;
  if (frac < 0) {
    frac += 1000000;
    secs -= 1;
  }
  time_t t = static_cast<time_t>(secs);
  struct tm tm;
  if (gmtime_r(&t, &tm) == nullptr) return std::to_string(micros) + "us";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06" PRId64 "Z", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

json PayloadToJson(uint16_t type, std::span<const uint8_t> payload) {
  switch (static_cast<RecordType>(type)) {
    case RecordType::CreateRun: {
      auto* op = Root<CreateRun>(payload);
      return {{"uuid", UuidJson(op->uuid())},
              {"sys_id", Str(op->sys_id())},
              {"custom_run_id", Str(op->custom_run_id())},
              {"creation_time", FormatTimeMicros(op->creation_time_us())},
              {"hostname", Str(op->hostname())},
              {"pid", op->pid()}};
    }
    case RecordType::ResumeRun: {
      auto* op = Root<ResumeRun>(payload);
      return {{"uuid", UuidJson(op->uuid())},
              {"time", FormatTimeMicros(op->time_us())},
              {"hostname", Str(op->hostname())},
              {"pid", op->pid()}};
    }
    case RecordType::SetRunState: {
      auto* op = Root<SetRunState>(payload);
      return {{"state", EnumNameRunState(op->state())}, {"time", FormatTimeMicros(op->time_us())}};
    }
    case RecordType::MarkFailed: {
      auto* op = Root<MarkFailed>(payload);
      return {{"time", FormatTimeMicros(op->time_us())}, {"reason", Str(op->reason())}};
    }
    case RecordType::AssignFloat: {
      auto* op = Root<AssignFloat>(payload);
      return {{"path", Str(op->path())}, {"value", FloatToJson(op->value())}};
    }
    case RecordType::AssignInt: {
      auto* op = Root<AssignInt>(payload);
      return {{"path", Str(op->path())}, {"value", op->value()}};
    }
    case RecordType::AssignBool: {
      auto* op = Root<AssignBool>(payload);
      return {{"path", Str(op->path())}, {"value", op->value()}};
    }
    case RecordType::AssignString: {
      auto* op = Root<AssignString>(payload);
      return {{"path", Str(op->path())}, {"value", Str(op->value())}};
    }
    case RecordType::AssignDatetime: {
      auto* op = Root<AssignDatetime>(payload);
      return {{"path", Str(op->path())}, {"value", FormatTimeMicros(op->value_us())}};
    }
    case RecordType::AppendFloats: return FloatPoints(Root<AppendFloats>(payload));
    case RecordType::AppendStrings: return StringPoints(Root<AppendStrings>(payload));
    case RecordType::AppendFiles: return FilePoints(Root<AppendFiles>(payload));
    case RecordType::ClearField: {
      auto* op = Root<ClearField>(payload);
      return {{"path", Str(op->path())}, {"type", EnumNameFieldType(op->type())}};
    }
    case RecordType::AddStrings: {
      auto* op = Root<AddStrings>(payload);
      return {{"path", Str(op->path())}, {"values", Strings(op->values())}};
    }
    case RecordType::RemoveStrings: {
      auto* op = Root<RemoveStrings>(payload);
      return {{"path", Str(op->path())}, {"values", Strings(op->values())}};
    }
    case RecordType::UploadFile: {
      auto* op = Root<UploadFile>(payload);
      return {{"path", Str(op->path())}, {"file", BlobJson(op->file())}};
    }
    case RecordType::UploadFiles: return FileSetEntries(Root<UploadFiles>(payload));
    case RecordType::DeleteFiles: {
      auto* op = Root<DeleteFiles>(payload);
      return {{"path", Str(op->path())}, {"names", Strings(op->names())}};
    }
    case RecordType::TrackFiles: return ArtifactEntries(Root<TrackFiles>(payload));
    case RecordType::DeletePath: {
      auto* op = Root<DeletePath>(payload);
      return {{"path", Str(op->path())}};
    }
    default: return {{"bytes", payload.size()}};
  }
}

}  // namespace runlog::wal
