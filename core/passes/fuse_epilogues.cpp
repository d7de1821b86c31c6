// Fuses the epilogues that GPU convolution and GEMM kernels apply for free:
//   Conv2d -> Binary add (same-shaped other operand) -> Unary   ==>  Conv2d{has_residual, has_act}
//   Linear (no bias) -> Binary add of a constant [N]            ==>  Linear(x, w, bias)
//   Linear -> Unary                                             ==>  Linear{has_act}
//   Linear -> Reshape -> Unary                                  ==>  Linear{has_act} -> Reshape
//   Binary add (same-shaped operands) -> LayerNorm              ==>  LayerNorm{has_residual}
// Safety: the producer's output has exactly one user and is not a graph output; the residual
// has exactly the output's type (no broadcasting); a bias is a constant of the output's dtype
// whose only dim above 1 is the last, of the output's size N. The fused node takes the place of the last
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

// Linear(x, w) + c, c a constant broadcast along rows (torch's addmm and Conv1D: the bias added
// after the product)  ==>  Linear(x, w, c as [N]).
bool fuse_linear_bias(ir::Graph& g, ir::Node*& linear) {
  if (linear->inputs.size() > 2 || linear->attr<ir::LinearAttrs>().has_act) return false;
  ir::Node* add = single_user(g, linear);
  if (!add || add->op != ir::OpKind::Binary || add->attr<ir::BinaryAttrs>().kind != ir::BinaryKind::kAdd) return false;
  ir::Value* out = linear->outputs[0];
  ir::Value* c = add->inputs[0] == out ? add->inputs[1] : add->inputs[0];
  if (c == out || !c->producer || c->producer->op != ir::OpKind::Constant || add->outputs[0]->type != out->type)
    return false;
  const ir::HostTensor& t = c->producer->attr<ir::ConstantAttrs>().value;
  const ir::Dim& n = out->type.dims.back();
  if (t.dtype != out->type.dtype || t.shape.empty() || !n.is_static() || t.shape.back() != n.value() ||
      t.numel() != n.value())
    return false;
  ir::HostTensor bias = t;  // shares the bytes
  bias.shape = {n.value()};
  ir::Value* b = g.insert_before(add, ir::OpKind::Constant, ir::ConstantAttrs{bias}, {}, c->producer->source)->outputs[0];
  linear = replace_chain(g, linear, add, linear->attrs, {linear->inputs[0], linear->inputs[1], b});
  return true;
}

// `a` with the activation of Unary node `act` in its epilogue.
template <typename Attrs>
Attrs with_activation(Attrs a, const ir::Node* act) {
  const auto& u = act->attr<ir::UnaryAttrs>();
  a.has_act = true;
  a.act = u.kind;
  a.act_alpha = u.alpha;
  a.act_beta = u.beta;
  return a;
}

template <typename Attrs>
bool fuse_activation(ir::Graph& g, ir::Node*& layer) {
  if (layer->attr<Attrs>().has_act) return false;
  ir::Node* act = single_user(g, layer);
  if (!act || act->op != ir::OpKind::Unary) return false;
  layer = replace_chain(g, layer, act, with_activation(layer->attr<Attrs>(), act), layer->inputs);
  return true;
}

// Linear -> Reshape -> Unary  ==>  Linear{has_act} -> Reshape: a 2-D GEMM viewed back as
// [B, seq, N] before its activation (GPT-2's Conv1D); elementwise, the activation commutes with
// the reshape.
bool fuse_activation_through_reshape(ir::Graph& g, ir::Node*& linear) {
  if (linear->attr<ir::LinearAttrs>().has_act) return false;
  ir::Node* reshape = single_user(g, linear);
  if (!reshape || reshape->op != ir::OpKind::Reshape) return false;
  ir::Node* act = single_user(g, reshape);
  if (!act || act->op != ir::OpKind::Unary) return false;
  ir::Node* fused = g.insert_before(act, ir::OpKind::Linear, with_activation(linear->attr<ir::LinearAttrs>(), act),
                                    linear->inputs, linear->source);
  ir::Node* view = g.insert_before(act, ir::OpKind::Reshape, reshape->attrs, {fused->outputs[0]}, reshape->source);
  view->outputs[0]->name = act->outputs[0]->name;
  g.replace_all_uses(act->outputs[0], view->outputs[0]);
  g.remove_node(act);
  g.remove_node(reshape);
  g.remove_node(linear);
  linear = fused;
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
        fused = fuse_linear_bias(g, n);
        fused |= fuse_activation<ir::LinearAttrs>(g, n);
        fused |= fuse_activation_through_reshape(g, n);
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
