// Reads of a run's committed state (DESIGN §6), over its RocksDB: field lookup, atoms,
// series ranges and summaries, sets, structure, rejected operations. Each read uses one
// snapshot, so it sees one committed batch boundary.
//
// Thread safety: free functions over a RunStore; safe from many threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/store.h"
#include "engine/store_format.h"
#include "runlog/value.h"

namespace runlog::engine {

// The committed applied LSN (0 when nothing is committed).
Result<uint64_t> ReadAppliedLsn(const RunStore& store);

// The field at `path`: NotFound naming the path (and saying when it is a namespace).
Result<Field> LookupField(const RunStore& store, std::string_view path);

Result<Atom> QueryAtom(const RunStore& store, std::string_view path);
Result<SeriesSummary> QueryLast(const RunStore& store, std::string_view path);
Result<SeriesValues> QueryValues(const RunStore& store, std::string_view path,
                                 const SeriesRange& range);
Result<std::vector<std::string>> QuerySet(const RunStore& store, std::string_view path);
Result<std::vector<FieldInfo>> QueryStructure(const RunStore& store);
Result<std::vector<ErrorEntry>> QueryErrors(const RunStore& store);

// The public type of an engine field type.
inline runlog::FieldType PublicType(FieldType t) {
  return static_cast<runlog::FieldType>(t);
}

}  // namespace runlog::engine
