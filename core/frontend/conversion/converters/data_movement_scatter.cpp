// Scatter converters of the data_movement family, as the Scatter op: scatter (a src tensor or a
// scalar value), scatter_add, scatter with reduce="add", scatter_reduce "sum" including self, and
// the row forms index_add, index_copy and index_fill.
// A src larger than the index is cut to the index's shape (torch reads only that part). The
// in-place forms convert like the others where lowering allows the write (the value is not read
// again). index_put is in data_movement_index.cpp, beside the indexing it mirrors.
#include "core/frontend/conversion/converters/helpers.h"

namespace trtorch::frontend::converters {
namespace {

using torch::jit::Node;

// Argument `v` is a tensor (computed by the engine or known), not a scalar.
bool is_tensor_arg(const ConversionCtx& ctx, const torch::jit::Value* v) {
  const Arg& a = ctx.arg(v);
  return a.kind == Arg::Kind::kTensor || (a.kind == Arg::Kind::kIValue && a.ivalue.isTensor());
}

// scatter*(self, dim, index, src or value, ...): `reduce` decided by the caller.
void add_scatter(ConversionCtx& ctx, const Node* n, ir::ScatterReduce reduce) {
  ir::Value* self = ctx.tensor(n->input(0));
  ir::Value* idx = ctx.tensor(n->input(2));
  const int64_t rank = self->type.rank();
  if (rank == 0) ctx.fail("scatter into a 0-dim tensor is not supported");
  const int64_t axis = normalize_dim(ctx, ctx.to_int(n->input(1)), rank);
  if (idx->type.rank() != rank)
    ctx.fail(str_cat("index ", idx->type.str(), " must have the rank of self ", self->type.str()));
  ir::Value* src;
  if (is_tensor_arg(ctx, n->input(3))) {
    src = ctx.tensor_as(n->input(3), self->type.dtype);
    if (src->type.rank() != rank)
      ctx.fail(str_cat("src ", src->type.str(), " must have the rank of self ", self->type.str()));
    if (src->type.dims != idx->type.dims) {  // only the index's part of src is read
      const std::vector<int64_t> ss = shape_of(ctx, src), is = shape_of(ctx, idx);
      for (int64_t d = 0; d < rank; ++d) {
        if (is[size_t(d)] > ss[size_t(d)])
          ctx.fail(str_cat("index ", idx->type.str(), " is larger than src ", src->type.str(), " in dim ", d));
        if (is[size_t(d)] < ss[size_t(d)]) src = slice(ctx, src, d, ir::Dim(0), ir::Dim(is[size_t(d)]), 1);
      }
    }
  } else {
    src = expand(ctx, ctx.scalar_constant(ctx.to_double(n->input(3)), self->type.dtype), dims_of(idx));
  }
  ctx.set_output(0, scatter(ctx, self, idx, src, axis, reduce));
}

// index_add / index_copy / index_fill(self, dim, index, source or value): rows of dim `dim` picked
// by a 1-D index receive the source's rows in order (added, copied or filled): a Scatter whose
// index is the 1-D index laid along dim and broadcast to the source's shape.
void add_index_rows(ConversionCtx& ctx, const Node* n, ir::ScatterReduce reduce) {
  const bool fill = std::string(n->kind().toUnqualString()).rfind("index_fill", 0) == 0;
  ir::Value* self = ctx.tensor(n->input(0));
  ir::Value* idx = ctx.tensor(n->input(2));
  const bool scalar = self->type.rank() == 0;
  if (scalar) self = reshape(ctx, self, std::vector<int64_t>{1});
  const int64_t rank = self->type.rank();
  const int64_t axis = normalize_dim(ctx, ctx.to_int(n->input(1)), scalar ? 1 : rank);
  if (idx->type.rank() > 1) ctx.fail(str_cat("index must be 0-D or 1-D, got ", idx->type.str()));
  if (idx->type.rank() == 0) idx = reshape(ctx, idx, std::vector<int64_t>{1});
  const ir::Dim size = dims_of(self)[size_t(axis)];
  // Negative indices count from the end (index_fill; the others refuse them).
  if (size.is_static()) idx = wrap_negative_index(ctx, idx, size.value());
  std::vector<ir::Dim> rows = dims_of(self);
  rows[size_t(axis)] = dims_of(idx)[0];
  ir::Value* src;
  if (is_tensor_arg(ctx, n->input(3))) {
    src = ctx.tensor_as(n->input(3), self->type.dtype);
    if (fill) {  // a 0-dim value
      if (src->type.rank() != 0) ctx.fail(str_cat("index_fill's value must be 0-dim, got ", src->type.str()));
      src = expand(ctx, src, rows);
    } else {
      if (src->type.rank() == 0) src = reshape(ctx, src, std::vector<int64_t>{1});
      if (src->type.dims != rows)
        ctx.fail(str_cat("source ", src->type.str(), " must have self's shape with dim ", axis, " the index's length"));
    }
  } else {
    src = expand(ctx, ctx.scalar_constant(ctx.to_double(n->input(3)), self->type.dtype), rows);
  }
  // index_add's alpha scales the source.
  if (n->inputs().size() > 4 && !ctx.is_none(n->input(4)) && ctx.to_double(n->input(4)) != 1.0)
    src = binary(ctx, src, ctx.scalar_constant(ctx.to_double(n->input(4)), src->type.dtype), ir::BinaryKind::kMul);
  std::vector<ir::Dim> along(size_t(rank), ir::Dim(1));
  along[size_t(axis)] = dims_of(idx)[0];
  ir::Value* y = scatter(ctx, self, expand(ctx, reshape(ctx, idx, along), rows), src, axis, reduce);
  ctx.set_output(0, scalar ? reshape(ctx, y, std::vector<int64_t>{}) : y);
}

// The index is int32 or int64; self is not bool for additions.
std::string can_scatter(const ConversionCtx& ctx, const Node* n, bool adds) {
  const Arg& i = ctx.arg(n->input(2));
  if (i.kind == Arg::Kind::kTensor && i.tensor->type.dtype != ir::DType::kInt64 &&
      i.tensor->type.dtype != ir::DType::kInt32)
    return str_cat("index must be int32 or int64, got ", i.tensor->type.str());
  const Arg& x = ctx.arg(n->input(0));
  if (adds && x.kind == Arg::Kind::kTensor && x.tensor->type.dtype == ir::DType::kBool)
    return "scatter_add into a bool tensor is not supported";
  return "";
}

// reduce= "add" (scatter.reduce, scatter.value_reduce) or "sum" with include_self
// (scatter_reduce.two); other reductions are refused by name.
std::string reduction_arg(const ConversionCtx& ctx, const Node* n, size_t i, const char* accepted) {
  if (!ctx.is_const(n->input(i))) return "the reduction must be known when the engine is built";
  const std::string r = ctx.ivalue(n->input(i)).toStringRef();
  if (r != accepted) return str_cat("reduce=\"", r, "\" is not supported (\"", accepted, "\" is)");
  return can_scatter(ctx, n, true);
}

static auto reg =
    RegisterConverters()
        .pattern({{"aten::scatter.src(Tensor self, int dim, Tensor index, Tensor src) -> Tensor",
                   "aten::scatter_.src(Tensor(a!) self, int dim, Tensor index, Tensor src) -> Tensor(a!)",
                   "aten::scatter.value(Tensor self, int dim, Tensor index, Scalar value) -> Tensor",
                   "aten::scatter_.value(Tensor(a!) self, int dim, Tensor index, Scalar value) -> Tensor(a!)"},
                  [](ConversionCtx& ctx, const Node* n) { add_scatter(ctx, n, ir::ScatterReduce::kNone); },
                  [](const ConversionCtx& ctx, const Node* n) { return can_scatter(ctx, n, false); }})
        .pattern({{"aten::scatter_add(Tensor self, int dim, Tensor index, Tensor src) -> Tensor",
                   "aten::scatter_add_(Tensor(a!) self, int dim, Tensor index, Tensor src) -> Tensor(a!)"},
                  [](ConversionCtx& ctx, const Node* n) { add_scatter(ctx, n, ir::ScatterReduce::kAdd); },
                  [](const ConversionCtx& ctx, const Node* n) { return can_scatter(ctx, n, true); }})
        .pattern({{"aten::index_add(Tensor self, int dim, Tensor index, Tensor source, *, Scalar alpha=1) -> Tensor",
                   "aten::index_add_(Tensor(a!) self, int dim, Tensor index, Tensor source, *, Scalar alpha=1) -> "
                   "Tensor(a!)"},
                  [](ConversionCtx& ctx, const Node* n) { add_index_rows(ctx, n, ir::ScatterReduce::kAdd); },
                  [](const ConversionCtx& ctx, const Node* n) { return can_scatter(ctx, n, true); }})
        .pattern({{"aten::index_copy(Tensor self, int dim, Tensor index, Tensor source) -> Tensor",
                   "aten::index_copy_(Tensor(a!) self, int dim, Tensor index, Tensor source) -> Tensor(a!)",
                   "aten::index_fill.int_Scalar(Tensor self, int dim, Tensor index, Scalar value) -> Tensor",
                   "aten::index_fill_.int_Scalar(Tensor(a!) self, int dim, Tensor index, Scalar value) -> Tensor(a!)",
                   "aten::index_fill.int_Tensor(Tensor self, int dim, Tensor index, Tensor value) -> Tensor",
                   "aten::index_fill_.int_Tensor(Tensor(a!) self, int dim, Tensor index, Tensor value) -> Tensor(a!)"},
                  [](ConversionCtx& ctx, const Node* n) { add_index_rows(ctx, n, ir::ScatterReduce::kNone); },
                  [](const ConversionCtx& ctx, const Node* n) { return can_scatter(ctx, n, false); }})
        .pattern({{"aten::scatter.reduce(Tensor self, int dim, Tensor index, Tensor src, *, str reduce) -> Tensor",
                   "aten::scatter.value_reduce(Tensor self, int dim, Tensor index, Scalar value, *, str reduce) -> "
                   "Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_scatter(ctx, n, ir::ScatterReduce::kAdd); },
                  [](const ConversionCtx& ctx, const Node* n) { return reduction_arg(ctx, n, 4, "add"); }})
        .pattern({{"aten::scatter_reduce.two(Tensor self, int dim, Tensor index, Tensor src, str reduce, *, "
                   "bool include_self=True) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_scatter(ctx, n, ir::ScatterReduce::kAdd); },
                  [](const ConversionCtx& ctx, const Node* n) {
                    if (!ctx.is_const(n->input(5)) || !ctx.to_bool(n->input(5)))
                      return std::string("scatter_reduce with include_self=False is not supported");
                    return reduction_arg(ctx, n, 4, "sum");
                  }});

}  // namespace
}  // namespace trtorch::frontend::converters
