// jsonl_queue: the disk queue of Neptune's 1.x Python client (neptune-client,
// neptune/core/components/queue/disk_queue.py), the store a run's operations go through before
// they are sent to the server, and the data `neptune sync` replays after a crash.
//
// On disk, per run (`<dir>/<run>/`, Neptune's `.neptune/async/run__<id>/exec-<ts>/`):
//   data-<first version>.log  one JSON object per operation and line, as DiskQueue.put writes it:
//       {"obj": {"type": "LogFloats", "path": ["metrics", "loss"],
//                "values": [{"value": 0.5, "step": 3, "ts": 1700000000.123}]},
//        "version": 7, "at": 1700000000.124}
//     with json.dumps' default separators (", " and ": ") and ensure_ascii. A new file starts
//     when the current one would pass 64 MiB (DiskQueue's max_file_size).
//   last_put_version  the last version written, rewritten after every operation (seek(0),
//     write, truncate, flush: Neptune's SyncOffsetFile); last_ack_version stays empty, as no
//     server acknowledges anything here.
// Operations are the client's: AssignFloat/AssignInt/AssignString, LogFloats (points in
// batches of 100, FloatSeries.max_batch_size; a single point is a LogFloats of one), LogStrings,
// AddStrings. `ts` is float seconds like time.time(); a microsecond timestamp survives the trip
// for any date before 2106 (2^32 s: a double's spacing there is under 1 us, so us / 1e6 written
// with the shortest round-trip digits and read back gives llround(ts * 1e6) == us; checked over
// 5 million random timestamps per 10^9 s; later dates lose microseconds, as Neptune does).
//
// Settings, Neptune's own (it has no knobs for them): the data file is written through an
// 8 KiB user-space buffer (Python's io.DEFAULT_BUFFER_SIZE) that is flushed to the OS when full
// and at Flush() (the client's consumer thread flushes it every few seconds); nothing is
// fsynced. A SIGKILL therefore loses whatever sat in that buffer, as it does in Neptune.
// kSynced (W8; Neptune has no such mode for its queue) flushes and fdatasyncs the data file
// before each call returns. One mutex serializes calls, as the client's container lock does.
//
// Reads: a disk queue has no index. System::Open replays the queue: it parses every line of
// every data file in order (nlohmann::json::parse) into in-memory state, as a client replaying
// its queue does, and every read after that is served from that state; Open's time is the
// recovery cost. A writer's read flushes and replays the files the same way (cached until the
// next write). A torn last line (a kill mid-write) is skipped; an unparsable line followed by
// more data is corruption and Open throws.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bench/compare/store.h"

namespace runlog::compare {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;  // keeps Python's key order: obj, version, at

constexpr uint64_t kMaxFileSize = 64ull << 20;  // DiskQueue's max_file_size
constexpr size_t kWriteBuffer = 8192;           // Python's io.DEFAULT_BUFFER_SIZE
constexpr size_t kFloatBatch = 100;             // FloatSeries.max_batch_size
constexpr size_t kReadChunk = 1 << 20;

[[noreturn]] void Fail(const std::string& what, const std::string& path) {
  throw std::runtime_error("jsonl_queue: " + what + ": " + path + ": " + std::strerror(errno));
}

std::string DataFileName(int64_t first_version) {
  return "data-" + std::to_string(first_version) + ".log";
}

// The run's data files in version order.
std::vector<std::pair<int64_t, fs::path>> DataFiles(const fs::path& run_dir) {
  std::vector<std::pair<int64_t, fs::path>> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(run_dir)) {
    const std::string name = entry.path().filename().string();
    if (name.size() <= 9 || !name.starts_with("data-") || !name.ends_with(".log")) continue;
    files.emplace_back(std::stoll(name.substr(5, name.size() - 9)), entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

double SecondsFromMicros(int64_t us) {
  return static_cast<double>(us) / 1e6;
}
int64_t MicrosFromSeconds(double seconds) {
  return std::llround(seconds * 1e6);
}

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Json SplitPath(std::string_view path) {
  Json parts = Json::array();
  size_t begin = 0;
  while (true) {
    const size_t slash = path.find('/', begin);
    parts.push_back(std::string(path.substr(begin, slash - begin)));
    if (slash == std::string_view::npos) break;
    begin = slash + 1;
  }
  return parts;
}

std::string JoinPath(const Json& parts) {
  std::string path;
  for (const Json& part : parts) {
    if (!path.empty()) path += '/';
    path += part.get_ref<const std::string&>();
  }
  return path;
}

// json.dumps(obj) with Python's defaults: ", " and ": " separators, ASCII-only output.
void DumpLikePython(const Json& j, std::string& out) {
  if (j.is_object()) {
    out += '{';
    bool first = true;
    for (const auto& [key, value] : j.items()) {
      if (!first) out += ", ";
      first = false;
      out += Json(key).dump(-1, ' ', true);
      out += ": ";
      DumpLikePython(value, out);
    }
    out += '}';
  } else if (j.is_array()) {
    out += '[';
    for (size_t i = 0; i < j.size(); ++i) {
      if (i > 0) out += ", ";
      DumpLikePython(j[i], out);
    }
    out += ']';
  } else {
    out += j.dump(-1, ' ', true);
  }
}

void CheckFinite(double value) {
  // json.dumps would write NaN/Infinity, which is not JSON; nlohmann would write null.
  if (!std::isfinite(value)) throw std::runtime_error("jsonl_queue: non-finite float value");
}

// What replaying the queue rebuilds: every field of the run.
struct RunState {
  std::unordered_map<std::string, std::vector<Point>> float_series;
  std::unordered_map<std::string, double> floats;
  std::unordered_map<std::string, int64_t> ints;
  std::unordered_map<std::string, std::string> strings;
  struct StringPoint {
    int64_t step;
    std::string value;
    int64_t timestamp_us;
  };
  std::unordered_map<std::string, std::vector<StringPoint>> string_series;
  std::unordered_map<std::string, std::set<std::string>> string_sets;

  // Applies one queue element {"obj": ..., "version": ..., "at": ...}; throws on a bad shape.
  void Apply(const Json& element) {
    const Json& obj = element.at("obj");
    const std::string& type = obj.at("type").get_ref<const std::string&>();
    std::string path = JoinPath(obj.at("path"));
    if (type == "LogFloats") {
      std::vector<Point>& series = float_series[path];
      for (const Json& v : obj.at("values")) {
        series.push_back(Point{.step = v.at("step").get<int64_t>(),
                               .value = v.at("value").get<double>(),
                               .timestamp_us = MicrosFromSeconds(v.at("ts").get<double>())});
      }
    } else if (type == "AssignFloat") {
      floats[std::move(path)] = obj.at("value").get<double>();
    } else if (type == "AssignInt") {
      ints[std::move(path)] = obj.at("value").get<int64_t>();
    } else if (type == "AssignString") {
      strings[std::move(path)] = obj.at("value").get<std::string>();
    } else if (type == "LogStrings") {
      std::vector<StringPoint>& series = string_series[path];
      for (const Json& v : obj.at("values")) {
        series.push_back(StringPoint{.step = v.at("step").get<int64_t>(),
                                     .value = v.at("value").get<std::string>(),
                                     .timestamp_us = MicrosFromSeconds(v.at("ts").get<double>())});
      }
    } else if (type == "AddStrings") {
      std::set<std::string>& set = string_sets[path];
      for (const Json& v : obj.at("values")) set.insert(v.get<std::string>());
    } else {
      throw std::runtime_error("unknown operation type " + type);
    }
  }

  // Steps of a path are logged in increasing order, so this is a check, not a sort, unless
  // a caller broke that rule.
  void SortSeries() {
    for (auto& [path, points] : float_series) {
      if (!std::is_sorted(points.begin(), points.end(),
                          [](const Point& a, const Point& b) { return a.step < b.step; })) {
        std::stable_sort(points.begin(), points.end(),
                         [](const Point& a, const Point& b) { return a.step < b.step; });
      }
    }
  }
};

// Replays the run's queue from disk, line by line, in version order.
RunState Replay(const fs::path& run_dir) {
  RunState state;
  // A line that failed to parse is an error only if anything follows it (else: torn tail).
  std::optional<std::string> bad_line;
  auto process = [&](std::string_view line, const fs::path& file) {
    if (bad_line) {
      throw std::runtime_error("jsonl_queue: corrupt line in the middle of the queue: " +
                               *bad_line);
    }
    Json element = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
    if (element.is_discarded()) {
      bad_line = file.string() + ": " + std::string(line.substr(0, 80));
      return;
    }
    try {
      state.Apply(element);
    } catch (const std::exception& e) {
      throw std::runtime_error("jsonl_queue: bad operation in " + file.string() + ": " + e.what());
    }
  };

  std::vector<char> chunk(kReadChunk);
  std::string pending;  // the start of a line whose end is in the next chunk
  for (const auto& [version, file] : DataFiles(run_dir)) {
    std::unique_ptr<FILE, int (*)(FILE*)> in(std::fopen(file.c_str(), "rb"), std::fclose);
    if (!in) Fail("open", file.string());
    pending.clear();
    while (true) {
      const size_t n = std::fread(chunk.data(), 1, chunk.size(), in.get());
      if (n == 0) {
        if (std::ferror(in.get())) Fail("read", file.string());
        break;
      }
      std::string_view data(chunk.data(), n);
      size_t begin = 0;
      for (size_t newline; (newline = data.find('\n', begin)) != std::string_view::npos;
           begin = newline + 1) {
        if (pending.empty()) {
          process(data.substr(begin, newline - begin), file);
        } else {
          pending.append(data.substr(begin, newline - begin));
          process(pending, file);
          pending.clear();
        }
      }
      pending.append(data.substr(begin));
    }
    // A last line without its newline: complete if it parses (the kill came just before the
    // '\n'), torn otherwise.
    if (!pending.empty()) process(pending, file);
  }
  state.SortSeries();
  return state;
}

class JsonlQueueStore : public Store {
 public:
  // A writer: appends to the run's queue.
  JsonlQueueStore(fs::path run_dir, const StoreOptions& options)
      : run_dir_(std::move(run_dir)), synced_(options.durability == Durability::kSynced) {
    fs::create_directories(run_dir_);
    const std::string put_path = (run_dir_ / "last_put_version").string();
    put_version_fd_ = ::open(put_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (put_version_fd_ < 0) Fail("open", put_path);
    char digits[32] = {};
    if (::pread(put_version_fd_, digits, sizeof(digits) - 1, 0) < 0) Fail("read", put_path);
    version_ = std::atoll(digits);  // 0 for a new run (an empty file)
    const std::string ack_path = (run_dir_ / "last_ack_version").string();
    const int ack_fd = ::open(ack_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (ack_fd < 0) Fail("open", ack_path);
    ::close(ack_fd);
    std::vector<std::pair<int64_t, fs::path>> files = DataFiles(run_dir_);
    OpenDataFile(files.empty() ? 1 : files.back().first);
  }

  // A reader: replays the queue now (the recovery cost).
  explicit JsonlQueueStore(fs::path run_dir)
      : run_dir_(std::move(run_dir)), state_(Replay(run_dir_)), fresh_(true) {}

  ~JsonlQueueStore() override {
    if (data_) std::fclose(data_);  // flushes the buffer, as the client's close does
    if (put_version_fd_ >= 0) ::close(put_version_fd_);
  }

  void AssignFloat(std::string_view path, double value) override {
    CheckFinite(value);
    Json obj = Op("AssignFloat", path);
    obj["value"] = value;
    std::lock_guard<std::mutex> lock(mu_);
    Put(obj);
    EndCall();
  }
  void AssignInt(std::string_view path, int64_t value) override {
    Json obj = Op("AssignInt", path);
    obj["value"] = value;
    std::lock_guard<std::mutex> lock(mu_);
    Put(obj);
    EndCall();
  }
  void AssignString(std::string_view path, std::string_view value) override {
    Json obj = Op("AssignString", path);
    obj["value"] = std::string(value);
    std::lock_guard<std::mutex> lock(mu_);
    Put(obj);
    EndCall();
  }
  void LogFloat(std::string_view path, const Point& point) override {
    LogFloats(path, std::span<const Point>(&point, 1));
  }
  void LogFloats(std::string_view path, std::span<const Point> points) override {
    for (const Point& p : points) CheckFinite(p.value);
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t begin = 0; begin < points.size(); begin += kFloatBatch) {
      Json obj = Op("LogFloats", path);
      Json& values = obj["values"] = Json::array();
      for (const Point& p : points.subspan(begin, std::min(kFloatBatch, points.size() - begin))) {
        values.push_back(
            Json{{"value", p.value}, {"step", p.step}, {"ts", SecondsFromMicros(p.timestamp_us)}});
      }
      Put(obj);
    }
    EndCall();
  }
  void LogString(std::string_view path, int64_t step, std::string_view value,
                 int64_t timestamp_us) override {
    Json obj = Op("LogStrings", path);
    obj["values"] = Json::array({Json{
        {"value", std::string(value)}, {"step", step}, {"ts", SecondsFromMicros(timestamp_us)}}});
    std::lock_guard<std::mutex> lock(mu_);
    Put(obj);
    EndCall();
  }
  void AddStrings(std::string_view path, std::span<const std::string> values) override {
    Json obj = Op("AddStrings", path);
    Json& members = obj["values"] = Json::array();
    for (const std::string& value : values) members.push_back(value);
    std::lock_guard<std::mutex> lock(mu_);
    Put(obj);
    EndCall();
  }

  void Flush() override {
    std::lock_guard<std::mutex> lock(mu_);
    FlushBuffers();
  }

  std::vector<Point> ReadSeries(std::string_view path, int64_t from_step,
                                int64_t to_step) override {
    std::lock_guard<std::mutex> lock(mu_);
    const RunState& state = State();
    auto it = state.float_series.find(std::string(path));
    if (it == state.float_series.end()) return {};
    const std::vector<Point>& points = it->second;
    auto first = std::lower_bound(points.begin(), points.end(), from_step,
                                  [](const Point& p, int64_t step) { return p.step < step; });
    auto last = std::lower_bound(first, points.end(), to_step,
                                 [](const Point& p, int64_t step) { return p.step < step; });
    return std::vector<Point>(first, last);
  }

  Point ReadLast(std::string_view path) override {
    std::lock_guard<std::mutex> lock(mu_);
    const RunState& state = State();
    auto it = state.float_series.find(std::string(path));
    if (it == state.float_series.end() || it->second.empty()) {
      throw std::runtime_error("jsonl_queue: no float series " + std::string(path));
    }
    return it->second.back();
  }

  double ReadFloat(std::string_view path) override {
    std::lock_guard<std::mutex> lock(mu_);
    const RunState& state = State();
    auto it = state.floats.find(std::string(path));
    if (it == state.floats.end()) {
      throw std::runtime_error("jsonl_queue: no float field " + std::string(path));
    }
    return it->second;
  }

 private:
  static Json Op(std::string_view type, std::string_view path) {
    return Json{{"type", std::string(type)}, {"path", SplitPath(path)}};
  }

  void OpenDataFile(int64_t first_version) {
    const fs::path file = run_dir_ / DataFileName(first_version);
    data_ = std::fopen(file.c_str(), "ab");
    if (!data_) Fail("open", file.string());
    if (std::setvbuf(data_, nullptr, _IOFBF, kWriteBuffer) != 0) Fail("setvbuf", file.string());
    std::error_code ec;
    data_size_ = fs::file_size(file, ec);
    if (ec) data_size_ = 0;
    data_path_ = file.string();
  }

  // DiskQueue.put: one line in the data file (a new file past max_file_size), then the new
  // version in last_put_version.
  void Put(const Json& obj) {
    if (!data_) throw std::runtime_error("jsonl_queue: the run is open for reading only");
    const int64_t version = version_ + 1;
    line_.clear();
    DumpLikePython(Json{{"obj", obj}, {"version", version}, {"at", NowSeconds()}}, line_);
    if (data_size_ > 0 && data_size_ + line_.size() > kMaxFileSize) {
      if (std::fflush(data_) != 0) Fail("write", data_path_);
      std::fclose(data_);
      data_ = nullptr;
      OpenDataFile(version);
    }
    line_ += '\n';
    if (std::fwrite(line_.data(), 1, line_.size(), data_) != line_.size()) {
      Fail("write", data_path_);
    }
    data_size_ += line_.size();
    // SyncOffsetFile.write: seek(0), write, truncate (which flushes), flush.
    const std::string digits = std::to_string(version);
    if (::pwrite(put_version_fd_, digits.data(), digits.size(), 0) !=
            static_cast<ssize_t>(digits.size()) ||
        ::ftruncate(put_version_fd_, static_cast<off_t>(digits.size())) != 0) {
      Fail("write", (run_dir_ / "last_put_version").string());
    }
    version_ = version;
  }

  void EndCall() {
    if (!synced_) return;
    FlushBuffers();
    if (::fdatasync(::fileno(data_)) != 0) Fail("fdatasync", data_path_);
  }

  void FlushBuffers() {
    if (data_ && std::fflush(data_) != 0) Fail("write", data_path_);
  }

  // The state a read is served from. A disk queue has no index: every read replays the queue
  // from disk (a reader's first read uses the replay its open did).
  const RunState& State() {
    if (fresh_) {
      fresh_ = false;
      return state_;
    }
    FlushBuffers();
    state_ = Replay(run_dir_);
    return state_;
  }

  const fs::path run_dir_;
  const bool synced_ = false;
  std::mutex mu_;  // the client's container lock: one call at a time
  FILE* data_ = nullptr;
  std::string data_path_;
  uint64_t data_size_ = 0;
  int put_version_fd_ = -1;
  int64_t version_ = 0;
  std::string line_;  // reused serialization buffer
  RunState state_;
  bool fresh_ = false;  // a reader's state_ is its open's replay, not yet used
};

class JsonlQueueSystem : public System {
 public:
  std::string name() const override { return "jsonl_queue"; }

  std::unique_ptr<Store> Create(const std::string& dir, const std::string& run,
                                const StoreOptions& options) override {
    return std::make_unique<JsonlQueueStore>(fs::path(dir) / run, options);
  }

  std::unique_ptr<Store> Open(const std::string& dir, const std::string& run) override {
    const fs::path run_dir = fs::path(dir) / run;
    if (!fs::is_directory(run_dir)) {
      throw std::runtime_error("jsonl_queue: no run queue at " + run_dir.string());
    }
    return std::make_unique<JsonlQueueStore>(run_dir);
  }

  std::string settings() const override {
    return "Neptune 1.x disk queue: JSON line per op (json.dumps format), 100 points per "
           "LogFloats, 8 KiB buffered writes flushed at Flush, last_put_version rewritten per op, "
           "64 MiB files, no fsync (kSynced: fdatasync per call); reads replay the whole queue";
  }
};

}  // namespace

std::unique_ptr<System> MakeJsonlQueueSystem() {
  return std::make_unique<JsonlQueueSystem>();
}

}  // namespace runlog::compare
