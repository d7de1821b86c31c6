// The CUTLASS FP16/BF16 convolutions (conv_cutlass.h): problem checks, names and dispatch to the
// instantiations of conv_cutlass_f16.cu and conv_cutlass_bf16.cu.
#include "core/backends/cuda/conv/conv_cutlass_gemm_impl.cuh"

#include <climits>
#include <cmath>
#include <limits>

#include "core/util/error.h"

namespace trtorch::backends::cuda::cutlass_conv {
namespace {

using detail::kAlignBytes;
using detail::Ops;
using ir::DType;

// Indexed by Config.
constexpr const char* kConfigNames[] = {"128x128x64_1x1",           "128x64x64_1x1",
                                        "64x128x64_1x1",            "gemm_128x128x64_2x1_coop",
                                        "gemm_128x256x64_2x1_coop", "gemm_64x128x64_1x1_pingpong",
                                        "gemm_128x128x64_2x1_pingpong"};
static_assert(sizeof(kConfigNames) / sizeof(kConfigNames[0]) == size_t(kNumConfigs), "one name per Config");

const Ops& ops(Config c, const Problem& p) {
  TRTORCH_CHECK(size_t(c) < size_t(kNumConfigs), "unknown CUTLASS convolution config ", int(c));
  TRTORCH_CHECK(size_t(p.act) < size_t(Act::kCount), "unknown CUTLASS convolution activation ", int(p.act));
  TRTORCH_CHECK(p.dtype == DType::kFloat16 || p.dtype == DType::kBFloat16, "CUTLASS convolution: dtype ",
                ir::dtype_name(p.dtype), " is not float16 or bfloat16");
  if (int(c) >= detail::kFirstGemmConfig) {
    const detail::GemmOpsTable& t = p.dtype == DType::kFloat16 ? detail::f16_gemm_ops() : detail::bf16_gemm_ops();
    return t.ops[size_t(c) - size_t(detail::kFirstGemmConfig)][size_t(p.act)];
  }
  const detail::OpsTable& t = p.dtype == DType::kFloat16 ? detail::f16_ops() : detail::bf16_ops();
  return t.ops[size_t(c)][size_t(p.act)];
}

// Whether config `c` can take the problem's geometry: the GEMM configs only 1x1 convolutions of
// stride 1 without padding (dilation does not matter for a 1x1 filter).
bool geometry_fits(Config c, const Problem& p) {
  if (int(c) < detail::kFirstGemmConfig) return true;
  return p.R == 1 && p.S == 1 && p.sh == 1 && p.sw == 1 && p.ph == 0 && p.pw == 0;
}

bool aligned(const void* p) { return reinterpret_cast<uintptr_t>(p) % kAlignBytes == 0; }

}  // namespace

const char* config_name(Config c) {
  TRTORCH_CHECK(size_t(c) < size_t(kNumConfigs), "unknown CUTLASS convolution config ", int(c));
  return kConfigNames[size_t(c)];
}

bool config_from_name(const std::string& name, Config* c) {
  for (int i = 0; i < kNumConfigs; ++i)
    if (name == kConfigNames[i]) {
      *c = Config(i);
      return true;
    }
  return false;
}

bool epilogue_act(bool has_act, ir::UnaryKind act, float alpha, float beta, Act* out, float* lo, float* hi) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  *out = Act::kClamp;
  *lo = -kInf;
  *hi = kInf;
  if (!has_act) return true;
  switch (act) {
    case ir::UnaryKind::kRelu: *lo = 0.0f; return true;
    case ir::UnaryKind::kClamp:  // NaN bounds would not clamp as torch.clamp does
      if (std::isnan(alpha) || std::isnan(beta)) return false;
      *lo = alpha;
      *hi = beta;
      return true;
    case ir::UnaryKind::kSilu: *out = Act::kSilu; return true;
    default: return false;
  }
}

bool supported(const Problem& p) {
  // The convolution stride is the im2col TMA descriptor's element stride, at most 8 (CUTLASS's
  // can_implement does not check it). CUTLASS computes the output size itself: it must be the node's.
  const auto out_dim = [](int64_t in, int64_t pad, int64_t dil, int64_t k, int64_t stride) {
    return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1;
  };
  const int64_t align = kAlignBytes / int64_t(ir::dtype_size(p.dtype));
  return (p.dtype == DType::kFloat16 || p.dtype == DType::kBFloat16) && size_t(p.act) < size_t(Act::kCount) &&
         (p.act != Act::kClamp || p.lo <= p.hi) && p.N >= 1 && p.H >= 1 && p.W >= 1 && p.C >= align &&
         p.C % align == 0 && p.K >= align && p.K % align == 0 && p.R >= 1 && p.S >= 1 && p.sh >= 1 && p.sh <= 8 &&
         p.sw >= 1 && p.sw <= 8 && p.dh >= 1 && p.dw >= 1 && p.ph >= 0 && p.pw >= 0 && p.OH >= 1 && p.OW >= 1 &&
         p.OH == out_dim(p.H, p.ph, p.dh, p.R, p.sh) && p.OW == out_dim(p.W, p.pw, p.dw, p.S, p.sw) &&
         int64_t(p.N) * p.OH * p.OW * p.K <= INT_MAX && int64_t(p.N) * p.H * p.W * p.C <= INT_MAX &&
         int64_t(p.K) * p.R * p.S * p.C <= INT_MAX;
}

bool can_implement(Config c, const Problem& p, int device, int sm_count) {
  return supported(p) && geometry_fits(c, p) && ops(c, p).can_implement(p, device, sm_count);
}

size_t workspace_bytes(Config c, const Problem& p, int device, int sm_count) {
  return ops(c, p).workspace(p, device, sm_count);
}

std::string problem_str(Config c, const Problem& p) {
  const char* act = p.act == Act::kSilu ? "silu" : "clamp";
  return str_cat("CUTLASS conv ", config_name(c), " ", ir::dtype_name(p.dtype), " x=", p.N, "x", p.H, "x", p.W, "x",
                 p.C, " w=", p.K, "x", p.R, "x", p.S, " pad=", p.ph, ",", p.pw, " stride=", p.sh, ",", p.sw,
                 " dilation=", p.dh, ",", p.dw, p.bias ? " +bias" : "", p.residual ? " +residual" : "", " ", act,
                 p.act == Act::kClamp ? str_cat("[", p.lo, ",", p.hi, "]") : std::string());
}

void run(Config c, const Problem& p, void* ws, size_t ws_bytes, int device, int sm_count, cudaStream_t stream) {
  // problem_str() only on an error: this runs at every eager launch.
  TRTORCH_EXPECT(supported(p) && geometry_fits(c, p), problem_str(c, p), ": not supported");
  TRTORCH_EXPECT(p.x && p.w && p.y, problem_str(c, p), ": a pointer is missing");
  TRTORCH_EXPECT(aligned(p.x) && aligned(p.w) && aligned(p.y) && aligned(p.bias) && aligned(p.residual),
                 problem_str(c, p), ": operands must be 16-byte aligned");
  const Ops& o = ops(c, p);
  const size_t need = o.workspace(p, device, sm_count);
  TRTORCH_EXPECT(need <= ws_bytes && (need == 0 || ws), problem_str(c, p), ": needs ", need,
                 " bytes of workspace, got ", ws_bytes);
  const cutlass::Status s = o.launch(p, ws, device, sm_count, stream);
  if (s == cutlass::Status::kSuccess) return;
  const cudaError_t e = cudaGetLastError();  // a failed launch leaves its reason here (and is cleared)
  TRTORCH_ERROR(problem_str(c, p), ": launch failed: ", cutlass::cutlassGetStatusString(s),
                e != cudaSuccess ? str_cat(" (CUDA: ", cudaGetErrorString(e), ")") : std::string());
}

}  // namespace trtorch::backends::cuda::cutlass_conv
