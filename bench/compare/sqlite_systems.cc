// Placeholder until the systems land (being written now).
#include <stdexcept>

#include "bench/compare/store.h"

namespace runlog::compare {
std::unique_ptr<System> MakeSqliteOpsSystem() { throw std::runtime_error("not built yet"); }
std::unique_ptr<System> MakeSqliteRowsSystem() { throw std::runtime_error("not built yet"); }
}  // namespace runlog::compare
