// `runlog wal dump | verify | salvage` as a user runs them.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "format/wal_writer.h"
#include "tests/util/cli_runner.h"
#include "tests/util/temp_dir.h"
#include "tests/util/wal_fixtures.h"

namespace runlog {
namespace {

using nlohmann::json;

test::CliResult Runlog(const std::string& args) {
  return test::RunCli(RUNLOG_BINARY, args);
}

std::vector<json> JsonLines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(json::parse(line));
  return out;
}

// A run directory with a wal/ of `n` point records; returns the wal/ path.
std::string MakeRun(const test::TempDir& tmp, int n) {
  std::string wal = tmp.Sub("run/wal");
  auto w = wal::Writer::Open(wal, test::SmallLogOptions(64 << 10));
  EXPECT_TRUE(w.ok());
  test::AppendPoints(**w, n);
  EXPECT_TRUE((*w)->Close().ok());
  return wal;
}

// Start of the record with `lsn` (1-based) in MakeRun's single segment.
size_t RecordOffset(wal::Lsn lsn) {
  wal::RecordBuilder rb;
  size_t offset = wal::kSegmentHeaderSize;
  for (wal::Lsn l = 1; l < lsn; ++l)
    offset += wal::AlignedRecordSize(test::PointPayload(rb, l).size());
  return offset;
}

void FlipByte(const std::string& file, size_t offset) {
  std::string bytes = test::ReadFile(file);
  bytes[offset] ^= 0x20;
  test::WriteFile(file, bytes);
}

TEST(WalCliTest, DumpPrintsOneJsonObjectPerRecord) {
  test::TempDir tmp;
  std::string wal = MakeRun(tmp, 3);
  for (const std::string& path : {wal, tmp.Sub("run"), test::SegmentPaths(wal)[0]}) {
    test::CliResult r = Runlog("wal dump " + test::ShellQuote(path));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::vector<json> lines = JsonLines(r.out);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0]["lsn"], 1);
    EXPECT_EQ(lines[0]["type"], "AppendFloats");
    EXPECT_EQ(lines[0]["op"]["path"], "m/1");
    EXPECT_EQ(lines[0]["op"]["points"][0]["value"], 1.0);
    EXPECT_EQ(lines[2]["lsn"], 3);
  }
  test::CliResult from = Runlog("wal dump --from 3 " + test::ShellQuote(wal));
  ASSERT_EQ(from.exit_code, 0);
  ASSERT_EQ(JsonLines(from.out).size(), 1u);
  EXPECT_EQ(JsonLines(from.out)[0]["lsn"], 3);
}

TEST(WalCliTest, VerifyIsQuietAndZeroOnACleanLog) {
  test::TempDir tmp;
  std::string wal = MakeRun(tmp, 3);
  test::CliResult r = Runlog("wal verify " + test::ShellQuote(wal));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "ok: 3 record(s), LSN 1..3\n");
}

TEST(WalCliTest, VerifyListsEachProblemWithSegmentOffsetAndKind) {
  test::TempDir tmp;
  std::string wal = MakeRun(tmp, 5);
  std::string seg = test::SegmentPaths(wal)[0];
  // Flip a payload byte of records 2 and 4.
  FlipByte(seg, RecordOffset(2) + 40);
  FlipByte(seg, RecordOffset(4) + 40);
  test::CliResult r = Runlog("wal verify " + test::ShellQuote(wal));
  EXPECT_EQ(r.exit_code, 1);
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_NE(lines[0].find(seg + " offset " + std::to_string(RecordOffset(2)) +
                          ": checksum mismatch: expected "),
            std::string::npos)
      << lines[0];
  EXPECT_NE(
      lines[1].find(seg + " offset " + std::to_string(RecordOffset(4)) + ": checksum mismatch"),
      std::string::npos)
      << lines[1];
}

TEST(WalCliTest, VerifyReportsATornTail) {
  test::TempDir tmp;
  std::string wal = MakeRun(tmp, 3);
  std::string seg = test::SegmentPaths(wal)[0];
  std::filesystem::resize_file(seg, RecordOffset(3) + 50);
  test::CliResult r = Runlog("wal verify " + test::ShellQuote(wal));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("offset " + std::to_string(RecordOffset(3)) + ": torn tail"),
            std::string::npos)
      << r.out;
  // dump reads up to the torn tail and says so on stderr, exit 0 (tolerated by default)...
  test::CliResult dump = Runlog("wal dump " + test::ShellQuote(wal));
  EXPECT_EQ(dump.exit_code, 0);
  EXPECT_EQ(JsonLines(dump.out).size(), 2u);
  EXPECT_NE(dump.err.find("torn tail"), std::string::npos);
  // ...but not in strict mode.
  test::CliResult strict = Runlog("wal dump --mode strict " + test::ShellQuote(wal));
  EXPECT_EQ(strict.exit_code, 1);
  EXPECT_NE(strict.err.find("Corruption"), std::string::npos);
}

TEST(WalCliTest, DumpStopsAtMidLogCorruptionWithExitCode1) {
  test::TempDir tmp;
  std::string wal = MakeRun(tmp, 5);
  FlipByte(test::SegmentPaths(wal)[0], RecordOffset(2) + 40);
  test::CliResult r = Runlog("wal dump " + test::ShellQuote(wal));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(JsonLines(r.out).size(), 1u);
  EXPECT_NE(r.err.find("runlog: Corruption: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("offset " + std::to_string(RecordOffset(2))), std::string::npos) << r.err;
}

TEST(WalCliTest, SalvageWritesAVerifiableCopy) {
  test::TempDir tmp;
  std::string wal = MakeRun(tmp, 5);
  FlipByte(test::SegmentPaths(wal)[0], RecordOffset(2) + 40);
  std::string out = tmp.Sub("rescued");
  test::CliResult r = Runlog("wal salvage " + test::ShellQuote(wal) + " " + test::ShellQuote(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json summary = json::parse(r.out);
  EXPECT_EQ(summary["records"], 4);
  EXPECT_EQ(summary["renumbered_from"], 3);
  ASSERT_EQ(summary["skipped"].size(), 1u);
  EXPECT_EQ(summary["skipped"][0]["offset"], RecordOffset(2));
  EXPECT_EQ(summary["skipped"][0]["kind"], "checksum mismatch");
  test::CliResult verify = Runlog("wal verify " + test::ShellQuote(out));
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_EQ(JsonLines(Runlog("wal dump " + test::ShellQuote(out)).out).size(), 4u);
  // The output must be a new directory.
  EXPECT_EQ(Runlog("wal salvage " + test::ShellQuote(wal) + " " + test::ShellQuote(out)).exit_code,
            2);
}

TEST(WalCliTest, MissingPathsAndBadUsageHaveTheirExitCodes) {
  test::TempDir tmp;
  test::CliResult missing = Runlog("wal dump " + test::ShellQuote(tmp.Sub("nope")));
  EXPECT_EQ(missing.exit_code, 4);
  EXPECT_NE(missing.err.find("NotFound"), std::string::npos);
  EXPECT_EQ(Runlog("wal dump").exit_code, 2);
  EXPECT_EQ(Runlog("wal frobnicate x").exit_code, 2);
  EXPECT_EQ(Runlog("wal dump --mode lenient x").exit_code, 2);
  EXPECT_EQ(Runlog("--help").exit_code, 0);
}

TEST(WalCliTest, NotALogIsACorruptionNotACrash) {
  test::TempDir tmp;
  std::string file = tmp.Sub("notes.txt");
  test::WriteFile(file, std::string(5000, 'a'));
  test::CliResult r = Runlog("wal verify " + test::ShellQuote(file));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("bad segment header"), std::string::npos) << r.out << r.err;
  test::CliResult d = Runlog("wal dump " + test::ShellQuote(file));
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_NE(d.err.find("bad magic"), std::string::npos) << d.err;
}

}  // namespace
}  // namespace runlog
