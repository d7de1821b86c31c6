// The quantize family: what quantization-aware training and torch's quantization leave in a model.
//   aten::fake_quantize_per_tensor_affine / aten::fake_quantize_per_channel_affine
//     y = (clamp(round(x * (1 / scale)) + zero_point, quant_min, quant_max) - zero_point) * scale
//   aten::quantize_per_tensor / aten::quantize_per_channel (qint8) and aten::dequantize
// Symmetric quantization into int8 (zero point 0, [quant_min, quant_max] within [-128, 127]: what
// TensorRT-style QAT exports use) becomes the IR's Quantize and Dequantize, which compute exactly
// what torch computes (the FP32 reciprocal, halves to even) and are where INT8 kernels take over.
// Other ranges and zero points (e.g. quint8 with zero point 128) are simulated in the engine's
// floating precision with Unary and Binary ops that fuse_pointwise makes one kernel.
#include "core/frontend/conversion/converters/helpers.h"

namespace trtorch::frontend::converters {
namespace {

using torch::jit::Node;
using ir::BinaryKind;
using ir::UnaryKind;

// Quantization parameters known at build time: scales and zero points as 1-element (per tensor)
// or 1-D (per channel along `axis`) tensors.
struct QParams {
  at::Tensor scale, zero_point;
  int64_t axis = -1;
  int64_t qmin = -128, qmax = 127;
  bool symmetric_int8() const {
    return qmin >= -128 && qmax <= 127 && (zero_point == 0).all().item<bool>();
  }
  ir::HostTensor ir_scale() const {
    const at::Tensor s = scale.to(at::kFloat).contiguous().reshape(axis < 0 ? at::IntArrayRef{} : at::IntArrayRef{scale.numel()});
    ir::HostTensor t(ir::DType::kFloat32, s.sizes().vec());
    std::memcpy(t.data(), s.data_ptr<float>(), size_t(s.numel()) * sizeof(float));
    return t;
  }
};

// A compile-time scale or zero point: a number or a tensor (tensor_qparams, per-channel).
at::Tensor qparam(const ConversionCtx& ctx, const torch::jit::Value* v) {
  if (!ctx.is_const(v)) ctx.fail(str_cat("quantization parameter %", v->debugName(), " must be known when the engine is built"));
  const c10::IValue iv = ctx.ivalue(v);
  if (iv.isTensor()) return iv.toTensor().detach().cpu();
  return at::scalar_tensor(iv.toScalar().toDouble(), at::kDouble);
}

void check_qparams(ConversionCtx& ctx, const ir::Value* x, const QParams& p) {
  if (p.qmin > p.qmax) ctx.fail(str_cat("quant_min (", p.qmin, ") must not exceed quant_max (", p.qmax, ")"));
  if (!(p.scale > 0).all().item<bool>() || !p.scale.isfinite().all().item<bool>())
    ctx.fail("quantization scales must be positive and finite");
  if (p.axis < 0) {
    if (p.scale.numel() != 1 || p.zero_point.numel() != 1)
      ctx.fail("per-tensor quantization takes one scale and one zero point");
    return;
  }
  const ir::Dim& c = x->type.dims[size_t(p.axis)];
  if (p.scale.dim() != 1 || p.zero_point.sizes() != p.scale.sizes() || !c.is_static() || c.min != p.scale.numel())
    ctx.fail(str_cat("per-channel quantization needs one scale and zero point per index of dim ", p.axis, " of ",
                     x->type.str(), ", got ", p.scale.numel(), " and ", p.zero_point.numel()));
}

ir::Value* quantize(ConversionCtx& ctx, ir::Value* x, const QParams& p) {
  ir::QuantizeAttrs a;
  a.axis = p.axis;
  a.scale = p.ir_scale();
  a.qmin = p.qmin;
  a.qmax = p.qmax;
  return ctx.add(ir::OpKind::Quantize, a, {x});
}

ir::Value* dequantize(ConversionCtx& ctx, ir::Value* q, const QParams& p, ir::DType to) {
  ir::DequantizeAttrs a;
  a.axis = p.axis;
  a.scale = p.ir_scale();
  a.to = to;
  return ctx.add(ir::OpKind::Dequantize, a, {q});
}

// x quantized and dequantized. Symmetric int8: Quantize and Dequantize. Otherwise the same
// arithmetic in x's floating dtype (scale and zero point broadcast along `axis`).
ir::Value* fake_quantize(ConversionCtx& ctx, ir::Value* x, const QParams& p) {
  check_qparams(ctx, x, p);
  if (p.symmetric_int8()) return dequantize(ctx, quantize(ctx, x, p), p, x->type.dtype);
  std::vector<int64_t> view(size_t(x->type.rank()), 1);
  if (p.axis >= 0) view[size_t(p.axis)] = p.scale.numel();
  const at::ScalarType st = to_torch_dtype(x->type.dtype);
  const at::Tensor scale = p.scale.to(at::kFloat).reshape(p.axis < 0 ? at::IntArrayRef{} : at::IntArrayRef(view));
  const at::Tensor inv = (1.0f / scale).to(st), zp = p.zero_point.to(at::kFloat).reshape(scale.sizes()).to(st);
  ir::Value* q = unary(ctx, binary(ctx, x, ctx.constant(inv), BinaryKind::kMul), UnaryKind::kRound);
  q = unary(ctx, binary(ctx, q, ctx.constant(zp), BinaryKind::kAdd), UnaryKind::kClamp, double(p.qmin), double(p.qmax));
  return binary(ctx, binary(ctx, q, ctx.constant(zp), BinaryKind::kSub), ctx.constant(scale.to(st)), BinaryKind::kMul);
}

QParams per_tensor_params(ConversionCtx& ctx, const Node* n) {
  QParams p;
  p.scale = qparam(ctx, n->input(1));
  p.zero_point = qparam(ctx, n->input(2));
  return p;
}

QParams per_channel_params(ConversionCtx& ctx, const Node* n, const ir::Value* x) {
  QParams p = per_tensor_params(ctx, n);
  p.axis = normalize_dim(ctx, ctx.to_int(n->input(3)), x->type.rank());
  return p;
}

void add_fake_per_tensor(ConversionCtx& ctx, const Node* n) {
  ir::Value* x = ctx.tensor(n->input(0));
  QParams p = per_tensor_params(ctx, n);
  p.qmin = ctx.to_int(n->input(3));
  p.qmax = ctx.to_int(n->input(4));
  ctx.set_output(0, fake_quantize(ctx, x, p));
}

void add_fake_per_channel(ConversionCtx& ctx, const Node* n) {
  ir::Value* x = ctx.tensor(n->input(0));
  QParams p = per_channel_params(ctx, n, x);
  p.qmin = ctx.to_int(n->input(4));
  p.qmax = ctx.to_int(n->input(5));
  ctx.set_output(0, fake_quantize(ctx, x, p));
}

// quantize_per_tensor / quantize_per_channel into qint8: the int8 values of the quantized tensor.
// Its one reader is aten::dequantize (checked up front), which finds the parameters on this node.
bool is_quantize(const Node* n) {
  return n->kind() == c10::Symbol::fromQualString("aten::quantize_per_tensor") ||
         n->kind() == c10::Symbol::fromQualString("aten::quantize_per_channel");
}

QParams quantize_node_params(ConversionCtx& ctx, const Node* n, const ir::Value* x) {
  const bool per_channel = n->kind() == c10::Symbol::fromQualString("aten::quantize_per_channel");
  QParams p = per_channel ? per_channel_params(ctx, n, x) : per_tensor_params(ctx, n);
  check_qparams(ctx, x, p);
  if (!p.symmetric_int8()) ctx.fail("only symmetric qint8 quantization (zero point 0) converts");
  return p;
}

std::string quantize_can_convert(const ConversionCtx& ctx, const Node* n) {
  std::string why = float_input(ctx, n);
  if (!why.empty()) return why;
  const size_t dtype_arg = n->inputs().size() - 1;
  if (!ctx.is_const(n->input(dtype_arg)) || ctx.ivalue(n->input(dtype_arg)).toInt() != int64_t(at::kQInt8))
    return "only torch.qint8 quantization converts";
  for (const torch::jit::Use& u : n->output()->uses())
    if (u.user->kind() != c10::Symbol::fromQualString("aten::dequantize"))
      return str_cat("the quantized tensor is read by ", u.user->kind().toQualString(),
                     "; only aten::dequantize reads one in an engine");
  return "";
}

void add_quantize(ConversionCtx& ctx, const Node* n) {
  ir::Value* x = ctx.tensor(n->input(0));
  ctx.set_output(0, quantize(ctx, x, quantize_node_params(ctx, n, x)));
}

std::string dequantize_can_convert(const ConversionCtx& ctx, const Node* n) {
  if (!is_quantize(n->input(0)->node()))
    return "aten::dequantize converts only the output of aten::quantize_per_tensor / quantize_per_channel";
  return "";
}

void add_dequantize(ConversionCtx& ctx, const Node* n) {
  const Node* qn = n->input(0)->node();
  ir::Value* q = ctx.tensor(n->input(0));
  if (q->type.dtype != ir::DType::kInt8) ctx.fail(str_cat("expected the int8 output of ", qn->kind().toQualString()));
  // The parameters are checked against the float tensor that was quantized (same dims).
  ctx.set_output(0, dequantize(ctx, q, quantize_node_params(ctx, qn, ctx.tensor(qn->input(0))), ir::DType::kFloat32));
}

static auto reg =
    RegisterConverters()
        .pattern({{"aten::fake_quantize_per_tensor_affine(Tensor self, float scale, int zero_point, int quant_min, "
                   "int quant_max) -> Tensor",
                   "aten::fake_quantize_per_tensor_affine.tensor_qparams(Tensor self, Tensor scale, Tensor zero_point, "
                   "int quant_min, int quant_max) -> Tensor"},
                  add_fake_per_tensor, float_input})
        .pattern({{"aten::fake_quantize_per_channel_affine(Tensor self, Tensor scale, Tensor zero_point, int axis, "
                   "int quant_min, int quant_max) -> Tensor"},
                  add_fake_per_channel, float_input})
        .pattern({{"aten::quantize_per_tensor(Tensor self, float scale, int zero_point, ScalarType dtype) -> Tensor",
                   "aten::quantize_per_tensor.tensor_qparams(Tensor self, Tensor scale, Tensor zero_point, "
                   "ScalarType dtype) -> Tensor",
                   "aten::quantize_per_channel(Tensor self, Tensor scales, Tensor zero_points, int axis, "
                   "ScalarType dtype) -> Tensor"},
                  add_quantize, quantize_can_convert})
        .pattern({{"aten::dequantize.self(Tensor self) -> Tensor"}, add_dequantize, dequantize_can_convert});

}  // namespace
}  // namespace trtorch::frontend::converters
