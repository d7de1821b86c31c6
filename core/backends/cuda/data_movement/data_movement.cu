// Data movement: Transpose (any permutation; contiguous runs in up to 16-byte words), Concat and
// Slice (2-D strided copies), Gather (rows in up to 16-byte words) and Expand (a permutation
// kernel with stride 0 along broadcast dims), on any dtype by element size (common/bytewise.cuh). Constant,
// Identity and Reshape have no kernel (the executor gives them storage or aliases their input).
#include <algorithm>

#include "core/backends/cuda/common/broadcast_index.cuh"
#include "core/backends/cuda/common/bytewise.cuh"
#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/device_math.cuh"
#include "core/backends/cuda/common/int_divider.cuh"
#include "core/backends/cuda/data_movement/permute_plan.h"
#include "core/backends/cuda/common/kernel.h"

namespace trtorch::backends::cuda {

namespace {

using bytewise::broadcast_strides;
using bytewise::dims_of;
using bytewise::dispatch_size;
using bytewise::expect_row_major;

constexpr int kThreads = 256;

// y (row-major, out shape) [i] = x[sum_d coord_d * in_stride[perm[d]]].
template <typename W>
__global__ void permute_kernel(const W* __restrict__ x, W* __restrict__ y, int64_t n, int rank, Dims8 out_shape,
                               Dims8 src_stride) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t off = 0, r = i;
    for (int d = rank - 1; d >= 0; --d) {
      off += (r % out_shape.v[d]) * src_stride.v[d];
      r /= out_shape.v[d];
    }
    y[i] = x[off];
  }
}

// The fast permutation (permute_plan.h): merged dims, contiguous runs in words of up to 16 bytes.
template <typename W>
__global__ void permute_runs_kernel(const W* __restrict__ x, W* __restrict__ y, PermutePlan p) {
  for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < p.words; i += gridDim.x * blockDim.x)
    y[i] = x[permute_source(p, i)];
}

class TransposeKernel : public Kernel {
 public:
  explicit TransposeKernel(const KernelArgs& a) : elem_(ir::dtype_size(a.inputs[0].dtype)), n_(a.inputs[0].numel()) {
    const auto& perm = a.node.attr<ir::TransposeAttrs>().perm;
    const auto& in = a.inputs[0].shape;
    rank_ = int(in.size());
    TRTORCH_EXPECT(rank_ <= kMaxDims, "Transpose: rank ", rank_, " exceeds ", kMaxDims);
    auto st = contiguous_strides(in);
    for (int d = 0; d < rank_; ++d) {
      out_shape_.v[d] = in[size_t(perm[size_t(d)])];
      src_stride_.v[d] = st[size_t(perm[size_t(d)])];
    }
    std::vector<int64_t> perm_v(perm.begin(), perm.end());
    plan_ = plan_permute(in, perm_v, elem_);
  }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    if (n_ == 0) return;
    const uintptr_t addr = reinterpret_cast<uintptr_t>(in[0]) | reinterpret_cast<uintptr_t>(out[0]);
    if (plan_.ok && addr % uintptr_t(plan_.word) == 0) {
      dispatch_size(size_t(plan_.word), [&](auto w) {
        using W = decltype(w);
        permute_runs_kernel<W><<<grid_for(plan_.words), kThreads, 0, s>>>(static_cast<const W*>(in[0]),
                                                                          static_cast<W*>(out[0]), plan_);
      });
    } else {
      dispatch_size(elem_, [&](auto w) {
        using W = decltype(w);
        permute_kernel<W><<<grid_for(n_), kThreads, 0, s>>>(static_cast<const W*>(in[0]), static_cast<W*>(out[0]),
                                                           n_, rank_, out_shape_, src_stride_);
      });
    }
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    return str_cat("transpose rank ", rank_, " n=", n_,
                   plan_.ok ? str_cat(" (", plan_.rank, " dims, ", plan_.word, "-byte words)") : "");
  }

 private:
  size_t elem_;
  int64_t n_;
  int rank_ = 0;
  Dims8 out_shape_, src_stride_;
  PermutePlan plan_;
};

std::vector<int64_t> physical_shape(const std::vector<int64_t>& logical, bool nhwc) {
  auto order = physical_order(logical.size(), nhwc);
  std::vector<int64_t> p;
  for (int d : order) p.push_back(logical[size_t(d)]);
  return p;
}

int64_t physical_axis(int64_t logical_axis, size_t rank, bool nhwc) {
  auto order = physical_order(rank, nhwc);
  for (size_t j = 0; j < order.size(); ++j)
    if (order[j] == logical_axis) return int64_t(j);
  TRTORCH_CHECK(false, "axis out of range");
  return 0;
}

// Concat: input i is an [outer, len_i * inner] block copied into columns of the output.
class ConcatKernel : public Kernel {
 public:
  explicit ConcatKernel(const KernelArgs& a) : elem_(ir::dtype_size(a.outputs[0].dtype)) {
    // In the physical order of the layout (channels last in NHWC).
    const bool nhwc = a.outputs[0].layout == Layout::kNHWC;
    int64_t axis = physical_axis(a.node.attr<ir::ConcatAttrs>().axis, a.outputs[0].shape.size(), nhwc);
    int64_t inner;
    auto out_phys = physical_shape(a.outputs[0].shape, nhwc);
    outer_inner(out_phys, axis, &outer_, &inner);
    out_row_ = out_phys[size_t(axis)] * inner * int64_t(elem_);
    for (const auto& d : a.inputs) {
      TRTORCH_EXPECT(d.layout == a.outputs[0].layout, "Concat: inputs and output must share a layout");
      rows_.push_back(physical_shape(d.shape, nhwc)[size_t(axis)] * inner * int64_t(elem_));
    }
  }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    int64_t col = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      if (rows_[i] > 0 && outer_ > 0)
        TRTORCH_CUDA_CHECK(cudaMemcpy2DAsync(static_cast<char*>(out[0]) + col, size_t(out_row_), in[i], size_t(rows_[i]),
                                             size_t(rows_[i]), size_t(outer_), cudaMemcpyDeviceToDevice, s));
      col += rows_[i];
    }
  }
  std::string describe() const override { return str_cat("concat of ", rows_.size(), " inputs"); }

 private:
  size_t elem_;
  int64_t outer_ = 1, out_row_ = 0;
  std::vector<int64_t> rows_;
};

template <typename W>
__global__ void strided_slice_kernel(const W* __restrict__ x, W* __restrict__ y, int64_t n, int64_t len,
                                     int64_t inner, int64_t in_dim, int64_t start, int64_t step) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t k = i % inner, r = i / inner;
    int64_t j = r % len, o = r / len;
    y[i] = x[(o * in_dim + start + j * step) * inner + k];
  }
}

class SliceKernel : public Kernel {
 public:
  explicit SliceKernel(const KernelArgs& a)
      : attrs_(a.node.attr<ir::SliceAttrs>()), elem_(ir::dtype_size(a.inputs[0].dtype)) {
    start_ = attrs_.start.value();  // engines are specialized to static shapes before kernels are made
    const bool nhwc = a.inputs[0].layout == Layout::kNHWC;
    TRTORCH_EXPECT(a.outputs[0].layout == a.inputs[0].layout, "Slice: input and output must share a layout");
    int64_t axis = physical_axis(attrs_.axis, a.inputs[0].shape.size(), nhwc);
    auto in_phys = physical_shape(a.inputs[0].shape, nhwc);
    outer_inner(in_phys, axis, &outer_, &inner_);
    in_dim_ = in_phys[size_t(axis)];
    len_ = physical_shape(a.outputs[0].shape, nhwc)[size_t(axis)];
    n_ = a.outputs[0].numel();
  }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    if (n_ == 0) return;
    if (attrs_.step == 1) {
      const size_t row = size_t(len_ * inner_) * elem_, pitch = size_t(in_dim_ * inner_) * elem_;
      TRTORCH_CUDA_CHECK(cudaMemcpy2DAsync(out[0], row, static_cast<const char*>(in[0]) + start_ * inner_ * elem_,
                                           pitch, row, size_t(outer_), cudaMemcpyDeviceToDevice, s));
      return;
    }
    dispatch_size(elem_, [&](auto w) {
      using W = decltype(w);
      strided_slice_kernel<W><<<grid_for(n_), kThreads, 0, s>>>(static_cast<const W*>(in[0]), static_cast<W*>(out[0]),
                                                               n_, len_, inner_, in_dim_, start_, attrs_.step);
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    return str_cat("slice axis ", attrs_.axis, " [", start_, ":", attrs_.end.str(), ":", attrs_.step, "]");
  }

 private:
  ir::SliceAttrs attrs_;
  size_t elem_;
  int64_t start_ = 0, outer_ = 1, inner_ = 1, in_dim_ = 0, len_ = 0, n_ = 0;
};

// Gather: y[o, j, k] = x[o, idx[j], k] over (outer, count, inner), the inner rows copied in
// words of W (up to 16 bytes; `inner` counts words). Indices are trusted (see GatherAttrs).
template <typename W, typename I>
__global__ void gather_kernel(const W* __restrict__ x, const I* __restrict__ idx, W* __restrict__ y, int64_t n,
                              int64_t count, int64_t inner, int64_t dim) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t k = i % inner, r = i / inner;
    int64_t j = r % count, o = r / count;
    y[i] = x[(o * dim + int64_t(idx[j])) * inner + k];
  }
}

// The same with 32-bit indices and divisions by invariants, for tensors under 2^31 elements; the
// kernel above serves larger ones.
template <typename W, typename I>
__global__ void __launch_bounds__(kThreads)
    gather_kernel32(const W* __restrict__ x, const I* __restrict__ idx, W* __restrict__ y, uint32_t n,
                    IntDivider count, IntDivider inner, uint32_t dim) {
  for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    uint32_t k, j;  // the word in the row, the index
    const uint32_t o = count.divmod(inner.divmod(i, k), j);
    y[i] = x[(o * dim + uint32_t(idx[j])) * inner.divisor + k];
  }
}

class GatherKernel : public Kernel {
 public:
  explicit GatherKernel(const KernelArgs& a)
      : axis_(a.node.attr<ir::GatherAttrs>().axis), elem_(ir::dtype_size(a.inputs[0].dtype)),
        index_dtype_(a.inputs[1].dtype), n_(a.outputs[0].numel()), count_(a.inputs[1].numel()) {
    for (const auto& d : a.inputs) TRTORCH_EXPECT(d.layout == Layout::kRowMajor, "Gather: expects row-major inputs");
    TRTORCH_EXPECT(index_dtype_ == ir::DType::kInt32 || index_dtype_ == ir::DType::kInt64,
                   "Gather: indices must be int32 or int64");
    int64_t inner;
    outer_inner(a.inputs[0].shape, axis_, &outer_, &inner);
    dim_ = a.inputs[0].shape[size_t(axis_)];
    row_bytes_ = inner * int64_t(elem_);
    while (row_bytes_ % max_word_ != 0) max_word_ /= 2;
    idx32_ = n_ <= int64_t(INT32_MAX) && a.inputs[0].numel() <= int64_t(INT32_MAX);
  }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    if (n_ == 0) return;
    // Rows are copied in the widest word that divides them and that both pointers are aligned to:
    // 16-byte words for an embedding row of 768 FP16 values, one thread each.
    const uintptr_t addr = reinterpret_cast<uintptr_t>(in[0]) | reinterpret_cast<uintptr_t>(out[0]);
    int64_t word = max_word_;
    while (addr % uintptr_t(word) != 0) word /= 2;
    const int64_t inner = row_bytes_ / word, words = outer_ * count_ * inner;
    dispatch_size(size_t(word), [&](auto w) {
      using W = decltype(w);
      auto go = [&](auto i) {
        using I = decltype(i);
        const W* x = static_cast<const W*>(in[0]);
        const I* idx = static_cast<const I*>(in[1]);
        W* y = static_cast<W*>(out[0]);
        if (idx32_)
          gather_kernel32<W, I><<<grid_for(words), kThreads, 0, s>>>(
              x, idx, y, uint32_t(words), IntDivider(uint32_t(count_)), IntDivider(uint32_t(inner)), uint32_t(dim_));
        else
          gather_kernel<W, I><<<grid_for(words), kThreads, 0, s>>>(x, idx, y, words, count_, inner, dim_);
      };
      if (index_dtype_ == ir::DType::kInt32) go(int32_t{});
      else go(int64_t{});
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    return str_cat("gather axis ", axis_, " of ", count_, " indices, ", row_bytes_, "-byte rows in words of up to ",
                   max_word_, " bytes", idx32_ ? "" : " idx64");
  }

 private:
  int64_t axis_;
  size_t elem_;
  ir::DType index_dtype_;
  int64_t n_, count_, outer_ = 1, dim_ = 0;
  int64_t row_bytes_ = 0;  // of a gathered row: the inner dims' elements
  int64_t max_word_ = 16;  // the widest word that divides a row
  bool idx32_ = false;     // every element count and offset fits in 31 bits
};

// Expand: the permutation kernel with stride 0 along broadcast dims.
class ExpandKernel : public Kernel {
 public:
  explicit ExpandKernel(const KernelArgs& a) : elem_(ir::dtype_size(a.outputs[0].dtype)), n_(a.outputs[0].numel()) {
    expect_row_major(a, "Expand");
    const auto& out = a.outputs[0].shape;
    rank_ = int(out.size());
    shape_ = dims_of(out);
    src_stride_ = broadcast_strides(a.inputs[0].shape, out);
  }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    if (n_ == 0) return;
    dispatch_size(elem_, [&](auto w) {
      using W = decltype(w);
      permute_kernel<W><<<grid_for(n_), kThreads, 0, s>>>(static_cast<const W*>(in[0]), static_cast<W*>(out[0]), n_,
                                                         rank_, shape_, src_stride_);
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override { return str_cat("expand rank ", rank_, " n=", n_); }

 private:
  size_t elem_;
  int64_t n_;
  int rank_ = 0;
  Dims8 shape_, src_stride_;
};

}  // namespace

std::unique_ptr<Kernel> make_Transpose(const KernelArgs& a) { return std::make_unique<TransposeKernel>(a); }
std::unique_ptr<Kernel> make_Concat(const KernelArgs& a) { return std::make_unique<ConcatKernel>(a); }
std::unique_ptr<Kernel> make_Slice(const KernelArgs& a) { return std::make_unique<SliceKernel>(a); }
std::unique_ptr<Kernel> make_Gather(const KernelArgs& a) { return std::make_unique<GatherKernel>(a); }
std::unique_ptr<Kernel> make_Expand(const KernelArgs& a) { return std::make_unique<ExpandKernel>(a); }
// No kernels: storage (Constant) or an alias of the input (Identity, Reshape), see executor.cpp.
std::unique_ptr<Kernel> make_Constant(const KernelArgs&) { return nullptr; }
std::unique_ptr<Kernel> make_Identity(const KernelArgs&) { return nullptr; }
std::unique_ptr<Kernel> make_Reshape(const KernelArgs&) { return nullptr; }

}  // namespace trtorch::backends::cuda
