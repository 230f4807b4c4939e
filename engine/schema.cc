#include "engine/schema.h"

#include "engine/path.h"

namespace runlog::engine {

Schema::Schema(const Schema& other) {
  *this = other;
}

Schema& Schema::operator=(const Schema& other) {
  if (this == &other) return *this;
  fields_ = other.fields_;
  namespaces_ = other.namespaces_;
  max_fields_ = other.max_fields_;
  limited_count_ = other.limited_count_;
  next_id_ = other.next_id_;
  index_.clear();
  for (const auto& [path, field] : fields_) index_.emplace(std::string_view(path), &field);
  return *this;
}

Result<WriteTarget> Schema::CheckWrite(std::string_view path, FieldType type) const {
  // An existing field's path was validated when it was created: the hot path skips that.
  if (const Field* f = Find(path)) {
    RUNLOG_RETURN_IF_ERROR(CheckTypeCompatible(path, f->type, type));
    return WriteTarget{false, *f};
  }
  RUNLOG_RETURN_IF_ERROR(ValidatePath(path));
  if (IsNamespace(path)) {
    return Status::PathConflict("cannot create a " + std::string(FieldTypeTitle(type)) +
                                " field at " + EscapePath(path) +
                                ": it is a namespace holding other fields");
  }
  // No prefix of the path may be a field.
  for (size_t slash = path.find('/'); slash != std::string_view::npos;
       slash = path.find('/', slash + 1)) {
    std::string_view prefix = path.substr(0, slash);
    if (const Field* f = Find(prefix)) {
      return Status::PathConflict("cannot create " + EscapePath(path) + ": " + EscapePath(prefix) +
                                  " is a " + std::string(FieldTypeTitle(f->type)) +
                                  " field, not a namespace");
    }
  }
  if (Counts(path) && limited_count_ >= max_fields_) {
    return Status::FieldLimitExceeded("cannot create " + EscapePath(path) + ": the run has " +
                                      std::to_string(limited_count_) + " fields, the limit is " +
                                      std::to_string(max_fields_));
  }
  return WriteTarget{true, Field{0, type}};
}

Field Schema::Create(std::string_view path, FieldType type) {
  Field f{next_id_++, type};
  auto [it, inserted] = fields_.emplace(std::string(path), f);
  (void)inserted;
  index_.emplace(std::string_view(it->first), &it->second);
  AddNamespaces(path, +1);
  if (Counts(path)) ++limited_count_;
  return f;
}

void Schema::Restore(std::string_view path, Field field) {
  auto [it, inserted] = fields_.insert_or_assign(std::string(path), field);
  index_[std::string_view(it->first)] = &it->second;
  if (inserted) {
    AddNamespaces(path, +1);
    if (Counts(path)) ++limited_count_;
  }
  set_next_id(field.id + 1);
}

std::vector<std::pair<std::string, Field>> Schema::Delete(std::string_view path) {
  std::vector<std::pair<std::string, Field>> removed;
  if (auto it = fields_.find(path); it != fields_.end()) {
    removed.emplace_back(it->first, it->second);
    index_.erase(std::string_view(it->first));
    fields_.erase(it);
    AddNamespaces(path, -1);
    if (Counts(path)) --limited_count_;
    return removed;
  }
  const std::string prefix = std::string(path) + "/";
  for (auto it = fields_.lower_bound(prefix);
       it != fields_.end() && std::string_view(it->first).starts_with(prefix);) {
    removed.emplace_back(it->first, it->second);
    AddNamespaces(it->first, -1);
    if (Counts(it->first)) --limited_count_;
    index_.erase(std::string_view(it->first));
    it = fields_.erase(it);
  }
  return removed;
}

bool Schema::Counts(std::string_view path) {
  return !PathIsUnder(path, kSystemNamespace);
}

const Field* Schema::Find(std::string_view path) const {
  auto it = index_.find(path);
  return it == index_.end() ? nullptr : it->second;
}

bool Schema::IsNamespace(std::string_view path) const {
  return namespaces_.find(path) != namespaces_.end();
}

void Schema::AddNamespaces(std::string_view path, int delta) {
  for (size_t slash = path.find('/'); slash != std::string_view::npos;
       slash = path.find('/', slash + 1)) {
    std::string_view prefix = path.substr(0, slash);
    auto it = namespaces_.find(prefix);
    if (delta > 0) {
      if (it == namespaces_.end()) {
        namespaces_.emplace(std::string(prefix), 1);
      } else {
        ++it->second;
      }
    } else if (it != namespaces_.end() && --it->second == 0) {
      namespaces_.erase(it);
    }
  }
}

}  // namespace runlog::engine
