#include "tools/cli_output.h"

#include <cmath>
#include <cstdint>
#include <iostream>

#include "format/record_json.h"

namespace runlog::cli {

using nlohmann::json;
using wal::FloatToJson;

// ---- output ---------------------------------------------------------------------------

void Emit(const Out& j) {
  std::cout << j.dump(-1, ' ', false, Out::error_handler_t::replace) << '\n' << std::flush;
}

Out ErrorJson(const Status& s) {
  return {{"code", std::string(CodeName(s.code()))}, {"message", s.message()}};
}

std::string FloatText(double v) {
  json j = FloatToJson(v);
  return j.is_string() ? j.get<std::string>() : j.dump();
}

std::string StepText(double step) {
  if (std::isfinite(step) && step == std::trunc(step) && std::fabs(step) < 9007199254740992.0) {
    return std::to_string(static_cast<int64_t>(step));
  }
  return FloatText(step);
}

std::string OneLine(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\\': out += "\\\\"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace runlog::cli
