//===- Shapes.h - symbolic shapes of a model being built --------*- C++ -*-===//
//
// Every value of a model under import carries its shape symbolically: static
// sizes, model dims by name (`B`, `S`), the live batch of a per-sample
// subgraph, products of those (`B·S`) and derived sizes (`B[0:5]`). Front
// ends and op builders reason about shapes with these, and the IR's types
// only say "dynamic".
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_LIB_IMPORT_BUILDER_SHAPES_H
#define DYNC_LIB_IMPORT_BUILDER_SHAPES_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>
#include <string>
#include <vector>

namespace dync::import {

using mlir::RankedTensorType;
using mlir::ShapedType;
using mlir::Type;
using mlir::Value;
using llvm::ArrayRef;
using llvm::SmallVector;

/// The name of the live batch inside per-sample subgraphs. Not a valid dim
/// name in a model, so it never collides.
inline constexpr const char *kLive = "live batch";

/// A dimension: a static size, or a symbolic size known only at run time. A
/// symbolic size is a product of a static factor and atoms: model dim names,
/// the live batch, or derived sizes such as a slice of a dynamic dim
/// (`B[0:5]`). `sym` spells it canonically (`B`, `B·S`, `4·B`), so two dims
/// are equal exactly when their spellings are.
struct Dim {
  int64_t size = 0;
  std::string sym;
  /// For a symbolic dim: its static factor and its atoms, sorted.
  int64_t factor = 1;
  std::vector<std::string> atoms;

  static Dim of(int64_t s) { return Dim{s, "", 1, {}}; }
  static Dim named(std::string n) {
    Dim d{ShapedType::kDynamic, n, 1, {}};
    d.atoms.push_back(std::move(n));
    return d;
  }
  /// `factor` times the product of `atoms`; static if there are none.
  static Dim product(int64_t factor, std::vector<std::string> atoms) {
    if (atoms.empty())
      return of(factor);
    llvm::sort(atoms);
    if (factor == 1 && atoms.size() == 1)
      return named(atoms[0]);
    std::string sym = factor == 1 ? "" : std::to_string(factor);
    for (const std::string &a : atoms)
      sym += (sym.empty() ? "" : "·") + a;
    return Dim{ShapedType::kDynamic, sym, factor, std::move(atoms)};
  }
  bool isStatic() const { return sym.empty(); }
  bool isAtom() const { return !isStatic() && factor == 1 && atoms.size() == 1; }
  bool operator==(const Dim &o) const { return size == o.size && sym == o.sym; }
  bool operator!=(const Dim &o) const { return !(*this == o); }
};
using Shape = SmallVector<Dim, 3>;

/// a·c as a size.
inline Dim mulDims(const Dim &a, const Dim &c) {
  std::vector<std::string> atoms = a.atoms;
  atoms.insert(atoms.end(), c.atoms.begin(), c.atoms.end());
  int64_t f;
  // Saturates: a size that large is refused wherever it is compared.
  if (__builtin_mul_overflow(a.isStatic() ? a.size : a.factor, c.isStatic() ? c.size : c.factor, &f))
    f = INT64_MAX;
  return Dim::product(f, std::move(atoms));
}

/// The product of `dims` as a size.
inline Dim productOf(ArrayRef<Dim> dims) {
  Dim p = Dim::of(1);
  for (const Dim &d : dims)
    p = mulDims(p, d);
  return p;
}

/// a / c as a size, if it is exact (c's atoms all in a, its factor dividing
/// a's).
inline std::optional<Dim> divDims(const Dim &a, const Dim &c) {
  int64_t fa = a.isStatic() ? a.size : a.factor, fc = c.isStatic() ? c.size : c.factor;
  if (fc <= 0 || fa % fc != 0)
    return std::nullopt;
  std::vector<std::string> atoms = a.atoms;
  for (const std::string &x : c.atoms) {
    auto it = llvm::find(atoms, x);
    if (it == atoms.end())
      return std::nullopt;
    atoms.erase(it);
  }
  return Dim::product(fa / fc, std::move(atoms));
}

inline std::string formatDim(const Dim &d) {
  return d.isStatic() ? std::to_string(d.size) : d.sym;
}

inline std::string formatShape(ArrayRef<Dim> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + formatDim(shape[i]);
  return s + "]";
}

inline SmallVector<int64_t> staticShape(ArrayRef<Dim> shape) {
  SmallVector<int64_t> r;
  for (const Dim &d : shape)
    r.push_back(d.size);
  return r;
}

/// A value of the graph: its IR value and its symbolic shape.
struct TValue {
  Value v;
  Shape shape;

  Type elt() const { return llvm::cast<RankedTensorType>(v.getType()).getElementType(); }
  RankedTensorType type() const { return llvm::cast<RankedTensorType>(v.getType()); }
  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
};

inline RankedTensorType typeOf(ArrayRef<Dim> shape, Type elt) {
  return RankedTensorType::get(staticShape(shape), elt);
}

/// PyTorch's type promotion for two operands: float wins over int, the wider
/// of two floats or two ints wins.
inline Type promote(Type a, Type c) {
  if (a == c)
    return a;
  bool af = llvm::isa<mlir::FloatType>(a), cf = llvm::isa<mlir::FloatType>(c);
  if (af != cf)
    return af ? a : c;
  return a.getIntOrFloatBitWidth() >= c.getIntOrFloatBitWidth() ? a : c;
}

} // namespace dync::import

#endif // DYNC_LIB_IMPORT_BUILDER_SHAPES_H
