// Conv2d on cuDNN through the cudnn-frontend graph API.
//
// One cuDNN graph per node: conv_fprop, then the node's epilogue (bias add, residual add,
// activation) as pointwise ops fused into the same graph. When cuDNN cannot fuse a stage (no
// pointwise mode for hardswish/hardsigmoid, or no engine for the fused pattern) the graph stops
// before it and the remaining stages run in one elementwise kernel (conv_epilogue.cu), so the
// result always follows out = act(conv(x, w) + b + residual).
//
// Tactics. At build time (KernelArgs::tactic null) the engine configs that cuDNN's heuristics
// (modes A and FALLBACK) propose for the most fused graph are built, timed on random device data,
// and ranked; when none of them passes the checks below, the graph with one stage fewer is tried
// (activation, then residual, then bias go to the epilogue kernel), and the build fails only when
// no fusion has a config that passes. In FP32 the convolution alone (every stage in the epilogue
// kernel) then competes on time with the fusion accepted, its time the convolution's plus the
// epilogue kernel's, and the faster is kept. In FP16/BF16 a config that rounds the convolution
// before its fused stages ranks as if slower (see kInexactPenalty). tactic() records the fusion
// and config chosen as text, e.g.
//   cudnn-conv;v=2;cudnn=91900;sig=3f0c2a9d81e4b7c5;tf32=0;fuse=bra;engine=26;knobs=13:1,14:3
//   v       format version of this string
//   cudnn   cudnnGetVersion() of the library that chose it (engine ids are per library)
//   sig     hash of the convolution problem (shapes, dtype, layout, attributes)
//   tf32    whether TF32 tensor cores were allowed (FP32 only)
//   fuse    the epilogue stages inside the cuDNN graph: b(ias) r(esidual) a(ctivation), or "none"
//   engine  cuDNN global engine id
//   knobs   every knob choice of the engine config as type:value, sorted by type, the type in
//           cuDNN's backend numbering (cudnnBackendKnobType_t), exactly as the plan name
//           (eng26_k13=1_k14=3) reports it. v=1 strings recorded cudnn_frontend::KnobType_t
//           numbers (a lossy mapping: backend knobs the frontend cannot name were dropped); they
//           still load, converted.
// A load (rebuild) runs the heuristics query again and builds the proposed config whose engine
// and knobs equal the recorded ones (the same kind of object that was timed); when the heuristics
// propose no such config it creates it from the engine id and knobs. Either way the built config
// must name exactly the recorded engine and knobs, else the load fails with a trtorch::Error
// naming the node. No timing.
// The build records only a config that computes the right output and survives that load path.
// Fastest first, the timed plan's output (NaN-filled first, the graph alone, before the epilogue
// kernel) is compared with a direct convolution computing the same stages (conv_reference.h; a
// runtime-fusion engine was seen to compute a wrong output deterministically); then the config is
// rebuilt from its own tactic on a fresh graph, run on the same data and compared with the timed
// plan. A config that is wrong, does not rebuild, names another config after the rebuild, fails
// to execute or computes something else after the rebuild is passed over for the next fastest.
// The kernel then runs the rebuilt plan, so a built kernel and one loaded from its tactic run the
// same construction. Convolutions over kMaxReferenceMacs skip the direct convolution (its cost)
// and say so in describe().
//
#include "core/backends/cuda/common/cudnn_frontend_include.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <system_error>
#include <thread>
#include <unordered_map>

#include "core/backends/cuda/common/context.h"
#include "core/backends/cuda/conv/conv_epilogue.h"
#include "core/backends/cuda/conv/conv_reference.h"
#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/kernel.h"
#include "core/backends/cuda/common/nhwc_kernels.h"
#include "core/backends/cuda/common/tactic.h"
#include "core/ir/dtype.h"
#include "core/util/error.h"

namespace trtorch::backends::cuda {

namespace {

namespace fe = cudnn_frontend;
using ir::DType;
using ir::UnaryKind;

constexpr int kTacticVersion = 2;
// Older format versions that still load (v=1: knob types in cudnn_frontend::KnobType_t numbers).
constexpr int kOldestTacticVersion = 1;
// Most engine configs built and timed per fusion: each build may compile a kernel (runtime
// fusion). TRTORCH_CONV_CANDIDATES (1 to 16) overrides it, for measuring what the search costs
// and gains.
constexpr size_t kMaxCandidates = 6;
// A count read from environment variable `var` (lo to hi), or `fallback` when it is unset.
size_t env_count(const char* var, size_t fallback, int64_t lo, int64_t hi) {
  const char* env = std::getenv(var);
  if (!env) return fallback;
  int64_t v = 0;
  TRTORCH_EXPECT(parse_int(env, &v) && v >= lo && v <= hi, var, " must be ", lo, " to ", hi, ", got \"", env, "\"");
  return size_t(v);
}
size_t max_candidates() {
  static const size_t n = env_count("TRTORCH_CONV_CANDIDATES", kMaxCandidates, 1, 16);
  return n;
}
// Largest convolution (multiply-adds) whose engine configs are checked against the direct
// convolution: that kernel is simple and slow (H100, FP16: about 2e12 multiply-adds/s NCHW,
// 2.5e11 NHWC), and runs once per node at build time, so at most about 0.1 s. Every convolution
// of ResNet-50 at batch 32 is under it (the largest about 3.7e9); VGG-16's widest layers at
// batch 32 (3e10 to 6e10) are not.
constexpr double kMaxReferenceMacs = 2e10;
// FP16/BF16 plans: the largest share of output elements that may differ from the direct
// convolution's for a plan to count as rounding once, and the rank penalty of one that does not.
constexpr double kExactMismatch = 0.02;
constexpr double kInexactPenalty = 1.15;
// Bounds on the reasons a build failure lists: per reason, and per fusion.
constexpr size_t kMaxReasonLineChars = 400;
constexpr size_t kMaxReasonChars = 2000;

// Tensor uids of the cuDNN graph.
enum : int64_t { kUidX = 1, kUidW = 2, kUidB = 3, kUidR = 4, kUidY = 5 };

// ---------------------------------------------------------------------------------------------
// The problem

struct ConvProblem {
  int64_t N = 0, C = 0, H = 0, W = 0;   // x
  int64_t K = 0, Cg = 0, R = 0, S = 0;  // w [K, C/groups, R, S]
  int64_t OH = 0, OW = 0;
  int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1, groups = 1;
  DType dtype = DType::kFloat32;
  DType bias_dtype = DType::kFloat32;  // dtype, or FP32 (a bias kept in FP32 in an FP16/BF16 conv)
  Layout layout = Layout::kRowMajor;
  bool has_bias = false, has_residual = false, has_act = false;
  UnaryKind act = UnaryKind::kRelu;
  float alpha = 0.0f, beta = 0.0f;

  int64_t x_numel() const { return N * C * H * W; }
  int64_t y_numel() const { return N * K * OH * OW; }

  std::string signature() const {
    return str_cat("x=", N, "x", C, "x", H, "x", W, ";w=", K, "x", Cg, "x", R, "x", S, ";y=", OH, "x", OW, ";s=", sh,
                   ",", sw, ";p=", ph, ",", pw, ";d=", dh, ",", dw, ";g=", groups, ";t=", int(dtype),
                   ";l=", int(layout), ";b=", has_bias, ";r=", has_residual, ";a=", has_act ? int(act) : -1, ",", alpha,
                   ",", beta, has_bias && bias_dtype != dtype ? str_cat(";bt=", int(bias_dtype)) : std::string());
  }
};

const char* dtype_short(DType t) {
  switch (t) {
    case DType::kFloat32: return "f32";
    case DType::kFloat16: return "f16";
    case DType::kBFloat16: return "bf16";
    default: return ir::dtype_name(t);
  }
}

fe::DataType_t fe_dtype(DType t) {
  switch (t) {
    case DType::kFloat32: return fe::DataType_t::FLOAT;
    case DType::kFloat16: return fe::DataType_t::HALF;
    case DType::kBFloat16: return fe::DataType_t::BFLOAT16;
    default: TRTORCH_ERROR("cuDNN conv: unsupported dtype ", ir::dtype_name(t));
  }
}

// Strides of a logical [n, c, h, w] activation in the given layout.
std::vector<int64_t> act_strides(int64_t c, int64_t h, int64_t w, Layout l) {
  if (l == Layout::kNHWC) return {h * w * c, 1, w * c, c};
  return {c * h * w, h * w, w, 1};
}

// ---------------------------------------------------------------------------------------------
// Epilogue stages and how many of them cuDNN runs

// The stages inside the cuDNN graph; the rest run in launch_conv_epilogue. Always a prefix of
// the present stages in order bias, residual, activation.
struct Fusion {
  bool bias = false, residual = false, act = false;

  std::string code() const {
    std::string c = std::string(bias ? "b" : "") + (residual ? "r" : "") + (act ? "a" : "");
    return c.empty() ? "none" : c;
  }
  bool operator==(const Fusion& o) const { return bias == o.bias && residual == o.residual && act == o.act; }
};

// The cuDNN pointwise op computing `act` exactly as PyTorch defines it; false when cuDNN has none.
bool cudnn_activation(UnaryKind k, float alpha, float beta, fe::graph::Pointwise_attributes* pw) {
  using M = fe::PointwiseMode_t;
  // RELU_FWD: y = upper if x >= upper; x if lower < x < upper; lower + slope * (x - lower) if x <= lower.
  auto finite = [](float v) { return std::isfinite(v) ? v : (v > 0 ? FLT_MAX : -FLT_MAX); };
  switch (k) {
    case UnaryKind::kRelu: pw->set_mode(M::RELU_FWD).set_relu_lower_clip(0.0f); return true;
    case UnaryKind::kSigmoid: pw->set_mode(M::SIGMOID_FWD); return true;
    case UnaryKind::kTanh: pw->set_mode(M::TANH_FWD); return true;
    // SWISH_FWD is not used: an engine fusing it (EfficientNet-B0's squeeze-excitation 1x1
    // convolution, FP16, H200, cuDNN 9.19) turned finite inputs into NaN; SiLU runs in the
    // epilogue kernel instead.
    case UnaryKind::kSilu: return false;
    case UnaryKind::kGeluErf: pw->set_mode(M::GELU_FWD); return true;
    case UnaryKind::kGeluTanh: pw->set_mode(M::GELU_APPROX_TANH_FWD); return true;
    case UnaryKind::kLeakyRelu:
      pw->set_mode(M::RELU_FWD).set_relu_lower_clip(0.0f).set_relu_lower_clip_slope(alpha);
      return true;
    case UnaryKind::kElu: pw->set_mode(M::ELU_FWD).set_elu_alpha(alpha); return true;
    case UnaryKind::kClamp:
      if (!(alpha <= beta)) return false;  // min > max (or NaN): PyTorch's rule, done by the epilogue kernel
      pw->set_mode(M::RELU_FWD)
          .set_relu_lower_clip(finite(alpha))
          .set_relu_upper_clip(finite(beta))
          .set_relu_lower_clip_slope(0.0f);
      return true;
    case UnaryKind::kExp: pw->set_mode(M::EXP); return true;
    case UnaryKind::kLog: pw->set_mode(M::LOG); return true;
    case UnaryKind::kSqrt: pw->set_mode(M::SQRT); return true;
    case UnaryKind::kRsqrt: pw->set_mode(M::RSQRT); return true;
    case UnaryKind::kNeg: pw->set_mode(M::NEG); return true;
    case UnaryKind::kAbs: pw->set_mode(M::ABS); return true;
    case UnaryKind::kErf: pw->set_mode(M::ERF); return true;
    case UnaryKind::kReciprocal: pw->set_mode(M::RECIPROCAL); return true;
    case UnaryKind::kHardSigmoid:  // no cuDNN pointwise mode
    case UnaryKind::kHardSwish:
    default: return false;
  }
}

const char* act_label(UnaryKind k) { return ir::unary_kind_name(k); }

// Fusions to try, most fused first.
std::vector<Fusion> fusion_candidates(const ConvProblem& p) {
  std::vector<Fusion> out;
  fe::graph::Pointwise_attributes probe;
  const bool act_ok = p.has_act && cudnn_activation(p.act, p.alpha, p.beta, &probe);
  Fusion f{p.has_bias, p.has_residual, act_ok};
  // Peel stages from the end: activation, then residual, then bias.
  out.push_back(f);
  if (f.act) {
    f.act = false;
    out.push_back(f);
  }
  if (f.residual) {
    f.residual = false;
    out.push_back(f);
  }
  if (f.bias) {
    f.bias = false;
    out.push_back(f);
  }
  return out;
}

// Engine configs whose numerics the node does not allow: inputs converted to a narrower type,
// accumulation below FP32, FFT and Winograd transforms (their rounding error, amplified through
// a deep network in FP16, reached 4% of the output on ResNet-50 at batch 32), and for FP32
// tensor cores (TF32) unless allowed.
std::vector<fe::NumericalNote_t> barred_notes(DType t, bool tf32) {
  std::vector<fe::NumericalNote_t> notes{fe::NumericalNote_t::DOWN_CONVERT_INPUTS,
                                         fe::NumericalNote_t::REDUCED_PRECISION_REDUCTION,
                                         fe::NumericalNote_t::FFT,
                                         fe::NumericalNote_t::WINOGRAD,
                                         fe::NumericalNote_t::WINOGRAD_TILE_4x4,
                                         fe::NumericalNote_t::WINOGRAD_TILE_6x6,
                                         fe::NumericalNote_t::WINOGRAD_TILE_13x13};
  if (t == DType::kFloat32 && !tf32) notes.push_back(fe::NumericalNote_t::TENSOR_CORE);
  return notes;
}

// ---------------------------------------------------------------------------------------------
// Engine configs and the tactic string

// One cuDNN engine config: the global engine id and every knob choice, knob types in cuDNN's
// backend numbering (cudnnBackendKnobType_t), sorted by type.
struct EngineConfigId {
  int64_t engine = -1;
  std::vector<std::pair<int64_t, int64_t>> knobs;

  bool operator==(const EngineConfigId& o) const { return engine == o.engine && knobs == o.knobs; }
  bool operator!=(const EngineConfigId& o) const { return !(*this == o); }
  std::string knob_text() const {
    std::string k;
    for (const auto& [type, value] : knobs) k += str_cat(k.empty() ? "" : ",", type, ":", value);
    return k;
  }
};

// Reads a plan name of cudnn-frontend (Graph::get_plan_name_at_index, i.e. detail::get_engine_tag:
// "eng<id>" then "_k<type>=<value>" per knob choice, the backend's knob numbering, sorted). The
// name reads the engine config's own backend attributes, so it carries every knob, also those
// cudnn_frontend::KnobType_t has no name for (get_engine_and_knobs_at_index maps all of those to
// NOT_SET, and several of them to the same key). Null when the name is not of that form.
std::optional<EngineConfigId> parse_plan_name(const std::string& name) {
  auto parts = split(name, '_');
  if (parts.empty() || parts[0].size() < 4 || parts[0].compare(0, 3, "eng") != 0) return std::nullopt;
  EngineConfigId id;
  if (!parse_int(parts[0].substr(3), &id.engine) || id.engine < 0) return std::nullopt;
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string& kv = parts[i];
    const size_t eq = kv.find('=');
    int64_t type = 0, value = 0;
    if (kv.size() < 4 || kv[0] != 'k' || eq == std::string::npos || !parse_int(kv.substr(1, eq - 1), &type) ||
        !parse_int(kv.substr(eq + 1), &value) || type < 0 || type >= int64_t(CUDNN_KNOB_TYPE_COUNTS))
      return std::nullopt;
    id.knobs.emplace_back(type, value);
  }
  std::sort(id.knobs.begin(), id.knobs.end());
  for (size_t i = 1; i < id.knobs.size(); ++i)
    if (id.knobs[i].first == id.knobs[i - 1].first) return std::nullopt;  // one choice per knob
  return id;
}

struct Tactic {
  uint64_t cudnn_version = 0;
  std::string sig;
  bool tf32 = false;
  Fusion fusion;
  EngineConfigId config;

  std::string str() const {
    return str_cat("cudnn-conv;v=", kTacticVersion, ";cudnn=", cudnn_version, ";sig=", sig, ";tf32=", tf32 ? 1 : 0,
                   ";fuse=", fusion.code(), ";engine=", config.engine, ";knobs=", config.knob_text());
  }
};

// Parses and checks a tactic string; `where` names the node for errors.
Tactic parse_tactic(const std::string& text, const std::string& where) {
  auto bad = [&](const std::string& why) {
    TRTORCH_ERROR("Conv2d ", where, ": cannot rebuild the cuDNN plan from tactic \"", text, "\": ", why,
                  ". The engine was built with another trtorch version or is corrupt; rebuild it.");
  };
  auto parts = split(text, ';');
  if (parts.empty() || parts[0] != "cudnn-conv") bad("not a cuDNN convolution tactic");
  std::map<std::string, std::string> kv;
  for (size_t i = 1; i < parts.size(); ++i) {
    size_t eq = parts[i].find('=');
    if (eq == std::string::npos) bad(str_cat("field \"", parts[i], "\" is not key=value"));
    if (!kv.emplace(parts[i].substr(0, eq), parts[i].substr(eq + 1)).second) bad("duplicate field " + parts[i]);
  }
  for (const char* key : {"v", "cudnn", "sig", "tf32", "fuse", "engine", "knobs"})
    if (!kv.count(key)) bad(str_cat("missing field \"", key, "\""));
  if (kv.size() != 7) bad("unexpected fields");
  int64_t v = 0;
  if (!parse_int(kv["v"], &v) || v < kOldestTacticVersion || v > kTacticVersion)
    bad(str_cat("format version ", kv["v"], " is not ", kTacticVersion));

  Tactic t;
  int64_t n = 0;
  if (!parse_int(kv["cudnn"], &n) || n <= 0) bad("bad cuDNN version");
  t.cudnn_version = uint64_t(n);
  t.sig = kv["sig"];
  if (kv["tf32"] != "0" && kv["tf32"] != "1") bad("tf32 must be 0 or 1");
  t.tf32 = kv["tf32"] == "1";
  const std::string& fuse = kv["fuse"];
  if (fuse != "none") {
    std::string order = "bra";
    size_t pos = 0;
    for (char c : fuse) {
      size_t at = order.find(c, pos);
      if (at == std::string::npos) bad(str_cat("bad fuse code \"", fuse, "\""));
      pos = at + 1;
      (c == 'b' ? t.fusion.bias : c == 'r' ? t.fusion.residual : t.fusion.act) = true;
    }
  }
  if (!parse_int(kv["engine"], &t.config.engine) || t.config.engine < 0) bad("bad engine id");
  if (!kv["knobs"].empty()) {
    for (const std::string& kvp : split(kv["knobs"], ',')) {
      auto tv = split(kvp, ':');
      int64_t type = 0, value = 0;
      if (tv.size() != 2 || !parse_int(tv[0], &type) || !parse_int(tv[1], &value) || type < 0)
        bad(str_cat("bad knob \"", kvp, "\""));
      if (v == 1) {  // cudnn_frontend::KnobType_t numbers: to the backend's
        cudnnBackendKnobType_t backend = CUDNN_KNOB_TYPE_COUNTS;
        if (type == int64_t(fe::KnobType_t::NOT_SET) ||
            fe::convert_to_backend_knob_type(static_cast<fe::KnobType_t>(type), backend) != CUDNN_STATUS_SUCCESS)
          bad(str_cat("knob type ", type, " has no cuDNN backend knob"));
        type = int64_t(backend);
      } else if (type >= int64_t(CUDNN_KNOB_TYPE_COUNTS)) {
        bad(str_cat("knob type ", type, " is not a cuDNN backend knob type"));
      }
      t.config.knobs.emplace_back(type, value);
    }
  }
  std::sort(t.config.knobs.begin(), t.config.knobs.end());
  for (size_t i = 1; i < t.config.knobs.size(); ++i)
    if (t.config.knobs[i].first == t.config.knobs[i - 1].first) bad("a knob is set twice");
  return t;
}

// Reasons (one per engine config, or per step that failed), one per line after `indent`, each cut
// at kMaxReasonLineChars and all at kMaxReasonChars: a node tries up to four fusions of
// kMaxCandidates configs each, and cuDNN's messages can be long.
std::string reason_lines(const std::vector<std::string>& reasons, const char* indent) {
  std::string out;
  for (size_t i = 0; i < reasons.size(); ++i) {
    const std::string& r = reasons[i];
    std::string line = indent + (r.size() > kMaxReasonLineChars ? r.substr(0, kMaxReasonLineChars) + "..." : r);
    if (out.size() + line.size() > kMaxReasonChars) return out + str_cat(indent, "(", reasons.size() - i, " more)");
    out += line;
  }
  return out;
}

// One engine config to time and check: the graph its plan is built on and that graph's cuDNN
// handle (a plan runs on the handle it was built with; a leased one is returned when the last
// candidate built on it goes).
struct Candidate {
  std::shared_ptr<Context::HandleLease> lease;  // null: the context's own handle
  std::shared_ptr<fe::graph::Graph> graph;      // destroyed before the lease is returned
  cudnnHandle_t handle = nullptr;
  int64_t index = -1;  // of the plan in `graph`
  EngineConfigId id;
  std::string name;
};

// What building the candidates cost.
struct CandidateBuilds {
  double heuristics_s = 0.0;  // proposing the engine configs
  int runtime_compiled = 0;   // configs whose build compiled a kernel (runtime fusion)
  double longest_s = 0.0;     // the longest single build
  int threads = 1;
};

// Proposes the engine configs of `g` (heuristic modes A and FALLBACK, in their order), drops
// those whose numerics `dtype` / `tf32` bar or whose workspace exceeds `max_ws` (they stay in the
// list and fail to build), and returns the named ones once each, unbuilt, with the names that do
// not parse in `errors`; false (with the reason) when the heuristics fail.
bool propose_configs(fe::graph::Graph& g, DType dtype, bool tf32, int64_t max_ws, std::vector<Candidate>* picks,
                     std::vector<std::string>* errors) {
  if (auto e = g.create_execution_plans({fe::HeurMode_t::A, fe::HeurMode_t::FALLBACK}); e.is_bad()) {
    errors->push_back("heuristics: " + e.get_message());
    return false;
  }
  g.deselect_numeric_notes(barred_notes(dtype, tf32));
  if (max_ws != std::numeric_limits<int64_t>::max()) g.deselect_workspace_greater_than(max_ws);
  // Heuristic order; A and FALLBACK may propose the same config twice.
  std::set<std::string> seen;
  for (int64_t i = 0; i < g.get_execution_plan_count(); ++i) {
    std::string name;
    if (g.get_plan_name_at_index(i, name).is_bad()) continue;  // unnamed: no tactic can record it
    if (!seen.insert(name).second) continue;
    const auto id = parse_plan_name(name);
    if (!id) {
      errors->push_back(name + ": not an engine config name");
      continue;
    }
    Candidate c;
    c.index = i;
    c.id = *id;
    c.name = name;
    picks->push_back(std::move(c));
  }
  return true;
}

// Host threads that build one convolution's candidate configs at once. cuDNN compiles a
// runtime-fusion config's kernels while building it: about 0.5 s a config on an H100 host when
// the driver's JIT cache is cold. The compilations mostly wait for each other (ResNet-50 FP16,
// batch 1: six at once took as long as six in a row; batch 32: 1.6 s against 3.4 to 5.0 s for the
// slowest convolutions). TRTORCH_BUILD_THREADS overrides (1: one by one).
size_t build_threads() {
  static const size_t n =
      env_count("TRTORCH_BUILD_THREADS", std::clamp(std::thread::hardware_concurrency(), 1u, 16u), 1, 64);
  return n;
}

// ---------------------------------------------------------------------------------------------
// The kernel

// The device tensors on which the build times and checks engine configs.
struct BuildData {
  DeviceBuffer x, w, b, r, y;  // x, y, the residual, and random w and b where the node has no constant
  const void* w_ptr = nullptr;  // the node's packed weights, or w
  const void* b_ptr = nullptr;  // the node's packed bias, or b; null without bias
};

// The KernelShare key of the plan a tactic names, under a workspace limit.
std::string tactic_share_key(const std::string& tactic, int64_t max_workspace) {
  return str_cat("cudnn-conv tactic=", tactic, ";ws=", max_workspace);
}

// A chosen (or rebuilt) plan that later convolutions of the same engine with the same problem
// take over (KernelShare): the built cuDNN graph, the plan's index and what the tactic records.
struct SharedPlan {
  std::shared_ptr<fe::graph::Graph> graph;
  int64_t plan = -1;
  Fusion fusion;
  bool tf32 = false;
  std::string note;  // the timing note of the convolution that made it
};

class CudnnConv2d final : public Kernel {
 public:
  explicit CudnnConv2d(const KernelArgs& args);

  size_t scratch_bytes() const override { return size_t(workspace_); }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void* scratch,
              cudaStream_t stream) override;
  std::string tactic() const override { return tactic_.str(); }
  std::string describe() const override { return describe_; }
  std::string self_check(const std::vector<const void*>& in, const std::vector<void*>& out,
                         cudaStream_t stream) override;

 private:
  // Builds and validates the operation graph for `fusion`; false (with the reason) when cuDNN
  // rejects it.
  bool make_graph(const Fusion& fusion, std::shared_ptr<fe::graph::Graph>* out, std::string* why,
                  cudnnHandle_t handle = nullptr) const;
  // Builds the first max_candidates() configs of fusion `f` that build (propose_configs' order):
  // one by one on one graph, or with build_threads() > 1 on several host threads at once, each
  // with a graph and leased handle of its own. False, with the reasons, when none builds.
  bool build_candidates(const Fusion& f, std::vector<Candidate>* cands, std::vector<std::string>* why,
                        CandidateBuilds* stats) const;
  // The load path: builds engine config `want` of the graph for `fusion` on a fresh graph, under
  // the node's numeric (and workspace) limits, and checks that the built config names exactly
  // `want`. False, with the reason, when it cannot.
  bool build_config(const Fusion& fusion, const EngineConfigId& want, std::shared_ptr<fe::graph::Graph>* out,
                    int64_t* plan, std::string* why) const;
  // The build: tries the fusions of fusion_candidates() in order and keeps the first that
  // try_fusion() accepts; throws, naming every fusion's reasons, when none is.
  void choose_by_timing(const TacticOptions& timing);
  // Builds and times the engine configs of fusion `f` on `d`, and keeps (graph_, plan_, fusion_)
  // the best ranked that computes the direct convolution's output and is reproduced by a rebuild
  // from its tactic, with its timing note; false, with the reasons, when none does. `*rank` is
  // the kept config's rank: its time (the epilogue kernel of the unfused stages included), times
  // kInexactPenalty for an FP16/BF16 config that does not round once; in FP32 its time.
  bool try_fusion(const Fusion& f, const TacticOptions& timing, BuildData& d, std::string* note, float* rank,
                  std::vector<std::string>* why);
  void rebuild(const Tactic& t);
  // Takes the plan an earlier convolution of the engine registered under `key`; false when none.
  bool take_shared(const std::string& key);
  // Registers this kernel's plan under `key` for the convolutions after it (first one wins).
  void share_plan(const std::string& key) const;
  void finish();
  // The weights, bias (null without one) and residual (null without one) of a launch's inputs:
  // the packed constants where the node has them.
  const void* weight_of(const std::vector<const void*>& in) const { return w_ptr_ ? w_ptr_ : in[1]; }
  const void* bias_of(const std::vector<const void*>& in) const {
    return b_ptr_ ? b_ptr_ : (p_.has_bias ? in[ir::kConvBiasInput] : nullptr);
  }
  const void* residual_of(const std::vector<const void*>& in) const {
    return p_.has_residual ? in[size_t(residual_input_)] : nullptr;
  }
  // Binds the device tensors of one run.
  void bind(const void* x, const void* w, const void* b, const void* r, void* y);
  // Runs plan `plan` of `g` alone on the tensors of the last bind(). A bad status is returned,
  // never dropped: callers fail or discard the plan.
  // `handle`: the one the plan was built with (null: the context's).
  fe::error_t execute(fe::graph::Graph& g, int64_t plan, void* workspace, cudaStream_t stream,
                      cudnnHandle_t handle = nullptr);
  // execute(), then the epilogue kernel for the unfused stages.
  fe::error_t run(fe::graph::Graph& g, int64_t plan, void* workspace, cudaStream_t stream,
                  cudnnHandle_t handle = nullptr);
  [[noreturn]] void fail(const std::string& what, const fe::error_t& e) const;
  // The largest relative difference a right plan may show against the direct convolution.
  double tolerance() const {
    return p_.dtype == DType::kFloat32 ? (tf32_ ? 1e-2 : 1e-4) : p_.dtype == DType::kFloat16 ? 1e-2 : 4e-2;
  }
  // The direct convolution of this node's geometry on the given tensors (bias, residual: null
  // when not applied; act: whether the activation is).
  ConvReference reference_args(const void* x, const void* w, const void* bias, const void* residual, void* y,
                               bool act) const;

  Context& ctx_;
  KernelShare* share_ = nullptr;
  std::string where_;  // the node's source, for errors
  ConvProblem p_;
  bool tf32_ = false;
  int64_t max_workspace_ = std::numeric_limits<int64_t>::max();

  DeviceBuffer w_packed_, b_packed_;
  const void* w_ptr_ = nullptr;  // packed weights, or null: read in[1] at launch
  const void* b_ptr_ = nullptr;  // packed bias, or null: read in[2] at launch
  int residual_input_ = -1;

  Fusion fusion_;
  std::shared_ptr<fe::graph::Graph> graph_;
  int64_t plan_ = -1;
  int64_t workspace_ = 0;
  std::unordered_map<int64_t, void*> ptrs_;  // uid -> device pointer, rebound at every launch
  void* y_ = nullptr;
  const void* bias_ = nullptr;
  const void* residual_ = nullptr;
  Tactic tactic_;
  std::string plan_name_, timing_note_, describe_;
};

CudnnConv2d::CudnnConv2d(const KernelArgs& args) : ctx_(args.ctx), share_(args.share), where_(args.node.source) {
  if (where_.empty()) where_ = "(no source location)";
  // A malformed tactic fails before anything touches the device.
  std::optional<Tactic> given;
  if (args.tactic) given = parse_tactic(*args.tactic, where_);
  const auto& a = args.node.attr<ir::Conv2dAttrs>();
  TRTORCH_EXPECT(args.inputs.size() >= 2 && args.outputs.size() == 1, "Conv2d ", where_,
                 ": expected x, w [, b] [, residual]");
  const TensorDesc& x = args.inputs[0];
  const TensorDesc& w = args.inputs[1];
  const TensorDesc& y = args.outputs[0];
  TRTORCH_EXPECT(x.shape.size() == 4 && w.shape.size() == 4 && y.shape.size() == 4, "Conv2d ", where_,
                 ": x, w and output must be 4-D");
  p_.N = x.shape[0];
  p_.C = x.shape[1];
  p_.H = x.shape[2];
  p_.W = x.shape[3];
  p_.K = w.shape[0];
  p_.Cg = w.shape[1];
  p_.R = w.shape[2];
  p_.S = w.shape[3];
  p_.OH = y.shape[2];
  p_.OW = y.shape[3];
  // The executor may widen a few-channel NHWC input with zero channels (cuDNN's tensor-core
  // kernels want C % 4 == 0); the packed weights then get matching zero channels.
  const int64_t w_channels = p_.Cg;
  if (a.groups == 1 && x.layout == Layout::kNHWC && p_.C > p_.Cg) p_.Cg = p_.C;
  TRTORCH_EXPECT(a.stride.size() == 2 && a.padding.size() == 2 && a.dilation.size() == 2, "Conv2d ", where_,
                 ": stride, padding and dilation must have 2 entries");
  p_.sh = a.stride[0];
  p_.sw = a.stride[1];
  p_.ph = a.padding[0];
  p_.pw = a.padding[1];
  p_.dh = a.dilation[0];
  p_.dw = a.dilation[1];
  p_.groups = a.groups;
  p_.dtype = x.dtype;
  p_.layout = x.layout;
  p_.has_residual = a.has_residual;
  p_.has_bias = ir::conv_has_bias(a, args.inputs.size());
  p_.bias_dtype = p_.has_bias ? args.inputs[ir::kConvBiasInput].dtype : p_.dtype;
  p_.has_act = a.has_act;
  p_.act = a.act;
  p_.alpha = float(a.act_alpha);
  p_.beta = float(a.act_beta);
  residual_input_ = a.has_residual ? int(args.inputs.size()) - 1 : -1;

  TRTORCH_EXPECT(p_.dtype == DType::kFloat32 || p_.dtype == DType::kFloat16 || p_.dtype == DType::kBFloat16, "Conv2d ",
                 where_, ": cuDNN convolution supports float32, float16 and bfloat16, not ", ir::dtype_name(p_.dtype));
  for (size_t i = 0; i < args.inputs.size(); ++i) {
    const bool bias = p_.has_bias && i == ir::kConvBiasInput;
    TRTORCH_EXPECT(args.inputs[i].dtype == p_.dtype || (bias && args.inputs[i].dtype == DType::kFloat32), "Conv2d ",
                   where_, ": input ", i, " is ", ir::dtype_name(args.inputs[i].dtype), "; every input must be ",
                   ir::dtype_name(p_.dtype), bias ? " (the bias may also be float32)" : "");
  }
  TRTORCH_EXPECT(y.dtype == p_.dtype, "Conv2d ", where_, ": output must be ", ir::dtype_name(p_.dtype));
  TRTORCH_EXPECT(y.layout == p_.layout, "Conv2d ", where_, ": input and output layouts differ");
  TRTORCH_EXPECT(y.shape[0] == p_.N && y.shape[1] == p_.K, "Conv2d ", where_, ": output shape does not match");
  TRTORCH_EXPECT(p_.groups >= 1 && p_.C == p_.Cg * p_.groups && p_.K % p_.groups == 0, "Conv2d ", where_, ": channels ",
                 p_.C, " -> ", p_.K, " do not fit groups=", p_.groups, " and weight [", p_.K, ",", p_.Cg, ",", p_.R,
                 ",", p_.S, "]");
  if (p_.has_residual) {
    const TensorDesc& r = args.inputs[size_t(residual_input_)];
    TRTORCH_EXPECT(r.shape == y.shape && r.layout == y.layout, "Conv2d ", where_,
                   ": the residual must have the output's shape and layout");
  }
  TRTORCH_EXPECT(!p_.has_act || size_t(p_.act) < size_t(UnaryKind::kCount), "Conv2d ", where_, ": unknown activation ",
                 int(p_.act));

  // Weights: pack once, KCRS for NCHW, KRSC for NHWC.
  const ir::HostTensor* wc = args.constants.size() > 1 ? args.constants[1] : nullptr;
  if (wc) {
    TRTORCH_EXPECT(wc->dtype == p_.dtype && wc->shape == w.shape, "Conv2d ", where_, ": weight constant is ",
                   ir::dtype_name(wc->dtype), " of another shape than the node's weight");
    const size_t es = ir::dtype_size(p_.dtype);
    std::vector<uint8_t> packed(size_t(p_.K * p_.Cg * p_.R * p_.S) * es, 0);  // zero: padded channels
    const uint8_t* src = static_cast<const uint8_t*>(wc->data());
    if (p_.layout == Layout::kNHWC) {
      for (int64_t k = 0; k < p_.K; ++k)
        for (int64_t c = 0; c < w_channels; ++c)
          for (int64_t r = 0; r < p_.R; ++r)
            for (int64_t s = 0; s < p_.S; ++s) {
              const int64_t from = ((k * w_channels + c) * p_.R + r) * p_.S + s;
              const int64_t to = ((k * p_.R + r) * p_.S + s) * p_.Cg + c;
              std::memcpy(&packed[size_t(to) * es], src + size_t(from) * es, es);
            }
    } else {
      TRTORCH_CHECK(w_channels == p_.Cg, "Conv2d ", where_, ": channel padding is only for NHWC");
      std::memcpy(packed.data(), src, packed.size());
    }
    w_packed_ = DeviceBuffer(packed.size());
    TRTORCH_CUDA_CHECK(cudaMemcpy(w_packed_.get(), packed.data(), packed.size(), cudaMemcpyHostToDevice));
    w_ptr_ = w_packed_.get();
  } else {
    TRTORCH_EXPECT(p_.layout == Layout::kRowMajor, "Conv2d ", where_,
                   ": channels-last convolution needs constant weights (they are repacked to KRSC once)");
  }
  if (p_.has_bias) {
    const ir::HostTensor* bc =
        args.constants.size() > ir::kConvBiasInput ? args.constants[ir::kConvBiasInput] : nullptr;
    if (bc) {
      TRTORCH_EXPECT(bc->dtype == p_.bias_dtype && bc->numel() == p_.K, "Conv2d ", where_, ": bias constant must be ",
                     ir::dtype_name(p_.bias_dtype), " [", p_.K, "]");
      b_packed_ = DeviceBuffer(bc->nbytes());
      TRTORCH_CUDA_CHECK(cudaMemcpy(b_packed_.get(), bc->data(), bc->nbytes(), cudaMemcpyHostToDevice));
      b_ptr_ = b_packed_.get();
    }
  }

  if (args.timing) max_workspace_ = int64_t(std::min<size_t>(args.timing->max_scratch_bytes, size_t(INT64_MAX)));
  // A problem is the signature, TF32 and the workspace limit; an earlier convolution of the
  // engine with the same problem chose a plan that fits this one, on the same checks.
  if (given) {
    rebuild(*given);
  } else {
    tf32_ = p_.dtype == DType::kFloat32 && args.timing && args.timing->allow_tf32;
    const std::string key = str_cat("cudnn-conv ", p_.signature(), ";tf32=", tf32_, ";ws=", max_workspace_);
    if (!take_shared(key)) {
      choose_by_timing(args.timing ? *args.timing : TacticOptions{});
      share_plan(key);
    }
  }
  finish();
  // For a later node given this tactic (a timing cache entry, a load).
  share_plan(tactic_share_key(tactic_.str(), max_workspace_));
}

bool CudnnConv2d::take_shared(const std::string& key) {
  if (!share_) return false;
  auto found = std::static_pointer_cast<SharedPlan>(share_->find(key));
  if (!found) return false;
  graph_ = found->graph;
  plan_ = found->plan;
  fusion_ = found->fusion;
  tf32_ = found->tf32;
  timing_note_ = "plan of an earlier convolution of this engine with the same problem: " + found->note;
  return true;
}

void CudnnConv2d::share_plan(const std::string& key) const {
  if (share_ && !share_->find(key))
    share_->put(key, std::make_shared<SharedPlan>(SharedPlan{graph_, plan_, fusion_, tf32_, timing_note_}));
}

void CudnnConv2d::fail(const std::string& what, const fe::error_t& e) const {
  TRTORCH_ERROR("Conv2d ", where_, ": ", what, " (", p_.signature(), "): cudnn-frontend error ",
                int(const_cast<fe::error_t&>(e).get_code()), ": ", const_cast<fe::error_t&>(e).get_message());
}

bool CudnnConv2d::make_graph(const Fusion& f, std::shared_ptr<fe::graph::Graph>* out, std::string* why,
                             cudnnHandle_t handle) const {
  using fe::graph::Tensor_attributes;
  const fe::DataType_t io = fe_dtype(p_.dtype);
  auto g = std::make_shared<fe::graph::Graph>();
  g->set_name("trtorch_conv");
  g->set_io_data_type(io)
      .set_intermediate_data_type(fe::DataType_t::FLOAT)
      .set_compute_data_type(fe::DataType_t::FLOAT);

  auto X = g->tensor(Tensor_attributes()
                         .set_name("x")
                         .set_uid(kUidX)
                         .set_data_type(io)
                         .set_dim({p_.N, p_.C, p_.H, p_.W})
                         .set_stride(act_strides(p_.C, p_.H, p_.W, p_.layout)));
  std::vector<int64_t> w_stride = p_.layout == Layout::kNHWC
                                      ? std::vector<int64_t>{p_.R * p_.S * p_.Cg, 1, p_.S * p_.Cg, p_.Cg}
                                      : std::vector<int64_t>{p_.Cg * p_.R * p_.S, p_.R * p_.S, p_.S, 1};
  auto Wt = g->tensor(Tensor_attributes()
                          .set_name("w")
                          .set_uid(kUidW)
                          .set_data_type(io)
                          .set_dim({p_.K, p_.Cg, p_.R, p_.S})
                          .set_stride(w_stride));
  auto conv = fe::graph::Conv_fprop_attributes()
                  .set_name("conv")
                  .set_padding({p_.ph, p_.pw})
                  .set_stride({p_.sh, p_.sw})
                  .set_dilation({p_.dh, p_.dw})
                  .set_compute_data_type(fe::DataType_t::FLOAT);
  auto cur = g->conv_fprop(X, Wt, conv);
  const std::vector<int64_t> y_dim{p_.N, p_.K, p_.OH, p_.OW};
  const std::vector<int64_t> y_stride = act_strides(p_.K, p_.OH, p_.OW, p_.layout);
  if (f.bias) {
    auto B = g->tensor(Tensor_attributes()
                           .set_name("bias")
                           .set_uid(kUidB)
                           .set_data_type(fe_dtype(p_.bias_dtype))
                           .set_dim({1, p_.K, 1, 1})
                           .set_stride({p_.K, 1, 1, 1}));
    cur = g->pointwise(cur, B,
                       fe::graph::Pointwise_attributes()
                           .set_name("bias_add")
                           .set_mode(fe::PointwiseMode_t::ADD)
                           .set_compute_data_type(fe::DataType_t::FLOAT));
  }
  if (f.residual) {
    auto Rz = g->tensor(
        Tensor_attributes().set_name("residual").set_uid(kUidR).set_data_type(io).set_dim(y_dim).set_stride(y_stride));
    cur = g->pointwise(cur, Rz,
                       fe::graph::Pointwise_attributes()
                           .set_name("residual_add")
                           .set_mode(fe::PointwiseMode_t::ADD)
                           .set_compute_data_type(fe::DataType_t::FLOAT));
  }
  if (f.act) {
    fe::graph::Pointwise_attributes pw;
    TRTORCH_CHECK(cudnn_activation(p_.act, p_.alpha, p_.beta, &pw), "activation is not fusable");
    pw.set_name("act").set_compute_data_type(fe::DataType_t::FLOAT);
    cur = g->pointwise(cur, pw);
  }
  cur->set_output(true).set_name("y").set_uid(kUidY).set_data_type(io).set_dim(y_dim).set_stride(y_stride);

  if (auto e = g->validate(); e.is_bad()) {
    *why = "validate: " + e.get_message();
    return false;
  }
  if (auto e = g->build_operation_graph(handle ? handle : ctx_.cudnn()); e.is_bad()) {
    *why = "build_operation_graph: " + e.get_message();
    return false;
  }
  *out = std::move(g);
  return true;
}

void CudnnConv2d::bind(const void* x, const void* w, const void* b, const void* r, void* y) {
  ptrs_[kUidX] = const_cast<void*>(x);
  ptrs_[kUidW] = const_cast<void*>(w);
  // Only the graph's own tensors: a stage left to the epilogue kernel has no uid in the graph (a
  // pointer kept from a more fused candidate would dangle once the build data is freed).
  if (fusion_.bias)
    ptrs_[kUidB] = const_cast<void*>(b);
  else
    ptrs_.erase(kUidB);
  if (fusion_.residual)
    ptrs_[kUidR] = const_cast<void*>(r);
  else
    ptrs_.erase(kUidR);
  ptrs_[kUidY] = y;
  y_ = y;
  bias_ = b;
  residual_ = r;
}

fe::error_t CudnnConv2d::execute(fe::graph::Graph& g, int64_t plan, void* workspace, cudaStream_t stream,
                                 cudnnHandle_t handle) {
  if (!handle) handle = ctx_.cudnn();
  TRTORCH_CUDNN_CHECK(cudnnSetStream(handle, stream));
  return g.execute_plan_at_index(handle, ptrs_, workspace, plan);
}

fe::error_t CudnnConv2d::run(fe::graph::Graph& g, int64_t plan, void* workspace, cudaStream_t stream,
                             cudnnHandle_t handle) {
  auto e = execute(g, plan, workspace, stream, handle);
  if (e.is_bad()) return e;
  ConvEpilogue ep;
  ep.y = y_;
  ep.dtype = p_.dtype;
  ep.numel = p_.y_numel();
  ep.channels = p_.K;
  ep.channel_stride = p_.layout == Layout::kNHWC ? 1 : p_.OH * p_.OW;
  ep.bias = p_.has_bias && !fusion_.bias ? bias_ : nullptr;
  ep.bias_dtype = p_.bias_dtype;
  ep.residual = p_.has_residual && !fusion_.residual ? residual_ : nullptr;
  ep.has_act = p_.has_act && !fusion_.act;
  ep.act = p_.act;
  ep.alpha = p_.alpha;
  ep.beta = p_.beta;
  launch_conv_epilogue(ep, stream);
  return e;
}

bool CudnnConv2d::build_config(const Fusion& f, const EngineConfigId& want, std::shared_ptr<fe::graph::Graph>* out,
                               int64_t* plan, std::string* why) const {
  std::shared_ptr<fe::graph::Graph> g;
  std::string reason;
  if (!make_graph(f, &g, &reason)) {
    *why = "cuDNN rejects the graph: " + reason;
    return false;
  }
  // First the configs the heuristics propose: the objects the build timed.
  int64_t index = -1;
  std::string heuristics_note;
  if (auto e = g->create_execution_plans({fe::HeurMode_t::A, fe::HeurMode_t::FALLBACK}); e.is_good()) {
    for (int64_t i = 0; i < g->get_execution_plan_count() && index < 0; ++i) {
      std::string name;
      if (g->get_plan_name_at_index(i, name).is_bad()) continue;
      if (auto id = parse_plan_name(name); id && *id == want) index = i;
    }
    if (index < 0) heuristics_note = "the heuristics do not propose it";
  } else {
    heuristics_note = "heuristics: " + e.get_message();
  }
  // Else the config from its engine id and knobs.
  if (index < 0) {
    std::unordered_map<fe::KnobType_t, int64_t> knobs;
    for (const auto& [type, value] : want.knobs) {
      const fe::KnobType_t k = fe::convert_from_backend_knob_type(static_cast<cudnnBackendKnobType_t>(type));
      if (k == fe::KnobType_t::NOT_SET) {
        *why = str_cat(heuristics_note, ", and cudnn-frontend cannot set backend knob type ", type);
        return false;
      }
      knobs[k] = value;
    }
    index = g->get_execution_plan_count();
    if (auto e = g->create_execution_plan(want.engine, knobs); e.is_bad()) {
      *why = str_cat(heuristics_note, ", and cuDNN has no such engine config: ", e.get_message());
      return false;
    }
  }
  // After create_execution_plan: the filters cover every config, the appended one too.
  g->deselect_numeric_notes(barred_notes(p_.dtype, tf32_));
  if (max_workspace_ != std::numeric_limits<int64_t>::max()) g->deselect_workspace_greater_than(max_workspace_);
  if (auto e = g->build_plan_at_index(index); e.is_bad()) {
    *why = "the engine config does not build: " + e.get_message();
    return false;
  }
  std::string name;
  if (auto e = g->get_plan_name_at_index(index, name); e.is_bad()) {
    *why = "querying the built engine config: " + e.get_message();
    return false;
  }
  const auto got = parse_plan_name(name);
  if (!got || *got != want) {
    *why = str_cat("cuDNN built engine config ", name, ", not engine ", want.engine, " knobs ", want.knob_text());
    return false;
  }
  *out = std::move(g);
  *plan = index;
  return true;
}

void CudnnConv2d::choose_by_timing(const TacticOptions& timing) {
  // Random device data, shared by every fusion tried: the node's own weights and bias where they
  // are constants (engine configs are checked on the data they will see), random values elsewhere.
  const size_t es = ir::dtype_size(p_.dtype);
  cudaStream_t s = ctx_.stream();
  BuildData d;
  d.x = DeviceBuffer(size_t(p_.x_numel()) * es);
  d.y = DeviceBuffer(size_t(p_.y_numel()) * es);
  launch_fill_random(d.x.get(), p_.dtype, p_.x_numel(), 1, s);
  d.w_ptr = w_ptr_;
  if (!w_ptr_) {
    d.w = DeviceBuffer(size_t(p_.K * p_.Cg * p_.R * p_.S) * es);
    launch_fill_random(d.w.get(), p_.dtype, p_.K * p_.Cg * p_.R * p_.S, 2, s);
    d.w_ptr = d.w.get();
  }
  d.b_ptr = b_ptr_;
  if (p_.has_bias && !b_ptr_) {
    d.b = DeviceBuffer(size_t(p_.K) * ir::dtype_size(p_.bias_dtype));
    launch_fill_random(d.b.get(), p_.bias_dtype, p_.K, 3, s);
    d.b_ptr = d.b.get();
  }
  if (p_.has_residual) {
    d.r = DeviceBuffer(size_t(p_.y_numel()) * es);
    launch_fill_random(d.r.get(), p_.dtype, p_.y_numel(), 4, s);
  }

  // Most fused first; a fusion none of whose engine configs passes leaves its stages to the
  // epilogue kernel of the next one.
  std::string rejected_fusions;  // for the error
  std::string less_fused;        // for the note of the fusion chosen
  const std::vector<Fusion> fusions = fusion_candidates(p_);
  for (const Fusion& f : fusions) {
    std::vector<std::string> why;
    std::string note;
    float ms = 0.0f;
    if (try_fusion(f, timing, d, &note, &ms, &why)) {
      timing_note_ = note + less_fused;
      // An FP32 fused graph can have only slow engines (runtime fusion gets cuDNN's generic
      // engine: 2.2 ms for a 1x1 convolution of MobileNetV2 at batch 32 whose plain convolution
      // takes a fraction of that): the convolution alone, with every stage in the epilogue
      // kernel, competes on time. It is the last candidate, so a tactic can name it. FP16/BF16
      // fused graphs have fast engines, and the unfused one rounds twice: not tried (on
      // ResNet-50 at batch 32 it doubled the build time and won nothing).
      const Fusion& unfused = fusions.back();
      if (f == unfused || p_.dtype != DType::kFloat32) return;
      Fusion kept_fusion = fusion_;
      auto kept_graph = graph_;
      const int64_t kept_plan = plan_;
      std::string unfused_note;
      float unfused_ms = 0.0f;
      std::vector<std::string> unfused_why;
      if (try_fusion(unfused, timing, d, &unfused_note, &unfused_ms, &unfused_why) && unfused_ms < ms) {
        timing_note_ = str_cat(unfused_note, "; fuse=", f.code(), " slower: ", ms, " ms", less_fused);
        return;
      }
      fusion_ = kept_fusion;
      graph_ = std::move(kept_graph);
      plan_ = kept_plan;
      timing_note_ += str_cat("; fuse=", unfused.code(), " ",
                              unfused_why.empty() ? str_cat("slower: ", unfused_ms, " ms") : std::string("rejected"));
      return;
    }
    rejected_fusions += "\n  fuse=" + f.code() + ":" + reason_lines(why, "\n    ");
    std::string first = why.empty() ? "rejected" : why.front().substr(0, kMaxReasonLineChars);
    less_fused += str_cat("; fuse=", f.code(), " rejected: ", first.substr(0, first.find('\n')),
                          why.size() > 1 ? str_cat(" (and ", why.size() - 1, " more)") : "");
  }
  TRTORCH_ERROR("Conv2d ", where_,
                ": no cuDNN engine config computes this convolution correctly and reproducibly, whichever of its "
                "epilogue stages are fused (",
                p_.signature(), tf32_ ? ", tf32 allowed" : "", "):", rejected_fusions);
}

bool CudnnConv2d::build_candidates(const Fusion& f, std::vector<Candidate>* cands, std::vector<std::string>* why,
                                   CandidateBuilds* stats) const {
  using Clock = std::chrono::steady_clock;
  auto since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  std::shared_ptr<fe::graph::Graph> g;
  std::string reason;
  if (!make_graph(f, &g, &reason)) {
    why->push_back(reason);
    return false;
  }
  const auto t_heuristics = Clock::now();
  std::vector<Candidate> picks;
  std::vector<std::string> errors;
  if (!propose_configs(*g, p_.dtype, tf32_, max_workspace_, &picks, &errors)) {
    why->insert(why->end(), errors.begin(), errors.end());
    return false;
  }
  stats->heuristics_s = since(t_heuristics);

  // The first max_candidates() configs that build, in heuristic order (a deselected one fails at
  // once). Each worker takes the next config while fewer than that have built; so every config
  // before the last one taken was taken, and the first that built are those a serial build keeps.
  const size_t want = max_candidates();
  const size_t threads = std::max<size_t>(1, std::min({build_threads(), picks.size(), want}));
  stats->threads = int(threads);
  std::vector<std::string> failed(picks.size());
  std::vector<char> taken(picks.size(), 0), built(picks.size(), 0), compiled(picks.size(), 0);
  std::vector<double> build_s(picks.size(), 0.0);
  std::vector<std::string> worker_errors(threads);
  std::atomic<size_t> next{0}, n_built{0};
  auto work = [&](size_t w) {
    // The worker's graph: `g` itself on one thread; else the same operation graph made again on a
    // leased handle, its configs proposed again and found by name.
    std::shared_ptr<Context::HandleLease> lease;
    std::shared_ptr<fe::graph::Graph> wg = g;
    cudnnHandle_t handle = ctx_.cudnn();
    std::map<std::string, int64_t> index_of;
    try {
      if (threads > 1) {
        TRTORCH_CUDA_CHECK(cudaSetDevice(ctx_.device()));
        lease = ctx_.lease_cudnn();
        handle = lease->get();
        std::string r;
        if (!make_graph(f, &wg, &r, handle)) {
          worker_errors[w] = r;
          return;
        }
        std::vector<Candidate> again;
        std::vector<std::string> again_errors;
        if (!propose_configs(*wg, p_.dtype, tf32_, max_workspace_, &again, &again_errors)) {
          worker_errors[w] = again_errors.empty() ? std::string("heuristics failed") : again_errors.front();
          return;
        }
        for (const Candidate& c : again) index_of[c.name] = c.index;
      }
    } catch (const std::exception& ex) {
      worker_errors[w] = ex.what();
      return;
    }
    for (size_t k; n_built.load() < want && (k = next++) < picks.size();) {
      Candidate& c = picks[k];
      taken[k] = 1;
      try {
        if (threads > 1) {
          auto it = index_of.find(c.name);
          if (it == index_of.end()) {
            failed[k] = c.name + ": not proposed again on a graph of its own";
            continue;
          }
          c.index = it->second;
        }
        c.lease = lease;
        c.graph = wg;
        c.handle = handle;
        const auto t_build = Clock::now();
        auto e = wg->build_plan_at_index(c.index);
        build_s[k] = since(t_build);
        if (e.is_bad()) {
          failed[k] = c.name + ": does not build: " + e.get_message();
          continue;
        }
        std::vector<fe::BehaviorNote_t> notes;
        compiled[k] = wg->get_behavior_notes_for_plan_at_index(c.index, notes).is_good() &&
                      std::count(notes.begin(), notes.end(), fe::BehaviorNote_t::RUNTIME_COMPILATION) > 0;
        built[k] = 1;
        ++n_built;
      } catch (const std::exception& ex) {
        failed[k] = c.name + ": " + ex.what();
      }
    }
  };
  if (threads > 1) {
    std::vector<std::thread> pool;
    try {
      for (size_t t = 0; t < threads; ++t) pool.emplace_back(work, t);
    } catch (const std::system_error&) {
      // Fewer threads than asked: those started take every config.
    }
    if (pool.empty()) work(0);
    for (std::thread& t : pool) t.join();
  } else {
    work(0);
  }
  for (const std::string& e : worker_errors)
    if (!e.empty()) errors.push_back("a build thread's graph: " + e);
  for (size_t k = 0; k < picks.size(); ++k) {
    stats->longest_s = std::max(stats->longest_s, build_s[k]);
    if (built[k] && cands->size() < want) {
      stats->runtime_compiled += compiled[k];
      cands->push_back(std::move(picks[k]));
    } else if (taken[k] && !built[k]) {
      errors.push_back(failed[k]);
    }
  }
  if (cands->empty()) {
    why->push_back("no engine config builds under the numeric/workspace limits");
    why->insert(why->end(), errors.begin(), errors.end());
    return false;
  }
  return true;
}

bool CudnnConv2d::try_fusion(const Fusion& f, const TacticOptions& timing, BuildData& d, std::string* note,
                             float* rank, std::vector<std::string>* why) {
  std::vector<Candidate> cands;  // built configs that a tactic can name, heuristic order
  CandidateBuilds builds;
  // Where the build's time goes: making the plans (cuDNN's runtime compilation), timing them,
  // checking them (direct convolution, rebuilds, comparisons).
  using Clock = std::chrono::steady_clock;
  const auto t_start = Clock::now();
  auto seconds = [](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); };
  try {
    if (!build_candidates(f, &cands, why, &builds)) return false;
  } catch (const std::exception& ex) {  // cudnn-frontend reports through error_t, but be safe
    why->push_back(ex.what());
    return false;
  }

  const auto t_plans = Clock::now();
  int64_t max_ws = 0;
  for (const Candidate& c : cands) {
    int64_t ws = 0;
    if (auto e = c.graph->get_workspace_size_plan_at_index(c.index, ws); e.is_bad()) fail("workspace query", e);
    max_ws = std::max(max_ws, ws);
  }
  DeviceBuffer ws{size_t(max_ws)};
  cudaStream_t s = ctx_.stream();
  fusion_ = f;  // bind() and run() follow the fusion
  bind(d.x.get(), d.w_ptr, d.b_ptr, d.r.get(), d.y.get());

  struct Timed {
    float ms;
    const Candidate* cand;
  };
  std::vector<Timed> ranked;
  std::vector<std::string> failed;  // configs that failed to execute, with cuDNN's reason
  for (const Candidate& c : cands) {
    // One checked run first: a config that fails at execution is dropped (with its reason), not timed.
    if (auto e = run(*c.graph, c.index, ws.get(), s, c.handle); e.is_bad()) {
      failed.push_back(c.name + ": fails to execute: " + e.get_message());
      continue;
    }
    TRTORCH_CUDA_CHECK(cudaStreamSynchronize(s));
    // Timed also when it is the only config: fusions compete on time.
    const float ms = time_ms(ctx_, timing.min_timing_iters, timing.avg_timing_iters, [&](cudaStream_t st) {
      auto e = run(*c.graph, c.index, ws.get(), st, c.handle);
      if (e.is_bad()) fail("executing a candidate plan", e);
    });
    ranked.push_back(Timed{ms, &c});
  }
  TRTORCH_CUDA_CHECK(cudaStreamSynchronize(s));
  if (ranked.empty()) {
    why->push_back("every engine config that built fails to execute");
    why->insert(why->end(), failed.begin(), failed.end());
    return false;
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const Timed& a, const Timed& c) { return a.ms < c.ms; });
  const auto t_timed = Clock::now();

  // The checks compare what cuDNN computes, the graph's output before the epilogue kernel: that
  // kernel is this backend's own, and an activation left to it (log, reciprocal, ...) could turn
  // rounding differences into large ones, which would say nothing about the engine.
  // Outputs stay on the device and are compared there.
  const size_t y_bytes = size_t(p_.y_numel()) * ir::dtype_size(p_.dtype);
  DeviceBuffer want(y_bytes), got(y_bytes), reference, diff_scratch(kOutputDiffScratchBytes);
  auto output_of = [&](fe::graph::Graph& g, int64_t plan, void* workspace, DeviceBuffer& into,
                       cudnnHandle_t handle) {
    TRTORCH_CUDA_CHECK(cudaMemsetAsync(d.y.get(), 0xff, y_bytes, s));  // NaN: every element must be written
    auto e = execute(g, plan, workspace, s, handle);
    if (e.is_good()) TRTORCH_CUDA_CHECK(cudaMemcpyAsync(into.get(), d.y.get(), y_bytes, cudaMemcpyDeviceToDevice, s));
    TRTORCH_CUDA_CHECK(cudaStreamSynchronize(s));
    return e;
  };
  auto compare = [&](const DeviceBuffer& a, const DeviceBuffer& b) {
    return compare_outputs(a.get(), b.get(), p_.dtype, p_.y_numel(), diff_scratch.get(), s);
  };
  // The trusted output: the direct convolution with the stages inside the graph.
  const double macs = double(p_.y_numel()) * double(p_.Cg * p_.R * p_.S);
  const bool checked = macs <= kMaxReferenceMacs;
  if (checked) {
    reference = DeviceBuffer(y_bytes);
    launch_conv_reference(reference_args(d.x.get(), d.w_ptr, f.bias ? d.b_ptr : nullptr,
                                         f.residual ? d.r.get() : nullptr, reference.get(), f.act),
                          s);
  }

  // Record only a config that computes the right output and that the load path reproduces.
  // Every timed plan's output is compared with the direct convolution; one within `tol` passes.
  // A timed plan within `tol` of the direct convolution and a rebuilt plan within `tol` of the
  // timed one keep the kernel within 2 * tol of it.
  const double tol = tolerance();
  // FP16/BF16: a plan that rounds once, like the direct convolution, differs from it in a few
  // elements only (FP32 sums in another order); a plan that rounds the convolution before the
  // fused bias / residual differs in a large share of them, and that error compounds over a deep
  // network (ResNet-50 emulated on the CPU: 0.033 instead of 0.027 relative output error). Such
  // a plan, and one leaving a bias or residual to the epilogue kernel, ranks as if slower by
  // kInexactPenalty; the fastest by that rank that passes every check is kept.
  const bool narrow = p_.dtype != DType::kFloat32;
  const bool stages_left = (p_.has_bias && !f.bias) || (p_.has_residual && !f.residual);
  std::vector<std::string> rejected;
  struct Passed {
    const Timed* c;
    double ref_err, mismatch;
    bool exact;
    double score;
  };
  // Round 0 evaluates the configs fastest first and stops at one no faster than the best rank so
  // far (its rank is at least its time); round 1, reached only when the rebuild rejects every
  // config round 0 passed, evaluates the rest.
  size_t next = 0;            // the first config of `ranked` not evaluated yet
  const Timed* in_want = nullptr;  // the config whose timed-plan output `want` holds
  for (int round = 0; round < 2 && next < ranked.size(); ++round) {
    std::vector<Passed> passed;
    double best_score = INFINITY;
    for (; next < ranked.size(); ++next) {
      const Timed& c = ranked[next];
      if (round == 0 && c.ms >= best_score) break;
      in_want = nullptr;
      if (auto e = output_of(*c.cand->graph, c.cand->index, ws.get(), want, c.cand->handle); e.is_bad()) {
        rejected.push_back(c.cand->name + ": the timed plan fails to execute: " + e.get_message());
        continue;
      }
      in_want = &c;
      double ref_err = 0.0, mismatch = 0.0;
      if (checked) {
        const OutputDiff diff = compare(want, reference);
        ref_err = diff.rel;
        if (!(ref_err <= tol)) {
          rejected.push_back(str_cat(c.cand->name, ": computes a wrong output (rel. diff ", ref_err,
                                     " against the direct convolution",
                                     std::isinf(ref_err) ? ": elements unwritten or non-finite" : "", ")"));
          continue;
        }
        if (narrow) mismatch = diff.mismatch;
      }
      const bool exact = !narrow || (!stages_left && checked && mismatch <= kExactMismatch);
      passed.push_back(Passed{&c, ref_err, mismatch, exact, c.ms * (exact ? 1.0 : kInexactPenalty)});
      best_score = std::min(best_score, passed.back().score);
    }
    std::stable_sort(passed.begin(), passed.end(), [](const Passed& a, const Passed& b) { return a.score < b.score; });
    for (const Passed& pc : passed) {
      const Timed& c = *pc.c;
      std::shared_ptr<fe::graph::Graph> g;
      int64_t plan = -1;
      std::string reason;
      if (!build_config(f, c.cand->id, &g, &plan, &reason)) {
        rejected.push_back(c.cand->name + ": rebuilding from its tactic: " + reason);
        continue;
      }
      int64_t rebuilt_ws = 0;
      if (auto e = g->get_workspace_size_plan_at_index(plan, rebuilt_ws); e.is_bad()) fail("workspace query", e);
      DeviceBuffer own_ws;
      void* rws = ws.get();
      if (rebuilt_ws > max_ws) {
        own_ws = DeviceBuffer(size_t(rebuilt_ws));
        rws = own_ws.get();
      }
      if (in_want != &c) {
        in_want = nullptr;
        if (auto e = output_of(*c.cand->graph, c.cand->index, ws.get(), want, c.cand->handle); e.is_bad()) {
          rejected.push_back(c.cand->name + ": the timed plan fails to execute: " + e.get_message());
          continue;
        }
        in_want = &c;
      }
      if (auto e = output_of(*g, plan, rws, got, nullptr); e.is_bad()) {
        rejected.push_back(c.cand->name + ": the plan rebuilt from its tactic fails to execute: " + e.get_message());
        continue;
      }
      const OutputDiff rebuilt_diff = compare(got, want);
      const bool identical = rebuilt_diff.identical;
      const double err = identical ? 0.0 : rebuilt_diff.rel;
      if (!(err <= tol)) {
        rejected.push_back(str_cat(c.cand->name,
                                   ": the plan rebuilt from its tactic computes another output (rel. diff ", err,
                                   std::isinf(err) ? ", elements unwritten or non-finite" : "", ")"));
        continue;
      }
      // The kernel runs the rebuilt plan: the same construction a load performs.
      graph_ = std::move(g);
      plan_ = plan;
      const std::string reference_check =
          checked ? str_cat("within rel. diff ", pc.ref_err, " of the direct convolution",
                            narrow ? str_cat(", ", pc.mismatch * 100.0, "% of elements differ") : "")
                  : str_cat("not checked against the direct convolution (", macs, " multiply-adds, over the ",
                            kMaxReferenceMacs, " limit)");
      const std::string rebuilt = identical ? "rebuilt from its tactic bit-identical"
                                            : str_cat("rebuilt from its tactic within rel. diff ", err, " (not bit-identical)");
      const char* rounding = !narrow ? "" : pc.exact ? " rounding once," : stages_left ? " rounding twice (stages in the epilogue kernel),"
                                                       : checked ? " rounding twice," : " rounding not checked,";
      *note = str_cat("fuse=", f.code(), rounding,
                      " best ranked passing of ", ranked.size(), " timed plans: ", c.ms, " ms");
      *rank = float(pc.score);
      *note += "; " + reference_check + "; " + rebuilt;
      if (&c != &ranked.front()) *note += str_cat("; ", &c - &ranked.front(), " faster not kept");
      if (!failed.empty()) *note += str_cat("; ", failed.size(), " failed to execute");
      *note += str_cat("; plans made in ", seconds(t_start, t_plans), " s (heuristics ", builds.heuristics_s, " s, ",
                       cands.size(), " built on ", builds.threads, " threads, ", builds.runtime_compiled,
                       " compiled at run time, longest ", builds.longest_s, " s), timed in ", seconds(t_plans, t_timed),
                       " s, checked in ", seconds(t_timed, Clock::now()), " s");
      return true;
    }
  }
  why->insert(why->end(), rejected.begin(), rejected.end());
  why->insert(why->end(), failed.begin(), failed.end());
  return false;
}

void CudnnConv2d::rebuild(const Tactic& t) {
  auto bad = [&](const std::string& why) {
    TRTORCH_ERROR("Conv2d ", where_, ": cannot rebuild the cuDNN plan of tactic \"", t.str(), "\": ", why);
  };
  const uint64_t loaded = cudnnGetVersion();
  if (t.cudnn_version != loaded)
    bad(str_cat("it was chosen with cuDNN ", t.cudnn_version, " but this process loaded cuDNN ", loaded,
                "; rebuild the engine"));
  if (t.sig != hex64(fnv1a(p_.signature())))
    bad(str_cat("it was chosen for another convolution than this node's (", p_.signature(), ")"));
  bool valid_fusion = false;
  for (const Fusion& f : fusion_candidates(p_)) valid_fusion = valid_fusion || f == t.fusion;
  if (!valid_fusion) bad("its fused stages \"" + t.fusion.code() + "\" do not fit this node's epilogue");
  if (t.tf32 && p_.dtype != DType::kFloat32) bad("tf32 is set on a non-float32 convolution");
  tf32_ = t.tf32;
  // Checked against this node's problem above: an earlier node's plan of the same tactic fits.
  if (take_shared(tactic_share_key(t.str(), max_workspace_))) return;

  std::shared_ptr<fe::graph::Graph> g;
  int64_t plan = -1;
  std::string why;
  if (!build_config(t.fusion, t.config, &g, &plan, &why)) bad(why);
  graph_ = std::move(g);
  fusion_ = t.fusion;
  plan_ = plan;
  timing_note_ = "from tactic";
}

void CudnnConv2d::finish() {
  if (auto e = graph_->get_workspace_size_plan_at_index(plan_, workspace_); e.is_bad()) fail("workspace query", e);
  if (auto e = graph_->get_plan_name_at_index(plan_, plan_name_); e.is_bad()) fail("querying the engine config", e);
  const auto id = parse_plan_name(plan_name_);
  TRTORCH_CHECK(id.has_value(), "Conv2d ", where_, ": cuDNN engine config name \"", plan_name_, "\" is not eng<id>_k<type>=<value>");
  tactic_ = Tactic{};
  tactic_.cudnn_version = cudnnGetVersion();
  tactic_.sig = hex64(fnv1a(p_.signature()));
  tactic_.tf32 = tf32_;
  tactic_.fusion = fusion_;
  tactic_.config = *id;

  std::string ops = "fprop";
  if (fusion_.bias) ops += "+bias";
  if (fusion_.residual) ops += "+add";
  if (fusion_.act) ops += std::string("+") + act_label(p_.act);
  std::string rest;
  if (p_.has_bias && !fusion_.bias) rest += "+bias";
  if (p_.has_residual && !fusion_.residual) rest += "+add";
  if (p_.has_act && !fusion_.act) rest += std::string("+") + act_label(p_.act);
  describe_ = str_cat("cudnn conv ", ops, rest.empty() ? "" : " then epilogue kernel " + rest.substr(1), " ",
                      p_.layout == Layout::kNHWC ? "NHWC" : "NCHW", " ", dtype_short(p_.dtype), tf32_ ? "+tf32" : "",
                      p_.groups > 1 ? str_cat(" groups=", p_.groups) : "", " engine ", plan_name_, " workspace ",
                      workspace_, " B (", timing_note_, ")");
}

void CudnnConv2d::launch(const std::vector<const void*>& in, const std::vector<void*>& out, void* scratch,
                         cudaStream_t stream) {
  bind(in[0], weight_of(in), bias_of(in), residual_of(in), out[0]);
  if (auto e = run(*graph_, plan_, scratch, stream); e.is_bad()) fail("executing the cuDNN plan", e);
}

ConvReference CudnnConv2d::reference_args(const void* x, const void* w, const void* bias, const void* residual,
                                          void* y, bool act) const {
  ConvReference ref;
  ref.x = x;
  ref.w = w;
  ref.bias = bias;
  ref.bias_dtype = p_.bias_dtype;
  ref.residual = residual;
  ref.y = y;
  ref.dtype = p_.dtype;
  ref.nhwc = p_.layout == Layout::kNHWC;
  ref.N = p_.N;
  ref.C = p_.C;
  ref.H = p_.H;
  ref.W = p_.W;
  ref.K = p_.K;
  ref.Cg = p_.Cg;
  ref.R = p_.R;
  ref.S = p_.S;
  ref.OH = p_.OH;
  ref.OW = p_.OW;
  ref.sh = p_.sh;
  ref.sw = p_.sw;
  ref.ph = p_.ph;
  ref.pw = p_.pw;
  ref.dh = p_.dh;
  ref.dw = p_.dw;
  ref.groups = p_.groups;
  ref.has_act = act;
  ref.act = p_.act;
  ref.alpha = p_.alpha;
  ref.beta = p_.beta;
  return ref;
}

std::string CudnnConv2d::self_check(const std::vector<const void*>& in, const std::vector<void*>& out,
                                    cudaStream_t stream) {
  if (double(p_.y_numel()) * double(p_.Cg * p_.R * p_.S) > kMaxReferenceMacs) return "";
  const size_t y_bytes = size_t(p_.y_numel()) * ir::dtype_size(p_.dtype);
  DeviceBuffer y(y_bytes);
  launch_conv_reference(reference_args(in[0], weight_of(in), bias_of(in), residual_of(in), y.get(), p_.has_act),
                        stream);
  DeviceBuffer diff_scratch(kOutputDiffScratchBytes);
  const double err = compare_outputs(out[0], y.get(), p_.dtype, p_.y_numel(), diff_scratch.get(), stream).rel;
  const double tol = tolerance();
  return err <= tol ? "" : str_cat("differs from the direct convolution on its run-time inputs by rel. diff ", err);
}

}  // namespace

std::unique_ptr<Kernel> make_Conv2d(const KernelArgs& args) {
  // Depthwise convolutions in NHWC: a direct kernel (cuDNN's NHWC depthwise engines measured
  // 0.65 ms where a memory-bound kernel needs a few microseconds, MobileNetV2 batch 32, H200).
  if (auto k = make_depthwise_nhwc(args)) return k;
  return std::make_unique<CudnnConv2d>(args);
}

}  // namespace trtorch::backends::cuda
