// A repository: a directory of runs (DESIGN §3). Open it, then start, resume or read runs.
//
//   auto repo = runlog::Repository::Open("./tracking").value();
//   auto run = repo->StartRun({.name = "baseline"}).value();
//
// Thread safety: a Repository may be used from many threads, and many processes may open
// the same directory at once (run ids stay unique, custom run ids map to one run).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runlog/run.h"
#include "runlog/status.h"

namespace runlog {

class FileSystem;  // format/file_system.h
namespace engine {
class Repository;
}

struct RepositoryOptions {
  // Create the repository when the directory holds none. Default true.
  bool create_if_missing = true;
  // The sys/id prefix of a new repository ("RL" gives RL-1, RL-2, ...): 1-10 characters
  // A-Z, 0-9, starting with a letter. An existing repository keeps its own.
  std::string key = "RL";
  // The file layer under the repository's files and the runs' logs (format/file_system.h).
  // nullptr: the operating system's. Tests pass one that injects faults (disk full, EIO).
  FileSystem* file_system = nullptr;
};

// What the repository knows of a run without opening it.
struct RunListing {
  std::string sys_id;
  std::string uuid;  // 32 hex digits
  std::string custom_run_id;
  std::string dir;  // REPO/runs/<uuid>
};

class Repository {
 public:
  static Result<std::unique_ptr<Repository>> Open(const std::string& path,
                                                  const RepositoryOptions& options = {});
  ~Repository();
  Repository(const Repository&) = delete;
  Repository& operator=(const Repository&) = delete;

  // Starts a new run, resumes one (options.resume, options.custom_run_id) or, in read-only
  // mode, opens one for reading. A second writer of a run, in any process, gets RunLocked
  // naming the holder's pid. Opening a run first commits whatever its log holds beyond the
  // last commit (the state a crash left).
  Result<std::unique_ptr<Run>> StartRun(const RunOptions& options = {});

  // Every run, oldest first.
  Result<std::vector<RunListing>> ListRuns() const;

  const std::string& path() const;

 private:
  explicit Repository(std::unique_ptr<engine::Repository> impl);
  std::unique_ptr<engine::Repository> impl_;
};

}  // namespace runlog
