// Sorting and selection, all as the TopK op: topk, sort (stable or not: TopK is stable, which
// is a valid order for both), argsort, argmax / argmin (k = 1; the first extreme, like torch),
// max.dim / min.dim (values and indices). Bool inputs sort as int32 and are cast back.
#include "core/frontend/conversion/converters/helpers.h"

namespace trtorch::frontend::converters {
namespace {

using torch::jit::Node;

struct TopKResult {
  ir::Value* values;
  ir::Value* indices;
};

// TopK of x along `dim` (negative counts from the end); k = -1 sorts the whole dim. A 0-dim x is
// a line of one element.
TopKResult topk(ConversionCtx& ctx, ir::Value* x, int64_t dim, int64_t k, bool largest) {
  const bool scalar = x->type.rank() == 0;
  if (scalar) {
    normalize_dim(ctx, dim, 1);
    x = reshape(ctx, x, std::vector<int64_t>{1});
    dim = 0;
  }
  const bool is_bool = x->type.dtype == ir::DType::kBool;
  if (is_bool) x = cast_to(ctx, x, at::kInt);
  ir::TopKAttrs a;
  a.axis = normalize_dim(ctx, dim, x->type.rank());
  a.k = k;
  a.largest = largest;
  const ir::Dim& len = x->type.dims[size_t(a.axis)];
  if (k < -1 || (k >= 0 && k > len.min))
    ctx.fail(str_cat("k = ", k, " is out of range for dim ", a.axis, " of ", x->type.str(),
                     len.is_static() ? "" : " (a dynamic dim: k must not exceed its minimum)"));
  ir::Value* values = ctx.add(ir::OpKind::TopK, a, {x});
  TopKResult r{values, values->producer->outputs[1]};
  if (is_bool) r.values = cast_to(ctx, r.values, at::kBool);
  if (scalar) {
    r.values = reshape(ctx, r.values, std::vector<int64_t>{});
    r.indices = reshape(ctx, r.indices, std::vector<int64_t>{});
  }
  return r;
}

// x without dim `axis` (of size 1), the keepdim=False form of a reduction along it.
ir::Value* drop_dim(ConversionCtx& ctx, ir::Value* x, int64_t axis) {
  std::vector<ir::Dim> d = dims_of(x);
  d.erase(d.begin() + axis);
  return reshape(ctx, x, d);
}

void add_topk(ConversionCtx& ctx, const Node* n) {
  ir::Value* x = ctx.tensor(n->input(0));
  // sorted=False leaves the order to the implementation; a sorted result is one.
  TopKResult r = topk(ctx, x, ctx.to_int(n->input(2)), ctx.to_int(n->input(1)), ctx.to_bool(n->input(3)));
  ctx.set_output(0, r.values);
  ctx.set_output(1, r.indices);
}

// sort(self, dim, descending) and sort.stable(self, stable, dim, descending): the dim and the
// direction are the last two inputs.
void add_sort(ConversionCtx& ctx, const Node* n) {
  const size_t ni = n->inputs().size();
  TopKResult r = topk(ctx, ctx.tensor(n->input(0)), ctx.to_int(n->input(ni - 2)), -1, ctx.to_bool(n->input(ni - 1)));
  ctx.set_output(0, r.values);
  if (n->outputs().size() > 1) ctx.set_output(1, r.indices);
}

void add_argsort(ConversionCtx& ctx, const Node* n) {
  const size_t ni = n->inputs().size();
  ctx.set_output(0,
                 topk(ctx, ctx.tensor(n->input(0)), ctx.to_int(n->input(ni - 2)), -1, ctx.to_bool(n->input(ni - 1)))
                     .indices);
}

// argmax / argmin(self, dim=None, keepdim): dim None looks at the flattened tensor.
// The k = 1 extreme of x along dim. torch's min and argmin propagate NaN (a NaN is the minimum, the
// first one wins), where TopK ranks NaN above every number: a floating minimum is taken as the
// maximum of -x.
TopKResult extreme(ConversionCtx& ctx, ir::Value* x, int64_t dim, bool largest) {
  if (largest || !ir::is_floating(x->type.dtype)) return topk(ctx, x, dim, 1, largest);
  TopKResult r = topk(ctx, unary(ctx, x, ir::UnaryKind::kNeg), dim, 1, true);
  r.values = unary(ctx, r.values, ir::UnaryKind::kNeg);
  return r;
}

void add_arg_extreme(ConversionCtx& ctx, const Node* n, bool largest) {
  ir::Value* x = ctx.tensor(n->input(0));
  const bool keepdim = ctx.to_bool(n->input(2));
  if (ctx.is_none(n->input(1))) {
    const int64_t rank = x->type.rank();
    ir::Value* flat = reshape(ctx, x, std::vector<ir::Dim>{ir::Dim::fixed(-1)});
    ir::Value* i = extreme(ctx, flat, 0, largest).indices;
    return ctx.set_output(0, reshape(ctx, i, std::vector<int64_t>(keepdim ? size_t(rank) : 0, 1)));
  }
  const int64_t dim = ctx.to_int(n->input(1));
  ir::Value* i = extreme(ctx, x, dim, largest).indices;
  if (!keepdim && i->type.rank() > 0) i = drop_dim(ctx, i, normalize_dim(ctx, dim, i->type.rank()));
  ctx.set_output(0, i);
}

// max.dim / min.dim(self, dim, keepdim) -> (values, indices).
void add_extreme_dim(ConversionCtx& ctx, const Node* n, bool largest) {
  ir::Value* x = ctx.tensor(n->input(0));
  const int64_t dim = ctx.to_int(n->input(1));
  TopKResult r = extreme(ctx, x, dim, largest);
  if (!ctx.to_bool(n->input(2)) && r.values->type.rank() > 0) {
    const int64_t axis = normalize_dim(ctx, dim, r.values->type.rank());
    r.values = drop_dim(ctx, r.values, axis);
    r.indices = drop_dim(ctx, r.indices, axis);
  }
  ctx.set_output(0, r.values);
  ctx.set_output(1, r.indices);
}

static auto reg =
    RegisterConverters()
        .pattern({{"aten::topk(Tensor self, SymInt k, int dim=-1, bool largest=True, bool sorted=True) -> "
                   "(Tensor values, Tensor indices)"},
                  add_topk, [](const ConversionCtx& ctx, const Node* n) { return constant_args(ctx, n, {1, 2, 3}); }})
        .pattern({{"aten::sort(Tensor self, int dim=-1, bool descending=False) -> (Tensor values, Tensor indices)",
                   "aten::sort.stable(Tensor self, *, bool? stable, int dim=-1, bool descending=False) -> "
                   "(Tensor values, Tensor indices)"},
                  add_sort, [](const ConversionCtx& ctx, const Node* n) { return constant_args(ctx, n, {1, 2, 3}); }})
        .pattern({{"aten::argsort(Tensor self, int dim=-1, bool descending=False) -> Tensor",
                   "aten::argsort.stable(Tensor self, *, bool stable, int dim=-1, bool descending=False) -> Tensor"},
                  add_argsort, [](const ConversionCtx& ctx, const Node* n) { return constant_args(ctx, n, {1, 2, 3}); }})
        .pattern({{"aten::argmax(Tensor self, int? dim=None, bool keepdim=False) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_arg_extreme(ctx, n, true); },
                  [](const ConversionCtx& ctx, const Node* n) { return constant_args(ctx, n, {1, 2}); }})
        .pattern({{"aten::argmin(Tensor self, int? dim=None, bool keepdim=False) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_arg_extreme(ctx, n, false); },
                  [](const ConversionCtx& ctx, const Node* n) { return constant_args(ctx, n, {1, 2}); }})
        .pattern({{"aten::max.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)"},
                  [](ConversionCtx& ctx, const Node* n) { add_extreme_dim(ctx, n, true); },
                  [](const ConversionCtx& ctx, const Node* n) { return constant_args(ctx, n, {1, 2}); }})
        .pattern({{"aten::min.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)"},
                  [](ConversionCtx& ctx, const Node* n) { add_extreme_dim(ctx, n, false); },
                  [](const ConversionCtx& ctx, const Node* n) { return constant_args(ctx, n, {1, 2}); }});

}  // namespace
}  // namespace trtorch::frontend::converters
