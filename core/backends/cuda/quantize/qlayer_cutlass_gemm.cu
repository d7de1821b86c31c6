// CUTLASS SM90 INT8 GEMM (qlayer_cutlass.h). In CUTLASS's terms a TN GEMM: A = x (M x K,
// K-major), B = w^T stored as w [N, K] (K-major), C and D row-major M x N; persistent, cooperative
// for the 128-row tile and ping-pong for the 64-row one, with the fusion of
// qlayer_cutlass_common.cuh. Also the configs' names.
#include "core/backends/cuda/quantize/qlayer_cutlass_common.cuh"

#include "core/backends/cuda/common/cutlass_stride.cuh"

#include <cutlass/gemm/collective/collective_builder.hpp>
#include <cutlass/gemm/device/gemm_universal_adapter.h>
#include <cutlass/gemm/kernel/gemm_universal.hpp>

namespace trtorch::backends::cuda::cutlass_int8 {
namespace {

using namespace cute;
using namespace detail;

template <class Out, class TileShape, class MainloopSchedule, class EpilogueSchedule>
struct Int8Gemm {
  static constexpr int kAlignOut = kAlignBytes / int(sizeof(Out));
  using ClusterShape = Shape<_1, _1, _1>;
  using CollectiveEpilogue = typename cutlass::epilogue::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, TileShape, ClusterShape,
      cutlass::epilogue::collective::EpilogueTileAuto, int32_t, float, Out, cutlass::layout::RowMajor, kAlignOut, Out,
      cutlass::layout::RowMajor, kAlignOut, EpilogueSchedule, Fusion<Out>>::CollectiveOp;
  using CollectiveMainloop = typename cutlass::gemm::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, int8_t, cutlass::layout::RowMajor, kAlignBytes, int8_t,
      cutlass::layout::ColumnMajor, kAlignBytes, int32_t, TileShape, ClusterShape,
      cutlass::gemm::collective::StageCountAutoCarveout<static_cast<int>(
          sizeof(typename CollectiveEpilogue::SharedStorage))>,
      MainloopSchedule>::CollectiveOp;
  using Kernel = cutlass::gemm::kernel::GemmUniversal<Shape<int, int, int, int>, CollectiveMainloop,
                                                      CollectiveEpilogue, cutlass::gemm::PersistentScheduler>;
  using Adapter = cutlass::gemm::device::GemmUniversalAdapter<Kernel>;

  static typename Adapter::Arguments arguments(const GemmProblem& p, int device, int sm_count) {
    typename Adapter::Arguments a{};
    a.mode = cutlass::gemm::GemmUniversalMode::kGemm;
    a.problem_shape = {p.M, p.N, p.K, 1};
    a.mainloop.ptr_A = p.x;
    a.mainloop.dA = packed_stride<typename Kernel::StrideA>(p.M, p.K);
    a.mainloop.ptr_B = p.w;
    a.mainloop.dB = packed_stride<typename Kernel::StrideB>(p.N, p.K);
    fill_thread(p.epi, a.epilogue.thread);
    // C gets a TMA descriptor whether or not it is read: without a residual (beta 0, never read)
    // it names D, since the driver refuses a descriptor at address 0.
    a.epilogue.ptr_C = static_cast<const Out*>(p.epi.residual ? p.epi.residual : p.y);
    a.epilogue.dC = packed_stride<typename Kernel::StrideC>(p.M, p.N);
    a.epilogue.ptr_D = static_cast<Out*>(p.y);
    a.epilogue.dD = packed_stride<typename Kernel::StrideD>(p.M, p.N);
    a.hw_info = hw(device, sm_count);
    return a;
  }
};

template <class Tile, class Mainloop, class Epi>
constexpr ConfigOps<GemmProblem> gemm_ops() {
  return {ops_of<Int8Gemm<int8_t, Tile, Mainloop, Epi>, GemmProblem>(),
          ops_of<Int8Gemm<cutlass::half_t, Tile, Mainloop, Epi>, GemmProblem>(), Ops<GemmProblem>{}};
}

// Indexed by Config.
const ConfigOps<GemmProblem> kGemmOps[] = {
    gemm_ops<Shape<_128, _128, _128>, cutlass::gemm::KernelTmaWarpSpecializedCooperative,
             cutlass::epilogue::TmaWarpSpecializedCooperative>(),
    gemm_ops<Shape<_64, _128, _128>, cutlass::gemm::KernelTmaWarpSpecializedPingpong,
             cutlass::epilogue::TmaWarpSpecialized>(),
    gemm_ops<Shape<_128, _128, _64>, cutlass::gemm::KernelTmaWarpSpecializedCooperative,
             cutlass::epilogue::TmaWarpSpecializedCooperative>(),
    gemm_ops<Shape<_128, _64, _64>, cutlass::gemm::KernelTmaWarpSpecializedCooperative,
             cutlass::epilogue::TmaWarpSpecializedCooperative>()};
static_assert(sizeof(kGemmOps) / sizeof(kGemmOps[0]) == size_t(kNumConfigs), "one kGemmOps entry per Config");

const Ops<GemmProblem>& ops(Config c, const GemmProblem& p) {
  name_of(c);  // checks c
  TRTORCH_CHECK(p.epi.residual_dtype == p.epi.out, "the INT8 GEMMs take a residual of the output's dtype only");
  return p.epi.out == ir::DType::kInt8 ? kGemmOps[size_t(c)].i8 : kGemmOps[size_t(c)].f16;
}

std::string problem_str(Config c, const GemmProblem& p) {
  return str_cat("CUTLASS INT8 GEMM ", name_of(c), " -> ", ir::dtype_name(p.epi.out), " M=", p.M, " N=", p.N,
                 " K=", p.K);
}

}  // namespace

const char* config_name(Config c) { return name_of(c); }

bool config_from_name(const std::string& name, Config* c) {
  for (int i = 0; i < kNumConfigs; ++i)
    if (name == kConfigNames[i]) {
      *c = Config(i);
      return true;
    }
  return false;
}

bool supported(const GemmProblem& p) {
  return p.M >= 1 && p.N >= 1 && p.K >= 16 && p.K % 16 == 0 && epilogue_ok(p.epi, p.N, /*f16_residual_ok=*/false);
}

size_t workspace_bytes(Config c, const GemmProblem& p, int device, int sm_count) {
  return ops(c, p).workspace(p, device, sm_count);
}

bool can_implement(Config c, const GemmProblem& p, int device, int sm_count) {
  return supported(p) && ops(c, p).can_implement(p, device, sm_count);
}

void run(Config c, const GemmProblem& p, void* ws, size_t ws_bytes, int device, int sm_count, cudaStream_t stream) {
  run_checked(ops(c, p), problem_str(c, p), supported(p), p, ws, ws_bytes, device, sm_count, stream);
}

}  // namespace trtorch::backends::cuda::cutlass_int8
