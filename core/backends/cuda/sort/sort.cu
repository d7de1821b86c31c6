// TopK (topk, sort, argsort, argmax / argmin, max.dim / min.dim): every line along the axis
// sorted, its first k kept.
//
// The order is the IR's (attrs.h): NaN above every number, -0.0 equal to 0.0, ties in input
// order. Both paths encode each value as an unsigned 64-bit key whose ascending order is the
// wanted order (descending when `largest`: the key's bits inverted), so one comparison serves
// every dtype and direction:
//  - k == 1: a warp per line (contiguous lines) or a thread per line (strided lines) keeps the
//    smallest (key, position);
//  - otherwise: keys and positions go to scratch, lines become the segments of CUB's stable
//    segmented sort, and the first k of each are written back, the values copied from the input
//    (exact in every dtype).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cub/device/device_segmented_sort.cuh>

#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/device_math.cuh"
#include "core/backends/cuda/common/kernel.h"

namespace trtorch::backends::cuda {

namespace {

constexpr int kThreads = 256;

// The ascending-order key of a value.
template <typename T>
__device__ __forceinline__ uint64_t sort_key(const T* p, int64_t i, bool descending) {
  uint64_t u;
  if constexpr (std::is_integral_v<T>) {
    u = uint64_t(int64_t(p[i])) ^ (uint64_t(1) << 63);
  } else {
    float f = load_f(p, i);
    if (f != f) f = __int_as_float(0x7fc00000);  // every NaN: the one positive quiet NaN
    if (f == 0.f) f = 0.f;                       // -0.0 ties with 0.0
    const uint32_t b = uint32_t(__float_as_int(f));
    u = (b & 0x80000000u) ? ~b : (b | 0x80000000u);
  }
  return descending ? ~u : u;
}

// [outer, len, inner]: the element offset of position j of line `line` (= o * inner + i).
__device__ __forceinline__ int64_t line_offset(int64_t line, int64_t j, int64_t len, int64_t inner) {
  return (line / inner) * len * inner + j * inner + line % inner;
}

template <typename T>
__device__ __forceinline__ void write_result(const T* x, T* values, int64_t* indices, int64_t line, int64_t j,
                                             int64_t pos, int64_t len, int64_t k, int64_t inner) {
  const int64_t dst = line_offset(line, j, k, inner);
  values[dst] = x[line_offset(line, pos, len, inner)];
  indices[dst] = pos;
}

// k == 1, contiguous lines (inner == 1): one warp per line.
template <typename T>
__global__ void top1_rows_kernel(const T* __restrict__ x, T* __restrict__ values, int64_t* __restrict__ indices,
                                 int64_t lines, int64_t len, bool descending) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x / 32);
  for (int64_t line = blockIdx.x * int64_t(blockDim.x / 32) + threadIdx.x / 32; line < lines; line += warps) {
    uint64_t best = ~uint64_t(0);
    int64_t pos = len;
    for (int64_t j = lane; j < len; j += 32) {
      const uint64_t key = sort_key(x, line * len + j, descending);
      if (key < best || (key == best && j < pos)) best = key, pos = j;  // a tie keeps the earlier position
    }
    for (int d = 16; d > 0; d >>= 1) {
      const uint64_t ok = __shfl_down_sync(0xffffffffu, best, d);
      const int64_t op = __shfl_down_sync(0xffffffffu, pos, d);
      if (ok < best || (ok == best && op < pos)) best = ok, pos = op;
    }
    if (lane == 0) write_result(x, values, indices, line, 0, pos, len, 1, 1);
  }
}

// k == 1, strided lines: one thread per line, neighbouring threads on neighbouring columns.
template <typename T>
__global__ void top1_cols_kernel(const T* __restrict__ x, T* __restrict__ values, int64_t* __restrict__ indices,
                                 int64_t lines, int64_t len, int64_t inner, bool descending) {
  for (int64_t line = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; line < lines;
       line += int64_t(gridDim.x) * blockDim.x) {
    uint64_t best = ~uint64_t(0);
    int64_t pos = 0;
    for (int64_t j = 0; j < len; ++j) {
      const uint64_t key = sort_key(x, line_offset(line, j, len, inner), descending);
      if (key < best || j == 0) best = key, pos = j;
    }
    write_result(x, values, indices, line, 0, pos, len, 1, inner);
  }
}

// General k: the keys and positions of every line, contiguous, and the segment offsets.
template <typename T>
__global__ void sort_prepare_kernel(const T* __restrict__ x, uint64_t* __restrict__ keys, int32_t* __restrict__ pos,
                                    int64_t* __restrict__ offsets, int64_t lines, int64_t len, int64_t inner,
                                    bool descending) {
  const int64_t n = lines * len;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t line = e / len, j = e % len;
    keys[e] = sort_key(x, line_offset(line, j, len, inner), descending);
    pos[e] = int32_t(j);
    if (j == 0) offsets[line] = e;
    if (e == n - 1) offsets[lines] = n;
  }
}

template <typename T>
__global__ void sort_write_kernel(const T* __restrict__ x, const int32_t* __restrict__ sorted_pos,
                                  T* __restrict__ values, int64_t* __restrict__ indices, int64_t lines, int64_t len,
                                  int64_t k, int64_t inner) {
  const int64_t n = lines * k;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t line = e / k, j = e % k;
    write_result(x, values, indices, line, j, sorted_pos[line * len + j], len, k, inner);
  }
}

constexpr size_t align256(size_t b) { return (b + 255) / 256 * 256; }

class TopKKernel : public Kernel {
 public:
  explicit TopKKernel(const KernelArgs& a) : dtype_(a.inputs[0].dtype) {
    const auto& attrs = a.node.attr<ir::TopKAttrs>();
    TRTORCH_EXPECT(a.inputs[0].layout == Layout::kRowMajor, "TopK: expects a row-major input");
    const auto& s = a.inputs[0].shape;
    TRTORCH_EXPECT(attrs.axis >= 0 && attrs.axis < int64_t(s.size()), "TopK: axis ", attrs.axis, " out of range");
    dispatch_numeric(dtype_, "TopK", [](auto) {});  // rejects other dtypes when the engine is built
    descending_ = attrs.largest;
    len_ = s[size_t(attrs.axis)];
    k_ = a.outputs[0].shape[size_t(attrs.axis)];
    for (int64_t d = 0; d < attrs.axis; ++d) outer_ *= s[size_t(d)];
    for (size_t d = size_t(attrs.axis) + 1; d < s.size(); ++d) inner_ *= s[d];
    lines_ = outer_ * inner_;
    if (k_ != 1 && lines_ * len_ > 0) {
      const int64_t n = lines_ * len_;
      TRTORCH_EXPECT(len_ <= int64_t(INT32_MAX), "TopK: a line of ", len_, " elements is longer than 2^31 - 1");
      size_t temp = 0;
      TRTORCH_CUDA_CHECK(cub::DeviceSegmentedSort::StableSortPairs(
          nullptr, temp, static_cast<const uint64_t*>(nullptr), static_cast<uint64_t*>(nullptr),
          static_cast<const int32_t*>(nullptr), static_cast<int32_t*>(nullptr), n, lines_,
          static_cast<const int64_t*>(nullptr), static_cast<const int64_t*>(nullptr)));
      keys_bytes_ = align256(size_t(n) * sizeof(uint64_t));
      pos_bytes_ = align256(size_t(n) * sizeof(int32_t));
      offsets_bytes_ = align256(size_t(lines_ + 1) * sizeof(int64_t));
      cub_bytes_ = temp;
    }
  }
  size_t scratch_bytes() const override { return 2 * keys_bytes_ + 2 * pos_bytes_ + offsets_bytes_ + cub_bytes_; }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void* scratch,
              cudaStream_t s) override {
    if (lines_ * k_ == 0) return;
    dispatch_numeric(dtype_, "TopK", [&](auto t) {
      using T = decltype(t);
      const T* x = static_cast<const T*>(in[0]);
      T* values = static_cast<T*>(out[0]);
      int64_t* indices = static_cast<int64_t*>(out[1]);
      if (k_ == 1 && inner_ == 1) {
        const unsigned blocks = unsigned(std::min<int64_t>((lines_ + kThreads / 32 - 1) / (kThreads / 32), 65535 * 8));
        top1_rows_kernel<T><<<blocks, kThreads, 0, s>>>(x, values, indices, lines_, len_, descending_);
      } else if (k_ == 1) {
        top1_cols_kernel<T><<<grid_for(lines_), kThreads, 0, s>>>(x, values, indices, lines_, len_, inner_,
                                                                  descending_);
      } else {
        auto* base = static_cast<uint8_t*>(scratch);
        auto* keys_in = reinterpret_cast<uint64_t*>(base);
        auto* keys_out = reinterpret_cast<uint64_t*>(base + keys_bytes_);
        auto* pos_in = reinterpret_cast<int32_t*>(base + 2 * keys_bytes_);
        auto* pos_out = reinterpret_cast<int32_t*>(base + 2 * keys_bytes_ + pos_bytes_);
        auto* offsets = reinterpret_cast<int64_t*>(base + 2 * keys_bytes_ + 2 * pos_bytes_);
        void* temp = base + 2 * keys_bytes_ + 2 * pos_bytes_ + offsets_bytes_;
        const int64_t n = lines_ * len_;
        sort_prepare_kernel<T><<<grid_for(n), kThreads, 0, s>>>(x, keys_in, pos_in, offsets, lines_, len_, inner_,
                                                                descending_);
        TRTORCH_CUDA_CHECK_LAUNCH();
        size_t temp_bytes = cub_bytes_;
        TRTORCH_CUDA_CHECK(cub::DeviceSegmentedSort::StableSortPairs(temp, temp_bytes, keys_in, keys_out, pos_in,
                                                                     pos_out, n, lines_, offsets, offsets + 1, s));
        sort_write_kernel<T><<<grid_for(lines_ * k_), kThreads, 0, s>>>(x, pos_out, values, indices, lines_, len_,
                                                                        k_, inner_);
      }
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    return str_cat(k_ == 1 ? "top1 " : "segmented sort ", ir::dtype_name(dtype_), " [", outer_, ", ", len_, ", ",
                   inner_, "] k=", k_, descending_ ? " largest" : " smallest");
  }

 private:
  ir::DType dtype_;
  bool descending_ = true;
  int64_t outer_ = 1, len_ = 0, inner_ = 1, lines_ = 0, k_ = 0;
  size_t keys_bytes_ = 0, pos_bytes_ = 0, offsets_bytes_ = 0, cub_bytes_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_TopK(const KernelArgs& a) { return std::make_unique<TopKKernel>(a); }

}  // namespace trtorch::backends::cuda
