// Vector access helpers shared by the vectorized kernels of several families: the widest vector
// of a type, pointer alignment, loads and stores of V consecutive elements in FP32, and for the
// channels-last (NHWC) kernels (pooling/pooling_nhwc.cu, conv/conv_depthwise.cu) the work-item
// decomposition over [N, OH, Wu, C / V], the vector width a launch can use and a dispatch over it.
// NHWC kernels vectorize over channels: V consecutive channels per thread with one 16-byte access
// (8 x f16/bf16, 4 x f32) where C % V == 0 and the pointers are aligned, else 8/4/2 bytes or
// single elements (chosen at launch).
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <type_traits>

#include "core/backends/cuda/common/device_math.cuh"
#include "core/ir/dtype.h"
#include "core/util/error.h"

namespace trtorch::backends::cuda::vec {

// The widest vector of T: 16 bytes.
template <typename T>
constexpr int kMaxVec = int(16 / sizeof(T));

inline bool aligned_to(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

// ---------------- vector access ----------------
// V consecutive channels as one Vec (device_math.cuh). The launch checks what makes it aligned:
// C % V == 0 and base pointers aligned to V * sizeof(T) (vec_width).
__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T, int V>
__device__ __forceinline__ Vec<T, V> load_pack(const T* p) {
  static_assert(sizeof(T) * V <= 16, "at most 16-byte accesses");
  return *reinterpret_cast<const Vec<T, V>*>(p);
}

template <typename T, int V>
__device__ __forceinline__ void load_vec(const T* p, float (&f)[V]) {
  const Vec<T, V> pk = load_pack<T, V>(p);
#pragma unroll
  for (int i = 0; i < V; ++i) f[i] = to_float(pk.v[i]);
}

template <typename T, int V>
__device__ __forceinline__ void store_vec(T* p, const float (&f)[V]) {
  static_assert(sizeof(T) * V <= 16, "at most 16-byte accesses");
  Vec<T, V> pk;
#pragma unroll
  for (int i = 0; i < V; ++i) pk.v[i] = from_f<T>(f[i]);
  *reinterpret_cast<Vec<T, V>*>(p) = pk;
}

// Work item i of an NHWC kernel over [N, OH, Wu, C / V]: channel groups fastest (coalesced), then
// the width unit (an output column, or a tile of them), the output row and the image.
struct NhwcItem {
  int n, oh, w, c;
};
template <int V>
__device__ __forceinline__ NhwcItem nhwc_item(unsigned i, unsigned CG, unsigned Wu, unsigned OH) {
  NhwcItem it;
  it.c = int(i % CG) * V;
  unsigned r = i / CG;
  it.w = int(r % Wu);
  r /= Wu;
  it.oh = int(r % OH);
  it.n = int(r / OH);
  return it;
}

// A grid of 256-thread blocks for n threads, for grid-stride loops (at most 65535 * 16 blocks).
inline unsigned grid1d(int64_t n) { return unsigned(std::min<int64_t>((n + 255) / 256, 65535 * 16)); }

// The widest vector of channels per thread (16 bytes, else 8, 4, 2 bytes, else one element)
// that C and the pointers' alignment allow.
inline int vec_width(ir::DType dt, int64_t C, std::initializer_list<const void*> ptrs) {
  const int elem = int(ir::dtype_size(dt));
  for (int v = 16 / elem; v > 1; v /= 2) {
    bool ok = C % v == 0;
    for (const void* p : ptrs) ok = ok && reinterpret_cast<uintptr_t>(p) % uintptr_t(v * elem) == 0;
    if (ok) return v;
  }
  return 1;
}

// Calls f(std::integral_constant<int, v>{}) for v in 8 (2-byte types only), 4, 2, 1.
template <typename T, typename F>
void dispatch_vec(int v, F&& f) {
  if constexpr (sizeof(T) <= 2) {
    if (v == 8) {
      f(std::integral_constant<int, 8>{});
      return;
    }
  }
  switch (v) {
    case 4: f(std::integral_constant<int, 4>{}); return;
    case 2: f(std::integral_constant<int, 2>{}); return;
    case 1: f(std::integral_constant<int, 1>{}); return;
  }
  TRTORCH_ERROR("unsupported vector width ", v, " for ", sizeof(T), "-byte elements");
}

inline int ceil_div(int64_t a, int64_t b) { return int((a + b - 1) / b); }

}  // namespace trtorch::backends::cuda::vec
