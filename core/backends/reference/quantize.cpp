// Quantize and Dequantize: symmetric linear quantization to int8 and back (attrs.h states the
// arithmetic). The scale of each element is scale[c], c its index along `axis` (one scale when
// axis = -1).
//
// QConv2d and QLinear: the INT8 layers (attrs.h, QuantizedLayer), exactly as specified: int8 x
// int8 products summed in int32, then the FP32 epilogue, one element at a time.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/backends/reference/kernels.h"

namespace trtorch::backends::reference {

using ir::HostTensor;

namespace {

// Calls f(i, s) for every element i of a tensor of `shape` with s its FP32 scale.
template <typename F>
void for_each_scaled(const std::vector<int64_t>& shape, int64_t axis, const HostTensor& scale, F&& f) {
  const float* s = scale.ptr<float>();
  if (axis < 0) {
    const int64_t n = ir::numel_of(shape);
    for (int64_t i = 0; i < n; ++i) f(i, s[0]);
    return;
  }
  int64_t outer, inner;
  outer_inner(shape, axis, &outer, &inner);
  const int64_t channels = shape[size_t(axis)];
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t k = 0; k < inner; ++k) f((o * channels + c) * inner + k, s[c]);
}

int8_t quantize_value(float x, float inv_scale, int64_t qmin, int64_t qmax) {
  const float v = x * inv_scale;
  if (std::isnan(v)) return 0;
  const float r = std::nearbyint(v);  // the default rounding mode: halves to even
  return int8_t(std::fmin(std::fmax(r, float(qmin)), float(qmax)));
}

// The epilogue of an INT8 layer (attrs.h, QuantizedLayer) over an output of `outer` x K x `inner`
// elements (k the middle index): acc in, the residual (null without one) read as float, the
// output written as int8 or through FloatOut.
class QuantizedEpilogue {
 public:
  QuantizedEpilogue(const char* op, const ir::QuantizedLayer& q, const HostTensor& bias, const HostTensor* residual,
                    HostTensor& out)
      : q_(q), bias_(bias.ptr<float>()), out_(out) {
    const int64_t K = q.w_scale.numel();
    alpha_.resize(size_t(K));
    for (int64_t k = 0; k < K; ++k) alpha_[size_t(k)] = float(q.x_scale) * q.w_scale.ptr<float>()[k];
    if (residual) {
      if (residual->dtype == ir::DType::kInt8) {
        r_int8_ = residual->ptr<int8_t>();
      } else {
        r_float_.emplace(op, "residual", *residual);
      }
    }
    allocate(out);
    if (q.y_scale == 0) y_.emplace(out);
  }

  void apply(int64_t outer, int64_t K, int64_t inner, const int32_t* acc) {
    const float lo = float(q_.lo), hi = float(q_.hi), inv_y = q_.y_scale > 0 ? 1.0f / float(q_.y_scale) : 0.0f;
    const float r_scale = float(q_.r_scale);
    int8_t* q8 = q_.y_scale > 0 ? out_.ptr<int8_t>() : nullptr;
    float* yf = y_ ? y_->data() : nullptr;
    const float* rf = r_float_ ? r_float_->data() : nullptr;
#pragma omp parallel for collapse(2) if (outer * K * inner >= 1 << 16)
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < K; ++k)
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t e = (o * K + k) * inner + i;
          float v = float(acc[e]) * alpha_[size_t(k)] + bias_[k];
          if (r_int8_) v += float(r_int8_[e]) * r_scale;
          if (rf) v += rf[e];
          v = v < lo ? lo : (v > hi ? hi : v);  // NaN (from a float residual) stays NaN
          if (q8)
            q8[e] = quantize_value(v, inv_y, q_.qmin, q_.qmax);
          else
            yf[e] = v;
        }
    if (y_) y_->commit();
  }

 private:
  const ir::QuantizedLayer& q_;
  const float* bias_;
  HostTensor& out_;
  std::vector<float> alpha_;
  const int8_t* r_int8_ = nullptr;
  std::optional<FloatIn> r_float_;
  std::optional<FloatOut> y_;
};

}  // namespace

void eval_QConv2d(const ir::QConv2dAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  const auto& xs = in[0].shape;
  const auto& ws = in[1].shape;
  const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3], K = ws[0], Cg = ws[1], R = ws[2], S = ws[3];
  const int64_t OH = out[0].shape[2], OW = out[0].shape[3], plane = OH * OW, Kg = K / a.groups;
  const int64_t CRS = Cg * R * S;
  const int8_t* x = in[0].ptr<int8_t>();
  const int8_t* w = in[1].ptr<int8_t>();
  std::vector<int32_t> acc(size_t(N * K * plane), 0);
  // One (image, group, run of output pixels) at a time: its im2col matrix [CRS][pixels] (zeros in
  // the padding), then acc[k][p] += w[k][crs] * col[crs][p], the inner loop over p (vectorizable
  // int32 adds). Runs of pixels keep the matrix within kColBytes whatever the layer's size.
  constexpr int64_t kColBytes = int64_t(1) << 24;
  const int64_t run = std::max<int64_t>(1, std::min<int64_t>(plane, kColBytes / std::max<int64_t>(CRS, 1)));
  std::vector<int8_t> col(size_t(CRS * run));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t g = 0; g < a.groups; ++g)
      for (int64_t p0 = 0; p0 < plane; p0 += run) {
        const int64_t np = std::min(run, plane - p0);
#pragma omp parallel for if (CRS * np >= 1 << 16)
        for (int64_t crs = 0; crs < CRS; ++crs) {
          const int64_t c = g * Cg + crs / (R * S), r = crs / S % R, s = crs % S;
          for (int64_t j = 0; j < np; ++j) {
            const int64_t oh = (p0 + j) / OW, ow = (p0 + j) % OW;
            const int64_t ih = oh * a.stride[0] - a.padding[0] + r * a.dilation[0];
            const int64_t iw = ow * a.stride[1] - a.padding[1] + s * a.dilation[1];
            col[size_t(crs * np + j)] =
                ih >= 0 && ih < H && iw >= 0 && iw < W ? x[((n * C + c) * H + ih) * W + iw] : int8_t(0);
          }
        }
#pragma omp parallel for if (Kg * CRS * np >= 1 << 16)
        for (int64_t kg = 0; kg < Kg; ++kg) {
          const int64_t k = g * Kg + kg;
          int32_t* ak = acc.data() + (n * K + k) * plane + p0;
          for (int64_t crs = 0; crs < CRS; ++crs) {
            const int32_t wv = w[k * CRS + crs];
            if (wv == 0) continue;
            const int8_t* cp = col.data() + crs * np;
            for (int64_t j = 0; j < np; ++j) ak[j] += wv * int32_t(cp[j]);
          }
        }
      }
  QuantizedEpilogue epi("QConv2d", a.q, in[2], a.has_residual ? &in[3] : nullptr, out[0]);
  epi.apply(N, K, plane, acc.data());
}

void eval_QLinear(const ir::QLinearAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  const int64_t N = in[1].shape[0], K = in[1].shape[1];
  const int64_t M = in[0].numel() / std::max<int64_t>(K, 1);
  const int8_t* x = in[0].ptr<int8_t>();
  const int8_t* w = in[1].ptr<int8_t>();
  std::vector<int32_t> acc(size_t(M * N), 0);
#pragma omp parallel for collapse(2) if (M * N * K >= 1 << 16)
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      int32_t s = 0;
      for (int64_t k = 0; k < K; ++k) s += int32_t(x[m * K + k]) * int32_t(w[n * K + k]);
      acc[size_t(m * N + n)] = s;
    }
  QuantizedEpilogue epi("QLinear", a.q, in[2], nullptr, out[0]);
  epi.apply(M, N, 1, acc.data());
}

void eval_Quantize(const ir::QuantizeAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  FloatIn x("Quantize", "input", in[0]);
  allocate(out[0]);
  const float* xp = x.data();
  int8_t* q = out[0].ptr<int8_t>();
  for_each_scaled(in[0].shape, a.axis, a.scale,
                  [&](int64_t i, float s) { q[i] = quantize_value(xp[i], 1.0f / s, a.qmin, a.qmax); });
}

void eval_Dequantize(const ir::DequantizeAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  allocate(out[0]);
  FloatOut y(out[0]);
  const int8_t* q = in[0].ptr<int8_t>();
  float* yp = y.data();
  for_each_scaled(in[0].shape, a.axis, a.scale, [&](int64_t i, float s) { yp[i] = float(q[i]) * s; });
  y.commit();
}

}  // namespace trtorch::backends::reference
