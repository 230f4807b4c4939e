// A run's schema: which paths are fields, of which type, with which id, and which paths
// are namespaces. It enforces the structural rules of the data model (DESIGN §1): the
// type fixed at first write (field_type.h), no field under a field or at a namespace's
// path (PathConflict), valid paths (InvalidPath), the field limit (FieldLimitExceeded),
// recursive delete, and field ids that are never reused.
//
// The same class serves the eager checks of the API and the authoritative checks of the
// commit, so the two can never disagree.
//
// Thread safety: none; the owner synchronises (one per run, under the run's lock).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/field_type.h"
#include "runlog/status.h"

namespace runlog::engine {

using FieldId = uint64_t;

struct Field {
  FieldId id = 0;
  FieldType type = FieldType::None;
};

// Where a write goes: an existing field, or a new one to create.
struct WriteTarget {
  bool create = false;
  Field field;  // for create: the type to create, id 0
};

inline constexpr size_t kDefaultMaxFields = 9000;
// The engine's namespace (sys/id, sys/state, ...). Its fields do not count against the
// field limit: a run holds max_fields fields of the user's besides them.
inline constexpr std::string_view kSystemNamespace = "sys";

class Schema {
 public:
  explicit Schema(size_t max_fields = kDefaultMaxFields) : max_fields_(max_fields) {}
  // Copies rebuild the index (it points into the map's nodes); moves keep the nodes.
  Schema(const Schema& other);
  Schema& operator=(const Schema& other);
  Schema(Schema&&) noexcept = default;
  Schema& operator=(Schema&&) noexcept = default;

  // Checks a write of `type` at `path` without changing anything.
  Result<WriteTarget> CheckWrite(std::string_view path, FieldType type) const;

  // Creates the field; the caller checked the write. Returns it with a fresh id.
  Field Create(std::string_view path, FieldType type);

  // Adds a field with a known id (loading a stored schema). Ids after it stay unused.
  void Restore(std::string_view path, Field field);

  // Removes the field at `path`, or every field under the namespace `path`. Returns the
  // removed fields with their paths (empty when nothing is there).
  std::vector<std::pair<std::string, Field>> Delete(std::string_view path);

  // The field at `path`, or nullptr.
  const Field* Find(std::string_view path) const;
  // True when some field lies under `path` + "/".
  bool IsNamespace(std::string_view path) const;

  size_t field_count() const { return fields_.size(); }
  // Fields that count against the limit (all but sys/).
  size_t limited_field_count() const { return limited_count_; }
  size_t max_fields() const { return max_fields_; }
  void set_max_fields(size_t n) { max_fields_ = n; }
  // The id the next created field gets; ids only grow.
  FieldId next_id() const { return next_id_; }
  void set_next_id(FieldId id) { next_id_ = id > next_id_ ? id : next_id_; }

  // Every field, in path order.
  const std::map<std::string, Field, std::less<>>& fields() const { return fields_; }

 private:
  void AddNamespaces(std::string_view path, int delta);
  static bool Counts(std::string_view path);

  std::map<std::string, Field, std::less<>> fields_;
  // A hash index over fields_ for the hot path (keys and values point into fields_' nodes).
  std::unordered_map<std::string_view, const Field*> index_;
  // Namespace path -> number of fields under it.
  std::map<std::string, size_t, std::less<>> namespaces_;
  size_t max_fields_;
  size_t limited_count_ = 0;
  FieldId next_id_ = 1;
};

}  // namespace runlog::engine
