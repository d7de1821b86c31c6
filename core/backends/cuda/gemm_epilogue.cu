// Elementwise epilogue and random fill for the cuBLASLt GEMM kernels, written once as templates
// over the storage type and instantiated for FP32, FP16 and BF16.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>

#include "core/backends/cuda/cuda_check.h"
#include "core/backends/cuda/gemm_epilogue.h"
#include "core/backends/cuda/kernel.h"

namespace trtorch::backends::cuda::gemm {
namespace {

using ir::UnaryKind;

__device__ __forceinline__ float load_f(const float* p) { return *p; }
__device__ __forceinline__ float load_f(const __half* p) { return __half2float(*p); }
__device__ __forceinline__ float load_f(const __nv_bfloat16* p) { return __bfloat162float(*p); }
__device__ __forceinline__ void store_f(float* p, float v) { *p = v; }
__device__ __forceinline__ void store_f(__half* p, float v) { *p = __float2half_rn(v); }
__device__ __forceinline__ void store_f(__nv_bfloat16* p, float v) { *p = __float2bfloat16_rn(v); }

// relu6(x + 3) with NaN propagating, as std::min/std::max do in the reference backend.
__device__ __forceinline__ float relu6_shift3(float x) {
  const float v = x + 3.0f;
  return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);
}

// PyTorch's definitions, in FP32 with the accurate (not the fast-math) library functions.
__device__ __forceinline__ float activate(UnaryKind k, float x, float alpha, float beta) {
  switch (k) {
    case UnaryKind::kRelu: return x < 0.0f ? 0.0f : x;  // NaN propagates
    case UnaryKind::kSigmoid: return 1.0f / (1.0f + expf(-x));
    case UnaryKind::kTanh: return tanhf(x);
    case UnaryKind::kHardSigmoid: return relu6_shift3(x) / 6.0f;
    case UnaryKind::kHardSwish: return x * relu6_shift3(x) / 6.0f;
    case UnaryKind::kSilu: return x / (1.0f + expf(-x));
    case UnaryKind::kGeluErf: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case UnaryKind::kGeluTanh: {
      const float k0 = 0.79788456080286536f;  // sqrt(2 / pi)
      return 0.5f * x * (1.0f + tanhf(k0 * (x + 0.044715f * x * x * x)));
    }
    case UnaryKind::kLeakyRelu: return x > 0.0f ? x : x * alpha;
    case UnaryKind::kElu: return x > 0.0f ? x : alpha * expm1f(x);
    case UnaryKind::kClamp: return x != x ? x : fminf(fmaxf(x, alpha), beta);  // NaN propagates, like torch.clamp
    case UnaryKind::kExp: return expf(x);
    case UnaryKind::kLog: return logf(x);
    case UnaryKind::kSqrt: return sqrtf(x);
    case UnaryKind::kRsqrt: return 1.0f / sqrtf(x);
    case UnaryKind::kNeg: return -x;
    case UnaryKind::kAbs: return fabsf(x);
    case UnaryKind::kErf: return erff(x);
    case UnaryKind::kReciprocal: return 1.0f / x;
    default: return x;  // the host rejects unknown kinds before launching
  }
}

// One thread per element of a row; blockIdx.y walks rows in a grid-stride loop so that the
// bias index needs no division.
template <typename T, bool kBias, bool kAct>
__global__ void bias_act_kernel(T* __restrict__ y, const T* __restrict__ bias, int64_t rows, int64_t cols,
                                UnaryKind act, float alpha, float beta) {
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  const float b = kBias ? load_f(bias + c) : 0.0f;
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    T* p = y + r * cols + c;
    float v = load_f(p) + b;
    if (kAct) v = activate(act, v, alpha, beta);
    store_f(p, v);
  }
}

template <typename T>
void bias_act(void* y, const void* bias, int64_t rows, int64_t cols, bool has_act, UnaryKind act, float alpha,
              float beta, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0 || (!bias && !has_act)) return;
  constexpr int kThreads = 256;
  const dim3 grid(blocks_for(cols, kThreads), unsigned(std::min<int64_t>(rows, 65535)));
  T* yp = static_cast<T*>(y);
  const T* bp = static_cast<const T*>(bias);
  if (bias && has_act)
    bias_act_kernel<T, true, true><<<grid, kThreads, 0, stream>>>(yp, bp, rows, cols, act, alpha, beta);
  else if (bias)
    bias_act_kernel<T, true, false><<<grid, kThreads, 0, stream>>>(yp, bp, rows, cols, act, alpha, beta);
  else
    bias_act_kernel<T, false, true><<<grid, kThreads, 0, stream>>>(yp, bp, rows, cols, act, alpha, beta);
  TRTORCH_CUDA_CHECK_LAUNCH();
}

__device__ __forceinline__ uint32_t mix(uint32_t x) {  // a 32-bit integer hash (xorshift-multiply)
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

template <typename T>
__global__ void fill_kernel(T* p, int64_t n, uint32_t seed) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    uint32_t h = mix(uint32_t(i) ^ mix(seed ^ uint32_t(i >> 32)));
    store_f(p + i, float(h >> 8) * (2.0f / 16777216.0f) - 1.0f);
  }
}

template <typename T>
void fill(void* p, int64_t n, uint32_t seed, cudaStream_t stream) {
  if (n <= 0) return;
  fill_kernel<T><<<unsigned(std::min<int64_t>(blocks_for(n, 256), 4096)), 256, 0, stream>>>(static_cast<T*>(p), n,
                                                                                            seed);
  TRTORCH_CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_bias_act(ir::DType dt, void* y, const void* bias, int64_t rows, int64_t cols, bool has_act,
                     UnaryKind act, float alpha, float beta, cudaStream_t stream) {
  switch (dt) {
    case ir::DType::kFloat32: return bias_act<float>(y, bias, rows, cols, has_act, act, alpha, beta, stream);
    case ir::DType::kFloat16: return bias_act<__half>(y, bias, rows, cols, has_act, act, alpha, beta, stream);
    case ir::DType::kBFloat16:
      return bias_act<__nv_bfloat16>(y, bias, rows, cols, has_act, act, alpha, beta, stream);
    default: TRTORCH_ERROR("GEMM epilogue: unsupported dtype ", ir::dtype_name(dt));
  }
}

void fill_uniform(ir::DType dt, void* p, int64_t n, uint32_t seed, cudaStream_t stream) {
  switch (dt) {
    case ir::DType::kFloat32: return fill<float>(p, n, seed, stream);
    case ir::DType::kFloat16: return fill<__half>(p, n, seed, stream);
    case ir::DType::kBFloat16: return fill<__nv_bfloat16>(p, n, seed, stream);
    default: TRTORCH_ERROR("GEMM fill: unsupported dtype ", ir::dtype_name(dt));
  }
}

}  // namespace trtorch::backends::cuda::gemm
