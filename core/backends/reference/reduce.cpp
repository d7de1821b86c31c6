// Reductions: Reduce (sum/mean/max/min/prod over axes) and Softmax / log-softmax.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/backends/reference/kernels.h"

namespace trtorch::backends::reference {

using ir::HostTensor;
using ir::ReduceKind;

namespace {

template <typename Acc>
float reduce_span(ReduceKind kind, Acc&& each, int64_t count) {
  switch (kind) {
    case ReduceKind::kSum:
    case ReduceKind::kMean: {
      double s = 0.0;
      each([&](float v) { s += v; });
      return float(kind == ReduceKind::kMean ? s / double(count) : s);
    }
    case ReduceKind::kProd: {
      double p = 1.0;
      each([&](float v) { p *= v; });
      return float(p);
    }
    case ReduceKind::kMax:
    case ReduceKind::kMin: {
      const bool is_max = kind == ReduceKind::kMax;
      float m = is_max ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
      each([&](float v) {
        if (std::isnan(v) || (is_max ? v > m : v < m)) m = std::isnan(m) ? m : v;
      });
      return m;
    }
    case ReduceKind::kCount: break;
  }
  TRTORCH_ERROR("Reduce: unknown kind ", int(kind));
}

}  // namespace

void eval_Reduce(const ir::ReduceAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  FloatIn xin("Reduce", "input", in[0]);
  FloatOut yout(out[0]);
  const auto& shape = in[0].shape;
  const std::vector<int64_t> strides = contiguous_strides(shape);
  // Kept dims (outer loop, one output each) and reduced dims (inner odometer), with strides.
  std::vector<int64_t> kept_size, kept_stride, red_size, red_stride;
  int64_t count = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (std::find(a.axes.begin(), a.axes.end(), int64_t(d)) != a.axes.end()) {
      red_size.push_back(shape[d]);
      red_stride.push_back(strides[d]);
      count *= shape[d];
    } else {
      kept_size.push_back(shape[d]);
      kept_stride.push_back(strides[d]);
    }
  }
  TRTORCH_EXPECT(count > 0 || (a.kind != ReduceKind::kMax && a.kind != ReduceKind::kMin),
                 "Reduce: ", a.kind == ReduceKind::kMax ? "max" : "min", " over an empty set of elements of ",
                 ir::TensorType::fixed(in[0].dtype, shape).str());
  const int64_t outputs = out[0].numel();
  const float* x = xin.data();
  float* y = yout.data();
  const size_t nr = red_size.size();
#pragma omp parallel for schedule(static) if (outputs * count >= kParallelMin && outputs > 1)
  for (int64_t o = 0; o < outputs; ++o) {
    int64_t base = 0, rem = o;
    for (size_t d = kept_size.size(); d-- > 0;) {
      base += (rem % kept_size[d]) * kept_stride[d];
      rem /= kept_size[d];
    }
    auto each = [&](auto&& f) {
      if (count == 0) return;
      if (nr == 0) {
        f(x[base]);
        return;
      }
      const int64_t inner = red_size[nr - 1], inner_stride = red_stride[nr - 1];
      if (nr == 1) {
        for (int64_t i = 0; i < inner; ++i) f(x[base + i * inner_stride]);
        return;
      }
      std::vector<int64_t> idx(nr, 0);
      for (;;) {
        int64_t off = base;
        for (size_t d = 0; d + 1 < nr; ++d) off += idx[d] * red_stride[d];
        for (int64_t i = 0; i < inner; ++i) f(x[off + i * inner_stride]);
        size_t d = nr - 1;
        while (d-- > 0) {
          if (++idx[d] < red_size[d]) break;
          idx[d] = 0;
        }
        if (d == size_t(-1)) return;
      }
    };
    y[o] = reduce_span(a.kind, each, count);
  }
  yout.commit();
}

void eval_Softmax(const ir::SoftmaxAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  FloatIn xin("Softmax", "input", in[0]);
  FloatOut yout(out[0]);
  const auto& shape = in[0].shape;
  int64_t outer, inner;
  outer_inner(shape, a.axis, &outer, &inner);
  const int64_t n = shape[size_t(a.axis)];
  const float* x = xin.data();
  float* y = yout.data();
#pragma omp parallel for collapse(2) schedule(static) if (outer * n * inner >= kParallelMin)
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const float* xr = x + o * n * inner + i;
      float* yr = y + o * n * inner + i;
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t k = 0; k < n; ++k) m = std::max(m, xr[k * inner]);
      double sum = 0.0;
      for (int64_t k = 0; k < n; ++k) sum += std::exp(double(xr[k * inner] - m));
      if (a.log) {
        const float lse = float(std::log(sum));
        for (int64_t k = 0; k < n; ++k) yr[k * inner] = xr[k * inner] - m - lse;
      } else {
        const double inv = 1.0 / sum;
        for (int64_t k = 0; k < n; ++k) yr[k * inner] = float(std::exp(double(xr[k * inner] - m)) * inv);
      }
    }
  }
  yout.commit();
}

}  // namespace trtorch::backends::reference
