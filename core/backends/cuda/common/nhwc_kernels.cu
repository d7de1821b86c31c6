// Memory-bound kernels for channels-last (NHWC) activations, where the generic one-thread-per-
// element kernels spend their time on 64-bit index arithmetic:
//   * the NCHW <-> NHWC layout change as a batched, shared-memory tiled 2-D transpose;
//   * max / average pooling with a thread per (pixel, V channels) and 32-bit indexing;
//   * global average / max pooling (adaptive pooling to 1x1) with H*W split over enough blocks
//     to fill the GPU: FP32 partials in the kernel's scratch, combined in order by a second
//     kernel (deterministic);
//   * depthwise convolution (groups == C == K) with the fused epilogue (bias, residual,
//     activation), a direct kernel: cuDNN's NHWC depthwise engines measured 10x slower. Weights
//     are FP32 [R*S, C]; 3- and 5-tap rows at stride 1 or 2 compute 4 or 2 output pixels per thread.
// Each is one template over the storage type, FP32 accumulation. The pooling and depthwise
// kernels vectorize over channels: V consecutive channels per thread with one 16-byte access
// (8 x f16/bf16, 4 x f32) where C % V == 0 and the pointers are aligned, else 8/4/2 bytes or
// single elements (chosen at launch).
#include "core/backends/cuda/common/context.h"
#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/device_math.cuh"
#include "core/backends/cuda/common/nhwc_kernels.h"

#include <cstdint>
#include <initializer_list>
#include <type_traits>

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

// ---------------- vector access ----------------
// V consecutive channels as one Vec (device_math.cuh). The launch checks what makes it aligned:
// C % V == 0 and base pointers aligned to V * sizeof(T) (vec_width below).
__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T, int V>
__device__ __forceinline__ Vec<T, V> load_pack(const T* p) {
  static_assert(sizeof(T) * V <= 16, "at most 16-byte accesses");
  return *reinterpret_cast<const Vec<T, V>*>(p);
}

template <typename T, int V>
__device__ __forceinline__ void load_vec(const T* p, float (&f)[V]) {
  const Vec<T, V> pk = load_pack<T, V>(p);
#pragma unroll
  for (int i = 0; i < V; ++i) f[i] = to_float(pk.v[i]);
}

template <typename T, int V>
__device__ __forceinline__ void store_vec(T* p, const float (&f)[V]) {
  static_assert(sizeof(T) * V <= 16, "at most 16-byte accesses");
  Vec<T, V> pk;
#pragma unroll
  for (int i = 0; i < V; ++i) pk.v[i] = from_f<T>(f[i]);
  *reinterpret_cast<Vec<T, V>*>(p) = pk;
}

// Max with NaN propagation (a NaN anywhere gives NaN), or sum.
template <bool kMax>
__device__ __forceinline__ float combine(float a, float b) {
  if constexpr (kMax) return (a != a || b != b) ? NAN : fmaxf(a, b);
  else return a + b;
}

// Work item i of an NHWC kernel over [N, OH, Wu, C / V]: channel groups fastest (coalesced), then
// the width unit (an output column, or a tile of them), the output row and the image.
struct NhwcItem {
  int n, oh, w, c;
};
template <int V>
__device__ __forceinline__ NhwcItem nhwc_item(unsigned i, unsigned CG, unsigned Wu, unsigned OH) {
  NhwcItem it;
  it.c = int(i % CG) * V;
  unsigned r = i / CG;
  it.w = int(r % Wu);
  r /= Wu;
  it.oh = int(r % OH);
  it.n = int(r / OH);
  return it;
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

// Any R, S, stride, padding, dilation: a thread per (output pixel, V channels). Weights
// [R*S, C] and bias [C] in FP32.
template <typename T, int V>
__global__ void __launch_bounds__(256)
    depthwise_nhwc_kernel(const T* __restrict__ x, const float* __restrict__ w, const float* __restrict__ bias,
                          const T* __restrict__ residual, T* __restrict__ y, Depthwise d) {
  const unsigned CG = unsigned(d.C / V);
  const unsigned total = unsigned(d.N) * unsigned(d.OH) * unsigned(d.OW) * CG;
  for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    const NhwcItem it = nhwc_item<V>(i, CG, unsigned(d.OW), unsigned(d.OH));
    const int c = it.c, ow = it.w, oh = it.oh, n = it.n;
    float acc[V];
    if (bias) {
      load_floats<V>(bias + c, acc);
    } else {
#pragma unroll
      for (int v = 0; v < V; ++v) acc[v] = 0.0f;
    }
    const T* xn = x + n * d.H * d.W * d.C + c;
    for (int a = 0; a < d.R; ++a) {
      const int h = oh * d.sh - d.ph + a * d.dh;
      if (h < 0 || h >= d.H) continue;
      for (int b = 0; b < d.S; ++b) {
        const int ww = ow * d.sw - d.pw + b * d.dw;
        if (ww < 0 || ww >= d.W) continue;
        float xv[V], wv[V];
        load_vec<T, V>(xn + (h * d.W + ww) * d.C, xv);
        load_floats<V>(w + (a * d.S + b) * d.C + c, wv);
#pragma unroll
        for (int v = 0; v < V; ++v) acc[v] = fmaf(xv[v], wv[v], acc[v]);
      }
    }
    depthwise_epilogue<T, V>(acc, residual, y, int(i * unsigned(V)), d);
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

// The widest vector of channels per thread (16 bytes, else 8, 4, 2 bytes, else one element)
// that C and the pointers' alignment allow.
int vec_width(ir::DType dt, int64_t C, std::initializer_list<const void*> ptrs) {
  const int elem = int(ir::dtype_size(dt));
  for (int v = 16 / elem; v > 1; v /= 2) {
    bool ok = C % v == 0;
    for (const void* p : ptrs) ok = ok && reinterpret_cast<uintptr_t>(p) % uintptr_t(v * elem) == 0;
    if (ok) return v;
  }
  return 1;
}

// Calls f(std::integral_constant<int, v>{}) for v in 8 (2-byte types only), 4, 2, 1.
template <typename T, typename F>
void dispatch_vec(int v, F&& f) {
  if constexpr (sizeof(T) <= 2) {
    if (v == 8) {
      f(std::integral_constant<int, 8>{});
      return;
    }
  }
  switch (v) {
    case 4: f(std::integral_constant<int, 4>{}); return;
    case 2: f(std::integral_constant<int, 2>{}); return;
    case 1: f(std::integral_constant<int, 1>{}); return;
  }
  TRTORCH_ERROR("unsupported vector width ", v, " for ", sizeof(T), "-byte elements");
}

int ceil_div(int64_t a, int64_t b) { return int((a + b - 1) / b); }

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

// Output pixels per thread of the tiled depthwise kernel at stride 1 and 2 along W.
constexpr int kDepthwiseTile[2] = {4, 2};

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
    has_bias_ = ir::conv_has_bias(at, a.inputs.size());
    TRTORCH_EXPECT(!has_bias_ || a.constants[ir::kConvBiasInput], "Conv2d ", a.node.source,
                   ": depthwise bias must be a constant");
    // Weights [C, 1, R, S] -> FP32 [R*S, C] (a tap's channels contiguous), then the bias at a
    // 256-byte aligned offset.
    const int64_t taps = int64_t(d_.R) * d_.S, C = d_.C;
    TRTORCH_EXPECT(ir::numel_of(ws) == taps * C, "Conv2d ", a.node.source, ": depthwise weights of shape [C, 1, R, S]");
    bias_offset_ = (taps * C + 63) / 64 * 64;
    std::vector<float> host(size_t(bias_offset_ + (has_bias_ ? C : 0)), 0.0f);
    for (int64_t c = 0; c < C; ++c)
      for (int64_t t = 0; t < taps; ++t) host[size_t(t * C + c)] = float(a.constants[1]->get(c * taps + t));
    if (has_bias_)
      for (int64_t c = 0; c < C; ++c) host[size_t(bias_offset_ + c)] = float(a.constants[ir::kConvBiasInput]->get(c));
    params_ = DeviceBuffer(host.size() * sizeof(float));
    TRTORCH_CUDA_CHECK(cudaMemcpy(params_.get(), host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice));
    vec_ = vec_width(dtype_, d_.C, {});  // the launch also checks the pointers
    tiled_ = d_.dw == 1 && (d_.S == 3 || d_.S == 5) && (d_.sw == 1 || d_.sw == 2);
    dispatch_float(dtype_, "Conv2d", [](auto) {});
  }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    const int64_t total = int64_t(d_.N) * d_.OH * d_.OW * d_.C;
    if (total == 0) return;
    const float* w = static_cast<const float*>(params_.get());
    const float* bias = has_bias_ ? w + bias_offset_ : nullptr;
    const void* res = d_.has_residual ? in.back() : nullptr;
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
          depthwise_nhwc_kernel<T, V><<<grid1d(total / V), 256, 0, s>>>(x, w, bias, r, y, d_);
          return;
        }
        constexpr int P1 = kDepthwiseTile[0], P2 = kDepthwiseTile[1];
        const int pw = kDepthwiseTile[d_.sw - 1];
        const int64_t threads = int64_t(d_.N) * d_.OH * ceil_div(d_.OW, pw) * (d_.C / V);
        const unsigned grid = unsigned(std::min<int64_t>(blocks_for(threads, kDepthwiseTileThreads), 65535 * 32));
        constexpr int B = kDepthwiseTileThreads;
        if (d_.S == 3 && d_.sw == 1) depthwise_nhwc_tile_kernel<T, V, 3, 1, P1><<<grid, B, 0, s>>>(x, w, bias, r, y, d_);
        else if (d_.S == 3) depthwise_nhwc_tile_kernel<T, V, 3, 2, P2><<<grid, B, 0, s>>>(x, w, bias, r, y, d_);
        else if (d_.sw == 1) depthwise_nhwc_tile_kernel<T, V, 5, 1, P1><<<grid, B, 0, s>>>(x, w, bias, r, y, d_);
        else depthwise_nhwc_tile_kernel<T, V, 5, 2, P2><<<grid, B, 0, s>>>(x, w, bias, r, y, d_);
      });
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    return str_cat("depthwise conv NHWC ", d_.R, "x", d_.S, " s", d_.sh, " C=", d_.C, " ", ir::dtype_name(dtype_),
                   d_.has_act ? str_cat(" +", ir::unary_kind_name(d_.act)) : "", d_.has_residual ? " +residual" : "",
                   " vec", vec_, tiled_ ? str_cat(" tile", kDepthwiseTile[d_.sw - 1]) : "");
  }

 private:
  ir::DType dtype_;
  Depthwise d_{};
  bool has_bias_ = false, tiled_ = false;
  int vec_ = 1;
  int64_t bias_offset_ = 0;
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
  if (a.inputs[0].shape[0] > 65535) return nullptr;  // the global kernel's grid.z
  const auto& os = a.node.attr<ir::AdaptivePool2dAttrs>().output_size;
  if (os[0] == 1 && os[1] == 1) return std::make_unique<PoolNhwcKernel>(a, true);
  return nullptr;
}

std::unique_ptr<Kernel> make_depthwise_nhwc(const KernelArgs& a) {
  const auto& at = a.node.attr<ir::Conv2dAttrs>();
  const auto& xs = a.inputs[0].shape;
  const auto& ws = a.inputs[1].shape;
  bool depthwise = at.groups == xs[1] && ws[0] == xs[1] && ws[1] == 1;
  bool const_bias = !ir::conv_has_bias(at, a.inputs.size()) || a.constants[ir::kConvBiasInput];
  bool fits = a.outputs[0].numel() < (int64_t(1) << 31) && a.inputs[0].numel() < (int64_t(1) << 31);
  if (!depthwise || a.inputs[0].layout != Layout::kNHWC || !a.constants[1] || !const_bias || !fits) return nullptr;
  return std::make_unique<DepthwiseKernel>(a);
}

}  // namespace trtorch::backends::cuda
