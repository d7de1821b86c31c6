// The block-wide reduction shared by the reduction kernels of several families (reduce/reduce.cu,
// norm/layer_norm.cu): warp shuffles, then one value per warp through shared memory.
#pragma once

namespace trtorch::backends::cuda {

// Reduces v across the block (all threads get the result).
template <typename Op>
__device__ inline float block_reduce(float v, Op op, float ident) {
  __shared__ float shared[32];
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  int nwarps = (blockDim.x + 31) >> 5;
  v = lane < nwarps ? shared[lane] : ident;
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

}  // namespace trtorch::backends::cuda
