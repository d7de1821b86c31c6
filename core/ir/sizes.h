// Overflow-checked size arithmetic: element counts, byte sizes, sums and alignment of buffers.
//
// Sizes come from user shapes and from untrusted engine bytes, so every product or sum that turns
// a shape into a byte count goes through these helpers; an overflow is a trtorch::Error that
// names what was being sized (an op, a tensor, a buffer) and the shape, never a wrapped-around
// small allocation that is then written past its end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/ir/dtype.h"

namespace trtorch::ir {

// The largest byte size a tensor may have: it must fit int64_t (and so size_t).
inline constexpr int64_t kMaxTensorBytes = INT64_MAX;

// a * b / a + b, or nullopt when the result does not fit int64_t.
std::optional<int64_t> try_mul(int64_t a, int64_t b);
std::optional<int64_t> try_add(int64_t a, int64_t b);
// `what` is a C string so that the checks on run-time paths build no string unless they fail.
// a * b / a + b; on overflow throws trtorch::Error "<what>: size computation overflows: a * b".
int64_t checked_mul(int64_t a, int64_t b, const char* what);
int64_t checked_add(int64_t a, int64_t b, const char* what);
size_t checked_mul_size(size_t a, size_t b, const char* what);
size_t checked_add_size(size_t a, size_t b, const char* what);
// v rounded up to a multiple of `alignment` (a power of two), checked.
size_t checked_align_up(size_t v, size_t alignment, const char* what);

// Element count of a static shape with dims >= 0 (a zero dim gives 0 whatever the others), or
// nullopt when it does not fit int64_t.
std::optional<int64_t> try_numel(const std::vector<int64_t>& shape);
// Byte size numel * dtype_size, or nullopt when it does not fit int64_t.
std::optional<int64_t> try_bytes(const std::vector<int64_t>& shape, DType t);
// The same for a shape with dims >= 0; on a negative dim or an overflow throws trtorch::Error
// naming `what` (which names the shape: "Expand: output shape", "tensor shape") and the shape, e.g.
// "Expand: output shape [576460752303423488, 8] of f32 is 2^64 bytes, more than a tensor can hold".
int64_t checked_numel(const std::vector<int64_t>& shape, DType t, const char* what);
size_t checked_bytes(const std::vector<int64_t>& shape, DType t, const char* what);

// "[2, 3, 4]".
std::string shape_text(const std::vector<int64_t>& shape);
// The message of checked_bytes: "<what> [..] of <dtype> is 2^64 bytes, more than a tensor can hold".
std::string too_large_message(const std::string& what, const std::vector<int64_t>& shape, DType t);

}  // namespace trtorch::ir
