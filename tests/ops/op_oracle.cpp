// The naive oracle of the op-test table (see op_oracle.h): one function per op family's ops,
// plain loops in double precision, dispatched by oracle().
#include "tests/ops/op_oracle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>

#include "core/util/error.h"

namespace trtorch::op_test {

using namespace trtorch::ir;

// ---------------------------------------------------------------------------------------------
// Helpers

HostTensor random_tensor(DType t, Shape shape, uint32_t seed, double lo, double hi) {
  std::mt19937 gen(seed);
  HostTensor h(t, shape);
  if (t == DType::kInt32 || t == DType::kInt64) {
    std::uniform_int_distribution<int64_t> d{int64_t(lo), int64_t(hi)};
    for (int64_t i = 0; i < h.numel(); ++i) h.set(i, double(d(gen)));
  } else if (t == DType::kBool) {
    std::bernoulli_distribution d(0.5);
    for (int64_t i = 0; i < h.numel(); ++i) h.set(i, d(gen) ? 1.0 : 0.0);
  } else {
    std::uniform_real_distribution<double> d(lo, hi);
    for (int64_t i = 0; i < h.numel(); ++i) h.set(i, d(gen));  // rounded to the storage dtype
  }
  return h;
}

Vec values(const HostTensor& t) {
  Vec v(size_t(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[size_t(i)] = t.get(i);
  return v;
}

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Shape unravel(int64_t i, const Shape& s) {
  Shape idx(s.size());
  for (size_t d = s.size(); d-- > 0;) {
    idx[d] = i % s[d];
    i /= s[d];
  }
  return idx;
}

int64_t ravel(const Shape& idx, const Shape& s) {
  int64_t i = 0;
  for (size_t d = 0; d < s.size(); ++d) i = i * s[d] + idx[d];
  return i;
}

Shape broadcast_shape(const Shape& a, const Shape& b) {
  size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    out[i] = da == 1 ? db : da;
  }
  return out;
}

int64_t broadcast_index(const Shape& idx, const Shape& s) {
  Shape sub(s.size());
  for (size_t d = 0; d < s.size(); ++d) {
    int64_t i = idx[idx.size() - s.size() + d];
    sub[d] = s[d] == 1 ? 0 : i;
  }
  return ravel(sub, s);
}

double round_to(DType t, double v) {
  switch (t) {
    case DType::kFloat32: return double(float(v));
    case DType::kFloat16: return half_to_float(float_to_half(float(v)));
    case DType::kBFloat16: return bf16_to_float(float_to_bf16(float(v)));
    default: return v;
  }
}

void expect_close(const HostTensor& got, const Shape& want_shape, const Vec& want, double rtol, double atol,
                  const std::string& what) {
  ASSERT_EQ(got.shape, want_shape) << what;
  ASSERT_EQ(size_t(got.numel()), want.size()) << what;
  double scale = 1.0;
  for (double w : want)
    if (std::isfinite(w)) scale = std::max(scale, std::abs(w));
  int bad = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    double g = got.get(int64_t(i)), w = want[i];
    if (std::isnan(w)) {
      if (!std::isnan(g) && bad++ < 5) ADD_FAILURE() << what << " [" << i << "]: got " << g << ", want NaN";
      continue;
    }
    if (std::isinf(w)) {
      if (g != w && bad++ < 5) ADD_FAILURE() << what << " [" << i << "]: got " << g << ", want " << w;
      continue;
    }
    if (!(std::abs(g - w) <= rtol * std::abs(w) + atol * scale) && bad++ < 5)
      ADD_FAILURE() << what << " [" << i << "]: got " << g << ", want " << w;
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " mismatches";
}

// ---------------------------------------------------------------------------------------------
// Scalar definitions

double naive_unary(UnaryKind k, double x, double alpha, double beta) {
  const double pi = 3.14159265358979323846;
  switch (k) {
    case UnaryKind::kRelu: return x > 0 ? x : 0;
    case UnaryKind::kSigmoid: return 1 / (1 + std::exp(-x));
    case UnaryKind::kTanh: return std::tanh(x);
    case UnaryKind::kHardSigmoid: return x <= -3 ? 0 : x >= 3 ? 1 : x / 6 + 0.5;
    case UnaryKind::kHardSwish: return x <= -3 ? 0 : x >= 3 ? x : x * (x + 3) / 6;
    case UnaryKind::kSilu: return x / (1 + std::exp(-x));
    case UnaryKind::kGeluErf: return x * 0.5 * (1 + std::erf(x / std::sqrt(2.0)));
    case UnaryKind::kGeluTanh: return 0.5 * x * (1 + std::tanh(std::sqrt(2 / pi) * (x + 0.044715 * x * x * x)));
    case UnaryKind::kLeakyRelu: return x >= 0 ? x : alpha * x;
    case UnaryKind::kElu: return x > 0 ? x : alpha * (std::exp(x) - 1);
    case UnaryKind::kClamp: return x < alpha ? alpha : x > beta ? beta : x;
    case UnaryKind::kExp: return std::exp(x);
    case UnaryKind::kLog: return std::log(x);
    case UnaryKind::kSqrt: return std::sqrt(x);
    case UnaryKind::kRsqrt: return 1 / std::sqrt(x);
    case UnaryKind::kNeg: return -x;
    case UnaryKind::kAbs: return std::abs(x);
    case UnaryKind::kErf: return std::erf(x);
    case UnaryKind::kReciprocal: return 1 / x;
    case UnaryKind::kFloor: return std::floor(x);
    case UnaryKind::kCeil: return std::ceil(x);
    case UnaryKind::kRound: {  // halves to even, written out
      const double f = std::floor(x), d = x - f;
      return d < 0.5 ? f : d > 0.5 ? f + 1 : (std::fmod(f, 2.0) == 0 ? f : f + 1);
    }
    case UnaryKind::kTrunc: return x < 0 ? std::ceil(x) : std::floor(x);
    case UnaryKind::kSign: return x > 0 ? 1 : x < 0 ? -1 : 0;
    case UnaryKind::kCount: break;
  }
  return std::nan("");
}

double naive_binary(BinaryKind k, double a, double b) {
  switch (k) {
    case BinaryKind::kAdd: return a + b;
    case BinaryKind::kSub: return a - b;
    case BinaryKind::kMul: return a * b;
    case BinaryKind::kDiv: return a / b;
    case BinaryKind::kPow: return std::pow(a, b);
    case BinaryKind::kMax: return std::isnan(a) || std::isnan(b) ? std::nan("") : std::max(a, b);
    case BinaryKind::kMin: return std::isnan(a) || std::isnan(b) ? std::nan("") : std::min(a, b);
    case BinaryKind::kCount: break;
  }
  return std::nan("");
}

// torch's comparisons and logical ops on values (NaN compares unequal to everything; for the
// logical ops nonzero, NaN included, is true).
bool naive_compare(CompareKind k, double a, double b) {
  switch (k) {
    case CompareKind::kEq: return a == b;
    case CompareKind::kNe: return a != b;
    case CompareKind::kLt: return a < b;
    case CompareKind::kLe: return a <= b;
    case CompareKind::kGt: return a > b;
    case CompareKind::kGe: return a >= b;
    case CompareKind::kAnd: return a != 0 && b != 0;
    case CompareKind::kOr: return a != 0 || b != 0;
    case CompareKind::kXor: return (a != 0) != (b != 0);
    default: break;
  }
  ADD_FAILURE() << "bad compare kind";
  return false;
}

Vec naive_binary_tensor(BinaryKind k, const HostTensor& a, const HostTensor& b, Shape* shape) {
  *shape = broadcast_shape(a.shape, b.shape);
  Vec A = values(a), B = values(b), y(size_t(numel(*shape)));
  for (int64_t i = 0; i < numel(*shape); ++i) {
    Shape idx = unravel(i, *shape);
    y[size_t(i)] = naive_binary(k, A[size_t(broadcast_index(idx, a.shape))], B[size_t(broadcast_index(idx, b.shape))]);
  }
  return y;
}

// ---------------------------------------------------------------------------------------------
// elementwise, compare, data movement

namespace {

// An n-ary elementwise op with numpy broadcasting of every input against the output shape.
Expected broadcast_map(const std::vector<HostTensor>& ins, const std::function<double(const Vec&)>& f) {
  Expected e;
  for (const HostTensor& t : ins) e.shape = broadcast_shape(e.shape, t.shape);
  Vec args(ins.size());
  for (int64_t i = 0; i < numel(e.shape); ++i) {
    Shape idx = unravel(i, e.shape);
    for (size_t k = 0; k < ins.size(); ++k) args[k] = ins[k].get(broadcast_index(idx, ins[k].shape));
    e.values.push_back(f(args));
  }
  return e;
}

double cast_value(DType to, double v) {
  if (to == DType::kBool) return v != 0.0;
  if (!is_floating(to)) return std::trunc(v);  // toward zero, like torch
  return round_to(to, v);
}

// A Pointwise program over double registers (see PointwiseAttrs).
double run_program(const PointwiseAttrs& a, const Vec& inputs) {
  Vec reg = inputs;
  for (size_t i = 0; i < a.instructions(); ++i) {
    const int64_t* c = &a.code[4 * i];
    const double alpha = a.params.get(int64_t(2 * i)), beta = a.params.get(int64_t(2 * i + 1));
    switch (c[0]) {
      case PointwiseAttrs::kImmediate: reg.push_back(alpha); break;
      case PointwiseAttrs::kUnary: reg.push_back(naive_unary(UnaryKind(c[1]), reg[size_t(c[2])], alpha, beta)); break;
      default: reg.push_back(naive_binary(BinaryKind(c[1]), reg[size_t(c[2])], reg[size_t(c[3])])); break;
    }
  }
  return reg.back();
}

Expected transpose(const TransposeAttrs& a, const HostTensor& x) {
  Expected e;
  for (int64_t p : a.perm) e.shape.push_back(x.shape[size_t(p)]);
  for (int64_t i = 0; i < numel(e.shape); ++i) {
    Shape o = unravel(i, e.shape), src(o.size());
    for (size_t d = 0; d < o.size(); ++d) src[size_t(a.perm[d])] = o[d];
    e.values.push_back(x.get(ravel(src, x.shape)));
  }
  return e;
}

Expected concat(const ConcatAttrs& a, const std::vector<HostTensor>& ins) {
  const size_t axis = size_t(a.axis);
  Expected e{ins[0].shape, {}};
  e.shape[axis] = 0;
  for (const HostTensor& t : ins) e.shape[axis] += t.shape[axis];
  for (int64_t i = 0; i < numel(e.shape); ++i) {
    Shape o = unravel(i, e.shape);
    size_t k = 0;
    while (o[axis] >= ins[k].shape[axis]) o[axis] -= ins[k++].shape[axis];
    e.values.push_back(ins[k].get(ravel(o, ins[k].shape)));
  }
  return e;
}

Expected slice(const SliceAttrs& a, const HostTensor& x) {
  const size_t axis = size_t(a.axis);
  const int64_t start = a.start.value(), end = a.end.value();
  Expected e{x.shape, {}};
  e.shape[axis] = end > start ? (end - start + a.step - 1) / a.step : 0;
  for (int64_t i = 0; i < numel(e.shape); ++i) {
    Shape o = unravel(i, e.shape);
    o[axis] = start + o[axis] * a.step;
    e.values.push_back(x.get(ravel(o, x.shape)));
  }
  return e;
}

// out[pre, idx..., post] = data[pre, indices[idx...], post].
Expected gather(const GatherAttrs& a, const HostTensor& data, const HostTensor& ids) {
  const size_t axis = size_t(a.axis);
  Expected e;
  e.shape.assign(data.shape.begin(), data.shape.begin() + long(axis));
  e.shape.insert(e.shape.end(), ids.shape.begin(), ids.shape.end());
  e.shape.insert(e.shape.end(), data.shape.begin() + long(axis) + 1, data.shape.end());
  const size_t ir = ids.shape.size();
  for (int64_t i = 0; i < numel(e.shape); ++i) {
    Shape o = unravel(i, e.shape);
    Shape id_idx(o.begin() + long(axis), o.begin() + long(axis + ir));
    Shape src(o.begin(), o.begin() + long(axis));
    src.push_back(int64_t(ids.get(ravel(id_idx, ids.shape))));
    src.insert(src.end(), o.begin() + long(axis + ir), o.end());
    e.values.push_back(data.get(ravel(src, data.shape)));
  }
  return e;
}

Expected reshape(const ReshapeAttrs& a, const HostTensor& x) {
  Expected e{{}, values(x)};
  int64_t known = 1, infer = -1;
  for (size_t d = 0; d < a.shape.size(); ++d) {
    const int64_t v = a.shape[d].value();
    e.shape.push_back(v);
    if (v == -1) infer = int64_t(d);
    else known *= v;
  }
  if (infer >= 0) e.shape[size_t(infer)] = x.numel() / known;
  return e;
}

Expected expand(const ExpandAttrs& a, const HostTensor& x) {
  Expected e;
  for (const Dim& d : a.shape) e.shape.push_back(d.value());
  for (int64_t i = 0; i < numel(e.shape); ++i) e.values.push_back(x.get(broadcast_index(unravel(i, e.shape), x.shape)));
  return e;
}

template <class A>
const A& attr(const Attrs& a) {
  return std::get<A>(a);
}

std::vector<Expected> elementwise(OpKind op, const Attrs& a, const std::vector<HostTensor>& ins) {
  switch (op) {
    case OpKind::Unary: {
      const auto& u = attr<UnaryAttrs>(a);
      return {broadcast_map(ins, [&](const Vec& v) { return naive_unary(u.kind, v[0], u.alpha, u.beta); })};
    }
    case OpKind::Binary: {
      const BinaryKind k = attr<BinaryAttrs>(a).kind;
      return {broadcast_map(ins, [&](const Vec& v) { return naive_binary(k, v[0], v[1]); })};
    }
    case OpKind::Cast: {
      const DType to = attr<CastAttrs>(a).to;
      return {broadcast_map(ins, [&](const Vec& v) { return cast_value(to, v[0]); })};
    }
    case OpKind::Pointwise: {
      const auto& p = attr<PointwiseAttrs>(a);
      return {broadcast_map(ins, [&](const Vec& v) { return run_program(p, v); })};
    }
    case OpKind::Compare: {
      const CompareKind k = attr<CompareAttrs>(a).kind;
      return {broadcast_map(ins, [&](const Vec& v) { return double(naive_compare(k, v[0], v[1])); })};
    }
    default:  // Where
      return {broadcast_map(ins, [](const Vec& v) { return v[0] != 0 ? v[1] : v[2]; })};
  }
}

std::vector<Expected> data_movement(OpKind op, const Attrs& a, const std::vector<HostTensor>& ins) {
  switch (op) {
    case OpKind::Constant: {
      const HostTensor& v = attr<ConstantAttrs>(a).value;
      return {Expected{v.shape, values(v)}};
    }
    case OpKind::Identity: return {Expected{ins[0].shape, values(ins[0])}};
    case OpKind::Reshape: return {reshape(attr<ReshapeAttrs>(a), ins[0])};
    case OpKind::Transpose: return {transpose(attr<TransposeAttrs>(a), ins[0])};
    case OpKind::Concat: return {concat(attr<ConcatAttrs>(a), ins)};
    case OpKind::Slice: return {slice(attr<SliceAttrs>(a), ins[0])};
    case OpKind::Gather: return {gather(attr<GatherAttrs>(a), ins[0], ins[1])};
    default: return {expand(attr<ExpandAttrs>(a), ins[0])};  // Expand
  }
}

}  // namespace

std::vector<Expected> oracle(OpKind op, const Attrs& a, const std::vector<HostTensor>& ins) {
  switch (op) {
    case OpKind::Conv2d: return {oracle_conv2d(attr<Conv2dAttrs>(a), ins)};
    case OpKind::Linear: return {oracle_linear(attr<LinearAttrs>(a), ins)};
    case OpKind::MatMul: return {oracle_matmul(ins)};
    case OpKind::Attention: return {oracle_attention(attr<AttentionAttrs>(a), ins)};
    case OpKind::BatchNorm: return {oracle_batch_norm(attr<BatchNormAttrs>(a), ins)};
    case OpKind::LayerNorm: return oracle_layer_norm(attr<LayerNormAttrs>(a), ins);
    case OpKind::Pool2d: return {oracle_pool2d(attr<Pool2dAttrs>(a), ins[0])};
    case OpKind::AdaptivePool2d: return {oracle_adaptive_pool2d(attr<AdaptivePool2dAttrs>(a), ins[0])};
    case OpKind::Reduce: return {oracle_reduce(attr<ReduceAttrs>(a), ins[0])};
    case OpKind::Softmax: return {oracle_softmax(attr<SoftmaxAttrs>(a), ins[0])};
    case OpKind::CumSum: return {oracle_cumsum(attr<CumSumAttrs>(a), ins[0])};
    case OpKind::CumProd: return {oracle_cumprod(attr<CumProdAttrs>(a), ins[0])};
    case OpKind::TopK: return oracle_topk(attr<TopKAttrs>(a), ins[0]);
    case OpKind::Scatter: return {oracle_scatter(attr<ScatterAttrs>(a), ins)};
    case OpKind::GridSample: return {oracle_grid_sample(attr<GridSampleAttrs>(a), ins)};
    case OpKind::Quantize: return {oracle_quantize(attr<QuantizeAttrs>(a), ins[0])};
    case OpKind::Dequantize: return {oracle_dequantize(attr<DequantizeAttrs>(a), ins[0])};
    case OpKind::QConv2d: return {oracle_qconv2d(attr<QConv2dAttrs>(a), ins)};
    case OpKind::QLinear: return {oracle_qlinear(attr<QLinearAttrs>(a), ins)};
    case OpKind::Unary:
    case OpKind::Binary:
    case OpKind::Cast:
    case OpKind::Pointwise:
    case OpKind::Compare:
    case OpKind::Where: return elementwise(op, a, ins);
    case OpKind::Constant:
    case OpKind::Identity:
    case OpKind::Reshape:
    case OpKind::Transpose:
    case OpKind::Concat:
    case OpKind::Slice:
    case OpKind::Gather:
    case OpKind::Expand: return data_movement(op, a, ins);
    case OpKind::kNumOps: break;
  }
  TRTORCH_ERROR("the op-table oracle has no definition of op ", int(op));
}

}  // namespace trtorch::op_test
