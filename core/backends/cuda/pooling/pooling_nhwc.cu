// Memory-bound pooling kernels for channels-last (NHWC) activations, where the generic
// one-thread-per-element kernels spend their time on 64-bit index arithmetic:
//   * max / average pooling with a thread per (pixel, V channels) and 32-bit indexing;
//   * global average / max pooling (adaptive pooling to 1x1) with H*W split over enough blocks
//     to fill the GPU: FP32 partials in the kernel's scratch, combined in order by a second
//     kernel (deterministic).
// Each is one template over the storage type, FP32 accumulation, vectorized over channels
// (common/vector_access.cuh).
#include "core/backends/cuda/common/context.h"
#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/device_math.cuh"
#include "core/backends/cuda/common/vector_access.cuh"
#include "core/backends/cuda/pooling/pooling_nhwc.h"

#include <cstdint>

namespace trtorch::backends::cuda {

namespace {

using vec::ceil_div;
using vec::dispatch_vec;
using vec::grid1d;
using vec::load_vec;
using vec::nhwc_item;
using vec::NhwcItem;
using vec::store_vec;
using vec::vec_width;

// Max with NaN propagation (a NaN anywhere gives NaN), or sum.
template <bool kMax>
__device__ __forceinline__ float combine(float a, float b) {
  if constexpr (kMax) return (a != a || b != b) ? NAN : fmaxf(a, b);
  else return a + b;
}

// ---------------- pooling ----------------
struct Pool {
  int N, C, H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw;
};

// Pool2d: a thread per (output pixel, V consecutive channels), channel groups fastest
// (coalesced). 32-bit indices: the factory checks numel < 2^31.
template <typename T, int V, bool kMax>
__global__ void __launch_bounds__(256) pool_nhwc_kernel(const T* __restrict__ x, T* __restrict__ y, Pool p,
                                                        bool count_include_pad, int divisor_override) {
  const unsigned CG = unsigned(p.C / V);
  const unsigned total = unsigned(p.N) * unsigned(p.OH) * unsigned(p.OW) * CG;
  for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    const NhwcItem it = nhwc_item<V>(i, CG, unsigned(p.OW), unsigned(p.OH));
    const int c = it.c, ow = it.w, oh = it.oh, n = it.n;
    const int h0 = oh * p.sh - p.ph, w0 = ow * p.sw - p.pw;
    const T* base = x + n * p.H * p.W * p.C + c;
    float acc[V];
    if constexpr (kMax) {
      bool nan[V];
#pragma unroll
      for (int v = 0; v < V; ++v) {
        acc[v] = -INFINITY;
        nan[v] = false;
      }
      for (int a = 0; a < p.kh; ++a) {
        const int h = h0 + a * p.dh;
        if (h < 0 || h >= p.H) continue;
        for (int b = 0; b < p.kw; ++b) {
          const int w = w0 + b * p.dw;
          if (w < 0 || w >= p.W) continue;
          float f[V];
          load_vec<T, V>(base + (h * p.W + w) * p.C, f);
#pragma unroll
          for (int v = 0; v < V; ++v) {
            nan[v] |= f[v] != f[v];
            acc[v] = fmaxf(acc[v], f[v]);
          }
        }
      }
#pragma unroll
      for (int v = 0; v < V; ++v)
        if (nan[v]) acc[v] = NAN;
    } else {
      // torch: the window clipped to the padded input gives the count_include_pad divisor; the
      // window clipped to the input gives the other.
      int hs = h0, ws = w0, he = min(h0 + p.kh, p.H + p.ph), we = min(w0 + p.kw, p.W + p.pw);
      const int pool_size = (he - hs) * (we - ws);
      hs = max(hs, 0);
      ws = max(ws, 0);
      he = min(he, p.H);
      we = min(we, p.W);
#pragma unroll
      for (int v = 0; v < V; ++v) acc[v] = 0.0f;
      for (int h = hs; h < he; ++h)
        for (int w = ws; w < we; ++w) {
          float f[V];
          load_vec<T, V>(base + (h * p.W + w) * p.C, f);
#pragma unroll
          for (int v = 0; v < V; ++v) acc[v] += f[v];
        }
      const int div = divisor_override > 0 ? divisor_override : count_include_pad ? pool_size : (he - hs) * (we - ws);
#pragma unroll
      for (int v = 0; v < V; ++v) acc[v] = div > 0 ? acc[v] / float(div) : 0.0f;
    }
    store_vec<T, V>(y + i * unsigned(V), acc);
  }
}

// Global pooling of NHWC [N, HW, C] over HW. Block (BX channel groups of V, BY rows of pixels)
// with BX * BY <= kPoolThreads; grid (channel-group tiles, splits of HW into `chunk` pixels, N).
// With `partial` every block writes its FP32 result to partial[n][split][c], combined in order
// by global_pool_finish_kernel; without (one split), the block writes y[n][c] itself.
constexpr int kPoolThreads = 256;

template <typename T, int V, bool kMax>
__global__ void __launch_bounds__(kPoolThreads)
    global_pool_nhwc_kernel(const T* __restrict__ x, T* __restrict__ y, float* __restrict__ partial, int HW, int C,
                            int chunk) {
  __shared__ float part[kPoolThreads * V];
  const int BX = int(blockDim.x), BY = int(blockDim.y), tx = int(threadIdx.x), ty = int(threadIdx.y);
  const int c = (int(blockIdx.x) * BX + tx) * V;
  const int n = int(blockIdx.z);
  const int p_begin = int(blockIdx.y) * chunk, p_end = min(p_begin + chunk, HW);
  float acc[V];
#pragma unroll
  for (int v = 0; v < V; ++v) acc[v] = kMax ? -INFINITY : 0.0f;
  if (c < C) {
    const T* base = x + n * HW * C + c;
    int pix = p_begin + ty;
    // Four loads in flight per thread, combined in pixel order.
    for (; pix + 3 * BY < p_end; pix += 4 * BY) {
      float f[4][V];
#pragma unroll
      for (int u = 0; u < 4; ++u) load_vec<T, V>(base + (pix + u * BY) * C, f[u]);
#pragma unroll
      for (int u = 0; u < 4; ++u)
#pragma unroll
        for (int v = 0; v < V; ++v) acc[v] = combine<kMax>(acc[v], f[u][v]);
    }
    for (; pix < p_end; pix += BY) {
      float f[V];
      load_vec<T, V>(base + pix * C, f);
#pragma unroll
      for (int v = 0; v < V; ++v) acc[v] = combine<kMax>(acc[v], f[v]);
    }
  }
  // Tree over the BY rows (any BY): fold the rows at and above the largest power of two below
  // BY onto the ones below it, then halve.
  float* mine = part + (ty * BX + tx) * V;
#pragma unroll
  for (int v = 0; v < V; ++v) mine[v] = acc[v];
  __syncthreads();
  int s = 1;
  while (s * 2 < BY) s *= 2;
  for (; s > 0; s >>= 1) {
    if (ty < s && ty + s < BY) {
      const float* other = part + ((ty + s) * BX + tx) * V;
#pragma unroll
      for (int v = 0; v < V; ++v) mine[v] = combine<kMax>(mine[v], other[v]);
    }
    __syncthreads();
  }
  if (ty == 0 && c < C) {
    if (partial) {
      float* dst = partial + (size_t(n) * gridDim.y + blockIdx.y) * size_t(C) + c;
#pragma unroll
      for (int v = 0; v < V; ++v) dst[v] = mine[v];
    } else {
      float r[V];
#pragma unroll
      for (int v = 0; v < V; ++v) r[v] = kMax ? mine[v] : mine[v] / float(HW);
      store_vec<T, V>(y + n * C + c, r);
    }
  }
}

// Combines the `splits` partial results of every (n, c) in split order: y[n][c].
template <typename T, bool kMax>
__global__ void __launch_bounds__(256) global_pool_finish_kernel(const float* __restrict__ partial, T* __restrict__ y,
                                                                 int N, int C, int splits, int HW) {
  const unsigned total = unsigned(N) * unsigned(C);
  for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    const unsigned n = i / unsigned(C), c = i - n * unsigned(C);
    const float* src = partial + size_t(n) * splits * C + c;
    float r = src[0];
    for (int s = 1; s < splits; ++s) r = combine<kMax>(r, src[size_t(s) * C]);
    y[i] = from_f<T>(kMax ? r : r / float(HW));
  }
}

// Global pooling block shape for C / V channel groups: (BX, BY), and the grid's x.
struct GlobalPoolShape {
  int gx, bx, by;
};
GlobalPoolShape global_pool_shape(int C, int V) {
  const int CG = std::max(C / V, 1);
  const int gx = ceil_div(CG, 32);
  const int bx = ceil_div(CG, gx);
  return {gx, bx, kPoolThreads / bx};
}

class PoolNhwcKernel : public Kernel {
 public:
  PoolNhwcKernel(const KernelArgs& a, bool adaptive_global) : dtype_(a.inputs[0].dtype), global_(adaptive_global) {
    const auto& xs = a.inputs[0].shape;
    const auto& ys = a.outputs[0].shape;
    p_ = Pool{int(xs[0]), int(xs[1]), int(xs[2]), int(xs[3]), int(ys[2]), int(ys[3]), 1, 1, 1, 1, 0, 0, 1, 1};
    vec_ = vec_width(dtype_, p_.C, {});  // the launch also checks the pointers
    if (global_) {
      is_max_ = a.node.attr<ir::AdaptivePool2dAttrs>().kind == ir::PoolKind::kMax;
      // Split H*W so that the grid has about 4 blocks per SM, each thread reading >= 4 pixels.
      const int HW = p_.H * p_.W;
      const GlobalPoolShape sh = global_pool_shape(p_.C, vec_);
      const int64_t per_split = int64_t(sh.gx) * std::max(p_.N, 1);
      const int64_t target = 4 * int64_t(std::max(a.ctx.props().multiProcessorCount, 1));
      int64_t splits = std::min<int64_t>((target + per_split - 1) / per_split, ceil_div(HW, 4 * sh.by));
      splits = std::max<int64_t>(splits, 1);
      chunk_ = HW > 0 ? ceil_div(HW, splits) : 0;
      splits_ = chunk_ > 0 ? ceil_div(HW, chunk_) : 1;  // no empty split
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
  size_t scratch_bytes() const override {
    return splits_ > 1 ? size_t(p_.N) * size_t(splits_) * size_t(p_.C) * sizeof(float) : 0;
  }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void* scratch,
              cudaStream_t s) override {
    const int64_t total = global_ ? int64_t(p_.N) * p_.C : int64_t(p_.N) * p_.OH * p_.OW * p_.C;
    if (total == 0) return;
    const int vec = vec_width(dtype_, p_.C, {in[0], out[0]});
    if (global_ && splits_ > 1)
      TRTORCH_CHECK(scratch && reinterpret_cast<uintptr_t>(scratch) % sizeof(float) == 0,
                    "global pool: scratch missing or misaligned");
    dispatch_float(dtype_, "Pool2d", [&](auto t) {
      using T = decltype(t);
      const T* x = static_cast<const T*>(in[0]);
      T* y = static_cast<T*>(out[0]);
      dispatch_vec<T>(vec, [&](auto vc) {
        constexpr int V = decltype(vc)::value;
        if (global_) {
          const GlobalPoolShape sh = global_pool_shape(p_.C, V);
          const dim3 grid(unsigned(sh.gx), unsigned(splits_), unsigned(p_.N)), block(unsigned(sh.bx), unsigned(sh.by));
          const int HW = p_.H * p_.W;
          float* partial = splits_ > 1 ? static_cast<float*>(scratch) : nullptr;
          if (is_max_) global_pool_nhwc_kernel<T, V, true><<<grid, block, 0, s>>>(x, y, partial, HW, p_.C, chunk_);
          else global_pool_nhwc_kernel<T, V, false><<<grid, block, 0, s>>>(x, y, partial, HW, p_.C, chunk_);
          if (partial) {
            TRTORCH_CUDA_CHECK_LAUNCH();
            if (is_max_) global_pool_finish_kernel<T, true><<<grid1d(total), 256, 0, s>>>(partial, y, p_.N, p_.C, splits_, HW);
            else global_pool_finish_kernel<T, false><<<grid1d(total), 256, 0, s>>>(partial, y, p_.N, p_.C, splits_, HW);
          }
        } else {
          const unsigned grid = grid1d(total / V);
          if (is_max_)
            pool_nhwc_kernel<T, V, true><<<grid, 256, 0, s>>>(x, y, p_, count_include_pad_, divisor_override_);
          else
            pool_nhwc_kernel<T, V, false><<<grid, 256, 0, s>>>(x, y, p_, count_include_pad_, divisor_override_);
        }
      });
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    return str_cat(global_ ? "global " : "", is_max_ ? "max" : "avg", " pool NHWC ", ir::dtype_name(dtype_),
                   global_ ? "" : str_cat(" ", p_.kh, "x", p_.kw, " s", p_.sh), " vec", vec_,
                   global_ && splits_ > 1 ? str_cat(" split", splits_) : "");
  }

 private:
  ir::DType dtype_;
  bool global_;
  bool is_max_ = true, count_include_pad_ = true;
  int divisor_override_ = 0;
  Pool p_{};
  int vec_ = 1;
  int splits_ = 1, chunk_ = 0;  // global: H*W in splits_ chunks of chunk_ pixels
};

}  // namespace

std::unique_ptr<Kernel> make_nhwc_pool(const KernelArgs& a) {
  if (a.inputs[0].layout != Layout::kNHWC || a.outputs[0].layout != Layout::kNHWC) return nullptr;
  if (a.inputs[0].numel() >= (int64_t(1) << 31) || a.outputs[0].numel() >= (int64_t(1) << 31)) return nullptr;
  if (a.node.op == ir::OpKind::Pool2d) return std::make_unique<PoolNhwcKernel>(a, false);
  if (a.inputs[0].shape[0] > 65535) return nullptr;  // the global kernel's grid.z
  const auto& os = a.node.attr<ir::AdaptivePool2dAttrs>().output_size;
  if (os[0] == 1 && os[1] == 1) return std::make_unique<PoolNhwcKernel>(a, true);
  return nullptr;
}

}  // namespace trtorch::backends::cuda
