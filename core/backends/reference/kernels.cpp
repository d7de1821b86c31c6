// Helpers every reference kernel shares: storage allocation, dtype errors, FP32 views and outputs,
// row-major strides.
#include "core/backends/reference/kernels.h"

#include <memory>

namespace trtorch::backends::reference {

using ir::DType;
using ir::HostTensor;

void allocate(HostTensor& t) {
  t.bytes = std::make_shared<std::vector<uint8_t>>(ir::checked_bytes(t.shape, t.dtype, "tensor shape"));
}

void unsupported_dtype(const char* op, const char* what, DType t) {
  TRTORCH_ERROR(op, ": ", what, " has dtype ", ir::dtype_name(t),
                ", which the reference backend does not support for this op");
}

void expect_floating(const char* op, const char* what, const HostTensor& t) {
  if (!ir::is_floating(t.dtype)) unsupported_dtype(op, what, t.dtype);
}

FloatIn::FloatIn(const char* op, const char* what, const HostTensor& t) {
  expect_floating(op, what, t);
  if (t.dtype == DType::kFloat32) {
    p_ = t.ptr<float>();
  } else {
    tmp_.resize(size_t(t.numel()));
    ir::to_float(t, tmp_.data());
    p_ = tmp_.data();
  }
}

FloatOut::FloatOut(HostTensor& t) : t_(t) {
  TRTORCH_CHECK(ir::is_floating(t.dtype), "FloatOut on ", ir::dtype_name(t.dtype));
  if (ir::try_bytes(t.shape, t.dtype) != std::optional<int64_t>(int64_t(t.nbytes()))) allocate(t);  // checked
  if (t.dtype == DType::kFloat32) {
    p_ = t.ptr<float>();
  } else {
    tmp_.assign(size_t(t.numel()), 0.0f);
    p_ = tmp_.data();
  }
}

void FloatOut::commit() {
  if (t_.dtype != DType::kFloat32) ir::from_float(tmp_.data(), t_);
}

std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

}  // namespace trtorch::backends::reference
