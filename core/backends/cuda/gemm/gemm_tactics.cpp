// Build-time choice of the GEMM kernels (see gemm.cpp): the candidates (cuBLASLt's heuristic
// algorithms for the most fused epilogue it supports, and the CUTLASS configs that fit), their
// timing on random data, and the tactic strings that record the winner.
#include <cublasLt.h>

#include <algorithm>
#include <limits>

#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/tactic.h"
#include "core/backends/cuda/conv/conv_epilogue.h"
#include "core/backends/cuda/gemm/gemm.h"

namespace trtorch::backends::cuda::gemm {

// ---- candidates ------------------------------------------------------------------------------

std::vector<Epi> epilogue_candidates(bool has_bias, bool has_act, UnaryKind act) {
  std::vector<Epi> c;
  if (has_act && act == UnaryKind::kRelu) c.push_back(has_bias ? Epi::kBiasRelu : Epi::kRelu);
  if (has_act && act == UnaryKind::kGeluTanh) c.push_back(has_bias ? Epi::kBiasGeluTanh : Epi::kGeluTanh);
  if (has_bias) c.push_back(Epi::kBias);
  c.push_back(Epi::kNone);
  return c;
}

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

namespace {

struct PrefDeleter {
  void operator()(cublasLtMatmulPreferenceOpaque_t* p) const { cublasLtMatmulPreferenceDestroy(p); }
};
using PrefPtr = std::unique_ptr<cublasLtMatmulPreferenceOpaque_t, PrefDeleter>;

}  // namespace

std::vector<cublasLtMatmulHeuristicResult_t> LtMatmul::heuristic(cublasLtHandle_t h, size_t max_ws) {
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
    TRTORCH_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(p, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &scheme,
                                                              sizeof(scheme)));
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

// ---- tactic strings --------------------------------------------------------------------------

namespace {

DType tactic_dtype(const std::string& v) {
  for (DType d : {DType::kFloat32, DType::kFloat16, DType::kBFloat16})
    if (v == dtype_short(d)) return d;
  TRTORCH_ERROR("unknown dtype '", v, "'");
}

// The fields of a tactic tagged `tag`: exactly `keys`, each once.
TacticFields tactic_fields(const std::string& text, const char* tag, std::initializer_list<const char*> keys) {
  TacticFields f = TacticFields::parse(text);
  TRTORCH_EXPECT(f.tag() == tag, "it does not start with '", tag, "'");
  f.expect_keys(keys);
  return f;
}

// Parses a tactic with `parse`, or throws an error that quotes it.
template <class F>
auto read_tactic(const std::string& text, F&& parse) {
  try {
    return parse();
  } catch (const Error& e) {
    TRTORCH_ERROR("cannot read GEMM tactic '", text, "': ", e.what());
  }
}

// The 8 words of a cuBLASLt algorithm: 16 hex digits each, joined by '.'.
std::string algo_words(const cublasLtMatmulAlgo_t& algo) {
  std::string s;
  for (int i = 0; i < 8; ++i) s += (i ? "." : "") + hex64(algo.data[i]);
  return s;
}

cublasLtMatmulAlgo_t parse_algo_words(const std::string& a) {
  cublasLtMatmulAlgo_t algo{};
  TRTORCH_EXPECT(a.size() == 8 * 17 - 1, "algo must be 8 words of 16 hex digits joined by '.', got '", a, "'");
  for (int i = 0; i < 8; ++i) {
    TRTORCH_EXPECT(i == 7 || a[size_t(i) * 17 + 16] == '.', "algo words must be joined by '.'");
    const std::string word = a.substr(size_t(i) * 17, 16);
    uint64_t x = 0;
    TRTORCH_EXPECT(parse_uint(word, &x, 16), "field algo='", word, "' is not a number");
    algo.data[i] = x;
  }
  return algo;
}

}  // namespace

std::string tactic_tag(const std::string& text) { return text.substr(0, text.find(';')); }

std::string LtTactic::str() const {
  return TacticFields(kCublasLtTag)
      .add("lib", lib)
      .add("dtype", dtype_short(dtype))
      .add("rows", rows)
      .add("cols", cols)
      .add("depth", depth)
      .add("batch", batch)
      .add("epi", epi_info(epi).name)
      .add("compute", tf32 ? "tf32" : "32f")
      .add("ws", ws)
      .add("algo", algo_words(algo))
      .format();
}

LtTactic LtTactic::parse(const std::string& text) {
  return read_tactic(text, [&] {
    const TacticFields f = tactic_fields(
        text, kCublasLtTag, {"lib", "dtype", "rows", "cols", "depth", "batch", "epi", "compute", "ws", "algo"});
    LtTactic t;
    t.lib = size_t(f.get_uint("lib"));
    t.dtype = tactic_dtype(f.get("dtype"));
    t.rows = int64_t(f.get_uint("rows"));
    t.cols = int64_t(f.get_uint("cols"));
    t.depth = int64_t(f.get_uint("depth"));
    t.batch = int64_t(f.get_uint("batch"));
    bool epi_ok = false;
    for (const EpiInfo& e : kEpis)
      if (f.get("epi") == e.name) t.epi = e.epi, epi_ok = true;
    TRTORCH_EXPECT(epi_ok, "unknown epilogue '", f.get("epi"), "'");
    const std::string& compute = f.get("compute");
    TRTORCH_EXPECT(compute == "32f" || compute == "tf32", "unknown compute type '", compute, "'");
    t.tf32 = compute == "tf32";
    t.ws = size_t(f.get_uint("ws"));
    t.algo = parse_algo_words(f.get("algo"));
    return t;
  });
}

std::string CutlassTactic::str() const {
  return TacticFields(kCutlassTag)
      .add("dtype", dtype_short(dtype))
      .add("M", M)
      .add("N", N)
      .add("K", K)
      .add("act", ir::unary_kind_name(kAct))
      .add("config", cutlass_gemm::config_name(config))
      .add("ws", ws)
      .format();
}

CutlassTactic CutlassTactic::parse(const std::string& text) {
  return read_tactic(text, [&] {
    const TacticFields f = tactic_fields(text, kCutlassTag, {"dtype", "M", "N", "K", "act", "config", "ws"});
    CutlassTactic t;
    t.dtype = tactic_dtype(f.get("dtype"));
    t.M = int64_t(f.get_uint("M"));
    t.N = int64_t(f.get_uint("N"));
    t.K = int64_t(f.get_uint("K"));
    TRTORCH_EXPECT(f.get("act") == ir::unary_kind_name(kAct), "unknown activation '", f.get("act"),
                   "' (the CUTLASS kernels apply ", ir::unary_kind_name(kAct), ")");
    TRTORCH_EXPECT(cutlass_gemm::config_from_name(f.get("config"), &t.config), "unknown CUTLASS config '",
                   f.get("config"), "'");
    t.ws = size_t(f.get_uint("ws"));
    return t;
  });
}

// ---- timing ----------------------------------------------------------------------------------

namespace {

// The median time of `fn` with the build's timing iterations, or infinity when it fails to run.
template <class F>
float time_candidate(Context& ctx, const TacticOptions& opt, F&& fn) {
  try {
    return time_ms(ctx, opt.min_timing_iters, opt.avg_timing_iters, fn);
  } catch (const Error&) {
    cudaGetLastError();
    return std::numeric_limits<float>::infinity();
  }
}

}  // namespace

// Random operands for timing (weights and constant biases are the real ones), the output and
// the largest workspace a candidate may use.
struct GemmKernel::TimingData {
  std::vector<DeviceBuffer> bufs;
  std::vector<const void*> in;
  DeviceBuffer out, ws;
  std::vector<void*> outs;
  const void* bias = nullptr;
};

// Build time: every candidate algorithm of the most fused epilogue cuBLASLt supports, and every
// CUTLASS config that fits, timed whole (post kernel included) on random data; the fastest wins.
void GemmKernel::choose(const KernelArgs& args) {
  const LtShape& s = spec_.shape;
  const TacticOptions defaults;
  const TacticOptions& opt = args.timing ? *args.timing : defaults;
  const bool tf32 = s.dtype == DType::kFloat32 && opt.allow_tf32;
  const size_t max_ws = std::min(opt.max_scratch_bytes, kWorkspaceCap);
  cudaStream_t st = ctx_.stream();

  TimingData d;
  d.in.assign(args.inputs.size(), nullptr);
  for (size_t i = 0; i < args.inputs.size(); ++i) {
    bool own = (int(i) == spec_.a_input && weight_) || (int(i) == spec_.bias_input && bias_);
    if (own) continue;
    d.bufs.emplace_back(std::max<size_t>(args.inputs[i].bytes(), 1));
    launch_fill_random(d.bufs.back().get(), s.dtype, args.inputs[i].numel(), uint32_t(1234 + i), st);
    d.in[i] = d.bufs.back().get();
  }
  d.out = DeviceBuffer(std::max<size_t>(args.outputs[0].bytes(), 1));
  d.ws = DeviceBuffer(max_ws);
  d.bias = spec_.has_bias ? operand(d.in, spec_.bias_input, bias_) : nullptr;
  d.outs = {d.out.get()};

  std::string skipped;
  float best_ms = choose_cublaslt(opt, tf32, max_ws, d, &skipped);
  if (cutlass_fits()) choose_cutlass(opt, max_ws, d, &best_ms);
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

// Times the heuristic's algorithms of the first epilogue (most fused first) that has one that
// runs; leaves gemm_, the epilogue and tactic_'s algorithm at the fastest and returns its time
// (infinity when none runs). `skipped` lists the epilogues cuBLASLt has no algorithm for.
float GemmKernel::choose_cublaslt(const TacticOptions& opt, bool tf32, size_t max_ws, TimingData& d,
                                  std::string* skipped) {
  float best_ms = std::numeric_limits<float>::infinity();
  for (Epi epi : epilogue_candidates(spec_.has_bias, spec_.has_act, spec_.act)) {
    auto m = std::make_unique<LtMatmul>(spec_.shape, epi, compute_type(tf32));
    m->set_bias(d.bias);
    auto algos = m->heuristic(ctx_.cublaslt(), max_ws);
    if (algos.empty()) {
      *skipped += str_cat(skipped->empty() ? "" : ", ", epi_info(epi).name);
      continue;
    }
    gemm_ = std::move(m);
    set_epilogue(epi);
    for (const auto& h : algos) {
      // An algorithm the heuristic offered but that refuses to run times as infinity.
      const float ms =
          time_candidate(ctx_, opt, [&](cudaStream_t ts) { run(d.in, d.outs, d.ws.get(), max_ws, ts, h.algo); });
      if (ms < best_ms) {
        best_ms = ms;
        tactic_.algo = h.algo;
        tactic_.ws = h.workspaceSize;
      }
    }
    if (best_ms < std::numeric_limits<float>::infinity()) break;
    gemm_.reset();
  }
  return best_ms;
}

// Times every CUTLASS config whose workspace fits; sets cutlass_ to one faster than `*best_ms`.
void GemmKernel::choose_cutlass(const TacticOptions& opt, size_t max_ws, TimingData& d, float* best_ms) {
  const int sms = ctx_.props().multiProcessorCount;
  for (int c = 0; c < cutlass_gemm::kNumConfigs; ++c) {
    CutlassTactic t;
    t.dtype = spec_.shape.dtype;
    t.M = spec_.M;
    t.N = spec_.N;
    t.K = spec_.K;
    t.config = cutlass_gemm::Config(c);
    t.ws = cutlass_gemm::workspace_bytes(t.config, t.dtype, t.M, t.N, t.K, sms);
    if (t.ws > max_ws) continue;
    const float ms = time_candidate(
        ctx_, opt, [&](cudaStream_t ts) { run_cutlass(d.in, d.outs, d.ws.get(), max_ws, ts, t.config); });
    if (ms < *best_ms) {
      *best_ms = ms;
      cutlass_ = t;
    }
  }
}

}  // namespace trtorch::backends::cuda::gemm
