// runlog-stress: the crash and power-loss stress driver (driver.cc explains it).
//
//   runlog-stress [--kills N] [--threads T] [--ops N] [--seed S] [--power-loss]
//                 [--repo DIR] [--report FILE] [--name NAME]
//
// Exit 0 when every acknowledged operation survived every kill and the reopened run always
// equalled the oracle; 1 with the failure, the seed and the kept repository otherwise; 2 for
// bad arguments. `runlog-stress child ...` is the child the driver executes.
#include <CLI/CLI.hpp>
#include <random>

#include "tools/stress/stress.h"

int main(int argc, char** argv) {
  using runlog::stress::ChildConfig;
  using runlog::stress::StressConfig;
  CLI::App app{"runlog-stress: kill -9 and power loss at random moments, checked by an oracle"};
  app.require_subcommand(0, 1);
  StressConfig c;
  c.seed = std::random_device{}();
  app.add_option("--kills", c.kills, "child lives, each ended by SIGKILL")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--threads", c.threads, "logging threads in the child")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--ops", c.ops_per_thread, "calls per thread per life")
      ->check(CLI::Range(1, 10000000))
      ->capture_default_str();
  app.add_option("--seed", c.seed, "replays a run's choices (default: random; printed)");
  app.add_flag("--power-loss", c.power_loss,
               "sync mode; after each kill drop what no sync covered");
  app.add_option("--repo", c.repo, "repository directory (default: a temporary one)");
  app.add_option("--report", c.report, "append the figures as one JSON line to this file");
  app.add_option("--name", c.name, "the run's name in output and report");

  ChildConfig child;
  CLI::App* sub = app.add_subcommand("child", "a child life (executed by the driver)");
  sub->add_option("--seed", child.seed)->required();
  sub->add_option("--threads", child.threads)->required();
  sub->add_option("--ops", child.ops_per_thread)->required();
  sub->add_option("--repo", child.repo)->required();
  sub->add_option("--journal", child.journal);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (sub->parsed()) runlog::stress::RunChild(child);
  return runlog::stress::RunDriver(c);
}
