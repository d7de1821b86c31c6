// Elementwise ops: Unary, Binary (numpy broadcasting) and Cast.
#include <cmath>
#include <limits>

#include "core/backends/reference/kernels.h"

namespace trtorch::backends::reference {

using ir::BinaryKind;
using ir::DType;
using ir::HostTensor;
using ir::UnaryKind;

namespace {

template <typename F>
void map_unary(int64_t n, const float* x, float* y, F f) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }

// Operand strides of a broadcast binary op, with dims of size 1 dropped and dims that are
// contiguous in the output and both operands merged; the last dim is the innermost loop.
struct BroadcastLoop {
  std::vector<int64_t> shape, sa, sb;

  BroadcastLoop(const std::vector<int64_t>& a, const std::vector<int64_t>& b, const std::vector<int64_t>& y) {
    const size_t r = y.size();
    std::vector<int64_t> fa(r, 0), fb(r, 0);
    int64_t ma = 1, mb = 1;
    for (size_t d = r; d-- > 0;) {
      const size_t off_a = r - a.size(), off_b = r - b.size();
      if (d >= off_a && a[d - off_a] != 1) fa[d] = ma;
      if (d >= off_b && b[d - off_b] != 1) fb[d] = mb;
      if (d >= off_a) ma *= a[d - off_a];
      if (d >= off_b) mb *= b[d - off_b];
    }
    for (size_t d = 0; d < r; ++d) {
      if (y[d] == 1) continue;
      if (!shape.empty() && sa.back() == fa[d] * y[d] && sb.back() == fb[d] * y[d]) {
        shape.back() *= y[d];
        sa.back() = fa[d];
        sb.back() = fb[d];
      } else {
        shape.push_back(y[d]);
        sa.push_back(fa[d]);
        sb.push_back(fb[d]);
      }
    }
    if (shape.empty()) {
      shape = {1};
      sa = {0};
      sb = {0};
    }
  }

  template <typename T, typename F>
  void run(const T* a, const T* b, T* y, F f) const {
    const size_t r = shape.size();
    const int64_t inner = shape.back(), ia = sa.back(), ib = sb.back();
    int64_t outer = 1;
    for (size_t d = 0; d + 1 < r; ++d) outer *= shape[d];
#pragma omp parallel for schedule(static) if (outer * inner >= kParallelMin)
    for (int64_t o = 0; o < outer; ++o) {
      int64_t oa = 0, ob = 0, rem = o;
      for (size_t d = r - 1; d-- > 0;) {
        const int64_t idx = rem % shape[d];
        rem /= shape[d];
        oa += idx * sa[d];
        ob += idx * sb[d];
      }
      T* yr = y + o * inner;
      const T* ar = a + oa;
      const T* br = b + ob;
      if (ia == 1 && ib == 1) {
        for (int64_t i = 0; i < inner; ++i) yr[i] = f(ar[i], br[i]);
      } else if (ia == 1) {
        const T bv = br[0];
        for (int64_t i = 0; i < inner; ++i) yr[i] = f(ar[i], bv);
      } else if (ib == 1) {
        const T av = ar[0];
        for (int64_t i = 0; i < inner; ++i) yr[i] = f(av, br[i]);
      } else {
        for (int64_t i = 0; i < inner; ++i) yr[i] = f(ar[i * ia], br[i * ib]);
      }
    }
  }
};

// Two's-complement wrap-around like torch's integer tensors (no signed-overflow UB).
template <typename T>
T wrap(std::make_unsigned_t<T> v) {
  return T(v);
}

// Integer power like torch's tensor-exponent kernel: a negative exponent gives 1 for base 1,
// +-1 for base -1 and 0 otherwise.
template <typename T>
T int_pow(T base, T exp) {
  using U = std::make_unsigned_t<T>;
  if (exp < 0) {
    if (base == 1) return 1;
    if (base == -1) return (exp & 1) ? T(-1) : T(1);
    return 0;
  }
  U result = 1, b = U(base);
  for (T e = exp; e > 0; e >>= 1) {
    if (e & 1) result *= b;
    b *= b;
  }
  return wrap<T>(result);
}

template <typename T>
void binary_kind(BinaryKind kind, const BroadcastLoop& loop, const T* a, const T* b, T* y) {
  constexpr bool kFloat = std::is_floating_point_v<T>;
  using U = std::make_unsigned_t<std::conditional_t<kFloat, int, T>>;
  switch (kind) {
    case BinaryKind::kAdd:
      if constexpr (kFloat) loop.run(a, b, y, [](T p, T q) { return p + q; });
      else loop.run(a, b, y, [](T p, T q) { return wrap<T>(U(p) + U(q)); });
      return;
    case BinaryKind::kSub:
      if constexpr (kFloat) loop.run(a, b, y, [](T p, T q) { return p - q; });
      else loop.run(a, b, y, [](T p, T q) { return wrap<T>(U(p) - U(q)); });
      return;
    case BinaryKind::kMul:
      if constexpr (kFloat) loop.run(a, b, y, [](T p, T q) { return p * q; });
      else loop.run(a, b, y, [](T p, T q) { return wrap<T>(U(p) * U(q)); });
      return;
    case BinaryKind::kDiv:
      if constexpr (kFloat) {
        loop.run(a, b, y, [](T p, T q) { return p / q; });
        return;
      }
      break;
    case BinaryKind::kPow:
      if constexpr (kFloat) {
        loop.run(a, b, y, [](T p, T q) { return std::pow(p, q); });
      } else {
        loop.run(a, b, y, [](T p, T q) { return int_pow(p, q); });
      }
      return;
    case BinaryKind::kMax:  // torch.maximum: NaN wins
      loop.run(a, b, y, [](T p, T q) { return (p != p || q != q) ? (p != p ? p : q) : (p > q ? p : q); });
      return;
    case BinaryKind::kMin:
      loop.run(a, b, y, [](T p, T q) { return (p != p || q != q) ? (p != p ? p : q) : (p < q ? p : q); });
      return;
    case BinaryKind::kCount: break;
  }
  TRTORCH_ERROR("Binary: ", ir::binary_kind_name(kind), " is not supported on integer tensors");
}

// ---- Cast ----

// Float to integer like torch on x86: truncation toward zero; NaN and out-of-range values give
// the most negative value (what the hardware conversion returns).
template <typename I>
I float_to_int(float v) {
  constexpr double lo = double(std::numeric_limits<I>::min());
  constexpr double hi = -lo;  // 2^(bits-1): the first value past the top
  if (!(double(v) >= lo && double(v) < hi)) return std::numeric_limits<I>::min();
  return I(v);
}

template <typename T>
struct Scalar;  // load/store through the widest exact representation

template <>
struct Scalar<float> {
  static constexpr bool kFloat = true;
  static float load(float v) { return v; }
  static float from_float(float v) { return v; }
};
template <>
struct Scalar<Half> {
  static constexpr bool kFloat = true;
  static float load(Half v) { return ir::half_to_float(v.bits); }
  static Half from_float(float v) { return Half{ir::float_to_half(v)}; }
};
template <>
struct Scalar<BFloat16> {
  static constexpr bool kFloat = true;
  static float load(BFloat16 v) { return ir::bf16_to_float(v.bits); }
  static BFloat16 from_float(float v) { return BFloat16{ir::float_to_bf16(v)}; }
};

template <typename D, typename S>
D convert(S v) {
  if constexpr (std::is_same_v<D, S>) {
    return v;
  } else if constexpr (std::is_same_v<D, Bool>) {  // nonzero (NaN included) is true
    if constexpr (std::is_class_v<S> || std::is_floating_point_v<S>) return Scalar<S>::load(v) != 0.0f;
    else return v != 0;
  } else if constexpr (std::is_class_v<S> || std::is_floating_point_v<S>) {  // from a float type
    float f = Scalar<S>::load(v);
    if constexpr (std::is_class_v<D> || std::is_floating_point_v<D>) return Scalar<D>::from_float(f);
    else return float_to_int<D>(f);
  } else {  // from int32, int64 or bool
    if constexpr (std::is_class_v<D> || std::is_floating_point_v<D>) return Scalar<D>::from_float(float(v));
    else return D(std::make_unsigned_t<D>(v));  // int64 -> int32 wraps like torch
  }
}

}  // namespace

void unary_float(UnaryKind kind, float alpha, float beta, int64_t n, const float* x, float* y) {
  switch (kind) {
    case UnaryKind::kRelu: map_unary(n, x, y, [](float v) { return v < 0.0f ? 0.0f : v; }); break;
    case UnaryKind::kSigmoid: map_unary(n, x, y, sigmoid); break;
    case UnaryKind::kTanh: map_unary(n, x, y, [](float v) { return std::tanh(v); }); break;
    case UnaryKind::kHardSigmoid:
      map_unary(n, x, y, [](float v) { return std::min(std::max(v + 3.0f, 0.0f), 6.0f) / 6.0f; });
      break;
    case UnaryKind::kHardSwish:
      map_unary(n, x, y, [](float v) { return v * std::min(std::max(v + 3.0f, 0.0f), 6.0f) / 6.0f; });
      break;
    case UnaryKind::kSilu: map_unary(n, x, y, [](float v) { return v / (1.0f + std::exp(-v)); }); break;
    case UnaryKind::kGeluErf:
      map_unary(n, x, y, [](float v) { return 0.5f * v * (1.0f + std::erf(v * float(M_SQRT1_2))); });
      break;
    case UnaryKind::kGeluTanh:
      map_unary(n, x, y, [](float v) {
        const float k = float(M_2_SQRTPI * M_SQRT1_2);  // sqrt(2 / pi)
        return 0.5f * v * (1.0f + std::tanh(k * (v + 0.044715f * v * v * v)));
      });
      break;
    case UnaryKind::kLeakyRelu: map_unary(n, x, y, [alpha](float v) { return v > 0.0f ? v : v * alpha; }); break;
    case UnaryKind::kElu:
      map_unary(n, x, y, [alpha](float v) { return v > 0.0f ? v : alpha * std::expm1(v); });
      break;
    case UnaryKind::kClamp:  // NaN propagates, like torch.clamp
      map_unary(n, x, y, [alpha, beta](float v) { return v != v ? v : std::min(std::max(v, alpha), beta); });
      break;
    case UnaryKind::kExp: map_unary(n, x, y, [](float v) { return std::exp(v); }); break;
    case UnaryKind::kLog: map_unary(n, x, y, [](float v) { return std::log(v); }); break;
    case UnaryKind::kSqrt: map_unary(n, x, y, [](float v) { return std::sqrt(v); }); break;
    case UnaryKind::kRsqrt: map_unary(n, x, y, [](float v) { return 1.0f / std::sqrt(v); }); break;
    case UnaryKind::kNeg: map_unary(n, x, y, [](float v) { return -v; }); break;
    case UnaryKind::kAbs: map_unary(n, x, y, [](float v) { return std::fabs(v); }); break;
    case UnaryKind::kErf: map_unary(n, x, y, [](float v) { return std::erf(v); }); break;
    case UnaryKind::kReciprocal: map_unary(n, x, y, [](float v) { return 1.0f / v; }); break;
    case UnaryKind::kFloor: map_unary(n, x, y, [](float v) { return std::floor(v); }); break;
    case UnaryKind::kCeil: map_unary(n, x, y, [](float v) { return std::ceil(v); }); break;
    case UnaryKind::kRound: map_unary(n, x, y, [](float v) { return std::nearbyint(v); }); break;  // halves to even
    case UnaryKind::kTrunc: map_unary(n, x, y, [](float v) { return std::trunc(v); }); break;
    case UnaryKind::kSign: map_unary(n, x, y, [](float v) { return float((v > 0.0f) - (v < 0.0f)); }); break;
    case UnaryKind::kCount: TRTORCH_ERROR("Unary: unknown kind ", int(kind));
  }
}

void eval_Unary(const ir::UnaryAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  FloatIn xin("Unary", "input", in[0]);
  FloatOut yout(out[0]);
  unary_float(a.kind, float(a.alpha), float(a.beta), in[0].numel(), xin.data(), yout.data());
  yout.commit();
}

void eval_Binary(const ir::BinaryAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  const BroadcastLoop loop(in[0].shape, in[1].shape, out[0].shape);
  allocate(out[0]);
  if (out[0].numel() == 0) return;
  switch (in[0].dtype) {
    case DType::kFloat32:
    case DType::kFloat16:
    case DType::kBFloat16: {
      FloatIn x("Binary", "input 0", in[0]), z("Binary", "input 1", in[1]);
      FloatOut y(out[0]);
      binary_kind<float>(a.kind, loop, x.data(), z.data(), y.data());
      y.commit();
      return;
    }
    case DType::kInt32:
      binary_kind<int32_t>(a.kind, loop, in[0].ptr<int32_t>(), in[1].ptr<int32_t>(), out[0].ptr<int32_t>());
      return;
    case DType::kInt64:
      binary_kind<int64_t>(a.kind, loop, in[0].ptr<int64_t>(), in[1].ptr<int64_t>(), out[0].ptr<int64_t>());
      return;
    case DType::kBool:
    case DType::kInt8: break;
  }
  unsupported_dtype("Binary", "input 0", in[0].dtype);
}

// The program over whole FP32 arrays of the output's size: each input broadcast once, each
// instruction one pass (unary_float and the Binary kernel's math), the last register rounded to
// the storage type once, as the CUDA kernel does per element.
void eval_Pointwise(const ir::PointwiseAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  allocate(out[0]);
  const int64_t n = out[0].numel();
  if (n == 0) return;
  const std::vector<int64_t>& shape = out[0].shape;
  const size_t n_instr = a.instructions();
  TRTORCH_EXPECT(n_instr >= 1 && a.params.numel() == int64_t(2 * n_instr) && a.params.dtype == DType::kFloat32,
                 "Pointwise: malformed program (", a.code.size(), " code words, ", a.params.numel(), " params)");
  const float* params = a.params.ptr<float>();
  std::vector<std::vector<float>> reg(in.size() + n_instr);
  for (size_t k = 0; k < in.size(); ++k) {
    FloatIn x("Pointwise", "input", in[k]);
    reg[k].resize(size_t(n));
    float* y = reg[k].data();
    // Broadcast against the output: a Binary whose second operand (the output's shape) is unused.
    BroadcastLoop(in[k].shape, shape, shape).run(x.data(), y, y, [](float v, float) { return v; });
  }
  for (size_t i = 0; i < n_instr; ++i) {
    const int64_t* c = &a.code[4 * i];
    std::vector<float>& r = reg[in.size() + i];
    r.resize(size_t(n));
    auto src = [&](int64_t j) -> const float* {
      TRTORCH_EXPECT(j >= 0 && size_t(j) < in.size() + i, "Pointwise: instruction ", i, " reads register ", j,
                     " before it is written");
      return reg[size_t(j)].data();
    };
    switch (c[0]) {
      case ir::PointwiseAttrs::kImmediate: std::fill(r.begin(), r.end(), params[2 * i]); break;
      case ir::PointwiseAttrs::kUnary:
        unary_float(UnaryKind(c[1]), params[2 * i], params[2 * i + 1], n, src(c[2]), r.data());
        break;
      case ir::PointwiseAttrs::kBinary:
        binary_kind<float>(BinaryKind(c[1]), BroadcastLoop(shape, shape, shape), src(c[2]), src(c[3]), r.data());
        break;
      default: TRTORCH_ERROR("Pointwise: instruction ", i, " has unknown op ", c[0]);
    }
  }
  FloatOut y(out[0]);
  std::copy(reg.back().begin(), reg.back().end(), y.data());
  y.commit();
}

void eval_Cast(const ir::CastAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  allocate(out[0]);
  const int64_t n = in[0].numel();
  visit_dtype(in[0].dtype, [&](auto src) {
    using S = typename decltype(src)::type;
    visit_dtype(a.to, [&](auto dst) {
      using D = typename decltype(dst)::type;
      const S* x = in[0].ptr<S>();
      D* y = out[0].ptr<D>();
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
      for (int64_t i = 0; i < n; ++i) y[i] = convert<D>(x[i]);
    });
  });
}

}  // namespace trtorch::backends::reference
