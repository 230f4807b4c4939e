// kill -9 at random moments: a child process appends records and reports each acknowledged
// LSN through a pipe; the parent kills it, then checks that every acknowledged record is
// in the log, intact, with dense LSNs, and that the next writer continues cleanly. The
// seed is printed; RUNLOG_CRASH_SEED=<n> reproduces a run.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <thread>

#include "format/wal_reader.h"
#include "format/wal_writer.h"
#include "tests/util/temp_dir.h"
#include "tests/util/wal_fixtures.h"

namespace runlog::wal {
namespace {

// What the child reports for each acknowledged append: the LSN and the record's content.
struct Ack {
  Lsn lsn;
  size_t path_size;
  int64_t value;
  char path[32];
};

struct CrashConfig {
  const char* name;
  Durability durability;
  int threads;
  int kills;
  int per_thread;  // appends per thread per child life: bounds the log's growth
};

// Runs in the child: append until killed. Never returns.
[[noreturn]] void ChildAppends(const std::string& dir, const CrashConfig& cfg, int out_fd,
                               uint64_t seed) {
  WriterOptions o = test::SmallLogOptions(256 << 10);  // rolls every ~2,700 records
  o.durability = cfg.durability;
  o.sync_interval = std::chrono::milliseconds(2);
  auto w = Writer::Open(dir, o);
  if (!w.ok()) {
    std::fprintf(stderr, "child: %s\n", w.status().ToString().c_str());
    _exit(3);
  }
  Writer* writer = w->get();
  auto work = [&](int t) {
    RecordBuilder rb;
    const std::string path = "t" + std::to_string(t) + "/" + std::to_string(seed % 1000);
    // Bounded so the log stays small across hundreds of kills.
    for (int64_t i = 0; i < cfg.per_thread; ++i) {
      auto lsn =
          writer->Append(static_cast<uint16_t>(RecordType::AssignInt), rb.AssignInt(path, i));
      if (!lsn.ok()) _exit(4);
      Ack ack{*lsn, path.size(), i, {}};
      std::memcpy(ack.path, path.data(), path.size());
      if (::write(out_fd, &ack, sizeof ack) != sizeof ack) _exit(5);  // atomic: < PIPE_BUF
    }
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < cfg.threads; ++t) threads.emplace_back(work, t);
  work(0);
  for (auto& th : threads) th.join();
  for (;;) pause();
}

class WalCrashTest : public ::testing::TestWithParam<CrashConfig> {};

TEST_P(WalCrashTest, EveryAcknowledgedRecordSurvivesKill9) {
  const CrashConfig& cfg = GetParam();
  uint64_t seed = std::random_device{}();
  if (const char* s = std::getenv("RUNLOG_CRASH_SEED")) seed = std::strtoull(s, nullptr, 10);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (RUNLOG_CRASH_SEED reproduces)");
  std::mt19937_64 rng(seed);
  test::TempDir tmp;
  const std::string dir = tmp.Sub("wal");
  std::map<Lsn, std::pair<std::string, int64_t>> acked;
  int killed_mid_run = 0, killed_before_first_ack = 0;
  for (int kill = 0; kill < cfg.kills; ++kill) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      ChildAppends(dir, cfg, fds[1], rng());
    }
    close(fds[1]);
    // Kill at a random moment. Most kills wait for a random number of acknowledgements,
    // so they land mid-run whatever the machine's speed; some land at a random time from
    // the start, during the writer's recovery or its first appends.
    const size_t total = static_cast<size_t>(cfg.per_thread) * cfg.threads;
    const bool early = rng() % 8 == 0;
    const size_t target = early ? 0 : 1 + rng() % (total * 9 / 10);
    if (early) {
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
      ::kill(pid, SIGKILL);
    }
    Ack ack;
    size_t got_now = 0;
    while (::read(fds[0], &ack, sizeof ack) == sizeof ack) {
      ASSERT_TRUE(
          acked.emplace(ack.lsn, std::pair(std::string(ack.path, ack.path_size), ack.value)).second)
          << "LSN " << ack.lsn << " acknowledged twice";
      if (++got_now == target) ::kill(pid, SIGKILL);
    }
    close(fds[0]);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
    killed_mid_run += got_now > 0 && got_now < total;
    killed_before_first_ack += got_now == 0;

    // What a reader finds now: dense LSNs, every record intact, nothing acknowledged lost.
    test::LogContents log = test::ReadLog(dir);
    // An early kill in the first life can land before the child created the log.
    if (log.status.Is(Code::kNotFound) && acked.empty()) continue;
    ASSERT_TRUE(log.status.ok()) << "after kill " << kill << ": " << log.status.ToString();
    for (size_t i = 0; i < log.lsns.size(); ++i) ASSERT_EQ(log.lsns[i], i + 1);
    if (!acked.empty()) {
      ASSERT_GE(log.lsns.size(), acked.rbegin()->first) << "after kill " << kill;
    }
  }
  // A clean open and close, then a strict read: every acknowledged record holds exactly
  // what was acknowledged.
  {
    auto w = Writer::Open(dir, test::SmallLogOptions(256 << 10));
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    ASSERT_TRUE((*w)->Close().ok());
  }
  ReaderOptions strict;
  strict.mode = RecoveryMode::kStrict;
  auto reader = Reader::Open(dir, strict);
  ASSERT_TRUE(reader.ok());
  Record rec;
  size_t records = 0, matched = 0;
  for (;;) {
    auto more = (*reader)->Next(&rec);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    if (!*more) break;
    ASSERT_EQ(rec.lsn, ++records);
    auto it = acked.find(rec.lsn);
    if (it == acked.end()) continue;  // appended, killed before the acknowledgement
    auto* op = PayloadAs<AssignInt>(rec.payload);
    ASSERT_EQ(op->path()->str(), it->second.first) << "LSN " << rec.lsn;
    ASSERT_EQ(op->value(), it->second.second) << "LSN " << rec.lsn;
    ++matched;
  }
  ASSERT_EQ(matched, acked.size());
  EXPECT_GT(killed_mid_run, cfg.kills / 2) << "kills should mostly land while appending";
  std::printf(
      "[%s] %d kills (%d mid-run, %d before the first ack), %zu acknowledged records, "
      "%zu in the log\n",
      cfg.name, cfg.kills, killed_mid_run, killed_before_first_ack, acked.size(), records);
}

// 210 kills in all.
INSTANTIATE_TEST_SUITE_P(
    Modes, WalCrashTest,
    ::testing::Values(CrashConfig{"none", Durability::kNone, 1, 60, 4000},
                      CrashConfig{"interval", Durability::kInterval, 1, 60, 4000},
                      CrashConfig{"interval_4_threads", Durability::kInterval, 4, 50, 4000},
                      CrashConfig{"sync_4_threads", Durability::kSync, 4, 40, 200}),
    [](const ::testing::TestParamInfo<CrashConfig>& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace runlog::wal
