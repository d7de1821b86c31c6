// Device code of conv_reference.h.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "core/backends/cuda/conv/conv_reference.h"
#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/device_math.cuh"
#include "core/backends/cuda/common/kernel.h"

namespace trtorch::backends::cuda {

namespace {

// One thread per output element, in logical (n, k, oh, ow) order whatever the layout: the
// threads of a warp then share k, so every weight load is one broadcast.
template <typename T, typename B>
__global__ void conv_reference_kernel(ConvReference p) {
  const T* __restrict__ x = static_cast<const T*>(p.x);
  const T* __restrict__ w = static_cast<const T*>(p.w);
  const B* __restrict__ bias = static_cast<const B*>(p.bias);
  const T* __restrict__ residual = static_cast<const T*>(p.residual);
  T* __restrict__ y = static_cast<T*>(p.y);
  // Element strides of x's channel and pixel, and of w's input channel and filter tap.
  const int64_t x_c = p.nhwc ? 1 : p.H * p.W, x_px = p.nhwc ? p.C : 1;
  const int64_t w_c = p.nhwc ? 1 : p.R * p.S, w_tap = p.nhwc ? p.Cg : 1;
  const int64_t k_per_group = p.K / p.groups;
  const int64_t n_out = p.N * p.K * p.OH * p.OW;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n_out; i += step) {
    const int64_t ow = i % p.OW, oh = (i / p.OW) % p.OH, k = (i / (p.OW * p.OH)) % p.K, n = i / (p.OW * p.OH * p.K);
    const int64_t c0 = k / k_per_group * p.Cg;  // first input channel of k's group
    const T* xn = x + n * p.C * p.H * p.W + c0 * x_c;
    const T* wk = w + k * p.Cg * p.R * p.S;
    float acc = 0.0f;
    for (int64_t r = 0; r < p.R; ++r) {
      const int64_t ih = oh * p.sh - p.ph + r * p.dh;
      if (ih < 0 || ih >= p.H) continue;
      for (int64_t s = 0; s < p.S; ++s) {
        const int64_t iw = ow * p.sw - p.pw + s * p.dw;
        if (iw < 0 || iw >= p.W) continue;
        const T* xp = xn + (ih * p.W + iw) * x_px;
        const T* wp = wk + (r * p.S + s) * w_tap;
        for (int64_t c = 0; c < p.Cg; ++c) acc = fmaf(load_f(xp, c * x_c), load_f(wp, c * w_c), acc);
      }
    }
    const int64_t out = p.nhwc ? ((n * p.OH + oh) * p.OW + ow) * p.K + k : i;
    if (bias) acc += load_f(bias, k);
    if (residual) acc += load_f(residual, out);
    if (p.has_act) acc = unary(p.act, acc, p.alpha, p.beta);
    y[out] = from_f<T>(acc);
  }
}

// compare_outputs' totals: float bits of non-negative values order as unsigned integers.
struct DiffTotals {
  unsigned int num_bits, den_bits, nonfinite;
  unsigned int pad;
  unsigned long long differ, bits_differ;
};

template <typename T>
__device__ __forceinline__ bool same_bits(const T* a, const T* b, int64_t i) {
  using Bits = std::conditional_t<sizeof(T) == 4, uint32_t, uint16_t>;
  return reinterpret_cast<const Bits*>(a)[i] == reinterpret_cast<const Bits*>(b)[i];
}

template <typename T>
__global__ void compare_outputs_kernel(const T* __restrict__ a, const T* __restrict__ b, int64_t n, DiffTotals* t) {
  float num = 0.0f, den = 0.0f;
  unsigned int nonfinite = 0;
  unsigned long long differ = 0, bits_differ = 0;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    const float x = load_f(a, i), y = load_f(b, i);
    bits_differ += !same_bits(a, b, i);
    const bool xn = isnan(x), yn = isnan(y);
    differ += !(x == y || (xn && yn));
    if (xn != yn) {
      nonfinite = 1;
      continue;
    }
    if (yn) continue;
    if (isinf(x) || isinf(y)) {
      nonfinite |= x != y;
      continue;
    }
    num = fmaxf(num, fabsf(x - y));
    den = fmaxf(den, fabsf(y));
  }
  for (int o = 16; o > 0; o >>= 1) {
    num = fmaxf(num, __shfl_xor_sync(0xffffffffu, num, o));
    den = fmaxf(den, __shfl_xor_sync(0xffffffffu, den, o));
    nonfinite |= __shfl_xor_sync(0xffffffffu, nonfinite, o);
    differ += __shfl_xor_sync(0xffffffffu, differ, o);
    bits_differ += __shfl_xor_sync(0xffffffffu, bits_differ, o);
  }
  if ((threadIdx.x & 31) == 0) {
    atomicMax(&t->num_bits, __float_as_uint(num));
    atomicMax(&t->den_bits, __float_as_uint(den));
    if (nonfinite) atomicOr(&t->nonfinite, 1u);
    if (differ) atomicAdd(&t->differ, differ);
    if (bits_differ) atomicAdd(&t->bits_differ, bits_differ);
  }
}

}  // namespace

OutputDiff compare_outputs(const void* a, const void* b, ir::DType dtype, int64_t n, void* scratch,
                           cudaStream_t stream) {
  static_assert(sizeof(DiffTotals) <= kOutputDiffScratchBytes, "compare_outputs scratch");
  OutputDiff d;
  if (n <= 0) {
    d.identical = true;
    return d;
  }
  auto* t = static_cast<DiffTotals*>(scratch);
  TRTORCH_CUDA_CHECK(cudaMemsetAsync(t, 0, sizeof(DiffTotals), stream));
  constexpr int kThreads = 256;  // a multiple of the warp: every lane takes part in the shuffles
  const unsigned blocks = unsigned(std::min<int64_t>(blocks_for(n, kThreads), 2048));
  dispatch_float(dtype, "compare outputs", [&](auto v) {
    using T = decltype(v);
    compare_outputs_kernel<T>
        <<<blocks, kThreads, 0, stream>>>(static_cast<const T*>(a), static_cast<const T*>(b), n, t);
    TRTORCH_CUDA_CHECK_LAUNCH();
  });
  DiffTotals h{};
  TRTORCH_CUDA_CHECK(cudaMemcpyAsync(&h, t, sizeof(h), cudaMemcpyDeviceToHost, stream));
  TRTORCH_CUDA_CHECK(cudaStreamSynchronize(stream));
  float num = 0.0f, den = 0.0f;
  std::memcpy(&num, &h.num_bits, sizeof(num));
  std::memcpy(&den, &h.den_bits, sizeof(den));
  d.rel = h.nonfinite ? INFINITY : num / (den > 0 ? den : 1.0);
  d.mismatch = double(h.differ) / double(n);
  d.identical = h.bits_differ == 0;
  return d;
}

void launch_conv_reference(const ConvReference& p, cudaStream_t stream) {
  TRTORCH_CHECK(p.groups >= 1 && p.K % p.groups == 0 && p.C == p.Cg * p.groups, "conv reference: channels ", p.C,
                " -> ", p.K, " do not fit groups=", p.groups, " with ", p.Cg, " channels per group");
  TRTORCH_CHECK(!p.has_act || size_t(p.act) < size_t(ir::UnaryKind::kCount), "conv reference: unknown activation ",
                int(p.act));
  const int64_t n = p.N * p.K * p.OH * p.OW;
  if (n == 0) return;
  constexpr int kThreads = 256;
  // A grid-stride loop: enough blocks to fill the device several times over, no more.
  const unsigned blocks = unsigned(std::min<int64_t>(blocks_for(n, kThreads), int64_t(1) << 16));
  TRTORCH_CHECK(!p.bias || p.bias_dtype == p.dtype || p.bias_dtype == ir::DType::kFloat32,
                "conv reference: a bias of ", ir::dtype_name(p.bias_dtype), " in a ", ir::dtype_name(p.dtype),
                " convolution");
  dispatch_float(p.dtype, "conv reference", [&](auto t) {
    using T = decltype(t);
    if (p.bias && p.bias_dtype != p.dtype)
      conv_reference_kernel<T, float><<<blocks, kThreads, 0, stream>>>(p);
    else
      conv_reference_kernel<T, T><<<blocks, kThreads, 0, stream>>>(p);
    TRTORCH_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace trtorch::backends::cuda
