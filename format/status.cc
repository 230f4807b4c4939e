#include "runlog/status.h"

#include <cstring>

namespace runlog {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kTypeMismatch: return "TypeMismatch";
    case Code::kPathConflict: return "PathConflict";
    case Code::kInvalidPath: return "InvalidPath";
    case Code::kFieldLimitExceeded: return "FieldLimitExceeded";
    case Code::kStepNotIncreasing: return "StepNotIncreasing";
    case Code::kValueTooLarge: return "ValueTooLarge";
    case Code::kReadOnly: return "ReadOnly";
    case Code::kNotFound: return "NotFound";
    case Code::kRunLocked: return "RunLocked";
    case Code::kCorruption: return "Corruption";
    case Code::kIOError: return "IOError";
    case Code::kInvalidArgument: return "InvalidArgument";
    case Code::kNotSupported: return "NotSupported";
    case Code::kBusy: return "Busy";
  }
  return "Unknown";
}

Status Status::FromErrno(std::string_view what, std::string_view file, int err) {
  std::string m(what);
  m += " ";
  m += file;
  m += ": ";
  m += std::strerror(err);
  return Status(Code::kIOError, std::move(m));
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s(CodeName(code_));
  s += ": ";
  s += message_;
  return s;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string m(context);
  m += ": ";
  m += message_;
  return Status(code_, std::move(m));
}

}  // namespace runlog
