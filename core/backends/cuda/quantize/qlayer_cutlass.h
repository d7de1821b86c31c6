// CUTLASS SM90 INT8 kernels of the INT8 layers (QConv2d, QLinear; qlayer.cu): int8 x int8 on the
// tensor cores with int32 accumulation, and the epilogue
//   D = clamp(alpha[k] * float(acc) + bias[k] + beta * float(C), lo, hi), rounded once to D's type
// (int8: round half to even, saturating; FP16), k the output channel, C the residual: of D's type,
// or FP16 under an int8 D (a convolution only: a block whose residual is a float tensor).
// The caller folds the layer's output scale into alpha, bias, beta and the bounds.
//
//   conv: implicit GEMM fprop, x NHWC [N, H, W, C], w KRSC [K, R, S, C], D and C NHWC [N, OH, OW, K]
//   gemm: x [M, K] row-major, w [N, K] row-major, D and C [M, N] row-major
//
// Plain C++ declarations: only qlayer_cutlass_conv.cu and qlayer_cutlass_gemm.cu include CUTLASS.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/ir/dtype.h"

namespace trtorch::backends::cuda::cutlass_int8 {

// Tile (M x N x K) of one kernel, 1x1x1 cluster; each is instantiated for int8 and FP16 outputs
// (convolutions also for an int8 output with an FP16 residual). The GEMMs are persistent
// (cooperative for the 128-row tiles, ping-pong for the 64-row one), the
// convolutions TMA warp-specialized (CUTLASS 4.2 has no persistent SM90 convolution). Names are
// serialized in tactics: append only, never rename.
enum class Config : uint8_t {
  k128x128x128,
  k64x128x128,  // small M
  // K tiles of 64: layers of 64 input channels (ResNet's first stage), where a 128-deep tile over
  // C would be half zeros at every filter tap; and an N tile of 64 for 64 output channels.
  k128x128x64,
  k128x64x64,
  kCount
};
constexpr int kNumConfigs = int(Config::kCount);

const char* config_name(Config c);
bool config_from_name(const std::string& name, Config* c);

// The epilogue and the operands both kinds share.
struct Epilogue {
  const float* alpha = nullptr;  // device, FP32 [K]
  const float* bias = nullptr;   // device, FP32 [K]
  float beta = 0.0f;             // 0: no residual (C is not read)
  const void* residual = nullptr;
  float lo = 0.0f, hi = 0.0f;    // the clamp (infinite for none)
  ir::DType out = ir::DType::kInt8;  // int8 or float16
  ir::DType residual_dtype = ir::DType::kInt8;  // out's, or float16 under an int8 out (convolutions)
};

struct ConvProblem {
  int N = 0, H = 0, W = 0, C = 0, K = 0, R = 0, S = 0, OH = 0, OW = 0;
  int ph = 0, pw = 0, sh = 1, sw = 1, dh = 1, dw = 1;
  const int8_t* x = nullptr;
  const int8_t* w = nullptr;
  void* y = nullptr;
  Epilogue epi;
};

struct GemmProblem {
  int M = 0, N = 0, K = 0;
  const int8_t* x = nullptr;
  const int8_t* w = nullptr;
  void* y = nullptr;
  Epilogue epi;
};

// Whether the kernels take the problem (dtypes, 16-byte rows, sizes within int32); the same
// answer for every config. CUTLASS's own can_implement is asked again at launch.
bool supported(const ConvProblem& p);
bool supported(const GemmProblem& p);

// Workspace bytes run() needs.
size_t workspace_bytes(Config c, const ConvProblem& p, int device, int sm_count);
size_t workspace_bytes(Config c, const GemmProblem& p, int device, int sm_count);

// Launches one kernel on `stream` (capturable: no synchronization, no allocation). Throws
// trtorch::Error naming the config and problem when CUTLASS refuses it or the launch fails.
void run(Config c, const ConvProblem& p, void* workspace, size_t workspace_bytes, int device, int sm_count,
         cudaStream_t stream);
void run(Config c, const GemmProblem& p, void* workspace, size_t workspace_bytes, int device, int sm_count,
         cudaStream_t stream);

// Whether CUTLASS accepts the problem for this config (its can_implement: TMA im2col limits on
// padding and filter size among others).
bool can_implement(Config c, const ConvProblem& p, int device, int sm_count);
bool can_implement(Config c, const GemmProblem& p, int device, int sm_count);

}  // namespace trtorch::backends::cuda::cutlass_int8
