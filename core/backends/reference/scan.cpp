// CumSum and CumProd: inclusive running sums / products along one axis. Floating types accumulate
// in FP64 (like torch's CPU kernel; the running value is not rounded) and write every partial
// result rounded to the storage type; integers wrap around.
#include "core/backends/reference/kernels.h"

namespace trtorch::backends::reference {

using ir::DType;
using ir::HostTensor;

namespace {

// Running `combine` (sum or product, starting from `identity`) along `axis`.
template <typename Combine>
void scan(const char* op, int64_t axis, int identity, Combine combine, const std::vector<HostTensor>& in,
          std::vector<HostTensor>& out) {
  const auto& xs = in[0].shape;
  TRTORCH_EXPECT(axis >= 0 && axis < int64_t(xs.size()), op, ": axis ", axis, " out of range for rank ", xs.size());
  int64_t outer, inner;
  outer_inner(xs, axis, &outer, &inner);
  const int64_t len = xs[size_t(axis)];
  allocate(out[0]);
  if (out[0].numel() == 0) return;
  auto run = [&](auto load, auto store) {
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t base = o * len * inner + i;
        auto acc = decltype(load(0))(identity);
        for (int64_t k = 0; k < len; ++k) {
          acc = combine(acc, load(base + k * inner));
          store(base + k * inner, acc);
        }
      }
  };
  switch (in[0].dtype) {
    case DType::kFloat32:
    case DType::kFloat16:
    case DType::kBFloat16: {
      FloatIn x(op, "input", in[0]);
      FloatOut y(out[0]);
      const float* xp = x.data();
      float* yp = y.data();
      run([&](int64_t i) { return double(xp[i]); }, [&](int64_t i, double v) { yp[i] = float(v); });
      y.commit();  // FP16/BF16: every partial sum rounds once to the storage type
      return;
    }
    case DType::kInt32: {
      const int32_t* xp = in[0].ptr<int32_t>();
      int32_t* yp = out[0].ptr<int32_t>();
      run([&](int64_t i) { return uint32_t(xp[i]); }, [&](int64_t i, uint32_t v) { yp[i] = int32_t(v); });
      return;
    }
    case DType::kInt64: {
      const int64_t* xp = in[0].ptr<int64_t>();
      int64_t* yp = out[0].ptr<int64_t>();
      run([&](int64_t i) { return uint64_t(xp[i]); }, [&](int64_t i, uint64_t v) { yp[i] = int64_t(v); });
      return;
    }
    case DType::kBool:
    case DType::kInt8: break;
  }
  unsupported_dtype(op, "input", in[0].dtype);
}

}  // namespace

void eval_CumSum(const ir::CumSumAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  scan("CumSum", a.axis, 0, [](auto acc, auto v) { return decltype(acc)(acc + v); }, in, out);
}

void eval_CumProd(const ir::CumProdAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  scan("CumProd", a.axis, 1, [](auto acc, auto v) { return decltype(acc)(acc * v); }, in, out);
}

}  // namespace trtorch::backends::reference
