// Transformer building blocks: layer_norm, embedding / index_select (Gather), masked_fill /
// where (Where), expand / expand_as (Expand), and scaled_dot_product_attention and torch's
// fused multi-head attention (Attention).
#include <algorithm>
#include <cmath>
#include <limits>

#include <ATen/ATen.h>

#include "core/frontend/conversion/converters/helpers.h"
#include "core/runtime/runtime.h"

namespace trtorch::frontend::converters {
namespace {

using torch::jit::Node;

std::string float_input(const ConversionCtx& ctx, const Node* n) {
  const Arg& a = ctx.arg(n->input(0));
  if (a.kind == Arg::Kind::kTensor && !ir::is_floating(a.tensor->type.dtype))
    return str_cat("only floating-point inputs are supported, got ", a.tensor->type.str());
  return "";
}

// The guard of ops whose input `i` holds indices.
std::string int_indices(const ConversionCtx& ctx, const Node* n, size_t i) {
  const Arg& a = ctx.arg(n->input(i));
  if (a.kind == Arg::Kind::kTensor) {
    ir::DType t = a.tensor->type.dtype;
    if (t != ir::DType::kInt32 && t != ir::DType::kInt64)
      return str_cat("indices must be int32 or int64, got ", ir::dtype_name(t));
  } else if (a.kind == Arg::Kind::kIValue && a.ivalue.isTensor()) {
    at::ScalarType t = a.ivalue.toTensor().scalar_type();
    if (t != at::kInt && t != at::kLong) return str_cat("indices must be int32 or int64, got ", c10::toString(t));
  }
  return "";
}

ir::Value* gather(ConversionCtx& ctx, ir::Value* data, ir::Value* idx, int64_t axis) {
  ir::GatherAttrs a;
  a.axis = axis;
  return ctx.add(ir::OpKind::Gather, a, {data, idx});
}

ir::Value* where(ConversionCtx& ctx, ir::Value* cond, ir::Value* a, ir::Value* b) {
  return ctx.add(ir::OpKind::Where, ir::WhereAttrs{}, {cond, a, b});
}

// x broadcast to `size` (torch.expand: -1 keeps the input's dim; new leading dims are given).
ir::Value* expand(ConversionCtx& ctx, ir::Value* x, std::vector<ir::Dim> size) {
  const auto& s = dims_of(x);
  if (size.size() < s.size())
    ctx.fail(str_cat("expand to ", size.size(), " dims is below the input's rank ", s.size()));
  const size_t off = size.size() - s.size();
  for (size_t i = 0; i < size.size(); ++i) {
    if (size[i] != ir::Dim::fixed(-1)) continue;
    if (i < off) ctx.fail("expand: -1 is not allowed for a new leading dim");
    size[i] = s[i - off];
  }
  if (size == s) return x;
  ir::ExpandAttrs a;
  a.shape = std::move(size);
  return ctx.add(ir::OpKind::Expand, a, {x});
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

// where(cond, self, other) in the dtype of the engine-computed value (self, else other).
void add_where(ConversionCtx& ctx, const Node* n, size_t cond_i, size_t self_i, size_t other_i) {
  const Arg& s = ctx.arg(n->input(self_i));
  const Arg& o = ctx.arg(n->input(other_i));
  ir::DType dt = s.kind == Arg::Kind::kTensor   ? s.tensor->type.dtype
                 : o.kind == Arg::Kind::kTensor ? o.tensor->type.dtype
                                                : ctx.tensor(n->input(self_i))->type.dtype;
  ir::Value* cond = ctx.tensor_as(n->input(cond_i), ir::DType::kBool);
  ctx.set_output(0, where(ctx, cond, ctx.tensor_as(n->input(self_i), dt), ctx.tensor_as(n->input(other_i), dt)));
}

ir::Value* attention(ConversionCtx& ctx, ir::Value* q, ir::Value* k, ir::Value* v, ir::Value* bias, double scale,
                     bool causal) {
  ir::AttentionAttrs a;
  a.scale = scale;
  a.causal = causal;
  std::vector<ir::Value*> ins{q, k, v};
  if (bias) ins.push_back(bias);
  return ctx.add(ir::OpKind::Attention, a, ins);
}

// softmax(q @ k^T * scale + mask) @ v over the last two dims, any leading (batch, head) dims:
// one Attention node; a boolean mask becomes an additive 0 / -inf bias.
void add_sdpa(ConversionCtx& ctx, const Node* n) {
  ir::Value* q = ctx.tensor(n->input(0));
  ir::DType dt = q->type.dtype;
  ir::Value* k = ctx.tensor_as(n->input(1), dt);
  ir::Value* v = ctx.tensor_as(n->input(2), dt);
  const auto &qs = dims_of(q), &ks = dims_of(k), &vs = dims_of(v);
  if (qs.size() < 2 || ks.size() != qs.size() || vs.size() != qs.size())
    ctx.fail("query, key and value need one rank >= 2");
  if (ctx.to_double(n->input(4)) != 0.0) ctx.fail("dropout_p must be 0 for inference");
  const bool causal = ctx.to_bool(n->input(5));
  const bool has_mask = !ctx.is_none(n->input(3));
  if (causal && has_mask) ctx.fail("attn_mask and is_causal=True cannot both be given");
  if (!std::equal(qs.begin(), qs.end() - 2, ks.begin()) || !std::equal(qs.begin(), qs.end() - 2, vs.begin()))
    ctx.fail("query, key and value must have the same leading (batch, head) dims (grouped-query attention and "
             "broadcast batch dims are not supported yet)");
  if (!qs.back().is_static()) ctx.fail(str_cat("the head size of ", q->type.str(), " must be static"));
  const int64_t E = qs.back().min;
  const double scale = ctx.is_none(n->input(6)) ? 1.0 / std::sqrt(double(E)) : ctx.to_double(n->input(6));
  ir::Value* bias = nullptr;
  if (has_mask) {
    const Arg& ma = ctx.arg(n->input(3));
    bool is_bool = ma.kind == Arg::Kind::kTensor ? ma.tensor->type.dtype == ir::DType::kBool
                                                 : ma.ivalue.isTensor() && ma.ivalue.toTensor().scalar_type() == at::kBool;
    if (is_bool)
      bias = where(ctx, ctx.tensor(n->input(3)), ctx.scalar_constant(0.0, dt),
                   ctx.scalar_constant(-std::numeric_limits<double>::infinity(), dt));
    else
      bias = ctx.tensor_as(n->input(3), dt);
  }
  ctx.set_output(0, attention(ctx, q, k, v, bias, scale, causal));
}

// torch's fused multi-head attention (what nn.MultiheadAttention runs in eval mode without
// autograd): q/k/v projections, per-head attention, output projection; no mask, no weights.
void add_native_mha(ConversionCtx& ctx, const Node* n) {
  if (!ctx.is_none(n->input(9))) ctx.fail("_native_multi_head_attention with a mask is not supported yet");
  // With need_weights=False torch returns an empty weights tensor (nn.MultiheadAttention passes it
  // on in its result tuple, which callers drop); computing the weights is not supported.
  if (ctx.to_bool(n->input(10)) && n->output(1)->hasUses())
    ctx.fail("the attention weights output of _native_multi_head_attention is not supported (need_weights=True)");
  for (size_t i : {5, 6, 7, 8})
    if (!ctx.is_const(n->input(i))) ctx.fail("multi-head attention weights must be constants (freeze the module)");
  ir::Value* query = ctx.tensor(n->input(0));
  ir::DType dt = query->type.dtype;
  const int64_t E = ctx.to_int(n->input(3)), H = ctx.to_int(n->input(4));
  if (H <= 0 || E % H != 0) ctx.fail(str_cat("embed_dim ", E, " is not divisible by num_head ", H));
  const int64_t D = E / H;
  at::Tensor w = ctx.ivalue(n->input(5)).toTensor(), b = ctx.ivalue(n->input(6)).toTensor();
  // Projections of query, key and value, split into heads: [N, L, E] -> [N, H, L, D].
  std::vector<ir::Value*> qkv;
  for (int64_t i = 0; i < 3; ++i) {
    ir::Value* x = i == 0 ? query : ctx.tensor_as(n->input(size_t(i)), dt);
    const auto& xs = dims_of(x);
    if (xs.size() != 3 || xs[2] != ir::Dim(E)) ctx.fail(str_cat("multi-head attention expects [N, L, ", E, "] inputs"));
    ir::Value* y = ctx.add(ir::OpKind::Linear, ir::LinearAttrs{},
                           {x, ctx.constant(w.narrow(0, i * E, E).contiguous().to(runtime::to_torch_dtype(dt))),
                            ctx.constant(b.narrow(0, i * E, E).contiguous().to(runtime::to_torch_dtype(dt)))});
    y = reshape(ctx, y, std::vector<ir::Dim>{xs[0], xs[1], H, D});
    qkv.push_back(transpose(ctx, y, {0, 2, 1, 3}));
  }
  ir::Value* o = attention(ctx, qkv[0], qkv[1], qkv[2], nullptr, 1.0 / std::sqrt(double(D)), false);  // [N, H, L, D]
  const std::vector<ir::Dim> os = dims_of(o);
  o = reshape(ctx, transpose(ctx, o, {0, 2, 1, 3}), std::vector<ir::Dim>{os[0], os[2], E});
  ctx.set_output(0, ctx.add(ir::OpKind::Linear, ir::LinearAttrs{}, {o, ctx.tensor_as(n->input(7), dt),
                                                                   ctx.tensor_as(n->input(8), dt)}));
  ctx.set(n->output(1), Arg::of_ivalue(at::empty({0})));  // torch's result for need_weights=False
}

static auto reg =
    RegisterConverters()
        .pattern({{"aten::layer_norm(Tensor input, SymInt[] normalized_shape, Tensor? weight=None, Tensor? bias=None, "
                   "float eps=1e-05, bool cudnn_enable=True) -> Tensor"},
                  add_layer_norm, float_input})
        .pattern({{"aten::embedding(Tensor weight, Tensor indices, SymInt padding_idx=-1, bool scale_grad_by_freq=False, "
                   "bool sparse=False) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    // padding_idx only affects gradients.
                    ctx.set_output(0, gather(ctx, ctx.tensor(n->input(0)), ctx.tensor(n->input(1)), 0));
                  },
                  [](const ConversionCtx& ctx, const Node* n) { return int_indices(ctx, n, 1); }})
        .pattern({{"aten::index_select(Tensor self, int dim, Tensor index) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Value* x = ctx.tensor(n->input(0));
                    ir::Value* idx = ctx.tensor(n->input(2));
                    if (idx->type.rank() > 1) ctx.fail(str_cat("index must be 0-D or 1-D, got ", idx->type.str()));
                    if (idx->type.rank() == 0) idx = reshape(ctx, idx, std::vector<int64_t>{1});
                    ctx.set_output(0, gather(ctx, x, idx, normalize_dim(ctx, ctx.to_int(n->input(1)), x->type.rank())));
                  },
                  [](const ConversionCtx& ctx, const Node* n) { return int_indices(ctx, n, 2); }})
        .pattern({{"aten::masked_fill.Scalar(Tensor self, Tensor mask, Scalar value) -> Tensor",
                   "aten::masked_fill_.Scalar(Tensor(a!) self, Tensor mask, Scalar value) -> Tensor(a!)",
                   "aten::masked_fill.Tensor(Tensor self, Tensor mask, Tensor value) -> Tensor",
                   "aten::masked_fill_.Tensor(Tensor(a!) self, Tensor mask, Tensor value) -> Tensor(a!)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Value* x = ctx.tensor(n->input(0));
                    ir::Value* value = ctx.tensor_as(n->input(2), x->type.dtype);
                    if (value->type.rank() != 0) ctx.fail("masked_fill value must be a scalar or a 0-D tensor");
                    ir::Value* out = where(ctx, ctx.tensor_as(n->input(1), ir::DType::kBool), value, x);
                    // The mask may broadcast self, but the result keeps self's shape.
                    if (out->type != x->type) ctx.fail("masked_fill: the mask must broadcast to self's shape");
                    ctx.set_output(0, out);
                  }})
        .pattern({{"aten::where.self(Tensor condition, Tensor self, Tensor other) -> Tensor",
                   "aten::where.ScalarOther(Tensor condition, Tensor self, Scalar other) -> Tensor",
                   "aten::where.ScalarSelf(Tensor condition, Scalar self, Tensor other) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_where(ctx, n, 0, 1, 2); }})
        .pattern({{"aten::expand(Tensor(a) self, SymInt[] size, *, bool implicit=False) -> Tensor(a)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ctx.set_output(0, expand(ctx, ctx.tensor(n->input(0)), ctx.to_dims(n->input(1))));
                  }})
        .pattern({{"aten::expand_as(Tensor(a) self, Tensor other) -> Tensor(a)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Value* other = ctx.tensor(n->input(1));
                    ctx.set_output(0, expand(ctx, ctx.tensor(n->input(0)), dims_of(other)));
                  }})
        .pattern({{"aten::scaled_dot_product_attention(Tensor query, Tensor key, Tensor value, Tensor? attn_mask=None, "
                   "float dropout_p=0., bool is_causal=False, *, float? scale=None, bool enable_gqa=False) -> Tensor"},
                  add_sdpa, float_input})
        .pattern({{"aten::_native_multi_head_attention(Tensor query, Tensor key, Tensor value, int embed_dim, "
                   "int num_head, Tensor qkv_weight, Tensor qkv_bias, Tensor proj_weight, Tensor proj_bias, "
                   "Tensor? mask=None, bool need_weights=True, bool average_attn_weights=True, int? mask_type=None) "
                   "-> (Tensor, Tensor)"},
                  add_native_mha, float_input});

}  // namespace
}  // namespace trtorch::frontend::converters
