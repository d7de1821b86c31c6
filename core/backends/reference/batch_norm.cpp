// Inference BatchNorm over dim 1: y = (x - mean) / sqrt(var + eps) * weight + bias.
#include <cmath>

#include "core/backends/reference/kernels.h"

namespace trtorch::backends::reference {

using ir::HostTensor;

void eval_BatchNorm(const ir::BatchNormAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  const char* op = "BatchNorm";
  FloatIn x(op, "input", in[0]), w(op, "weight", in[1]), b(op, "bias", in[2]), mean(op, "running_mean", in[3]),
      var(op, "running_var", in[4]);
  FloatOut y(out[0]);
  const int64_t N = in[0].shape[0], C = in[0].shape[1];
  const int64_t inner = C == 0 || N == 0 ? 0 : in[0].numel() / (N * C);
  // y = x * scale + shift, with scale and shift computed per channel in double.
  std::vector<float> scale(static_cast<size_t>(C)), shift(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    const double s = double(w.data()[c]) / std::sqrt(double(var.data()[c]) + a.eps);
    scale[size_t(c)] = float(s);
    shift[size_t(c)] = float(double(b.data()[c]) - double(mean.data()[c]) * s);
  }
  const float* xp = x.data();
  float* yp = y.data();
#pragma omp parallel for collapse(2) schedule(static) if (N * C * inner >= kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t c = 0; c < C; ++c) {
      const float s = scale[size_t(c)], t = shift[size_t(c)];
      const float* xr = xp + (n * C + c) * inner;
      float* yr = yp + (n * C + c) * inner;
      for (int64_t i = 0; i < inner; ++i) yr[i] = xr[i] * s + t;
    }
  }
  y.commit();
}

}  // namespace trtorch::backends::reference
