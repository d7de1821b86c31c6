// Conv2d: implicit-im2col GEMM (the image is packed straight into GEMM panels), a plain GEMM for
// 1x1 stride-1 unpadded convolutions, and a direct loop for depthwise convolutions.
#include <omp.h>

#include <algorithm>
#include <optional>

#include "core/backends/reference/gemm.h"
#include "core/backends/reference/kernels.h"

namespace trtorch::backends::reference {

using ir::HostTensor;

namespace {

struct ConvGeom {
  int64_t N, C, H, W;        // input
  int64_t K, Cg, R, S;       // weight [K, C/groups, R, S]
  int64_t OH, OW;            // output
  int64_t sh, sw, ph, pw, dh, dw, groups;
};

// PackB over the implicit im2col matrix of one image and group: row k = (c, r, s) in weight
// order, column j = (oh, ow).
PackB im2col_packer(const ConvGeom& g, const float* x) {
  return [g, x](int64_t k0, int64_t kc, int64_t j0, int64_t nc, float* dst) {
    const int64_t RS = g.R * g.S;
    for (int64_t kk = 0; kk < kc; ++kk) {
      const int64_t k = k0 + kk;
      const int64_t c = k / RS, r = (k / g.S) % g.R, s = k % g.S;
      const float* xc = x + c * g.H * g.W;
      const int64_t ih_off = r * g.dh - g.ph, iw_off = s * g.dw - g.pw;
      int64_t oh = j0 / g.OW, ow = j0 % g.OW;
      for (int64_t jj = 0; jj < nc; ++jj) {
        const int64_t ih = oh * g.sh + ih_off, iw = ow * g.sw + iw_off;
        const float v = (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W) ? xc[ih * g.W + iw] : 0.0f;
        dst[(jj / kGemmNR) * kc * kGemmNR + kk * kGemmNR + jj % kGemmNR] = v;
        if (++ow == g.OW) {
          ow = 0;
          ++oh;
        }
      }
      for (int64_t jj = nc; jj % kGemmNR != 0; ++jj) dst[(jj / kGemmNR) * kc * kGemmNR + kk * kGemmNR + jj % kGemmNR] = 0.0f;
    }
  };
}

// One output plane of a depthwise convolution: y (OH x OW, pre-filled with the bias) +=
// conv of one input plane x with one R x S filter w.
void depthwise_plane(const ConvGeom& g, const float* x, const float* w, float* y) {
  for (int64_t oh = 0; oh < g.OH; ++oh) {
    float* yrow = y + oh * g.OW;
    for (int64_t r = 0; r < g.R; ++r) {
      const int64_t ih = oh * g.sh - g.ph + r * g.dh;
      if (ih < 0 || ih >= g.H) continue;
      const float* xrow = x + ih * g.W;
      for (int64_t s = 0; s < g.S; ++s) {
        const float wv = w[r * g.S + s];
        const int64_t off = s * g.dw - g.pw;  // iw = ow * sw + off
        const int64_t lo = off >= 0 ? 0 : (-off + g.sw - 1) / g.sw;
        const int64_t hi = g.W - 1 - off < 0 ? -1 : std::min(g.OW - 1, (g.W - 1 - off) / g.sw);
        if (g.sw == 1) {
          const float* xs = xrow + off;
          for (int64_t ow = lo; ow <= hi; ++ow) yrow[ow] += wv * xs[ow];
        } else {
          for (int64_t ow = lo; ow <= hi; ++ow) yrow[ow] += wv * xrow[ow * g.sw + off];
        }
      }
    }
  }
}

// The fused epilogue: y += residual, then the activation, in FP32 before the single rounding.
void apply_epilogue(const ir::Conv2dAttrs& a, const std::vector<HostTensor>& in, int64_t n, float* y) {
  if (a.has_residual) {
    FloatIn r("Conv2d", "residual", in.back());
    const float* rp = r.data();
#pragma omp parallel for if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) y[i] += rp[i];
  }
  if (a.has_act) unary_float(a.act, float(a.act_alpha), float(a.act_beta), n, y, y);
}

}  // namespace

void eval_Conv2d(const ir::Conv2dAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  const char* op = "Conv2d";
  FloatIn x(op, "input", in[0]), w(op, "weight", in[1]);
  std::optional<FloatIn> b;
  const bool has_bias = ir::conv_has_bias(a, in.size());
  if (has_bias) b.emplace(op, "bias", in[ir::kConvBiasInput]);
  FloatOut y(out[0]);

  ConvGeom g{in[0].shape[0], in[0].shape[1], in[0].shape[2], in[0].shape[3],
             in[1].shape[0], in[1].shape[1], in[1].shape[2], in[1].shape[3],
             out[0].shape[2], out[0].shape[3],
             a.stride[0], a.stride[1], a.padding[0], a.padding[1], a.dilation[0], a.dilation[1], a.groups};
  const int64_t Kg = g.K / g.groups, plane = g.OH * g.OW, CRS = g.Cg * g.R * g.S;
  float* yp = y.data();
  if (has_bias) {
    const float* bp = b->data();
#pragma omp parallel for collapse(2) if (g.N * g.K * plane >= kParallelMin)
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t k = 0; k < g.K; ++k) std::fill_n(yp + (n * g.K + k) * plane, plane, bp[k]);
  }

  if (g.groups > 1 && g.Cg == 1) {  // depthwise (with channel multiplier Kg)
#pragma omp parallel for collapse(2) schedule(dynamic, 4)
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t k = 0; k < g.K; ++k)
        depthwise_plane(g, x.data() + (n * g.C + k / Kg) * g.H * g.W, w.data() + k * g.R * g.S,
                        yp + (n * g.K + k) * plane);
    apply_epilogue(a, in, out[0].numel(), yp);
    y.commit();
    return;
  }

  const bool pointwise = g.R == 1 && g.S == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
  auto one = [&](int64_t n, int64_t grp) {
    const float* xg = x.data() + (n * g.C + grp * g.Cg) * g.H * g.W;
    MatRef wg{w.data() + grp * Kg * CRS, CRS};
    float* yg = yp + (n * g.K + grp * Kg) * plane;
    if (pointwise)
      sgemm(Kg, plane, CRS, wg, MatRef{xg, g.H * g.W}, yg, plane, has_bias);
    else
      sgemm(Kg, plane, CRS, wg, im2col_packer(g, xg), yg, plane, has_bias);
  };
  const int64_t jobs = g.N * g.groups;
  if (jobs >= 2 * int64_t(omp_get_max_threads())) {
    // Many small products: one per thread at a time (sgemm runs serially inside).
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t j = 0; j < jobs; ++j) one(j / g.groups, j % g.groups);
  } else {
    for (int64_t j = 0; j < jobs; ++j) one(j / g.groups, j % g.groups);
  }
  apply_epilogue(a, in, out[0].numel(), yp);
  y.commit();
}

}  // namespace trtorch::backends::reference
