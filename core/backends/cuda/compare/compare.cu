// Compare: elementwise comparisons (eq, ne, lt, le, gt, ge) and logical connectives (and, or,
// xor) of two operands of one dtype with numpy broadcasting; the output is bool (one byte).
// Floating types compare as FP32 values (exact for FP16/BF16), integers and bool as themselves.
// Where: a select on a bool condition with numpy broadcasting, byte-wise on any dtype
// (common/bytewise.cuh).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "core/backends/cuda/common/broadcast_index.cuh"
#include "core/backends/cuda/common/bytewise.cuh"
#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/device_math.cuh"
#include "core/backends/cuda/common/kernel.h"
#include "core/ir/scalar_semantics.h"

namespace trtorch::backends::cuda {

namespace {

constexpr int kThreads = 256;

template <typename T>
__device__ __forceinline__ auto value_of(const T* p, int64_t i) {
  if constexpr (std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>) return load_f<T>(p, i);
  else return p[i];
}

// Operands of the output's shape: element i of each.
template <typename T>
__global__ void compare_same_kernel(const T* __restrict__ a, const T* __restrict__ b, bool* __restrict__ y, int64_t n,
                                    ir::CompareKind k) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = ir::compare_values(k, value_of(a, i), value_of(b, i));
}

// Broadcast operands: offsets from the output coordinates and per-operand strides (0 along
// broadcast dims).
template <typename T>
__global__ void compare_bcast_kernel(const T* __restrict__ a, const T* __restrict__ b, bool* __restrict__ y, int64_t n,
                                     int rank, Dims8 shape, Dims8 sa, Dims8 sb, ir::CompareKind k) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t oa = 0, ob = 0, r = i;
    for (int d = rank - 1; d >= 0; --d) {
      const int64_t q = r % shape.v[d];
      r /= shape.v[d];
      oa += q * sa.v[d];
      ob += q * sb.v[d];
    }
    y[i] = ir::compare_values(k, value_of(a, oa), value_of(b, ob));
  }
}

// The same with 32-bit offsets over coalesced dims (broadcast_index.cuh), for outputs and operands
// under 2^31 elements; the kernel above serves larger ones.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    compare_bcast_kernel32(const T* __restrict__ a, const T* __restrict__ b, bool* __restrict__ y, uint32_t n,
                           const BroadcastIndex<2> p, ir::CompareKind k) {
  for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    uint32_t off[2];
    p.offsets(i, off);
    y[i] = ir::compare_values(k, value_of(a, off[0]), value_of(b, off[1]));
  }
}

class CompareKernel : public Kernel {
 public:
  explicit CompareKernel(const KernelArgs& a)
      : kind_(a.node.attr<ir::CompareAttrs>().kind), dtype_(a.inputs[0].dtype), n_(a.outputs[0].numel()) {
    TRTORCH_EXPECT(size_t(kind_) < size_t(ir::CompareKind::kCount), "Compare: unknown kind ", int(kind_));
    TRTORCH_EXPECT(a.inputs[1].dtype == dtype_, "Compare: operands have different dtypes");
    for (const auto& d : a.inputs) TRTORCH_EXPECT(d.layout == Layout::kRowMajor, "Compare: expects row-major inputs");
    const auto& out = a.outputs[0].shape;
    TRTORCH_EXPECT(out.size() <= size_t(kMaxDims), "Compare: rank ", out.size(), " exceeds ", kMaxDims);
    same_ = a.inputs[0].shape == out && a.inputs[1].shape == out;
    rank_ = int(out.size());
    for (size_t d = 0; d < out.size(); ++d) shape_.v[d] = out[d];
    // Strides of each operand along the output's dims (right-aligned, 0 where broadcast).
    for (int j = 0; j < 2; ++j) {
      const auto& s = a.inputs[size_t(j)].shape;
      const auto st = contiguous_strides(s);
      Dims8& r = j == 0 ? sa_ : sb_;
      const size_t off = out.size() - s.size();
      for (size_t d = off; d < out.size(); ++d) r.v[d] = s[d - off] == 1 ? 0 : st[d - off];
    }
    if (!same_ && n_ > 0) idx32_ = make_broadcast_index<2>(out, {a.inputs[0].shape, a.inputs[1].shape}, index_);
  }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    if (n_ == 0) return;
    dispatch_any(dtype_, "Compare", [&](auto t) {
      using T = decltype(t);
      const T* a = static_cast<const T*>(in[0]);
      const T* b = static_cast<const T*>(in[1]);
      bool* y = static_cast<bool*>(out[0]);
      if (same_)
        compare_same_kernel<T><<<grid_for(n_), kThreads, 0, s>>>(a, b, y, n_, kind_);
      else if (idx32_)
        compare_bcast_kernel32<T><<<grid_for(n_), kThreads, 0, s>>>(a, b, y, uint32_t(n_), index_, kind_);
      else
        compare_bcast_kernel<T><<<grid_for(n_), kThreads, 0, s>>>(a, b, y, n_, rank_, shape_, sa_, sb_, kind_);
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    std::string path;  // broadcast: the coalesced rank (32-bit offsets) or idx64
    if (!same_ && n_ > 0) path = idx32_ ? str_cat(" rank", index_.rank) : std::string(" idx64");
    return str_cat("compare ", ir::compare_kind_name(kind_), " ", ir::dtype_name(dtype_), " n=", n_,
                   same_ ? "" : " (broadcast)", path);
  }

 private:
  ir::CompareKind kind_;
  ir::DType dtype_;
  int64_t n_;
  bool same_ = false;
  int rank_ = 0;
  Dims8 shape_, sa_, sb_;
  bool idx32_ = false;
  BroadcastIndex<2> index_;
};

// ---------------- Where ----------------
using bytewise::broadcast_strides;
using bytewise::dims_of;
using bytewise::dispatch_size;
using bytewise::expect_row_major;

// Where: y[i] = c[oc] ? a[oa] : b[ob], offsets from the output coordinates and broadcast strides.
template <typename W>
__global__ void where_kernel(const bool* __restrict__ c, const W* __restrict__ a, const W* __restrict__ b,
                             W* __restrict__ y, int64_t n, int rank, Dims8 shape, Dims8 sc, Dims8 sa, Dims8 sb) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t oc = 0, oa = 0, ob = 0, r = i;
    for (int d = rank - 1; d >= 0; --d) {
      int64_t q = r % shape.v[d];
      r /= shape.v[d];
      oc += q * sc.v[d];
      oa += q * sa.v[d];
      ob += q * sb.v[d];
    }
    y[i] = c[oc] ? a[oa] : b[ob];
  }
}

// The same with 32-bit offsets over coalesced dims (broadcast_index.cuh), for outputs and operands
// under 2^31 elements; the kernel above serves larger ones.
template <typename W>
__global__ void __launch_bounds__(kThreads)
    where_kernel32(const bool* __restrict__ c, const W* __restrict__ a, const W* __restrict__ b, W* __restrict__ y,
                   uint32_t n, const BroadcastIndex<3> p) {
  for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    uint32_t off[3];
    p.offsets(i, off);
    y[i] = c[off[0]] ? a[off[1]] : b[off[2]];
  }
}

class WhereKernel : public Kernel {
 public:
  explicit WhereKernel(const KernelArgs& a) : elem_(ir::dtype_size(a.outputs[0].dtype)), n_(a.outputs[0].numel()) {
    expect_row_major(a, "Where");
    const auto& out = a.outputs[0].shape;
    rank_ = int(out.size());
    shape_ = dims_of(out);
    sc_ = broadcast_strides(a.inputs[0].shape, out);
    sa_ = broadcast_strides(a.inputs[1].shape, out);
    sb_ = broadcast_strides(a.inputs[2].shape, out);
    if (n_ > 0)
      idx32_ = make_broadcast_index<3>(out, {a.inputs[0].shape, a.inputs[1].shape, a.inputs[2].shape}, index_);
  }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    if (n_ == 0) return;
    dispatch_size(elem_, [&](auto w) {
      using W = decltype(w);
      const bool* c = static_cast<const bool*>(in[0]);
      const W* a = static_cast<const W*>(in[1]);
      const W* b = static_cast<const W*>(in[2]);
      W* y = static_cast<W*>(out[0]);
      if (idx32_)
        where_kernel32<W><<<grid_for(n_), kThreads, 0, s>>>(c, a, b, y, uint32_t(n_), index_);
      else
        where_kernel<W><<<grid_for(n_), kThreads, 0, s>>>(c, a, b, y, n_, rank_, shape_, sc_, sa_, sb_);
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    std::string path;  // the coalesced rank (32-bit offsets) or idx64
    if (n_ > 0) path = idx32_ ? str_cat(" rank", index_.rank) : std::string(" idx64");
    return str_cat("where n=", n_, path);
  }

 private:
  size_t elem_;
  int64_t n_;
  int rank_ = 0;
  Dims8 shape_, sc_, sa_, sb_;
  bool idx32_ = false;
  BroadcastIndex<3> index_;
};

}  // namespace

std::unique_ptr<Kernel> make_Compare(const KernelArgs& a) { return std::make_unique<CompareKernel>(a); }
std::unique_ptr<Kernel> make_Where(const KernelArgs& a) { return std::make_unique<WhereKernel>(a); }

}  // namespace trtorch::backends::cuda
