// Folding a few-channel strided convolution into one the CUTLASS kernels take at full K-tile width
// (conv_cutlass.h describes T and the regrouped weights): the problem, the weights (host, once per
// kernel) and the gather that writes T (device, every run). No CUTLASS here.
#include <algorithm>
#include <climits>
#include <cstring>

#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/int_divider.cuh"
#include "core/backends/cuda/conv/conv_cutlass.h"

namespace trtorch::backends::cuda::cutlass_conv {

namespace {

constexpr int kLane = 4;               // elements per copy: 8 bytes of float16/bfloat16
constexpr int kMaxFoldedChannels = 1024;

int ceil_div(int a, int b) { return (a + b - 1) / b; }

// T's row of x's columns: f * S' columns of x per output column.
int fold_span(const Problem& p) { return p.sw * ceil_div(p.S, p.sw); }

// One thread per 4 elements of T, in T's order [n][h][w][dy][j][g] (g: a group of 4 channels);
// the index arithmetic by multiply-shift (int_divider.cuh), as T is written at memory speed.
struct FoldIndex {
  IntDivider G, span, f, OW, HT;
  int fi, H, W, S, ph, pw;
};

__global__ void fold_kernel(const uint2* __restrict__ x, uint2* __restrict__ t, uint32_t total, FoldIndex d) {
  for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    uint32_t g, j, dy, w, h;
    uint32_t q = d.G.divmod(i, g);
    q = d.span.divmod(q, j);
    q = d.f.divmod(q, dy);
    q = d.OW.divmod(q, w);
    const uint32_t n = d.HT.divmod(q, h);
    const int xr = d.fi * int(h) + int(dy) - d.ph, xc = d.fi * int(w) + int(j) - d.pw;
    uint2 v = make_uint2(0u, 0u);
    // Columns past the filter (j >= S) meet zero weights: zero here too, so that an infinite
    // input there does not make a NaN (Inf * 0) the direct convolution would not.
    if (int(j) < d.S && xr >= 0 && xr < d.H && xc >= 0 && xc < d.W)
      v = x[((size_t(n) * d.H + xr) * d.W + xc) * d.G.divisor + g];
    t[i] = v;
  }
}

}  // namespace

bool fold_fits(const Problem& p) {
  // C' >= f * f * C: a stride over 16 never folds (and keeps the sizes below far from overflow).
  if ((p.dtype != ir::DType::kFloat16 && p.dtype != ir::DType::kBFloat16) || p.C < kLane || p.C % kLane != 0 ||
      p.C >= 8 || p.sh != p.sw || p.sh < 2 || p.sh > 16 || p.dh != 1 || p.dw != 1 || p.N < 1 || p.H < 1 ||
      p.W < 1 || p.R < 1 || p.S < 1 || p.ph < 0 || p.pw < 0 || p.OH < 1 || p.OW < 1)
    return false;
  const int64_t f = p.sh, hp = int64_t(p.H) + 2 * int64_t(p.ph), wp = int64_t(p.W) + 2 * int64_t(p.pw);
  if (hp < p.R || wp < p.S) return false;
  // The node's output size (the folded problem computes OH x OW whatever x's size).
  if (p.OH != (hp - p.R) / f + 1 || p.OW != (wp - p.S) / f + 1) return false;
  const int64_t r_folded = (p.R + f - 1) / f, c_folded = f * f * ((p.S + f - 1) / f) * p.C;
  if (c_folded > kMaxFoldedChannels || int64_t(p.N) * p.H * p.W * p.C > INT_MAX ||
      int64_t(p.N) * (p.OH + r_folded - 1) * p.OW * c_folded > INT_MAX)
    return false;
  return supported(folded(p));
}

Problem folded(const Problem& p) {
  Problem q = p;
  const int f = p.sh;
  q.R = ceil_div(p.R, f);
  q.S = 1;
  q.C = f * fold_span(p) * p.C;
  q.H = p.OH + q.R - 1;
  q.W = p.OW;
  q.ph = q.pw = 0;
  q.sh = q.sw = 1;
  q.dh = q.dw = 1;
  q.x = nullptr;
  q.w = nullptr;
  return q;
}

size_t fold_bytes(const Problem& p) {
  const Problem q = folded(p);
  return size_t(q.N) * size_t(q.H) * size_t(q.W) * size_t(q.C) * ir::dtype_size(p.dtype);
}

std::vector<uint8_t> fold_weights(const Problem& p, const std::vector<uint8_t>& w) {
  const size_t es = ir::dtype_size(p.dtype);
  TRTORCH_CHECK(w.size() == size_t(p.K) * p.R * p.S * p.C * es, "fold_weights: ", w.size(),
                " bytes are not KRSC weights of ", p.K, "x", p.R, "x", p.S, "x", p.C);
  const Problem q = folded(p);
  const int f = p.sh, span = fold_span(p);
  std::vector<uint8_t> out(size_t(q.K) * q.R * q.C * es, 0);  // zero: taps past the filter
  for (int k = 0; k < p.K; ++k)
    for (int a = 0; a < q.R; ++a)
      for (int dy = 0; dy < f; ++dy)
        for (int j = 0; j < span; ++j) {
          const int r = f * a + dy;
          if (r >= p.R || j >= p.S) continue;
          const size_t from = ((size_t(k) * p.R + r) * p.S + j) * p.C;
          const size_t to = (size_t(k) * q.R + a) * q.C + (size_t(dy) * span + j) * p.C;
          std::memcpy(&out[to * es], &w[from * es], size_t(p.C) * es);
        }
  return out;
}

void launch_fold(const Problem& p, void* t, cudaStream_t stream) {
  TRTORCH_CHECK(fold_fits(p) && p.x && t, "launch_fold: the problem does not fold or a pointer is missing");
  TRTORCH_CHECK(reinterpret_cast<uintptr_t>(p.x) % 8 == 0 && reinterpret_cast<uintptr_t>(t) % 16 == 0,
                "launch_fold: x must be 8-byte and T 16-byte aligned");
  const Problem q = folded(p);
  const uint32_t total = uint32_t(size_t(q.N) * q.H * q.W * q.C / kLane);
  const int threads = 256;
  const int blocks = int(std::min<uint32_t>((total + threads - 1) / threads, 65535u * 8u));
  const FoldIndex d{IntDivider(uint32_t(p.C / kLane)), IntDivider(uint32_t(fold_span(p))), IntDivider(uint32_t(p.sh)),
                    IntDivider(uint32_t(q.W)), IntDivider(uint32_t(q.H)), p.sh, p.H, p.W, p.S, p.ph, p.pw};
  fold_kernel<<<blocks, threads, 0, stream>>>(static_cast<const uint2*>(p.x), static_cast<uint2*>(t), total, d);
  TRTORCH_CUDA_CHECK(cudaGetLastError());
}

}  // namespace trtorch::backends::cuda::cutlass_conv
