// CUTLASS SM90 FP16/BF16 convolutions, compiled into the library ahead of time (no runtime
// compilation at build, load or a new shape): CUTLASS 3's implicit GEMM fprop over NHWC
// activations and KRSC filters (GEMM M = N*OH*OW, N = K, K = R*S*C) on the tensor cores, TMA
// warp-specialized, FP32 accumulation, with the node's whole epilogue fused:
//   y = act(acc + bias[k] + residual)        computed in FP32, rounded once to y's type
// act one of: none, ReLU, clamp (ReLU6, hardtanh: CUTLASS's Clamp with the bounds), SiLU.
// The bias is FP32 (the kernel converts a constant FP16/BF16 bias once), the residual of y's type.
//
// The Conv2d kernel (conv.h) times these configs beside cuDNN's engine configs and keeps the
// fastest that passes the same check against the direct convolution.
//
// Plain C++ declarations: only conv_cutlass_*.cu include CUTLASS.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/ir/attrs.h"
#include "core/ir/dtype.h"

namespace trtorch::backends::cuda::cutlass_conv {

// Tile (M x N x K) and schedule of one kernel; each is instantiated for FP16 and BF16 and every
// Act. The K tile is 64 elements (128 bytes: one 128-byte TMA swizzle row). Names are serialized
// in tactics: append only, never rename.
enum class Config : uint8_t {
  // Implicit GEMM convolutions (TMA im2col), any filter size, stride and padding; not persistent
  // (CUTLASS 4.2 has no persistent SM90 convolution).
  k128x128x64,
  k128x64x64,  // 64 output channels (ResNet's first stage), small layers
  k64x128x64,  // few output pixels (batch 1, 7x7 and 14x14 maps)
  // 1x1 convolutions of stride 1 without padding as persistent GEMMs (conv_cutlass_gemm_impl.cuh):
  // the epilogue of one tile overlaps the main loop of the next, which the memory-bound 1x1
  // layers of a bottleneck block (K = C of 64 to 512) need.
  k1x1Gemm128x128Coop,      // 2x1x1 cluster, cooperative
  k1x1Gemm128x256Coop,      // 2x1x1 cluster, cooperative
  k1x1Gemm64x128Pingpong,   // 1x1x1 cluster, ping-pong
  k1x1Gemm128x128Pingpong,  // 2x1x1 cluster, ping-pong
  kCount
};
constexpr int kNumConfigs = int(Config::kCount);

// The activation kinds of the epilogue. kClamp is also none and ReLU (bounds -inf/+inf, 0/+inf).
enum class Act : uint8_t { kClamp, kSilu, kCount };

const char* config_name(Config c);
bool config_from_name(const std::string& name, Config* c);

struct Problem {
  ir::DType dtype = ir::DType::kFloat16;  // x, w, y, residual: float16 or bfloat16
  int N = 0, H = 0, W = 0, C = 0, K = 0, R = 0, S = 0, OH = 0, OW = 0;
  int ph = 0, pw = 0, sh = 1, sw = 1, dh = 1, dw = 1;
  const void* x = nullptr;         // NHWC [N, H, W, C]
  const void* w = nullptr;         // KRSC [K, R, S, C]
  void* y = nullptr;               // NHWC [N, OH, OW, K]
  const float* bias = nullptr;     // FP32 [K], or null (no bias)
  const void* residual = nullptr;  // NHWC [N, OH, OW, K] of dtype, or null (not read)
  Act act = Act::kClamp;
  float lo = 0.0f, hi = 0.0f;      // kClamp's bounds (+-infinity for none)
};

// The epilogue activation of a node's (has_act, act, alpha, beta), as Problem::act / lo / hi;
// false when these kernels have none for it (the convolution then stays on cuDNN).
bool epilogue_act(bool has_act, ir::UnaryKind act, float alpha, float beta, Act* out, float* lo, float* hi);

// Whether the kernels take the problem (dtype, channels multiples of 8: 16-byte rows, a stride of
// at most 8, the output size the node's, sizes within int32); the same answer for every config.
// CUTLASS's own can_implement (TMA's im2col limits on padding and filter size) is asked by
// can_implement().
bool supported(const Problem& p);
bool can_implement(Config c, const Problem& p, int device, int sm_count);

// Workspace bytes run() needs.
size_t workspace_bytes(Config c, const Problem& p, int device, int sm_count);

// Launches one kernel on `stream` (capturable: no synchronization, no allocation). Throws
// trtorch::Error naming the config and problem when CUTLASS refuses it or the launch fails.
void run(Config c, const Problem& p, void* workspace, size_t workspace_bytes, int device, int sm_count,
         cudaStream_t stream);

// ---------------------------------------------------------------------------------------------
// Folding (conv_fold.cu). A few-channel convolution of stride f >= 2 (an image's stem: its 3
// channels padded to 4) has too few channels for these kernels (C % 8) and would leave most of
// each 64-element K tile empty. Folded, its input is the partial im2col T [N, OH + R' - 1, OW, C']
// with R' = ceil(R / f), S' = ceil(S / f), C' = f * (f * S') * C:
//   T[n][h][w][(dy * f*S' + j) * C + c] = x[n][f*h + dy - ph][f*w + j - pw][c]   (0 outside x)
// and it is the stride-1 unpadded convolution of T with the R' x 1 filter of regrouped weights
//   w'[k][a][0][(dy * f*S' + j) * C + c] = w[k][f*a + dy][j][c]   (0 where f*a + dy >= R or j >= S).
// ResNet's 7x7 stride-2 stem on 4 channels becomes 4x1 on 64 channels; a 4x4 stride-4 patchify
// 1x1 on 64 channels (a GEMM config).

// Whether p (x NHWC) folds: float16/bfloat16, C a multiple of 4 below 8, sh == sw >= 2, dilation
// 1, and the folded problem supported() with C' <= 1024.
bool fold_fits(const Problem& p);
// The folded problem's shape (no tensors); p must fold_fits().
Problem folded(const Problem& p);
// Bytes of T.
size_t fold_bytes(const Problem& p);
// The folded weights w' (KRSC bytes of p.dtype) of p's KRSC weights `w`.
std::vector<uint8_t> fold_weights(const Problem& p, const std::vector<uint8_t>& w);
// Writes T of p.x to `t` (fold_bytes(p), 16-byte aligned) on `stream` (capturable).
void launch_fold(const Problem& p, void* t, cudaStream_t stream);

// "CUTLASS conv 128x128x64 f16 x=NxHxWxC w=KxRxSxC ..." for errors and descriptions.
std::string problem_str(Config c, const Problem& p);

}  // namespace trtorch::backends::cuda::cutlass_conv
