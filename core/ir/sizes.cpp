// Overflow-checked size arithmetic (see sizes.h).
#include "core/ir/sizes.h"

#include <cmath>
#include <sstream>

#include "core/util/error.h"

namespace trtorch::ir {

std::optional<int64_t> try_mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

std::optional<int64_t> try_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

int64_t checked_mul(int64_t a, int64_t b, const char* what) {
  auto r = try_mul(a, b);
  TRTORCH_EXPECT(r, what, ": size computation overflows: ", a, " * ", b);
  return *r;
}

int64_t checked_add(int64_t a, int64_t b, const char* what) {
  auto r = try_add(a, b);
  TRTORCH_EXPECT(r, what, ": size computation overflows: ", a, " + ", b);
  return *r;
}

size_t checked_mul_size(size_t a, size_t b, const char* what) {
  size_t r;
  TRTORCH_EXPECT(!__builtin_mul_overflow(a, b, &r), what, ": size computation overflows: ", a, " * ", b);
  return r;
}

size_t checked_add_size(size_t a, size_t b, const char* what) {
  size_t r;
  TRTORCH_EXPECT(!__builtin_add_overflow(a, b, &r), what, ": size computation overflows: ", a, " + ", b);
  return r;
}

size_t checked_align_up(size_t v, size_t alignment, const char* what) {
  TRTORCH_CHECK(alignment > 0 && (alignment & (alignment - 1)) == 0, "alignment must be a power of two");
  size_t r;
  TRTORCH_EXPECT(!__builtin_add_overflow(v, alignment - 1, &r), what, ": size computation overflows: ", v,
                 " rounded up to a multiple of ", alignment);
  return r & ~(alignment - 1);
}

std::optional<int64_t> try_numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  bool overflow = false;
  for (int64_t d : shape) overflow |= __builtin_mul_overflow(n, d, &n);
  if (!overflow) return n;
  for (int64_t d : shape)
    if (d == 0) return 0;  // [0, 2^62, 2^62] is empty: the partial product overflowed, not the count
  return std::nullopt;
}

std::optional<int64_t> try_bytes(const std::vector<int64_t>& shape, DType t) {
  auto n = try_numel(shape);
  if (!n) return std::nullopt;
  return try_mul(*n, int64_t(dtype_size(t)));
}

int64_t checked_numel(const std::vector<int64_t>& shape, DType t, const char* what) {
  checked_bytes(shape, t, what);
  return *try_numel(shape);
}

size_t checked_bytes(const std::vector<int64_t>& shape, DType t, const char* what) {
  for (int64_t d : shape) TRTORCH_EXPECT(d >= 0, what, " ", shape_text(shape), " has a negative dimension");
  auto b = try_bytes(shape, t);
  if (!b) TRTORCH_ERROR(too_large_message(what, shape, t));
  return size_t(*b);
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << "]";
  return os.str();
}

std::string too_large_message(const std::string& what, const std::vector<int64_t>& shape, DType t) {
  // The true size as a power of two (the product itself does not fit any integer type).
  double log2_bytes = std::log2(double(dtype_size(t)));
  for (int64_t d : shape) log2_bytes += std::log2(std::fabs(double(d)));
  std::ostringstream size;
  if (std::abs(log2_bytes - std::round(log2_bytes)) < 1e-9) {
    size << "2^" << int64_t(std::round(log2_bytes));
  } else {
    size.precision(3);
    size << "about 2^" << log2_bytes;
  }
  return str_cat(what, " ", shape_text(shape), " of ", dtype_name(t), " is ", size.str(),
                 " bytes, more than a tensor can hold");
}

}  // namespace trtorch::ir
