// Small helpers shared by converter files.
#pragma once

#include <ATen/ATen.h>

#include <initializer_list>
#include <string>

#include "core/frontend/conversion/registry.h"
#include "core/frontend/dtype_map.h"
#include "core/util/error.h"

namespace trtorch::frontend::converters {

// An int list argument of `n` entries; a single entry is repeated (int[2] given as [k]).
inline std::vector<int64_t> pair_arg(const ConversionCtx& ctx, const torch::jit::Value* v, size_t n = 2) {
  std::vector<int64_t> r = ctx.to_ints(v);
  if (r.size() == 1) r.assign(n, r[0]);
  if (r.size() != n) ctx.fail(str_cat("expected ", n, " values for %", v->debugName(), ", got ", r.size()));
  return r;
}

inline int64_t rank_of(ConversionCtx& ctx, const torch::jit::Value* v) { return ctx.tensor(v)->type.rank(); }

inline ir::Value* unary(ConversionCtx& ctx, ir::Value* x, ir::UnaryKind k, double alpha = 0, double beta = 0) {
  ir::UnaryAttrs a;
  a.kind = k;
  a.alpha = alpha;
  a.beta = beta;
  return ctx.add(ir::OpKind::Unary, a, {x});
}

inline ir::Value* binary(ConversionCtx& ctx, ir::Value* a, ir::Value* b, ir::BinaryKind k) {
  ir::BinaryAttrs attrs;
  attrs.kind = k;
  return ctx.add(ir::OpKind::Binary, attrs, {a, b});
}

// Target entries may be symbolic sizes (dynamic shapes); one may be -1.
inline ir::Value* reshape(ConversionCtx& ctx, ir::Value* x, std::vector<ir::Dim> shape) {
  ir::ReshapeAttrs a;
  a.shape = std::move(shape);
  return ctx.add(ir::OpKind::Reshape, a, {x});
}
inline ir::Value* reshape(ConversionCtx& ctx, ir::Value* x, const std::vector<int64_t>& shape) {
  return reshape(ctx, x, ir::fixed_dims(shape));
}

inline ir::Value* slice(ConversionCtx& ctx, ir::Value* x, int64_t axis, ir::Dim start, ir::Dim end, int64_t step) {
  ir::SliceAttrs a;
  a.axis = axis;
  a.start = std::move(start);
  a.end = std::move(end);
  a.step = step;
  return ctx.add(ir::OpKind::Slice, a, {x});
}

inline ir::Value* transpose(ConversionCtx& ctx, ir::Value* x, std::vector<int64_t> perm) {
  ir::TransposeAttrs a;
  a.perm = std::move(perm);
  return ctx.add(ir::OpKind::Transpose, a, {x});
}

inline std::vector<int64_t> shape_of(const ConversionCtx& ctx, ir::Value* v) {
  if (!v->type.is_static())
    ctx.fail(str_cat("this op does not support dynamic dims yet (input ", v->type.str(),
                     "); give the model's inputs fixed shapes"));
  return v->type.static_shape();
}

// The dims of v, static or symbolic.
inline const std::vector<ir::Dim>& dims_of(ir::Value* v) { return v->type.dims; }

// x with a new dim of size 1 at `dim` (torch.unsqueeze; negative counts from the end of the result).
inline ir::Value* unsqueeze(ConversionCtx& ctx, ir::Value* x, int64_t dim) {
  auto s = dims_of(x);
  int64_t d = normalize_dim(ctx, dim, int64_t(s.size()) + 1);
  s.insert(s.begin() + d, ir::Dim::fixed(1));
  return reshape(ctx, x, s);
}

// x broadcast to `size` (torch.expand: -1 keeps the input's dim; new leading dims are given).
inline ir::Value* expand(ConversionCtx& ctx, ir::Value* x, std::vector<ir::Dim> size) {
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

inline ir::Value* compare(ConversionCtx& ctx, ir::Value* a, ir::Value* b, ir::CompareKind k) {
  ir::CompareAttrs attrs;
  attrs.kind = k;
  return ctx.add(ir::OpKind::Compare, attrs, {a, b});
}

inline ir::Value* where(ConversionCtx& ctx, ir::Value* cond, ir::Value* a, ir::Value* b) {
  return ctx.add(ir::OpKind::Where, ir::WhereAttrs{}, {cond, a, b});
}

// x @ w2d^T + bias, where w2d is a compile-time [N, K] matrix (a Linear node; bias may be null).
inline ir::Value* linear(ConversionCtx& ctx, ir::Value* x, const at::Tensor& w2d, ir::Value* bias) {
  std::vector<ir::Value*> ins{x, ctx.constant(w2d.to(at::kFloat).contiguous())};
  if (ins[1]->type.dtype != x->type.dtype) ctx.fail("linear weight and input dtypes differ");
  if (bias) ins.push_back(bias);
  return ctx.add(ir::OpKind::Linear, ir::LinearAttrs{}, ins);
}

inline ir::Value* gather(ConversionCtx& ctx, ir::Value* data, ir::Value* idx, int64_t axis) {
  ir::GatherAttrs a;
  a.axis = axis;
  return ctx.add(ir::OpKind::Gather, a, {data, idx});
}

// data[..., idx[0], idx[1], ..., ...] along `axis` with indices known at compile time (a Gather
// with a constant int64 index; flips, rolls, padding by reflection and interpolation taps).
inline ir::Value* gather(ConversionCtx& ctx, ir::Value* data, const std::vector<int64_t>& idx, int64_t axis) {
  return gather(ctx, data, ctx.constant(at::tensor(idx, at::kLong)), axis);
}

inline ir::Value* scatter(ConversionCtx& ctx, ir::Value* self, ir::Value* idx, ir::Value* src, int64_t axis,
                          ir::ScatterReduce reduce) {
  ir::ScatterAttrs a;
  a.axis = axis;
  a.reduce = reduce;
  return ctx.add(ir::OpKind::Scatter, a, {self, idx, src});
}

// x with dim i repeated reps[i] times, as torch.repeat (interleave false) or, each element in
// turn, torch.repeat_interleave (true). Defined in data_movement_pad.cpp.
ir::Value* repeat_dims(ConversionCtx& ctx, ir::Value* x, const std::vector<int64_t>& reps, bool interleave);

// Dim `axis` of x padded by `lo` values `value` before and `hi` after; negative counts crop
// (torch's constant padding along one dim). Defined in data_movement_pad.cpp.
ir::Value* pad_constant(ConversionCtx& ctx, ir::Value* x, int64_t axis, int64_t lo, int64_t hi, double value);

// torch's result dtype of an elementwise op over `vals` (tensors, compile-time or computed by the
// engine, and scalars), by its type promotion rules: the highest category (bool < integer <
// floating) wins; within it, tensors with dims decide before 0-dim tensors, which decide before
// scalars (an int tensor compared with 0.5 is compared as float, an int32 tensor with 3 stays
// int32). Floating results are FP32 here (the engine precision is applied by the builder).
inline ir::DType promoted_dtype(const ConversionCtx& ctx, const std::vector<const torch::jit::Value*>& vals) {
  struct Operand {
    int category, priority;  // category: 0 bool, 1 integer, 2 floating; priority: 2 dims, 1 0-dim, 0 scalar
    ir::DType dtype;
  };
  auto category = [](ir::DType t) { return t == ir::DType::kBool ? 0 : ir::is_floating(t) ? 2 : 1; };
  std::vector<Operand> ops;
  for (const auto* v : vals) {
    const Arg& a = ctx.arg(v);
    if (a.kind == Arg::Kind::kTensor) {
      ops.push_back({category(a.tensor->type.dtype), a.tensor->type.rank() > 0 ? 2 : 1, a.tensor->type.dtype});
    } else if (a.kind == Arg::Kind::kIValue && a.ivalue.isTensor()) {
      const at::Tensor& t = a.ivalue.toTensor();
      const at::ScalarType st = t.scalar_type();
      ir::DType dt = st == at::kBool                          ? ir::DType::kBool
                     : at::isFloatingType(st)                 ? ir::DType::kFloat32
                     : st == at::kInt                         ? ir::DType::kInt32
                     : at::isIntegralType(st, /*includeBool=*/false) ? ir::DType::kInt64
                                                              : ir::DType::kFloat32;
      if (!at::isFloatingType(st) && !at::isIntegralType(st, /*includeBool=*/true))
        ctx.fail(str_cat("tensors of dtype ", c10::toString(st), " are not supported here"));
      ops.push_back({category(dt), t.dim() > 0 ? 2 : 1, dt});
    } else if (a.kind == Arg::Kind::kIValue && a.ivalue.isBool()) {
      ops.push_back({0, 0, ir::DType::kBool});
    } else if (a.kind == Arg::Kind::kIValue && a.ivalue.isInt()) {
      ops.push_back({1, 0, ir::DType::kInt64});
    } else if (a.kind == Arg::Kind::kIValue && a.ivalue.isDouble()) {
      ops.push_back({2, 0, ir::DType::kFloat32});
    } else {
      ctx.fail(str_cat("argument %", v->debugName(), " must be a tensor or a number"));
    }
  }
  int cat = 0, prio = 0;
  for (const auto& o : ops) cat = std::max(cat, o.category);
  for (const auto& o : ops)
    if (o.category == cat) prio = std::max(prio, o.priority);
  if (cat == 0) return ir::DType::kBool;
  if (cat == 2) {
    for (const auto& o : ops)  // an engine tensor's floating dtype, if it decides
      if (o.category == 2 && o.priority == prio) return o.dtype;
    return ir::DType::kFloat32;
  }
  bool any64 = false;
  for (const auto& o : ops)
    if (o.category == 1 && o.priority == prio && o.dtype == ir::DType::kInt64) any64 = true;
  return any64 ? ir::DType::kInt64 : ir::DType::kInt32;
}

// x converted to the engine dtype of torch dtype `st` (aten::to and the dtype arguments of other
// ops): floating targets follow the engine precision (a float-to-float cast is an identity here;
// the builder applies the precision), integer and bool targets are exact casts.
inline ir::Value* cast_to(ConversionCtx& ctx, ir::Value* x, at::ScalarType st) {
  ir::DType to;
  switch (st) {
    case at::kFloat:
    case at::kDouble:
    case at::kHalf:
    case at::kBFloat16: to = ir::is_floating(x->type.dtype) ? x->type.dtype : ir::DType::kFloat32; break;
    case at::kInt: to = ir::DType::kInt32; break;
    case at::kLong: to = ir::DType::kInt64; break;
    case at::kBool: to = ir::DType::kBool; break;
    default:
      ctx.fail(str_cat("conversion to ", c10::toString(st),
                       " is not supported (engine tensors are float, half, bfloat16, int32, int64 or bool)"));
  }
  if (to == x->type.dtype) return x;
  ir::CastAttrs a;
  a.to = to;
  return ctx.add(ir::OpKind::Cast, a, {x});
}

// An index tensor as int64 with its negative entries counted from the end of a dim of `size`
// (torch's rule for index and index_put, index_fill).
inline ir::Value* wrap_negative_index(ConversionCtx& ctx, ir::Value* idx, int64_t size) {
  idx = cast_to(ctx, idx, at::kLong);
  ir::Value* zero = ctx.scalar_constant(0.0, ir::DType::kInt64);
  ir::Value* wrapped = binary(ctx, idx, ctx.scalar_constant(double(size), ir::DType::kInt64), ir::BinaryKind::kAdd);
  return where(ctx, compare(ctx, idx, zero, ir::CompareKind::kLt), wrapped, idx);
}

// Can-convert guards shared by several families.
// Input 0 is a 4-D (N, C, H, W) tensor (convolution and pooling).
inline std::string needs_4d_input(const ConversionCtx& ctx, const torch::jit::Node* n) {
  const Arg& a = ctx.arg(n->input(0));
  if (a.kind == Arg::Kind::kTensor && a.tensor->type.rank() != 4)
    return str_cat("only 4-D (N, C, H, W) inputs are supported, got ", a.tensor->type.str());
  return "";
}

// Input 0 is a floating-point tensor (elementwise math, reductions, layer_norm, attention).
inline std::string float_input(const ConversionCtx& ctx, const torch::jit::Node* n) {
  const Arg& a = ctx.arg(n->input(0));
  if (a.kind == Arg::Kind::kTensor && !ir::is_floating(a.tensor->type.dtype))
    return str_cat("only floating-point inputs are supported, got ", a.tensor->type.str());
  return "";
}

// The node's inputs at `args` (those it has) are known when the engine is built (k, dims,
// directions, modes).
inline std::string constant_args(const ConversionCtx& ctx, const torch::jit::Node* n,
                                 std::initializer_list<size_t> args) {
  for (size_t i : args)
    if (i < n->inputs().size() && !ctx.is_const(n->input(i)))
      return str_cat("argument %", n->input(i)->debugName(), " must be known when the engine is built");
  return "";
}

// Sets every output of the node to the same engine tensor (ops that are identities here).
inline void identity(ConversionCtx& ctx, const torch::jit::Node* n) { ctx.set_output(0, ctx.tensor(n->input(0))); }

}  // namespace trtorch::frontend::converters
