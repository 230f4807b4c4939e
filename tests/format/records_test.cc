// Every operation of the schema survives the WAL unchanged: encode, append, read back,
// verify, decode.
#include "format/records.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "format/record_json.h"
#include "format/wal_reader.h"
#include "format/wal_writer.h"
#include "tests/util/temp_dir.h"
#include "tests/util/wal_fixtures.h"

namespace runlog::wal {
namespace {

using nlohmann::json;

struct Case {
  RecordType type;
  std::function<std::span<const uint8_t>(RecordBuilder&)> build;
  json expected;
};

constexpr int64_t kT = 1764408846123456;  // 2025-11-29T09:34:06.123456Z
const char* kTs = "2025-11-29T09:34:06.123456Z";

std::vector<Case> AllOperations() {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<Case> cases;
  cases.push_back({RecordType::CreateRun,
                   [](RecordBuilder& rb) {
                     auto& b = rb.builder();
                     Uuid u(0x0102030405060708ull, 0x1112131415161718ull);
                     return rb.Finish(
                         CreateCreateRunDirect(b, &u, "RL-12", "sweep-7", kT, "host-a", 4321));
                   },
                   {{"uuid", "01020304050607081112131415161718"},
                    {"sys_id", "RL-12"},
                    {"custom_run_id", "sweep-7"},
                    {"creation_time", kTs},
                    {"hostname", "host-a"},
                    {"pid", 4321}}});
  cases.push_back({RecordType::ResumeRun,
                   [](RecordBuilder& rb) {
                     auto& b = rb.builder();
                     Uuid u(1, 2);
                     return rb.Finish(CreateResumeRunDirect(b, &u, kT, "host-b", 7));
                   },
                   {{"uuid", "00000000000000010000000000000002"},
                    {"time", kTs},
                    {"hostname", "host-b"},
                    {"pid", 7}}});
  cases.push_back({RecordType::SetRunState,
                   [](RecordBuilder& rb) {
                     return rb.Finish(CreateSetRunState(rb.builder(), RunState::Inactive, kT));
                   },
                   {{"state", "Inactive"}, {"time", kTs}}});
  cases.push_back({RecordType::MarkFailed,
                   [](RecordBuilder& rb) {
                     return rb.Finish(CreateMarkFailedDirect(rb.builder(), kT, "OOM at step 3"));
                   },
                   {{"time", kTs}, {"reason", "OOM at step 3"}}});
  cases.push_back({RecordType::AssignFloat,
                   [](RecordBuilder& rb) { return rb.AssignFloat("params/lr", 0.005); },
                   {{"path", "params/lr"}, {"value", 0.005}}});
  cases.push_back(
      {RecordType::AssignInt,
       [](RecordBuilder& rb) { return rb.AssignInt("params/batch", -9007199254740993); },
       {{"path", "params/batch"}, {"value", -9007199254740993}}});
  cases.push_back({RecordType::AssignBool,
                   [](RecordBuilder& rb) { return rb.AssignBool("params/aug", true); },
                   {{"path", "params/aug"}, {"value", true}}});
  cases.push_back({RecordType::AssignString,
                   [](RecordBuilder& rb) { return rb.AssignString("params/act", "ReLU \xc3\xa9"); },
                   {{"path", "params/act"}, {"value", "ReLU \xc3\xa9"}}});
  cases.push_back({RecordType::AssignDatetime,
                   [](RecordBuilder& rb) { return rb.AssignDatetime("sys/when", kT); },
                   {{"path", "sys/when"}, {"value", kTs}}});
  cases.push_back({RecordType::AppendFloats,
                   [nan, inf](RecordBuilder& rb) {
                     FloatPoint pts[] = {{1, kT, 0.5}, {2, kT, nan}, {3.5, kT, -inf}};
                     return rb.AppendFloats("train/loss", pts);
                   },
                   {{"path", "train/loss"},
                    {"points",
                     {{{"step", 1.0}, {"timestamp", kTs}, {"value", 0.5}},
                      {{"step", 2.0}, {"timestamp", kTs}, {"value", "NaN"}},
                      {{"step", 3.5}, {"timestamp", kTs}, {"value", "-Infinity"}}}}}});
  cases.push_back({RecordType::AppendStrings,
                   [](RecordBuilder& rb) {
                     auto& b = rb.builder();
                     std::vector<flatbuffers::Offset<StringPoint>> pts = {
                         CreateStringPointDirect(b, 1, kT, "epoch 1"),
                         CreateStringPointDirect(b, 2, kT, "")};
                     return rb.Finish(CreateAppendStringsDirect(b, "log/text", &pts));
                   },
                   {{"path", "log/text"},
                    {"points",
                     {{{"step", 1.0}, {"timestamp", kTs}, {"value", "epoch 1"}},
                      {{"step", 2.0}, {"timestamp", kTs}, {"value", ""}}}}}});
  auto blob = [](flatbuffers::FlatBufferBuilder& b) {
    Hash128 h(0x1111, 0x2222);
    return CreateBlobRefDirect(b, &h, 1234, "model.pt", "pt");
  };
  json blob_json = {{"hash", "00000000000022220000000000001111"},
                    {"size", 1234},
                    {"name", "model.pt"},
                    {"extension", "pt"}};
  cases.push_back({RecordType::AppendFiles,
                   [blob](RecordBuilder& rb) {
                     auto& b = rb.builder();
                     std::vector<flatbuffers::Offset<FilePoint>> pts = {
                         CreateFilePoint(b, 4, kT, blob(b))};
                     return rb.Finish(CreateAppendFilesDirect(b, "samples", &pts));
                   },
                   {{"path", "samples"},
                    {"points", {{{"step", 4.0}, {"timestamp", kTs}, {"file", blob_json}}}}}});
  cases.push_back(
      {RecordType::ClearField,
       [](RecordBuilder& rb) { return rb.ClearField("train/loss", FieldType::FloatSeries); },
       {{"path", "train/loss"}, {"type", "FloatSeries"}}});
  auto strings = [](RecordBuilder& rb, bool add) {
    auto& b = rb.builder();
    std::vector<std::string> vals = {"gpu", "baseline"};
    auto v = b.CreateVectorOfStrings(vals);
    auto p = b.CreateString("sys/tags");
    return add ? rb.Finish(CreateAddStrings(b, p, v)) : rb.Finish(CreateRemoveStrings(b, p, v));
  };
  cases.push_back({RecordType::AddStrings,
                   [strings](RecordBuilder& rb) { return strings(rb, true); },
                   {{"path", "sys/tags"}, {"values", {"gpu", "baseline"}}}});
  cases.push_back({RecordType::RemoveStrings,
                   [strings](RecordBuilder& rb) { return strings(rb, false); },
                   {{"path", "sys/tags"}, {"values", {"gpu", "baseline"}}}});
  cases.push_back({RecordType::UploadFile,
                   [blob](RecordBuilder& rb) {
                     auto& b = rb.builder();
                     auto bl = blob(b);
                     return rb.Finish(CreateUploadFile(b, b.CreateString("model/weights"), bl));
                   },
                   {{"path", "model/weights"}, {"file", blob_json}}});
  cases.push_back(
      {RecordType::UploadFiles,
       [blob](RecordBuilder& rb) {
         auto& b = rb.builder();
         std::vector<flatbuffers::Offset<FileSetEntry>> es = {
             CreateFileSetEntry(b, b.CreateString("a/model.pt"), blob(b))};
         return rb.Finish(CreateUploadFilesDirect(b, "ckpt", &es));
       },
       {{"path", "ckpt"}, {"entries", {{{"name", "a/model.pt"}, {"file", blob_json}}}}}});
  cases.push_back({RecordType::DeleteFiles,
                   [](RecordBuilder& rb) {
                     auto& b = rb.builder();
                     std::vector<std::string> names = {"a/model.pt"};
                     auto v = b.CreateVectorOfStrings(names);
                     return rb.Finish(CreateDeleteFiles(b, b.CreateString("ckpt"), v));
                   },
                   {{"path", "ckpt"}, {"names", {"a/model.pt"}}}});
  cases.push_back(
      {RecordType::TrackFiles,
       [](RecordBuilder& rb) {
         auto& b = rb.builder();
         Hash128 h(5, 6);
         std::vector<flatbuffers::Offset<ArtifactEntry>> es = {
             CreateArtifactEntryDirect(b, "train.csv", "s3://bucket/train.csv", 99, kT, &h)};
         return rb.Finish(CreateTrackFilesDirect(b, "datasets/train", &es, true));
       },
       {{"path", "datasets/train"},
        {"entries",
         {{{"path", "train.csv"},
           {"source", "s3://bucket/train.csv"},
           {"size", 99},
           {"mtime", kTs},
           {"hash", "00000000000000060000000000000005"}}}},
        {"reset", true}}});
  cases.push_back({RecordType::DeletePath,
                   [](RecordBuilder& rb) { return rb.DeletePath("params"); },
                   {{"path", "params"}}});
  return cases;
}

TEST(RecordsTest, EveryOperationTypeRoundTripsThroughTheLog) {
  test::TempDir dir;
  std::vector<Case> cases = AllOperations();
  // Every record type of the schema has a case here.
  size_t known = 0;
  for (RecordType t : EnumValuesRecordType()) known += t != RecordType::Invalid;
  ASSERT_EQ(cases.size(), known);
  {
    auto w = Writer::Open(dir.path(), test::SmallLogOptions());
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    RecordBuilder rb;
    for (const Case& c : cases) {
      auto payload = c.build(rb);
      ASSERT_TRUE(VerifyPayload(static_cast<uint16_t>(c.type), payload).ok());
      ASSERT_TRUE((*w)->Append(static_cast<uint16_t>(c.type), payload).ok());
    }
    ASSERT_TRUE((*w)->Close().ok());
  }
  auto reader = Reader::Open(dir.path(), {});
  ASSERT_TRUE(reader.ok());
  Record rec;
  for (size_t i = 0; i < cases.size(); ++i) {
    auto more = (*reader)->Next(&rec);
    ASSERT_TRUE(more.ok() && *more) << i;
    EXPECT_EQ(rec.lsn, i + 1);
    EXPECT_EQ(rec.type, static_cast<uint16_t>(cases[i].type));
    EXPECT_EQ(PayloadToJson(rec.type, rec.payload), cases[i].expected) << RecordTypeName(rec.type);
  }
  auto more = (*reader)->Next(&rec);
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
}

TEST(RecordsTest, NonFiniteFloatsAreStoredExactly) {
  RecordBuilder rb;
  const double values[] = {
      std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
      -std::numeric_limits<double>::infinity(), -0.0, std::numeric_limits<double>::denorm_min()};
  for (double v : values) {
    auto payload = rb.AssignFloat("x", v);
    auto* op = PayloadAs<AssignFloat>(payload);
    double back = op->value();
    EXPECT_EQ(std::memcmp(&back, &v, sizeof v), 0);
  }
}

TEST(RecordsTest, VerifierRejectsAPayloadOfAnotherShape) {
  RecordBuilder rb;
  auto payload = rb.AssignString("a", "b");
  std::vector<uint8_t> bytes(payload.begin(), payload.end());
  // Overwrite offsets and lengths with huge values: the Verifier must catch them.
  int rejected = 0;
  for (size_t i = 0; i + 4 <= bytes.size(); ++i) {
    std::vector<uint8_t> bad = bytes;
    bad[i] = 0xff;
    bad[i + 1] = 0xff;
    Status s = VerifyPayload(static_cast<uint16_t>(RecordType::AssignString), bad);
    if (!s.ok()) {
      EXPECT_TRUE(s.Is(Code::kCorruption)) << s.ToString();
      ++rejected;
    }
  }
  EXPECT_GE(rejected, 4);
  std::vector<uint8_t> wrong_id = bytes;
  wrong_id[4] = 'X';
  EXPECT_TRUE(VerifyPayload(static_cast<uint16_t>(RecordType::AssignString), wrong_id)
                  .Is(Code::kCorruption));
}

TEST(RecordsTest, UnknownTypesAreVersionErrorsUnlessSafeToIgnore) {
  std::vector<uint8_t> junk = {1, 2, 3};
  Status s = VerifyPayload(0x0123, junk);
  EXPECT_TRUE(s.Is(Code::kNotSupported));
  EXPECT_NE(s.message().find("291"), std::string::npos);
  EXPECT_TRUE(VerifyPayload(0x8123, junk).ok());
  EXPECT_EQ(RecordTypeName(0x0123), nullptr);
  EXPECT_STREQ(RecordTypeName(32), "AppendFloats");
}

TEST(RecordsTest, SingleFloatPointRecordFitsIn96Bytes) {
  RecordBuilder rb;
  FloatPoint p(1, kT, 0.5);
  auto payload = rb.AppendFloats("train/loss", std::span(&p, 1));
  EXPECT_LE(AlignedRecordSize(payload.size()), 96u);
  std::vector<FloatPoint> many(1000, p);
  auto big = rb.AppendFloats("train/loss", many);
  EXPECT_LE(AlignedRecordSize(big.size()), 30u * 1000);
}

}  // namespace
}  // namespace runlog::wal
