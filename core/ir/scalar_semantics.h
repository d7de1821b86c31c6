// The scalar meaning of ops that every backend computes element by element, written once and
// compiled for the host (reference backend) and the device (CUDA kernels): a backend applies it
// to values it has loaded (FP16/BF16 widened to FP32), so the backends cannot drift apart.
#pragma once

#include <cmath>

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

// GridSample: the input coordinate (in pixels) of grid value `g` in [-1, 1] along a dim of `size`
// pixels, after the padding mode moved it (border: clamped into [0, size - 1]; reflection:
// reflected at the edges, then clamped; zeros: unchanged, taps outside read 0). As
// torch.nn.functional.grid_sample computes it, in FP32.
TRTORCH_HOST_DEVICE float grid_reflect(float x, float twice_lo, float twice_hi) {
  if (twice_lo == twice_hi) return 0.f;
  const float lo = twice_lo / 2, span = (twice_hi - twice_lo) / 2;
  x = fabsf(x - lo);
  const float extra = fmodf(x, span);
  const int flips = int(floorf(x / span));
  return (flips % 2 == 0) ? extra + lo : span - extra + lo;
}

TRTORCH_HOST_DEVICE float grid_source_coord(float g, int64_t size, GridSamplePadding padding, bool align_corners) {
  const float n = float(size);
  float x = align_corners ? (g + 1.f) / 2.f * (n - 1.f) : ((g + 1.f) * n - 1.f) / 2.f;
  if (padding == GridSamplePadding::kZeros) return x;
  if (padding == GridSamplePadding::kReflection)
    x = align_corners ? grid_reflect(x, 0.f, 2.f * (n - 1.f)) : grid_reflect(x, -1.f, 2.f * n - 1.f);
  return fminf(n - 1.f, fmaxf(x, 0.f));
}

// GridSample: calls tap(row, col, weight) for each input pixel that the point (x, y) (input
// coordinates from grid_source_coord) reads, skipping taps outside the H x W input (they read
// zero). Bilinear: the four neighbours; nearest: the pixel at the coordinates rounded half to
// even (like torch's nearbyint).
template <typename Tap>
TRTORCH_HOST_DEVICE void grid_sample_taps(float x, float y, int64_t H, int64_t W, GridSampleMode mode, Tap&& tap) {
  auto inside = [&](float r, float c) { return r >= 0.f && r <= float(H - 1) && c >= 0.f && c <= float(W - 1); };
  if (mode == GridSampleMode::kNearest) {
    const float r = rintf(y), c = rintf(x);
    if (inside(r, c)) tap(int64_t(r), int64_t(c), 1.f);
    return;
  }
  const float r0 = floorf(y), c0 = floorf(x);
  const float fy = y - r0, fx = x - c0;
  const float wr[2] = {1.f - fy, fy}, wc[2] = {1.f - fx, fx};
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      if (inside(r0 + float(i), c0 + float(j))) tap(int64_t(r0) + i, int64_t(c0) + j, wr[i] * wc[j]);
}

}  // namespace trtorch::ir
