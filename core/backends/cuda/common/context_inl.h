// Template definitions for context.h.
#pragma once

#include <algorithm>
#include <vector>

#include "core/backends/cuda/common/cuda_check.h"

namespace trtorch::backends::cuda {

template <typename F>
float time_ms(Context& ctx, int warmup, int iters, F&& fn) {
  cudaStream_t s = ctx.stream();
  for (int i = 0; i < warmup; ++i) fn(s);
  cudaEvent_t a, b;
  TRTORCH_CUDA_CHECK(cudaEventCreate(&a));
  TRTORCH_CUDA_CHECK(cudaEventCreate(&b));
  std::vector<float> ms;
  for (int i = 0; i < std::max(iters, 1); ++i) {
    TRTORCH_CUDA_CHECK(cudaEventRecord(a, s));
    fn(s);
    TRTORCH_CUDA_CHECK(cudaEventRecord(b, s));
    TRTORCH_CUDA_CHECK(cudaEventSynchronize(b));
    float t = 0;
    TRTORCH_CUDA_CHECK(cudaEventElapsedTime(&t, a, b));
    ms.push_back(t);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace trtorch::backends::cuda
