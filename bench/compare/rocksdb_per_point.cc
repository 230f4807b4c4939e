// Placeholder until the system lands (being written now).
#include <stdexcept>

#include "bench/compare/store.h"

namespace runlog::compare {
std::unique_ptr<System> MakeRocksdbPerPointSystem() { throw std::runtime_error("rocksdb_per_point.cc: not built yet"); }
}  // namespace runlog::compare
