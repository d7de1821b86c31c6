// Conv2d on the CUTLASS kernels of conv_cutlass.h (conv.h describes the files of conv/): the
// kernel, and the build's race between it and cuDNN (choose_conv2d).
//
// Building: every config that takes the node is timed on random data (the node's own weights and
// bias) and its output compared with the direct convolution (conv_reference.h) of the same
// stages; the fastest that agrees is kept. A few-channel strided convolution (an image's stem)
// also tries each config on its folded input (conv_cutlass.h: the fold is timed with it). Loading: the tactic is checked against the node (the
// problem's signature, the config, its workspace) and used as it is: nothing is compiled or timed.
#include "core/backends/cuda/conv/conv.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

#include "core/backends/cuda/common/context_inl.h"
#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/tactic.h"
#include "core/backends/cuda/conv/conv_epilogue.h"
#include "core/util/logging.h"

namespace trtorch::backends::cuda::conv {

namespace {

using ir::DType;

constexpr const char* kTag = "cutlass-conv";
constexpr int kVersion = 1;

// The node's bias as FP32 on the device; null without one. False when it has one that is not a
// constant (the kernels read an FP32 copy made once).
bool pack_bias_f32(const KernelArgs& args, const ConvProblem& p, std::shared_ptr<const DeviceBuffer>* out) {
  if (!p.has_bias) return true;
  const ir::HostTensor* bc = args.constants.size() > ir::kConvBiasInput ? args.constants[ir::kConvBiasInput] : nullptr;
  if (!bc || bc->numel() != p.K) return false;
  *out = packed_constant(args, *bc, "as float32", [&] {
    std::vector<float> b(size_t(p.K));
    for (int64_t k = 0; k < p.K; ++k) b[size_t(k)] = float(bc->get(k));
    DeviceBuffer d(b.size() * sizeof(float));
    TRTORCH_CUDA_CHECK(cudaMemcpy(d.get(), b.data(), b.size() * sizeof(float), cudaMemcpyHostToDevice));
    return d;
  });
  return true;
}

// The part of fits() that needs no device memory.
bool shape_fits(const ConvProblem& p, cutlass_conv::Problem* q) {
  if ((p.dtype != DType::kFloat16 && p.dtype != DType::kBFloat16) || p.layout != Layout::kNHWC || p.groups != 1 ||
      p.Cg != p.C)
    return false;
  if (!cutlass_conv::epilogue_act(p.has_act, p.act, p.alpha, p.beta, &q->act, &q->lo, &q->hi)) return false;
  const int64_t dims[] = {p.N, p.H, p.W, p.C, p.K, p.R, p.S, p.OH, p.OW, p.ph, p.pw, p.sh, p.sw, p.dh, p.dw};
  for (int64_t d : dims)
    if (d < 0 || d > INT32_MAX) return false;
  q->dtype = p.dtype;
  q->N = int(p.N), q->H = int(p.H), q->W = int(p.W), q->C = int(p.C), q->K = int(p.K);
  q->R = int(p.R), q->S = int(p.S), q->OH = int(p.OH), q->OW = int(p.OW);
  q->ph = int(p.ph), q->pw = int(p.pw), q->sh = int(p.sh), q->sw = int(p.sw), q->dh = int(p.dh), q->dw = int(p.dw);
  return cutlass_conv::supported(*q) || cutlass_conv::fold_fits(*q);
}

// T's bytes rounded up: the config's own workspace follows it.
size_t fold_region(const cutlass_conv::Problem& q) { return (cutlass_conv::fold_bytes(q) + 255) / 256 * 256; }

std::string stages(const ConvProblem& p) {
  std::string s = "fprop";
  if (p.has_bias) s += "+bias";
  if (p.has_residual) s += "+add";
  if (p.has_act) s += std::string("+") + ir::unary_kind_name(p.act);
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Construction

bool CutlassConv2d::fits(const KernelArgs& args, const NodeConv& node) {
  cutlass_conv::Problem q;
  if (!shape_fits(node.p, &q)) return false;
  const bool w_constant = args.constants.size() > 1 && args.constants[1];
  const bool b_constant = !node.p.has_bias || (args.constants.size() > ir::kConvBiasInput &&
                                               args.constants[ir::kConvBiasInput]);
  if (!w_constant || !b_constant) return false;
  const int sm = args.ctx.props().multiProcessorCount;
  const bool fold = cutlass_conv::fold_fits(q);
  const cutlass_conv::Problem f = fold ? cutlass_conv::folded(q) : cutlass_conv::Problem{};
  for (int i = 0; i < cutlass_conv::kNumConfigs; ++i) {
    const auto c = cutlass_conv::Config(i);
    if (cutlass_conv::can_implement(c, q, args.ctx.device(), sm) ||
        (fold && cutlass_conv::can_implement(c, f, args.ctx.device(), sm)))
      return true;
  }
  return false;
}

bool CutlassConv2d::is_tactic(const std::string& tactic) { return tactic.rfind(std::string(kTag) + ";", 0) == 0; }

CutlassConv2d::CutlassConv2d(const KernelArgs& args) : ctx_(args.ctx), where_(args.node.source) {
  if (where_.empty()) where_ = "(no source location)";
  const NodeConv node = read_conv_node(args, where_);
  p_ = node.p;
  residual_input_ = node.residual_input;
  TRTORCH_EXPECT(fits(args, node), "Conv2d ", where_, ": the CUTLASS convolutions do not take ", p_.signature(),
                 " (float16/bfloat16 NHWC, one group, constant weights and bias, channels multiples of 8 or 4 "
                 "input channels at a stride of 2 or more, an activation of none, relu, clamp or silu)");
  shape_fits(p_, &shape_);
  w_ = pack_conv_weights(args, p_, node.w_channels, where_);
  TRTORCH_CHECK(w_, "Conv2d ", where_, ": weights are not a constant");
  if (cutlass_conv::fold_fits(shape_)) {
    fold_shape_ = cutlass_conv::folded(shape_);
    // The folded weights, regrouped from the packed ones (a stem's: small).
    const std::string how = str_cat("cutlass fold ", ir::dtype_name(p_.dtype), " K", p_.K, " C", p_.C, " of ",
                                    node.w_channels, " R", p_.R, " S", p_.S, " stride ", p_.sh, "x", p_.sw,
                                    " dilation ", p_.dh, "x", p_.dw, " padding ", p_.ph, "x", p_.pw);
    w_fold_ = packed_constant(args, *args.constants[1], how, [&] {
      std::vector<uint8_t> w(size_t(p_.K * p_.R * p_.S * p_.C) * ir::dtype_size(p_.dtype));
      TRTORCH_CUDA_CHECK(cudaMemcpy(w.data(), w_->get(), w.size(), cudaMemcpyDeviceToHost));
      const std::vector<uint8_t> f = cutlass_conv::fold_weights(shape_, w);
      DeviceBuffer d(f.size());
      TRTORCH_CUDA_CHECK(cudaMemcpy(d.get(), f.data(), f.size(), cudaMemcpyHostToDevice));
      return d;
    });
  }
  TRTORCH_CHECK(pack_bias_f32(args, p_, &bias_), "Conv2d ", where_, ": bias is not a constant");
  if (args.tactic)
    load(*args.tactic, args.other_shape);
  else
    choose(args.timing ? *args.timing : TacticOptions{});
}

cutlass_conv::Problem CutlassConv2d::problem(const void* x, const void* residual, void* y) const {
  cutlass_conv::Problem q = shape_;
  q.x = x;
  q.w = w_->get();
  q.y = y;
  q.bias = bias_ ? static_cast<const float*>(bias_->get()) : nullptr;
  q.residual = residual;
  return q;
}

size_t CutlassConv2d::workspace(cutlass_conv::Config c, bool fold) const {
  const int device = ctx_.device(), sm = ctx_.props().multiProcessorCount;
  if (!fold) return cutlass_conv::workspace_bytes(c, shape_, device, sm);
  return fold_region(shape_) + cutlass_conv::workspace_bytes(c, fold_shape_, device, sm);
}

void CutlassConv2d::run(cutlass_conv::Config c, bool fold, const void* x, const void* residual, void* y, void* ws,
                        size_t ws_bytes, cudaStream_t stream) const {
  const int device = ctx_.device(), sm = ctx_.props().multiProcessorCount;
  const cutlass_conv::Problem q = problem(x, residual, y);
  if (!fold) {
    cutlass_conv::run(c, q, ws, ws_bytes, device, sm, stream);
    return;
  }
  const size_t t_bytes = fold_region(shape_);
  TRTORCH_CHECK(ws && ws_bytes >= t_bytes, "Conv2d ", where_, ": the folded input needs ", t_bytes,
                " bytes of workspace, got ", ws_bytes);
  cutlass_conv::launch_fold(q, ws, stream);
  cutlass_conv::Problem f = fold_shape_;
  f.x = ws;
  f.w = w_fold_->get();
  f.y = y;
  f.bias = q.bias;
  f.residual = residual;
  cutlass_conv::run(c, f, static_cast<char*>(ws) + t_bytes, ws_bytes - t_bytes, device, sm, stream);
}

void CutlassConv2d::use(cutlass_conv::Config c, bool fold) {
  TRTORCH_CHECK(!fold || w_fold_, "Conv2d ", where_, ": a folded config on a convolution that does not fold");
  ws_bytes_ = workspace(c, fold);
  config_ = c;
  fold_ = fold;
}

void CutlassConv2d::choose(const TacticOptions& timing) {
  const int device = ctx_.device(), sm = ctx_.props().multiProcessorCount;
  cudaStream_t s = ctx_.stream();
  const size_t es = ir::dtype_size(p_.dtype), y_bytes = size_t(p_.y_numel()) * es;
  DeviceBuffer x(size_t(p_.x_numel()) * es), y(y_bytes), want, r, diff(kOutputDiffScratchBytes);
  launch_fill_random(x.get(), p_.dtype, p_.x_numel(), 1, s);
  if (p_.has_residual) {
    r = DeviceBuffer(y_bytes);
    launch_fill_random(r.get(), p_.dtype, p_.y_numel(), 4, s);
  }
  // The trusted output (the bias as the kernel reads it: FP32, converted exactly).
  const bool checked = p_.macs() <= kMaxReferenceMacs;
  if (checked) {
    want = DeviceBuffer(y_bytes);
    ConvProblem ref = p_;
    ref.bias_dtype = DType::kFloat32;
    launch_conv_reference(reference_args(ref, x.get(), w_->get(), bias_ ? bias_->get() : nullptr, r.get(), want.get(),
                                         p_.has_act), s);
  }
  const double tol = conv_tolerance(p_.dtype, /*tf32=*/false);
  const bool can_fold = cutlass_conv::fold_fits(shape_);
  const bool direct = cutlass_conv::supported(shape_);
  std::string why = direct ? "" : "; unfolded: not supported";
  for (int i = 0; i < 2 * cutlass_conv::kNumConfigs; ++i) {
    const auto c = cutlass_conv::Config(i % cutlass_conv::kNumConfigs);
    const bool fold = i >= cutlass_conv::kNumConfigs;
    if (fold ? !can_fold : !direct) continue;
    const std::string name = str_cat(cutlass_conv::config_name(c), fold ? " folded" : "");
    if (!cutlass_conv::can_implement(c, fold ? fold_shape_ : shape_, device, sm)) {
      why += str_cat("; ", name, ": not implementable");
      continue;
    }
    const size_t ws_bytes = workspace(c, fold);
    if (ws_bytes > timing.max_scratch_bytes) {
      why += str_cat("; ", name, ": needs ", ws_bytes, " bytes of workspace");
      continue;
    }
    DeviceBuffer ws(ws_bytes);
    float ms = 0.0f;
    try {
      TRTORCH_CUDA_CHECK(cudaMemsetAsync(y.get(), 0xff, y_bytes, s));  // NaN: every element must be written
      run(c, fold, x.get(), r.get(), y.get(), ws.get(), ws_bytes, s);
      if (checked) {
        const OutputDiff d = compare_outputs(y.get(), want.get(), p_.dtype, p_.y_numel(), diff.get(), s);
        if (!(d.rel <= tol)) {
          why += str_cat("; ", name, ": differs from the direct convolution by rel. diff ", d.rel);
          continue;
        }
      }
      ms = cuda::time_ms(ctx_, timing.min_timing_iters, timing.avg_timing_iters, [&](cudaStream_t ts) {
        run(c, fold, x.get(), r.get(), y.get(), ws.get(), ws_bytes, ts);
      });
    } catch (const Error& e) {  // a config CUTLASS refuses at launch is passed over
      why += str_cat("; ", name, ": ", e.what());
      continue;
    }
    if (!(ms >= ms_)) {  // also the first (ms_ NaN)
      ms_ = ms;
      use(c, fold);
    }
  }
  TRTORCH_EXPECT(!std::isnan(ms_), "Conv2d ", where_, ": no CUTLASS convolution config computes ", p_.signature(),
                 why);
  note_ = str_cat(" (timed ", ms_, " ms", checked ? "" : "; too large to check against the direct convolution",
                  why.empty() ? std::string() : why, ")");
}

void CutlassConv2d::load(const std::string& text, bool other_shape) {
  try {
    const TacticFields f = TacticFields::parse(text);
    TRTORCH_EXPECT(f.tag() == kTag, "tag '", f.tag(), "' is not ", kTag);
    if (f.has("fold"))
      f.expect_keys({"v", "sig", "config", "fold", "ws"});
    else
      f.expect_keys({"v", "sig", "config", "ws"});
    TRTORCH_EXPECT(f.get("v") == std::to_string(kVersion), "format version ", f.get("v"), " is not ", kVersion);
    // A tactic chosen for this node at another shape keeps its config: the kernels take any shape
    // their can_implement accepts (the node's epilogue is the same).
    const bool same = f.get("sig") == hex64(fnv1a(p_.signature()));
    TRTORCH_EXPECT(same || other_shape, "it was chosen for another convolution than ", p_.signature());
    cutlass_conv::Config c;
    TRTORCH_EXPECT(cutlass_conv::config_from_name(f.get("config"), &c), "unknown config '", f.get("config"), "'");
    // fold=f: the input folded by the stride f (the only factor there is).
    const bool fold = f.has("fold");
    TRTORCH_EXPECT(!fold || (cutlass_conv::fold_fits(shape_) && f.get_uint("fold") == uint64_t(shape_.sh)), "fold=",
                   fold ? f.get("fold") : "", " does not fold this convolution");
    TRTORCH_EXPECT(cutlass_conv::can_implement(c, fold ? fold_shape_ : shape_, ctx_.device(),
                                               ctx_.props().multiProcessorCount),
                   "config ", f.get("config"), fold ? " folded" : "", " does not take this convolution on this GPU");
    use(c, fold);
    TRTORCH_EXPECT(!same || uint64_t(ws_bytes_) == f.get_uint("ws"), "workspace ", ws_bytes_,
                   " differs from the recorded ", f.get("ws"));
    note_ = same ? " (from tactic)" : " (the config of another shape's tactic)";
  } catch (const Error& e) {
    TRTORCH_ERROR("Conv2d ", where_, ": bad CUTLASS convolution tactic \"", text, "\": ", e.what(),
                  ". The engine was built with another trtorch version or is corrupt; rebuild it.");
  }
}

// ---------------------------------------------------------------------------------------------
// Running

void CutlassConv2d::launch(const std::vector<const void*>& in, const std::vector<void*>& out, void* scratch,
                           cudaStream_t stream) {
  const void* r = p_.has_residual ? in[size_t(residual_input_)] : nullptr;
  run(config_, fold_, in[0], r, out[0], scratch, ws_bytes_, stream);
}

std::string CutlassConv2d::tactic() const {
  TacticFields f(kTag);
  f.add("v", kVersion).add("sig", hex64(fnv1a(p_.signature()))).add("config", cutlass_conv::config_name(config_));
  if (fold_) f.add("fold", shape_.sh);  // absent: unfolded (tactics written before folding)
  return f.add("ws", ws_bytes_).format();
}

std::string CutlassConv2d::describe() const {
  return str_cat("cutlass conv ", stages(p_), " NHWC ", dtype_short(p_.dtype), " config ",
                 cutlass_conv::config_name(config_),
                 fold_ ? str_cat(" on the input folded by ", shape_.sh, " (", fold_shape_.R, "x1 filter, ",
                                 fold_shape_.C, " channels)")
                       : std::string(),
                 " workspace ", ws_bytes_, " B", note_);
}

std::string CutlassConv2d::self_check(const std::vector<const void*>& in, const std::vector<void*>& out,
                                      cudaStream_t stream) {
  ConvProblem ref = p_;  // the bias as the kernel reads it: FP32, converted exactly
  ref.bias_dtype = DType::kFloat32;
  const void* r = p_.has_residual ? in[size_t(residual_input_)] : nullptr;
  return check_against_direct(ref, conv_tolerance(p_.dtype, /*tf32=*/false), in[0], w_->get(),
                              bias_ ? bias_->get() : nullptr, r, out[0], stream);
}

// ---------------------------------------------------------------------------------------------
// The build's race

namespace {

// Runtime-compiled cuDNN configs are built for a convolution only where its best ahead-of-time
// kernel takes more than this times its roofline time.
constexpr double kRuntimeCompileMargin = 2.0;
// ... and more than this (ms) above the timing floor (timing_floor_ms): a faster kernel could save
// a few microseconds at most, for about 0.5 s of compilation per config (conv_runtime_compilation
// "fallback", convolutions CUTLASS does not take: a squeeze-and-excitation layer's 4 to 28
// channels, a sigmoid epilogue). On an H100 such convolutions timed 13 to 16 us, most of it the
// launch that the timing includes.
constexpr double kSmallConvMs = 0.01;
// Where runtime-compiled configs are tried, one is kept over the best precompiled config only when
// it takes at most this fraction of its time: a win within timing noise is not worth compiling
// for at every build and load (H100: 13.568 against 13.632 us, three configs compiled in 0.13 s).
constexpr double kCompiledWinFraction = 0.95;

// The convolution's roofline time (ms) on this GPU: its bytes (x, weights, y, the residual) at the
// memory bandwidth or its multiply-adds at the dense FP16/BF16 tensor-core peak, whichever is
// longer. No kernel is faster.
double roofline_ms(const ConvProblem& p, const Context& ctx) {
  int mem_khz = 0, bus_bits = 0, sm_khz = 0;
  if (cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, ctx.device()) != cudaSuccess ||
      cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, ctx.device()) != cudaSuccess ||
      cudaDeviceGetAttribute(&sm_khz, cudaDevAttrClockRate, ctx.device()) != cudaSuccess) {
    cudaGetLastError();  // cleared: nothing later reads it as its own failure
    return 0.0;          // unknown: runtime-compiled configs are tried
  }
  const double bytes_per_s = 2.0 * double(mem_khz) * 1e3 * double(bus_bits) / 8.0;  // double data rate
  // Dense FP16/BF16 tensor-core multiply-adds per SM and clock: 2048 on sm_90 (H100: about 990
  // TFLOPS), 1024 before.
  const double macs_per_clock = ctx.props().major >= 9 ? 2048.0 : 1024.0;
  const double macs_per_s = double(ctx.props().multiProcessorCount) * double(sm_khz) * 1e3 * macs_per_clock;
  const double bytes = double(ir::dtype_size(p.dtype)) *
                       double(p.x_numel() + p.K * p.Cg * p.R * p.S + p.y_numel() * (p.has_residual ? 2 : 1));
  if (!(bytes_per_s > 0) || !(macs_per_s > 0)) return 0.0;  // unknown: runtime-compiled configs are tried
  return 1e3 * std::max(bytes / bytes_per_s, p.macs() / macs_per_s);
}

// What timing a launch of next to no work measures on this device (ms), timed as every candidate
// is (time_ms: events on either side of one launch, on an idle stream): mostly the launch itself.
// A small convolution's time is mostly this; what a faster kernel could save is the rest. Measured
// once per device.
double timing_floor_ms(Context& ctx) {
  static std::mutex mu;
  static std::map<int, double> floors;
  std::lock_guard<std::mutex> lock(mu);
  const auto it = floors.find(ctx.device());
  if (it != floors.end()) return it->second;
  // The least of several short medians: a busy moment or low clocks at the first measurement must
  // not make the floor, which counts convolutions as small, too high for the whole process.
  DeviceBuffer one(sizeof(float));
  double ms = 1e30;
  for (int r = 0; r < 5; ++r)
    ms = std::min<double>(
        ms, time_ms(ctx, 2, 3, [&](cudaStream_t s) { launch_fill_random(one.get(), DType::kFloat32, 1, 0, s); }));
  floors[ctx.device()] = ms;
  return ms;
}

// What the first convolution of an engine with a problem decided, for the later ones.
struct Decision {
  std::string cutlass_tactic;  // empty: cuDNN's plan (shared under its own key)
  bool cudnn_runtime_compiled = true;  // the TacticOptions cuDNN's plan was chosen with
  std::string note;
};

// cuDNN's choice for the node among its precompiled configs, or among all of them
// (`runtime_compiled`: runtime-compiled ones included); null, with cuDNN's reason in *failed, when
// it has none.
std::unique_ptr<CudnnConv2d> try_cudnn(const KernelArgs& args, bool runtime_compiled, std::string* failed) {
  TacticOptions options = *args.timing;
  options.cudnn_runtime_compiled = runtime_compiled;
  KernelArgs a = args;
  a.timing = &options;
  try {
    return std::make_unique<CudnnConv2d>(a);
  } catch (const Error& e) {
    *failed = e.what();
    return nullptr;
  }
}

// A convolution the CUTLASS kernels do not take. With conv_runtime_compilation "fallback", an
// FP16/BF16 one keeps cuDNN's best precompiled config where that comes within
// kRuntimeCompileMargin of the roofline or within kSmallConvMs of the timing floor, or where no
// runtime-compiled config takes kCompiledWinFraction of its time or less; elsewhere (and in the
// other modes, and in FP32) cuDNN chooses among all its configs, runtime-compiled ones included.
std::unique_ptr<Kernel> choose_cudnn(const KernelArgs& args, const NodeConv& node) {
  const bool half = node.p.dtype == DType::kFloat16 || node.p.dtype == DType::kBFloat16;
  if (args.timing->conv_runtime_compilation != ConvRuntimeCompilation::kFallback || !half)
    return std::make_unique<CudnnConv2d>(args);
  std::string pre_failed, full_failed;
  std::unique_ptr<CudnnConv2d> pre = try_cudnn(args, /*runtime_compiled=*/false, &pre_failed);
  const double bound_ms = roofline_ms(node.p, args.ctx);  // 0: unknown (then compiled configs are tried)
  const double floor_ms = timing_floor_ms(args.ctx);
  const std::string bounds = str_cat(" ms, roofline ", bound_ms, " ms, timing floor ", floor_ms, " ms");
  if (pre && ((bound_ms > 0 && pre->rank_ms() <= kRuntimeCompileMargin * bound_ms) ||
              pre->rank_ms() - floor_ms <= kSmallConvMs)) {
    pre->add_note(str_cat(" [precompiled configs only: ", pre->rank_ms(), bounds, "]"));
    return pre;
  }
  std::unique_ptr<CudnnConv2d> full = try_cudnn(args, /*runtime_compiled=*/true, &full_failed);
  if (!pre && !full) TRTORCH_ERROR(full_failed, "\nWith cuDNN's precompiled configs only: ", pre_failed);
  if (pre && (!full || !(full->rank_ms() <= kCompiledWinFraction * pre->rank_ms()))) {
    pre->add_note(str_cat(" [best precompiled config: ", pre->rank_ms(), bounds, "; ",
                          full ? str_cat("runtime-compiled configs: ", full->rank_ms(), " ms")
                               : "runtime-compiled configs failed: " + full_failed.substr(0, 300),
                          "]"));
    return pre;
  }
  full->add_note(pre ? str_cat(" [best precompiled config: ", pre->rank_ms(), bounds, "; kept: ", full->rank_ms(),
                               " ms]")
                     : str_cat(" [no precompiled config: ", pre_failed.substr(0, 300), "]"));
  return full;
}

}  // namespace

std::unique_ptr<Kernel> choose_conv2d(const KernelArgs& args) {
  std::string where = args.node.source.empty() ? "(no source location)" : args.node.source;
  const NodeConv node = read_conv_node(args, where);
  if (!args.timing) return std::make_unique<CudnnConv2d>(args);
  if (!CutlassConv2d::fits(args, node)) return choose_cudnn(args, node);
  const TacticOptions& timing = *args.timing;
  TacticOptions cudnn_options = timing;
  const std::string key = str_cat("conv2d race ", node.p.signature(), ";ws=", timing.max_scratch_bytes,
                                  ";rc=", int(timing.conv_runtime_compilation));
  if (args.share)
    if (auto d = std::static_pointer_cast<Decision>(args.share->find(key))) {
      KernelArgs a = args;
      if (!d->cutlass_tactic.empty()) {
        a.tactic = &d->cutlass_tactic;
        auto k = std::make_unique<CutlassConv2d>(a);
        k->set_note(" (plan of an earlier convolution of this engine with the same problem) " + d->note);
        return k;
      }
      cudnn_options.cudnn_runtime_compiled = d->cudnn_runtime_compiled;
      a.timing = &cudnn_options;
      auto k = std::make_unique<CudnnConv2d>(a);
      k->add_note(" " + d->note);
      return k;
    }

  std::unique_ptr<CutlassConv2d> cut;
  std::string cut_failed;
  try {
    cut = std::make_unique<CutlassConv2d>(args);
  } catch (const Error& e) {
    cut_failed = e.what();
  }
  // cuDNN: its precompiled configs first (no compilation: quick to build), then, where the best
  // ahead-of-time kernel leaves more than kRuntimeCompileMargin to the roofline, its configs that
  // compile a kernel when built (runtime fusion), which otherwise cannot win enough to pay for it.
  // conv_runtime_compilation "always": all of cuDNN's configs at once; "fallback": the
  // precompiled ones only.
  std::unique_ptr<CudnnConv2d> cud;
  std::string cud_failed;
  bool cud_runtime_compiled = false;  // the options `cud` was chosen with
  const double bound_ms = roofline_ms(node.p, args.ctx);
  double aot_ms = cut ? double(cut->time_ms()) : INFINITY;
  std::string why_compiled;
  const ConvRuntimeCompilation mode = timing.conv_runtime_compilation;
  if (cut && mode != ConvRuntimeCompilation::kAlways) {
    cud = try_cudnn(args, /*runtime_compiled=*/false, &cud_failed);
    if (cud) aot_ms = std::min(aot_ms, double(cud->rank_ms()));
    if (mode == ConvRuntimeCompilation::kAuto && aot_ms > kRuntimeCompileMargin * bound_ms)
      why_compiled = str_cat("best ahead-of-time ", aot_ms, " ms > ", kRuntimeCompileMargin, " x roofline ", bound_ms,
                             " ms: runtime-compiled configs tried");
  }
  if (!cut || mode == ConvRuntimeCompilation::kAlways || !why_compiled.empty()) {
    std::unique_ptr<CudnnConv2d> aot = std::move(cud);
    cud = try_cudnn(args, /*runtime_compiled=*/true, &cud_failed);
    cud_runtime_compiled = cud != nullptr;
    if (aot && (!cud || aot->rank_ms() <= cud->rank_ms())) {  // the faster cuDNN plan
      cud = std::move(aot);
      cud_runtime_compiled = false;
    }
  }
  if (!cut && !cud) TRTORCH_ERROR(cud_failed, "\nThe CUTLASS convolutions: ", cut_failed);
  auto decision = std::make_shared<Decision>();
  decision->cudnn_runtime_compiled = cud_runtime_compiled;
  std::unique_ptr<Kernel> kept;
  const std::string roofline = str_cat(" roofline ", bound_ms, " ms", why_compiled.empty() ? "" : "; ", why_compiled);
  if (cut && (!cud || !(cud->rank_ms() < cut->time_ms()))) {
    decision->note = cud ? str_cat("[cuDNN's best config: ", cud->rank_ms(), " ms;", roofline, "]")
                         : str_cat("[no cuDNN config;", roofline, "]");
    decision->cutlass_tactic = cut->tactic();
    cut->add_note(" " + decision->note);
    kept = std::move(cut);
  } else {
    decision->note = cut ? str_cat("[CUTLASS's best config: ", cut->time_ms(), " ms;", roofline, "]")
                         : str_cat("[no CUTLASS config: ", cut_failed.substr(0, 300), "]");
    cud->add_note(" " + decision->note);
    kept = std::move(cud);
  }
  if (args.share) args.share->put(key, decision);
  return kept;
}

}  // namespace trtorch::backends::cuda::conv
