// LayerNorm kernels, FP32 statistics, optional residual added first (and its sum optionally
// written out in FP32), optional weight and bias: a warp per row for rows up to 4096 elements
// (the row in registers, warp-shuffle sums), else a block per row (in registers up to
// 256 * 8 elements, else three passes over memory).
#include <algorithm>
#include <cstdint>
#include <iterator>
#include <type_traits>
#include <utility>

#include "core/backends/cuda/common/block_reduce.cuh"
#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/device_math.cuh"
#include "core/backends/cuda/common/kernel.h"

namespace trtorch::backends::cuda {

namespace {

constexpr int kBlock = 256;

// LayerNorm of `rows` rows of `cols` contiguous elements, FP32 statistics (the mean, then the
// biased variance of x - mean), optional residual (of type R: T, or float for a residual stream
// kept in FP32) added first (in FP32), optional weight and bias of `cols`, and optionally that
// sum written to `sum` (FP32). A block per row; the row stays in registers (kPer elements per
// thread), so x and the residual are read once.
template <typename T, typename R, int kPer>
__global__ void layer_norm_kernel(const T* __restrict__ x, const R* __restrict__ res, const T* __restrict__ w,
                                  const T* __restrict__ b, T* __restrict__ y, float* __restrict__ sum_out,
                                  int64_t rows, int cols, float eps) {
  auto sum_op = [](float p, float q) { return p + q; };
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * cols;
    float v[kPer];
    float sum = 0.0f;
#pragma unroll
    for (int k = 0; k < kPer; ++k) {
      const int j = threadIdx.x + k * int(blockDim.x);
      v[k] = 0.0f;
      if (j < cols) {
        v[k] = load_f(xr, j) + (res ? load_f(res + r * cols, j) : 0.0f);
        sum += v[k];
        if (sum_out) sum_out[r * cols + j] = v[k];
      }
    }
    const float mean = block_reduce(sum, sum_op, 0.0f) / float(cols);
    float sq = 0.0f;
#pragma unroll
    for (int k = 0; k < kPer; ++k) {
      const int j = threadIdx.x + k * int(blockDim.x);
      if (j < cols) sq += (v[k] - mean) * (v[k] - mean);
    }
    const float rstd = rsqrtf(block_reduce(sq, sum_op, 0.0f) / float(cols) + eps);
    T* yr = y + r * cols;
#pragma unroll
    for (int k = 0; k < kPer; ++k) {
      const int j = threadIdx.x + k * int(blockDim.x);
      if (j < cols) {
        float o = (v[k] - mean) * rstd;
        if (w) o = o * load_f(w, j) + (b ? load_f(b, j) : 0.0f);
        yr[j] = from_f<T>(o);
      }
    }
  }
}

// Rows longer than kBlock * kMaxPer: three passes over the row in memory.
constexpr int kMaxPer = 8;
template <typename T, typename R>
__global__ void layer_norm_long_kernel(const T* __restrict__ x, const R* __restrict__ res, const T* __restrict__ w,
                                       const T* __restrict__ b, T* __restrict__ y, float* __restrict__ sum_out,
                                       int64_t rows, int64_t cols, float eps) {
  auto sum_op = [](float p, float q) { return p + q; };
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * cols;
    const R* rr = res ? res + r * cols : nullptr;
    auto at = [&](int64_t j) { return load_f(xr, j) + (rr ? load_f(rr, j) : 0.0f); };
    float sum = 0.0f;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const float v = at(j);
      sum += v;
      if (sum_out) sum_out[r * cols + j] = v;
    }
    const float mean = block_reduce(sum, sum_op, 0.0f) / float(cols);
    float sq = 0.0f;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const float d = at(j) - mean;
      sq += d * d;
    }
    const float rstd = rsqrtf(block_reduce(sq, sum_op, 0.0f) / float(cols) + eps);
    T* yr = y + r * cols;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      float v = (at(j) - mean) * rstd;
      if (w) v = v * load_f(w, j) + (b ? load_f(b, j) : 0.0f);
      yr[j] = from_f<T>(v);
    }
  }
}

// Rows of up to 4096 elements in 16-byte vectors (1024 one element at a time): a warp per row,
// the row in registers, lane l holding the vectors (V elements) l, l + 32, ..., so that every
// access of the warp is coalesced; the statistics are warp-shuffle sums, with no shared memory or
// block barrier. The block-per-row kernels above spend most of their time in those two barriers
// and in 2-byte accesses, and leave threads idle on rows shorter than 256.
constexpr int kLnWarps = 4;          // rows per block; small blocks keep the last wave short
constexpr int kLnMaxPerLane = 128;   // FP32 row values a lane holds in registers (~170 registers)
// The instantiated vectors per lane (N), smallest first; a row takes the smallest that holds it.
constexpr int kLnVectors[] = {1, 2, 3, 4, 6, 8, 12, 16, 24, 32};

template <typename T, typename R>
struct LayerNormArgs {
  const T* x;
  const R* res;  // null: no residual
  const T* w;    // null: no weight (and then no bias)
  const T* b;    // null: no bias
  T* y;
  float* sum;    // null: x + residual not written
  int64_t rows;
  int cols;
  float eps;
};

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Each warp's row index is uniform across its lanes, so the shuffles always see the full warp.
template <typename T, typename R, int V, int N>
__global__ void __launch_bounds__(kLnWarps * 32) layer_norm_warp_kernel(const LayerNormArgs<T, R> p) {
  using P = Vec<T, V>;
  const int lane = int(threadIdx.x) & 31;
  const int nvec = p.cols / V;
  const P* w = reinterpret_cast<const P*>(p.w);
  const P* b = reinterpret_cast<const P*>(p.b);
  for (int64_t r = int64_t(blockIdx.x) * kLnWarps + threadIdx.x / 32; r < p.rows; r += int64_t(gridDim.x) * kLnWarps) {
    const P* x = reinterpret_cast<const P*>(p.x + r * p.cols);
    const R* res = p.res ? p.res + r * p.cols : nullptr;
    float* sum_row = p.sum ? p.sum + r * p.cols : nullptr;
    float v[N][V];
    float sum = 0.0f;
#pragma unroll
    for (int k = 0; k < N; ++k) {
      const int q = lane + 32 * k;
      if (q < nvec) {
        const P xv = x[q];
#pragma unroll
        for (int j = 0; j < V; ++j) v[k][j] = load_f(xv.v, j);
        if (res) {
          if constexpr (std::is_same_v<R, T>) {
            const P rv = reinterpret_cast<const P*>(res)[q];
#pragma unroll
            for (int j = 0; j < V; ++j) v[k][j] += load_f(rv.v, j);
          } else {  // FP32 residual: 16-byte loads where V % 4 == 0
            float rf[V];
            load_floats<V>(res + q * V, rf);
#pragma unroll
            for (int j = 0; j < V; ++j) v[k][j] += rf[j];
          }
        }
        if (sum_row) store_floats<V>(sum_row + q * V, v[k]);
#pragma unroll
        for (int j = 0; j < V; ++j) sum += v[k][j];
      }
    }
    const float mean = warp_sum(sum) / float(p.cols);
    float sq = 0.0f;
#pragma unroll
    for (int k = 0; k < N; ++k) {
      if (lane + 32 * k < nvec) {
#pragma unroll
        for (int j = 0; j < V; ++j) sq += (v[k][j] - mean) * (v[k][j] - mean);
      }
    }
    const float rstd = rsqrtf(warp_sum(sq) / float(p.cols) + p.eps);
    P* y = reinterpret_cast<P*>(p.y + r * p.cols);
#pragma unroll
    for (int k = 0; k < N; ++k) {
      const int q = lane + 32 * k;
      if (q < nvec) {
        P wv, bv, o;
        if (w) wv = w[q];
        if (b) bv = b[q];
#pragma unroll
        for (int j = 0; j < V; ++j) {
          float f = (v[k][j] - mean) * rstd;
          if (w) f = f * load_f(wv.v, j) + (b ? load_f(bv.v, j) : 0.0f);
          o.v[j] = from_f<T>(f);
        }
        y[q] = o;
      }
    }
  }
}

constexpr bool ln_warp_fits(int v, int n) { return v * n <= kLnMaxPerLane; }

// The vectors per lane that hold a row of `cols` elements in vectors of `v`, or 0 when none does.
int ln_warp_vectors(int64_t cols, int v) {
  if (cols % v != 0) return 0;
  for (int n : kLnVectors)
    if (ln_warp_fits(v, n) && int64_t(32) * v * n >= cols) return n;
  return 0;
}

template <typename T, typename R, int V, size_t... I>
void launch_layer_norm_warp(int n, const LayerNormArgs<T, R>& a, cudaStream_t s, std::index_sequence<I...>) {
  const unsigned grid = unsigned(std::min<int64_t>((a.rows + kLnWarps - 1) / kLnWarps, 65535 * 8));
  auto go = [&](auto vectors) {
    constexpr int N = decltype(vectors)::value;
    if constexpr (ln_warp_fits(V, N)) {
      if (n == N) layer_norm_warp_kernel<T, R, V, N><<<grid, kLnWarps * 32, 0, s>>>(a);
    }
  };
  (go(std::integral_constant<int, kLnVectors[I]>{}), ...);
}
template <typename T, int V, typename R>
void launch_layer_norm_warp(int n, const LayerNormArgs<T, R>& a, cudaStream_t s) {
  launch_layer_norm_warp<T, R, V>(n, a, s, std::make_index_sequence<std::size(kLnVectors)>{});
}

class LayerNormKernel : public Kernel {
 public:
  explicit LayerNormKernel(const KernelArgs& a)
      : attrs_(a.node.attr<ir::LayerNormAttrs>()), dtype_(a.inputs[0].dtype), n_inputs_(a.inputs.size()) {
    for (const auto& d : a.inputs)
      TRTORCH_EXPECT(d.layout == Layout::kRowMajor, "LayerNorm: expects row-major inputs");
    res_f32_ = attrs_.has_residual && a.inputs[1].dtype == ir::DType::kFloat32 && dtype_ != ir::DType::kFloat32;
    TRTORCH_EXPECT(!attrs_.emit_sum || (attrs_.has_residual && a.outputs.size() == 2 &&
                                        a.outputs[1].dtype == ir::DType::kFloat32),
                   "LayerNorm: emit_sum needs a residual and an FP32 second output");
    const auto& s = a.inputs[0].shape;
    for (size_t d = s.size() - size_t(attrs_.normalized_rank); d < s.size(); ++d) cols_ *= s[d];
    rows_ = cols_ == 0 ? 0 : a.inputs[0].numel() / cols_;
    dispatch_float(dtype_, "LayerNorm", [](auto) {});
    wide_ = int(16 / ir::dtype_size(dtype_));
    wide_n_ = ln_warp_vectors(cols_, wide_);
    scalar_n_ = ln_warp_vectors(cols_, 1);
  }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    if (rows_ == 0) return;
    dispatch_float(dtype_, "LayerNorm", [&](auto t) {
      using T = decltype(t);
      if constexpr (std::is_same_v<T, float>) {
        run<T, float>(in, out, s);
      } else {
        if (res_f32_)
          run<T, float>(in, out, s);
        else
          run<T, T>(in, out, s);
      }
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    const std::string scalar = scalar_n_ > 0 ? "warp/row vec1" : "block/row";
    const std::string path = wide_n_ > 0 ? str_cat("warp/row vec", wide_, " (misaligned: ", scalar, ")") : scalar;
    return str_cat("layer norm rows=", rows_, " cols=", cols_,
                   attrs_.has_residual ? (res_f32_ ? " +residual f32" : " +residual") : "",
                   attrs_.emit_sum ? " emitting the f32 sum" : "",
                   n_inputs_ > (attrs_.has_residual ? 2u : 1u) ? " affine " : " ", ir::dtype_name(dtype_), ", ", path);
  }

 private:
  // R: the residual's storage type (T, or float for an FP32 residual stream).
  template <typename T, typename R>
  void run(const std::vector<const void*>& in, const std::vector<void*>& out, cudaStream_t s) const {
    const size_t p = attrs_.has_residual ? 2 : 1;  // weight, then bias
    const R* res = attrs_.has_residual ? static_cast<const R*>(in[1]) : nullptr;
    const T* w = n_inputs_ > p ? static_cast<const T*>(in[p]) : nullptr;
    const T* b = n_inputs_ > p + 1 ? static_cast<const T*>(in[p + 1]) : nullptr;
    const T* x = static_cast<const T*>(in[0]);
    T* y = static_cast<T*>(out[0]);
    float* sum = attrs_.emit_sum ? static_cast<float*>(out[1]) : nullptr;
    const LayerNormArgs<T, R> args{x, res, w, b, y, sum, rows_, int(cols_), float(attrs_.eps)};
    const uintptr_t addr = reinterpret_cast<uintptr_t>(x) | reinterpret_cast<uintptr_t>(res) |
                           reinterpret_cast<uintptr_t>(w) | reinterpret_cast<uintptr_t>(b) |
                           reinterpret_cast<uintptr_t>(y) | reinterpret_cast<uintptr_t>(sum);
    if (wide_n_ > 0 && addr % 16 == 0) return launch_layer_norm_warp<T, int(16 / sizeof(T))>(wide_n_, args, s);
    if (scalar_n_ > 0) return launch_layer_norm_warp<T, 1>(scalar_n_, args, s);
    const int threads = cols_ >= kBlock ? kBlock : std::max<int>(32, int((cols_ + 31) / 32 * 32));
    const unsigned grid = unsigned(std::min<int64_t>(rows_, 65535 * 4));
    const float eps = float(attrs_.eps);
    const int per = int((cols_ + threads - 1) / threads);
    const int c = int(cols_);
    switch (per) {
      case 1: layer_norm_kernel<T, R, 1><<<grid, threads, 0, s>>>(x, res, w, b, y, sum, rows_, c, eps); break;
      case 2: layer_norm_kernel<T, R, 2><<<grid, threads, 0, s>>>(x, res, w, b, y, sum, rows_, c, eps); break;
      case 3: layer_norm_kernel<T, R, 3><<<grid, threads, 0, s>>>(x, res, w, b, y, sum, rows_, c, eps); break;
      case 4: layer_norm_kernel<T, R, 4><<<grid, threads, 0, s>>>(x, res, w, b, y, sum, rows_, c, eps); break;
      case 5:
      case 6: layer_norm_kernel<T, R, 6><<<grid, threads, 0, s>>>(x, res, w, b, y, sum, rows_, c, eps); break;
      case 7:
      case kMaxPer:
        layer_norm_kernel<T, R, kMaxPer><<<grid, threads, 0, s>>>(x, res, w, b, y, sum, rows_, c, eps);
        break;
      default: layer_norm_long_kernel<T, R><<<grid, threads, 0, s>>>(x, res, w, b, y, sum, rows_, cols_, eps);
    }
  }

  ir::LayerNormAttrs attrs_;
  ir::DType dtype_;
  bool res_f32_ = false;  // an FP32 residual with an FP16/BF16 input
  size_t n_inputs_;
  int64_t rows_ = 0, cols_ = 1;
  // The warp-per-row kernel's vectors per lane (0: the row does not fit): in 16-byte vectors of
  // wide_ elements (when the pointers are 16-byte aligned), else one element at a time.
  int wide_ = 1, wide_n_ = 0, scalar_n_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_LayerNorm(const KernelArgs& a) { return std::make_unique<LayerNormKernel>(a); }

}  // namespace trtorch::backends::cuda
