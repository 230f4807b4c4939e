// runlog-compare as a user runs it: a small scale, a few workloads, every system; the JSON
// it writes must hold one row per (workload, system) with real figures, and bad arguments
// must be refused.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "tests/util/temp_dir.h"

namespace runlog::compare {
namespace {

int RunCompare(const std::string& args, std::string* out) {
  const std::string cmd = std::string(RUNLOG_COMPARE_BINARY) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out->append(buf, n);
  const int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(CompareDriver, WritesOneRowPerWorkloadAndSystemWithFigures) {
  test::TempDir tmp;
  const std::string json_path = tmp.Sub("rows.json");
  std::string out;
  ASSERT_EQ(RunCompare("--scale 0.001 --workloads W1,W5/read_range,W8/durable_log/4,W9 --json " +
                           json_path,
                       &out),
            0)
      << out;
  std::ifstream in(json_path);
  const nlohmann::json rows = nlohmann::json::parse(in);
  ASSERT_TRUE(rows.is_array());
  const std::set<std::string> systems = {"runlog",      "jsonl_queue", "sqlite_ops",
                                         "sqlite_rows", "tfrecord",    "rocksdb_per_point"};
  std::map<std::string, std::set<std::string>> seen;
  for (const nlohmann::json& row : rows) {
    ASSERT_FALSE(row.contains("error")) << row.dump();
    const std::string workload = row.at("workload");
    const std::string system = row.at("system");
    EXPECT_TRUE(systems.count(system)) << system;
    EXPECT_GT(row.at("items_per_second").get<double>(), 0) << row.dump();
    EXPECT_GT(row.at("peak_rss_bytes").get<double>(), 1 << 20) << row.dump();
    if (workload != "W5/read_range") {
      EXPECT_GT(row.at("bytes_per_point").get<double>(), 0) << row.dump();
    }
    seen[workload].insert(system);
  }
  for (const char* w : {"W1/log_point", "W5/read_range", "W8/durable_log/4", "W9/recover"}) {
    EXPECT_EQ(seen[w], systems) << w;
  }
  // The table names every system and the ratio column.
  EXPECT_NE(out.find("runlog/this"), std::string::npos) << out;
  EXPECT_NE(out.find("rocksdb_per_point"), std::string::npos) << out;
}

TEST(CompareDriver, RefusesUnknownWorkloadsAndSystems) {
  std::string out;
  EXPECT_EQ(RunCompare("--workloads W42", &out), 2);
  EXPECT_NE(out.find("no workload named 'W42'"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(RunCompare("--systems postgres", &out), 2);
  EXPECT_NE(out.find("no system named 'postgres'"), std::string::npos) << out;
  out.clear();
  EXPECT_NE(RunCompare("--scale -1", &out), 0);
}

}  // namespace
}  // namespace runlog::compare
