// Field types and the rule that fixes them: a field's type is set by its first write; a
// write of the same type overwrites; an Int may be written into a Float field (widening);
// anything else is TypeMismatch naming the path, the existing and the attempted type.
//
// Thread safety: free functions; safe from any thread.
#pragma once

#include <string_view>

#include "runlog/status.h"
#include "wal_generated.h"

namespace runlog::engine {

using FieldType = wal::FieldType;

// The names of the CLI and JSON output: "float", "int", "bool", "string", "datetime",
// "float_series", "string_series", "file_series", "string_set", "file", "file_set",
// "artifact".
std::string_view FieldTypeName(FieldType type);
// The inverse of FieldTypeName; InvalidArgument for anything else.
Result<FieldType> ParseFieldTypeName(std::string_view name);
// The names of messages, as users of the data model know them: "Float", "FloatSeries", ...
std::string_view FieldTypeTitle(FieldType type);

inline bool IsSeries(FieldType t) {
  return t == FieldType::FloatSeries || t == FieldType::StringSeries || t == FieldType::FileSeries;
}

// OK when a write of `attempted` may go to a field of type `existing`; TypeMismatch
// "<path> is <Existing>, not <Attempted>" otherwise. Only Int into Float widens.
Status CheckTypeCompatible(std::string_view path, FieldType existing, FieldType attempted);

}  // namespace runlog::engine
