// Pooling converters: max and average pooling (Pool2d) and adaptive pooling (AdaptivePool2d) over
// 1, 2 or 3 spatial dims. 1-D pooling is 2-D pooling over a height of 1. 3-D pooling is separable:
// a max or average over a (kd, kh, kw) box is one over (kh, kw) for every depth slice (the input
// viewed as (N, C*D, H, W)), then one over kd along the depth (the result viewed as
// (N, C, D, Ho*Wo) with a (kd, 1) window). Every divisor torch uses (the window clipped to the
// padded input, or to the input with count_include_pad=False) is the product of per-axis counts,
// so the two steps give the same averages; a divisor_override divides only in the second step.
#include "core/frontend/conversion/converters/helpers.h"

namespace trtorch::frontend::converters {
namespace {

using torch::jit::Node;

struct PoolArgs {
  ir::PoolKind kind = ir::PoolKind::kMax;
  std::vector<int64_t> kernel, stride, padding, dilation;
  bool ceil_mode = false, count_include_pad = true;
  int64_t divisor_override = 0;
};

// Pools x (rank nsp + 2) with one Pool2d (nsp 1 or 2) or two (nsp 3).
ir::Value* pool_nd(ConversionCtx& ctx, ir::Value* x, size_t nsp, const PoolArgs& p) {
  if (x->type.rank() != int64_t(nsp) + 2)
    ctx.fail(str_cat("expected a ", nsp + 2, "-D input (N, C and ", nsp, " spatial dims), got ", x->type.str()));
  const std::vector<ir::Dim> d = dims_of(x);
  auto fixed = [](int64_t v) { return ir::Dim::fixed(v); };
  auto make = [&](std::vector<int64_t> k, std::vector<int64_t> s, std::vector<int64_t> pad, std::vector<int64_t> dil,
                  int64_t divisor) {
    ir::Pool2dAttrs a;
    a.kind = p.kind;
    a.kernel = std::move(k);
    a.stride = std::move(s);
    a.padding = std::move(pad);
    a.dilation = std::move(dil);
    a.ceil_mode = p.ceil_mode;
    a.count_include_pad = p.count_include_pad;
    a.divisor_override = divisor;
    return a;
  };
  if (nsp == 2)
    return ctx.add(ir::OpKind::Pool2d, make(p.kernel, p.stride, p.padding, p.dilation, p.divisor_override), {x});
  if (nsp == 1) {
    ir::Value* y = ctx.add(ir::OpKind::Pool2d,
                           make({1, p.kernel[0]}, {1, p.stride[0]}, {0, p.padding[0]}, {1, p.dilation[0]}, p.divisor_override),
                           {unsqueeze(ctx, x, 2)});
    const auto& yd = dims_of(y);
    return reshape(ctx, y, {yd[0], yd[1], yd[3]});
  }
  for (size_t i = 2; i < 5; ++i)
    if (!d[i].is_static()) ctx.fail(str_cat("3-D pooling needs static spatial dims, got ", x->type.str()));
  // (kh, kw) over every depth slice; a divisor_override divides once, in the depth step.
  ir::Value* y = ctx.add(ir::OpKind::Pool2d,
                         make({p.kernel[1], p.kernel[2]}, {p.stride[1], p.stride[2]}, {p.padding[1], p.padding[2]},
                              {p.dilation[1], p.dilation[2]}, p.divisor_override ? 1 : 0),
                         {reshape(ctx, x, {d[0], ir::dims_product({d[1], d[2]}), d[3], d[4]})});
  const int64_t ho = dims_of(y)[2].min, wo = dims_of(y)[3].min;
  y = ctx.add(ir::OpKind::Pool2d,
              make({p.kernel[0], 1}, {p.stride[0], 1}, {p.padding[0], 0}, {p.dilation[0], 1}, p.divisor_override),
              {reshape(ctx, y, {d[0], d[1], d[2], fixed(ho * wo)})});
  return reshape(ctx, y, {d[0], d[1], dims_of(y)[2], fixed(ho), fixed(wo)});
}

// (x, kernel_size, stride, padding, then dilation for max or ceil_mode, count_include_pad,
// divisor_override for avg).
void add_pool(ConversionCtx& ctx, const Node* n, ir::PoolKind kind, size_t nsp) {
  PoolArgs p;
  p.kind = kind;
  p.kernel = pair_arg(ctx, n->input(1), nsp);
  p.stride = ctx.to_ints(n->input(2)).empty() ? p.kernel : pair_arg(ctx, n->input(2), nsp);
  p.padding = pair_arg(ctx, n->input(3), nsp);
  p.dilation.assign(nsp, 1);
  if (kind == ir::PoolKind::kMax) {
    p.dilation = pair_arg(ctx, n->input(4), nsp);
    p.ceil_mode = ctx.to_bool(n->input(5));
  } else {
    p.ceil_mode = ctx.to_bool(n->input(4));
    p.count_include_pad = ctx.to_bool(n->input(5));
    if (n->inputs().size() > 6 && !ctx.is_none(n->input(6))) {
      p.divisor_override = ctx.to_int(n->input(6));
      if (p.divisor_override <= 0) ctx.fail("divisor_override must be positive");
    }
  }
  ctx.set_output(0, pool_nd(ctx, ctx.tensor(n->input(0)), nsp, p));
}

void add_adaptive_pool(ConversionCtx& ctx, const Node* n, ir::PoolKind kind, size_t nsp) {
  ir::Value* x = ctx.tensor(n->input(0));
  if (x->type.rank() != int64_t(nsp) + 2)
    ctx.fail(str_cat("expected a ", nsp + 2, "-D input (N, C and ", nsp, " spatial dims), got ", x->type.str()));
  const std::vector<int64_t> out = pair_arg(ctx, n->input(1), nsp);
  const std::vector<ir::Dim> d = dims_of(x);
  auto fixed = [](int64_t v) { return ir::Dim::fixed(v); };
  auto pool = [&](ir::Value* v, std::vector<int64_t> size) {
    ir::AdaptivePool2dAttrs a;
    a.kind = kind;
    a.output_size = std::move(size);
    return ctx.add(ir::OpKind::AdaptivePool2d, a, {v});
  };
  if (nsp == 2) return ctx.set_output(0, pool(x, out));
  if (nsp == 1) {
    ir::Value* y = pool(unsqueeze(ctx, x, 2), {1, out[0]});
    return ctx.set_output(0, reshape(ctx, y, {d[0], d[1], fixed(out[0])}));
  }
  for (size_t i = 2; i < 5; ++i)
    if (!d[i].is_static()) ctx.fail(str_cat("3-D pooling needs static spatial dims, got ", x->type.str()));
  // Adaptive windows are per-axis intervals: (H, W) for every depth slice, then the depth.
  ir::Value* y = pool(reshape(ctx, x, {d[0], ir::dims_product({d[1], d[2]}), d[3], d[4]}), {out[1], out[2]});
  y = pool(reshape(ctx, y, {d[0], d[1], d[2], fixed(out[1] * out[2])}), {out[0], out[1] * out[2]});
  ctx.set_output(0, reshape(ctx, y, {d[0], d[1], fixed(out[0]), fixed(out[1]), fixed(out[2])}));
}

// adaptive_max_pool's second output (the indices) is not supported.
std::string no_indices(const ConversionCtx&, const Node* n) {
  if (n->outputs().size() > 1 && n->output(1)->hasUses()) return "the indices output of adaptive max pooling is not supported";
  return "";
}

template <ir::PoolKind K, size_t Nsp>
void pool(ConversionCtx& ctx, const Node* n) {
  add_pool(ctx, n, K, Nsp);
}

template <ir::PoolKind K, size_t Nsp>
void adaptive(ConversionCtx& ctx, const Node* n) {
  add_adaptive_pool(ctx, n, K, Nsp);
  if (n->outputs().size() > 1) ctx.set(n->output(1), Arg::of_ivalue(c10::IValue()));  // indices: checked unused
}

constexpr auto kMax = ir::PoolKind::kMax;
constexpr auto kAvg = ir::PoolKind::kAvg;

static auto reg =
    RegisterConverters()
        .pattern({{"aten::max_pool1d(Tensor self, int[1] kernel_size, int[1] stride=[], int[1] padding=[0], "
                   "int[1] dilation=[1], bool ceil_mode=False) -> Tensor"},
                  pool<kMax, 1>})
        .pattern({{"aten::max_pool2d(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=0, "
                   "int[2] dilation=1, bool ceil_mode=False) -> Tensor"},
                  pool<kMax, 2>, needs_4d_input})
        .pattern({{"aten::max_pool3d(Tensor self, int[3] kernel_size, int[3] stride=[], int[3] padding=0, "
                   "int[3] dilation=1, bool ceil_mode=False) -> Tensor"},
                  pool<kMax, 3>})
        .pattern({{"aten::avg_pool1d(Tensor self, int[1] kernel_size, int[1] stride=[], int[1] padding=[0], "
                   "bool ceil_mode=False, bool count_include_pad=True) -> Tensor"},
                  pool<kAvg, 1>})
        .pattern({{"aten::avg_pool2d(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=0, "
                   "bool ceil_mode=False, bool count_include_pad=True, int? divisor_override=None) -> Tensor"},
                  pool<kAvg, 2>, needs_4d_input})
        .pattern({{"aten::avg_pool3d(Tensor self, int[3] kernel_size, int[3] stride=[], int[3] padding=0, "
                   "bool ceil_mode=False, bool count_include_pad=True, int? divisor_override=None) -> Tensor"},
                  pool<kAvg, 3>})
        .pattern({{"aten::adaptive_avg_pool1d(Tensor self, int[1] output_size) -> Tensor"}, adaptive<kAvg, 1>})
        .pattern({{"aten::adaptive_avg_pool2d(Tensor self, SymInt[2] output_size) -> Tensor"}, adaptive<kAvg, 2>,
                  needs_4d_input})
        .pattern({{"aten::adaptive_avg_pool3d(Tensor self, SymInt[3] output_size) -> Tensor"}, adaptive<kAvg, 3>})
        .pattern({{"aten::adaptive_max_pool1d(Tensor self, int[1] output_size) -> (Tensor, Tensor)"}, adaptive<kMax, 1>,
                  no_indices})
        .pattern({{"aten::adaptive_max_pool2d(Tensor self, int[2] output_size) -> (Tensor, Tensor)"}, adaptive<kMax, 2>,
                  [](const ConversionCtx& ctx, const Node* n) {
                    std::string why = no_indices(ctx, n);
                    return why.empty() ? needs_4d_input(ctx, n) : why;
                  }})
        .pattern({{"aten::adaptive_max_pool3d(Tensor self, int[3] output_size) -> (Tensor, Tensor)"}, adaptive<kMax, 3>,
                  no_indices});

}  // namespace
}  // namespace trtorch::frontend::converters
