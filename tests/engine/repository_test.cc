// Run identity: sys/id unique across processes, custom run ids resumed across processes.
#include "engine/repository.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "tests/util/temp_dir.h"
#include "tests/util/wal_fixtures.h"

namespace runlog::engine {
namespace {

std::unique_ptr<Repository> MustOpen(const std::string& path, RepositoryOptions o = {}) {
  auto r = Repository::Open(path, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(*r) : nullptr;
}

TEST(RepositoryTest, RunsGetDenseSysIdsAndTimeOrderedUuids) {
  test::TempDir tmp;
  RepositoryOptions o;
  o.key = "HELLO";
  auto repo = MustOpen(tmp.Sub("repo"), o);
  std::vector<RunInfo> runs;
  for (int i = 0; i < 5; ++i) {
    auto r = repo->CreateRun();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r->created);
    runs.push_back(*r);
  }
  for (int i = 0; i < 5; ++i) EXPECT_EQ(runs[i].sys_id, "HELLO-" + std::to_string(i + 1));
  for (int i = 1; i < 5; ++i) EXPECT_LT(runs[i - 1].uuid_hex, runs[i].uuid_hex);
  auto listed = repo->ListRuns();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 5u);
  EXPECT_EQ((*listed)[2].sys_id, "HELLO-3");
  // The key of an existing repository is its own.
  RepositoryOptions other;
  other.key = "OTHER";
  EXPECT_EQ(MustOpen(tmp.Sub("repo"), other)->key(), "HELLO");
}

TEST(RepositoryTest, RunsAreFoundBySysIdCustomIdOrUuid) {
  test::TempDir tmp;
  auto repo = MustOpen(tmp.path());
  auto a = repo->CreateRun({.custom_run_id = "sweep-7"});
  ASSERT_TRUE(a.ok());
  for (const std::string& id : {a->sys_id, std::string("sweep-7"), a->uuid_hex}) {
    auto found = repo->FindRun(id);
    ASSERT_TRUE(found.ok()) << id << ": " << found.status().ToString();
    EXPECT_EQ(found->uuid_hex, a->uuid_hex);
    EXPECT_EQ(found->custom_run_id, "sweep-7");
  }
  auto missing = repo->FindRun("RL-99");
  EXPECT_TRUE(missing.status().Is(Code::kNotFound));
  EXPECT_NE(missing.status().message().find("RL-99"), std::string::npos);
  // Hostile ids are names to look up, never paths.
  for (std::string_view id : {"../../etc/passwd", "RL-1/../../x", "", "/"}) {
    EXPECT_TRUE(repo->FindRun(id).status().Is(Code::kNotFound)) << id;
  }
}

TEST(RepositoryTest, ACustomIdIsResumedNotDuplicated) {
  test::TempDir tmp;
  auto repo = MustOpen(tmp.path());
  auto first = repo->CreateRun({.custom_run_id = "RL-1"});  // looks like a sys id: still custom
  ASSERT_TRUE(first.ok());
  auto second = repo->CreateRun({.custom_run_id = "RL-1"});
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->uuid_hex, first->uuid_hex);
  EXPECT_EQ(repo->ListRuns()->size(), 1u);
  std::string big(1025, 'x');
  EXPECT_TRUE(repo->CreateRun({.custom_run_id = big}).status().Is(Code::kInvalidArgument));
}

// Forks `n` children that each run `body` and exit 0 on success.
void InChildren(int n, const std::function<bool(int)>& body) {
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) _exit(body(i) ? 0 : 1);
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
}

TEST(RepositoryTest, SysIdsStayUniqueWhenProcessesCreateRunsAtOnce) {
  test::TempDir tmp;
  const std::string path = tmp.Sub("repo");
  constexpr int kProcs = 6, kRuns = 8;
  InChildren(kProcs, [&](int) {
    auto repo = Repository::Open(path);  // racing to create the repository too
    if (!repo.ok()) return false;
    for (int i = 0; i < kRuns; ++i) {
      if (!(*repo)->CreateRun().ok()) return false;
    }
    return true;
  });
  auto repo = MustOpen(path);
  auto runs = repo->ListRuns();
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  ASSERT_EQ(runs->size(), static_cast<size_t>(kProcs * kRuns));
  std::set<std::string> ids;
  for (const RunInfo& r : *runs) ids.insert(r.sys_id);
  EXPECT_EQ(ids.size(), runs->size());
  for (int n = 1; n <= kProcs * kRuns; ++n) EXPECT_TRUE(ids.count("RL-" + std::to_string(n)));
}

TEST(RepositoryTest, ProcessesResumingOrCreatingOneCustomIdGetOneRun) {
  test::TempDir tmp;
  const std::string path = tmp.Sub("repo");
  ASSERT_NE(MustOpen(path), nullptr);
  const std::string out = tmp.Sub("uuids");
  std::filesystem::create_directories(out);
  InChildren(8, [&](int i) {
    auto repo = Repository::Open(path);
    if (!repo.ok()) return false;
    auto run = (*repo)->CreateRun({.custom_run_id = "shared-sweep"});
    if (!run.ok()) return false;
    std::ofstream(out + "/" + std::to_string(i)) << run->uuid_hex;
    return true;
  });
  std::set<std::string> uuids;
  for (const auto& e : std::filesystem::directory_iterator(out)) {
    uuids.insert(test::ReadFile(e.path().string()));
  }
  EXPECT_EQ(uuids.size(), 1u);
  EXPECT_EQ(MustOpen(path)->ListRuns()->size(), 1u);
}

TEST(RepositoryTest, BadRepositoriesAndKeysAreClearErrors) {
  test::TempDir tmp;
  RepositoryOptions no_create;
  no_create.create_if_missing = false;
  EXPECT_TRUE(Repository::Open(tmp.Sub("none"), no_create).status().Is(Code::kNotFound));
  RepositoryOptions bad_key;
  bad_key.key = "lower";
  EXPECT_TRUE(Repository::Open(tmp.Sub("k"), bad_key).status().Is(Code::kInvalidArgument));
  std::filesystem::create_directories(tmp.Sub("junk"));
  test::WriteFile(tmp.Sub("junk/repository"), "not json");
  auto junk = Repository::Open(tmp.Sub("junk"));
  EXPECT_TRUE(junk.status().Is(Code::kCorruption)) << junk.status().ToString();
  EXPECT_NE(junk.status().message().find("junk/repository"), std::string::npos);
  std::filesystem::create_directories(tmp.Sub("future"));
  test::WriteFile(tmp.Sub("future/repository"), "{\"format\":9,\"key\":\"RL\"}");
  EXPECT_TRUE(Repository::Open(tmp.Sub("future")).status().Is(Code::kNotSupported));
}

TEST(RepositoryTest, ACrashDuringRunCreationLeavesNoRunItsIdsCannotFind) {
  test::TempDir tmp;
  auto repo = MustOpen(tmp.path());
  // The state a crash after the index entries but before the run directory leaves: the
  // entries point at a uuid with no run, and a half-made staging directory.
  const std::string ghost(32, 'a');
  test::WriteFile(tmp.Sub("index/sys/RL-1"), ghost + "\n");
  std::filesystem::create_directories(tmp.Sub("runs/.creating-" + ghost + "/wal"));
  auto custom = repo->CreateRun({.custom_run_id = "job-1"});
  ASSERT_TRUE(custom.ok()) << custom.status().ToString();
  // Point the custom id's entry at the ghost too, then resume-or-create: a new run, not an
  // error, and the entry is repaired.
  for (auto& e : std::filesystem::directory_iterator(tmp.Sub("index/custom"))) {
    if (e.path().filename().string()[0] != '.') test::WriteFile(e.path().string(), ghost + "\n");
  }
  auto again = repo->CreateRun({.custom_run_id = "job-1"});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->created);
  EXPECT_EQ(repo->FindRun("job-1")->uuid_hex, again->uuid_hex);
  EXPECT_TRUE(repo->FindRun(ghost).status().Is(Code::kNotFound));
  // Listing skips the staging directory.
  EXPECT_EQ(repo->ListRuns()->size(), 2u);
}

}  // namespace
}  // namespace runlog::engine
