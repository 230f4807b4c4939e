// runlog: the command-line interface. Thin over the public APIs: parse, call, print.
#include <cstdio>
#include <iostream>

#include "tools/cli.h"

namespace runlog::cli {

int Fail(const Status& status) {
  std::fprintf(stderr, "runlog: %s\n", status.ToString().c_str());
  if (IsRuleViolation(status.code())) return kExitRejected;
  switch (status.code()) {
    case Code::kNotFound: return kExitNotFound;
    case Code::kInvalidArgument: return kExitUsage;
    default: return kExitIoOrCorruption;
  }
}

}  // namespace runlog::cli

int main(int argc, char** argv) {
  using namespace runlog::cli;
  CLI::App app{"runlog: a crash-safe storage engine for experiment-tracking metadata"};
  app.require_subcommand(1);
  int exit_code = kExitOk;
  AddWalCommands(app, &exit_code);
  AddLogCommand(app, &exit_code);
  AddReadCommands(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::cout << app.help();
    return kExitOk;
  } catch (const CLI::CallForAllHelp& e) {
    std::cout << app.help("", CLI::AppFormatMode::All);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      app.exit(e);
      return kExitOk;
    }
    std::fprintf(stderr, "runlog: usage: %s\nRun with --help for usage.\n", e.what());
    return kExitUsage;
  }
  return exit_code;
}
