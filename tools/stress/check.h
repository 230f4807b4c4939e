// The stress driver's checks: a failed check throws a Failure that names the file, the
// line, the condition and whatever was streamed into it. The driver catches it at the top,
// prints it with the seed, and exits 1. Checks stay on in every build.
//
//   STRESS_CHECK(run.ok()) << run.status().ToString();
//   STRESS_CHECK_EQ(got, want) << path;          // also prints both values when it can
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace runlog::stress {

class Failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Collects a failure's message; throws it at the end of the full expression.
class FailureBuilder {
 public:
  FailureBuilder(const char* file, int line, const char* what) {
    os_ << file << ":" << line << ": " << what;
  }
  FailureBuilder(const FailureBuilder&) = delete;
  FailureBuilder& operator=(const FailureBuilder&) = delete;
  ~FailureBuilder() noexcept(false) { throw Failure(os_.str()); }

  template <typename T>
  FailureBuilder& operator<<(const T& v) {
    if (!started_) {
      os_ << ": ";
      started_ = true;
    }
    os_ << v;
    return *this;
  }

 private:
  std::ostringstream os_;
  bool started_ = false;
};

template <typename T, typename = void>
struct Printable : std::false_type {};
template <typename T>
struct Printable<T,
                 std::void_t<decltype(std::declval<std::ostream&>() << std::declval<const T&>())>>
    : std::true_type {};

template <typename T>
std::string Show(const T& v) {
  if constexpr (Printable<T>::value) {
    std::ostringstream os;
    os << v;
    return os.str();
  } else {
    return "(a value)";
  }
}

// Empty when `cmp(a, b)` holds, else the failure's text with both values.
template <typename A, typename B, typename Cmp>
std::string CheckOp(const A& a, const B& b, Cmp cmp, const char* text) {
  if (cmp(a, b)) return {};
  return std::string(text) + " (" + Show(a) + " vs " + Show(b) + ")";
}

}  // namespace runlog::stress

#define STRESS_CHECK(cond) \
  if (cond) {              \
  } else                   \
    ::runlog::stress::FailureBuilder(__FILE__, __LINE__, "check failed: " #cond)

#define STRESS_CHECK_OP(a, op, b)                                                                  \
  if (const std::string stress_failed =                                                            \
          ::runlog::stress::CheckOp((a), (b), [](const auto& x, const auto& y) { return x op y; }, \
                                    "check failed: " #a " " #op " " #b);                           \
      stress_failed.empty()) {                                                                     \
  } else                                                                                           \
    ::runlog::stress::FailureBuilder(__FILE__, __LINE__, stress_failed.c_str())

#define STRESS_CHECK_EQ(a, b) STRESS_CHECK_OP(a, ==, b)
#define STRESS_CHECK_GT(a, b) STRESS_CHECK_OP(a, >, b)
#define STRESS_CHECK_LT(a, b) STRESS_CHECK_OP(a, <, b)

// A failure with no condition.
#define STRESS_FAIL() ::runlog::stress::FailureBuilder(__FILE__, __LINE__, "failed")
