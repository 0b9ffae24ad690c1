//===- SafeTensors.h - read-only, validated safetensors files ---*- C++ -*-===//
//
// A safetensors file is an 8-byte little-endian header length N, N bytes of
// JSON describing each tensor (dtype, shape, [begin, end) byte offsets into
// the data section), then the data section. This reader maps the file and
// validates every entry before anyone reads a byte of data: offsets in range,
// sizes equal to dtype size × element count, no two tensors overlapping.
//
// Dependencies: the C++ standard library and POSIX only (shared by the
// compiler and the runtime).
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_SAFETENSORS_H
#define DYNC_SAFETENSORS_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dync::safetensors {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };

/// The spelling used in safetensors headers ("F32", "BF16", ...).
const char *dtypeName(DType dtype);
/// The size of one element in bytes.
unsigned dtypeSize(DType dtype);

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  /// Byte range in the data section.
  uint64_t begin = 0, end = 0;

  uint64_t numElements() const;
};

/// A mapped, validated safetensors file. Immutable after open; safe to read
/// from several threads.
class File {
public:
  /// Maps and validates `path`. On failure returns null and sets `error` to a
  /// message that names the file and the problem.
  static std::unique_ptr<File> open(const std::string &path,
                                    std::string &error);
  /// Validates safetensors bytes held in memory (weights embedded in a
  /// compiled model); `data` must outlive the File. `name` is for messages.
  static std::unique_ptr<File> fromMemory(const uint8_t *data, uint64_t size,
                                          const std::string &name,
                                          std::string &error);
  ~File();
  File(const File &) = delete;
  File &operator=(const File &) = delete;

  /// The tensor called `name`, or null.
  const TensorInfo *find(const std::string &name) const;
  /// All tensors, in the order of their data offsets.
  const std::vector<TensorInfo> &tensors() const { return tensors_; }
  /// The first byte of a tensor's data.
  const uint8_t *data(const TensorInfo &info) const {
    return dataSection_ + info.begin;
  }
  const std::string &path() const { return path_; }
  /// Drops the pages of a mapped file that lie wholly inside `info`'s data
  /// from memory (they are read from the file again if the tensor is read):
  /// for a tensor the runtime has copied. Does nothing for bytes in memory.
  void release(const TensorInfo &info) const;

private:
  File() = default;
  /// Parses and validates the header of `bytes` (the whole file).
  bool parse(const uint8_t *bytes, uint64_t size, std::string &error);

  std::string path_;
  void *mapping_ = nullptr;
  uint64_t mappingSize_ = 0;
  const uint8_t *dataSection_ = nullptr;
  std::vector<TensorInfo> tensors_;
};

/// A tensor to write: its bytes are `data`, `numElements() * dtypeSize` long.
struct OutTensor {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const void *data;
};

/// Writes `tensors` as a safetensors file at `path` (data 8-byte aligned, in
/// the given order). On failure returns false and sets `error`.
bool write(const std::string &path, const std::vector<OutTensor> &tensors,
           std::string &error);

} // namespace dync::safetensors

#endif // DYNC_SAFETENSORS_H
