// Reduction and softmax converters; vector norms (linalg_vector_norm, norm) as reductions of |x|,
// x * x or |x|^p.
#include <algorithm>
#include <cmath>

#include "core/frontend/conversion/converters/helpers.h"

namespace trtorch::frontend::converters {
namespace {

using torch::jit::Node;

// dims: empty or None means all dims.
ir::Value* reduce(ConversionCtx& ctx, ir::Value* x, ir::ReduceKind k, const torch::jit::Value* dims_v, bool keepdim) {
  int64_t r = x->type.rank();
  std::vector<int64_t> axes;
  if (dims_v && !ctx.is_none(dims_v)) axes = ctx.to_ints(dims_v);
  if (axes.empty()) {
    for (int64_t i = 0; i < r; ++i) axes.push_back(i);
  }
  for (auto& a : axes) a = normalize_dim(ctx, a, r);
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) ctx.fail("a dim is repeated in the reduction");
  ir::ReduceAttrs a;
  a.kind = k;
  a.axes = axes;
  a.keepdim = keepdim;
  return ctx.add(ir::OpKind::Reduce, a, {x});
}

void add_reduce(ConversionCtx& ctx, const Node* n, ir::ReduceKind k, const torch::jit::Value* dims_v,
                const torch::jit::Value* keepdim_v, const torch::jit::Value* dtype_v) {
  if (dtype_v && !ctx.is_none(dtype_v)) ctx.fail("reductions with a dtype argument are not supported");
  ctx.set_output(0, reduce(ctx, ctx.tensor(n->input(0)), k, dims_v, keepdim_v ? ctx.to_bool(keepdim_v) : false));
}

// The p-norm over dims: p = 2, 1, inf, -inf or any other p > 0. For finite p the values are scaled
// by their largest magnitude first, m * (sum (|x| / m)^p)^(1/p), so that no intermediate overflows
// in an FP16 engine (|x| > 256 squared would); m is at least 2^-14 (no 0 / 0).
void add_vector_norm(ConversionCtx& ctx, const Node* n, const torch::jit::Value* p_v, const torch::jit::Value* dims_v,
                     const torch::jit::Value* keepdim_v) {
  ir::Value* x = ctx.tensor(n->input(0));
  const double p = p_v && !ctx.is_none(p_v) ? ctx.to_double(p_v) : 2.0;
  const bool keepdim = ctx.to_bool(keepdim_v);
  const ir::DType dt = x->type.dtype;
  ir::Value* ax = unary(ctx, x, ir::UnaryKind::kAbs);
  if (std::isinf(p)) {
    ctx.set_output(0, reduce(ctx, ax, p > 0 ? ir::ReduceKind::kMax : ir::ReduceKind::kMin, dims_v, keepdim));
    return;
  }
  if (!(p > 0)) ctx.fail(str_cat("the ", p, "-norm is not supported (p must be positive or +-inf)"));
  auto at_least_tiny = [&](ir::Value* m) {
    return binary(ctx, m, ctx.scalar_constant(std::ldexp(1.0, -14), dt), ir::BinaryKind::kMax);
  };
  ir::Value* m_kept = at_least_tiny(reduce(ctx, ax, ir::ReduceKind::kMax, dims_v, true));
  ir::Value* q = binary(ctx, ax, m_kept, ir::BinaryKind::kDiv);  // in [0, 1]
  ir::Value* qp = p == 1.0   ? q
                  : p == 2.0 ? binary(ctx, q, q, ir::BinaryKind::kMul)
                             : binary(ctx, q, ctx.scalar_constant(p, dt), ir::BinaryKind::kPow);
  ir::Value* s = reduce(ctx, qp, ir::ReduceKind::kSum, dims_v, keepdim);
  s = p == 1.0   ? s
      : p == 2.0 ? unary(ctx, s, ir::UnaryKind::kSqrt)
                 : binary(ctx, s, ctx.scalar_constant(1.0 / p, dt), ir::BinaryKind::kPow);
  // Without keepdim: the same maxima with the reduced dims dropped (a reduction over size-1 dims).
  ir::Value* m = keepdim ? m_kept : reduce(ctx, m_kept, ir::ReduceKind::kMax, dims_v, false);
  ctx.set_output(0, binary(ctx, m, s, ir::BinaryKind::kMul));
}

void add_softmax(ConversionCtx& ctx, const Node* n, bool log) {
  ir::Value* x = ctx.tensor(n->input(0));
  if (n->inputs().size() > 2 && !ctx.is_none(n->input(2))) {
    // _softmax's half_to_float flag, or softmax's dtype: the input cast to it first, as torch does
    // (a floating dtype follows the engine precision; the kernels accumulate in FP32).
    const auto iv = ctx.ivalue(n->input(2));
    if (!iv.isBool()) {
      const auto st = static_cast<at::ScalarType>(iv.toInt());
      if (!at::isFloatingType(st)) ctx.fail(str_cat("softmax into ", c10::toString(st), " is not supported (a floating dtype is)"));
      x = cast_to(ctx, x, st);
    }
  }
  ir::SoftmaxAttrs a;
  a.axis = normalize_dim(ctx, ctx.to_int(n->input(1)), x->type.rank());
  a.log = log;
  ctx.set_output(0, ctx.add(ir::OpKind::Softmax, a, {x}));
}

static auto reg =
    RegisterConverters()
        .pattern({{"aten::linalg_vector_norm(Tensor self, Scalar ord=2, int[1]? dim=None, bool keepdim=False, *, "
                   "ScalarType? dtype=None) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    if (!ctx.is_none(n->input(4))) ctx.fail("linalg_vector_norm with a dtype argument is not supported");
                    add_vector_norm(ctx, n, n->input(1), n->input(2), n->input(3));
                  },
                  float_input})
        .pattern({{"aten::norm.ScalarOpt_dim(Tensor self, Scalar? p, int[1] dim, bool keepdim=False) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_vector_norm(ctx, n, n->input(1), n->input(2), n->input(3)); },
                  float_input})
        .pattern({{"aten::mean.dim(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    add_reduce(ctx, n, ir::ReduceKind::kMean, n->input(1), n->input(2), n->input(3));
                  },
                  float_input})
        .pattern({{"aten::mean(Tensor self, *, ScalarType? dtype=None) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    add_reduce(ctx, n, ir::ReduceKind::kMean, nullptr, nullptr, n->input(1));
                  },
                  float_input})
        .pattern({{"aten::sum.dim_IntList(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    add_reduce(ctx, n, ir::ReduceKind::kSum, n->input(1), n->input(2), n->input(3));
                  },
                  float_input})
        .pattern({{"aten::sum(Tensor self, *, ScalarType? dtype=None) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    add_reduce(ctx, n, ir::ReduceKind::kSum, nullptr, nullptr, n->input(1));
                  },
                  float_input})
        .pattern({{"aten::amax(Tensor self, int[1] dim=[], bool keepdim=False) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    add_reduce(ctx, n, ir::ReduceKind::kMax, n->input(1), n->input(2), nullptr);
                  },
                  float_input})
        .pattern({{"aten::amin(Tensor self, int[1] dim=[], bool keepdim=False) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    add_reduce(ctx, n, ir::ReduceKind::kMin, n->input(1), n->input(2), nullptr);
                  },
                  float_input})
        .pattern({{"aten::prod.dim_int(Tensor self, int dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    add_reduce(ctx, n, ir::ReduceKind::kProd, n->input(1), n->input(2), n->input(3));
                  },
                  float_input})
        .pattern({{"aten::softmax.int(Tensor self, int dim, ScalarType? dtype=None) -> Tensor",
                   "aten::_softmax(Tensor self, int dim, bool half_to_float) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_softmax(ctx, n, false); }, float_input})
        .pattern({{"aten::log_softmax.int(Tensor self, int dim, ScalarType? dtype=None) -> Tensor",
                   "aten::_log_softmax(Tensor self, int dim, bool half_to_float) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_softmax(ctx, n, true); }, float_input});

}  // namespace
}  // namespace trtorch::frontend::converters
