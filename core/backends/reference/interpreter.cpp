// Graph interpretation and per-node dispatch of the reference backend.
#include <unordered_map>
#include <unordered_set>

#include "core/backends/reference/kernels.h"
#include "core/backends/reference/reference.h"
#include "core/ir/evaluator.h"

namespace trtorch::backends::reference {

using ir::HostTensor;
using ir::Node;
using ir::TensorType;

namespace {

// A node's source location, for error messages.
std::string from_source(const Node& n) {
  return n.source.empty() ? std::string() : str_cat(" (from ", n.source, ")");
}

std::vector<HostTensor> eval_checked(const Node& n, const std::vector<HostTensor>& in) {
  std::vector<TensorType> in_types;
  in_types.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const HostTensor& t = in[i];
    for (int64_t d : t.shape) TRTORCH_EXPECT(d >= 0, n.name(), ": input ", i, " has a negative dimension");
    const std::optional<int64_t> need = ir::try_bytes(t.shape, t.dtype);
    if (!need) TRTORCH_ERROR(ir::too_large_message(str_cat(n.name(), ": input ", i, " shape"), t.shape, t.dtype));
    TRTORCH_EXPECT(t.nbytes() == size_t(*need), n.name(), ": input ", i, " holds ", t.nbytes(),
                   " bytes but its shape and dtype need ", *need);
    in_types.push_back(TensorType::fixed(t.dtype, t.shape));
  }
  std::vector<TensorType> out_types = ir::infer_types(n.op, n.attrs, in_types);
  std::vector<HostTensor> out(out_types.size());
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].dtype = out_types[i].dtype;
    out[i].shape = out_types[i].static_shape();
  }
  switch (n.op) {
#define TRTORCH_OP(Name, MinIn, MaxIn, MaxOut)             \
  case ir::OpKind::Name:                                   \
    eval_##Name(n.attr<ir::Name##Attrs>(), in, out);       \
    break;
#include "core/ir/ops.def"
#undef TRTORCH_OP
    default: TRTORCH_ERROR("reference backend: unknown op kind ", int(n.op));
  }
  for (const HostTensor& t : out) {
    TRTORCH_CHECK(ir::try_bytes(t.shape, t.dtype) == std::optional<int64_t>(int64_t(t.nbytes())), n.name(),
                  " kernel produced ", t.nbytes(), " bytes for ", ir::dtype_name(t.dtype), " of ", t.numel(),
                  " elements");
  }
  return out;
}

std::vector<HostTensor> eval_with_source(const Node& n, const std::vector<HostTensor>& in) {
  try {
    return eval_checked(n, in);
  } catch (const Error& e) {
    if (n.source.empty()) throw;
    throw Error(str_cat(e.what(), from_source(n)));
  }
}

void check_graph_inputs(const ir::Graph& g, const std::vector<HostTensor>& inputs) {
  const auto& gin = g.inputs();
  TRTORCH_EXPECT(inputs.size() == gin.size(), "reference backend: the graph takes ", gin.size(),
                 " inputs, got ", inputs.size());
  for (size_t i = 0; i < gin.size(); ++i) {
    const TensorType& t = gin[i]->type;
    const HostTensor& h = inputs[i];
    std::string name = str_cat("input ", i, gin[i]->name.empty() ? "" : " ('", gin[i]->name,
                               gin[i]->name.empty() ? "" : "')");
    TRTORCH_EXPECT(h.dtype == t.dtype, "reference backend: ", name, " must have dtype ", ir::dtype_name(t.dtype),
                   ", got ", ir::dtype_name(h.dtype));
    TRTORCH_EXPECT(int64_t(h.shape.size()) == t.rank(), "reference backend: ", name, " must have rank ",
                   t.rank(), " (", t.str(), "), got rank ", h.shape.size());
    for (size_t d = 0; d < h.shape.size(); ++d) {
      const ir::Dim& dim = t.dims[d];
      int64_t v = h.shape[d];
      TRTORCH_EXPECT(v >= dim.min && v <= dim.max, "reference backend: ", name, " dimension ", d, " must be ",
                     dim.is_static() ? str_cat(dim.min) : str_cat("in [", dim.min, ", ", dim.max, "]"),
                     " (", t.str(), "), got ", v);
    }
  }
}

}  // namespace

std::vector<HostTensor> eval_node(const Node& n, const std::vector<HostTensor>& inputs) {
  std::vector<HostTensor> out = eval_with_source(n, inputs);
  // Callers own what they get: never hand out storage shared with an input or an attribute.
  for (HostTensor& t : out) {
    bool shared = n.op == ir::OpKind::Constant;
    for (const HostTensor& i : inputs) shared = shared || i.bytes == t.bytes;
    if (shared) t = t.clone();
  }
  return out;
}

namespace {
// Runs when libtrtorch_core is loaded: constant folding (core/passes) evaluates through it.
const bool kEvaluatorRegistered = ir::register_node_evaluator(eval_node);
}  // namespace

std::vector<HostTensor> run(const ir::Graph& g, const std::vector<HostTensor>& inputs) {
  if (ir::is_dynamic(g)) {
    // Dynamic shapes: run the graph specialized to these input shapes.
    std::vector<std::vector<int64_t>> shapes;
    for (const HostTensor& t : inputs) shapes.push_back(t.shape);
    TRTORCH_EXPECT(inputs.size() == g.inputs().size(), "reference backend: the graph takes ", g.inputs().size(),
                   " inputs, got ", inputs.size());
    std::unique_ptr<ir::Graph> s;
    try {
      s = ir::specialize(g, shapes);
    } catch (const Error& e) {
      TRTORCH_ERROR("reference backend: ", e.what());
    }
    return run(*s, inputs);
  }
  check_graph_inputs(g, inputs);
  std::vector<Node*> nodes = g.nodes();
  // Values are freed after their last use; graph outputs are kept.
  std::vector<HostTensor> env(size_t(g.num_values()));
  std::vector<int> uses_left(size_t(g.num_values()), 0);
  std::vector<bool> ready(size_t(g.num_values()), false);
  for (Node* n : nodes)
    for (ir::Value* v : n->inputs) ++uses_left[size_t(v->id)];
  for (ir::Value* v : g.outputs()) ++uses_left[size_t(v->id)];
  // Storage the caller or the graph owns: an output sharing it is copied before it is returned.
  std::unordered_set<const void*> borrowed;
  for (size_t i = 0; i < inputs.size(); ++i) {
    env[size_t(g.inputs()[i]->id)] = inputs[i];
    ready[size_t(g.inputs()[i]->id)] = true;
    borrowed.insert(inputs[i].bytes.get());
  }
  std::vector<HostTensor> args;
  for (Node* n : nodes) {
    args.clear();
    for (ir::Value* v : n->inputs) {
      TRTORCH_CHECK(ready[size_t(v->id)], "value %", v->id, " used before it is computed");
      args.push_back(env[size_t(v->id)]);
    }
    std::vector<HostTensor> out = eval_with_source(*n, args);
    if (n->op == ir::OpKind::Constant) borrowed.insert(out[0].bytes.get());
    for (size_t i = 0; i < out.size(); ++i) {
      const ir::Value* o = n->outputs[i];
      TRTORCH_EXPECT(out[i].dtype == o->type.dtype, n->name(), ": produced ", ir::dtype_name(out[i].dtype),
                     " but the graph records ", o->type.str(), from_source(*n));
      env[size_t(o->id)] = std::move(out[i]);
      ready[size_t(o->id)] = true;
    }
    for (ir::Value* v : n->inputs)
      if (--uses_left[size_t(v->id)] == 0) env[size_t(v->id)] = HostTensor();
  }
  std::vector<HostTensor> result;
  for (ir::Value* v : g.outputs()) {
    TRTORCH_CHECK(ready[size_t(v->id)], "graph output %", v->id, " is never computed");
    HostTensor t = env[size_t(v->id)];
    if (borrowed.count(t.bytes.get())) t = t.clone();
    result.push_back(std::move(t));
  }
  return result;
}

}  // namespace trtorch::backends::reference
