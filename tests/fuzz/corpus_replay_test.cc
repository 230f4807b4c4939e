// Replays the committed fuzz corpus through the fuzz target as an ordinary test, so every
// input the fuzzer ever kept is checked in CI without libFuzzer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

// Each test binary links one fuzz target; RUNLOG_FUZZ_TARGET names its corpus.
TEST(FuzzCorpusTest, CorpusReplaysCleanly) {
  const std::filesystem::path dir =
      std::filesystem::path(RUNLOG_FUZZ_CORPUS_DIR) / RUNLOG_FUZZ_TARGET;
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  size_t inputs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    SCOPED_TRACE(entry.path().string());
    EXPECT_EQ(LLVMFuzzerTestOneInput(bytes.data(), bytes.size()), 0);
    ++inputs;
  }
  EXPECT_GE(inputs, 8u) << "the corpus should hold the seeds at least";
}

}  // namespace
