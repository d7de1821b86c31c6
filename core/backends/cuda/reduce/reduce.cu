// Reductions (sum/mean/max/min/prod over any sorted set of axes) and softmax / log-softmax. A
// block per output element (or softmax row), FP32 accumulation, warp-shuffle reductions
// (common/block_reduce.cuh).
#include <algorithm>
#include <cfloat>
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

}  // namespace

std::unique_ptr<Kernel> make_Reduce(const KernelArgs& a) { return std::make_unique<ReduceKernel>(a); }
std::unique_ptr<Kernel> make_Softmax(const KernelArgs& a) { return std::make_unique<SoftmaxKernel>(a); }

}  // namespace trtorch::backends::cuda
