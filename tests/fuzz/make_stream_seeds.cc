// Writes the seed inputs of the log_lines and ingest fuzz corpora.
//   log_lines: JSON-lines inputs of `runlog log`, every operation accepted and every kind of
//     rejection (bad JSON, a number out of range, unknown op or key, type mismatch, path
//     conflict, invalid path, steps, string size, field limit, sys/ fields, file operations).
//   ingest: byte strings in the grammar of tests/fuzz/ingest_fuzz.cc: every record kind,
//     series long enough to seal chunks, rule-breaking records, unknown and unverifiable
//     records.
// Usage: stream_fuzz_seeds LOG_LINES_DIR INGEST_DIR
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

void Put(const std::string& dir, const std::string& name, const std::string& bytes) {
  std::ofstream out(dir + "/" + name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void WriteLogLineSeeds(const std::string& dir) {
  Put(dir, "seed-assign",
      R"({"op":"assign","path":"params/lr","value":0.01}
{"op":"assign","path":"params/batch","value":64}
{"op":"assign","path":"params/aug","value":true}
{"op":"assign","path":"params/act","value":"ReLU"}
{"op":"assign","path":"params/when","value":"2026-11-29T09:34:06.123456Z","type":"datetime"}
{"op":"assign","path":"params/at","value":1700000000.5,"type":"datetime"}
{"op":"assign","path":"params/nan","value":"NaN","type":"float"}
{"op":"assign","path":"params/i","value":7,"type":"int"}
{"op":"assign","path":"params/lr","value":3}
)");
  Put(dir, "seed-series",
      R"({"op":"append","path":"train/loss","value":0.5}
{"op":"append","path":"train/loss","value":0.25,"step":10,"timestamp":1700000000}
{"op":"append","path":"train/loss","value":"Infinity","type":"float_series"}
{"op":"append","path":"log","value":"epoch 1"}
{"op":"extend","path":"train/acc","values":[0.1,0.2,0.3],"steps":[1,2,3]}
{"op":"extend","path":"log","values":["a","b"],"timestamps":["2026-01-01T00:00:00Z",1]}
{"op":"clear","path":"train/acc"}
{"op":"extend","path":"train/acc","values":["NaN",1],"type":"float_series"}
)");
  Put(dir, "seed-sets",
      R"({"op":"add","path":"tags","values":["a","b","c"]}
{"op":"remove","path":"tags","values":["b"]}
{"op":"add","path":"sys/tags","values":["x"]}
{"op":"assign","path":"sys/name","value":"baseline"}
{"op":"delete","path":"tags"}
{"op":"delete","path":"params"}
)");
  Put(dir, "seed-rejections",
      R"({"op":"assign","path":"a","value":1}
{"op":"assign","path":"a","value":"x"}
{"op":"assign","path":"a/b","value":1}
{"op":"assign","path":"a//b","value":1}
{"op":"assign","path":"sys/id","value":"RL-9"}
{"op":"append","path":"s","value":1,"step":5}
{"op":"append","path":"s","value":2,"step":4}
{"op":"assign","path":"long","value":"0123456789012345678901234567890123456789012345678901234567890123456789"}
{"op":"delete","path":"nothing"}
{"op":"clear","path":"a"}
)");
  Put(dir, "seed-bad-lines",
      R"({"op":"assign","path":"x","value":1e999}
{"op":"assign","path":"x"
[1,2,3]
{"op":"rename","path":"x"}
{"op":"assign","path":"x","value":1,"stpe":2}
{"op":"assign","value":1}
{"op":"upload","path":"f"}
{"op":"append","path":"x","value":[1]}
{"op":"extend","path":"x","values":[]}
{"op":"extend","path":"x","values":[1,"a"]}
{"op":"assign","path":"x","value":18446744073709551615}
{"op":"assign","path":"x","value":"2026-02-30T00:00:00Z","type":"datetime"}
{"op":"assign","path":"x","value":1,"type":"complex"}
)");
  std::string many;
  for (int i = 0; i < 14; ++i) {
    many += R"({"op":"assign","path":"f/)" + std::to_string(i) + R"(","value":)" +
            std::to_string(i) + "}\n";
  }
  Put(dir, "seed-field-limit", many);
  Put(dir, "seed-blank-crlf",
      "\n  \t\r\n{\"op\":\"assign\",\"path\":\"a\",\"value\":1}\r\n\n"
      "{\"op\":\"assign\",\"path\":\"zz-probe\",\"value\":\"p\"}");
  Put(dir, "seed-bytes",
      std::string("{\"op\":\"assign\",\"path\":\"\xff\",\"value\":1}\n\0\n", 38));
  Put(dir, "seed-unicode",
      R"({"op":"assign","path":"caf\u00e9/\u00fc","value":"\ud83d\ude00"}
{"op":"assign","path":"ctl\u0001","value":1}
)");
}

// ---- ingest: the grammar of ingest_fuzz.cc ----------------------------------------------

class Seed {
 public:
  // A structured record of `kind` at path table entry `path`, then its value bytes.
  Seed& Rec(uint8_t kind, uint8_t path, std::vector<uint8_t> values = {}) {
    bytes_.push_back(kind);
    bytes_.push_back(path);
    bytes_.insert(bytes_.end(), values.begin(), values.end());
    return *this;
  }
  // A structured record at a literal path.
  Seed& RecAt(uint8_t kind, const std::string& path, std::vector<uint8_t> values = {}) {
    bytes_.push_back(kind);
    bytes_.push_back(static_cast<uint8_t>(0xF0 | path.size()));
    bytes_.insert(bytes_.end(), path.begin(), path.end());
    bytes_.insert(bytes_.end(), values.begin(), values.end());
    return *this;
  }
  Seed& Raw(uint16_t type, const std::string& payload) {
    bytes_.push_back(0xE0);
    bytes_.push_back(static_cast<uint8_t>(type & 0xFF));
    bytes_.push_back(static_cast<uint8_t>(type >> 8));
    bytes_.push_back(static_cast<uint8_t>(payload.size()));
    bytes_.insert(bytes_.end(), payload.begin(), payload.end());
    return *this;
  }
  std::string str(uint8_t batch) const {
    return std::string(1, static_cast<char>(batch)) + std::string(bytes_.begin(), bytes_.end());
  }

 private:
  std::vector<uint8_t> bytes_;
};

// The bytes of a lifecycle record (kind 11) after its path: a uuid, which record (0
// CreateRun, 1 ResumeRun, 2 SetRunState, 3 MarkFailed), then a text and a number.
std::vector<uint8_t> Lifecycle(uint8_t which, std::vector<uint8_t> rest) {
  std::vector<uint8_t> v = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, which};
  v.insert(v.end(), rest.begin(), rest.end());
  return v;
}

// Kinds (selector % 14): 0 AssignFloat, 1 AssignInt, 2 AssignBool, 3 AssignString,
// 4 AssignDatetime, 5 AppendFloats, 6 AppendStrings, 7 ClearField, 8 AddStrings,
// 9 RemoveStrings, 10 DeletePath, 11 lifecycle, 12 files, 13 TrackFiles.
// Paths: 0 a, 1 a/b, 2 a/b/c, 3 b, 4 s, 5 sys/name, 6 sys/tags, 7 sys/id, 8 t, 9 a//b.
// Doubles: a byte below 10 picks 0, -0, 1, -1, 2.5, NaN, Inf, -Inf, 1e308, the smallest
// denormal; 10..239 is the byte - 10.
void WriteIngestSeeds(const std::string& dir) {
  Put(dir, "seed-every-kind",
      Seed()
          .Rec(11, 0, Lifecycle(0, {3, 'R', 'L', '1', 5}))
          .Rec(0, 0, {4})
          .Rec(1, 3, {7, 0, 0, 0, 0, 0, 0, 0})
          .Rec(2, 8, {1})
          .Rec(3, 5, {4, 'n', 'a', 'm', 'e'})
          .Rec(4, 2, {9})
          .Rec(5, 4, {2, 11, 0, 12, 12, 0, 14})
          .Rec(6, 8, {2, 11, 1, 'x', 12, 1, 'y'})
          .Rec(8, 6, {2, 1, 'a', 1, 'b'})
          .Rec(9, 6, {1, 1, 'a'})
          .Rec(12, 3, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 'f'})
          .Rec(13, 8, {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 'p', 'q', 3, 1})
          .Rec(10, 3)
          .Rec(7, 4, {6})
          .str(2));
  Seed series;
  for (uint8_t step = 11; step < 40; step += 2)
    series.Rec(5, 4, {2, step, 0, 20, static_cast<uint8_t>(step + 1), 0, 21});
  for (uint8_t step = 11; step < 30; step += 3) series.Rec(6, 8, {1, step, 2, 's', 't'});
  series.Rec(7, 4, {6}).Rec(5, 4, {1, 10, 0, 5});
  Put(dir, "seed-series", series.str(3));
  Put(dir, "seed-rules",
      Seed()
          .Rec(0, 0, {12})
          .Rec(3, 0, {1, 'x'})
          .Rec(1, 1, {1, 0, 0, 0, 0, 0, 0, 0})
          .Rec(1, 9, {1, 0, 0, 0, 0, 0, 0, 0})
          .Rec(3, 7, {1, 'x'})
          .Rec(5, 4, {1, 20, 0, 10})
          .Rec(5, 4, {1, 15, 0, 10})
          .Rec(5, 4, {1, 5, 0, 10})
          .Rec(3, 3, {40,  'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x',
                      'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x',
                      'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'})
          .Rec(10, 2)
          .Rec(7, 0, {9})
          .str(1));
  Seed limit;
  for (char c = 'c'; c < 'l'; ++c) limit.RecAt(2, std::string("f/") + c, {1});
  limit.Rec(10, 0).RecAt(10, "f").RecAt(2, "f/z", {1});
  Put(dir, "seed-field-limit", limit.str(4));
  Put(dir, "seed-unknown-safe",
      Seed().Rec(0, 0, {12}).Raw(0x8001, "anything").Rec(0, 0, {13}).str(1));
  Put(dir, "seed-unknown", Seed().Rec(0, 0, {12}).Raw(0x0777, "anything").Rec(0, 0, {13}).str(1));
  Put(dir, "seed-unverifiable",
      Seed()
          .Rec(1, 3, {1, 0, 0, 0, 0, 0, 0, 0})
          .Raw(17, "not a flatbuffer")
          .Rec(1, 3, {2, 0, 0, 0, 0, 0, 0, 0})
          .str(1));
  Put(dir, "seed-delete-reuse",
      Seed()
          .Rec(0, 2, {12})
          .Rec(5, 1, {1, 10, 0, 1})
          .Rec(10, 0)
          .Rec(3, 0, {2, 'o', 'k'})
          .Rec(5, 0, {1, 10, 0, 1})
          .Rec(10, 0)
          .Rec(8, 0, {1, 1, 'z'})
          .str(2));
  Put(dir, "seed-lifecycle",
      Seed()
          .Rec(11, 0, Lifecycle(0, {0, 1}))
          .Rec(11, 0, Lifecycle(1, {0, 2}))
          .Rec(11, 0, Lifecycle(2, {0, 1}))
          .Rec(11, 0, Lifecycle(2, {0, 0}))
          .Rec(11, 0, Lifecycle(3, {4, 'o', 'o', 'p', 's', 3}))
          .Rec(11, 0, Lifecycle(0, {2, 'R', 'L', 4}))
          .str(1));
  Put(dir, "seed-literal-paths",
      Seed()
          .RecAt(0, "\xff", {12})
          .RecAt(0, "", {12})
          .RecAt(0, "a/", {12})
          .RecAt(0, "sys", {12})
          .RecAt(0, "x\x01", {12})
          .str(1));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: stream_fuzz_seeds LOG_LINES_DIR INGEST_DIR\n");
    return 2;
  }
  std::filesystem::create_directories(argv[1]);
  std::filesystem::create_directories(argv[2]);
  WriteLogLineSeeds(argv[1]);
  WriteIngestSeeds(argv[2]);
  return 0;
}
