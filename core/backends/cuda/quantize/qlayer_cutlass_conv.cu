// CUTLASS SM90 INT8 convolution (qlayer_cutlass.h): CUTLASS 3's implicit GEMM fprop over NHWC
// activations and KRSC filters (GEMM M = N*OH*OW, N = K), TMA warp-specialized (CUTLASS 4.2 has
// no persistent SM90 convolution), with the fusion of qlayer_cutlass_common.cuh; one template
// over the output type and the tile, instantiated for every Config x {int8, FP16}.
#include "core/backends/cuda/quantize/qlayer_cutlass_common.cuh"

#include <cutlass/conv/collective/collective_builder.hpp>
#include <cutlass/conv/convnd_problem_shape.hpp>
#include <cutlass/conv/device/conv_universal_adapter.hpp>
#include <cutlass/conv/kernel/conv_universal.hpp>

#include <climits>

namespace trtorch::backends::cuda::cutlass_int8 {
namespace {

using namespace cute;
using namespace detail;

// D of type Out, the residual C of type Src.
template <class Out, class TileShape, class Src = Out>
struct Int8Conv {
  static constexpr int kAlignOut = kAlignBytes / int(sizeof(Out));
  static constexpr int kAlignSrc = kAlignBytes / int(sizeof(Src));
  using ClusterShape = Shape<_1, _1, _1>;
  using CollectiveEpilogue = typename cutlass::epilogue::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, TileShape, ClusterShape,
      cutlass::epilogue::collective::EpilogueTileAuto, int32_t, float, Src, cutlass::layout::TensorNHWC, kAlignSrc,
      Out, cutlass::layout::TensorNHWC, kAlignOut, cutlass::epilogue::TmaWarpSpecialized,
      Fusion<Out, Src>>::CollectiveOp;
  using CollectiveMainloop = typename cutlass::conv::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, cutlass::conv::Operator::kFprop, int8_t,
      cutlass::layout::TensorNHWC, kAlignBytes, int8_t, cutlass::layout::TensorNHWC, kAlignBytes, int32_t, TileShape,
      ClusterShape,
      cutlass::conv::collective::StageCountAutoCarveout<static_cast<int>(
          sizeof(typename CollectiveEpilogue::SharedStorage))>,
      cutlass::conv::KernelImplicitTmaWarpSpecializedSm90>::CollectiveOp;
  using ProblemShape = cutlass::conv::ConvProblemShape<CollectiveMainloop::DispatchPolicy::ConvOp,
                                                       CollectiveMainloop::DispatchPolicy::NumSpatialDimensions>;
  using Kernel = cutlass::conv::kernel::ConvUniversal<ProblemShape, CollectiveMainloop, CollectiveEpilogue>;
  using Adapter = cutlass::conv::device::ConvUniversalAdapter<Kernel>;

  static typename Adapter::Arguments arguments(const ConvProblem& p, int device, int sm_count) {
    ProblemShape shape(cutlass::conv::Mode::kCrossCorrelation, {p.N, p.H, p.W, p.C}, {p.K, p.R, p.S, p.C},
                       {p.ph, p.pw}, {p.ph, p.pw}, {p.sh, p.sw}, {p.dh, p.dw}, 1);
    typename Kernel::StrideC dC{};
    typename Kernel::StrideD dD{};
    // D's (q, p, n) strides from the problem's packed NHWC output strides, as CUTLASS's own conv
    // testbed sets them.
    cute::for_each(cute::make_seq<cute::rank<0>(typename Kernel::StrideC{})>{}, [&](auto i) {
      cute::get<0, i>(dC) = shape.stride_C[ProblemShape::RankT - 2 - i];
      cute::get<0, i>(dD) = shape.stride_C[ProblemShape::RankT - 2 - i];
    });
    typename Adapter::Arguments a{shape,
                                  {p.x, p.w},
                                  // C gets a TMA descriptor whether or not it is read: without a
                                  // residual (beta 0, never read) it names D (the driver refuses
                                  // a descriptor at address 0).
                                  {{}, static_cast<const Src*>(p.epi.residual ? p.epi.residual : p.y), dC,
                                   static_cast<Out*>(p.y), dD},
                                  hw(device, sm_count)};
    fill_thread(p.epi, a.epilogue.thread);
    return a;
  }
};

template <class Tile>
constexpr ConfigOps<ConvProblem> conv_ops() {
  return {ops_of<Int8Conv<int8_t, Tile>, ConvProblem>(), ops_of<Int8Conv<cutlass::half_t, Tile>, ConvProblem>(),
          ops_of<Int8Conv<int8_t, Tile, cutlass::half_t>, ConvProblem>()};
}

// Indexed by Config. The K mode of a convolution tile is nested (CUTLASS tiles it over C, S, R).
const ConfigOps<ConvProblem> kConvOps[] = {conv_ops<Shape<_128, _128, Shape<_128>>>(),
                                           conv_ops<Shape<_64, _128, Shape<_128>>>(),
                                           conv_ops<Shape<_128, _128, Shape<_64>>>(),
                                           conv_ops<Shape<_128, _64, Shape<_64>>>()};
static_assert(sizeof(kConvOps) / sizeof(kConvOps[0]) == size_t(kNumConfigs), "one kConvOps entry per Config");

const Ops<ConvProblem>& ops(Config c, const ConvProblem& p) {
  name_of(c);  // checks c
  const ConfigOps<ConvProblem>& o = kConvOps[size_t(c)];
  if (p.epi.out != ir::DType::kInt8) return o.f16;
  return p.epi.residual_dtype == ir::DType::kFloat16 ? o.i8_f16_residual : o.i8;
}

std::string problem_str(Config c, const ConvProblem& p) {
  return str_cat("CUTLASS INT8 conv ", name_of(c), " -> ", ir::dtype_name(p.epi.out), " x=", p.N, "x", p.H, "x", p.W,
                 "x", p.C, " w=", p.K, "x", p.R, "x", p.S, " pad=", p.ph, ",", p.pw, " stride=", p.sh, ",", p.sw,
                 " dilation=", p.dh, ",", p.dw);
}

}  // namespace

bool supported(const ConvProblem& p) {
  // The convolution stride is the im2col TMA descriptor's element stride, at most 8 (CUTLASS's
  // can_implement does not check it). CUTLASS computes the output size itself: it must be the node's.
  const auto out_dim = [](int in, int pad, int dil, int k, int stride) {
    return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1;
  };
  return p.N >= 1 && p.H >= 1 && p.W >= 1 && p.C >= 16 && p.C % 16 == 0 && p.K >= 1 && p.R >= 1 && p.S >= 1 &&
         p.sh >= 1 && p.sh <= 8 && p.sw >= 1 && p.sw <= 8 && p.dh >= 1 && p.dw >= 1 && p.ph >= 0 && p.pw >= 0 &&
         p.OH >= 1 && p.OW >= 1 && p.OH == out_dim(p.H, p.ph, p.dh, p.R, p.sh) &&
         p.OW == out_dim(p.W, p.pw, p.dw, p.S, p.sw) && int64_t(p.N) * p.OH * p.OW <= INT_MAX &&
         int64_t(p.N) * p.H * p.W * p.C <= INT_MAX && epilogue_ok(p.epi, p.K, /*f16_residual_ok=*/true);
}

size_t workspace_bytes(Config c, const ConvProblem& p, int device, int sm_count) {
  return ops(c, p).workspace(p, device, sm_count);
}

bool can_implement(Config c, const ConvProblem& p, int device, int sm_count) {
  return supported(p) && ops(c, p).can_implement(p, device, sm_count);
}

void run(Config c, const ConvProblem& p, void* ws, size_t ws_bytes, int device, int sm_count, cudaStream_t stream) {
  run_checked(ops(c, p), problem_str(c, p), supported(p), p, ws, ws_bytes, device, sm_count, stream);
}

}  // namespace trtorch::backends::cuda::cutlass_int8
