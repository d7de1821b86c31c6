// The CUTLASS FP16/BF16 convolution kernels of conv_cutlass.h: one template over the element
// type, the tile and the activation, and the type-erased entry points of its instantiations.
// conv_cutlass_f16.cu and conv_cutlass_bf16.cu each instantiate one element type (two translation
// units: each takes about a minute to compile); conv_cutlass.cu checks problems and dispatches.
//
// The fusion is LinCombPerColBiasEltAct: D = act(alpha * acc + beta * C + bias[k]) with alpha 1,
// beta 1 with a residual and 0 without (C is then not loaded), the bias along D's columns (the
// output channels), all in FP32 and rounded once to D's type.
#pragma once

#include <cutlass/cutlass.h>

// The kernel templates: only for the translation units that instantiate them.
#ifdef TRTORCH_CUTLASS_CONV_INSTANTIATE
#include <cutlass/bfloat16.h>
#include <cutlass/half.h>
#include <cutlass/kernel_hardware_info.hpp>

#include <cute/tensor.hpp>
#include <cutlass/conv/collective/collective_builder.hpp>
#include <cutlass/conv/convnd_problem_shape.hpp>
#include <cutlass/conv/device/conv_universal_adapter.hpp>
#include <cutlass/conv/kernel/conv_universal.hpp>
#include <cutlass/epilogue/collective/collective_builder.hpp>
#include <cutlass/epilogue/fusion/operations.hpp>
#include <cutlass/epilogue/thread/activation.h>

#include <type_traits>
#endif

#include "core/backends/cuda/common/cutlass_entry.cuh"
#include "core/backends/cuda/conv/conv_cutlass.h"

namespace trtorch::backends::cuda::cutlass_conv::detail {

constexpr int kAlignBytes = 16;  // TMA: 16-byte aligned rows and base pointers

// The entry points of one instantiation (common/cutlass_entry.cuh).
using Ops = CutlassOps<Problem>;

// The implicit GEMM convolution configs come first, then the 1x1 GEMM ones.
constexpr int kNumConvConfigs = int(Config::k1x1Gemm128x128Coop);

// One element type's convolution kernels, indexed [Config][Act].
struct OpsTable {
  Ops ops[kNumConvConfigs][int(Act::kCount)];
};
const OpsTable& f16_ops();   // conv_cutlass_f16.cu
const OpsTable& bf16_ops();  // conv_cutlass_bf16.cu

// Kernel K's entry points: K::Adapter, and K::arguments(problem, device, sm_count).
template <class K>
constexpr Ops ops_of() {
  return cutlass_ops_of<K, Problem>();
}

#ifdef TRTORCH_CUTLASS_CONV_INSTANTIATE
using namespace cute;

template <class Element, class TileShape, template <class> class ActFn>
struct FpConv {
  static constexpr int kAlign = kAlignBytes / int(sizeof(Element));
  using ClusterShape = Shape<_1, _1, _1>;
  using Fusion =
      cutlass::epilogue::fusion::LinCombPerColBiasEltAct<ActFn, Element, float, float, Element, float>;
  using CollectiveEpilogue = typename cutlass::epilogue::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, TileShape, ClusterShape,
      cutlass::epilogue::collective::EpilogueTileAuto, float, float, Element, cutlass::layout::TensorNHWC, kAlign,
      Element, cutlass::layout::TensorNHWC, kAlign, cutlass::epilogue::TmaWarpSpecialized, Fusion>::CollectiveOp;
  using CollectiveMainloop = typename cutlass::conv::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, cutlass::conv::Operator::kFprop, Element,
      cutlass::layout::TensorNHWC, kAlign, Element, cutlass::layout::TensorNHWC, kAlign, float, TileShape,
      ClusterShape,
      cutlass::conv::collective::StageCountAutoCarveout<static_cast<int>(
          sizeof(typename CollectiveEpilogue::SharedStorage))>,
      cutlass::conv::KernelImplicitTmaWarpSpecializedSm90>::CollectiveOp;
  using ProblemShape = cutlass::conv::ConvProblemShape<CollectiveMainloop::DispatchPolicy::ConvOp,
                                                       CollectiveMainloop::DispatchPolicy::NumSpatialDimensions>;
  using Kernel = cutlass::conv::kernel::ConvUniversal<ProblemShape, CollectiveMainloop, CollectiveEpilogue>;
  using Adapter = cutlass::conv::device::ConvUniversalAdapter<Kernel>;

  static typename Adapter::Arguments arguments(const Problem& p, int device, int sm_count) {
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
    cutlass::KernelHardwareInfo hw;
    hw.device_id = device;
    hw.sm_count = sm_count;
    typename Adapter::Arguments a{shape,
                                  {static_cast<const Element*>(p.x), static_cast<const Element*>(p.w)},
                                  // C gets a TMA descriptor whether or not it is read: without a
                                  // residual (beta 0, never read) it names D (the driver refuses
                                  // a descriptor at address 0).
                                  {{}, static_cast<const Element*>(p.residual ? p.residual : p.y), dC,
                                   static_cast<Element*>(p.y), dD},
                                  hw};
    auto& t = a.epilogue.thread;
    t.alpha = 1.0f;
    t.alpha_ptr = nullptr;
    t.beta = p.residual ? 1.0f : 0.0f;
    t.beta_ptr = nullptr;
    t.bias_ptr = p.bias;  // null: the broadcast reads zeros
    if constexpr (std::is_same_v<ActFn<float>, cutlass::epilogue::thread::Clamp<float>>) {
      t.activation.lower_bound = p.lo;
      t.activation.upper_bound = p.hi;
    }
    return a;
  }
};

// Indexed by Act.
template <class Element, class Tile>
struct ActOps {
  static constexpr Ops clamp = ops_of<FpConv<Element, Tile, cutlass::epilogue::thread::Clamp>>();
  static constexpr Ops silu = ops_of<FpConv<Element, Tile, cutlass::epilogue::thread::SiLu>>();
};

// The table of one element type, indexed [Config][Act]; the K mode of a convolution tile is nested
// (CUTLASS tiles it over C, S, R).
template <class Element>
OpsTable make_table() {
  using T128x128 = Shape<_128, _128, Shape<_64>>;
  using T128x64 = Shape<_128, _64, Shape<_64>>;
  using T64x128 = Shape<_64, _128, Shape<_64>>;
  static_assert(kNumConvConfigs == 3 && int(Act::kCount) == 2, "one table entry per Config and Act");
  return OpsTable{{{ActOps<Element, T128x128>::clamp, ActOps<Element, T128x128>::silu},
                   {ActOps<Element, T128x64>::clamp, ActOps<Element, T128x64>::silu},
                   {ActOps<Element, T64x128>::clamp, ActOps<Element, T64x128>::silu}}};
}
#endif  // TRTORCH_CUTLASS_CONV_INSTANTIATE

}  // namespace trtorch::backends::cuda::cutlass_conv::detail
