// Reference backend: every op against an independent naive implementation written here, in
// double precision, straight from the PyTorch definitions.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <random>

#include "core/backends/reference/reference.h"
#include "core/plan/backend.h"
#include "core/util/error.h"

using namespace trtorch;
using namespace trtorch::ir;
namespace ref = trtorch::backends::reference;
using Shape = std::vector<int64_t>;
using Vec = std::vector<double>;

namespace {

// ---------------------------------------------------------------------------------------------
// Helpers

HostTensor random_tensor(DType t, Shape shape, uint32_t seed, double lo = -1.0, double hi = 1.0) {
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

// Row-major index helpers for the naive implementations.
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

// Runs one op on graph inputs through reference::run and checks the shape it reports.
HostTensor run_op(OpKind op, Attrs attrs, const std::vector<HostTensor>& ins) {
  Graph g;
  std::vector<Value*> vs;
  for (const HostTensor& t : ins) vs.push_back(g.add_input(TensorType::fixed(t.dtype, t.shape), "in"));
  Node* n = g.add_node(op, std::move(attrs), vs);
  g.mark_output(n->outputs[0]);
  verify(g);
  std::vector<HostTensor> out = ref::run(g, ins);
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape, n->outputs[0]->type.static_shape());
  EXPECT_EQ(out[0].dtype, n->outputs[0]->type.dtype);
  return out[0];
}

// |got - want| <= rtol * |want| + atol * max|want| (atol scales with the tensor's magnitude,
// which bounds the cancellation error of long FP32 sums).
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

// Tolerances. FP32: the kernels accumulate in FP32 in another order than the double reference.
// FP16/BF16: inputs are exactly representable (generated in the storage type), compute is FP32
// and the output is rounded once: half an ulp is 2^-11 (FP16) or 2^-8 (BF16) relative, so
// twice that bounds rounding plus FP32 accumulation error.
struct Tol {
  double rtol, atol;
};
Tol tol_for(DType t) {
  switch (t) {
    case DType::kFloat16: return {2.0 * std::ldexp(1.0, -11), 1e-5};
    case DType::kBFloat16: return {2.0 * std::ldexp(1.0, -8), 1e-4};
    default: return {1e-5, 1e-6};
  }
}

const DType kFloatTypes[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16};

// ---------------------------------------------------------------------------------------------
// Naive implementations

int64_t window_count(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  // torch's pooling_output_shape: (in + 2p - d(k-1) - 1) / s + 1, rounded down or up, and with
  // ceil_mode the last window must start inside the input or the left padding.
  double q = double(in + 2 * p - d * (k - 1) - 1) / double(s);
  int64_t out = int64_t(ceil_mode ? std::ceil(q) : std::floor(q)) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

Vec naive_conv(const HostTensor& x, const HostTensor& w, const HostTensor* b, const Conv2dAttrs& a, Shape* shape) {
  Vec X = values(x), Wt = values(w), B = b ? values(*b) : Vec();
  int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  int64_t K = w.shape[0], Cg = w.shape[1], R = w.shape[2], S = w.shape[3];
  int64_t OH = window_count(H, R, a.stride[0], a.padding[0], a.dilation[0], false);
  int64_t OW = window_count(W, S, a.stride[1], a.padding[1], a.dilation[1], false);
  *shape = {N, K, OH, OW};
  Vec y(size_t(N * K * OH * OW));
  int64_t kpg = K / a.groups;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double acc = b ? B[size_t(k)] : 0.0;
          int64_t grp = k / kpg;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t r = 0; r < R; ++r)
              for (int64_t s = 0; s < S; ++s) {
                int64_t ih = oh * a.stride[0] - a.padding[0] + r * a.dilation[0];
                int64_t iw = ow * a.stride[1] - a.padding[1] + s * a.dilation[1];
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += X[size_t(((n * C + grp * Cg + c) * H + ih) * W + iw)] *
                       Wt[size_t(((k * Cg + c) * R + r) * S + s)];
              }
          y[size_t(((n * K + k) * OH + oh) * OW + ow)] = acc;
        }
  return y;
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

// Index into `s` (right-aligned, size-1 dims broadcast) of output index `idx`.
int64_t broadcast_index(const Shape& idx, const Shape& s) {
  Shape sub(s.size());
  for (size_t d = 0; d < s.size(); ++d) {
    int64_t i = idx[idx.size() - s.size() + d];
    sub[d] = s[d] == 1 ? 0 : i;
  }
  return ravel(sub, s);
}

Vec naive_matmul(const HostTensor& a, const HostTensor& b, Shape* shape) {
  Vec A = values(a), B = values(b);
  Shape ab(a.shape.begin(), a.shape.end() - 2), bb(b.shape.begin(), b.shape.end() - 2);
  Shape batch = broadcast_shape(ab, bb);
  int64_t M = a.shape[a.shape.size() - 2], K = a.shape.back(), N = b.shape.back();
  *shape = batch;
  shape->push_back(M);
  shape->push_back(N);
  Vec y(size_t(numel(*shape)));
  for (int64_t bi = 0; bi < numel(batch); ++bi) {
    Shape idx = unravel(bi, batch);
    int64_t ao = ab.empty() ? 0 : broadcast_index(idx, ab), bo = bb.empty() ? 0 : broadcast_index(idx, bb);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k) acc += A[size_t(ao * M * K + i * K + k)] * B[size_t(bo * K * N + k * N + j)];
        y[size_t((bi * M + i) * N + j)] = acc;
      }
  }
  return y;
}

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

Vec naive_binary_tensor(BinaryKind k, const HostTensor& a, const HostTensor& b, Shape* shape) {
  *shape = broadcast_shape(a.shape, b.shape);
  Vec A = values(a), B = values(b), y(size_t(numel(*shape)));
  for (int64_t i = 0; i < numel(*shape); ++i) {
    Shape idx = unravel(i, *shape);
    y[size_t(i)] = naive_binary(k, A[size_t(broadcast_index(idx, a.shape))], B[size_t(broadcast_index(idx, b.shape))]);
  }
  return y;
}

Vec naive_pool(const HostTensor& x, const Pool2dAttrs& a, Shape* shape) {
  Vec X = values(x);
  int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  int64_t OH = window_count(H, a.kernel[0], a.stride[0], a.padding[0], a.dilation[0], a.ceil_mode);
  int64_t OW = window_count(W, a.kernel[1], a.stride[1], a.padding[1], a.dilation[1], a.ceil_mode);
  *shape = {N, C, OH, OW};
  Vec y(size_t(numel(*shape)));
  for (int64_t nc = 0; nc < N * C; ++nc)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        double mx = -std::numeric_limits<double>::infinity(), sum = 0;
        int64_t in_input = 0, in_padded = 0;
        for (int64_t r = 0; r < a.kernel[0]; ++r)
          for (int64_t s = 0; s < a.kernel[1]; ++s) {
            int64_t ih = oh * a.stride[0] - a.padding[0] + r * a.dilation[0];
            int64_t iw = ow * a.stride[1] - a.padding[1] + s * a.dilation[1];
            // Positions of the padded input [-p, size + p) count for count_include_pad.
            bool padded = ih < H + a.padding[0] && iw < W + a.padding[1];
            bool inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
            in_padded += padded;
            if (!inside) continue;
            ++in_input;
            double v = X[size_t((nc * H + ih) * W + iw)];
            mx = std::max(mx, v);
            sum += v;
          }
        double out;
        if (a.kind == PoolKind::kMax) {
          out = mx;
        } else {
          int64_t div = a.divisor_override ? a.divisor_override : a.count_include_pad ? in_padded : in_input;
          out = in_input ? sum / double(div) : 0.0;
        }
        y[size_t((nc * OH + oh) * OW + ow)] = out;
      }
  return y;
}

Vec naive_reduce(ReduceKind k, const HostTensor& x, const Shape& axes, bool keepdim, Shape* shape) {
  Vec X = values(x);
  Shape kept_shape;  // with keepdim layout, size 1 on reduced axes
  for (size_t d = 0; d < x.shape.size(); ++d)
    kept_shape.push_back(std::count(axes.begin(), axes.end(), int64_t(d)) ? 1 : x.shape[d]);
  shape->clear();
  for (size_t d = 0; d < x.shape.size(); ++d)
    if (keepdim || !std::count(axes.begin(), axes.end(), int64_t(d))) shape->push_back(kept_shape[d]);
  int64_t n_out = numel(kept_shape);
  std::vector<std::vector<double>> groups{static_cast<size_t>(n_out)};
  for (int64_t i = 0; i < x.numel(); ++i) {
    Shape idx = unravel(i, x.shape);
    for (size_t d = 0; d < idx.size(); ++d)
      if (kept_shape[d] == 1) idx[d] = 0;
    groups[size_t(ravel(idx, kept_shape))].push_back(X[size_t(i)]);
  }
  Vec y;
  for (auto& g : groups) {
    double r = 0;
    switch (k) {
      case ReduceKind::kSum: for (double v : g) r += v; break;
      case ReduceKind::kMean: for (double v : g) r += v / double(g.size()); break;
      case ReduceKind::kProd: r = 1; for (double v : g) r *= v; break;
      case ReduceKind::kMax: r = *std::max_element(g.begin(), g.end()); break;
      case ReduceKind::kMin: r = *std::min_element(g.begin(), g.end()); break;
      default: break;
    }
    y.push_back(r);
  }
  return y;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Conv2d

struct ConvCase {
  Shape x, w;
  Shape stride, padding, dilation;
  int64_t groups;
  bool bias;
};

class ConvTest : public ::testing::TestWithParam<ConvCase> {};

TEST_P(ConvTest, MatchesNaive) {
  const ConvCase& c = GetParam();
  for (DType t : kFloatTypes) {
    SCOPED_TRACE(dtype_name(t));
    HostTensor x = random_tensor(t, c.x, 1), w = random_tensor(t, c.w, 2);
    HostTensor b = random_tensor(t, {c.w[0]}, 3);
    Conv2dAttrs a;
    a.stride = c.stride;
    a.padding = c.padding;
    a.dilation = c.dilation;
    a.groups = c.groups;
    std::vector<HostTensor> ins{x, w};
    if (c.bias) ins.push_back(b);
    HostTensor y = run_op(OpKind::Conv2d, a, ins);
    Shape shape;
    Vec want = naive_conv(x, w, c.bias ? &b : nullptr, a, &shape);
    Tol tol = tol_for(t);
    expect_close(y, shape, want, tol.rtol, tol.atol, "Conv2d");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Reference, ConvTest,
    ::testing::Values(
        ConvCase{{2, 5, 9, 11}, {7, 5, 3, 3}, {1, 1}, {1, 1}, {1, 1}, 1, true},     // 3x3 same
        ConvCase{{1, 4, 13, 10}, {6, 4, 3, 5}, {2, 3}, {1, 2}, {2, 1}, 1, false},   // stride, dilation
        ConvCase{{2, 6, 8, 8}, {4, 3, 3, 3}, {1, 1}, {0, 0}, {1, 1}, 2, true},      // groups
        ConvCase{{2, 8, 11, 9}, {8, 1, 3, 3}, {2, 2}, {1, 1}, {1, 1}, 8, true},     // depthwise s2
        ConvCase{{1, 4, 12, 12}, {12, 1, 5, 5}, {1, 1}, {4, 3}, {2, 2}, 4, false},  // depthwise x3, dilated
        ConvCase{{2, 16, 7, 5}, {9, 16, 1, 1}, {1, 1}, {0, 0}, {1, 1}, 1, true},    // pointwise
        ConvCase{{1, 8, 9, 9}, {5, 8, 1, 1}, {2, 2}, {0, 0}, {1, 1}, 1, false},     // strided 1x1
        ConvCase{{1, 64, 23, 21}, {70, 64, 3, 3}, {1, 1}, {1, 1}, {1, 1}, 1, true}, // several GEMM blocks
        ConvCase{{5, 6, 10, 10}, {9, 2, 3, 3}, {1, 1}, {1, 1}, {1, 1}, 3, true},    // many (image, group) jobs
        ConvCase{{1, 3, 30, 30}, {8, 3, 7, 7}, {2, 2}, {3, 3}, {1, 1}, 1, false})); // stem-like

// ---------------------------------------------------------------------------------------------
// BatchNorm, Linear, MatMul

TEST(Reference, BatchNorm) {
  for (DType t : kFloatTypes) {
    for (Shape xs : {Shape{2, 5}, Shape{2, 5, 7}, Shape{3, 4, 6, 5}}) {
      SCOPED_TRACE(dtype_name(t));
      int64_t C = xs[1];
      HostTensor x = random_tensor(t, xs, 1, -3, 3), w = random_tensor(t, {C}, 2), b = random_tensor(t, {C}, 3),
                 m = random_tensor(t, {C}, 4), v = random_tensor(t, {C}, 5, 0.1, 2.0);
      BatchNormAttrs a;
      a.eps = 1e-3;
      HostTensor y = run_op(OpKind::BatchNorm, a, {x, w, b, m, v});
      Vec X = values(x), W = values(w), B = values(b), M = values(m), V = values(v), want(X.size());
      int64_t inner = x.numel() / (xs[0] * C);
      for (size_t i = 0; i < X.size(); ++i) {
        size_t c = size_t((int64_t(i) / inner) % C);
        want[i] = (X[i] - M[c]) / std::sqrt(V[c] + a.eps) * W[c] + B[c];
      }
      Tol tol = tol_for(t);
      expect_close(y, xs, want, tol.rtol, tol.atol, "BatchNorm");
    }
  }
}

TEST(Reference, Linear) {
  for (DType t : kFloatTypes) {
    for (auto [xs, n, bias] : std::vector<std::tuple<Shape, int64_t, bool>>{
             {{7}, 5, true}, {{3, 10}, 4, false}, {{2, 3, 9}, 17, true}, {{37, 300}, 401, true}}) {
      SCOPED_TRACE(dtype_name(t));
      int64_t K = xs.back();
      HostTensor x = random_tensor(t, xs, 1), w = random_tensor(t, {n, K}, 2), b = random_tensor(t, {n}, 3);
      std::vector<HostTensor> ins{x, w};
      if (bias) ins.push_back(b);
      HostTensor y = run_op(OpKind::Linear, LinearAttrs{}, ins);
      Vec X = values(x), W = values(w), B = values(b);
      int64_t M = x.numel() / K;
      Vec want(size_t(M * n));
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double acc = bias ? B[size_t(j)] : 0;
          for (int64_t k = 0; k < K; ++k) acc += X[size_t(i * K + k)] * W[size_t(j * K + k)];
          want[size_t(i * n + j)] = acc;
        }
      Shape ys = xs;
      ys.back() = n;
      Tol tol = tol_for(t);
      expect_close(y, ys, want, tol.rtol, tol.atol, "Linear");
    }
  }
}

TEST(Reference, MatMulBroadcast) {
  for (DType t : kFloatTypes) {
    for (auto [as, bs] : std::vector<std::pair<Shape, Shape>>{{{5, 7}, {7, 3}},
                                                              {{2, 1, 5, 7}, {3, 7, 4}},
                                                              {{4, 3}, {2, 3, 6}},
                                                              {{3, 2, 33, 20}, {3, 1, 20, 45}},
                                                              {{130, 70}, {70, 400}}}) {
      SCOPED_TRACE(dtype_name(t));
      HostTensor a = random_tensor(t, as, 1), b = random_tensor(t, bs, 2);
      HostTensor y = run_op(OpKind::MatMul, MatMulAttrs{}, {a, b});
      Shape shape;
      Vec want = naive_matmul(a, b, &shape);
      Tol tol = tol_for(t);
      expect_close(y, shape, want, tol.rtol, tol.atol, "MatMul");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Unary, Binary, Cast

TEST(Reference, UnaryEveryKind) {
  for (DType t : kFloatTypes) {
    for (int k = 0; k < int(UnaryKind::kCount); ++k) {
      UnaryKind kind = UnaryKind(k);
      SCOPED_TRACE(std::string(dtype_name(t)) + " " + unary_kind_name(kind));
      bool positive = kind == UnaryKind::kLog || kind == UnaryKind::kSqrt || kind == UnaryKind::kRsqrt ||
                      kind == UnaryKind::kReciprocal;
      HostTensor x = random_tensor(t, {3, 4, 50}, 7 + uint32_t(k), positive ? 0.25 : -5.0, 5.0);
      UnaryAttrs a;
      a.kind = kind;
      if (kind == UnaryKind::kLeakyRelu) a.alpha = 0.01;
      if (kind == UnaryKind::kElu) a.alpha = 1.3;
      if (kind == UnaryKind::kClamp) a.alpha = -1.5, a.beta = 2.25;
      HostTensor y = run_op(OpKind::Unary, a, {x});
      Vec X = values(x), want;
      for (double v : X) want.push_back(naive_unary(kind, v, a.alpha, a.beta));
      Tol tol = tol_for(t);
      // Transcendental functions in FP32 (std::exp, std::tanh, ...) are accurate to a few ulps.
      expect_close(y, x.shape, want, std::max(tol.rtol, 1e-6), std::max(tol.atol, 1e-6), "Unary");
    }
  }
}

TEST(Reference, BinaryFloatBroadcast) {
  for (DType t : kFloatTypes) {
    for (auto [as, bs] : std::vector<std::pair<Shape, Shape>>{
             {{2, 3, 1, 5}, {3, 4, 1}}, {{4, 6}, {4, 6}}, {{4, 6}, {}}, {{1}, {3, 2}}, {{5, 1, 7}, {5, 3, 1}}}) {
      for (int k = 0; k < int(BinaryKind::kCount); ++k) {
        BinaryKind kind = BinaryKind(k);
        SCOPED_TRACE(std::string(dtype_name(t)) + " " + binary_kind_name(kind));
        bool pos = kind == BinaryKind::kPow || kind == BinaryKind::kDiv;
        HostTensor a = random_tensor(t, as, 11, pos ? 0.5 : -2.0, 2.0), b = random_tensor(t, bs, 12, pos ? 0.5 : -2.0, 2.0);
        HostTensor y = run_op(OpKind::Binary, BinaryAttrs{kind}, {a, b});
        Shape shape;
        Vec want = naive_binary_tensor(kind, a, b, &shape);
        Tol tol = tol_for(t);
        expect_close(y, shape, want, tol.rtol, tol.atol, "Binary");
      }
    }
  }
}

TEST(Reference, BinaryMaxMinPropagateNaN) {
  HostTensor a(DType::kFloat32, {3}), b(DType::kFloat32, {3});
  a.set(0, std::nan("")), b.set(0, 1);
  a.set(1, 1), b.set(1, std::nan(""));
  a.set(2, -1), b.set(2, 2);
  for (BinaryKind k : {BinaryKind::kMax, BinaryKind::kMin}) {
    HostTensor y = run_op(OpKind::Binary, BinaryAttrs{k}, {a, b});
    Shape shape;
    expect_close(y, {3}, naive_binary_tensor(k, a, b, &shape), 0, 0, binary_kind_name(k));
  }
}

TEST(Reference, BinaryIntegers) {
  for (DType t : {DType::kInt32, DType::kInt64}) {
    for (BinaryKind kind : {BinaryKind::kAdd, BinaryKind::kSub, BinaryKind::kMul, BinaryKind::kMax, BinaryKind::kMin,
                            BinaryKind::kPow}) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " " + binary_kind_name(kind));
      bool pow = kind == BinaryKind::kPow;
      HostTensor a = random_tensor(t, {3, 1, 4}, 21, pow ? -3 : -1000, pow ? 3 : 1000);
      HostTensor b = random_tensor(t, {5, 1}, 22, pow ? 0 : -1000, pow ? 5 : 1000);
      HostTensor y = run_op(OpKind::Binary, BinaryAttrs{kind}, {a, b});
      EXPECT_EQ(y.dtype, t);
      Shape shape;
      Vec want = naive_binary_tensor(kind, a, b, &shape);  // exact: all values are small integers
      expect_close(y, shape, want, 0, 0, "Binary int");
    }
  }
}

TEST(Reference, BinaryIntegerDivisionIsRejected) {
  HostTensor a = random_tensor(DType::kInt32, {4}, 1, 1, 9), b = random_tensor(DType::kInt32, {4}, 2, 1, 9);
  try {
    run_op(OpKind::Binary, BinaryAttrs{BinaryKind::kDiv}, {a, b});
    FAIL() << "expected trtorch::Error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("Binary"), std::string::npos) << m;
    EXPECT_NE(m.find("div"), std::string::npos) << m;
  }
}

TEST(Reference, UnsupportedDtypeNamesTheOp) {
  // A node built for FP32, evaluated on int32 inputs: rejected with the op's name.
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat32, {2, 3}), "x");
  Node* unary = g.add_node(OpKind::Unary, UnaryAttrs{UnaryKind::kExp}, {x});
  Node* softmax = g.add_node(OpKind::Softmax, SoftmaxAttrs{1, false}, {x});
  HostTensor xi = random_tensor(DType::kInt32, {2, 3}, 1, 0, 5);
  for (Node* n : {unary, softmax}) {
    try {
      ref::eval_node(*n, {xi});
      FAIL() << "expected trtorch::Error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(n->name()), std::string::npos) << e.what();
    }
  }
}

TEST(Reference, CastBetweenAllDtypes) {
  const DType all[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kInt32, DType::kInt64, DType::kBool};
  for (DType from : all) {
    for (DType to : all) {
      SCOPED_TRACE(std::string(dtype_name(from)) + " -> " + dtype_name(to));
      HostTensor x = random_tensor(from, {4, 9}, 31, -20.0, 20.0);
      if (is_floating(from)) x.set(0, -2.75), x.set(1, 2.75), x.set(2, -0.5), x.set(3, 0.0);
      CastAttrs a;
      a.to = to;
      HostTensor y = run_op(OpKind::Cast, a, {x});
      ASSERT_EQ(y.dtype, to);
      Vec want;
      for (double v : values(x)) {
        double w = v;
        if (to == DType::kBool) w = v != 0.0;
        else if (!is_floating(to)) w = std::trunc(v);  // toward zero, like torch
        else if (to == DType::kFloat16) w = half_to_float(float_to_half(float(v)));
        else if (to == DType::kBFloat16) w = bf16_to_float(float_to_bf16(float(v)));
        want.push_back(w);
      }
      expect_close(y, x.shape, want, 0, 0, "Cast");
    }
  }
  // int64 -> int32 wraps around; large int64 -> float rounds to nearest.
  HostTensor big(DType::kInt64, {2});
  big.ptr<int64_t>()[0] = (int64_t(1) << 32) + 5;
  big.ptr<int64_t>()[1] = (int64_t(1) << 40) + 1;
  CastAttrs to32;
  to32.to = DType::kInt32;
  EXPECT_EQ(run_op(OpKind::Cast, to32, {big}).ptr<int32_t>()[0], 5);
  CastAttrs tof;
  tof.to = DType::kFloat32;
  EXPECT_EQ(run_op(OpKind::Cast, tof, {big}).ptr<float>()[1], float(int64_t(1) << 40));
}

// ---------------------------------------------------------------------------------------------
// Pooling

struct PoolCase {
  PoolKind kind;
  Shape x, kernel, stride, padding, dilation;
  bool ceil_mode, count_include_pad;
  int64_t divisor_override;
};

class PoolTest : public ::testing::TestWithParam<PoolCase> {};

TEST_P(PoolTest, MatchesNaive) {
  const PoolCase& c = GetParam();
  for (DType t : kFloatTypes) {
    SCOPED_TRACE(dtype_name(t));
    HostTensor x = random_tensor(t, c.x, 41, -3, 3);
    Pool2dAttrs a;
    a.kind = c.kind;
    a.kernel = c.kernel;
    a.stride = c.stride;
    a.padding = c.padding;
    a.dilation = c.dilation;
    a.ceil_mode = c.ceil_mode;
    a.count_include_pad = c.count_include_pad;
    a.divisor_override = c.divisor_override;
    HostTensor y = run_op(OpKind::Pool2d, a, {x});
    Shape shape;
    Vec want = naive_pool(x, a, &shape);
    Tol tol = tol_for(t);
    expect_close(y, shape, want, tol.rtol, tol.atol, "Pool2d");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Reference, PoolTest,
    ::testing::Values(
        PoolCase{PoolKind::kMax, {2, 3, 12, 12}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, false, true, 0},  // ResNet stem
        PoolCase{PoolKind::kMax, {1, 2, 10, 11}, {3, 2}, {2, 2}, {1, 0}, {1, 1}, true, true, 0},   // ceil_mode
        PoolCase{PoolKind::kMax, {1, 2, 13, 12}, {3, 3}, {2, 3}, {1, 1}, {2, 2}, true, true, 0},   // dilation
        PoolCase{PoolKind::kMax, {1, 2, 14, 14}, {2, 2}, {2, 2}, {0, 0}, {1, 1}, false, true, 0},  // VGG
        PoolCase{PoolKind::kAvg, {2, 3, 10, 9}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, false, true, 0},
        PoolCase{PoolKind::kAvg, {2, 3, 10, 9}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, false, false, 0},
        PoolCase{PoolKind::kAvg, {1, 2, 10, 11}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, true, true, 0},   // window clipped at padded border
        PoolCase{PoolKind::kAvg, {1, 2, 10, 11}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, true, false, 0},
        PoolCase{PoolKind::kAvg, {1, 2, 11, 8}, {4, 2}, {3, 3}, {0, 0}, {1, 1}, true, true, 0},    // ceil, no padding
        PoolCase{PoolKind::kAvg, {1, 2, 9, 9}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, true, true, 5},     // divisor_override
        PoolCase{PoolKind::kAvg, {1, 4, 8, 8}, {2, 2}, {2, 2}, {0, 0}, {1, 1}, false, true, 0}));  // DenseNet transition

TEST(Reference, AvgPoolWithDilationIsRejected) {
  Pool2dAttrs a;
  a.kind = PoolKind::kAvg;
  a.kernel = {2, 2};
  a.dilation = {2, 2};
  try {
    run_op(OpKind::Pool2d, a, {random_tensor(DType::kFloat32, {1, 1, 6, 6}, 1)});
    FAIL() << "expected trtorch::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Pool2d"), std::string::npos) << e.what();
  }
}

TEST(Reference, AdaptivePool) {
  for (DType t : kFloatTypes) {
    for (PoolKind kind : {PoolKind::kAvg, PoolKind::kMax}) {
      for (auto [xs, os] : std::vector<std::pair<Shape, Shape>>{{{2, 3, 10, 7}, {3, 4}}, {{1, 2, 5, 5}, {7, 7}},
                                                                {{1, 8, 7, 7}, {1, 1}}}) {
        SCOPED_TRACE(dtype_name(t));
        HostTensor x = random_tensor(t, xs, 51, -3, 3);
        AdaptivePool2dAttrs a;
        a.kind = kind;
        a.output_size = os;
        HostTensor y = run_op(OpKind::AdaptivePool2d, a, {x});
        Vec X = values(x), want;
        int64_t H = xs[2], W = xs[3];
        for (int64_t nc = 0; nc < xs[0] * xs[1]; ++nc)
          for (int64_t i = 0; i < os[0]; ++i)
            for (int64_t j = 0; j < os[1]; ++j) {
              int64_t h0 = int64_t(std::floor(double(i * H) / double(os[0])));
              int64_t h1 = int64_t(std::ceil(double((i + 1) * H) / double(os[0])));
              int64_t w0 = int64_t(std::floor(double(j * W) / double(os[1])));
              int64_t w1 = int64_t(std::ceil(double((j + 1) * W) / double(os[1])));
              double acc = kind == PoolKind::kMax ? -INFINITY : 0.0;
              for (int64_t h = h0; h < h1; ++h)
                for (int64_t w = w0; w < w1; ++w) {
                  double v = X[size_t((nc * H + h) * W + w)];
                  acc = kind == PoolKind::kMax ? std::max(acc, v) : acc + v;
                }
              want.push_back(kind == PoolKind::kMax ? acc : acc / double((h1 - h0) * (w1 - w0)));
            }
        Tol tol = tol_for(t);
        expect_close(y, {xs[0], xs[1], os[0], os[1]}, want, tol.rtol, tol.atol, "AdaptivePool2d");
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reduce, Softmax

TEST(Reference, ReduceEveryKind) {
  for (DType t : kFloatTypes) {
    for (int k = 0; k < int(ReduceKind::kCount); ++k) {
      ReduceKind kind = ReduceKind(k);
      for (Shape axes : {Shape{1}, Shape{0, 2}, Shape{1, 2, 3}, Shape{3}, Shape{0, 1, 2, 3}}) {
        for (bool keepdim : {false, true}) {
          SCOPED_TRACE(std::string(dtype_name(t)) + " kind " + std::to_string(k) + " keepdim " + std::to_string(keepdim));
          bool prod = kind == ReduceKind::kProd;
          HostTensor x = random_tensor(t, {3, 4, 5, 6}, 61, prod ? 0.9 : -3.0, prod ? 1.1 : 3.0);
          ReduceAttrs a;
          a.kind = kind;
          a.axes = axes;
          a.keepdim = keepdim;
          HostTensor y = run_op(OpKind::Reduce, a, {x});
          Shape shape;
          Vec want = naive_reduce(kind, x, axes, keepdim, &shape);
          Tol tol = tol_for(t);
          expect_close(y, shape, want, tol.rtol, tol.atol, "Reduce");
        }
      }
    }
  }
}

TEST(Reference, SoftmaxAndLogSoftmax) {
  for (DType t : kFloatTypes) {
    for (int64_t axis : {0, 1, 2}) {
      for (bool log : {false, true}) {
        SCOPED_TRACE(std::string(dtype_name(t)) + " axis " + std::to_string(axis) + (log ? " log" : ""));
        // Large logits: a naive exp() would overflow in FP32.
        HostTensor x = random_tensor(t, {4, 5, 6}, 71, -100.0, 100.0);
        HostTensor y = run_op(OpKind::Softmax, SoftmaxAttrs{axis, log}, {x});
        Vec X = values(x), want(X.size());
        Shape s = x.shape;
        for (int64_t i = 0; i < x.numel(); ++i) {
          Shape idx = unravel(i, s);
          double m = -INFINITY, sum = 0;
          for (int64_t j = 0; j < s[size_t(axis)]; ++j) {
            idx[size_t(axis)] = j;
            m = std::max(m, X[size_t(ravel(idx, s))]);
          }
          for (int64_t j = 0; j < s[size_t(axis)]; ++j) {
            idx[size_t(axis)] = j;
            sum += std::exp(X[size_t(ravel(idx, s))] - m);
          }
          want[size_t(i)] = log ? X[size_t(i)] - m - std::log(sum) : std::exp(X[size_t(i)] - m) / sum;
        }
        Tol tol = tol_for(t);
        expect_close(y, s, want, tol.rtol, tol.atol, "Softmax");
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Data movement (byte-wise, any dtype)

TEST(Reference, ReshapeTransposeConcatSliceOnAnyDtype) {
  const DType all[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kInt32, DType::kInt64, DType::kBool};
  for (DType t : all) {
    SCOPED_TRACE(dtype_name(t));
    HostTensor x = random_tensor(t, {2, 3, 4, 5}, 81, -50, 50);
    Vec X = values(x);

    ReshapeAttrs ra;
    ra.shape = {6, -1, 2};
    HostTensor r = run_op(OpKind::Reshape, ra, {x});
    expect_close(r, {6, 10, 2}, X, 0, 0, "Reshape");

    TransposeAttrs ta;
    ta.perm = {2, 0, 3, 1};
    HostTensor tr = run_op(OpKind::Transpose, ta, {x});
    Shape ts{4, 2, 5, 3};
    Vec want_t(X.size());
    for (int64_t i = 0; i < numel(ts); ++i) {
      Shape o = unravel(i, ts);
      Shape src(4);
      for (size_t d = 0; d < 4; ++d) src[size_t(ta.perm[d])] = o[d];
      want_t[size_t(i)] = X[size_t(ravel(src, x.shape))];
    }
    expect_close(tr, ts, want_t, 0, 0, "Transpose");

    HostTensor c1 = random_tensor(t, {2, 1, 4, 5}, 82, -50, 50), c2 = random_tensor(t, {2, 2, 4, 5}, 83, -50, 50);
    HostTensor cat = run_op(OpKind::Concat, ConcatAttrs{1}, {x, c1, c2});
    Shape cs{2, 6, 4, 5};
    Vec want_c;
    for (int64_t i = 0; i < numel(cs); ++i) {
      Shape o = unravel(i, cs);
      int64_t ch = o[1];
      const HostTensor& src = ch < 3 ? x : ch < 4 ? c1 : c2;
      o[1] = ch < 3 ? ch : ch < 4 ? ch - 3 : ch - 4;
      want_c.push_back(src.get(ravel(o, src.shape)));
    }
    expect_close(cat, cs, want_c, 0, 0, "Concat");

    SliceAttrs sa;
    sa.axis = 3;
    sa.start = 1;
    sa.end = 5;
    sa.step = 2;
    HostTensor sl = run_op(OpKind::Slice, sa, {x});
    Shape ss{2, 3, 4, 2};
    Vec want_s;
    for (int64_t i = 0; i < numel(ss); ++i) {
      Shape o = unravel(i, ss);
      o[3] = sa.start.value() + o[3] * sa.step;
      want_s.push_back(X[size_t(ravel(o, x.shape))]);
    }
    expect_close(sl, ss, want_s, 0, 0, "Slice");
  }
}

TEST(Reference, LayerNormMatchesNaive) {
  for (DType t : {DType::kFloat32, DType::kFloat16, DType::kBFloat16}) {
    SCOPED_TRACE(dtype_name(t));
    HostTensor x = random_tensor(t, {3, 2, 5}, 91, -2, 3), w = random_tensor(t, {2, 5}, 92, 0.5, 1.5),
               b = random_tensor(t, {2, 5}, 93, -1, 1);
    Vec X = values(x), W = values(w), B = values(b), want(X.size()), want_plain(X.size());
    for (size_t r = 0; r < 3; ++r) {
      double mean = 0, var = 0;
      for (size_t i = 0; i < 10; ++i) mean += X[r * 10 + i] / 10;
      for (size_t i = 0; i < 10; ++i) var += (X[r * 10 + i] - mean) * (X[r * 10 + i] - mean) / 10;
      for (size_t i = 0; i < 10; ++i) {
        want_plain[r * 10 + i] = (X[r * 10 + i] - mean) / std::sqrt(var + 1e-3);
        want[r * 10 + i] = want_plain[r * 10 + i] * W[i] + B[i];
      }
    }
    const double tol = t == DType::kFloat32 ? 1e-5 : t == DType::kFloat16 ? 2e-3 : 1e-2;
    expect_close(run_op(OpKind::LayerNorm, LayerNormAttrs{2, 1e-3}, {x, w, b}), {3, 2, 5}, want, tol, tol, "LayerNorm");
    expect_close(run_op(OpKind::LayerNorm, LayerNormAttrs{2, 1e-3}, {x}), {3, 2, 5}, want_plain, tol, tol, "LayerNorm");
  }
}

// has_residual: LayerNorm(x + r) with the sum taken in FP32.
TEST(Reference, LayerNormWithResidualMatchesNaive) {
  for (DType t : {DType::kFloat32, DType::kFloat16}) {
    SCOPED_TRACE(dtype_name(t));
    HostTensor x = random_tensor(t, {4, 6}, 94, -2, 3), r = random_tensor(t, {4, 6}, 95, -1, 1),
               w = random_tensor(t, {6}, 96, 0.5, 1.5), b = random_tensor(t, {6}, 97, -1, 1);
    Vec X = values(x), R = values(r), W = values(w), B = values(b), want(X.size());
    for (size_t row = 0; row < 4; ++row) {
      double mean = 0, var = 0;
      for (size_t i = 0; i < 6; ++i) mean += (X[row * 6 + i] + R[row * 6 + i]) / 6;
      for (size_t i = 0; i < 6; ++i) var += std::pow(X[row * 6 + i] + R[row * 6 + i] - mean, 2) / 6;
      for (size_t i = 0; i < 6; ++i) want[row * 6 + i] = (X[row * 6 + i] + R[row * 6 + i] - mean) / std::sqrt(var + 1e-5) * W[i] + B[i];
    }
    const double tol = t == DType::kFloat32 ? 1e-5 : 2e-3;
    LayerNormAttrs a{1, 1e-5, true};
    expect_close(run_op(OpKind::LayerNorm, a, {x, r, w, b}), {4, 6}, want, tol, tol, "LayerNorm+residual");
  }
}

// Attention against a naive double computation: q [2,3,L,E], k/v [2,3,S,*], a bias broadcast
// over heads, causal masking, and a row whose every key is masked (NaN, as torch).
TEST(Reference, AttentionMatchesNaive) {
  const int64_t B = 2, H = 3, L = 4, S = 5, E = 6, Ev = 7;
  for (DType t : {DType::kFloat32, DType::kFloat16, DType::kBFloat16}) {
    for (int mode = 0; mode < 3; ++mode) {  // 0: plain, 1: bias [B,1,L,S], 2: causal
      SCOPED_TRACE(std::string(dtype_name(t)) + " mode " + std::to_string(mode));
      HostTensor q = random_tensor(t, {B, H, L, E}, 201), k = random_tensor(t, {B, H, S, E}, 202),
                 v = random_tensor(t, {B, H, S, Ev}, 203), bias = random_tensor(t, {B, 1, L, S}, 204, -2, 2);
      if (mode == 1)
        for (int64_t j = 0; j < S; ++j) bias.set((1 * L + 2) * S + j, -INFINITY);  // batch 1, query 2: all masked
      Vec Q = values(q), K = values(k), V = values(v), Bi = values(bias), want;
      const double scale = 0.37;
      for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < H; ++h)
          for (int64_t i = 0; i < L; ++i) {
            std::vector<double> sc(static_cast<size_t>(S));
            double mx = -INFINITY;
            for (int64_t j = 0; j < S; ++j) {
              double d = 0;
              for (int64_t e = 0; e < E; ++e) d += Q[size_t(((b * H + h) * L + i) * E + e)] * K[size_t(((b * H + h) * S + j) * E + e)];
              d *= scale;
              if (mode == 1) d += Bi[size_t((b * L + i) * S + j)];
              if (mode == 2 && j > i) d = -INFINITY;
              sc[size_t(j)] = d;
              mx = std::max(mx, d);
            }
            double sum = 0;
            for (double& x : sc) sum += (x = std::exp(x - mx));
            for (int64_t e = 0; e < Ev; ++e) {
              double acc = 0;
              for (int64_t j = 0; j < S; ++j) acc += sc[size_t(j)] * V[size_t(((b * H + h) * S + j) * Ev + e)];
              want.push_back(mx == -INFINITY ? NAN : acc / sum);
            }
          }
      AttentionAttrs a;
      a.scale = scale;
      a.causal = mode == 2;
      std::vector<HostTensor> ins{q, k, v};
      if (mode == 1) ins.push_back(bias);
      const double tol = t == DType::kFloat32 ? 1e-5 : t == DType::kFloat16 ? 4e-3 : 2e-2;
      expect_close(run_op(OpKind::Attention, a, ins), {B, H, L, Ev}, want, tol, tol, "Attention");
    }
  }
}

TEST(Reference, AttentionRejectsMismatchedShapesByName) {
  Graph g;
  Value* q = g.add_input(TensorType::fixed(DType::kFloat32, {2, 4, 8}), "q");
  Value* k = g.add_input(TensorType::fixed(DType::kFloat32, {2, 5, 6}), "k");
  Value* v = g.add_input(TensorType::fixed(DType::kFloat32, {2, 5, 8}), "v");
  try {
    g.add_node(OpKind::Attention, AttentionAttrs{}, {q, k, v});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Attention"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("last dim"), std::string::npos) << e.what();
  }
}

TEST(Reference, GatherWhereExpandOnAnyDtype) {
  const DType all[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kInt32, DType::kInt64, DType::kBool};
  for (DType t : all) {
    SCOPED_TRACE(dtype_name(t));
    HostTensor x = random_tensor(t, {4, 3, 2}, 94, -50, 50);
    Vec X = values(x);
    HostTensor ids(DType::kInt32, {2, 2});
    const int idx[] = {2, 0, 2, 1};
    for (int64_t i = 0; i < 4; ++i) ids.set(i, idx[i]);
    // axis 1: out [4, 2, 2, 2] = x[a, ids[j, k], c]
    Vec want_g;
    for (int a = 0; a < 4; ++a)
      for (int j = 0; j < 4; ++j)
        for (int c = 0; c < 2; ++c) want_g.push_back(X[size_t(a * 6 + idx[j] * 2 + c)]);
    expect_close(run_op(OpKind::Gather, GatherAttrs{1}, {x, ids}), {4, 2, 2, 2}, want_g, 0, 0, "Gather");

    HostTensor y = random_tensor(t, {2}, 95, -50, 50);
    Vec Y = values(y);
    HostTensor cond(DType::kBool, {4, 1, 1});
    for (int64_t i = 0; i < 4; ++i) cond.set(i, i % 2);
    Vec want_w;
    for (size_t i = 0; i < X.size(); ++i) want_w.push_back((i / 6) % 2 ? X[i] : Y[i % 2]);
    expect_close(run_op(OpKind::Where, WhereAttrs{}, {cond, x, y}), {4, 3, 2}, want_w, 0, 0, "Where");

    Vec want_e;
    for (int n = 0; n < 2; ++n)
      for (int a = 0; a < 3; ++a) want_e.insert(want_e.end(), Y.begin(), Y.end());
    expect_close(run_op(OpKind::Expand, ExpandAttrs{{2, 3, 2}}, {y}), {2, 3, 2}, want_e, 0, 0, "Expand");
  }
}

TEST(Reference, GatherRejectsOutOfRangeIndexByName) {
  HostTensor x = random_tensor(DType::kFloat32, {5, 3}, 96, -1, 1);
  HostTensor ids(DType::kInt64, {3});
  ids.set(0, 1);
  ids.set(1, 7);
  ids.set(2, 0);
  try {
    run_op(OpKind::Gather, GatherAttrs{0}, {x, ids});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("Gather"), std::string::npos) << m;
    EXPECT_NE(m.find("index 7"), std::string::npos) << m;
  }
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
  ADD_FAILURE() << "bad kind";
  return false;
}

TEST(Reference, CompareEveryKindAndDtypeWithBroadcast) {
  const DType all[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kInt32, DType::kInt64, DType::kBool};
  for (DType t : all) {
    // Few distinct values, so that equal pairs occur.
    HostTensor a(t, {3, 1, 4}), b(t, {2, 1});
    std::mt19937 gen(97);
    std::uniform_int_distribution<int> d(-2, 2);
    for (int64_t i = 0; i < a.numel(); ++i) a.set(i, t == DType::kBool ? double(d(gen) > 0) : 0.5 * d(gen));
    for (int64_t i = 0; i < b.numel(); ++i) b.set(i, t == DType::kBool ? double(d(gen) > 0) : 0.5 * d(gen));
    const Shape out = {3, 2, 4};
    for (int k = 0; k < int(CompareKind::kCount); ++k) {
      SCOPED_TRACE(str_cat(dtype_name(t), " ", compare_kind_name(CompareKind(k))));
      Vec want;
      for (int64_t i = 0; i < numel(out); ++i) {
        Shape idx = unravel(i, out);
        want.push_back(naive_compare(CompareKind(k), a.get(broadcast_index(idx, a.shape)), b.get(broadcast_index(idx, b.shape))));
      }
      HostTensor got = run_op(OpKind::Compare, CompareAttrs{CompareKind(k)}, {a, b});
      EXPECT_EQ(got.dtype, DType::kBool);
      expect_close(got, out, want, 0, 0, "Compare");
    }
  }
}

TEST(Reference, CompareNaNAndWideIntegers) {
  HostTensor a(DType::kFloat32, {3}), b(DType::kFloat32, {3});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  a.set(0, nan), a.set(1, 1.0), a.set(2, nan);
  b.set(0, nan), b.set(1, nan), b.set(2, 0.0);
  const std::pair<CompareKind, Vec> cases[] = {{CompareKind::kEq, {0, 0, 0}}, {CompareKind::kNe, {1, 1, 1}},
                                               {CompareKind::kLt, {0, 0, 0}}, {CompareKind::kGe, {0, 0, 0}},
                                               {CompareKind::kAnd, {1, 1, 0}}, {CompareKind::kXor, {0, 0, 1}}};
  for (const auto& [k, want] : cases)
    expect_close(run_op(OpKind::Compare, CompareAttrs{k}, {a, b}), {3}, want, 0, 0, compare_kind_name(k));
  // int64 values that differ by one beyond 2^53 (equal once rounded to double).
  HostTensor x(DType::kInt64, {2}), y(DType::kInt64, {});
  x.ptr<int64_t>()[0] = (int64_t(1) << 53) + 1;
  x.ptr<int64_t>()[1] = int64_t(1) << 53;
  y.ptr<int64_t>()[0] = int64_t(1) << 53;
  expect_close(run_op(OpKind::Compare, CompareAttrs{CompareKind::kGt}, {x, y}), {2}, {1, 0}, 0, 0, "int64 gt");
  expect_close(run_op(OpKind::Compare, CompareAttrs{CompareKind::kEq}, {x, y}), {2}, {0, 1}, 0, 0, "int64 eq");
}

TEST(Reference, CompareRejectsMixedDtypesByName) {
  Graph g;
  Value* a = g.add_input(TensorType::fixed(DType::kFloat32, {2}), "a");
  Value* b = g.add_input(TensorType::fixed(DType::kInt64, {2}), "b");
  try {
    g.add_node(OpKind::Compare, CompareAttrs{CompareKind::kLt}, {a, b});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("Compare"), std::string::npos) << m;
    EXPECT_NE(m.find("i64"), std::string::npos) << m;
  }
}

TEST(Reference, CumSumMatchesNaiveOnEveryAxis) {
  for (DType t : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kInt32, DType::kInt64}) {
    HostTensor x = random_tensor(t, {3, 4, 5}, 98, -20, 20);
    const Shape s = x.shape;
    for (int64_t axis = 0; axis < 3; ++axis) {
      SCOPED_TRACE(str_cat(dtype_name(t), " axis ", axis));
      Vec want(size_t(x.numel()));
      for (int64_t i = 0; i < x.numel(); ++i) {
        Shape idx = unravel(i, s);
        double sum = 0;
        for (Shape j = idx; j[size_t(axis)] >= 0; --j[size_t(axis)]) sum += x.get(ravel(j, s));
        want[size_t(i)] = sum;
      }
      // FP16/BF16: every output is one rounding of the exact sum.
      const Tol tol = tol_for(t);
      const bool exact = t == DType::kInt32 || t == DType::kInt64;
      expect_close(run_op(OpKind::CumSum, CumSumAttrs{axis}, {x}), s, want, exact ? 0 : tol.rtol, exact ? 0 : tol.atol,
                   "CumSum");
    }
  }
  // Integers wrap around like torch's.
  HostTensor w(DType::kInt32, {3});
  w.ptr<int32_t>()[0] = std::numeric_limits<int32_t>::max();
  w.ptr<int32_t>()[1] = 1;
  w.ptr<int32_t>()[2] = 1;
  HostTensor got = run_op(OpKind::CumSum, CumSumAttrs{0}, {w});
  EXPECT_EQ(got.ptr<int32_t>()[1], std::numeric_limits<int32_t>::min());
  EXPECT_EQ(got.ptr<int32_t>()[2], std::numeric_limits<int32_t>::min() + 1);
}

TEST(Reference, CumSumRejectsBoolAndBadAxis) {
  Graph g;
  Value* b = g.add_input(TensorType::fixed(DType::kBool, {4}), "b");
  Value* f = g.add_input(TensorType::fixed(DType::kFloat32, {4}), "f");
  EXPECT_THROW(g.add_node(OpKind::CumSum, CumSumAttrs{0}, {b}), Error);
  EXPECT_THROW(g.add_node(OpKind::CumSum, CumSumAttrs{1}, {f}), Error);
}

TEST(Reference, ConstantIdentityAndOutputsDoNotAlias) {
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat32, {2, 3}), "x");
  HostTensor cval = random_tensor(DType::kFloat32, {3}, 91);
  Value* c = g.add_constant(cval);
  Node* add = g.add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kAdd}, {x, c});
  Node* id = g.add_node(OpKind::Identity, IdentityAttrs{}, {add->outputs[0]});
  Node* idx = g.add_node(OpKind::Identity, IdentityAttrs{}, {x});
  g.mark_output(id->outputs[0]);
  g.mark_output(c);
  g.mark_output(idx->outputs[0]);
  verify(g);
  HostTensor xv = random_tensor(DType::kFloat32, {2, 3}, 92);
  auto out = ref::run(g, {xv});
  ASSERT_EQ(out.size(), 3u);
  Shape shape;
  expect_close(out[0], {2, 3}, naive_binary_tensor(BinaryKind::kAdd, xv, cval, &shape), 1e-7, 0, "add");
  expect_close(out[1], {3}, values(cval), 0, 0, "constant");
  expect_close(out[2], {2, 3}, values(xv), 0, 0, "identity");
  // Results are the caller's: writing to them changes neither the graph's constant nor the input.
  EXPECT_NE(out[1].data(), cval.data());
  EXPECT_NE(out[2].data(), xv.data());
  HostTensor folded = ref::eval_node(*c->producer, {})[0];
  EXPECT_NE(folded.data(), cval.data());
  EXPECT_TRUE(folded.same_content(cval));
}

// ---------------------------------------------------------------------------------------------
// Graph-level behaviour

TEST(Reference, SymbolicBatchRunsAtAnySizeInRange) {
  Graph g;
  Value* x = g.add_input(TensorType(DType::kFloat32, {Dim::symbolic(0, 1, 8), Dim::fixed(3), Dim::fixed(6), Dim::fixed(6)}), "x");
  HostTensor w = random_tensor(DType::kFloat32, {4, 3, 3, 3}, 101);
  Conv2dAttrs ca;
  ca.padding = {1, 1};
  Node* conv = g.add_node(OpKind::Conv2d, ca, {x, g.add_constant(w)});
  Node* relu = g.add_node(OpKind::Unary, UnaryAttrs{UnaryKind::kRelu}, {conv->outputs[0]});
  g.mark_output(relu->outputs[0]);
  verify(g);
  for (int64_t n : {1, 3, 8}) {
    HostTensor xv = random_tensor(DType::kFloat32, {n, 3, 6, 6}, 102);
    auto out = ref::run(g, {xv});
    Shape shape;
    Vec want = naive_conv(xv, w, nullptr, ca, &shape);
    for (double& v : want) v = std::max(v, 0.0);
    expect_close(out[0], shape, want, 1e-5, 1e-6, "conv+relu");
  }
  try {
    ref::run(g, {random_tensor(DType::kFloat32, {9, 3, 6, 6}, 1)});
    FAIL() << "expected trtorch::Error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("'x'"), std::string::npos) << m;
    EXPECT_NE(m.find("[1, 8]"), std::string::npos) << m;
  }
  EXPECT_THROW(ref::run(g, {random_tensor(DType::kFloat16, {2, 3, 6, 6}, 1)}), Error);
  EXPECT_THROW(ref::run(g, {}), Error);
}

TEST(Reference, ErrorsCarryTheNodeSource) {
  Graph g;
  Value* a = g.add_input(TensorType::fixed(DType::kInt64, {3}), "a");
  Node* n = g.add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kDiv}, {a, a}, "aten::div at model.py:7");
  g.mark_output(n->outputs[0]);
  try {
    ref::run(g, {random_tensor(DType::kInt64, {3}, 1, 1, 5)});
    FAIL() << "expected trtorch::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.py:7"), std::string::npos) << e.what();
  }
}

TEST(Reference, RegisteredAsPlanExecutor) {
  ASSERT_TRUE(plan::has_backend(plan::DeviceType::kReference));
  auto engine = std::make_shared<plan::Engine>();
  engine->graph = std::make_unique<Graph>();
  Graph& g = *engine->graph;
  Value* x = g.add_input(TensorType(DType::kFloat32, {Dim::symbolic(0, 1, 4), Dim::fixed(5)}), "x");
  HostTensor w = random_tensor(DType::kFloat32, {3, 5}, 111), b = random_tensor(DType::kFloat32, {3}, 112);
  Node* lin = g.add_node(OpKind::Linear, LinearAttrs{}, {x, g.add_constant(w), g.add_constant(b)});
  g.mark_output(lin->outputs[0]);
  auto exec = plan::make_executor(engine);
  std::vector<plan::Shape> in_shapes{{2, 5}};
  auto out_shapes = exec->output_shapes(in_shapes);
  ASSERT_EQ(out_shapes, (std::vector<plan::Shape>{{2, 3}}));
  EXPECT_EQ(exec->workspace_size(in_shapes), 0u);
  HostTensor xv = random_tensor(DType::kFloat32, {2, 5}, 113);
  std::vector<float> y(6, -1.0f);
  exec->execute({xv.data()}, in_shapes, {y.data()}, nullptr, nullptr);
  HostTensor want = ref::run(g, {xv})[0];
  for (int i = 0; i < 6; ++i) EXPECT_EQ(y[size_t(i)], want.ptr<float>()[i]);
}

// ---------------------------------------------------------------------------------------------
// Speed smoke test: prints, never asserts.

namespace {
double time_conv_gflops(Shape xs, Shape ws, Conv2dAttrs a, const char* label) {
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat32, xs), "x");
  Node* n = g.add_node(OpKind::Conv2d, a, {x, g.add_constant(random_tensor(DType::kFloat32, ws, 2))});
  g.mark_output(n->outputs[0]);
  HostTensor xv = random_tensor(DType::kFloat32, xs, 1);
  Shape ys = n->outputs[0]->type.static_shape();
  double flops = 2.0 * double(numel(ys)) * double(ws[1] * ws[2] * ws[3]);
  ref::run(g, {xv});  // warm-up
  double best = 1e30;
  for (int i = 0; i < 3; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    ref::run(g, {xv});
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  double gf = flops / best * 1e-9;
  std::printf("[ speed    ] %-34s %8.2f ms  %6.1f GFLOP/s\n", label, best * 1e3, gf);
  return gf;
}
}  // namespace

TEST(ReferenceSpeed, ConvGflops) {
  Conv2dAttrs same;
  same.padding = {1, 1};
  time_conv_gflops({1, 256, 56, 56}, {256, 256, 3, 3}, same, "conv 3x3 1x256x56x56 -> 256");
  time_conv_gflops({1, 1024, 14, 14}, {256, 1024, 1, 1}, Conv2dAttrs{}, "conv 1x1 1x1024x14x14 -> 256");
  Conv2dAttrs dw;
  dw.padding = {1, 1};
  dw.groups = 144;
  time_conv_gflops({1, 144, 56, 56}, {144, 1, 3, 3}, dw, "depthwise 3x3 1x144x56x56");
}
