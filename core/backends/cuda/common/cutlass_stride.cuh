// For the CUTLASS 3 GEMMs (gemm/gemm_cutlass.cu, quantize/qlayer_cutlass_gemm.cu): the packed
// stride of a row-major operand. Only CUTLASS translation units include this (it needs CuTe).
#pragma once

#include <cute/tensor.hpp>

#include <cstdint>

namespace trtorch::backends::cuda {

// A packed (ld, 1, batch) stride of a rows x cols matrix.
template <class Stride>
Stride packed_stride(int64_t rows, int64_t cols) {
  static_assert(cute::is_static_v<decltype(cute::get<1>(Stride{}))>, "expected a unit stride along mode 1");
  Stride s{};
  cute::get<0>(s) = cols;
  cute::get<2>(s) = rows * cols;
  return s;
}

}  // namespace trtorch::backends::cuda
