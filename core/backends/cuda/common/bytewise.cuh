// What the byte-wise kernels (data_movement/, Where in compare/) share: element types by size,
// so that one kernel serves every dtype, and the Dims8 shapes and broadcast strides of their
// 64-bit index fallbacks.
#pragma once

#include <cstdint>
#include <vector>

#include <cuda_runtime.h>

#include "core/backends/cuda/common/device_math.cuh"
#include "core/backends/cuda/common/kernel.h"
#include "core/util/error.h"

namespace trtorch::backends::cuda::bytewise {

// Element types by size, so one kernel serves every dtype.
template <int Bytes>
struct Word;
template <>
struct Word<1> {
  using type = uint8_t;
};
template <>
struct Word<2> {
  using type = uint16_t;
};
template <>
struct Word<4> {
  using type = uint32_t;
};
template <>
struct Word<8> {
  using type = uint64_t;
};
template <>
struct Word<16> {
  using type = uint4;
};

template <typename F>
inline void dispatch_size(size_t bytes, F&& f) {
  switch (bytes) {
    case 1: f(Word<1>::type{}); return;
    case 2: f(Word<2>::type{}); return;
    case 4: f(Word<4>::type{}); return;
    case 8: f(Word<8>::type{}); return;
    case 16: f(Word<16>::type{}); return;
  }
  TRTORCH_ERROR("unsupported element size ", bytes);
}

// Element strides of `in` along the dims of `out` (numpy broadcasting, stride 0 on size-1 dims).
inline Dims8 broadcast_strides(const std::vector<int64_t>& in, const std::vector<int64_t>& out) {
  TRTORCH_EXPECT(in.size() <= out.size() && out.size() <= size_t(kMaxDims), "a broadcast from rank ", in.size(),
                 " to rank ", out.size(), " exceeds the ", kMaxDims, " dims the CUDA broadcast kernels index");
  auto st = contiguous_strides(in);
  Dims8 r;
  const size_t off = out.size() - in.size();
  for (size_t d = off; d < out.size(); ++d) r.v[d] = in[d - off] == 1 ? 0 : st[d - off];
  return r;
}

inline Dims8 dims_of(const std::vector<int64_t>& s) {
  TRTORCH_EXPECT(s.size() <= size_t(kMaxDims), "a shape of rank ", s.size(), " exceeds the ", kMaxDims,
                 " dims the CUDA broadcast kernels index");
  Dims8 r;
  for (size_t d = 0; d < s.size(); ++d) r.v[d] = s[d];
  return r;
}

inline void expect_row_major(const KernelArgs& a, const char* op) {
  for (const auto& d : a.inputs) TRTORCH_EXPECT(d.layout == Layout::kRowMajor, op, ": expects row-major inputs");
  TRTORCH_EXPECT(a.outputs[0].shape.size() <= size_t(kMaxDims), op, ": rank ", a.outputs[0].shape.size(),
                 " exceeds ", kMaxDims);
}

}  // namespace trtorch::backends::cuda::bytewise
