// Removes nodes that return their input unchanged: Identity, Cast to the input's dtype, Reshape
// to the input's shape and Transpose by the identity permutation. Their users (and graph
// outputs) read the input instead.
#include "core/passes/passes.h"

namespace trtorch::passes {

namespace {

bool is_noop(const ir::Node& n) {
  if (n.inputs.size() != 1 || n.outputs.size() != 1) return false;
  const ir::TensorType& in = n.inputs[0]->type;
  switch (n.op) {
    case ir::OpKind::Identity: return true;
    case ir::OpKind::Cast: return n.attr<ir::CastAttrs>().to == in.dtype;
    case ir::OpKind::Reshape: return n.outputs[0]->type == in;
    case ir::OpKind::Transpose: {
      const auto& perm = n.attr<ir::TransposeAttrs>().perm;
      for (size_t i = 0; i < perm.size(); ++i)
        if (perm[i] != int64_t(i)) return false;
      return true;
    }
    default: return false;
  }
}

}  // namespace

bool remove_identity(ir::Graph& g) {
  bool changed = false;
  for (ir::Node* n : g.nodes()) {
    if (!is_noop(*n) || n->outputs[0]->type != n->inputs[0]->type) continue;
    g.replace_all_uses(n->outputs[0], n->inputs[0]);
    g.remove_node(n);
    changed = true;
  }
  return changed;
}

}  // namespace trtorch::passes
