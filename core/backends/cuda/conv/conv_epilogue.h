// Elementwise helpers of the cuDNN convolution kernel (conv.cpp): the part of a fused Conv2d
// epilogue that a cuDNN graph could not take, and random fill for tactic timing.
//
// Kept apart from conv.cpp so that the CUDA code does not include cudnn-frontend.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/ir/attrs.h"
#include "core/ir/dtype.h"

namespace trtorch::backends::cuda {

// In place on the convolution output y (dtype `dtype`, `numel` elements, K channels):
//   y = act(y + bias[k] + residual)
// with each stage optional (null bias / residual, has_act false). The channel of element i is
// (i / channel_stride) % K: channel_stride = H*W for NCHW, 1 for NHWC. The bias is [K] of
// `bias_dtype` (y's dtype or float32); the residual has y's shape, layout and dtype. Computed in
// FP32, rounded once.
struct ConvEpilogue {
  void* y = nullptr;
  ir::DType dtype = ir::DType::kFloat32;
  int64_t numel = 0;
  int64_t channels = 1;
  int64_t channel_stride = 1;
  const void* bias = nullptr;
  ir::DType bias_dtype = ir::DType::kFloat32;
  const void* residual = nullptr;
  bool has_act = false;
  ir::UnaryKind act = ir::UnaryKind::kRelu;
  float alpha = 0.0f, beta = 0.0f;
};
void launch_conv_epilogue(const ConvEpilogue& e, cudaStream_t stream);

// Fills `n` elements of a floating tensor with pseudo-random values in [-1, 1) (a hash of the
// index and seed): input data for timing tactics.
void launch_fill_random(void* p, ir::DType dtype, int64_t n, uint32_t seed, cudaStream_t stream);

}  // namespace trtorch::backends::cuda
