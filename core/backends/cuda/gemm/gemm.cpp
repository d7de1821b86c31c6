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
// Tactic (KernelArgs::tactic / Kernel::tactic()), one line of space-separated fields, either
//   cublasLt.v1 lib=<cublasLtGetVersion()> dtype=f16 rows=<N> cols=<M> depth=<K> batch=<count>
//   epi=<none|bias|relu|bias+relu|gelu_tanh|bias+gelu_tanh> compute=<32f|tf32> ws=<bytes>
//   algo=<8 words of 16 hex digits, joined by '.'>
// rows/cols/depth/batch are the cuBLASLt problem (checked against the node on load); algo is the
// cublasLtMatmulAlgo_t, which cuBLASLt documents as trivially serializable for the same library
// version (hence lib=). A load validates it with cublasLtMatmulAlgoCheck and never times. Or
//   cutlass.v1 dtype=<f16|bf16> M=<M> N=<N> K=<K> act=gelu_erf config=<cutlass_gemm::config_name>
//   ws=<bytes>
// for a Linear whose activation is gelu_erf (its bias, if any, is fused too); M/N/K are the
// row-major problem. A load checks the fields against the node and never times.
//
// Pointer contract: every pointer given to launch() (inputs, output, scratch) is aligned to
// kBaseAlignment bytes, as cudaMalloc and the engine's arena give; launch() checks it.
#include <cublasLt.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <sstream>

#include "core/backends/cuda/common/context.h"
#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/conv/conv_epilogue.h"
#include "core/backends/cuda/gemm/gemm_cutlass.h"
#include "core/backends/cuda/gemm/gemm_epilogue.h"
#include "core/backends/cuda/common/kernel.h"

namespace trtorch::backends::cuda {
namespace {

using ir::DType;
using ir::UnaryKind;

constexpr uint32_t kBaseAlignment = 256;
constexpr int kMaxCandidates = 8;
constexpr size_t kWorkspaceCap = size_t(32) << 20;  // more never helped a GEMM of these sizes
constexpr const char* kCublasLtTag = "cublasLt.v1";
constexpr const char* kCutlassTag = "cutlass.v1";

const char* short_dtype(DType t) {
  switch (t) {
    case DType::kFloat32: return "f32";
    case DType::kFloat16: return "f16";
    case DType::kBFloat16: return "bf16";
    default: return ir::dtype_name(t);
  }
}

cudaDataType_t cuda_type(DType t) {
  switch (t) {
    case DType::kFloat32: return CUDA_R_32F;
    case DType::kFloat16: return CUDA_R_16F;
    case DType::kBFloat16: return CUDA_R_16BF;
    default: TRTORCH_ERROR("dtype ", ir::dtype_name(t), " is not supported (float32, float16 and bfloat16 are)");
  }
}

// ---- epilogues -----------------------------------------------------------------------------

enum class Epi : uint8_t { kNone, kBias, kRelu, kBiasRelu, kGeluTanh, kBiasGeluTanh };

struct EpiInfo {
  Epi epi;
  const char* name;
  cublasLtEpilogue_t lt;
  bool bias;  // cuBLASLt adds the bias
  bool act;   // cuBLASLt applies the node's activation
};

constexpr EpiInfo kEpis[] = {
    {Epi::kNone, "none", CUBLASLT_EPILOGUE_DEFAULT, false, false},
    {Epi::kBias, "bias", CUBLASLT_EPILOGUE_BIAS, true, false},
    {Epi::kRelu, "relu", CUBLASLT_EPILOGUE_RELU, false, true},
    {Epi::kBiasRelu, "bias+relu", CUBLASLT_EPILOGUE_RELU_BIAS, true, true},
    // cuBLASLt's GELU is the tanh approximation: used only for gelu_tanh.
    {Epi::kGeluTanh, "gelu_tanh", CUBLASLT_EPILOGUE_GELU, false, true},
    {Epi::kBiasGeluTanh, "bias+gelu_tanh", CUBLASLT_EPILOGUE_GELU_BIAS, true, true},
};

const EpiInfo& epi_info(Epi e) {
  for (const EpiInfo& i : kEpis)
    if (i.epi == e) return i;
  TRTORCH_CHECK(false, "unknown epilogue ", int(e));
}

// The cuBLASLt epilogues that can serve a node, preferred (most fused) first; the last one
// always exists (the post kernel does what cuBLASLt does not).
std::vector<Epi> epilogue_candidates(bool has_bias, bool has_act, UnaryKind act) {
  std::vector<Epi> c;
  if (has_act && act == UnaryKind::kRelu) c.push_back(has_bias ? Epi::kBiasRelu : Epi::kRelu);
  if (has_act && act == UnaryKind::kGeluTanh) c.push_back(has_bias ? Epi::kBiasGeluTanh : Epi::kGeluTanh);
  if (has_bias) c.push_back(Epi::kBias);
  c.push_back(Epi::kNone);
  return c;
}

// ---- cuBLASLt descriptors ------------------------------------------------------------------

struct LayoutDeleter {
  void operator()(cublasLtMatrixLayoutOpaque_t* p) const { cublasLtMatrixLayoutDestroy(p); }
};
struct DescDeleter {
  void operator()(cublasLtMatmulDescOpaque_t* p) const { cublasLtMatmulDescDestroy(p); }
};
struct PrefDeleter {
  void operator()(cublasLtMatmulPreferenceOpaque_t* p) const { cublasLtMatmulPreferenceDestroy(p); }
};
using LayoutPtr = std::unique_ptr<cublasLtMatrixLayoutOpaque_t, LayoutDeleter>;
using DescPtr = std::unique_ptr<cublasLtMatmulDescOpaque_t, DescDeleter>;
using PrefPtr = std::unique_ptr<cublasLtMatmulPreferenceOpaque_t, PrefDeleter>;

// One cuBLASLt problem in column-major terms: D (rows x cols) = op(A) (rows x depth) * B (depth x
// cols), `batch` times with the given element strides.
struct LtShape {
  DType dtype = DType::kFloat32;
  bool trans_a = false;  // A is stored depth x rows (used transposed)
  int64_t rows = 0, cols = 0, depth = 0;
  int64_t lda = 0, ldb = 0, ldd = 0;
  int64_t batch = 1, stride_a = 0, stride_b = 0, stride_d = 0;
  // Alignment (bytes) that the A, B and D pointers of every call are guaranteed to have.
  uint32_t align_a = kBaseAlignment, align_b = kBaseAlignment, align_d = kBaseAlignment;
};

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

// True when the algorithm does not split K, or adds the partial sums in the FP32 compute type.
bool fp32_split_reduction(const cublasLtMatmulAlgo_t& a) {
  int32_t splitk = 1;
  uint32_t red = CUBLASLT_REDUCTION_SCHEME_NONE;
  size_t n = 0;
  TRTORCH_CUBLAS_CHECK(
      cublasLtMatmulAlgoConfigGetAttribute(&a, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splitk, sizeof(splitk), &n));
  TRTORCH_CUBLAS_CHECK(
      cublasLtMatmulAlgoConfigGetAttribute(&a, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, &red, sizeof(red), &n));
  return splitk <= 1 || red == CUBLASLT_REDUCTION_SCHEME_NONE || red == CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE;
}

// The descriptors of one (shape, epilogue, compute type) combination.
class LtMatmul {
 public:
  LtMatmul(const LtShape& s, Epi epi, cublasComputeType_t compute) : shape_(s), epi_(epi) {
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

  // Sets the bias pointer (host-side descriptor state only; skipped when unchanged).
  void set_bias(const void* bias) {
    if (!epi_info(epi_).bias || bias == bias_) return;
    TRTORCH_CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(desc_.get(), CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
    bias_ = bias;
  }

  // Up to kMaxCandidates algorithms from cuBLASLt's heuristic, fastest predicted first. The bias
  // pointer must be set first: the heuristic reads its alignment from it.
  std::vector<cublasLtMatmulHeuristicResult_t> heuristic(cublasLtHandle_t h, size_t max_ws) {
    cublasLtMatmulPreference_t p = nullptr;
    TRTORCH_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&p));
    PrefPtr pref(p);
    uint64_t ws = max_ws;
    TRTORCH_CUBLAS_CHECK(
        cublasLtMatmulPreferenceSetAttribute(p, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)));
    const uint32_t al[3] = {shape_.align_a, shape_.align_b, shape_.align_d};
    TRTORCH_CUBLAS_CHECK(
        cublasLtMatmulPreferenceSetAttribute(p, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al[0], sizeof(al[0])));
    TRTORCH_CUBLAS_CHECK(
        cublasLtMatmulPreferenceSetAttribute(p, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al[1], sizeof(al[1])));
    TRTORCH_CUBLAS_CHECK(
        cublasLtMatmulPreferenceSetAttribute(p, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al[2], sizeof(al[2])));
    TRTORCH_CUBLAS_CHECK(
        cublasLtMatmulPreferenceSetAttribute(p, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al[2], sizeof(al[2])));
    if (shape_.dtype != DType::kFloat32) {
      // Split-K partial sums are added in FP32 or not at all: the in-place and output-type schemes
      // add them in FP16/BF16, rounding once per split (FP32 accumulation is the contract).
      const uint32_t scheme = CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE;
      TRTORCH_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(p, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK,
                                                                &scheme, sizeof(scheme)));
    }
    std::vector<cublasLtMatmulHeuristicResult_t> res(kMaxCandidates);
    int n = 0;
    cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(h, desc_.get(), a_.get(), b_.get(), d_.get(), d_.get(), p,
                                                       kMaxCandidates, res.data(), &n);
    // NOT_SUPPORTED means "no algorithm for this combination" (e.g. an epilogue it lacks here).
    if (st == CUBLAS_STATUS_NOT_SUPPORTED) return {};
    TRTORCH_CUBLAS_CHECK(st);
    res.resize(size_t(std::max(n, 0)));
    res.erase(std::remove_if(res.begin(), res.end(),
                             [&](const cublasLtMatmulHeuristicResult_t& r) {
                               return r.state != CUBLAS_STATUS_SUCCESS || r.workspaceSize > max_ws ||
                                      (shape_.dtype != DType::kFloat32 && !fp32_split_reduction(r.algo));
                             }),
              res.end());
    return res;
  }

  cublasStatus_t check(cublasLtHandle_t h, const cublasLtMatmulAlgo_t& algo, size_t* ws_needed) {
    cublasLtMatmulHeuristicResult_t r{};
    cublasStatus_t st = cublasLtMatmulAlgoCheck(h, desc_.get(), a_.get(), b_.get(), d_.get(), d_.get(), &algo, &r);
    *ws_needed = r.workspaceSize;
    return st;
  }

  void run(cublasLtHandle_t h, const cublasLtMatmulAlgo_t& algo, const void* a, const void* b, void* d, void* ws,
           size_t ws_bytes, cudaStream_t stream) {
    TRTORCH_CUBLAS_CHECK(cublasLtMatmul(h, desc_.get(), &one_, a, a_.get(), b, b_.get(), &zero_, d, d_.get(), d,
                                        d_.get(), &algo, ws, ws_bytes, stream));
  }

  Epi epi() const { return epi_; }

 private:
  LtShape shape_;
  Epi epi_;
  DescPtr desc_;
  LayoutPtr a_, b_, d_;
  const void* bias_ = nullptr;
  const float one_ = 1.0f, zero_ = 0.0f;
};

// ---- tactic strings ------------------------------------------------------------------------

uint64_t number(const std::string& key, const std::string& v, int base = 10) {
  size_t used = 0;
  unsigned long long x = 0;
  try {
    x = std::stoull(v, &used, base);
  } catch (const std::exception&) {
    used = 0;
  }
  TRTORCH_EXPECT(!v.empty() && used == v.size() && v[0] != '-', "field ", key, "='", v, "' is not a number");
  return uint64_t(x);
}

// The first space-separated word of a tactic line (its tag).
std::string tactic_tag(const std::string& s) {
  std::istringstream is(s);
  std::string tok;
  is >> tok;
  return tok;
}

// The key=value fields of a tactic line that starts with `tag`: exactly `keys`, each once.
std::map<std::string, std::string> tactic_fields(const std::string& s, const char* tag,
                                                 std::initializer_list<const char*> keys) {
  std::istringstream is(s);
  std::string tok;
  TRTORCH_EXPECT(is >> tok && tok == tag, "it does not start with '", tag, "'");
  std::map<std::string, std::string> f;
  while (is >> tok) {
    size_t eq = tok.find('=');
    TRTORCH_EXPECT(eq != std::string::npos && eq > 0, "malformed field '", tok, "'");
    TRTORCH_EXPECT(f.emplace(tok.substr(0, eq), tok.substr(eq + 1)).second, "field ", tok.substr(0, eq),
                   " appears twice");
  }
  for (const char* k : keys) TRTORCH_EXPECT(f.count(k), "field ", k, " is missing");
  TRTORCH_EXPECT(f.size() == keys.size(), "it has unknown fields");
  return f;
}

DType tactic_dtype(const std::string& v) {
  for (DType d : {DType::kFloat32, DType::kFloat16, DType::kBFloat16})
    if (v == short_dtype(d)) return d;
  TRTORCH_ERROR("unknown dtype '", v, "'");
}

// A cuBLASLt algorithm.
struct Tactic {
  size_t lib = 0;
  DType dtype = DType::kFloat32;
  int64_t rows = 0, cols = 0, depth = 0, batch = 1;
  Epi epi = Epi::kNone;
  bool tf32 = false;
  size_t ws = 0;
  cublasLtMatmulAlgo_t algo{};

  std::string str() const {
    std::ostringstream os;
    os << kCublasLtTag << " lib=" << lib << " dtype=" << short_dtype(dtype) << " rows=" << rows << " cols=" << cols
       << " depth=" << depth << " batch=" << batch << " epi=" << epi_info(epi).name
       << " compute=" << (tf32 ? "tf32" : "32f") << " ws=" << ws << " algo=";
    for (int i = 0; i < 8; ++i) {
      char w[17];
      std::snprintf(w, sizeof(w), "%016" PRIx64, algo.data[i]);
      os << (i ? "." : "") << w;
    }
    return os.str();
  }

  static Tactic parse(const std::string& s) {
    auto f = tactic_fields(s, kCublasLtTag, {"lib", "dtype", "rows", "cols", "depth", "batch", "epi", "compute", "ws",
                                             "algo"});
    Tactic t;
    t.lib = size_t(number("lib", f["lib"]));
    t.dtype = tactic_dtype(f["dtype"]);
    t.rows = int64_t(number("rows", f["rows"]));
    t.cols = int64_t(number("cols", f["cols"]));
    t.depth = int64_t(number("depth", f["depth"]));
    t.batch = int64_t(number("batch", f["batch"]));
    bool epi_ok = false;
    for (const EpiInfo& e : kEpis)
      if (f["epi"] == e.name) t.epi = e.epi, epi_ok = true;
    TRTORCH_EXPECT(epi_ok, "unknown epilogue '", f["epi"], "'");
    TRTORCH_EXPECT(f["compute"] == "32f" || f["compute"] == "tf32", "unknown compute type '", f["compute"], "'");
    t.tf32 = f["compute"] == "tf32";
    t.ws = size_t(number("ws", f["ws"]));
    const std::string& a = f["algo"];
    TRTORCH_EXPECT(a.size() == 8 * 17 - 1, "algo must be 8 words of 16 hex digits joined by '.', got '", a, "'");
    for (int i = 0; i < 8; ++i) {
      TRTORCH_EXPECT(i == 7 || a[size_t(i) * 17 + 16] == '.', "algo words must be joined by '.'");
      t.algo.data[i] = number("algo", a.substr(size_t(i) * 17, 16), 16);
    }
    return t;
  }
};

// A CUTLASS kernel of gemm_cutlass.cu: Linear with the erf GELU (and its bias) in the epilogue.
struct CutlassTactic {
  static constexpr UnaryKind kAct = UnaryKind::kGeluErf;
  DType dtype = DType::kFloat16;
  int64_t M = 0, N = 0, K = 0;  // the row-major problem
  cutlass_gemm::Config config = cutlass_gemm::Config::k128x128x64Coop;
  size_t ws = 0;

  std::string str() const {
    return str_cat(kCutlassTag, " dtype=", short_dtype(dtype), " M=", M, " N=", N, " K=", K,
                   " act=", ir::unary_kind_name(kAct), " config=", cutlass_gemm::config_name(config), " ws=", ws);
  }

  static CutlassTactic parse(const std::string& s) {
    auto f = tactic_fields(s, kCutlassTag, {"dtype", "M", "N", "K", "act", "config", "ws"});
    CutlassTactic t;
    t.dtype = tactic_dtype(f["dtype"]);
    t.M = int64_t(number("M", f["M"]));
    t.N = int64_t(number("N", f["N"]));
    t.K = int64_t(number("K", f["K"]));
    TRTORCH_EXPECT(f["act"] == ir::unary_kind_name(kAct), "unknown activation '", f["act"],
                   "' (the CUTLASS kernels apply ", ir::unary_kind_name(kAct), ")");
    TRTORCH_EXPECT(cutlass_gemm::config_from_name(f["config"], &t.config), "unknown CUTLASS config '", f["config"],
                   "'");
    t.ws = size_t(number("ws", f["ws"]));
    return t;
  }
};

// Parses a tactic of type T, or throws an error that quotes it.
template <class T>
T read_tactic(const std::string& text) {
  try {
    return T::parse(text);
  } catch (const Error& e) {
    TRTORCH_ERROR("cannot read GEMM tactic '", text, "': ", e.what());
  }
}

// ---- the kernel ------------------------------------------------------------------------------

std::string node_label(const ir::Node& n) {
  return str_cat(n.name(), " node '", n.source.empty() ? std::string("<no source>") : n.source, "'");
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

// What a Linear or MatMul node asks of the GEMM.
struct GemmSpec {
  const char* op = "";  // "linear" or "matmul"
  LtShape shape;
  int64_t M = 0, N = 0, K = 0;  // row-major problem sizes, for describe()
  // Element offsets of A, B and D for each cuBLASLt call (one entry unless batches loop).
  std::vector<int64_t> off_a{0}, off_b{0}, off_d{0};
  int a_input = -1, b_input = -1, bias_input = -1;  // input index of each operand (-1: none)
  bool has_bias = false, has_act = false;
  UnaryKind act = UnaryKind::kRelu;
  float alpha = 0.0f, beta = 0.0f;
  int64_t out_rows = 0, out_cols = 0;  // the output as row-major [out_rows, out_cols] for the post kernel
};

// One Linear or MatMul node: a cuBLASLt algorithm (then the post kernel for what its epilogue
// lacks), or, for a Linear with the erf GELU, a CUTLASS kernel with the whole epilogue fused.
class GemmKernel final : public Kernel {
 public:
  GemmKernel(const KernelArgs& args, GemmSpec spec, DeviceBuffer weight, DeviceBuffer bias)
      : ctx_(args.ctx), label_(node_label(args.node)), spec_(std::move(spec)), weight_(std::move(weight)),
        bias_(std::move(bias)) {
    const LtShape& s = spec_.shape;
    degenerate_ = s.rows == 0 || s.cols == 0 || s.depth == 0 || s.batch == 0;
    if (degenerate_) {  // nothing for cuBLASLt to do: the output is zero (plus bias, then act)
      TRTORCH_EXPECT(!args.tactic || args.tactic->empty(), "expected an empty tactic for an empty GEMM, got '",
                     *args.tactic, "'");
      epi_ = Epi::kNone;
    } else if (args.tactic) {
      load(*args.tactic);
    } else {
      choose(args);
    }
    set_epilogue(epi_);
    if (!degenerate_) describe_ = make_description();
  }

  size_t scratch_bytes() const override { return cutlass_ ? cutlass_->ws : tactic_.ws; }
  std::string tactic() const override {
    if (degenerate_) return "";
    return cutlass_ ? cutlass_->str() : tactic_.str();
  }
  std::string describe() const override {
    if (degenerate_)
      return str_cat("cublasLt ", spec_.op, " ", short_dtype(spec_.shape.dtype), " M=", spec_.M, " N=", spec_.N,
                     " K=", spec_.K, " (empty GEMM: fill", spec_.has_bias ? " + bias" : "",
                     spec_.has_act ? std::string(" + ") + ir::unary_kind_name(spec_.act) : "", ")");
    return describe_;
  }

  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void* scratch,
              cudaStream_t stream) override {
    try {
      if (cutlass_)
        run_cutlass(in, out, scratch, cutlass_->ws, stream, cutlass_->config);
      else
        run(in, out, scratch, tactic_.ws, stream, tactic_.algo);
    } catch (const Error& e) {
      TRTORCH_ERROR(label_, ": ", e.what());
    }
  }

 private:
  const void* operand(const std::vector<const void*>& in, int idx, const DeviceBuffer& own) const {
    if (own.get()) return own.get();
    if (idx < 0) return nullptr;
    TRTORCH_CHECK(size_t(idx) < in.size() && in[size_t(idx)], "input ", idx, " pointer is missing");
    return in[size_t(idx)];
  }

  static void expect_aligned(const void* p, uint32_t align, const char* what) {
    TRTORCH_EXPECT(reinterpret_cast<uintptr_t>(p) % align == 0, what, " pointer ", p, " is not aligned to ", align,
                   " bytes (the GEMM was planned for ", align, "-byte aligned buffers)");
  }

  void run(const std::vector<const void*>& in, const std::vector<void*>& out, void* scratch, size_t scratch_bytes,
           cudaStream_t stream, const cublasLtMatmulAlgo_t& algo) {
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
      const void* b = operand(in, spec_.b_input, DeviceBuffer());
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

  // The CUTLASS kernel: X is cuBLASLt's B operand and W its A (see build_linear).
  void run_cutlass(const std::vector<const void*>& in, const std::vector<void*>& out, void* scratch,
                   size_t scratch_bytes, cudaStream_t stream, cutlass_gemm::Config config) {
    TRTORCH_CHECK(out.size() == 1 && out[0], "output pointer is missing");
    const void* bias = spec_.has_bias ? operand(in, spec_.bias_input, bias_) : nullptr;
    cutlass_gemm::run(config, spec_.shape.dtype, operand(in, spec_.b_input, DeviceBuffer()),
                      operand(in, spec_.a_input, weight_), bias, out[0], spec_.M, spec_.N, spec_.K, scratch,
                      scratch_bytes, ctx_.props().multiProcessorCount, stream);
  }

  // Uses cuBLASLt epilogue `e`; the post kernel does the rest of the node's bias and activation
  // (nothing when a CUTLASS kernel runs the node).
  void set_epilogue(Epi e) {
    epi_ = e;
    post_bias_ = !cutlass_ && spec_.has_bias && !epi_info(e).bias;
    post_act_ = !cutlass_ && spec_.has_act && !epi_info(e).act;
  }

  // Whether the CUTLASS kernels (bias and erf GELU in the epilogue) can run this node.
  bool cutlass_fits() const {
    const LtShape& s = spec_.shape;
    return std::strcmp(spec_.op, "linear") == 0 && spec_.has_act && spec_.act == CutlassTactic::kAct &&
           cutlass_gemm::supported(s.dtype, spec_.M, spec_.N, spec_.K, std::min({s.align_a, s.align_b, s.align_d}));
  }

  // The median time of `fn` with the build's timing iterations, or infinity when it fails to run.
  template <class F>
  float time_candidate(const TacticOptions& opt, F&& fn) {
    try {
      return time_ms(ctx_, opt.min_timing_iters, opt.avg_timing_iters, fn);
    } catch (const Error&) {
      cudaGetLastError();
      return std::numeric_limits<float>::infinity();
    }
  }

  cublasComputeType_t compute_type(bool tf32) const { return tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F; }

  // Build time: every candidate algorithm of the most fused epilogue cuBLASLt supports, and every
  // CUTLASS config that fits, timed whole (post kernel included) on random data; the fastest wins.
  void choose(const KernelArgs& args) {
    const LtShape& s = spec_.shape;
    const TacticOptions defaults;
    const TacticOptions& opt = args.timing ? *args.timing : defaults;
    const bool tf32 = s.dtype == DType::kFloat32 && opt.allow_tf32;
    const size_t max_ws = std::min(opt.max_scratch_bytes, kWorkspaceCap);
    cudaStream_t st = ctx_.stream();

    // Random operands for timing (weights and constant biases are the real ones).
    std::vector<DeviceBuffer> bufs;
    std::vector<const void*> in(args.inputs.size(), nullptr);
    for (size_t i = 0; i < args.inputs.size(); ++i) {
      bool own = (int(i) == spec_.a_input && weight_.get()) || (int(i) == spec_.bias_input && bias_.get());
      if (own) continue;
      bufs.emplace_back(std::max<size_t>(args.inputs[i].bytes(), 1));
      launch_fill_random(bufs.back().get(), s.dtype, args.inputs[i].numel(), uint32_t(1234 + i), st);
      in[i] = bufs.back().get();
    }
    DeviceBuffer out(std::max<size_t>(args.outputs[0].bytes(), 1));
    DeviceBuffer ws(max_ws);
    const void* bias = spec_.has_bias ? operand(in, spec_.bias_input, bias_) : nullptr;

    std::vector<void*> outs{out.get()};
    float best_ms = std::numeric_limits<float>::infinity();
    std::string skipped;
    for (Epi epi : epilogue_candidates(spec_.has_bias, spec_.has_act, spec_.act)) {
      auto m = std::make_unique<LtMatmul>(s, epi, compute_type(tf32));
      m->set_bias(bias);
      auto algos = m->heuristic(ctx_.cublaslt(), max_ws);
      if (algos.empty()) {
        skipped += str_cat(skipped.empty() ? "" : ", ", epi_info(epi).name);
        continue;
      }
      gemm_ = std::move(m);
      set_epilogue(epi);
      for (const auto& h : algos) {
        // An algorithm the heuristic offered but that refuses to run times as infinity.
        const float ms = time_candidate(opt, [&](cudaStream_t ts) { run(in, outs, ws.get(), max_ws, ts, h.algo); });
        if (ms < best_ms) {
          best_ms = ms;
          tactic_.algo = h.algo;
          tactic_.ws = h.workspaceSize;
        }
      }
      if (best_ms < std::numeric_limits<float>::infinity()) break;
      gemm_.reset();
    }
    if (cutlass_fits()) {
      const int sms = ctx_.props().multiProcessorCount;
      for (int c = 0; c < cutlass_gemm::kNumConfigs; ++c) {
        CutlassTactic t;
        t.dtype = s.dtype;
        t.M = spec_.M;
        t.N = spec_.N;
        t.K = spec_.K;
        t.config = cutlass_gemm::Config(c);
        t.ws = cutlass_gemm::workspace_bytes(t.config, t.dtype, t.M, t.N, t.K, sms);
        if (t.ws > max_ws) continue;
        const float ms =
            time_candidate(opt, [&](cudaStream_t ts) { run_cutlass(in, outs, ws.get(), max_ws, ts, t.config); });
        if (ms < best_ms) {
          best_ms = ms;
          cutlass_ = t;
        }
      }
    }
    TRTORCH_EXPECT(gemm_ || cutlass_, "cuBLASLt has no working algorithm for ", problem_str(),
                   skipped.empty() ? "" : str_cat(" (no algorithm with epilogue ", skipped, ")"));
    TRTORCH_CUDA_CHECK(cudaStreamSynchronize(st));
    best_ms_ = best_ms;
    if (cutlass_) {  // the cuBLASLt descriptors are not needed
      gemm_.reset();
      epi_ = Epi::kNone;
      return;
    }
    tactic_.lib = cublasLtGetVersion();
    tactic_.dtype = s.dtype;
    tactic_.rows = s.rows;
    tactic_.cols = s.cols;
    tactic_.depth = s.depth;
    tactic_.batch = s.batch;
    tactic_.epi = epi_;
    tactic_.tf32 = tf32;
  }

  // Load time: rebuild exactly the recorded kernel, after checking that it fits this node.
  void load(const std::string& text) {
    const std::string tag = tactic_tag(text);
    if (tag == kCutlassTag) return load_cutlass(text);
    if (tag != kCublasLtTag)
      TRTORCH_ERROR("cannot read GEMM tactic '", text, "': it starts with neither '", kCublasLtTag, "' nor '",
                    kCutlassTag, "'");
    const Tactic t = read_tactic<Tactic>(text);
    const LtShape& s = spec_.shape;
    auto bad = [&](const std::string& why) { misfit(text, why); };
    if (t.dtype != s.dtype) bad(str_cat("it is for ", short_dtype(t.dtype), ", the node is ", short_dtype(s.dtype)));
    if (t.rows != s.rows || t.cols != s.cols || t.depth != s.depth || t.batch != s.batch)
      bad(str_cat("it is for rows=", t.rows, " cols=", t.cols, " depth=", t.depth, " batch=", t.batch,
                  ", the node needs rows=", s.rows, " cols=", s.cols, " depth=", s.depth, " batch=", s.batch));
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
      if (!bias_.get()) bias_stand_in = DeviceBuffer(size_t(spec_.N) * ir::dtype_size(s.dtype));
      m->set_bias(bias_.get() ? bias_.get() : bias_stand_in.get());
    }
    // A corrupted algorithm id is caught here, before cuBLASLt interprets the rest of the words.
    if (!known_algo_id(t)) bad("its algorithm id is not one cuBLASLt offers for this data type");
    if (s.dtype != DType::kFloat32 && !fp32_split_reduction(t.algo))
      bad(str_cat("its algorithm adds split-K partial sums in ", short_dtype(s.dtype),
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

  void load_cutlass(const std::string& text) {
    const CutlassTactic t = read_tactic<CutlassTactic>(text);
    auto bad = [&](const std::string& why) { misfit(text, why); };
    if (std::strcmp(spec_.op, "linear") != 0 || !spec_.has_act || spec_.act != CutlassTactic::kAct)
      bad(str_cat("CUTLASS kernels run only a Linear with activation ", ir::unary_kind_name(CutlassTactic::kAct),
                  ", this node is a ", spec_.op,
                  spec_.has_act ? str_cat(" with activation ", ir::unary_kind_name(spec_.act)) : " without one"));
    if (t.dtype != spec_.shape.dtype)
      bad(str_cat("it is for ", short_dtype(t.dtype), ", the node is ", short_dtype(spec_.shape.dtype)));
    if (t.M != spec_.M || t.N != spec_.N || t.K != spec_.K)
      bad(str_cat("it is for M=", t.M, " N=", t.N, " K=", t.K, ", the node needs M=", spec_.M, " N=", spec_.N,
                  " K=", spec_.K));
    if (!cutlass_fits()) bad("the CUTLASS kernels do not support this problem (N and K must be multiples of 8)");
    const size_t need =
        cutlass_gemm::workspace_bytes(t.config, t.dtype, t.M, t.N, t.K, ctx_.props().multiProcessorCount);
    if (need > t.ws) bad(str_cat("its kernel needs ", need, " bytes of workspace, the tactic grants ", t.ws));
    cutlass_ = t;
    epi_ = Epi::kNone;
  }

  [[noreturn]] static void misfit(const std::string& text, const std::string& why) {
    TRTORCH_ERROR("GEMM tactic '", text, "' does not fit this node: ", why);
  }

  bool known_algo_id(const Tactic& t) const {
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

  std::string problem_str() const {
    return str_cat(short_dtype(spec_.shape.dtype), " M=", spec_.M, " N=", spec_.N, " K=", spec_.K,
                   spec_.shape.batch > 1 ? str_cat(" batch=", spec_.shape.batch) : "",
                   spec_.off_d.size() > 1 ? str_cat(" x", spec_.off_d.size(), " calls") : "");
  }

  std::string make_description() const {
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

  Context& ctx_;
  std::string label_;
  GemmSpec spec_;
  DeviceBuffer weight_, bias_;  // uploaded constants (empty when read from the inputs)
  bool degenerate_ = false;
  std::unique_ptr<LtMatmul> gemm_;
  Epi epi_ = Epi::kNone;
  bool post_bias_ = false, post_act_ = false;
  Tactic tactic_;
  std::optional<CutlassTactic> cutlass_;  // set when a CUTLASS kernel runs the node (then tactic_ is unused)
  float best_ms_ = -1.0f;
  std::string describe_;
};

// ---- node → GemmSpec ---------------------------------------------------------------------------

void expect_row_major(const KernelArgs& args) {
  for (size_t i = 0; i < args.inputs.size(); ++i)
    TRTORCH_EXPECT(args.inputs[i].layout == Layout::kRowMajor, "input ", i, " must be row-major");
  TRTORCH_EXPECT(args.outputs.size() == 1 && args.outputs[0].layout == Layout::kRowMajor,
                 "expects one row-major output");
  for (size_t i = 1; i < args.inputs.size(); ++i)
    TRTORCH_EXPECT(args.inputs[i].dtype == args.inputs[0].dtype, "input ", i, " is ",
                   ir::dtype_name(args.inputs[i].dtype), " but input 0 is ", ir::dtype_name(args.inputs[0].dtype));
  cuda_type(args.inputs[0].dtype);  // rejects unsupported dtypes
}

const ir::HostTensor* constant_of(const KernelArgs& args, size_t i) {
  return i < args.constants.size() ? args.constants[i] : nullptr;
}

// Uploads a host constant in the engine dtype (converting if it is stored otherwise).
DeviceBuffer upload(const ir::HostTensor& h, DType dtype, const std::vector<int64_t>& shape, const char* what,
                    cudaStream_t stream) {
  TRTORCH_EXPECT(h.shape == shape, what, " constant has shape ", shape_str(h.shape), ", expected ", shape_str(shape));
  ir::HostTensor t = h.dtype == dtype ? h : h.to(dtype);
  DeviceBuffer buf(std::max<size_t>(t.nbytes(), 1));
  TRTORCH_CUDA_CHECK(cudaMemcpyAsync(buf.get(), t.data(), t.nbytes(), cudaMemcpyHostToDevice, stream));
  TRTORCH_CUDA_CHECK(cudaStreamSynchronize(stream));  // `t` may be a temporary
  return buf;
}

std::unique_ptr<Kernel> build_linear(const KernelArgs& args) {
  TRTORCH_EXPECT(args.inputs.size() == 2 || args.inputs.size() == 3, "expects 2 or 3 inputs, got ",
                 args.inputs.size());
  expect_row_major(args);
  const auto& a = args.node.attr<ir::LinearAttrs>();
  const auto& xs = args.inputs[0].shape;
  const auto& wsh = args.inputs[1].shape;
  TRTORCH_EXPECT(!xs.empty() && wsh.size() == 2 && xs.back() == wsh[1], "input ", shape_str(xs),
                 " does not match weight ", shape_str(wsh));
  TRTORCH_EXPECT(!a.has_act || size_t(a.act) < size_t(UnaryKind::kCount), "unknown activation ", int(a.act));
  const DType dt = args.inputs[0].dtype;
  GemmSpec g;
  g.op = "linear";
  g.N = wsh[0];
  g.K = wsh[1];
  g.M = ir::numel_of(std::vector<int64_t>(xs.begin(), xs.end() - 1));  // leading dims fold into M
  g.has_bias = args.inputs.size() == 3;
  g.has_act = a.has_act;
  g.act = a.act;
  g.alpha = float(a.act_alpha);
  g.beta = float(a.act_beta);
  g.out_rows = g.M;
  g.out_cols = g.N;
  // D^T (N x M) = W (N x K, stored K x N column-major, transposed) * X^T (K x M).
  LtShape& s = g.shape;
  s.dtype = dt;
  s.trans_a = true;
  s.rows = g.N;
  s.cols = g.M;
  s.depth = g.K;
  s.lda = std::max<int64_t>(g.K, 1);
  s.ldb = std::max<int64_t>(g.K, 1);
  s.ldd = std::max<int64_t>(g.N, 1);
  g.a_input = 1;
  g.b_input = 0;
  g.bias_input = g.has_bias ? 2 : -1;

  cudaStream_t st = args.ctx.stream();
  DeviceBuffer w, b;
  if (const ir::HostTensor* h = constant_of(args, 1)) w = upload(*h, dt, wsh, "weight", st);
  if (g.has_bias) {
    TRTORCH_EXPECT(args.inputs[2].shape == std::vector<int64_t>{g.N}, "bias ", shape_str(args.inputs[2].shape),
                   " must be [", g.N, "]");
    if (const ir::HostTensor* h = constant_of(args, 2)) b = upload(*h, dt, {g.N}, "bias", st);
  }
  return std::make_unique<GemmKernel>(args, std::move(g), std::move(w), std::move(b));
}

std::unique_ptr<Kernel> build_matmul(const KernelArgs& args) {
  TRTORCH_EXPECT(args.inputs.size() == 2, "expects 2 inputs, got ", args.inputs.size());
  expect_row_major(args);
  const auto& as = args.inputs[0].shape;
  const auto& bs = args.inputs[1].shape;
  const auto& ys = args.outputs[0].shape;
  TRTORCH_EXPECT(as.size() >= 2 && bs.size() >= 2 && ys.size() >= 2 && as.back() == bs[bs.size() - 2],
                 "operands ", shape_str(as), " @ ", shape_str(bs), " do not multiply");
  const int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
  TRTORCH_EXPECT(ys[ys.size() - 2] == M && ys.back() == N, "output ", shape_str(ys), " does not match ",
                 shape_str(as), " @ ", shape_str(bs));
  const size_t br = ys.size() - 2;
  TRTORCH_EXPECT(as.size() - 2 <= br && bs.size() - 2 <= br, "operand rank exceeds the output's");

  // Element offset of each operand's matrix for every output batch index (0 along broadcast dims).
  std::vector<int64_t> sa(br, 0), sb(br, 0);
  int64_t step_a = M * K, step_b = K * N;
  for (size_t d = br; d-- > 0;) {
    const size_t lead_a = br - (as.size() - 2), lead_b = br - (bs.size() - 2);
    if (d >= lead_a) {
      int64_t n = as[d - lead_a];
      TRTORCH_EXPECT(n == ys[d] || n == 1, "batch dim ", d, " of ", shape_str(as), " does not broadcast to ",
                     shape_str(ys));
      if (n != 1) sa[d] = step_a;
      step_a *= n;
    }
    if (d >= lead_b) {
      int64_t n = bs[d - lead_b];
      TRTORCH_EXPECT(n == ys[d] || n == 1, "batch dim ", d, " of ", shape_str(bs), " does not broadcast to ",
                     shape_str(ys));
      if (n != 1) sb[d] = step_b;
      step_b *= n;
    }
  }
  int64_t total = 1;
  for (size_t d = 0; d < br; ++d) total *= ys[d];
  auto offsets = [&](const std::vector<int64_t>& stride) {
    std::vector<int64_t> off(static_cast<size_t>(total));
    for (int64_t i = 0; i < total; ++i) {
      int64_t o = 0, rem = i;
      for (size_t d = br; d-- > 0;) {
        o += (rem % ys[d]) * stride[d];
        rem /= ys[d];
      }
      off[size_t(i)] = o;
    }
    return off;
  };
  const std::vector<int64_t> oa = offsets(sa), ob = offsets(sb);

  // The largest group of trailing batch dims over which both operands step by one constant
  // stride each (the same in every group): one strided-batched call per group.
  int64_t inner = 1;
  if (total > 0) {
    for (size_t k = br + 1; k-- > 0;) {
      int64_t n = 1;
      for (size_t d = br - k; d < br; ++d) n *= ys[d];
      const int64_t step_oa = n > 1 ? oa[1] - oa[0] : 0, step_ob = n > 1 ? ob[1] - ob[0] : 0;
      bool ok = true;
      for (int64_t i = 0; i < total && ok; ++i) {
        const int64_t first = i - i % n;
        ok = oa[size_t(i)] == oa[size_t(first)] + (i % n) * step_oa &&
             ob[size_t(i)] == ob[size_t(first)] + (i % n) * step_ob;
      }
      if (ok) {
        inner = n;
        break;
      }
    }
  }

  GemmSpec g;
  g.op = "matmul";
  g.M = M;
  g.N = N;
  g.K = K;
  g.out_rows = total * M;
  g.out_cols = N;
  g.a_input = 1;  // cuBLASLt's A is the second operand (B^T in column-major terms)
  g.b_input = 0;
  LtShape& s = g.shape;
  s.dtype = args.inputs[0].dtype;
  s.trans_a = false;
  s.rows = N;
  s.cols = M;
  s.depth = K;
  s.lda = std::max<int64_t>(N, 1);
  s.ldb = std::max<int64_t>(K, 1);
  s.ldd = std::max<int64_t>(N, 1);
  const int64_t stride_a = inner > 1 ? oa[1] - oa[0] : 0;  // first operand's batch stride
  const int64_t stride_b = inner > 1 ? ob[1] - ob[0] : 0;
  if (inner > 1 && stride_b == 0 && stride_a == M * K) {
    s.cols = inner * M;  // second operand shared by the whole group: one GEMM with M' = inner * M
  } else if (inner > 1) {
    s.batch = inner;
    s.stride_a = stride_b;
    s.stride_b = stride_a;
    s.stride_d = M * N;
  }
  g.off_a.clear();
  g.off_b.clear();
  g.off_d.clear();
  if (total == 0) {
    s.batch = 0;  // an empty output: nothing to launch
    g.off_a = g.off_b = g.off_d = {0};
  }
  for (int64_t o = 0; o < total / inner; ++o) {
    g.off_a.push_back(ob[size_t(o * inner)]);
    g.off_b.push_back(oa[size_t(o * inner)]);
    g.off_d.push_back(o * inner * M * N);
  }
  // Pointer alignment every call keeps, given kBaseAlignment-aligned buffers.
  const int64_t es = int64_t(ir::dtype_size(s.dtype));
  auto align_of = [&](const std::vector<int64_t>& off) {
    int64_t al = kBaseAlignment;
    for (int64_t o : off) al = std::gcd(al, o * es);
    return uint32_t(al == 0 ? kBaseAlignment : al);
  };
  s.align_a = align_of(g.off_a);
  s.align_b = align_of(g.off_b);
  s.align_d = align_of(g.off_d);
  return std::make_unique<GemmKernel>(args, std::move(g), DeviceBuffer(), DeviceBuffer());
}

}  // namespace

std::unique_ptr<Kernel> make_Linear(const KernelArgs& args) {
  try {
    return build_linear(args);
  } catch (const Error& e) {
    TRTORCH_ERROR(node_label(args.node), ": ", e.what());
  }
}

std::unique_ptr<Kernel> make_MatMul(const KernelArgs& args) {
  try {
    return build_matmul(args);
  } catch (const Error& e) {
    TRTORCH_ERROR(node_label(args.node), ": ", e.what());
  }
}

}  // namespace trtorch::backends::cuda
