// Single-precision matrix product of the reference backend: packed panels, a 6x16 register
// micro-kernel (AVX2/FMA where the compiler targets it) and OpenMP over tiles of C.
#pragma once

#include <cstdint>
#include <functional>

namespace trtorch::backends::reference {

// Micro-tile of the kernel: MR rows of A by NR columns of B.
constexpr int64_t kGemmMR = 6;
constexpr int64_t kGemmNR = 16;

// A strided matrix: element (i, j) is data[i * ld + j], or data[j * ld + i] when trans.
struct MatRef {
  const float* data;
  int64_t ld;
  bool trans = false;
  float at(int64_t i, int64_t j) const { return trans ? data[j * ld + i] : data[i * ld + j]; }
};

// Writes rows [k0, k0 + kc) and columns [j0, j0 + nc) of B into `dst` as panels of kGemmNR
// columns: panel p holds columns j0 + p*NR .., laid out [kc][NR], zero past column nc.
// Lets a caller feed B without materializing it (convolution packs from the image directly).
using PackB = std::function<void(int64_t k0, int64_t kc, int64_t j0, int64_t nc, float* dst)>;

// C[M, N] (row stride ldc) = A[M, K] * B[K, N], plus the previous contents of C when accumulate.
// Runs on the OpenMP threads unless called from inside a parallel region.
void sgemm(int64_t M, int64_t N, int64_t K, MatRef A, const PackB& pack_b, float* C, int64_t ldc,
           bool accumulate);
void sgemm(int64_t M, int64_t N, int64_t K, MatRef A, MatRef B, float* C, int64_t ldc, bool accumulate);

// The PackB of a strided matrix.
PackB pack_matrix(MatRef B);

}  // namespace trtorch::backends::reference
