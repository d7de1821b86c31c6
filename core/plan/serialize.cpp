// The serialized engine format, and its header framing: serialize(), deserialize() (magic, format
// version, payload size and checksum) and deserialize_payload(). The header is described in
// engine.h; the payload is written by serialize_write.cpp and read, every bound checked, by
// serialize_read.cpp; serialize_io.h holds what both share (limits, Writer, Reader).
//
// Payload, in order (integers little-endian; str = u32 length + bytes; type = u8 dtype, u32 rank,
// rank x dim; dim = u8 0, i64 size | u8 1, size polynomial: see write_dim in serialize_write.cpp):
//   device     u8 type, i32 gpu_id, str gpu_name, i32 sm_major, i32 sm_minor
//   precision  u8 dtype
//   producer   str
//   options    str: the build options, "key=value;..." (at most kMaxBuildOptions bytes)
//   names      u32 n, n x str input names; u32 n, n x str output names
//   inputs     u32 n, n x (str name, type)
//   nodes      u32 n, n x (u32 op id, str source, u32 k, k x u32 value index, attribute fields,
//                          one (str name, type) per output: as many as shape inference gives)
//   outputs    u32 n, n x u32 value index
//   opt shapes u32 n (0, or one per input), n x (u32 rank, rank x i64): where tactics were chosen
//   backend    u64 n, n bytes (opaque data of the engine's backend: tactic choices, memory plan)
// Values are numbered in definition order: graph inputs, then node outputs. Attribute fields are
// written in the order of their struct's visit(); changing a struct's fields changes the format, so
// bump kFormatVersion (tests/plan/serialize_test.cpp pins a golden checksum to catch this).
//
// Loading rebuilds the graph with Graph::add_node, which re-runs shape inference; the recomputed
// output types must equal the stored ones, and the graph must pass ir::verify.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "core/plan/engine.h"
#include "core/plan/serialize_io.h"
#include "core/util/error.h"

namespace trtorch::plan {

namespace {

std::string hex64(uint64_t v) {
  char buf[19];
  std::snprintf(buf, sizeof(buf), "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

std::string serialize_string(const Engine& e) {
  TRTORCH_EXPECT(e.graph != nullptr, "cannot serialize engine: it has no graph");
  detail::Writer w;
  // Room for the whole engine at once (weights dominate): growing by doubling would hold up to
  // twice the engine's bytes while copying.
  size_t estimate = (size_t(1) << 16) + e.backend_data.size();
  for (const ir::Node* n : e.graph->nodes())
    estimate += 512 + (n->op == ir::OpKind::Constant ? n->attr<ir::ConstantAttrs>().value.nbytes() : 0);
  w.reserve(estimate);
  for (char c : detail::kMagic) w.u8(uint8_t(c));  // byte by byte: w.raw here trips a false GCC 12 warning
  w.u32(kFormatVersion);
  w.u64(0);  // payload size, patched below
  w.u64(0);  // payload checksum, patched below

  detail::write_payload(w, e);

  std::string& out = w.bytes();
  uint64_t payload_size = out.size() - detail::kHeaderSize;
  uint64_t checksum = fnv1a64(reinterpret_cast<const uint8_t*>(out.data()) + detail::kHeaderSize, payload_size);
  for (int i = 0; i < 8; ++i) {
    out[12 + i] = char(uint8_t(payload_size >> (8 * i)));
    out[20 + i] = char(uint8_t(checksum >> (8 * i)));
  }
  return std::move(out);
}

std::vector<uint8_t> serialize(const Engine& e) {
  const std::string s = serialize_string(e);
  return std::vector<uint8_t>(s.begin(), s.end());
}

Engine deserialize(const uint8_t* data, size_t size) {
  TRTORCH_EXPECT(size > 0, "engine is empty (0 bytes)");
  if (std::memcmp(data, detail::kMagic, std::min(size, sizeof(detail::kMagic))) != 0) {
    TRTORCH_ERROR("not a trtorch engine (bad magic)");
  }
  detail::Reader r(data, size, 0);
  r.take(sizeof(detail::kMagic), "magic");
  uint32_t version = r.u32("format version");
  TRTORCH_EXPECT(version == kFormatVersion, "engine format version ", version,
                 " is not supported by this build (supports ", kFormatVersion, ")");
  uint64_t payload_size = r.u64("payload size");
  uint64_t checksum = r.u64("payload checksum");
  size_t payload_at = r.offset();
  const uint8_t* payload = r.take(payload_size, "payload");
  if (r.left() != 0) {
    TRTORCH_ERROR("engine has ", r.left(), " trailing bytes after its ", payload_size,
                  "-byte payload at offset ", r.offset());
  }
  uint64_t actual = fnv1a64(payload, size_t(payload_size));
  if (actual != checksum) {
    TRTORCH_ERROR("engine checksum mismatch (corrupted data): the header says ", hex64(checksum),
                  ", the payload at offset ", payload_at, " gives ", hex64(actual));
  }
  detail::Reader pr(payload, size_t(payload_size), payload_at);
  return detail::read_payload(pr);
}

Engine deserialize_payload(const uint8_t* data, size_t size) {
  detail::Reader r(data, size, 0);
  return detail::read_payload(r);
}

}  // namespace trtorch::plan
