#include "format/salvage.h"

#include "format/wal_writer.h"

namespace runlog::wal {

Result<SalvageResult> SalvageLog(const std::string& source, const std::string& out_dir,
                                 FileSystem* fs) {
  if (fs == nullptr) fs = FileSystem::Default();
  RUNLOG_ASSIGN_OR_RETURN(bool out_exists, fs->IsDirectory(out_dir));
  if (out_exists) {
    RUNLOG_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(out_dir));
    if (!names.empty()) {
      return Status::InvalidArgument("salvage output " + out_dir +
                                     " is not empty; choose a new directory");
    }
  }
  SalvageResult result;
  ReaderOptions ro;
  ro.mode = RecoveryMode::kSalvage;
  ro.return_skippable_records = true;  // copied through untouched
  ro.fs = fs;
  ro.on_damage = [&result](const Damage& d) { result.damage.push_back(d); };
  RUNLOG_ASSIGN_OR_RETURN(std::unique_ptr<Reader> reader, Reader::Open(source, ro));

  std::unique_ptr<Writer> writer;
  Record rec;
  for (;;) {
    RUNLOG_ASSIGN_OR_RETURN(bool more, reader->Next(&rec));
    if (!more) break;
    if (writer == nullptr) {
      WriterOptions wo;
      wo.durability = Durability::kNone;  // one sync at the end
      wo.run_id = reader->end().run_id;
      wo.first_lsn = rec.lsn;
      wo.fs = fs;
      RUNLOG_ASSIGN_OR_RETURN(writer, Writer::Open(out_dir, wo));
      result.first_lsn = rec.lsn;
    }
    RUNLOG_ASSIGN_OR_RETURN(Lsn lsn, writer->Append(rec.type, rec.payload));
    if (lsn != rec.lsn && result.renumbered_from == 0) result.renumbered_from = rec.lsn;
    result.last_lsn = lsn;
    ++result.records;
  }
  if (writer == nullptr) {
    return Status::NotFound("no verifiable record in " + source);
  }
  RUNLOG_RETURN_IF_ERROR(writer->Sync());
  RUNLOG_RETURN_IF_ERROR(writer->Close());
  return result;
}

}  // namespace runlog::wal
