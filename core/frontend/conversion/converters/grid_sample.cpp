// grid_sample (aten::grid_sampler and grid_sampler_2d, what F.grid_sample scripts to) as the
// GridSample op: 4-D input, bilinear or nearest, zeros / border / reflection padding.
#include "core/frontend/conversion/converters/helpers.h"

namespace trtorch::frontend::converters {
namespace {

using torch::jit::Node;

// torch's codes: interpolation 0 bilinear, 1 nearest, 2 bicubic; padding 0 zeros, 1 border,
// 2 reflection.
std::string can_grid_sample(const ConversionCtx& ctx, const Node* n) {
  if (std::string why = constant_args(ctx, n, {2, 3, 4}); !why.empty()) return why;
  const int64_t mode = ctx.to_int(n->input(2)), padding = ctx.to_int(n->input(3));
  if (mode == 2) return "bicubic grid sampling is not supported (bilinear and nearest are)";
  if (mode < 0 || mode > 2) return str_cat("unknown interpolation mode ", mode);
  if (padding < 0 || padding > 2) return str_cat("unknown padding mode ", padding);
  const Arg& x = ctx.arg(n->input(0));
  if (x.kind == Arg::Kind::kTensor && x.tensor->type.rank() != 4)
    return str_cat("only 4-D (N, C, H, W) inputs are supported (volumetric grid sampling is not), got ",
                   x.tensor->type.str());
  return float_input(ctx, n);
}

void add_grid_sample(ConversionCtx& ctx, const Node* n) {
  ir::Value* x = ctx.tensor(n->input(0));
  ir::Value* grid = ctx.tensor_as(n->input(1), x->type.dtype);
  ir::GridSampleAttrs a;
  a.mode = ctx.to_int(n->input(2)) == 1 ? ir::GridSampleMode::kNearest : ir::GridSampleMode::kBilinear;
  a.padding = ir::GridSamplePadding(ctx.to_int(n->input(3)));
  a.align_corners = ctx.to_bool(n->input(4));
  ctx.set_output(0, ctx.add(ir::OpKind::GridSample, a, {x, grid}));
}

static auto reg = RegisterConverters().pattern(
    {{"aten::grid_sampler(Tensor input, Tensor grid, int interpolation_mode, int padding_mode, bool align_corners) -> "
      "Tensor",
      "aten::grid_sampler_2d(Tensor input, Tensor grid, int interpolation_mode, int padding_mode, bool "
      "align_corners) -> Tensor"},
     add_grid_sample, can_grid_sample});

}  // namespace
}  // namespace trtorch::frontend::converters
