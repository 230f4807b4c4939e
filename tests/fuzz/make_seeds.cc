// Writes the seed inputs of the wal_reader fuzz corpus: small segments holding every kind
// of record, an empty one, a torn one, one with an unknown safe-to-ignore record.
// Usage: wal_fuzz_seeds OUT_DIR
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "format/records.h"
#include "format/wal_writer.h"

using namespace runlog;
using namespace runlog::wal;

namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Builds a log with `fill` in a scratch dir and returns its first segment's bytes.
template <typename Fill>
std::string MakeSegment(const std::string& scratch, Fill fill) {
  std::filesystem::remove_all(scratch);
  WriterOptions o;
  o.durability = Durability::kNone;
  o.segment_size = 4096;
  o.run_id.fill(0x5a);
  auto w = Writer::Open(scratch, o);
  if (!w.ok()) {
    std::fprintf(stderr, "%s\n", w.status().ToString().c_str());
    std::exit(1);
  }
  fill(**w);
  (void)(*w)->Close();
  std::string bytes = ReadAll(scratch + "/" + SegmentFileName(1));
  // Trim the zero tail: the fuzzer mutates what matters.
  size_t end = bytes.size();
  while (end > 0 && bytes[end - 1] == 0) --end;
  bytes.resize(std::min(bytes.size(), (end + 7) / 8 * 8 + 32));
  return bytes;
}

void Put(const std::string& dir, const std::string& name, const std::string& bytes) {
  std::ofstream out(dir + "/" + name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: wal_fuzz_seeds OUT_DIR\n");
    return 2;
  }
  const std::string out = argv[1];
  const std::string scratch = out + "/.scratch";
  std::filesystem::create_directories(out);
  auto u16 = [](RecordType t) { return static_cast<uint16_t>(t); };

  Put(out, "seed-empty", MakeSegment(scratch, [](Writer&) {}));
  std::string mixed = MakeSegment(scratch, [&](Writer& w) {
    RecordBuilder rb;
    FloatPoint pts[] = {{1, 10, 0.5}, {2, 20, 1.5}};
    (void)w.Append(u16(RecordType::AppendFloats), rb.AppendFloats("train/loss", pts));
    (void)w.Append(u16(RecordType::AssignString), rb.AssignString("params/act", "ReLU"));
    (void)w.Append(u16(RecordType::AssignInt), rb.AssignInt("params/batch", 64));
    (void)w.Append(u16(RecordType::AssignBool), rb.AssignBool("params/aug", true));
    (void)w.Append(u16(RecordType::AssignDatetime), rb.AssignDatetime("when", 1700000000));
    (void)w.Append(u16(RecordType::DeletePath), rb.DeletePath("params"));
    (void)w.Append(u16(RecordType::ClearField),
                   rb.ClearField("train/loss", FieldType::FloatSeries));
    auto& b = rb.builder();
    std::vector<std::string> tags = {"a", "b"};
    auto v = b.CreateVectorOfStrings(tags);
    (void)w.Append(u16(RecordType::AddStrings),
                   rb.Finish(CreateAddStrings(b, b.CreateString("sys/tags"), v)));
    auto& b2 = rb.builder();
    std::vector<flatbuffers::Offset<StringPoint>> sp = {CreateStringPointDirect(b2, 1, 2, "text")};
    (void)w.Append(u16(RecordType::AppendStrings),
                   rb.Finish(CreateAppendStringsDirect(b2, "log", &sp)));
    auto& b3 = rb.builder();
    Hash128 h(1, 2);
    std::vector<flatbuffers::Offset<ArtifactEntry>> es = {
        CreateArtifactEntryDirect(b3, "f", "s3://x/f", 9, 5, &h)};
    (void)w.Append(u16(RecordType::TrackFiles),
                   rb.Finish(CreateTrackFilesDirect(b3, "data", &es, false)));
    auto& b4 = rb.builder();
    Uuid u(3, 4);
    (void)w.Append(u16(RecordType::CreateRun),
                   rb.Finish(CreateCreateRunDirect(b4, &u, "RL-1", "c", 1, "h", 2)));
  });
  Put(out, "seed-mixed", mixed);
  Put(out, "seed-torn", mixed.substr(0, mixed.size() / 2 + 5));
  Put(out, "seed-header-only", mixed.substr(0, kSegmentHeaderSize));
  Put(out, "seed-points", MakeSegment(scratch, [](Writer& w) {
        RecordBuilder rb;
        for (int i = 1; i <= 20; ++i) {
          FloatPoint p(i, i, i * 0.25);
          (void)w.Append(32, rb.AppendFloats("m/" + std::to_string(i % 3), std::span(&p, 1)));
        }
      }));
  Put(out, "seed-unknown-safe", MakeSegment(scratch, [](Writer& w) {
        RecordBuilder rb;
        (void)w.Append(0x8001, rb.AssignInt("x", 1));
        (void)w.Append(17, rb.AssignInt("y", 2));
      }));
  Put(out, "seed-unknown", MakeSegment(scratch, [](Writer& w) {
        RecordBuilder rb;
        (void)w.Append(0x0777, rb.AssignInt("x", 1));
      }));
  Put(out, "seed-big-string", MakeSegment(scratch, [](Writer& w) {
        RecordBuilder rb;
        (void)w.Append(19, rb.AssignString("s", std::string(1000, 'z')));
        (void)w.Append(19, rb.AssignString("t", "end"));
      }));
  std::string flipped = mixed;
  flipped[kSegmentHeaderSize + 40] ^= 1;
  Put(out, "seed-flipped", flipped);
  std::filesystem::remove_all(scratch);
  return 0;
}
