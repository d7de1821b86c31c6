// The index plan of a permutation (the Transpose kernel, data_movement.cu), shared by host and
// device so that a CPU test checks it (tests/backends/permute_plan_test.cpp).
//
// Dims of size 1 are dropped; output-adjacent dims that are adjacent in the input are merged; the
// trailing run that stays contiguous in the input (ViT's transpose(0, 1) of [L, B, E] keeps rows
// of E) is copied in words of up to 16 bytes. With 32-bit index arithmetic and multiply-high
// division, output word i reads source word permute_source(plan, i).
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/backends/cuda/common/int_divider.cuh"

namespace trtorch::backends::cuda {

constexpr int kMaxPermuteDims = 8;

struct PermutePlan {
  int rank = 0;                          // dims left after merging, outermost first
  IntDivider size[kMaxPermuteDims];      // output sizes
  uint32_t stride[kMaxPermuteDims] = {};  // source strides, in words
  IntDivider unit;                       // words per contiguous run
  int word = 1;                          // bytes per word
  uint32_t words = 0;                    // output words
  bool ok = false;                       // false: over 2^31 words (the 64-bit kernel runs)
};

// y = x.permute(perm) for a contiguous x of `in_shape` with elements of `elem` bytes.
inline PermutePlan plan_permute(const std::vector<int64_t>& in_shape, const std::vector<int64_t>& perm, size_t elem) {
  const size_t rank = in_shape.size();
  std::vector<int64_t> stride(rank, 1);
  for (size_t d = rank; d-- > 1;) stride[d - 1] = stride[d] * in_shape[d];
  int64_t n = 1;
  for (int64_t s : in_shape) n *= s;
  // Output dims (size, source stride in elements): drop 1s, merge d with d+1 where the source is
  // contiguous across them, then split off the trailing contiguous run.
  std::vector<std::pair<int64_t, int64_t>> dims;
  for (size_t d = 0; d < rank; ++d) {
    const int64_t sz = in_shape[size_t(perm[d])], sd = stride[size_t(perm[d])];
    if (sz == 1) continue;
    if (!dims.empty() && dims.back().second == sd * sz)
      dims.back() = {dims.back().first * sz, sd};
    else
      dims.emplace_back(sz, sd);
  }
  int64_t unit = 1;
  if (!dims.empty() && dims.back().second == 1) {
    unit = dims.back().first;
    dims.pop_back();
  }
  PermutePlan p;
  // The widest word that divides the run and every stride (in bytes).
  p.word = 16;
  auto divides = [&](int64_t elems) { return (elems * int64_t(elem)) % p.word == 0; };
  while (p.word > int(elem) &&
         !(divides(unit) && std::all_of(dims.begin(), dims.end(), [&](const auto& d) { return divides(d.second); })))
    p.word /= 2;
  const int64_t per_word = p.word / int64_t(elem);
  const int64_t words = n / per_word;
  p.ok = words < (int64_t(1) << 31) && int(dims.size()) <= kMaxPermuteDims;
  if (!p.ok) return p;
  p.rank = int(dims.size());
  for (int d = 0; d < p.rank; ++d) {
    p.size[d] = IntDivider(uint32_t(dims[size_t(d)].first));
    p.stride[d] = uint32_t(dims[size_t(d)].second / per_word);
  }
  p.unit = IntDivider(uint32_t(unit / per_word));
  p.words = uint32_t(words);
  return p;
}

// The source word of output word i.
__host__ __device__ inline uint32_t permute_source(const PermutePlan& p, uint32_t i) {
  uint32_t inner;
  uint32_t r = p.unit.divmod(i, inner);
  uint32_t off = inner;
  for (int d = p.rank - 1; d >= 0; --d) {
    uint32_t c;
    r = p.size[d].divmod(r, c);
    off += c * p.stride[d];
  }
  return off;
}

}  // namespace trtorch::backends::cuda
