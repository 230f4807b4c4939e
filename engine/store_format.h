// The keys and values of a run's RocksDB (DESIGN §5), in one place:
//
//   column family  key                                   value
//   schema         'F' path                              FieldMeta: varint id, u8 type, and
//                                                        for a series its summary (below):
//                                                        one lookup gives fetch_last
//                  'M' "applied_lsn" / "next_field_id"   u64 little-endian
//                  'M' "limits"                          u64 max_fields, u64 max_string_bytes
//   scalars        field_id                              atom: u8 type, then f64 / i64 /
//                                                        u8 / bytes / i64 micros
//                  field_id member                       "" (a StringSet member)
//   series         field_id ordered_first_step           a chunk (series_codec.h)
//   files          field_id                              File: a blob ref
//                  field_id name                         FileSet entry / Artifact entry
//   errors         lsn (u64 BE)                          ErrorEntry (below)
//
// All multi-byte key parts are big-endian so that key order is numeric order (keys.h);
// every value decoder checks lengths (the files are untrusted input).
//
// Thread safety: free functions; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "engine/schema.h"
#include "runlog/status.h"
#include "runlog/value.h"

namespace runlog::engine {

inline constexpr char kFieldPrefix = 'F';
inline constexpr std::string_view kAppliedLsnKey = "Mapplied_lsn";
inline constexpr std::string_view kNextFieldIdKey = "Mnext_field_id";
// The limits the run's records were admitted under: u64 max_fields, u64 max_string_bytes.
inline constexpr std::string_view kLimitsKey = "Mlimits";

std::string FieldKey(std::string_view path);
std::string IdKey(FieldId id);                             // scalars / files: the field itself
std::string MemberKey(FieldId id, std::string_view name);  // set members, file-set entries
std::string ErrorKey(uint64_t lsn);

void PutFixed64(uint64_t v, std::string* out);
Result<uint64_t> DecodeFixed64(std::string_view in, std::string_view what);

struct StoredSummary;
// A field entry; a series' entry carries its summary (nullptr: none yet).
std::string EncodeFieldMeta(Field field, const StoredSummary* summary = nullptr);
// Decodes a field entry; *summary (when given) receives the series summary, *has_summary
// whether there was one.
Result<Field> DecodeFieldMeta(std::string_view value, std::string_view path,
                              StoredSummary* summary = nullptr, bool* has_summary = nullptr);

// An atom value; `atom.type` says which alternative is set.
std::string EncodeAtom(const Atom& atom);
Result<Atom> DecodeAtom(std::string_view value, std::string_view path);

// The series summary plus what the committer needs to continue the series: the first step
// of its open tail chunk. count == 0: an empty series.
struct StoredSummary {
  SeriesSummary summary;
  bool has_minmax = false;  // some non-NaN value was seen
};
std::string EncodeSummary(const StoredSummary& s);
Result<StoredSummary> DecodeSummary(std::string_view value, std::string_view path);

// A rejected operation as the errors column family keeps it.
struct ErrorEntry {
  uint64_t lsn = 0;
  uint16_t record_type = 0;
  Code code = Code::kOk;
  std::string path;
  std::string message;
  std::string payload;  // the record's payload bytes
};
std::string EncodeError(const ErrorEntry& e);
Result<ErrorEntry> DecodeError(std::string_view key, std::string_view value);

}  // namespace runlog::engine
