// CUDA backend Conv2d (core/backends/cuda/conv.cpp) against the reference backend.
//
// Every case builds a one-node engine graph with the fused Conv2d (bias, residual, activation in
// the node's epilogue attributes), runs the kernel chosen by timing, and compares it with the
// reference backend running the unfused graph Conv2d -> Binary add -> Unary. It then rebuilds the
// kernel from its tactic() string (the load path: no timing) and checks it again. Channels-last
// cases convert the tensors on the host, so the NHWC output is checked in NCHW order.
//
// Torch-free; needs a GPU. Without one it prints a line and exits 77 (ctest: skipped).
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <functional>

#include "core/backends/cuda/conv/conv.h"
#include "core/backends/cuda/conv/conv_reference.h"
#include "core/backends/cuda/common/kernel.h"
#include "tests/backends/cuda_test_util.h"

using namespace trtorch;
using namespace trtorch::ir;
using namespace trtorch::backends::cuda;
using namespace trtorch::cuda_test;
using trtorch::backends::cuda::conv::NodeConv;
using trtorch::backends::cuda::conv::read_conv_node;

namespace {

Context& ctx() {
  static Context c(0);
  return c;
}

// ---------------------------------------------------------------------------------------------
// Host helpers

HostTensor nchw_to_nhwc(const HostTensor& t) { return relayout(t, true); }
HostTensor nhwc_to_nchw(const HostTensor& t) { return relayout(t, false); }

const char* layout_name(Layout l) { return l == Layout::kNHWC ? "NHWC" : "NCHW"; }

// ---------------------------------------------------------------------------------------------
// Cases

struct ConvCase {
  std::string name;
  int64_t N, C, H, W, K, R, S;
  int64_t sh, sw, ph, pw, dh, dw, groups;
  bool bias = true;
  bool residual = false;
  bool has_act = false;
  UnaryKind act = UnaryKind::kRelu;
  double alpha = 0, beta = 0;
  bool bias_constant = true;  // false: the bias is an engine input (read at launch)
  bool fp32_bias = false;     // an FP32 bias in an FP16/BF16 convolution (a folded BatchNorm shift)
};

ConvCase conv(std::string name, int64_t N, int64_t C, int64_t HW, int64_t K, int64_t RS, int64_t stride, int64_t pad,
              int64_t dil = 1, int64_t groups = 1) {
  return ConvCase{std::move(name), N, C, HW, HW, K, RS, RS, stride, stride, pad, pad, dil, dil, groups};
}
ConvCase with_act(ConvCase c, UnaryKind k, double alpha = 0, double beta = 0) {
  c.has_act = true;
  c.act = k;
  c.alpha = alpha;
  c.beta = beta;
  c.name += std::string(" ") + unary_kind_name(k);
  return c;
}
ConvCase with_residual(ConvCase c) {
  c.residual = true;
  c.name += " +residual";
  return c;
}
ConvCase without_bias(ConvCase c) {
  c.bias = false;
  c.name += " nobias";
  return c;
}

struct Config {
  DType dtype;
  Layout layout;
};

// Everything one case needs on the host and the device.
struct Problem {
  ConvCase c;
  Config cfg;
  Shape x_shape, w_shape, y_shape;
  HostTensor x, w, b, r;  // logical NCHW
  HostTensor expected;    // reference output, NCHW
  Graph g;                // the engine graph with the fused node
  Node* node = nullptr;
  std::vector<TensorDesc> in_desc, out_desc;
  std::vector<const HostTensor*> constants;
  DeviceBuffer dx, dw, db, dr, dy;
  std::vector<const void*> in_ptrs;
};

int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
  return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

std::unique_ptr<Problem> make_problem(const ConvCase& c, Config cfg) {
  auto p = std::make_unique<Problem>();
  p->c = c;
  p->cfg = cfg;
  const DType t = cfg.dtype;
  const int64_t Cg = c.C / c.groups;
  p->x_shape = {c.N, c.C, c.H, c.W};
  p->w_shape = {c.K, Cg, c.R, c.S};
  p->y_shape = {c.N, c.K, out_size(c.H, c.R, c.sh, c.ph, c.dh), out_size(c.W, c.S, c.sw, c.pw, c.dw)};
  uint32_t seed = uint32_t(std::hash<std::string>()(c.name) & 0xffffff);
  p->x = random_uniform(t, p->x_shape, seed + 1);
  p->w = random_uniform(t, p->w_shape, seed + 2, 1.0 / std::sqrt(double(Cg * c.R * c.S)));
  const DType bt = c.fp32_bias ? DType::kFloat32 : t;
  p->b = random_uniform(bt, {c.K}, seed + 3, 0.5);
  p->r = random_uniform(t, p->y_shape, seed + 4);

  Conv2dAttrs plain;
  plain.stride = {c.sh, c.sw};
  plain.padding = {c.ph, c.pw};
  plain.dilation = {c.dh, c.dw};
  plain.groups = c.groups;

  // Oracle: the unfused graph on the reference backend.
  {
    Graph o;
    Value* x = o.add_input(TensorType::fixed(t, p->x_shape), "x");
    Value* r = c.residual ? o.add_input(TensorType::fixed(t, p->y_shape), "residual") : nullptr;
    std::vector<Value*> ins{x, o.add_constant(p->w)};
    if (c.bias) ins.push_back(o.add_constant(p->b));
    Value* y = o.add_node(OpKind::Conv2d, plain, ins)->outputs[0];
    if (c.residual) y = o.add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kAdd}, {y, r})->outputs[0];
    if (c.has_act) y = o.add_node(OpKind::Unary, UnaryAttrs{c.act, c.alpha, c.beta}, {y})->outputs[0];
    o.mark_output(y);
    verify(o);
    std::vector<HostTensor> inputs{p->x};
    if (c.residual) inputs.push_back(p->r);
    p->expected = ref::run(o, inputs)[0];
  }

  // The engine graph: one fused Conv2d.
  Conv2dAttrs fused = plain;
  fused.has_residual = c.residual;
  fused.has_act = c.has_act;
  fused.act = c.act;
  fused.act_alpha = c.alpha;
  fused.act_beta = c.beta;
  Value* x = p->g.add_input(TensorType::fixed(t, p->x_shape), "x");
  std::vector<Value*> ins{x, p->g.add_constant(p->w)};
  p->constants = {nullptr, &p->w};
  if (c.bias) {
    ins.push_back(c.bias_constant ? p->g.add_constant(p->b) : p->g.add_input(TensorType::fixed(bt, {c.K}), "bias"));
    p->constants.push_back(c.bias_constant ? &p->b : nullptr);
  }
  if (c.residual) {
    ins.push_back(p->g.add_input(TensorType::fixed(t, p->y_shape), "residual"));
    p->constants.push_back(nullptr);
  }
  p->node = p->g.add_node(OpKind::Conv2d, fused, ins, "cuda_conv_test: " + c.name);
  p->g.mark_output(p->node->outputs[0]);
  verify(p->g);

  const Layout l = cfg.layout;
  p->in_desc = {TensorDesc{t, p->x_shape, l}, TensorDesc{t, p->w_shape, Layout::kRowMajor}};
  if (c.bias) p->in_desc.push_back(TensorDesc{bt, {c.K}, Layout::kRowMajor});
  if (c.residual) p->in_desc.push_back(TensorDesc{t, p->y_shape, l});
  p->out_desc = {TensorDesc{t, p->y_shape, l}};

  auto in_layout = [&](const HostTensor& h) { return l == Layout::kNHWC ? nchw_to_nhwc(h) : h; };
  p->dx = upload(in_layout(p->x));
  p->dw = upload(p->w);  // KCRS, as the engine would hold it
  p->in_ptrs = {p->dx.get(), p->dw.get()};
  if (c.bias) {
    p->db = upload(p->b);
    p->in_ptrs.push_back(p->db.get());
  }
  if (c.residual) {
    p->dr = upload(in_layout(p->r));
    p->in_ptrs.push_back(p->dr.get());
  }
  p->dy = DeviceBuffer(p->out_desc[0].bytes());
  return p;
}

KernelArgs kernel_args(Problem& p, const std::string* tactic, const TacticOptions* timing) {
  return KernelArgs{ctx(), *p.node, p.in_desc, p.out_desc, p.constants, tactic, timing};
}

// Runs the kernel once into p.dy and returns the output in NCHW order.
HostTensor run_kernel(Problem& p, Kernel& k) {
  DeviceBuffer scratch(k.scratch_bytes());
  TRTORCH_CUDA_CHECK(cudaMemset(p.dy.get(), 0xff, p.dy.bytes()));  // NaN-fill: every element must be written
  TRTORCH_CUDA_CHECK(cudaDeviceSynchronize());  // legacy-stream work before non-blocking-stream launches
  k.launch(p.in_ptrs, {p.dy.get()}, scratch.get(), ctx().stream());
  TRTORCH_CUDA_CHECK(cudaStreamSynchronize(ctx().stream()));
  HostTensor y = download(p.dy.get(), p.cfg.dtype, p.y_shape);
  return p.cfg.layout == Layout::kNHWC ? nhwc_to_nchw(y) : y;
}

TacticOptions test_timing() {
  TacticOptions o;
  o.min_timing_iters = 2;
  o.avg_timing_iters = 5;
  o.allow_tf32 = false;
  o.max_scratch_bytes = size_t(256) << 20;
  return o;
}

// Builds by timing, checks, rebuilds from the tactic, checks again; prints one line.
void check_case(const ConvCase& c, Config cfg) {
  const std::string label = str_cat(c.name, " N=", c.N, " ", dtype_name(cfg.dtype), " ", layout_name(cfg.layout));
  SCOPED_TRACE(label);
  std::unique_ptr<Problem> p;
  try {
    p = make_problem(c, cfg);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "setting up: " << e.what();
    return;
  }
  const double tol = kernel_tolerance(cfg.dtype);
  const TacticOptions timing = test_timing();

  using Clock = std::chrono::steady_clock;
  auto seconds_since = [](Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  std::unique_ptr<Kernel> k;
  const auto t_build = Clock::now();
  double build_s = 0, load_s = 0;
  try {
    k = make_Conv2d(kernel_args(*p, nullptr, &timing));
    build_s = seconds_since(t_build);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "building the kernel: " << e.what();
    std::printf("[conv] FAIL %-52s build: %s\n", label.c_str(), e.what());
    return;
  }
  HostTensor y1 = run_kernel(*p, *k);
  const double err1 = rel_error(y1, p->expected);
  EXPECT_LE(err1, tol) << k->describe() << "\n  tactic " << k->tactic();

  // The load path: rebuild exactly that plan from the tactic string, no timing.
  const std::string tactic = k->tactic();
  double err2 = INFINITY;
  bool identical = false;
  try {
    const auto t_load = Clock::now();
    auto k2 = make_Conv2d(kernel_args(*p, &tactic, nullptr));
    load_s = seconds_since(t_load);
    EXPECT_EQ(k2->tactic(), tactic);
    EXPECT_EQ(k2->scratch_bytes(), k->scratch_bytes());
    HostTensor y2 = run_kernel(*p, *k2);
    err2 = rel_error(y2, p->expected);
    identical = y2.same_content(y1);
    EXPECT_LE(err2, tol) << "rebuilt from tactic " << tactic;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "rebuilding from tactic " << tactic << ": " << e.what();
  }

  DeviceBuffer scratch(k->scratch_bytes());
  const float ms =
      time_ms(ctx(), 3, 20, [&](cudaStream_t s) { k->launch(p->in_ptrs, {p->dy.get()}, scratch.get(), s); });
  std::printf(
      "[conv] %-4s %-52s err=%.2e rebuilt err=%.2e%s (tol %.0e) run %.4f ms; build %.2f s, load %.2f s\n"
      "       %s\n       tactic %s\n",
      (err1 <= tol && err2 <= tol) ? "ok" : "FAIL", label.c_str(), err1, err2,
      identical ? " bit-identical" : " not bit-identical", tol, ms, build_s, load_s, k->describe().c_str(),
      tactic.c_str());
  std::fflush(stdout);
}

const Config kF32Nchw{DType::kFloat32, Layout::kRowMajor};
const Config kF32Nhwc{DType::kFloat32, Layout::kNHWC};
const Config kF16Nchw{DType::kFloat16, Layout::kRowMajor};
const Config kF16Nhwc{DType::kFloat16, Layout::kNHWC};
const Config kBf16Nchw{DType::kBFloat16, Layout::kRowMajor};
const Config kBf16Nhwc{DType::kBFloat16, Layout::kNHWC};

// `c` (a 3x3 filter, padding 1) on a 17x11 image with a 3x5 filter and padding 1x2.
ConvCase rectangular(ConvCase c) {
  c.H = 17;
  c.W = 11;
  c.S = 5;
  c.pw = 2;
  return c;
}

// 13 columns instead of rectangular()'s 11.
ConvCase widened(ConvCase c) {
  c.W = 13;
  c.name += " w13";
  return c;
}

// A depthwise 3x3 convolution with stride 2 and dilation 2 along H only, padding 2x1.
ConvCase depthwise_rows_dilated() {
  ConvCase c = conv("depthwise 3x3 s2x1 d2x1 p2x1 16->16", 2, 16, 15, 16, 3, 1, 1, 1, 16);
  c.sh = 2;
  c.dh = 2;
  c.ph = 2;
  return c;
}

// A rectangular image and filter with a stride and padding per axis.
ConvCase rect_case() {
  ConvCase c = rectangular(with_act(conv("rect 3x5 s2x1 p1x2 16->32", 1, 16, 1, 32, 3, 1, 1), UnaryKind::kRelu));
  c.sh = 2;
  return c;
}

// A folded case of a rectangular image and filter, with a padding per axis (4 channels, stride 2).
ConvCase rect_fold_case() {
  return rectangular(with_act(conv("rect 3x5 s2 p1x2 4->16 (folded)", 2, 4, 1, 16, 3, 2, 1), UnaryKind::kRelu));
}

// The network shapes: every one in FP32 NCHW, FP16 NHWC and BF16 NHWC.
std::vector<ConvCase> network_cases() {
  return {
      with_act(conv("1x1 64->64", 8, 64, 28, 64, 1, 1, 0), UnaryKind::kRelu),
      conv("1x1 s2 256->512 (downsample)", 8, 256, 14, 512, 1, 2, 0),
      with_act(conv("3x3 s2 p1 64->64", 1, 64, 28, 64, 3, 2, 1), UnaryKind::kRelu),
      with_act(with_residual(conv("3x3 p1 64->64", 8, 64, 14, 64, 3, 1, 1)), UnaryKind::kRelu),
      with_act(conv("7x7 s2 p3 3->64 (stem)", 8, 3, 64, 64, 7, 2, 3), UnaryKind::kRelu),
      with_act(conv("3x3 p1 256->512", 1, 256, 14, 512, 3, 1, 1), UnaryKind::kRelu),
      with_act(conv("grouped 3x3 p1 g4 64->64", 8, 64, 16, 64, 3, 1, 1, 1, 4), UnaryKind::kSilu),
      with_act(conv("depthwise 3x3 p1 32->32", 8, 32, 28, 32, 3, 1, 1, 1, 32), UnaryKind::kClamp, 0.0, 6.0),
      with_act(conv("depthwise 3x3 s2 p1 32->32", 1, 32, 28, 32, 3, 2, 1, 1, 32), UnaryKind::kRelu),
      with_act(conv("depthwise 5x5 s2 p2 32->32", 8, 32, 28, 32, 5, 2, 2, 1, 32), UnaryKind::kHardSwish),
      conv("depthwise 3x3 p1 x2 multiplier 32->64", 1, 32, 16, 64, 3, 1, 1, 1, 32),
      // Output widths 13 (3x5 p1x2 at stride 1), 7 (stride 2) and 15: no multiple of the
      // per-thread tiles (4 at stride 1, 2 at stride 2); strides and dilations that differ per
      // axis (the tiled kernels dilate rows only); a dilated one takes the untiled kernel.
      with_act(with_residual(widened(rectangular(conv("depthwise rect 3x5 32->32", 2, 32, 1, 32, 3, 1, 1, 1, 32)))),
               UnaryKind::kSilu),
      without_bias(widened(rectangular(conv("depthwise rect 3x5 s2 32->32", 2, 32, 1, 32, 3, 2, 1, 1, 32)))),
      with_act(depthwise_rows_dilated(), UnaryKind::kRelu),
      with_act(conv("depthwise 3x3 d2 p2 16->16", 2, 16, 15, 16, 3, 1, 2, 2, 16), UnaryKind::kRelu),
      with_act(conv("dilated 3x3 d2 p2 64->64", 1, 64, 20, 64, 3, 1, 2, 2), UnaryKind::kGeluErf),
      without_bias(conv("3x3 p1 64->64", 1, 64, 14, 64, 3, 1, 1)),
      with_act(with_residual(without_bias(conv("1x1 64->256", 8, 64, 14, 256, 1, 1, 0))), UnaryKind::kRelu),
      rect_case(),
  };
}

TEST(CudaConv, NetworkShapes) {
  for (const ConvCase& c : network_cases())
    for (Config cfg : {kF32Nchw, kF16Nhwc, kBf16Nhwc}) check_case(c, cfg);
}

// The other dtype/layout pairings on a few shapes.
TEST(CudaConv, OtherLayouts) {
  std::vector<ConvCase> cases = {
      with_act(conv("3x3 s2 p1 64->64", 8, 64, 28, 64, 3, 2, 1), UnaryKind::kRelu),
      with_act(with_residual(conv("3x3 p1 64->64", 1, 64, 14, 64, 3, 1, 1)), UnaryKind::kRelu),
      with_act(conv("7x7 s2 p3 3->64 (stem)", 1, 3, 64, 64, 7, 2, 3), UnaryKind::kRelu),
      with_act(conv("depthwise 3x3 p1 32->32", 1, 32, 28, 32, 3, 1, 1, 1, 32), UnaryKind::kClamp, 0.0, 6.0),
  };
  for (const ConvCase& c : cases)
    for (Config cfg : {kF32Nhwc, kF16Nchw, kBf16Nchw}) check_case(c, cfg);
}

// Every activation of the epilogue (fused into cuDNN or run by the epilogue kernel).
TEST(CudaConv, Activations) {
  const ConvCase base = with_residual(conv("3x3 p1 32->32", 1, 32, 16, 32, 3, 1, 1));
  std::vector<ConvCase> cases = {
      with_act(base, UnaryKind::kRelu),
      with_act(base, UnaryKind::kSigmoid),
      with_act(base, UnaryKind::kTanh),
      with_act(base, UnaryKind::kHardSigmoid),
      with_act(base, UnaryKind::kHardSwish),
      with_act(base, UnaryKind::kSilu),
      with_act(base, UnaryKind::kGeluErf),
      with_act(base, UnaryKind::kGeluTanh),
      with_act(base, UnaryKind::kLeakyRelu, 0.1),
      with_act(base, UnaryKind::kElu, 1.0),
      with_act(base, UnaryKind::kClamp, 0.0, 6.0),
      with_act(base, UnaryKind::kClamp, -0.5, 0.5),
      with_act(base, UnaryKind::kExp),
      with_act(base, UnaryKind::kNeg),
      with_act(base, UnaryKind::kAbs),
      with_act(base, UnaryKind::kErf),
  };
  for (const ConvCase& c : cases)
    for (Config cfg : {kF32Nchw, kF16Nhwc}) check_case(c, cfg);
}

// EfficientNet-B0's squeeze-excitation convolutions at batch 32: 1x1 convolutions of a 1x1 image,
// with bias and activation. For the expand one in NCHW FP16 and BF16, cuDNN 9.19's configs of
// runtime-fusion engine 53 for the graph with bias and sigmoid fused write non-finite values
// (H100): the model's output was NaN, and once plans were checked against their rebuilds, its
// build failed. The build must reject them against the direct convolution and, when no config of
// the fused graph passes, run the sigmoid in the epilogue kernel instead.
TEST(CudaConv, SqueezeExcitation) {
  const std::vector<ConvCase> cases = {
      with_act(conv("SE expand 1x1 48->1152 on 1x1", 32, 48, 1, 1152, 1, 1, 0), UnaryKind::kSigmoid),
      with_act(conv("SE reduce 1x1 1152->48 on 1x1", 32, 1152, 1, 48, 1, 1, 0), UnaryKind::kSilu),
  };
  for (const ConvCase& c : cases)
    for (Config cfg : {kF16Nchw, kF16Nhwc, kBf16Nchw, kF32Nchw}) check_case(c, cfg);
}

// A bias that is not a constant is read from its input pointer at launch.
TEST(CudaConv, BiasFromInput) {
  ConvCase c = with_act(conv("3x3 p1 64->64 bias input", 8, 64, 14, 64, 3, 1, 1), UnaryKind::kRelu);
  c.bias_constant = false;
  for (Config cfg : {kF32Nchw, kF16Nhwc}) check_case(c, cfg);
  ConvCase hs = with_act(c, UnaryKind::kHardSwish);  // bias in cuDNN, activation in the epilogue kernel
  check_case(hs, kF16Nhwc);
}

// An FP32 bias in FP16/BF16 convolutions (assign_precision keeps folded BatchNorm shifts in
// FP32), as a constant and as an input, fused into cuDNN (relu) or beside an activation left to
// the epilogue kernel (hardswish).
TEST(CudaConv, Float32Bias) {
  for (bool constant : {true, false}) {
    ConvCase c = with_act(with_residual(conv(constant ? "3x3 p1 64->64 fp32 bias" : "3x3 p1 64->64 fp32 bias input", 8,
                                             64, 14, 64, 3, 1, 1)),
                          UnaryKind::kRelu);
    c.fp32_bias = true;
    c.bias_constant = constant;
    for (Config cfg : {kF16Nhwc, kBf16Nhwc, kF16Nchw}) check_case(c, cfg);
    check_case(with_act(c, UnaryKind::kHardSwish), kF16Nhwc);
  }
  ConvCase dw = with_act(conv("depthwise 3x3 p1 32->32 fp32 bias", 1, 32, 28, 32, 3, 1, 1, 1, 32), UnaryKind::kClamp,
                         0.0, 6.0);
  dw.fp32_bias = true;
  check_case(dw, kF16Nhwc);
}

// launch() records into a CUDA graph: no synchronization or allocation inside.
// A kernel launched during stream capture, replayed as a CUDA graph, computes what it should.
void check_graph_capture(Problem& p_ref, Kernel& k) {
  Problem* p = &p_ref;
  DeviceBuffer scratch(k.scratch_bytes());
  // One plain launch first (lazy host-side setup of the variant pack), as the executor does.
  k.launch(p->in_ptrs, {p->dy.get()}, scratch.get(), ctx().stream());
  TRTORCH_CUDA_CHECK(cudaStreamSynchronize(ctx().stream()));
  TRTORCH_CUDA_CHECK(cudaMemset(p->dy.get(), 0xff, p->dy.bytes()));
  TRTORCH_CUDA_CHECK(cudaDeviceSynchronize());  // legacy-stream work before non-blocking-stream launches

  cudaStream_t s;
  TRTORCH_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  cudaGraph_t graph;
  TRTORCH_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  try {
    k.launch(p->in_ptrs, {p->dy.get()}, scratch.get(), s);
  } catch (const std::exception& e) {
    cudaStreamEndCapture(s, &graph);
    FAIL() << "launch during capture: " << e.what();
  }
  TRTORCH_CUDA_CHECK(cudaStreamEndCapture(s, &graph));
  cudaGraphExec_t exec;
  TRTORCH_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  TRTORCH_CUDA_CHECK(cudaGraphLaunch(exec, s));
  TRTORCH_CUDA_CHECK(cudaStreamSynchronize(s));
  HostTensor y = nhwc_to_nchw(download(p->dy.get(), p->cfg.dtype, p->y_shape));
  EXPECT_LE(rel_error(y, p->expected), kernel_tolerance(p->cfg.dtype)) << k.describe();
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  cudaStreamDestroy(s);
}

TEST(CudaConv, CapturesIntoCudaGraph) {
  const TacticOptions timing = test_timing();
  {  // HardSwish: cuDNN (the CUTLASS kernels have no such epilogue)
    ConvCase c = with_act(with_residual(conv("3x3 p1 64->64 graph", 8, 64, 14, 64, 3, 1, 1)), UnaryKind::kHardSwish);
    auto p = make_problem(c, kF16Nhwc);
    auto k = make_Conv2d(kernel_args(*p, nullptr, &timing));
    check_graph_capture(*p, *k);
  }
  // The CUTLASS kernels (their arguments, TMA descriptors included, are set up at every launch):
  // an implicit GEMM convolution and a 1x1 one as a GEMM.
  for (const ConvCase& c : {with_act(with_residual(conv("3x3 p1 64->64 cutlass graph", 8, 64, 14, 64, 3, 1, 1)),
                                     UnaryKind::kRelu),
                            with_act(conv("1x1 64->128 cutlass graph", 8, 64, 14, 128, 1, 1, 0), UnaryKind::kSilu)}) {
    auto p = make_problem(c, kBf16Nhwc);
    conv::CutlassConv2d k(kernel_args(*p, nullptr, &timing));
    check_graph_capture(*p, k);
  }
}

// FP32 with TF32 allowed: the tactic records it, a rebuild follows it.
TEST(CudaConv, Tf32Recorded) {
  ConvCase c = with_act(conv("3x3 p1 64->64 tf32", 8, 64, 28, 64, 3, 1, 1), UnaryKind::kRelu);
  auto p = make_problem(c, kF32Nhwc);
  TacticOptions timing = test_timing();
  timing.allow_tf32 = true;
  auto k = make_Conv2d(kernel_args(*p, nullptr, &timing));
  const std::string t = k->tactic();
  EXPECT_NE(t.find(";tf32=1;"), std::string::npos) << t;
  auto k2 = make_Conv2d(kernel_args(*p, &t, nullptr));
  EXPECT_EQ(k2->tactic(), t);
  HostTensor y = run_kernel(*p, *k2);
  EXPECT_LE(rel_error(y, p->expected), 5e-3) << k2->describe();  // TF32: 10-bit mantissa inputs
  std::printf("[conv] tf32: %s\n       tactic %s\n", k2->describe().c_str(), t.c_str());
}

// compare_outputs, the build's check of engine configs, on outputs with known differences:
// values, signed zeros, NaNs and infinities, in FP32 and FP16, over more elements than one block
// of its grid covers.
TEST(CudaConv, CompareOutputs) {
  const int64_t n = 70001;
  const float nan = std::nanf(""), inf = INFINITY;
  for (DType t : {DType::kFloat32, DType::kFloat16}) {
    SCOPED_TRACE(dtype_name(t));
    auto tensor = [&](const std::vector<std::pair<int64_t, float>>& set) {
      std::vector<float> v(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) v[size_t(i)] = float(i % 97) * 0.25f - 12.0f;  // exact in FP16
      for (const auto& [i, x] : set) v[size_t(i)] = x;
      HostTensor h(t, {n});
      for (int64_t i = 0; i < n; ++i) {
        if (t == DType::kFloat32)
          static_cast<float*>(h.data())[i] = v[size_t(i)];
        else
          static_cast<uint16_t*>(h.data())[i] = ir::float_to_half(v[size_t(i)]);
      }
      return upload(h);
    };
    DeviceBuffer scratch(kOutputDiffScratchBytes);
    auto diff = [&](const DeviceBuffer& a, const DeviceBuffer& b) {
      return compare_outputs(a.get(), b.get(), t, n, scratch.get(), ctx().stream());
    };
    const DeviceBuffer base = tensor({});
    OutputDiff d = diff(base, tensor({}));
    EXPECT_EQ(d.rel, 0.0);
    EXPECT_EQ(d.mismatch, 0.0);
    EXPECT_TRUE(d.identical);
    // Two elements off; the largest |b| is 12 (i % 97 == 0) unless b holds a larger value.
    d = diff(tensor({{5, 3.0f}, {60000, -1.5f}}), base);  // base: 5 -> -10.75, 60000 -> 60000 % 97 = 54 -> 1.5
    EXPECT_DOUBLE_EQ(d.rel, 13.75 / 12.0);
    EXPECT_DOUBLE_EQ(d.mismatch, 2.0 / double(n));
    EXPECT_FALSE(d.identical);
    d = diff(base, tensor({{n - 1, 40.0f}}));
    EXPECT_DOUBLE_EQ(d.rel, std::fabs(float((n - 1) % 97) * 0.25f - 12.0f - 40.0f) / 40.0);
    // +0 and -0: equal values, other bits.
    d = diff(tensor({{48, 0.0f}}), tensor({{48, -0.0f}}));
    EXPECT_EQ(d.rel, 0.0);
    EXPECT_EQ(d.mismatch, 0.0);
    EXPECT_FALSE(d.identical);
    // A NaN on one side only, or an infinity against a finite value: +inf. NaN against NaN and an
    // infinity against the same infinity agree.
    EXPECT_TRUE(std::isinf(diff(tensor({{7, nan}}), base).rel));
    EXPECT_TRUE(std::isinf(diff(base, tensor({{7, nan}})).rel));
    EXPECT_TRUE(std::isinf(diff(tensor({{9, inf}}), base).rel));
    EXPECT_TRUE(std::isinf(diff(tensor({{9, inf}}), tensor({{9, -inf}})).rel));
    d = diff(tensor({{7, nan}, {9, inf}}), tensor({{7, nan}, {9, inf}}));
    EXPECT_EQ(d.rel, 0.0);
    EXPECT_EQ(d.mismatch, 0.0);
  }
}

// Convolutions of one engine with the same problem share one plan (KernelShare): the second
// takes the first's without timing, runs it on its own data, and records the same tactic; one
// of another problem chooses its own; a load shares the same way and still refuses a tactic
// of another problem.
TEST(CudaConv, SharedPlan) {
  const ConvCase a = with_act(with_residual(conv("1x1 64->256 shared a", 8, 64, 14, 256, 1, 1, 0)), UnaryKind::kRelu);
  ConvCase b = a;
  b.name = "1x1 64->256 shared b";  // the same problem, other data
  ConvCase c = a;
  c.name = "1x1 64->256 shared c";
  c.N = 4;  // another problem
  std::unique_ptr<Problem> pa = make_problem(a, kF16Nhwc), pb = make_problem(b, kF16Nhwc),
                           pc = make_problem(c, kF16Nhwc);
  const TacticOptions timing = test_timing();
  const double tol = kernel_tolerance(DType::kFloat16);
  const std::string shared_note = "plan of an earlier convolution";
  // cuDNN's plans (made directly: make_Conv2d may give the problem to a CUTLASS kernel, whose
  // construction from a tactic has nothing to share).
  auto made = [&](Problem& p, const std::string* tactic, KernelShare& share) -> std::unique_ptr<Kernel> {
    KernelArgs args = kernel_args(p, tactic, tactic ? nullptr : &timing);
    args.share = &share;
    return std::make_unique<conv::CudnnConv2d>(args);
  };
  auto shares = [&](Kernel& k) { return k.describe().find(shared_note) != std::string::npos; };

  KernelShare share;
  auto ka = made(*pa, nullptr, share);
  auto kb = made(*pb, nullptr, share);
  auto kc = made(*pc, nullptr, share);
  EXPECT_FALSE(shares(*ka)) << ka->describe();
  EXPECT_TRUE(shares(*kb)) << kb->describe();
  EXPECT_FALSE(shares(*kc)) << kc->describe();
  EXPECT_EQ(kb->tactic(), ka->tactic());
  EXPECT_EQ(kb->scratch_bytes(), ka->scratch_bytes());
  const HostTensor ya = run_kernel(*pa, *ka), yb = run_kernel(*pb, *kb), yc = run_kernel(*pc, *kc);
  EXPECT_LE(rel_error(ya, pa->expected), tol) << ka->describe();
  EXPECT_LE(rel_error(yb, pb->expected), tol) << kb->describe();
  EXPECT_LE(rel_error(yc, pc->expected), tol) << kc->describe();
  EXPECT_FALSE(ya.same_content(yb));  // b ran on its own tensors
  // Both kernels launch the one plan: a launches again after b, on its own tensors.
  EXPECT_TRUE(run_kernel(*pa, *ka).same_content(ya));

  KernelShare load;
  const std::string ta = ka->tactic(), tc = kc->tactic();
  auto la = made(*pa, &ta, load);
  auto lb = made(*pb, &ta, load);
  EXPECT_FALSE(shares(*la)) << la->describe();
  EXPECT_TRUE(shares(*lb)) << lb->describe();
  EXPECT_LE(rel_error(run_kernel(*pb, *lb), pb->expected), tol) << lb->describe();
  made(*pc, &tc, load);
  try {
    made(*pb, &tc, load);
    ADD_FAILURE() << "another problem's tactic was accepted with a shared plan at hand";
  } catch (const trtorch::Error& e) {
    EXPECT_NE(std::string(e.what()).find("another convolution"), std::string::npos) << e.what();
  }
  std::printf("[conv] shared: %s\n", kb->describe().c_str());

  // The build's race between CUTLASS and cuDNN (make_Conv2d) is decided once per problem too.
  KernelShare race;
  auto raced = [&](Problem& p) {
    KernelArgs args = kernel_args(p, nullptr, &timing);
    args.share = &race;
    return make_Conv2d(args);
  };
  auto ra = raced(*pa), rb = raced(*pb), rc = raced(*pc);
  EXPECT_FALSE(shares(*ra)) << ra->describe();
  EXPECT_TRUE(shares(*rb)) << rb->describe();
  EXPECT_FALSE(shares(*rc)) << rc->describe();
  EXPECT_EQ(rb->tactic(), ra->tactic());
  EXPECT_LE(rel_error(run_kernel(*pb, *rb), pb->expected), tol) << rb->describe();
  std::printf("[conv] raced and shared: %s\n", rb->describe().c_str());
}

// A dynamic engine at a new shape builds the cuDNN engine config of its opt shape's tactic for the
// new shape (KernelArgs::other_shape) instead of choosing again; without other_shape that tactic
// is another convolution's. 20 output channels: the CUTLASS kernels do not take it.
TEST(CudaConv, CudnnTacticAtAnotherShape) {
  const TacticOptions timing = test_timing();
  for (Config cfg : {kF32Nchw, kF16Nhwc}) {
    SCOPED_TRACE(dtype_name(cfg.dtype));
    const ConvCase c = with_act(conv("3x3 p1 16->20 opt shape", 2, 16, 10, 20, 3, 1, 1), UnaryKind::kRelu);
    auto p = make_problem(c, cfg);
    const std::string t = make_Conv2d(kernel_args(*p, nullptr, &timing))->tactic();
    ASSERT_EQ(t.rfind("cudnn-conv", 0), 0u) << t;
    ConvCase bigger = c;
    bigger.N = 5;
    bigger.H = bigger.W = 17;
    auto q = make_problem(bigger, cfg);
    try {
      make_Conv2d(kernel_args(*q, &t, nullptr));
      ADD_FAILURE() << "a tactic of another shape was taken without other_shape";
    } catch (const trtorch::Error& e) {
      EXPECT_NE(std::string(e.what()).find("another convolution"), std::string::npos) << e.what();
    }
    KernelArgs other = kernel_args(*q, &t, nullptr);
    other.other_shape = true;
    auto k = make_Conv2d(other);
    EXPECT_NE(k->describe().find("another shape's tactic"), std::string::npos) << k->describe();
    EXPECT_NE(k->tactic(), t);  // this shape's signature, the same engine config
    EXPECT_EQ(k->tactic().substr(k->tactic().find(";engine=")), t.substr(t.find(";engine="))) << k->tactic();
    EXPECT_LE(rel_error(run_kernel(*q, *k), q->expected), kernel_tolerance(cfg.dtype)) << k->describe();
    std::printf("[conv] cuDNN tactic at another shape: %s\n", k->describe().c_str());
  }
}

// A restored plan's tag may list a knob the config left unset, at -1 (conv.h, same_choices): the
// same engine config; a knob set to another value, a missing set knob or another engine is not.
TEST(CudaConv, PlanNamesCompareUnsetKnobs) {
  auto id = [](const std::string& name) {
    auto got = conv::parse_plan_name(name);
    EXPECT_TRUE(got.has_value()) << name;
    return got.value_or(conv::EngineConfigId{});
  };
  EXPECT_TRUE(id("eng4_k17=-1_k24=16").same_choices(id("eng4_k24=16")));
  EXPECT_TRUE(id("eng4_k24=16").same_choices(id("eng4_k17=-1_k24=16")));
  EXPECT_TRUE(id("eng4_k17=-1_k24=16").same_choices(id("eng4_k24=16_k17=-1")));
  EXPECT_FALSE(id("eng4_k17=-1_k24=16") == id("eng4_k24=16"));  // the exact comparison stays exact
  EXPECT_FALSE(id("eng4_k17=2_k24=16").same_choices(id("eng4_k24=16")));
  EXPECT_FALSE(id("eng4_k17=-1_k24=16").same_choices(id("eng4_k17=3_k24=16")));
  EXPECT_FALSE(id("eng4").same_choices(id("eng4_k24=16")));
  EXPECT_FALSE(id("eng5_k24=16").same_choices(id("eng4_k24=16")));
}

// Bad tactic strings give a trtorch::Error that names the node and the problem.
TEST(CudaConv, BadTacticIsAClearError) {
  ConvCase c = with_act(conv("3x3 p1 16->16 bad tactic", 1, 16, 8, 16, 3, 1, 1), UnaryKind::kRelu);
  auto p = make_problem(c, kF16Nhwc);
  auto expect_error = [&](const std::string& tactic, const std::string& needle) {
    try {
      make_Conv2d(kernel_args(*p, &tactic, nullptr));
      ADD_FAILURE() << "no error for tactic \"" << tactic << "\"";
    } catch (const trtorch::Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("cuda_conv_test: " + c.name), std::string::npos) << msg;
      EXPECT_NE(msg.find(needle), std::string::npos) << "expected \"" << needle << "\" in: " << msg;
      std::printf("[conv] bad tactic \"%s\" -> %s\n", tactic.c_str(), msg.c_str());
    }
  };
  expect_error("garbage", "not a cuDNN convolution tactic");
  expect_error("", "not a cuDNN convolution tactic");
  expect_error("cudnn-conv;v=1;cudnn=91900", "missing field");
  expect_error("cudnn-conv;v=9;cudnn=91900;sig=0;tf32=0;fuse=none;engine=0;knobs=", "format version");
  expect_error("cudnn-conv;v=1;cudnn=91900;sig=0;tf32=0;fuse=xyz;engine=0;knobs=", "bad fuse code");
  expect_error("cudnn-conv;v=1;cudnn=91900;sig=0;tf32=0;fuse=none;engine=-4;knobs=", "bad engine id");
  // v=2 knob types are cudnnBackendKnobType_t; v=1 ones (cudnn_frontend::KnobType_t) are converted.
  expect_error("cudnn-conv;v=2;cudnn=91900;sig=0;tf32=0;fuse=none;engine=0;knobs=99:1", "not a cuDNN backend knob");
  expect_error("cudnn-conv;v=1;cudnn=91900;sig=0;tf32=0;fuse=none;engine=0;knobs=0:1", "has no cuDNN backend knob");
  expect_error("cudnn-conv;v=2;cudnn=91900;sig=0;tf32=0;fuse=none;engine=0;knobs=25:1,25:2", "a knob is set twice");

  // Well-formed, but not this problem's: a valid tactic with its signature changed.
  const TacticOptions timing = test_timing();
  const std::string good = conv::CudnnConv2d(kernel_args(*p, nullptr, &timing)).tactic();
  std::string other = good;
  const size_t at = other.find(";sig=") + 5;
  other[at] = other[at] == '0' ? '1' : '0';
  expect_error(other, "another convolution");
  // A cuDNN version other than the loaded one.
  std::string old = good;
  const size_t v = old.find(";cudnn=") + 7;
  old.replace(v, old.find(';', v) - v, "80000");
  expect_error(old, "cuDNN 80000");
  // An engine id no cuDNN has.
  std::string eng = good;
  const size_t e = eng.find(";engine=") + 8;
  eng.replace(e, eng.find(';', e) - e, "987654");
  expect_error(eng, "cannot rebuild");
}

// The CUTLASS convolutions compiled into the library (conv_cutlass.h), made directly (not raced
// against cuDNN): every config that takes a case is timed and checked at build, the kept one is
// compared with the reference backend, rebuilt from its tactic and compared again.
TEST(CudaConv, CutlassKernels) {
  const std::vector<ConvCase> cases = {
      with_act(conv("1x1 64->64", 8, 64, 28, 64, 1, 1, 0), UnaryKind::kRelu),
      conv("1x1 s2 256->512 (downsample)", 8, 256, 14, 512, 1, 2, 0),
      with_act(with_residual(conv("3x3 p1 64->64", 8, 64, 14, 64, 3, 1, 1)), UnaryKind::kRelu),
      with_act(conv("3x3 s2 p1 64->128 batch 1", 1, 64, 28, 128, 3, 2, 1), UnaryKind::kClamp, 0.0, 6.0),
      with_act(conv("1x1 32->96 silu", 2, 32, 20, 96, 1, 1, 0), UnaryKind::kSilu),
      with_act(conv("dilated 3x3 d2 p2 64->64", 1, 64, 20, 64, 3, 1, 2, 2), UnaryKind::kClamp, -1.0, 1.0),
      with_residual(without_bias(conv("1x1 64->256", 8, 64, 14, 256, 1, 1, 0))),
      with_act(conv("7x7 s2 p3 8->64", 2, 8, 32, 64, 7, 2, 3), UnaryKind::kRelu),
      rect_case(),
      // Few channels (an image's, padded to 4): only on the folded input (conv_cutlass.h).
      with_act(conv("7x7 s2 p3 4->64 (stem, folded)", 2, 4, 33, 64, 7, 2, 3), UnaryKind::kRelu),
      with_act(conv("3x3 s2 p1 4->32 (stem, folded)", 3, 4, 30, 32, 3, 2, 1), UnaryKind::kSilu),
      with_residual(conv("4x4 s4 4->64 (patchify, folded)", 2, 4, 32, 64, 4, 4, 0)),
      with_act(conv("5x5 s3 p2 4->16 (folded)", 1, 4, 29, 16, 5, 3, 2), UnaryKind::kClamp, 0.0, 6.0),
      rect_fold_case(),
  };
  const TacticOptions timing = test_timing();
  for (const ConvCase& c : cases)
    for (Config cfg : {kF16Nhwc, kBf16Nhwc}) {
      SCOPED_TRACE(str_cat(c.name, " ", dtype_name(cfg.dtype)));
      auto p = make_problem(c, cfg);
      const NodeConv node = read_conv_node(kernel_args(*p, nullptr, &timing), "test");
      ASSERT_TRUE(conv::CutlassConv2d::fits(kernel_args(*p, nullptr, &timing), node));
      conv::CutlassConv2d k(kernel_args(*p, nullptr, &timing));
      EXPECT_GT(k.time_ms(), 0.0f);
      const double tol = kernel_tolerance(cfg.dtype);
      const double err = rel_error(run_kernel(*p, k), p->expected);
      EXPECT_LE(err, tol) << k.describe();
      const std::string tactic = k.tactic();
      EXPECT_TRUE(conv::CutlassConv2d::is_tactic(tactic)) << tactic;
      EXPECT_EQ(tactic.find(";fold=") != std::string::npos, c.C % 8 != 0) << tactic;
      auto loaded = make_Conv2d(kernel_args(*p, &tactic, nullptr));  // the load path dispatches on the tag
      EXPECT_EQ(loaded->tactic(), tactic);
      EXPECT_NE(loaded->describe().find("cutlass conv"), std::string::npos) << loaded->describe();
      const double err2 = rel_error(run_kernel(*p, *loaded), p->expected);
      EXPECT_LE(err2, tol) << tactic;
      EXPECT_EQ(loaded->self_check(p->in_ptrs, {p->dy.get()}, ctx().stream()), "");
      std::printf("[conv] cutlass %-40s %-8s err=%.2e loaded err=%.2e %.4f ms %s\n", c.name.c_str(),
                  dtype_name(cfg.dtype), err, err2, k.time_ms(), tactic.c_str());
    }
}

// Every CUTLASS config, run directly (a build passes over a config whose output is wrong, so a
// broken one would go unnoticed there), against the reference backend; and every config on the
// folded input of a few-channel strided convolution (conv_cutlass.h), the fold made by launch_fold.
TEST(CudaConv, CutlassEveryConfig) {
  const std::vector<ConvCase> cases = {
      with_act(with_residual(conv("1x1 64->256", 4, 64, 14, 256, 1, 1, 0)), UnaryKind::kRelu),
      with_act(conv("1x1 96->40 silu", 2, 96, 9, 40, 1, 1, 0), UnaryKind::kSilu),
      without_bias(conv("1x1 128->128", 1, 128, 7, 128, 1, 1, 0)),
      with_act(with_residual(conv("3x3 p1 64->64", 2, 64, 14, 64, 3, 1, 1)), UnaryKind::kClamp, 0.0, 6.0),
      with_act(conv("3x3 s2 p1 32->48 silu", 2, 32, 15, 48, 3, 2, 1), UnaryKind::kSilu),
      // Folded (4 channels):
      with_act(conv("7x7 s2 p3 4->64", 2, 4, 21, 64, 7, 2, 3), UnaryKind::kRelu),
      with_residual(conv("4x4 s4 4->32", 2, 4, 16, 32, 4, 4, 0)),
      rect_fold_case(),
  };
  const Context& c = ctx();
  const int sm = c.props().multiProcessorCount;
  for (const ConvCase& cc : cases)
    for (Config cfg : {kF16Nhwc, kBf16Nhwc}) {
      auto p = make_problem(cc, cfg);
      const HostTensor w_krsc = nchw_to_nhwc(p->w);
      HostTensor b32(DType::kFloat32, {cc.K});
      for (int64_t k = 0; k < cc.K; ++k) b32.set(k, p->b.get(k));
      DeviceBuffer dw = upload(w_krsc), db = upload(b32);
      cutlass_conv::Problem q;
      q.dtype = cfg.dtype;
      q.N = int(cc.N), q.H = int(cc.H), q.W = int(cc.W), q.C = int(cc.C), q.K = int(cc.K), q.R = int(cc.R);
      q.S = int(cc.S), q.OH = int(p->y_shape[2]), q.OW = int(p->y_shape[3]);
      q.ph = int(cc.ph), q.pw = int(cc.pw), q.sh = int(cc.sh), q.sw = int(cc.sw), q.dh = int(cc.dh), q.dw = int(cc.dw);
      ASSERT_TRUE(cutlass_conv::epilogue_act(cc.has_act, cc.act, float(cc.alpha), float(cc.beta), &q.act, &q.lo,
                                             &q.hi));
      q.x = p->dx.get();
      q.w = dw.get();
      q.bias = cc.bias ? static_cast<const float*>(db.get()) : nullptr;
      q.residual = cc.residual ? p->dr.get() : nullptr;
      q.y = p->dy.get();
      // A few channels: the configs run on T (the fold of x) with the regrouped weights.
      const bool fold = cc.C % 8 != 0;
      DeviceBuffer t, dw_folded;
      if (fold) {
        ASSERT_FALSE(cutlass_conv::supported(q)) << cc.name;
        ASSERT_TRUE(cutlass_conv::fold_fits(q)) << cc.name;
        const std::vector<uint8_t> w_bytes(static_cast<const uint8_t*>(w_krsc.data()),
                                           static_cast<const uint8_t*>(w_krsc.data()) + w_krsc.nbytes());
        const std::vector<uint8_t> wf = cutlass_conv::fold_weights(q, w_bytes);
        dw_folded = DeviceBuffer(wf.size());
        TRTORCH_CUDA_CHECK(cudaMemcpy(dw_folded.get(), wf.data(), wf.size(), cudaMemcpyHostToDevice));
        t = DeviceBuffer(cutlass_conv::fold_bytes(q));
        cutlass_conv::Problem f = cutlass_conv::folded(q);
        f.x = t.get();
        f.w = dw_folded.get();
        f.bias = q.bias;
        f.residual = q.residual;
        f.y = q.y;
        EXPECT_EQ(f.sh, 1);
        EXPECT_EQ(f.S, 1);
        EXPECT_EQ(f.OH, q.OH);
        EXPECT_EQ(f.OW, q.OW);
        TRTORCH_CUDA_CHECK(cudaMemset(t.get(), 0xff, t.bytes()));  // every element of T must be written
        TRTORCH_CUDA_CHECK(cudaDeviceSynchronize());
        cutlass_conv::launch_fold(q, t.get(), ctx().stream());
        q = f;
      }
      ASSERT_TRUE(cutlass_conv::supported(q)) << cc.name;
      int ran = 0;
      for (int i = 0; i < cutlass_conv::kNumConfigs; ++i) {
        const auto config = cutlass_conv::Config(i);
        const bool gemm = std::string(cutlass_conv::config_name(config)).rfind("gemm_", 0) == 0;
        const bool can = cutlass_conv::can_implement(config, q, c.device(), sm);
        // The implicit GEMM configs take every case here; the GEMM ones exactly the 1x1 ones.
        EXPECT_EQ(can, !gemm || q.R == 1) << cc.name << " " << cutlass_conv::config_name(config);
        if (!can) continue;
        const size_t ws_bytes = cutlass_conv::workspace_bytes(config, q, c.device(), sm);
        DeviceBuffer ws(ws_bytes);
        TRTORCH_CUDA_CHECK(cudaMemsetAsync(p->dy.get(), 0xff, p->dy.bytes(), ctx().stream()));
        cutlass_conv::run(config, q, ws.get(), ws_bytes, c.device(), sm, ctx().stream());
        TRTORCH_CUDA_CHECK(cudaStreamSynchronize(ctx().stream()));
        const HostTensor y = nhwc_to_nchw(download(p->dy.get(), cfg.dtype, p->y_shape));
        const double err = rel_error(y, p->expected);
        EXPECT_LE(err, kernel_tolerance(cfg.dtype)) << cutlass_conv::problem_str(config, q);
        std::printf("[conv] every config%s: %-70s err=%.2e\n", fold ? " (folded)" : "",
                    cutlass_conv::problem_str(config, q).c_str(), err);
        ++ran;
      }
      EXPECT_GE(ran, 3) << cc.name;
    }
}

// The number that follows the first `needle` in `s` (NaN where there is none).
double number_after(const std::string& s, const std::string& needle) {
  const size_t at = s.find(needle);
  return at == std::string::npos ? std::nan("") : std::strtod(s.c_str() + at + needle.size(), nullptr);
}

// What the CUTLASS kernels do not take stays on cuDNN; their bad tactics are clear errors.
TEST(CudaConv, CutlassLimitsAndTactics) {
  const TacticOptions timing = test_timing();
  auto fits = [&](const ConvCase& c, Config cfg) {
    auto p = make_problem(c, cfg);
    const KernelArgs a = kernel_args(*p, nullptr, &timing);
    return conv::CutlassConv2d::fits(a, read_conv_node(a, "test"));
  };
  const ConvCase ok = with_act(conv("3x3 p1 16->16", 1, 16, 8, 16, 3, 1, 1), UnaryKind::kRelu);
  EXPECT_TRUE(fits(ok, kF16Nhwc));
  EXPECT_FALSE(fits(ok, kF16Nchw));   // NCHW
  EXPECT_FALSE(fits(ok, kF32Nhwc));   // FP32
  EXPECT_FALSE(fits(with_act(conv("3x3 p1 g2 16->16", 1, 16, 8, 16, 3, 1, 1, 1, 2), UnaryKind::kRelu), kF16Nhwc));
  EXPECT_FALSE(fits(with_act(conv("3x3 p1 12->16", 1, 12, 8, 16, 3, 1, 1), UnaryKind::kRelu), kF16Nhwc));
  EXPECT_FALSE(fits(with_act(conv("3x3 p1 16->20", 1, 16, 8, 20, 3, 1, 1), UnaryKind::kRelu), kF16Nhwc));
  EXPECT_FALSE(fits(with_act(ok, UnaryKind::kHardSwish), kF16Nhwc));  // no such fused activation
  ConvCase bias_input = ok;
  bias_input.bias_constant = false;
  EXPECT_FALSE(fits(bias_input, kF16Nhwc));
  // 4 channels: folded where the stride is at least 2 in both axes (the same) without dilation.
  const ConvCase stem = with_act(conv("7x7 s2 p3 4->64", 1, 4, 16, 64, 7, 2, 3), UnaryKind::kRelu);
  EXPECT_TRUE(fits(stem, kF16Nhwc));
  EXPECT_TRUE(fits(stem, kBf16Nhwc));
  EXPECT_FALSE(fits(with_act(conv("3x3 p1 4->64", 1, 4, 16, 64, 3, 1, 1), UnaryKind::kRelu), kF16Nhwc));
  EXPECT_FALSE(fits(with_act(conv("3x3 s2 d2 p2 4->64", 1, 4, 16, 64, 3, 2, 2, 2), UnaryKind::kRelu), kF16Nhwc));
  ConvCase stem_rect = stem;
  stem_rect.sw = 1;
  EXPECT_FALSE(fits(stem_rect, kF16Nhwc));
  EXPECT_FALSE(fits(with_act(conv("7x7 s2 p3 2->64", 1, 2, 16, 64, 7, 2, 3), UnaryKind::kRelu), kF16Nhwc));

  // A convolution it takes, raced against cuDNN by the build: either way the description says
  // what the other side's best time was.
  auto p = make_problem(ok, kF16Nhwc);
  auto raced = make_Conv2d(kernel_args(*p, nullptr, &timing));
  const std::string d = raced->describe();
  EXPECT_TRUE(d.find("[cuDNN's best") != std::string::npos || d.find("[CUTLASS's best") != std::string::npos) << d;
  EXPECT_LE(rel_error(run_kernel(*p, *raced), p->expected), kernel_tolerance(DType::kFloat16));
  std::printf("[conv] raced: %s\n", d.c_str());
  // conv_runtime_compilation "fallback": where CUTLASS takes the convolution, a cuDNN plan kept
  // instead compiled nothing at build.
  for (const ConvCase& c : {ok, with_residual(conv("1x1 64->128 fallback", 8, 64, 14, 128, 1, 1, 0))}) {
    TacticOptions fallback = timing;
    fallback.conv_runtime_compilation = ConvRuntimeCompilation::kFallback;
    auto pf = make_problem(c, kF16Nhwc);
    auto kf = make_Conv2d(kernel_args(*pf, nullptr, &fallback));
    const std::string df = kf->describe();
    if (df.rfind("cudnn", 0) == 0) EXPECT_NE(df.find(" 0 compiled at run time"), std::string::npos) << df;
    EXPECT_EQ(df.find("runtime-compiled configs tried"), std::string::npos) << df;
    EXPECT_LE(rel_error(run_kernel(*pf, *kf), pf->expected), kernel_tolerance(DType::kFloat16)) << df;
    std::printf("[conv] fallback: %s\n", df.c_str());
  }
  // "fallback" on small FP16 convolutions CUTLASS does not take (20 output channels; a sigmoid):
  // cuDNN's precompiled configs where they are within the margin, else all of its configs.
  for (const ConvCase& c : {with_act(conv("3x3 p1 16->20 fallback", 1, 16, 8, 20, 3, 1, 1), UnaryKind::kRelu),
                            with_act(conv("1x1 4->96 sigmoid fallback", 32, 4, 1, 96, 1, 1, 0), UnaryKind::kSigmoid)}) {
    TacticOptions fallback = timing;
    fallback.conv_runtime_compilation = ConvRuntimeCompilation::kFallback;
    auto pf = make_problem(c, kF16Nhwc);
    const KernelArgs af = kernel_args(*pf, nullptr, &fallback);
    ASSERT_FALSE(conv::CutlassConv2d::fits(af, read_conv_node(af, "test"))) << c.name;
    auto kf = make_Conv2d(af);
    const std::string df = kf->describe();
    // The rule, read back from the description: cuDNN's best precompiled config is kept without
    // trying the others where it takes at most 10 us more than the timing floor (a launch of next
    // to no work, timed the same way) or 2x the roofline; otherwise a runtime-compiled config
    // replaces it only at 95% of its time or less. (On an H100 these small problems measured 13
    // to 16 us, timed with their launch.)
    const double pre_only_ms = number_after(df, "[precompiled configs only: ");
    const double pre_ms = number_after(df, "[best precompiled config: ");
    const double roof_ms = number_after(df, " ms, roofline ");
    const double floor_ms = number_after(df, " ms, timing floor ");
    const bool compiled_nothing = df.find(" 0 compiled at run time") != std::string::npos;
    if (!std::isnan(pre_only_ms) || !std::isnan(pre_ms)) {
      EXPECT_GT(floor_ms, 0.0) << df;
      EXPECT_LT(floor_ms, 0.1) << df;  // a launch, not a convolution
    }
    if (!std::isnan(pre_only_ms)) {
      EXPECT_TRUE(pre_only_ms - floor_ms <= 0.01 || (roof_ms > 0 && pre_only_ms <= 2 * roof_ms)) << df;
      EXPECT_TRUE(compiled_nothing) << df;
    } else if (!std::isnan(pre_ms)) {
      EXPECT_TRUE(pre_ms - floor_ms > 0.01 && !(roof_ms > 0 && pre_ms <= 2 * roof_ms)) << df;
      const double compiled_ms = number_after(df, "runtime-compiled configs: ");
      if (!std::isnan(compiled_ms)) {  // the precompiled config kept
        EXPECT_GT(compiled_ms, 0.95 * pre_ms) << df;
        EXPECT_TRUE(compiled_nothing) << df;
      } else if (df.find("runtime-compiled configs failed") == std::string::npos) {  // a compiled one kept
        EXPECT_LE(number_after(df, "; kept: "), 0.95 * pre_ms) << df;
      }
    } else {
      EXPECT_NE(df.find("[no precompiled config"), std::string::npos) << df;
    }
    EXPECT_LE(rel_error(run_kernel(*pf, *kf), pf->expected), kernel_tolerance(DType::kFloat16)) << df;
    std::printf("[conv] fallback, not CUTLASS: %s\n", df.c_str());
  }

  conv::CutlassConv2d k(kernel_args(*p, nullptr, &timing));
  const std::string good = k.tactic();
  auto expect_error_on = [&](Problem& on, const std::string& tactic, const std::string& needle) {
    try {
      make_Conv2d(kernel_args(on, &tactic, nullptr));
      ADD_FAILURE() << "no error for tactic \"" << tactic << "\"";
    } catch (const trtorch::Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("cuda_conv_test: " + ok.name), std::string::npos) << msg;
      EXPECT_NE(msg.find(needle), std::string::npos) << "expected \"" << needle << "\" in: " << msg;
    }
  };
  auto expect_error = [&](const std::string& tactic, const std::string& needle) {
    expect_error_on(*p, tactic, needle);
  };
  auto replace = [&](const std::string& key, const std::string& value) {
    std::string t = good;
    const size_t at = t.find(";" + key + "=") + key.size() + 2;
    t.replace(at, t.find(';', at) == std::string::npos ? std::string::npos : t.find(';', at) - at, value);
    return t;
  };
  expect_error(replace("config", "256x256x256_9x9"), "unknown config");
  expect_error(replace("sig", "0123456789abcdef"), "another convolution");
  expect_error(replace("v", "7"), "format version");
  expect_error(replace("ws", "12345"), "differs from the recorded");
  expect_error("cutlass-conv;v=1;sig=0", "missing");
  // A fold on a convolution that does not fold (16 channels), and a stem's fold of the wrong factor.
  std::string folded_ok = good;
  folded_ok.insert(folded_ok.find(";ws="), ";fold=1");
  expect_error(folded_ok, "does not fold");
  {
    auto ps = make_problem(stem, kF16Nhwc);
    conv::CutlassConv2d ks(kernel_args(*ps, nullptr, &timing));
    const std::string st = ks.tactic();
    ASSERT_NE(st.find(";fold=2;"), std::string::npos) << st;
    std::string wrong = st;
    wrong.replace(wrong.find(";fold=2;"), 8, ";fold=3;");
    try {
      make_Conv2d(kernel_args(*ps, &wrong, nullptr));
      ADD_FAILURE() << "no error for tactic \"" << wrong << "\"";
    } catch (const trtorch::Error& e) {
      EXPECT_NE(std::string(e.what()).find("does not fold"), std::string::npos) << e.what();
    }
  }
  // A dynamic engine at a new shape keeps the config of its opt shape's tactic (no timing); without
  // KernelArgs::other_shape that tactic is another convolution's.
  ConvCase bigger = ok;
  bigger.N = 3;
  bigger.H = bigger.W = 20;
  auto q = make_problem(bigger, kF16Nhwc);
  expect_error_on(*q, good, "another convolution");
  KernelArgs other = kernel_args(*q, &good, nullptr);
  other.other_shape = true;
  auto adapted = make_Conv2d(other);
  EXPECT_NE(adapted->describe().find("another shape's tactic"), std::string::npos) << adapted->describe();
  EXPECT_LE(rel_error(run_kernel(*q, *adapted), q->expected), kernel_tolerance(DType::kFloat16));
  // A tactic for a problem the kernels do not take (NCHW) fails, naming why.
  auto nchw = make_problem(ok, kF16Nchw);
  try {
    make_Conv2d(kernel_args(*nchw, &good, nullptr));
    ADD_FAILURE() << "no error for a CUTLASS tactic on an NCHW convolution";
  } catch (const trtorch::Error& e) {
    EXPECT_NE(std::string(e.what()).find("do not take"), std::string::npos) << e.what();
  }
}

}  // namespace

int main(int argc, char** argv) {
  return gpu_main(argc, argv, [] {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess)
      std::printf("device 0: %s (sm_%d%d), cuDNN %zu\n", prop.name, prop.major, prop.minor, cudnnGetVersion());
  });
}
