// Quantize and Dequantize: symmetric linear quantization to int8 and back (attrs.h states the
// arithmetic). The scale of each element is scale[c], c its index along `axis` (one scale when
// axis = -1).
#include <cmath>

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

}  // namespace

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
