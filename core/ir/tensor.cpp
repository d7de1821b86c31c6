#include "core/ir/tensor.h"

#include "core/ir/sizes.h"
#include "core/util/error.h"

namespace trtorch::ir {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::kFloat32: return 4;
    case DType::kFloat16: return 2;
    case DType::kBFloat16: return 2;
    case DType::kInt32: return 4;
    case DType::kInt64: return 8;
    case DType::kBool: return 1;
    case DType::kInt8: return 1;
  }
  TRTORCH_CHECK(false, "bad dtype ", int(t));
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::kFloat32: return "f32";
    case DType::kFloat16: return "f16";
    case DType::kBFloat16: return "bf16";
    case DType::kInt32: return "i32";
    case DType::kInt64: return "i64";
    case DType::kBool: return "bool";
    case DType::kInt8: return "i8";
  }
  return "?";
}

bool is_floating(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat16 || t == DType::kBFloat16;
}

int64_t numel_of(const std::vector<int64_t>& shape) {
  auto n = try_numel(shape);
  TRTORCH_EXPECT(n, "tensor shape ", shape_text(shape), " has more than 2^63 elements");
  return *n;
}

HostTensor::HostTensor(DType t, std::vector<int64_t> s)
    : dtype(t), shape(std::move(s)),
      bytes(std::make_shared<std::vector<uint8_t>>(checked_bytes(shape, t, "tensor shape"))) {}

double HostTensor::get(int64_t i) const {
  switch (dtype) {
    case DType::kFloat32: return ptr<float>()[i];
    case DType::kFloat16: return half_to_float(ptr<uint16_t>()[i]);
    case DType::kBFloat16: return bf16_to_float(ptr<uint16_t>()[i]);
    case DType::kInt32: return ptr<int32_t>()[i];
    case DType::kInt64: return double(ptr<int64_t>()[i]);
    case DType::kBool: return ptr<uint8_t>()[i] ? 1.0 : 0.0;
    case DType::kInt8: return ptr<int8_t>()[i];
  }
  return 0;
}

void HostTensor::set(int64_t i, double v) {
  switch (dtype) {
    case DType::kFloat32: ptr<float>()[i] = float(v); break;
    case DType::kFloat16: ptr<uint16_t>()[i] = float_to_half(float(v)); break;
    case DType::kBFloat16: ptr<uint16_t>()[i] = float_to_bf16(float(v)); break;
    case DType::kInt32: ptr<int32_t>()[i] = int32_t(v); break;
    case DType::kInt64: ptr<int64_t>()[i] = int64_t(v); break;
    case DType::kBool: ptr<uint8_t>()[i] = v != 0.0; break;
    case DType::kInt8: ptr<int8_t>()[i] = int8_t(v); break;
  }
}

HostTensor HostTensor::to(DType t) const {
  if (t == dtype) return clone();
  HostTensor out(t, shape);
  int64_t n = numel();
  if (dtype == DType::kInt64 && t == DType::kInt32) {
    for (int64_t i = 0; i < n; ++i) out.ptr<int32_t>()[i] = int32_t(ptr<int64_t>()[i]);
  } else if (is_floating(t) && is_floating(dtype)) {
    std::vector<float> tmp(static_cast<size_t>(n));
    to_float(*this, tmp.data());
    from_float(tmp.data(), out);
  } else {
    for (int64_t i = 0; i < n; ++i) out.set(i, get(i));
  }
  return out;
}

HostTensor HostTensor::clone() const {
  HostTensor out;
  out.dtype = dtype;
  out.shape = shape;
  out.bytes = std::make_shared<std::vector<uint8_t>>(*bytes);
  return out;
}

bool HostTensor::same_content(const HostTensor& o) const {
  return dtype == o.dtype && shape == o.shape && *bytes == *o.bytes;
}

void to_float(const HostTensor& t, float* out) {
  int64_t n = t.numel();
  switch (t.dtype) {
    case DType::kFloat32: std::memcpy(out, t.data(), size_t(n) * 4); break;
    case DType::kFloat16: {
      const uint16_t* p = t.ptr<uint16_t>();
      for (int64_t i = 0; i < n; ++i) out[i] = half_to_float(p[i]);
      break;
    }
    case DType::kBFloat16: {
      const uint16_t* p = t.ptr<uint16_t>();
      for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_float(p[i]);
      break;
    }
    default:
      for (int64_t i = 0; i < n; ++i) out[i] = float(t.get(i));
  }
}

void from_float(const float* in, HostTensor& t) {
  int64_t n = t.numel();
  switch (t.dtype) {
    case DType::kFloat32: std::memcpy(t.data(), in, size_t(n) * 4); break;
    case DType::kFloat16: {
      uint16_t* p = t.ptr<uint16_t>();
      for (int64_t i = 0; i < n; ++i) p[i] = float_to_half(in[i]);
      break;
    }
    case DType::kBFloat16: {
      uint16_t* p = t.ptr<uint16_t>();
      for (int64_t i = 0; i < n; ++i) p[i] = float_to_bf16(in[i]);
      break;
    }
    default:
      for (int64_t i = 0; i < n; ++i) t.set(i, in[i]);
  }
}

}  // namespace trtorch::ir
