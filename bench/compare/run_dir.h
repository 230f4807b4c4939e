// The directory of one run of a baseline that keeps a file or database per run.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace runlog::compare {

// <dir>/<run>, created when missing; throws naming `system` and the path when it cannot be.
inline std::filesystem::path MakeRunDir(const std::string& dir, const std::string& run,
                                        std::string_view system) {
  const std::filesystem::path run_dir = std::filesystem::path(dir) / run;
  std::error_code ec;
  std::filesystem::create_directories(run_dir, ec);
  if (ec) {
    throw std::runtime_error(std::string(system) + ": create " + run_dir.string() + ": " +
                             ec.message());
  }
  return run_dir;
}

}  // namespace runlog::compare
