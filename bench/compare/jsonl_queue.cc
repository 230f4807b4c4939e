// Placeholder until the system lands (being written now).
#include <stdexcept>

#include "bench/compare/store.h"

namespace runlog::compare {
std::unique_ptr<System> MakeJsonlQueueSystem() { throw std::runtime_error("jsonl_queue.cc: not built yet"); }
}  // namespace runlog::compare
