// Fixed-width little-endian values in byte strings: the baselines' record and key encodings.
#pragma once

#include <cstring>
#include <string>

namespace runlog::compare {

template <typename T>
void AppendFixed(std::string* out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out->append(bytes, sizeof(T));
}

template <typename T>
T LoadFixed(const char* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

}  // namespace runlog::compare
