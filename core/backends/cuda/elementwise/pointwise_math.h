// The FP32 math of every UnaryKind and of the floating BinaryKinds, written once. nvcc compiles
// it into the static kernels (device_math.cuh and elementwise.cu call these functions), and the
// generated pointwise kernels (pointwise.cpp) compile the same text with NVRTC: the CMake build
// embeds this file in the library as a string. So a fused chain computes what the unfused ops
// compute, rounding only where they store.
//
// Plain CUDA C++ for both compilers: no includes, no namespaces, only builtin math functions.
// One function per kind, named trtorch_pw_<kind name of ir.cpp>; unary functions take
// (x, alpha, beta) like UnaryAttrs.
#ifndef TRTORCH_POINTWISE_MATH_H
#define TRTORCH_POINTWISE_MATH_H

__device__ __forceinline__ float trtorch_pw_relu(float x, float, float) { return x < 0.0f ? 0.0f : x; }  // NaN propagates
__device__ __forceinline__ float trtorch_pw_sigmoid(float x, float, float) { return 1.0f / (1.0f + expf(-x)); }
__device__ __forceinline__ float trtorch_pw_tanh(float x, float, float) { return tanhf(x); }
__device__ __forceinline__ float trtorch_pw_hardsigmoid(float x, float, float) {
  return fminf(fmaxf(x / 6.0f + 0.5f, 0.0f), 1.0f);
}
__device__ __forceinline__ float trtorch_pw_hardswish(float x, float, float) {
  return x * fminf(fmaxf(x / 6.0f + 0.5f, 0.0f), 1.0f);
}
__device__ __forceinline__ float trtorch_pw_silu(float x, float, float) { return x / (1.0f + expf(-x)); }
__device__ __forceinline__ float trtorch_pw_gelu_erf(float x, float, float) {
  return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
}
__device__ __forceinline__ float trtorch_pw_gelu_tanh(float x, float, float) {
  const float inner = 0.79788456080286536f * (x + 0.044715f * x * x * x);
  return 0.5f * x * (1.0f + tanhf(inner));
}
__device__ __forceinline__ float trtorch_pw_leaky_relu(float x, float alpha, float) { return x > 0.0f ? x : x * alpha; }
__device__ __forceinline__ float trtorch_pw_elu(float x, float alpha, float) { return x > 0.0f ? x : alpha * expm1f(x); }
__device__ __forceinline__ float trtorch_pw_clamp(float x, float lo, float hi) {
  return x != x ? x : fminf(fmaxf(x, lo), hi);  // NaN propagates, like torch.clamp
}
__device__ __forceinline__ float trtorch_pw_exp(float x, float, float) { return expf(x); }
__device__ __forceinline__ float trtorch_pw_log(float x, float, float) { return logf(x); }
__device__ __forceinline__ float trtorch_pw_sqrt(float x, float, float) { return sqrtf(x); }
__device__ __forceinline__ float trtorch_pw_rsqrt(float x, float, float) { return 1.0f / sqrtf(x); }
__device__ __forceinline__ float trtorch_pw_neg(float x, float, float) { return -x; }
__device__ __forceinline__ float trtorch_pw_abs(float x, float, float) { return fabsf(x); }
__device__ __forceinline__ float trtorch_pw_erf(float x, float, float) { return erff(x); }
__device__ __forceinline__ float trtorch_pw_reciprocal(float x, float, float) { return 1.0f / x; }
__device__ __forceinline__ float trtorch_pw_floor(float x, float, float) { return floorf(x); }
__device__ __forceinline__ float trtorch_pw_ceil(float x, float, float) { return ceilf(x); }
__device__ __forceinline__ float trtorch_pw_round(float x, float, float) { return rintf(x); }  // halves to even
__device__ __forceinline__ float trtorch_pw_trunc(float x, float, float) { return truncf(x); }
__device__ __forceinline__ float trtorch_pw_sign(float x, float, float) { return float((x > 0.0f) - (x < 0.0f)); }

__device__ __forceinline__ float trtorch_pw_add(float a, float b) { return a + b; }
__device__ __forceinline__ float trtorch_pw_sub(float a, float b) { return a - b; }
__device__ __forceinline__ float trtorch_pw_mul(float a, float b) { return a * b; }
__device__ __forceinline__ float trtorch_pw_div(float a, float b) { return a / b; }
__device__ __forceinline__ float trtorch_pw_pow(float a, float b) { return powf(a, b); }
// torch.maximum / minimum: NaN wins.
__device__ __forceinline__ float trtorch_pw_max(float a, float b) { return (a != a || b != b) ? a + b : fmaxf(a, b); }
__device__ __forceinline__ float trtorch_pw_min(float a, float b) { return (a != a || b != b) ? a + b : fminf(a, b); }

#endif  // TRTORCH_POINTWISE_MATH_H
