// Output helpers shared by the runlog commands: one JSON object per line, flushed, and the
// forms numbers and strings take for people.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "runlog/status.h"

namespace runlog::cli {

// Output objects keep their keys in the documented order ({"line","lsn"}, {"path",...}).
using Out = nlohmann::ordered_json;

// Prints `j` as one line and flushes it to the kernel (it survives kill -9 of this process).
void Emit(const Out& j);
// {"code":"TypeMismatch","message":"..."}
Out ErrorJson(const Status& s);
// A double for people: shortest round-trip form, non-finite values as NaN/Infinity.
std::string FloatText(double v);
// A step for people: integral steps without a fraction ("7", not "7.0").
std::string StepText(double step);
// A string on one line of line-oriented output: \n, \t, \r and \\ escaped.
std::string OneLine(std::string_view s);

}  // namespace runlog::cli
