// Norm converters: batch_norm (inference, BatchNorm), layer_norm (LayerNorm), and group_norm /
// instance_norm as a LayerNorm over each group's values ((N, C, *) reshaped to (N, G, C/G * prod(*)))
// followed by the per-channel affine; instance_norm with running statistics is a BatchNorm.
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

// The static channel count of an (N, C, ...) input of `op`.
int64_t channels(ConversionCtx& ctx, ir::Value* x, const char* op) {
  if (x->type.rank() < 2 || !x->type.dims[1].is_static())
    ctx.fail(str_cat(op, " needs a static channel dim, got ", x->type.str()));
  return x->type.dims[1].min;
}

// A BatchNorm from the node's running statistics, at batch_norm's and instance_norm's argument
// positions: weight 1, bias 2, running_mean 3, running_var 4, eps 7.
void add_running_stats_norm(ConversionCtx& ctx, const Node* n, const char* op, const char* no_stats) {
  ir::Value* x = ctx.tensor(n->input(0));
  const int64_t c = channels(ctx, x, op);
  const auto dt = x->type.dtype;
  if (ctx.is_none(n->input(3)) || ctx.is_none(n->input(4))) ctx.fail(no_stats);
  ir::BatchNormAttrs a;
  a.eps = ctx.to_double(n->input(7));
  ctx.set_output(0, ctx.add(ir::OpKind::BatchNorm, a,
                            {x, param_or(ctx, n->input(1), c, 1.0, dt), param_or(ctx, n->input(2), c, 0.0, dt),
                             ctx.tensor_as(n->input(3), dt), ctx.tensor_as(n->input(4), dt)}));
}

// Per-channel scale and shift of (N, C, *): x * w + b with w, b reshaped to (C, 1, ..., 1).
ir::Value* channel_affine(ConversionCtx& ctx, ir::Value* y, const torch::jit::Value* w, const torch::jit::Value* b) {
  std::vector<int64_t> shape(size_t(y->type.rank() - 1), 1);
  shape[0] = y->type.dims[1].min;
  if (!ctx.is_none(w)) y = binary(ctx, y, reshape(ctx, ctx.tensor_as(w, y->type.dtype), shape), ir::BinaryKind::kMul);
  if (!ctx.is_none(b)) y = binary(ctx, y, reshape(ctx, ctx.tensor_as(b, y->type.dtype), shape), ir::BinaryKind::kAdd);
  return y;
}

// Normalizes each of `groups` groups of channels of x (N, C, *) over its values.
ir::Value* group_normalize(ConversionCtx& ctx, ir::Value* x, int64_t groups, double eps) {
  const auto& d = dims_of(x);
  if (d.size() < 2 || !d[1].is_static())
    ctx.fail(str_cat("group normalization needs an (N, C, ...) input with a static channel dim, got ", x->type.str()));
  for (size_t i = 2; i < d.size(); ++i)
    if (!d[i].is_static()) ctx.fail(str_cat("group normalization of ", x->type.str(), ": dim ", i, " is dynamic"));
  const int64_t c = d[1].min;
  if (groups <= 0 || c % groups != 0) ctx.fail(str_cat(c, " channels do not split into ", groups, " groups"));
  int64_t per_group = c / groups;
  for (size_t i = 2; i < d.size(); ++i) per_group *= d[i].min;
  ir::LayerNormAttrs a;
  a.normalized_rank = 1;
  a.eps = eps;
  ir::Value* g = reshape(ctx, x, std::vector<ir::Dim>{d[0], ir::Dim::fixed(groups), ir::Dim::fixed(per_group)});
  return reshape(ctx, ctx.add(ir::OpKind::LayerNorm, a, {g}), d);
}

static auto reg =
    RegisterConverters()
        .pattern({{"aten::batch_norm(Tensor input, Tensor? weight, Tensor? bias, Tensor? running_mean, "
                   "Tensor? running_var, bool training, float momentum, float eps, bool cudnn_enabled) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    if (ctx.to_bool(n->input(5))) ctx.fail("batch_norm in training mode is not supported (call eval())");
                    add_running_stats_norm(ctx, n, "batch_norm", "batch_norm without running statistics is not supported");
                  }})
        .pattern({{"aten::layer_norm(Tensor input, SymInt[] normalized_shape, Tensor? weight=None, Tensor? bias=None, "
                   "float eps=1e-05, bool cudnn_enable=True) -> Tensor"},
                  add_layer_norm, float_input})
        .pattern({{"aten::group_norm(Tensor input, int num_groups, Tensor? weight=None, Tensor? bias=None, "
                   "float eps=1e-05, bool cudnn_enabled=True) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Value* y = group_normalize(ctx, ctx.tensor(n->input(0)), ctx.to_int(n->input(1)),
                                                   ctx.to_double(n->input(4)));
                    ctx.set_output(0, channel_affine(ctx, y, n->input(2), n->input(3)));
                  },
                  float_input})
        .pattern({{"aten::instance_norm(Tensor input, Tensor? weight, Tensor? bias, Tensor? running_mean, "
                   "Tensor? running_var, bool use_input_stats, float momentum, float eps, bool cudnn_enabled) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    if (!ctx.to_bool(n->input(5))) {  // the running statistics: a BatchNorm
                      add_running_stats_norm(ctx, n, "instance_norm",
                                             "instance_norm without input statistics needs running_mean and running_var");
                      return;
                    }
                    ir::Value* x = ctx.tensor(n->input(0));
                    const int64_t c = channels(ctx, x, "instance_norm");
                    ir::Value* y = group_normalize(ctx, x, c, ctx.to_double(n->input(7)));
                    ctx.set_output(0, channel_affine(ctx, y, n->input(1), n->input(2)));
                  },
                  float_input});

}  // namespace
}  // namespace trtorch::frontend::converters
