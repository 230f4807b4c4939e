#include "engine/path.h"

#include <cstdint>
#include <cstdio>
#include <string>

namespace runlog::engine {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0. Rejects overlong forms, surrogates and
// code points past U+10FFFF.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
      (cp >= 0xd800 && cp <= 0xdfff)) {
    return 0;
  }
  return n;
}

// True for C1 controls U+0080..U+009F, encoded as C2 80..C2 9F.
bool IsC1Control(std::string_view s, size_t i, size_t n) {
  return n == 2 && static_cast<unsigned char>(s[i]) == 0xc2 &&
         static_cast<unsigned char>(s[i + 1]) <= 0x9f;
}

Status Invalid(std::string_view path, const std::string& why) {
  return Status::InvalidPath("invalid path \"" + EscapePath(path) + "\": " + why);
}

}  // namespace

std::string EscapePath(std::string_view path) {
  std::string out;
  const std::string_view shown = path.substr(0, 200);
  for (size_t i = 0; i < shown.size();) {
    size_t n = Utf8SequenceLength(shown, i);
    if (n == 0 || static_cast<unsigned char>(shown[i]) < 0x20 || shown[i] == 0x7f ||
        IsC1Control(shown, i, n)) {
      n = n == 0 ? 1 : n;
      for (size_t k = 0; k < n; ++k) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(shown[i + k]));
        out += buf;
      }
    } else {
      out.append(shown.substr(i, n));
    }
    i += n;
  }
  if (shown.size() < path.size()) out += "...";
  return out;
}

Status ValidatePath(std::string_view path) {
  if (path.empty()) return Invalid(path, "empty");
  if (path.size() > kMaxPathBytes) {
    return Invalid(path, std::to_string(path.size()) + " bytes, over the limit of " +
                             std::to_string(kMaxPathBytes));
  }
  if (path.front() == '/' || path.back() == '/' || path.find("//") != std::string_view::npos) {
    return Invalid(path, "empty component");
  }
  for (size_t i = 0; i < path.size();) {
    const size_t n = Utf8SequenceLength(path, i);
    if (n == 0) return Invalid(path, "bad UTF-8 at byte " + std::to_string(i));
    const unsigned char c = static_cast<unsigned char>(path[i]);
    if (c < 0x20 || c == 0x7f || IsC1Control(path, i, n)) {
      return Invalid(path, "control character at byte " + std::to_string(i));
    }
    i += n;
  }
  return Status::OK();
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

std::string JoinPath(std::string_view ns, std::string_view name) {
  if (ns.empty()) return std::string(name);
  if (name.empty()) return std::string(ns);
  std::string out(ns);
  out += '/';
  out += name;
  return out;
}

bool PathIsUnder(std::string_view path, std::string_view prefix) {
  if (!path.starts_with(prefix)) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

}  // namespace runlog::engine
