// Conv2d on cuDNN through the cudnn-frontend graph API, and on CUTLASS kernels compiled ahead of
// time: the declarations the files of conv/ share.
//
// cuDNN: one graph per node: conv_fprop, then the node's epilogue (bias add, residual add,
// activation) as pointwise ops fused into the same graph. When cuDNN cannot fuse a stage (no
// pointwise mode for hardswish/hardsigmoid, or no engine for the fused pattern) the graph stops
// before it and the remaining stages run in one elementwise kernel (conv_epilogue.cu), so the
// result always follows out = act(conv(x, w) + b + residual).
//
// The files:
//   conv.cpp             the kernel: construction (from a tactic, or by choosing), binding a run's
//                        pointers, launch(), self_check(), describe(); make_Conv2d
//   conv_graph.cpp       the cudnn-frontend graph of a fusion, and the engine config a tactic names
//                        built on it (the load path, also the build's rebuild check)
//   conv_tactic.cpp      the tactic string (format, parsing) and the keys of shared plans
//   conv_candidates.cpp  the engine configs a build tries: proposed by cuDNN's heuristics, built on
//                        host threads
//   conv_choose.cpp      the build's choice: timing the candidates, checking them against the direct
//                        convolution and against a rebuild from their tactic, ranking the fusions
//   conv_cutlass*.cu     CUTLASS kernels compiled ahead of time (conv_cutlass.h), and
//   conv_fold.cu         folding a few-channel strided convolution (a stem) for them, and
//   conv_cutlass_kernel.cpp  the Conv2d kernel on them, and the build's race between it and cuDNN
#pragma once

#include "core/backends/cuda/common/cudnn_frontend_include.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/backends/cuda/common/context.h"
#include "core/backends/cuda/common/kernel.h"
#include "core/backends/cuda/conv/conv_cutlass.h"
#include "core/backends/cuda/conv/conv_reference.h"
#include "core/ir/dtype.h"
#include "core/util/error.h"

namespace trtorch::backends::cuda::conv {

namespace fe = cudnn_frontend;

// Largest convolution (multiply-adds) whose engine configs are checked against the direct
// convolution: that kernel is simple and slow (H100, FP16: about 2e12 multiply-adds/s NCHW,
// 2.5e11 NHWC), and runs once per node at build time, so at most about 0.1 s. Every convolution
// of ResNet-50 at batch 32 is under it (the largest about 3.7e9); VGG-16's widest layers at
// batch 32 (3e10 to 6e10) are not. self_check() skips the same ones.
constexpr double kMaxReferenceMacs = 2e10;

// Tensor uids of the cuDNN graph.
enum : int64_t { kUidX = 1, kUidW = 2, kUidB = 3, kUidR = 4, kUidY = 5 };

// ---------------------------------------------------------------------------------------------
// The problem

struct ConvProblem {
  int64_t N = 0, C = 0, H = 0, W = 0;   // x
  int64_t K = 0, Cg = 0, R = 0, S = 0;  // w [K, C/groups, R, S]
  int64_t OH = 0, OW = 0;
  int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1, groups = 1;
  ir::DType dtype = ir::DType::kFloat32;
  ir::DType bias_dtype = ir::DType::kFloat32;  // dtype, or FP32 (a bias kept in FP32 in an FP16/BF16 conv)
  Layout layout = Layout::kRowMajor;
  bool has_bias = false, has_residual = false, has_act = false;
  ir::UnaryKind act = ir::UnaryKind::kRelu;
  float alpha = 0.0f, beta = 0.0f;

  int64_t x_numel() const { return N * C * H * W; }
  int64_t y_numel() const { return N * K * OH * OW; }
  // Multiply-adds of the convolution.
  double macs() const { return double(y_numel()) * double(Cg * R * S); }

  std::string signature() const {
    return str_cat("x=", N, "x", C, "x", H, "x", W, ";w=", K, "x", Cg, "x", R, "x", S, ";y=", OH, "x", OW, ";s=", sh,
                   ",", sw, ";p=", ph, ",", pw, ";d=", dh, ",", dw, ";g=", groups, ";t=", int(dtype),
                   ";l=", int(layout), ";b=", has_bias, ";r=", has_residual, ";a=", has_act ? int(act) : -1, ",", alpha,
                   ",", beta, has_bias && bias_dtype != dtype ? str_cat(";bt=", int(bias_dtype)) : std::string());
  }
};

// ---------------------------------------------------------------------------------------------
// Epilogue stages and how many of them cuDNN runs (conv_graph.cpp)

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

// Fusions to try, most fused first; the last is the convolution alone.
std::vector<Fusion> fusion_candidates(const ConvProblem& p);

// Engine configs whose numerics the node does not allow: inputs converted to a narrower type,
// accumulation below FP32, FFT and Winograd transforms, and for FP32 tensor cores (TF32) unless
// allowed.
std::vector<fe::NumericalNote_t> barred_notes(ir::DType t, bool tf32);

// ---------------------------------------------------------------------------------------------
// Engine configs and the tactic string (conv_tactic.cpp)

// One cuDNN engine config: the global engine id and every knob choice, knob types in cuDNN's
// backend numbering (cudnnBackendKnobType_t), sorted by type.
struct EngineConfigId {
  int64_t engine = -1;
  std::vector<std::pair<int64_t, int64_t>> knobs;

  bool operator==(const EngineConfigId& o) const { return engine == o.engine && knobs == o.knobs; }
  // Equal but for knobs at -1 that one side lists and the other does not: a plan restored from its
  // serialized form names in its tag knobs that the config left unset, at -1 (cuDNN 9.19 gives
  // "eng4_k17=-1_k24=16" back for a plan built as "eng4_k24=16").
  bool same_choices(const EngineConfigId& o) const;
  bool operator!=(const EngineConfigId& o) const { return !(*this == o); }
  std::string knob_text() const {
    std::string k;
    for (const auto& [type, value] : knobs) k += str_cat(k.empty() ? "" : ",", type, ":", value);
    return k;
  }
};

// Reads a plan name of cudnn-frontend ("eng<id>" then "_k<type>=<value>" per knob choice); null
// when the name is not of that form.
std::optional<EngineConfigId> parse_plan_name(const std::string& name);

// What a tactic string records: the fusion and engine config chosen, and what they were chosen
// for (conv_tactic.cpp describes the format).
struct Tactic {
  uint64_t cudnn_version = 0;
  std::string sig;  // hex64(fnv1a(ConvProblem::signature()))
  bool tf32 = false;
  Fusion fusion;
  EngineConfigId config;

  std::string str() const;
};

// Parses and checks a tactic string; `where` names the node for errors.
Tactic parse_tactic(const std::string& text, const std::string& where);

// The KernelShare key of the plan chosen for a problem: its signature, TF32 and the workspace limit.
std::string problem_share_key(const ConvProblem& p, bool tf32, int64_t max_workspace);
// The KernelShare key of the plan a tactic names, under a workspace limit.
std::string tactic_share_key(const std::string& tactic, int64_t max_workspace);

// ---------------------------------------------------------------------------------------------
// What the build tries (conv_candidates.cpp, conv_choose.cpp)

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

// The device tensors on which the build times and checks engine configs.
struct BuildData {
  DeviceBuffer x, w, b, r, y;  // x, y, the residual, and random w and b where the node has no constant
  const void* w_ptr = nullptr;  // the node's packed weights, or w
  const void* b_ptr = nullptr;  // the node's packed bias, or b; null without bias
};

// A chosen (or rebuilt) plan that later convolutions of the same engine with the same problem
// take over (KernelShare): the built cuDNN graph, the plan's index and what the tactic records.
struct SharedPlan {
  std::shared_ptr<fe::graph::Graph> graph;
  int64_t plan = -1;
  std::string plan_name;  // the engine config (a restored graph cannot be asked)
  Fusion fusion;
  bool tf32 = false;
  std::string note;  // the timing note of the convolution that made it
  float rank_ms = std::numeric_limits<float>::quiet_NaN();  // CudnnConv2d::rank_ms()
};

// ---------------------------------------------------------------------------------------------
// What every Conv2d kernel reads from its node (conv.cpp)

struct NodeConv {
  ConvProblem p;
  int64_t w_channels = 0;   // the weight's own channel count (below p.Cg when the executor
                            // widened a few-channel NHWC input)
  int residual_input = -1;  // the residual's input index, -1 without one
};
// Reads and checks the node's geometry, dtypes and epilogue; `where` names it in errors.
NodeConv read_conv_node(const KernelArgs& args, const std::string& where);
// The node's constant weights on the device, packed KCRS for NCHW and KRSC for NHWC (widened
// channels zero); null for weights that are not a constant (NCHW only). Shared with the engine's
// other executors (packed_constant()).
std::shared_ptr<const DeviceBuffer> pack_conv_weights(const KernelArgs& args, const ConvProblem& p,
                                                      int64_t w_channels, const std::string& where);
// The direct convolution of `p`'s geometry on the given tensors (bias, residual: null when not
// applied; act: whether the activation is).
ConvReference reference_args(const ConvProblem& p, const void* x, const void* w, const void* bias,
                             const void* residual, void* y, bool act);
// The largest relative difference a right kernel may show against the direct convolution.
inline double conv_tolerance(ir::DType t, bool tf32) {
  return t == ir::DType::kFloat32 ? (tf32 ? 1e-2 : 1e-4) : t == ir::DType::kFloat16 ? 1e-2 : 4e-2;
}
// Kernel::self_check() of a convolution: recomputes `y` (every stage of `p`'s epilogue) with the
// direct convolution on the same inputs; "" when it agrees within `tol` or is too large to check
// (kMaxReferenceMacs).
std::string check_against_direct(const ConvProblem& p, double tol, const void* x, const void* w, const void* bias,
                                 const void* residual, const void* y, cudaStream_t stream);

// ---------------------------------------------------------------------------------------------
// The kernel

class CudnnConv2d final : public Kernel {
 public:
  explicit CudnnConv2d(const KernelArgs& args);

  size_t scratch_bytes() const override { return size_t(workspace_); }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void* scratch,
              cudaStream_t stream) override;
  std::string tactic() const override { return tactic_.str(); }
  // The kept plan, serialized (conv_graph.cpp); empty when cuDNN cannot serialize it.
  std::vector<uint8_t> saved_plan() const override;
  std::string describe() const override { return describe_; }
  std::string self_check(const std::vector<const void*>& in, const std::vector<void*>& out,
                         cudaStream_t stream) override;
  // The kept plan's rank when the build chose it by timing (ms: its time, the epilogue kernel of
  // unfused stages included, times kInexactPenalty for an FP16/BF16 plan that does not round
  // once); NaN for a kernel made from a tactic.
  float rank_ms() const { return rank_ms_; }
  // Appends to describe() (make_Conv2d: what the chosen plan was raced against).
  void add_note(const std::string& note) { describe_ += note; }

 private:
  struct CandidateBuild;  // conv_candidates.cpp
  struct FusionTrial;     // conv_choose.cpp

  // ---- construction (conv.cpp)
  // Copies a constant bias to the device once.
  void pack_bias(const KernelArgs& args);
  // The load: restores the plan a tactic names from its saved form, or rebuilds it when there is
  // none or it cannot be restored (or takes an earlier node's). No timing.
  // `other_shape` (KernelArgs::other_shape): a tactic chosen for this node at another shape (a
  // dynamic engine's opt shape) builds the same engine config for this shape, without its saved
  // plan; cuDNN refusing the config is an error (the executor then chooses again).
  void rebuild(const Tactic& t, const std::vector<uint8_t>* saved, bool other_shape = false);
  // Takes the plan an earlier convolution of the engine registered under `key`; false when none.
  bool take_shared(const std::string& key);
  // Registers this kernel's plan under `key` for the convolutions after it (first one wins).
  void share_plan(const std::string& key) const;
  // Records the tactic and the description of the plan kept.
  void finish();

  // ---- the graph (conv_graph.cpp)
  // Builds and validates the operation graph for `fusion`; false (with the reason) when cuDNN
  // rejects it.
  bool make_graph(const Fusion& fusion, std::shared_ptr<fe::graph::Graph>* out, std::string* why,
                  cudnnHandle_t handle = nullptr) const;
  // The load path: builds engine config `want` of the graph for `fusion` on a fresh graph, under
  // the node's numeric (and workspace) limits, and checks that the built config names exactly
  // `want`. False, with the reason, when it cannot.
  bool build_config(const Fusion& fusion, const EngineConfigId& want, std::shared_ptr<fe::graph::Graph>* out,
                    int64_t* plan, std::string* why) const;
  // The load path with a saved plan: restores it (no compilation) into graph_ / plan_ and checks
  // that it is the engine config the tactic names, within the workspace limit. False, with the
  // reason, when it cannot (bytes cuDNN does not take).
  bool restore_plan(const Tactic& t, const std::vector<uint8_t>& bytes, std::string* why);

  // ---- the build's choice (conv_candidates.cpp, conv_choose.cpp)
  // Chooses by timing unless an earlier convolution of the engine solved the same problem.
  // `timing`: null for a kernel made alone (default options).
  void choose(const TacticOptions* timing);
  // Tries the fusions of fusion_candidates() in order and keeps the first that try_fusion()
  // accepts (in FP32 then races the convolution alone against it); throws, naming every fusion's
  // reasons, when none is.
  void choose_by_timing(const TacticOptions& timing);
  // The random device data every fusion is timed and checked on.
  BuildData make_build_data() const;
  // FP32: times the convolution alone against fusion `fused` (kept, `fused_ms`) and keeps the
  // faster, completing timing_note_.
  void race_unfused(const Fusion& fused, float fused_ms, const Fusion& unfused, const std::string& less_fused,
                    const TacticOptions& timing, BuildData& d);
  // Builds and times the engine configs of fusion `f` on `d`, and keeps (graph_, plan_, fusion_)
  // the best ranked that computes the direct convolution's output and is reproduced by a rebuild
  // from its tactic, with its timing note; false, with the reasons, when none does. `*rank` is
  // the kept config's rank: its time (the epilogue kernel of the unfused stages included), times
  // kInexactPenalty for an FP16/BF16 config that does not round once; in FP32 its time.
  bool try_fusion(const Fusion& f, const TacticOptions& timing, BuildData& d, std::string* note, float* rank,
                  std::vector<std::string>* why);
  // Builds the first TacticOptions::conv_candidates configs of fusion `f` that build (the
  // heuristics' order): one by one on one graph, or with several build threads at once, each
  // with a graph and leased handle of its own. False, with the reasons, when none builds.
  bool build_candidates(const Fusion& f, const TacticOptions& options, std::vector<Candidate>* cands,
                        std::vector<std::string>* why, CandidateBuilds* stats) const;

  // ---- running (conv.cpp)
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
  double tolerance() const { return conv_tolerance(p_.dtype, tf32_); }

  Context& ctx_;
  KernelShare* share_ = nullptr;
  std::string where_;  // the node's source, for errors
  ConvProblem p_;
  bool tf32_ = false;
  int64_t max_workspace_ = std::numeric_limits<int64_t>::max();
  bool runtime_compiled_ = true;  // TacticOptions::cudnn_runtime_compiled

  std::shared_ptr<const DeviceBuffer> w_packed_, b_packed_;
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
  float rank_ms_ = std::numeric_limits<float>::quiet_NaN();
};

}  // namespace trtorch::backends::cuda::conv

// ---------------------------------------------------------------------------------------------
// The CUTLASS kernel (conv_cutlass_kernel.cpp)

namespace trtorch::backends::cuda::conv {

// A Conv2d on the CUTLASS kernels of conv_cutlass.h, compiled into the library: nothing is
// compiled when it is built or loaded. Takes FP16/BF16 NHWC convolutions of one group with constant
// weights and bias, input and output channels multiples of 8, and an activation those kernels fuse
// (none, ReLU, clamp, SiLU). Its tactic:
//   cutlass-conv;v=1;sig=<hash of ConvProblem::signature()>;config=<cutlass_conv::config_name>;ws=<bytes>
class CutlassConv2d final : public Kernel {
 public:
  // Whether the kernels take the node `node` was read from.
  static bool fits(const KernelArgs& args, const NodeConv& node);
  // Whether `tactic` is one of this kernel's.
  static bool is_tactic(const std::string& tactic);

  // From args.tactic (a load: checked against the node, nothing timed); else chooses the config
  // by timing on random data with args.timing, keeping the fastest whose output matches the direct
  // convolution (throws, naming each config's reason, when none does).
  explicit CutlassConv2d(const KernelArgs& args);

  size_t scratch_bytes() const override { return ws_bytes_; }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void* scratch,
              cudaStream_t stream) override;
  std::string tactic() const override;
  std::string describe() const override;
  std::string self_check(const std::vector<const void*>& in, const std::vector<void*>& out,
                         cudaStream_t stream) override;

  // The kept config's time when the build chose it (ms); NaN for a kernel made from a tactic.
  float time_ms() const { return ms_; }
  // Appends to describe() (make_Conv2d: what the CUTLASS config was raced against).
  void add_note(const std::string& note) { note_ += note; }
  void set_note(const std::string& note) { note_ = note; }

 private:
  // shape_ with the tensors of one run.
  cutlass_conv::Problem problem(const void* x, const void* residual, void* y) const;
  // Workspace of config c, direct or on the folded input (T first, then c's own workspace).
  size_t workspace(cutlass_conv::Config c, bool fold) const;
  // Runs config c, direct or folded (fold the input into the workspace, then the convolution).
  void run(cutlass_conv::Config c, bool fold, const void* x, const void* residual, void* y, void* ws,
           size_t ws_bytes, cudaStream_t stream) const;
  void choose(const TacticOptions& timing);
  // `other_shape`: KernelArgs::other_shape.
  void load(const std::string& tactic, bool other_shape);
  void use(cutlass_conv::Config c, bool fold);

  Context& ctx_;
  std::string where_;
  ConvProblem p_;
  int residual_input_ = -1;
  // KRSC weights; the bias in FP32 (null without one). Shared with the engine's other executors.
  std::shared_ptr<const DeviceBuffer> w_, bias_;
  cutlass_conv::Problem shape_;  // p_ as the kernels take it (no tensors), made once
  cutlass_conv::Config config_ = cutlass_conv::Config::k128x128x64;
  bool fold_ = false;            // config_ runs on the folded input (conv_cutlass.h)
  std::shared_ptr<const DeviceBuffer> w_fold_;  // the folded weights (made where the problem folds)
  cutlass_conv::Problem fold_shape_;  // cutlass_conv::folded(shape_)
  size_t ws_bytes_ = 0;
  float ms_ = std::numeric_limits<float>::quiet_NaN();
  std::string note_;
};

// The build's Conv2d (no tactic): where CutlassConv2d fits, its best config races cuDNN's choice
// (cuDNN's runtime-compiled engine configs as TacticOptions::conv_runtime_compilation says)
// and the faster is kept; elsewhere CudnnConv2d. Convolutions of one engine with the same problem
// take the first one's decision.
std::unique_ptr<Kernel> choose_conv2d(const KernelArgs& args);

}  // namespace trtorch::backends::cuda::conv
