// Linear and MatMul on the shared GEMM.
#include <omp.h>

#include <algorithm>
#include <optional>

#include "core/backends/reference/gemm.h"
#include "core/backends/reference/kernels.h"

namespace trtorch::backends::reference {

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
