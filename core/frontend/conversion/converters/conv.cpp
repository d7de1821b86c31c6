// Convolution converters: aten::conv1d, aten::conv2d, aten::_convolution and aten::convolution, as
// Conv2d. A 1-D convolution is a 2-D one over a height of 1: (N, C, L) -> (N, C, 1, L), the weight
// (O, C/g, K) -> (O, C/g, 1, K), and the result back to (N, O, L').
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
  if (w.dim() != 3 && w.dim() != 4)
    ctx.fail(str_cat("only 1-D and 2-D convolution are supported, weight has rank ", w.dim()));
  if (x->type.rank() != w.dim())
    ctx.fail(str_cat("the input ", x->type.str(), " has rank ", x->type.rank(), " but the weight has rank ", w.dim(),
                     " (unbatched convolution is not supported)"));
  const bool one_d = w.dim() == 3;
  ir::Conv2dAttrs a;
  a.groups = ctx.to_int(n->input(groups_i));
  ir::Value* weight;
  if (one_d) {
    a.stride = {1, pair_arg(ctx, n->input(stride_i), 1)[0]};
    a.padding = {0, pair_arg(ctx, n->input(pad_i), 1)[0]};
    a.dilation = {1, pair_arg(ctx, n->input(dil_i), 1)[0]};
    std::vector<ir::Dim> d4 = dims_of(x);
    d4.insert(d4.begin() + 2, ir::Dim::fixed(1));
    x = reshape(ctx, x, d4);
    weight = ctx.constant(w.unsqueeze(2).to(to_torch_dtype(x->type.dtype)));
  } else {
    a.stride = pair_arg(ctx, n->input(stride_i));
    a.padding = pair_arg(ctx, n->input(pad_i));
    a.dilation = pair_arg(ctx, n->input(dil_i));
    weight = ctx.tensor_as(n->input(1), x->type.dtype);
  }
  std::vector<ir::Value*> ins{x, weight};
  if (!ctx.is_none(n->input(2))) ins.push_back(ctx.tensor_as(n->input(2), x->type.dtype));
  ir::Value* y = ctx.add(ir::OpKind::Conv2d, a, ins);
  if (one_d) {
    std::vector<ir::Dim> d3 = dims_of(y);
    d3.erase(d3.begin() + 2);
    y = reshape(ctx, y, d3);
  }
  ctx.set_output(0, y);
}

// Input 0 is (N, C, L) or (N, C, H, W).
std::string conv_input(const ConversionCtx& ctx, const Node* n) {
  const Arg& a = ctx.arg(n->input(0));
  if (a.kind == Arg::Kind::kTensor && a.tensor->type.rank() != 3 && a.tensor->type.rank() != 4)
    return str_cat("only 1-D (N, C, L) and 2-D (N, C, H, W) convolutions are supported, got an input ",
                   a.tensor->type.str());
  return "";
}

static auto reg =
    RegisterConverters()
        .pattern({{"aten::conv2d(Tensor input, Tensor weight, Tensor? bias=None, int[2] stride=1, int[2] padding=0, "
                   "int[2] dilation=1, int groups=1) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_conv(ctx, n, 3, 4, 5, 6, -1); },
                  needs_4d_input})
        .pattern({{"aten::conv1d(Tensor input, Tensor weight, Tensor? bias=None, int[1] stride=1, int[1] padding=0, "
                   "int[1] dilation=1, int groups=1) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_conv(ctx, n, 3, 4, 5, 6, -1); },
                  [](const ConversionCtx& ctx, const Node* n) {
                    const Arg& a = ctx.arg(n->input(0));
                    if (a.kind == Arg::Kind::kTensor && a.tensor->type.rank() != 3)
                      return str_cat("only batched (N, C, L) inputs are supported, got ", a.tensor->type.str());
                    return std::string();
                  }})
        .pattern({{"aten::_convolution(Tensor input, Tensor weight, Tensor? bias, int[] stride, int[] padding, "
                   "int[] dilation, bool transposed, int[] output_padding, int groups, bool benchmark, "
                   "bool deterministic, bool cudnn_enabled, bool allow_tf32) -> Tensor",
                   "aten::_convolution.deprecated(Tensor input, Tensor weight, Tensor? bias, int[] stride, "
                   "int[] padding, int[] dilation, bool transposed, int[] output_padding, int groups, "
                   "bool benchmark, bool deterministic, bool cudnn_enabled) -> Tensor",
                   "aten::convolution(Tensor input, Tensor weight, Tensor? bias, int[] stride, int[] padding, "
                   "int[] dilation, bool transposed, int[] output_padding, int groups) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_conv(ctx, n, 3, 4, 5, 8, 6); },
                  conv_input});

}  // namespace
}  // namespace trtorch::frontend::converters
