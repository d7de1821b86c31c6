// Conv2d on cuDNN (conv.h describes the files of conv/): the kernel's construction, from a tactic
// (the load) or by choosing one (the build, conv_choose.cpp); binding a run's pointers; launch()
// and self_check(); make_Conv2d.
//
// A load (rebuild) checks that the tactic was chosen with the loaded cuDNN for this node's
// convolution and fusion, then restores the plan the build saved with it (restore_plan: no
// compilation of runtime-fused kernels), or, without one or when it does not restore, builds the
// engine config it names (build_config, conv_graph.cpp). No timing. The kernel then runs that
// plan: a built kernel runs the plan rebuilt from its own tactic, so both run the same
// construction.
#include "core/backends/cuda/conv/conv.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/conv/conv_depthwise.h"
#include "core/backends/cuda/common/tactic.h"
#include "core/backends/cuda/conv/conv_epilogue.h"
#include "core/util/logging.h"

namespace trtorch::backends::cuda {

namespace conv {

namespace {

using ir::DType;
using ir::UnaryKind;

const char* act_label(UnaryKind k) { return ir::unary_kind_name(k); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Construction

CudnnConv2d::CudnnConv2d(const KernelArgs& args) : ctx_(args.ctx), share_(args.share), where_(args.node.source) {
  if (where_.empty()) where_ = "(no source location)";
  // A malformed tactic fails before anything touches the device.
  std::optional<Tactic> given;
  if (args.tactic) given = parse_tactic(*args.tactic, where_);
  const NodeConv node = read_conv_node(args, where_);
  p_ = node.p;
  residual_input_ = node.residual_input;
  w_packed_ = pack_conv_weights(args, p_, node.w_channels, where_);
  w_ptr_ = w_packed_ ? w_packed_->get() : nullptr;  // null: read in[1] at launch
  pack_bias(args);
  if (args.timing) {
    max_workspace_ = int64_t(std::min<size_t>(args.timing->max_scratch_bytes, size_t(INT64_MAX)));
    runtime_compiled_ = args.timing->cudnn_runtime_compiled;
  }
  if (given)
    rebuild(*given, args.saved_plan, args.other_shape);
  else
    choose(args.timing);
  finish();
  // For a later node given this tactic (a timing cache entry, a load).
  share_plan(tactic_share_key(tactic_.str(), max_workspace_));
}

NodeConv read_conv_node(const KernelArgs& args, const std::string& where) {
  NodeConv node;
  ConvProblem& p = node.p;
  const auto& a = args.node.attr<ir::Conv2dAttrs>();
  TRTORCH_EXPECT(args.inputs.size() >= 2 && args.outputs.size() == 1, "Conv2d ", where,
                 ": expected x, w [, b] [, residual]");
  const TensorDesc& x = args.inputs[0];
  const TensorDesc& w = args.inputs[1];
  const TensorDesc& y = args.outputs[0];
  TRTORCH_EXPECT(x.shape.size() == 4 && w.shape.size() == 4 && y.shape.size() == 4, "Conv2d ", where,
                 ": x, w and output must be 4-D");
  p.N = x.shape[0];
  p.C = x.shape[1];
  p.H = x.shape[2];
  p.W = x.shape[3];
  p.K = w.shape[0];
  p.Cg = w.shape[1];
  p.R = w.shape[2];
  p.S = w.shape[3];
  p.OH = y.shape[2];
  p.OW = y.shape[3];
  // The executor may widen a few-channel NHWC input with zero channels (cuDNN's tensor-core
  // kernels want C % 4 == 0); the packed weights then get matching zero channels.
  const int64_t w_channels = p.Cg;
  if (a.groups == 1 && x.layout == Layout::kNHWC && p.C > p.Cg) p.Cg = p.C;
  TRTORCH_EXPECT(a.stride.size() == 2 && a.padding.size() == 2 && a.dilation.size() == 2, "Conv2d ", where,
                 ": stride, padding and dilation must have 2 entries");
  p.sh = a.stride[0];
  p.sw = a.stride[1];
  p.ph = a.padding[0];
  p.pw = a.padding[1];
  p.dh = a.dilation[0];
  p.dw = a.dilation[1];
  p.groups = a.groups;
  p.dtype = x.dtype;
  p.layout = x.layout;
  p.has_residual = a.has_residual;
  p.has_bias = ir::conv_has_bias(a, args.inputs.size());
  p.bias_dtype = p.has_bias ? args.inputs[ir::kConvBiasInput].dtype : p.dtype;
  p.has_act = a.has_act;
  p.act = a.act;
  p.alpha = float(a.act_alpha);
  p.beta = float(a.act_beta);
  node.residual_input = a.has_residual ? int(args.inputs.size()) - 1 : -1;
  node.w_channels = w_channels;
  TRTORCH_EXPECT(p.dtype == DType::kFloat32 || p.dtype == DType::kFloat16 || p.dtype == DType::kBFloat16, "Conv2d ",
                 where, ": cuDNN convolution supports float32, float16 and bfloat16, not ", ir::dtype_name(p.dtype));
  for (size_t i = 0; i < args.inputs.size(); ++i) {
    const bool bias = p.has_bias && i == ir::kConvBiasInput;
    TRTORCH_EXPECT(args.inputs[i].dtype == p.dtype || (bias && args.inputs[i].dtype == DType::kFloat32), "Conv2d ",
                   where, ": input ", i, " is ", ir::dtype_name(args.inputs[i].dtype), "; every input must be ",
                   ir::dtype_name(p.dtype), bias ? " (the bias may also be float32)" : "");
  }
  TRTORCH_EXPECT(y.dtype == p.dtype, "Conv2d ", where, ": output must be ", ir::dtype_name(p.dtype));
  TRTORCH_EXPECT(y.layout == p.layout, "Conv2d ", where, ": input and output layouts differ");
  TRTORCH_EXPECT(y.shape[0] == p.N && y.shape[1] == p.K, "Conv2d ", where, ": output shape does not match");
  TRTORCH_EXPECT(p.groups >= 1 && p.C == p.Cg * p.groups && p.K % p.groups == 0, "Conv2d ", where, ": channels ",
                 p.C, " -> ", p.K, " do not fit groups=", p.groups, " and weight [", p.K, ",", p.Cg, ",", p.R,
                 ",", p.S, "]");
  if (p.has_residual) {
    const TensorDesc& r = args.inputs[size_t(node.residual_input)];
    TRTORCH_EXPECT(r.shape == y.shape && r.layout == y.layout, "Conv2d ", where,
                   ": the residual must have the output's shape and layout");
  }
  TRTORCH_EXPECT(!p.has_act || size_t(p.act) < size_t(UnaryKind::kCount), "Conv2d ", where, ": unknown activation ",
                 int(p.act));
  return node;
}

std::shared_ptr<const DeviceBuffer> pack_conv_weights(const KernelArgs& args, const ConvProblem& p,
                                                      int64_t w_channels, const std::string& where) {
  // Pack once, KCRS for NCHW, KRSC for NHWC.
  const ir::HostTensor* wc = args.constants.size() > 1 ? args.constants[1] : nullptr;
  if (!wc) {
    TRTORCH_EXPECT(p.layout == Layout::kRowMajor, "Conv2d ", where,
                   ": channels-last convolution needs constant weights (they are repacked to KRSC once)");
    return nullptr;
  }
  TRTORCH_EXPECT(wc->dtype == p.dtype && wc->shape == args.inputs[1].shape, "Conv2d ", where,
                 ": weight constant is ", ir::dtype_name(wc->dtype), " of another shape than the node's weight");
  const std::string how = str_cat("conv ", p.layout == Layout::kNHWC ? "KRSC " : "KCRS ", ir::dtype_name(p.dtype),
                                   " K", p.K, " Cg", p.Cg, " of ", w_channels, " R", p.R, " S", p.S);
  return packed_constant(args, *wc, how, [&] {
    const size_t es = ir::dtype_size(p.dtype);
    std::vector<uint8_t> packed(size_t(p.K * p.Cg * p.R * p.S) * es, 0);  // zero: padded channels
    const uint8_t* src = static_cast<const uint8_t*>(wc->data());
    if (p.layout == Layout::kNHWC) {
      // KCRS -> KRSC, elements copied by a memcpy of constant size: a load packs every convolution's
      // weights, and 26 M 2-byte elements took 38 ms by a memcpy of variable size each against 8 ms
      // (the development host, -O3).
      auto repack = [&](auto element) {
        constexpr size_t n = sizeof(element);
        const int64_t rs = p.R * p.S;
        for (int64_t k = 0; k < p.K; ++k)
          for (int64_t c = 0; c < w_channels; ++c)
            for (int64_t i = 0; i < rs; ++i)
              std::memcpy(&packed[size_t((k * rs + i) * p.Cg + c) * n],
                          src + size_t((k * w_channels + c) * rs + i) * n, n);
      };
      if (es == 2)
        repack(uint16_t{});
      else if (es == 4)
        repack(uint32_t{});
      else
        TRTORCH_ERROR("Conv2d ", where, ": weights of ", es, "-byte elements cannot be packed");
    } else {
      TRTORCH_CHECK(w_channels == p.Cg, "Conv2d ", where, ": channel padding is only for NHWC");
      std::memcpy(packed.data(), src, packed.size());
    }
    DeviceBuffer out(packed.size());
    TRTORCH_CUDA_CHECK(cudaMemcpy(out.get(), packed.data(), packed.size(), cudaMemcpyHostToDevice));
    return out;
  });
}

void CudnnConv2d::pack_bias(const KernelArgs& args) {
  if (!p_.has_bias) return;
  const ir::HostTensor* bc = args.constants.size() > ir::kConvBiasInput ? args.constants[ir::kConvBiasInput] : nullptr;
  if (!bc) return;
  TRTORCH_EXPECT(bc->dtype == p_.bias_dtype && bc->numel() == p_.K, "Conv2d ", where_, ": bias constant must be ",
                 ir::dtype_name(p_.bias_dtype), " [", p_.K, "]");
  b_packed_ = packed_constant(args, *bc, str_cat("as ", ir::dtype_name(bc->dtype)), [&] {
    DeviceBuffer b(bc->nbytes());
    TRTORCH_CUDA_CHECK(cudaMemcpy(b.get(), bc->data(), bc->nbytes(), cudaMemcpyHostToDevice));
    return b;
  });
  b_ptr_ = b_packed_->get();
}

void CudnnConv2d::rebuild(const Tactic& t, const std::vector<uint8_t>* saved, bool other_shape) {
  auto bad = [&](const std::string& why) {
    TRTORCH_ERROR("Conv2d ", where_, ": cannot rebuild the cuDNN plan of tactic \"", t.str(), "\": ", why);
  };
  const uint64_t loaded = cudnnGetVersion();
  if (t.cudnn_version != loaded)
    bad(str_cat("it was chosen with cuDNN ", t.cudnn_version, " but this process loaded cuDNN ", loaded,
                "; rebuild the engine"));
  const std::string sig = hex64(fnv1a(p_.signature()));
  const bool same = t.sig == sig;
  if (!same && !other_shape)
    bad(str_cat("it was chosen for another convolution than this node's (", p_.signature(), ")"));
  bool valid_fusion = false;
  for (const Fusion& f : fusion_candidates(p_)) valid_fusion = valid_fusion || f == t.fusion;
  if (!valid_fusion) bad("its fused stages \"" + t.fusion.code() + "\" do not fit this node's epilogue");
  if (t.tf32 && p_.dtype != DType::kFloat32) bad("tf32 is set on a non-float32 convolution");
  tf32_ = t.tf32;
  // The tactic for this node's problem: an earlier node's plan of the same tactic fits.
  Tactic here = t;
  here.sig = sig;
  if (take_shared(tactic_share_key(here.str(), max_workspace_))) return;
  std::string why;
  if (saved && same) {  // a saved plan holds the shapes it was built for
    if (restore_plan(t, *saved, &why)) {
      timing_note_ = "from tactic, saved plan";
      return;
    }
    TRTORCH_LOG(kInfo, "Conv2d ", where_, ": the saved plan of tactic \"", t.str(), "\" cannot be restored (", why,
                "); building the tactic");
  }

  std::shared_ptr<fe::graph::Graph> g;
  int64_t plan = -1;
  if (!build_config(t.fusion, t.config, &g, &plan, &why)) bad(why);
  graph_ = std::move(g);
  fusion_ = t.fusion;
  plan_ = plan;
  timing_note_ = same ? "from tactic" : "the engine config of another shape's tactic";
}

bool CudnnConv2d::take_shared(const std::string& key) {
  if (!share_) return false;
  auto found = std::static_pointer_cast<SharedPlan>(share_->find(key));
  if (!found) return false;
  graph_ = found->graph;
  plan_ = found->plan;
  plan_name_ = found->plan_name;
  fusion_ = found->fusion;
  tf32_ = found->tf32;
  rank_ms_ = found->rank_ms;
  timing_note_ = "plan of an earlier convolution of this engine with the same problem: " + found->note;
  return true;
}

void CudnnConv2d::share_plan(const std::string& key) const {
  if (share_ && !share_->find(key))
    share_->put(key,
                std::make_shared<SharedPlan>(SharedPlan{graph_, plan_, plan_name_, fusion_, tf32_, timing_note_, rank_ms_}));
}

void CudnnConv2d::finish() {
  if (auto e = graph_->get_workspace_size_plan_at_index(plan_, workspace_); e.is_bad()) fail("workspace query", e);
  // A restored plan (or one taken from a convolution that restored it) was named when restored.
  if (plan_name_.empty())
    if (auto e = graph_->get_plan_name_at_index(plan_, plan_name_); e.is_bad()) fail("querying the engine config", e);
  const auto id = parse_plan_name(plan_name_);
  TRTORCH_CHECK(id.has_value(), "Conv2d ", where_, ": cuDNN engine config name \"", plan_name_,
                "\" is not eng<id>_k<type>=<value>");
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

// ---------------------------------------------------------------------------------------------
// Running

void CudnnConv2d::fail(const std::string& what, const fe::error_t& e) const {
  TRTORCH_ERROR("Conv2d ", where_, ": ", what, " (", p_.signature(), "): cudnn-frontend error ",
                int(const_cast<fe::error_t&>(e).get_code()), ": ", const_cast<fe::error_t&>(e).get_message());
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

void CudnnConv2d::launch(const std::vector<const void*>& in, const std::vector<void*>& out, void* scratch,
                         cudaStream_t stream) {
  bind(in[0], weight_of(in), bias_of(in), residual_of(in), out[0]);
  if (auto e = run(*graph_, plan_, scratch, stream); e.is_bad()) fail("executing the cuDNN plan", e);
}

ConvReference reference_args(const ConvProblem& p, const void* x, const void* w, const void* bias,
                             const void* residual, void* y, bool act) {
  ConvReference ref;
  ref.x = x;
  ref.w = w;
  ref.bias = bias;
  ref.bias_dtype = p.bias_dtype;
  ref.residual = residual;
  ref.y = y;
  ref.dtype = p.dtype;
  ref.nhwc = p.layout == Layout::kNHWC;
  ref.N = p.N;
  ref.C = p.C;
  ref.H = p.H;
  ref.W = p.W;
  ref.K = p.K;
  ref.Cg = p.Cg;
  ref.R = p.R;
  ref.S = p.S;
  ref.OH = p.OH;
  ref.OW = p.OW;
  ref.sh = p.sh;
  ref.sw = p.sw;
  ref.ph = p.ph;
  ref.pw = p.pw;
  ref.dh = p.dh;
  ref.dw = p.dw;
  ref.groups = p.groups;
  ref.has_act = act;
  ref.act = p.act;
  ref.alpha = p.alpha;
  ref.beta = p.beta;
  return ref;
}

std::string check_against_direct(const ConvProblem& p, double tol, const void* x, const void* w, const void* bias,
                                 const void* residual, const void* y, cudaStream_t stream) {
  if (p.macs() > kMaxReferenceMacs) return "";
  DeviceBuffer want(size_t(p.y_numel()) * ir::dtype_size(p.dtype));
  launch_conv_reference(reference_args(p, x, w, bias, residual, want.get(), p.has_act), stream);
  DeviceBuffer diff_scratch(kOutputDiffScratchBytes);
  const double err = compare_outputs(y, want.get(), p.dtype, p.y_numel(), diff_scratch.get(), stream).rel;
  return err <= tol ? "" : str_cat("differs from the direct convolution on its run-time inputs by rel. diff ", err);
}

std::string CudnnConv2d::self_check(const std::vector<const void*>& in, const std::vector<void*>& out,
                                    cudaStream_t stream) {
  return check_against_direct(p_, tolerance(), in[0], weight_of(in), bias_of(in), residual_of(in), out[0], stream);
}

}  // namespace conv

std::unique_ptr<Kernel> make_Conv2d(const KernelArgs& args) {
  // Depthwise convolutions: a direct kernel (cuDNN's NHWC depthwise engines measured 0.65 ms
  // where a memory-bound kernel needs a few microseconds, MobileNetV2 batch 32, H200), and in NCHW
  // (FP32 engines) the same kernel walking along W, as torch's own depthwise kernel does.
  if (auto k = make_depthwise(args)) return k;
  if (args.tactic && conv::CutlassConv2d::is_tactic(*args.tactic)) return std::make_unique<conv::CutlassConv2d>(args);
  if (args.tactic) return std::make_unique<conv::CudnnConv2d>(args);
  // The build: CUTLASS's configs race cuDNN's where they fit.
  return conv::choose_conv2d(args);
}

}  // namespace trtorch::backends::cuda
