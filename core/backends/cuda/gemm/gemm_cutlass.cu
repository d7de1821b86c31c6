// CUTLASS SM90 GEMM + bias + GELU(erf) (see gemm_cutlass.h), one template over the element type
// and the tile/cluster/schedule, instantiated for the configs of kConfigs x {FP16, BF16}.
//
// In CUTLASS's terms this is a TN GEMM: A = X (M x K, row-major, K-major), B = W^T (K x N
// stored as W [N, K] row-major: "column-major B", also K-major), D = Y (M x N, row-major), no C
// operand (ElementC void: no source load). The bias runs along N, i.e. along D's columns, so the
// fusion is LinCombPerColBiasEltAct (a row vector broadcast over M, stride (0, 1, 0)); with a null
// bias pointer the broadcast reads zeros. cutlass::epilogue::thread::GELU is the erf form
// (GELU_taylor is the tanh one). The epilogue computes in FP32:
//   D = GELU(alpha * acc + bias) with alpha = 1, beta = 0, and rounds once to the storage type.
#include <cutlass/cutlass.h>
#include <cutlass/bfloat16.h>
#include <cutlass/half.h>

#include <cute/tensor.hpp>
#include <cutlass/epilogue/collective/collective_builder.hpp>
#include <cutlass/epilogue/fusion/operations.hpp>
#include <cutlass/epilogue/thread/activation.h>
#include <cutlass/gemm/collective/collective_builder.hpp>
#include <cutlass/gemm/device/gemm_universal_adapter.h>
#include <cutlass/gemm/kernel/gemm_universal.hpp>

#include <climits>

#include "core/backends/cuda/common/cutlass_stride.cuh"
#include "core/backends/cuda/gemm/gemm_cutlass.h"
#include "core/util/error.h"

namespace trtorch::backends::cuda::cutlass_gemm {
namespace {

using namespace cute;
using ir::DType;

constexpr int kAlignBytes = 16;  // TMA: 16-byte aligned rows and base pointers

struct Problem {
  const void* x = nullptr;
  const void* w = nullptr;
  const void* bias = nullptr;
  void* y = nullptr;
  int M = 0, N = 0, K = 0;
  int sm_count = 0;
};

template <class Element, class TileShape, class ClusterShape, class MainloopSchedule, class EpilogueSchedule>
struct GeluGemm {
  static constexpr int kAlign = kAlignBytes / int(sizeof(Element));
  using Fusion = cutlass::epilogue::fusion::LinCombPerColBiasEltAct<cutlass::epilogue::thread::GELU, Element, float,
                                                                     Element, Element, float>;
  using CollectiveEpilogue = typename cutlass::epilogue::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, TileShape, ClusterShape,
      cutlass::epilogue::collective::EpilogueTileAuto, float, float, void, cutlass::layout::RowMajor, kAlign, Element,
      cutlass::layout::RowMajor, kAlign, EpilogueSchedule, Fusion>::CollectiveOp;
  using CollectiveMainloop = typename cutlass::gemm::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, Element, cutlass::layout::RowMajor, kAlign, Element,
      cutlass::layout::ColumnMajor, kAlign, float, TileShape, ClusterShape,
      cutlass::gemm::collective::StageCountAutoCarveout<static_cast<int>(
          sizeof(typename CollectiveEpilogue::SharedStorage))>,
      MainloopSchedule>::CollectiveOp;
  using Kernel = cutlass::gemm::kernel::GemmUniversal<Shape<int, int, int, int>, CollectiveMainloop,
                                                      CollectiveEpilogue, cutlass::gemm::PersistentScheduler>;
  using Gemm = cutlass::gemm::device::GemmUniversalAdapter<Kernel>;

  static typename Gemm::Arguments arguments(const Problem& p) {
    typename Gemm::Arguments a{};
    a.mode = cutlass::gemm::GemmUniversalMode::kGemm;
    a.problem_shape = {p.M, p.N, p.K, 1};
    a.mainloop.ptr_A = static_cast<const Element*>(p.x);
    a.mainloop.dA = packed_stride<typename Kernel::StrideA>(p.M, p.K);
    a.mainloop.ptr_B = static_cast<const Element*>(p.w);
    a.mainloop.dB = packed_stride<typename Kernel::StrideB>(p.N, p.K);
    a.epilogue.thread.alpha = 1.0f;
    a.epilogue.thread.beta = 0.0f;
    a.epilogue.thread.bias_ptr = static_cast<const Element*>(p.bias);
    a.epilogue.ptr_C = nullptr;
    a.epilogue.dC = packed_stride<typename Kernel::StrideC>(p.M, p.N);
    a.epilogue.ptr_D = static_cast<Element*>(p.y);
    a.epilogue.dD = packed_stride<typename Kernel::StrideD>(p.M, p.N);
    a.hw_info.sm_count = p.sm_count;
    return a;
  }

  static cutlass::Status can_implement(const Problem& p) { return Gemm::can_implement(arguments(p)); }
  static size_t workspace(const Problem& p) { return Gemm::get_workspace_size(arguments(p)); }
  static cutlass::Status launch(const Problem& p, void* workspace, cudaStream_t stream) {
    Gemm gemm;
    const auto args = arguments(p);
    cutlass::Status s = gemm.initialize(args, workspace, stream);
    return s == cutlass::Status::kSuccess ? gemm.run(stream) : s;
  }
};

// The type-erased entry points of one instantiation.
struct Ops {
  cutlass::Status (*can_implement)(const Problem&);
  size_t (*workspace)(const Problem&);
  cutlass::Status (*launch)(const Problem&, void*, cudaStream_t);
};

template <class G>
constexpr Ops ops_of() {
  return {&G::can_implement, &G::workspace, &G::launch};
}

using Coop = cutlass::gemm::KernelTmaWarpSpecializedCooperative;
using CoopEpi = cutlass::epilogue::TmaWarpSpecializedCooperative;
using Pingpong = cutlass::gemm::KernelTmaWarpSpecializedPingpong;
using PingpongEpi = cutlass::epilogue::TmaWarpSpecialized;

template <class Element>
using Gemm128x128 = GeluGemm<Element, Shape<_128, _128, _64>, Shape<_2, _1, _1>, Coop, CoopEpi>;
template <class Element>
using Gemm128x256 = GeluGemm<Element, Shape<_128, _256, _64>, Shape<_2, _1, _1>, Coop, CoopEpi>;
template <class Element>
using Gemm64x128 = GeluGemm<Element, Shape<_64, _128, _64>, Shape<_1, _1, _1>, Pingpong, PingpongEpi>;
template <class Element>
using Gemm128x128Pingpong = GeluGemm<Element, Shape<_128, _128, _64>, Shape<_2, _1, _1>, Pingpong, PingpongEpi>;

struct ConfigInfo {
  Config config;
  const char* name;
  Ops f16, bf16;
};

const ConfigInfo kConfigs[] = {
    {Config::k128x128x64Coop, "128x128x64_2x1_coop", ops_of<Gemm128x128<cutlass::half_t>>(),
     ops_of<Gemm128x128<cutlass::bfloat16_t>>()},
    {Config::k128x256x64Coop, "128x256x64_2x1_coop", ops_of<Gemm128x256<cutlass::half_t>>(),
     ops_of<Gemm128x256<cutlass::bfloat16_t>>()},
    {Config::k64x128x64Pingpong, "64x128x64_1x1_pingpong", ops_of<Gemm64x128<cutlass::half_t>>(),
     ops_of<Gemm64x128<cutlass::bfloat16_t>>()},
    {Config::k128x128x64Pingpong, "128x128x64_2x1_pingpong", ops_of<Gemm128x128Pingpong<cutlass::half_t>>(),
     ops_of<Gemm128x128Pingpong<cutlass::bfloat16_t>>()},
};
static_assert(sizeof(kConfigs) / sizeof(kConfigs[0]) == size_t(kNumConfigs), "one kConfigs entry per Config");

const ConfigInfo& info(Config c) {
  TRTORCH_CHECK(size_t(c) < size_t(kNumConfigs) && kConfigs[size_t(c)].config == c, "unknown CUTLASS config ",
                int(c));
  return kConfigs[size_t(c)];
}

const Ops& ops(Config c, DType dtype) {
  switch (dtype) {
    case DType::kFloat16: return info(c).f16;
    case DType::kBFloat16: return info(c).bf16;
    default:
      TRTORCH_ERROR("CUTLASS GEMM: dtype ", ir::dtype_name(dtype), " is not supported (float16 and bfloat16 are)");
  }
}

std::string problem_str(Config c, DType dtype, int64_t M, int64_t N, int64_t K) {
  return str_cat("CUTLASS GEMM ", info(c).name, " ", ir::dtype_name(dtype), " M=", M, " N=", N, " K=", K);
}

Problem make_problem(DType dtype, int64_t M, int64_t N, int64_t K, int sm_count) {
  TRTORCH_EXPECT(supported(dtype, M, N, K, kAlignBytes), "CUTLASS GEMM: ", ir::dtype_name(dtype), " M=", M,
                 " N=", N, " K=", K, " is not supported (float16/bfloat16, N and K multiples of 8)");
  TRTORCH_CHECK(sm_count > 0, "SM count ", sm_count);
  Problem p;
  p.M = int(M);
  p.N = int(N);
  p.K = int(K);
  p.sm_count = sm_count;
  return p;
}

void expect_ok(cutlass::Status s, const char* what, Config c, DType dtype, const Problem& p) {
  if (s == cutlass::Status::kSuccess) return;
  const cudaError_t e = cudaGetLastError();  // a failed launch leaves its reason here (and is cleared)
  TRTORCH_ERROR(problem_str(c, dtype, p.M, p.N, p.K), ": ", what, " failed: ", cutlass::cutlassGetStatusString(s),
                e != cudaSuccess ? str_cat(" (CUDA: ", cudaGetErrorString(e), ")") : std::string());
}

}  // namespace

const char* config_name(Config c) { return info(c).name; }

bool config_from_name(const std::string& name, Config* c) {
  for (const ConfigInfo& i : kConfigs)
    if (name == i.name) {
      *c = i.config;
      return true;
    }
  return false;
}

bool supported(DType dtype, int64_t M, int64_t N, int64_t K, size_t align) {
  return (dtype == DType::kFloat16 || dtype == DType::kBFloat16) && M >= 1 && N >= 1 && K >= 1 && M <= INT_MAX &&
         N <= INT_MAX && K <= INT_MAX && N % 8 == 0 && K % 8 == 0 && align % kAlignBytes == 0 && align > 0;
}

size_t workspace_bytes(Config c, DType dtype, int64_t M, int64_t N, int64_t K, int sm_count) {
  return ops(c, dtype).workspace(make_problem(dtype, M, N, K, sm_count));
}

void run(Config c, DType dtype, const void* x, const void* w, const void* bias, void* y, int64_t M, int64_t N,
         int64_t K, void* workspace, size_t workspace_bytes, int sm_count, cudaStream_t stream) {
  const Ops& o = ops(c, dtype);
  Problem p = make_problem(dtype, M, N, K, sm_count);
  p.x = x;
  p.w = w;
  p.bias = bias;
  p.y = y;
  const void* ptrs[] = {x, w, bias, y};
  const char* names[] = {"X", "W", "bias", "Y"};
  for (int i = 0; i < 4; ++i) {
    TRTORCH_EXPECT(ptrs[i] || i == 2, problem_str(c, dtype, M, N, K), ": the ", names[i], " pointer is missing");
    TRTORCH_EXPECT(reinterpret_cast<uintptr_t>(ptrs[i]) % kAlignBytes == 0, problem_str(c, dtype, M, N, K), ": ",
                   names[i], " pointer ", ptrs[i], " is not ", kAlignBytes, "-byte aligned");
  }
  const size_t need = o.workspace(p);
  TRTORCH_EXPECT(workspace_bytes >= need && (need == 0 || workspace), problem_str(c, dtype, M, N, K), ": needs ",
                 need, " bytes of workspace, got ", workspace_bytes);
  expect_ok(o.can_implement(p), "can_implement", c, dtype, p);
  expect_ok(o.launch(p, workspace, stream), "launch", c, dtype, p);
}

}  // namespace trtorch::backends::cuda::cutlass_gemm
