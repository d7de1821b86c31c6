// Pooling kernels: Pool2d (max/avg with padding, dilation, ceil_mode, count_include_pad,
// divisor_override, exactly as torch) and AdaptivePool2d. One thread per output element, NCHW
// or NHWC (the executor's layout choice), one template over the storage type.
#include <cfloat>

#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/device_math.cuh"
#include "core/backends/cuda/common/kernel.h"
#include "core/backends/cuda/pooling/pooling_nhwc.h"

namespace trtorch::backends::cuda {

namespace {

constexpr int kThreads = 256;

struct PoolGeom {
  int64_t N, C, H, W, OH, OW;
  int64_t kh, kw, sh, sw, ph, pw, dh, dw;
  bool nhwc;
};

// Offset of (n, c, h, w) in either layout.
__device__ __forceinline__ int64_t offset(const PoolGeom& g, int64_t n, int64_t c, int64_t h, int64_t w, int64_t H,
                                          int64_t W) {
  return g.nhwc ? ((n * H + h) * W + w) * g.C + c : ((n * g.C + c) * H + h) * W + w;
}

// Output element i in the output's layout -> (n, c, oh, ow).
__device__ __forceinline__ void coords(const PoolGeom& g, int64_t i, int64_t& n, int64_t& c, int64_t& oh,
                                       int64_t& ow) {
  if (g.nhwc) {
    c = i % g.C;
    i /= g.C;
    ow = i % g.OW;
    i /= g.OW;
    oh = i % g.OH;
    n = i / g.OH;
  } else {
    ow = i % g.OW;
    i /= g.OW;
    oh = i % g.OH;
    i /= g.OH;
    c = i % g.C;
    n = i / g.C;
  }
}

template <typename T>
__global__ void pool2d_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t total, PoolGeom g, bool is_max,
                              bool count_include_pad, int64_t divisor_override) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t n, c, oh, ow;
    coords(g, i, n, c, oh, ow);
    const int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
    if (is_max) {
      float m = -INFINITY;
      bool nan = false;
      for (int64_t r = 0; r < g.kh; ++r) {
        int64_t h = h0 + r * g.dh;
        if (h < 0 || h >= g.H) continue;
        for (int64_t s = 0; s < g.kw; ++s) {
          int64_t w = w0 + s * g.dw;
          if (w < 0 || w >= g.W) continue;
          float v = load_f(x, offset(g, n, c, h, w, g.H, g.W));
          nan |= v != v;
          m = fmaxf(m, v);
        }
      }
      y[i] = from_f<T>(nan ? NAN : m);
    } else {
      // torch: the window clipped to the padded input gives the count_include_pad divisor; the
      // window clipped to the input gives the other.
      int64_t hs = h0, ws = w0;
      int64_t he = std::min(h0 + g.kh, g.H + g.ph), we = std::min(w0 + g.kw, g.W + g.pw);
      int64_t pool_size = (he - hs) * (we - ws);
      hs = std::max<int64_t>(hs, 0);
      ws = std::max<int64_t>(ws, 0);
      he = std::min(he, g.H);
      we = std::min(we, g.W);
      float sum = 0.0f;
      for (int64_t h = hs; h < he; ++h)
        for (int64_t w = ws; w < we; ++w) sum += load_f(x, offset(g, n, c, h, w, g.H, g.W));
      int64_t div = divisor_override > 0 ? divisor_override : count_include_pad ? pool_size : (he - hs) * (we - ws);
      y[i] = from_f<T>(div > 0 ? sum / float(div) : 0.0f);
    }
  }
}

template <typename T>
__global__ void adaptive_pool_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t total, PoolGeom g,
                                     bool is_max) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t n, c, oh, ow;
    coords(g, i, n, c, oh, ow);
    const int64_t hs = (oh * g.H) / g.OH, he = ((oh + 1) * g.H + g.OH - 1) / g.OH;
    const int64_t ws = (ow * g.W) / g.OW, we = ((ow + 1) * g.W + g.OW - 1) / g.OW;
    float acc = is_max ? -INFINITY : 0.0f;
    bool nan = false;
    for (int64_t h = hs; h < he; ++h)
      for (int64_t w = ws; w < we; ++w) {
        float v = load_f(x, offset(g, n, c, h, w, g.H, g.W));
        if (is_max) {
          nan |= v != v;
          acc = fmaxf(acc, v);
        } else {
          acc += v;
        }
      }
    if (is_max) y[i] = from_f<T>(nan ? NAN : acc);
    else y[i] = from_f<T>(acc / float((he - hs) * (we - ws)));
  }
}

PoolGeom geometry(const KernelArgs& a) {
  const auto& xs = a.inputs[0].shape;
  const auto& ys = a.outputs[0].shape;
  PoolGeom g{};
  g.N = xs[0];
  g.C = xs[1];
  g.H = xs[2];
  g.W = xs[3];
  g.OH = ys[2];
  g.OW = ys[3];
  TRTORCH_EXPECT(a.inputs[0].layout == a.outputs[0].layout, a.node.name(), ": input and output layouts differ");
  g.nhwc = a.inputs[0].layout == Layout::kNHWC;
  return g;
}

class Pool2dKernel : public Kernel {
 public:
  explicit Pool2dKernel(const KernelArgs& a) : attrs_(a.node.attr<ir::Pool2dAttrs>()), dtype_(a.inputs[0].dtype) {
    g_ = geometry(a);
    g_.kh = attrs_.kernel[0];
    g_.kw = attrs_.kernel[1];
    g_.sh = attrs_.stride[0];
    g_.sw = attrs_.stride[1];
    g_.ph = attrs_.padding[0];
    g_.pw = attrs_.padding[1];
    g_.dh = attrs_.dilation[0];
    g_.dw = attrs_.dilation[1];
    total_ = a.outputs[0].numel();
    dispatch_float(dtype_, "Pool2d", [](auto) {});
  }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    if (total_ == 0) return;
    dispatch_float(dtype_, "Pool2d", [&](auto t) {
      using T = decltype(t);
      pool2d_kernel<T><<<grid_for(total_), kThreads, 0, s>>>(
          static_cast<const T*>(in[0]), static_cast<T*>(out[0]), total_, g_, attrs_.kind == ir::PoolKind::kMax,
          attrs_.count_include_pad, attrs_.divisor_override);
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    return str_cat(attrs_.kind == ir::PoolKind::kMax ? "max" : "avg", " pool ", g_.kh, "x", g_.kw, " s", g_.sh, " ",
                   ir::dtype_name(dtype_), g_.nhwc ? " NHWC" : " NCHW");
  }

 private:
  ir::Pool2dAttrs attrs_;
  ir::DType dtype_;
  PoolGeom g_{};
  int64_t total_ = 0;
};

class AdaptivePoolKernel : public Kernel {
 public:
  explicit AdaptivePoolKernel(const KernelArgs& a)
      : is_max_(a.node.attr<ir::AdaptivePool2dAttrs>().kind == ir::PoolKind::kMax), dtype_(a.inputs[0].dtype) {
    g_ = geometry(a);
    total_ = a.outputs[0].numel();
    dispatch_float(dtype_, "AdaptivePool2d", [](auto) {});
  }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    if (total_ == 0) return;
    dispatch_float(dtype_, "AdaptivePool2d", [&](auto t) {
      using T = decltype(t);
      adaptive_pool_kernel<T><<<grid_for(total_), kThreads, 0, s>>>(static_cast<const T*>(in[0]),
                                                                   static_cast<T*>(out[0]), total_, g_, is_max_);
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    return str_cat("adaptive ", is_max_ ? "max" : "avg", " pool -> ", g_.OH, "x", g_.OW, " ", ir::dtype_name(dtype_),
                   g_.nhwc ? " NHWC" : " NCHW");
  }

 private:
  bool is_max_;
  ir::DType dtype_;
  PoolGeom g_{};
  int64_t total_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_Pool2d(const KernelArgs& a) {
  if (auto k = make_nhwc_pool(a)) return k;
  return std::make_unique<Pool2dKernel>(a);
}
std::unique_ptr<Kernel> make_AdaptivePool2d(const KernelArgs& a) {
  if (auto k = make_nhwc_pool(a)) return k;
  return std::make_unique<AdaptivePoolKernel>(a);
}

}  // namespace trtorch::backends::cuda
