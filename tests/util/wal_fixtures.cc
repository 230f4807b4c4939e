#include "tests/util/wal_fixtures.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace runlog::test {

wal::RunId TestRunId(uint8_t seed) {
  wal::RunId id;
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(seed + i * 13 + 1);
  return id;
}

wal::WriterOptions SmallLogOptions(uint64_t segment_size) {
  wal::WriterOptions o;
  o.run_id = TestRunId();
  o.segment_size = segment_size;
  o.durability = wal::Durability::kNone;
  return o;
}

std::span<const uint8_t> PointPayload(wal::RecordBuilder& builder, wal::Lsn lsn) {
  wal::FloatPoint p(static_cast<double>(lsn), static_cast<int64_t>(lsn) * 1000,
                    static_cast<double>(lsn));
  return builder.AppendFloats("m/" + std::to_string(lsn % 10), std::span(&p, 1));
}

bool IsPointPayload(std::span<const uint8_t> payload, wal::Lsn lsn) {
  if (!wal::VerifyPayload(static_cast<uint16_t>(wal::RecordType::AppendFloats), payload).ok()) {
    return false;
  }
  auto* op = wal::PayloadAs<wal::AppendFloats>(payload);
  if (op->path() == nullptr || op->path()->str() != "m/" + std::to_string(lsn % 10)) return false;
  if (op->points() == nullptr || op->points()->size() != 1) return false;
  const wal::FloatPoint* p = op->points()->Get(0);
  return p->step() == static_cast<double>(lsn) && p->value() == static_cast<double>(lsn) &&
         p->timestamp_us() == static_cast<int64_t>(lsn) * 1000;
}

void AppendPoints(wal::Writer& writer, int count) {
  wal::RecordBuilder builder;
  for (int i = 0; i < count; ++i) {
    wal::Lsn expected = writer.last_lsn() + 1;
    auto lsn = writer.Append(static_cast<uint16_t>(wal::RecordType::AppendFloats),
                             PointPayload(builder, expected));
    ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
    ASSERT_EQ(*lsn, expected);
  }
}

void WritePointLog(const std::string& dir, uint64_t segment_size, int count) {
  auto w = wal::Writer::Open(dir, SmallLogOptions(segment_size));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  AppendPoints(**w, count);
  ASSERT_TRUE((*w)->Close().ok());
}

LogContents ReadLog(const std::string& path, wal::ReaderOptions options) {
  LogContents out;
  auto user = options.on_damage;
  options.on_damage = [&out, user](const wal::Damage& d) {
    out.damage.push_back(d);
    if (user) user(d);
  };
  auto reader = wal::Reader::Open(path, options);
  if (!reader.ok()) {
    out.status = reader.status();
    return out;
  }
  wal::Record rec;
  for (;;) {
    auto more = (*reader)->Next(&rec);
    if (!more.ok()) {
      out.status = more.status();
      break;
    }
    if (!*more) break;
    out.lsns.push_back(rec.lsn);
    out.intact.push_back(IsPointPayload(rec.payload, rec.lsn));
  }
  out.end = (*reader)->end();
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::string> SegmentPaths(const std::string& dir) {
  std::vector<std::string> out;
  auto segs = wal::ListSegments(FileSystem::Default(), dir);
  if (segs.ok()) {
    for (const auto& s : *segs) out.push_back(s.path);
  }
  return out;
}

}  // namespace runlog::test
