// The dim coalescing of broadcast elementwise kernels (core/backends/cuda/coalesce.h), on the CPU:
// walking the coalesced dims must visit every output element in order with the same operand
// offsets as the uncoalesced problem, and the 31-bit check must say whether they fit.
#include "core/backends/cuda/common/coalesce.h"

#include <gtest/gtest.h>

#include <random>

using namespace trtorch::backends::cuda;

namespace {

// Per output element (row-major over `out`), each operand's offset along `strides`.
template <int N>
std::vector<std::array<int64_t, N>> offsets(const std::vector<int64_t>& out,
                                            const std::array<std::vector<int64_t>, N>& strides) {
  int64_t n = 1;
  for (int64_t s : out) n *= s;
  std::vector<std::array<int64_t, N>> r(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t rem = i;
    std::array<int64_t, N> off{};
    for (int d = int(out.size()) - 1; d >= 0; --d) {
      const int64_t c = rem % out[size_t(d)];
      rem /= out[size_t(d)];
      for (int k = 0; k < N; ++k) off[size_t(k)] += c * strides[size_t(k)][size_t(d)];
    }
    r[size_t(i)] = off;
  }
  return r;
}

}  // namespace

TEST(Coalesce, KeepsEveryOffsetOfRandomBroadcasts) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 500; ++trial) {
    const int rank = 1 + int(rng() % 5);
    std::vector<int64_t> out(static_cast<size_t>(rank));
    for (auto& s : out) s = 1 + int64_t(rng() % 4);
    // Operand 0 dense; operands 1 and 2 broadcast along random dims (their dense strides over
    // the kept dims).
    std::array<std::vector<int64_t>, 3> st;
    for (int k = 0; k < 3; ++k) {
      st[size_t(k)].assign(size_t(rank), 0);
      int64_t step = 1;
      for (int d = rank - 1; d >= 0; --d) {
        const bool kept = k == 0 || rng() % 2 == 0;
        if (kept && out[size_t(d)] != 1) {
          st[size_t(k)][size_t(d)] = step;
          step *= out[size_t(d)];
        }
      }
    }
    const Coalesced<3> c = coalesce<3>(out, st);
    ASSERT_TRUE(c.fits_int32);
    for (int k = 0; k < 3; ++k) ASSERT_EQ(c.stride[size_t(k)].size(), c.size.size());
    // c.size is innermost first: the uncoalesced walk of its reversal.
    std::vector<int64_t> cout(c.size.rbegin(), c.size.rend());
    std::array<std::vector<int64_t>, 3> cst;
    for (int k = 0; k < 3; ++k) cst[size_t(k)].assign(c.stride[size_t(k)].rbegin(), c.stride[size_t(k)].rend());
    EXPECT_EQ(offsets<3>(cout, cst), offsets<3>(out, st)) << "trial " << trial;
  }
}

TEST(Coalesce, MergesDenseAndBroadcastRuns) {
  // [32, 144, 56, 56] times [32, 144, 1, 1]: one dense run of 56*56 against a broadcast element,
  // then 32*144 rows.
  const Coalesced<2> c = coalesce<2>({32, 144, 56, 56}, {std::vector<int64_t>{144 * 3136, 3136, 56, 1},
                                                         std::vector<int64_t>{144, 1, 0, 0}});
  EXPECT_EQ(c.size, (std::vector<int64_t>{3136, 32 * 144}));
  EXPECT_EQ(c.stride[0], (std::vector<int64_t>{1, 3136}));
  EXPECT_EQ(c.stride[1], (std::vector<int64_t>{0, 1}));
  const Coalesced<1> one = coalesce<1>({1, 1}, {std::vector<int64_t>{0, 0}});
  EXPECT_EQ(one.size, (std::vector<int64_t>{1}));
  EXPECT_EQ(one.stride[0], (std::vector<int64_t>{0}));
}

TEST(Coalesce, SaysWhenOffsetsExceed31Bits) {
  EXPECT_TRUE(coalesce<1>({INT32_MAX}, {std::vector<int64_t>{1}}).fits_int32);
  EXPECT_FALSE(coalesce<1>({int64_t(INT32_MAX) + 1}, {std::vector<int64_t>{1}}).fits_int32);
  // Few elements, but an operand stride that reaches past 2^31.
  EXPECT_FALSE(coalesce<1>({2, 3}, {std::vector<int64_t>{int64_t(1) << 31, 1}}).fits_int32);
}
