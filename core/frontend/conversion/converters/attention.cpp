// Attention converters: scaled_dot_product_attention and torch's fused multi-head attention
// (_native_multi_head_attention), each as one Attention node (plus Linear projections).
#include <algorithm>
#include <cmath>
#include <limits>

#include <ATen/ATen.h>

#include "core/frontend/conversion/converters/helpers.h"
#include "core/frontend/dtype_map.h"

namespace trtorch::frontend::converters {
namespace {

using torch::jit::Node;

ir::Value* attention(ConversionCtx& ctx, ir::Value* q, ir::Value* k, ir::Value* v, ir::Value* bias, double scale,
                     bool causal) {
  ir::AttentionAttrs a;
  a.scale = scale;
  a.causal = causal;
  std::vector<ir::Value*> ins{q, k, v};
  if (bias) ins.push_back(bias);
  return ctx.add(ir::OpKind::Attention, a, ins);
}

// softmax(q @ k^T * scale + mask) @ v over the last two dims, any leading (batch, head) dims
// (broadcast where one is 1; key and value heads repeated for grouped-query attention): one
// Attention node; a boolean mask becomes an additive 0 / -inf bias.
void add_sdpa(ConversionCtx& ctx, const Node* n) {
  ir::Value* q = ctx.tensor(n->input(0));
  ir::DType dt = q->type.dtype;
  ir::Value* k = ctx.tensor_as(n->input(1), dt);
  ir::Value* v = ctx.tensor_as(n->input(2), dt);
  if (q->type.rank() < 2 || k->type.rank() != q->type.rank() || v->type.rank() != q->type.rank())
    ctx.fail("query, key and value need one rank >= 2");
  if (ctx.to_double(n->input(4)) != 0.0) ctx.fail("dropout_p must be 0 for inference");
  const bool causal = ctx.to_bool(n->input(5));
  const bool has_mask = !ctx.is_none(n->input(3));
  if (causal && has_mask) ctx.fail("attn_mask and is_causal=True cannot both be given");
  // Grouped-query attention (enable_gqa): each key / value head serves Hq / Hkv query heads in a
  // row, as torch repeats them (repeat_interleave along the head dim, -3).
  const size_t rank = size_t(q->type.rank());
  if (ctx.to_bool(n->input(7))) {
    if (rank < 3) ctx.fail("enable_gqa needs a head dim (rank >= 3)");
    const ir::Dim hq = dims_of(q)[rank - 3], hk = dims_of(k)[rank - 3], hv = dims_of(v)[rank - 3];
    if (!hq.is_static() || !hk.is_static() || !hv.is_static())
      ctx.fail("grouped-query attention needs static head counts");
    if (hk.min != hv.min || hk.min < 1 || hq.min % hk.min != 0)
      ctx.fail(str_cat("grouped-query attention: the query's ", hq.min, " heads must be a multiple of the key's ",
                       hk.min, " and the value's ", hv.min, " (equal)"));
    std::vector<int64_t> reps(rank, 1);
    reps[rank - 3] = hq.min / hk.min;
    k = repeat_dims(ctx, k, reps, /*interleave=*/true);
    v = repeat_dims(ctx, v, reps, /*interleave=*/true);
  }
  // Leading (batch, head) dims broadcast, as in torch's matmuls: a dim of 1 takes the others' size.
  std::vector<ir::Dim> lead;
  for (size_t i = 0; i + 2 < rank; ++i) {
    ir::Dim d = ir::Dim::fixed(1);
    for (ir::Value* t : {q, k, v}) {
      const ir::Dim& e = dims_of(t)[i];
      if (e == ir::Dim::fixed(1) || e == d) continue;
      if (d != ir::Dim::fixed(1))
        ctx.fail(str_cat("query, key and value do not broadcast in dim ", i, ": ", q->type.str(), ", ", k->type.str(),
                         ", ", v->type.str()));
      d = e;
    }
    lead.push_back(d);
  }
  auto broadcast = [&](ir::Value* t) {
    const std::vector<ir::Dim>& ts = dims_of(t);
    if (std::equal(lead.begin(), lead.end(), ts.begin())) return t;
    std::vector<ir::Dim> to = lead;
    to.insert(to.end(), ts.end() - 2, ts.end());
    return expand(ctx, t, to);
  };
  q = broadcast(q);
  k = broadcast(k);
  v = broadcast(v);
  const auto& qs = dims_of(q);
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
                           {x, ctx.constant(w.narrow(0, i * E, E).contiguous().to(to_torch_dtype(dt))),
                            ctx.constant(b.narrow(0, i * E, E).contiguous().to(to_torch_dtype(dt)))});
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
