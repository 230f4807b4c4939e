// runlog-stress: kill -9 and simulated power loss at random moments while a run logs every
// kind of operation, checked against an oracle kept outside the repository.
// tools/stress/driver.cc explains the whole; main.cc is the command line.
#pragma once

#include <cstdint>
#include <string>

namespace runlog::stress {

struct StressConfig {
  std::string name = "stress";  // in the report
  uint64_t seed = 0;
  int threads = 4;           // of the child
  int kills = 100;           // child lives, each ended by SIGKILL
  int ops_per_thread = 800;  // per child life: bounds the log's growth
  // Every life runs in sync mode, and after each kill the files lose what no sync covered.
  bool power_loss = false;
  std::string repo;    // the repository: a temporary one (kept on failure) when empty
  std::string report;  // a file the figures are appended to as one JSON line, or empty
};

// Runs the driver: 0 when every check held, 1 after a failure (printed with the seed).
int RunDriver(const StressConfig& config);

// A child life: logs into `repo` and reports to the driver through fd kChildPipeFd.
struct ChildConfig {
  uint64_t seed = 0;
  int threads = 1;
  int ops_per_thread = 0;
  std::string repo;
  std::string journal;  // power loss: where the durable state is journaled
};

[[noreturn]] void RunChild(const ChildConfig& config);

}  // namespace runlog::stress
