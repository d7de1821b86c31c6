// Fake quantization, what quantization-aware training leaves in a model
// (aten::fake_quantize_per_tensor_affine, aten::fake_quantize_per_channel_affine):
//   y = (clamp(round(x * (1 / scale)) + zero_point, quant_min, quant_max) - zero_point) * scale,
// as torch computes it (the reciprocal of the scale in FP32, rounding halves to even), from Unary
// and Binary ops that fuse_pointwise makes one kernel. The engine computes it in its floating
// precision: the model's simulated quantization, not INT8 arithmetic (INT8 kernels are issue 19).
#include "core/frontend/conversion/converters/helpers.h"

namespace trtorch::frontend::converters {
namespace {

using torch::jit::Node;
using ir::BinaryKind;
using ir::UnaryKind;

// x quantized and dequantized with `scale` and `zero_point` (float tensors broadcast against x).
ir::Value* fake_quantize(ConversionCtx& ctx, ir::Value* x, const at::Tensor& scale, const at::Tensor& zero_point,
                         int64_t qmin, int64_t qmax) {
  const at::ScalarType st = to_torch_dtype(x->type.dtype);
  if (qmin > qmax) ctx.fail(str_cat("quant_min (", qmin, ") must not exceed quant_max (", qmax, ")"));
  if ((scale <= 0).any().item<bool>()) ctx.fail("fake quantization scales must be positive");
  const at::Tensor inv = (1.0f / scale.to(at::kFloat)).to(st), zp = zero_point.to(at::kFloat).to(st);
  ir::Value* q = unary(ctx, binary(ctx, x, ctx.constant(inv), BinaryKind::kMul), UnaryKind::kRound);
  q = unary(ctx, binary(ctx, q, ctx.constant(zp), BinaryKind::kAdd), UnaryKind::kClamp, double(qmin), double(qmax));
  return binary(ctx, binary(ctx, q, ctx.constant(zp), BinaryKind::kSub), ctx.constant(scale.to(at::kFloat).to(st)),
                BinaryKind::kMul);
}

// A compile-time scale or zero point: a number or a tensor (tensor_qparams, per-channel).
at::Tensor qparam(const ConversionCtx& ctx, const torch::jit::Value* v) {
  if (!ctx.is_const(v)) ctx.fail(str_cat("quantization parameter %", v->debugName(), " must be known when the engine is built"));
  const c10::IValue iv = ctx.ivalue(v);
  if (iv.isTensor()) return iv.toTensor().detach().cpu();
  return at::scalar_tensor(iv.toScalar().toDouble(), at::kDouble);
}

void add_per_tensor(ConversionCtx& ctx, const Node* n) {
  at::Tensor scale = qparam(ctx, n->input(1)), zp = qparam(ctx, n->input(2));
  if (scale.numel() != 1 || zp.numel() != 1) ctx.fail("per-tensor fake quantization takes one scale and one zero point");
  ctx.set_output(0, fake_quantize(ctx, ctx.tensor(n->input(0)), scale.reshape({}), zp.reshape({}),
                                  ctx.to_int(n->input(3)), ctx.to_int(n->input(4))));
}

void add_per_channel(ConversionCtx& ctx, const Node* n) {
  ir::Value* x = ctx.tensor(n->input(0));
  const int64_t axis = normalize_dim(ctx, ctx.to_int(n->input(3)), x->type.rank());
  at::Tensor scale = qparam(ctx, n->input(1)), zp = qparam(ctx, n->input(2));
  const ir::Dim& c = dims_of(x)[size_t(axis)];
  if (scale.dim() != 1 || zp.sizes() != scale.sizes() || !c.is_static() || c.min != scale.numel())
    ctx.fail(str_cat("per-channel fake quantization needs one scale and zero point per channel of dim ", axis, " of ",
                     x->type.str(), ", got ", scale.numel(), " and ", zp.numel()));
  std::vector<int64_t> view(size_t(x->type.rank()), 1);
  view[size_t(axis)] = scale.numel();
  ctx.set_output(0, fake_quantize(ctx, x, scale.reshape(view), zp.reshape(view), ctx.to_int(n->input(4)),
                                  ctx.to_int(n->input(5))));
}

static auto reg =
    RegisterConverters()
        .pattern({{"aten::fake_quantize_per_tensor_affine(Tensor self, float scale, int zero_point, int quant_min, "
                   "int quant_max) -> Tensor",
                   "aten::fake_quantize_per_tensor_affine.tensor_qparams(Tensor self, Tensor scale, Tensor zero_point, "
                   "int quant_min, int quant_max) -> Tensor"},
                  add_per_tensor, float_input})
        .pattern({{"aten::fake_quantize_per_channel_affine(Tensor self, Tensor scale, Tensor zero_point, int axis, "
                   "int quant_min, int quant_max) -> Tensor"},
                  add_per_channel, float_input});

}  // namespace
}  // namespace trtorch::frontend::converters
