// RocksDB FileSystem wrapper injecting faults: being written.
#pragma once
