// What the engine format's writer and reader share (the format itself is described in
// serialize.cpp): the format limits, the little-endian Writer, the bounds-checked Reader and the
// entry points of serialize_write.cpp and serialize_read.cpp. Internal to core/plan.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/ir/sizes.h"
#include "core/plan/engine.h"
#include "core/util/error.h"

namespace trtorch::plan::detail {

inline constexpr char kMagic[8] = {'T', 'R', 'T', 'O', 'R', 'C', 'H', '\0'};
inline constexpr size_t kHeaderSize = 8 + 4 + 8 + 8;

// Format limits. They bound the work and memory a (possibly hostile) engine can ask for; every
// int-list attribute is per-dimension, so it shares the rank limit.
inline constexpr size_t kMaxRank = 32;
// Integer-list attributes: shapes and strides (at most kMaxRank), and a Pointwise program (4 words
// per instruction).
inline constexpr size_t kMaxIntList = 1024;
inline constexpr size_t kMaxNodeInputs = 4096;
// The build options text (a few hundred bytes today).
inline constexpr size_t kMaxBuildOptions = 4096;

template <typename T>
inline constexpr bool kAlwaysFalse = false;

// Number of valid values of a serialized uint8-based enum.
template <typename E>
constexpr size_t enum_count() {
  static_assert(std::is_same_v<std::underlying_type_t<E>, uint8_t>, "serialized enums are uint8_t based");
  if constexpr (std::is_same_v<E, ir::DType>) {
    return size_t(ir::kNumDTypes);
  } else {
    return size_t(E::kCount);
  }
}

inline bool known_device_type(uint8_t v) {
  switch (DeviceType(v)) {  // -Wswitch flags a new enumerator missing here
    case DeviceType::kReference:
    case DeviceType::kCUDA: return true;
  }
  return false;
}

// Element count of `shape` (dims >= 0); false if it does not fit int64_t.
inline bool checked_numel(const std::vector<int64_t>& shape, int64_t* out) {
  for (int64_t d : shape)
    if (d < 0) return false;
  const std::optional<int64_t> n = ir::try_numel(shape);
  if (n) *out = *n;
  return n.has_value();
}

// Little-endian writes into a growing byte buffer.
class Writer {
 public:
  void u8(uint8_t v) { out_.push_back(char(v)); }
  void u32(uint32_t v) { put_le(v, 4); }
  void u64(uint64_t v) { put_le(v, 8); }
  void i32(int32_t v) { put_le(uint32_t(v), 4); }
  void i64(int64_t v) { put_le(uint64_t(v), 8); }
  void f64(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    u64(bits);
  }
  void count(size_t n, const char* what) {
    TRTORCH_EXPECT(n <= UINT32_MAX, "cannot serialize engine: ", what, " has ", n, " entries");
    u32(uint32_t(n));
  }
  void str(const std::string& s) {
    count(s.size(), "a string");
    raw(s.data(), s.size());
  }
  void raw(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  // A std::string: the runtime hands it to torch's pickler as it is (no copy of the weights).
  std::string& bytes() { return out_; }
  void reserve(size_t n) { out_.reserve(n); }

 private:
  void put_le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(char(uint8_t(v >> (8 * i))));
  }
  std::string out_;
};

// Bounds-checked little-endian reads. Offsets in messages are from the start of the engine.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size, size_t base) : data_(data), size_(size), base_(base) {}

  size_t offset() const { return base_ + pos_; }
  size_t left() const { return size_ - pos_; }
  // What is being read, for messages: "node 3 (Conv2d)".
  void set_context(std::string c) { context_ = std::move(c); }

  [[noreturn]] void fail(const std::string& msg, size_t at) const {
    TRTORCH_ERROR(msg, " at offset ", at, context_.empty() ? "" : " (in ", context_, context_.empty() ? "" : ")");
  }

  // The range of each symbol (a dynamic dim) as it first appeared: every later occurrence must
  // agree, so that an edited input range cannot leave the node types it flows into behind.
  std::map<int32_t, std::pair<int64_t, int64_t>> symbol_ranges;

  const uint8_t* take(uint64_t n, const char* what) {
    if (n > left()) {
      TRTORCH_ERROR("engine is truncated: needs ", n, " bytes at offset ", offset(), ", only ", left(),
                    " left (reading ", what, context_.empty() ? "" : " of ", context_, ")");
    }
    const uint8_t* p = data_ + pos_;
    pos_ += size_t(n);
    return p;
  }

  uint8_t u8(const char* what) { return *take(1, what); }
  uint32_t u32(const char* what) { return uint32_t(le(take(4, what), 4)); }
  uint64_t u64(const char* what) { return le(take(8, what), 8); }
  int32_t i32(const char* what) { return int32_t(u32(what)); }
  int64_t i64(const char* what) { return int64_t(u64(what)); }
  double f64(const char* what) {
    uint64_t bits = u64(what);
    double v;
    std::memcpy(&v, &bits, 8);
    return v;
  }
  bool boolean(const char* what) {
    size_t at = offset();
    uint8_t v = u8(what);
    if (v > 1) fail(str_cat("bad bool value ", int(v), " for ", what), at);
    return v == 1;
  }
  template <typename E>
  E enumeration(const char* what) {
    size_t at = offset();
    uint8_t v = u8(what);
    if (v >= enum_count<E>()) {
      fail(str_cat("unknown ", std::is_same_v<E, ir::DType> ? "dtype" : "enum value", " ", int(v), " for ", what,
                   " (this build knows ", enum_count<E>(), " values)"),
           at);
    }
    return E(v);
  }
  // A u32 element count, checked against `limit` and against the bytes left (each element takes
  // at least `min_elem_bytes`) before anything is allocated.
  size_t count(const char* what, size_t min_elem_bytes, size_t limit = SIZE_MAX) {
    size_t at = offset();
    size_t n = u32(what);
    if (n > limit) fail(str_cat("absurd size: ", what, " has ", n, " entries (at most ", limit, " allowed)"), at);
    if (n * min_elem_bytes > left()) {
      fail(str_cat("engine is truncated or corrupt: ", what, " claims ", n, " entries of at least ",
                   min_elem_bytes, " bytes, only ", left(), " bytes are left"),
           at);
    }
    return n;
  }
  std::string str(const char* what, size_t limit = SIZE_MAX) {
    size_t n = count(what, 1, limit);
    const uint8_t* p = take(n, what);
    return std::string(reinterpret_cast<const char*>(p), n);
  }

 private:
  static uint64_t le(const uint8_t* p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= uint64_t(p[i]) << (8 * i);
    return v;
  }

  const uint8_t* data_;
  size_t size_;
  size_t base_;
  size_t pos_ = 0;
  std::string context_;
};

// serialize_write.cpp: writes everything after the header (the device record through the backend
// data). Throws trtorch::Error for an engine the format cannot hold.
void write_payload(Writer& w, const Engine& e);

// serialize_read.cpp: reads a whole payload; every bound is checked, and bytes left over are an
// error.
Engine read_payload(Reader& r);

}  // namespace trtorch::plan::detail
