// Field paths: "a/b/c", UTF-8, '/'-separated. The rules of DESIGN §1 in one place, used by
// the eager checks of the API and, again, by the commit.
//
// Thread safety: free functions; safe from any thread.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "runlog/status.h"

namespace runlog::engine {

inline constexpr size_t kMaxPathBytes = 1024;

// OK, or InvalidPath naming the path (escaped) and the rule it breaks: empty, longer than
// kMaxPathBytes, an empty component (leading, trailing or doubled '/'), bad UTF-8 (with its
// byte offset), or a control character (C0, DEL, C1; with its byte offset).
Status ValidatePath(std::string_view path);

// The components of a valid path.
std::vector<std::string_view> SplitPath(std::string_view path);

// "a/b" for ("a", "b"); either side may be empty.
std::string JoinPath(std::string_view ns, std::string_view name);

// The path with control and non-UTF-8 bytes escaped as \xNN, for error messages.
std::string EscapePath(std::string_view path);

// True when `path` is `prefix` or lies under it ("a/b" is under "a", "ab" is not).
bool PathIsUnder(std::string_view path, std::string_view prefix);

}  // namespace runlog::engine
