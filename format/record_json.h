// Decoding a verified record payload into JSON, for `runlog wal dump` and error reports.
//
// Conventions shared with the CLI: non-finite floats are the strings "NaN", "Infinity",
// "-Infinity"; times are RFC 3339 UTC strings with microseconds; hashes are 32 hex digits
// (XXH3-128, high half first); run uuids are 32 hex digits.
//
// Thread safety: free functions; safe from any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "runlog/status.h"

namespace runlog::wal {

// The operation of a payload that passed VerifyPayload(type, payload), as a JSON object
// with the schema's field names. An unknown safe-to-ignore type gives {"bytes": N}.
nlohmann::json PayloadToJson(uint16_t type, std::span<const uint8_t> payload);

// JSON for a double: a number, or "NaN" / "Infinity" / "-Infinity".
nlohmann::json FloatToJson(double v);
// "2026-11-29T09:34:06.123456Z".
std::string FormatTimeMicros(int64_t micros);

}  // namespace runlog::wal
