// Convolution converters: aten::conv2d, aten::_convolution and aten::convolution, as Conv2d.
#include "core/frontend/conversion/converters/helpers.h"

namespace trtorch::frontend::converters {
namespace {

using torch::jit::Node;

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
                  needs_4d_input});

}  // namespace
}  // namespace trtorch::frontend::converters
