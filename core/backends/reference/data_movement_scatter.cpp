// Scatter: self with src written (or added) at the positions the index names along the axis.
// Plain writes copy bytes (any dtype, exact); additions run in FP32 for floating types (each
// output rounded once to the storage type) and wrap around for integers. An out-of-range index is
// an error naming it.
#include <cstring>

#include "core/backends/reference/kernels.h"

namespace trtorch::backends::reference {

using ir::DType;
using ir::HostTensor;

namespace {

// The element offset in self of every index position, in row-major order of the index.
std::vector<int64_t> scatter_targets(const ir::ScatterAttrs& a, const HostTensor& self, const HostTensor& idx) {
  const std::vector<int64_t>& is = idx.shape;
  const std::vector<int64_t> st = contiguous_strides(self.shape);
  const int64_t n = idx.numel(), dim = self.shape[size_t(a.axis)];
  std::vector<int64_t> targets(static_cast<size_t>(n)), pos(is.size(), 0);
  for (int64_t p = 0; p < n; ++p) {
    const int64_t v = idx.dtype == DType::kInt32 ? idx.ptr<int32_t>()[p] : idx.ptr<int64_t>()[p];
    TRTORCH_EXPECT(v >= 0 && v < dim, "Scatter: index ", v, " (at position ", p, " of the index) is out of range for ",
                   "axis ", a.axis, " of size ", dim);
    int64_t off = 0;
    for (size_t d = 0; d < is.size(); ++d) off += (int64_t(d) == a.axis ? v : pos[d]) * st[d];
    targets[size_t(p)] = off;
    for (size_t d = is.size(); d-- > 0;) {
      if (++pos[d] < is[d]) break;
      pos[d] = 0;
    }
  }
  return targets;
}

template <typename T, typename U>
void add_ints(const HostTensor& src, const std::vector<int64_t>& targets, HostTensor& y) {
  const T* s = src.ptr<T>();
  T* yp = y.ptr<T>();
  for (size_t p = 0; p < targets.size(); ++p) yp[targets[p]] = T(U(yp[targets[p]]) + U(s[p]));
}

}  // namespace

void eval_Scatter(const ir::ScatterAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  const HostTensor &self = in[0], &idx = in[1], &src = in[2];
  TRTORCH_EXPECT(a.axis >= 0 && a.axis < int64_t(self.shape.size()) && idx.shape.size() == self.shape.size() &&
                     src.shape == idx.shape,
                 "Scatter: bad axis ", a.axis, " or shapes");
  allocate(out[0]);
  const std::vector<int64_t> targets = scatter_targets(a, self, idx);
  const size_t esize = ir::dtype_size(self.dtype);
  if (a.reduce == ir::ScatterReduce::kNone) {
    std::memcpy(out[0].data(), self.data(), self.nbytes());
    auto* y = static_cast<uint8_t*>(out[0].data());
    const auto* s = static_cast<const uint8_t*>(src.data());
    for (size_t p = 0; p < targets.size(); ++p) std::memcpy(y + size_t(targets[p]) * esize, s + p * esize, esize);
    return;
  }
  switch (self.dtype) {
    case DType::kFloat32:
    case DType::kFloat16:
    case DType::kBFloat16: {
      FloatIn x("Scatter", "self", self), s("Scatter", "src", src);
      FloatOut y(out[0]);
      std::memcpy(y.data(), x.data(), size_t(self.numel()) * sizeof(float));
      for (size_t p = 0; p < targets.size(); ++p) y.data()[targets[p]] += s.data()[p];
      y.commit();
      return;
    }
    case DType::kInt32:
      std::memcpy(out[0].data(), self.data(), self.nbytes());
      add_ints<int32_t, uint32_t>(src, targets, out[0]);
      return;
    case DType::kInt64:
      std::memcpy(out[0].data(), self.data(), self.nbytes());
      add_ints<int64_t, uint64_t>(src, targets, out[0]);
      return;
    case DType::kBool:
    case DType::kInt8: break;
  }
  unsupported_dtype("Scatter", "self", self.dtype);
}

}  // namespace trtorch::backends::reference
