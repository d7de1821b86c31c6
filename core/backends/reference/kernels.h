// Internal to the reference backend: the kernel of every op of ops.def (one eval_<Op> each,
// declared below by op family and defined in the file of its family) and the helpers the kernels
// share.
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include "core/ir/ir.h"
#include "core/util/error.h"

namespace trtorch::backends::reference {

// Every op has a kernel: the dispatcher in interpreter.cpp calls eval_<Op> for each entry of
// ops.def, so an op without a kernel (or without its declaration here) does not compile or link.
// `out` arrives with the inferred dtypes and shapes but no storage: a kernel either calls
// allocate() or makes out[i] share the storage of an input (Identity, Reshape, Constant).
#define TRTORCH_REFERENCE_KERNEL(Name)                                                  \
  void eval_##Name(const ir::Name##Attrs& attrs, const std::vector<ir::HostTensor>& in, \
                   std::vector<ir::HostTensor>& out);

// conv family (conv.cpp): implicit-im2col GEMM, 1x1 GEMM, direct depthwise.
TRTORCH_REFERENCE_KERNEL(Conv2d)

// gemm family (gemm.cpp, on sgemm of gemm.h).
TRTORCH_REFERENCE_KERNEL(Linear)
TRTORCH_REFERENCE_KERNEL(MatMul)

// attention family (attention.cpp).
TRTORCH_REFERENCE_KERNEL(Attention)

// norm family (norm.cpp).
TRTORCH_REFERENCE_KERNEL(BatchNorm)
TRTORCH_REFERENCE_KERNEL(LayerNorm)

// pooling family (pooling.cpp).
TRTORCH_REFERENCE_KERNEL(Pool2d)
TRTORCH_REFERENCE_KERNEL(AdaptivePool2d)

// elementwise family (elementwise.cpp).
TRTORCH_REFERENCE_KERNEL(Unary)
TRTORCH_REFERENCE_KERNEL(Binary)
TRTORCH_REFERENCE_KERNEL(Cast)
TRTORCH_REFERENCE_KERNEL(Pointwise)

// y[i] = kind(x[i]) in FP32 (x == y allowed). Shared by Unary and the fused epilogues.
void unary_float(ir::UnaryKind kind, float alpha, float beta, int64_t n, const float* x, float* y);

// compare family (compare.cpp).
TRTORCH_REFERENCE_KERNEL(Compare)
TRTORCH_REFERENCE_KERNEL(Where)

// reduce family (reduce.cpp).
TRTORCH_REFERENCE_KERNEL(Reduce)
TRTORCH_REFERENCE_KERNEL(Softmax)

// scan family (scan.cpp).
TRTORCH_REFERENCE_KERNEL(CumSum)
TRTORCH_REFERENCE_KERNEL(CumProd)

// sort family (sort.cpp).
TRTORCH_REFERENCE_KERNEL(TopK)

// grid_sample family (grid_sample.cpp).
TRTORCH_REFERENCE_KERNEL(GridSample)

// quantize family (quantize.cpp): symmetric int8 quantization and back, and the INT8 layers in
// exact integer arithmetic.
TRTORCH_REFERENCE_KERNEL(Quantize)
TRTORCH_REFERENCE_KERNEL(Dequantize)
TRTORCH_REFERENCE_KERNEL(QConv2d)
TRTORCH_REFERENCE_KERNEL(QLinear)

// data_movement family (data_movement.cpp): byte-wise on any dtype.
TRTORCH_REFERENCE_KERNEL(Constant)
TRTORCH_REFERENCE_KERNEL(Identity)
TRTORCH_REFERENCE_KERNEL(Reshape)
TRTORCH_REFERENCE_KERNEL(Transpose)
TRTORCH_REFERENCE_KERNEL(Concat)
TRTORCH_REFERENCE_KERNEL(Slice)
TRTORCH_REFERENCE_KERNEL(Gather)
TRTORCH_REFERENCE_KERNEL(Expand)
TRTORCH_REFERENCE_KERNEL(Scatter)  // data_movement_scatter.cpp

#undef TRTORCH_REFERENCE_KERNEL

// ---- Helpers every family shares (kernels.cpp) ----

// Element counts before and after `axis` of a shape: the tensor seen as [outer, shape[axis], inner].
inline void outer_inner(const std::vector<int64_t>& shape, int64_t axis, int64_t* outer, int64_t* inner) {
  *outer = 1;
  *inner = 1;
  for (int64_t d = 0; d < axis; ++d) *outer *= shape[size_t(d)];
  for (size_t d = size_t(axis) + 1; d < shape.size(); ++d) *inner *= shape[d];
}

// Elementwise loops shorter than this stay on one thread.
constexpr int64_t kParallelMin = int64_t(1) << 15;

// Gives `t` fresh zero-filled storage for its dtype and shape.
void allocate(ir::HostTensor& t);

// Throws trtorch::Error "<op>: <what> has dtype <t>, which this op does not support".
[[noreturn]] void unsupported_dtype(const char* op, const char* what, ir::DType t);
void expect_floating(const char* op, const char* what, const ir::HostTensor& t);

// FP32 view of a floating-point tensor: aliases FP32 storage, converts FP16/BF16 once.
class FloatIn {
 public:
  FloatIn(const char* op, const char* what, const ir::HostTensor& t);
  const float* data() const { return p_; }

 private:
  std::vector<float> tmp_;
  const float* p_ = nullptr;
};

// FP32 output buffer for a floating-point tensor: FP32 storage is written directly, FP16/BF16
// go through a scratch buffer that commit() rounds into the tensor once.
class FloatOut {
 public:
  explicit FloatOut(ir::HostTensor& t);
  float* data() { return p_; }
  void commit();

 private:
  ir::HostTensor& t_;
  std::vector<float> tmp_;
  float* p_ = nullptr;
};

// Storage types for the dtypes that have no C++ arithmetic type of their own.
struct Half { uint16_t bits; };
struct BFloat16 { uint16_t bits; };
using Bool = uint8_t;

template <typename T>
struct TypeTag {
  using type = T;
};

// Calls f(TypeTag<T>{}) with T the storage type of `t`.
template <typename F>
decltype(auto) visit_dtype(ir::DType t, F&& f) {
  switch (t) {
    case ir::DType::kFloat32: return f(TypeTag<float>{});
    case ir::DType::kFloat16: return f(TypeTag<Half>{});
    case ir::DType::kBFloat16: return f(TypeTag<BFloat16>{});
    case ir::DType::kInt32: return f(TypeTag<int32_t>{});
    case ir::DType::kInt64: return f(TypeTag<int64_t>{});
    case ir::DType::kBool: return f(TypeTag<Bool>{});
    case ir::DType::kInt8: break;  // quantized values: Quantize, Dequantize and byte moves only
  }
  TRTORCH_CHECK(false, "bad dtype ", int(t));
  return f(TypeTag<float>{});
}

// Calls f(TypeTag<U>{}) with U an unsigned integer type of `size` bytes (byte-wise data movement).
template <typename F>
decltype(auto) visit_elem_size(size_t size, F&& f) {
  switch (size) {
    case 1: return f(TypeTag<uint8_t>{});
    case 2: return f(TypeTag<uint16_t>{});
    case 4: return f(TypeTag<uint32_t>{});
    case 8: return f(TypeTag<uint64_t>{});
  }
  TRTORCH_CHECK(false, "bad element size ", size);
  return f(TypeTag<uint8_t>{});
}

// Row-major strides of a shape, in elements.
std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape);

// Element strides of `in` along the dims of `out` (numpy broadcasting: dims align to the right,
// stride 0 where the input has size 1 or no dim).
inline std::vector<int64_t> broadcast_strides(const std::vector<int64_t>& in, const std::vector<int64_t>& out) {
  const std::vector<int64_t> st = contiguous_strides(in);
  std::vector<int64_t> r(out.size(), 0);
  const size_t off = out.size() - in.size();
  for (size_t d = off; d < out.size(); ++d) r[d] = in[d - off] == 1 ? 0 : st[d - off];
  return r;
}

// Calls f(o, offsets) for every output element o in row-major order, with offsets[k] the
// element offset of operand k (strides from broadcast_strides).
template <typename F>
void for_each_broadcast(const std::vector<int64_t>& out, const std::vector<std::vector<int64_t>>& strides, F&& f) {
  const int64_t n = ir::numel_of(out);
  const size_t r = out.size(), k = strides.size();
  std::vector<int64_t> idx(r, 0), offs(k, 0);
  for (int64_t o = 0; o < n; ++o) {
    f(o, offs);
    for (size_t d = r; d-- > 0;) {
      for (size_t j = 0; j < k; ++j) offs[j] += strides[j][d];
      if (++idx[d] < out[d]) break;
      for (size_t j = 0; j < k; ++j) offs[j] -= strides[j][d] * out[d];
      idx[d] = 0;
    }
  }
}

}  // namespace trtorch::backends::reference
