// Memory-bound kernels for channels-last (NHWC) activations, where the generic one-thread-per-
// element kernels spend their time on 64-bit index arithmetic:
//   * the NCHW <-> NHWC layout change as a batched, shared-memory tiled 2-D transpose;
//   * max / average pooling with a thread per (pixel, channel) and 32-bit indexing;
//   * global average pooling (adaptive pooling to 1x1) with a block-wide split of H*W;
//   * depthwise convolution (groups == C == K) with the fused epilogue (bias, residual,
//     activation), a direct kernel: cuDNN's NHWC depthwise engines measured 10x slower.
// Each is one template over the storage type, FP32 accumulation.
#include "core/backends/cuda/context.h"
#include "core/backends/cuda/cuda_check.h"
#include "core/backends/cuda/device_math.cuh"
#include "core/backends/cuda/nhwc_kernels.h"

namespace trtorch::backends::cuda {

namespace {

// ---------------- batched transpose: in [B, R, C] -> out [B, C, R] ----------------
constexpr int kTile = 32;

template <typename W>
__global__ void transpose_kernel(const W* __restrict__ in, W* __restrict__ out, int R, int C) {
  __shared__ W tile[kTile][kTile + 1];
  const int b = blockIdx.z;
  const int r0 = blockIdx.y * kTile, c0 = blockIdx.x * kTile;
  const W* src = in + size_t(b) * R * C;
  W* dst = out + size_t(b) * R * C;
  for (int i = threadIdx.y; i < kTile; i += blockDim.y) {
    int r = r0 + i, c = c0 + threadIdx.x;
    if (r < R && c < C) tile[i][threadIdx.x] = src[size_t(r) * C + c];
  }
  __syncthreads();
  for (int i = threadIdx.y; i < kTile; i += blockDim.y) {
    int c = c0 + i, r = r0 + threadIdx.x;
    if (r < R && c < C) dst[size_t(c) * R + r] = tile[threadIdx.x][i];
  }
}

template <typename F>
void dispatch_word(size_t bytes, F&& f) {
  switch (bytes) {
    case 1: f(uint8_t{}); return;
    case 2: f(uint16_t{}); return;
    case 4: f(uint32_t{}); return;
    case 8: f(uint64_t{}); return;
  }
  TRTORCH_ERROR("unsupported element size ", bytes);
}

// ---------------- pooling ----------------
struct Pool {
  int N, C, H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw;
};

template <typename T>
__global__ void pool_nhwc_kernel(const T* __restrict__ x, T* __restrict__ y, Pool p, bool is_max,
                                 bool count_include_pad, int divisor_override) {
  const int total = p.N * p.OH * p.OW * p.C;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    int c = i % p.C, r = i / p.C;
    int ow = r % p.OW;
    r /= p.OW;
    int oh = r % p.OH, n = r / p.OH;
    const int h0 = oh * p.sh - p.ph, w0 = ow * p.sw - p.pw;
    const T* base = x + size_t(n) * p.H * p.W * p.C + c;
    if (is_max) {
      float m = -INFINITY;
      bool nan = false;
      for (int a = 0; a < p.kh; ++a) {
        int h = h0 + a * p.dh;
        if (h < 0 || h >= p.H) continue;
        for (int b = 0; b < p.kw; ++b) {
          int w = w0 + b * p.dw;
          if (w < 0 || w >= p.W) continue;
          float v = load_f(base, (size_t(h) * p.W + w) * p.C);
          nan |= v != v;
          m = fmaxf(m, v);
        }
      }
      y[i] = from_f<T>(nan ? NAN : m);
    } else {
      int hs = h0, ws = w0, he = min(h0 + p.kh, p.H + p.ph), we = min(w0 + p.kw, p.W + p.pw);
      const int pool_size = (he - hs) * (we - ws);
      hs = max(hs, 0);
      ws = max(ws, 0);
      he = min(he, p.H);
      we = min(we, p.W);
      float s = 0.0f;
      for (int h = hs; h < he; ++h)
        for (int w = ws; w < we; ++w) s += load_f(base, (size_t(h) * p.W + w) * p.C);
      int div = divisor_override > 0 ? divisor_override : count_include_pad ? pool_size : (he - hs) * (we - ws);
      y[i] = from_f<T>(div > 0 ? s / float(div) : 0.0f);
    }
  }
}

// Global pooling of NHWC [N, HW, C] to [N, C]: block (32 channels, 8 rows of pixels).
template <typename T>
__global__ void global_pool_nhwc_kernel(const T* __restrict__ x, T* __restrict__ y, int HW, int C, bool is_max) {
  __shared__ float part[8][33];
  const int n = blockIdx.y, c = blockIdx.x * 32 + threadIdx.x;
  float acc = is_max ? -INFINITY : 0.0f;
  bool nan = false;
  if (c < C) {
    const T* base = x + size_t(n) * HW * C + c;
    for (int p = threadIdx.y; p < HW; p += blockDim.y) {
      float v = load_f(base, size_t(p) * C);
      if (is_max) {
        nan |= v != v;
        acc = fmaxf(acc, v);
      } else {
        acc += v;
      }
    }
  }
  part[threadIdx.y][threadIdx.x] = nan ? NAN : acc;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    float r = part[0][threadIdx.x];
    for (int k = 1; k < blockDim.y; ++k) {
      float v = part[k][threadIdx.x];
      r = is_max ? ((r != r || v != v) ? NAN : fmaxf(r, v)) : r + v;
    }
    y[size_t(n) * C + c] = from_f<T>(is_max ? r : r / float(HW));
  }
}

// ---------------- depthwise convolution ----------------
struct Depthwise {
  int N, C, H, W, OH, OW, R, S, sh, sw, ph, pw, dh, dw;
  bool has_residual, has_act;
  ir::UnaryKind act;
  float alpha, beta;
};

// One thread per output element, channels fastest (coalesced); weights [C, R*S] in FP32.
template <typename T>
__global__ void depthwise_nhwc_kernel(const T* __restrict__ x, const float* __restrict__ w,
                                      const float* __restrict__ bias, const T* __restrict__ residual,
                                      T* __restrict__ y, Depthwise d) {
  const int total = d.N * d.OH * d.OW * d.C;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    int c = i % d.C, r = i / d.C;
    int ow = r % d.OW;
    r /= d.OW;
    int oh = r % d.OH, n = r / d.OH;
    const T* base = x + size_t(n) * d.H * d.W * d.C + c;
    const float* wc = w + size_t(c) * d.R * d.S;
    float acc = bias ? bias[c] : 0.0f;
    for (int a = 0; a < d.R; ++a) {
      int h = oh * d.sh - d.ph + a * d.dh;
      if (h < 0 || h >= d.H) continue;
      for (int b = 0; b < d.S; ++b) {
        int ww = ow * d.sw - d.pw + b * d.dw;
        if (ww < 0 || ww >= d.W) continue;
        acc += load_f(base, (size_t(h) * d.W + ww) * d.C) * wc[a * d.S + b];
      }
    }
    if (d.has_residual) acc += load_f(residual, i);
    if (d.has_act) acc = unary(d.act, acc, d.alpha, d.beta);
    y[i] = from_f<T>(acc);
  }
}

unsigned grid1d(int64_t n) { return unsigned(std::min<int64_t>((n + 255) / 256, 65535 * 16)); }

class TransposeLayoutKernel : public Kernel {
 public:
  TransposeLayoutKernel(const TensorDesc& from, Layout to) : elem_(ir::dtype_size(from.dtype)), to_(to) {
    const auto& s = from.shape;  // N, C, H, W
    B_ = int(s[0]);
    const int C = int(s[1]), HW = int(s[2] * s[3]);
    // NCHW -> NHWC: [N, C, HW] -> [N, HW, C]; NHWC -> NCHW: [N, HW, C] -> [N, C, HW].
    R_ = to == Layout::kNHWC ? C : HW;
    C_ = to == Layout::kNHWC ? HW : C;
  }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    if (R_ == 0 || C_ == 0 || B_ == 0) return;
    dim3 grid(unsigned((C_ + kTile - 1) / kTile), unsigned((R_ + kTile - 1) / kTile), unsigned(B_));
    dim3 block(kTile, 8);
    dispatch_word(elem_, [&](auto w) {
      using W = decltype(w);
      transpose_kernel<W><<<grid, block, 0, s>>>(static_cast<const W*>(in[0]), static_cast<W*>(out[0]), R_, C_);
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    return to_ == Layout::kNHWC ? "layout NCHW -> NHWC (tiled transpose)" : "layout NHWC -> NCHW (tiled transpose)";
  }

 private:
  size_t elem_;
  Layout to_;
  int B_ = 0, R_ = 0, C_ = 0;
};

class PoolNhwcKernel : public Kernel {
 public:
  PoolNhwcKernel(const KernelArgs& a, bool adaptive_global) : dtype_(a.inputs[0].dtype), global_(adaptive_global) {
    const auto& xs = a.inputs[0].shape;
    const auto& ys = a.outputs[0].shape;
    p_ = Pool{int(xs[0]), int(xs[1]), int(xs[2]), int(xs[3]), int(ys[2]), int(ys[3]), 1, 1, 1, 1, 0, 0, 1, 1};
    if (global_) {
      is_max_ = a.node.attr<ir::AdaptivePool2dAttrs>().kind == ir::PoolKind::kMax;
    } else {
      const auto& at = a.node.attr<ir::Pool2dAttrs>();
      is_max_ = at.kind == ir::PoolKind::kMax;
      p_.kh = int(at.kernel[0]);
      p_.kw = int(at.kernel[1]);
      p_.sh = int(at.stride[0]);
      p_.sw = int(at.stride[1]);
      p_.ph = int(at.padding[0]);
      p_.pw = int(at.padding[1]);
      p_.dh = int(at.dilation[0]);
      p_.dw = int(at.dilation[1]);
      count_include_pad_ = at.count_include_pad;
      divisor_override_ = int(at.divisor_override);
    }
    dispatch_float(dtype_, "Pool2d", [](auto) {});
  }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    dispatch_float(dtype_, "Pool2d", [&](auto t) {
      using T = decltype(t);
      if (global_) {
        dim3 grid(unsigned((p_.C + 31) / 32), unsigned(p_.N));
        global_pool_nhwc_kernel<T><<<grid, dim3(32, 8), 0, s>>>(static_cast<const T*>(in[0]), static_cast<T*>(out[0]),
                                                               p_.H * p_.W, p_.C, is_max_);
      } else {
        int64_t total = int64_t(p_.N) * p_.OH * p_.OW * p_.C;
        if (total == 0) return;
        pool_nhwc_kernel<T><<<grid1d(total), 256, 0, s>>>(static_cast<const T*>(in[0]), static_cast<T*>(out[0]), p_,
                                                          is_max_, count_include_pad_, divisor_override_);
      }
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    return str_cat(global_ ? "global " : "", is_max_ ? "max" : "avg", " pool NHWC ", ir::dtype_name(dtype_),
                   global_ ? "" : str_cat(" ", p_.kh, "x", p_.kw, " s", p_.sh));
  }

 private:
  ir::DType dtype_;
  bool global_;
  bool is_max_ = true, count_include_pad_ = true;
  int divisor_override_ = 0;
  Pool p_{};
};

class DepthwiseKernel : public Kernel {
 public:
  explicit DepthwiseKernel(const KernelArgs& a) : dtype_(a.inputs[0].dtype) {
    const auto& at = a.node.attr<ir::Conv2dAttrs>();
    const auto& xs = a.inputs[0].shape;
    const auto& ws = a.inputs[1].shape;
    const auto& ys = a.outputs[0].shape;
    d_ = Depthwise{int(xs[0]), int(xs[1]), int(xs[2]), int(xs[3]), int(ys[2]), int(ys[3]), int(ws[2]), int(ws[3]),
                   int(at.stride[0]), int(at.stride[1]), int(at.padding[0]), int(at.padding[1]), int(at.dilation[0]),
                   int(at.dilation[1]), at.has_residual, at.has_act, at.act, float(at.act_alpha), float(at.act_beta)};
    TRTORCH_EXPECT(a.constants[1], "Conv2d ", a.node.source, ": depthwise weights must be constants");
    const size_t n_main = a.inputs.size() - (at.has_residual ? 1 : 0);
    has_bias_ = n_main == 3;
    TRTORCH_EXPECT(!has_bias_ || a.constants[2], "Conv2d ", a.node.source, ": depthwise bias must be a constant");
    std::vector<float> host(size_t(ir::numel_of(ws) + (has_bias_ ? d_.C : 0)));
    for (int64_t i = 0; i < ir::numel_of(ws); ++i) host[size_t(i)] = float(a.constants[1]->get(i));
    if (has_bias_)
      for (int c = 0; c < d_.C; ++c) host[size_t(ir::numel_of(ws) + c)] = float(a.constants[2]->get(c));
    params_ = DeviceBuffer(host.size() * sizeof(float));
    TRTORCH_CUDA_CHECK(cudaMemcpy(params_.get(), host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice));
    w_elems_ = ir::numel_of(ws);
    dispatch_float(dtype_, "Conv2d", [](auto) {});
  }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    int64_t total = int64_t(d_.N) * d_.OH * d_.OW * d_.C;
    if (total == 0) return;
    const float* w = static_cast<const float*>(params_.get());
    dispatch_float(dtype_, "Conv2d", [&](auto t) {
      using T = decltype(t);
      depthwise_nhwc_kernel<T><<<grid1d(total), 256, 0, s>>>(
          static_cast<const T*>(in[0]), w, has_bias_ ? w + w_elems_ : nullptr,
          d_.has_residual ? static_cast<const T*>(in.back()) : nullptr, static_cast<T*>(out[0]), d_);
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    return str_cat("depthwise conv NHWC ", d_.R, "x", d_.S, " s", d_.sh, " C=", d_.C, " ", ir::dtype_name(dtype_),
                   d_.has_act ? str_cat(" +", ir::unary_kind_name(d_.act)) : "", d_.has_residual ? " +residual" : "");
  }

 private:
  ir::DType dtype_;
  Depthwise d_{};
  bool has_bias_ = false;
  int64_t w_elems_ = 0;
  DeviceBuffer params_;
};

}  // namespace

std::unique_ptr<Kernel> make_nhwc_layout_change(const TensorDesc& from, Layout to) {
  return std::make_unique<TransposeLayoutKernel>(from, to);
}

std::unique_ptr<Kernel> make_nhwc_pool(const KernelArgs& a) {
  if (a.inputs[0].layout != Layout::kNHWC || a.outputs[0].layout != Layout::kNHWC) return nullptr;
  if (a.inputs[0].numel() >= (int64_t(1) << 31) || a.outputs[0].numel() >= (int64_t(1) << 31)) return nullptr;
  if (a.node.op == ir::OpKind::Pool2d) return std::make_unique<PoolNhwcKernel>(a, false);
  const auto& os = a.node.attr<ir::AdaptivePool2dAttrs>().output_size;
  if (os[0] == 1 && os[1] == 1) return std::make_unique<PoolNhwcKernel>(a, true);
  return nullptr;
}

std::unique_ptr<Kernel> make_depthwise_nhwc(const KernelArgs& a) {
  const auto& at = a.node.attr<ir::Conv2dAttrs>();
  const auto& xs = a.inputs[0].shape;
  const auto& ws = a.inputs[1].shape;
  bool depthwise = at.groups == xs[1] && ws[0] == xs[1] && ws[1] == 1;
  const size_t n_main = a.inputs.size() - (at.has_residual ? 1 : 0);
  bool const_bias = n_main < 3 || a.constants[2];
  bool fits = a.outputs[0].numel() < (int64_t(1) << 31) && a.inputs[0].numel() < (int64_t(1) << 31);
  if (!depthwise || a.inputs[0].layout != Layout::kNHWC || !a.constants[1] || !const_bias || !fits) return nullptr;
  return std::make_unique<DepthwiseKernel>(a);
}

}  // namespace trtorch::backends::cuda
