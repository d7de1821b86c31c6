// CUTLASS SM90 GEMMs with a fused bias + GELU(erf) epilogue, for Linear (gemm.cpp):
//   Y[M, N] = gelu_erf(X[M, K] * W[N, K]^T + bias[N])
// X, W and Y row-major, FP16 or BF16 storage, FP32 accumulation and epilogue, rounded once.
// cuBLASLt's GELU epilogue is the tanh approximation; this is the erf form in one kernel.
//
// Plain C++ declarations: only gemm_cutlass.cu includes CUTLASS.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/ir/dtype.h"

namespace trtorch::backends::cuda::cutlass_gemm {

// Tile (M x N x K) / cluster / schedule of one kernel; each is instantiated for FP16 and BF16.
// Names are serialized in tactics: append only, never rename.
enum class Config : uint8_t {
  k128x128x64Coop,     // 128x128x64 tile, 2x1x1 cluster, cooperative (TMA warp-specialized)
  k128x256x64Coop,     // 128x256x64 tile, 2x1x1 cluster, cooperative
  k64x128x64Pingpong,  // 64x128x64 tile, 1x1x1 cluster, ping-pong (small M)
  k128x128x64Pingpong, // 128x128x64 tile, 2x1x1 cluster, ping-pong: one warp group's epilogue
                       // (bias + GELU) overlaps the other's main loop, for short K (BERT's FFN-1)
  kCount
};
constexpr int kNumConfigs = int(Config::kCount);

// "128x128x64_2x1_coop", ...
const char* config_name(Config c);
// The config named `name`; false when there is none.
bool config_from_name(const std::string& name, Config* c);

// Whether the kernels take this problem: dtype FP16 or BF16, N and K multiples of 8 (16-byte
// rows for TMA), 1 <= M, N, K < 2^31, and every pointer aligned to `align` bytes with
// align % 16 == 0. Same answer for every config.
bool supported(ir::DType dtype, int64_t M, int64_t N, int64_t K, size_t align);

// Workspace (bytes) that run() needs for this config and problem on a GPU with `sm_count` SMs.
size_t workspace_bytes(Config c, ir::DType dtype, int64_t M, int64_t N, int64_t K, int sm_count);

// Launches one kernel on `stream` (capturable: no synchronization, no allocation). `bias` may be
// null (no bias). The problem must be supported(); pointers are checked for 16-byte alignment
// and the workspace for size. Throws trtorch::Error naming the config and problem on failure.
void run(Config c, ir::DType dtype, const void* x, const void* w, const void* bias, void* y, int64_t M, int64_t N,
         int64_t K, void* workspace, size_t workspace_bytes, int sm_count, cudaStream_t stream);

}  // namespace trtorch::backends::cuda::cutlass_gemm
