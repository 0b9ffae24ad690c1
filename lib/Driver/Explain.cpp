//===- Explain.cpp - human-readable report of a partitioned model ---------===//

#include "dync/Driver/Explain.h"
#include "dync/Dialect/Dyn/DynAttrNames.h"

#include "dync/Dialect/Dyn/DynOps.h"
#include "dync/Analysis/BoundsAnalysis.h"
#include "dync/Passes/Codegen/Passes.h"
#include "dync/Passes/Common.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/ADT/SetVector.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;

namespace dync {
namespace {

/// The user's node named by a location, looking through nesting and fusion.
std::string nodeOf(Location loc) {
  std::string name;
  loc->walk([&](Location l) {
    if (auto n = dyn_cast<NameLoc>(l)) {
      name = n.getName().str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return name;
}

std::string humanFlops(double f) {
  const char *units[] = {"", "K", "M", "G", "T"};
  int u = 0;
  while (f >= 1000.0 && u < 4) {
    f /= 1000.0;
    ++u;
  }
  return llvm::formatv("{0:f1} {1}FLOP", f, units[u]).str();
}

struct SubgraphInfo {
  unsigned ops = 0;
  double flops = 0;
  llvm::SetVector<StringRef> params;
};

/// Operation count, FLOP at the bounds, and the runtime params read.
SubgraphInfo describe(func::FuncOp fn, BoundsAnalysis &bounds) {
  SubgraphInfo info;
  auto boundOf = [&](Value v, int64_t i) -> double {
    auto b = bounds.dim(v, i);
    return b ? static_cast<double>(*b) : 1.0;
  };
  fn.walk([&](Operation *op) {
    if (op == fn.getOperation() || isa<func::ReturnOp>(op) ||
        isa<linalg::LinalgOp>(op->getParentOp()))
      return;
    ++info.ops;
    if (auto read = dyn_cast<dyn::ParamReadOp>(op))
      info.params.insert(read.getParam());
    if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
      // Each loop's extent is the bound of an operand dim it indexes.
      SmallVector<double> extent(linalgOp.getNumLoops(), 1.0);
      for (OpOperand &operand : op->getOpOperands()) {
        if (!isa<RankedTensorType>(operand.get().getType()))
          continue;
        AffineMap map = linalgOp.getMatchingIndexingMap(&operand);
        for (auto [pos, expr] : llvm::enumerate(map.getResults()))
          if (auto d = dyn_cast<AffineDimExpr>(expr))
            extent[d.getPosition()] =
                std::max(extent[d.getPosition()], boundOf(operand.get(), pos));
      }
      double points = 1;
      for (double e : extent)
        points *= e;
      unsigned bodyOps = 0;
      for (Operation &inner : op->getRegion(0).front())
        bodyOps += isa<arith::AddFOp, arith::MulFOp, arith::SubFOp, arith::DivFOp,
                       arith::MaximumFOp, math::ExpOp, math::TanhOp, math::ErfOp,
                       math::RsqrtOp, math::LogOp>(inner);
      info.flops += points * std::max(1u, bodyOps);
    } else if (auto att = dyn_cast<dyn::AttentionOp>(op)) {
      Value q = att.getQuery(), k = att.getKey();
      info.flops += 4.0 * boundOf(q, 0) * boundOf(q, 1) * boundOf(q, 2) *
                    boundOf(k, 2) * boundOf(q, 3);
    }
  });
  return info;
}

std::string signature(func::FuncOp fn) {
  std::string s;
  llvm::raw_string_ostream os(s);
  auto one = [&](Type t, DenseI64ArrayAttr b) {
    os << t;
    if (b) {
      os << " <=[";
      llvm::interleaveComma(b.asArrayRef(), os);
      os << "]";
    }
  };
  os << "(";
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    if (i)
      os << ", ";
    one(fn.getArgumentTypes()[i], fn.getArgAttrOfType<DenseI64ArrayAttr>(i, kBoundsAttr));
  }
  os << ") -> (";
  for (unsigned i = 0; i < fn.getNumResults(); ++i) {
    if (i)
      os << ", ";
    one(fn.getResultTypes()[i], fn.getResultAttrOfType<DenseI64ArrayAttr>(i, kBoundsAttr));
  }
  os << ")";
  return s;
}

/// The subgraph that computed `v`, if a call produced it.
std::string producer(Value v) {
  if (auto call = v.getDefiningOp<func::CallOp>())
    return "@" + call.getCallee().str();
  if (v.getDefiningOp())
    return "'" + v.getDefiningOp()->getName().getStringRef().str() + "'";
  return "an argument";
}

/// One line per data-dependent decision of a host function.
SmallVector<std::string> decisions(func::FuncOp host,
                                   llvm::StringMap<SubgraphInfo> &infos) {
  SmallVector<std::string> lines;
  auto paramsOf = [&](Value v) {
    std::string r;
    if (auto call = v.getDefiningOp<func::CallOp>()) {
      auto it = infos.find(call.getCallee());
      if (it != infos.end() && !it->second.params.empty()) {
        r = "; reads param";
        for (StringRef p : it->second.params)
          r += " " + p.str();
      }
    }
    return r;
  };
  host.walk([&](Operation *op) {
    std::string node = nodeOf(op->getLoc());
    std::string where = node.empty() ? "" : "node '" + node + "': ";
    if (auto sel = dyn_cast<dyn::RtSelectOp>(op))
      lines.push_back(where + "select samples on a mask from " +
                      producer(sel.getMask()) + paramsOf(sel.getMask()));
    else if (isa<scf::IfOp>(op))
      lines.push_back(where + "branch: " +
                      (isa<arith::CmpIOp>(op->getOperand(0).getDefiningOp())
                           ? std::string("run only if a sample is left")
                           : "on a scalar predicate from " +
                                 producer(op->getOperand(0))));
    else if (auto d = dyn_cast<dyn::MoeDispatchOp>(op))
      lines.push_back(where + "group tokens per expert, routed by " +
                      producer(d.getIndices()));
    else if (isa<dyn::MoeExpertsOp>(op))
      lines.push_back(where + "run each expert on its tokens only");
    else if (auto a = dyn_cast<dyn::BsaAttentionOp>(op))
      lines.push_back(where + "attend on the selected blocks only; layout from " +
                      producer(a.getLayout()) + paramsOf(a.getLayout()));
  });
  return lines;
}

/// For each subgraph code generation compiles as another one (the layers of
/// a stack, equal but for their weights), that one: found by running the
/// passes that decide it on a copy, then pairing the calls of the two
/// modules in order (threading the weights changes calls' operands, not
/// their number or order).
llvm::StringMap<std::string> mergedSubgraphs(ModuleOp module) {
  llvm::StringMap<std::string> merged;
  OwningOpRef<ModuleOp> copy(cast<ModuleOp>(module->clone()));
  // A failure here is the compile's to report, not the report's.
  ScopedDiagnosticHandler quiet(module.getContext(), [](Diagnostic &) { return success(); });
  PassManager pm(module.getContext());
  pm.addPass(createDynThreadExternals());
  pm.addPass(createDynMergeSubgraphs());
  if (failed(pm.run(*copy)))
    return merged; // the compile itself will say why
  SmallVector<StringRef> before, after;
  auto callees = [](ModuleOp m, SmallVectorImpl<StringRef> &out) {
    m.walk([&](func::CallOp c) { out.push_back(c.getCallee()); });
  };
  callees(module, before);
  callees(*copy, after);
  if (before.size() != after.size())
    return merged;
  for (auto [b, a] : llvm::zip(before, after))
    if (b != a)
      merged[b] = a.str();
  return merged;
}

} // namespace

void explainPartition(ModuleOp module, llvm::raw_ostream &os, bool dot) {
  BoundsAnalysis bounds(module);
  llvm::StringMap<SubgraphInfo> infos;
  SmallVector<func::FuncOp> subgraphs, hosts;
  for (auto fn : module.getOps<func::FuncOp>()) {
    if (fn->hasAttr(kSubgraphAttr)) {
      subgraphs.push_back(fn);
      infos[fn.getSymName()] = describe(fn, bounds);
    } else {
      hosts.push_back(fn);
    }
  }

  if (dot) {
    os << "digraph dync {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n";
    for (func::FuncOp fn : hosts)
      os << "  \"" << fn.getSymName() << "\" [shape=component, style=bold];\n";
    for (func::FuncOp fn : subgraphs) {
      const SubgraphInfo &info = infos[fn.getSymName()];
      os << "  \"" << fn.getSymName() << "\" [style=filled, fillcolor=lightblue, label=\""
         << fn.getSymName() << "\\n" << info.ops << " ops, <= " << humanFlops(info.flops)
         << "\"];\n";
    }
    for (func::FuncOp fn : hosts)
      fn.walk([&](func::CallOp call) {
        bool conditional = call->getParentOfType<scf::IfOp>() != nullptr;
        std::string node = nodeOf(call->getLoc());
        os << "  \"" << fn.getSymName() << "\" -> \"" << call.getCallee() << "\"";
        SmallVector<std::string> attrs;
        if (conditional)
          attrs.push_back("style=dashed");
        if (!node.empty())
          attrs.push_back("label=\"" + node + "\"");
        if (!attrs.empty()) {
          os << " [";
          llvm::interleaveComma(attrs, os);
          os << "]";
        }
        os << ";\n";
      });
    os << "}\n";
    return;
  }

  os << "model";
  if (auto name = module->getAttrOfType<StringAttr>(mlir::dyn::attrs::kModel))
    os << " '" << name.getValue() << "'";
  os << "\n";
  for (auto fn : hosts)
    if (auto dims = fn->getAttrOfType<DictionaryAttr>(mlir::dyn::attrs::kDims))
      for (NamedAttribute d : dims)
        if (auto b = dyn_cast<DenseI64ArrayAttr>(d.getValue()); b && b.size() == 2)
          os << "  dim " << d.getName().getValue() << " in [" << b[0] << ", "
             << b[1] << "]\n";
  for (auto p : module.getOps<dyn::ParamDefOp>())
    os << "  runtime param " << p.getSymName() << ": " << p.getType() << " = "
       << p.getDefaultValue() << "\n";

  double total = 0;
  for (auto &i : infos)
    total += i.second.flops;
  llvm::StringMap<std::string> merged = mergedSubgraphs(module);
  os << "\nsubgraphs: " << subgraphs.size()
     << " (no data-dependent control; dynamic dims bounded), at most "
     << humanFlops(total) << " in all";
  if (!merged.empty())
    os << "; " << subgraphs.size() - merged.size()
       << " distinct (the others are compiled once, as the subgraph they equal)";
  os << "\n";
  for (func::FuncOp fn : subgraphs) {
    const SubgraphInfo &info = infos[fn.getSymName()];
    os << "  @" << fn.getSymName() << ": " << info.ops << " ops, <= "
       << humanFlops(info.flops);
    if (!info.params.empty()) {
      os << ", reads";
      for (StringRef p : info.params)
        os << " " << p;
    }
    if (auto it = merged.find(fn.getSymName()); it != merged.end())
      os << "; compiled as @" << it->second << " (the same code, its own weights)";
    os << "\n    " << signature(fn) << "\n";
  }

  os << "\nhost functions: " << hosts.size() << "\n";
  for (func::FuncOp fn : hosts) {
    os << "  @" << fn.getSymName();
    if (auto kind = fn->getAttrOfType<StringAttr>(kRegionAttr))
      os << " (region of " << kind.getValue() << ")";
    os << "\n    calls:";
    llvm::SetVector<StringRef> callees;
    fn.walk([&](func::CallOp c) { callees.insert(c.getCallee()); });
    for (StringRef c : callees)
      os << " @" << c;
    os << "\n";
    for (const std::string &line : decisions(fn, infos))
      os << "    decides: " << line << "\n";
  }
}

} // namespace dync
