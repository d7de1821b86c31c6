// A direct convolution, the trusted result that the cuDNN convolution kernel (conv.cpp) checks
// its engine configs against at build time. cuDNN 9.19's runtime-fusion engine 53 writes
// non-finite values for EfficientNet-B0's squeeze-excitation expand convolution (1x1 image,
// 48 -> 1152 channels, batch 32, bias and sigmoid fused, NCHW, FP16 and BF16, H100); a
// comparison between cuDNN plans alone cannot tell such an engine from a right one.
//
// Deliberately simple (one thread per output element, FP32 accumulation in a fixed order): it is
// run once per convolution when an engine is built, never at inference.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/ir/attrs.h"
#include "core/ir/dtype.h"

namespace trtorch::backends::cuda {

// y = act(conv(x, w) + bias[k] + residual), each epilogue stage optional (null bias / residual,
// has_act false), computed in FP32 and rounded once to `dtype`: the semantics of a cuDNN graph
// with FP32 intermediates. x, y and the residual are [N, C|K, H, W] logical, stored NCHW or NHWC
// (`nhwc`); w is [K, Cg, R, S] stored KCRS for NCHW and KRSC for NHWC (conv.cpp's packing); the
// bias is [K] of `bias_dtype` (`dtype` or float32). Every other tensor has `dtype` (float32,
// float16 or bfloat16).
struct ConvReference {
  const void* x = nullptr;
  const void* w = nullptr;
  const void* bias = nullptr;
  const void* residual = nullptr;
  void* y = nullptr;
  ir::DType dtype = ir::DType::kFloat32;
  ir::DType bias_dtype = ir::DType::kFloat32;
  bool nhwc = false;
  int64_t N = 0, C = 0, H = 0, W = 0;
  int64_t K = 0, Cg = 0, R = 0, S = 0;
  int64_t OH = 0, OW = 0;
  int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1, groups = 1;
  bool has_act = false;
  ir::UnaryKind act = ir::UnaryKind::kRelu;
  float alpha = 0.0f, beta = 0.0f;
};
void launch_conv_reference(const ConvReference& p, cudaStream_t stream);

// How two device outputs of one dtype differ, computed on the GPU (a batch-32 output of
// ResNet-50 has up to 25.7 M elements: copying and comparing it on the host took most of a
// convolution's build).
struct OutputDiff {
  // Largest |a - b| over the largest |b|; +inf where one has a NaN or infinity the other has not
  // (an output left unwritten keeps a NaN fill).
  double rel = 0.0;
  // Share of the elements whose values differ (+0 equals -0, NaN equals NaN).
  double mismatch = 0.0;
  bool identical = false;  // bit for bit
};
// a and b: n elements of `dtype` (float32, float16 or bfloat16) on the device; `scratch`: at
// least kOutputDiffScratchBytes of device memory. Runs on `stream` and waits for the result.
constexpr size_t kOutputDiffScratchBytes = 32;
OutputDiff compare_outputs(const void* a, const void* b, ir::DType dtype, int64_t n, void* scratch,
                           cudaStream_t stream);

}  // namespace trtorch::backends::cuda
