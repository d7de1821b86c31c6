// LayerNorm over the last normalized_rank dims: y = (x - mean) / sqrt(var + eps) * weight + bias,
// biased variance, statistics in double per row.
#include <cmath>
#include <memory>

#include "core/backends/reference/kernels.h"

namespace trtorch::backends::reference {

using ir::HostTensor;

void eval_LayerNorm(const ir::LayerNormAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  const char* op = "LayerNorm";
  FloatIn x(op, "input", in[0]);
  std::unique_ptr<FloatIn> w, b;
  if (in.size() > 1) w = std::make_unique<FloatIn>(op, "weight", in[1]);
  if (in.size() > 2) b = std::make_unique<FloatIn>(op, "bias", in[2]);
  FloatOut y(out[0]);
  const auto& shape = in[0].shape;
  int64_t cols = 1;
  for (size_t d = shape.size() - size_t(a.normalized_rank); d < shape.size(); ++d) cols *= shape[d];
  const int64_t rows = cols == 0 ? 0 : in[0].numel() / cols;
  const float* xp = x.data();
  const float* wp = w ? w->data() : nullptr;
  const float* bp = b ? b->data() : nullptr;
  float* yp = y.data();
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelMin && rows > 1)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = xp + r * cols;
    float* yr = yp + r * cols;
    double sum = 0.0;
    for (int64_t i = 0; i < cols; ++i) sum += xr[i];
    const double mean = sum / double(cols);
    double sq = 0.0;
    for (int64_t i = 0; i < cols; ++i) sq += (xr[i] - mean) * (xr[i] - mean);
    const double rstd = 1.0 / std::sqrt(sq / double(cols) + a.eps);
    for (int64_t i = 0; i < cols; ++i) {
      double v = (xr[i] - mean) * rstd;
      if (wp) v *= wp[i];
      if (bp) v += bp[i];
      yr[i] = float(v);
    }
  }
  y.commit();
}

}  // namespace trtorch::backends::reference
