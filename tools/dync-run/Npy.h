//===- Npy.h - NumPy .npy files for dync-run ------------------*- C++ -*-===//
//
// C-order little-endian arrays of the dtypes libdyncrt takes. The reader
// takes any bytes: a malformed file is a message, never a crash (it is
// fuzzed, fuzz/npy.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_TOOLS_DYNCRUN_NPY_H
#define DYNC_TOOLS_DYNCRUN_NPY_H

#include "dync/runtime.h"

#include <cstdint>
#include <string>
#include <vector>

namespace dync::npy {

struct Array {
  dync_dtype_t dtype = DYNC_F32;
  std::vector<int64_t> shape;
  std::vector<char> data;
};

/// Parses the bytes of a .npy file named `path` (for messages); returns an
/// empty string, or the problem.
std::string parse(const std::string &content, const std::string &path, Array &out);
/// Reads and parses a .npy file.
std::string readFile(const std::string &path, Array &out);
/// Writes `t` as a .npy file; returns an empty string, or the problem.
std::string writeFile(const std::string &path, const dync_tensor_t &t);

} // namespace dync::npy

#endif // DYNC_TOOLS_DYNCRUN_NPY_H
