// Shape and layout converters: view/reshape/flatten (and view_as/reshape_as), permute/transpose, (un)squeeze, cat,
// stack, chunk/split/tensor_split, slice/select, contiguous, expand/expand_as, dtype casts (the aten::to family),
// pixel_shuffle/pixel_unshuffle.
// The indexing converters (Gather) are in data_movement_index.cpp.
#include <algorithm>

#include "core/frontend/conversion/converters/helpers.h"
#include "core/frontend/dtype_map.h"
#include "core/util/logging.h"

namespace trtorch::frontend::converters {
namespace {

using torch::jit::Node;

// Python slice bounds normalized like torch: negative from the end, clamped to [0, n].
int64_t clamp_index(int64_t i, int64_t n) {
  if (i < 0) i += n;
  return std::min(std::max<int64_t>(i, 0), n);
}

// A slice bound (None: `dflt`) against a dim of size `len`, which may be symbolic: a symbolic
// bound is taken as is (shape inference proves it in range); a constant one is normalized as
// torch does, which with a dynamic `len` must come out the same for every size in its range.
ir::Dim slice_bound(const ConversionCtx& ctx, const torch::jit::Value* v, const ir::Dim& len, const ir::Dim& dflt) {
  if (ctx.is_none(v)) return dflt;
  if (ctx.arg(v).kind == Arg::Kind::kSymInt) return ctx.to_dim(v);
  const int64_t i = ctx.to_int(v);
  if (len.is_static()) return ir::Dim::fixed(clamp_index(i, len.min));
  if (i >= len.max) return len;                               // "to the end" (e.g. INT64_MAX)
  if (i >= 0 && i <= len.min) return ir::Dim::fixed(i);
  if (i < 0 && len.min + i >= 0) return len + ir::Dim::fixed(i);  // from the end
  ctx.fail(str_cat("slice bound ", i, " against the dynamic size ", len.str(), " (range [", len.min, ", ", len.max,
                   "]) is clamped differently across the range"));
}

// The static size of dim `d` of x (chunk / split / unbind need it known at compile time).
int64_t static_dim(const ConversionCtx& ctx, ir::Value* x, int64_t d) {
  const ir::Dim& dim = x->type.dims[size_t(d)];
  if (!dim.is_static())
    ctx.fail(str_cat("dim ", d, " of ", x->type.str(), " is dynamic; splitting along a dynamic dim is not supported"));
  return dim.min;
}

void set_list_output(ConversionCtx& ctx, const Node* n, const std::vector<ir::Value*>& parts) {
  std::vector<Arg> items;
  for (ir::Value* p : parts) items.push_back(Arg::of_tensor(p));
  ctx.set(n->output(), Arg::of_list(std::move(items), n->output()->type()));
}

// Splits along `dim` into pieces of the given sizes.
std::vector<ir::Value*> split(ConversionCtx& ctx, ir::Value* x, int64_t dim, const std::vector<int64_t>& sizes) {
  std::vector<ir::Value*> parts;
  int64_t start = 0;
  for (int64_t s : sizes) {
    parts.push_back(slice(ctx, x, dim, ir::Dim::fixed(start), ir::Dim::fixed(start + s), 1));
    start += s;
  }
  return parts;
}

// aten::to overloads whose dtype is argument `i` (None keeps the dtype).
void to_dtype_arg(ConversionCtx& ctx, const Node* n, size_t i) {
  ir::Value* x = ctx.tensor(n->input(0));
  if (ctx.is_none(n->input(i))) return ctx.set_output(0, x);
  const auto st = at::ScalarType(ctx.to_int(n->input(i)));
  // Engines have no float64 (cast_to: floating casts follow the engine precision). Said, not done
  // silently: the value, and an output made of it, is float32 (or the engine's half type).
  if (st == at::kDouble)
    TRTORCH_LOG(kWarning, describe(n), ": float64 is computed in the engine's floating precision (op_precision); "
                "where TorchScript gives a float64 tensor, the engine gives float32 or half");
  ctx.set_output(0, cast_to(ctx, x, st));
}

// torch.tensor_split along a static dim: `sections` parts (the first len % sections one longer) or
// parts between the split points `indices` (clamped to [0, len]). Empty parts are refused.
void add_tensor_split(ConversionCtx& ctx, const Node* n) {
  ir::Value* x = ctx.tensor(n->input(0));
  const int64_t d = normalize_dim(ctx, ctx.to_int(n->input(2)), x->type.rank());
  const int64_t len = static_dim(ctx, x, d);
  c10::IValue arg = ctx.ivalue(n->input(1));
  if (arg.isTensor()) {  // tensor_indices_or_sections: 0-D sections, 1-D indices
    at::Tensor t = arg.toTensor().to(at::kLong);
    if (t.dim() > 1) ctx.fail(str_cat("tensor_indices_or_sections must be 0-D or 1-D, got ", t.dim(), " dims"));
    arg = t.dim() == 0 ? c10::IValue(t.item<int64_t>()) : c10::IValue(std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel()));
  }
  std::vector<int64_t> bounds{0};
  if (arg.isInt()) {
    const int64_t sections = arg.toInt();
    if (sections <= 0) ctx.fail(str_cat("the number of sections must be positive, got ", sections));
    for (int64_t i = 0; i < sections; ++i) bounds.push_back(bounds.back() + len / sections + (i < len % sections ? 1 : 0));
  } else {
    for (int64_t i : arg.toIntVector()) bounds.push_back(std::min(std::max<int64_t>(i < 0 ? i + len : i, 0), len));
    bounds.push_back(len);
  }
  std::vector<ir::Value*> parts;
  for (size_t i = 0; i + 1 < bounds.size(); ++i) {
    if (bounds[i + 1] <= bounds[i])
      ctx.fail(str_cat("tensor_split would make an empty part (elements ", bounds[i], " to ", bounds[i + 1], " of dim ", d,
                       "); empty tensors are not supported"));
    parts.push_back(slice(ctx, x, d, ir::Dim::fixed(bounds[i]), ir::Dim::fixed(bounds[i + 1]), 1));
  }
  set_list_output(ctx, n, parts);
}

// pixel_shuffle (N, C*r*r, H, W) -> (N, C, H*r, W*r) and pixel_unshuffle, its inverse, as a
// reshape, a 6-D transpose and a reshape (static C, H, W; the batch may be dynamic).
void add_pixel_shuffle(ConversionCtx& ctx, const Node* n, bool up) {
  ir::Value* x = ctx.tensor(n->input(0));
  const int64_t r = ctx.to_int(n->input(1));
  if (x->type.rank() != 4) ctx.fail(str_cat("only 4-D (N, C, H, W) inputs are supported, got ", x->type.str()));
  if (r < 1) ctx.fail(str_cat("the factor must be positive, got ", r));
  const auto& d = dims_of(x);
  for (size_t i = 1; i < 4; ++i)
    if (!d[i].is_static()) ctx.fail(str_cat("dim ", i, " of ", x->type.str(), " is dynamic"));
  const int64_t c = d[1].min, h = d[2].min, w = d[3].min;
  auto fixed = [](int64_t v) { return ir::Dim::fixed(v); };
  if (up) {
    if (c % (r * r) != 0) ctx.fail(str_cat(c, " channels are not divisible by ", r, " * ", r));
    const int64_t oc = c / (r * r);
    ir::Value* y = reshape(ctx, x, {d[0], fixed(oc), fixed(r), fixed(r), fixed(h), fixed(w)});
    y = transpose(ctx, y, {0, 1, 4, 2, 5, 3});
    ctx.set_output(0, reshape(ctx, y, {d[0], fixed(oc), fixed(h * r), fixed(w * r)}));
  } else {
    if (h % r != 0 || w % r != 0) ctx.fail(str_cat("H and W of ", x->type.str(), " are not divisible by ", r));
    ir::Value* y = reshape(ctx, x, {d[0], fixed(c), fixed(h / r), fixed(r), fixed(w / r), fixed(r)});
    y = transpose(ctx, y, {0, 1, 3, 5, 2, 4});
    ctx.set_output(0, reshape(ctx, y, {d[0], fixed(c * r * r), fixed(h / r), fixed(w / r)}));
  }
}

// torch.cat and stack promote their tensors to one dtype: floating over integer over bool, int64
// over int32 (a floating result takes the first floating tensor's type, the engine's precision).
void to_common_dtype(ConversionCtx& ctx, std::vector<ir::Value*>& xs) {
  auto category = [](ir::DType t) { return t == ir::DType::kBool ? 0 : ir::is_floating(t) ? 2 : 1; };
  ir::DType dt = xs[0]->type.dtype;
  for (ir::Value* x : xs) {
    const ir::DType t = x->type.dtype;
    if (category(t) > category(dt) || (category(t) == 1 && category(dt) == 1 && t == ir::DType::kInt64)) dt = t;
  }
  for (ir::Value*& x : xs) {
    if (x->type.dtype == dt) continue;
    ir::CastAttrs c;
    c.to = dt;
    x = ctx.add(ir::OpKind::Cast, c, {x});
  }
}

// squeeze removes a dim only where its size is 1: a dynamic dim whose range holds 1 gives a result
// whose rank depends on the run-time size, which an engine cannot have (partial compilation
// leaves such a squeeze to TorchScript).
std::string squeeze_known_rank(const ConversionCtx& ctx, const Node* n) {
  const Arg& a = ctx.arg(n->input(0));
  if (a.kind != Arg::Kind::kTensor) return "";
  if (std::string why = constant_args(ctx, n, {1}); !why.empty()) return why;
  const ir::TensorType& t = a.tensor->type;
  const int64_t rank = t.rank();
  int64_t only = -1;
  if (n->inputs().size() > 1) {
    only = ctx.to_int(n->input(1));
    if (only < -std::max<int64_t>(rank, 1) || only >= std::max<int64_t>(rank, 1)) return "";  // the converter says so
    if (only < 0) only += std::max<int64_t>(rank, 1);
  }
  for (int64_t i = 0; i < rank; ++i) {
    const ir::Dim& d = t.dims[size_t(i)];
    if ((only < 0 || i == only) && !d.is_static() && d.min <= 1 && d.max >= 1)
      return str_cat("squeeze of dynamic dim ", i, " of ", t.str(),
                     ", which may be 1 (torch removes it only then): the result's rank is not known when the engine "
                     "is built; make the dim's range start above 1 or its size fixed");
  }
  return "";
}

static auto reg =
    RegisterConverters()
        .pattern({{"aten::view(Tensor(a) self, SymInt[] size) -> Tensor(a)",
                   "aten::reshape(Tensor(a) self, SymInt[] shape) -> Tensor(a)",
                   "aten::_reshape_alias(Tensor(a) self, SymInt[] size, SymInt[] stride) -> Tensor(a)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ctx.set_output(0, reshape(ctx, ctx.tensor(n->input(0)), ctx.to_dims(n->input(1))));
                  }})
        .pattern({{"aten::view_as(Tensor(a) self, Tensor other) -> Tensor(a)",
                   "aten::reshape_as(Tensor(a) self, Tensor other) -> Tensor(a)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    const Arg& other = ctx.arg(n->input(1));
                    std::vector<ir::Dim> shape;
                    if (other.kind == Arg::Kind::kTensor) {
                      shape = dims_of(other.tensor);
                    } else if (other.kind == Arg::Kind::kIValue && other.ivalue.isTensor()) {
                      for (int64_t d : other.ivalue.toTensor().sizes()) shape.push_back(ir::Dim::fixed(d));
                    } else {
                      ctx.fail(str_cat("argument %", n->input(1)->debugName(), " must be a tensor"));
                    }
                    ctx.set_output(0, reshape(ctx, ctx.tensor(n->input(0)), shape));
                  }})
        .pattern({{"aten::flatten.using_ints(Tensor(a) self, int start_dim=0, int end_dim=-1) -> Tensor(a)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Value* x = ctx.tensor(n->input(0));
                    auto s = dims_of(x);
                    if (s.empty()) {
                      ctx.set_output(0, reshape(ctx, x, std::vector<int64_t>{1}));
                      return;
                    }
                    int64_t r = int64_t(s.size());
                    int64_t a = normalize_dim(ctx, ctx.to_int(n->input(1)), r);
                    int64_t b = normalize_dim(ctx, ctx.to_int(n->input(2)), r);
                    if (a > b) ctx.fail("flatten: start_dim is after end_dim");
                    std::vector<ir::Dim> t(s.begin(), s.begin() + a);
                    t.push_back(ir::dims_product(std::vector<ir::Dim>(s.begin() + a, s.begin() + b + 1)));
                    t.insert(t.end(), s.begin() + b + 1, s.end());
                    ctx.set_output(0, reshape(ctx, x, t));
                  }})
        .pattern({{"aten::unflatten.int(Tensor(a) self, int dim, SymInt[] sizes) -> Tensor(a)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Value* x = ctx.tensor(n->input(0));
                    auto s = dims_of(x);
                    int64_t d = normalize_dim(ctx, ctx.to_int(n->input(1)), int64_t(s.size()));
                    auto sizes = ctx.to_dims(n->input(2));
                    std::vector<ir::Dim> t(s.begin(), s.begin() + d);
                    t.insert(t.end(), sizes.begin(), sizes.end());  // one -1 allowed, as torch
                    t.insert(t.end(), s.begin() + d + 1, s.end());
                    ctx.set_output(0, reshape(ctx, x, t));
                  }})
        .pattern({{"aten::permute(Tensor(a) self, int[] dims) -> Tensor(a)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Value* x = ctx.tensor(n->input(0));
                    auto dims = ctx.to_ints(n->input(1));
                    for (auto& d : dims) d = normalize_dim(ctx, d, x->type.rank());
                    ctx.set_output(0, transpose(ctx, x, dims));
                  }})
        .pattern({{"aten::movedim.int(Tensor(a) self, int source, int destination) -> Tensor(a)",
                   "aten::movedim.intlist(Tensor(a) self, int[] source, int[] destination) -> Tensor(a)",
                   "aten::moveaxis.int(Tensor(a) self, int source, int destination) -> Tensor(a)",
                   "aten::moveaxis.intlist(Tensor(a) self, int[] source, int[] destination) -> Tensor(a)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    // Dim source[i] goes to destination[i]; the other dims keep their order in the
                    // positions left.
                    ir::Value* x = ctx.tensor(n->input(0));
                    const int64_t r = x->type.rank();
                    auto ints = [&](size_t i) {
                      return ctx.arg(n->input(i)).kind == Arg::Kind::kIValue && ctx.ivalue(n->input(i)).isInt()
                                 ? std::vector<int64_t>{ctx.to_int(n->input(i))}
                                 : ctx.to_ints(n->input(i));
                    };
                    std::vector<int64_t> src = ints(1), dst = ints(2);
                    if (src.size() != dst.size())
                      ctx.fail(str_cat("movedim: ", src.size(), " source dims but ", dst.size(), " destinations"));
                    std::vector<int64_t> perm(size_t(r), -1);
                    std::vector<bool> moved(size_t(r), false);
                    for (size_t i = 0; i < src.size(); ++i) {
                      const int64_t s = normalize_dim(ctx, src[i], r), d = normalize_dim(ctx, dst[i], r);
                      if (moved[size_t(s)] || perm[size_t(d)] >= 0) ctx.fail("movedim: repeated dims");
                      perm[size_t(d)] = s;
                      moved[size_t(s)] = true;
                    }
                    int64_t next = 0;
                    for (int64_t& p : perm) {
                      if (p >= 0) continue;
                      while (moved[size_t(next)]) ++next;
                      p = next++;
                    }
                    ctx.set_output(0, transpose(ctx, x, perm));
                  }})
        .pattern({{"aten::transpose.int(Tensor(a) self, int dim0, int dim1) -> Tensor(a)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Value* x = ctx.tensor(n->input(0));
                    int64_t r = x->type.rank();
                    std::vector<int64_t> perm(static_cast<size_t>(r));
                    for (int64_t i = 0; i < r; ++i) perm[size_t(i)] = i;
                    std::swap(perm[size_t(normalize_dim(ctx, ctx.to_int(n->input(1)), r))],
                              perm[size_t(normalize_dim(ctx, ctx.to_int(n->input(2)), r))]);
                    ctx.set_output(0, transpose(ctx, x, perm));
                  }})
        .pattern({{"aten::t(Tensor(a) self) -> Tensor(a)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Value* x = ctx.tensor(n->input(0));
                    if (x->type.rank() < 2) return ctx.set_output(0, x);
                    ctx.set_output(0, transpose(ctx, x, {1, 0}));
                  }})
        .pattern({{"aten::contiguous(Tensor(a) self, *, MemoryFormat memory_format=contiguous_format) -> Tensor(a)"},
                  identity})
        .pattern({{"aten::unsqueeze(Tensor(a) self, int dim) -> Tensor(a)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ctx.set_output(0, unsqueeze(ctx, ctx.tensor(n->input(0)), ctx.to_int(n->input(1))));
                  }})
        .pattern({{"aten::squeeze.dim(Tensor(a) self, int dim) -> Tensor(a)", "aten::squeeze(Tensor(a) self) -> Tensor(a)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Value* x = ctx.tensor(n->input(0));
                    auto s = dims_of(x);
                    std::vector<ir::Dim> t;
                    int64_t only = n->inputs().size() > 1 ? normalize_dim(ctx, ctx.to_int(n->input(1)), int64_t(s.size())) : -1;
                    for (size_t i = 0; i < s.size(); ++i)
                      if (!(s[i] == ir::Dim::fixed(1) && (only < 0 || int64_t(i) == only))) t.push_back(s[i]);
                    ctx.set_output(0, reshape(ctx, x, t));
                  },
                  squeeze_known_rank})
        .pattern({{"aten::cat(Tensor[] tensors, int dim=0) -> Tensor", "aten::concat(Tensor[] tensors, int dim=0) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    auto xs = ctx.tensor_list(n->input(0));
                    if (xs.empty()) ctx.fail("cat of an empty list");
                    // Like torch, 1-D tensors with no elements (the legacy empty tensor, e.g. an
                    // empty key/value cache) are skipped when the others have another shape.
                    auto legacy_empty = [](ir::Value* x) { return x->type == ir::TensorType::fixed(x->type.dtype, {0}); };
                    if (!std::all_of(xs.begin(), xs.end(), legacy_empty))
                      xs.erase(std::remove_if(xs.begin(), xs.end(), legacy_empty), xs.end());
                    ir::ConcatAttrs a;
                    a.axis = normalize_dim(ctx, ctx.to_int(n->input(1)), xs[0]->type.rank());
                    to_common_dtype(ctx, xs);
                    ctx.set_output(0, xs.size() == 1 ? xs[0] : ctx.add(ir::OpKind::Concat, a, xs));
                  }})
        .pattern({{"aten::stack(Tensor[] tensors, int dim=0) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    auto xs = ctx.tensor_list(n->input(0));
                    if (xs.empty()) ctx.fail("stack of an empty list");
                    int64_t d = normalize_dim(ctx, ctx.to_int(n->input(1)), xs[0]->type.rank() + 1);
                    to_common_dtype(ctx, xs);
                    for (auto& x : xs) x = unsqueeze(ctx, x, d);
                    ir::ConcatAttrs a;
                    a.axis = d;
                    ctx.set_output(0, xs.size() == 1 ? xs[0] : ctx.add(ir::OpKind::Concat, a, xs));
                  }})
        .pattern({{"aten::chunk(Tensor(a -> *) self, int chunks, int dim=0) -> Tensor(a)[]",
                   "aten::unsafe_chunk(Tensor self, int chunks, int dim=0) -> Tensor[]"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Value* x = ctx.tensor(n->input(0));
                    int64_t d = normalize_dim(ctx, ctx.to_int(n->input(2)), x->type.rank());
                    const int64_t len = static_dim(ctx, x, d);
                    int64_t chunks = ctx.to_int(n->input(1));
                    if (chunks <= 0) ctx.fail("chunk count must be positive");
                    int64_t size = (len + chunks - 1) / chunks;
                    std::vector<int64_t> sizes;
                    for (int64_t start = 0; start < len; start += size) sizes.push_back(std::min(size, len - start));
                    set_list_output(ctx, n, split(ctx, x, d, sizes));
                  }})
        .pattern({{"aten::split.Tensor(Tensor(a -> *) self, SymInt split_size, int dim=0) -> Tensor(a)[]",
                   "aten::split.sizes(Tensor(a -> *) self, SymInt[] split_size, int dim=0) -> Tensor(a)[]",
                   "aten::split_with_sizes(Tensor(a -> *) self, SymInt[] split_sizes, int dim=0) -> Tensor(a)[]",
                   "aten::unsafe_split.Tensor(Tensor self, SymInt split_size, int dim=0) -> Tensor[]",
                   "aten::unsafe_split_with_sizes(Tensor self, SymInt[] split_sizes, int dim=0) -> Tensor[]"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Value* x = ctx.tensor(n->input(0));
                    int64_t d = normalize_dim(ctx, ctx.to_int(n->input(2)), x->type.rank());
                    const int64_t len = static_dim(ctx, x, d);
                    std::vector<int64_t> sizes;
                    auto iv = ctx.ivalue(n->input(1));
                    if (iv.isInt()) {
                      int64_t size = iv.toInt();
                      if (size <= 0) ctx.fail("split size must be positive");
                      for (int64_t start = 0; start < len; start += size) sizes.push_back(std::min(size, len - start));
                    } else {
                      sizes = ctx.to_ints(n->input(1));
                      int64_t total = 0;
                      for (int64_t v : sizes) total += v;
                      if (total != len) ctx.fail(str_cat("split sizes add up to ", total, " but the dim has ", len));
                    }
                    set_list_output(ctx, n, split(ctx, x, d, sizes));
                  }})
        .pattern({{"aten::tensor_split.sections(Tensor(a -> *) self, SymInt sections, int dim=0) -> Tensor(a)[]",
                   "aten::tensor_split.indices(Tensor(a -> *) self, SymInt[] indices, int dim=0) -> Tensor(a)[]",
                   "aten::tensor_split.tensor_indices_or_sections(Tensor(a -> *) self, Tensor tensor_indices_or_sections, "
                   "int dim=0) -> Tensor(a)[]"},
                  add_tensor_split})
        .pattern({{"aten::unbind.int(Tensor(a -> *) self, int dim=0) -> Tensor(a)[]"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Value* x = ctx.tensor(n->input(0));
                    auto t = dims_of(x);
                    int64_t d = normalize_dim(ctx, ctx.to_int(n->input(1)), int64_t(t.size()));
                    const int64_t len = static_dim(ctx, x, d);
                    t.erase(t.begin() + d);
                    std::vector<ir::Value*> parts;
                    for (int64_t i = 0; i < len; ++i)
                      parts.push_back(reshape(ctx, slice(ctx, x, d, ir::Dim::fixed(i), ir::Dim::fixed(i + 1), 1), t));
                    set_list_output(ctx, n, parts);
                  }})
        .pattern({{"aten::slice.Tensor(Tensor(a) self, int dim=0, SymInt? start=None, SymInt? end=None, SymInt step=1) -> Tensor(a)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Value* x = ctx.tensor(n->input(0));
                    int64_t d = normalize_dim(ctx, ctx.to_int(n->input(1)), x->type.rank());
                    const ir::Dim len = x->type.dims[size_t(d)];
                    ir::Dim start = slice_bound(ctx, n->input(2), len, ir::Dim::fixed(0));
                    ir::Dim end = slice_bound(ctx, n->input(3), len, len);
                    int64_t step = ctx.to_int(n->input(4));
                    if (step <= 0) ctx.fail("slice step must be positive");
                    if (start.is_static() && end.is_static() && end.min < start.min) end = start;
                    const bool whole = start == ir::Dim::fixed(0) && end == len && step == 1;
                    ctx.set_output(0, whole ? x : slice(ctx, x, d, start, end, step));
                  }})
        .pattern({{"aten::select.int(Tensor(a) self, int dim, SymInt index) -> Tensor(a)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Value* x = ctx.tensor(n->input(0));
                    auto t = dims_of(x);
                    int64_t d = normalize_dim(ctx, ctx.to_int(n->input(1)), int64_t(t.size()));
                    const int64_t len = static_dim(ctx, x, d);
                    int64_t i = ctx.to_int(n->input(2));
                    if (i < -len || i >= len) ctx.fail(str_cat("index ", i, " is out of range for dim ", d, " of size ", len));
                    if (i < 0) i += len;
                    t.erase(t.begin() + d);
                    ctx.set_output(0, reshape(ctx, slice(ctx, x, d, ir::Dim::fixed(i), ir::Dim::fixed(i + 1), 1), t));
                  }})
        // The aten::to family and type_as: dtype casts (cast_to); device and memory-format
        // arguments are ignored (the engine decides where and how it runs).
        .pattern({{"aten::to.dtype(Tensor(a) self, ScalarType dtype, bool non_blocking=False, bool copy=False, "
                   "MemoryFormat? memory_format=None) -> Tensor(a)",
                   "aten::to.prim_dtype(Tensor(a) self, int? dtype=None, bool non_blocking=False, bool copy=False) "
                   "-> Tensor(b|a)"},
                  [](ConversionCtx& ctx, const Node* n) { to_dtype_arg(ctx, n, 1); }})
        .pattern({{"aten::to.device(Tensor(a) self, Device device, ScalarType dtype, bool non_blocking=False, "
                   "bool copy=False, MemoryFormat? memory_format=None) -> Tensor(a)",
                   "aten::to.prim_Device(Tensor(a) self, Device? device, int? dtype=None, bool non_blocking=False, "
                   "bool copy=False) -> Tensor(b|a)"},
                  [](ConversionCtx& ctx, const Node* n) { to_dtype_arg(ctx, n, 2); }})
        .pattern({{"aten::to.dtype_layout(Tensor(a) self, *, ScalarType? dtype=None, Layout? layout=None, "
                   "Device? device=None, bool? pin_memory=None, bool non_blocking=False, bool copy=False, "
                   "MemoryFormat? memory_format=None) -> Tensor(a)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    if (!ctx.is_none(n->input(2)) && ctx.to_int(n->input(2)) != int64_t(at::kStrided))
                      ctx.fail(str_cat("layout ", c10::Layout(ctx.to_int(n->input(2))),
                                       " is not supported (engine tensors are dense: strided layout only)"));
                    to_dtype_arg(ctx, n, 1);
                  }})
        .pattern({{"aten::to.other(Tensor(a) self, Tensor other, bool non_blocking=False, bool copy=False, "
                   "MemoryFormat? memory_format=None) -> Tensor(a)",
                   "aten::type_as(Tensor self, Tensor other) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    const Arg& other = ctx.arg(n->input(1));
                    at::ScalarType st;
                    if (other.kind == Arg::Kind::kTensor) st = to_torch_dtype(other.tensor->type.dtype);
                    else if (other.kind == Arg::Kind::kIValue && other.ivalue.isTensor()) st = other.ivalue.toTensor().scalar_type();
                    else ctx.fail(str_cat("argument %", n->input(1)->debugName(), " must be a tensor"));
                    ctx.set_output(0, cast_to(ctx, ctx.tensor(n->input(0)), st));
                  }})
        .pattern({{"aten::to.prim_other(Tensor(a) self, bool non_blocking=False, bool copy=False) -> Tensor(b|a)"},
                  identity})
        .pattern({{"aten::expand(Tensor(a) self, SymInt[] size, *, bool implicit=False) -> Tensor(a)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ctx.set_output(0, expand(ctx, ctx.tensor(n->input(0)), ctx.to_dims(n->input(1))));
                  }})
        .pattern({{"aten::expand_as(Tensor(a) self, Tensor other) -> Tensor(a)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Value* other = ctx.tensor(n->input(1));
                    ctx.set_output(0, expand(ctx, ctx.tensor(n->input(0)), dims_of(other)));
                  }})
        .pattern({{"aten::pixel_shuffle(Tensor self, int upscale_factor) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_pixel_shuffle(ctx, n, true); }})
        .pattern({{"aten::pixel_unshuffle(Tensor self, int downscale_factor) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_pixel_shuffle(ctx, n, false); }});

}  // namespace
}  // namespace trtorch::frontend::converters
