// runlog's public API in one include: Repository, Run, FieldHandle, values, Status.
#pragma once

#include "runlog/repository.h"  // IWYU pragma: export
#include "runlog/run.h"         // IWYU pragma: export
#include "runlog/status.h"      // IWYU pragma: export
#include "runlog/value.h"       // IWYU pragma: export
