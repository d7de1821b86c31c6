// Elementwise kernels: Unary, Binary (numpy broadcasting), Cast, BatchNorm (inference).
// Each kernel is one template over the storage type; floating ops compute in FP32 and round once.
#include <cmath>

#include "core/backends/cuda/context.h"
#include "core/backends/cuda/cuda_check.h"
#include "core/backends/cuda/device_math.cuh"
#include "core/backends/cuda/kernel.h"

namespace trtorch::backends::cuda {

namespace {

using ir::BinaryKind;
using ir::DType;

constexpr int kThreads = 256;

// ---------------- Unary ----------------
template <typename T>
__global__ void unary_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t n, ir::UnaryKind k, float alpha,
                             float beta) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = from_f<T>(unary(k, load_f(x, i), alpha, beta));
}

}  // namespace

unsigned grid_for(int64_t n) { return unsigned(std::min<int64_t>(blocks_for(n, kThreads), 65535 * 8)); }

namespace {

class UnaryKernel : public Kernel {
 public:
  explicit UnaryKernel(const KernelArgs& a)
      : attrs_(a.node.attr<ir::UnaryAttrs>()), dtype_(a.inputs[0].dtype), n_(a.inputs[0].numel()) {
    dispatch_float(dtype_, "Unary", [](auto) {});
  }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    if (n_ == 0) return;
    dispatch_float(dtype_, "Unary", [&](auto t) {
      using T = decltype(t);
      unary_kernel<T><<<grid_for(n_), kThreads, 0, s>>>(static_cast<const T*>(in[0]), static_cast<T*>(out[0]), n_,
                                                       attrs_.kind, float(attrs_.alpha), float(attrs_.beta));
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    return str_cat("unary ", ir::unary_kind_name(attrs_.kind), " ", ir::dtype_name(dtype_), " n=", n_);
  }

 private:
  ir::UnaryAttrs attrs_;
  DType dtype_;
  int64_t n_;
};

// ---------------- Binary ----------------
template <typename C>
__device__ __forceinline__ C binary_op(BinaryKind k, C a, C b) {
  switch (k) {
    case BinaryKind::kAdd: return a + b;
    case BinaryKind::kSub: return a - b;
    case BinaryKind::kMul: return a * b;
    case BinaryKind::kDiv: return a / b;
    case BinaryKind::kMax: return a > b ? a : b;
    case BinaryKind::kMin: return a < b ? a : b;
    default: return a;
  }
}
template <>
__device__ __forceinline__ float binary_op<float>(BinaryKind k, float a, float b) {
  switch (k) {
    case BinaryKind::kAdd: return a + b;
    case BinaryKind::kSub: return a - b;
    case BinaryKind::kMul: return a * b;
    case BinaryKind::kDiv: return a / b;
    case BinaryKind::kPow: return powf(a, b);
    case BinaryKind::kMax: return (a != a || b != b) ? a + b : fmaxf(a, b);  // NaN propagates like torch
    case BinaryKind::kMin: return (a != a || b != b) ? a + b : fminf(a, b);
    default: return a;
  }
}

template <typename T>
struct Compute {
  using type = float;
};
template <>
struct Compute<int32_t> {
  using type = int64_t;
};
template <>
struct Compute<int64_t> {
  using type = int64_t;
};

template <typename T>
__device__ __forceinline__ typename Compute<T>::type load_c(const T* p, int64_t i) {
  if constexpr (std::is_integral_v<T>) return int64_t(p[i]);
  else return load_f(p, i);
}
template <typename T>
__device__ __forceinline__ T store_c(typename Compute<T>::type v) {
  if constexpr (std::is_integral_v<T>) return T(v);
  else return from_f<T>(v);
}

// out[i] = a[off_a(i)] op b[off_b(i)], offsets from the output coordinates and broadcast strides
// (stride 0 along broadcast dims). `same` skips the index arithmetic when no operand broadcasts.
template <typename T>
__global__ void binary_kernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ y, int64_t n,
                              int rank, Dims8 out_shape, Dims8 sa, Dims8 sb, bool same, BinaryKind k) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t oa = i, ob = i;
    if (!same) {
      oa = 0;
      ob = 0;
      int64_t r = i;
      for (int d = rank - 1; d >= 0; --d) {
        int64_t c = r % out_shape.v[d];
        r /= out_shape.v[d];
        oa += c * sa.v[d];
        ob += c * sb.v[d];
      }
    }
    y[i] = store_c<T>(binary_op(k, load_c(a, oa), load_c(b, ob)));
  }
}

class BinaryKernel : public Kernel {
 public:
  explicit BinaryKernel(const KernelArgs& a) : kind_(a.node.attr<ir::BinaryAttrs>().kind), dtype_(a.outputs[0].dtype) {
    const auto& out = a.outputs[0].shape;
    n_ = a.outputs[0].numel();
    rank_ = int(out.size());
    TRTORCH_EXPECT(rank_ <= kMaxDims, "Binary: rank ", rank_, " exceeds ", kMaxDims);
    bool int_type = dtype_ == DType::kInt32 || dtype_ == DType::kInt64;
    TRTORCH_EXPECT(ir::is_floating(dtype_) || (int_type && kind_ != BinaryKind::kDiv && kind_ != BinaryKind::kPow),
                   "Binary ", ir::binary_kind_name(kind_), ": dtype ", ir::dtype_name(dtype_),
                   " is not supported on the CUDA backend (", a.node.source, ")");
    // The output is walked in its physical order; each operand's strides (its own layout, 0
    // along broadcast dims) are given in that order.
    const bool out_nhwc = a.outputs[0].layout == Layout::kNHWC;
    auto order = physical_order(out.size(), out_nhwc);
    same_ = true;
    for (int op = 0; op < 2; ++op) {
      const TensorDesc& d = a.inputs[size_t(op)];
      same_ = same_ && d.shape == out && d.layout == a.outputs[0].layout;
      auto st = logical_strides(d.shape, d.layout == Layout::kNHWC);
      Dims8& dst = op == 0 ? sa_ : sb_;
      for (int j = 0; j < rank_; ++j) {
        int ld = order[size_t(j)];  // logical dim at physical position j
        int sd = ld - (rank_ - int(d.shape.size()));
        dst.v[j] = (sd < 0 || d.shape[size_t(sd)] == 1) ? 0 : st[size_t(sd)];
      }
    }
    for (int j = 0; j < rank_; ++j) shape_.v[j] = out[size_t(order[size_t(j)])];
  }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    if (n_ == 0) return;
    auto go = [&](auto t) {
      using T = decltype(t);
      binary_kernel<T><<<grid_for(n_), kThreads, 0, s>>>(static_cast<const T*>(in[0]), static_cast<const T*>(in[1]),
                                                        static_cast<T*>(out[0]), n_, rank_, shape_, sa_, sb_, same_,
                                                        kind_);
    };
    if (dtype_ == DType::kInt32) go(int32_t{});
    else if (dtype_ == DType::kInt64) go(int64_t{});
    else dispatch_float(dtype_, "Binary", go);
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    return str_cat("binary ", ir::binary_kind_name(kind_), " ", ir::dtype_name(dtype_), " n=", n_,
                   same_ ? "" : " (broadcast)");
  }

 private:
  BinaryKind kind_;
  DType dtype_;
  int64_t n_ = 0;
  int rank_ = 0;
  bool same_ = false;
  Dims8 shape_, sa_, sb_;
};

// ---------------- Cast ----------------
template <typename T>
__device__ __forceinline__ double to_double(T v) {
  if constexpr (std::is_same_v<T, __half>) return double(__half2float(v));
  else if constexpr (std::is_same_v<T, __nv_bfloat16>) return double(__bfloat162float(v));
  else return double(v);
}
template <typename T>
__device__ __forceinline__ T from_double(double v) {
  if constexpr (std::is_same_v<T, __half>) return __float2half_rn(float(v));
  else if constexpr (std::is_same_v<T, __nv_bfloat16>) return __float2bfloat16_rn(float(v));
  else if constexpr (std::is_same_v<T, bool>) return v != 0.0;
  else return T(v);
}

template <typename I, typename O>
__global__ void cast_kernel(const I* __restrict__ x, O* __restrict__ y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    if constexpr (std::is_integral_v<I> && std::is_integral_v<O>) y[i] = std::is_same_v<O, bool> ? (x[i] != 0) : O(x[i]);
    else y[i] = from_double<O>(to_double(x[i]));
  }
}

// Calls f(T{}) with T the storage type of any dtype (bool as bool, one byte).
template <typename F>
void dispatch_any(DType t, F&& f) {
  switch (t) {
    case DType::kFloat32: f(float{}); return;
    case DType::kFloat16: f(__half{}); return;
    case DType::kBFloat16: f(__nv_bfloat16{}); return;
    case DType::kInt32: f(int32_t{}); return;
    case DType::kInt64: f(int64_t{}); return;
    case DType::kBool: f(bool{}); return;
  }
  TRTORCH_ERROR("unknown dtype ", int(t));
}

class CastKernel : public Kernel {
 public:
  explicit CastKernel(const KernelArgs& a) : from_(a.inputs[0].dtype), to_(a.outputs[0].dtype), n_(a.inputs[0].numel()) {}
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    if (n_ == 0) return;
    dispatch_any(from_, [&](auto i) {
      dispatch_any(to_, [&](auto o) {
        using I = decltype(i);
        using O = decltype(o);
        cast_kernel<I, O><<<grid_for(n_), kThreads, 0, s>>>(static_cast<const I*>(in[0]), static_cast<O*>(out[0]), n_);
      });
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    return str_cat("cast ", ir::dtype_name(from_), " -> ", ir::dtype_name(to_), " n=", n_);
  }

 private:
  DType from_, to_;
  int64_t n_;
};

// ---------------- BatchNorm ----------------
// y = x * scale[c] + shift[c], c = (i / inner) % C; scale and shift folded on the host in FP64.
template <typename T>
__global__ void affine_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t n, int64_t inner, int64_t C,
                              const float* __restrict__ scale, const float* __restrict__ shift) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t c = (i / inner) % C;
    y[i] = from_f<T>(load_f(x, i) * scale[c] + shift[c]);
  }
}

class BatchNormKernel : public Kernel {
 public:
  explicit BatchNormKernel(const KernelArgs& a) : dtype_(a.inputs[0].dtype), n_(a.inputs[0].numel()) {
    for (size_t i = 1; i < 5; ++i)
      TRTORCH_EXPECT(a.constants[i] != nullptr, "BatchNorm: parameters must be constants on the CUDA backend (",
                     a.node.source, ")");
    const auto& shape = a.inputs[0].shape;
    C_ = shape[1];
    inner_ = 1;  // distance between channels: 1 in NHWC, H*W... in row-major
    if (a.inputs[0].layout != Layout::kNHWC)
      for (size_t d = 2; d < shape.size(); ++d) inner_ *= shape[d];
    double eps = a.node.attr<ir::BatchNormAttrs>().eps;
    std::vector<float> host(size_t(2 * C_));
    for (int64_t c = 0; c < C_; ++c) {
      double g = a.constants[1]->get(c), b = a.constants[2]->get(c), m = a.constants[3]->get(c),
             v = a.constants[4]->get(c);
      double sc = g / std::sqrt(v + eps);
      host[size_t(c)] = float(sc);
      host[size_t(C_ + c)] = float(b - m * sc);
    }
    params_ = DeviceBuffer(host.size() * sizeof(float));
    TRTORCH_CUDA_CHECK(cudaMemcpy(params_.get(), host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice));
    dispatch_float(dtype_, "BatchNorm", [](auto) {});
  }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    if (n_ == 0) return;
    const float* p = static_cast<const float*>(params_.get());
    dispatch_float(dtype_, "BatchNorm", [&](auto t) {
      using T = decltype(t);
      affine_kernel<T><<<grid_for(n_), kThreads, 0, s>>>(static_cast<const T*>(in[0]), static_cast<T*>(out[0]), n_,
                                                        inner_, C_, p, p + C_);
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override { return str_cat("batch norm ", ir::dtype_name(dtype_), " C=", C_); }

 private:
  DType dtype_;
  int64_t n_, C_ = 1, inner_ = 1;
  DeviceBuffer params_;
};

}  // namespace

std::unique_ptr<Kernel> make_Unary(const KernelArgs& a) { return std::make_unique<UnaryKernel>(a); }
std::unique_ptr<Kernel> make_Binary(const KernelArgs& a) { return std::make_unique<BinaryKernel>(a); }
std::unique_ptr<Kernel> make_Cast(const KernelArgs& a) { return std::make_unique<CastKernel>(a); }
std::unique_ptr<Kernel> make_BatchNorm(const KernelArgs& a) { return std::make_unique<BatchNormKernel>(a); }

}  // namespace trtorch::backends::cuda
