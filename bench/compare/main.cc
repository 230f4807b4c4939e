// runlog-compare: runlog beside the storage of the systems people use today, the same
// workloads run against each, one table of ratios measured in the same run.
//
//   runlog-compare [--workloads W1,W5,...] [--systems runlog,sqlite_rows,...] [--scale F]
//                  [--repetitions N] [--json FILE]
//
// Each benchmark (workload x system) runs in its own child process (this executable with
// --run-one NAME), so that one system's memory, threads and page cache leftovers do not
// count in the next one's figures and a crash costs one row. The child runs the benchmark
// through Google Benchmark and writes one JSON object to a pipe; the parent reads it, takes
// the child's peak resident size from wait4(), and prints the table: the median of
// --repetitions runs for items/s, the largest peak RSS.
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "bench/compare/store.h"
#include "bench/compare/workloads.h"

namespace runlog::compare {
namespace {

using nlohmann::json;

// What one child reports for its benchmark.
struct Row {
  std::string workload;
  std::string system;
  double items_per_second = 0;
  double bytes_per_point = 0;
  uint64_t peak_rss_bytes = 0;
  double lost_points = 0;                // W9
  double committed_bytes_per_point = 0;  // writes: without the system's log
  std::string error;                     // the benchmark's error, or how the child died
};

// Collects the one run of the filtered benchmark.
class CaptureReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      json& out = result_;
      if (run.error_occurred) {
        out["error"] = run.error_message;
        continue;
      }
      auto counter = [&](const char* name) {
        auto it = run.counters.find(name);
        return it == run.counters.end() ? 0.0 : static_cast<double>(it->second);
      };
      out["items_per_second"] = counter("items_per_second");
      out["bytes_per_point"] = counter("bytes_per_point");
      out["points"] = counter("points");
      out["lost_points"] = counter("lost_points");
      out["committed_bytes_per_point"] = counter("committed_bytes_per_point");
      out["seconds"] = run.real_accumulated_time / static_cast<double>(run.iterations);
    }
  }
  const json& result() const { return result_; }

 private:
  json result_ = json::object();
};

int RunOne(const std::string& name, double scale, int fd) {
  RegisterBenchmarks(scale);
  // Google Benchmark appends "/iterations:1/manual_time" to the registered name.
  std::string filter = "--benchmark_filter=^" + name + "(/iterations|$)";
  std::string arg0 = "runlog-compare";
  char* argv[] = {arg0.data(), filter.data(), nullptr};
  int argc = 2;
  benchmark::Initialize(&argc, argv);
  CaptureReporter reporter;
  const size_t ran = benchmark::RunSpecifiedBenchmarks(&reporter);
  json result = reporter.result();
  if (ran == 0) result["error"] = "no benchmark named " + name;
  const std::string text = result.dump();
  return ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) ? 0 : 3;
}

// Runs `name` in a child process; the row has the error when it failed.
Row RunChild(const std::string& workload, const std::string& system, double scale) {
  Row row{.workload = workload, .system = system};
  const bench::ChildProcess child = bench::RunSelf({"--run-one", workload + "/" + system, "--scale",
                                                    std::to_string(scale), "--result-fd", "{fd}"});
  row.peak_rss_bytes = child.peak_rss_bytes;
  if (!child.exited_ok()) {
    const int status = child.wait_status;
    row.error =
        WIFSIGNALED(status)
            ? "the benchmark process died of signal " + std::to_string(WTERMSIG(status))
            : "the benchmark process exited with status " + std::to_string(WEXITSTATUS(status));
    return row;
  }
  const std::string& text = child.report;
  json result = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (result.is_discarded()) {
    row.error = "the benchmark process reported nothing readable";
  } else if (result.contains("error")) {
    row.error = result["error"].get<std::string>();
  } else {
    row.items_per_second = result.value("items_per_second", 0.0);
    row.bytes_per_point = result.value("bytes_per_point", 0.0);
    row.lost_points = result.value("lost_points", 0.0);
    row.committed_bytes_per_point = result.value("committed_bytes_per_point", 0.0);
  }
  return row;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::string Human(double v) {
  char buf[32];
  if (v >= 1e9) {
    std::snprintf(buf, sizeof buf, "%.2f G", v / 1e9);
  } else if (v >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2f M", v / 1e6);
  } else if (v >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.1f k", v / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f", v);
  }
  return buf;
}

const Row* Find(const std::vector<Row>& rows, const std::string& workload,
                const std::string& system) {
  for (const Row& r : rows) {
    if (r.workload == workload && r.system == system && r.error.empty()) return &r;
  }
  return nullptr;
}

void PrintTable(const std::vector<Row>& rows, std::ostream& out) {
  char line[256];
  std::snprintf(line, sizeof line, "%-19s %-18s %12s %11s %10s %10s %12s\n", "workload", "system",
                "items/s", "bytes/point", "committed", "peak RSS", "runlog/this");
  out << line << std::string(98, '-') << "\n";
  for (const Row& r : rows) {
    if (!r.error.empty()) {
      out << r.workload << "  " << r.system << "  FAILED: " << r.error << "\n";
      continue;
    }
    const Row* base = Find(rows, r.workload, "runlog");
    std::string ratio = "-";
    if (base != nullptr && r.items_per_second > 0) {
      char b[32];
      std::snprintf(b, sizeof b, "%.2fx", base->items_per_second / r.items_per_second);
      ratio = b;
    }
    char bpp[32] = "-";
    if (r.bytes_per_point > 0) std::snprintf(bpp, sizeof bpp, "%.1f", r.bytes_per_point);
    char committed[32] = "-";
    if (r.committed_bytes_per_point > 0) {
      std::snprintf(committed, sizeof committed, "%.1f", r.committed_bytes_per_point);
    }
    char rss[32];
    std::snprintf(rss, sizeof rss, "%.0f MiB", static_cast<double>(r.peak_rss_bytes) / (1 << 20));
    std::snprintf(line, sizeof line, "%-19s %-18s %12s %11s %10s %10s %12s\n", r.workload.c_str(),
                  r.system.c_str(), Human(r.items_per_second).c_str(), bpp, committed, rss,
                  ratio.c_str());
    out << line;
    if (r.lost_points > 0) {
      out << "    ^ lost " << static_cast<uint64_t>(r.lost_points)
          << " acknowledged points with the process\n";
    }
  }
}

// The goals, checked on the rows present: "runlog W1 >= 10x jsonl_queue" etc.
struct Goal {
  std::string text;
  std::function<std::optional<double>(const std::vector<Row>&)> measure;  // the ratio
  double at_least;
};

std::optional<double> Ratio(const std::vector<Row>& rows, const std::string& a_workload,
                            const std::string& a_system, const std::string& b_workload,
                            const std::string& b_system) {
  const Row* a = Find(rows, a_workload, a_system);
  const Row* b = Find(rows, b_workload, b_system);
  if (a == nullptr || b == nullptr || b->items_per_second <= 0) return std::nullopt;
  return a->items_per_second / b->items_per_second;
}

std::vector<Goal> Goals() {
  auto speed = [](std::string w, std::string peer, double x) {
    return Goal{
        w + ": runlog >= " + std::to_string(x).substr(0, 4) + "x " + peer,
        [w, peer](const std::vector<Row>& rows) { return Ratio(rows, w, "runlog", w, peer); }, x};
  };
  std::vector<Goal> goals = {
      speed("W1/log_point", "jsonl_queue", 10),
      speed("W1/log_point", "sqlite_ops", 5),
      speed("W1/log_point", "tfrecord", 0.33),
      speed("W2/log_extend", "tfrecord", 1),
      speed("W5/read_series", "sqlite_rows", 20),
      speed("W5/read_series", "rocksdb_per_point", 6),
      speed("W7/runs_table", "rocksdb_per_point", 20),
  };
  goals.push_back(Goal{"W1/log_point: sqlite_rows / runlog committed bytes per point",
                       [](const std::vector<Row>& rows) -> std::optional<double> {
                         const Row* a = Find(rows, "W1/log_point", "runlog");
                         const Row* b = Find(rows, "W1/log_point", "sqlite_rows");
                         if (a == nullptr || b == nullptr || a->committed_bytes_per_point <= 0) {
                           return std::nullopt;
                         }
                         // runlog <= 0.2x sqlite_rows
                         return b->committed_bytes_per_point / a->committed_bytes_per_point;
                       },
                       5});
  goals.push_back(Goal{"W8: runlog 16 threads >= 8x runlog 1 thread",
                       [](const std::vector<Row>& rows) {
                         return Ratio(rows, "W8/durable_log/16", "runlog", "W8/durable_log/1",
                                      "runlog");
                       },
                       8});
  return goals;
}

void PrintGoals(const std::vector<Row>& rows, std::ostream& out) {
  out << "\ngoals (ratios from this run):\n";
  for (const Goal& g : Goals()) {
    std::optional<double> r = g.measure(rows);
    if (!r) continue;
    char line[160];
    std::snprintf(line, sizeof line, "  %-58s %8.2f  %s\n", g.text.c_str(), *r,
                  *r >= g.at_least ? "met" : "MISSED");
    out << line;
  }
}

// W1 selects every workload whose name starts with "W1/"; a full name selects itself.
bool Selected(const std::vector<std::string>& wanted, const std::string& workload) {
  if (wanted.empty()) return true;
  for (const std::string& w : wanted) {
    if (workload == w || workload.rfind(w + "/", 0) == 0) return true;
  }
  return false;
}

int Main(int argc, char** argv) {
  CLI::App app{
      "runlog-compare: runlog and the storage of the systems people use, side by side.\n"
      "Each workload runs against each system in its own process; the table shows items/s "
      "(median of the repetitions), bytes on disk per point, the peak resident size, and how "
      "many times faster runlog is."};
  std::string workloads_arg;
  std::string systems_arg;
  double scale = 1.0;
  int repetitions = 1;
  std::string json_path;
  std::string run_one;
  int result_fd = -1;
  std::vector<std::string> w9_writer;
  app.add_option("--workloads", workloads_arg,
                 "comma-separated workloads: W1,...,W9 or full names like W8/durable_log/16 "
                 "(default: all)");
  app.add_option("--systems", systems_arg,
                 "comma-separated systems (default: all): runlog, jsonl_queue, sqlite_ops, "
                 "sqlite_rows, tfrecord, rocksdb_per_point");
  app.add_option("--scale", scale,
                 "size of every workload: 1.0 = the full sizes, 0.1 = a quick look")
      ->check(CLI::Range(0.0001, 1000.0));
  app.add_option("--repetitions", repetitions, "runs of each benchmark (median reported)")
      ->check(CLI::Range(1, 100));
  app.add_option("--json", json_path, "also write the rows as a JSON list to FILE");
  bool list = false;
  app.add_flag("--list", list, "print the workloads and systems, then exit");
  app.add_option("--run-one", run_one)->group("");      // the child's benchmark
  app.add_option("--result-fd", result_fd)->group("");  // where the child reports
  app.add_option("--w9-writer", w9_writer)->expected(4)->group("");
  CLI11_PARSE(app, argc, argv);

  if (!w9_writer.empty()) {
    return RecoverWriterMain(w9_writer[0], w9_writer[1], std::stoull(w9_writer[2]),
                             std::stoi(w9_writer[3]));
  }
  if (!run_one.empty()) return RunOne(run_one, scale, result_fd);

  const std::vector<std::string> wanted_workloads = bench::SplitList(workloads_arg);
  std::vector<std::string> systems = bench::SplitList(systems_arg);
  if (systems.empty()) systems = SystemNames();
  for (const std::string& s : systems) {
    if (std::find(SystemNames().begin(), SystemNames().end(), s) == SystemNames().end()) {
      std::cerr << "runlog-compare: no system named '" << s << "'\n";
      return 2;
    }
  }
  for (const std::string& w : wanted_workloads) {
    bool any = false;
    for (const Workload& workload : Workloads()) any |= Selected({w}, workload.name);
    if (!any) {
      std::cerr << "runlog-compare: no workload named '" << w << "'\n";
      return 2;
    }
  }
  if (list) {
    for (const Workload& w : Workloads()) std::cout << w.name << "  " << w.description << "\n";
    for (const std::string& s : SystemNames()) std::cout << s << "\n";
    return 0;
  }

  std::cout << "runlog-compare at scale " << scale << " on " << std::thread::hardware_concurrency()
            << " CPUs, " << repetitions << " repetition(s)\n";
  for (const std::string& s : systems) {
    try {
      std::cout << "  " << s << ": " << SystemSettings(s) << "\n";
    } catch (const std::exception& e) {
      std::cout << "  " << s << ": " << e.what() << "\n";
    }
  }
  std::cout << std::flush;

  std::vector<Row> rows;
  for (const Workload& workload : Workloads()) {
    if (!Selected(wanted_workloads, workload.name)) continue;
    for (const std::string& system : systems) {
      if (workload.name == "W4/commit" && system != "runlog") continue;
      std::vector<double> rates;
      Row row;
      for (int rep = 0; rep < repetitions; ++rep) {
        Row one = RunChild(workload.name, system, scale);
        std::cerr << "  " << workload.name << "/" << system << ": "
                  << (one.error.empty() ? Human(one.items_per_second) + " items/s"
                                        : "FAILED: " + one.error)
                  << "\n";
        if (!one.error.empty()) {
          row = one;
          break;
        }
        rates.push_back(one.items_per_second);
        const uint64_t rss = std::max(row.peak_rss_bytes, one.peak_rss_bytes);
        row = one;
        row.peak_rss_bytes = rss;
      }
      if (row.error.empty()) row.items_per_second = Median(rates);
      rows.push_back(row);
    }
  }
  std::cout << "\n";
  PrintTable(rows, std::cout);
  PrintGoals(rows, std::cout);

  if (!json_path.empty()) {
    json out = json::array();
    for (const Row& r : rows) {
      json o = {{"workload", r.workload},
                {"system", r.system},
                {"items_per_second", r.items_per_second},
                {"bytes_per_point", r.bytes_per_point},
                {"peak_rss_bytes", r.peak_rss_bytes}};
      if (r.committed_bytes_per_point > 0) {
        o["committed_bytes_per_point"] = r.committed_bytes_per_point;
      }
      if (r.workload == "W9/recover") o["lost_points"] = r.lost_points;
      if (!r.error.empty()) o["error"] = r.error;
      out.push_back(o);
    }
    std::ofstream f(json_path);
    f << out.dump(2) << "\n";
    if (!f) {
      std::cerr << "runlog-compare: cannot write " << json_path << "\n";
      return 1;
    }
  }
  for (const Row& r : rows) {
    if (!r.error.empty()) return 1;
  }
  return 0;
}

}  // namespace
}  // namespace runlog::compare

int main(int argc, char** argv) {
  return runlog::compare::Main(argc, argv);
}
