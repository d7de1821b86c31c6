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

// A dense output walked in a fixed dim order, with operands read at per-dim element strides
// (0 along broadcast dims), after coalescing: innermost first, the output's size-1 dims dropped
// (their coordinate is always 0), and a dim merged into the (merged) dim inside it when, for every
// operand, stepping the outer dim is the same as stepping past the whole inner one
// (stride_outer == stride_inner * size_inner; two broadcast dims, both strides 0, merge too).
// Operand count known at run time (the generated pointwise kernels).
struct CoalescedDims {
  std::vector<int64_t> size;                 // innermost first; {1} for a single element
  std::vector<std::vector<int64_t>> stride;  // per operand, along `size`
  // Every output index and every operand offset fits in 31 bits (32-bit kernels may run it).
  bool fits_int32 = false;
};

// `out`: the output's dims in walking order, outermost first; `strides[k][d]`: operand k's
// element stride along out[d].
inline CoalescedDims coalesce_dims(const std::vector<int64_t>& out, const std::vector<std::vector<int64_t>>& strides) {
  const size_t n_ops = strides.size();
  CoalescedDims c;
  c.stride.resize(n_ops);
  for (int d = int(out.size()) - 1; d >= 0; --d) {
    const int64_t sz = out[size_t(d)];
    if (sz == 1) continue;
    bool merge = !c.size.empty();
    for (size_t k = 0; k < n_ops && merge; ++k) merge = strides[k][size_t(d)] == c.stride[k].back() * c.size.back();
    if (merge) {
      c.size.back() *= sz;
      continue;
    }
    c.size.push_back(sz);
    for (size_t k = 0; k < n_ops; ++k) c.stride[k].push_back(strides[k][size_t(d)]);
  }
  if (c.size.empty()) {  // a single element
    c.size = {1};
    for (auto& s : c.stride) s = {0};
  }
  const int64_t kLim = int64_t(INT32_MAX);
  int64_t n = 1;
  for (int64_t s : c.size) n *= s;
  c.fits_int32 = n <= kLim;
  for (size_t k = 0; k < n_ops && c.fits_int32; ++k) {
    int64_t max_off = 0;
    for (size_t d = 0; d < c.size.size(); ++d) max_off += (c.size[d] - 1) * c.stride[k][d];
    c.fits_int32 = max_off <= kLim;
  }
  return c;
}

// The same with N operands known at compile time (Binary, Where, Compare).
template <int N>
struct Coalesced {
  std::vector<int64_t> size;
  std::array<std::vector<int64_t>, N> stride;
  bool fits_int32 = false;
};

template <int N>
Coalesced<N> coalesce(const std::vector<int64_t>& out, const std::array<std::vector<int64_t>, N>& strides) {
  CoalescedDims d = coalesce_dims(out, std::vector<std::vector<int64_t>>(strides.begin(), strides.end()));
  Coalesced<N> c;
  c.size = std::move(d.size);
  for (int k = 0; k < N; ++k) c.stride[size_t(k)] = std::move(d.stride[size_t(k)]);
  c.fits_int32 = d.fits_int32;
  return c;
}

}  // namespace trtorch::backends::cuda
