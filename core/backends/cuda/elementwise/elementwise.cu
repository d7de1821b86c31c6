// Elementwise kernels: Unary, Binary (numpy broadcasting), Cast.
// Each kernel is one template over the storage type; floating ops compute in FP32 and round once.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "core/backends/cuda/common/coalesce.h"
#include "core/backends/cuda/common/context.h"
#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/device_math.cuh"
#include "core/backends/cuda/common/int_divider.cuh"
#include "core/backends/cuda/common/kernel.h"
#include "core/backends/cuda/common/vector_access.cuh"

namespace trtorch::backends::cuda {

namespace {

using ir::BinaryKind;
using ir::DType;
using vec::aligned_to;
using vec::kMaxVec;

constexpr int kThreads = 256;

// ---------------- Unary ----------------
template <typename T>
__global__ void unary_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t n, ir::UnaryKind k, float alpha,
                             float beta) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = from_f<T>(unary(k, load_f(x, i), alpha, beta));
}

}  // namespace

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
    case BinaryKind::kAdd: return trtorch_pw_add(a, b);
    case BinaryKind::kSub: return trtorch_pw_sub(a, b);
    case BinaryKind::kMul: return trtorch_pw_mul(a, b);
    case BinaryKind::kDiv: return trtorch_pw_div(a, b);
    case BinaryKind::kPow: return trtorch_pw_pow(a, b);
    case BinaryKind::kMax: return trtorch_pw_max(a, b);
    case BinaryKind::kMin: return trtorch_pw_min(a, b);
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

// A Binary problem after coalescing (BinaryKernel's constructor), for 32-bit indices. Dim 0 is
// the innermost. The output is walked in units of V consecutive elements of dim 0: sizes and
// strides of dim 0 are counted in units, those of the other dims in elements. Offsets are in
// elements. With V > 1 each operand's dim-0 element stride is 1 (the unit is loaded as one
// vector) or 0 (one element broadcast over the unit).
struct BinaryParams {
  uint32_t units = 0;  // output elements / V, rounded down
  uint32_t tail = 0;   // rank 1 only: elements past units * V, done one per thread
  int rank = 1;
  IntDivider size[kMaxDims];            // d < rank - 1: the size of dim d (the outermost needs none)
  uint32_t sa[kMaxDims] = {0}, sb[kMaxDims] = {0};  // offset step along dim d
  uint32_t ia = 0, ib = 0;              // dim-0 element strides (the tail's steps)
  bool va = false, vb = false;          // V > 1: the operand is loaded V at a time (dim-0 stride 1)
};

template <typename T, int V>
__device__ __forceinline__ void load_unit(const T* __restrict__ p, uint32_t off, bool vec,
                                          typename Compute<T>::type (&c)[V]) {
  if (V > 1 && vec) {
    const Vec<T, V> v = *reinterpret_cast<const Vec<T, V>*>(p + off);
#pragma unroll
    for (int j = 0; j < V; ++j) c[j] = load_c(v.v, j);
  } else {
    const auto s = load_c(p, off);
#pragma unroll
    for (int j = 0; j < V; ++j) c[j] = s;
  }
}

// o = a op b for the V elements of a unit. The kind is switched on once per unit, so that each
// case is a straight run of V operations.
template <BinaryKind K, typename T, int V>
__device__ __forceinline__ void apply_unit(const typename Compute<T>::type (&a)[V],
                                           const typename Compute<T>::type (&b)[V], Vec<T, V>& o) {
#pragma unroll
  for (int j = 0; j < V; ++j) o.v[j] = store_c<T>(binary_op(K, a[j], b[j]));
}
template <typename T, int V>
__device__ __forceinline__ void apply_unit(BinaryKind k, const typename Compute<T>::type (&a)[V],
                                           const typename Compute<T>::type (&b)[V], Vec<T, V>& o) {
  switch (k) {
    case BinaryKind::kAdd: return apply_unit<BinaryKind::kAdd, T, V>(a, b, o);
    case BinaryKind::kSub: return apply_unit<BinaryKind::kSub, T, V>(a, b, o);
    case BinaryKind::kMul: return apply_unit<BinaryKind::kMul, T, V>(a, b, o);
    case BinaryKind::kDiv: return apply_unit<BinaryKind::kDiv, T, V>(a, b, o);
    case BinaryKind::kPow: return apply_unit<BinaryKind::kPow, T, V>(a, b, o);
    case BinaryKind::kMax: return apply_unit<BinaryKind::kMax, T, V>(a, b, o);
    case BinaryKind::kMin: return apply_unit<BinaryKind::kMin, T, V>(a, b, o);
    default: return apply_unit<BinaryKind::kCount, T, V>(a, b, o);  // binary_op's default: a
  }
}

// out[u*V .. u*V+V) = a[..] op b[..] for every unit u. R: the rank (1..4), or 0 for p.rank (at
// most kMaxDims). The offsets of a unit are computed once, with 32-bit divisions by invariants.
template <typename T, int V, int R>
__global__ void __launch_bounds__(kThreads)
    binary_kernel32(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ y, const BinaryParams p,
                    BinaryKind k) {
  using C = typename Compute<T>::type;
  const uint32_t first = blockIdx.x * blockDim.x + threadIdx.x;
  const uint32_t step = gridDim.x * blockDim.x;
  for (uint32_t u = first; u < p.units; u += step) {
    uint32_t r = u, oa = 0, ob = 0;
    const int rank = R > 0 ? R : p.rank;
#pragma unroll
    for (int d = 0; d < (R > 0 ? R : kMaxDims); ++d) {
      if (d == rank - 1) {  // the outermost dim: r is its coordinate
        oa += r * p.sa[d];
        ob += r * p.sb[d];
        break;
      }
      uint32_t c;
      r = p.size[d].divmod(r, c);
      oa += c * p.sa[d];
      ob += c * p.sb[d];
    }
    C ca[V], cb[V];
    load_unit<T, V>(a, oa, p.va, ca);
    load_unit<T, V>(b, ob, p.vb, cb);
    Vec<T, V> out;
    apply_unit<T, V>(k, ca, cb, out);
    *reinterpret_cast<Vec<T, V>*>(y + size_t(u) * V) = out;
  }
  if constexpr (R == 1 && V > 1) {
    if (first < p.tail) {
      const uint32_t e = p.units * uint32_t(V) + first;
      y[e] = store_c<T>(binary_op(k, load_c(a, e * p.ia), load_c(b, e * p.ib)));
    }
  }
}

// The fallback for problems whose element count or offsets exceed 31 bits: one element per
// step, 64-bit division along the coalesced dims (innermost first).
template <typename T>
__global__ void binary_kernel64(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ y, int64_t n,
                                int rank, Dims8 size, Dims8 sa, Dims8 sb, BinaryKind k) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t r = i, oa = 0, ob = 0;
    for (int d = 0; d < rank; ++d) {
      const int64_t c = r % size.v[d];
      r /= size.v[d];
      oa += c * sa.v[d];
      ob += c * sb.v[d];
    }
    y[i] = store_c<T>(binary_op(k, load_c(a, oa), load_c(b, ob)));
  }
}

template <typename T, int V, int R>
void launch_binary32(const T* a, const T* b, T* y, const BinaryParams& p, BinaryKind k, cudaStream_t s) {
  const uint32_t work = std::max(p.units, p.tail);
  binary_kernel32<T, V, R><<<grid_for(work), kThreads, 0, s>>>(a, b, y, p, k);
}

template <typename T, int V>
void launch_binary32_rank(const T* a, const T* b, T* y, const BinaryParams& p, BinaryKind k, cudaStream_t s) {
  switch (p.rank) {
    case 1: launch_binary32<T, V, 1>(a, b, y, p, k, s); break;
    case 2: launch_binary32<T, V, 2>(a, b, y, p, k, s); break;
    case 3: launch_binary32<T, V, 3>(a, b, y, p, k, s); break;
    case 4: launch_binary32<T, V, 4>(a, b, y, p, k, s); break;
    default: launch_binary32<T, V, 0>(a, b, y, p, k, s); break;
  }
}

template <typename T>
void launch_binary32_vec(int vec, const T* a, const T* b, T* y, const BinaryParams& p, BinaryKind k,
                         cudaStream_t s) {
  if constexpr (kMaxVec<T> >= 8)
    if (vec == 8) return launch_binary32_rank<T, 8>(a, b, y, p, k, s);
  if constexpr (kMaxVec<T> >= 4)
    if (vec == 4) return launch_binary32_rank<T, 4>(a, b, y, p, k, s);
  if constexpr (kMaxVec<T> >= 2)
    if (vec == 2) return launch_binary32_rank<T, 2>(a, b, y, p, k, s);
  launch_binary32_rank<T, 1>(a, b, y, p, k, s);
}

class BinaryKernel : public Kernel {
 public:
  explicit BinaryKernel(const KernelArgs& a) : kind_(a.node.attr<ir::BinaryAttrs>().kind), dtype_(a.outputs[0].dtype) {
    const auto& out = a.outputs[0].shape;
    n_ = a.outputs[0].numel();
    const int rank = int(out.size());
    TRTORCH_EXPECT(rank <= kMaxDims, "Binary: rank ", rank, " exceeds ", kMaxDims);
    bool int_type = dtype_ == DType::kInt32 || dtype_ == DType::kInt64;
    TRTORCH_EXPECT(ir::is_floating(dtype_) || (int_type && kind_ != BinaryKind::kDiv && kind_ != BinaryKind::kPow),
                   "Binary ", ir::binary_kind_name(kind_), ": dtype ", ir::dtype_name(dtype_),
                   " is not supported on the CUDA backend (", a.node.source, ")");
    // The output is walked in its physical order; each operand's strides (its own layout, 0
    // along broadcast dims) are given in that order.
    const bool out_nhwc = a.outputs[0].layout == Layout::kNHWC;
    auto order = physical_order(out.size(), out_nhwc);
    same_ = true;
    Dims8 shape, st[2];
    for (int op = 0; op < 2; ++op) {
      const TensorDesc& d = a.inputs[size_t(op)];
      TRTORCH_EXPECT(d.dtype == dtype_, "Binary: operand dtype ", ir::dtype_name(d.dtype),
                     " differs from the output's ", ir::dtype_name(dtype_));
      same_ = same_ && d.shape == out && d.layout == a.outputs[0].layout;
      auto ls = logical_strides(d.shape, d.layout == Layout::kNHWC);
      for (int j = 0; j < rank; ++j) {
        int ld = order[size_t(j)];  // logical dim at physical position j
        int sd = ld - (rank - int(d.shape.size()));
        st[op].v[j] = (sd < 0 || d.shape[size_t(sd)] == 1) ? 0 : ls[size_t(sd)];
      }
    }
    for (int j = 0; j < rank; ++j) shape.v[j] = out[size_t(order[size_t(j)])];

    // Coalesced in the physical order (coalesce.h); the output is dense in that order. 32-bit
    // indices when every element index and operand offset fits in int32.
    const Coalesced<2> c = coalesce<2>(std::vector<int64_t>(shape.v, shape.v + rank),
                                       {std::vector<int64_t>(st[0].v, st[0].v + rank),
                                        std::vector<int64_t>(st[1].v, st[1].v + rank)});
    size_ = c.size;
    sa_ = c.stride[0];
    sb_ = c.stride[1];
    if (n_ == 0) return;
    idx32_ = c.fits_int32;
    if (!idx32_) return;
    // Vector widths the shapes allow, widest first, then 1 (always possible). The pointers'
    // alignment picks among them at launch.
    const int max_vec = int(16 / ir::dtype_size(dtype_));
    for (int v = max_vec; v >= 2; v /= 2)
      if (vec_ok(v)) configs_.push_back(make_params(v));
    configs_.push_back(make_params(1));
  }

  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    if (n_ == 0) return;
    auto go = [&](auto t) {
      using T = decltype(t);
      const T* a = static_cast<const T*>(in[0]);
      const T* b = static_cast<const T*>(in[1]);
      T* y = static_cast<T*>(out[0]);
      if (!idx32_) {
        Dims8 size, sa, sb;
        for (size_t d = 0; d < size_.size(); ++d) {
          size.v[d] = size_[d];
          sa.v[d] = sa_[d];
          sb.v[d] = sb_[d];
        }
        binary_kernel64<T><<<grid_for(n_), kThreads, 0, s>>>(a, b, y, n_, int(size_.size()), size, sa, sb, kind_);
        return;
      }
      for (const Config& c : configs_) {
        const size_t bytes = size_t(c.vec) * sizeof(T);
        const bool aligned =
            aligned_to(y, bytes) && (!c.p.va || aligned_to(a, bytes)) && (!c.p.vb || aligned_to(b, bytes));
        if (c.vec > 1 && !aligned) continue;
        launch_binary32_vec<T>(c.vec, a, b, y, c.p, kind_, s);
        return;
      }
    };
    if (dtype_ == DType::kInt32) go(int32_t{});
    else if (dtype_ == DType::kInt64) go(int64_t{});
    else dispatch_float(dtype_, "Binary", go);
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    std::string path;  // the vector width (32-bit indices) or idx64, and the coalesced rank
    if (n_ > 0)
      path = str_cat(idx32_ ? str_cat(" vec", configs_.front().vec) : std::string(" idx64"), " rank", size_.size());
    return str_cat("binary ", ir::binary_kind_name(kind_), " ", ir::dtype_name(dtype_), " n=", n_,
                   same_ ? "" : " (broadcast)", path);
  }

 private:
  struct Config {
    int vec = 1;
    BinaryParams p;
  };

  // Whether the coalesced problem can be walked `v` elements at a time: every operand's dim-0
  // stride is 1 (vector loads) or 0 (a broadcast element), dim 0 divides into units (rank 1:
  // the kernel does the tail), and an operand loaded by vectors has every other stride a
  // multiple of v, so that with an aligned base pointer every vector it loads is aligned.
  bool vec_ok(int v) const {
    if (size_.size() > 1 && size_[0] % v != 0) return false;
    for (const auto* s : {&sa_, &sb_}) {
      if ((*s)[0] != 0 && (*s)[0] != 1) return false;
      if ((*s)[0] == 1)
        for (size_t d = 1; d < s->size(); ++d)
          if ((*s)[d] % v != 0) return false;
    }
    return true;
  }
  Config make_params(int v) const {
    Config c;
    c.vec = v;
    BinaryParams& p = c.p;
    const int rank = int(size_.size());
    p.rank = rank;
    p.units = uint32_t(n_ / v);
    p.tail = uint32_t(n_ - int64_t(p.units) * v);  // nonzero only at rank 1 (vec_ok)
    for (int d = 0; d < rank; ++d) {
      const int64_t sz = d == 0 ? size_[0] / v : size_[size_t(d)];
      if (d < rank - 1) p.size[d] = IntDivider(uint32_t(sz));
      p.sa[d] = uint32_t(d == 0 ? sa_[0] * v : sa_[size_t(d)]);
      p.sb[d] = uint32_t(d == 0 ? sb_[0] * v : sb_[size_t(d)]);
    }
    p.ia = uint32_t(sa_[0]);
    p.ib = uint32_t(sb_[0]);
    p.va = v > 1 && sa_[0] == 1;
    p.vb = v > 1 && sb_[0] == 1;
    return c;
  }

  BinaryKind kind_;
  DType dtype_;
  int64_t n_ = 0;
  bool same_ = false;
  bool idx32_ = false;
  std::vector<int64_t> size_, sa_, sb_;  // coalesced dims, innermost first, strides in elements
  std::vector<Config> configs_;          // 32-bit launch configurations, widest vector first
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

class CastKernel : public Kernel {
 public:
  explicit CastKernel(const KernelArgs& a) : from_(a.inputs[0].dtype), to_(a.outputs[0].dtype), n_(a.inputs[0].numel()) {}
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    if (n_ == 0) return;
    dispatch_any(from_, "Cast", [&](auto i) {
      dispatch_any(to_, "Cast", [&](auto o) {
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

}  // namespace

std::unique_ptr<Kernel> make_Unary(const KernelArgs& a) { return std::make_unique<UnaryKernel>(a); }
std::unique_ptr<Kernel> make_Binary(const KernelArgs& a) { return std::make_unique<BinaryKernel>(a); }
std::unique_ptr<Kernel> make_Cast(const KernelArgs& a) { return std::make_unique<CastKernel>(a); }

}  // namespace trtorch::backends::cuda
