//===- JsonNodeView.cpp - a JSON node as the op builders read it ----------===//
//
// Attributes, weight slots and subgraphs of a JSON node, checked against the
// JSON's types as they are read; messages name the node, its JSON path and
// the attribute.
//
//===----------------------------------------------------------------------===//

#include "JSON/JsonImporter.h"

#include "dync/Support/TensorBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include <limits>

using namespace mlir;

namespace dync::import {

//===----------------------------------------------------------------------===//
// The nodes' attributes, weight slots and subgraphs
//===----------------------------------------------------------------------===//

LogicalResult JsonNodeView::fail(const Twine &msg) { return importer.failNode(*this, msg); }

FailureOr<int64_t> JsonNodeView::intAttr(StringRef name, std::optional<int64_t> dflt) {
  const json *a = attr(name);
  if (!a) {
    if (dflt)
      return *dflt;
    return fail("missing required attribute '" + name + "'");
  }
  if (!a->is_number_integer())
    return fail("attribute '" + name + "' must be an integer, got " + a->dump());
  return a->get<int64_t>();
}

FailureOr<double> JsonNodeView::floatAttr(StringRef name, std::optional<double> dflt) {
  const json *a = attr(name);
  if (!a) {
    if (dflt)
      return *dflt;
    return fail("missing required attribute '" + name + "'");
  }
  if (!a->is_number())
    return fail("attribute '" + name + "' must be a number, got " + a->dump());
  return a->get<double>();
}

FailureOr<bool> JsonNodeView::boolAttr(StringRef name, bool dflt) {
  const json *a = attr(name);
  if (!a)
    return dflt;
  if (!a->is_boolean())
    return fail("attribute '" + name + "' must be true or false, got " + a->dump());
  return a->get<bool>();
}

FailureOr<std::string> JsonNodeView::stringAttr(StringRef name, ArrayRef<StringRef> allowed,
                                                    std::optional<StringRef> dflt) {
  const json *a = attr(name);
  if (!a) {
    if (dflt)
      return dflt->str();
    return fail("missing required attribute '" + name + "'");
  }
  std::string options;
  for (StringRef s : allowed)
    options += (options.empty() ? "" : ", ") + s.str();
  if (!a->is_string() ||
      !llvm::is_contained(allowed, StringRef(a->get_ref<const std::string &>())))
    return fail("attribute '" + name + "' must be one of " + options +
                           ", got " + a->dump());
  return a->get<std::string>();
}

FailureOr<SmallVector<int64_t>> JsonNodeView::intListAttr(StringRef name) {
  const json *a = attr(name);
  if (!a)
    return fail("missing required attribute '" + name + "'");
  if (!a->is_array())
    return fail("attribute '" + name + "' must be a list of integers, got " + a->dump());
  SmallVector<int64_t> r;
  for (const json &e : *a) {
    if (!e.is_number_integer())
      return fail("attribute '" + name + "' must be a list of integers, got " + a->dump());
    r.push_back(e.get<int64_t>());
  }
  return r;
}

FailureOr<std::pair<int64_t, int64_t>>
JsonNodeView::pairAttr(StringRef name, std::pair<int64_t, int64_t> dflt) {
  const json *a = attr(name);
  if (!a)
    return dflt;
  if (a->is_number_integer())
    return std::make_pair(a->get<int64_t>(), a->get<int64_t>());
  if (a->is_array() && a->size() == 2 && (*a)[0].is_number_integer() &&
      (*a)[1].is_number_integer())
    return std::make_pair((*a)[0].get<int64_t>(), (*a)[1].get<int64_t>());
  return fail("attribute '" + name + "' must be an integer or [h, w], got " + a->dump());
}

FailureOr<Value> JsonNodeView::scalarOrParam(const json &j, const std::string &what,
                                             Type type, ImplicitLocOpBuilder &b) {
  if (j.is_string()) {
    const std::string &pname = j.get_ref<const std::string &>();
    auto it = importer.g.params.find(pname);
    if (it == importer.g.params.end())
      return fail(what + " refers to '" + pname +
                             "', which is not a declared runtime parameter");
    if (it->second != type)
      return fail(what + " refers to runtime parameter '" + pname +
                             "' of type " + dtypeName(it->second) + ", but needs " +
                             dtypeName(type));
    return Value(dyn::ParamReadOp::create(b, type, pname));
  }
  if (type.isInteger(32)) {
    if (!j.is_number_integer())
      return fail(what + " must be an integer or a runtime parameter name, got " + j.dump());
    int64_t v = j.get<int64_t>();
    if (v < 0 || v > std::numeric_limits<int32_t>::max())
      return fail(what + " " + std::to_string(v) + " is out of range");
    return Value(arith::ConstantOp::create(b, b.getI32IntegerAttr(static_cast<int32_t>(v))));
  }
  if (!j.is_number())
    return fail(what + " must be a number or a runtime parameter name, got " + j.dump());
  return Value(arith::ConstantOp::create(
      b, b.getF32FloatAttr(static_cast<float>(j.get<double>()))));
}

FailureOr<SmallVector<ShapeEntry>> JsonNodeView::shapeAttr(StringRef name) {
  const json *spec = attr(name);
  if (!spec || !spec->is_array())
    return fail("attribute '" + name + "' must be a list of sizes, -1 and dim names");
  SmallVector<ShapeEntry> entries;
  for (const json &e : *spec) {
    if (e.is_number_integer())
      entries.push_back(e.get<int64_t>());
    else if (e.is_string())
      entries.push_back(e.get<std::string>());
    else
      return fail("attribute '" + name + "' must be a list of sizes, -1 and dim names");
  }
  return entries;
}

FailureOr<Type> JsonNodeView::dtypeAttr(StringRef name) {
  const json *d = attr(name);
  if (!d)
    return fail("missing required attribute '" + name + "'");
  return importer.parseDType(*d, path + ".attrs." + name.str());
}

FailureOr<Value> JsonNodeView::scalarOrParamAttr(StringRef name, StringRef what, Type type,
                                                 ImplicitLocOpBuilder &b) {
  const json *a = attr(name);
  if (!a)
    return fail("missing required attribute '" + name + "'");
  return scalarOrParam(*a, what.str(), type, b);
}

FailureOr<BlockSelection> JsonNodeView::selectionAttr(StringRef name, ImplicitLocOpBuilder &b) {
  if (!attr(name))
    return fail("missing required attribute '" + name + "'");
  const json &sel = *attr(name);
  std::string where = "attribute 'selection'";
  if (!sel.is_object() || !sel.contains("kind") || !sel["kind"].is_string())
    return fail(where + " must be an object with a 'kind'");
  std::string kind = sel["kind"].get<std::string>();
  auto allowOnly = [&](ArrayRef<StringRef> keys) -> LogicalResult {
    for (auto it = sel.begin(); it != sel.end(); ++it)
      if (!llvm::is_contained(keys, StringRef(it.key())))
        return fail(where + " of kind '" + kind + "': unknown key '" + it.key() + "'");
    return success();
  };
  BlockSelection result;
  if (kind == "topk") {
    if (failed(allowOnly({"kind", "k", "pool"})))
      return failure();
    if (!sel.contains("k"))
      return fail(where + " of kind 'topk' needs 'k'");
    if (sel.contains("pool") && sel["pool"] != "mean")
      return fail(where + ": 'pool' must be \"mean\", the only pooling dync supports");
    FailureOr<Value> kv = scalarOrParam(sel["k"], "selection k", b.getI32Type(), b);
    if (failed(kv))
      return failure();
    result.budget = *kv;
    result.kind = dyn::BlockSelection::topk;
  } else if (kind == "threshold") {
    if (failed(allowOnly({"kind", "value"})))
      return failure();
    if (!sel.contains("value"))
      return fail(where + " of kind 'threshold' needs 'value'");
    FailureOr<Value> tv = scalarOrParam(sel["value"], "selection value", b.getF32Type(), b);
    if (failed(tv))
      return failure();
    result.threshold = *tv;
    result.kind = dyn::BlockSelection::threshold;
  } else if (kind == "static") {
    if (failed(allowOnly({"kind", "pattern", "window", "global"})))
      return failure();
    if (!sel.contains("pattern") || sel["pattern"] != "local")
      return fail(where + " of kind 'static' needs \"pattern\": \"local\"");
    auto nonNeg = [&](const char *key, int64_t dflt) -> FailureOr<int64_t> {
      if (!sel.contains(key))
        return dflt;
      if (!sel[key].is_number_integer() || sel[key].get<int64_t>() < 0)
        return fail(where + ": '" + key + "' must be a non-negative integer");
      return sel[key].get<int64_t>();
    };
    FailureOr<int64_t> w = nonNeg("window", -1), g = nonNeg("global", 0);
    if (failed(w) || failed(g))
      return failure();
    if (*w < 0)
      return fail(where + " of kind 'static' needs 'window'");
    result.window = *w;
    result.global = *g;
    result.kind = dyn::BlockSelection::static_local;
  } else {
    return fail(where + ": unknown kind '" + kind + "' (expected topk, threshold or static)");
  }
  return result;
}

FailureOr<std::string> JsonNodeView::weightTensor(StringRef slot) {
  const json &w = (*weights)[slot.str()];
  if (!w.is_string())
    return fail("weight slot '" + slot + "' must name a tensor of the weights file");
  return w.get<std::string>();
}

/// A subgraph by role: a subgraph's name, or `stages[i].part` for a part of
/// an early-exit stage.
FailureOr<SmallVector<TValue>> JsonNodeView::importSubgraph(StringRef role,
                                                            ArrayRef<TValue> args,
                                                            bool live, OpBuilder &b) {
  const json *sg = nullptr;
  if (role.starts_with("stages[")) {
    size_t close = role.find(']');
    unsigned index = 0;
    if (close == StringRef::npos || role.substr(7, close - 7).getAsInteger(10, index) ||
        close + 1 >= role.size() || role[close + 1] != '.')
      return fail("internal error: bad subgraph role '" + role + "'");
    sg = &(*subgraphs)["stages"][index][role.substr(close + 2).str()];
  } else {
    sg = &(*subgraphs)[role.str()];
  }
  return importer.importSubgraph(*this, role.str(), *sg, args, live, b);
}

FailureOr<size_t> JsonNodeView::numStages(bool gateCrit) {
  const json &stages = (*subgraphs)["stages"];
  if (!stages.is_array() || stages.empty())
    return fail("subgraph 'stages' must be a non-empty list of {body, head[, gate]}");
  for (size_t i = 0; i < stages.size(); ++i) {
    std::string stageName = "stages[" + std::to_string(i) + "]";
    const json &st = stages[i];
    if (!st.is_object())
      return fail(stageName + " must be {\"body\", \"head\"[, \"gate\"]}");
    for (auto it = st.begin(); it != st.end(); ++it)
      if (it.key() != "body" && it.key() != "head" && it.key() != "gate")
        return fail(stageName + ": unknown key '" + it.key() + "'");
    if (!st.contains("body") || !st.contains("head"))
      return fail(stageName + " needs a 'body' and a 'head'");
    if (gateCrit != st.contains("gate"))
      return fail(stageName + (gateCrit ? " needs a 'gate' subgraph (criterion is gate)"
                                        : " has a 'gate' subgraph but the criterion is not gate"));
  }
  return stages.size();
}

std::string JsonNodeView::excerpt() const {
  if (!j.is_object())
    return "";
  json shown = j;
  if (auto sg = shown.find("subgraphs"); sg != shown.end() && sg->is_object())
    for (auto &[name, graph] : sg->items())
      graph = "...";
  // replace: never throw (exceptions are off), whatever the strings hold.
  return shortened(shown.dump(-1, ' ', false, json::error_handler_t::replace));
}

} // namespace dync::import
