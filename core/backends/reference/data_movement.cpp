// Data movement, on any dtype, byte-wise: Constant, Identity, Reshape, Transpose, Concat, Slice,
// Gather and Expand.
#include <cstring>
#include <string>

#include "core/backends/reference/kernels.h"

namespace trtorch::backends::reference {

using ir::HostTensor;

void eval_Constant(const ir::ConstantAttrs& a, const std::vector<HostTensor>&, std::vector<HostTensor>& out) {
  const size_t need = ir::checked_bytes(a.value.shape, a.value.dtype, "Constant: value shape");
  TRTORCH_EXPECT(a.value.nbytes() == need, "Constant: value holds ", a.value.nbytes(),
                 " bytes but its shape and dtype need ", need);
  out[0] = a.value;  // shares the attribute's storage; nothing writes to it
}

void eval_Identity(const ir::IdentityAttrs&, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  out[0] = in[0];
}

void eval_Reshape(const ir::ReshapeAttrs&, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  std::vector<int64_t> shape = out[0].shape;  // inferred from the attribute and the input
  out[0] = in[0];
  out[0].shape = std::move(shape);
}

void eval_Transpose(const ir::TransposeAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  allocate(out[0]);
  const int64_t n = out[0].numel();
  if (n == 0) return;
  if (in[0].shape.size() <= 1) {
    std::memcpy(out[0].data(), in[0].data(), in[0].nbytes());
    return;
  }
  const std::vector<int64_t> in_strides = contiguous_strides(in[0].shape);
  const std::vector<int64_t>& ys = out[0].shape;
  // Input stride along each output dim; the last output dim is the inner loop.
  std::vector<int64_t> st(a.perm.size());
  for (size_t i = 0; i < a.perm.size(); ++i) st[i] = in_strides[size_t(a.perm[i])];
  const size_t r = ys.size();
  const int64_t inner = ys.back(), inner_stride = st.back();
  const int64_t rows = n / inner;
  visit_elem_size(ir::dtype_size(in[0].dtype), [&](auto tag) {
    using U = typename decltype(tag)::type;
    const U* x = in[0].ptr<U>();
    U* y = out[0].ptr<U>();
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t row = 0; row < rows; ++row) {
      int64_t off = 0, rem = row;
      for (size_t d = r - 1; d-- > 0;) {
        off += (rem % ys[d]) * st[d];
        rem /= ys[d];
      }
      U* yr = y + row * inner;
      for (int64_t i = 0; i < inner; ++i) yr[i] = x[off + i * inner_stride];
    }
  });
}

void eval_Concat(const ir::ConcatAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  allocate(out[0]);
  const auto& ys = out[0].shape;
  const size_t esize = ir::dtype_size(out[0].dtype);
  int64_t outer, inner;
  outer_inner(ys, a.axis, &outer, &inner);
  const size_t out_row = size_t(ys[size_t(a.axis)] * inner) * esize;
  auto* y = static_cast<uint8_t*>(out[0].data());
  size_t col = 0;  // byte offset of the current input within an output row
  for (const HostTensor& t : in) {
    const size_t row = size_t(t.shape[size_t(a.axis)] * inner) * esize;
    const auto* x = static_cast<const uint8_t*>(t.data());
    for (int64_t o = 0; o < outer; ++o) std::memcpy(y + size_t(o) * out_row + col, x + size_t(o) * row, row);
    col += row;
  }
}

void eval_Slice(const ir::SliceAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  allocate(out[0]);
  const auto& xs = in[0].shape;
  const size_t esize = ir::dtype_size(in[0].dtype);
  int64_t outer, inner;
  outer_inner(xs, a.axis, &outer, &inner);
  const int64_t dim = xs[size_t(a.axis)], count = out[0].shape[size_t(a.axis)];
  const size_t chunk = size_t(inner) * esize;
  const auto* x = static_cast<const uint8_t*>(in[0].data());
  auto* y = static_cast<uint8_t*>(out[0].data());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < count; ++k)
      std::memcpy(y + size_t(o * count + k) * chunk, x + size_t(o * dim + a.start.value() + k * a.step) * chunk, chunk);
}

void eval_Gather(const ir::GatherAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  allocate(out[0]);
  const auto& xs = in[0].shape;
  const size_t esize = ir::dtype_size(in[0].dtype);
  int64_t outer, inner;
  outer_inner(xs, a.axis, &outer, &inner);
  const int64_t dim = xs[size_t(a.axis)], count = in[1].numel();
  std::vector<int64_t> idx(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    idx[size_t(i)] = in[1].dtype == ir::DType::kInt32 ? in[1].ptr<int32_t>()[i] : in[1].ptr<int64_t>()[i];
    TRTORCH_EXPECT(idx[size_t(i)] >= 0 && idx[size_t(i)] < dim, "Gather: index ", idx[size_t(i)],
                   " (at position ", i, " of the indices) is out of range for axis ", a.axis, " of size ", dim);
  }
  const size_t chunk = size_t(inner) * esize;
  const auto* x = static_cast<const uint8_t*>(in[0].data());
  auto* y = static_cast<uint8_t*>(out[0].data());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < count; ++k)
      std::memcpy(y + size_t(o * count + k) * chunk, x + size_t(o * dim + idx[size_t(k)]) * chunk, chunk);
}

void eval_Expand(const ir::ExpandAttrs&, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  allocate(out[0]);
  const auto& ys = out[0].shape;
  const std::vector<std::vector<int64_t>> st{broadcast_strides(in[0].shape, ys)};
  visit_elem_size(ir::dtype_size(out[0].dtype), [&](auto tag) {
    using U = typename decltype(tag)::type;
    const U* x = in[0].ptr<U>();
    U* y = out[0].ptr<U>();
    for_each_broadcast(ys, st, [&](int64_t o, const std::vector<int64_t>& off) { y[o] = x[off[0]]; });
  });
}

}  // namespace trtorch::backends::reference
