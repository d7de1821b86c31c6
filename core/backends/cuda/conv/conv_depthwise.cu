// Depthwise convolution (groups == C == K) with the fused epilogue (bias, residual, activation),
// direct kernels for both layouts:
// - channels-last (NHWC): cuDNN's NHWC depthwise engines measured 10x slower. Weights are FP32
//   [R*S, C]; vectorized over channels (common/vector_access.cuh).
// - NCHW (FP32 engines, and FP16/BF16 ones built without channels_last): weights FP32 [C, R*S];
//   a thread walks along W.
// 3- and 5-tap rows at stride 1 or 2 compute 4 or 2 output pixels per thread, loading each input
// column of a row once for all of them. One template over the storage type, FP32 accumulation.
#include "core/backends/cuda/common/context.h"
#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/device_math.cuh"
#include "core/backends/cuda/common/vector_access.cuh"
#include "core/backends/cuda/conv/conv_depthwise.h"

#include <algorithm>
#include <cstdint>
#include <type_traits>

namespace trtorch::backends::cuda {

namespace {

using vec::ceil_div;
using vec::dispatch_vec;
using vec::grid1d;
using vec::load_pack;
using vec::load_vec;
using vec::nhwc_item;
using vec::NhwcItem;
using vec::store_vec;
using vec::to_float;
using vec::vec_width;

// ---------------- depthwise convolution ----------------
struct Depthwise {
  int N, C, H, W, OH, OW, R, S, sh, sw, ph, pw, dh, dw;
  bool has_residual, has_act;
  ir::UnaryKind act;
  float alpha, beta;
};

// Output o (element index of channel c of a pixel) of V channels: residual, activation, store.
template <typename T, int V>
__device__ __forceinline__ void depthwise_epilogue(float (&acc)[V], const T* __restrict__ residual, T* __restrict__ y,
                                                   int o, const Depthwise& d) {
  if (d.has_residual) {
    float r[V];
    load_vec<T, V>(residual + o, r);
#pragma unroll
    for (int v = 0; v < V; ++v) acc[v] += r[v];
  }
  if (d.has_act) {
#pragma unroll
    for (int v = 0; v < V; ++v) acc[v] = unary(d.act, acc[v], d.alpha, d.beta);
  }
  store_vec<T, V>(y + o, acc);
}

// Where a thread's output lies: image n, channel c, output row oh and column ow, and the output
// element's index o. NHWC: V channels of a pixel per thread (i counts channel groups fastest);
// NCHW (V = 1): i counts output columns fastest.
struct DepthwiseItem {
  int n, c, oh, ow, o;
};
template <int V, bool kNhwc>
__device__ __forceinline__ DepthwiseItem depthwise_item(unsigned i, const Depthwise& d) {
  if constexpr (kNhwc) {
    const NhwcItem it = nhwc_item<V>(i, unsigned(d.C / V), unsigned(d.OW), unsigned(d.OH));
    return {it.n, it.c, it.oh, it.w, int(i * unsigned(V))};
  } else {
    const unsigned r = i / unsigned(d.OW), nc = r / unsigned(d.OH);
    return {int(nc / unsigned(d.C)), int(nc % unsigned(d.C)), int(r % unsigned(d.OH)), int(i % unsigned(d.OW)),
            int(i)};
  }
}

// Any R, S, stride, padding, dilation: a thread per (output pixel, V channels) in NHWC, per output
// element in NCHW (V = 1). Weights and bias [C] in FP32; weights [R*S, C] for NHWC, [C, R*S] for
// NCHW, so that a tap's weight sits at the same stride from the channel's first as a pixel's
// input (C in NHWC, 1 in NCHW).
template <typename T, int V, bool kNhwc>
__global__ void __launch_bounds__(256)
    depthwise_kernel(const T* __restrict__ x, const float* __restrict__ w, const float* __restrict__ bias,
                     const T* __restrict__ residual, T* __restrict__ y, Depthwise d) {
  const unsigned total = unsigned(d.N) * unsigned(d.OH) * unsigned(d.OW) * unsigned(d.C / V);
  const int step = kNhwc ? d.C : 1;  // between neighbouring pixels of x and taps of w
  for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    const DepthwiseItem it = depthwise_item<V, kNhwc>(i, d);
    float acc[V];
    if (bias) {
      load_floats<V>(bias + it.c, acc);
    } else {
#pragma unroll
      for (int v = 0; v < V; ++v) acc[v] = 0.0f;
    }
    const T* xc = x + (kNhwc ? it.n * d.H * d.W * d.C + it.c : (it.n * d.C + it.c) * d.H * d.W);
    const float* wc = w + (kNhwc ? it.c : it.c * d.R * d.S);
    for (int a = 0; a < d.R; ++a) {
      const int h = it.oh * d.sh - d.ph + a * d.dh;
      if (h < 0 || h >= d.H) continue;
      for (int b = 0; b < d.S; ++b) {
        const int ww = it.ow * d.sw - d.pw + b * d.dw;
        if (ww < 0 || ww >= d.W) continue;
        float xv[V], wv[V];
        load_vec<T, V>(xc + (h * d.W + ww) * step, xv);
        load_floats<V>(wc + (a * d.S + b) * step, wv);
#pragma unroll
        for (int v = 0; v < V; ++v) acc[v] = fmaf(xv[v], wv[v], acc[v]);
      }
    }
    depthwise_epilogue<T, V>(acc, residual, y, it.o, d);
  }
}

// 128-thread blocks: finer occupancy steps than 256 at ~100 registers per thread.
constexpr int kDepthwiseTileThreads = 128;

// KS taps along W at stride SW and dilation 1 (rows: any R, stride, dilation): a thread computes
// PW neighbouring output pixels along W for V channels, loading each input column of a row once
// for all of them and each tap's weights once. Same accumulation order as the kernel above.
template <typename T, int V, int KS, int SW, int PW>
__global__ void __launch_bounds__(kDepthwiseTileThreads, 4)
    depthwise_nhwc_tile_kernel(const T* __restrict__ x, const float* __restrict__ w, const float* __restrict__ bias,
                               const T* __restrict__ residual, T* __restrict__ y, Depthwise d) {
  constexpr int kCols = (PW - 1) * SW + KS;
  const unsigned CG = unsigned(d.C / V);
  const unsigned TW = unsigned((d.OW + PW - 1) / PW);
  const unsigned total = unsigned(d.N) * unsigned(d.OH) * TW * CG;
  for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    const NhwcItem it = nhwc_item<V>(i, CG, TW, unsigned(d.OH));
    const int c = it.c, ow0 = it.w * PW, oh = it.oh, n = it.n;
    const int iw0 = ow0 * SW - d.pw;  // input column of tap 0 of pixel 0
    float acc[PW][V];
    {
      float b0[V];
      if (bias) {
        load_floats<V>(bias + c, b0);
      } else {
#pragma unroll
        for (int v = 0; v < V; ++v) b0[v] = 0.0f;
      }
#pragma unroll
      for (int j = 0; j < PW; ++j)
#pragma unroll
        for (int v = 0; v < V; ++v) acc[j][v] = b0[v];
    }
    bool col_ok[kCols];
#pragma unroll
    for (int k = 0; k < kCols; ++k) col_ok[k] = iw0 + k >= 0 && iw0 + k < d.W;
    const T* xn = x + n * d.H * d.W * d.C + c;
    for (int a = 0; a < d.R; ++a) {
      const int h = oh * d.sh - d.ph + a * d.dh;
      if (h < 0 || h >= d.H) continue;
      const int row = h * d.W + iw0;  // pixel of column 0 (negative only when col_ok[0] is false)
      Vec<T, V> col[kCols] = {};
#pragma unroll
      for (int k = 0; k < kCols; ++k)
        if (col_ok[k]) col[k] = load_pack<T, V>(xn + (row + k) * d.C);
      const float* wr = w + a * KS * d.C + c;
#pragma unroll
      for (int b = 0; b < KS; ++b) {
        float wv[V];
        load_floats<V>(wr + b * d.C, wv);
#pragma unroll
        for (int j = 0; j < PW; ++j) {
          const int k = j * SW + b;
          if (col_ok[k]) {
#pragma unroll
            for (int v = 0; v < V; ++v) acc[j][v] = fmaf(to_float(col[k].v[v]), wv[v], acc[j][v]);
          }
        }
      }
    }
    const int o0 = ((n * d.OH + oh) * d.OW + ow0) * d.C + c;
#pragma unroll
    for (int j = 0; j < PW; ++j)
      if (ow0 + j < d.OW) depthwise_epilogue<T, V>(acc[j], residual, y, o0 + j * d.C, d);
  }
}

// NCHW, KS taps along W at stride SW and dilation 1: a thread computes PW neighbouring output
// pixels along W of one (image, channel, output row). Same accumulation order as depthwise_kernel.
template <typename T, int KS, int SW, int PW>
__global__ void __launch_bounds__(kDepthwiseTileThreads)
    depthwise_nchw_tile_kernel(const T* __restrict__ x, const float* __restrict__ w, const float* __restrict__ bias,
                               const T* __restrict__ residual, T* __restrict__ y, Depthwise d) {
  constexpr int kCols = (PW - 1) * SW + KS;
  const unsigned TW = unsigned((d.OW + PW - 1) / PW);
  const unsigned total = unsigned(d.N) * unsigned(d.C) * unsigned(d.OH) * TW;
  for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    const int ow0 = int(i % TW) * PW;
    const unsigned r = i / TW;
    const int oh = int(r % unsigned(d.OH));
    const int nc = int(r / unsigned(d.OH));  // n * C + c
    const int c = nc % d.C;
    const int iw0 = ow0 * SW - d.pw;  // input column of tap 0 of pixel 0
    float acc[PW][1];
    const float b0 = bias ? bias[c] : 0.0f;
#pragma unroll
    for (int j = 0; j < PW; ++j) acc[j][0] = b0;
    bool col_ok[kCols];
#pragma unroll
    for (int k = 0; k < kCols; ++k) col_ok[k] = iw0 + k >= 0 && iw0 + k < d.W;
    const T* xc = x + nc * d.H * d.W;
    const float* wc = w + c * d.R * KS;
    for (int a = 0; a < d.R; ++a) {
      const int h = oh * d.sh - d.ph + a * d.dh;
      if (h < 0 || h >= d.H) continue;
      const int row = h * d.W + iw0;  // column 0 (negative only when col_ok[0] is false)
      float col[kCols];
#pragma unroll
      for (int k = 0; k < kCols; ++k) col[k] = col_ok[k] ? to_float(xc[row + k]) : 0.0f;
#pragma unroll
      for (int b = 0; b < KS; ++b) {
        const float wv = wc[a * KS + b];
#pragma unroll
        for (int j = 0; j < PW; ++j) {
          const int k = j * SW + b;
          if (col_ok[k]) acc[j][0] = fmaf(col[k], wv, acc[j][0]);
        }
      }
    }
    const int o0 = (nc * d.OH + oh) * d.OW + ow0;
#pragma unroll
    for (int j = 0; j < PW; ++j)
      if (ow0 + j < d.OW) depthwise_epilogue<T, 1>(acc[j], residual, y, o0 + j, d);
  }
}

// Output pixels per thread of the tiled depthwise kernel at stride 1 and 2 along W.
constexpr int kDepthwiseTile[2] = {4, 2};

// The tiled kernels' case of a convolution (3- or 5-tap rows at W-stride 1 or 2): calls
// f(KS, SW, PW, grid), the first three std::integral_constants, grid the blocks of
// kDepthwiseTileThreads for `threads` (one per output tile). Both layouts' launches use it.
template <typename F>
void dispatch_tile(const Depthwise& d, int64_t threads, F&& f) {
  const unsigned grid = unsigned(std::min<int64_t>(blocks_for(threads, kDepthwiseTileThreads), 65535 * 32));
  using One = std::integral_constant<int, 1>;
  using Two = std::integral_constant<int, 2>;
  using Three = std::integral_constant<int, 3>;
  using Five = std::integral_constant<int, 5>;
  using P1 = std::integral_constant<int, kDepthwiseTile[0]>;
  using P2 = std::integral_constant<int, kDepthwiseTile[1]>;
  if (d.S == 3 && d.sw == 1) f(Three{}, One{}, P1{}, grid);
  else if (d.S == 3) f(Three{}, Two{}, P2{}, grid);
  else if (d.sw == 1) f(Five{}, One{}, P1{}, grid);
  else f(Five{}, Two{}, P2{}, grid);
}

class DepthwiseKernel : public Kernel {
 public:
  explicit DepthwiseKernel(const KernelArgs& a)
      : dtype_(a.inputs[0].dtype), nhwc_(a.inputs[0].layout == Layout::kNHWC) {
    const auto& at = a.node.attr<ir::Conv2dAttrs>();
    const auto& xs = a.inputs[0].shape;
    const auto& ws = a.inputs[1].shape;
    const auto& ys = a.outputs[0].shape;
    d_ = Depthwise{int(xs[0]), int(xs[1]), int(xs[2]), int(xs[3]), int(ys[2]), int(ys[3]), int(ws[2]), int(ws[3]),
                   int(at.stride[0]), int(at.stride[1]), int(at.padding[0]), int(at.padding[1]), int(at.dilation[0]),
                   int(at.dilation[1]), at.has_residual, at.has_act, at.act, float(at.act_alpha), float(at.act_beta)};
    TRTORCH_EXPECT(a.constants[1], "Conv2d ", a.node.source, ": depthwise weights must be constants");
    has_bias_ = ir::conv_has_bias(at, a.inputs.size());
    TRTORCH_EXPECT(!has_bias_ || a.constants[ir::kConvBiasInput], "Conv2d ", a.node.source,
                   ": depthwise bias must be a constant");
    // Weights [C, 1, R, S] -> FP32 [R*S, C] (a tap's channels contiguous) for NHWC, [C, R*S] for
    // NCHW, then the bias at a 256-byte aligned offset.
    const int64_t taps = int64_t(d_.R) * d_.S, C = d_.C;
    TRTORCH_EXPECT(ir::numel_of(ws) == taps * C, "Conv2d ", a.node.source, ": depthwise weights of shape [C, 1, R, S]");
    bias_offset_ = (taps * C + 63) / 64 * 64;
    std::vector<float> host(size_t(bias_offset_ + (has_bias_ ? C : 0)), 0.0f);
    for (int64_t c = 0; c < C; ++c)
      for (int64_t t = 0; t < taps; ++t)
        host[size_t(nhwc_ ? t * C + c : c * taps + t)] = float(a.constants[1]->get(c * taps + t));
    if (has_bias_)
      for (int64_t c = 0; c < C; ++c) host[size_t(bias_offset_ + c)] = float(a.constants[ir::kConvBiasInput]->get(c));
    params_ = DeviceBuffer(host.size() * sizeof(float));
    TRTORCH_CUDA_CHECK(cudaMemcpy(params_.get(), host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice));
    vec_ = nhwc_ ? vec_width(dtype_, d_.C, {}) : 1;  // the launch also checks the pointers
    tiled_ = d_.dw == 1 && (d_.S == 3 || d_.S == 5) && (d_.sw == 1 || d_.sw == 2);
    dispatch_float(dtype_, "Conv2d", [](auto) {});
  }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    const int64_t total = int64_t(d_.N) * d_.OH * d_.OW * d_.C;
    if (total == 0) return;
    const float* w = static_cast<const float*>(params_.get());
    const float* bias = has_bias_ ? w + bias_offset_ : nullptr;
    const void* res = d_.has_residual ? in.back() : nullptr;
    if (!nhwc_) {
      launch_nchw(total, in[0], w, bias, res, out[0], s);
      return;
    }
    const int vec = d_.has_residual ? vec_width(dtype_, d_.C, {in[0], out[0], res, w})
                                    : vec_width(dtype_, d_.C, {in[0], out[0], w});
    dispatch_float(dtype_, "Conv2d", [&](auto t) {
      using T = decltype(t);
      const T* x = static_cast<const T*>(in[0]);
      const T* r = static_cast<const T*>(res);
      T* y = static_cast<T*>(out[0]);
      dispatch_vec<T>(vec, [&](auto vc) {
        constexpr int V = decltype(vc)::value;
        if (!tiled_) {
          depthwise_kernel<T, V, true><<<grid1d(total / V), 256, 0, s>>>(x, w, bias, r, y, d_);
          return;
        }
        const int64_t threads = int64_t(d_.N) * d_.OH * ceil_div(d_.OW, kDepthwiseTile[d_.sw - 1]) * (d_.C / V);
        dispatch_tile(d_, threads, [&](auto ks, auto sw, auto pw, unsigned grid) {
          depthwise_nhwc_tile_kernel<T, V, decltype(ks)::value, decltype(sw)::value, decltype(pw)::value>
              <<<grid, kDepthwiseTileThreads, 0, s>>>(x, w, bias, r, y, d_);
        });
      });
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    return str_cat("depthwise conv ", nhwc_ ? "NHWC " : "NCHW ", d_.R, "x", d_.S, " s", d_.sh, " C=", d_.C, " ",
                   ir::dtype_name(dtype_), d_.has_act ? str_cat(" +", ir::unary_kind_name(d_.act)) : "",
                   d_.has_residual ? " +residual" : "", nhwc_ ? str_cat(" vec", vec_) : "",
                   tiled_ ? str_cat(" tile", kDepthwiseTile[d_.sw - 1]) : "");
  }

 private:
  void launch_nchw(int64_t total, const void* in, const float* w, const float* bias, const void* res, void* out,
                   cudaStream_t s) const {
    dispatch_float(dtype_, "Conv2d", [&](auto t) {
      using T = decltype(t);
      const T* x = static_cast<const T*>(in);
      const T* r = static_cast<const T*>(res);
      T* y = static_cast<T*>(out);
      if (!tiled_) {
        depthwise_kernel<T, 1, false><<<grid1d(total), 256, 0, s>>>(x, w, bias, r, y, d_);
        return;
      }
      const int64_t threads = int64_t(d_.N) * d_.C * d_.OH * ceil_div(d_.OW, kDepthwiseTile[d_.sw - 1]);
      dispatch_tile(d_, threads, [&](auto ks, auto sw, auto pw, unsigned grid) {
        depthwise_nchw_tile_kernel<T, decltype(ks)::value, decltype(sw)::value, decltype(pw)::value>
            <<<grid, kDepthwiseTileThreads, 0, s>>>(x, w, bias, r, y, d_);
      });
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }

  ir::DType dtype_;
  bool nhwc_ = true;
  Depthwise d_{};
  bool has_bias_ = false, tiled_ = false;
  int vec_ = 1;
  int64_t bias_offset_ = 0;
  DeviceBuffer params_;
};

}  // namespace

std::unique_ptr<Kernel> make_depthwise(const KernelArgs& a) {
  const auto& at = a.node.attr<ir::Conv2dAttrs>();
  const auto& xs = a.inputs[0].shape;
  const auto& ws = a.inputs[1].shape;
  bool depthwise = at.groups == xs[1] && ws[0] == xs[1] && ws[1] == 1;
  bool const_bias = !ir::conv_has_bias(at, a.inputs.size()) || a.constants[ir::kConvBiasInput];
  bool fits = a.outputs[0].numel() < (int64_t(1) << 31) && a.inputs[0].numel() < (int64_t(1) << 31);
  const Layout l = a.inputs[0].layout;
  const bool same_layouts = a.outputs[0].layout == l && (!at.has_residual || a.inputs.back().layout == l);
  if (!depthwise || (l != Layout::kNHWC && l != Layout::kRowMajor) || !same_layouts || !a.constants[1] ||
      !const_bias || !fits)
    return nullptr;
  return std::make_unique<DepthwiseKernel>(a);
}

}  // namespace trtorch::backends::cuda
