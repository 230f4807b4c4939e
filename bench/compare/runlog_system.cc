// runlog itself in runlog-compare, through its public API only (include/runlog/runlog.h),
// with its default options: a repository in the workload's directory, one run per Store
// (the run's custom id is the Store's run name), async mode (kBuffered: acknowledged once
// in the log, fsync every second, committed to RocksDB in the background) or sync mode
// (kSynced: each call returns once its record is fsynced and committed). Flush() is
// Run::Wait(): every point committed and readable by any reader.
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/compare/store.h"
#include "runlog/runlog.h"

namespace runlog::compare {
namespace {

void Check(const Status& status, std::string_view what) {
  if (!status.ok()) throw Error(status.WithContext(std::string(what)));
}

template <typename T>
T Get(Result<T> result, std::string_view what) {
  Check(result.status(), what);
  return std::move(result).value();
}

class RunlogStore : public Store {
 public:
  RunlogStore(std::shared_ptr<Repository> repo, std::unique_ptr<Run> run)
      : repo_(std::move(repo)), run_(std::move(run)) {}
  ~RunlogStore() override = default;  // Run's destructor stops the run

  void AssignFloat(std::string_view path, double value) override {
    Check(run_->AssignFloat(path, value).status(), path);
  }
  void AssignInt(std::string_view path, int64_t value) override {
    Check(run_->AssignInt(path, value).status(), path);
  }
  void AssignString(std::string_view path, std::string_view value) override {
    Check(run_->AssignString(path, value).status(), path);
  }
  void LogFloat(std::string_view path, const Point& point) override {
    Check(
        run_->Append(path, point.value,
                     {.step = static_cast<double>(point.step), .timestamp_us = point.timestamp_us})
            .status(),
        path);
  }
  void LogFloats(std::string_view path, std::span<const Point> points) override {
    // Extend takes columns; the caller's rows are converted in reused buffers.
    values_.resize(points.size());
    steps_.resize(points.size());
    timestamps_.resize(points.size());
    for (size_t i = 0; i < points.size(); ++i) {
      values_[i] = points[i].value;
      steps_[i] = static_cast<double>(points[i].step);
      timestamps_[i] = points[i].timestamp_us;
    }
    Check(run_->Extend(path, values_, steps_, timestamps_).status(), path);
  }
  void LogString(std::string_view path, int64_t step, std::string_view value,
                 int64_t timestamp_us) override {
    Check(run_->AppendString(path, value,
                             {.step = static_cast<double>(step), .timestamp_us = timestamp_us})
              .status(),
          path);
  }
  void AddStrings(std::string_view path, std::span<const std::string> values) override {
    Check(run_->AddStrings(path, values).status(), path);
  }
  void Flush() override { Check(run_->Wait(), "wait for the commit"); }

  std::vector<Point> ReadSeries(std::string_view path, int64_t from_step,
                                int64_t to_step) override {
    if (to_step <= from_step) return {};
    // runlog's ranges are inclusive; steps here are integers.
    Result<SeriesValues> got = run_->FetchValues(
        path, {.from = static_cast<double>(from_step), .to = static_cast<double>(to_step - 1)});
    if (got.status().code() == Code::kNotFound) return {};
    SeriesValues values = Get(std::move(got), path);
    std::vector<Point> points;
    points.reserve(values.floats.size());
    for (const FloatPoint& p : values.floats) {
      points.push_back(
          {.step = static_cast<int64_t>(p.step), .value = p.value, .timestamp_us = p.timestamp_us});
    }
    return points;
  }
  Point ReadLast(std::string_view path) override {
    SeriesSummary last = Get(run_->FetchLast(path), path);
    if (last.count == 0) throw std::runtime_error(std::string(path) + ": empty series");
    return {.step = static_cast<int64_t>(last.last_step),
            .value = last.last,
            .timestamp_us = last.last_timestamp_us};
  }
  double ReadFloat(std::string_view path) override {
    return Get((*run_)[path].Fetch<double>(), path);
  }

 private:
  std::shared_ptr<Repository> repo_;
  std::unique_ptr<Run> run_;
  std::vector<double> values_;
  std::vector<double> steps_;
  std::vector<int64_t> timestamps_;
};

class RunlogSystem : public System {
 public:
  std::string name() const override { return "runlog"; }

  std::unique_ptr<Store> Create(const std::string& dir, const std::string& run,
                                const StoreOptions& options) override {
    RunOptions ro;
    ro.mode = options.durability == Durability::kSynced ? Mode::kSync : Mode::kAsync;
    ro.custom_run_id = run;
    return Start(dir, ro);
  }

  std::unique_ptr<Store> Open(const std::string& dir, const std::string& run) override {
    RunOptions ro;
    ro.mode = Mode::kReadOnly;
    ro.resume = run;
    return Start(dir, ro);
  }

  bool IsLogFile(const std::string& path) const override {
    return path.find("/wal/") != std::string::npos;
  }

  std::string settings() const override {
    return "runlog defaults: async mode (fsync every 1 s, commit in the background), sync "
           "mode for synced writes; 16 MiB segments, 65,536-record commit batches, "
           "1,024-point chunks";
  }

 private:
  std::unique_ptr<Store> Start(const std::string& dir, const RunOptions& options) {
    // W7 opens 10,000 runs in one repository: the Repository is opened once per directory.
    std::shared_ptr<Repository> repo;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (repo_ == nullptr || repo_dir_ != dir) {
        repo_ = Get(Repository::Open(dir), "open the repository " + dir);
        repo_dir_ = dir;
      }
      repo = repo_;
    }
    std::unique_ptr<Run> run = Get(repo->StartRun(options), "start run " + options.custom_run_id +
                                                                options.resume + " in " + dir);
    return std::make_unique<RunlogStore>(std::move(repo), std::move(run));
  }

  std::mutex mu_;
  std::shared_ptr<Repository> repo_;
  std::string repo_dir_;
};

}  // namespace

std::unique_ptr<System> MakeRunlogSystem() {
  return std::make_unique<RunlogSystem>();
}

}  // namespace runlog::compare
