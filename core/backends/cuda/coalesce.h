// Dim coalescing of a broadcast elementwise problem, on the host (plain C++: its CPU test needs no
// GPU). Shared by Binary (elementwise.cu) and the BroadcastIndex of Where and Compare
// (broadcast_index.cuh).
#pragma once

#include <array>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace trtorch::backends::cuda {

// A dense output walked in a fixed dim order, with N operands read at per-dim element strides
// (0 along broadcast dims), after coalescing: innermost first, the output's size-1 dims dropped
// (their coordinate is always 0), and a dim merged into the (merged) dim inside it when, for every
// operand, stepping the outer dim is the same as stepping past the whole inner one
// (stride_outer == stride_inner * size_inner; two broadcast dims, both strides 0, merge too).
template <int N>
struct Coalesced {
  std::vector<int64_t> size;                  // innermost first; {1} for a single element
  std::array<std::vector<int64_t>, N> stride;  // per operand, along `size`
  // Every output index and every operand offset fits in 31 bits (32-bit kernels may run it).
  bool fits_int32 = false;
};

// `out`: the output's dims in walking order, outermost first; `strides[k][d]`: operand k's
// element stride along out[d].
template <int N>
Coalesced<N> coalesce(const std::vector<int64_t>& out, const std::array<std::vector<int64_t>, N>& strides) {
  Coalesced<N> c;
  for (int d = int(out.size()) - 1; d >= 0; --d) {
    const int64_t sz = out[size_t(d)];
    if (sz == 1) continue;
    bool merge = !c.size.empty();
    for (int k = 0; k < N && merge; ++k)
      merge = strides[size_t(k)][size_t(d)] == c.stride[size_t(k)].back() * c.size.back();
    if (merge) {
      c.size.back() *= sz;
      continue;
    }
    c.size.push_back(sz);
    for (int k = 0; k < N; ++k) c.stride[size_t(k)].push_back(strides[size_t(k)][size_t(d)]);
  }
  if (c.size.empty()) {  // a single element
    c.size = {1};
    for (auto& s : c.stride) s = {0};
  }
  const int64_t kLim = int64_t(INT32_MAX);
  int64_t n = 1;
  for (int64_t s : c.size) n *= s;
  c.fits_int32 = n <= kLim;
  for (int k = 0; k < N && c.fits_int32; ++k) {
    int64_t max_off = 0;
    for (size_t d = 0; d < c.size.size(); ++d) max_off += (c.size[d] - 1) * c.stride[size_t(k)][d];
    c.fits_int32 = max_off <= kLim;
  }
  return c;
}

}  // namespace trtorch::backends::cuda
