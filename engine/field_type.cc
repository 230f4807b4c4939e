#include "engine/field_type.h"

#include <array>
#include <string>

#include "engine/path.h"

namespace runlog::engine {
namespace {

struct Names {
  FieldType type;
  std::string_view name;
  std::string_view title;
};

constexpr std::array<Names, 12> kNames = {{
    {FieldType::Float, "float", "Float"},
    {FieldType::Int, "int", "Int"},
    {FieldType::Bool, "bool", "Bool"},
    {FieldType::String, "string", "String"},
    {FieldType::Datetime, "datetime", "Datetime"},
    {FieldType::FloatSeries, "float_series", "FloatSeries"},
    {FieldType::StringSeries, "string_series", "StringSeries"},
    {FieldType::FileSeries, "file_series", "FileSeries"},
    {FieldType::StringSet, "string_set", "StringSet"},
    {FieldType::File, "file", "File"},
    {FieldType::FileSet, "file_set", "FileSet"},
    {FieldType::Artifact, "artifact", "Artifact"},
}};

}  // namespace

std::string_view FieldTypeName(FieldType type) {
  for (const Names& n : kNames) {
    if (n.type == type) return n.name;
  }
  return "none";
}

std::string_view FieldTypeTitle(FieldType type) {
  for (const Names& n : kNames) {
    if (n.type == type) return n.title;
  }
  return "None";
}

Result<FieldType> ParseFieldTypeName(std::string_view name) {
  for (const Names& n : kNames) {
    if (n.name == name) return n.type;
  }
  return Status::InvalidArgument("unknown field type \"" + std::string(name) + "\"");
}

Status CheckTypeCompatible(std::string_view path, FieldType existing, FieldType attempted) {
  if (existing == attempted) return Status::OK();
  if (existing == FieldType::Float && attempted == FieldType::Int) return Status::OK();
  return Status::TypeMismatch(EscapePath(path) + " is " + std::string(FieldTypeTitle(existing)) +
                              ", not " + std::string(FieldTypeTitle(attempted)));
}

}  // namespace runlog::engine
