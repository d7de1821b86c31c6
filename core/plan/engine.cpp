// Engine helpers: device names and descriptions, and the payload checksum (the format is serialize.cpp).
#include "core/plan/engine.h"

#include "core/util/error.h"

namespace trtorch::plan {

const char* device_type_name(DeviceType t) {
  switch (t) {
    case DeviceType::kReference: return "reference (CPU)";
    case DeviceType::kCUDA: return "CUDA";
  }
  return "unknown device type";
}

std::string DeviceInfo::str() const {
  if (type == DeviceType::kReference) return "the reference backend (CPU)";
  return str_cat("CUDA device ", gpu_id, " (", gpu_name, ", sm_", sm_major, sm_minor, ")");
}

uint64_t fnv1a64(const uint8_t* data, size_t size) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < size; ++i) {
    h ^= data[i];
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace trtorch::plan
