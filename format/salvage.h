// Copying every verifiable record of a damaged log into a new, clean log.
//
// Thread safety: one call works on its own files; the source may be read by others
// meanwhile, but must not be written.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "format/file_system.h"
#include "format/log_format.h"
#include "format/wal_reader.h"
#include "runlog/status.h"

namespace runlog::wal {

struct SalvageResult {
  uint64_t records = 0;  // records copied
  Lsn first_lsn = 0;     // LSN of the first copied record (kept as it was)
  Lsn last_lsn = 0;      // LSN of the last copied record in the new log
  // The first source LSN that got a new number (records after a lost range are numbered
  // densely in the new log); 0 when every record kept its LSN.
  Lsn renumbered_from = 0;
  std::vector<Damage> damage;  // every damaged range that was skipped
};

// Reads `source` (a segment file, a wal/ or a run directory) in RecoveryMode::kSalvage and
// appends each verifiable record, in order, to a new log in `out_dir`, which must not
// exist or be empty. The new log belongs to the same run and starts at the first copied
// record's LSN. The result lists what was skipped.
Result<SalvageResult> SalvageLog(const std::string& source, const std::string& out_dir,
                                 FileSystem* fs = nullptr);

}  // namespace runlog::wal
