// Conv2d on cuDNN (conv.h describes the files of conv/): the build's choice of fusion and engine
// config, by timing and checking.
//
// At build time (KernelArgs::tactic null) the engine configs that cuDNN's heuristics propose for
// the most fused graph are built (conv_candidates.cpp), timed on random device data, and ranked;
// when none of them passes the checks below, the graph with one stage fewer is tried (activation,
// then residual, then bias go to the epilogue kernel), and the build fails only when no fusion has
// a config that passes. In FP32 the convolution alone (every stage in the epilogue kernel) then
// competes on time with the fusion accepted, its time the convolution's plus the epilogue
// kernel's, and the faster is kept. In FP16/BF16 a config that rounds the convolution before its
// fused stages ranks as if slower (see kInexactPenalty).
//
// The build records only a config that computes the right output and survives the load path.
// Fastest first, the timed plan's output (NaN-filled first, the graph alone, before the epilogue
// kernel) is compared with a direct convolution computing the same stages (conv_reference.h; a
// runtime-fusion engine was seen to compute a wrong output deterministically); then the config is
// rebuilt from its own tactic on a fresh graph, run on the same data and compared with the timed
// plan. A config that is wrong, does not rebuild, names another config after the rebuild, fails
// to execute or computes something else after the rebuild is passed over for the next fastest.
// The kernel then runs the rebuilt plan, so a built kernel and one loaded from its tactic run the
// same construction. Convolutions over kMaxReferenceMacs skip the direct convolution (its cost)
// and say so in describe().
#include "core/backends/cuda/conv/conv.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/conv/conv_epilogue.h"

namespace trtorch::backends::cuda::conv {

namespace {

using ir::DType;
using Clock = std::chrono::steady_clock;
double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// FP16/BF16 plans: the largest share of output elements that may differ from the direct
// convolution's for a plan to count as rounding once, and the rank penalty of one that does not.
constexpr double kExactMismatch = 0.02;
constexpr double kInexactPenalty = 1.15;
// Bounds on the reasons a build failure lists: per reason, and per fusion.
constexpr size_t kMaxReasonLineChars = 400;
constexpr size_t kMaxReasonChars = 2000;

// Reasons (one per engine config, or per step that failed), one per line after `indent`, each cut
// at kMaxReasonLineChars and all at kMaxReasonChars: a node tries up to four fusions of up to
// TacticOptions::conv_candidates configs each, and cuDNN's messages can be long.
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

// A config timed on the build data.
struct Timed {
  float ms;
  const Candidate* cand;
};

// A timed config whose output passed the check against the direct convolution, and its rank.
struct Passed {
  const Timed* c;
  double ref_err, mismatch;
  bool exact;
  double score;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Fusions

void CudnnConv2d::choose(const TacticOptions* timing) {
  tf32_ = p_.dtype == DType::kFloat32 && timing && timing->allow_tf32;
  // A problem is the signature, TF32 and the workspace limit; an earlier convolution of the
  // engine with the same problem chose a plan that fits this one, on the same checks.
  // A plan chosen without runtime-compiled configs is not what a choice with them would keep.
  const std::string key = problem_share_key(p_, tf32_, max_workspace_) + (runtime_compiled_ ? "" : ";precompiled");
  if (take_shared(key)) return;
  choose_by_timing(timing ? *timing : TacticOptions{});
  share_plan(key);
}

BuildData CudnnConv2d::make_build_data() const {
  // The node's own weights and bias where they are constants (engine configs are checked on the
  // data they will see), random values elsewhere.
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
  return d;
}

void CudnnConv2d::choose_by_timing(const TacticOptions& timing) {
  BuildData d = make_build_data();  // shared by every fusion tried
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
      rank_ms_ = ms;
      // An FP32 fused graph can have only slow engines (runtime fusion gets cuDNN's generic
      // engine: 2.2 ms for a 1x1 convolution of MobileNetV2 at batch 32 whose plain convolution
      // takes a fraction of that): the convolution alone, with every stage in the epilogue
      // kernel, competes on time. It is the last candidate, so a tactic can name it. FP16/BF16
      // fused graphs have fast engines, and the unfused one rounds twice: not tried (on
      // ResNet-50 at batch 32 it doubled the build time and won nothing).
      const Fusion& unfused = fusions.back();
      if (!(f == unfused) && p_.dtype == DType::kFloat32) race_unfused(f, ms, unfused, less_fused, timing, d);
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

void CudnnConv2d::race_unfused(const Fusion& fused, float fused_ms, const Fusion& unfused,
                               const std::string& less_fused, const TacticOptions& timing, BuildData& d) {
  Fusion kept_fusion = fusion_;
  auto kept_graph = graph_;
  const int64_t kept_plan = plan_;
  std::string unfused_note;
  float unfused_ms = 0.0f;
  std::vector<std::string> unfused_why;
  if (try_fusion(unfused, timing, d, &unfused_note, &unfused_ms, &unfused_why) && unfused_ms < fused_ms) {
    timing_note_ = str_cat(unfused_note, "; fuse=", fused.code(), " slower: ", fused_ms, " ms", less_fused);
    rank_ms_ = unfused_ms;
    return;
  }
  fusion_ = kept_fusion;
  graph_ = std::move(kept_graph);
  plan_ = kept_plan;
  timing_note_ += str_cat("; fuse=", unfused.code(), " ",
                          unfused_why.empty() ? str_cat("slower: ", unfused_ms, " ms") : std::string("rejected"));
}

// ---------------------------------------------------------------------------------------------
// One fusion: time its configs, check them fastest first, keep the best ranked that passes

// The state of try_fusion(): the candidates, their timings, and the device buffers of the checks.
// The checks compare what cuDNN computes, the graph's output before the epilogue kernel: that
// kernel is this backend's own, and an activation left to it (log, reciprocal, ...) could turn
// rounding differences into large ones, which would say nothing about the engine. Outputs stay on
// the device and are compared there.
struct CudnnConv2d::FusionTrial {
  FusionTrial(CudnnConv2d& kernel, const Fusion& fusion, BuildData& data)
      : k(kernel), f(fusion), d(data), s(kernel.ctx_.stream()) {}

  // Times every built config (one checked run first); false when none executes.
  bool time_candidates(const TacticOptions& timing);
  // Allocates the check buffers and computes the direct convolution (when `checked`).
  void start_checks();
  // Keeps the best ranked config that passes every check (k.graph_, k.plan_ and `*note`).
  bool check(std::string* note, float* rank);

  CudnnConv2d& k;
  const Fusion& f;
  BuildData& d;
  cudaStream_t s;
  // Where the build's time goes: making the plans (cuDNN's runtime compilation), timing them,
  // checking them (direct convolution, rebuilds, comparisons).
  Clock::time_point t_start = Clock::now(), t_plans, t_timed;
  std::vector<Candidate> cands;  // built configs that a tactic can name, heuristic order
  CandidateBuilds builds;
  int64_t max_ws = 0;
  DeviceBuffer ws;
  std::vector<Timed> ranked;        // fastest first
  std::vector<std::string> failed;  // configs that failed to execute, with cuDNN's reason
  std::vector<std::string> rejected;

 private:
  // Runs plan `plan` of `g` alone on NaN-filled output and copies the output to `into`.
  fe::error_t output_of(fe::graph::Graph& g, int64_t plan, void* workspace, DeviceBuffer& into, cudnnHandle_t handle);
  OutputDiff compare(const DeviceBuffer& a, const DeviceBuffer& b) {
    return compare_outputs(a.get(), b.get(), k.p_.dtype, k.p_.y_numel(), diff_scratch.get(), s);
  }
  // Makes `want` hold config `c`'s timed-plan output; false (rejected) when it fails to execute.
  bool load_want(const Timed& c);
  // The configs of `ranked` from `*next` on that pass the check against the direct convolution,
  // best rank first; round 0 stops at a config no faster than the best rank so far.
  std::vector<Passed> evaluate_round(int round, size_t* next);
  std::optional<Passed> evaluate(const Timed& c);
  // Rebuilds `pc` from its tactic and keeps it when the rebuilt plan computes the timed one's output.
  bool keep_if_rebuilt(const Passed& pc, std::string* note);
  std::string kept_note(const Passed& pc, bool identical, double err) const;

  size_t y_bytes = 0;
  DeviceBuffer want, got, reference, diff_scratch;
  const Timed* in_want = nullptr;  // the config whose timed-plan output `want` holds
  double macs = 0.0;
  bool checked = false;      // against the direct convolution (not over kMaxReferenceMacs)
  double tol = 0.0;          // CudnnConv2d::tolerance()
  bool narrow = false;       // FP16/BF16
  bool stages_left = false;  // a bias or residual left to the epilogue kernel
};

bool CudnnConv2d::try_fusion(const Fusion& f, const TacticOptions& timing, BuildData& d, std::string* note,
                             float* rank, std::vector<std::string>* why) {
  FusionTrial t(*this, f, d);
  try {
    if (!build_candidates(f, timing, &t.cands, why, &t.builds)) return false;
  } catch (const std::exception& ex) {  // cudnn-frontend reports through error_t, but be safe
    why->push_back(ex.what());
    return false;
  }
  t.t_plans = Clock::now();
  if (!t.time_candidates(timing)) {
    why->push_back("every engine config that built fails to execute");
    why->insert(why->end(), t.failed.begin(), t.failed.end());
    return false;
  }
  t.t_timed = Clock::now();
  t.start_checks();
  if (t.check(note, rank)) return true;
  why->insert(why->end(), t.rejected.begin(), t.rejected.end());
  why->insert(why->end(), t.failed.begin(), t.failed.end());
  return false;
}

bool CudnnConv2d::FusionTrial::time_candidates(const TacticOptions& timing) {
  for (const Candidate& c : cands) {
    int64_t size = 0;
    if (auto e = c.graph->get_workspace_size_plan_at_index(c.index, size); e.is_bad()) k.fail("workspace query", e);
    max_ws = std::max(max_ws, size);
  }
  ws = DeviceBuffer(size_t(max_ws));
  k.fusion_ = f;  // bind() and run() follow the fusion
  k.bind(d.x.get(), d.w_ptr, d.b_ptr, d.r.get(), d.y.get());
  for (const Candidate& c : cands) {
    // One checked run first: a config that fails at execution is dropped (with its reason), not timed.
    if (auto e = k.run(*c.graph, c.index, ws.get(), s, c.handle); e.is_bad()) {
      failed.push_back(c.name + ": fails to execute: " + e.get_message());
      continue;
    }
    TRTORCH_CUDA_CHECK(cudaStreamSynchronize(s));
    // Timed also when it is the only config: fusions compete on time.
    const float ms = time_ms(k.ctx_, timing.min_timing_iters, timing.avg_timing_iters, [&](cudaStream_t st) {
      auto e = k.run(*c.graph, c.index, ws.get(), st, c.handle);
      if (e.is_bad()) k.fail("executing a candidate plan", e);
    });
    ranked.push_back(Timed{ms, &c});
  }
  TRTORCH_CUDA_CHECK(cudaStreamSynchronize(s));
  std::stable_sort(ranked.begin(), ranked.end(), [](const Timed& a, const Timed& c) { return a.ms < c.ms; });
  return !ranked.empty();
}

void CudnnConv2d::FusionTrial::start_checks() {
  const ConvProblem& p = k.p_;
  y_bytes = size_t(p.y_numel()) * ir::dtype_size(p.dtype);
  want = DeviceBuffer(y_bytes);
  got = DeviceBuffer(y_bytes);
  diff_scratch = DeviceBuffer(kOutputDiffScratchBytes);
  // The trusted output: the direct convolution with the stages inside the graph.
  macs = p.macs();
  checked = macs <= kMaxReferenceMacs;
  if (checked) {
    reference = DeviceBuffer(y_bytes);
    launch_conv_reference(reference_args(k.p_, d.x.get(), d.w_ptr, f.bias ? d.b_ptr : nullptr,
                                           f.residual ? d.r.get() : nullptr, reference.get(), f.act),
                          s);
  }
  // A timed plan within `tol` of the direct convolution and a rebuilt plan within `tol` of the
  // timed one keep the kernel within 2 * tol of it.
  tol = k.tolerance();
  // FP16/BF16: a plan that rounds once, like the direct convolution, differs from it in a few
  // elements only (FP32 sums in another order); a plan that rounds the convolution before the
  // fused bias / residual differs in a large share of them, and that error compounds over a deep
  // network (ResNet-50 emulated on the CPU: 0.033 instead of 0.027 relative output error). Such
  // a plan, and one leaving a bias or residual to the epilogue kernel, ranks as if slower by
  // kInexactPenalty; the fastest by that rank that passes every check is kept.
  narrow = p.dtype != DType::kFloat32;
  stages_left = (p.has_bias && !f.bias) || (p.has_residual && !f.residual);
}

fe::error_t CudnnConv2d::FusionTrial::output_of(fe::graph::Graph& g, int64_t plan, void* workspace,
                                                DeviceBuffer& into, cudnnHandle_t handle) {
  TRTORCH_CUDA_CHECK(cudaMemsetAsync(d.y.get(), 0xff, y_bytes, s));  // NaN: every element must be written
  auto e = k.execute(g, plan, workspace, s, handle);
  if (e.is_good()) TRTORCH_CUDA_CHECK(cudaMemcpyAsync(into.get(), d.y.get(), y_bytes, cudaMemcpyDeviceToDevice, s));
  TRTORCH_CUDA_CHECK(cudaStreamSynchronize(s));
  return e;
}

bool CudnnConv2d::FusionTrial::check(std::string* note, float* rank) {
  // Record only a config that computes the right output and that the load path reproduces.
  // Round 0 evaluates the configs fastest first and stops at one no faster than the best rank so
  // far (its rank is at least its time); round 1, reached only when the rebuild rejects every
  // config round 0 passed, evaluates the rest.
  size_t next = 0;  // the first config of `ranked` not evaluated yet
  for (int round = 0; round < 2 && next < ranked.size(); ++round) {
    for (const Passed& pc : evaluate_round(round, &next)) {
      if (keep_if_rebuilt(pc, note)) {
        *rank = float(pc.score);
        return true;
      }
    }
  }
  return false;
}

std::vector<Passed> CudnnConv2d::FusionTrial::evaluate_round(int round, size_t* next) {
  std::vector<Passed> passed;
  double best_score = INFINITY;
  for (; *next < ranked.size(); ++*next) {
    const Timed& c = ranked[*next];
    if (round == 0 && c.ms >= best_score) break;
    if (std::optional<Passed> pc = evaluate(c)) {
      passed.push_back(*pc);
      best_score = std::min(best_score, pc->score);
    }
  }
  std::stable_sort(passed.begin(), passed.end(), [](const Passed& a, const Passed& b) { return a.score < b.score; });
  return passed;
}

bool CudnnConv2d::FusionTrial::load_want(const Timed& c) {
  if (in_want == &c) return true;
  in_want = nullptr;
  if (auto e = output_of(*c.cand->graph, c.cand->index, ws.get(), want, c.cand->handle); e.is_bad()) {
    rejected.push_back(c.cand->name + ": the timed plan fails to execute: " + e.get_message());
    return false;
  }
  in_want = &c;
  return true;
}

// Every timed plan's output is compared with the direct convolution; one within `tol` passes.
std::optional<Passed> CudnnConv2d::FusionTrial::evaluate(const Timed& c) {
  if (!load_want(c)) return std::nullopt;
  double ref_err = 0.0, mismatch = 0.0;
  if (checked) {
    const OutputDiff diff = compare(want, reference);
    ref_err = diff.rel;
    if (!(ref_err <= tol)) {
      rejected.push_back(str_cat(c.cand->name, ": computes a wrong output (rel. diff ", ref_err,
                                 " against the direct convolution",
                                 std::isinf(ref_err) ? ": elements unwritten or non-finite" : "", ")"));
      return std::nullopt;
    }
    if (narrow) mismatch = diff.mismatch;
  }
  const bool exact = !narrow || (!stages_left && checked && mismatch <= kExactMismatch);
  return Passed{&c, ref_err, mismatch, exact, c.ms * (exact ? 1.0 : kInexactPenalty)};
}

bool CudnnConv2d::FusionTrial::keep_if_rebuilt(const Passed& pc, std::string* note) {
  const Timed& c = *pc.c;
  std::shared_ptr<fe::graph::Graph> g;
  int64_t plan = -1;
  std::string reason;
  if (!k.build_config(f, c.cand->id, &g, &plan, &reason)) {
    rejected.push_back(c.cand->name + ": rebuilding from its tactic: " + reason);
    return false;
  }
  int64_t rebuilt_ws = 0;
  if (auto e = g->get_workspace_size_plan_at_index(plan, rebuilt_ws); e.is_bad()) k.fail("workspace query", e);
  DeviceBuffer own_ws;
  void* rws = ws.get();
  if (rebuilt_ws > max_ws) {
    own_ws = DeviceBuffer(size_t(rebuilt_ws));
    rws = own_ws.get();
  }
  if (!load_want(c)) return false;
  if (auto e = output_of(*g, plan, rws, got, nullptr); e.is_bad()) {
    rejected.push_back(c.cand->name + ": the plan rebuilt from its tactic fails to execute: " + e.get_message());
    return false;
  }
  const OutputDiff rebuilt_diff = compare(got, want);
  const bool identical = rebuilt_diff.identical;
  const double err = identical ? 0.0 : rebuilt_diff.rel;
  if (!(err <= tol)) {
    rejected.push_back(str_cat(c.cand->name, ": the plan rebuilt from its tactic computes another output (rel. diff ",
                               err, std::isinf(err) ? ", elements unwritten or non-finite" : "", ")"));
    return false;
  }
  // The kernel runs the rebuilt plan: the same construction a load performs.
  k.graph_ = std::move(g);
  k.plan_ = plan;
  *note = kept_note(pc, identical, err);
  return true;
}

std::string CudnnConv2d::FusionTrial::kept_note(const Passed& pc, bool identical, double err) const {
  const Timed& c = *pc.c;
  const std::string reference_check =
      checked ? str_cat("within rel. diff ", pc.ref_err, " of the direct convolution",
                        narrow ? str_cat(", ", pc.mismatch * 100.0, "% of elements differ") : "")
              : str_cat("not checked against the direct convolution (", macs, " multiply-adds, over the ",
                        kMaxReferenceMacs, " limit)");
  const std::string rebuilt =
      identical ? "rebuilt from its tactic bit-identical"
                : str_cat("rebuilt from its tactic within rel. diff ", err, " (not bit-identical)");
  const char* rounding = !narrow       ? ""
                         : pc.exact    ? " rounding once,"
                         : stages_left ? " rounding twice (stages in the epilogue kernel),"
                         : checked     ? " rounding twice,"
                                       : " rounding not checked,";
  std::string note = str_cat("fuse=", f.code(), rounding, " best ranked passing of ", ranked.size(),
                             " timed plans: ", c.ms, " ms");
  note += "; " + reference_check + "; " + rebuilt;
  if (&c != &ranked.front()) note += str_cat("; ", &c - &ranked.front(), " faster not kept");
  if (!failed.empty()) note += str_cat("; ", failed.size(), " failed to execute");
  note += str_cat("; plans made in ", seconds(t_start, t_plans), " s (heuristics ", builds.heuristics_s, " s, ",
                  cands.size(), " built on ", builds.threads, " threads, ", builds.runtime_compiled,
                  " compiled at run time, longest ", builds.longest_s, " s), timed in ", seconds(t_plans, t_timed),
                  " s, checked in ", seconds(t_timed, Clock::now()), " s");
  return note;
}

}  // namespace trtorch::backends::cuda::conv
