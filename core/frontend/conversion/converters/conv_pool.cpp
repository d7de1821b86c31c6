// Convolution, batch norm and pooling converters.
#include "core/frontend/conversion/converters/helpers.h"

namespace trtorch::frontend::converters {
namespace {

using torch::jit::Node;

std::string needs_4d_input(const ConversionCtx& ctx, const Node* n) {
  const Arg& a = ctx.arg(n->input(0));
  if (a.kind == Arg::Kind::kTensor && a.tensor->type.rank() != 4)
    return str_cat("only 4-D (N, C, H, W) inputs are supported, got ", a.tensor->type.str());
  return "";
}

void add_conv(ConversionCtx& ctx, const Node* n, size_t stride_i, size_t pad_i, size_t dil_i, size_t groups_i,
              int transposed_i) {
  if (transposed_i >= 0 && ctx.to_bool(n->input(size_t(transposed_i))))
    ctx.fail("transposed convolution is not supported yet");
  ir::Value* x = ctx.tensor(n->input(0));
  if (!ctx.is_const(n->input(1))) ctx.fail("convolution weights must be constants (freeze the module)");
  at::Tensor w = ctx.ivalue(n->input(1)).toTensor();
  if (w.dim() != 4) ctx.fail(str_cat("only 2-D convolution is supported, weight has rank ", w.dim()));
  ir::Conv2dAttrs a;
  a.stride = pair_arg(ctx, n->input(stride_i));
  a.padding = pair_arg(ctx, n->input(pad_i));
  a.dilation = pair_arg(ctx, n->input(dil_i));
  a.groups = ctx.to_int(n->input(groups_i));
  std::vector<ir::Value*> ins{x, ctx.tensor_as(n->input(1), x->type.dtype)};
  if (!ctx.is_none(n->input(2))) ins.push_back(ctx.tensor_as(n->input(2), x->type.dtype));
  ctx.set_output(0, ctx.add(ir::OpKind::Conv2d, a, ins));
}

ir::Value* param_or(ConversionCtx& ctx, const torch::jit::Value* v, int64_t c, double fill, ir::DType dt) {
  if (!ctx.is_none(v)) return ctx.tensor_as(v, dt);
  ir::HostTensor h(dt, {c});
  for (int64_t i = 0; i < c; ++i) h.set(i, fill);
  return ctx.graph.add_constant(std::move(h), describe(ctx.node));
}

static auto reg =
    RegisterConverters()
        .pattern({{"aten::conv2d(Tensor input, Tensor weight, Tensor? bias=None, int[2] stride=1, int[2] padding=0, "
                   "int[2] dilation=1, int groups=1) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_conv(ctx, n, 3, 4, 5, 6, -1); },
                  needs_4d_input})
        .pattern({{"aten::_convolution(Tensor input, Tensor weight, Tensor? bias, int[] stride, int[] padding, "
                   "int[] dilation, bool transposed, int[] output_padding, int groups, bool benchmark, "
                   "bool deterministic, bool cudnn_enabled, bool allow_tf32) -> Tensor",
                   "aten::_convolution.deprecated(Tensor input, Tensor weight, Tensor? bias, int[] stride, "
                   "int[] padding, int[] dilation, bool transposed, int[] output_padding, int groups, "
                   "bool benchmark, bool deterministic, bool cudnn_enabled) -> Tensor",
                   "aten::convolution(Tensor input, Tensor weight, Tensor? bias, int[] stride, int[] padding, "
                   "int[] dilation, bool transposed, int[] output_padding, int groups) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_conv(ctx, n, 3, 4, 5, 8, 6); },
                  needs_4d_input})
        .pattern({{"aten::batch_norm(Tensor input, Tensor? weight, Tensor? bias, Tensor? running_mean, "
                   "Tensor? running_var, bool training, float momentum, float eps, bool cudnn_enabled) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    if (ctx.to_bool(n->input(5))) ctx.fail("batch_norm in training mode is not supported (call eval())");
                    ir::Value* x = ctx.tensor(n->input(0));
                    if (x->type.rank() < 2 || !x->type.dims[1].is_static())
                      ctx.fail(str_cat("batch_norm needs a static channel dim, got ", x->type.str()));
                    int64_t c = x->type.dims[1].min;
                    auto dt = x->type.dtype;
                    if (ctx.is_none(n->input(3)) || ctx.is_none(n->input(4)))
                      ctx.fail("batch_norm without running statistics is not supported");
                    ir::BatchNormAttrs a;
                    a.eps = ctx.to_double(n->input(7));
                    ctx.set_output(0, ctx.add(ir::OpKind::BatchNorm, a,
                                              {x, param_or(ctx, n->input(1), c, 1.0, dt),
                                               param_or(ctx, n->input(2), c, 0.0, dt), ctx.tensor_as(n->input(3), dt),
                                               ctx.tensor_as(n->input(4), dt)}));
                  }})
        .pattern({{"aten::max_pool2d(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=0, "
                   "int[2] dilation=1, bool ceil_mode=False) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Pool2dAttrs a;
                    a.kind = ir::PoolKind::kMax;
                    a.kernel = pair_arg(ctx, n->input(1));
                    a.stride = ctx.to_ints(n->input(2)).empty() ? a.kernel : pair_arg(ctx, n->input(2));
                    a.padding = pair_arg(ctx, n->input(3));
                    a.dilation = pair_arg(ctx, n->input(4));
                    a.ceil_mode = ctx.to_bool(n->input(5));
                    ctx.set_output(0, ctx.add(ir::OpKind::Pool2d, a, {ctx.tensor(n->input(0))}));
                  },
                  needs_4d_input})
        .pattern({{"aten::avg_pool2d(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=0, "
                   "bool ceil_mode=False, bool count_include_pad=True, int? divisor_override=None) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Pool2dAttrs a;
                    a.kind = ir::PoolKind::kAvg;
                    a.kernel = pair_arg(ctx, n->input(1));
                    a.stride = ctx.to_ints(n->input(2)).empty() ? a.kernel : pair_arg(ctx, n->input(2));
                    a.padding = pair_arg(ctx, n->input(3));
                    a.ceil_mode = ctx.to_bool(n->input(4));
                    a.count_include_pad = ctx.to_bool(n->input(5));
                    a.divisor_override = ctx.is_none(n->input(6)) ? 0 : ctx.to_int(n->input(6));
                    if (a.divisor_override < 0) ctx.fail("divisor_override must be positive");
                    ctx.set_output(0, ctx.add(ir::OpKind::Pool2d, a, {ctx.tensor(n->input(0))}));
                  },
                  needs_4d_input})
        .pattern({{"aten::adaptive_avg_pool2d(Tensor self, SymInt[2] output_size) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::AdaptivePool2dAttrs a;
                    a.kind = ir::PoolKind::kAvg;
                    a.output_size = pair_arg(ctx, n->input(1));
                    ctx.set_output(0, ctx.add(ir::OpKind::AdaptivePool2d, a, {ctx.tensor(n->input(0))}));
                  },
                  needs_4d_input})
        .pattern({{"aten::adaptive_max_pool2d(Tensor self, int[2] output_size) -> (Tensor, Tensor)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::AdaptivePool2dAttrs a;
                    a.kind = ir::PoolKind::kMax;
                    a.output_size = pair_arg(ctx, n->input(1));
                    ctx.set_output(0, ctx.add(ir::OpKind::AdaptivePool2d, a, {ctx.tensor(n->input(0))}));
                    ctx.set(n->output(1), Arg::of_ivalue(c10::IValue()));  // indices: checked unused
                  },
                  [](const ConversionCtx& ctx, const Node* n) -> std::string {
                    if (n->output(1)->hasUses()) return "the indices output of adaptive_max_pool2d is not supported";
                    return needs_4d_input(ctx, n);
                  }});

}  // namespace
}  // namespace trtorch::frontend::converters
