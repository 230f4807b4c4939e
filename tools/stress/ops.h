// Calls of the public Run API as data, for the stress driver (tools/stress/driver.cc): one
// Op per call, how it is made on a Run, how it reads in a failure message, and the reports
// its child process sends the driver through a pipe.
//
// The pipe carries frames (u32 body size, u8 MsgType, u8 thread, body), each written with one
// write() of at most PIPE_BUF bytes, so that the frames of the child's threads never
// interleave. A kIntent body is an Intent, a kResult body a CallResult, a kFatal body text,
// a kEvent body the name of a file event (tools/stress/power_loss.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "format/records.h"
#include "runlog/runlog.h"

namespace runlog::stress {

// ---- operations ----------------------------------------------------------------------

enum class OpKind : uint8_t {
  kAssignFloat,
  kAssignInt,
  kAssignBool,
  kAssignString,
  kAssignDatetime,
  kAppend,
  kExtend,
  kAppendString,
  kExtendStrings,
  kAddStrings,
  kRemoveStrings,
  kClear,
  kDelete,
  kMarkFailed,
};

inline constexpr const char* kOpNames[] = {
    "AssignFloat",   "AssignInt", "AssignBool",   "AssignString",  "AssignDatetime",
    "Append",        "Extend",    "AppendString", "ExtendStrings", "AddStrings",
    "RemoveStrings", "Clear",     "Delete",       "MarkFailed"};

inline const char* OpName(OpKind k) {
  return kOpNames[static_cast<int>(k)];
}

// One call of the public API with everything it carries.
struct Op {
  OpKind kind = OpKind::kAssignInt;
  std::string path;
  double f = 0;                      // AssignFloat
  int64_t i = 0;                     // AssignInt, AssignDatetime (micros), AssignBool (0/1)
  std::vector<double> values;        // Append (one), Extend
  std::vector<std::string> strings;  // AssignString, AppendString (one), ExtendStrings, sets,
                                     // MarkFailed (the reason)
  std::vector<double> steps;         // series: empty for the default steps
  std::vector<int64_t> timestamps;   // series: empty for "now"
};

// The log record a successful call of `k` writes.
wal::RecordType RecordOf(OpKind k);

// The type of the field an operation writes (kNone: clear, delete, MarkFailed).
FieldType TypeOf(OpKind k);

// The points (or set members) an operation carries.
size_t PointCount(const Op& op);

// The call in one line, for failure messages.
std::string Describe(const Op& op);

// Makes the call on `run`: its LSN or its error.
Result<uint64_t> Execute(Run& run, const Op& op);

// ---- the stress child and its reports -----------------------------------------

// The run the child logs into, resumed by this custom id in every life.
inline constexpr char kCrashRunId[] = "crash-sweep";
// The child's end of the report pipe.
inline constexpr int kCrashChildPipeFd = 100;

// Which thread of the child writes `path`: w<t>/..., sys/ (and MarkFailed's "") is thread
// 0's; -1 for any other path.
int ThreadOfPath(std::string_view path);

// Microseconds since the epoch: the clock of Intent::t0 and CallResult::t1.
int64_t NowMicros();

enum class MsgType : uint8_t { kOpening = 1, kReady, kIntent, kResult, kFatal, kEvent };

struct Message {
  MsgType type = MsgType::kFatal;
  uint8_t thread = 0;
  std::string body;
};

// A frame of `body` (see the file comment).
std::string Frame(MsgType type, int thread, const std::string& body);

// Takes the first complete frame off `buf`; false while there is none.
bool PopFrame(std::string* buf, Message* m);

// Reported before a call.
struct Intent {
  Op op;
  int64_t t0 = 0;  // before the call
};

// Reported after a call.
struct CallResult {
  Code code = Code::kOk;
  uint64_t lsn = 0;            // 0 unless the call succeeded
  int64_t t1 = 0;              // after the call
  uint64_t committed_lsn = 0;  // the run's, after the call
};

std::string EncodeIntent(const Intent& intent);
std::string EncodeResult(const CallResult& result);
// False for a body that is not exactly one Intent or CallResult.
[[nodiscard]] bool DecodeIntent(std::string_view body, Intent* intent);
[[nodiscard]] bool DecodeResult(std::string_view body, CallResult* result);

}  // namespace runlog::stress
