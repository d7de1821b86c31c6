// Folds an inference BatchNorm into the Conv2d or Linear that feeds it:
//   scale = gamma / sqrt(var + eps),  W'[k] = W[k] * scale[k],  b'[k] = (b[k] or 0) * scale[k] + beta[k] - mean[k] * scale[k]
// Conditions (the fusion safety list): weights, bias and BatchNorm parameters are Constant
// outputs; the conv/linear output has the BatchNorm as its only user and is not a graph output;
// the BatchNorm channel dim (1) is the output-feature dim (always for Conv2d, rank-2 output for
// Linear). FP16/BF16 parameters are folded in FP32 (double here) and rounded once; a Conv2d's
// folded bias stays FP32.
#include <cmath>

#include "core/passes/passes.h"
#include "core/util/error.h"

namespace trtorch::passes {

namespace {

const ir::HostTensor* constant_of(const ir::Value* v) {
  if (!v->producer || v->producer->op != ir::OpKind::Constant) return nullptr;
  return &v->producer->attr<ir::ConstantAttrs>().value;
}

std::vector<double> as_double(const ir::HostTensor& t) {
  std::vector<float> f(size_t(t.numel()));
  ir::to_float(t, f.data());
  return std::vector<double>(f.begin(), f.end());
}

ir::HostTensor from_double(ir::DType t, const std::vector<int64_t>& shape, const std::vector<double>& v) {
  std::vector<float> f(v.begin(), v.end());
  ir::HostTensor out(t, shape);
  ir::from_float(f.data(), out);
  return out;
}

// Folds `bn` into its producer if every condition holds; returns whether it did.
bool fold_one(ir::Graph& g, ir::Node* bn) {
  ir::Value* y = bn->inputs[0];
  ir::Node* layer = y->producer;
  if (!layer || (layer->op != ir::OpKind::Conv2d && layer->op != ir::OpKind::Linear)) return false;
  if (y->users.size() != 1 || g.is_output(y)) return false;
  if (layer->op == ir::OpKind::Linear && y->type.rank() != 2) return false;
  // A layer with a fused epilogue (residual, activation) no longer ends in a plain affine map.
  if (layer->op == ir::OpKind::Conv2d) {
    const auto& ca = layer->attr<ir::Conv2dAttrs>();
    if (ca.has_residual || ca.has_act) return false;
  }
  if (layer->op == ir::OpKind::Linear && layer->attr<ir::LinearAttrs>().has_act) return false;
  const ir::HostTensor* w = constant_of(layer->inputs[1]);
  const ir::HostTensor* b = layer->inputs.size() == 3 ? constant_of(layer->inputs[2]) : nullptr;
  if (!w || (layer->inputs.size() == 3 && !b)) return false;
  const ir::HostTensor* p[4];
  for (int i = 0; i < 4; ++i)
    if (!(p[i] = constant_of(bn->inputs[size_t(i + 1)]))) return false;

  const int64_t K = w->shape[0];
  TRTORCH_CHECK(p[0]->numel() == K, "BatchNorm has ", p[0]->numel(), " channels, ", layer->name(), " ", K);
  std::vector<double> gamma = as_double(*p[0]), beta = as_double(*p[1]), mean = as_double(*p[2]),
                      var = as_double(*p[3]);
  std::vector<double> W = as_double(*w), B = b ? as_double(*b) : std::vector<double>(size_t(K), 0.0);
  const double eps = bn->attr<ir::BatchNormAttrs>().eps;
  const int64_t per_k = K ? w->numel() / K : 0;
  for (int64_t k = 0; k < K; ++k) {
    const double s = gamma[size_t(k)] / std::sqrt(var[size_t(k)] + eps);
    for (int64_t i = 0; i < per_k; ++i) W[size_t(k * per_k + i)] *= s;
    B[size_t(k)] = B[size_t(k)] * s + beta[size_t(k)] - mean[size_t(k)] * s;
  }
  const ir::DType dt = w->dtype;
  ir::Value* new_w = g.insert_before(layer, ir::OpKind::Constant, ir::ConstantAttrs{from_double(dt, w->shape, W)}, {},
                                     layer->source)->outputs[0];
  // A convolution keeps its folded bias in FP32 (its epilogue adds in FP32); a Linear's bias has
  // its weight's dtype.
  const ir::DType bias_dt = layer->op == ir::OpKind::Conv2d ? ir::DType::kFloat32 : dt;
  ir::Value* new_b = g.insert_before(layer, ir::OpKind::Constant, ir::ConstantAttrs{from_double(bias_dt, {K}, B)}, {},
                                     layer->source)->outputs[0];
  ir::Node* fused = g.insert_before(layer, layer->op, layer->attrs, {layer->inputs[0], new_w, new_b},
                                    layer->source.empty() ? bn->source : layer->source);
  fused->outputs[0]->name = bn->outputs[0]->name;
  g.replace_all_uses(bn->outputs[0], fused->outputs[0]);
  g.remove_node(bn);
  g.remove_node(layer);
  return true;
}

}  // namespace

bool fold_batch_norm(ir::Graph& g) {
  bool changed = false;
  for (ir::Node* n : g.nodes())
    if (n->op == ir::OpKind::BatchNorm) changed |= fold_one(g, n);
  return changed;
}

}  // namespace trtorch::passes
