// Scatter (scatter, scatter_add, index_put): the output starts as a copy of self, then one thread
// per index position writes (kNone: a byte-wise copy of the src element, any dtype) or atomically
// adds (kAdd: FP32, FP16, BF16, int32, int64) its src element at the position the index names.
// An index outside [0, self.shape[axis]) writes nothing.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "core/backends/cuda/common/bytewise.cuh"
#include "core/backends/cuda/common/cuda_check.h"

namespace trtorch::backends::cuda {

namespace {

constexpr int kThreads = 256;

// The offset in self of index position p (row-major over the index's shape), or -1 when its
// index is out of range.
template <typename I>
__device__ __forceinline__ int64_t scatter_target(const I* idx, int64_t p, int rank, int axis, const Dims8& idx_shape,
                                                  const Dims8& self_strides, int64_t axis_size) {
  const int64_t v = int64_t(idx[p]);
  if (v < 0 || v >= axis_size) return -1;
  int64_t off = 0, rest = p;
  for (int d = rank - 1; d >= 0; --d) {
    const int64_t c = rest % idx_shape.v[d];
    rest /= idx_shape.v[d];
    off += (d == axis ? v : c) * self_strides.v[d];
  }
  return off;
}

template <typename W, typename I>
__global__ void scatter_write_kernel(const I* __restrict__ idx, const W* __restrict__ src, W* __restrict__ out,
                                     int64_t n, int rank, int axis, Dims8 idx_shape, Dims8 self_strides,
                                     int64_t axis_size) {
  for (int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; p < n; p += int64_t(gridDim.x) * blockDim.x) {
    const int64_t t = scatter_target(idx, p, rank, axis, idx_shape, self_strides, axis_size);
    if (t >= 0) out[t] = src[p];
  }
}

__device__ __forceinline__ void atomic_add(float* p, float v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(__half* p, __half v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(__nv_bfloat16* p, __nv_bfloat16 v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(int32_t* p, int32_t v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(int64_t* p, int64_t v) {
  atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));  // two's complement
}

template <typename T, typename I>
__global__ void scatter_add_kernel(const I* __restrict__ idx, const T* __restrict__ src, T* __restrict__ out, int64_t n,
                                   int rank, int axis, Dims8 idx_shape, Dims8 self_strides, int64_t axis_size) {
  for (int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; p < n; p += int64_t(gridDim.x) * blockDim.x) {
    const int64_t t = scatter_target(idx, p, rank, axis, idx_shape, self_strides, axis_size);
    if (t >= 0) atomic_add(out + t, src[p]);
  }
}

class ScatterKernel : public Kernel {
 public:
  explicit ScatterKernel(const KernelArgs& a)
      : attrs_(a.node.attr<ir::ScatterAttrs>()),
        dtype_(a.inputs[0].dtype),
        index_dtype_(a.inputs[1].dtype),
        bytes_(a.inputs[0].bytes()),
        n_(a.inputs[1].numel()) {
    bytewise::expect_row_major(a, "Scatter");
    const auto& self = a.inputs[0].shape;
    rank_ = int(self.size());
    TRTORCH_EXPECT(attrs_.axis >= 0 && attrs_.axis < rank_ && a.inputs[1].shape.size() == self.size(),
                   "Scatter: bad axis ", attrs_.axis, " or index rank");
    idx_shape_ = bytewise::dims_of(a.inputs[1].shape);
    self_strides_ = bytewise::dims_of(contiguous_strides(self));
    axis_size_ = self[size_t(attrs_.axis)];
    if (attrs_.reduce == ir::ScatterReduce::kAdd) dispatch_numeric(dtype_, "Scatter (add)", [](auto) {});
  }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    if (bytes_ > 0 && out[0] != in[0])
      TRTORCH_CUDA_CHECK(cudaMemcpyAsync(out[0], in[0], bytes_, cudaMemcpyDeviceToDevice, s));
    if (n_ == 0) return;
    auto run = [&](auto index_tag) {
      using I = decltype(index_tag);
      const I* idx = static_cast<const I*>(in[1]);
      const int axis = int(attrs_.axis);
      if (attrs_.reduce == ir::ScatterReduce::kNone) {
        bytewise::dispatch_size(ir::dtype_size(dtype_), [&](auto word) {
          using W = decltype(word);
          scatter_write_kernel<W, I><<<grid_for(n_), kThreads, 0, s>>>(
              idx, static_cast<const W*>(in[2]), static_cast<W*>(out[0]), n_, rank_, axis, idx_shape_, self_strides_,
              axis_size_);
        });
      } else {
        dispatch_numeric(dtype_, "Scatter (add)", [&](auto t) {
          using T = decltype(t);
          scatter_add_kernel<T, I><<<grid_for(n_), kThreads, 0, s>>>(
              idx, static_cast<const T*>(in[2]), static_cast<T*>(out[0]), n_, rank_, axis, idx_shape_, self_strides_,
              axis_size_);
        });
      }
    };
    if (index_dtype_ == ir::DType::kInt32) run(int32_t{});
    else run(int64_t{});
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    return str_cat("scatter", attrs_.reduce == ir::ScatterReduce::kAdd ? "_add " : " ", ir::dtype_name(dtype_), " ",
                   n_, " positions along axis ", attrs_.axis);
  }

 private:
  ir::ScatterAttrs attrs_;
  ir::DType dtype_, index_dtype_;
  size_t bytes_;
  int64_t n_;
  int rank_ = 0;
  Dims8 idx_shape_, self_strides_;
  int64_t axis_size_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_Scatter(const KernelArgs& a) { return std::make_unique<ScatterKernel>(a); }

}  // namespace trtorch::backends::cuda
