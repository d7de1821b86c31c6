// The direct attention kernel (attention.cu): any dtype of f32/f16/bf16, any head size, any
// broadcast bias; a block per query row with the row's scores in shared memory. The CUDA
// backend uses it where cuDNN's fused SDPA does not apply (FP32, unsupported head sizes or bias
// shapes), see attention.cpp.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/ir/ir.h"

namespace trtorch::backends::cuda {

struct AttentionProblem {
  ir::DType dtype = ir::DType::kFloat16;
  std::vector<int64_t> lead;  // leading (batch, head, ...) dims of q, k, v and the output
  int64_t L = 0, S = 0, E = 0, Ev = 0;
  float scale = 1.0f;
  bool causal = false;
  bool has_bias = false;
  // q, k, v and the output are [B, seq, H, d] (lead = {B, H}) instead of [lead..., seq, d].
  bool bshd = false;
  // Element strides of the bias along lead..., L, S (0 along broadcast dims).
  std::vector<int64_t> bias_strides;

  int64_t batch() const {
    int64_t b = 1;
    for (int64_t d : lead) b *= d;
    return b;
  }
  int64_t heads() const { return lead.empty() ? 1 : lead.back(); }
  std::string signature() const;
};

// Checks that the direct kernel can run `p` on the device (its shared memory: a row of scores
// and the query) and raises the kernel's shared-memory limit where needed; once, before
// launches (not allowed inside CUDA graph capture). An error names the problem.
void prepare_attention_direct(const AttentionProblem& p, const cudaDeviceProp& props);

void launch_attention_direct(const AttentionProblem& p, const void* q, const void* k, const void* v, const void* bias,
                             void* y, cudaStream_t stream);

}  // namespace trtorch::backends::cuda
