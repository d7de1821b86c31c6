// The fold of a few-channel strided convolution for the CUTLASS kernels (conv_cutlass.h,
// conv_fold.cu), on the CPU (no GPU needed): for random geometries, the stride-1 R' x 1
// convolution of T (built here from the header's definition) with the weights fold_weights()
// regroups equals the original convolution, exactly (small integers, FP16-exact). The device
// gather that writes T is checked against the reference backend in cuda_conv_test.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "core/backends/cuda/conv/conv_cutlass.h"
#include "core/ir/tensor.h"
#include "core/util/error.h"

namespace trtorch::backends::cuda::cutlass_conv {
namespace {

// Element [i] of an NHWC / KRSC array of dims d0..d3.
int64_t at(int64_t a, int64_t b, int64_t c, int64_t d, int64_t B, int64_t C, int64_t D) {
  return ((a * B + b) * C + c) * D + d;
}

TEST(ConvFold, FoldedConvolutionEqualsTheOriginal) {
  std::mt19937 rng(7);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int checked = 0;
  for (int trial = 0; trial < 300; ++trial) {
    Problem p;
    p.dtype = ir::DType::kFloat16;
    p.N = pick(1, 2), p.C = 4, p.K = 8;
    p.sh = p.sw = pick(2, 4);
    p.R = pick(1, 8), p.S = pick(1, 8);
    p.ph = pick(0, 3), p.pw = pick(0, 3);
    p.H = pick(1, 13), p.W = pick(1, 13);
    if (p.H + 2 * p.ph < p.R || p.W + 2 * p.pw < p.S) continue;
    p.OH = (p.H + 2 * p.ph - p.R) / p.sh + 1;
    p.OW = (p.W + 2 * p.pw - p.S) / p.sw + 1;
    if (!fold_fits(p)) continue;  // e.g. C' not a multiple of 8 (stride 3, one column group)
    const Problem q = folded(p);
    ASSERT_EQ(q.OH, p.OH);
    ASSERT_EQ(q.OW, p.OW);
    ASSERT_EQ(q.S, 1);
    ASSERT_EQ(q.sh, 1);
    ASSERT_EQ(q.ph, 0);
    ASSERT_EQ(q.H - q.R + 1, q.OH);  // the folded convolution's own output size
    ASSERT_EQ(q.W, q.OW);
    ASSERT_EQ(fold_bytes(p), size_t(q.N) * q.H * q.W * q.C * 2);

    std::vector<double> x(size_t(p.N) * p.H * p.W * p.C);
    for (double& v : x) v = pick(-4, 4);
    ir::HostTensor w(ir::DType::kFloat32, {p.K, p.R, p.S, p.C});
    for (int64_t i = 0; i < w.numel(); ++i) w.set(i, pick(-4, 4));
    const ir::HostTensor w16 = w.to(ir::DType::kFloat16);
    const std::vector<uint8_t> bytes(static_cast<const uint8_t*>(w16.data()),
                                     static_cast<const uint8_t*>(w16.data()) + w16.nbytes());
    const std::vector<uint8_t> folded_bytes = fold_weights(p, bytes);
    ir::HostTensor wf16(ir::DType::kFloat16, {q.K, q.R, 1, q.C});
    ASSERT_EQ(folded_bytes.size(), wf16.nbytes());
    std::memcpy(wf16.data(), folded_bytes.data(), folded_bytes.size());

    // T as conv_cutlass.h defines it.
    const int f = p.sh, span = q.C / (f * p.C);
    ASSERT_EQ(span % f, 0);
    std::vector<double> t(size_t(q.N) * q.H * q.W * q.C, 0.0);
    for (int n = 0; n < q.N; ++n)
      for (int h = 0; h < q.H; ++h)
        for (int ww = 0; ww < q.W; ++ww)
          for (int dy = 0; dy < f; ++dy)
            for (int j = 0; j < span; ++j)
              for (int c = 0; c < p.C; ++c) {
                const int xr = f * h + dy - p.ph, xc = f * ww + j - p.pw;
                if (xr < 0 || xr >= p.H || xc < 0 || xc >= p.W) continue;
                t[size_t(at(n, h, ww, (dy * span + j) * p.C + c, q.H, q.W, q.C))] =
                    x[size_t(at(n, xr, xc, c, p.H, p.W, p.C))];
              }
    for (int n = 0; n < p.N; ++n)
      for (int oh = 0; oh < p.OH; ++oh)
        for (int ow = 0; ow < p.OW; ++ow)
          for (int k = 0; k < p.K; ++k) {
            double want = 0, got = 0;
            for (int r = 0; r < p.R; ++r)
              for (int s = 0; s < p.S; ++s)
                for (int c = 0; c < p.C; ++c) {
                  const int xr = f * oh + r - p.ph, xc = f * ow + s - p.pw;
                  if (xr < 0 || xr >= p.H || xc < 0 || xc >= p.W) continue;
                  want += x[size_t(at(n, xr, xc, c, p.H, p.W, p.C))] * w.get(at(k, r, s, c, p.R, p.S, p.C));
                }
            for (int a = 0; a < q.R; ++a)
              for (int c = 0; c < q.C; ++c)
                got += t[size_t(at(n, oh + a, ow, c, q.H, q.W, q.C))] * wf16.get(at(k, a, 0, c, q.R, 1, q.C));
            ASSERT_EQ(got, want) << "f=" << f << " R=" << p.R << " S=" << p.S << " pad=" << p.ph << "," << p.pw
                                 << " H=" << p.H << " W=" << p.W << " at n=" << n << " oh=" << oh << " ow=" << ow
                                 << " k=" << k;
          }
    ++checked;
  }
  EXPECT_GE(checked, 100);  // most random geometries fold
}

TEST(ConvFold, WhatDoesNotFold) {
  Problem p;
  p.dtype = ir::DType::kFloat16;
  p.N = 1, p.C = 4, p.K = 64, p.H = p.W = 32, p.R = p.S = 7, p.ph = p.pw = 3, p.sh = p.sw = 2;
  p.OH = p.OW = 16;
  ASSERT_TRUE(fold_fits(p));
  EXPECT_EQ(folded(p).R, 4);
  EXPECT_EQ(folded(p).C, 64);
  auto with = [&](auto change) {
    Problem q = p;
    change(q);
    return fold_fits(q);
  };
  EXPECT_FALSE(with([](Problem& q) { q.C = 8; }));             // takes the direct kernels
  EXPECT_FALSE(with([](Problem& q) { q.C = 3; }));             // not 4-channel groups
  EXPECT_FALSE(with([](Problem& q) { q.sw = 1; q.OW = 32; }));  // strides differ
  EXPECT_FALSE(with([](Problem& q) { q.sh = q.sw = 1; q.OH = q.OW = 32; }));  // stride 1
  EXPECT_FALSE(with([](Problem& q) { q.dh = q.dw = 2; }));
  EXPECT_FALSE(with([](Problem& q) { q.OH = 15; }));           // not the node's output size
  EXPECT_FALSE(with([](Problem& q) { q.dtype = ir::DType::kFloat32; }));
  EXPECT_FALSE(with([](Problem& q) { q.K = 20; }));            // output channels not multiples of 8
  EXPECT_FALSE(with([](Problem& q) { q.sh = q.sw = 17; q.R = q.S = 17; q.ph = q.pw = 0; q.OH = q.OW = 1; }));
  EXPECT_FALSE(with([](Problem& q) { q.ph = 1 << 30; }));      // sizes far past int32
  const std::vector<uint8_t> wrong(10);
  EXPECT_THROW(fold_weights(p, wrong), Error);
}

}  // namespace
}  // namespace trtorch::backends::cuda::cutlass_conv
