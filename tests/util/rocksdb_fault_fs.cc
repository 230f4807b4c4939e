#include "tests/util/rocksdb_fault_fs.h"
