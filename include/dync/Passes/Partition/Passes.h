//===- Passes.h - Partition passes -------------------------------------*- C++ -*-===//
//
// Partitioning: dyn-level IR to static subgraphs and a host program.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_PASSES_PARTITION_PASSES_H
#define DYNC_PASSES_PARTITION_PASSES_H

#include "dync/Passes/Common.h"

namespace dync {

#define GEN_PASS_DECL
#include "dync/Passes/Partition/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "dync/Passes/Partition/Passes.h.inc"

} // namespace dync

#endif // DYNC_PASSES_PARTITION_PASSES_H
