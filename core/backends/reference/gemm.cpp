// Gemm family: the single-precision matrix product every GEMM-shaped kernel runs on (sgemm, see
// gemm.h; convolution uses it too) and the kernels of Linear and MatMul.
#include "core/backends/reference/gemm.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define TRTORCH_GEMM_AVX2 1
#endif

#include "core/backends/reference/kernels.h"
#include "core/util/error.h"

namespace trtorch::backends::reference {

namespace {

constexpr int64_t MR = kGemmMR;
constexpr int64_t NR = kGemmNR;
constexpr int64_t KC = 256;  // depth of one packed block: an A panel and a B panel fit in L1
constexpr int64_t MC = 120;  // rows of A per block (kept in L2 while B panels stream)
constexpr int64_t NB = 384;  // target columns of C per parallel tile

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Packs all of A into MR-row panels, each laid out [K][MR] (zero rows past M), so that the
// block of depth [k0, k0 + kc) of panel p starts at p*K*MR + k0*MR.
void pack_a(int64_t M, int64_t K, MatRef A, float* dst) {
  int64_t panels = ceil_div(M, MR);
#pragma omp parallel for schedule(static) if (M * K >= (int64_t(1) << 16) && !omp_in_parallel())
  for (int64_t p = 0; p < panels; ++p) {
    float* d = dst + p * K * MR;
    int64_t i0 = p * MR, rows = std::min(MR, M - i0);
    for (int64_t k = 0; k < K; ++k) {
      for (int64_t r = 0; r < rows; ++r) d[k * MR + r] = A.at(i0 + r, k);
      for (int64_t r = rows; r < MR; ++r) d[k * MR + r] = 0.0f;
    }
  }
}

// c[0:mr, 0:nr] (+)= a_panel * b_panel over depth kc.
void micro_kernel(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr, int64_t nr,
                  bool accumulate) {
#ifdef TRTORCH_GEMM_AVX2
  __m256 acc[MR][2];
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      __m256 av = _mm256_broadcast_ss(a + r);
      acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
    }
    a += MR;
    b += NR;
  }
  if (mr == MR && nr == NR) {
    for (int r = 0; r < MR; ++r) {
      float* cr = c + r * ldc;
      if (accumulate) {
        acc[r][0] = _mm256_add_ps(acc[r][0], _mm256_loadu_ps(cr));
        acc[r][1] = _mm256_add_ps(acc[r][1], _mm256_loadu_ps(cr + 8));
      }
      _mm256_storeu_ps(cr, acc[r][0]);
      _mm256_storeu_ps(cr + 8, acc[r][1]);
    }
    return;
  }
  alignas(32) float tile[MR][NR];
  for (int r = 0; r < MR; ++r) {
    _mm256_store_ps(tile[r], acc[r][0]);
    _mm256_store_ps(tile[r] + 8, acc[r][1]);
  }
#else
  float tile[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < NR; ++j) tile[r][j] += a[r] * b[j];
    a += MR;
    b += NR;
  }
#endif
  for (int64_t r = 0; r < mr; ++r) {
    float* cr = c + r * ldc;
    for (int64_t j = 0; j < nr; ++j) cr[j] = accumulate ? cr[j] + tile[r][j] : tile[r][j];
  }
}

}  // namespace

PackB pack_matrix(MatRef B) {
  return [B](int64_t k0, int64_t kc, int64_t j0, int64_t nc, float* dst) {
    for (int64_t p = 0; p * NR < nc; ++p) {
      float* d = dst + p * kc * NR;
      int64_t c0 = j0 + p * NR, cols = std::min(NR, nc - p * NR);
      if (!B.trans && cols == NR) {
        for (int64_t k = 0; k < kc; ++k) std::memcpy(d + k * NR, B.data + (k0 + k) * B.ld + c0, NR * sizeof(float));
        continue;
      }
      for (int64_t k = 0; k < kc; ++k) {
        for (int64_t j = 0; j < cols; ++j) d[k * NR + j] = B.at(k0 + k, c0 + j);
        for (int64_t j = cols; j < NR; ++j) d[k * NR + j] = 0.0f;
      }
    }
  };
}

void sgemm(int64_t M, int64_t N, int64_t K, MatRef A, const PackB& pack_b, float* C, int64_t ldc,
           bool accumulate) {
  TRTORCH_CHECK(M >= 0 && N >= 0 && K >= 0 && ldc >= N, "sgemm sizes");
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!accumulate)
      for (int64_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, 0.0f);
    return;
  }
  std::vector<float> a_packed(size_t(ceil_div(M, MR) * MR * K));
  pack_a(M, K, A, a_packed.data());

  // Tiles of C: column tiles of about NB (a multiple of the thread count when there are
  // several), and when columns are few, row groups too so that every thread gets work.
  // Products too small to repay waking the thread team run on the calling thread.
  const bool small = double(M) * double(N) * double(K) < 32768.0;
  const int threads = omp_in_parallel() || small ? 1 : omp_get_max_threads();
  int64_t n_tiles = ceil_div(N, NB);
  if (threads > 1 && n_tiles > 1) n_tiles = ceil_div(n_tiles, threads) * threads;
  const int64_t nb = ceil_div(ceil_div(N, n_tiles), NR) * NR;
  n_tiles = ceil_div(N, nb);
  const int64_t m_panels = ceil_div(M, MR);
  int64_t m_groups = 1;
  if (threads > 1 && n_tiles < 2 * threads) m_groups = std::min(m_panels, ceil_div(2 * threads, n_tiles));
  const int64_t panels_per_group = ceil_div(m_panels, m_groups);
  m_groups = ceil_div(m_panels, panels_per_group);
  const int64_t tiles = n_tiles * m_groups;

#pragma omp parallel if (threads > 1 && tiles > 1)
  {
    std::vector<float> b_packed(size_t(KC * nb));
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < tiles; ++t) {
      const int64_t g = t / n_tiles, j0 = (t % n_tiles) * nb;
      const int64_t nc = std::min(nb, N - j0);
      const int64_t m_begin = g * panels_per_group * MR;
      const int64_t m_end = std::min(M, (g + 1) * panels_per_group * MR);
      for (int64_t k0 = 0; k0 < K; k0 += KC) {
        const int64_t kc = std::min(KC, K - k0);
        pack_b(k0, kc, j0, nc, b_packed.data());
        const bool acc = accumulate || k0 > 0;
        for (int64_t i0 = m_begin; i0 < m_end; i0 += MC) {
          const int64_t i1 = std::min(m_end, i0 + MC);
          for (int64_t jp = 0; jp < nc; jp += NR) {
            const float* bp = b_packed.data() + (jp / NR) * kc * NR;
            for (int64_t i = i0; i < i1; i += MR) {
              const float* ap = a_packed.data() + (i / MR) * K * MR + k0 * MR;
              micro_kernel(kc, ap, bp, C + i * ldc + j0 + jp, ldc, std::min(MR, M - i), std::min(NR, nc - jp), acc);
            }
          }
        }
      }
    }
  }
}

void sgemm(int64_t M, int64_t N, int64_t K, MatRef A, MatRef B, float* C, int64_t ldc, bool accumulate) {
  sgemm(M, N, K, A, pack_matrix(B), C, ldc, accumulate);
}

using ir::HostTensor;

void eval_Linear(const ir::LinearAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  const char* op = "Linear";
  FloatIn x(op, "input", in[0]), w(op, "weight", in[1]);
  std::optional<FloatIn> b;
  if (in.size() == 3) b.emplace(op, "bias", in[2]);
  FloatOut y(out[0]);
  const int64_t N = in[1].shape[0], K = in[1].shape[1];
  const int64_t M = K == 0 ? out[0].numel() / std::max<int64_t>(N, 1) : in[0].numel() / K;
  float* yp = y.data();
  if (b) {
    for (int64_t i = 0; i < M; ++i) std::copy_n(b->data(), N, yp + i * N);
  }
  // y[M, N] = x[M, K] * w^T, w^T read through a transposed view of w[N, K].
  sgemm(M, N, K, MatRef{x.data(), K}, MatRef{w.data(), K, true}, yp, N, b.has_value());
  if (a.has_act) unary_float(a.act, float(a.act_alpha), float(a.act_beta), M * N, yp, yp);
  y.commit();
}

void eval_MatMul(const ir::MatMulAttrs&, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  const char* op = "MatMul";
  FloatIn a(op, "input 0", in[0]), b(op, "input 1", in[1]);
  FloatOut y(out[0]);
  const auto& as = in[0].shape;
  const auto& bs = in[1].shape;
  const auto& ys = out[0].shape;
  const int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
  // Batch offsets of each operand under broadcasting (stride 0 along broadcast dims).
  const size_t batch_rank = ys.size() - 2;
  std::vector<int64_t> a_stride(batch_rank, 0), b_stride(batch_rank, 0);
  int64_t a_step = M * K, b_step = K * N;
  for (size_t d = batch_rank; d-- > 0;) {
    size_t ad = d + (as.size() - 2) - batch_rank, bd = d + (bs.size() - 2) - batch_rank;
    bool a_has = d + (as.size() - 2) >= batch_rank, b_has = d + (bs.size() - 2) >= batch_rank;
    if (a_has) {
      if (as[ad] != 1) a_stride[d] = a_step;
      a_step *= as[ad];
    }
    if (b_has) {
      if (bs[bd] != 1) b_stride[d] = b_step;
      b_step *= bs[bd];
    }
  }
  int64_t batches = 1;
  for (size_t d = 0; d < batch_rank; ++d) batches *= ys[d];
  auto one = [&](int64_t i) {
    int64_t ao = 0, bo = 0, rem = i;
    for (size_t d = batch_rank; d-- > 0;) {
      int64_t idx = rem % ys[d];
      rem /= ys[d];
      ao += idx * a_stride[d];
      bo += idx * b_stride[d];
    }
    sgemm(M, N, K, MatRef{a.data() + ao, K}, MatRef{b.data() + bo, N}, y.data() + i * M * N, N, false);
  };
  if (batches >= int64_t(omp_get_max_threads())) {
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t i = 0; i < batches; ++i) one(i);
  } else {
    for (int64_t i = 0; i < batches; ++i) one(i);
  }
  y.commit();
}

}  // namespace trtorch::backends::reference
