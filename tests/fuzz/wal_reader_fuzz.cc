// libFuzzer target for the WAL segment reader and writer recovery. The input is one
// segment file. Properties checked beyond "no crash":
//   - every mode terminates; tolerate and salvage never return more damage than bytes;
//   - every record a reader returns passed its checksum and the Verifier, and decodes;
//   - when a writer accepts the log, it appends after the last valid record: a strict read
//     afterwards succeeds and ends with the appended record (never append after garbage).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "format/record_json.h"
#include "format/records.h"
#include "format/segment.h"
#include "format/wal_reader.h"
#include "format/wal_writer.h"

namespace {

using namespace runlog;
using namespace runlog::wal;

const std::string& FuzzDir() {
  static const std::string dir = [] {
    std::string tmpl = "/tmp/runlog-fuzz-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    return tmpl;
  }();
  return dir;
}

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "wal_reader_fuzz: property violated: %s\n", what);
    std::abort();
  }
}

// Reads the whole log; returns the last LSN read (0 if none) and the final status.
Status ReadAll(const std::string& path, RecoveryMode mode, Lsn* last) {
  ReaderOptions ro;
  ro.mode = mode;
  auto reader = Reader::Open(path, ro);
  if (!reader.ok()) return reader.status();
  Record rec;
  *last = 0;
  for (int guard = 0; guard < 1000000; ++guard) {
    auto more = (*reader)->Next(&rec);
    if (!more.ok()) return more.status();
    if (!*more) return Status::OK();
    Check(rec.lsn > *last, "LSNs increase");
    *last = rec.lsn;
    Check(VerifyPayload(rec.type, rec.payload).ok(), "returned records verify");
    (void)PayloadToJson(rec.type, rec.payload).dump();
  }
  Check(false, "reader terminates");
  return Status::OK();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string dir = FuzzDir() + "/wal";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string seg = dir + "/" + SegmentFileName(1);
  {
    std::ofstream out(seg, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  Lsn last = 0;
  for (RecoveryMode mode :
       {RecoveryMode::kTolerateTornTail, RecoveryMode::kStrict, RecoveryMode::kSalvage}) {
    (void)ReadAll(seg, mode, &last);
    (void)ReadAll(dir, mode, &last);
  }

  WriterOptions wo;
  wo.durability = Durability::kNone;
  wo.segment_size = 4096;
  auto writer = Writer::Open(dir, wo);
  if (writer.ok()) {
    RecordBuilder rb;
    auto lsn = (*writer)->Append(static_cast<uint16_t>(RecordType::AssignInt),
                                 rb.AssignInt("fuzz/appended", 42));
    Check((*writer)->Close().ok(), "close succeeds");
    if (lsn.ok()) {
      Lsn after = 0;
      Status s = ReadAll(dir, RecoveryMode::kStrict, &after);
      Check(s.ok(), "a log a writer accepted reads strictly after an append");
      Check(after == *lsn, "the appended record is the log's last");
    }
  }
  return 0;
}
