#include "bench/bench_util.h"

#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace runlog::bench {

const std::vector<double>& TrainingCurve() {
  static const auto* curve = [] {
    auto* v = new std::vector<double>(kTrainingCurvePoints);
    std::mt19937_64 rng(42);
    std::normal_distribution<float> noise(0, 0.02f);
    for (size_t i = 0; i < v->size(); ++i) {
      (*v)[i] =
          static_cast<double>(2.5f * std::exp(-static_cast<float>(i) / 300000.f) + noise(rng));
    }
    return v;
  }();
  return *curve;
}

std::vector<std::string> SplitList(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

TempDir::TempDir(const std::string& tag) {
  std::string name = "/tmp/runlog_" + tag + ".XXXXXX";
  if (::mkdtemp(name.data()) == nullptr) throw std::runtime_error("mkdtemp " + name + " failed");
  path_ = name;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void QuiesceDisk() {
  ::sync();
}

uint64_t DiskBytes(const std::string& dir, const std::string& suffix) {
  return DiskBytesIf(dir, [&](const std::string& path) { return path.ends_with(suffix); });
}

uint64_t DiskBytesIf(const std::string& dir, const std::function<bool(const std::string&)>& keep) {
  std::error_code ec;
  uint64_t total = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    const std::string path = it->path().string();
    if (!keep(path)) continue;
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      total += static_cast<uint64_t>(st.st_blocks) * 512;
    }
  }
  return total;
}

uint64_t PeakRssBytes() {
  struct rusage usage {};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // KiB on Linux
}

void ResetBenchRss() {
  std::ofstream("/proc/self/clear_refs") << "5";
}

uint64_t BenchRssBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
  }
  return 0;
}

bool ChildProcess::killed_by(int signal) const {
  return WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == signal;
}

bool ChildProcess::exited_ok() const {
  return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
}

ChildProcess RunSelf(const std::vector<std::string>& args) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> full = {"/proc/self/exe"};
  for (const std::string& a : args) full.push_back(a == "{fd}" ? std::to_string(fds[1]) : a);
  std::vector<char*> argv;
  for (std::string& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {  // only async-signal-safe calls until exec
    ::close(fds[0]);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    throw std::runtime_error("fork failed");
  }
  ChildProcess child;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) {
    child.report.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  struct rusage usage {};
  ::wait4(pid, &child.wait_status, 0, &usage);
  child.peak_rss_bytes = static_cast<uint64_t>(usage.ru_maxrss) * 1024;
  return child;
}

StarveOtherThreads::StarveOtherThreads() {
  if (::sched_getaffinity(0, sizeof original_, &original_) != 0) {
    throw std::runtime_error("sched_getaffinity failed");
  }
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(::sched_getcpu(), &one);
  const pid_t self = ::gettid();
  for (pid_t tid : Threads()) {
    (void)::sched_setaffinity(tid, sizeof one, &one);  // a thread may have exited
    const sched_param param{};
    if (tid != self) (void)::sched_setscheduler(tid, SCHED_IDLE, &param);
  }
}

StarveOtherThreads::~StarveOtherThreads() noexcept(false) {
  bool ok = true;
  for (pid_t tid : Threads()) {  // threads started meanwhile inherited SCHED_IDLE too
    const sched_param param{};
    if (::sched_getscheduler(tid) == SCHED_IDLE) {
      ok &= ::sched_setscheduler(tid, SCHED_OTHER, &param) == 0;
    }
    (void)::sched_setaffinity(tid, sizeof original_, &original_);
  }
  if (!ok) throw std::runtime_error("restoring SCHED_OTHER failed: needs CAP_SYS_NICE");
}

std::vector<pid_t> StarveOtherThreads::Threads() {
  std::vector<pid_t> tids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    tids.push_back(static_cast<pid_t>(std::stol(entry.path().filename().string())));
  }
  return tids;
}

}  // namespace runlog::bench
