// Internal declarations of the GEMM kernels (Linear and MatMul), shared by their files:
//   gemm.cpp          the kernel: launch, construction from a recorded tactic, make_Linear/make_MatMul
//   gemm_tactics.cpp  build-time choice: cuBLASLt heuristic candidates, CUTLASS configs, timing,
//                     and the tactic strings
//   gemm_spec.cpp     what a Linear or MatMul node asks of the GEMM (GemmSpec)
// gemm.cpp explains how the ops map onto cuBLASLt and CUTLASS and what the tactics hold.
#pragma once

#include <cublasLt.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/backends/cuda/common/context.h"
#include "core/backends/cuda/common/kernel.h"
#include "core/backends/cuda/gemm/gemm_cutlass.h"

namespace trtorch::backends::cuda::gemm {

using ir::DType;
using ir::UnaryKind;
// A constant's device copy, shared with the engine's other executors (packed_constant()).
using DeviceCopy = std::shared_ptr<const DeviceBuffer>;

constexpr uint32_t kBaseAlignment = 256;
constexpr int kMaxCandidates = 8;
constexpr size_t kWorkspaceCap = size_t(32) << 20;  // more never helped a GEMM of these sizes
constexpr const char* kCublasLtTag = "cublasLt.v1";
constexpr const char* kCutlassTag = "cutlass.v1";

cudaDataType_t cuda_type(DType t);
inline cublasComputeType_t compute_type(bool tf32) {
  return tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
}
// "Linear node 'model.py:12 fc'", the prefix of the node's errors.
std::string node_label(const ir::Node& n);
std::string shape_str(const std::vector<int64_t>& s);

// ---- epilogues -----------------------------------------------------------------------------

enum class Epi : uint8_t { kNone, kBias, kRelu, kBiasRelu, kGeluTanh, kBiasGeluTanh };

struct EpiInfo {
  Epi epi;
  const char* name;
  cublasLtEpilogue_t lt;
  bool bias;  // cuBLASLt adds the bias
  bool act;   // cuBLASLt applies the node's activation
};

inline constexpr EpiInfo kEpis[] = {
    {Epi::kNone, "none", CUBLASLT_EPILOGUE_DEFAULT, false, false},
    {Epi::kBias, "bias", CUBLASLT_EPILOGUE_BIAS, true, false},
    {Epi::kRelu, "relu", CUBLASLT_EPILOGUE_RELU, false, true},
    {Epi::kBiasRelu, "bias+relu", CUBLASLT_EPILOGUE_RELU_BIAS, true, true},
    // cuBLASLt's GELU is the tanh approximation: used only for gelu_tanh.
    {Epi::kGeluTanh, "gelu_tanh", CUBLASLT_EPILOGUE_GELU, false, true},
    {Epi::kBiasGeluTanh, "bias+gelu_tanh", CUBLASLT_EPILOGUE_GELU_BIAS, true, true},
};

const EpiInfo& epi_info(Epi e);

// The cuBLASLt epilogues that can serve a node, preferred (most fused) first; the last one
// always exists (the post kernel does what cuBLASLt does not).
std::vector<Epi> epilogue_candidates(bool has_bias, bool has_act, UnaryKind act);

// ---- cuBLASLt descriptors ------------------------------------------------------------------

struct LayoutDeleter {
  void operator()(cublasLtMatrixLayoutOpaque_t* p) const { cublasLtMatrixLayoutDestroy(p); }
};
struct DescDeleter {
  void operator()(cublasLtMatmulDescOpaque_t* p) const { cublasLtMatmulDescDestroy(p); }
};
using LayoutPtr = std::unique_ptr<cublasLtMatrixLayoutOpaque_t, LayoutDeleter>;
using DescPtr = std::unique_ptr<cublasLtMatmulDescOpaque_t, DescDeleter>;

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

// True when the algorithm does not split K, or adds the partial sums in the FP32 compute type.
bool fp32_split_reduction(const cublasLtMatmulAlgo_t& a);

// The descriptors of one (shape, epilogue, compute type) combination.
class LtMatmul {
 public:
  LtMatmul(const LtShape& s, Epi epi, cublasComputeType_t compute);

  // Sets the bias pointer (host-side descriptor state only; skipped when unchanged).
  void set_bias(const void* bias);

  // Build time (gemm_tactics.cpp): up to kMaxCandidates algorithms from cuBLASLt's heuristic,
  // fastest predicted first. The bias pointer must be set first: the heuristic reads its
  // alignment from it.
  std::vector<cublasLtMatmulHeuristicResult_t> heuristic(cublasLtHandle_t h, size_t max_ws);

  // Load time: whether cuBLASLt accepts `algo` for these descriptors, and its workspace.
  cublasStatus_t check(cublasLtHandle_t h, const cublasLtMatmulAlgo_t& algo, size_t* ws_needed);

  void run(cublasLtHandle_t h, const cublasLtMatmulAlgo_t& algo, const void* a, const void* b, void* d, void* ws,
           size_t ws_bytes, cudaStream_t stream);

  Epi epi() const { return epi_; }

 private:
  LtShape shape_;
  Epi epi_;
  DescPtr desc_;
  LayoutPtr a_, b_, d_;
  const void* bias_ = nullptr;
  const float one_ = 1.0f, zero_ = 0.0f;
};

// ---- tactics (their strings: gemm_tactics.cpp) ---------------------------------------------

// A cuBLASLt algorithm.
struct LtTactic {
  size_t lib = 0;
  DType dtype = DType::kFloat32;
  int64_t rows = 0, cols = 0, depth = 0, batch = 1;
  Epi epi = Epi::kNone;
  bool tf32 = false;
  size_t ws = 0;
  cublasLtMatmulAlgo_t algo{};

  std::string str() const;
  // Throws an error that quotes `text` when it is not a well-formed cublasLt tactic.
  static LtTactic parse(const std::string& text);
};

// A CUTLASS kernel of gemm_cutlass.cu: Linear with the erf GELU (and its bias) in the epilogue.
struct CutlassTactic {
  static constexpr UnaryKind kAct = UnaryKind::kGeluErf;
  DType dtype = DType::kFloat16;
  int64_t M = 0, N = 0, K = 0;  // the row-major problem
  cutlass_gemm::Config config = cutlass_gemm::Config::k128x128x64Coop;
  size_t ws = 0;

  std::string str() const;
  // Throws an error that quotes `text` when it is not a well-formed cutlass tactic.
  static CutlassTactic parse(const std::string& text);
};

// The tag of a tactic string (what precedes its first ';').
std::string tactic_tag(const std::string& text);

// ---- the kernel ------------------------------------------------------------------------------

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

// The spec of a Linear node, with its weight and bias uploaded where they are host constants
// (gemm_spec.cpp).
GemmSpec linear_spec(const KernelArgs& args, DeviceCopy* weight, DeviceCopy* bias);
// The spec of a MatMul node (numpy-broadcast batch dims).
GemmSpec matmul_spec(const KernelArgs& args);

// One Linear or MatMul node: a cuBLASLt algorithm (then the post kernel for what its epilogue
// lacks), or, for a Linear with the erf GELU, a CUTLASS kernel with the whole epilogue fused.
// Built with a tactic it loads that (gemm.cpp); without, it chooses by timing (gemm_tactics.cpp).
class GemmKernel final : public Kernel {
 public:
  GemmKernel(const KernelArgs& args, GemmSpec spec, DeviceCopy weight, DeviceCopy bias);

  size_t scratch_bytes() const override { return cutlass_ ? cutlass_->ws : tactic_.ws; }
  std::string tactic() const override;
  std::string describe() const override;
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void* scratch,
              cudaStream_t stream) override;

 private:
  struct TimingData;  // random operands and buffers for timing candidates (gemm_tactics.cpp)

  // Launch (gemm.cpp).
  const void* operand(const std::vector<const void*>& in, int idx, const DeviceCopy& own) const;
  void run(const std::vector<const void*>& in, const std::vector<void*>& out, void* scratch, size_t scratch_bytes,
           cudaStream_t stream, const cublasLtMatmulAlgo_t& algo);
  void run_cutlass(const std::vector<const void*>& in, const std::vector<void*>& out, void* scratch,
                   size_t scratch_bytes, cudaStream_t stream, cutlass_gemm::Config config);
  void set_epilogue(Epi e);
  bool cutlass_fits() const;

  // Build time (gemm_tactics.cpp).
  void choose(const KernelArgs& args);
  float choose_cublaslt(const TacticOptions& opt, bool tf32, size_t max_ws, TimingData& d, std::string* skipped);
  void choose_cutlass(const TacticOptions& opt, size_t max_ws, TimingData& d, float* best_ms);

  // Load time (gemm.cpp).
  // `other_shape` (KernelArgs::other_shape): a tactic chosen for this node at another shape (a
  // dynamic engine's opt shape) keeps its algorithm / config where it takes this shape and fits
  // the workspace the tactic grants; otherwise the error lets the executor choose again.
  void load(const std::string& text, bool other_shape = false);
  void load_cutlass(const std::string& text, bool other_shape = false);
  bool known_algo_id(const LtTactic& t) const;

  // Descriptions (gemm.cpp).
  std::string problem_str() const;
  std::string make_description() const;

  Context& ctx_;
  std::string label_;
  GemmSpec spec_;
  DeviceCopy weight_, bias_;  // uploaded constants (null when read from the inputs)
  bool degenerate_ = false;
  std::unique_ptr<LtMatmul> gemm_;
  Epi epi_ = Epi::kNone;
  bool post_bias_ = false, post_act_ = false;
  LtTactic tactic_;
  std::optional<CutlassTactic> cutlass_;  // set when a CUTLASS kernel runs the node (then tactic_ is unused)
  float best_ms_ = -1.0f;
  std::string describe_;
};

}  // namespace trtorch::backends::cuda::gemm
