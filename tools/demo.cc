// runlog-demo: a simulated training run logged into a local repository through the public
// API, then read back. Usage: runlog-demo [REPO] (default ./demo-repo).
//
// It starts a run (uuid, sys/id), logs parameters, tags, a loss curve per step, an accuracy
// per epoch and text notes, shows the type rules at work (a rejected write), stops the run
// and reads everything back from the committed store.

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>

#include "runlog/runlog.h"

namespace {

double Ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since)
      .count();
}

}  // namespace

int main(int argc, char** argv) try {
  const std::string repo_path = argc > 1 ? argv[1] : "./demo-repo";
  constexpr int kEpochs = 5, kStepsPerEpoch = 20000;

  auto repo = runlog::Repository::Open(repo_path).value();
  auto run = repo->StartRun({.name = "demo", .tags = {"demo", "baseline"}}).value();
  std::printf("runlog demo: run %s (%s) in %s\n", run->sys_id().c_str(), run->uuid().c_str(),
              repo_path.c_str());

  auto start = std::chrono::steady_clock::now();
  auto params = (*run)["params"];
  params["learning_rate"] = 0.005;
  params["batch_size"] = 64;
  params["activation"] = "ReLU";
  std::mt19937 rng(42);
  std::normal_distribution<double> noise(0, 0.02);
  int step = 0;
  for (int epoch = 1; epoch <= kEpochs; ++epoch) {
    for (int i = 0; i < kStepsPerEpoch; ++i, ++step) {
      (*run)["train/loss"].Append(2.5 * std::exp(-step / 30000.0) + noise(rng));
    }
    (*run)["eval/accuracy"].Append(1.0 - 0.5 * std::exp(-epoch / 2.0));
    (*run)["monitoring/notes"].Append("epoch " + std::to_string(epoch) + " done");
  }
  const double log_ms = Ms(start);
  std::printf("  logged %d points in %.1f ms: %.2f M calls/s (each acknowledged in the log)\n",
              step + 2 * kEpochs, log_ms, (step + 2 * kEpochs) / log_ms / 1000.0);

  // A field's type is fixed by its first write.
  auto rejected = run->AssignString("params/learning_rate", "fast");
  std::printf("  rejected as it should be: %s\n", rejected.status().ToString().c_str());

  start = std::chrono::steady_clock::now();
  runlog::Status stopped = run->Stop();  // commits the backlog, flushes RocksDB, closes
  if (!stopped.ok()) throw runlog::Error(stopped);
  std::printf("  stopped (commit caught up, store flushed) in %.1f ms\n", Ms(start));

  start = std::chrono::steady_clock::now();
  auto loss = run->FetchValues("train/loss").value();
  const double read_ms = Ms(start);
  auto last = run->FetchLast("train/loss").value();
  std::printf("  read %zu loss points back in %.2f ms; last %.4f at step %.0f, min %.4f\n",
              loss.size(), read_ms, last.last, last.last_step, last.min);
  std::printf("  params/activation = %s\n",
              (*run)["params/activation"].Fetch<std::string>().value().c_str());
  std::printf("\n  structure:\n");
  if (runlog::Status s = run->PrintStructure(std::cout); !s.ok()) throw runlog::Error(s);
  std::printf("\n  look inside:  build/runlog show %s %s\n", repo_path.c_str(),
              run->sys_id().c_str());
  std::printf("                build/runlog fetch %s %s train/loss --json --limit 3\n",
              repo_path.c_str(), run->sys_id().c_str());
  std::printf("                build/runlog wal dump %s/runs/%s | tail -3\n", repo_path.c_str(),
              run->uuid().c_str());
  return 0;
} catch (const runlog::Error& e) {
  std::fprintf(stderr, "runlog-demo: %s\n", e.what());
  return 1;
}
