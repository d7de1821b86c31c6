// GridSample: bilinear or nearest sampling of a 4-D input at the grid's points, in FP32 (the
// coordinate and tap arithmetic of core/ir/scalar_semantics.h, which the CUDA kernel shares).
#include "core/backends/reference/kernels.h"
#include "core/ir/scalar_semantics.h"

namespace trtorch::backends::reference {

using ir::HostTensor;

void eval_GridSample(const ir::GridSampleAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  const auto& xs = in[0].shape;
  const auto& gs = in[1].shape;
  TRTORCH_EXPECT(xs.size() == 4 && gs.size() == 4 && gs[3] == 2 && gs[0] == xs[0], "GridSample: bad shapes");
  allocate(out[0]);
  const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3], Ho = gs[1], Wo = gs[2];
  FloatIn x("GridSample", "input", in[0]), grid("GridSample", "grid", in[1]);
  FloatOut y(out[0]);
  const float* xp = x.data();
  const float* gp = grid.data();
  float* yp = y.data();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t h = 0; h < Ho; ++h)
      for (int64_t w = 0; w < Wo; ++w) {
        const float* g = gp + ((n * Ho + h) * Wo + w) * 2;
        const float sx = ir::grid_source_coord(g[0], W, a.padding, a.align_corners);
        const float sy = ir::grid_source_coord(g[1], H, a.padding, a.align_corners);
        for (int64_t c = 0; c < C; ++c) {
          const float* plane = xp + (n * C + c) * H * W;
          float acc = 0.f;
          ir::grid_sample_taps(sx, sy, H, W, a.mode,
                               [&](int64_t r, int64_t col, float wt) { acc += plane[r * W + col] * wt; });
          yp[((n * C + c) * Ho + h) * Wo + w] = acc;
        }
      }
  y.commit();
}

}  // namespace trtorch::backends::reference
