// Norm family: BatchNorm and LayerNorm.
//
// BatchNorm: inference normalization over dim 1, y = (x - mean) / sqrt(var + eps) * weight + bias.
// LayerNorm over the last normalized_rank dims: y = (x - mean) / sqrt(var + eps) * weight + bias,
// biased variance, statistics in double per row; with has_residual, x is input 0 + input 1 (in
// FP32; input 1 may be FP32 when input 0 is narrower), and with emit_sum that sum is output 1.
#include <algorithm>
#include <cmath>
#include <memory>

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

void eval_LayerNorm(const ir::LayerNormAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  const char* op = "LayerNorm";
  FloatIn x(op, "input", in[0]);
  std::unique_ptr<FloatIn> res, w, b;
  const size_t p = a.has_residual ? 2 : 1;  // the first of weight and bias
  if (a.has_residual) res = std::make_unique<FloatIn>(op, "residual", in[1]);
  if (in.size() > p) w = std::make_unique<FloatIn>(op, "weight", in[p]);
  if (in.size() > p + 1) b = std::make_unique<FloatIn>(op, "bias", in[p + 1]);
  FloatOut y(out[0]);
  const auto& shape = in[0].shape;
  int64_t cols = 1;
  for (size_t d = shape.size() - size_t(a.normalized_rank); d < shape.size(); ++d) cols *= shape[d];
  const int64_t rows = cols == 0 ? 0 : in[0].numel() / cols;
  // x + residual in FP32, not rounded to the storage type (what the fused GPU kernel does).
  std::vector<float> sum_buf;
  const float* xp = x.data();
  if (res) {
    sum_buf.resize(size_t(in[0].numel()));
    const float* rp = res->data();
    for (size_t i = 0; i < sum_buf.size(); ++i) sum_buf[i] = xp[i] + rp[i];
    xp = sum_buf.data();
  }
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
  if (a.emit_sum) {
    TRTORCH_CHECK(res && out.size() == 2, "LayerNorm: emit_sum without a residual or a second output");
    FloatOut s(out[1]);
    std::copy(xp, xp + in[0].numel(), s.data());
    s.commit();
  }
}

}  // namespace trtorch::backends::reference
