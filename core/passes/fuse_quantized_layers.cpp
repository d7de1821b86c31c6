// INT8 layers (attrs.h, QuantizedLayer): Dequantize -> Conv2d / Linear (-> Quantize) with int8
// constant weights becomes one QConv2d / QLinear that reads the int8 input, multiplies int8 by
// int8 into int32, and applies the scales, bias, residual and activation in its epilogue; a
// Quantize that is the layer's only reader is taken in too (int8 output: no round trip through
// FP16 between two INT8 layers).
//
// The graph's own Quantize / Dequantize nodes say what is quantized; the pass changes no scale.
// What the result differs in: the layer's float output is not rounded to FP16 before the Quantize
// it took in, and products are summed exactly, so a quantized value may differ by one step where
// the float value lies within rounding of a half step.
//
// A layer is fused when:
//   - input 0 is a per-tensor Dequantize, input 1 a Dequantize (per tensor, or per output channel)
//     of an int8 Constant, the bias (if any) a Constant;
//   - Conv2d: groups 1; input channels (Linear: K) a multiple of 16, output channels (N) of 8,
//     and of 16 for an int8 output (16-byte rows: what the INT8 tensor-core kernels take; other
//     layers stay float between Quantize and Dequantize);
// and the Quantize after it is taken in when it is per tensor, the layer's output has no other
// reader and is no graph output, the activation is a clamp (none, relu, relu6, hardtanh), and a
// residual is a per-tensor Dequantize (read as int8), an FP16 tensor (read as it is) or absent.
// Other activations run as a Unary after a float-output layer. A layer without such a Quantize
// writes float, and is fused only in FP16 (FP32 and BF16 engines keep it a float layer between
// Quantize and Dequantize).
//
// Last, the Dequantize nodes of constants that no layer took (constant_folding keeps weight
// Dequantize nodes for this pass) are folded into float constants.
#include <cmath>
#include <limits>

#include "core/passes/passes.h"
#include "core/util/error.h"

namespace trtorch::passes {

namespace {

constexpr int64_t kInt8Multiple = 16;   // int8 rows of 16 bytes
constexpr int64_t kFloatMultiple = 8;   // FP16 rows of 16 bytes

const ir::Node* producer_of(const ir::Value* v, ir::OpKind op) {
  return v->producer && v->producer->op == op ? v->producer : nullptr;
}

// A per-tensor Dequantize of an int8 value, or null.
const ir::Node* per_tensor_dequantize(const ir::Value* v) {
  const ir::Node* d = producer_of(v, ir::OpKind::Dequantize);
  return d && d->attr<ir::DequantizeAttrs>().axis == -1 ? d : nullptr;
}

// The weight of a layer as int8 constant and FP32 per-output-channel scales: input 1 is a
// Dequantize of an int8 Constant, per tensor or along dim 0. False otherwise.
bool int8_weight(const ir::Value* w, ir::Value** q, ir::HostTensor* scale) {
  const ir::Node* d = producer_of(w, ir::OpKind::Dequantize);
  if (!d || !producer_of(d->inputs[0], ir::OpKind::Constant)) return false;
  const auto& a = d->attr<ir::DequantizeAttrs>();
  if (a.axis != -1 && a.axis != 0) return false;
  const int64_t channels = w->type.static_shape()[0];
  *scale = ir::HostTensor(ir::DType::kFloat32, {channels});
  for (int64_t c = 0; c < channels; ++c) scale->set(c, a.scale.get(a.axis == -1 ? 0 : c));
  *q = d->inputs[0];
  return true;
}

// The bias as an FP32 constant of `channels` values (zeros when `b` is null); false when it is
// not a constant.
bool fp32_bias(ir::Graph& g, ir::Node* before, const ir::Value* b, int64_t channels, ir::Value** out) {
  ir::HostTensor t(ir::DType::kFloat32, {channels});
  if (b) {
    const ir::Node* c = producer_of(b, ir::OpKind::Constant);
    if (!c) return false;
    const ir::HostTensor& v = c->attr<ir::ConstantAttrs>().value;
    for (int64_t i = 0; i < channels; ++i) t.set(i, v.get(i));
  } else {
    for (int64_t i = 0; i < channels; ++i) t.set(i, 0.0);
  }
  *out = g.insert_before(before, ir::OpKind::Constant, ir::ConstantAttrs{std::move(t)}, {}, before->source)->outputs[0];
  return true;
}

// The activation as the clamp [lo, hi] of the epilogue; false for one that is not a clamp.
bool as_clamp(bool has_act, ir::UnaryKind act, double alpha, double beta, double* lo, double* hi) {
  *lo = -std::numeric_limits<double>::infinity();
  *hi = std::numeric_limits<double>::infinity();
  if (!has_act) return true;
  if (act == ir::UnaryKind::kRelu) {
    *lo = 0;
    return true;
  }
  if (act == ir::UnaryKind::kClamp && !std::isnan(alpha) && !std::isnan(beta) && alpha <= beta) {
    *lo = alpha;
    *hi = beta;
    return true;
  }
  return false;
}

// The Quantize that reads `y` alone and can become the layer's int8 output, or null.
ir::Node* sole_quantize(const ir::Graph& g, const ir::Value* y) {
  if (y->users.size() != 1 || g.is_output(y)) return nullptr;
  ir::Node* q = y->users[0];
  return q->op == ir::OpKind::Quantize && q->attr<ir::QuantizeAttrs>().axis == -1 ? q : nullptr;
}

// What a Conv2d / Linear contributes to its INT8 layer.
struct Layer {
  ir::Node* n = nullptr;
  int64_t in_channels = 0, out_channels = 0;
  const ir::Value* bias = nullptr;      // null: none
  ir::Value* residual = nullptr;        // null: none
  bool has_act = false;
  ir::UnaryKind act = ir::UnaryKind::kRelu;
  double act_alpha = 0, act_beta = 0;
};

bool read_layer(ir::Node* n, Layer* l) {
  l->n = n;
  if (n->op == ir::OpKind::Conv2d) {
    const auto& a = n->attr<ir::Conv2dAttrs>();
    if (a.groups != 1) return false;
    const auto ws = n->inputs[1]->type.static_shape();
    l->out_channels = ws[0];
    l->in_channels = ws[1];
    l->bias = ir::conv_has_bias(a, n->inputs.size()) ? n->inputs[ir::kConvBiasInput] : nullptr;
    l->residual = a.has_residual ? n->inputs.back() : nullptr;
    l->has_act = a.has_act;
    l->act = a.act;
    l->act_alpha = a.act_alpha;
    l->act_beta = a.act_beta;
    return true;
  }
  if (n->op == ir::OpKind::Linear) {
    const auto& a = n->attr<ir::LinearAttrs>();
    const auto ws = n->inputs[1]->type.static_shape();
    l->out_channels = ws[0];
    l->in_channels = ws[1];
    l->bias = n->inputs.size() == 3 ? n->inputs[2] : nullptr;
    l->has_act = a.has_act;
    l->act = a.act;
    l->act_alpha = a.act_alpha;
    l->act_beta = a.act_beta;
    return true;
  }
  return false;
}

bool layer_shape_fits(const Layer& l) {
  return l.in_channels % kInt8Multiple == 0 && l.out_channels % kFloatMultiple == 0;
}

bool fuse_layer(ir::Graph& g, ir::Node* n) {
  Layer l;
  if (!read_layer(n, &l) || !layer_shape_fits(l)) return false;
  const ir::Node* dx = per_tensor_dequantize(n->inputs[0]);
  if (!dx) return false;
  ir::Value* wq = nullptr;
  ir::QuantizedLayer q;
  if (!int8_weight(n->inputs[1], &wq, &q.w_scale)) return false;
  if (l.bias && !producer_of(l.bias, ir::OpKind::Constant)) return false;

  ir::Value* y = n->outputs[0];
  q.x_scale = dx->attr<ir::DequantizeAttrs>().scale.get(0);
  q.out_dtype = y->type.dtype;
  const bool clamp_act = as_clamp(l.has_act, l.act, l.act_alpha, l.act_beta, &q.lo, &q.hi);
  ir::Node* qy = clamp_act && l.out_channels % kInt8Multiple == 0 ? sole_quantize(g, y) : nullptr;
  const ir::Node* dr = l.residual ? per_tensor_dequantize(l.residual) : nullptr;
  // A float residual: an int8 output only with an FP16 residual (what the tensor-core kernels
  // take: a ResNet stage's first block, whose residual is the downsample's float output); others
  // give a float output.
  if (l.residual && !dr && l.residual->type.dtype != ir::DType::kFloat16) qy = nullptr;
  // A float output is FP16 (the tensor-core kernels' other output type); in FP32 and BF16 engines
  // only layers with an int8 output become INT8 layers.
  if (!qy && y->type.dtype != ir::DType::kFloat16) return false;
  ir::Value* residual = l.residual;
  if (qy) {
    const auto& qa = qy->attr<ir::QuantizeAttrs>();
    q.y_scale = qa.scale.get(0);
    q.qmin = qa.qmin;
    q.qmax = qa.qmax;
    if (dr) {
      q.r_scale = dr->attr<ir::DequantizeAttrs>().scale.get(0);
      residual = dr->inputs[0];
    }
  }

  ir::Value* bias = nullptr;
  TRTORCH_CHECK(fp32_bias(g, n, l.bias, l.out_channels, &bias), "bias checked above");
  std::vector<ir::Value*> inputs{dx->inputs[0], wq, bias};
  ir::Node* r;
  if (n->op == ir::OpKind::Conv2d) {
    const auto& a = n->attr<ir::Conv2dAttrs>();
    ir::QConv2dAttrs c;
    c.stride = a.stride;
    c.padding = a.padding;
    c.dilation = a.dilation;
    c.groups = a.groups;
    c.has_residual = residual != nullptr;
    c.q = q;
    if (residual) inputs.push_back(residual);
    r = g.insert_before(n, ir::OpKind::QConv2d, std::move(c), inputs, n->source);
  } else {
    r = g.insert_before(n, ir::OpKind::QLinear, ir::QLinearAttrs{q}, inputs, n->source);
  }
  ir::Value* out = r->outputs[0];
  if (!clamp_act) {  // the activation after the float output
    out = g.insert_before(n, ir::OpKind::Unary, ir::UnaryAttrs{l.act, l.act_alpha, l.act_beta}, {out}, n->source)
              ->outputs[0];
  }
  ir::Value* replaced = qy ? qy->outputs[0] : y;
  out->name = replaced->name;
  g.replace_all_uses(replaced, out);
  if (qy) g.remove_node(qy);
  g.remove_node(n);
  return true;
}

}  // namespace

bool int8_layer_fits(const ir::Node& n) {
  Layer l;
  return read_layer(const_cast<ir::Node*>(&n), &l) && layer_shape_fits(l);  // read_layer only reads
}

bool keeps_weight_dequantize(const ir::Node& n) {
  if (n.op != ir::OpKind::Dequantize || !producer_of(n.inputs[0], ir::OpKind::Constant)) return false;
  for (const ir::Node* u : n.outputs[0]->users)
    if ((u->op == ir::OpKind::Conv2d || u->op == ir::OpKind::Linear) && u->inputs.size() > 1 &&
        u->inputs[1] == n.outputs[0])
      return true;
  return false;
}

bool fuse_quantized_layers(ir::Graph& g) {
  bool changed = false;
  std::vector<ir::Node*> layers;  // fuse_layer removes the layer and the Quantize after it
  for (ir::Node* n : g.nodes())
    if (n->op == ir::OpKind::Conv2d || n->op == ir::OpKind::Linear) layers.push_back(n);
  for (ir::Node* n : layers) changed |= fuse_layer(g, n);
  for (ir::Node* n : g.nodes())
    if (n->op == ir::OpKind::Dequantize && !n->outputs[0]->users.empty() &&
        producer_of(n->inputs[0], ir::OpKind::Constant))
      changed |= fold_constant_node(g, n);
  return changed;
}

}  // namespace trtorch::passes
