// Conv2d on cuDNN (conv.h describes the files of conv/): the cudnn-frontend graph of a fusion
// (conv_fprop, then the fused epilogue stages as pointwise ops), which stages cuDNN can fuse, the
// numerics a node allows, build_config(): the engine config a tactic names, built on a fresh
// graph (the load path, and the build's check that a config survives it), and saved plans: the
// built plan serialized at build time, restored at load time without compiling.
#include "core/backends/cuda/conv/conv.h"

#include <cfloat>
#include <cmath>

#include "core/util/logging.h"

namespace trtorch::backends::cuda::conv {

namespace {

using ir::DType;
using ir::UnaryKind;
using fe::graph::Tensor_attributes;
using TensorPtr = std::shared_ptr<Tensor_attributes>;

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

// The x and w tensors of `g` and the convolution of them.
TensorPtr add_conv(fe::graph::Graph& g, const ConvProblem& p) {
  const fe::DataType_t io = fe_dtype(p.dtype);
  auto X = g.tensor(Tensor_attributes()
                        .set_name("x")
                        .set_uid(kUidX)
                        .set_data_type(io)
                        .set_dim({p.N, p.C, p.H, p.W})
                        .set_stride(act_strides(p.C, p.H, p.W, p.layout)));
  std::vector<int64_t> w_stride = p.layout == Layout::kNHWC
                                      ? std::vector<int64_t>{p.R * p.S * p.Cg, 1, p.S * p.Cg, p.Cg}
                                      : std::vector<int64_t>{p.Cg * p.R * p.S, p.R * p.S, p.S, 1};
  auto Wt = g.tensor(Tensor_attributes()
                         .set_name("w")
                         .set_uid(kUidW)
                         .set_data_type(io)
                         .set_dim({p.K, p.Cg, p.R, p.S})
                         .set_stride(w_stride));
  auto conv = fe::graph::Conv_fprop_attributes()
                  .set_name("conv")
                  .set_padding({p.ph, p.pw})
                  .set_stride({p.sh, p.sw})
                  .set_dilation({p.dh, p.dw})
                  .set_compute_data_type(fe::DataType_t::FLOAT);
  return g.conv_fprop(X, Wt, conv);
}

// The epilogue stages of fusion `f` applied to `cur` (the convolution's output) in `g`; the
// result is the graph's output y.
TensorPtr add_fused_stages(fe::graph::Graph& g, const ConvProblem& p, const Fusion& f, TensorPtr cur) {
  const fe::DataType_t io = fe_dtype(p.dtype);
  const std::vector<int64_t> y_dim{p.N, p.K, p.OH, p.OW};
  const std::vector<int64_t> y_stride = act_strides(p.K, p.OH, p.OW, p.layout);
  if (f.bias) {
    auto B = g.tensor(Tensor_attributes()
                          .set_name("bias")
                          .set_uid(kUidB)
                          .set_data_type(fe_dtype(p.bias_dtype))
                          .set_dim({1, p.K, 1, 1})
                          .set_stride({p.K, 1, 1, 1}));
    cur = g.pointwise(cur, B,
                      fe::graph::Pointwise_attributes()
                          .set_name("bias_add")
                          .set_mode(fe::PointwiseMode_t::ADD)
                          .set_compute_data_type(fe::DataType_t::FLOAT));
  }
  if (f.residual) {
    auto Rz = g.tensor(
        Tensor_attributes().set_name("residual").set_uid(kUidR).set_data_type(io).set_dim(y_dim).set_stride(y_stride));
    cur = g.pointwise(cur, Rz,
                      fe::graph::Pointwise_attributes()
                          .set_name("residual_add")
                          .set_mode(fe::PointwiseMode_t::ADD)
                          .set_compute_data_type(fe::DataType_t::FLOAT));
  }
  if (f.act) {
    fe::graph::Pointwise_attributes pw;
    TRTORCH_CHECK(cudnn_activation(p.act, p.alpha, p.beta, &pw), "activation is not fusable");
    pw.set_name("act").set_compute_data_type(fe::DataType_t::FLOAT);
    cur = g.pointwise(cur, pw);
  }
  cur->set_output(true).set_name("y").set_uid(kUidY).set_data_type(io).set_dim(y_dim).set_stride(y_stride);
  return cur;
}

// The index of the config among those the heuristics propose for `g` whose engine and knobs equal
// `want` (the objects the build timed), or -1 with the reason in `*note`.
int64_t proposed_index(fe::graph::Graph& g, const EngineConfigId& want, std::string* note) {
  auto e = g.create_execution_plans({fe::HeurMode_t::A, fe::HeurMode_t::FALLBACK});
  if (e.is_bad()) {
    *note = "heuristics: " + e.get_message();
    return -1;
  }
  for (int64_t i = 0; i < g.get_execution_plan_count(); ++i) {
    std::string name;
    if (g.get_plan_name_at_index(i, name).is_bad()) continue;
    if (auto id = parse_plan_name(name); id && *id == want) return i;
  }
  *note = "the heuristics do not propose it";
  return -1;
}

// Appends config `want` to the plans of `g`, made from its engine id and knobs; its index, or
// false with the reason (after `heuristics_note`, why it was not proposed).
bool create_config(fe::graph::Graph& g, const EngineConfigId& want, const std::string& heuristics_note,
                   int64_t* index, std::string* why) {
  std::unordered_map<fe::KnobType_t, int64_t> knobs;
  for (const auto& [type, value] : want.knobs) {
    const fe::KnobType_t k = fe::convert_from_backend_knob_type(static_cast<cudnnBackendKnobType_t>(type));
    if (k == fe::KnobType_t::NOT_SET) {
      *why = str_cat(heuristics_note, ", and cudnn-frontend cannot set backend knob type ", type);
      return false;
    }
    knobs[k] = value;
  }
  *index = g.get_execution_plan_count();
  if (auto e = g.create_execution_plan(want.engine, knobs); e.is_bad()) {
    *why = str_cat(heuristics_note, ", and cuDNN has no such engine config: ", e.get_message());
    return false;
  }
  return true;
}

}  // namespace

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

// FFT and Winograd: their rounding error, amplified through a deep network in FP16, reached 4% of
// the output on ResNet-50 at batch 32.
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

bool CudnnConv2d::make_graph(const Fusion& f, std::shared_ptr<fe::graph::Graph>* out, std::string* why,
                             cudnnHandle_t handle) const {
  auto g = std::make_shared<fe::graph::Graph>();
  g->set_name("trtorch_conv");
  g->set_io_data_type(fe_dtype(p_.dtype))
      .set_intermediate_data_type(fe::DataType_t::FLOAT)
      .set_compute_data_type(fe::DataType_t::FLOAT);
  add_fused_stages(*g, p_, f, add_conv(*g, p_));
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

// A load runs the heuristics query again and builds the proposed config whose engine and knobs
// equal the recorded ones (the same kind of object that was timed); when the heuristics propose
// no such config it creates it from the engine id and knobs. Either way the built config must name
// exactly the recorded engine and knobs.
bool CudnnConv2d::build_config(const Fusion& f, const EngineConfigId& want, std::shared_ptr<fe::graph::Graph>* out,
                               int64_t* plan, std::string* why) const {
  std::shared_ptr<fe::graph::Graph> g;
  std::string reason;
  if (!make_graph(f, &g, &reason)) {
    *why = "cuDNN rejects the graph: " + reason;
    return false;
  }
  std::string heuristics_note;
  int64_t index = proposed_index(*g, want, &heuristics_note);
  if (index < 0 && !create_config(*g, want, heuristics_note, &index, why)) return false;
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

namespace {

// A graph restored from a saved plan holds one execution plan and no engine configs (which
// get_plan_name_at_index reads): its plan's own tag names the engine config.
struct RestoredGraph : fe::graph::Graph {
  std::string plan_tag() const {
    return plans.execution_plans.size() == 1 && plans.execution_plans[0] ? plans.execution_plans[0]->getTag() : "";
  }
};

}  // namespace

std::vector<uint8_t> CudnnConv2d::saved_plan() const {
  // graph_ holds the kept plan alone (build_config builds one plan on a fresh graph, whose
  // candidate it becomes; a restored graph has one), which serialize() writes.
  std::vector<uint8_t> bytes;
  try {
    if (auto e = graph_->serialize(bytes, /*serialize_structure=*/false); e.is_bad()) {
      TRTORCH_LOG(kDebug, "Conv2d ", where_, ": the plan ", plan_name_, " is not saved (", e.get_message(), ")");
      return {};
    }
  } catch (const std::exception& e) {
    TRTORCH_LOG(kDebug, "Conv2d ", where_, ": the plan ", plan_name_, " is not saved (", e.what(), ")");
    return {};
  }
  return bytes;
}

bool CudnnConv2d::restore_plan(const Tactic& t, const std::vector<uint8_t>& bytes, std::string* why) {
  auto g = std::make_shared<RestoredGraph>();
  try {
    if (auto e = g->deserialize(ctx_.cudnn(), bytes, /*enforce_precompiled=*/false, /*run_warmup=*/false);
        e.is_bad()) {
      *why = e.get_message();
      return false;
    }
  } catch (const std::exception& e) {  // the serialized form does not parse
    *why = e.what();
    return false;
  }
  const std::string name = g->plan_tag();
  const auto got = parse_plan_name(name);
  if (!got || !got->same_choices(t.config)) {
    *why = str_cat("it holds engine config \"", name, "\", not engine ", t.config.engine, " knobs ",
                   t.config.knob_text());
    return false;
  }
  int64_t ws = 0;
  if (auto e = g->get_workspace_size_plan_at_index(0, ws); e.is_bad() || ws < 0 || ws > max_workspace_) {
    *why = e.is_bad() ? e.get_message() : str_cat("its workspace of ", ws, " bytes is over the limit");
    return false;
  }
  graph_ = std::move(g);
  plan_ = 0;
  plan_name_ = name;
  fusion_ = t.fusion;
  return true;
}

}  // namespace trtorch::backends::cuda::conv
