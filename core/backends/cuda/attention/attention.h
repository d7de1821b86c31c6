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
  // With bshd: q, k and v are slots 0, 1 and 2 of one [B, seq, 3, H, d] tensor (the kernels get
  // pointers to each slot's first element and step 3 * H * d between sequence positions).
  bool packed = false;
  // Element strides of the bias along lead..., L, S (0 along broadcast dims).
  std::vector<int64_t> bias_strides;

  int64_t batch() const {
    int64_t b = 1;
    for (int64_t d : lead) b *= d;
    return b;
  }
  int64_t heads() const { return lead.empty() ? 1 : lead.back(); }
  // Elements between the sequence positions of q, k and v (bshd), or of one head's rows.
  int64_t in_seq_stride(int64_t d) const { return bshd ? (packed ? 3 : 1) * heads() * d : d; }
  // The element offsets of k and v from the pointer the node's inputs give (packed: slots 1, 2).
  int64_t k_offset() const { return packed ? heads() * E : 0; }
  int64_t v_offset() const { return packed ? 2 * heads() * E : 0; }
  std::string signature() const;
};

// Checks that the direct kernel can run `p` on the device (its shared memory: a row of scores
// and the query) and raises the kernel's shared-memory limit where needed; once, before
// launches (not allowed inside CUDA graph capture). An error names the problem.
void prepare_attention_direct(const AttentionProblem& p, const cudaDeviceProp& props);

void launch_attention_direct(const AttentionProblem& p, const void* q, const void* k, const void* v, const void* bias,
                             void* y, cudaStream_t stream);

}  // namespace trtorch::backends::cuda
