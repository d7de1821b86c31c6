// TopK: a stable sort of every line along the axis, keeping the first k. Floating values compare
// in FP32 (every FP16/BF16 value is exact there) with NaN above everything and -0.0 equal to 0.0;
// the values are copied from the input bytes, so they are exact in every dtype.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/backends/reference/kernels.h"

namespace trtorch::backends::reference {

using ir::DType;
using ir::HostTensor;

namespace {

// The sort key of every element: a total order in which NaN is the largest value.
template <typename K>
void sort_lines(const ir::TopKAttrs& a, const std::vector<int64_t>& shape, const K* keys, const HostTensor& x,
                std::vector<HostTensor>& out) {
  int64_t outer, inner;
  outer_inner(shape, a.axis, &outer, &inner);
  const int64_t len = shape[size_t(a.axis)];
  const int64_t k = out[0].shape[size_t(a.axis)];
  const size_t esize = ir::dtype_size(x.dtype);
  const auto* xb = static_cast<const uint8_t*>(x.data());
  auto* vb = static_cast<uint8_t*>(out[0].data());
  int64_t* ib = out[1].ptr<int64_t>();
  auto less = [](K p, K q) {
    if constexpr (std::is_floating_point_v<K>) {
      if (std::isnan(p)) return false;  // NaN is never below anything
      if (std::isnan(q)) return true;
    }
    return p < q;  // -0.0 < 0.0 is false: they tie
  };
  std::vector<int64_t> order(static_cast<size_t>(len));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * len * inner + i;
      std::iota(order.begin(), order.end(), int64_t(0));
      std::stable_sort(order.begin(), order.end(), [&](int64_t p, int64_t q) {
        const K kp = keys[base + p * inner], kq = keys[base + q * inner];
        return a.largest ? less(kq, kp) : less(kp, kq);
      });
      for (int64_t j = 0; j < k; ++j) {
        const int64_t dst = (o * k + j) * inner + i;
        std::memcpy(vb + size_t(dst) * esize, xb + size_t(base + order[size_t(j)] * inner) * esize, esize);
        ib[dst] = order[size_t(j)];
      }
    }
}

}  // namespace

void eval_TopK(const ir::TopKAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  const HostTensor& x = in[0];
  TRTORCH_EXPECT(a.axis >= 0 && a.axis < int64_t(x.shape.size()), "TopK: axis ", a.axis, " out of range for rank ",
                 x.shape.size());
  allocate(out[0]);
  allocate(out[1]);
  if (out[0].numel() == 0) return;
  switch (x.dtype) {
    case DType::kFloat32:
    case DType::kFloat16:
    case DType::kBFloat16: {
      FloatIn keys("TopK", "input", x);
      sort_lines(a, x.shape, keys.data(), x, out);
      return;
    }
    case DType::kInt32: sort_lines(a, x.shape, x.ptr<int32_t>(), x, out); return;
    case DType::kInt64: sort_lines(a, x.shape, x.ptr<int64_t>(), x, out); return;
    case DType::kBool:
    case DType::kInt8: break;
  }
  unsupported_dtype("TopK", "input", x.dtype);
}

}  // namespace trtorch::backends::reference
