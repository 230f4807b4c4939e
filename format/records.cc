#include "format/records.h"

#include <array>
#include <cstring>

#include "format/log_format.h"

namespace runlog::wal {
namespace {

// Limits for untrusted payloads: the schema nests at most 4 tables deep; a record holds at
// most a few million tables (a very large extend of string points).
constexpr flatbuffers::uoffset_t kMaxDepth = 16;
constexpr flatbuffers::uoffset_t kMaxTables = 16u << 20;

template <typename T>
bool VerifyAs(std::span<const uint8_t> payload) {
  // The identifier is compared here as four bytes (the Verifier would strncmp it).
  if (payload.size() < 8 ||
      std::memcmp(payload.data() + sizeof(flatbuffers::uoffset_t), kPayloadIdentifier, 4) != 0) {
    return false;
  }
  flatbuffers::Verifier verifier(payload.data(), payload.size(), kMaxDepth, kMaxTables);
  return verifier.VerifyBuffer<T>(nullptr);
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

bool PayloadVerifies(uint16_t type, std::span<const uint8_t> payload) {
  switch (static_cast<RecordType>(type)) {
    case RecordType::CreateRun: return VerifyAs<CreateRun>(payload);
    case RecordType::ResumeRun: return VerifyAs<ResumeRun>(payload);
    case RecordType::SetRunState: return VerifyAs<SetRunState>(payload);
    case RecordType::MarkFailed: return VerifyAs<MarkFailed>(payload);
    case RecordType::AssignFloat: return VerifyAs<AssignFloat>(payload);
    case RecordType::AssignInt: return VerifyAs<AssignInt>(payload);
    case RecordType::AssignBool: return VerifyAs<AssignBool>(payload);
    case RecordType::AssignString: return VerifyAs<AssignString>(payload);
    case RecordType::AssignDatetime: return VerifyAs<AssignDatetime>(payload);
    case RecordType::AppendFloats: return VerifyAs<AppendFloats>(payload);
    case RecordType::AppendStrings: return VerifyAs<AppendStrings>(payload);
    case RecordType::AppendFiles: return VerifyAs<AppendFiles>(payload);
    case RecordType::ClearField: return VerifyAs<ClearField>(payload);
    case RecordType::AddStrings: return VerifyAs<AddStrings>(payload);
    case RecordType::RemoveStrings: return VerifyAs<RemoveStrings>(payload);
    case RecordType::UploadFile: return VerifyAs<UploadFile>(payload);
    case RecordType::UploadFiles: return VerifyAs<UploadFiles>(payload);
    case RecordType::DeleteFiles: return VerifyAs<DeleteFiles>(payload);
    case RecordType::TrackFiles: return VerifyAs<TrackFiles>(payload);
    case RecordType::DeletePath: return VerifyAs<DeletePath>(payload);
    default: return false;
  }
}

Status VerifyPayload(uint16_t type, std::span<const uint8_t> payload) {
  if (!IsKnownRecordType(type)) {
    if (IsSafeToIgnore(type)) return Status::OK();
    return Status::NotSupported("unknown record type " + std::to_string(type) +
                                " (written by a newer runlog?)");
  }
  if (!PayloadVerifies(type, payload)) {
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

std::span<const uint8_t> RecordBuilder::AppendStrings(std::string_view path,
                                                      std::span<const double> steps,
                                                      std::span<const int64_t> timestamps_us,
                                                      std::span<const std::string> values) {
  auto& b = builder();
  auto p = b.CreateString(path);
  std::vector<flatbuffers::Offset<StringPoint>> points;
  points.reserve(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    points.push_back(CreateStringPoint(b, steps[i], timestamps_us[i], b.CreateString(values[i])));
  }
  return Finish(CreateAppendStrings(b, p, b.CreateVector(points)));
}

std::span<const uint8_t> RecordBuilder::StringSetChange(bool add, std::string_view path,
                                                        std::span<const std::string> values) {
  auto& b = builder();
  auto p = b.CreateString(path);
  auto v = b.CreateVectorOfStrings(values.begin(), values.end());
  return add ? Finish(CreateAddStrings(b, p, v)) : Finish(CreateRemoveStrings(b, p, v));
}

}  // namespace runlog::wal
