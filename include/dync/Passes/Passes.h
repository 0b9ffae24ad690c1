//===- Passes.h - every dync pass -------------------------------*- C++ -*-===//
//
// The passes by phase, in data-flow order: partitioning, the conversion of
// dyn ops to upstream ops, code generation shared by targets, and the CPU
// and CUDA targets' own passes.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_PASSES_PASSES_H
#define DYNC_PASSES_PASSES_H

#include "dync/Passes/CPU/Passes.h"
#include "dync/Passes/CUDA/Passes.h"
#include "dync/Passes/Codegen/Passes.h"
#include "dync/Passes/Conversion/Passes.h"
#include "dync/Passes/Partition/Passes.h"

#endif // DYNC_PASSES_PASSES_H
