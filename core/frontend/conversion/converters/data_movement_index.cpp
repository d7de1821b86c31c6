// Indexing converters of the data_movement family: index_put as Scatter (or Where for a mask),
// and the reads, all as Gather: embedding and index_select (a
// Gather along one axis), torch.gather (a Gather at linear indices) and advanced indexing (aten::index.Tensor, x[idx0, idx1, ...] with index
// tensors) as one Gather: the indexed dims are flattened into one and gathered with a linear index. Index tensors known
// at compile time (the usual case: masks built from aranges) become one constant linear index;
// index tensors computed by the model are combined in the engine (negative indices wrapped).
// With dynamic sizes, indices that are aranges over whole dims (padding masks) become a reshape.
#include <algorithm>

#include "core/frontend/conversion/converters/helpers.h"

namespace trtorch::frontend::converters {
namespace {

using torch::jit::Node;

// The index along one dim of self: a compile-time int64 tensor (non-negative, checked against the
// dim) or an engine tensor.
struct DimIndex {
  int64_t dim = 0;
  at::Tensor value;           // compile-time
  ir::Value* tensor = nullptr;  // computed by the engine
};

// If v is an arange 0, 1, ..., len-1 laid along one axis (the other dims 1), as an arange to a
// dynamic bound becomes (sizes.cpp: a Slice of a constant arange, reshaped), its axis; else -1.
int iota_axis(ir::Value* v, ir::Dim* len) {
  // Reshapes (unsqueezes) and additions of a constant 0 (arange(n) + offset with offset 0) keep it.
  auto zero_constant = [](const ir::Value* c) {
    if (!c->producer || c->producer->op != ir::OpKind::Constant) return false;
    const ir::HostTensor& t = c->producer->attr<ir::ConstantAttrs>().value;
    return t.numel() == 1 && t.get(0) == 0.0;
  };
  ir::Value* src = v;
  for (;;) {
    const ir::Node* p = src->producer;
    if (p && p->op == ir::OpKind::Reshape) {
      src = p->inputs[0];
    } else if (p && p->op == ir::OpKind::Binary && zero_constant(p->inputs[1]) &&
               (p->attr<ir::BinaryAttrs>().kind == ir::BinaryKind::kAdd ||
                p->attr<ir::BinaryAttrs>().kind == ir::BinaryKind::kSub)) {
      src = p->inputs[0];
    } else {
      break;
    }
  }
  const ir::Node* sl = src->producer;
  if (!sl || sl->op != ir::OpKind::Slice) return -1;
  const auto& a = sl->attr<ir::SliceAttrs>();
  const ir::Node* c = sl->inputs[0]->producer;
  if (a.axis != 0 || a.start != ir::Dim(0) || a.step != 1 || !c || c->op != ir::OpKind::Constant) return -1;
  const ir::HostTensor& t = c->attr<ir::ConstantAttrs>().value;
  if (t.shape.size() != 1 || ir::is_floating(t.dtype)) return -1;
  for (int64_t i = 0; i < t.numel(); ++i)
    if (t.get(i) != double(i)) return -1;
  int axis = -1;
  for (size_t d = 0; d < v->type.dims.size(); ++d) {
    if (v->type.dims[d] == ir::Dim(1)) continue;
    if (axis >= 0 || v->type.dims[d] != a.end) return -1;
    axis = int(d);
  }
  *len = a.end;
  return axis;
}

// x[i0, i1, ...] where every index is an arange over the whole indexed dim along its own axis of
// the index shape, in order (transformers' padding masks, mask[batch_arange, kv_arange], with
// dynamic sizes): the result is x reshaped, the indexed dims moved to their axes. Null if the
// indices are not of that form.
ir::Value* index_by_aranges(ConversionCtx& ctx, ir::Value* x, const std::vector<Arg>& items) {
  const auto& xd = dims_of(x);
  std::vector<int> axes;
  size_t first = 0, rank_b = 0;
  while (first < items.size() && items[first].kind == Arg::Kind::kIValue && items[first].ivalue.isNone()) ++first;
  for (size_t j = first; j < items.size(); ++j) {
    if (items[j].kind != Arg::Kind::kTensor || j - first >= xd.size() - first) return nullptr;
    ir::Value* v = items[j].tensor;
    ir::Dim len;
    const int a = iota_axis(v, &len);
    if (a < 0 || len != xd[j] || (!axes.empty() && (a <= axes.back() || v->type.dims.size() != rank_b))) return nullptr;
    rank_b = v->type.dims.size();
    axes.push_back(a);
  }
  if (axes.empty()) return nullptr;
  std::vector<ir::Dim> shape(xd.begin(), xd.begin() + int64_t(first));
  std::vector<ir::Dim> b(rank_b, ir::Dim(1));
  for (size_t j = 0; j < axes.size(); ++j) b[size_t(axes[j])] = xd[first + j];
  shape.insert(shape.end(), b.begin(), b.end());
  shape.insert(shape.end(), xd.begin() + int64_t(first + axes.size()), xd.end());
  return reshape(ctx, x, shape);
}

// A compile-time index tensor `t` at dim `d` of self (`shape`): integers (negative ones wrapped,
// bounds checked) or a bool mask over dims [d, d + t.dim()), which becomes one int64 index per dim.
// Appends to `idx` and advances `d` past the dims it indexes.
void add_known_index(ConversionCtx& ctx, ir::Value* x, const std::vector<int64_t>& shape, at::Tensor t, int64_t& d,
                     std::vector<DimIndex>& idx) {
  const int64_t rank = int64_t(shape.size());
  const at::ScalarType st = t.scalar_type();
  if (st == at::kBool || st == at::kByte) {
    // A mask over dims [d, d + t.dim()) selects the positions of its true entries: the same as
    // one int64 index per dim (its nonzero() columns), known at compile time.
    if (t.dim() == 0) ctx.fail("a 0-dim boolean index (x[True] / x[False]) is not supported");
    if (d + t.dim() > rank) ctx.fail(str_cat("too many indices for a tensor of rank ", rank));
    for (int64_t j = 0; j < t.dim(); ++j)
      if (t.size(j) != shape[size_t(d + j)])
        ctx.fail(str_cat("the mask's shape ", t.sizes(), " does not match the indexed dims of ", x->type.str()));
    at::Tensor nz = t.to(at::kBool).nonzero();
    for (int64_t j = 0; j < t.dim(); ++j) idx.push_back({d + j, nz.select(1, j).contiguous(), nullptr});
    d += t.dim();
    return;
  }
  if (!at::isIntegralType(st, /*includeBool=*/false))
    ctx.fail(str_cat("index tensors must be integer or bool, got ", c10::toString(st)));
  if (d >= rank) ctx.fail(str_cat("too many indices for a tensor of rank ", rank));
  const int64_t size = shape[size_t(d)];
  t = t.to(at::kLong);
  if (t.numel() > 0) {
    const int64_t lo = t.min().item<int64_t>(), hi = t.max().item<int64_t>();
    if (lo < -size || hi >= size)
      ctx.fail(str_cat("index ", lo < -size ? lo : hi, " is out of bounds for dim ", d, " of size ", size));
  }
  idx.push_back({d++, at::where(t < 0, t + size, t).contiguous(), nullptr});
}

// The indices of aten::index's list (None: a full slice, x[:, i]) with the dims of self (`shape`)
// they apply to, in order.
std::vector<DimIndex> parse_indices(ConversionCtx& ctx, ir::Value* x, const std::vector<int64_t>& shape,
                                    const std::vector<Arg>& items) {
  const int64_t rank = int64_t(shape.size());
  std::vector<DimIndex> idx;
  int64_t d = 0;  // the dim of self the next index applies to
  for (const Arg& item : items) {
    if (item.kind == Arg::Kind::kIValue && item.ivalue.isNone()) {  // a full slice (x[:, i])
      ++d;
      continue;
    }
    if (item.kind == Arg::Kind::kTensor) {
      ir::DType t = item.tensor->type.dtype;
      if (t == ir::DType::kBool)
        ctx.fail("indexing with a boolean mask computed by the model is not supported (the result's shape "
                 "would depend on the mask's values)");
      if (t != ir::DType::kInt32 && t != ir::DType::kInt64)
        ctx.fail(str_cat("index tensors must be integer or bool, got ", item.tensor->type.str()));
      if (d >= rank) ctx.fail(str_cat("too many indices for a tensor of rank ", rank));
      idx.push_back({d++, at::Tensor(), item.tensor});
      continue;
    }
    if (item.kind != Arg::Kind::kIValue || !item.ivalue.isTensor())
      ctx.fail("indices must be tensors or None");
    add_known_index(ctx, x, shape, item.ivalue.toTensor(), d, idx);
  }
  return idx;
}

// The shape the index tensors broadcast together to: the result's index shape.
std::vector<int64_t> broadcast_index_shape(ConversionCtx& ctx, const std::vector<DimIndex>& idx) {
  std::vector<int64_t> bshape;
  for (const DimIndex& i : idx) {
    std::vector<int64_t> s = i.tensor ? shape_of(ctx, i.tensor) : i.value.sizes().vec();
    try {
      bshape = at::infer_size(bshape, s);
    } catch (const std::exception&) {
      ctx.fail(str_cat("index shapes do not broadcast together: ", c10::IntArrayRef(bshape), " and ", c10::IntArrayRef(s)));
    }
  }
  return bshape;
}

// The linear index into the indexed dims of self (`shape`, before they are flattened), with
// `stride` the row-major stride of each indexed dim: the compile-time part as one constant, plus
// the terms computed by the engine.
ir::Value* linear_index(ConversionCtx& ctx, const std::vector<DimIndex>& idx, const std::vector<int64_t>& shape,
                        const std::vector<int64_t>& stride) {
  const int64_t p0 = idx[0].dim, m = int64_t(idx.size());
  at::Tensor known;
  ir::Value* linear = nullptr;
  for (int64_t j = 0; j < m; ++j) {
    const DimIndex& i = idx[size_t(j)];
    if (!i.tensor) {
      at::Tensor term = i.value * stride[size_t(j)];
      known = known.defined() ? known + term : term;
    }
  }
  if (known.defined()) linear = ctx.constant(known.contiguous());
  for (int64_t j = 0; j < m; ++j) {
    const DimIndex& i = idx[size_t(j)];
    if (!i.tensor) continue;
    ir::Value* v = wrap_negative_index(ctx, i.tensor, shape[size_t(p0 + j)]);
    if (stride[size_t(j)] != 1)
      v = binary(ctx, v, ctx.scalar_constant(double(stride[size_t(j)]), ir::DType::kInt64), ir::BinaryKind::kMul);
    linear = linear ? binary(ctx, linear, v, ir::BinaryKind::kAdd) : v;
  }
  return linear;
}

// Indexed dims separated by a full slice put the index dims first (torch's rule): x transposed so
// that the indexed dims come first, the others in order (x, its shape and the dims of idx
// updated). Returns that permutation (empty when the indexed dims are adjacent and x stays), and
// the row-major strides of the indexed dims within their block and the block's size.
std::vector<int64_t> indexed_dims_first(ConversionCtx& ctx, ir::Value*& x, std::vector<int64_t>& shape,
                                        std::vector<DimIndex>& idx, std::vector<int64_t>* stride, int64_t* block) {
  std::vector<int64_t> perm;
  bool adjacent = true;
  for (size_t i = 1; i < idx.size(); ++i) adjacent = adjacent && idx[i].dim == idx[i - 1].dim + 1;
  if (!adjacent) {
    for (const DimIndex& i : idx) perm.push_back(i.dim);
    for (int64_t j = 0; j < int64_t(shape.size()); ++j)
      if (std::find(perm.begin(), perm.end(), j) == perm.end()) perm.push_back(j);
    x = transpose(ctx, x, perm);
    shape = shape_of(ctx, x);
    for (size_t i = 0; i < idx.size(); ++i) idx[i].dim = int64_t(i);
  }
  const int64_t p0 = idx[0].dim, m = int64_t(idx.size());
  stride->assign(static_cast<size_t>(m), 0);
  *block = 1;
  for (int64_t j = m - 1; j >= 0; --j) {
    (*stride)[size_t(j)] = *block;
    *block *= shape[size_t(p0 + j)];
  }
  return perm;
}

void add_index(ConversionCtx& ctx, const Node* n) {
  ir::Value* x = ctx.tensor(n->input(0));
  std::vector<Arg> items;
  if (!ctx.list_items(n->input(1), &items))
    ctx.fail(str_cat("argument %", n->input(1)->debugName(), " must be a list of index tensors"));
  if (!x->type.is_static()) {
    if (ir::Value* y = index_by_aranges(ctx, x, items)) return ctx.set_output(0, y);
  }
  std::vector<int64_t> shape = shape_of(ctx, x);
  std::vector<DimIndex> idx = parse_indices(ctx, x, shape, items);
  if (idx.empty()) return ctx.set_output(0, x);
  const std::vector<int64_t> bshape = broadcast_index_shape(ctx, idx);

  std::vector<int64_t> stride;
  int64_t block;
  indexed_dims_first(ctx, x, shape, idx, &stride, &block);
  const int64_t p0 = idx[0].dim, m = int64_t(idx.size());
  if (m > 1) {  // flatten the indexed dims into one
    std::vector<int64_t> flat(shape.begin(), shape.begin() + p0);
    flat.push_back(block);
    flat.insert(flat.end(), shape.begin() + p0 + m, shape.end());
    x = reshape(ctx, x, flat);
  }

  ir::Value* linear = linear_index(ctx, idx, shape, stride);
  ctx.set_output(0, gather(ctx, x, expand(ctx, linear, ir::fixed_dims(bshape)), p0));
}

// index_put(self, indices, values, accumulate): self[indices] = values (or += with accumulate),
// the write form of add_index. A single bool mask (known or computed) over self's leading dims
// with one value is a Where; integer indices (and known masks, as their positions) scatter the
// values, broadcast to the indexed shape, at the linear index of the indexed dims (moved to the
// front first when they are not adjacent, as torch does).
void add_index_put(ConversionCtx& ctx, const Node* n) {
  ir::Value* x = ctx.tensor(n->input(0));
  std::vector<Arg> items;
  if (!ctx.list_items(n->input(1), &items))
    ctx.fail(str_cat("argument %", n->input(1)->debugName(), " must be a list of index tensors"));
  ir::Value* values = ctx.tensor_as(n->input(2), x->type.dtype);
  const bool accumulate = ctx.to_bool(n->input(3));
  const ir::ScatterReduce reduce = accumulate ? ir::ScatterReduce::kAdd : ir::ScatterReduce::kNone;
  if (accumulate && x->type.dtype == ir::DType::kBool) ctx.fail("index_put with accumulate into a bool tensor");

  // x[mask] = v with one value: where(mask, v, x) (x[mask] += v: x + where(mask, v, 0)).
  if (items.size() == 1 && items[0].kind == Arg::Kind::kTensor && items[0].tensor->type.dtype == ir::DType::kBool) {
    ir::Value* mask = items[0].tensor;
    if (!values->type.is_static() || ir::numel_of(values->type.static_shape()) != 1)
      ctx.fail("index_put with a boolean mask computed by the model takes one value (the number of positions "
               "written depends on the mask)");
    const int64_t extra = x->type.rank() - mask->type.rank();
    if (extra < 0) ctx.fail(str_cat("the mask ", mask->type.str(), " has more dims than self ", x->type.str()));
    std::vector<ir::Dim> md = dims_of(mask);
    md.insert(md.end(), size_t(extra), ir::Dim(1));
    mask = reshape(ctx, mask, md);  // the mask covers the leading dims
    ir::Value* v = reshape(ctx, values, std::vector<int64_t>{});
    if (!accumulate) return ctx.set_output(0, where(ctx, mask, v, x));
    ir::Value* zero = ctx.scalar_constant(0.0, x->type.dtype);
    return ctx.set_output(0, binary(ctx, x, where(ctx, mask, v, zero), ir::BinaryKind::kAdd));
  }

  std::vector<int64_t> shape = shape_of(ctx, x);
  std::vector<DimIndex> idx = parse_indices(ctx, x, shape, items);
  if (idx.empty()) {  // x[...] = values: every element
    ir::Value* v = expand(ctx, values, dims_of(x));
    return ctx.set_output(0, accumulate ? binary(ctx, x, v, ir::BinaryKind::kAdd) : v);
  }
  const std::vector<int64_t> bshape = broadcast_index_shape(ctx, idx);
  std::vector<int64_t> stride;
  int64_t block;
  const std::vector<int64_t> perm = indexed_dims_first(ctx, x, shape, idx, &stride, &block);
  const int64_t p0 = idx[0].dim, m = int64_t(idx.size());
  // self as [pre, block, post]; the values broadcast to [pre, bshape, post], flattened to
  // [pre, positions, post]; the index is the linear index along the middle dim, expanded.
  const std::vector<int64_t> pre(shape.begin(), shape.begin() + p0), post(shape.begin() + p0 + m, shape.end());
  int64_t positions = 1;
  for (int64_t b : bshape) positions *= b;
  std::vector<int64_t> flat_self = pre, result = pre, flat_values = pre, idx_view(pre.size(), 1);
  flat_self.push_back(block);
  result.insert(result.end(), bshape.begin(), bshape.end());
  flat_values.push_back(positions);
  idx_view.push_back(positions);
  for (int64_t d : post) {
    flat_self.push_back(d);
    result.push_back(d);
    flat_values.push_back(d);
    idx_view.push_back(1);
  }
  const std::vector<int64_t> xs = shape;
  ir::Value* src = reshape(ctx, expand(ctx, values, ir::fixed_dims(result)), flat_values);
  ir::Value* lin = expand(ctx, linear_index(ctx, idx, shape, stride), ir::fixed_dims(bshape));
  lin = expand(ctx, reshape(ctx, lin, idx_view), ir::fixed_dims(flat_values));
  ir::Value* y = reshape(ctx, scatter(ctx, reshape(ctx, x, flat_self), lin, src, p0, reduce), xs);
  if (!perm.empty()) {
    std::vector<int64_t> inverse(perm.size());
    for (size_t i = 0; i < perm.size(); ++i) inverse[size_t(perm[i])] = int64_t(i);
    y = transpose(ctx, y, inverse);
  }
  ctx.set_output(0, y);
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

// torch.gather(x, dim, index): out[i0, .., ik, ..] = x[i0, .., index[i0, .., ik, ..], ..] (ik at dim).
// One Gather from x flattened, at the linear index index * stride(dim) + the constant offsets of
// the other coordinates (static shapes).
ir::Value* gather_elements(ConversionCtx& ctx, ir::Value* x, ir::Value* idx, int64_t d) {
  const int64_t rank = x->type.rank();
  if (idx->type.rank() != rank)
    ctx.fail(str_cat("index ", idx->type.str(), " must have the rank of the input ", x->type.str()));
  const std::vector<int64_t> xs = shape_of(ctx, x), is = shape_of(ctx, idx);
  for (int64_t i = 0; i < rank; ++i)
    if (i != d && is[size_t(i)] > xs[size_t(i)])
      ctx.fail(str_cat("index ", idx->type.str(), " is larger than the input ", x->type.str(), " in dim ", i));
  std::vector<int64_t> stride(size_t(rank), 1);
  for (int64_t i = rank - 2; i >= 0; --i) stride[size_t(i)] = stride[size_t(i) + 1] * xs[size_t(i) + 1];
  // Offsets of the coordinates other than dim's, over the index's shape.
  at::Tensor offset = at::zeros(is, at::kLong);
  for (int64_t i = 0; i < rank; ++i) {
    if (i == d) continue;
    std::vector<int64_t> view(size_t(rank), 1);
    view[size_t(i)] = is[size_t(i)];
    offset = offset + at::arange(is[size_t(i)], at::kLong).view(view) * stride[size_t(i)];
  }
  idx = cast_to(ctx, idx, at::kLong);
  ir::Value* lin = binary(ctx, idx, ctx.scalar_constant(double(stride[size_t(d)]), ir::DType::kInt64), ir::BinaryKind::kMul);
  lin = binary(ctx, lin, ctx.constant(offset), ir::BinaryKind::kAdd);
  int64_t total = 1;
  for (int64_t v : xs) total *= v;
  return gather(ctx, reshape(ctx, x, std::vector<int64_t>{total}), lin, 0);
}

void add_torch_gather(ConversionCtx& ctx, const Node* n) {
  ir::Value* x = ctx.tensor(n->input(0));
  const int64_t d = normalize_dim(ctx, ctx.to_int(n->input(1)), x->type.rank());
  ctx.set_output(0, gather_elements(ctx, x, ctx.tensor(n->input(2)), d));
}

// take_along_dim(self, indices, dim): self and indices broadcast against each other in every dim
// but `dim`, then torch.gather; without a dim, both flattened.
void add_take_along_dim(ConversionCtx& ctx, const Node* n) {
  ir::Value* x = ctx.tensor(n->input(0));
  ir::Value* idx = ctx.tensor(n->input(1));
  if (ctx.is_none(n->input(2))) {
    const std::vector<ir::Dim> flat{ir::Dim::fixed(-1)};
    return ctx.set_output(0, gather_elements(ctx, reshape(ctx, x, flat), reshape(ctx, idx, flat), 0));
  }
  const int64_t rank = x->type.rank();
  if (idx->type.rank() != rank)
    ctx.fail(str_cat("indices ", idx->type.str(), " must have the rank of the input ", x->type.str()));
  const int64_t d = normalize_dim(ctx, ctx.to_int(n->input(2)), rank);
  std::vector<int64_t> xs = shape_of(ctx, x), is = shape_of(ctx, idx);
  for (int64_t i = 0; i < rank; ++i) {
    if (i == d) continue;
    const int64_t b = std::max(xs[size_t(i)], is[size_t(i)]);
    if ((xs[size_t(i)] != b && xs[size_t(i)] != 1) || (is[size_t(i)] != b && is[size_t(i)] != 1))
      ctx.fail(str_cat("the input ", x->type.str(), " and indices ", idx->type.str(), " do not broadcast in dim ", i));
    xs[size_t(i)] = is[size_t(i)] = b;
  }
  ctx.set_output(0, gather_elements(ctx, expand(ctx, x, ir::fixed_dims(xs)), expand(ctx, idx, ir::fixed_dims(is)), d));
}

static auto reg =
    RegisterConverters()
        .pattern({{"aten::gather(Tensor self, int dim, Tensor index, *, bool sparse_grad=False) -> Tensor"},
                  add_torch_gather, [](const ConversionCtx& ctx, const Node* n) { return int_indices(ctx, n, 2); }})
        .pattern({{"aten::take_along_dim(Tensor self, Tensor indices, int? dim=None) -> Tensor"}, add_take_along_dim,
                  [](const ConversionCtx& ctx, const Node* n) { return int_indices(ctx, n, 1); }})
        .pattern({{"aten::index.Tensor(Tensor self, Tensor?[] indices) -> Tensor",
                   "aten::index.Tensor_hacked_twin(Tensor self, Tensor[] indices) -> Tensor"},
                  add_index})
        .pattern({{"aten::index_put(Tensor self, Tensor?[] indices, Tensor values, bool accumulate=False) -> Tensor",
                   "aten::index_put_(Tensor(a!) self, Tensor?[] indices, Tensor values, bool accumulate=False) -> "
                   "Tensor(a!)",
                   "aten::index_put.hacked_twin(Tensor self, Tensor[] indices, Tensor values, bool accumulate=False) -> "
                   "Tensor",
                   "aten::index_put_.hacked_twin(Tensor(a!) self, Tensor[] indices, Tensor values, bool "
                   "accumulate=False) -> Tensor(a!)"},
                  add_index_put,
                  [](const ConversionCtx& ctx, const Node* n) {
                    return ctx.is_const(n->input(3)) ? std::string()
                                                     : std::string("accumulate must be known when the engine is built");
                  }})
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
                  [](const ConversionCtx& ctx, const Node* n) { return int_indices(ctx, n, 2); }});

}  // namespace
}  // namespace trtorch::frontend::converters
