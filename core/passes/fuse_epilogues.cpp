// Fuses the epilogues that GPU convolution and GEMM kernels apply for free:
//   Conv2d -> Binary add (same-shaped other operand) -> Unary   ==>  Conv2d{has_residual, has_act}
//   Linear -> Unary                                             ==>  Linear{has_act}
//   Binary add (same-shaped operands) -> LayerNorm              ==>  LayerNorm{has_residual}
// Safety: the producer's output has exactly one user and is not a graph output; the residual
// has exactly the output's type (no broadcasting). The fused node takes the place of the last
// node it absorbs, so a residual computed after the convolution (ResNet's downsample branch) is
// ready when the fused node runs.
#include "core/passes/passes.h"

namespace trtorch::passes {

namespace {

ir::Node* single_user(const ir::Graph& g, ir::Node* n) {
  ir::Value* out = n->outputs[0];
  if (out->users.size() != 1 || g.is_output(out)) return nullptr;
  return out->users[0];
}

// Replaces `absorbed` (the last node of the fused chain) and `producer` with one node of
// `producer`'s op carrying `attrs` and `inputs`, placed where `absorbed` was.
ir::Node* replace_chain(ir::Graph& g, ir::Node* producer, ir::Node* absorbed, ir::Attrs attrs,
                        const std::vector<ir::Value*>& inputs) {
  ir::Node* fused = g.insert_before(absorbed, producer->op, std::move(attrs), inputs, producer->source);
  fused->outputs[0]->name = absorbed->outputs[0]->name;
  g.replace_all_uses(absorbed->outputs[0], fused->outputs[0]);
  g.remove_node(absorbed);
  g.remove_node(producer);
  return fused;
}

bool fuse_residual(ir::Graph& g, ir::Node*& conv) {
  auto& a = conv->attr<ir::Conv2dAttrs>();
  if (a.has_residual || a.has_act) return false;
  ir::Node* add = single_user(g, conv);
  if (!add || add->op != ir::OpKind::Binary || add->attr<ir::BinaryAttrs>().kind != ir::BinaryKind::kAdd) return false;
  ir::Value* out = conv->outputs[0];
  ir::Value* residual = add->inputs[0] == out ? add->inputs[1] : add->inputs[0];
  if (residual == out || residual->type != out->type || add->outputs[0]->type != out->type) return false;
  ir::Conv2dAttrs fa = a;
  fa.has_residual = true;
  std::vector<ir::Value*> ins = conv->inputs;
  ins.push_back(residual);
  conv = replace_chain(g, conv, add, fa, ins);
  return true;
}

template <typename Attrs>
bool fuse_activation(ir::Graph& g, ir::Node*& layer) {
  Attrs& a = layer->attr<Attrs>();
  if (a.has_act) return false;
  ir::Node* act = single_user(g, layer);
  if (!act || act->op != ir::OpKind::Unary) return false;
  const auto& u = act->attr<ir::UnaryAttrs>();
  Attrs fa = a;
  fa.has_act = true;
  fa.act = u.kind;
  fa.act_alpha = u.alpha;
  fa.act_beta = u.beta;
  layer = replace_chain(g, layer, act, fa, layer->inputs);
  return true;
}

// Binary add (two operands of the output's type, no other user) -> LayerNorm  ==>  LayerNorm
// {has_residual}(a, b, weight, bias): the add is done in the normalization kernel's registers.
bool fuse_norm_residual(ir::Graph& g, ir::Node*& norm) {
  auto& a = norm->attr<ir::LayerNormAttrs>();
  if (a.has_residual) return false;
  ir::Node* add = norm->inputs[0]->producer;
  if (!add || add->op != ir::OpKind::Binary || add->attr<ir::BinaryAttrs>().kind != ir::BinaryKind::kAdd) return false;
  if (single_user(g, add) != norm) return false;
  const ir::TensorType& t = add->outputs[0]->type;
  if (add->inputs[0]->type != t || add->inputs[1]->type != t) return false;
  ir::LayerNormAttrs fa = a;
  fa.has_residual = true;
  std::vector<ir::Value*> ins{add->inputs[0], add->inputs[1]};
  ins.insert(ins.end(), norm->inputs.begin() + 1, norm->inputs.end());
  ir::Node* fused = g.insert_before(norm, ir::OpKind::LayerNorm, fa, ins, norm->source);
  fused->outputs[0]->name = norm->outputs[0]->name;
  g.replace_all_uses(norm->outputs[0], fused->outputs[0]);
  g.remove_node(norm);
  g.remove_node(add);
  norm = fused;
  return true;
}

}  // namespace

bool fuse_epilogues(ir::Graph& g) {
  // Each fusion removes nodes, so the scan restarts from a fresh node list after one.
  bool changed = false;
  for (bool again = true; again;) {
    again = false;
    for (ir::Node* n : g.nodes()) {
      bool fused = false;
      if (n->op == ir::OpKind::Conv2d) {
        fused = fuse_residual(g, n);
        fused |= fuse_activation<ir::Conv2dAttrs>(g, n);
      } else if (n->op == ir::OpKind::Linear) {
        fused = fuse_activation<ir::LinearAttrs>(g, n);
      } else if (n->op == ir::OpKind::LayerNorm) {
        fused = fuse_norm_residual(g, n);
      }
      if (fused) {
        changed = again = true;
        break;
      }
    }
  }
  return changed;
}

}  // namespace trtorch::passes
