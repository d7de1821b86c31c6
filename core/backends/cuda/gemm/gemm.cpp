// Linear and MatMul on cuBLASLt, and Linear + bias + GELU(erf) on CUTLASS.
//
// Both ops become one cuBLASLt matmul, written in cuBLASLt's column-major terms: a row-major
// [r, c] matrix is a column-major [c, r] one, so the row-major product Y[M, N] = X[M, K] * B[K, N]
// is computed as Y^T (column-major N x M) = B^T (N x K) * X^T (K x M).
//   * Linear: Y = X * W^T with W row-major [N, K] (column-major K x N, used transposed). Leading
//     dims of X fold into M. The bias (a vector over N, the rows of cuBLASLt's D) and a ReLU or
//     tanh-GELU go into cuBLASLt's epilogue when it has one; any other activation (and a bias that
//     cuBLASLt could not take) runs afterwards in gemm_epilogue.cu. A Linear with the erf GELU
//     (FP16/BF16, N and K multiples of 8) also has the CUTLASS kernels of gemm_cutlass.cu as
//     candidates: one kernel computes gelu(X * W^T + bias). The build times them against the
//     cuBLASLt algorithms, each candidate whole (cuBLASLt's time includes its post kernel), and
//     keeps the fastest.
//   * MatMul: numpy-broadcast batch dims. The trailing batch dims over which both operands step
//     by a constant stride become one strided-batched call; the remaining leading batch dims (if
//     any) loop on the host over precomputed offsets. When one operand is broadcast over the
//     whole batch and the other is contiguous, the batch folds into M (one plain GEMM).
//
// This file holds the kernel: launch() and its construction from a recorded tactic. The choice
// at build time (cuBLASLt heuristic candidates, CUTLASS configs, timing) and the tactic strings
// are in gemm_tactics.cpp; what a node asks of the GEMM (GemmSpec) is in gemm_spec.cpp.
//
// Tactic (KernelArgs::tactic / Kernel::tactic()), in the common "tag;key=value;..." format of
// common/tactic.h, one line, either
//   cublasLt.v1;lib=<cublasLtGetVersion()>;dtype=f16;rows=<N>;cols=<M>;depth=<K>;batch=<count>;
//   epi=<none|bias|relu|bias+relu|gelu_tanh|bias+gelu_tanh>;compute=<32f|tf32>;ws=<bytes>;
//   algo=<8 words of 16 hex digits, joined by '.'>
// rows/cols/depth/batch are the cuBLASLt problem (checked against the node on load); algo is the
// cublasLtMatmulAlgo_t, which cuBLASLt documents as trivially serializable for the same library
// version (hence lib=). A load validates it with cublasLtMatmulAlgoCheck and never times. Or
//   cutlass.v1;dtype=<f16|bf16>;M=<M>;N=<N>;K=<K>;act=gelu_erf;config=<cutlass_gemm::config_name>;
//   ws=<bytes>
// for a Linear whose activation is gelu_erf (its bias, if any, is fused too); M/N/K are the
// row-major problem. A load checks the fields against the node and never times.
//
// Pointer contract: every pointer given to launch() (inputs, output, scratch) is aligned to
// kBaseAlignment bytes, as cudaMalloc and the engine's arena give; launch() checks it.
#include "core/backends/cuda/gemm/gemm.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/tactic.h"
#include "core/backends/cuda/gemm/gemm_epilogue.h"

namespace trtorch::backends::cuda {
namespace gemm {

cudaDataType_t cuda_type(DType t) {
  switch (t) {
    case DType::kFloat32: return CUDA_R_32F;
    case DType::kFloat16: return CUDA_R_16F;
    case DType::kBFloat16: return CUDA_R_16BF;
    default: TRTORCH_ERROR("dtype ", ir::dtype_name(t), " is not supported (float32, float16 and bfloat16 are)");
  }
}

std::string node_label(const ir::Node& n) {
  return str_cat(n.name(), " node '", n.source.empty() ? std::string("<no source>") : n.source, "'");
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

const EpiInfo& epi_info(Epi e) {
  for (const EpiInfo& i : kEpis)
    if (i.epi == e) return i;
  TRTORCH_CHECK(false, "unknown epilogue ", int(e));
}

// ---- cuBLASLt descriptors ------------------------------------------------------------------

namespace {

LayoutPtr make_layout(cudaDataType_t t, int64_t rows, int64_t cols, int64_t ld, int64_t batch, int64_t stride) {
  cublasLtMatrixLayout_t l = nullptr;
  TRTORCH_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&l, t, uint64_t(rows), uint64_t(cols), ld));
  LayoutPtr p(l);
  if (batch > 1) {
    int32_t b = int32_t(batch);
    TRTORCH_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &b, sizeof(b)));
    TRTORCH_CUBLAS_CHECK(
        cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)));
  }
  return p;
}

}  // namespace

LtMatmul::LtMatmul(const LtShape& s, Epi epi, cublasComputeType_t compute) : shape_(s), epi_(epi) {
  TRTORCH_EXPECT(s.batch <= std::numeric_limits<int32_t>::max(), "batch count ", s.batch, " is too large");
  const cudaDataType_t t = cuda_type(s.dtype);
  cublasLtMatmulDesc_t d = nullptr;
  TRTORCH_CUBLAS_CHECK(cublasLtMatmulDescCreate(&d, compute, CUDA_R_32F));
  desc_.reset(d);
  const cublasOperation_t ta = s.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, tb = CUBLAS_OP_N;
  TRTORCH_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)));
  TRTORCH_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)));
  const cublasLtEpilogue_t e = epi_info(epi).lt;
  TRTORCH_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_EPILOGUE, &e, sizeof(e)));
  if (epi_info(epi).bias) {
    TRTORCH_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &t, sizeof(t)));
  }
  if (s.trans_a)
    a_ = make_layout(t, s.depth, s.rows, s.lda, s.batch, s.stride_a);
  else
    a_ = make_layout(t, s.rows, s.depth, s.lda, s.batch, s.stride_a);
  b_ = make_layout(t, s.depth, s.cols, s.ldb, s.batch, s.stride_b);
  d_ = make_layout(t, s.rows, s.cols, s.ldd, s.batch, s.stride_d);
}

void LtMatmul::set_bias(const void* bias) {
  if (!epi_info(epi_).bias || bias == bias_) return;
  TRTORCH_CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(desc_.get(), CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
  bias_ = bias;
}

cublasStatus_t LtMatmul::check(cublasLtHandle_t h, const cublasLtMatmulAlgo_t& algo, size_t* ws_needed) {
  cublasLtMatmulHeuristicResult_t r{};
  cublasStatus_t st = cublasLtMatmulAlgoCheck(h, desc_.get(), a_.get(), b_.get(), d_.get(), d_.get(), &algo, &r);
  *ws_needed = r.workspaceSize;
  return st;
}

void LtMatmul::run(cublasLtHandle_t h, const cublasLtMatmulAlgo_t& algo, const void* a, const void* b, void* d,
                   void* ws, size_t ws_bytes, cudaStream_t stream) {
  TRTORCH_CUBLAS_CHECK(cublasLtMatmul(h, desc_.get(), &one_, a, a_.get(), b, b_.get(), &zero_, d, d_.get(), d,
                                      d_.get(), &algo, ws, ws_bytes, stream));
}

// ---- the kernel: construction and launch ----------------------------------------------------

GemmKernel::GemmKernel(const KernelArgs& args, GemmSpec spec, DeviceCopy weight, DeviceCopy bias)
    : ctx_(args.ctx), label_(node_label(args.node)), spec_(std::move(spec)), weight_(std::move(weight)),
      bias_(std::move(bias)) {
  const LtShape& s = spec_.shape;
  degenerate_ = s.rows == 0 || s.cols == 0 || s.depth == 0 || s.batch == 0;
  if (degenerate_) {  // nothing for cuBLASLt to do: the output is zero (plus bias, then act)
    TRTORCH_EXPECT(!args.tactic || args.tactic->empty(), "expected an empty tactic for an empty GEMM, got '",
                   *args.tactic, "'");
    epi_ = Epi::kNone;
  } else if (args.tactic) {
    load(*args.tactic, args.other_shape);
  } else {
    choose(args);
  }
  set_epilogue(epi_);
  if (!degenerate_) describe_ = make_description();
}

std::string GemmKernel::tactic() const {
  if (degenerate_) return "";
  return cutlass_ ? cutlass_->str() : tactic_.str();
}

void GemmKernel::launch(const std::vector<const void*>& in, const std::vector<void*>& out, void* scratch,
                        cudaStream_t stream) {
  try {
    if (cutlass_)
      run_cutlass(in, out, scratch, cutlass_->ws, stream, cutlass_->config);
    else
      run(in, out, scratch, tactic_.ws, stream, tactic_.algo);
  } catch (const Error& e) {
    TRTORCH_ERROR(label_, ": ", e.what());
  }
}

const void* GemmKernel::operand(const std::vector<const void*>& in, int idx, const DeviceCopy& own) const {
  if (own) return own->get();
  if (idx < 0) return nullptr;
  TRTORCH_CHECK(size_t(idx) < in.size() && in[size_t(idx)], "input ", idx, " pointer is missing");
  return in[size_t(idx)];
}

namespace {

void expect_aligned(const void* p, uint32_t align, const char* what) {
  TRTORCH_EXPECT(reinterpret_cast<uintptr_t>(p) % align == 0, what, " pointer ", p, " is not aligned to ", align,
                 " bytes (the GEMM was planned for ", align, "-byte aligned buffers)");
}

}  // namespace

void GemmKernel::run(const std::vector<const void*>& in, const std::vector<void*>& out, void* scratch,
                     size_t scratch_bytes, cudaStream_t stream, const cublasLtMatmulAlgo_t& algo) {
  TRTORCH_CHECK(out.size() == 1 && out[0], "output pointer is missing");
  const LtShape& s = spec_.shape;
  const size_t es = ir::dtype_size(s.dtype);
  void* d = out[0];
  const void* bias = spec_.has_bias ? operand(in, spec_.bias_input, bias_) : nullptr;
  if (degenerate_) {
    const size_t bytes = size_t(spec_.out_rows * spec_.out_cols) * es;
    if (bytes == 0) return;
    TRTORCH_CUDA_CHECK(cudaMemsetAsync(d, 0, bytes, stream));
  } else {
    const void* a = operand(in, spec_.a_input, weight_);
    const void* b = operand(in, spec_.b_input, nullptr);
    expect_aligned(a, s.align_a, "A operand");
    expect_aligned(b, s.align_b, "B operand");
    expect_aligned(d, s.align_d, "output");
    if (bias && epi_info(epi_).bias) expect_aligned(bias, kBaseAlignment, "bias");
    TRTORCH_EXPECT(scratch_bytes == 0 || scratch, "scratch of ", scratch_bytes, " bytes is missing");
    gemm_->set_bias(bias);
    const char* ac = static_cast<const char*>(a);
    const char* bc = static_cast<const char*>(b);
    char* dc = static_cast<char*>(d);
    for (size_t i = 0; i < spec_.off_d.size(); ++i) {
      gemm_->run(ctx_.cublaslt(), algo, ac + spec_.off_a[i] * int64_t(es), bc + spec_.off_b[i] * int64_t(es),
                 dc + spec_.off_d[i] * int64_t(es), scratch, scratch_bytes, stream);
    }
  }
  if (post_bias_ || post_act_) {
    gemm::launch_bias_act(s.dtype, d, post_bias_ ? bias : nullptr, spec_.out_rows, spec_.out_cols, post_act_,
                          spec_.act, spec_.alpha, spec_.beta, stream);
  }
}

// The CUTLASS kernel: X is cuBLASLt's B operand and W its A (see linear_spec).
void GemmKernel::run_cutlass(const std::vector<const void*>& in, const std::vector<void*>& out, void* scratch,
                             size_t scratch_bytes, cudaStream_t stream, cutlass_gemm::Config config) {
  TRTORCH_CHECK(out.size() == 1 && out[0], "output pointer is missing");
  const void* bias = spec_.has_bias ? operand(in, spec_.bias_input, bias_) : nullptr;
  cutlass_gemm::run(config, spec_.shape.dtype, operand(in, spec_.b_input, nullptr),
                    operand(in, spec_.a_input, weight_), bias, out[0], spec_.M, spec_.N, spec_.K, scratch,
                    scratch_bytes, ctx_.props().multiProcessorCount, stream);
}

// Uses cuBLASLt epilogue `e`; the post kernel does the rest of the node's bias and activation
// (nothing when a CUTLASS kernel runs the node).
void GemmKernel::set_epilogue(Epi e) {
  epi_ = e;
  post_bias_ = !cutlass_ && spec_.has_bias && !epi_info(e).bias;
  post_act_ = !cutlass_ && spec_.has_act && !epi_info(e).act;
}

// Whether the CUTLASS kernels (bias and erf GELU in the epilogue) can run this node.
bool GemmKernel::cutlass_fits() const {
  const LtShape& s = spec_.shape;
  return std::strcmp(spec_.op, "linear") == 0 && spec_.has_act && spec_.act == CutlassTactic::kAct &&
         cutlass_gemm::supported(s.dtype, spec_.M, spec_.N, spec_.K, std::min({s.align_a, s.align_b, s.align_d}));
}

// ---- load: rebuild exactly the recorded kernel, after checking that it fits this node ----------

namespace {

[[noreturn]] void misfit(const std::string& text, const std::string& why) {
  TRTORCH_ERROR("GEMM tactic '", text, "' does not fit this node: ", why);
}

}  // namespace

void GemmKernel::load(const std::string& text, bool other_shape) {
  const std::string tag = tactic_tag(text);
  if (tag == kCutlassTag) return load_cutlass(text, other_shape);
  if (tag != kCublasLtTag)
    TRTORCH_ERROR("cannot read GEMM tactic '", text, "': it starts with neither '", kCublasLtTag, "' nor '",
                  kCutlassTag, "'");
  LtTactic t = LtTactic::parse(text);
  const LtShape& s = spec_.shape;
  auto bad = [&](const std::string& why) { misfit(text, why); };
  if (t.dtype != s.dtype) bad(str_cat("it is for ", dtype_short(t.dtype), ", the node is ", dtype_short(s.dtype)));
  if ((t.rows != s.rows || t.cols != s.cols || t.depth != s.depth || t.batch != s.batch) && !other_shape)
    bad(str_cat("it is for rows=", t.rows, " cols=", t.cols, " depth=", t.depth, " batch=", t.batch,
                ", the node needs rows=", s.rows, " cols=", s.cols, " depth=", s.depth, " batch=", s.batch));
  // At another shape of the same node: the same algorithm, checked below for this shape.
  t.rows = s.rows, t.cols = s.cols, t.depth = s.depth, t.batch = s.batch;
  auto cands = epilogue_candidates(spec_.has_bias, spec_.has_act, spec_.act);
  if (std::find(cands.begin(), cands.end(), t.epi) == cands.end())
    bad(str_cat("epilogue ", epi_info(t.epi).name, " does not match the node's bias/activation"));
  if (t.tf32 && s.dtype != DType::kFloat32) bad("TF32 compute is only for float32");
  if (t.lib != cublasLtGetVersion())
    bad(str_cat("it was chosen with cuBLASLt ", t.lib, " but ", cublasLtGetVersion(),
                " is loaded; rebuild the engine"));
  auto m = std::make_unique<LtMatmul>(s, t.epi, compute_type(t.tf32));
  // The check reads the bias alignment from the bias pointer: give it the real constant bias,
  // or an aligned stand-in for one read from the inputs at launch.
  DeviceBuffer bias_stand_in;
  if (spec_.has_bias && epi_info(t.epi).bias) {
    if (!bias_) bias_stand_in = DeviceBuffer(size_t(spec_.N) * ir::dtype_size(s.dtype));
    m->set_bias(bias_ ? bias_->get() : bias_stand_in.get());
  }
  // A corrupted algorithm id is caught here, before cuBLASLt interprets the rest of the words.
  if (!known_algo_id(t)) bad("its algorithm id is not one cuBLASLt offers for this data type");
  if (other_shape) {
    // Chosen for the opt shape's pointer and stride alignments (the heuristic's minimums); the
    // check below does not see pointers: this shape's alignments must meet the algorithm's.
    const std::pair<cublasLtMatmulAlgoCapAttributes_t, uint32_t> needs[] = {
        {CUBLASLT_ALGO_CAP_MIN_ALIGNMENT_A_BYTES, s.align_a},
        {CUBLASLT_ALGO_CAP_MIN_ALIGNMENT_B_BYTES, s.align_b},
        {CUBLASLT_ALGO_CAP_MIN_ALIGNMENT_C_BYTES, s.align_d},
        {CUBLASLT_ALGO_CAP_MIN_ALIGNMENT_D_BYTES, s.align_d}};
    for (const auto& [cap, have] : needs) {
      uint32_t min_bytes = 0;
      size_t n = 0;
      if (cublasLtMatmulAlgoCapGetAttribute(&t.algo, cap, &min_bytes, sizeof(min_bytes), &n) != CUBLAS_STATUS_SUCCESS)
        bad("cuBLASLt does not report its algorithm's alignment needs");
      if (min_bytes > have)
        bad(str_cat("its algorithm needs ", min_bytes, "-byte aligned operands, this shape gives ", have));
    }
  }
  if (s.dtype != DType::kFloat32 && !fp32_split_reduction(t.algo))
    bad(str_cat("its algorithm adds split-K partial sums in ", dtype_short(s.dtype),
                " (trtorch accumulates in FP32); rebuild the engine"));
  size_t need = 0;
  cublasStatus_t st = m->check(ctx_.cublaslt(), t.algo, &need);
  if (bias_stand_in.get()) m->set_bias(nullptr);
  if (st != CUBLAS_STATUS_SUCCESS)
    bad(str_cat("cuBLASLt rejects its algorithm on this device (", cublasLtGetStatusString(st), ")"));
  if (need > t.ws) bad(str_cat("its algorithm needs ", need, " bytes of workspace, the tactic grants ", t.ws));
  gemm_ = std::move(m);
  epi_ = t.epi;
  tactic_ = t;
}

void GemmKernel::load_cutlass(const std::string& text, bool other_shape) {
  CutlassTactic t = CutlassTactic::parse(text);
  auto bad = [&](const std::string& why) { misfit(text, why); };
  if (std::strcmp(spec_.op, "linear") != 0 || !spec_.has_act || spec_.act != CutlassTactic::kAct)
    bad(str_cat("CUTLASS kernels run only a Linear with activation ", ir::unary_kind_name(CutlassTactic::kAct),
                ", this node is a ", spec_.op,
                spec_.has_act ? str_cat(" with activation ", ir::unary_kind_name(spec_.act)) : " without one"));
  if (t.dtype != spec_.shape.dtype)
    bad(str_cat("it is for ", dtype_short(t.dtype), ", the node is ", dtype_short(spec_.shape.dtype)));
  if ((t.M != spec_.M || t.N != spec_.N || t.K != spec_.K) && !other_shape)
    bad(str_cat("it is for M=", t.M, " N=", t.N, " K=", t.K, ", the node needs M=", spec_.M, " N=", spec_.N,
                " K=", spec_.K));
  t.M = spec_.M, t.N = spec_.N, t.K = spec_.K;  // at another shape: the same config, checked below
  if (!cutlass_fits()) bad("the CUTLASS kernels do not support this problem (N and K must be multiples of 8)");
  const size_t need =
      cutlass_gemm::workspace_bytes(t.config, t.dtype, t.M, t.N, t.K, ctx_.props().multiProcessorCount);
  if (need > t.ws) bad(str_cat("its kernel needs ", need, " bytes of workspace, the tactic grants ", t.ws));
  cutlass_ = t;
  epi_ = Epi::kNone;
}

bool GemmKernel::known_algo_id(const LtTactic& t) const {
  int32_t id = -1;
  size_t n = 0;
  if (cublasLtMatmulAlgoConfigGetAttribute(&t.algo, CUBLASLT_ALGO_CONFIG_ID, &id, sizeof(id), &n) !=
      CUBLAS_STATUS_SUCCESS)
    return false;
  const cudaDataType_t dt = cuda_type(t.dtype);
  std::vector<int> ids(1024);
  int count = 0;
  TRTORCH_CUBLAS_CHECK(cublasLtMatmulAlgoGetIds(ctx_.cublaslt(), compute_type(t.tf32), CUDA_R_32F, dt, dt, dt, dt,
                                                int(ids.size()), ids.data(), &count));
  return std::find(ids.begin(), ids.begin() + std::max(count, 0), id) != ids.begin() + std::max(count, 0);
}

// ---- descriptions ---------------------------------------------------------------------------

std::string GemmKernel::describe() const {
  if (degenerate_)
    return str_cat("cublasLt ", spec_.op, " ", dtype_short(spec_.shape.dtype), " M=", spec_.M, " N=", spec_.N,
                   " K=", spec_.K, " (empty GEMM: fill", spec_.has_bias ? " + bias" : "",
                   spec_.has_act ? std::string(" + ") + ir::unary_kind_name(spec_.act) : "", ")");
  return describe_;
}

std::string GemmKernel::problem_str() const {
  return str_cat(dtype_short(spec_.shape.dtype), " M=", spec_.M, " N=", spec_.N, " K=", spec_.K,
                 spec_.shape.batch > 1 ? str_cat(" batch=", spec_.shape.batch) : "",
                 spec_.off_d.size() > 1 ? str_cat(" x", spec_.off_d.size(), " calls") : "");
}

std::string GemmKernel::make_description() const {
  const std::string timed = best_ms_ >= 0 ? str_cat(" (timed ", best_ms_, " ms)") : "";
  if (cutlass_)
    return str_cat("cutlass ", spec_.op, " ", problem_str(), " epilogue=", spec_.has_bias ? "bias+" : "",
                   ir::unary_kind_name(CutlassTactic::kAct), " config=", cutlass_gemm::config_name(cutlass_->config),
                   " ws=", cutlass_->ws, timed);
  const cublasLtMatmulAlgo_t& a = tactic_.algo;
  int32_t id = 0, splitk = 0;
  uint32_t tile = 0, stages = 0, red = 0, swizzle = 0;
  size_t n = 0;
  TRTORCH_CUBLAS_CHECK(cublasLtMatmulAlgoConfigGetAttribute(&a, CUBLASLT_ALGO_CONFIG_ID, &id, sizeof(id), &n));
  TRTORCH_CUBLAS_CHECK(cublasLtMatmulAlgoConfigGetAttribute(&a, CUBLASLT_ALGO_CONFIG_TILE_ID, &tile, sizeof(tile), &n));
  TRTORCH_CUBLAS_CHECK(
      cublasLtMatmulAlgoConfigGetAttribute(&a, CUBLASLT_ALGO_CONFIG_STAGES_ID, &stages, sizeof(stages), &n));
  TRTORCH_CUBLAS_CHECK(
      cublasLtMatmulAlgoConfigGetAttribute(&a, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splitk, sizeof(splitk), &n));
  TRTORCH_CUBLAS_CHECK(
      cublasLtMatmulAlgoConfigGetAttribute(&a, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, &red, sizeof(red), &n));
  TRTORCH_CUBLAS_CHECK(
      cublasLtMatmulAlgoConfigGetAttribute(&a, CUBLASLT_ALGO_CONFIG_CTA_SWIZZLING, &swizzle, sizeof(swizzle), &n));
  std::string epi = epi_info(epi_).name;
  if (post_bias_ || post_act_) {
    epi += str_cat(" then kernel(", post_bias_ ? "bias" : "", post_bias_ && post_act_ ? "+" : "",
                   post_act_ ? ir::unary_kind_name(spec_.act) : "", ")");
  }
  return str_cat("cublasLt ", spec_.op, " ", problem_str(), tactic_.tf32 ? " tf32" : "", " epilogue=", epi,
                 " algo id=", id, " tile=", tile, " stages=", stages, " splitk=", splitk, " reduction=", red,
                 " swizzle=", swizzle, " ws=", tactic_.ws, timed);
}

}  // namespace gemm

std::unique_ptr<Kernel> make_Linear(const KernelArgs& args) {
  try {
    gemm::DeviceCopy weight, bias;
    gemm::GemmSpec spec = gemm::linear_spec(args, &weight, &bias);
    return std::make_unique<gemm::GemmKernel>(args, std::move(spec), std::move(weight), std::move(bias));
  } catch (const Error& e) {
    TRTORCH_ERROR(gemm::node_label(args.node), ": ", e.what());
  }
}

std::unique_ptr<Kernel> make_MatMul(const KernelArgs& args) {
  try {
    return std::make_unique<gemm::GemmKernel>(args, gemm::matmul_spec(args), nullptr, nullptr);
  } catch (const Error& e) {
    TRTORCH_ERROR(gemm::node_label(args.node), ": ", e.what());
  }
}

}  // namespace trtorch::backends::cuda
