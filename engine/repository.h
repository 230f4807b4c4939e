// A repository: a directory of runs (DESIGN §3). It allocates each run's identity: a
// 128-bit time-ordered uuid (sys/uuid) and a human handle <KEY>-<n> (sys/id) unique in
// this repository even when many processes create runs at once, and it maps custom run ids
// to runs so that processes resuming-or-creating the same custom id get the same run.
//
//   REPO/repository              {"format":1,"key":"RL"}: written once, atomically
//   REPO/ids                     the last allocated run number (flock-guarded, synced)
//   REPO/index/sys/<KEY>-<n>     the run's uuid (32 hex digits)
//   REPO/index/custom/<hash>     the run's uuid; <hash> is XXH3-128 of the custom id
//   REPO/runs/<uuid>/wal/        the run's log; its first record is CreateRun
//
// Thread safety: a Repository may be used from many threads and many processes at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "format/file_system.h"
#include "format/segment.h"
#include "runlog/status.h"

namespace runlog::engine {

struct RepositoryOptions {
  // Create the repository when the directory holds none (default true).
  bool create_if_missing = true;
  // The sys/id prefix of a new repository: 1-10 characters A-Z, 0-9, starting with a
  // letter. Default "RL". An existing repository keeps its own.
  std::string key = "RL";
  FileSystem* fs = nullptr;  // nullptr: FileSystem::Default()
};

struct RunInfo {
  wal::RunId uuid{};
  std::string uuid_hex;       // 32 hex digits: the directory name under runs/
  std::string sys_id;         // "<KEY>-<n>"
  std::string custom_run_id;  // empty when none
  bool created = false;       // false when an existing run was found (resume)
  std::string dir;            // REPO/runs/<uuid>
};

struct NewRunOptions {
  // Resume-or-create: the run with this custom id if it exists, else a new one. Any
  // bytes up to 1024; empty for none.
  std::string custom_run_id;
};

class Repository {
 public:
  static Result<std::unique_ptr<Repository>> Open(const std::string& path,
                                                  const RepositoryOptions& options = {});

  // Creates a run (or, with a custom id that exists, finds it). The new run's directory
  // holds a WAL whose first record is CreateRun.
  Result<RunInfo> CreateRun(const NewRunOptions& options = {});

  // Finds a run by sys/id ("RL-7"), custom run id, or uuid (32 hex digits), tried in that
  // order. NotFound names the id.
  Result<RunInfo> FindRun(std::string_view id) const;

  // The run with this custom run id only; NotFound when none.
  Result<RunInfo> FindRunByCustomId(std::string_view custom) const {
    return FindByCustomId(custom);
  }

  // Every run, by uuid (creation time) order.
  Result<std::vector<RunInfo>> ListRuns() const;

  const std::string& path() const { return path_; }
  const std::string& key() const { return key_; }
  FileSystem* fs() const { return fs_; }

 private:
  Repository(std::string path, std::string key, FileSystem* fs)
      : path_(std::move(path)), key_(std::move(key)), fs_(fs) {}
  Result<uint64_t> AllocateNumber();
  Result<RunInfo> CreateNewRun(const std::string& custom_run_id);
  Result<RunInfo> LoadRun(const std::string& uuid_hex) const;
  Result<RunInfo> LoadIndexed(const std::string& file) const;
  Result<RunInfo> FindByCustomId(std::string_view custom) const;

  const std::string path_;
  const std::string key_;
  FileSystem* const fs_;
};

// A new time-ordered uuid: microseconds since the epoch in the high 64 bits (so uuids
// sort by creation), random bits below.
wal::RunId NewRunUuid();

}  // namespace runlog::engine
