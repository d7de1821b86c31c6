// Elementwise epilogue for the cuBLASLt GEMM kernels (activations from device_math.cuh), written once as templates
// over the storage type and instantiated for FP32, FP16 and BF16.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>

#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/device_math.cuh"
#include "core/backends/cuda/gemm/gemm_epilogue.h"
#include "core/backends/cuda/common/kernel.h"

namespace trtorch::backends::cuda::gemm {
namespace {

using ir::UnaryKind;

// One thread per element of a row; blockIdx.y walks rows in a grid-stride loop so that the
// bias index needs no division.
template <typename T, bool kBias, bool kAct>
__global__ void bias_act_kernel(T* __restrict__ y, const T* __restrict__ bias, int64_t rows, int64_t cols,
                                UnaryKind act, float alpha, float beta) {
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  const float b = kBias ? load_f(bias, c) : 0.0f;
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const int64_t i = r * cols + c;
    float v = load_f(y, i) + b;
    if (kAct) v = unary(act, v, alpha, beta);
    y[i] = from_f<T>(v);
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

}  // namespace trtorch::backends::cuda::gemm
