// Binding of input symbols and specialization of a graph with dynamic dims to one input shape.
#include <unordered_map>

#include "core/ir/ir.h"
#include "core/util/error.h"

namespace trtorch::ir {

namespace {

std::string input_label(const Graph& g, size_t i) {
  const std::string& name = g.inputs()[i]->name;
  return name.empty() ? str_cat("input ", i) : str_cat("input ", i, " ('", name, "')");
}

// Evaluates the symbolic sizes in a node's attributes.
Attrs static_attrs(const Attrs& a, const SymBindings& b) {
  Attrs out = a;
  if (auto* r = std::get_if<ReshapeAttrs>(&out)) {
    for (Dim& d : r->shape) d = Dim::fixed(d.eval(b));
  } else if (auto* e = std::get_if<ExpandAttrs>(&out)) {
    for (Dim& d : e->shape) d = Dim::fixed(d.eval(b));
  } else if (auto* s = std::get_if<SliceAttrs>(&out)) {
    s->start = Dim::fixed(s->start.eval(b));
    s->end = Dim::fixed(s->end.eval(b));
  }
  return out;
}

}  // namespace

bool is_dynamic(const Graph& g) {
  for (const Value* v : g.inputs())
    if (!v->type.is_static()) return true;
  return false;
}

SymBindings bind_symbols(const Graph& g, const std::vector<std::vector<int64_t>>& shapes) {
  const auto& ins = g.inputs();
  TRTORCH_EXPECT(shapes.size() == ins.size(), "the engine takes ", ins.size(), " inputs, got ", shapes.size());
  SymBindings b;
  std::unordered_map<int32_t, std::string> bound_by;
  for (size_t i = 0; i < ins.size(); ++i) {
    const TensorType& t = ins[i]->type;
    TRTORCH_EXPECT(int64_t(shapes[i].size()) == t.rank(), input_label(g, i), " must have rank ", t.rank(), " (",
                   t.str(), "), got rank ", shapes[i].size());
    for (size_t d = 0; d < shapes[i].size(); ++d) {
      const Dim& dim = t.dims[d];
      const int64_t v = shapes[i][d];
      if (dim.is_static()) {
        TRTORCH_EXPECT(v == dim.min, input_label(g, i), " dimension ", d, " must be ", dim.min, " (engine input ",
                       t.str(), "), got ", v);
        continue;
      }
      TRTORCH_EXPECT(v >= dim.min && v <= dim.max, input_label(g, i), " dimension ", d, " must be in the range [",
                     dim.min, ", ", dim.max, "], got ", v);
      const int32_t s = dim.symbol();
      TRTORCH_CHECK(s >= 0, "engine input dims must be static or one symbol, got ", dim.str());
      auto [it, fresh] = b.emplace(s, v);
      if (fresh) {
        bound_by[s] = str_cat(input_label(g, i), " dimension ", d);
      } else {
        TRTORCH_EXPECT(it->second == v, input_label(g, i), " dimension ", d, " must equal ", bound_by[s], " (",
                       it->second, "): both are size ", dim.str(), "; got ", v);
      }
    }
  }
  return b;
}

std::unique_ptr<Graph> specialize(const Graph& g, const std::vector<std::vector<int64_t>>& shapes) {
  const SymBindings b = bind_symbols(g, shapes);
  auto out = std::make_unique<Graph>();
  std::unordered_map<const Value*, Value*> map;
  for (size_t i = 0; i < g.inputs().size(); ++i) {
    const Value* v = g.inputs()[i];
    map[v] = out->add_input(TensorType::fixed(v->type.dtype, shapes[i]), v->name);
  }
  for (const Node* n : g.nodes()) {
    std::vector<Value*> ins;
    for (const Value* v : n->inputs) ins.push_back(map.at(v));
    Node* c;
    try {
      c = out->add_node(n->op, static_attrs(n->attrs, b), ins, n->source);
    } catch (const Error& e) {
      TRTORCH_ERROR("at this input shape, ", e.what(), n->source.empty() ? "" : str_cat(" (", n->source, ")"));
    }
    for (size_t i = 0; i < n->outputs.size(); ++i) {
      c->outputs[i]->name = n->outputs[i]->name;
      map[n->outputs[i]] = c->outputs[i];
      // The symbolic type evaluated at these sizes must be what inference on the sizes gives.
      std::vector<int64_t> want;
      for (const Dim& d : n->outputs[i]->type.dims) want.push_back(d.eval(b));
      TRTORCH_CHECK(c->outputs[i]->type.static_shape() == want, n->name(), " output ", i, ": ",
                    n->outputs[i]->type.str(), " evaluates to a shape other than inference gives: ",
                    c->outputs[i]->type.str());
    }
  }
  for (const Value* v : g.outputs()) out->mark_output(map.at(v));
  return out;
}

}  // namespace trtorch::ir
