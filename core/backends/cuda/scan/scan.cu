// CumSum and CumProd: inclusive running sums / products along one axis. Contiguous lines (the
// axis is innermost) are scanned by one 256-thread block each, a chunk of 256 elements at a time
// (warp shuffles, then the warp totals); strided lines are scanned by one thread each,
// neighbouring threads reading neighbouring columns. Floating types accumulate in FP32, integers
// in their own width with two's-complement wrap-around (like torch).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/device_math.cuh"
#include "core/backends/cuda/common/kernel.h"

namespace trtorch::backends::cuda {

namespace {

constexpr int kThreads = 256;

// The accumulator of a storage type, and its load / store.
template <typename T>
struct Acc {
  using type = std::conditional_t<std::is_same_v<T, int32_t>, uint32_t, uint64_t>;  // integers
  __device__ static type load(const T* p, int64_t i) { return type(p[i]); }
  __device__ static T store(type v) { return T(v); }
};
template <>
struct Acc<float> {
  using type = float;
  __device__ static float load(const float* p, int64_t i) { return p[i]; }
  __device__ static float store(float v) { return v; }
};
template <>
struct Acc<__half> {
  using type = float;
  __device__ static float load(const __half* p, int64_t i) { return load_f(p, i); }
  __device__ static __half store(float v) { return from_f<__half>(v); }
};
template <>
struct Acc<__nv_bfloat16> {
  using type = float;
  __device__ static float load(const __nv_bfloat16* p, int64_t i) { return load_f(p, i); }
  __device__ static __nv_bfloat16 store(float v) { return from_f<__nv_bfloat16>(v); }
};

// The combining operations: identity and apply.
struct SumOp {
  static constexpr int kIdentity = 0;
  template <typename A>
  __device__ static A apply(A a, A b) { return a + b; }
};
struct ProdOp {
  static constexpr int kIdentity = 1;
  template <typename A>
  __device__ static A apply(A a, A b) { return a * b; }
};

template <typename Op, typename A>
__device__ __forceinline__ A warp_inclusive_scan(A v) {
  const int lane = threadIdx.x & 31;
  for (int d = 1; d < 32; d <<= 1) {
    const A t = __shfl_up_sync(0xffffffffu, v, d);
    if (lane >= d) v = Op::apply(t, v);
  }
  return v;
}

// One block per contiguous line of `len` elements (grid-stride over lines).
template <typename Op, typename T>
__global__ void scan_rows_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t len) {
  using A = typename Acc<T>::type;
  __shared__ A warp_sums[kThreads / 32];
  __shared__ A chunk_total;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * len;
    T* yr = y + r * len;
    const A id = A(Op::kIdentity);
    A carry = id;
    for (int64_t base = 0; base < len; base += kThreads) {
      const int64_t i = base + threadIdx.x;
      A v = i < len ? Acc<T>::load(xr, i) : id;
      v = warp_inclusive_scan<Op>(v);
      if (lane == 31) warp_sums[warp] = v;
      __syncthreads();
      if (warp == 0) {
        A s = lane < kThreads / 32 ? warp_sums[lane] : id;
        s = warp_inclusive_scan<Op>(s);
        if (lane < kThreads / 32) warp_sums[lane] = s;
      }
      __syncthreads();
      if (warp > 0) v = Op::apply(warp_sums[warp - 1], v);
      if (i < len) yr[i] = Acc<T>::store(Op::apply(carry, v));
      if (threadIdx.x == kThreads - 1) chunk_total = v;
      __syncthreads();
      carry = Op::apply(carry, chunk_total);
      __syncthreads();  // warp_sums and chunk_total are rewritten by the next chunk
    }
  }
}

// One thread per column of a [outer, len, inner] tensor (inner > 1).
template <typename Op, typename T>
__global__ void scan_cols_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t cols, int64_t len,
                                   int64_t inner) {
  using A = typename Acc<T>::type;
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < cols; c += int64_t(gridDim.x) * blockDim.x) {
    const int64_t o = c / inner, i = c % inner;
    const int64_t base = o * len * inner + i;
    A acc = A(Op::kIdentity);
    for (int64_t k = 0; k < len; ++k) {
      acc = Op::apply(acc, Acc<T>::load(x, base + k * inner));
      y[base + k * inner] = Acc<T>::store(acc);
    }
  }
}

// Op: SumOp (CumSum) or ProdOp (CumProd).
template <typename Op>
class ScanKernel : public Kernel {
 public:
  ScanKernel(const KernelArgs& a, const char* name, int64_t axis) : name_(name), dtype_(a.inputs[0].dtype) {
    TRTORCH_EXPECT(a.inputs[0].layout == Layout::kRowMajor, name_, ": expects a row-major input");
    const auto& s = a.inputs[0].shape;
    TRTORCH_EXPECT(axis >= 0 && axis < int64_t(s.size()), name_, ": axis ", axis, " out of range");
    dispatch_numeric(dtype_, name_, [](auto) {});  // rejects other dtypes when the engine is built
    len_ = s[size_t(axis)];
    for (int64_t d = 0; d < axis; ++d) outer_ *= s[size_t(d)];
    for (size_t d = size_t(axis) + 1; d < s.size(); ++d) inner_ *= s[d];
  }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    if (outer_ * len_ * inner_ == 0) return;
    dispatch_numeric(dtype_, name_, [&](auto t) {
      using T = decltype(t);
      const T* x = static_cast<const T*>(in[0]);
      T* y = static_cast<T*>(out[0]);
      if (inner_ == 1) {
        const unsigned blocks = unsigned(std::min<int64_t>(outer_, 65535 * 8));
        scan_rows_kernel<Op, T><<<blocks, kThreads, 0, s>>>(x, y, outer_, len_);
      } else {
        scan_cols_kernel<Op, T><<<grid_for(outer_ * inner_), kThreads, 0, s>>>(x, y, outer_ * inner_, len_, inner_);
      }
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    return str_cat(name_, " ", ir::dtype_name(dtype_), " [", outer_, ", ", len_, ", ", inner_, "]");
  }

 private:
  const char* name_;
  ir::DType dtype_;
  int64_t outer_ = 1, len_ = 0, inner_ = 1;
};

}  // namespace

std::unique_ptr<Kernel> make_CumSum(const KernelArgs& a) {
  return std::make_unique<ScanKernel<SumOp>>(a, "CumSum", a.node.attr<ir::CumSumAttrs>().axis);
}

std::unique_ptr<Kernel> make_CumProd(const KernelArgs& a) {
  return std::make_unique<ScanKernel<ProdOp>>(a, "CumProd", a.node.attr<ir::CumProdAttrs>().axis);
}

}  // namespace trtorch::backends::cuda
