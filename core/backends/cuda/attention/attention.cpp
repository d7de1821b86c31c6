// Attention on the GPU: cuDNN's fused scaled-dot-product attention (flash attention, through the
// cudnn-frontend graph API) for FP16/BF16, else the direct kernel of attention.cu.
//
// cuDNN's SDPA takes q/k/v as [B, H, seq, d] with the head size d a multiple of 8 up to 128 (on
// Hopper), the additive bias as [B or 1, H or 1, L, S], and the causal mask as an attribute. The
// node's leading dims fold into B and H (the last leading dim is H). Any other case (FP32, a
// head size cuDNN rejects, a bias broadcast along L or S) runs the direct kernel.
//
// Tactic (stored in the engine; the common "tag;key=value;..." format of common/tactic.h):
//   attention;impl=direct
//   attention;impl=cudnn;cudnn=91900;sig=<hash of the problem>;engine=<id>;knobs=<type:value,...>
// The build times cuDNN's candidate engine configs (choose_cudnn); a load (load) rebuilds
// exactly the recorded one, or fails naming the node, and never times.
#include "core/backends/cuda/common/cudnn_frontend_include.h"

#include <algorithm>
#include <initializer_list>
#include <limits>
#include <memory>
#include <set>
#include <unordered_map>

#include "core/backends/cuda/attention/attention.h"
#include "core/backends/cuda/common/context.h"
#include "core/backends/cuda/conv/conv_epilogue.h"
#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/kernel.h"
#include "core/backends/cuda/common/tactic.h"
#include "core/util/error.h"

namespace trtorch::backends::cuda {

namespace {

namespace fe = cudnn_frontend;
using ir::DType;

enum : int64_t { kUidQ = 1, kUidK = 2, kUidV = 3, kUidBias = 4, kUidO = 5 };
constexpr size_t kMaxCandidates = 4;
constexpr const char* kTacticTag = "attention";

AttentionProblem problem_of(const KernelArgs& a) {
  const auto& at = a.node.attr<ir::AttentionAttrs>();
  const auto& qs = a.inputs[0].shape;
  const size_t r = qs.size();
  AttentionProblem p;
  p.dtype = a.inputs[0].dtype;
  p.bshd = at.bshd;
  p.packed = at.packed;
  p.lead.assign(qs.begin(), qs.end() - 2);
  p.L = qs[r - 2];
  p.E = qs[r - 1];
  p.S = a.inputs[1].shape[r - 2];
  p.Ev = a.inputs[2].shape[r - 1];
  if (p.bshd) {  // [B, seq, H, d], packed: [B, seq, 3, H, d]
    p.lead = {qs[0], qs[p.packed ? 3 : 2]};
    p.L = qs[1];
    p.S = a.inputs[1].shape[1];
  }
  p.scale = float(at.scale);
  p.causal = at.causal;
  p.has_bias = a.inputs.size() > 3;
  if (p.has_bias) {
    // Strides of the bias along the scores' dims [lead..., L, S] (numpy broadcasting).
    std::vector<int64_t> scores = p.lead;
    scores.push_back(p.L);
    scores.push_back(p.S);
    const auto& bs = a.inputs[3].shape;
    std::vector<int64_t> st(bs.size(), 1);
    for (size_t d = bs.size(); d-- > 1;) st[d - 1] = st[d] * bs[d];
    p.bias_strides.assign(scores.size(), 0);
    const size_t off = scores.size() - bs.size();
    for (size_t d = off; d < scores.size(); ++d) p.bias_strides[d] = bs[d - off] == 1 ? 0 : st[d - off];
  }
  for (const TensorDesc& d : a.inputs)
    TRTORCH_EXPECT(d.layout == Layout::kRowMajor, "Attention ", a.node.source, ": inputs must be row-major");
  return p;
}

class AttentionKernel final : public Kernel {
 public:
  explicit AttentionKernel(const KernelArgs& a);
  size_t scratch_bytes() const override { return size_t(workspace_); }
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void* scratch,
              cudaStream_t stream) override;
  std::string tactic() const override { return tactic_; }
  std::string describe() const override { return describe_; }

 private:
  // Whether cuDNN's SDPA may run this problem, with B, H and the bias's (Bb, Hb) folding.
  bool cudnn_shape(std::string* why);
  bool make_graph(std::shared_ptr<fe::graph::Graph>* out, std::string* why) const;
  // Build time: times cuDNN's candidates; false, with the reason, when none runs.
  bool choose_cudnn(const TacticOptions& timing, std::string* why);
  // The indices of up to kMaxCandidates distinct engine configs of `g` that build.
  std::vector<int64_t> build_plans(fe::graph::Graph& g, std::string* why) const;
  // Times the built plans of graph_ on random data and keeps the fastest.
  bool time_plans(const std::vector<int64_t>& built, const TacticOptions& timing, std::string* why);
  // Load time: the implementation a tactic records.
  void load(const std::string& text);
  void rebuild_cudnn(const std::string& text, const TacticFields& f);
  [[noreturn]] void bad_tactic(const std::string& text, const std::string& why) const;
  void finish_cudnn(const std::string& note);
  fe::error_t run_cudnn(int64_t plan, const void* q, const void* k, const void* v, const void* bias, void* o,
                        void* workspace, cudaStream_t s);
  void use_direct(const std::string& note);

  Context& ctx_;
  std::string where_;
  AttentionProblem p_;
  int64_t B_ = 1, H_ = 1, Bb_ = 1, Hb_ = 1, bias_sb_ = 0, bias_sh_ = 0;
  bool cudnn_ = false;
  std::shared_ptr<fe::graph::Graph> graph_;
  int64_t plan_ = -1;
  int64_t workspace_ = 0;
  std::string tactic_, describe_;
};

AttentionKernel::AttentionKernel(const KernelArgs& a)
    : ctx_(a.ctx), where_(a.node.source.empty() ? "(no source location)" : a.node.source), p_(problem_of(a)) {
  if (a.tactic) {
    load(*a.tactic);
    return;
  }
  std::string why;
  if (cudnn_shape(&why) && choose_cudnn(a.timing ? *a.timing : TacticOptions{}, &why)) return;
  use_direct(why);
}

bool AttentionKernel::cudnn_shape(std::string* why) {
  if (p_.dtype != DType::kFloat16 && p_.dtype != DType::kBFloat16) {
    *why = "cuDNN SDPA needs FP16/BF16";
    return false;
  }
  if (p_.E % 8 != 0 || p_.Ev % 8 != 0 || p_.E > 128 || p_.Ev > 128) {
    *why = str_cat("head sizes ", p_.E, "/", p_.Ev, " (cuDNN SDPA: multiples of 8 up to 128)");
    return false;
  }
  if (p_.lead.empty() || p_.L == 0 || p_.S == 0) {
    *why = "no leading (batch/head) dim or an empty sequence";
    return false;
  }
  H_ = p_.lead.back();
  B_ = p_.batch() / std::max<int64_t>(H_, 1);
  if (p_.has_bias) {
    const size_t nl = p_.lead.size();
    if (p_.bias_strides[nl] == 0 && p_.L > 1) {
      *why = "a bias broadcast along the query length";
      return false;
    }
    if (p_.bias_strides[nl + 1] != 1) {
      *why = "a bias that is not contiguous along the keys";
      return false;
    }
    // The head dim: the bias is either constant along it or indexed by it.
    Hb_ = p_.bias_strides[nl - 1] == 0 ? 1 : H_;
    bias_sh_ = p_.bias_strides[nl - 1];
    // The folded batch dims: all broadcast, or all present with the bias's dense strides.
    bool all_zero = true, dense = true;
    int64_t expect = Hb_ == 1 ? p_.L * p_.S : H_ * p_.L * p_.S;
    for (size_t d = nl - 1; d-- > 0;) {
      all_zero = all_zero && (p_.bias_strides[d] == 0 || p_.lead[d] == 1);
      dense = dense && (p_.bias_strides[d] == expect || p_.lead[d] == 1);
      expect *= p_.lead[d];
    }
    if (!all_zero && !dense) {
      *why = "a bias broadcast along some but not all batch dims";
      return false;
    }
    Bb_ = all_zero ? 1 : B_;
    bias_sb_ = Hb_ == 1 ? p_.L * p_.S : H_ * p_.L * p_.S;
  }
  return true;
}

bool AttentionKernel::make_graph(std::shared_ptr<fe::graph::Graph>* out, std::string* why) const {
  using fe::graph::Tensor_attributes;
  const fe::DataType_t io = p_.dtype == DType::kFloat16 ? fe::DataType_t::HALF : fe::DataType_t::BFLOAT16;
  auto g = std::make_shared<fe::graph::Graph>();
  g->set_name("trtorch_sdpa");
  g->set_io_data_type(io)
      .set_intermediate_data_type(fe::DataType_t::FLOAT)
      .set_compute_data_type(fe::DataType_t::FLOAT);
  // [B, H, seq, d] with the strides of the node's layout (bshd: [B, seq, H, d] in memory; packed
  // inputs step over the other two slots between sequence positions).
  auto strides = [&](int64_t seq, int64_t d, int64_t rows) {
    return p_.bshd ? std::vector<int64_t>{seq * rows * H_ * d, d, rows * H_ * d, 1}
                   : std::vector<int64_t>{H_ * seq * d, seq * d, d, 1};
  };
  const int64_t in_rows = p_.packed ? 3 : 1;
  auto dense = [&](const char* name, int64_t uid, int64_t seq, int64_t d) {
    return g->tensor(Tensor_attributes()
                         .set_name(name)
                         .set_uid(uid)
                         .set_data_type(io)
                         .set_dim({B_, H_, seq, d})
                         .set_stride(strides(seq, d, in_rows)));
  };
  auto Q = dense("q", kUidQ, p_.L, p_.E);
  auto K = dense("k", kUidK, p_.S, p_.E);
  auto V = dense("v", kUidV, p_.S, p_.Ev);
  auto opts = fe::graph::SDPA_attributes().set_name("sdpa").set_generate_stats(false).set_attn_scale(p_.scale);
  if (p_.causal) opts.set_causal_mask(true);
  if (p_.has_bias) {
    const size_t nl = p_.lead.size();
    auto bias = g->tensor(Tensor_attributes()
                              .set_name("bias")
                              .set_uid(kUidBias)
                              .set_data_type(io)
                              .set_dim({Bb_, Hb_, p_.L, p_.S})
                              .set_stride({bias_sb_, Hb_ == 1 ? p_.L * p_.S : bias_sh_, p_.bias_strides[nl], 1}));
    opts.set_bias(bias);
  }
  auto [O, stats] = g->sdpa(Q, K, V, opts);
  (void)stats;
  O->set_output(true).set_uid(kUidO).set_data_type(io).set_dim({B_, H_, p_.L, p_.Ev}).set_stride(
      strides(p_.L, p_.Ev, 1));
  if (auto e = g->validate(); e.is_bad()) {
    *why = "validate: " + e.get_message();
    return false;
  }
  if (auto e = g->build_operation_graph(ctx_.cudnn()); e.is_bad()) {
    *why = "build_operation_graph: " + e.get_message();
    return false;
  }
  *out = std::move(g);
  return true;
}

fe::error_t AttentionKernel::run_cudnn(int64_t plan, const void* q, const void* k, const void* v, const void* bias,
                                       void* o, void* workspace, cudaStream_t s) {
  const size_t es = ir::dtype_size(p_.dtype);
  auto slot = [&](const void* base, int64_t offset) {
    return const_cast<char*>(static_cast<const char*>(base)) + size_t(offset) * es;
  };
  std::unordered_map<int64_t, void*> ptrs{{kUidQ, const_cast<void*>(q)},
                                          {kUidK, slot(k, p_.k_offset())},
                                          {kUidV, slot(v, p_.v_offset())},
                                          {kUidO, o}};
  if (p_.has_bias) ptrs[kUidBias] = const_cast<void*>(bias);
  TRTORCH_CUDNN_CHECK(cudnnSetStream(ctx_.cudnn(), s));
  return graph_->execute_plan_at_index(ctx_.cudnn(), ptrs, workspace, plan);
}

bool AttentionKernel::choose_cudnn(const TacticOptions& timing, std::string* why) {
  std::shared_ptr<fe::graph::Graph> g;
  try {
    if (!make_graph(&g, why)) return false;
    if (auto e = g->create_execution_plans({fe::HeurMode_t::A, fe::HeurMode_t::FALLBACK}); e.is_bad()) {
      *why = "heuristics: " + e.get_message();
      return false;
    }
    if (timing.max_scratch_bytes < size_t(std::numeric_limits<int64_t>::max()))
      g->deselect_workspace_greater_than(int64_t(timing.max_scratch_bytes));
  } catch (const std::exception& ex) {
    *why = ex.what();
    return false;
  }
  const std::vector<int64_t> built = build_plans(*g, why);
  if (built.empty()) return false;
  graph_ = g;
  return time_plans(built, timing, why);
}

std::vector<int64_t> AttentionKernel::build_plans(fe::graph::Graph& g, std::string* why) const {
  std::vector<int64_t> built;
  std::set<std::string> seen;
  std::string errors;
  for (int64_t i = 0; i < g.get_execution_plan_count() && built.size() < kMaxCandidates; ++i) {
    std::string name;
    if (g.get_plan_name_at_index(i, name).is_good() && !seen.insert(name).second) continue;
    if (auto e = g.build_plan_at_index(i); e.is_good())
      built.push_back(i);
    else if (errors.size() < 1000)
      errors += " " + name + ": " + e.get_message() + ";";
  }
  if (built.empty()) *why = "no cuDNN SDPA engine config builds:" + errors;
  return built;
}

bool AttentionKernel::time_plans(const std::vector<int64_t>& built, const TacticOptions& timing, std::string* why) {
  int64_t max_ws = 0;
  for (int64_t i : built) {
    int64_t ws = 0;
    if (graph_->get_workspace_size_plan_at_index(i, ws).is_good()) max_ws = std::max(max_ws, ws);
  }
  // Time the candidates on random data.
  const size_t es = ir::dtype_size(p_.dtype);
  const int64_t nb = p_.batch();
  // Packed: q, k and v in one buffer, each of the three `q` of that size, read at the slot offsets.
  const int64_t nq = nb * p_.L * p_.E * (p_.packed ? 3 : 1);
  DeviceBuffer q{size_t(nq) * es}, k{p_.packed ? 0 : size_t(nb * p_.S * p_.E) * es},
      v{p_.packed ? 0 : size_t(nb * p_.S * p_.Ev) * es}, o{size_t(nb * p_.L * p_.Ev) * es}, ws{size_t(max_ws)}, bias;
  cudaStream_t s = ctx_.stream();
  launch_fill_random(q.get(), p_.dtype, nq, 1, s);
  if (!p_.packed) {
    launch_fill_random(k.get(), p_.dtype, nb * p_.S * p_.E, 2, s);
    launch_fill_random(v.get(), p_.dtype, nb * p_.S * p_.Ev, 3, s);
  }
  const void* kp = p_.packed ? q.get() : k.get();
  const void* vp = p_.packed ? q.get() : v.get();
  if (p_.has_bias) {
    const int64_t n = Bb_ * Hb_ * p_.L * p_.S;
    bias = DeviceBuffer(size_t(n) * es);
    launch_fill_random(bias.get(), p_.dtype, n, 4, s);
  }
  float best = std::numeric_limits<float>::infinity();
  int timed = 0;
  for (int64_t i : built) {
    if (run_cudnn(i, q.get(), kp, vp, bias.get(), o.get(), ws.get(), s).is_bad()) continue;
    TRTORCH_CUDA_CHECK(cudaStreamSynchronize(s));
    const float ms = time_ms(ctx_, timing.min_timing_iters, timing.avg_timing_iters, [&](cudaStream_t st) {
      auto e = run_cudnn(i, q.get(), kp, vp, bias.get(), o.get(), ws.get(), st);
      if (e.is_bad()) TRTORCH_ERROR("Attention ", where_, ": cuDNN SDPA plan failed while timing: ", e.get_message());
    });
    ++timed;
    if (ms < best) {
      best = ms;
      plan_ = i;
    }
  }
  TRTORCH_CUDA_CHECK(cudaStreamSynchronize(s));
  if (plan_ < 0) {
    graph_.reset();
    *why = "every cuDNN SDPA plan failed to execute";
    return false;
  }
  finish_cudnn(str_cat("fastest of ", timed, ": ", best, " ms"));
  return true;
}

void AttentionKernel::finish_cudnn(const std::string& note) {
  cudnn_ = true;
  if (auto e = graph_->get_workspace_size_plan_at_index(plan_, workspace_); e.is_bad())
    TRTORCH_ERROR("Attention ", where_, ": cuDNN workspace query: ", e.get_message());
  int64_t engine = -1;
  std::unordered_map<fe::KnobType_t, int64_t> knobs;
  if (auto e = graph_->get_engine_and_knobs_at_index(plan_, engine, knobs); e.is_bad())
    TRTORCH_ERROR("Attention ", where_, ": querying the chosen cuDNN engine: ", e.get_message());
  std::vector<std::pair<int64_t, int64_t>> sorted;
  for (const auto& [type, value] : knobs)
    if (type != fe::KnobType_t::NOT_SET) sorted.emplace_back(int64_t(type), value);
  std::sort(sorted.begin(), sorted.end());
  std::string ks;
  for (const auto& [type, value] : sorted) ks += str_cat(ks.empty() ? "" : ",", type, ":", value);
  tactic_ = TacticFields(kTacticTag)
                .add("impl", "cudnn")
                .add("cudnn", cudnnGetVersion())
                .add("sig", hex64(fnv1a(p_.signature())))
                .add("engine", engine)
                .add("knobs", ks)
                .format();
  std::string name;
  if (graph_->get_plan_name_at_index(plan_, name).is_bad()) name = "?";
  describe_ = str_cat("cudnn sdpa ", dtype_short(p_.dtype), p_.bshd ? " bshd" : "", p_.packed ? " packed" : "",
                      " B=", B_, " H=", H_, " L=", p_.L, " S=", p_.S, " d=", p_.E, p_.causal ? " causal" : "",
                      p_.has_bias ? " +bias" : "", " engine ", name, " workspace ", workspace_, " B (", note, ")");
}

void AttentionKernel::bad_tactic(const std::string& text, const std::string& why) const {
  TRTORCH_ERROR("Attention ", where_, ": cannot rebuild the attention plan from tactic \"", text, "\": ", why,
                ". Rebuild the engine.");
}

void AttentionKernel::load(const std::string& text) {
  TacticFields f;
  try {
    f = TacticFields::parse(text);
  } catch (const Error& e) {
    bad_tactic(text, e.what());
  }
  if (f.tag() != kTacticTag || !f.has("impl")) bad_tactic(text, "not an attention tactic");
  const bool direct = f.get("impl") == "direct";
  if (!direct && f.get("impl") != "cudnn") bad_tactic(text, "not an attention tactic");
  try {
    if (direct)
      f.expect_keys({"impl"});
    else
      f.expect_keys({"impl", "cudnn", "sig", "engine", "knobs"});
  } catch (const Error& e) {
    bad_tactic(text, e.what());
  }
  if (direct) return use_direct("from tactic");
  rebuild_cudnn(text, f);
}

void AttentionKernel::rebuild_cudnn(const std::string& text, const TacticFields& f) {
  auto bad = [&](const std::string& why) { bad_tactic(text, why); };
  int64_t version = 0, engine = -1;
  if (!parse_int(f.get("cudnn"), &version) || uint64_t(version) != uint64_t(cudnnGetVersion()))
    bad(str_cat("it was chosen with cuDNN ", f.get("cudnn"), " but this process loaded cuDNN ", cudnnGetVersion()));
  if (f.get("sig") != hex64(fnv1a(p_.signature())))
    bad("it was chosen for another attention problem than this node's");
  if (!parse_int(f.get("engine"), &engine) || engine < 0) bad("bad engine id");
  std::unordered_map<fe::KnobType_t, int64_t> knobs;
  if (!f.get("knobs").empty())
    for (const std::string& kvp : split(f.get("knobs"), ',')) {
      auto tv = split(kvp, ':');
      int64_t type = 0, value = 0;
      if (tv.size() != 2 || !parse_int(tv[0], &type) || !parse_int(tv[1], &value) || type < 0)
        bad("bad knob \"" + kvp + "\"");
      knobs[static_cast<fe::KnobType_t>(type)] = value;
    }
  std::string why;
  if (!cudnn_shape(&why)) bad("cuDNN SDPA does not apply: " + why);
  std::shared_ptr<fe::graph::Graph> g;
  if (!make_graph(&g, &why)) bad("cuDNN rejects the graph: " + why);
  if (auto e = g->create_execution_plan(engine, knobs); e.is_bad()) bad("no such engine config: " + e.get_message());
  if (auto e = g->build_plan_at_index(0); e.is_bad()) bad("the engine config does not build: " + e.get_message());
  graph_ = std::move(g);
  plan_ = 0;
  finish_cudnn("from tactic");
}

void AttentionKernel::use_direct(const std::string& note) {
  prepare_attention_direct(p_, ctx_.props());
  cudnn_ = false;
  workspace_ = 0;
  tactic_ = TacticFields(kTacticTag).add("impl", "direct").format();
  describe_ = str_cat("attention direct ", ir::dtype_name(p_.dtype), p_.packed ? " packed" : "",
                      " rows=", p_.batch() * p_.L, " L=", p_.L, " S=", p_.S, " d=", p_.E, p_.causal ? " causal" : "",
                      p_.has_bias ? " +bias" : "", note.empty() ? "" : " (" + note + ")");
}

void AttentionKernel::launch(const std::vector<const void*>& in, const std::vector<void*>& out, void* scratch,
                             cudaStream_t stream) {
  const void* bias = p_.has_bias ? in[3] : nullptr;
  if (!cudnn_) return launch_attention_direct(p_, in[0], in[1], in[2], bias, out[0], stream);
  if (auto e = run_cudnn(plan_, in[0], in[1], in[2], bias, out[0], scratch, stream); e.is_bad())
    TRTORCH_ERROR("Attention ", where_, ": executing the cuDNN SDPA plan: ", e.get_message());
}

}  // namespace

std::unique_ptr<Kernel> make_Attention(const KernelArgs& a) { return std::make_unique<AttentionKernel>(a); }

}  // namespace trtorch::backends::cuda
