// Reductions (sum/mean/max/min/prod over any sorted set of axes), softmax / log-softmax and
// LayerNorm. A block per output element (or softmax / layer-norm row), FP32 accumulation,
// warp-shuffle reductions.
#include <algorithm>
#include <cfloat>

#include "core/backends/cuda/cuda_check.h"
#include "core/backends/cuda/device_math.cuh"
#include "core/backends/cuda/kernel.h"

namespace trtorch::backends::cuda {

namespace {

using ir::ReduceKind;

constexpr int kBlock = 256;

__device__ __forceinline__ float combine(ReduceKind k, float a, float b) {
  switch (k) {
    case ReduceKind::kSum:
    case ReduceKind::kMean: return a + b;
    case ReduceKind::kMax: return (a != a || b != b) ? a + b : fmaxf(a, b);
    case ReduceKind::kMin: return (a != a || b != b) ? a + b : fminf(a, b);
    case ReduceKind::kProd: return a * b;
    default: return a;
  }
}

__device__ __forceinline__ float identity_of(ReduceKind k) {
  switch (k) {
    case ReduceKind::kMax: return -INFINITY;
    case ReduceKind::kMin: return INFINITY;
    case ReduceKind::kProd: return 1.0f;
    default: return 0.0f;
  }
}

// Reduces v across the block (all threads get the result).
template <typename Op>
__device__ float block_reduce(float v, Op op, float ident) {
  __shared__ float shared[32];
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  int nwarps = (blockDim.x + 31) >> 5;
  v = lane < nwarps ? shared[lane] : ident;
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Output element `o` = reduce over the reduced sub-index space. Kept and reduced dims are given
// as (size, input stride) lists in row-major order of the output and of the reduced space.
template <typename T>
__global__ void reduce_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t n_out, int64_t n_red, int kept_rank,
                              Dims8 kept_size, Dims8 kept_stride, int red_rank, Dims8 red_size, Dims8 red_stride,
                              ReduceKind k) {
  for (int64_t o = blockIdx.x; o < n_out; o += gridDim.x) {
    int64_t base = 0, r = o;
    for (int d = kept_rank - 1; d >= 0; --d) {
      base += (r % kept_size.v[d]) * kept_stride.v[d];
      r /= kept_size.v[d];
    }
    float acc = identity_of(k);
    for (int64_t j = threadIdx.x; j < n_red; j += blockDim.x) {
      int64_t off = base, q = j;
      for (int d = red_rank - 1; d >= 0; --d) {
        off += (q % red_size.v[d]) * red_stride.v[d];
        q /= red_size.v[d];
      }
      acc = combine(k, acc, load_f(x, off));
    }
    acc = block_reduce(acc, [k](float a, float b) { return combine(k, a, b); }, identity_of(k));
    if (threadIdx.x == 0) y[o] = from_f<T>(k == ReduceKind::kMean ? acc / float(n_red) : acc);
  }
}

class ReduceKernel : public Kernel {
 public:
  explicit ReduceKernel(const KernelArgs& a) : attrs_(a.node.attr<ir::ReduceAttrs>()), dtype_(a.inputs[0].dtype) {
    TRTORCH_EXPECT(a.inputs[0].layout == Layout::kRowMajor, "Reduce: expects a row-major input");
    const auto& s = a.inputs[0].shape;
    auto st = contiguous_strides(s);
    TRTORCH_EXPECT(s.size() <= size_t(kMaxDims), "Reduce: rank ", s.size(), " exceeds ", kMaxDims);
    for (size_t d = 0; d < s.size(); ++d) {
      bool red = std::find(attrs_.axes.begin(), attrs_.axes.end(), int64_t(d)) != attrs_.axes.end();
      if (red) {
        red_size_.v[red_rank_] = s[d];
        red_stride_.v[red_rank_++] = st[d];
        n_red_ *= s[d];
      } else {
        kept_size_.v[kept_rank_] = s[d];
        kept_stride_.v[kept_rank_++] = st[d];
      }
    }
    n_out_ = a.outputs[0].numel();
    dispatch_float(dtype_, "Reduce", [](auto) {});
  }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    if (n_out_ == 0) return;
    dispatch_float(dtype_, "Reduce", [&](auto t) {
      using T = decltype(t);
      unsigned grid = unsigned(std::min<int64_t>(n_out_, 65535 * 4));
      int threads = n_red_ >= kBlock ? kBlock : std::max<int>(32, int((n_red_ + 31) / 32 * 32));
      reduce_kernel<T><<<grid, threads, 0, s>>>(static_cast<const T*>(in[0]), static_cast<T*>(out[0]), n_out_, n_red_,
                                                kept_rank_, kept_size_, kept_stride_, red_rank_, red_size_,
                                                red_stride_, attrs_.kind);
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    return str_cat("reduce over ", n_red_, " elements into ", n_out_, " ", ir::dtype_name(dtype_));
  }

 private:
  ir::ReduceAttrs attrs_;
  ir::DType dtype_;
  int64_t n_out_ = 0, n_red_ = 1;
  int kept_rank_ = 0, red_rank_ = 0;
  Dims8 kept_size_, kept_stride_, red_size_, red_stride_;
};

// Softmax over `dim` elements at stride `inner`, for each of outer * inner rows.
template <typename T>
__global__ void softmax_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t dim, int64_t inner,
                               bool log) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t base = (r / inner) * dim * inner + (r % inner);
    float m = -INFINITY;
    for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) m = fmaxf(m, load_f(x, base + j * inner));
    m = block_reduce(m, [](float a, float b) { return fmaxf(a, b); }, -INFINITY);
    float sum = 0.0f;
    for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) sum += expf(load_f(x, base + j * inner) - m);
    sum = block_reduce(sum, [](float a, float b) { return a + b; }, 0.0f);
    const float lse = logf(sum);
    for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) {
      float v = load_f(x, base + j * inner) - m;
      y[base + j * inner] = from_f<T>(log ? v - lse : expf(v) / sum);
    }
  }
}

class SoftmaxKernel : public Kernel {
 public:
  explicit SoftmaxKernel(const KernelArgs& a) : attrs_(a.node.attr<ir::SoftmaxAttrs>()), dtype_(a.inputs[0].dtype) {
    TRTORCH_EXPECT(a.inputs[0].layout == Layout::kRowMajor, "Softmax: expects a row-major input");
    const auto& s = a.inputs[0].shape;
    dim_ = s[size_t(attrs_.axis)];
    for (size_t d = size_t(attrs_.axis) + 1; d < s.size(); ++d) inner_ *= s[d];
    rows_ = dim_ == 0 ? 0 : a.inputs[0].numel() / dim_;
    dispatch_float(dtype_, "Softmax", [](auto) {});
  }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    if (rows_ == 0) return;
    dispatch_float(dtype_, "Softmax", [&](auto t) {
      using T = decltype(t);
      int threads = dim_ >= kBlock ? kBlock : std::max<int>(32, int((dim_ + 31) / 32 * 32));
      softmax_kernel<T><<<unsigned(std::min<int64_t>(rows_, 65535 * 4)), threads, 0, s>>>(
          static_cast<const T*>(in[0]), static_cast<T*>(out[0]), rows_, dim_, inner_, attrs_.log);
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    return str_cat(attrs_.log ? "log-softmax" : "softmax", " rows=", rows_, " dim=", dim_, " ", ir::dtype_name(dtype_));
  }

 private:
  ir::SoftmaxAttrs attrs_;
  ir::DType dtype_;
  int64_t dim_ = 1, inner_ = 1, rows_ = 0;
};

// LayerNorm of `rows` rows of `cols` contiguous elements, FP32 statistics (the mean, then the
// biased variance of x - mean), optional residual added first (in FP32) and optional weight and
// bias of `cols`. A block per row; the row stays in registers (kPer elements per thread), so x
// and the residual are read once.
template <typename T, int kPer>
__global__ void layer_norm_kernel(const T* __restrict__ x, const T* __restrict__ res, const T* __restrict__ w,
                                  const T* __restrict__ b, T* __restrict__ y, int64_t rows, int cols, float eps) {
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
template <typename T>
__global__ void layer_norm_long_kernel(const T* __restrict__ x, const T* __restrict__ res, const T* __restrict__ w,
                                       const T* __restrict__ b, T* __restrict__ y, int64_t rows, int64_t cols,
                                       float eps) {
  auto sum_op = [](float p, float q) { return p + q; };
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * cols;
    const T* rr = res ? res + r * cols : nullptr;
    auto at = [&](int64_t j) { return load_f(xr, j) + (rr ? load_f(rr, j) : 0.0f); };
    float sum = 0.0f;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) sum += at(j);
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

class LayerNormKernel : public Kernel {
 public:
  explicit LayerNormKernel(const KernelArgs& a)
      : attrs_(a.node.attr<ir::LayerNormAttrs>()), dtype_(a.inputs[0].dtype), n_inputs_(a.inputs.size()) {
    for (const auto& d : a.inputs)
      TRTORCH_EXPECT(d.layout == Layout::kRowMajor, "LayerNorm: expects row-major inputs");
    const auto& s = a.inputs[0].shape;
    for (size_t d = s.size() - size_t(attrs_.normalized_rank); d < s.size(); ++d) cols_ *= s[d];
    rows_ = cols_ == 0 ? 0 : a.inputs[0].numel() / cols_;
    dispatch_float(dtype_, "LayerNorm", [](auto) {});
  }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    if (rows_ == 0) return;
    dispatch_float(dtype_, "LayerNorm", [&](auto t) {
      using T = decltype(t);
      const size_t p = attrs_.has_residual ? 2 : 1;  // weight, then bias
      const T* res = attrs_.has_residual ? static_cast<const T*>(in[1]) : nullptr;
      const T* w = n_inputs_ > p ? static_cast<const T*>(in[p]) : nullptr;
      const T* b = n_inputs_ > p + 1 ? static_cast<const T*>(in[p + 1]) : nullptr;
      const T* x = static_cast<const T*>(in[0]);
      T* y = static_cast<T*>(out[0]);
      const int threads = cols_ >= kBlock ? kBlock : std::max<int>(32, int((cols_ + 31) / 32 * 32));
      const unsigned grid = unsigned(std::min<int64_t>(rows_, 65535 * 4));
      const float eps = float(attrs_.eps);
      const int per = int((cols_ + threads - 1) / threads);
      const int c = int(cols_);
      switch (per) {
        case 1: layer_norm_kernel<T, 1><<<grid, threads, 0, s>>>(x, res, w, b, y, rows_, c, eps); break;
        case 2: layer_norm_kernel<T, 2><<<grid, threads, 0, s>>>(x, res, w, b, y, rows_, c, eps); break;
        case 3: layer_norm_kernel<T, 3><<<grid, threads, 0, s>>>(x, res, w, b, y, rows_, c, eps); break;
        case 4: layer_norm_kernel<T, 4><<<grid, threads, 0, s>>>(x, res, w, b, y, rows_, c, eps); break;
        case 5:
        case 6: layer_norm_kernel<T, 6><<<grid, threads, 0, s>>>(x, res, w, b, y, rows_, c, eps); break;
        case 7:
        case kMaxPer: layer_norm_kernel<T, kMaxPer><<<grid, threads, 0, s>>>(x, res, w, b, y, rows_, c, eps); break;
        default: layer_norm_long_kernel<T><<<grid, threads, 0, s>>>(x, res, w, b, y, rows_, cols_, eps);
      }
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    return str_cat("layer norm rows=", rows_, " cols=", cols_, attrs_.has_residual ? " +residual" : "",
                   n_inputs_ > (attrs_.has_residual ? 2u : 1u) ? " affine " : " ", ir::dtype_name(dtype_));
  }

 private:
  ir::LayerNormAttrs attrs_;
  ir::DType dtype_;
  size_t n_inputs_;
  int64_t rows_ = 0, cols_ = 1;
};

}  // namespace

std::unique_ptr<Kernel> make_Reduce(const KernelArgs& a) { return std::make_unique<ReduceKernel>(a); }
std::unique_ptr<Kernel> make_Softmax(const KernelArgs& a) { return std::make_unique<SoftmaxKernel>(a); }
std::unique_ptr<Kernel> make_LayerNorm(const KernelArgs& a) { return std::make_unique<LayerNormKernel>(a); }

}  // namespace trtorch::backends::cuda
