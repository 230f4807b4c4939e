#include "engine/repository.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <nlohmann/json.hpp>
#include <random>

#include "format/records.h"
#include "format/wal_reader.h"
#include "format/wal_writer.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace runlog::engine {
namespace {

constexpr int kRepositoryFormat = 1;
constexpr size_t kMaxCustomRunId = 1024;

bool ValidKey(std::string_view key) {
  if (key.empty() || key.size() > 10 || key[0] < 'A' || key[0] > 'Z') return false;
  return std::all_of(key.begin(), key.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); });
}

bool IsHex32(std::string_view s) {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// "<KEY>-<n>" with a valid key and a decimal number: safe to use as a file name.
bool LooksLikeSysId(std::string_view id) {
  size_t dash = id.rfind('-');
  if (dash == std::string_view::npos || dash + 1 == id.size() || id.size() - dash > 20) {
    return false;
  }
  std::string_view num = id.substr(dash + 1);
  return ValidKey(id.substr(0, dash)) &&
         std::all_of(num.begin(), num.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string CustomIdHash(std::string_view custom) {
  XXH128_hash_t h = XXH3_128bits(custom.data(), custom.size());
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016" PRIx64 "%016" PRIx64, h.high64, h.low64);
  return buf;
}

// A repository is one directory tree, and runlog follows no symbolic link inside it (the
// repository's own path may be one): a linked run directory could alias another run's files,
// and a linked lock, log or database could make a write land outside the repository (as root,
// in /etc). Corruption naming the link and its target; OK when `path` is no link or missing.
Status RefuseLink(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::OK();  // the open says what is missing
    return Status::FromErrno("cannot inspect", path, errno);
  }
  if (!S_ISLNK(st.st_mode)) return Status::OK();
  char target[4096] = {0};
  ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
  return Status::Corruption(path + " is a symbolic link (to " +
                            (n > 0 ? std::string(target, static_cast<size_t>(n)) : "?") +
                            "); runlog follows no links inside a repository: move what it "
                            "points to into place, or link the whole repository instead");
}

// RefuseLink for `dir` and every entry of it (a missing `dir` is OK). An unreadable `dir`
// is an IOError naming it (e.g. Permission denied).
Status RefuseLinksIn(const std::string& dir) {
  RUNLOG_RETURN_IF_ERROR(RefuseLink(dir));
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return Status::OK();
    return Status::FromErrno("cannot list", dir, errno);
  }
  Status s;
  while (dirent* e = ::readdir(d)) {
    if (e->d_type != DT_LNK && e->d_type != DT_UNKNOWN) continue;
    s = RefuseLink(dir + "/" + e->d_name);
    if (!s.ok()) break;
  }
  ::closedir(d);
  return s;
}

// The files of a run that runlog opens (DESIGN §3), none of which may be a link.
Status CheckRunTree(const std::string& dir) {
  RUNLOG_RETURN_IF_ERROR(RefuseLink(dir));
  for (const char* file : {"/LOCK", "/summary"}) RUNLOG_RETURN_IF_ERROR(RefuseLink(dir + file));
  RUNLOG_RETURN_IF_ERROR(RefuseLinksIn(dir + "/wal"));
  return RefuseLinksIn(dir + "/db");
}

Result<std::string> ReadSmallFile(FileSystem* fs, const std::string& path) {
  RUNLOG_ASSIGN_OR_RETURN(int fd, fs->Open(path, O_RDONLY));
  std::string out(4096, '\0');
  Result<size_t> n =
      fs->ReadAt(fd, path, 0, std::span(reinterpret_cast<uint8_t*>(out.data()), out.size()));
  (void)fs->Close(fd, path);
  if (!n.ok()) return n.status();
  out.resize(*n);
  return out;
}

// Writes `content` into a new file `tmp` and syncs it.
Status WriteSyncedFile(FileSystem* fs, const std::string& tmp, std::string_view content) {
  RUNLOG_ASSIGN_OR_RETURN(int fd, fs->Open(tmp, O_RDWR | O_CREAT | O_TRUNC));
  Status s = fs->WriteAt(
      fd, tmp, 0, std::span(reinterpret_cast<const uint8_t*>(content.data()), content.size()));
  if (s.ok()) s = fs->SyncData(fd, tmp);
  (void)fs->Close(fd, tmp);
  return s;
}

// Writes `content` to dir/name atomically: a temporary file, synced, renamed into place.
Status WriteFileAtomically(FileSystem* fs, const std::string& dir, const std::string& name,
                           std::string_view content) {
  const std::string tmp = dir + "/." + name + ".tmp." + std::to_string(::getpid());
  Status s = WriteSyncedFile(fs, tmp, content);
  if (s.ok()) s = fs->Rename(tmp, dir + "/" + name);
  if (s.ok()) s = fs->SyncDir(dir);
  if (!s.ok()) (void)fs->Remove(tmp);
  return s;
}

// Holds an exclusive flock on a file for its lifetime (other processes and other open
// file descriptions wait).
class FileLock {
 public:
  static Result<FileLock> Acquire(const std::string& path) {
    // O_NOFOLLOW: a linked lock file would have its target created and written.
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0 && errno == ELOOP) return RefuseLink(path);
    if (fd < 0) return Status::FromErrno("cannot open lock file", path, errno);
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) {
        int err = errno;
        ::close(fd);
        return Status::FromErrno("cannot lock", path, err);
      }
    }
    return FileLock(fd);
  }
  FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

wal::RunId ParseUuid(std::string_view hex) {
  wal::RunId id{};
  for (size_t i = 0; i < id.size(); ++i) {
    auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    id[i] = static_cast<uint8_t>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  }
  return id;
}

}  // namespace

wal::RunId NewRunUuid() {
  static thread_local std::mt19937_64 rng(std::random_device{}() ^
                                          (static_cast<uint64_t>(::getpid()) << 32));
  const uint64_t hi = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count());
  const uint64_t lo = rng();
  wal::RunId id;
  for (int i = 0; i < 8; ++i) {
    id[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    id[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  return id;
}

Result<std::unique_ptr<Repository>> Repository::Open(const std::string& path,
                                                     const RepositoryOptions& options) {
  FileSystem* fs = options.fs != nullptr ? options.fs : FileSystem::Default();
  const std::string meta = path + "/repository";
  RUNLOG_ASSIGN_OR_RETURN(bool exists, fs->IsDirectory(path));
  for (const char* sub :
       {"/repository", "/ids", "/runs", "/index", "/index/sys", "/index/custom"}) {
    if (exists) RUNLOG_RETURN_IF_ERROR(RefuseLink(path + sub));
  }
  Result<std::string> content = exists ? ReadSmallFile(fs, meta) : Status::NotFound(meta);
  if (!content.ok() && content.status().Is(Code::kNotFound)) {
    if (!options.create_if_missing) {
      return Status::NotFound("no runlog repository at " + path);
    }
    if (!ValidKey(options.key)) {
      return Status::InvalidArgument(
          "repository key \"" + options.key +
          "\" must be 1-10 characters A-Z or 0-9, starting with a letter");
    }
    for (const char* sub : {"", "/runs", "/index/sys", "/index/custom"}) {
      RUNLOG_RETURN_IF_ERROR(fs->CreateDirs(path + sub));
    }
    // Two processes creating the repository at once: the first link wins, the other reads.
    const std::string text =
        nlohmann::json{{"format", kRepositoryFormat}, {"key", options.key}}.dump() + "\n";
    const std::string tmp = meta + ".tmp." + std::to_string(::getpid());
    Status s = WriteSyncedFile(fs, tmp, text);
    if (s.ok() && ::link(tmp.c_str(), meta.c_str()) != 0 && errno != EEXIST) {
      s = Status::FromErrno("cannot create", meta, errno);
    }
    (void)fs->Remove(tmp);
    RUNLOG_RETURN_IF_ERROR(s);
    RUNLOG_RETURN_IF_ERROR(fs->SyncDir(path));
    content = ReadSmallFile(fs, meta);
  }
  if (!content.ok()) return content.status();
  nlohmann::json j = nlohmann::json::parse(*content, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("format") || !j["format"].is_number_integer() ||
      !j.contains("key") || !j["key"].is_string()) {
    return Status::Corruption(meta + " is not a runlog repository file");
  }
  if (j["format"].get<int>() != kRepositoryFormat) {
    return Status::NotSupported(meta + ": repository format " +
                                std::to_string(j["format"].get<int>()) + ", this build reads " +
                                std::to_string(kRepositoryFormat));
  }
  std::string key = j["key"].get<std::string>();
  if (!ValidKey(key)) return Status::Corruption(meta + ": invalid key \"" + key + "\"");
  return std::unique_ptr<Repository>(new Repository(path, key, fs));
}

Result<uint64_t> Repository::AllocateNumber() {
  const std::string path = path_ + "/ids";
  RUNLOG_ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(path));
  char buf[32] = {0};
  ssize_t n = ::pread(lock.fd(), buf, sizeof buf - 1, 0);
  if (n < 0) return Status::FromErrno("cannot read", path, errno);
  uint64_t last = 0;
  for (ssize_t i = 0; i < n && buf[i] != '\n'; ++i) {
    if (buf[i] < '0' || buf[i] > '9') return Status::Corruption(path + " holds no run number");
    last = last * 10 + static_cast<uint64_t>(buf[i] - '0');
  }
  // A write of this file that failed half-way (a short write, then a full disk: "10" over
  // "9\n" leaves "1\n") can leave a smaller number than was handed out: never hand out a
  // number that already names a run, whose index entry would be replaced.
  while (::access((path_ + "/index/sys/" + key_ + "-" + std::to_string(last + 1)).c_str(), F_OK) ==
         0) {
    ++last;
  }
  // Through the file seam, so that fault-injection tests reach this write too.
  const std::string next = std::to_string(last + 1) + "\n";
  RUNLOG_RETURN_IF_ERROR(fs_->WriteAt(
      lock.fd(), path, 0, std::span(reinterpret_cast<const uint8_t*>(next.data()), next.size())));
  RUNLOG_RETURN_IF_ERROR(fs_->Truncate(lock.fd(), path, next.size()));
  RUNLOG_RETURN_IF_ERROR(fs_->SyncData(lock.fd(), path));
  return last + 1;
}

Result<RunInfo> Repository::CreateRun(const NewRunOptions& options) {
  const std::string& custom = options.custom_run_id;
  if (custom.empty()) return CreateNewRun("");
  if (custom.size() > kMaxCustomRunId) {
    return Status::InvalidArgument("custom run id of " + std::to_string(custom.size()) +
                                   " bytes, over the limit of " + std::to_string(kMaxCustomRunId));
  }
  const std::string dir = path_ + "/index/custom";
  const std::string hash = CustomIdHash(custom);
  // One process at a time resolves this custom id: the first creates, the others resume.
  RUNLOG_ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(dir + "/." + hash + ".lock"));
  Result<RunInfo> existing = FindByCustomId(custom);
  if (existing.ok()) return existing;
  if (!existing.status().Is(Code::kNotFound)) return existing.status();
  return CreateNewRun(custom);
}

Result<RunInfo> Repository::CreateNewRun(const std::string& custom_run_id) {
  RunInfo info;
  info.uuid = NewRunUuid();
  info.uuid_hex = wal::RunIdHex(info.uuid);
  RUNLOG_ASSIGN_OR_RETURN(uint64_t number, AllocateNumber());
  info.sys_id = key_ + "-" + std::to_string(number);
  info.custom_run_id = custom_run_id;
  info.created = true;
  info.dir = path_ + "/runs/" + info.uuid_hex;

  // Crash safety: the index entries are written first and the run directory appears last,
  // complete, by a rename. A crash in between leaves index entries pointing at no run
  // (NotFound: a custom id is then created afresh) and, at worst, a hidden .creating-
  // directory; never a run that its ids cannot find.
  RUNLOG_RETURN_IF_ERROR(
      WriteFileAtomically(fs_, path_ + "/index/sys", info.sys_id, info.uuid_hex + "\n"));
  if (!custom_run_id.empty()) {
    RUNLOG_RETURN_IF_ERROR(WriteFileAtomically(fs_, path_ + "/index/custom",
                                               CustomIdHash(custom_run_id), info.uuid_hex + "\n"));
  }
  const std::string staging = path_ + "/runs/.creating-" + info.uuid_hex;

  wal::WriterOptions wo;
  wo.run_id = info.uuid;
  wo.durability = wal::Durability::kSync;
  wo.segment_size = 1 << 20;
  wo.prefault_bytes = 0;
  wo.fs = fs_;
  RUNLOG_ASSIGN_OR_RETURN(std::unique_ptr<wal::Writer> writer,
                          wal::Writer::Open(staging + "/wal", wo));
  wal::RecordBuilder rb;
  auto& b = rb.builder();
  uint64_t hi = 0, lo = 0;
  for (int i = 0; i < 8; ++i) {
    hi = hi << 8 | info.uuid[i];
    lo = lo << 8 | info.uuid[8 + i];
  }
  wal::Uuid uuid(hi, lo);
  char host[256] = "localhost";
  ::gethostname(host, sizeof host - 1);
  auto payload = rb.Finish(wal::CreateCreateRunDirect(
      b, &uuid, info.sys_id.c_str(), custom_run_id.c_str(), static_cast<int64_t>(hi), host,
      static_cast<uint32_t>(::getpid())));
  RUNLOG_RETURN_IF_ERROR(
      writer->Append(static_cast<uint16_t>(wal::RecordType::CreateRun), payload).status());
  RUNLOG_RETURN_IF_ERROR(writer->Close());
  writer.reset();
  RUNLOG_RETURN_IF_ERROR(fs_->Rename(staging, info.dir));
  RUNLOG_RETURN_IF_ERROR(fs_->SyncDir(path_ + "/runs"));
  return info;
}

Result<RunInfo> Repository::LoadRun(const std::string& uuid_hex) const {
  wal::ReaderOptions ro;
  ro.fs = fs_;
  const std::string dir = path_ + "/runs/" + uuid_hex;
  RUNLOG_RETURN_IF_ERROR(CheckRunTree(dir));
  auto reader = wal::Reader::Open(dir + "/wal", ro);
  if (!reader.ok()) {
    if (reader.status().Is(Code::kNotFound)) return Status::NotFound("no run " + uuid_hex);
    return reader.status();
  }
  wal::Record rec;
  RUNLOG_ASSIGN_OR_RETURN(bool more, (*reader)->Next(&rec));
  if (!more || rec.type != static_cast<uint16_t>(wal::RecordType::CreateRun)) {
    return Status::Corruption(dir + "/wal does not start with a CreateRun record");
  }
  auto* op = wal::PayloadAs<wal::CreateRun>(rec.payload);
  RunInfo info;
  info.uuid = ParseUuid(uuid_hex);
  info.uuid_hex = uuid_hex;
  info.sys_id = op->sys_id() != nullptr ? op->sys_id()->str() : "";
  info.custom_run_id = op->custom_run_id() != nullptr ? op->custom_run_id()->str() : "";
  info.dir = dir;
  if (wal::RunIdHex((*reader)->end().run_id) != uuid_hex) {
    return Status::Corruption(dir + "/wal belongs to run " +
                              wal::RunIdHex((*reader)->end().run_id));
  }
  return info;
}

Result<RunInfo> Repository::LoadIndexed(const std::string& file) const {
  RUNLOG_RETURN_IF_ERROR(RefuseLink(file));
  RUNLOG_ASSIGN_OR_RETURN(std::string uuid, ReadSmallFile(fs_, file));
  while (!uuid.empty() && uuid.back() == '\n') uuid.pop_back();
  if (!IsHex32(uuid)) return Status::Corruption(file + " does not hold a run uuid");
  return LoadRun(uuid);
}

Result<RunInfo> Repository::FindByCustomId(std::string_view custom) const {
  Result<RunInfo> r = LoadIndexed(path_ + "/index/custom/" + CustomIdHash(custom));
  if (r.ok() && r->custom_run_id != custom) {
    return Status::Corruption("custom run id index entry for \"" + std::string(custom) +
                              "\" points at a run of custom id \"" + r->custom_run_id + "\"");
  }
  return r;
}

Result<RunInfo> Repository::FindRun(std::string_view id) const {
  if (LooksLikeSysId(id)) {
    Result<RunInfo> r = LoadIndexed(path_ + "/index/sys/" + std::string(id));
    if (r.ok() || !r.status().Is(Code::kNotFound)) return r;
  }
  if (!id.empty() && id.size() <= kMaxCustomRunId) {
    Result<RunInfo> r = FindByCustomId(id);
    if (r.ok() || !r.status().Is(Code::kNotFound)) return r;
  }
  if (IsHex32(id)) return LoadRun(std::string(id));
  return Status::NotFound("no run \"" + std::string(id) + "\" in " + path_);
}

Result<std::vector<RunInfo>> Repository::ListRuns() const {
  RUNLOG_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_->ListDir(path_ + "/runs"));
  std::sort(names.begin(), names.end());
  std::vector<RunInfo> runs;
  for (const std::string& name : names) {
    if (!IsHex32(name)) continue;
    RUNLOG_ASSIGN_OR_RETURN(RunInfo info, LoadRun(name));
    runs.push_back(std::move(info));
  }
  return runs;
}

}  // namespace runlog::engine
