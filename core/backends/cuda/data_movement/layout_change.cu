// The NCHW <-> NHWC layout change of a 4-D activation, placed by the executor at the engine's
// edges. Two kernels:
//   * few channels (C <= 8, e.g. an image's 3), NCHW -> NHWC: a thread per pixel reads its C
//     planes (coalesced across the warp) and writes the pixel's channels as one vector; the
//     output may carry zero channels past C (padded_channels), which lets the first
//     convolution run on tensor cores (cuDNN's NHWC FP16 kernels want C % 4 == 0);
//   * otherwise a batched, shared-memory tiled 2-D transpose.
#include "core/backends/cuda/common/bytewise.cuh"
#include "core/backends/cuda/common/context.h"
#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/kernel.h"
#include "core/util/error.h"

namespace trtorch::backends::cuda {

namespace {

using bytewise::dispatch_size;

constexpr int kMaxSmallChannels = 8;

// in [N, C, HW] -> out [N, HW, CP] with out[.., c] = 0 for C <= c < CP. W is a word of the
// element's size; the CP words of a pixel are written as whole 16-, 8- or 4-byte stores when
// CP * sizeof(W) allows it.
template <typename W, int CP>
__global__ void small_c_to_nhwc_kernel(const W* __restrict__ in, W* __restrict__ out, int N, int C, int HW) {
  const int64_t pixels = int64_t(N) * HW;
  for (int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; p < pixels; p += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = p / HW, hw = p - n * HW;
    union {
      W w[CP];
      uint8_t bytes[CP * sizeof(W)];
    } px;
#pragma unroll
    for (int c = 0; c < CP; ++c) px.w[c] = c < C ? in[(n * C + c) * HW + hw] : W(0);
    W* dst = out + p * CP;
    constexpr int kBytes = CP * int(sizeof(W));
    if constexpr (kBytes == 16) {
      *reinterpret_cast<uint4*>(dst) = *reinterpret_cast<const uint4*>(px.bytes);
    } else if constexpr (kBytes == 8) {
      *reinterpret_cast<uint2*>(dst) = *reinterpret_cast<const uint2*>(px.bytes);
    } else if constexpr (kBytes == 4) {
      *reinterpret_cast<uint32_t*>(dst) = *reinterpret_cast<const uint32_t*>(px.bytes);
    } else {
#pragma unroll
      for (int c = 0; c < CP; ++c) dst[c] = px.w[c];
    }
  }
}

class SmallChannelLayoutKernel : public Kernel {
 public:
  SmallChannelLayoutKernel(const TensorDesc& from, int64_t out_channels)
      : elem_(ir::dtype_size(from.dtype)),
        N_(int(from.shape[0])),
        C_(int(from.shape[1])),
        HW_(int(from.shape[2] * from.shape[3])),
        CP_(int(out_channels)) {}
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    const int64_t pixels = int64_t(N_) * HW_;
    if (pixels == 0) return;
    // A vector store needs the pixel's bytes aligned: the arena's offsets are 256-byte aligned
    // and CP * elem is a power of two whenever a vector store is used.
    const unsigned grid = unsigned(std::min<int64_t>((pixels + 255) / 256, 65535 * 16));
    bool launched = false;
    auto go = [&](auto w, auto cp) {
      using Wd = decltype(w);
      constexpr int CP = decltype(cp)::value;
      if (launched || CP != CP_ || sizeof(Wd) != elem_) return;
      small_c_to_nhwc_kernel<Wd, CP>
          <<<grid, 256, 0, s>>>(static_cast<const Wd*>(in[0]), static_cast<Wd*>(out[0]), N_, C_, HW_);
      launched = true;
    };
    auto per_cp = [&](auto w) {
      go(w, std::integral_constant<int, 1>{});
      go(w, std::integral_constant<int, 2>{});
      go(w, std::integral_constant<int, 3>{});
      go(w, std::integral_constant<int, 4>{});
      go(w, std::integral_constant<int, 5>{});
      go(w, std::integral_constant<int, 6>{});
      go(w, std::integral_constant<int, 7>{});
      go(w, std::integral_constant<int, 8>{});
    };
    per_cp(uint8_t{});
    per_cp(uint16_t{});
    per_cp(uint32_t{});
    per_cp(uint64_t{});
    TRTORCH_CHECK(launched, "layout change: no kernel for ", CP_, " channels of ", elem_, "-byte elements");
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    return CP_ == C_ ? str_cat("layout NCHW -> NHWC (C=", C_, ", per pixel)")
                     : str_cat("layout NCHW -> NHWC (C=", C_, " padded to ", CP_, ", per pixel)");
  }

 private:
  size_t elem_;
  int N_, C_, HW_, CP_;
};

// ---------------- batched transpose: in [B, R, C] -> out [B, C, R] ----------------
constexpr int kTile = 32;

template <typename W>
__global__ void transpose_kernel(const W* __restrict__ in, W* __restrict__ out, int R, int C) {
  __shared__ W tile[kTile][kTile + 1];
  const int b = blockIdx.z;
  const int r0 = blockIdx.y * kTile, c0 = blockIdx.x * kTile;
  const W* src = in + size_t(b) * R * C;
  W* dst = out + size_t(b) * R * C;
  for (int i = threadIdx.y; i < kTile; i += blockDim.y) {
    int r = r0 + i, c = c0 + threadIdx.x;
    if (r < R && c < C) tile[i][threadIdx.x] = src[size_t(r) * C + c];
  }
  __syncthreads();
  for (int i = threadIdx.y; i < kTile; i += blockDim.y) {
    int c = c0 + i, r = r0 + threadIdx.x;
    if (r < R && c < C) dst[size_t(c) * R + r] = tile[threadIdx.x][i];
  }
}

class TransposeLayoutKernel : public Kernel {
 public:
  TransposeLayoutKernel(const TensorDesc& from, Layout to) : elem_(ir::dtype_size(from.dtype)), to_(to) {
    const auto& s = from.shape;  // N, C, H, W
    B_ = int(s[0]);
    const int C = int(s[1]), HW = int(s[2] * s[3]);
    // NCHW -> NHWC: [N, C, HW] -> [N, HW, C]; NHWC -> NCHW: [N, HW, C] -> [N, C, HW].
    R_ = to == Layout::kNHWC ? C : HW;
    C_ = to == Layout::kNHWC ? HW : C;
  }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    if (R_ == 0 || C_ == 0 || B_ == 0) return;
    dim3 grid(unsigned((C_ + kTile - 1) / kTile), unsigned((R_ + kTile - 1) / kTile), unsigned(B_));
    dim3 block(kTile, 8);
    dispatch_size(elem_, [&](auto w) {
      using W = decltype(w);
      transpose_kernel<W><<<grid, block, 0, s>>>(static_cast<const W*>(in[0]), static_cast<W*>(out[0]), R_, C_);
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    return to_ == Layout::kNHWC ? "layout NCHW -> NHWC (tiled transpose)" : "layout NHWC -> NCHW (tiled transpose)";
  }

 private:
  size_t elem_;
  Layout to_;
  int B_ = 0, R_ = 0, C_ = 0;
};

// NCHW <-> NHWC of a 4-D tensor as a batched tiled transpose.
std::unique_ptr<Kernel> make_nhwc_layout_change(const TensorDesc& from, Layout to) {
  return std::make_unique<TransposeLayoutKernel>(from, to);
}

}  // namespace

std::unique_ptr<Kernel> make_layout_change(const TensorDesc& from, Layout to, int64_t padded_channels) {
  TRTORCH_CHECK(from.shape.size() == 4 && from.layout != to, "layout change of a non-4-D tensor");
  const int64_t C = from.shape[1];
  TRTORCH_CHECK(padded_channels == 0 || (to == Layout::kNHWC && padded_channels >= C),
                "layout change: channel padding (", padded_channels, ") only widens an NCHW -> NHWC change of ", C,
                " channels");
  const int64_t out_c = padded_channels > 0 ? padded_channels : C;
  const bool fits = from.numel() < (int64_t(1) << 31) && from.shape[0] * out_c * from.shape[2] * from.shape[3] <
                                                             (int64_t(1) << 31);
  if (to == Layout::kNHWC && out_c <= kMaxSmallChannels && fits)
    return std::make_unique<SmallChannelLayoutKernel>(from, out_c);
  TRTORCH_CHECK(out_c == C, "layout change: padding ", C, " to ", out_c, " channels needs at most ",
                kMaxSmallChannels, " channels and fewer than 2^31 elements");
  return make_nhwc_layout_change(from, to);
}

}  // namespace trtorch::backends::cuda
