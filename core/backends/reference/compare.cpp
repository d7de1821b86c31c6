// Compare family: Compare (elementwise comparisons and logical connectives with numpy broadcasting,
// bool out) and Where (a select on a bool condition, byte-wise on any dtype).
#include "core/backends/reference/kernels.h"
#include "core/ir/scalar_semantics.h"

namespace trtorch::backends::reference {

using ir::CompareKind;
using ir::DType;
using ir::HostTensor;

namespace {

// Floating storage types compare as FP32 values; integers and bool compare as themselves.
template <typename T>
auto value_of(T v) {
  if constexpr (std::is_same_v<T, Half>) return ir::half_to_float(v.bits);
  else if constexpr (std::is_same_v<T, BFloat16>) return ir::bf16_to_float(v.bits);
  else return v;
}

}  // namespace

void eval_Compare(const ir::CompareAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  TRTORCH_EXPECT(size_t(a.kind) < size_t(CompareKind::kCount), "Compare: unknown kind ", int(a.kind));
  TRTORCH_EXPECT(in[0].dtype == in[1].dtype, "Compare: operands have dtypes ", ir::dtype_name(in[0].dtype), " and ",
                 ir::dtype_name(in[1].dtype));
  allocate(out[0]);
  const auto& ys = out[0].shape;
  const std::vector<std::vector<int64_t>> st{broadcast_strides(in[0].shape, ys), broadcast_strides(in[1].shape, ys)};
  Bool* y = out[0].ptr<Bool>();
  visit_dtype(in[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* x0 = in[0].ptr<T>();
    const T* x1 = in[1].ptr<T>();
    for_each_broadcast(ys, st, [&](int64_t o, const std::vector<int64_t>& off) {
      y[o] = ir::compare_values(a.kind, value_of(x0[off[0]]), value_of(x1[off[1]])) ? 1 : 0;
    });
  });
}

void eval_Where(const ir::WhereAttrs&, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  allocate(out[0]);
  const auto& ys = out[0].shape;
  const std::vector<std::vector<int64_t>> st{broadcast_strides(in[0].shape, ys), broadcast_strides(in[1].shape, ys),
                                             broadcast_strides(in[2].shape, ys)};
  const Bool* c = in[0].ptr<Bool>();
  visit_elem_size(ir::dtype_size(out[0].dtype), [&](auto tag) {
    using U = typename decltype(tag)::type;
    const U* a = in[1].ptr<U>();
    const U* b = in[2].ptr<U>();
    U* y = out[0].ptr<U>();
    for_each_broadcast(ys, st, [&](int64_t o, const std::vector<int64_t>& off) {
      y[o] = c[off[0]] ? a[off[1]] : b[off[2]];
    });
  });
}

}  // namespace trtorch::backends::reference
