// What the WAL knows about its payloads: the record types of schemas/wal.fbs, the
// FlatBuffers Verifier for each, and a builder for each operation.
//
// Thread safety: the free functions are safe from any thread. A RecordBuilder is used by
// one thread at a time (one per writer thread); it keeps its memory between records.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "format/log_format.h"
#include "runlog/status.h"
#include "wal_generated.h"

namespace runlog::wal {

// The table name of a known record type ("AppendFloats"), or nullptr.
const char* RecordTypeName(uint16_t type);
bool IsKnownRecordType(uint16_t type);
inline bool IsSafeToIgnore(uint16_t type) {
  return (type & kSafeToIgnoreBit) != 0;
}

// Runs the FlatBuffers Verifier (with depth and table limits) over `payload` as the root
// table of `type`, including the "RLOG" identifier. Corruption names the type on failure;
// NotSupported for an unknown type without the safe-to-ignore bit. OK for an unknown
// safe-to-ignore type (its payload is not interpreted).
Status VerifyPayload(uint16_t type, std::span<const uint8_t> payload);

// The hot-path form of VerifyPayload for a known type: true when the payload verifies.
bool PayloadVerifies(uint16_t type, std::span<const uint8_t> payload);

// Returns the root table of a payload that passed VerifyPayload for type T's record type.
template <typename T>
const T* PayloadAs(std::span<const uint8_t> payload) {
  return flatbuffers::GetRoot<T>(payload.data());
}

// Encodes operations into FlatBuffers payloads. Each Build* call replaces the previous
// payload; the returned span stays valid until the next Build* call or destruction.
class RecordBuilder {
 public:
  // Every scalar is written even when it equals its default: FlatBuffers would otherwise
  // drop a -0.0 (it compares equal to the default 0.0) and lose its sign.
  RecordBuilder() : fbb_(256) { fbb_.ForceDefaults(true); }
  RecordBuilder(const RecordBuilder&) = delete;
  RecordBuilder& operator=(const RecordBuilder&) = delete;

  std::span<const uint8_t> AssignFloat(std::string_view path, double value);
  std::span<const uint8_t> AssignInt(std::string_view path, int64_t value);
  std::span<const uint8_t> AssignBool(std::string_view path, bool value);
  std::span<const uint8_t> AssignString(std::string_view path, std::string_view value);
  std::span<const uint8_t> AssignDatetime(std::string_view path, int64_t value_us);
  std::span<const uint8_t> AppendFloats(std::string_view path, std::span<const FloatPoint> points);
  // steps and timestamps_us are as long as values.
  std::span<const uint8_t> AppendStrings(std::string_view path, std::span<const double> steps,
                                         std::span<const int64_t> timestamps_us,
                                         std::span<const std::string> values);
  // AddStrings (add) or RemoveStrings.
  std::span<const uint8_t> StringSetChange(bool add, std::string_view path,
                                           std::span<const std::string> values);
  std::span<const uint8_t> DeletePath(std::string_view path);
  std::span<const uint8_t> ClearField(std::string_view path, FieldType type);

  // For operations without a helper above: build with builder(), then Finish(root).
  flatbuffers::FlatBufferBuilder& builder() {
    fbb_.Clear();
    return fbb_;
  }
  template <typename T>
  std::span<const uint8_t> Finish(flatbuffers::Offset<T> root) {
    fbb_.Finish(root, kPayloadIdentifier);
    return {fbb_.GetBufferPointer(), fbb_.GetSize()};
  }

 private:
  flatbuffers::FlatBufferBuilder fbb_;
};

}  // namespace runlog::wal
