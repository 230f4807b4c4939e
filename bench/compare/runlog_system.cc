// Placeholder until the system lands (being written now).
#include <stdexcept>

#include "bench/compare/store.h"

namespace runlog::compare {
std::unique_ptr<System> MakeRunlogSystem() { throw std::runtime_error("runlog_system.cc: not built yet"); }
}  // namespace runlog::compare
