// The workloads of runlog-compare (the W1 ... W9), each a Google Benchmark named
// "<workload>/<system>", e.g. "W1/log_point/runlog" or "W8/durable_log/16/sqlite_ops".
// Every benchmark runs its workload once (Iterations(1), manual time): setup untimed, the
// timed part measured with a steady clock. Reported per benchmark:
//   items_per_second   points (or calls, or runs: see each workload) per second
//   bytes_per_point    bytes the system's files take on disk per point (0: not a write)
//   points             how many items the timed part handled
//   lost_points        W9: points acknowledged before the kill that the reopen did not find
#pragma once

#include <string>
#include <vector>

namespace runlog::compare {

struct Workload {
  std::string name;         // "W1/log_point"
  std::string description;  // one line, with the size at scale 1.0
};

// Every workload, in table order (W8 once per thread count).
const std::vector<Workload>& Workloads();

// The system names, in table order; runlog first.
const std::vector<std::string>& SystemNames();

// The settings line of the named system (System::settings()).
std::string SystemSettings(const std::string& system);

// Registers "<workload>/<system>" for every workload and system, at `scale` (1.0 = the
// issue's sizes).
void RegisterBenchmarks(double scale);

// W9's writer process: `runlog-compare --w9-writer SYSTEM DIR BYTES FD` logs 1,000-point
// calls until the system's files under DIR hold BYTES, reports the points logged on FD and
// kills itself with SIGKILL. Returns only on failure (exit code).
int RecoverWriterMain(const std::string& system, const std::string& dir, uint64_t bytes, int fd);

}  // namespace runlog::compare
