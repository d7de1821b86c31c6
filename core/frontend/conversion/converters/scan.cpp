// Running sums, products and differences along a dim: cumsum (the CumSum op), cumprod (CumProd)
// and diff (Slice, then Binary sub, or Compare xor for bool, like torch).
#include "core/frontend/conversion/converters/helpers.h"

namespace trtorch::frontend::converters {
namespace {

using torch::jit::Node;

ir::Value* slice(ConversionCtx& ctx, ir::Value* x, int64_t axis, int64_t start, int64_t end) {
  ir::SliceAttrs a;
  a.axis = axis;
  a.start = ir::Dim::fixed(start);
  a.end = ir::Dim::fixed(end);
  return ctx.add(ir::OpKind::Slice, a, {x});
}

// cumsum / cumprod(self, dim, dtype): the running sum or product (op) along dim.
void add_scan(ConversionCtx& ctx, const Node* n, ir::OpKind op) {
  ir::Value* x = ctx.tensor(n->input(0));
  // A 0-dim tensor is one element along dim 0 (or -1): its running sum is itself.
  if (x->type.rank() == 0) normalize_dim(ctx, ctx.to_int(n->input(1)), 1);
  if (!ctx.is_none(n->input(2))) {
    x = cast_to(ctx, x, at::ScalarType(ctx.to_int(n->input(2))));
  } else if (!ir::is_floating(x->type.dtype)) {
    x = cast_to(ctx, x, at::kLong);  // torch sums bool and integer tensors as int64
  }
  if (x->type.rank() == 0) return ctx.set_output(0, x);
  const int64_t axis = normalize_dim(ctx, ctx.to_int(n->input(1)), x->type.rank());
  if (op == ir::OpKind::CumSum) return ctx.set_output(0, ctx.add(op, ir::CumSumAttrs{axis}, {x}));
  ctx.set_output(0, ctx.add(op, ir::CumProdAttrs{axis}, {x}));
}

// diff(self, n, dim, prepend, append): prepend and append are concatenated along dim first
// (a 0-dim one as a single element), then n first differences are taken.
void add_diff(ConversionCtx& ctx, const Node* n) {
  ir::Value* x = ctx.tensor(n->input(0));
  const int64_t order = ctx.to_int(n->input(1));
  if (order < 0) ctx.fail(str_cat("order must be non-negative, got ", order));
  auto s = shape_of(ctx, x);
  if (s.empty()) ctx.fail("diff expects a tensor with at least one dimension");
  const int64_t d = normalize_dim(ctx, ctx.to_int(n->input(2)), int64_t(s.size()));
  std::vector<ir::Value*> parts;
  for (size_t i : {size_t(3), size_t(0), size_t(4)}) {
    if (i == 0) {
      parts.push_back(x);
      continue;
    }
    if (ctx.is_none(n->input(i))) continue;
    ir::Value* p = ctx.tensor_as(n->input(i), x->type.dtype);
    if (p->type.rank() == 0) {
      std::vector<int64_t> one = s;
      one[size_t(d)] = 1;
      p = expand(ctx, p, ir::fixed_dims(one));
    }
    auto ps = shape_of(ctx, p);
    bool ok = ps.size() == s.size();
    for (size_t j = 0; ok && j < s.size(); ++j) ok = int64_t(j) == d || ps[j] == s[j];
    if (!ok)
      ctx.fail(str_cat(i == 3 ? "prepend " : "append ", p->type.str(), " must match ", x->type.str(),
                       " in every dim but ", d));
    parts.push_back(p);
  }
  if (parts.size() > 1) {
    ir::ConcatAttrs c;
    c.axis = d;
    x = ctx.add(ir::OpKind::Concat, c, parts);
  }
  for (int64_t k = 0; k < order; ++k) {
    const int64_t len = shape_of(ctx, x)[size_t(d)];
    if (len == 0) break;
    ir::Value* hi = slice(ctx, x, d, 1, len);
    ir::Value* lo = slice(ctx, x, d, 0, len - 1);
    x = x->type.dtype == ir::DType::kBool ? compare(ctx, hi, lo, ir::CompareKind::kXor)
                                          : binary(ctx, hi, lo, ir::BinaryKind::kSub);
  }
  ctx.set_output(0, x);
}

static auto reg =
    RegisterConverters()
        .pattern({{"aten::cumsum(Tensor self, int dim, *, ScalarType? dtype=None) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_scan(ctx, n, ir::OpKind::CumSum); }})
        .pattern({{"aten::cumprod(Tensor self, int dim, *, ScalarType? dtype=None) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_scan(ctx, n, ir::OpKind::CumProd); }})
        .pattern({{"aten::diff(Tensor self, int n=1, int dim=-1, Tensor? prepend=None, Tensor? append=None) -> Tensor"},
                  add_diff});

}  // namespace
}  // namespace trtorch::frontend::converters
