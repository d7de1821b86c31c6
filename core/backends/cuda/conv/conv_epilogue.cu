// Device code of conv_epilogue.h: one template per kernel, instantiated per storage dtype.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>

#include "core/backends/cuda/conv/conv_epilogue.h"
#include "core/backends/cuda/common/device_math.cuh"
#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/kernel.h"

namespace trtorch::backends::cuda {

namespace {

using ir::DType;
using ir::UnaryKind;

template <typename T, typename B>
__global__ void conv_epilogue_kernel(T* __restrict__ y, int64_t n, int64_t channels, int64_t channel_stride,
                                     const B* __restrict__ bias, const T* __restrict__ residual, bool has_act,
                                     UnaryKind act, float alpha, float beta) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    float v = load_f(y, i);
    if (bias) v += load_f(bias, (i / channel_stride) % channels);
    if (residual) v += load_f(residual, i);
    if (has_act) v = unary(act, v, alpha, beta);
    y[i] = from_f<T>(v);
  }
}

__device__ __forceinline__ uint32_t mix(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

template <typename T>
__global__ void fill_random_kernel(T* p, int64_t n, uint32_t seed) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    const uint32_t h = mix(uint32_t(i) ^ mix(uint32_t(i >> 32) + seed * 0x9e3779b9u));
    p[i] = from_f<T>(float(h >> 8) * (2.0f / 16777216.0f) - 1.0f);
  }
}

constexpr int kThreads = 256;

unsigned grid_for(int64_t n) {
  // A grid-stride loop: enough blocks to fill the device several times over, no more.
  return unsigned(std::min<int64_t>(blocks_for(n, kThreads), int64_t(1) << 16));
}

template <typename T, typename B>
void epilogue_with_bias(const ConvEpilogue& e, cudaStream_t stream) {
  conv_epilogue_kernel<T, B><<<grid_for(e.numel), kThreads, 0, stream>>>(
      static_cast<T*>(e.y), e.numel, e.channels, e.channel_stride, static_cast<const B*>(e.bias),
      static_cast<const T*>(e.residual), e.has_act, e.act, e.alpha, e.beta);
  TRTORCH_CUDA_CHECK_LAUNCH();
}

template <typename T>
void epilogue_as(const ConvEpilogue& e, cudaStream_t stream) {
  if (e.bias && e.bias_dtype != e.dtype) return epilogue_with_bias<T, float>(e, stream);
  epilogue_with_bias<T, T>(e, stream);
}

template <typename T>
void fill_as(void* p, int64_t n, uint32_t seed, cudaStream_t stream) {
  fill_random_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(static_cast<T*>(p), n, seed);
  TRTORCH_CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_conv_epilogue(const ConvEpilogue& e, cudaStream_t stream) {
  TRTORCH_CHECK(e.channels > 0 && e.channel_stride > 0, "bad epilogue geometry");
  TRTORCH_CHECK(!e.has_act || size_t(e.act) < size_t(UnaryKind::kCount), "unknown activation ", int(e.act));
  if (e.numel == 0 || (!e.bias && !e.residual && !e.has_act)) return;
  TRTORCH_CHECK(!e.bias || e.bias_dtype == e.dtype || e.bias_dtype == DType::kFloat32, "conv epilogue: a bias of ",
                ir::dtype_name(e.bias_dtype), " on a ", ir::dtype_name(e.dtype), " output");
  switch (e.dtype) {
    case DType::kFloat32: return epilogue_as<float>(e, stream);
    case DType::kFloat16: return epilogue_as<__half>(e, stream);
    case DType::kBFloat16: return epilogue_as<__nv_bfloat16>(e, stream);
    default: TRTORCH_ERROR("conv epilogue: unsupported dtype ", ir::dtype_name(e.dtype));
  }
}

void launch_fill_random(void* p, DType dtype, int64_t n, uint32_t seed, cudaStream_t stream) {
  if (n == 0) return;
  switch (dtype) {
    case DType::kFloat32: return fill_as<float>(p, n, seed, stream);
    case DType::kFloat16: return fill_as<__half>(p, n, seed, stream);
    case DType::kBFloat16: return fill_as<__nv_bfloat16>(p, n, seed, stream);
    default: TRTORCH_ERROR("fill_random: unsupported dtype ", ir::dtype_name(dtype));
  }
}

}  // namespace trtorch::backends::cuda
