// The "tfrecord" baseline of runlog-compare: TensorBoard's event files, as written by
// TensorBoard's EventFileWriter (what torch.utils.tensorboard.SummaryWriter and tensorboardX
// use) and read by TensorBoard's event loaders.
//
// Layout: one file per run, <dir>/<run>/events.out.tfevents.<unix seconds>.<host>.<pid>.<n>,
// a sequence of TFRecords: uint64 length (little endian), uint32 masked CRC-32C of those 8
// bytes, the data, uint32 masked CRC-32C of the data (mask: rotate right by 15, add
// 0xa282ead8). Each record is one serialized Event (event.proto): first the file_version
// "brain.Event:2" event, then one Event per point (LogFloats writes one per point, as
// add_scalar does), with the point's step and its timestamp as wall_time. Scalars are a
// DT_DOUBLE tensor (exact; TensorBoard's simple_value is float32), text points and tag sets
// DT_STRING tensors, atoms (params) an Event at step 0 per atom. The first Value of each tag
// carries its plugin's SummaryMetadata, as TensorBoard's writers do.
//
// Writes, best settings TensorBoard's writer allows: records go to a 64 KiB user-space buffer
// (Python's BufferedWriter under EventFileWriter hands the OS 8 KiB at a time), which goes to
// the OS when full, when flush_secs (120 s, TensorBoard's default) have passed since the last
// flush, and on Flush(). Flush() is EventFileWriter.flush(): the bytes go to the OS, no fsync.
// Durability::kSynced writes out and fdatasyncs the file before every call returns (TensorBoard
// has no sync mode; this is the least a caller must add). With writer_threads > 1 one mutex
// guards the writer, as EventFileWriter's lock does; with one writer no lock is taken.
//
// Reads are TensorBoard's: every read scans the whole file, checks both CRCs of every record,
// parses every Event and keeps the Values of the tag asked for (ReadLast keeps the highest
// step, ReadFloat the last param). Open finds the valid end of each file: a record cut short
// at the end of the file (what a SIGKILL mid-write leaves) ends it cleanly; a CRC mismatch
// anywhere is an error.
//
// CRC-32C is ISA-L's crc32_iscsi. It neither inverts its init value nor its result, so the
// standard CRC-32C (init ~0, final xor ~0) is ~crc32_iscsi(buf, len, ~0u): checked against the
// standard check value CRC-32C("123456789") = 0xE3069283 by a self-test when the System is
// made (ISA-L 2.30 gives 0x1cf96d7c = ~0xE3069283 for init ~0 without the final inversion).
#include <fcntl.h>
#include <isa-l/crc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "bench/compare/fixed_bytes.h"
#include "bench/compare/run_dir.h"
#include "bench/compare/store.h"
#include "event.pb.h"

namespace runlog::compare {
namespace {

static_assert(std::endian::native == std::endian::little, "TFRecord framing assumes LE");

constexpr char kFileVersion[] = "brain.Event:2";
constexpr char kFilePrefix[] = "events.out.tfevents.";
constexpr char kScalarsPlugin[] = "scalars";
constexpr char kTextPlugin[] = "text";
constexpr char kParamsPlugin[] = "runlog_params";
constexpr size_t kWriteBufferBytes = 64 << 10;
constexpr auto kFlushInterval = std::chrono::seconds(120);
constexpr size_t kHeaderBytes = 12;  // length + masked CRC of the length
constexpr size_t kFooterBytes = 4;   // masked CRC of the data
constexpr size_t kReadBufferBytes = 1 << 20;

[[noreturn]] void ThrowErrno(std::string_view what, const std::string& path, int err) {
  throw std::runtime_error("tfrecord: " + std::string(what) + " " + path + ": " +
                           std::strerror(err));
}

// ---- CRC-32C and TFRecord framing ----------------------------------------------------------

uint32_t Crc32c(const char* data, size_t size) {
  uint32_t crc = 0xFFFFFFFFu;
  while (size > 0) {  // crc32_iscsi takes an int length
    const size_t chunk = std::min<size_t>(size, 1 << 30);
    crc = crc32_iscsi(reinterpret_cast<unsigned char*>(const_cast<char*>(data)),
                      static_cast<int>(chunk), crc);
    data += chunk;
    size -= chunk;
  }
  return ~crc;
}

void CheckCrc32c() {
  static const bool checked = [] {
    constexpr char kCheck[] = "123456789";
    const uint32_t got = Crc32c(kCheck, sizeof(kCheck) - 1);
    if (got != 0xE3069283u) {
      throw std::runtime_error("tfrecord: ISA-L crc32_iscsi gives CRC-32C(\"123456789\") = " +
                               std::to_string(got) + ", not 0xE3069283");
    }
    return true;
  }();
  (void)checked;
}

uint32_t MaskedCrc(const char* data, size_t size) {
  const uint32_t crc = Crc32c(data, size);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

void AppendRecord(std::string* out, std::string_view data) {
  const size_t start = out->size();
  AppendFixed<uint64_t>(out, data.size());
  AppendFixed<uint32_t>(out, MaskedCrc(out->data() + start, sizeof(uint64_t)));
  out->append(data);
  AppendFixed<uint32_t>(out, MaskedCrc(data.data(), data.size()));
}

// Calls fn(record data) for every record of `path` that ends at or before `limit`, checking
// both CRCs. Returns the offset just past the last whole record: a record cut short by the
// end of the file (or `limit`) ends the scan there; a CRC mismatch throws.
template <typename Fn>
uint64_t ScanRecords(const std::string& path, uint64_t limit, Fn&& fn) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) ThrowErrno("open", path, errno);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) ThrowErrno("stat", path, errno);
  limit = std::min<uint64_t>(limit, static_cast<uint64_t>(st.st_size));
  std::vector<char> buf(kReadBufferBytes);
  size_t begin = 0;  // unconsumed bytes are buf[begin, end)
  size_t end = 0;
  uint64_t offset = 0;   // file offset of buf[begin]
  uint64_t read_to = 0;  // file offset of buf[end]
  bool eof = false;
  // Makes `want` bytes available at buf[begin]; false when the file (or limit) ends first.
  auto fill = [&](size_t want) {
    while (end - begin < want && !eof) {
      if (begin > 0) {
        std::memmove(buf.data(), buf.data() + begin, end - begin);
        end -= begin;
        begin = 0;
      }
      if (buf.size() < want) buf.resize(std::max(want, buf.size() * 2));
      const uint64_t room = std::min<uint64_t>(buf.size() - end, limit - read_to);
      if (room == 0) {
        eof = true;
        break;
      }
      const ssize_t n = ::read(fd, buf.data() + end, room);
      if (n < 0) {
        if (errno == EINTR) continue;
        ThrowErrno("read", path, errno);
      }
      if (n == 0) eof = true;
      end += static_cast<size_t>(n);
      read_to += static_cast<uint64_t>(n);
    }
    return end - begin >= want;
  };
  while (fill(kHeaderBytes)) {
    const char* header = buf.data() + begin;
    if (LoadFixed<uint32_t>(header + 8) != MaskedCrc(header, 8)) {
      throw std::runtime_error("tfrecord: length CRC mismatch at offset " + std::to_string(offset) +
                               " of " + path);
    }
    const uint64_t length = LoadFixed<uint64_t>(header);
    // Cut short by the end of the file (fill() gave the header, so offset + 12 <= limit).
    const uint64_t rest = limit - offset - kHeaderBytes;
    if (rest < kFooterBytes || length > rest - kFooterBytes) break;
    const size_t whole = kHeaderBytes + static_cast<size_t>(length) + kFooterBytes;
    if (!fill(whole)) break;
    const char* data = buf.data() + begin + kHeaderBytes;
    if (LoadFixed<uint32_t>(data + length) != MaskedCrc(data, length)) {
      throw std::runtime_error("tfrecord: data CRC mismatch in the record at offset " +
                               std::to_string(offset) + " of " + path);
    }
    fn(std::string_view(data, length));
    begin += whole;
    offset += whole;
  }
  return offset;
}

// ---- events ------------------------------------------------------------------------------

struct EventFile {
  std::string path;
  uint64_t valid_end = std::numeric_limits<uint64_t>::max();
};

// Calls fn(event, value, plugin) for every Value tagged `tag` in `files`, in file order; plugin
// is the plugin named by the first metadata of that tag (TensorBoard's rule).
template <typename Fn>
void ForEachValue(const std::vector<EventFile>& files, std::string_view tag, Fn&& fn) {
  tb::Event event;
  std::string plugin;
  for (const EventFile& file : files) {
    ScanRecords(file.path, file.valid_end, [&](std::string_view data) {
      if (!event.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
        throw std::runtime_error("tfrecord: an Event that does not parse in " + file.path);
      }
      if (!event.has_summary()) return;
      for (const tb::Summary::Value& value : event.summary().value()) {
        if (value.tag() != tag) continue;
        if (plugin.empty() && value.has_metadata()) {
          plugin = value.metadata().plugin_data().plugin_name();
        }
        fn(event, value, std::string_view(plugin));
      }
    });
  }
}

// The scalar of a Value: our DT_DOUBLE tensors, and what other TensorBoard writers leave.
bool ScalarOf(const tb::Summary::Value& value, double* out) {
  if (value.has_tensor()) {
    const tb::TensorProto& t = value.tensor();
    if (t.dtype() == tb::DT_DOUBLE && t.double_val_size() == 1) {
      *out = t.double_val(0);
      return true;
    }
    if (t.dtype() == tb::DT_FLOAT && t.float_val_size() == 1) {
      *out = t.float_val(0);
      return true;
    }
    return false;
  }
  if (value.value_case() == tb::Summary::Value::kSimpleValue) {
    *out = value.simple_value();
    return true;
  }
  return false;
}

int64_t TimestampUs(double wall_time) {
  return std::llround(wall_time * 1e6);
}

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Point PointOf(const tb::Event& event, double value) {
  return {.step = event.step(), .value = value, .timestamp_us = TimestampUs(event.wall_time())};
}

// The reads of one run, shared by the writer (its own file) and the reader (all the run's
// files, up to their valid ends).
std::vector<Point> ReadSeriesIn(const std::vector<EventFile>& files, std::string_view path,
                                int64_t from_step, int64_t to_step) {
  std::vector<Point> points;
  if (to_step <= from_step) return points;
  ForEachValue(
      files, path,
      [&](const tb::Event& event, const tb::Summary::Value& value, std::string_view plugin) {
        double v = 0;
        if (plugin == kParamsPlugin || plugin == kTextPlugin) return;
        if (event.step() < from_step || event.step() >= to_step) return;
        if (ScalarOf(value, &v)) points.push_back(PointOf(event, v));
      });
  if (!std::is_sorted(points.begin(), points.end(),
                      [](const Point& a, const Point& b) { return a.step < b.step; })) {
    std::stable_sort(points.begin(), points.end(),
                     [](const Point& a, const Point& b) { return a.step < b.step; });
  }
  return points;
}

Point ReadLastIn(const std::vector<EventFile>& files, std::string_view path) {
  Point last;
  bool found = false;
  ForEachValue(
      files, path,
      [&](const tb::Event& event, const tb::Summary::Value& value, std::string_view plugin) {
        double v = 0;
        if (plugin == kParamsPlugin || plugin == kTextPlugin) return;
        if ((!found || event.step() >= last.step) && ScalarOf(value, &v)) {
          last = PointOf(event, v);
          found = true;
        }
      });
  if (!found)
    throw std::runtime_error("tfrecord: no points of " + std::string(path) + " in " +
                             files.front().path);
  return last;
}

double ReadFloatIn(const std::vector<EventFile>& files, std::string_view path) {
  double got = 0;
  bool found = false;
  ForEachValue(files, path,
               [&](const tb::Event&, const tb::Summary::Value& value, std::string_view plugin) {
                 if (plugin != kParamsPlugin || !value.has_tensor()) return;
                 const tb::TensorProto& t = value.tensor();
                 if (t.dtype() == tb::DT_DOUBLE && t.double_val_size() == 1) {
                   got = t.double_val(0);
                   found = true;
                 }
               });
  if (!found)
    throw std::runtime_error("tfrecord: no float param " + std::string(path) + " in " +
                             files.front().path);
  return got;
}

// ---- the writer ----------------------------------------------------------------------------

struct TagHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

class TfrecordWriter : public Store {
 public:
  TfrecordWriter(std::string path, int fd, const StoreOptions& options)
      : files_{{.path = std::move(path)}},
        fd_(fd),
        synced_(options.durability == Durability::kSynced),
        locked_(options.writer_threads > 1),
        last_flush_(std::chrono::steady_clock::now()) {
    tb::Event event;
    event.set_wall_time(NowSeconds());
    event.set_file_version(kFileVersion);
    Append(event);
    WriteOut();  // EventFileWriter flushes the version event at once
    if (synced_) Sync();
  }

  ~TfrecordWriter() override {
    try {
      WriteOut();
    } catch (const std::exception&) {
      // A destructor cannot report it; every acknowledged kSynced write is on disk already.
    }
    ::close(fd_);
  }

  void AssignFloat(std::string_view path, double value) override {
    std::unique_lock<std::mutex> lock = Lock();
    tb::Event event;
    StartValue(&event, NowSeconds(), 0, path, kParamsPlugin, tb::DATA_CLASS_SCALAR, tb::DT_DOUBLE)
        ->add_double_val(value);
    Append(event);
    Done();
  }
  void AssignInt(std::string_view path, int64_t value) override {
    std::unique_lock<std::mutex> lock = Lock();
    tb::Event event;
    StartValue(&event, NowSeconds(), 0, path, kParamsPlugin, tb::DATA_CLASS_SCALAR, tb::DT_INT64)
        ->add_int64_val(value);
    Append(event);
    Done();
  }
  void AssignString(std::string_view path, std::string_view value) override {
    std::unique_lock<std::mutex> lock = Lock();
    tb::Event event;
    StartValue(&event, NowSeconds(), 0, path, kParamsPlugin, tb::DATA_CLASS_TENSOR, tb::DT_STRING)
        ->add_string_val(value.data(), value.size());
    Append(event);
    Done();
  }

  void LogFloat(std::string_view path, const Point& point) override {
    std::unique_lock<std::mutex> lock = Lock();
    AppendPoint(path, point);
    Done();
  }
  void LogFloats(std::string_view path, std::span<const Point> points) override {
    std::unique_lock<std::mutex> lock = Lock();
    for (const Point& point : points) AppendPoint(path, point);
    Done();
  }
  void LogString(std::string_view path, int64_t step, std::string_view value,
                 int64_t timestamp_us) override {
    std::unique_lock<std::mutex> lock = Lock();
    tb::Event event;
    StartValue(&event, static_cast<double>(timestamp_us) / 1e6, step, path, kTextPlugin,
               tb::DATA_CLASS_TENSOR, tb::DT_STRING)
        ->add_string_val(value.data(), value.size());
    Append(event);
    Done();
  }
  void AddStrings(std::string_view path, std::span<const std::string> values) override {
    std::unique_lock<std::mutex> lock = Lock();
    tb::Event event;
    tb::TensorProto* t = StartValue(&event, NowSeconds(), 0, path, kTextPlugin,
                                    tb::DATA_CLASS_TENSOR, tb::DT_STRING);
    t->mutable_tensor_shape()->add_dim()->set_size(static_cast<int64_t>(values.size()));
    for (const std::string& v : values) t->add_string_val(v);
    Append(event);
    Done();
  }

  void Flush() override {
    std::unique_lock<std::mutex> lock = Lock();
    WriteOut();
    last_flush_ = std::chrono::steady_clock::now();
  }

  // The writer reads its own file once its buffer is in the OS.
  std::vector<Point> ReadSeries(std::string_view path, int64_t from_step,
                                int64_t to_step) override {
    Flush();
    return ReadSeriesIn(files_, path, from_step, to_step);
  }
  Point ReadLast(std::string_view path) override {
    Flush();
    return ReadLastIn(files_, path);
  }
  double ReadFloat(std::string_view path) override {
    Flush();
    return ReadFloatIn(files_, path);
  }

 private:
  std::unique_lock<std::mutex> Lock() {
    return locked_ ? std::unique_lock<std::mutex>(mu_) : std::unique_lock<std::mutex>();
  }

  // Starts `event` as one Value tagged `tag` holding a tensor of `dtype`; the first Value of a
  // tag in this file names its plugin. The caller holds the lock.
  tb::TensorProto* StartValue(tb::Event* event, double wall_time, int64_t step,
                              std::string_view tag, const char* plugin, tb::DataClass data_class,
                              tb::DataType dtype) {
    event->set_wall_time(wall_time);
    event->set_step(step);
    tb::Summary::Value* value = event->mutable_summary()->add_value();
    value->set_tag(tag.data(), tag.size());
    if (!tags_.contains(tag)) {
      tags_.emplace(tag);
      tb::SummaryMetadata* metadata = value->mutable_metadata();
      metadata->mutable_plugin_data()->set_plugin_name(plugin);
      metadata->set_data_class(data_class);
    }
    tb::TensorProto* tensor = value->mutable_tensor();
    tensor->set_dtype(dtype);
    return tensor;
  }

  void AppendPoint(std::string_view path, const Point& point) {
    tb::Event event;
    tb::TensorProto* t =
        StartValue(&event, static_cast<double>(point.timestamp_us) / 1e6, point.step, path,
                   kScalarsPlugin, tb::DATA_CLASS_SCALAR, tb::DT_DOUBLE);
    t->add_double_val(point.value);
    Append(event);
  }

  void Append(const tb::Event& event) {
    if (!event.SerializeToString(&serialized_)) {
      throw std::runtime_error("tfrecord: cannot serialize an Event for " + files_[0].path);
    }
    AppendRecord(&buffer_, serialized_);
  }

  // The end of every public write: what EventFileWriter's buffer and flush timer would do,
  // or, for kSynced, the write and fdatasync before returning.
  void Done() {
    if (synced_) {
      WriteOut();
      Sync();
      return;
    }
    if (buffer_.size() >= kWriteBufferBytes) WriteOut();
    const auto now = std::chrono::steady_clock::now();
    if (now - last_flush_ >= kFlushInterval) {
      WriteOut();
      last_flush_ = now;
    }
  }

  void WriteOut() {
    const char* p = buffer_.data();
    size_t left = buffer_.size();
    while (left > 0) {
      const ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        ThrowErrno("write", files_[0].path, errno);
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    buffer_.clear();
  }

  void Sync() {
    if (::fdatasync(fd_) != 0) ThrowErrno("fdatasync", files_[0].path, errno);
  }

  const std::vector<EventFile> files_;
  const int fd_;
  const bool synced_;
  const bool locked_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point last_flush_;
  std::string buffer_;
  std::string serialized_;
  std::unordered_set<std::string, TagHash, std::equal_to<>> tags_;
};

// ---- the reader ----------------------------------------------------------------------------

class TfrecordReader : public Store {
 public:
  explicit TfrecordReader(std::vector<EventFile> files) : files_(std::move(files)) {}

  void AssignFloat(std::string_view, double) override { ReadOnly(); }
  void AssignInt(std::string_view, int64_t) override { ReadOnly(); }
  void AssignString(std::string_view, std::string_view) override { ReadOnly(); }
  void LogFloat(std::string_view, const Point&) override { ReadOnly(); }
  void LogFloats(std::string_view, std::span<const Point>) override { ReadOnly(); }
  void LogString(std::string_view, int64_t, std::string_view, int64_t) override { ReadOnly(); }
  void AddStrings(std::string_view, std::span<const std::string>) override { ReadOnly(); }
  void Flush() override {}

  std::vector<Point> ReadSeries(std::string_view path, int64_t from_step,
                                int64_t to_step) override {
    return ReadSeriesIn(files_, path, from_step, to_step);
  }
  Point ReadLast(std::string_view path) override { return ReadLastIn(files_, path); }
  double ReadFloat(std::string_view path) override { return ReadFloatIn(files_, path); }

 private:
  [[noreturn]] void ReadOnly() const {
    throw std::runtime_error("tfrecord: a run opened for reading cannot be written: " +
                             files_.front().path);
  }

  const std::vector<EventFile> files_;
};

// ---- the system ----------------------------------------------------------------------------

std::string HostName() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) return "localhost";
  return host;
}

class TfrecordSystem : public System {
 public:
  TfrecordSystem() { CheckCrc32c(); }

  std::string name() const override { return "tfrecord"; }

  std::unique_ptr<Store> Create(const std::string& dir, const std::string& run,
                                const StoreOptions& options) override {
    const std::filesystem::path run_dir = MakeRunDir(dir, run, name());
    // TensorBoard's name: seconds, host, pid and a per-process counter.
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
    char stamp[32];
    std::snprintf(stamp, sizeof(stamp), "%010lld", static_cast<long long>(seconds));
    const std::string path =
        (run_dir / (std::string(kFilePrefix) + stamp + "." + host_ + "." +
                    std::to_string(::getpid()) + "." + std::to_string(next_file_++)))
            .string();
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) ThrowErrno("create", path, errno);
    try {
      return std::make_unique<TfrecordWriter>(path, fd, options);
    } catch (...) {
      ::close(fd);
      throw;
    }
  }

  std::unique_ptr<Store> Open(const std::string& dir, const std::string& run) override {
    const std::filesystem::path run_dir = std::filesystem::path(dir) / run;
    std::vector<EventFile> files;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(run_dir, ec), end; !ec && it != end;
         it.increment(ec)) {
      const std::string file = it->path().filename().string();
      if (file.starts_with(kFilePrefix)) files.push_back({.path = it->path().string()});
    }
    if (ec) throw std::runtime_error("tfrecord: list " + run_dir.string() + ": " + ec.message());
    if (files.empty()) throw std::runtime_error("tfrecord: no event files in " + run_dir.string());
    // TensorBoard reads a run's files in name (= creation time) order.
    std::sort(files.begin(), files.end(),
              [](const EventFile& a, const EventFile& b) { return a.path < b.path; });
    // Recovery: every record checked, the valid end of each file found.
    for (EventFile& file : files) {
      file.valid_end =
          ScanRecords(file.path, std::numeric_limits<uint64_t>::max(), [](std::string_view) {});
    }
    return std::make_unique<TfrecordReader>(std::move(files));
  }

  std::string settings() const override {
    return "TensorBoard event file per run: TFRecord framing, masked CRC-32C (ISA-L), one "
           "Event per point (DT_DOUBLE tensor), 64 KiB write buffer, flush_secs 120, Flush() "
           "to the OS, fdatasync per call when synced (mutex for >1 writer); reads scan and "
           "verify the whole file";
  }

 private:
  const std::string host_ = HostName();
  std::atomic<uint64_t> next_file_{0};
};

}  // namespace

std::unique_ptr<System> MakeTfrecordSystem() {
  return std::make_unique<TfrecordSystem>();
}

}  // namespace runlog::compare
