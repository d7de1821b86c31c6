// Elementwise activations composed of the elementwise ops (Unary, Binary, Compare, Where, Slice):
// softplus, mish, logsigmoid, selu, celu, glu, prelu. The CUDA backend's pointwise fusion makes
// each one kernel (computed in FP32 registers in FP16/BF16 engines).
#include "core/frontend/conversion/converters/helpers.h"

namespace trtorch::frontend::converters {
namespace {

using torch::jit::Node;
using ir::BinaryKind;
using ir::UnaryKind;

ir::Value* scaled(ConversionCtx& ctx, ir::Value* x, double s) {
  return s == 1.0 ? x : binary(ctx, x, ctx.scalar_constant(s, x->type.dtype), BinaryKind::kMul);
}

// log(1 + exp(z)) as max(z, 0) + log(1 + exp(-|z|)): exp never overflows (FP16 included).
ir::Value* log1p_exp(ConversionCtx& ctx, ir::Value* z) {
  ir::Value* tail = unary(ctx, unary(ctx, unary(ctx, z, UnaryKind::kAbs), UnaryKind::kNeg), UnaryKind::kExp);
  tail = unary(ctx, binary(ctx, tail, ctx.scalar_constant(1.0, z->type.dtype), BinaryKind::kAdd), UnaryKind::kLog);
  return binary(ctx, unary(ctx, z, UnaryKind::kRelu), tail, BinaryKind::kAdd);
}

// torch's softplus: x where beta * x > threshold, else log(1 + exp(beta * x)) / beta.
ir::Value* softplus(ConversionCtx& ctx, ir::Value* x, double beta, double threshold) {
  if (beta == 0) ctx.fail("softplus with beta 0 divides by zero");
  ir::Value* bx = scaled(ctx, x, beta);
  ir::Value* soft = scaled(ctx, log1p_exp(ctx, bx), 1.0 / beta);
  ir::CompareAttrs gt;
  gt.kind = ir::CompareKind::kGt;
  ir::Value* big = ctx.add(ir::OpKind::Compare, gt, {bx, ctx.scalar_constant(threshold, x->type.dtype)});
  return ctx.add(ir::OpKind::Where, ir::WhereAttrs{}, {big, x, soft});
}

void add_glu(ConversionCtx& ctx, const Node* n) {
  ir::Value* x = ctx.tensor(n->input(0));
  const int64_t rank = x->type.rank();
  int64_t dim = ctx.to_int(n->input(1));
  if (dim < -rank || dim >= rank) ctx.fail(str_cat("glu: dim ", dim, " out of range for ", x->type.str()));
  if (dim < 0) dim += rank;
  const ir::Dim& d = x->type.dims[size_t(dim)];
  if (!d.is_static()) ctx.fail(str_cat("glu: dim ", dim, " of ", x->type.str(), " is dynamic"));
  if (d.min % 2 != 0) ctx.fail(str_cat("glu: dim ", dim, " of ", x->type.str(), " has an odd size"));
  const int64_t half = d.min / 2;
  ir::Value* a = slice(ctx, x, dim, ir::Dim::fixed(0), ir::Dim::fixed(half), 1);
  ir::Value* b = slice(ctx, x, dim, ir::Dim::fixed(half), ir::Dim::fixed(d.min), 1);
  ctx.set_output(0, binary(ctx, a, unary(ctx, b, UnaryKind::kSigmoid), BinaryKind::kMul));
}

// prelu(x, w) = max(x, 0) + w * min(x, 0), w one value or one per channel (dim 1).
void add_prelu(ConversionCtx& ctx, const Node* n) {
  ir::Value* x = ctx.tensor(n->input(0));
  ir::Value* w = ctx.tensor_as(n->input(1), x->type.dtype);
  if (w->type.rank() != 1) ctx.fail(str_cat("prelu: the weight must be 1-D, got ", w->type.str()));
  const std::vector<int64_t> ws = shape_of(ctx, w);
  if (ws[0] != 1) {
    if (x->type.rank() < 2) ctx.fail(str_cat("prelu: ", ws[0], " weights for an input ", x->type.str(), " without channels"));
    const ir::Dim& c = x->type.dims[1];
    if (!c.is_static() || c.min != ws[0])
      ctx.fail(str_cat("prelu: ", ws[0], " weights for the channel dim of ", x->type.str()));
    std::vector<int64_t> shape(size_t(x->type.rank() - 1), 1);
    shape[0] = ws[0];
    w = reshape(ctx, w, shape);  // (C, 1, ..., 1): broadcasts over dim 1
  }
  ir::Value* zero = ctx.scalar_constant(0.0, x->type.dtype);
  ir::Value* neg = binary(ctx, w, binary(ctx, x, zero, BinaryKind::kMin), BinaryKind::kMul);
  ctx.set_output(0, binary(ctx, binary(ctx, x, zero, BinaryKind::kMax), neg, BinaryKind::kAdd));
}

static auto reg =
    RegisterConverters()
        .pattern({{"aten::softplus(Tensor self, Scalar beta=1, Scalar threshold=20) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ctx.set_output(0, softplus(ctx, ctx.tensor(n->input(0)), ctx.to_double(n->input(1)),
                                               ctx.to_double(n->input(2))));
                  },
                  float_input})
        .pattern({{"aten::mish(Tensor self) -> Tensor", "aten::mish_(Tensor(a!) self) -> Tensor(a!)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Value* x = ctx.tensor(n->input(0));
                    ctx.set_output(0, binary(ctx, x, unary(ctx, log1p_exp(ctx, x), UnaryKind::kTanh), BinaryKind::kMul));
                  },
                  float_input})
        .pattern({{"aten::log_sigmoid(Tensor self) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    // log(sigmoid(x)) = -log(1 + exp(-x))
                    ir::Value* x = ctx.tensor(n->input(0));
                    ctx.set_output(0, unary(ctx, log1p_exp(ctx, unary(ctx, x, UnaryKind::kNeg)), UnaryKind::kNeg));
                  },
                  float_input})
        .pattern({{"aten::selu(Tensor self) -> Tensor", "aten::selu_(Tensor(a!) self) -> Tensor(a!)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    constexpr double kAlpha = 1.6732632423543772848170429916717;
                    constexpr double kScale = 1.0507009873554804934193349852946;
                    ir::Value* x = ctx.tensor(n->input(0));
                    ctx.set_output(0, scaled(ctx, unary(ctx, x, UnaryKind::kElu, kAlpha), kScale));
                  },
                  float_input})
        .pattern({{"aten::celu(Tensor self, Scalar alpha=1.0) -> Tensor",
                   "aten::celu_(Tensor(a!) self, Scalar alpha=1.0) -> Tensor(a!)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    // celu(x, a) = a * elu(x / a, 1)
                    const double alpha = ctx.to_double(n->input(1));
                    if (alpha == 0) ctx.fail("celu with alpha 0 divides by zero");
                    ir::Value* x = ctx.tensor(n->input(0));
                    ctx.set_output(0, scaled(ctx, unary(ctx, scaled(ctx, x, 1.0 / alpha), UnaryKind::kElu, 1.0), alpha));
                  },
                  float_input})
        .pattern({{"aten::glu(Tensor self, int dim=-1) -> Tensor"}, add_glu, float_input})
        .pattern({{"aten::prelu(Tensor self, Tensor weight) -> Tensor"}, add_prelu, float_input});

}  // namespace
}  // namespace trtorch::frontend::converters
