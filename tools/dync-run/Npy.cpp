//===- Npy.cpp - NumPy .npy files for dync-run ----------------------------===//

#include "Npy.h"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>

using namespace dync::npy;

namespace {
const struct {
  const char *descr;
  dync_dtype_t dtype;
} kTypes[] = {{"<f4", DYNC_F32}, {"<f2", DYNC_F16}, {"<i4", DYNC_I32},
              {"<i8", DYNC_I64}, {"|b1", DYNC_BOOL}};
} // namespace

std::string dync::npy::parse(const std::string &content, const std::string &path, Array &out) {
  if (content.size() < 10 || content.compare(0, 6, "\x93NUMPY") != 0)
    return "'" + path + "' is not a .npy file";
  unsigned major = static_cast<unsigned char>(content[6]);
  size_t headerLen, headerStart;
  if (major == 1) {
    headerLen = static_cast<unsigned char>(content[8]) |
                (static_cast<unsigned char>(content[9]) << 8);
    headerStart = 10;
  } else {
    if (content.size() < 12)
      return "'" + path + "' is truncated";
    headerLen = 0;
    for (int i = 3; i >= 0; --i)
      headerLen = (headerLen << 8) | static_cast<unsigned char>(content[8 + i]);
    headerStart = 12;
  }
  if (headerLen > content.size() - headerStart)
    return "'" + path + "' is truncated";
  std::string header = content.substr(headerStart, headerLen);
  auto field = [&](const std::string &key) -> std::string {
    size_t k = header.find("'" + key + "'");
    if (k == std::string::npos)
      return "";
    size_t colon = header.find(':', k);
    return colon == std::string::npos ? "" : header.substr(colon + 1);
  };
  std::string descr = field("descr");
  bool found = false;
  for (const auto &t : kTypes)
    if (descr.find(std::string("'") + t.descr + "'") != std::string::npos) {
      out.dtype = t.dtype;
      found = true;
    }
  if (!found)
    return "'" + path + "': unsupported dtype (dync-run reads little-endian "
                        "f32, f16, i32, i64 and bool)";
  std::string fortran = field("fortran_order");
  if (fortran.find("True") < fortran.find(','))
    return "'" + path + "' is in Fortran order; save it in C order";
  std::string shape = field("shape");
  size_t open = shape.find('('), close = shape.find(')');
  if (open == std::string::npos || close == std::string::npos || close < open)
    return "'" + path + "': malformed shape";
  // Sizes, each checked: digits only, and a product that fits.
  uint64_t count = 1;
  const uint64_t limit = std::numeric_limits<int64_t>::max();
  size_t i = open + 1;
  while (i < close) {
    while (i < close && (shape[i] == ' ' || shape[i] == ','))
      ++i;
    if (i == close)
      break;
    size_t j = i;
    while (j < close && shape[j] >= '0' && shape[j] <= '9')
      ++j;
    if (j == i || j - i > 18)
      return "'" + path + "': malformed shape";
    uint64_t size = std::strtoull(shape.substr(i, j - i).c_str(), nullptr, 10);
    if (size != 0 && count > limit / size)
      return "'" + path + "': its shape has more elements than fit in memory";
    count *= size;
    out.shape.push_back(static_cast<int64_t>(size));
    i = j;
  }
  uint64_t esize = static_cast<uint64_t>(dync_dtype_size(out.dtype));
  if (count > limit / esize)
    return "'" + path + "': its shape has more elements than fit in memory";
  size_t bytes = static_cast<size_t>(count * esize);
  size_t dataStart = headerStart + headerLen;
  if (content.size() - dataStart < bytes)
    return "'" + path + "' holds less data than its shape needs";
  out.data.assign(content.begin() + dataStart, content.begin() + dataStart + bytes);
  return "";
}

std::string dync::npy::readFile(const std::string &path, Array &out) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return "cannot open '" + path + "'";
  std::string content((std::istreambuf_iterator<char>(in)), {});
  return parse(content, path, out);
}

std::string dync::npy::writeFile(const std::string &path, const dync_tensor_t &t) {
  const char *descr = nullptr;
  for (const auto &k : kTypes)
    if (k.dtype == t.dtype)
      descr = k.descr;
  if (!descr)
    return "cannot write dtype " + std::string(dync_dtype_name(t.dtype)) + " as .npy";
  std::string shape = "(";
  int64_t count = 1;
  for (int32_t d = 0; d < t.rank; ++d) {
    shape += std::to_string(t.shape[d]) + (t.rank == 1 ? "," : d + 1 < t.rank ? ", " : "");
    count *= t.shape[d];
  }
  shape += ")";
  std::string header = std::string("{'descr': '") + descr +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64)
    header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out)
    return "cannot write '" + path + "'";
  out.write("\x93NUMPY\x01\x00", 8);
  char len[2] = {static_cast<char>(header.size() & 0xff),
                 static_cast<char>(header.size() >> 8)};
  out.write(len, 2);
  out.write(header.data(), header.size());
  out.write(static_cast<const char *>(t.data), count * dync_dtype_size(t.dtype));
  return out ? "" : "writing '" + path + "' failed";
}
