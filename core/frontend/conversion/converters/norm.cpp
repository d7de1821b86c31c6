// Norm converters: batch_norm (inference, BatchNorm) and layer_norm (LayerNorm).
#include <algorithm>

#include <ATen/ATen.h>

#include "core/frontend/conversion/converters/helpers.h"

namespace trtorch::frontend::converters {
namespace {

using torch::jit::Node;

ir::Value* param_or(ConversionCtx& ctx, const torch::jit::Value* v, int64_t c, double fill, ir::DType dt) {
  if (!ctx.is_none(v)) return ctx.tensor_as(v, dt);
  ir::HostTensor h(dt, {c});
  for (int64_t i = 0; i < c; ++i) h.set(i, fill);
  return ctx.graph.add_constant(std::move(h), describe(ctx.node));
}

void add_layer_norm(ConversionCtx& ctx, const Node* n) {
  ir::Value* x = ctx.tensor(n->input(0));
  auto norm = ctx.to_ints(n->input(1));
  const auto& s = dims_of(x);
  if (norm.empty() || norm.size() > s.size() ||
      !std::equal(norm.begin(), norm.end(), s.end() - int64_t(norm.size()),
                  [](int64_t a, const ir::Dim& b) { return ir::Dim(a) == b; }))
    ctx.fail(str_cat("normalized_shape does not match the last dims of ", x->type.str()));
  ir::LayerNormAttrs a;
  a.normalized_rank = int64_t(norm.size());
  a.eps = ctx.to_double(n->input(4));
  std::vector<ir::Value*> ins{x};
  const bool has_w = !ctx.is_none(n->input(2)), has_b = !ctx.is_none(n->input(3));
  if (has_w || has_b)
    ins.push_back(has_w ? ctx.tensor_as(n->input(2), x->type.dtype) : ctx.constant(at::ones(norm)));
  if (has_b) ins.push_back(ctx.tensor_as(n->input(3), x->type.dtype));
  ctx.set_output(0, ctx.add(ir::OpKind::LayerNorm, a, ins));
}

static auto reg =
    RegisterConverters()
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
        .pattern({{"aten::layer_norm(Tensor input, SymInt[] normalized_shape, Tensor? weight=None, Tensor? bias=None, "
                   "float eps=1e-05, bool cudnn_enable=True) -> Tensor"},
                  add_layer_norm, float_input});

}  // namespace
}  // namespace trtorch::frontend::converters
