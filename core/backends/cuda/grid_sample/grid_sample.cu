// GridSample: one thread per output point (n, ho, wo) computes its input coordinates once (FP32,
// the arithmetic of core/ir/scalar_semantics.h, shared with the reference backend) and samples
// every channel; neighbouring threads write neighbouring output columns.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/device_math.cuh"
#include "core/backends/cuda/common/kernel.h"
#include "core/ir/scalar_semantics.h"

namespace trtorch::backends::cuda {

namespace {

constexpr int kThreads = 256;

template <typename T>
__global__ void grid_sample_kernel(const T* __restrict__ x, const T* __restrict__ grid, T* __restrict__ y, int64_t N,
                                   int64_t C, int64_t H, int64_t W, int64_t Ho, int64_t Wo, ir::GridSampleAttrs a) {
  const int64_t points = N * Ho * Wo;
  for (int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; p < points;
       p += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = p / (Ho * Wo), hw = p % (Ho * Wo);
    const float sx = ir::grid_source_coord(load_f(grid, 2 * p), W, a.padding, a.align_corners);
    const float sy = ir::grid_source_coord(load_f(grid, 2 * p + 1), H, a.padding, a.align_corners);
    for (int64_t c = 0; c < C; ++c) {
      const T* plane = x + (n * C + c) * H * W;
      float acc = 0.f;
      ir::grid_sample_taps(sx, sy, H, W, a.mode,
                           [&](int64_t r, int64_t col, float wt) { acc += load_f(plane, r * W + col) * wt; });
      y[(n * C + c) * Ho * Wo + hw] = from_f<T>(acc);
    }
  }
}

class GridSampleKernel : public Kernel {
 public:
  explicit GridSampleKernel(const KernelArgs& a) : attrs_(a.node.attr<ir::GridSampleAttrs>()), dtype_(a.inputs[0].dtype) {
    for (const auto& d : a.inputs) TRTORCH_EXPECT(d.layout == Layout::kRowMajor, "GridSample: expects row-major inputs");
    dispatch_float(dtype_, "GridSample", [](auto) {});
    const auto& x = a.inputs[0].shape;
    const auto& g = a.inputs[1].shape;
    TRTORCH_EXPECT(x.size() == 4 && g.size() == 4, "GridSample: expects 4-D input and grid");
    N_ = x[0], C_ = x[1], H_ = x[2], W_ = x[3], Ho_ = g[1], Wo_ = g[2];
  }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    const int64_t points = N_ * Ho_ * Wo_;
    if (points * C_ == 0) return;
    dispatch_float(dtype_, "GridSample", [&](auto t) {
      using T = decltype(t);
      grid_sample_kernel<T><<<grid_for(points), kThreads, 0, s>>>(
          static_cast<const T*>(in[0]), static_cast<const T*>(in[1]), static_cast<T*>(out[0]), N_, C_, H_, W_, Ho_,
          Wo_, attrs_);
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override {
    return str_cat("grid_sample ", attrs_.mode == ir::GridSampleMode::kNearest ? "nearest " : "bilinear ",
                   ir::dtype_name(dtype_), " [", N_, ", ", C_, ", ", H_, ", ", W_, "] -> [", Ho_, ", ", Wo_, "]");
  }

 private:
  ir::GridSampleAttrs attrs_;
  ir::DType dtype_;
  int64_t N_ = 0, C_ = 0, H_ = 0, W_ = 0, Ho_ = 0, Wo_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_GridSample(const KernelArgs& a) { return std::make_unique<GridSampleKernel>(a); }

}  // namespace trtorch::backends::cuda
