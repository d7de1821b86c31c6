// A dense host tensor: weights, constants and reference-backend buffers.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/ir/dtype.h"
#include "core/ir/sizes.h"

namespace trtorch::ir {

// Element count of a static shape; throws trtorch::Error when it does not fit int64_t.
int64_t numel_of(const std::vector<int64_t>& shape);

struct HostTensor {
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;
  std::shared_ptr<std::vector<uint8_t>> bytes;  // shared: copies of a HostTensor alias

  HostTensor() : bytes(std::make_shared<std::vector<uint8_t>>()) {}
  HostTensor(DType t, std::vector<int64_t> s);  // zero-filled; throws when the byte size overflows

  int64_t numel() const { return numel_of(shape); }
  size_t nbytes() const { return bytes->size(); }
  void* data() { return bytes->data(); }
  const void* data() const { return bytes->data(); }
  template <typename T>
  T* ptr() { return reinterpret_cast<T*>(bytes->data()); }
  template <typename T>
  const T* ptr() const { return reinterpret_cast<const T*>(bytes->data()); }

  // Element i as float / as int64, whatever the storage dtype.
  double get(int64_t i) const;
  void set(int64_t i, double v);

  // Converted copy (float <-> half/bf16 rounding, ints truncated).
  HostTensor to(DType t) const;
  HostTensor clone() const;
  bool same_content(const HostTensor& o) const;
};

// Whole-buffer conversions used on hot paths of the reference backend.
void to_float(const HostTensor& t, float* out);
void from_float(const float* in, HostTensor& t);

}  // namespace trtorch::ir
