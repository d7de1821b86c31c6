// An engine: an optimized IR graph plus what the runtime needs to run it, and its serialized form.
//
// Serialized layout (all integers little-endian):
//   magic "TRTORCH\0" | u32 format_version | u64 payload_size | u64 payload_checksum (FNV-1a) | payload
// The payload holds the device record, precision, producer, build options, I/O names and the graph (values, nodes with
// their attributes written field by field through each attribute struct's visit()). Every read
// is bounds-checked; a damaged engine gives trtorch::Error naming what is wrong and where.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/ir/ir.h"

namespace trtorch::plan {

// 8: LayerNormAttrs::emit_sum. 9: Engine::build_options (a string after the producer).
constexpr uint32_t kFormatVersion = 9;

enum class DeviceType : uint8_t { kReference = 0, kCUDA = 1 };
const char* device_type_name(DeviceType t);

// The device an engine was built for; the runtime refuses to run it elsewhere.
struct DeviceInfo {
  DeviceType type = DeviceType::kReference;
  int32_t gpu_id = 0;
  std::string gpu_name;  // e.g. "NVIDIA H100 80GB HBM3"; empty for the reference backend
  int32_t sm_major = 0, sm_minor = 0;
  std::string str() const;
};

struct Engine {
  DeviceInfo device;
  ir::DType precision = ir::DType::kFloat32;
  std::unique_ptr<ir::Graph> graph;
  std::vector<std::string> input_names, output_names;
  std::string producer;  // "trtorch <version>"
  // The build options that shaped the engine, "key=value;key=value" (plan::build_options_text):
  // precision, allow_tf32, fp32_conv_bias, channels_last, cuda_graphs, conv_candidates,
  // workspace_size, num_min/avg_timing_iters. A record for people and tools (the engine summary
  // shows it); the backends read their own choices from backend_data.
  std::string build_options;
  // Dynamic shapes: per input, the shape tactics were chosen for (the compile spec's opt); empty
  // for an engine whose inputs are all static.
  std::vector<std::vector<int64_t>> opt_shapes;
  // Opaque to everything but the engine's backend, which writes it at build time (tactic
  // choices) and reads it when the engine is loaded.
  std::vector<uint8_t> backend_data;
};

std::vector<uint8_t> serialize(const Engine& e);
// The same bytes in a std::string (no second copy of the weights where a string is wanted).
std::string serialize_string(const Engine& e);
// Throws trtorch::Error on truncated, corrupt, foreign or wrong-version bytes.
Engine deserialize(const uint8_t* data, size_t size);
inline Engine deserialize(const std::vector<uint8_t>& b) { return deserialize(b.data(), b.size()); }
// Parses a payload without checking the header checksum (the fuzz test drives this directly).
Engine deserialize_payload(const uint8_t* data, size_t size);

uint64_t fnv1a64(const uint8_t* data, size_t size);

}  // namespace trtorch::plan
