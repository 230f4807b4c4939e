// libFuzzer target: the path rules (engine/path.h) on arbitrary bytes, the way every path a
// user or a log hands the engine reaches them. Besides "never crashes": ValidatePath
// accepts or says InvalidPath; an accepted path splits into non-empty components without
// '/' that join back into it, is under each of its whole-component prefixes, and escapes
// to itself (no control or non-UTF-8 byte in it).
//   scripts/fuzz [SECONDS]; the corpus (tests/fuzz/corpus/path) is replayed by engine_tests.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/path.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace runlog;
  const std::string_view path(reinterpret_cast<const char*>(data), size);
  const Status status = engine::ValidatePath(path);
  (void)engine::EscapePath(path);
  if (!status.ok()) {
    if (!status.Is(Code::kInvalidPath)) __builtin_trap();
    return 0;
  }
  std::string joined;
  for (std::string_view part : engine::SplitPath(path)) {
    if (part.empty() || part.find('/') != std::string_view::npos) __builtin_trap();
    joined = engine::JoinPath(joined, part);
    if (!engine::PathIsUnder(path, joined)) __builtin_trap();
  }
  if (joined != path) __builtin_trap();
  if (path.size() <= 200 && engine::EscapePath(path) != path) __builtin_trap();
  return 0;
}
