//===- Passes.h - Codegen passes ---------------------------------------*- C++ -*-===//
//
// Code generation shared by targets: host ABI, fusion, memory plan, math.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_PASSES_CODEGEN_PASSES_H
#define DYNC_PASSES_CODEGEN_PASSES_H

#include "dync/Passes/Common.h"

namespace dync {

#define GEN_PASS_DECL
#include "dync/Passes/Codegen/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "dync/Passes/Codegen/Passes.h.inc"

} // namespace dync

#endif // DYNC_PASSES_CODEGEN_PASSES_H
