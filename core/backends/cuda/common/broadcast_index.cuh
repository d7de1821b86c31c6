// Element offsets of N row-major operands broadcast (numpy rules) against a row-major output, at
// a linear output index, in 32-bit arithmetic: the kernels' per-element index math is one
// multiply-high divmod per coalesced dim instead of a 64-bit % and / per dim (each ~40+
// instructions), which dominated the time of Where and broadcast Compare.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/backends/cuda/common/coalesce.h"
#include "core/backends/cuda/common/device_math.cuh"
#include "core/backends/cuda/common/int_divider.cuh"

namespace trtorch::backends::cuda {

template <int N>
struct BroadcastIndex {
  int rank = 1;                           // coalesced dims, innermost first
  IntDivider size[kMaxDims];              // d < rank - 1: the size of dim d (the outermost needs none)
  uint32_t stride[N][kMaxDims] = {{0}};   // each operand's offset step along dim d (0: broadcast)

  __device__ __forceinline__ void offsets(uint32_t i, uint32_t (&off)[N]) const {
#pragma unroll
    for (int k = 0; k < N; ++k) off[k] = 0;
#pragma unroll
    for (int d = 0; d < kMaxDims; ++d) {
      uint32_t c = i;  // the outermost dim's coordinate is what is left of i
      if (d < rank - 1) i = size[d].divmod(i, c);
#pragma unroll
      for (int k = 0; k < N; ++k) off[k] += c * stride[k][d];
      if (d == rank - 1) break;
    }
  }
};

// The BroadcastIndex of operands of shapes `in` against the output shape `out` (rank at most
// kMaxDims, at least one element), over the coalesced dims (coalesce.h), or false when the
// output's element count or an operand's offset does not fit in 31 bits: the caller keeps a 64-bit
// kernel for those.
template <int N>
bool make_broadcast_index(const std::vector<int64_t>& out, const std::array<std::vector<int64_t>, N>& in,
                          BroadcastIndex<N>& r) {
  const int rank = int(out.size());
  std::array<std::vector<int64_t>, N> strides;  // each operand's strides along out's dims, 0 where broadcast
  for (int k = 0; k < N; ++k) {
    const auto& s = in[size_t(k)];
    const std::vector<int64_t> own = contiguous_strides(s);
    strides[size_t(k)].assign(size_t(rank), 0);
    for (int d = 0; d < rank; ++d) {
      const int sd = d - (rank - int(s.size()));
      if (sd >= 0 && s[size_t(sd)] != 1) strides[size_t(k)][size_t(d)] = own[size_t(sd)];
    }
  }
  const Coalesced<N> c = coalesce<N>(out, strides);
  if (!c.fits_int32) return false;
  r = BroadcastIndex<N>{};
  r.rank = int(c.size.size());
  for (int d = 0; d < r.rank; ++d) {
    if (d < r.rank - 1) r.size[d] = IntDivider(uint32_t(c.size[size_t(d)]));
    for (int k = 0; k < N; ++k) r.stride[k][d] = uint32_t(c.stride[size_t(k)][size_t(d)]);
  }
  return true;
}

}  // namespace trtorch::backends::cuda
