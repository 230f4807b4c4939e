#include "format/records.h"

#include <array>

#include "format/log_format.h"

namespace runlog::wal {
namespace {

// Limits for untrusted payloads: the schema nests at most 4 tables deep; a record holds at
// most a few million tables (a very large extend of string points).
constexpr flatbuffers::uoffset_t kMaxDepth = 16;
constexpr flatbuffers::uoffset_t kMaxTables = 16u << 20;

template <typename T>
bool VerifyAs(std::span<const uint8_t> payload) {
  flatbuffers::Verifier verifier(payload.data(), payload.size(), kMaxDepth, kMaxTables);
  return verifier.VerifyBuffer<T>(kPayloadIdentifier);
}

}  // namespace

const char* RecordTypeName(uint16_t type) {
  if (!IsKnownRecordType(type)) return nullptr;
  return EnumNameRecordType(static_cast<RecordType>(type));
}

bool IsKnownRecordType(uint16_t type) {
  // Record types are below 128 (safe-to-ignore ones have bit 15): a bitmap answers.
  static const std::array<bool, 128> kKnown = [] {
    std::array<bool, 128> known{};
    for (RecordType t : EnumValuesRecordType()) {
      if (t != RecordType::Invalid) known.at(static_cast<uint16_t>(t)) = true;
    }
    return known;
  }();
  return type < kKnown.size() && kKnown[type];
}

Status VerifyPayload(uint16_t type, std::span<const uint8_t> payload) {
  bool ok;
  switch (static_cast<RecordType>(type)) {
    case RecordType::CreateRun: ok = VerifyAs<CreateRun>(payload); break;
    case RecordType::ResumeRun: ok = VerifyAs<ResumeRun>(payload); break;
    case RecordType::SetRunState: ok = VerifyAs<SetRunState>(payload); break;
    case RecordType::MarkFailed: ok = VerifyAs<MarkFailed>(payload); break;
    case RecordType::AssignFloat: ok = VerifyAs<AssignFloat>(payload); break;
    case RecordType::AssignInt: ok = VerifyAs<AssignInt>(payload); break;
    case RecordType::AssignBool: ok = VerifyAs<AssignBool>(payload); break;
    case RecordType::AssignString: ok = VerifyAs<AssignString>(payload); break;
    case RecordType::AssignDatetime: ok = VerifyAs<AssignDatetime>(payload); break;
    case RecordType::AppendFloats: ok = VerifyAs<AppendFloats>(payload); break;
    case RecordType::AppendStrings: ok = VerifyAs<AppendStrings>(payload); break;
    case RecordType::AppendFiles: ok = VerifyAs<AppendFiles>(payload); break;
    case RecordType::ClearField: ok = VerifyAs<ClearField>(payload); break;
    case RecordType::AddStrings: ok = VerifyAs<AddStrings>(payload); break;
    case RecordType::RemoveStrings: ok = VerifyAs<RemoveStrings>(payload); break;
    case RecordType::UploadFile: ok = VerifyAs<UploadFile>(payload); break;
    case RecordType::UploadFiles: ok = VerifyAs<UploadFiles>(payload); break;
    case RecordType::DeleteFiles: ok = VerifyAs<DeleteFiles>(payload); break;
    case RecordType::TrackFiles: ok = VerifyAs<TrackFiles>(payload); break;
    case RecordType::DeletePath: ok = VerifyAs<DeletePath>(payload); break;
    default:
      if (IsSafeToIgnore(type)) return Status::OK();
      return Status::NotSupported("unknown record type " + std::to_string(type) +
                                  " (written by a newer runlog?)");
  }
  if (!ok) {
    return Status::Corruption(std::string(RecordTypeName(type)) +
                              " payload failed the FlatBuffers Verifier");
  }
  return Status::OK();
}

std::span<const uint8_t> RecordBuilder::AssignFloat(std::string_view path, double value) {
  auto& b = builder();
  auto p = b.CreateString(path);
  return Finish(CreateAssignFloat(b, p, value));
}

std::span<const uint8_t> RecordBuilder::AssignInt(std::string_view path, int64_t value) {
  auto& b = builder();
  auto p = b.CreateString(path);
  return Finish(CreateAssignInt(b, p, value));
}

std::span<const uint8_t> RecordBuilder::AssignBool(std::string_view path, bool value) {
  auto& b = builder();
  auto p = b.CreateString(path);
  return Finish(CreateAssignBool(b, p, value));
}

std::span<const uint8_t> RecordBuilder::AssignString(std::string_view path,
                                                     std::string_view value) {
  auto& b = builder();
  auto p = b.CreateString(path);
  auto v = b.CreateString(value);
  return Finish(CreateAssignString(b, p, v));
}

std::span<const uint8_t> RecordBuilder::AssignDatetime(std::string_view path, int64_t value_us) {
  auto& b = builder();
  auto p = b.CreateString(path);
  return Finish(CreateAssignDatetime(b, p, value_us));
}

std::span<const uint8_t> RecordBuilder::AppendFloats(std::string_view path,
                                                     std::span<const FloatPoint> points) {
  auto& b = builder();
  auto p = b.CreateString(path);
  auto v = b.CreateVectorOfStructs(points.data(), points.size());
  return Finish(CreateAppendFloats(b, p, v));
}

std::span<const uint8_t> RecordBuilder::DeletePath(std::string_view path) {
  auto& b = builder();
  auto p = b.CreateString(path);
  return Finish(CreateDeletePath(b, p));
}

std::span<const uint8_t> RecordBuilder::ClearField(std::string_view path, FieldType type) {
  auto& b = builder();
  auto p = b.CreateString(path);
  return Finish(CreateClearField(b, p, type));
}

}  // namespace runlog::wal
