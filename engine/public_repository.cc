// The public Repository (include/runlog/repository.h) over engine::Repository, and the
// public names of types and modes.
#include "engine/field_type.h"
#include "engine/repository.h"
#include "engine/run_impl.h"
#include "runlog/repository.h"

namespace runlog {

std::string_view TypeName(FieldType type) {
  return engine::FieldTypeName(static_cast<engine::FieldType>(type));
}

std::string_view ModeName(Mode mode) {
  switch (mode) {
    case Mode::kAsync: return "async";
    case Mode::kSync: return "sync";
    case Mode::kOffline: return "offline";
    case Mode::kReadOnly: return "read-only";
    case Mode::kDebug: return "debug";
  }
  return "unknown";
}

Repository::Repository(std::unique_ptr<engine::Repository> impl) : impl_(std::move(impl)) {}
Repository::~Repository() = default;

Result<std::unique_ptr<Repository>> Repository::Open(const std::string& path,
                                                     const RepositoryOptions& options) {
  engine::RepositoryOptions o;
  o.create_if_missing = options.create_if_missing;
  o.key = options.key;
  o.fs = options.file_system;
  RUNLOG_ASSIGN_OR_RETURN(auto impl, engine::Repository::Open(path, o));
  return std::unique_ptr<Repository>(new Repository(std::move(impl)));
}

Result<std::unique_ptr<Run>> Repository::StartRun(const RunOptions& options) {
  if (options.max_fields == 0 || options.commit_batch_records == 0 ||
      options.series_chunk_points == 0) {
    return Status::InvalidArgument(
        "RunOptions: max_fields, commit_batch_records and series_chunk_points must be > 0");
  }
  RUNLOG_ASSIGN_OR_RETURN(auto impl, Run::Impl::Start(impl_.get(), options));
  return std::unique_ptr<Run>(new Run(std::move(impl)));
}

Result<std::vector<RunListing>> Repository::ListRuns() const {
  RUNLOG_ASSIGN_OR_RETURN(auto runs, impl_->ListRuns());
  std::vector<RunListing> out;
  for (auto& r : runs) out.push_back({r.sys_id, r.uuid_hex, r.custom_run_id, r.dir});
  return out;
}

const std::string& Repository::path() const {
  return impl_->path();
}

}  // namespace runlog
