// Element offsets of N row-major operands broadcast (numpy rules) against a row-major output, at
// a linear output index, in 32-bit arithmetic: the kernels' per-element index math is one
// multiply-high divmod per coalesced dim instead of a 64-bit % and / per dim (each ~40+
// instructions), which dominated the time of Where and broadcast Compare.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/backends/cuda/device_math.cuh"
#include "core/backends/cuda/int_divider.cuh"

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
// kMaxDims, at least one element), or false when the output's element count or an operand's offset does not fit in 31
// bits: the caller keeps a 64-bit kernel for those.
//
// Dims are coalesced, innermost first: the output's size-1 dims are dropped (their coordinate is
// always 0), and a dim is merged into the (merged) dim inside it when, for every operand, stepping
// the outer dim is the same as stepping past the whole inner one (stride_outer == stride_inner *
// size_inner; two broadcast dims, both strides 0, merge too).
template <int N>
bool make_broadcast_index(const std::vector<int64_t>& out, const std::array<std::vector<int64_t>, N>& in,
                          BroadcastIndex<N>& r) {
  std::vector<int64_t> size;
  std::array<std::vector<int64_t>, N> stride;
  std::array<std::vector<int64_t>, N> own;  // each operand's dense strides, right-aligned to `out`
  for (int k = 0; k < N; ++k) own[size_t(k)] = contiguous_strides(in[size_t(k)]);
  const int rank = int(out.size());
  for (int d = rank - 1; d >= 0; --d) {
    if (out[size_t(d)] == 1) continue;
    int64_t st[N];
    for (int k = 0; k < N; ++k) {
      const auto& s = in[size_t(k)];
      const int sd = d - (rank - int(s.size()));
      st[k] = (sd < 0 || s[size_t(sd)] == 1) ? 0 : own[size_t(k)][size_t(sd)];
    }
    bool merge = !size.empty();
    for (int k = 0; k < N && merge; ++k) merge = st[k] == stride[size_t(k)].back() * size.back();
    if (merge) {
      size.back() *= out[size_t(d)];
      continue;
    }
    size.push_back(out[size_t(d)]);
    for (int k = 0; k < N; ++k) stride[size_t(k)].push_back(st[k]);
  }
  if (size.empty()) {  // a single element
    size = {1};
    for (auto& s : stride) s = {0};
  }

  const int64_t kLim = int64_t(INT32_MAX);
  int64_t n = 1;
  for (int64_t s : size) n *= s;
  if (n > kLim) return false;
  for (int k = 0; k < N; ++k) {
    int64_t max_off = 0;
    for (size_t d = 0; d < size.size(); ++d) max_off += (size[d] - 1) * stride[size_t(k)][d];
    if (max_off > kLim) return false;
  }
  r = BroadcastIndex<N>{};
  r.rank = int(size.size());
  for (int d = 0; d < r.rank; ++d) {
    if (d < r.rank - 1) r.size[d] = IntDivider(uint32_t(size[size_t(d)]));
    for (int k = 0; k < N; ++k) r.stride[k][d] = uint32_t(stride[size_t(k)][size_t(d)]);
  }
  return true;
}

}  // namespace trtorch::backends::cuda
