// Pooling converters: max_pool2d and avg_pool2d (Pool2d), adaptive_avg_pool2d and
// adaptive_max_pool2d (AdaptivePool2d).
#include "core/frontend/conversion/converters/helpers.h"

namespace trtorch::frontend::converters {
namespace {

using torch::jit::Node;

static auto reg =
    RegisterConverters()
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
