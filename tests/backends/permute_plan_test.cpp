// The Transpose kernel's index plan (core/backends/cuda/permute_plan.h) on the CPU: for random
// shapes, permutations and element sizes, every output element must read the source element
// that a plain permutation reads. Needs no GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "core/backends/cuda/data_movement/permute_plan.h"

using trtorch::backends::cuda::PermutePlan;
using trtorch::backends::cuda::permute_source;
using trtorch::backends::cuda::plan_permute;

namespace {

// Source element of output element e of x.permute(perm).
int64_t naive_source(const std::vector<int64_t>& shape, const std::vector<int64_t>& perm, int64_t e) {
  const size_t r = shape.size();
  std::vector<int64_t> stride(r, 1);
  for (size_t d = r; d-- > 1;) stride[d - 1] = stride[d] * shape[d];
  int64_t off = 0;
  for (size_t d = r; d-- > 0;) {
    const int64_t sz = shape[size_t(perm[d])];
    off += (e % sz) * stride[size_t(perm[d])];
    e /= sz;
  }
  return off;
}

void check(const std::vector<int64_t>& shape, const std::vector<int64_t>& perm, size_t elem, int* widest) {
  const PermutePlan p = plan_permute(shape, perm, elem);
  ASSERT_TRUE(p.ok);
  const int64_t per_word = p.word / int64_t(elem);
  ASSERT_GE(per_word, 1);
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  ASSERT_EQ(int64_t(p.words) * per_word, n);
  for (int64_t e = 0; e < n; ++e) {
    const int64_t got = int64_t(permute_source(p, uint32_t(e / per_word))) * per_word + e % per_word;
    ASSERT_EQ(got, naive_source(shape, perm, e)) << "element " << e << ", word " << p.word << " bytes";
  }
  *widest = std::max(*widest, p.word);
}

}  // namespace

TEST(PermutePlan, MatchesAPlainPermutation) {
  std::mt19937 rng(7);
  int widest = 0;
  for (int trial = 0; trial < 600; ++trial) {
    const size_t rank = 1 + rng() % 6;
    std::vector<int64_t> shape(rank), perm(rank);
    for (auto& s : shape) s = 1 + int64_t(rng() % 7);
    if (rng() % 3 == 0) shape.back() = 8 * (1 + int64_t(rng() % 4));  // rows that fill 16-byte words
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    if (rng() % 2) std::sort(perm.end() - 1 - int64_t(rng() % rank), perm.end());  // keep a trailing run
    const size_t elem = size_t(1) << (rng() % 4);
    check(shape, perm, elem, &widest);
    if (HasFatalFailure()) return;
  }
  EXPECT_EQ(widest, 16);  // the wide-word path was exercised
}

TEST(PermutePlan, TransformerShapes) {
  int widest = 0;
  check({197, 4, 768}, {1, 0, 2}, 2, &widest);  // ViT: [L, B, E] -> [B, L, E]
  EXPECT_EQ(widest, 16);
  check({2, 5, 12, 64}, {0, 2, 1, 3}, 2, &widest);  // heads: [B, S, H, d] -> [B, H, S, d]
  check({2, 12, 5, 64}, {0, 1, 3, 2}, 4, &widest);  // k^T: the inner dim moves (one element a word)
  const PermutePlan p = plan_permute({2, 12, 5, 64}, {0, 1, 3, 2}, 4);
  EXPECT_EQ(p.word, 4);
  check({3, 1, 5, 1}, {3, 2, 1, 0}, 8, &widest);  // size-1 dims
  check({6}, {0}, 1, &widest);                    // a copy
}
