// Division of 32-bit indices by a divisor fixed on the host: a multiply-high, an add and a shift
// instead of the ~20-instruction integer division, for the index arithmetic of elementwise
// kernels. Valid for divisors in [1, 2^31] and dividends in [0, 2^31).
//
// With s = ceil(log2(d)) and m = floor(2^32 * (2^s - d) / d) + 1 (which fits 32 bits),
// n / d == (umulhi(n, m) + n) >> s for every n < 2^31 (Granlund & Montgomery, "Division by
// invariant integers using multiplication", 1994). umulhi(n, m) <= n, so the sum stays below 2^32.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace trtorch::backends::cuda {

struct IntDivider {
  uint32_t divisor = 1;
  uint32_t magic = 1;
  uint32_t shift = 0;

  IntDivider() = default;
  // d in [1, 2^31] (checked by the caller).
  __host__ explicit IntDivider(uint32_t d) : divisor(d) {
    shift = 0;
    while ((uint64_t(1) << shift) < d) ++shift;
    magic = uint32_t(((uint64_t(1) << 32) * ((uint64_t(1) << shift) - d)) / d + 1);
  }

  __host__ __device__ __forceinline__ uint32_t div(uint32_t n) const {
#ifdef __CUDA_ARCH__
    const uint32_t t = __umulhi(n, magic);
#else
    const uint32_t t = uint32_t((uint64_t(n) * magic) >> 32);
#endif
    return (t + n) >> shift;
  }
  // Quotient, and the remainder in `rem`.
  __host__ __device__ __forceinline__ uint32_t divmod(uint32_t n, uint32_t& rem) const {
    const uint32_t q = div(n);
    rem = n - q * divisor;
    return q;
  }
};

}  // namespace trtorch::backends::cuda
