// What qlayer_cutlass_conv.cu and qlayer_cutlass_gemm.cu share (qlayer_cutlass.h): the fusion,
// its arguments, the configs' names and the type-erased entry points. The two are separate
// translation units because CUTLASS's SM90 convolution kernel also matches the GEMM kernel's
// partial specialization when both kernel headers are included.
//
// The fusion is PerColLinCombPerColBiasEltAct with the Clamp activation:
//   D = clamp(alpha[k] * acc + bias[k] + beta * C, lo, hi)
// alpha a device vector along D's columns (the output channels), beta a scalar (0: C is not
// loaded), all in FP32, rounded once to D's type (int8: cvt.rni.sat, round half to even and
// saturating).
#pragma once

#include <cutlass/cutlass.h>
#include <cutlass/half.h>
#include <cutlass/kernel_hardware_info.hpp>

#include <cute/tensor.hpp>
#include <cutlass/epilogue/collective/collective_builder.hpp>
#include <cutlass/epilogue/fusion/operations.hpp>
#include <cutlass/epilogue/thread/activation.h>

#include <cstdint>
#include <string>

#include "core/backends/cuda/common/cutlass_entry.cuh"
#include "core/backends/cuda/quantize/qlayer_cutlass.h"
#include "core/util/error.h"

namespace trtorch::backends::cuda::cutlass_int8::detail {

constexpr int kAlignBytes = 16;  // TMA: 16-byte aligned rows and base pointers

// Indexed by Config.
constexpr const char* kConfigNames[] = {"128x128x128_1x1", "64x128x128_1x1", "128x128x64_1x1",
                                           "128x64x64_1x1"};
static_assert(sizeof(kConfigNames) / sizeof(kConfigNames[0]) == size_t(kNumConfigs), "one name per Config");

// D of type Out, C (the residual) of type Src.
template <class Out, class Src = Out>
using Fusion = cutlass::epilogue::fusion::PerColLinCombPerColBiasEltAct<cutlass::epilogue::thread::Clamp, Out, float,
                                                                         float, Src, float>;

// The fusion arguments of an Epilogue (the member `thread` of CUTLASS's epilogue arguments).
template <class Thread>
void fill_thread(const Epilogue& e, Thread& t) {
  t.alpha = 1.0f;
  t.alpha_ptr = e.alpha;
  t.beta = e.beta;
  t.beta_ptr = nullptr;
  t.bias_ptr = e.bias;
  t.activation.lower_bound = e.lo;
  t.activation.upper_bound = e.hi;
}

inline cutlass::KernelHardwareInfo hw(int device, int sm_count) {
  cutlass::KernelHardwareInfo h;
  h.device_id = device;
  h.sm_count = sm_count;
  return h;
}

// The entry points of one kernel, and how a kernel type K gives them (common/cutlass_entry.cuh).
template <class P>
using Ops = CutlassOps<P>;
template <class K, class P>
constexpr Ops<P> ops_of() {
  return cutlass_ops_of<K, P>();
}

// Indexed by Config: each config's kernels for int8 and FP16 outputs, and (convolutions) for an
// int8 output with an FP16 residual (null for the GEMMs).
template <class P>
struct ConfigOps {
  Ops<P> i8, f16, i8_f16_residual;
};

inline bool aligned(const void* p) { return reinterpret_cast<uintptr_t>(p) % kAlignBytes == 0; }

// The epilogue's part of supported(): int8 or FP16 output, 16-byte output rows of n_out values, a
// residual of the output's type or (where `f16_residual_ok`) FP16 under an int8 output.
inline bool epilogue_ok(const Epilogue& e, int64_t n_out, bool f16_residual_ok) {
  const int64_t out_align = e.out == ir::DType::kInt8 ? 16 : 8;
  const bool residual_ok =
      e.residual_dtype == e.out ||
      (f16_residual_ok && e.out == ir::DType::kInt8 && e.residual_dtype == ir::DType::kFloat16);
  return (e.out == ir::DType::kInt8 || e.out == ir::DType::kFloat16) && n_out % out_align == 0 && residual_ok &&
         e.alpha && e.bias && e.lo <= e.hi;
}

inline const char* name_of(Config c) {
  TRTORCH_CHECK(size_t(c) < size_t(kNumConfigs), "unknown CUTLASS INT8 config ", int(c));
  return kConfigNames[size_t(c)];
}

// run(): checks the problem, the pointers and the workspace, then launches; `what` names the problem.
template <class P>
void run_checked(const Ops<P>& ops, const std::string& what, bool supported, const P& p, void* ws, size_t ws_bytes,
                 int device, int sm_count, cudaStream_t stream) {
  TRTORCH_EXPECT(supported, what, ": not supported");
  TRTORCH_EXPECT(p.epi.beta == 0.0f || p.epi.residual, what, ": a residual scale without a residual");
  TRTORCH_EXPECT(aligned(p.x) && aligned(p.w) && aligned(p.y) && (!p.epi.residual || aligned(p.epi.residual)), what,
                 ": operands must be 16-byte aligned");
  const size_t need = ops.workspace(p, device, sm_count);
  TRTORCH_EXPECT(need <= ws_bytes && (need == 0 || ws), what, ": needs ", need, " bytes of workspace, got ", ws_bytes);
  const cutlass::Status s = ops.launch(p, ws, device, sm_count, stream);
  if (s == cutlass::Status::kSuccess) return;
  const cudaError_t e = cudaGetLastError();  // a failed launch leaves its reason here (and is cleared)
  TRTORCH_ERROR(what, ": launch failed: ", cutlass::cutlassGetStatusString(s),
                e != cudaSuccess ? str_cat(" (CUDA: ", cudaGetErrorString(e), ")") : std::string());
}

}  // namespace trtorch::backends::cuda::cutlass_int8::detail
