// Helpers for the tactic strings kernels record in the engine (see kernel.h): the one tactic
// format every kernel writes and its strict parser (TacticFields), stable hashes of a problem
// signature, and strict number parsing.
//
// The format: a tag naming the kernel family and its format version, then key=value fields, all
// joined by ';':
//   cutlass.v1;dtype=f16;M=256;N=3072;K=768;act=gelu_erf;config=128x128x64_2x1_coop;ws=0
// A key is non-empty and holds neither '=' nor ';'; a value holds no ';' (it may be empty).
#pragma once

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "core/ir/dtype.h"
#include "core/util/error.h"

namespace trtorch::backends::cuda {

inline std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// FNV-1a: a stable hash for tactic strings (std::hash is not stable across builds).
inline uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t end = s.find(sep, start);
    parts.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return parts;
}

// A decimal integer, nothing else; false on anything malformed or too long.
inline bool parse_int(const std::string& s, int64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  size_t i = 0;
  bool neg = false;
  if (s[0] == '-') {
    neg = true;
    i = 1;
    if (s.size() == 1) return false;
  }
  int64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = neg ? -v : v;
  return true;
}

// An unsigned integer in `base` (10 or 16, lower- or upper-case digits), digits only: no sign,
// space or prefix; false on anything malformed or beyond 64 bits.
inline bool parse_uint(const std::string& s, uint64_t* out, int base = 10) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d = base;  // not a digit
    if (c >= '0' && c <= '9') d = c - '0';
    if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    if (d >= base) return false;
    if (v > (UINT64_MAX - uint64_t(d)) / uint64_t(base)) return false;
    v = v * uint64_t(base) + uint64_t(d);
  }
  *out = v;
  return true;
}

// The short dtype names of tactics and descriptions: f32, f16, bf16 (others: ir::dtype_name).
inline const char* dtype_short(ir::DType t) {
  switch (t) {
    case ir::DType::kFloat32: return "f32";
    case ir::DType::kFloat16: return "f16";
    case ir::DType::kBFloat16: return "bf16";
    default: return ir::dtype_name(t);
  }
}

// One tactic string: its tag and its fields in order. format() writes the text; parse() reads it
// strictly. Errors are trtorch::Error holding only the reason ("field ws appears twice"), for the
// caller to prefix with the node and the text.
class TacticFields {
 public:
  TacticFields() = default;
  explicit TacticFields(std::string tag) : tag_(std::move(tag)) {
    TRTORCH_CHECK(tag_.find(';') == std::string::npos, "tactic tag '", tag_, "' holds ';'");
  }

  // Appends a field; the value is written as str_cat writes it.
  template <class T>
  TacticFields& add(const std::string& key, const T& value) {
    std::string v = str_cat(value);
    TRTORCH_CHECK(!key.empty() && key.find_first_of("=;") == std::string::npos, "bad tactic key '", key, "'");
    TRTORCH_CHECK(v.find(';') == std::string::npos, "tactic field ", key, "='", v, "' holds ';'");
    TRTORCH_CHECK(!has(key), "tactic field ", key, " added twice");
    fields_.emplace_back(key, std::move(v));
    return *this;
  }

  // "tag;key=value;...".
  std::string format() const {
    std::string s = tag_;
    for (const auto& [k, v] : fields_) s += ";" + k + "=" + v;
    return s;
  }

  // Reads "tag;key=value;...": the tag is everything before the first ';' (the caller checks
  // it); throws on a field that is not key=value or a key given twice.
  static TacticFields parse(const std::string& text) {
    std::vector<std::string> parts = split(text, ';');
    TacticFields f;
    f.tag_ = parts[0];
    for (size_t i = 1; i < parts.size(); ++i) {
      const std::string& p = parts[i];
      const size_t eq = p.find('=');
      TRTORCH_EXPECT(eq != std::string::npos && eq > 0, "field '", p, "' is not key=value");
      std::string key = p.substr(0, eq);
      TRTORCH_EXPECT(!f.has(key), "field ", key, " appears twice");
      f.fields_.emplace_back(std::move(key), p.substr(eq + 1));
    }
    return f;
  }

  const std::string& tag() const { return tag_; }
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

  bool has(const std::string& key) const { return find(key) != nullptr; }

  // Throws unless the keys are exactly `keys`, in any order: names the first missing key, else
  // the unknown ones.
  void expect_keys(std::initializer_list<const char*> keys) const {
    for (const char* k : keys) TRTORCH_EXPECT(has(k), "field ", k, " is missing");
    if (fields_.size() == keys.size()) return;
    std::string unknown;
    for (const auto& [k, v] : fields_) {
      bool known = false;
      for (const char* want : keys) known = known || k == want;
      if (!known) unknown += (unknown.empty() ? "" : ", ") + k;
    }
    TRTORCH_ERROR("it has unknown fields: ", unknown);
  }

  // The value of `key`; throws when it is missing.
  const std::string& get(const std::string& key) const {
    const std::string* v = find(key);
    TRTORCH_EXPECT(v, "field ", key, " is missing");
    return *v;
  }

  // The value of `key` as a signed decimal (parse_int) or an unsigned one (parse_uint); throws
  // when it is missing or not a number.
  int64_t get_int(const std::string& key) const {
    int64_t x = 0;
    TRTORCH_EXPECT(parse_int(get(key), &x), "field ", key, "='", get(key), "' is not a number");
    return x;
  }
  uint64_t get_uint(const std::string& key) const {
    uint64_t x = 0;
    TRTORCH_EXPECT(parse_uint(get(key), &x), "field ", key, "='", get(key), "' is not a number");
    return x;
  }

 private:
  const std::string* find(const std::string& key) const {
    for (const auto& [k, v] : fields_)
      if (k == key) return &v;
    return nullptr;
  }

  std::string tag_;
  std::vector<std::pair<std::string, std::string>> fields_;
};

}  // namespace trtorch::backends::cuda
