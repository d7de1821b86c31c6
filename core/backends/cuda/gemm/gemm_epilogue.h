// Device helpers of the cuBLASLt GEMM kernels (gemm.cpp): the elementwise epilogue that runs
// after a GEMM when cuBLASLt cannot fuse it (random fill for timing: conv_epilogue.h).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/ir/attrs.h"

namespace trtorch::backends::cuda::gemm {

// y[r, c] = act(y[r, c] + bias[c]) in place on a row-major [rows, cols] tensor of dtype `dt`
// (FP32, FP16 or BF16; the arithmetic is FP32). `bias` may be null (no bias); `has_act` false
// skips the activation. Activations follow PyTorch (the same formulas as the reference backend).
void launch_bias_act(ir::DType dt, void* y, const void* bias, int64_t rows, int64_t cols, bool has_act,
                     ir::UnaryKind act, float alpha, float beta, cudaStream_t stream);

}  // namespace trtorch::backends::cuda::gemm
