// What every benchmark binary in bench/ needs around the code it measures: scratch
// directories, disk usage, peak memory, a quiet disk, and a way to starve background threads.
#pragma once

#include <sched.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace runlog::bench {

using Clock = std::chrono::steady_clock;

inline double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}
inline double Millis(Clock::duration d) {
  return Seconds(d) * 1e3;
}

// A training curve every benchmark logs: float32 losses decaying from 2.5 with a little
// noise (what the series codec sees in practice; ~5.7 B/point in a chunk),
// kTrainingCurvePoints values, built once.
constexpr size_t kTrainingCurvePoints = 1 << 20;
const std::vector<double>& TrainingCurve();

// "a,b,,c" -> {"a", "b", "c"}: a comma-separated command-line list.
std::vector<std::string> SplitList(const std::string& list);

// A fresh directory under /tmp (runlog_<tag>.XXXXXX), removed with everything in it on
// destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "bench");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Flushes the dirty data earlier benchmarks (and their directory removals) left behind, so
// that its write-back does not land in the next timed region. Call outside timed code.
void QuiesceDisk();

// Blocks allocated to the regular files under `dir` (what `du` reports), 0 when missing.
// With `suffix`, only files whose name ends with it (".sst": RocksDB's tables).
uint64_t DiskBytes(const std::string& dir, const std::string& suffix = "");
// The same over the files `keep` accepts.
uint64_t DiskBytesIf(const std::string& dir, const std::function<bool(const std::string&)>& keep);

// getrusage()'s ru_maxrss of this process, in bytes.
uint64_t PeakRssBytes();
// Resets the kernel's resident-size high-water mark of this process (Linux >= 4.0,
// /proc/self/clear_refs), so that BenchRssBytes() reports the peak since the reset alone.
void ResetBenchRss();
// VmHWM: the peak resident size since the last ResetBenchRss(), in bytes. Counts
// file-backed pages too (mmapped WAL segments).
uint64_t BenchRssBytes();

// What a child process left: the bytes it wrote to its report pipe, how it ended, and its
// peak resident size.
struct ChildProcess {
  std::string report;
  int wait_status = 0;  // waitpid()'s
  uint64_t peak_rss_bytes = 0;

  bool killed_by(int signal) const;
  bool exited_ok() const;
};

// Runs this executable (/proc/self/exe: fork + exec at once, since RocksDB is not
// fork-safe) with `args`, each "{fd}" in them replaced by the number of a pipe the child
// may write its report to, and waits for it. Throws when the pipe or fork fails.
ChildProcess RunSelf(const std::vector<std::string>& args);

// While it lives, the other threads of this process (a run's committer among them) run only
// when the calling thread does not: every thread is pinned to the caller's CPU and the
// others are put under SCHED_IDLE. The way to build an uncommitted backlog through the
// public API. The destructor puts every thread back under SCHED_OTHER with the process's
// original CPU mask (root, or CAP_SYS_NICE, is needed for that).
class StarveOtherThreads {
 public:
  StarveOtherThreads();
  ~StarveOtherThreads() noexcept(false);
  StarveOtherThreads(const StarveOtherThreads&) = delete;
  StarveOtherThreads& operator=(const StarveOtherThreads&) = delete;

 private:
  static std::vector<pid_t> Threads();
  cpu_set_t original_;
};

}  // namespace runlog::bench
