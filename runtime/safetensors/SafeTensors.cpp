//===- SafeTensors.cpp - read-only, validated safetensors files -----------===//

#include "SafeTensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dync::safetensors {

namespace {
struct DTypeEntry {
  const char *name;
  DType dtype;
  unsigned size;
};
constexpr DTypeEntry kDTypes[] = {
    {"F64", DType::F64, 8}, {"F32", DType::F32, 4}, {"F16", DType::F16, 2},
    {"BF16", DType::BF16, 2}, {"I64", DType::I64, 8}, {"I32", DType::I32, 4},
    {"I16", DType::I16, 2}, {"I8", DType::I8, 1},   {"U8", DType::U8, 1},
    {"BOOL", DType::Bool, 1},
};

/// Headers larger than this are rejected as corrupt rather than parsed.
constexpr uint64_t kMaxHeaderSize = 100u << 20;
} // namespace

const char *dtypeName(DType dtype) {
  for (const DTypeEntry &e : kDTypes)
    if (e.dtype == dtype)
      return e.name;
  return "?";
}

unsigned dtypeSize(DType dtype) {
  for (const DTypeEntry &e : kDTypes)
    if (e.dtype == dtype)
      return e.size;
  return 0;
}

uint64_t TensorInfo::numElements() const {
  uint64_t n = 1;
  for (int64_t d : shape)
    n *= static_cast<uint64_t>(d);
  return n;
}

const TensorInfo *File::find(const std::string &name) const {
  for (const TensorInfo &t : tensors_)
    if (t.name == name)
      return &t;
  return nullptr;
}

File::~File() {
  if (mapping_)
    munmap(mapping_, mappingSize_);
}

/// Parses one header entry; returns an empty string or the problem.
static std::string parseEntry(const std::string &name,
                              const nlohmann::json &entry, uint64_t dataSize,
                              TensorInfo &info) {
  if (!entry.is_object())
    return "entry is not an object";
  auto dtype = entry.find("dtype");
  if (dtype == entry.end() || !dtype->is_string())
    return "missing string 'dtype'";
  const std::string &dtypeStr = dtype->get_ref<const std::string &>();
  const DTypeEntry *found = nullptr;
  for (const DTypeEntry &e : kDTypes)
    if (dtypeStr == e.name)
      found = &e;
  if (!found)
    return "unsupported dtype '" + dtypeStr + "'";
  info.dtype = found->dtype;

  auto shape = entry.find("shape");
  if (shape == entry.end() || !shape->is_array())
    return "missing array 'shape'";
  uint64_t elements = 1;
  for (const nlohmann::json &d : *shape) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0)
      return "shape entries must be non-negative integers";
    int64_t v = d.get<int64_t>();
    if (v != 0 && elements > std::numeric_limits<uint64_t>::max() / 16 /
                                 static_cast<uint64_t>(v))
      return "shape is too large";
    elements *= static_cast<uint64_t>(v);
    info.shape.push_back(v);
  }

  auto offsets = entry.find("data_offsets");
  if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 ||
      !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned())
    return "'data_offsets' must be two non-negative integers";
  info.begin = (*offsets)[0].get<uint64_t>();
  info.end = (*offsets)[1].get<uint64_t>();
  if (info.begin > info.end)
    return "'data_offsets' begin " + std::to_string(info.begin) +
           " is after end " + std::to_string(info.end);
  if (info.end > dataSize)
    return "data [" + std::to_string(info.begin) + ", " +
           std::to_string(info.end) + ") runs past the end of the file (" +
           std::to_string(dataSize) + " data bytes): the file is truncated";
  uint64_t expected = elements * found->size;
  if (info.end - info.begin != expected)
    return "holds " + std::to_string(info.end - info.begin) + " bytes but " +
           dtypeStr + " of shape has " + std::to_string(elements) +
           " elements (" + std::to_string(expected) + " bytes)";
  info.name = name;
  return "";
}

std::unique_ptr<File> File::open(const std::string &path, std::string &error) {
  auto fail = [&](const std::string &what) {
    error = "weights file '" + path + "': " + what;
    return nullptr;
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    ::close(fd);
    return fail(std::strerror(errno));
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    return fail("truncated: " + std::to_string(size) +
                " bytes, shorter than the 8-byte header length");
  }
  void *mapping = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (mapping == MAP_FAILED)
    return fail(std::string("cannot map: ") + std::strerror(errno));

  std::unique_ptr<File> file(new File());
  file->path_ = path;
  file->mapping_ = mapping;
  file->mappingSize_ = size;
  if (!file->parse(static_cast<const uint8_t *>(mapping), size, error))
    return nullptr;
  return file;
}

void File::release(const TensorInfo &info) const {
  if (!mapping_)
    return;
  long pageSize = sysconf(_SC_PAGESIZE);
  uintptr_t page = pageSize > 0 ? static_cast<uintptr_t>(pageSize) : 4096;
  uintptr_t begin = reinterpret_cast<uintptr_t>(data(info));
  uintptr_t end = begin + (info.end - info.begin);
  begin = (begin + page - 1) / page * page;
  end = end / page * page;
  // Advice only: a failure leaves the pages resident, which is harmless.
  if (begin < end)
    (void)madvise(reinterpret_cast<void *>(begin), end - begin, MADV_DONTNEED);
}

std::unique_ptr<File> File::fromMemory(const uint8_t *data, uint64_t size,
                                       const std::string &name,
                                       std::string &error) {
  std::unique_ptr<File> file(new File());
  file->path_ = name;
  if (size < 8) {
    error = "weights file '" + name + "': truncated: " + std::to_string(size) +
            " bytes, shorter than the 8-byte header length";
    return nullptr;
  }
  if (!file->parse(data, size, error))
    return nullptr;
  return file;
}

bool File::parse(const uint8_t *bytes, uint64_t size, std::string &error) {
  auto fail = [&](const std::string &what) {
    error = "weights file '" + path_ + "': " + what;
    return false;
  };
  uint64_t headerSize = 0;
  for (int i = 7; i >= 0; --i)
    headerSize = (headerSize << 8) | bytes[i];
  if (headerSize > kMaxHeaderSize)
    return fail("corrupt: header length " + std::to_string(headerSize) +
                " is implausibly large");
  if (8 + headerSize > size)
    return fail("truncated: the header needs " + std::to_string(headerSize) +
                " bytes but only " + std::to_string(size - 8) + " follow");

  nlohmann::json header = nlohmann::json::parse(
      bytes + 8, bytes + 8 + headerSize, /*cb=*/nullptr,
      /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object())
    return fail("corrupt: the header is not a JSON object");

  dataSection_ = bytes + 8 + headerSize;
  uint64_t dataSize = size - 8 - headerSize;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__")
      continue;
    TensorInfo info;
    std::string problem = parseEntry(it.key(), it.value(), dataSize, info);
    if (!problem.empty())
      return fail("tensor '" + it.key() + "': " + problem);
    tensors_.push_back(std::move(info));
  }

  std::sort(tensors_.begin(), tensors_.end(),
            [](const TensorInfo &a, const TensorInfo &b) {
              return a.begin < b.begin || (a.begin == b.begin && a.end < b.end);
            });
  for (size_t i = 1; i < tensors_.size(); ++i) {
    const TensorInfo &prev = tensors_[i - 1];
    const TensorInfo &cur = tensors_[i];
    if (cur.begin < prev.end && cur.end > cur.begin)
      return fail("corrupt: tensors '" + prev.name + "' and '" + cur.name +
                  "' overlap");
  }
  return true;
}

bool write(const std::string &path, const std::vector<OutTensor> &tensors,
           std::string &error) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  std::vector<uint64_t> sizes;
  uint64_t offset = 0;
  for (const OutTensor &t : tensors) {
    uint64_t n = 1;
    for (int64_t d : t.shape)
      n *= static_cast<uint64_t>(d);
    uint64_t bytes = n * dtypeSize(t.dtype);
    header[t.name] = {{"dtype", dtypeName(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + bytes}}};
    sizes.push_back(bytes);
    offset += bytes;
  }
  // A name that is not UTF-8 (a fuzzed or broken model's) is written with
  // U+FFFD in its place, never thrown over: looking the tensor up by its
  // name then fails with a message.
  std::string text = header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text.append((8 - text.size() % 8) % 8, ' ');
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f) {
    error = "cannot write weights file '" + path + "': " + std::strerror(errno);
    return false;
  }
  uint64_t len = text.size();
  bool ok = std::fwrite(&len, 8, 1, f) == 1 && std::fwrite(text.data(), 1, len, f) == len;
  for (size_t i = 0; ok && i < tensors.size(); ++i)
    ok = sizes[i] == 0 || std::fwrite(tensors[i].data, 1, sizes[i], f) == sizes[i];
  ok = std::fclose(f) == 0 && ok;
  if (!ok)
    error = "cannot write weights file '" + path + "': " + std::strerror(errno);
  return ok;
}

} // namespace dync::safetensors
