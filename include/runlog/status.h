// Status and Result<T>: how every runlog call reports success or failure.
//
// The engine core never throws. A call returns a Status (or a Result<T> holding either a
// value or a non-OK Status); the message names what, where and why (path, types, file,
// offset, LSN). Both are [[nodiscard]]: ignoring an error is a compile warning.
//
// Thread safety: Status and Result are values; distinct objects may be used from distinct
// threads freely, one object needs external synchronisation like any value.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace runlog {

// The stable error codes. Their names (CodeName) appear in CLI output and are part of the
// interface; never renumber, only append.
enum class Code : uint8_t {
  kOk = 0,
  kTypeMismatch,        // a write of another type than the field's
  kPathConflict,        // a field under a field, or a field at a namespace's path
  kInvalidPath,         // empty component, too long, bad UTF-8, control characters
  kFieldLimitExceeded,  // the run already has the maximum number of fields
  kStepNotIncreasing,   // a series point at a step <= the series' last step
  kValueTooLarge,       // a string or record over its configured limit
  kReadOnly,            // a write through a read-only handle
  kNotFound,            // no such run, field, file or LSN
  kRunLocked,           // another process holds the run's writer lock
  kCorruption,          // stored data failed a checksum, a bounds check or the Verifier
  kIOError,             // the operating system refused an operation (errno in the message)
  kInvalidArgument,     // a malformed request
  kNotSupported,        // a newer format version or an unknown record type
  kBusy,                // a bounded wait ran out (backlog full, lock held)
};

// "TypeMismatch", "IOError", ...: the code's name without the k.
std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }
  static Status TypeMismatch(std::string m) { return {Code::kTypeMismatch, std::move(m)}; }
  static Status PathConflict(std::string m) { return {Code::kPathConflict, std::move(m)}; }
  static Status InvalidPath(std::string m) { return {Code::kInvalidPath, std::move(m)}; }
  static Status FieldLimitExceeded(std::string m) {
    return {Code::kFieldLimitExceeded, std::move(m)};
  }
  static Status StepNotIncreasing(std::string m) {
    return {Code::kStepNotIncreasing, std::move(m)};
  }
  static Status ValueTooLarge(std::string m) { return {Code::kValueTooLarge, std::move(m)}; }
  static Status ReadOnly(std::string m) { return {Code::kReadOnly, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status RunLocked(std::string m) { return {Code::kRunLocked, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status IOError(std::string m) { return {Code::kIOError, std::move(m)}; }
  // An IOError naming the operation, the file and errno's text.
  static Status FromErrno(std::string_view what, std::string_view file, int err);
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status NotSupported(std::string m) { return {Code::kNotSupported, std::move(m)}; }
  static Status Busy(std::string m) { return {Code::kBusy, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  bool Is(Code code) const { return code_ == code; }

  // "Corruption: wal/00000000000000000001.wal offset 4096: ..." or "OK".
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context` and ": ".
  Status WithContext(std::string_view context) const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// The typed exception of the ergonomic layer (`run["x"] = v`, Result::value() on an error):
// it carries the Status. The core itself never throws.
class Error : public std::runtime_error {
 public:
  explicit Error(Status status)
      : std::runtime_error(status.ToString()), status_(std::move(status)) {}
  const Status& status() const { return status_; }
  Code code() const { return status_.code(); }

 private:
  Status status_;
};

// Either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    if (std::get<Status>(v_).ok()) {
      v_ = Status::InvalidArgument("Result constructed from an OK Status without a value");
    }
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  // OK when a value is held.
  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }

  // The value; throws runlog::Error carrying the status when there is none.
  T& value() & {
    ThrowIfError();
    return std::get<T>(v_);
  }
  const T& value() const& {
    ThrowIfError();
    return std::get<T>(v_);
  }
  // By value from a temporary: `for (auto& x : F().value())` must not dangle.
  T value() && {
    ThrowIfError();
    return std::get<T>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  void ThrowIfError() const {
    if (!ok()) throw Error(std::get<Status>(v_));
  }

  std::variant<T, Status> v_;
};

}  // namespace runlog

// Returns the Status of `expr` from the enclosing function when it is not OK.
#define RUNLOG_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::runlog::Status runlog_status_ = (expr);        \
    if (!runlog_status_.ok()) return runlog_status_; \
  } while (0)

#define RUNLOG_CONCAT_INNER_(a, b) a##b
#define RUNLOG_CONCAT_(a, b) RUNLOG_CONCAT_INNER_(a, b)

// `RUNLOG_ASSIGN_OR_RETURN(auto x, F());` declares x from F()'s value or returns its Status.
#define RUNLOG_ASSIGN_OR_RETURN(decl, expr)                   \
  auto RUNLOG_CONCAT_(runlog_result_, __LINE__) = (expr);     \
  if (!RUNLOG_CONCAT_(runlog_result_, __LINE__).ok())         \
    return RUNLOG_CONCAT_(runlog_result_, __LINE__).status(); \
  decl = std::move(RUNLOG_CONCAT_(runlog_result_, __LINE__)).value()
