// The scalar meaning of ops that every backend computes element by element, written once and
// compiled for the host (reference backend) and the device (CUDA kernels): a backend applies it
// to values it has loaded (FP16/BF16 widened to FP32), so the backends cannot drift apart.
#pragma once

#include "core/ir/attrs.h"

#if defined(__CUDACC__)
#define TRTORCH_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define TRTORCH_HOST_DEVICE inline
#endif

namespace trtorch::ir {

// Compare: a comparison of a and b, or a logical connective of their truth values (non-zero is
// true). An unknown kind gives false; callers reject it before computing (with an error naming
// the kind).
template <typename V>
TRTORCH_HOST_DEVICE bool compare_values(CompareKind k, V a, V b) {
  switch (k) {
    case CompareKind::kEq: return a == b;
    case CompareKind::kNe: return a != b;
    case CompareKind::kLt: return a < b;
    case CompareKind::kLe: return a <= b;
    case CompareKind::kGt: return a > b;
    case CompareKind::kGe: return a >= b;
    case CompareKind::kAnd: return a != V(0) && b != V(0);
    case CompareKind::kOr: return a != V(0) || b != V(0);
    case CompareKind::kXor: return (a != V(0)) != (b != V(0));
    default: return false;
  }
}

}  // namespace trtorch::ir
