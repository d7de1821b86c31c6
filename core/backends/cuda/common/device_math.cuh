// Device helpers shared by the CUDA backend's kernels: FP32 loads and rounding stores for every
// floating storage type, and the PyTorch semantics of every UnaryKind in FP32.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <vector>

#include "core/util/error.h"

#include "core/ir/attrs.h"
#include "core/backends/cuda/elementwise/pointwise_math.h"

namespace trtorch::backends::cuda {

template <typename T>
__device__ __forceinline__ float load_f(const T* p, int64_t i);
template <>
__device__ __forceinline__ float load_f<float>(const float* p, int64_t i) {
  return p[i];
}
template <>
__device__ __forceinline__ float load_f<__half>(const __half* p, int64_t i) {
  return __half2float(p[i]);
}
template <>
__device__ __forceinline__ float load_f<__nv_bfloat16>(const __nv_bfloat16* p, int64_t i) {
  return __bfloat162float(p[i]);
}

template <typename T>
__device__ __forceinline__ T from_f(float v);
template <>
__device__ __forceinline__ float from_f<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __half from_f<__half>(float v) {
  return __float2half_rn(v);
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

// PyTorch semantics of every UnaryKind, in FP32 (the math is pointwise_math.h's).
__device__ __forceinline__ float unary(ir::UnaryKind k, float x, float alpha, float beta) {
  using ir::UnaryKind;
  switch (k) {
    case UnaryKind::kRelu: return trtorch_pw_relu(x, alpha, beta);
    case UnaryKind::kSigmoid: return trtorch_pw_sigmoid(x, alpha, beta);
    case UnaryKind::kTanh: return trtorch_pw_tanh(x, alpha, beta);
    case UnaryKind::kHardSigmoid: return trtorch_pw_hardsigmoid(x, alpha, beta);
    case UnaryKind::kHardSwish: return trtorch_pw_hardswish(x, alpha, beta);
    case UnaryKind::kSilu: return trtorch_pw_silu(x, alpha, beta);
    case UnaryKind::kGeluErf: return trtorch_pw_gelu_erf(x, alpha, beta);
    case UnaryKind::kGeluTanh: return trtorch_pw_gelu_tanh(x, alpha, beta);
    case UnaryKind::kLeakyRelu: return trtorch_pw_leaky_relu(x, alpha, beta);
    case UnaryKind::kElu: return trtorch_pw_elu(x, alpha, beta);
    case UnaryKind::kClamp: return trtorch_pw_clamp(x, alpha, beta);
    case UnaryKind::kExp: return trtorch_pw_exp(x, alpha, beta);
    case UnaryKind::kLog: return trtorch_pw_log(x, alpha, beta);
    case UnaryKind::kSqrt: return trtorch_pw_sqrt(x, alpha, beta);
    case UnaryKind::kRsqrt: return trtorch_pw_rsqrt(x, alpha, beta);
    case UnaryKind::kNeg: return trtorch_pw_neg(x, alpha, beta);
    case UnaryKind::kAbs: return trtorch_pw_abs(x, alpha, beta);
    case UnaryKind::kErf: return trtorch_pw_erf(x, alpha, beta);
    case UnaryKind::kReciprocal: return trtorch_pw_reciprocal(x, alpha, beta);
    case UnaryKind::kFloor: return trtorch_pw_floor(x, alpha, beta);
    case UnaryKind::kCeil: return trtorch_pw_ceil(x, alpha, beta);
    case UnaryKind::kRound: return trtorch_pw_round(x, alpha, beta);
    case UnaryKind::kTrunc: return trtorch_pw_trunc(x, alpha, beta);
    case UnaryKind::kSign: return trtorch_pw_sign(x, alpha, beta);
    default: return x;  // rejected on the host (launch_conv_epilogue)
  }
}

// V consecutive elements, loaded and stored as one access of V * sizeof(T) bytes (at most 16);
// the caller checks that the address is aligned to that.
template <typename T, int V>
struct alignas(sizeof(T) * V) Vec {
  T v[V];
};

// V floats from p (aligned to min(V, 4) floats): 16-byte loads where V % 4 == 0.
template <int V>
__device__ __forceinline__ void load_floats(const float* __restrict__ p, float (&f)[V]) {
  if constexpr (V % 4 == 0) {
#pragma unroll
    for (int j = 0; j < V; j += 4) {
      const float4 q = *reinterpret_cast<const float4*>(p + j);
      f[j] = q.x;
      f[j + 1] = q.y;
      f[j + 2] = q.z;
      f[j + 3] = q.w;
    }
  } else if constexpr (V == 2) {
    const float2 q = *reinterpret_cast<const float2*>(p);
    f[0] = q.x;
    f[1] = q.y;
  } else {
#pragma unroll
    for (int j = 0; j < V; ++j) f[j] = p[j];
  }
}

// V floats to p (aligned as for load_floats): 16-byte stores where V % 4 == 0.
template <int V>
__device__ __forceinline__ void store_floats(float* __restrict__ p, const float (&f)[V]) {
  if constexpr (V % 4 == 0) {
#pragma unroll
    for (int j = 0; j < V; j += 4) *reinterpret_cast<float4*>(p + j) = make_float4(f[j], f[j + 1], f[j + 2], f[j + 3]);
  } else {
#pragma unroll
    for (int j = 0; j < V; ++j) p[j] = f[j];
  }
}

}  // namespace trtorch::backends::cuda

namespace trtorch::backends::cuda {

// Calls f(T{}) with T the CUDA storage type of a floating dtype; throws for other dtypes.
template <typename F>
void dispatch_float(ir::DType t, const char* op, F&& f) {
  switch (t) {
    case ir::DType::kFloat32: f(float{}); return;
    case ir::DType::kFloat16: f(__half{}); return;
    case ir::DType::kBFloat16: f(__nv_bfloat16{}); return;
    default: break;
  }
  TRTORCH_ERROR(op, ": dtype ", ir::dtype_name(t), " is not supported on the CUDA backend (f32, f16 and bf16 are)");
}

// The same for floating and integer dtypes (int32, int64).
template <typename F>
void dispatch_numeric(ir::DType t, const char* op, F&& f) {
  switch (t) {
    case ir::DType::kFloat32: f(float{}); return;
    case ir::DType::kFloat16: f(__half{}); return;
    case ir::DType::kBFloat16: f(__nv_bfloat16{}); return;
    case ir::DType::kInt32: f(int32_t{}); return;
    case ir::DType::kInt64: f(int64_t{}); return;
    default: break;
  }
  TRTORCH_ERROR(op, ": dtype ", ir::dtype_name(t), " is not supported on the CUDA backend");
}

// The same for every dtype (bool as bool, one byte).
template <typename F>
void dispatch_any(ir::DType t, const char* op, F&& f) {
  if (t == ir::DType::kBool) return f(bool{});
  dispatch_numeric(t, op, f);
}

// Dense row-major strides of a shape.
inline std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int64_t i = int64_t(shape.size()) - 2; i >= 0; --i) s[size_t(i)] = s[size_t(i) + 1] * shape[size_t(i) + 1];
  return s;
}

// Physical dim order of a layout for a tensor of the given rank: NHWC stores logical dims
// (0, 2, 3, 1) in that order; row-major stores them in order.
inline std::vector<int> physical_order(size_t rank, bool nhwc) {
  if (nhwc && rank == 4) return {0, 2, 3, 1};
  std::vector<int> p(rank);
  for (size_t i = 0; i < rank; ++i) p[i] = int(i);
  return p;
}

// Strides of the logical dims of a dense tensor stored in the given layout.
inline std::vector<int64_t> logical_strides(const std::vector<int64_t>& shape, bool nhwc) {
  auto order = physical_order(shape.size(), nhwc);
  std::vector<int64_t> phys(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) phys[i] = shape[size_t(order[i])];
  auto ps = contiguous_strides(phys);
  std::vector<int64_t> st(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) st[size_t(order[i])] = ps[i];
  return st;
}

// Up to 8 dims passed to kernels by value.
constexpr int kMaxDims = 8;
struct Dims8 {
  int64_t v[kMaxDims] = {0};
};

}  // namespace trtorch::backends::cuda
