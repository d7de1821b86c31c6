// Pool2d (max/avg with padding, dilation, ceil_mode, count_include_pad, divisor_override) and
// AdaptivePool2d, with PyTorch's window rules.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/backends/reference/kernels.h"

namespace trtorch::backends::reference {

using ir::HostTensor;
using ir::PoolKind;

namespace {

// Max that lets NaN through, like torch's max pooling.
inline void max_into(float& m, float v) {
  if (v > m || std::isnan(v)) m = v;
}

// Runs plane(in_plane, out_plane) over every (n, c) plane.
template <typename F>
void for_each_plane(const HostTensor& in, const HostTensor& out, const float* x, float* y, F plane) {
  const int64_t planes = in.shape[0] * in.shape[1];
  const int64_t in_size = in.shape[2] * in.shape[3], out_size = out.shape[2] * out.shape[3];
#pragma omp parallel for schedule(static) if (planes * in_size >= kParallelMin)
  for (int64_t p = 0; p < planes; ++p) plane(x + p * in_size, y + p * out_size);
}

}  // namespace

void eval_Pool2d(const ir::Pool2dAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  const char* op = "Pool2d";
  TRTORCH_EXPECT(a.kind == PoolKind::kMax || (a.dilation[0] == 1 && a.dilation[1] == 1), op,
                 ": average pooling with dilation [", a.dilation[0], ",", a.dilation[1], "] is not supported");
  FloatIn xin(op, "input", in[0]);
  FloatOut yout(out[0]);
  const int64_t H = in[0].shape[2], W = in[0].shape[3], OH = out[0].shape[2], OW = out[0].shape[3];
  const int64_t kh = a.kernel[0], kw = a.kernel[1], sh = a.stride[0], sw = a.stride[1];
  const int64_t ph = a.padding[0], pw = a.padding[1], dh = a.dilation[0], dw = a.dilation[1];

  if (a.kind == PoolKind::kMax) {
    for_each_plane(in[0], out[0], xin.data(), yout.data(), [&](const float* x, float* y) {
      for (int64_t oh = 0; oh < OH; ++oh) {
        for (int64_t ow = 0; ow < OW; ++ow) {
          float m = -std::numeric_limits<float>::infinity();
          for (int64_t r = 0; r < kh; ++r) {
            const int64_t ih = oh * sh - ph + r * dh;
            if (ih < 0 || ih >= H) continue;
            for (int64_t s = 0; s < kw; ++s) {
              const int64_t iw = ow * sw - pw + s * dw;
              if (iw >= 0 && iw < W) max_into(m, x[ih * W + iw]);
            }
          }
          y[oh * OW + ow] = m;
        }
      }
    });
  } else {
    for_each_plane(in[0], out[0], xin.data(), yout.data(), [&](const float* x, float* y) {
      for (int64_t oh = 0; oh < OH; ++oh) {
        for (int64_t ow = 0; ow < OW; ++ow) {
          // The window, clipped to the padded input, then to the input.
          int64_t h0 = oh * sh - ph, w0 = ow * sw - pw;
          int64_t h1 = std::min(h0 + kh, H + ph), w1 = std::min(w0 + kw, W + pw);
          const int64_t padded_count = (h1 - h0) * (w1 - w0);
          h0 = std::max<int64_t>(h0, 0);
          w0 = std::max<int64_t>(w0, 0);
          h1 = std::min(h1, H);
          w1 = std::min(w1, W);
          if (h0 >= h1 || w0 >= w1) {
            y[oh * OW + ow] = 0.0f;
            continue;
          }
          float sum = 0.0f;
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw) sum += x[ih * W + iw];
          int64_t divisor = a.divisor_override ? a.divisor_override
                            : a.count_include_pad ? padded_count
                                                  : (h1 - h0) * (w1 - w0);
          y[oh * OW + ow] = sum / float(divisor);
        }
      }
    });
  }
  yout.commit();
}

void eval_AdaptivePool2d(const ir::AdaptivePool2dAttrs& a, const std::vector<HostTensor>& in,
                         std::vector<HostTensor>& out) {
  FloatIn xin("AdaptivePool2d", "input", in[0]);
  FloatOut yout(out[0]);
  const int64_t H = in[0].shape[2], W = in[0].shape[3], OH = out[0].shape[2], OW = out[0].shape[3];
  const bool is_max = a.kind == PoolKind::kMax;
  for_each_plane(in[0], out[0], xin.data(), yout.data(), [&](const float* x, float* y) {
    for (int64_t oh = 0; oh < OH; ++oh) {
      const int64_t h0 = (oh * H) / OH, h1 = ((oh + 1) * H + OH - 1) / OH;
      for (int64_t ow = 0; ow < OW; ++ow) {
        const int64_t w0 = (ow * W) / OW, w1 = ((ow + 1) * W + OW - 1) / OW;
        float acc = is_max ? -std::numeric_limits<float>::infinity() : 0.0f;
        for (int64_t ih = h0; ih < h1; ++ih) {
          for (int64_t iw = w0; iw < w1; ++iw) {
            if (is_max)
              max_into(acc, x[ih * W + iw]);
            else
              acc += x[ih * W + iw];
          }
        }
        y[oh * OW + ow] = is_max ? acc : acc / float((h1 - h0) * (w1 - w0));
      }
    }
  });
  yout.commit();
}

}  // namespace trtorch::backends::reference
