// Shape and dtype inference, one function per op of ops.def.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/ir/ir.h"
#include "core/util/error.h"

namespace trtorch::ir {

namespace {

using Types = std::vector<TensorType>;

#define INFER_EXPECT(cond, ...) TRTORCH_EXPECT(cond, op, ": ", ##__VA_ARGS__)

void expect_float(const char* op, const TensorType& t, const char* what) {
  INFER_EXPECT(is_floating(t.dtype), what, " must be a floating-point tensor, got ", t.str());
}

void expect_same_dtype(const char* op, const Types& in) {
  for (size_t i = 1; i < in.size(); ++i)
    INFER_EXPECT(in[i].dtype == in[0].dtype, "input ", i, " has dtype ", dtype_name(in[i].dtype),
                 ", input 0 has ", dtype_name(in[0].dtype));
}

Dim broadcast_dim(const char* op, const Dim& a, const Dim& b) {
  if (a == b) return a;
  if (a.is_static() && a.min == 1) return b;
  if (b.is_static() && b.min == 1) return a;
  INFER_EXPECT(false, "shapes do not broadcast: dims ", a.str(), " and ", b.str());
  return a;
}

std::vector<Dim> broadcast(const char* op, const std::vector<Dim>& a, const std::vector<Dim>& b) {
  size_t r = std::max(a.size(), b.size());
  std::vector<Dim> out(r);
  for (size_t i = 0; i < r; ++i) {
    const Dim one = Dim::fixed(1);
    const Dim& da = i < r - a.size() ? one : a[i - (r - a.size())];
    const Dim& db = i < r - b.size() ? one : b[i - (r - b.size())];
    out[i] = broadcast_dim(op, da, db);
  }
  return out;
}

// Size arithmetic on values that may come from untrusted engines: overflow is an error naming the op.
int64_t checked_add(const char* op, int64_t a, int64_t b) { return ir::checked_add(a, b, op); }
int64_t checked_mul(const char* op, int64_t a, int64_t b) { return ir::checked_mul(a, b, op); }
int64_t checked_sub(const char* op, int64_t a, int64_t b) {
  int64_t r;
  INFER_EXPECT(!__builtin_sub_overflow(a, b, &r), "size computation overflows: ", a, " - ", b);
  return r;
}

// Output length of a sliding window (conv / pool); s, d >= 1 and in, p >= 0.
int64_t window_out(const char* op, int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  int64_t eff = checked_add(op, checked_mul(op, d, k - 1), 1);
  int64_t padded = checked_add(op, in, checked_mul(op, 2, p));
  int64_t num = checked_sub(op, padded, eff);
  if (num < 0) return 0;
  int64_t out = (ceil_mode ? num / s + (num % s != 0) : num / s) + 1;
  // PyTorch: the last window must start inside the input or left padding.
  if (ceil_mode && (out - 1) >= (in + p) / s + ((in + p) % s != 0)) --out;
  return out;
}

// window_out for a dim that may be symbolic: floor((in + 2p - eff) / s) + 1, or with ceil_mode
// ceil(...) + 1. Symbolic dims must keep a non-empty output over their whole range. PyTorch drops
// a last ceil_mode window that would start in the right padding; that never happens when
// p + s <= eff (the last window start, (out - 1) * s, stays below in + p), the only ceil_mode case
// supported on a symbolic dim (squeezenet's and googlenet's 3x3 stride-2 pools are such).
Dim window_out_dim(const char* op, const Dim& in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  if (in.is_static()) {
    int64_t o = window_out(op, in.min, k, s, p, d, ceil_mode);
    INFER_EXPECT(o > 0, "output size is empty for input size ", in.min);
    return Dim::fixed(o);
  }
  const int64_t eff = checked_add(op, checked_mul(op, d, k - 1), 1);
  INFER_EXPECT(checked_add(op, in.min, checked_mul(op, 2, p)) >= eff, "output size is empty for input size ",
               in.min, " (the low end of the range of ", in.str(), ")");
  INFER_EXPECT(!ceil_mode || p + s <= eff, "ceil_mode with a dynamic input size (", in.str(), "), padding ", p,
               " and stride ", s, " wider than the window ", eff, " is not supported");
  const int64_t round_up = ceil_mode ? s - 1 : 0;
  return floor_div(in + Dim::fixed(checked_sub(op, checked_mul(op, 2, p), eff) + round_up), s) + Dim::fixed(1);
}

void expect_pair(const char* op, const std::vector<int64_t>& v, const char* what, int64_t min_val) {
  INFER_EXPECT(v.size() == 2, what, " must have 2 entries, got ", v.size());
  INFER_EXPECT(v[0] >= min_val && v[1] >= min_val, what, " entries must be >= ", min_val, ", got [",
               v[0], ",", v[1], "]");
}

Types infer_Constant(const ConstantAttrs& a, const Types&) {
  return {TensorType::fixed(a.value.dtype, a.value.shape)};
}

Types infer_Identity(const IdentityAttrs&, const Types& in) { return {in[0]}; }

// The output dims of a 2-D convolution (Conv2d, QConv2d): x [N, C, H, W], w static
// [K, C/groups, R, S], bias (when not null) [K].
template <class A>
std::vector<Dim> conv_output_dims(const char* op, const A& a, const TensorType& x, const TensorType& w,
                                  const TensorType* bias) {
  INFER_EXPECT(x.rank() == 4, "input must be 4-D [N,C,H,W], got ", x.str());
  INFER_EXPECT(w.rank() == 4 && w.is_static(), "weight must be a static 4-D tensor, got ", w.str());
  expect_pair(op, a.stride, "stride", 1);
  expect_pair(op, a.padding, "padding", 0);
  expect_pair(op, a.dilation, "dilation", 1);
  INFER_EXPECT(a.groups >= 1, "groups must be >= 1");
  auto ws = w.static_shape();
  int64_t in_channels = checked_mul(op, ws[1], a.groups);
  INFER_EXPECT(x.dims[1].is_static() && x.dims[1].min == in_channels, "input has ", x.dims[1].min,
               " channels but weight ", w.str(), " with groups=", a.groups, " expects ", in_channels);
  INFER_EXPECT(ws[0] % a.groups == 0, "output channels ", ws[0], " not divisible by groups ", a.groups);
  if (bias)
    INFER_EXPECT(bias->rank() == 1 && bias->is_static() && bias->dims[0].min == ws[0], "bias must be [", ws[0],
                 "], got ", bias->str());
  std::vector<Dim> out{x.dims[0], Dim::fixed(ws[0])};
  for (int i = 0; i < 2; ++i)
    out.push_back(window_out_dim(op, x.dims[2 + i], ws[2 + i], a.stride[i], a.padding[i], a.dilation[i], false));
  return out;
}

Types infer_Conv2d(const Conv2dAttrs& a, const Types& in) {
  const char* op = "Conv2d";
  const TensorType& x = in[0];
  const TensorType& w = in[1];
  expect_float(op, x, "input");
  const size_t n_main = in.size() - (a.has_residual ? 1 : 0);
  const bool has_bias = conv_has_bias(a, in.size());
  INFER_EXPECT(n_main == 2 || has_bias, "takes x, w, an optional bias and ", a.has_residual ? "a" : "no",
               " residual; got ", in.size(), " inputs");
  // The bias may be FP32 in an FP16/BF16 convolution: the epilogue adds it in FP32, and a folded
  // BatchNorm shift kept in FP32 spares the output one rounding.
  for (size_t i = 1; i < in.size(); ++i) {
    const bool bias = has_bias && i == kConvBiasInput;
    INFER_EXPECT(in[i].dtype == x.dtype || (bias && in[i].dtype == DType::kFloat32), "input ", i, " has dtype ",
                 dtype_name(in[i].dtype), ", input 0 has ", dtype_name(x.dtype),
                 bias ? " (a bias may also be float32)" : "");
  }
  const std::vector<Dim> out = conv_output_dims(op, a, x, w, has_bias ? &in[kConvBiasInput] : nullptr);
  INFER_EXPECT(!a.has_act || size_t(a.act) < size_t(UnaryKind::kCount), "unknown activation ", int(a.act));
  TensorType result(x.dtype, out);
  if (a.has_residual)
    INFER_EXPECT(in.back() == result, "residual ", in.back().str(), " must have the output's type ", result.str());
  return {result};
}

Types infer_BatchNorm(const BatchNormAttrs&, const Types& in) {
  const char* op = "BatchNorm";
  expect_float(op, in[0], "input");
  expect_same_dtype(op, in);
  INFER_EXPECT(in[0].rank() >= 2 && in[0].dims[1].is_static(), "input must have a static channel dim, got ",
               in[0].str());
  int64_t c = in[0].dims[1].min;
  for (size_t i = 1; i < 5; ++i)
    INFER_EXPECT(in[i].rank() == 1 && in[i].dims[0] == Dim::fixed(c), "parameter ", i, " must be [", c,
                 "], got ", in[i].str());
  return {in[0]};
}

Types infer_Linear(const LinearAttrs& a, const Types& in) {
  const char* op = "Linear";
  expect_float(op, in[0], "input");
  expect_same_dtype(op, in);
  INFER_EXPECT(in[0].rank() >= 1, "input must have rank >= 1");
  INFER_EXPECT(in[1].rank() == 2 && in[1].is_static(), "weight must be static 2-D, got ", in[1].str());
  auto ws = in[1].static_shape();
  INFER_EXPECT(in[0].dims.back() == Dim::fixed(ws[1]), "input ", in[0].str(), " has inner dim ",
               in[0].dims.back().min, " but weight ", in[1].str(), " expects ", ws[1]);
  if (in.size() == 3)
    INFER_EXPECT(in[2].rank() == 1 && in[2].dims[0] == Dim::fixed(ws[0]), "bias must be [", ws[0],
                 "], got ", in[2].str());
  INFER_EXPECT(!a.has_act || size_t(a.act) < size_t(UnaryKind::kCount), "unknown activation ", int(a.act));
  auto dims = in[0].dims;
  dims.back() = Dim::fixed(ws[0]);
  return {TensorType(in[0].dtype, dims)};
}

Types infer_MatMul(const MatMulAttrs&, const Types& in) {
  const char* op = "MatMul";
  expect_float(op, in[0], "input");
  expect_same_dtype(op, in);
  const auto& a = in[0];
  const auto& b = in[1];
  INFER_EXPECT(a.rank() >= 2 && b.rank() >= 2, "operands must have rank >= 2, got ", a.str(), " and ", b.str());
  INFER_EXPECT(a.dims[a.rank() - 1] == b.dims[b.rank() - 2], "inner dims differ: ", a.str(), " @ ", b.str());
  std::vector<Dim> ab(a.dims.begin(), a.dims.end() - 2), bb(b.dims.begin(), b.dims.end() - 2);
  auto out = broadcast(op, ab, bb);
  out.push_back(a.dims[a.rank() - 2]);
  out.push_back(b.dims[b.rank() - 1]);
  return {TensorType(a.dtype, out)};
}

Types infer_Unary(const UnaryAttrs& a, const Types& in) {
  const char* op = "Unary";
  INFER_EXPECT(size_t(a.kind) < size_t(UnaryKind::kCount), "unknown kind ", int(a.kind));
  expect_float(op, in[0], "input");
  return {in[0]};
}

Types infer_Binary(const BinaryAttrs& a, const Types& in) {
  const char* op = "Binary";
  INFER_EXPECT(size_t(a.kind) < size_t(BinaryKind::kCount), "unknown kind ", int(a.kind));
  expect_same_dtype(op, in);
  INFER_EXPECT(in[0].dtype != DType::kBool, "bool operands are not supported");
  return {TensorType(in[0].dtype, broadcast(op, in[0].dims, in[1].dims))};
}

Types infer_Pool2d(const Pool2dAttrs& a, const Types& in) {
  const char* op = "Pool2d";
  INFER_EXPECT(size_t(a.kind) < size_t(PoolKind::kCount), "unknown kind ", int(a.kind));
  expect_float(op, in[0], "input");
  INFER_EXPECT(in[0].rank() == 4, "input must be 4-D, got ", in[0].str());
  expect_pair(op, a.kernel, "kernel", 1);
  expect_pair(op, a.stride, "stride", 1);
  expect_pair(op, a.padding, "padding", 0);
  expect_pair(op, a.dilation, "dilation", 1);
  for (int i = 0; i < 2; ++i)
    INFER_EXPECT(a.padding[i] <= a.kernel[i] / 2, "padding ", a.padding[i], " exceeds half the kernel ",
                 a.kernel[i]);
  INFER_EXPECT(a.divisor_override >= 0, "divisor_override must be >= 0");
  std::vector<Dim> out{in[0].dims[0], in[0].dims[1]};
  for (int i = 0; i < 2; ++i)
    out.push_back(window_out_dim(op, in[0].dims[2 + i], a.kernel[i], a.stride[i], a.padding[i], a.dilation[i],
                                 a.ceil_mode));
  return {TensorType(in[0].dtype, out)};
}

Types infer_AdaptivePool2d(const AdaptivePool2dAttrs& a, const Types& in) {
  const char* op = "AdaptivePool2d";
  INFER_EXPECT(size_t(a.kind) < size_t(PoolKind::kCount), "unknown kind ", int(a.kind));
  expect_float(op, in[0], "input");
  INFER_EXPECT(in[0].rank() == 4, "input must be 4-D, got ", in[0].str());
  expect_pair(op, a.output_size, "output_size", 1);
  for (int i = 0; i < 2; ++i) INFER_EXPECT(in[0].dims[2 + i].min >= 1, "empty input ", in[0].str());
  return {TensorType(in[0].dtype, {in[0].dims[0], in[0].dims[1], Dim::fixed(a.output_size[0]),
                                   Dim::fixed(a.output_size[1])})};
}

Types infer_Reduce(const ReduceAttrs& a, const Types& in) {
  const char* op = "Reduce";
  INFER_EXPECT(size_t(a.kind) < size_t(ReduceKind::kCount), "unknown kind ", int(a.kind));
  expect_float(op, in[0], "input");
  int64_t r = in[0].rank();
  for (size_t i = 0; i < a.axes.size(); ++i) {
    INFER_EXPECT(a.axes[i] >= 0 && a.axes[i] < r, "axis ", a.axes[i], " out of range for ", in[0].str());
    INFER_EXPECT(i == 0 || a.axes[i] > a.axes[i - 1], "axes must be sorted and unique");
  }
  std::vector<Dim> out;
  for (int64_t d = 0; d < r; ++d) {
    bool reduced = std::find(a.axes.begin(), a.axes.end(), d) != a.axes.end();
    if (!reduced)
      out.push_back(in[0].dims[d]);
    else if (a.keepdim)
      out.push_back(Dim::fixed(1));
  }
  return {TensorType(in[0].dtype, out)};
}

Types infer_Softmax(const SoftmaxAttrs& a, const Types& in) {
  const char* op = "Softmax";
  expect_float(op, in[0], "input");
  INFER_EXPECT(a.axis >= 0 && a.axis < in[0].rank(), "axis ", a.axis, " out of range for ", in[0].str());
  return {in[0]};
}

Types infer_Reshape(const ReshapeAttrs& a, const Types& in) {
  const char* op = "Reshape";
  const Dim n = dims_product(in[0].dims);
  Dim known = Dim::fixed(1);
  int infer_at = -1;
  for (size_t i = 0; i < a.shape.size(); ++i) {
    const Dim& d = a.shape[i];
    if (d == Dim::fixed(-1)) {
      INFER_EXPECT(infer_at < 0, "more than one -1 in target shape");
      infer_at = int(i);
    } else {
      INFER_EXPECT(d.min >= 0, "negative size ", d.str(), " in target shape");
      known = known * d;
    }
  }
  std::vector<Dim> out = a.shape;
  if (infer_at >= 0) {
    Dim q;
    INFER_EXPECT(known.max > 0 && exact_div(n, known, &q), "cannot infer -1: ", n.str(), " elements into ",
                 known.str(), " (input ", in[0].str(), ")");
    out[size_t(infer_at)] = q;
  } else {
    INFER_EXPECT(known == n, "target shape has ", known.str(), " elements, input ", in[0].str(), " has ", n.str());
  }
  return {TensorType(in[0].dtype, out)};
}

Types infer_Transpose(const TransposeAttrs& a, const Types& in) {
  const char* op = "Transpose";
  int64_t r = in[0].rank();
  INFER_EXPECT(int64_t(a.perm.size()) == r, "perm has ", a.perm.size(), " entries for rank ", r);
  std::vector<bool> seen(size_t(r), false);
  std::vector<Dim> out;
  for (int64_t p : a.perm) {
    INFER_EXPECT(p >= 0 && p < r && !seen[size_t(p)], "perm is not a permutation of 0..", r - 1);
    seen[size_t(p)] = true;
    out.push_back(in[0].dims[size_t(p)]);
  }
  return {TensorType(in[0].dtype, out)};
}

Types infer_Concat(const ConcatAttrs& a, const Types& in) {
  const char* op = "Concat";
  expect_same_dtype(op, in);
  int64_t r = in[0].rank();
  INFER_EXPECT(a.axis >= 0 && a.axis < r, "axis ", a.axis, " out of range for ", in[0].str());
  std::vector<Dim> out = in[0].dims;
  Dim total = Dim::fixed(0);
  for (size_t i = 0; i < in.size(); ++i) {
    INFER_EXPECT(in[i].rank() == r, "input ", i, " has rank ", in[i].rank(), ", expected ", r);
    for (int64_t d = 0; d < r; ++d) {
      if (d == a.axis) continue;
      INFER_EXPECT(in[i].dims[d] == out[d], "input ", i, " ", in[i].str(), " differs from ", in[0].str(),
                   " in dim ", d);
    }
    total = total + in[i].dims[a.axis];
  }
  out[a.axis] = total;
  return {TensorType(in[0].dtype, out)};
}

// True when lo <= hi for every value of the symbols (equal expressions, or separated bounds).
bool provably_le(const Dim& lo, const Dim& hi) { return lo == hi || lo.max <= hi.min; }

Types infer_Slice(const SliceAttrs& a, const Types& in) {
  const char* op = "Slice";
  int64_t r = in[0].rank();
  INFER_EXPECT(a.axis >= 0 && a.axis < r, "axis ", a.axis, " out of range for ", in[0].str());
  INFER_EXPECT(a.step >= 1, "step must be >= 1");
  const Dim& n = in[0].dims[a.axis];
  INFER_EXPECT(a.start.min >= 0 && provably_le(a.start, a.end) && provably_le(a.end, n), "range [", a.start.str(),
               ", ", a.end.str(), ") is not within dim of size ", n.str(),
               n.is_static() && a.start.is_static() && a.end.is_static() ? "" : " for every size in range");
  std::vector<Dim> out = in[0].dims;
  out[a.axis] = floor_div(a.end - a.start + Dim::fixed(a.step - 1), a.step);
  return {TensorType(in[0].dtype, out)};
}

Types infer_Cast(const CastAttrs& a, const Types& in) {
  const char* op = "Cast";
  INFER_EXPECT(int(a.to) < kNumDTypes, "unknown dtype ", int(a.to));
  return {TensorType(a.to, in[0].dims)};
}

Types infer_LayerNorm(const LayerNormAttrs& a, const Types& in) {
  const char* op = "LayerNorm";
  expect_float(op, in[0], "input");
  const int64_t r = in[0].rank();
  INFER_EXPECT(a.normalized_rank >= 1 && a.normalized_rank <= r, "normalized_rank ", a.normalized_rank,
               " out of range for ", in[0].str());
  INFER_EXPECT(a.eps >= 0.0, "eps must be >= 0, got ", a.eps);
  for (int64_t d = r - a.normalized_rank; d < r; ++d)
    INFER_EXPECT(in[0].dims[size_t(d)].is_static(), "normalized dims must be static, got ", in[0].str());
  const std::vector<Dim> norm(in[0].dims.end() - a.normalized_rank, in[0].dims.end());
  size_t first_param = 1;
  INFER_EXPECT(!a.emit_sum || a.has_residual, "emit_sum needs has_residual");
  if (a.has_residual) {
    INFER_EXPECT(in.size() >= 2 && in[1].dims == in[0].dims &&
                     (in[1].dtype == in[0].dtype || in[1].dtype == DType::kFloat32),
                 "the residual must have the input's dims and its dtype or float32: input ", in[0].str(),
                 ", residual ", in.size() >= 2 ? in[1].str() : std::string("missing"));
    first_param = 2;
  }
  INFER_EXPECT(in.size() <= first_param + 2, "expected at most a weight and a bias after the ",
               a.has_residual ? "residual" : "input", ", got ", in.size(), " inputs");
  for (size_t i = first_param; i < in.size(); ++i) {
    INFER_EXPECT(in[i].dims == norm, i == first_param ? "weight " : "bias ", in[i].str(),
                 " must have the shape of the last ", a.normalized_rank, " dims of ", in[0].str());
    INFER_EXPECT(in[i].dtype == in[0].dtype, i == first_param ? "weight " : "bias ", in[i].str(),
                 " must have the input's dtype ", dtype_name(in[0].dtype));
  }
  if (a.emit_sum) return {in[0], TensorType(DType::kFloat32, in[0].dims)};
  return {in[0]};
}

Types infer_Gather(const GatherAttrs& a, const Types& in) {
  const char* op = "Gather";
  const TensorType& data = in[0];
  const TensorType& idx = in[1];
  INFER_EXPECT(idx.dtype == DType::kInt32 || idx.dtype == DType::kInt64, "indices must be int32 or int64, got ",
               idx.str());
  INFER_EXPECT(a.axis >= 0 && a.axis < data.rank(), "axis ", a.axis, " out of range for ", data.str());
  INFER_EXPECT(data.dims[size_t(a.axis)].is_static(), "the gathered dim must be static, got ", data.str());
  std::vector<Dim> out(data.dims.begin(), data.dims.begin() + a.axis);
  out.insert(out.end(), idx.dims.begin(), idx.dims.end());
  out.insert(out.end(), data.dims.begin() + a.axis + 1, data.dims.end());
  return {TensorType(data.dtype, out)};
}

Types infer_Where(const WhereAttrs&, const Types& in) {
  const char* op = "Where";
  INFER_EXPECT(in[0].dtype == DType::kBool, "condition must be bool, got ", in[0].str());
  INFER_EXPECT(in[1].dtype == in[2].dtype, "values have different dtypes: ", in[1].str(), " and ", in[2].str());
  return {TensorType(in[1].dtype, broadcast(op, broadcast(op, in[0].dims, in[1].dims), in[2].dims))};
}

Types infer_Expand(const ExpandAttrs& a, const Types& in) {
  const char* op = "Expand";
  const TensorType& x = in[0];
  INFER_EXPECT(int64_t(a.shape.size()) >= x.rank(), "target shape has rank ", a.shape.size(), ", below the input's ",
               x.str());
  const size_t off = a.shape.size() - size_t(x.rank());
  std::vector<Dim> out;
  for (size_t i = 0; i < a.shape.size(); ++i) {
    INFER_EXPECT(a.shape[i].min >= 0, "negative size ", a.shape[i].str(), " in target shape");
    if (i >= off) {
      const Dim& d = x.dims[i - off];
      INFER_EXPECT(d == a.shape[i] || d == Dim::fixed(1), "input ", x.str(), " dim ", i - off, " cannot expand to ",
                   a.shape[i].str());
    }
    out.push_back(a.shape[i]);
  }
  return {TensorType(x.dtype, out)};
}

Types infer_Attention(const AttentionAttrs& a, const Types& in) {
  const char* op = "Attention";
  const TensorType &q = in[0], &k = in[1], &v = in[2];
  expect_float(op, q, "query");
  for (size_t i = 1; i < in.size(); ++i)
    INFER_EXPECT(in[i].dtype == q.dtype, "input ", i, " ", in[i].str(), " must have the query's dtype ",
                 dtype_name(q.dtype));
  INFER_EXPECT(q.rank() >= 2 && k.rank() == q.rank() && v.rank() == q.rank(), "query, key and value need one rank >= 2, got ",
               q.str(), ", ", k.str(), ", ", v.str());
  if (a.packed) {
    // [B, seq, 3, H, d]: check as three [B, seq, H, d] tensors.
    INFER_EXPECT(a.bshd, "packed needs bshd");
    INFER_EXPECT(q.rank() == 5 && q.dims[2] == Dim(3), "packed needs a [B, seq, 3, H, d] input, got ", q.str());
    INFER_EXPECT(k == q && v == q, "packed needs one tensor as query, key and value, got ", q.str(), ", ", k.str(),
                 ", ", v.str());
    const TensorType one(q.dtype, {q.dims[0], q.dims[1], q.dims[3], q.dims[4]});
    AttentionAttrs b = a;
    b.packed = false;
    Types unpacked{one, one, one};
    if (in.size() > 3) unpacked.push_back(in[3]);
    return infer_Attention(b, unpacked);
  }
  if (a.bshd) {
    // [B, seq, H, d]: check as [B, H, seq, d].
    INFER_EXPECT(q.rank() == 4, "bshd needs rank-4 query, key and value, got ", q.str());
    auto bhsd = [](const TensorType& t) { return TensorType(t.dtype, {t.dims[0], t.dims[2], t.dims[1], t.dims[3]}); };
    AttentionAttrs b = a;
    b.bshd = false;
    Types as_bhsd{bhsd(q), bhsd(k), bhsd(v)};
    if (in.size() > 3) as_bhsd.push_back(in[3]);
    TensorType o = infer_Attention(b, as_bhsd)[0];
    return {bhsd(o)};
  }
  const size_t r = size_t(q.rank());
  for (size_t d = 0; d + 2 < r; ++d)
    INFER_EXPECT(k.dims[d] == q.dims[d] && v.dims[d] == q.dims[d], "leading dims differ: ", q.str(), ", ", k.str(), ", ",
                 v.str());
  INFER_EXPECT(k.dims[r - 1] == q.dims[r - 1], "key ", k.str(), " and query ", q.str(), " differ in the last dim");
  INFER_EXPECT(v.dims[r - 2] == k.dims[r - 2], "value ", v.str(), " and key ", k.str(), " differ in sequence length");
  INFER_EXPECT(std::isfinite(a.scale), "scale must be finite, got ", a.scale);
  std::vector<Dim> scores(q.dims.begin(), q.dims.end() - 1);
  scores.push_back(k.dims[r - 2]);
  if (in.size() > 3) {
    INFER_EXPECT(in[3].rank() <= q.rank(), "bias ", in[3].str(), " has a higher rank than the scores");
    INFER_EXPECT(broadcast(op, scores, in[3].dims) == scores, "bias ", in[3].str(), " does not broadcast to the scores [",
                 TensorType(q.dtype, scores).str(), "]");
  }
  std::vector<Dim> out(q.dims.begin(), q.dims.end() - 1);
  out.push_back(v.dims[r - 1]);
  return {TensorType(q.dtype, out)};
}

Types infer_Compare(const CompareAttrs& a, const Types& in) {
  const char* op = "Compare";
  INFER_EXPECT(size_t(a.kind) < size_t(CompareKind::kCount), "unknown kind ", int(a.kind));
  expect_same_dtype(op, in);
  return {TensorType(DType::kBool, broadcast(op, in[0].dims, in[1].dims))};
}

// A running sum or product along `axis`: the input's type.
Types infer_scan(const char* op, int64_t axis, const Types& in) {
  const TensorType& x = in[0];
  INFER_EXPECT(x.dtype != DType::kBool, "bool input is not supported (cast it to an integer type first)");
  INFER_EXPECT(axis >= 0 && axis < x.rank(), "axis ", axis, " out of range for ", x.str());
  return {x};
}

Types infer_CumSum(const CumSumAttrs& a, const Types& in) { return infer_scan("CumSum", a.axis, in); }

Types infer_CumProd(const CumProdAttrs& a, const Types& in) { return infer_scan("CumProd", a.axis, in); }

// The scale of Quantize / Dequantize: FP32, positive and finite, one value or one per index of dim
// `axis` (static) of x.
void expect_quant_scale(const char* op, int64_t axis, const HostTensor& scale, const TensorType& x) {
  INFER_EXPECT(scale.dtype == DType::kFloat32, "scale must be FP32, got ", dtype_name(scale.dtype));
  if (axis == -1) {
    INFER_EXPECT(scale.numel() == 1, "a per-tensor scale has one value, got ", scale.numel());
  } else {
    INFER_EXPECT(axis >= 0 && axis < x.rank(), "axis ", axis, " out of range for ", x.str());
    const Dim& c = x.dims[size_t(axis)];
    INFER_EXPECT(c.is_static() && c.min == scale.numel() && scale.shape.size() == 1, "a per-channel scale has one "
                 "value per index of dim ", axis, " of ", x.str(), ", got shape ", shape_text(scale.shape));
  }
  for (int64_t i = 0; i < scale.numel(); ++i) {
    const double s = scale.get(i);
    INFER_EXPECT(s > 0 && std::isfinite(s), "scales must be positive and finite, got ", s, " at ", i);
  }
}

Types infer_Quantize(const QuantizeAttrs& a, const Types& in) {
  const char* op = "Quantize";
  expect_float(op, in[0], "input");
  expect_quant_scale(op, a.axis, a.scale, in[0]);
  INFER_EXPECT(-128 <= a.qmin && a.qmin <= a.qmax && a.qmax <= 127, "[qmin, qmax] must lie in [-128, 127], got [",
               a.qmin, ", ", a.qmax, "]");
  return {TensorType(DType::kInt8, in[0].dims)};
}

Types infer_Dequantize(const DequantizeAttrs& a, const Types& in) {
  const char* op = "Dequantize";
  INFER_EXPECT(in[0].dtype == DType::kInt8, "input must be int8, got ", in[0].str());
  INFER_EXPECT(is_floating(a.to), "the output dtype must be floating-point, got ", dtype_name(a.to));
  expect_quant_scale(op, a.axis, a.scale, in[0]);
  return {TensorType(a.to, in[0].dims)};
}

// What QConv2d and QLinear share (attrs.h, QuantizedLayer): x and w int8, an FP32 bias of one
// value per output channel, scales positive and finite, a reduction of `reduction` products
// that int32 holds exactly (127 * 128 per product), and the output's dtype.
DType check_quantized_layer(const char* op, const QuantizedLayer& q, const TensorType& x, const TensorType& w,
                            const TensorType& bias, int64_t channels, int64_t reduction) {
  INFER_EXPECT(x.dtype == DType::kInt8, "input must be int8, got ", x.str());
  INFER_EXPECT(w.dtype == DType::kInt8, "weight must be int8, got ", w.str());
  INFER_EXPECT(bias.dtype == DType::kFloat32 && bias.rank() == 1 && bias.dims[0] == Dim::fixed(channels),
               "bias must be f32[", channels, "], got ", bias.str());
  INFER_EXPECT(q.x_scale > 0 && std::isfinite(q.x_scale), "x_scale must be positive and finite, got ", q.x_scale);
  INFER_EXPECT(q.w_scale.dtype == DType::kFloat32 && q.w_scale.shape == std::vector<int64_t>{channels},
               "w_scale must be f32[", channels, "] (one scale per output channel), got ",
               dtype_name(q.w_scale.dtype), shape_text(q.w_scale.shape));
  for (int64_t i = 0; i < channels; ++i) {
    const double s = q.w_scale.get(i);
    INFER_EXPECT(s > 0 && std::isfinite(s), "w_scale must be positive and finite, got ", s, " at ", i);
  }
  INFER_EXPECT(q.y_scale == 0 || (q.y_scale > 0 && std::isfinite(q.y_scale)),
               "y_scale must be 0 (float output) or positive and finite, got ", q.y_scale);
  INFER_EXPECT(q.r_scale == 0 || (q.r_scale > 0 && std::isfinite(q.r_scale)),
               "r_scale must be 0 (float residual) or positive and finite, got ", q.r_scale);
  INFER_EXPECT(!std::isnan(q.lo) && !std::isnan(q.hi) && q.lo <= q.hi, "the activation bounds [", q.lo, ", ", q.hi,
               "] must be ordered");
  INFER_EXPECT(-128 <= q.qmin && q.qmin <= q.qmax && q.qmax <= 127, "[qmin, qmax] must lie in [-128, 127], got [",
               q.qmin, ", ", q.qmax, "]");
  INFER_EXPECT(is_floating(q.out_dtype), "out_dtype must be floating-point, got ", dtype_name(q.out_dtype));
  INFER_EXPECT(reduction >= 1 && reduction <= std::numeric_limits<int32_t>::max() / (127 * 128),
               "a reduction of ", reduction, " int8 products may overflow the int32 accumulator");
  return q.y_scale > 0 ? DType::kInt8 : q.out_dtype;
}

Types infer_QConv2d(const QConv2dAttrs& a, const Types& in) {
  const char* op = "QConv2d";
  INFER_EXPECT(in.size() == (a.has_residual ? 4u : 3u), "takes x, w, bias", a.has_residual ? " and a residual" : "",
               "; got ", in.size(), " inputs");
  INFER_EXPECT(a.groups == 1, "groups must be 1 (grouped INT8 convolutions are not supported), got ", a.groups);
  const std::vector<Dim> out = conv_output_dims(op, a, in[0], in[1], &in[2]);
  const auto ws = in[1].static_shape();
  const DType dt = check_quantized_layer(op, a.q, in[0], in[1], in[2], ws[0], ws[1] * ws[2] * ws[3]);
  if (a.has_residual) {
    const TensorType want(a.q.r_scale > 0 ? DType::kInt8 : a.q.out_dtype, out);
    INFER_EXPECT(in[3] == want, "residual ", in[3].str(), " must be ", want.str(),
                 a.q.r_scale > 0 ? " (int8: r_scale is set)" : " (out_dtype: r_scale is 0)");
  } else {
    INFER_EXPECT(a.q.r_scale == 0, "r_scale ", a.q.r_scale, " without a residual");
  }
  return {TensorType(dt, out)};
}

Types infer_QLinear(const QLinearAttrs& a, const Types& in) {
  const char* op = "QLinear";
  INFER_EXPECT(in[0].rank() >= 1, "input must have rank >= 1");
  INFER_EXPECT(in[1].rank() == 2 && in[1].is_static(), "weight must be static 2-D, got ", in[1].str());
  const auto ws = in[1].static_shape();
  INFER_EXPECT(in[0].dims.back() == Dim::fixed(ws[1]), "input ", in[0].str(), " has inner dim ",
               in[0].dims.back().min, " but weight ", in[1].str(), " expects ", ws[1]);
  INFER_EXPECT(a.q.r_scale == 0, "r_scale ", a.q.r_scale, " without a residual");
  const DType dt = check_quantized_layer(op, a.q, in[0], in[1], in[2], ws[0], ws[1]);
  auto dims = in[0].dims;
  dims.back() = Dim::fixed(ws[0]);
  return {TensorType(dt, dims)};
}

Types infer_TopK(const TopKAttrs& a, const Types& in) {
  const char* op = "TopK";
  const TensorType& x = in[0];
  INFER_EXPECT(x.dtype != DType::kBool, "bool input is not supported (cast it to an integer type first)");
  INFER_EXPECT(a.axis >= 0 && a.axis < x.rank(), "axis ", a.axis, " out of range for ", x.str());
  std::vector<Dim> dims = x.dims;
  if (a.k != -1) {
    const Dim& d = dims[size_t(a.axis)];
    INFER_EXPECT(a.k >= 0, "k must be -1 (the whole axis) or at least 0, got ", a.k);
    INFER_EXPECT(a.k <= d.min, "k ", a.k, " exceeds the size of dim ", a.axis, " of ", x.str());
    dims[size_t(a.axis)] = Dim::fixed(a.k);
  }
  return {TensorType(x.dtype, dims), TensorType(DType::kInt64, dims)};
}

Types infer_Scatter(const ScatterAttrs& a, const Types& in) {
  const char* op = "Scatter";
  const TensorType &self = in[0], &idx = in[1], &src = in[2];
  INFER_EXPECT(size_t(a.reduce) < size_t(ScatterReduce::kCount), "unknown reduction ", int(a.reduce));
  INFER_EXPECT(idx.dtype == DType::kInt32 || idx.dtype == DType::kInt64, "index must be int32 or int64, got ",
               idx.str());
  INFER_EXPECT(a.axis >= 0 && a.axis < self.rank(), "axis ", a.axis, " out of range for ", self.str());
  INFER_EXPECT(idx.rank() == self.rank(), "index ", idx.str(), " must have the rank of self ", self.str());
  INFER_EXPECT(src.dtype == self.dtype, "src ", src.str(), " must have self's dtype ", dtype_name(self.dtype));
  INFER_EXPECT(src.dims == idx.dims, "src ", src.str(), " must have the index's shape ", idx.str());
  INFER_EXPECT(a.reduce != ScatterReduce::kAdd || self.dtype != DType::kBool, "add into a bool tensor");
  for (int64_t d = 0; d < self.rank(); ++d) {
    if (d == a.axis) continue;
    const Dim &i = idx.dims[size_t(d)], &s = self.dims[size_t(d)];
    INFER_EXPECT(i == s || (i.is_static() && i.max <= s.min), "index ", idx.str(), " is larger than self ",
                 self.str(), " in dim ", d);
  }
  return {self};
}

Types infer_GridSample(const GridSampleAttrs& a, const Types& in) {
  const char* op = "GridSample";
  const TensorType &x = in[0], &grid = in[1];
  INFER_EXPECT(size_t(a.mode) < size_t(GridSampleMode::kCount), "unknown mode ", int(a.mode));
  INFER_EXPECT(size_t(a.padding) < size_t(GridSamplePadding::kCount), "unknown padding ", int(a.padding));
  expect_float(op, x, "input");
  INFER_EXPECT(x.rank() == 4, "input must be 4-D (N, C, H, W), got ", x.str());
  INFER_EXPECT(grid.dtype == x.dtype, "grid ", grid.str(), " must have the input's dtype ", dtype_name(x.dtype));
  INFER_EXPECT(grid.rank() == 4 && grid.dims[3] == Dim::fixed(2), "grid must be (N, Ho, Wo, 2), got ", grid.str());
  INFER_EXPECT(grid.dims[0] == x.dims[0], "grid ", grid.str(), " and input ", x.str(), " differ in batch");
  return {TensorType(x.dtype, {x.dims[0], x.dims[1], grid.dims[1], grid.dims[2]})};
}

Types infer_Pointwise(const PointwiseAttrs& a, const Types& in) {
  const char* op = "Pointwise";
  expect_same_dtype(op, in);
  expect_float(op, in[0], "input 0");
  const size_t n = a.instructions();
  INFER_EXPECT(n >= 1 && a.code.size() == 4 * n, "code must be 4 words per instruction (at least one), got ",
               a.code.size(), " words");
  INFER_EXPECT(a.params.dtype == DType::kFloat32 && a.params.shape == std::vector<int64_t>{int64_t(2 * n)},
               "params must be float32 [", 2 * n, "], got ", dtype_name(a.params.dtype), " of ", a.params.numel(),
               " elements");
  for (size_t i = 0; i < n; ++i) {
    const int64_t* c = &a.code[4 * i];
    const int64_t regs = int64_t(in.size() + i);  // registers defined before instruction i
    auto reg_ok = [&](int64_t r) { return r >= 0 && r < regs; };
    switch (c[0]) {
      case PointwiseAttrs::kImmediate: break;
      case PointwiseAttrs::kUnary:
        INFER_EXPECT(c[1] >= 0 && c[1] < int64_t(UnaryKind::kCount), "instruction ", i, ": unknown unary kind ", c[1]);
        INFER_EXPECT(reg_ok(c[2]), "instruction ", i, " reads register ", c[2], " of ", regs, " defined");
        break;
      case PointwiseAttrs::kBinary:
        INFER_EXPECT(c[1] >= 0 && c[1] < int64_t(BinaryKind::kCount), "instruction ", i, ": unknown binary kind ",
                     c[1]);
        INFER_EXPECT(reg_ok(c[2]) && reg_ok(c[3]), "instruction ", i, " reads registers ", c[2], " and ", c[3], " of ",
                     regs, " defined");
        break;
      default: INFER_EXPECT(false, "instruction ", i, ": unknown op ", c[0]);
    }
  }
  std::vector<Dim> dims = in[0].dims;
  for (size_t i = 1; i < in.size(); ++i) dims = broadcast(op, dims, in[i].dims);
  return {TensorType(in[0].dtype, dims)};
}

// An output must fit in memory: numel * dtype size within int64_t at the upper bound of every dim
// (shapes multiplied out by Expand, Reshape, Concat, MatMul ... can overflow while each dim is in
// range). The deserializer checks stored types the same way.
void expect_fits(const char* op, size_t i, size_t n_out, const TensorType& t) {
  std::vector<int64_t> largest;
  largest.reserve(t.dims.size());
  for (const Dim& d : t.dims) largest.push_back(d.max);
  if (try_bytes(largest, t.dtype)) return;
  std::string what = n_out == 1 ? str_cat(op, ": output shape") : str_cat(op, ": output ", i, " shape");
  if (!t.is_static()) what += str_cat(" ", t.str(), " at its largest,");
  TRTORCH_ERROR(too_large_message(what, largest, t.dtype));
}

// Quantized (int8) tensors flow only from Quantize, the INT8 layers (and int8 constants) into
// Dequantize and the INT8 layers, through the ops that move them unchanged. Every other op refuses
// them here, once, instead of in each backend's dtype dispatch.
bool takes_int8(OpKind op) {
  return op == OpKind::Constant || op == OpKind::Identity || op == OpKind::Reshape || op == OpKind::Quantize ||
         op == OpKind::Dequantize || op == OpKind::QConv2d || op == OpKind::QLinear;
}

}  // namespace

std::vector<TensorType> infer_types(OpKind op, const Attrs& attrs, const std::vector<TensorType>& in) {
  const OpInfo& info = op_info(op);
  TRTORCH_EXPECT(attrs.index() == size_t(op), info.name, ": attributes of another op");
  int n = int(in.size());
  TRTORCH_EXPECT(n >= info.min_inputs && (info.max_inputs < 0 || n <= info.max_inputs), info.name,
                 ": expected ", info.min_inputs, "..", info.max_inputs, " inputs, got ", n);
  if (!takes_int8(op))
    for (int i = 0; i < n; ++i)
      TRTORCH_EXPECT(in[size_t(i)].dtype != DType::kInt8, info.name, ": input ", i, " ", in[size_t(i)].str(),
                     " is quantized (int8); only Dequantize and the INT8 layers read quantized tensors");
  std::vector<TensorType> out;
  switch (op) {
#define TRTORCH_OP(Name, MinIn, MaxIn, MaxOut)                \
  case OpKind::Name:                                          \
    out = infer_##Name(std::get<Name##Attrs>(attrs), in);     \
    break;
#include "core/ir/ops.def"
#undef TRTORCH_OP
    default: TRTORCH_ERROR("unknown op kind ", int(op));
  }
  for (size_t i = 0; i < out.size(); ++i) {
    TRTORCH_EXPECT(takes_int8(op) || out[i].dtype != DType::kInt8, info.name,
                   ": int8 outputs are made only by Quantize and the INT8 layers, got ", out[i].str());
    expect_fits(info.name, i, out.size(), out[i]);
  }
  return out;
}

}  // namespace trtorch::ir
