// The CUTLASS FP16/BF16 1x1 convolutions run as GEMMs (conv_cutlass.h, the k1x1Gemm configs): a
// 1x1 convolution of stride 1 without padding over NHWC is the GEMM
//   Y[N*H*W, K] = X[N*H*W, C] * W[K, C]^T        (the KRSC weights are W [K, C] row-major)
// which CUTLASS's persistent SM90 GEMM kernels (cooperative, ping-pong: one warp group's epilogue
// overlaps the other's main loop) run with the epilogue of conv_cutlass_impl.cuh: D = act(acc +
// beta * C + bias[k]), C the residual [N*H*W, K]. A separate translation unit per element type:
// CUTLASS's SM90 convolution kernel also matches the GEMM kernel's partial specialization when
// both kernel headers are included.
#pragma once

#include "core/backends/cuda/conv/conv_cutlass_impl.cuh"

#ifdef TRTORCH_CUTLASS_CONV_GEMM_INSTANTIATE
#include <cutlass/bfloat16.h>
#include <cutlass/half.h>

#include <cute/tensor.hpp>
#include <cutlass/epilogue/collective/collective_builder.hpp>
#include <cutlass/epilogue/fusion/operations.hpp>
#include <cutlass/epilogue/thread/activation.h>
#include <cutlass/gemm/collective/collective_builder.hpp>
#include <cutlass/gemm/device/gemm_universal_adapter.h>
#include <cutlass/gemm/kernel/gemm_universal.hpp>

#include <type_traits>

#include "core/backends/cuda/common/cutlass_stride.cuh"
#endif

namespace trtorch::backends::cuda::cutlass_conv::detail {

constexpr int kFirstGemmConfig = kNumConvConfigs;
constexpr int kNumGemmConfigs = kNumConfigs - kFirstGemmConfig;

// One element type's GEMM kernels, indexed [Config - kFirstGemmConfig][Act].
struct GemmOpsTable {
  Ops ops[kNumGemmConfigs][int(Act::kCount)];
};
const GemmOpsTable& f16_gemm_ops();   // conv_cutlass_gemm_f16.cu
const GemmOpsTable& bf16_gemm_ops();  // conv_cutlass_gemm_bf16.cu

#ifdef TRTORCH_CUTLASS_CONV_GEMM_INSTANTIATE
using namespace cute;

template <class Element, class TileShape, class ClusterShape, class MainloopSchedule, class EpilogueSchedule,
          template <class> class ActFn>
struct Conv1x1Gemm {
  static constexpr int kAlign = kAlignBytes / int(sizeof(Element));
  using Fusion =
      cutlass::epilogue::fusion::LinCombPerColBiasEltAct<ActFn, Element, float, float, Element, float>;
  using CollectiveEpilogue = typename cutlass::epilogue::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, TileShape, ClusterShape,
      cutlass::epilogue::collective::EpilogueTileAuto, float, float, Element, cutlass::layout::RowMajor, kAlign,
      Element, cutlass::layout::RowMajor, kAlign, EpilogueSchedule, Fusion>::CollectiveOp;
  using CollectiveMainloop = typename cutlass::gemm::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, Element, cutlass::layout::RowMajor, kAlign, Element,
      cutlass::layout::ColumnMajor, kAlign, float, TileShape, ClusterShape,
      cutlass::gemm::collective::StageCountAutoCarveout<static_cast<int>(
          sizeof(typename CollectiveEpilogue::SharedStorage))>,
      MainloopSchedule>::CollectiveOp;
  using Kernel = cutlass::gemm::kernel::GemmUniversal<Shape<int, int, int, int>, CollectiveMainloop,
                                                      CollectiveEpilogue, cutlass::gemm::PersistentScheduler>;
  using Adapter = cutlass::gemm::device::GemmUniversalAdapter<Kernel>;

  static typename Adapter::Arguments arguments(const Problem& p, int device, int sm_count) {
    const int M = p.N * p.H * p.W, N = p.K, K = p.C;  // supported() keeps M within int
    typename Adapter::Arguments a{};
    a.mode = cutlass::gemm::GemmUniversalMode::kGemm;
    a.problem_shape = {M, N, K, 1};
    a.mainloop.ptr_A = static_cast<const Element*>(p.x);
    a.mainloop.dA = packed_stride<typename Kernel::StrideA>(M, K);
    a.mainloop.ptr_B = static_cast<const Element*>(p.w);
    a.mainloop.dB = packed_stride<typename Kernel::StrideB>(N, K);
    auto& t = a.epilogue.thread;
    t.alpha = 1.0f;
    t.beta = p.residual ? 1.0f : 0.0f;
    t.bias_ptr = p.bias;  // null: the broadcast reads zeros
    if constexpr (std::is_same_v<ActFn<float>, cutlass::epilogue::thread::Clamp<float>>) {
      t.activation.lower_bound = p.lo;
      t.activation.upper_bound = p.hi;
    }
    // C gets a TMA descriptor whether or not it is read: without a residual (beta 0) it names D.
    a.epilogue.ptr_C = static_cast<const Element*>(p.residual ? p.residual : p.y);
    a.epilogue.dC = packed_stride<typename Kernel::StrideC>(M, N);
    a.epilogue.ptr_D = static_cast<Element*>(p.y);
    a.epilogue.dD = packed_stride<typename Kernel::StrideD>(M, N);
    a.hw_info.device_id = device;
    a.hw_info.sm_count = sm_count;
    return a;
  }
};

using Coop = cutlass::gemm::KernelTmaWarpSpecializedCooperative;
using CoopEpi = cutlass::epilogue::TmaWarpSpecializedCooperative;
using Pingpong = cutlass::gemm::KernelTmaWarpSpecializedPingpong;
using PingpongEpi = cutlass::epilogue::TmaWarpSpecialized;

template <class Element, class Tile, class Cluster, class Main, class Epi>
struct GemmActOps {
  static constexpr Ops clamp =
      ops_of<Conv1x1Gemm<Element, Tile, Cluster, Main, Epi, cutlass::epilogue::thread::Clamp>>();
  static constexpr Ops silu = ops_of<Conv1x1Gemm<Element, Tile, Cluster, Main, Epi, cutlass::epilogue::thread::SiLu>>();
};

// Indexed [Config - kFirstGemmConfig][Act].
template <class Element>
GemmOpsTable make_gemm_table() {
  using C128x128 = GemmActOps<Element, Shape<_128, _128, _64>, Shape<_2, _1, _1>, Coop, CoopEpi>;
  using C128x256 = GemmActOps<Element, Shape<_128, _256, _64>, Shape<_2, _1, _1>, Coop, CoopEpi>;
  using P64x128 = GemmActOps<Element, Shape<_64, _128, _64>, Shape<_1, _1, _1>, Pingpong, PingpongEpi>;
  using P128x128 = GemmActOps<Element, Shape<_128, _128, _64>, Shape<_2, _1, _1>, Pingpong, PingpongEpi>;
  static_assert(kNumGemmConfigs == 4 && int(Act::kCount) == 2, "one table entry per GEMM Config and Act");
  return GemmOpsTable{{{C128x128::clamp, C128x128::silu},
                       {C128x256::clamp, C128x256::silu},
                       {P64x128::clamp, P64x128::silu},
                       {P128x128::clamp, P128x128::silu}}};
}
#endif  // TRTORCH_CUTLASS_CONV_GEMM_INSTANTIATE

}  // namespace trtorch::backends::cuda::cutlass_conv::detail
