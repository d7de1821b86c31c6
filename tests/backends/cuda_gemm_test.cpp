// CUDA backend: Linear and MatMul (cuBLASLt and, for Linear + GELU(erf), the CUTLASS kernels of
// gemm_cutlass.cu; gemm.cpp) against the reference backend.
//
// Torch-free: builds on the development machine and runs unchanged on the GPU machine. Without
// a GPU it prints a line and exits with 77 (ctest's SKIP_RETURN_CODE).
//
// The oracle graph is Linear (no epilogue fields) then a separate Unary node, so the check does
// not depend on the reference backend implementing the fused epilogue. The CUDA kernel is built
// from a node with the epilogue fields set, as the fuse_epilogues pass leaves it.
//
// Tolerances, on max|gpu - ref| / max|ref| (both sides read the same rounded inputs):
//  * FP32 without TF32: both accumulate in FP32 and differ only in summation order (and in the
//    last ulp of transcendental functions): ~1e-6 in practice; 1e-4 leaves room for K = 2048.
//  * FP32 with TF32: products of operands rounded to 10-bit mantissas (2^-11 relative each),
//    errors of random sign over K terms: 5e-3.
//  * FP16: one ulp is 2^-11 (4.9e-4) relative; the reference rounds after Linear and again after
//    Unary while a fused GPU epilogue rounds once, so 1-2 ulps differ; 1e-2 is ~20 ulps.
//  * BF16: one ulp is 2^-8 (3.9e-3) relative, same double-rounding argument: 3e-2.
#include <chrono>
#include <cmath>

#include "core/backends/cuda/gemm/gemm_cutlass.h"
#include "core/backends/cuda/common/kernel.h"
#include "tests/backends/cuda_test_util.h"

using namespace trtorch;
using namespace trtorch::ir;
using namespace trtorch::cuda_test;

namespace {

std::unique_ptr<cu::Context> g_ctx;

// FP32 with TF32 allowed: 5e-3; else kernel_tolerance().
double tolerance(DType t, bool tf32) { return t == DType::kFloat32 && tf32 ? 5e-3 : kernel_tolerance(t); }

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Builds the kernel (timing tactics), runs it, rebuilds it from its tactic and runs that too.
// `in` are the device inputs in node order; returns the first run's output.
struct Ran {
  HostTensor out;
  std::string tactic, describe;
  double build_ms = 0, load_ms = 0;
  float run_ms = 0;
};

HostTensor run_kernel(cu::Kernel& k, const std::vector<const void*>& in, DType dt, const Shape& out_shape,
                      cudaStream_t stream) {
  HostTensor out(dt, out_shape);
  cu::DeviceBuffer d(std::max<size_t>(out.nbytes(), 1)), scratch(k.scratch_bytes());
  // Poison the output so that a kernel that skips elements cannot pass.
  TRTORCH_CUDA_CHECK(cudaMemsetAsync(d.get(), 0x7f, out.nbytes(), stream));
  k.launch(in, {d.get()}, scratch.get(), stream);
  TRTORCH_CUDA_CHECK(cudaStreamSynchronize(stream));
  return download(d.get(), dt, out_shape);
}

using Factory = std::unique_ptr<cu::Kernel> (*)(const cu::KernelArgs&);

Ran build_and_run(Factory make, cu::KernelArgs args, const std::vector<const void*>& in, double tol) {
  Ran r;
  cudaStream_t s = g_ctx->stream();
  auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<cu::Kernel> k = make(args);
  r.build_ms = ms_since(t0);
  r.tactic = k->tactic();
  r.describe = k->describe();
  r.out = run_kernel(*k, in, args.outputs[0].dtype, args.outputs[0].shape, s);

  // Timing of the chosen kernel.
  cu::DeviceBuffer d(std::max<size_t>(args.outputs[0].bytes(), 1)), scratch(k->scratch_bytes());
  r.run_ms = cu::time_ms(*g_ctx, 3, 20, [&](cudaStream_t ts) { k->launch(in, {d.get()}, scratch.get(), ts); });

  // Load from the tactic: same choice, same numbers, no timing.
  args.tactic = &r.tactic;
  t0 = std::chrono::steady_clock::now();
  std::unique_ptr<cu::Kernel> k2 = make(args);
  r.load_ms = ms_since(t0);
  EXPECT_EQ(k2->tactic(), r.tactic) << "a kernel loaded from a tactic must report the same tactic";
  HostTensor again = run_kernel(*k2, in, args.outputs[0].dtype, args.outputs[0].shape, s);
  bool bitwise = again.same_content(r.out);
  double e2 = rel_error(again, r.out);
  EXPECT_LE(e2, tol) << "reloaded kernel disagrees with the built one";
  if (!bitwise) std::printf("    note: reloaded kernel output is not bitwise identical (rel %.3g)\n", e2);
  return r;
}

void report(const std::string& name, double err, double tol, const Ran& r) {
  std::printf("%-64s err %.2e (tol %.0e) %s | build %.1f ms, load %.2f ms, run %.4f ms\n    %s\n    tactic: %s\n",
              name.c_str(), err, tol, err <= tol ? "ok" : "FAIL", r.build_ms, r.load_ms, r.run_ms,
              r.describe.c_str(), r.tactic.c_str());
}

// ---------------------------------------------------------------------------------------------
// Linear

// Brace-initialized in field order: LinearCase{dt, x, n, bias, has_act, act, alpha, beta}.
struct LinearCase {
  DType dt = DType::kFloat32;
  Shape x;
  int64_t n = 1;
  bool bias = true;
  bool has_act = false;
  UnaryKind act = UnaryKind::kRelu;
  double alpha = 0, beta = 0;
  bool runtime_bias = false;    // bias is a graph input (read at launch), not a Constant
  bool runtime_weight = false;  // weight not given as a host constant (read at launch)
  bool tf32 = false;
  std::string tactic;  // when set, the kernel is loaded from it instead of timing candidates
  bool other_shape = false;  // `tactic` was chosen at another shape (KernelArgs::other_shape)

  std::string name() const {
    std::string s = std::string("linear ") + dtype_name(dt) + " x=" + shape_str(x) + " N=" + std::to_string(n);
    if (bias) s += runtime_bias ? " +bias(input)" : " +bias";
    if (has_act) s += std::string(" act=") + unary_kind_name(act);
    if (runtime_weight) s += " weight(input)";
    if (tf32) s += " tf32";
    if (!tactic.empty()) {
      const size_t at = tactic.find("config=");
      s += " forced: " + (at != std::string::npos ? tactic.substr(at) : tactic.substr(0, tactic.find(';')));
    }
    if (other_shape) s += " (chosen at another shape)";
    return s;
  }
};

void check_linear(const LinearCase& c) {
  SCOPED_TRACE(c.name());
  const int64_t K = c.x.back();
  HostTensor x = random_uniform(c.dt, c.x, 1);
  // Weights scaled by 1/sqrt(K) keep outputs O(1), where the activations are not trivial.
  HostTensor w = random_uniform(c.dt, {c.n, K}, 2, 1.0 / std::sqrt(double(std::max<int64_t>(K, 1))));
  HostTensor b = random_uniform(c.dt, {c.n}, 3, 0.5);

  // Oracle: Linear then Unary on the reference backend.
  Graph rg;
  Value* xv = rg.add_input(TensorType::fixed(c.dt, c.x), "x");
  std::vector<HostTensor> ref_inputs{x};
  std::vector<Value*> lin_in{xv, rg.add_constant(w)};
  if (c.bias) {
    if (c.runtime_bias) {
      lin_in.push_back(rg.add_input(TensorType::fixed(c.dt, {c.n}), "b"));
      ref_inputs.push_back(b);
    } else {
      lin_in.push_back(rg.add_constant(b));
    }
  }
  Value* y = rg.add_node(OpKind::Linear, LinearAttrs{}, lin_in)->outputs[0];
  if (c.has_act) y = rg.add_node(OpKind::Unary, UnaryAttrs{c.act, c.alpha, c.beta}, {y})->outputs[0];
  rg.mark_output(y);
  verify(rg);
  HostTensor expect = ref::run(rg, ref_inputs)[0];

  // The fused node the CUDA kernel is built from.
  Graph fg;
  std::vector<Value*> fin{fg.add_input(TensorType::fixed(c.dt, c.x), "x"),
                          fg.add_input(TensorType::fixed(c.dt, {c.n, K}), "w")};
  if (c.bias) fin.push_back(fg.add_input(TensorType::fixed(c.dt, {c.n}), "b"));
  LinearAttrs la;
  la.has_act = c.has_act;
  la.act = c.act;
  la.act_alpha = c.alpha;
  la.act_beta = c.beta;
  Node* node = fg.add_node(OpKind::Linear, la, fin, "test.py:10 " + c.name());

  cu::TacticOptions opt;
  opt.min_timing_iters = 2;
  opt.avg_timing_iters = 5;
  opt.allow_tf32 = c.tf32;
  cu::KernelArgs args{*g_ctx, *node, {}, {}, {}, c.tactic.empty() ? nullptr : &c.tactic, &opt};
  args.other_shape = c.other_shape;
  args.inputs = {{c.dt, c.x}, {c.dt, {c.n, K}}};
  args.constants = {nullptr, c.runtime_weight ? nullptr : &w};
  if (c.bias) {
    args.inputs.push_back({c.dt, {c.n}});
    args.constants.push_back(c.runtime_bias ? nullptr : &b);
  }
  args.outputs = {{c.dt, node->outputs[0]->type.static_shape()}};

  // Device copies of every input, as the executor would pass them (constants too).
  cu::DeviceBuffer dx = upload(x), dw = upload(w), db = upload(b);
  std::vector<const void*> in{dx.get(), dw.get()};
  if (c.bias) in.push_back(db.get());

  const double tol = tolerance(c.dt, c.tf32);
  Ran r = build_and_run(&cu::make_Linear, args, in, tol);
  double err = rel_error(r.out, expect);
  report(c.name(), err, tol, r);
  EXPECT_LE(err, tol);
  if (c.tf32) EXPECT_NE(r.tactic.find("compute=tf32"), std::string::npos);
  if (c.dt == DType::kFloat32 && !c.tf32) EXPECT_NE(r.tactic.find("compute=32f"), std::string::npos);
  if (!c.tactic.empty() && c.other_shape) {
    // The same algorithm or config, now for this node's shape.
    EXPECT_NE(r.tactic, c.tactic);
    const std::string kept = c.tactic.find("config=") != std::string::npos ? "config=" : "algo=";
    EXPECT_EQ(r.tactic.substr(r.tactic.find(kept)), c.tactic.substr(c.tactic.find(kept))) << r.tactic;
  } else if (!c.tactic.empty()) {
    EXPECT_EQ(r.tactic, c.tactic) << "a kernel loaded from a tactic must report it";
    EXPECT_EQ(r.describe.rfind(c.tactic.substr(0, c.tactic.find('.')), 0), 0u) << r.describe;
  }
}

const DType kDTypes[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16};

TEST(CudaGemm, LinearShapes) {
  const std::pair<Shape, int64_t> shapes[] = {
      {{1, 2048}, 1000},     // ResNet-50 fc, batch 1
      {{32, 2048}, 1000},    // ResNet-50 fc, batch 32
      {{4, 128, 768}, 3072}, // BERT FFN up-projection
      {{3, 17}, 5},          // odd sizes: unaligned leading dims
      {{2, 3, 7, 33}, 9},    // rank 4, odd
      {{17}, 6},             // rank 1
  };
  for (DType dt : kDTypes)
    for (const auto& [x, n] : shapes)
      for (bool bias : {true, false}) check_linear(LinearCase{dt, x, n, bias});
}

TEST(CudaGemm, LinearActivations) {
  struct Act {
    UnaryKind k;
    double alpha, beta;
  };
  const Act acts[] = {{UnaryKind::kRelu, 0, 0},      {UnaryKind::kGeluErf, 0, 0},   {UnaryKind::kGeluTanh, 0, 0},
                      {UnaryKind::kSilu, 0, 0},      {UnaryKind::kClamp, -0.5, 0.5}, {UnaryKind::kClamp, 0, 6},
                      {UnaryKind::kLeakyRelu, 0.1, 0}, {UnaryKind::kHardSwish, 0, 0}, {UnaryKind::kElu, 1.0, 0},
                      {UnaryKind::kSigmoid, 0, 0},   {UnaryKind::kTanh, 0, 0}};
  for (DType dt : kDTypes)
    for (const Act& a : acts)
      for (bool bias : {true, false})
        for (const auto& [x, n] : {std::pair<Shape, int64_t>{{32, 256}, 200}, {{3, 17}, 5}})
          check_linear(LinearCase{dt, x, n, bias, true, a.k, a.alpha, a.beta});
}

TEST(CudaGemm, LinearBertFfn) {
  for (DType dt : {DType::kFloat16, DType::kBFloat16})
    for (UnaryKind k : {UnaryKind::kGeluErf, UnaryKind::kGeluTanh, UnaryKind::kRelu})
      check_linear(LinearCase{dt, {4, 128, 768}, 3072, true, true, k});
}

TEST(CudaGemm, LinearRuntimeOperands) {
  for (DType dt : kDTypes)
    for (UnaryKind k : {UnaryKind::kRelu, UnaryKind::kGeluErf}) {
      LinearCase c{dt, {32, 2048}, 1000, true, true, k};
      c.runtime_bias = true;
      check_linear(c);
      c.runtime_weight = true;
      check_linear(c);
    }
}

TEST(CudaGemm, LinearTf32) {
  LinearCase c;
  c.dt = DType::kFloat32;
  c.x = {32, 2048};
  c.n = 1000;
  c.tf32 = true;
  check_linear(c);
}

// ---------------------------------------------------------------------------------------------
// Linear + bias + GELU(erf): cuBLASLt (BIAS epilogue, then the post kernel) or one CUTLASS kernel
// (gemm_cutlass.cu), whichever times faster.

namespace cg = cu::cutlass_gemm;

const std::pair<Shape, int64_t> kGeluShapes[] = {
    {{2, 128, 768}, 3072},  // BERT-base FFN-1: M = 256, N = 3072, K = 768
    {{3, 37, 136}, 200},    // odd M = 111; N and K multiples of 8 but not of any tile
};

TEST(CudaGemm, LinearGeluErfTimed) {
  for (DType dt : {DType::kFloat16, DType::kBFloat16})
    for (const auto& [x, n] : kGeluShapes)
      for (bool bias : {true, false}) check_linear(LinearCase{dt, x, n, bias, true, UnaryKind::kGeluErf});
}

// A hand-written cutlass.v1 tactic for Linear(x, [n, K] weight) + GELU(erf) with config `c`.
std::string cutlass_tactic(DType dt, const Shape& x, int64_t n, cg::Config c) {
  const int64_t K = x.back(), M = numel_of(x) / K;
  const size_t ws = cg::workspace_bytes(c, dt, M, n, K, g_ctx->props().multiProcessorCount);
  return str_cat("cutlass.v1;dtype=", dt == DType::kFloat16 ? "f16" : "bf16", ";M=", M, ";N=", n, ";K=", K,
                 ";act=gelu_erf;config=", cg::config_name(c), ";ws=", ws);
}

// Every CUTLASS config, loaded from its tactic: runs even where cuBLASLt would win the timing.
TEST(CudaGemm, LinearGeluErfCutlassForced) {
  for (DType dt : {DType::kFloat16, DType::kBFloat16}) {
    for (int i = 0; i < cg::kNumConfigs; ++i)
      for (const auto& [x, n] : kGeluShapes) {
        LinearCase c{dt, x, n, true, true, UnaryKind::kGeluErf};
        c.tactic = cutlass_tactic(dt, x, n, cg::Config(i));
        check_linear(c);
      }
    // No bias; then weight and bias read from the inputs at launch.
    const auto& [x, n] = kGeluShapes[1];
    LinearCase c{dt, x, n, false, true, UnaryKind::kGeluErf};
    c.tactic = cutlass_tactic(dt, x, n, cg::Config::k64x128x64Pingpong);
    check_linear(c);
    c.bias = c.runtime_bias = c.runtime_weight = true;
    check_linear(c);
  }
}

// The tactic a build times for Linear(x, [n, K] weight) + bias + act.
std::string timed_linear_tactic(DType dt, const Shape& x, int64_t n, UnaryKind act) {
  const int64_t K = x.back();
  HostTensor w = random_uniform(dt, {n, K}, 51), b = random_uniform(dt, {n}, 52);
  Graph g;
  LinearAttrs la;
  la.has_act = true;
  la.act = act;
  Shape y = x;
  y.back() = n;
  Node* node = g.add_node(OpKind::Linear, la,
                          {g.add_input(TensorType::fixed(dt, x), "x"), g.add_input(TensorType::fixed(dt, {n, K}), "w"),
                           g.add_input(TensorType::fixed(dt, {n}), "b")},
                          "test.py:20 opt-shape linear");
  cu::TacticOptions opt;
  opt.min_timing_iters = 1;
  opt.avg_timing_iters = 2;
  cu::KernelArgs args{*g_ctx, *node, {{dt, x}, {dt, {n, K}}, {dt, {n}}}, {{dt, y}}, {nullptr, &w, &b}, nullptr, &opt};
  return cu::make_Linear(args)->tactic();
}

// A dynamic engine at a new shape keeps the cuBLASLt algorithm or the CUTLASS config of its opt
// shape's tactic where it takes the new shape (KernelArgs::other_shape), checked against the
// reference backend at that shape. Without other_shape such a tactic does not fit (BadTactics).
TEST(CudaGemm, TacticAtAnotherShape) {
  // Opt M = 40, run at M = 24 (a smaller batch: the workspace the tactic grants covers it).
  for (DType dt : {DType::kFloat32, DType::kFloat16}) {
    LinearCase c{dt, {24, 96}, 64, true, true, UnaryKind::kRelu};
    c.tactic = timed_linear_tactic(dt, {40, 96}, 64, UnaryKind::kRelu);
    ASSERT_EQ(c.tactic.rfind("cublasLt", 0), 0u) << c.tactic;
    c.other_shape = true;
    check_linear(c);
  }
  LinearCase g{DType::kFloat16, {24, 64}, 128, true, true, UnaryKind::kGeluErf};
  g.tactic = cutlass_tactic(DType::kFloat16, {40, 64}, 128, cg::Config::k128x128x64Coop);
  g.other_shape = true;
  check_linear(g);
}

// ---------------------------------------------------------------------------------------------
// MatMul

void check_matmul(DType dt, const Shape& as, const Shape& bs) {
  const std::string name = std::string("matmul ") + dtype_name(dt) + " " + shape_str(as) + " @ " + shape_str(bs);
  SCOPED_TRACE(name);
  HostTensor a = random_uniform(dt, as, 11), b = random_uniform(dt, bs, 12);
  Graph g;
  Node* node = g.add_node(OpKind::MatMul, MatMulAttrs{},
                          {g.add_input(TensorType::fixed(dt, as), "a"), g.add_input(TensorType::fixed(dt, bs), "b")},
                          "test.py:20 " + name);
  g.mark_output(node->outputs[0]);
  verify(g);
  HostTensor expect = ref::run(g, {a, b})[0];

  cu::TacticOptions opt;
  opt.avg_timing_iters = 5;
  cu::KernelArgs args{*g_ctx, *node, {{dt, as}, {dt, bs}}, {{dt, node->outputs[0]->type.static_shape()}},
                      {nullptr, nullptr}, nullptr, &opt};
  cu::DeviceBuffer da = upload(a), db = upload(b);
  const double tol = tolerance(dt, false);
  Ran r = build_and_run(&cu::make_MatMul, args, {da.get(), db.get()}, tol);
  double err = rel_error(r.out, expect);
  report(name, err, tol, r);
  EXPECT_LE(err, tol);
}

TEST(CudaGemm, MatMul) {
  const std::pair<Shape, Shape> cases[] = {
      {{2, 3, 5}, {5, 4}},                   // second operand broadcast: folds into one GEMM
      {{8, 12, 128, 64}, {8, 12, 64, 128}},  // attention scores: one strided-batched call
      {{2, 1, 4, 6}, {3, 6, 5}},             // both broadcast: loop of strided-batched calls
      {{3, 4}, {2, 4, 5}},                   // first operand broadcast (batch stride 0)
      {{2, 3, 4, 5}, {3, 5, 6}},             // second operand broadcast over the leading dim
      {{6, 7}, {7, 3}},                      // plain 2-D, odd sizes
      {{8, 12, 128, 128}, {8, 12, 128, 64}}, // attention context
  };
  for (DType dt : kDTypes)
    for (const auto& [as, bs] : cases) check_matmul(dt, as, bs);
}

// ---------------------------------------------------------------------------------------------
// Capture, tactics and errors

// launch() must be capturable into a CUDA graph (no synchronization, no allocation). `tactic`
// null: the timed choice.
void check_capture(const std::string* tactic) {
  const DType dt = DType::kFloat16;
  HostTensor x = random_uniform(dt, {64, 512}, 21), w = random_uniform(dt, {384, 512}, 22, 0.05),
             b = random_uniform(dt, {384}, 23);
  Graph g;
  LinearAttrs la;
  la.has_act = true;
  la.act = UnaryKind::kGeluErf;  // cuBLASLt then the post kernel, or CUTLASS
  Node* node = g.add_node(OpKind::Linear, la,
                          {g.add_input(TensorType::fixed(dt, {64, 512}), "x"),
                           g.add_input(TensorType::fixed(dt, {384, 512}), "w"),
                           g.add_input(TensorType::fixed(dt, {384}), "b")},
                          "test.py:30 capture");
  cu::KernelArgs args{*g_ctx, *node, {{dt, {64, 512}}, {dt, {384, 512}}, {dt, {384}}}, {{dt, {64, 384}}},
                      {nullptr, &w, &b}, tactic, nullptr};
  auto k = cu::make_Linear(args);
  cu::DeviceBuffer dx = upload(x), dw = upload(w), db = upload(b);
  std::vector<const void*> in{dx.get(), dw.get(), db.get()};
  cudaStream_t s = g_ctx->stream();
  HostTensor direct = run_kernel(*k, in, dt, {64, 384}, s);

  cu::DeviceBuffer out(64 * 384 * 2), scratch(k->scratch_bytes());
  TRTORCH_CUDA_CHECK(cudaMemsetAsync(out.get(), 0, out.bytes(), s));
  TRTORCH_CUDA_CHECK(cudaStreamSynchronize(s));
  cudaGraph_t graph;
  TRTORCH_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  k->launch(in, {out.get()}, scratch.get(), s);
  TRTORCH_CUDA_CHECK(cudaStreamEndCapture(s, &graph));
  cudaGraphExec_t exec;
  TRTORCH_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  TRTORCH_CUDA_CHECK(cudaGraphLaunch(exec, s));
  TRTORCH_CUDA_CHECK(cudaStreamSynchronize(s));
  HostTensor replay = download(out.get(), dt, {64, 384});
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  EXPECT_TRUE(replay.same_content(direct)) << "graph replay differs by " << rel_error(replay, direct);
  std::printf("graph capture: %s\n", k->describe().c_str());
}

TEST(CudaGemm, GraphCapture) {
  check_capture(nullptr);
  const std::string forced = cutlass_tactic(DType::kFloat16, {64, 512}, 384, cg::Config::k128x128x64Coop);
  check_capture(&forced);
}

// make(args) with `tactic` must throw an error that names the node (`source`) and contains
// `fragment`.
void expect_tactic_error(Factory make, cu::KernelArgs args, const std::string& tactic, const std::string& source,
                         const std::string& fragment) {
  args.tactic = &tactic;
  try {
    make(args);
    ADD_FAILURE() << "tactic '" << tactic << "' was accepted";
  } catch (const Error& e) {
    std::string msg = e.what();
    std::printf("bad tactic -> %s\n", msg.c_str());
    EXPECT_NE(msg.find(source), std::string::npos) << "error must name the node: " << msg;
    EXPECT_NE(msg.find(fragment), std::string::npos) << "expected '" << fragment << "' in: " << msg;
  }
}

// `tactic` with field `key` set to `value`.
std::string replace_field(const std::string& tactic, const std::string& key, const std::string& value) {
  size_t p = tactic.find(";" + key + "=");
  size_t e = tactic.find(';', p + 1);
  return tactic.substr(0, p) + ";" + key + "=" + value + (e == std::string::npos ? "" : tactic.substr(e));
}

TEST(CudaGemm, BadTactics) {
  const DType dt = DType::kFloat16;
  HostTensor w = random_uniform(dt, {64, 32}, 31), b = random_uniform(dt, {64}, 32);
  Graph g;
  LinearAttrs la;
  la.has_act = true;
  la.act = UnaryKind::kRelu;
  const std::string source = "model.py:42 fc";
  Node* node = g.add_node(OpKind::Linear, la,
                          {g.add_input(TensorType::fixed(dt, {8, 32}), "x"),
                           g.add_input(TensorType::fixed(dt, {64, 32}), "w"),
                           g.add_input(TensorType::fixed(dt, {64}), "b")},
                          source);
  cu::KernelArgs args{*g_ctx, *node, {{dt, {8, 32}}, {dt, {64, 32}}, {dt, {64}}}, {{dt, {8, 64}}},
                      {nullptr, &w, &b}, nullptr, nullptr};
  const std::string good = cu::make_Linear(args)->tactic();
  ASSERT_FALSE(good.empty());

  auto expect_error = [&](const std::string& tactic, const std::string& fragment) {
    expect_tactic_error(&cu::make_Linear, args, tactic, source, fragment);
  };
  expect_error("garbage", "cannot read GEMM tactic");
  expect_error("", "cannot read GEMM tactic");
  expect_error(good.substr(0, good.size() / 2), "cannot read GEMM tactic");
  expect_error(replace_field(good, "algo", "zz"), "cannot read GEMM tactic");
  expect_error(replace_field(good, "rows", "65"), "does not fit");
  expect_error(replace_field(good, "dtype", "bf16"), "does not fit");
  expect_error(replace_field(good, "epi", "gelu_tanh"), "does not fit");
  expect_error(replace_field(good, "compute", "tf32"), "does not fit");
  expect_error(replace_field(good, "lib", "1"), "rebuild the engine");
  std::string ones;
  for (int i = 0; i < 8; ++i) ones += (i ? "." : "") + std::string(16, 'f');
  expect_error(replace_field(good, "algo", ones), "does not fit");
  // A CUTLASS tactic on a node whose activation is ReLU.
  expect_error(cutlass_tactic(dt, {8, 32}, 64, cg::Config::k128x128x64Coop), "CUTLASS kernels run only");
}

TEST(CudaGemm, BadCutlassTactics) {
  const DType dt = DType::kFloat16;
  const std::string source = "model.py:51 ffn";
  // Linear x [8, 32] -> [8, n] with GELU(erf); the weight is a host constant.
  HostTensor w64 = random_uniform(dt, {64, 32}, 41), w60 = random_uniform(dt, {60, 32}, 42);
  Graph g;
  LinearAttrs la;
  la.has_act = true;
  la.act = UnaryKind::kGeluErf;
  auto linear_args = [&](const HostTensor& w) {
    const int64_t n = w.shape[0];
    Node* node = g.add_node(OpKind::Linear, la,
                            {g.add_input(TensorType::fixed(dt, {8, 32}), "x"),
                             g.add_input(TensorType::fixed(dt, {n, 32}), "w")},
                            source);
    return cu::KernelArgs{*g_ctx, *node, {{dt, {8, 32}}, {dt, {n, 32}}}, {{dt, {8, n}}}, {nullptr, &w}, nullptr,
                          nullptr};
  };
  cu::KernelArgs args = linear_args(w64);
  const std::string good = cutlass_tactic(dt, {8, 32}, 64, cg::Config::k128x128x64Coop);
  args.tactic = &good;
  EXPECT_EQ(cu::make_Linear(args)->tactic(), good);

  const std::pair<std::string, std::string> bad[] = {
      {"cutlass.v1", "field dtype is missing"},
      {"cutlass.v2;dtype=f16", "starts with neither 'cublasLt.v1' nor 'cutlass.v1'"},
      {good + ";extra=1", "unknown fields"},
      {good + ";ws=0", "appears twice"},
      {replace_field(good, "K", "3x"), "field K='3x' is not a number"},
      {replace_field(good, "config", "256x256x256"), "unknown CUTLASS config '256x256x256'"},
      {replace_field(good, "act", "gelu_tanh"), "unknown activation 'gelu_tanh'"},
      {replace_field(good, "dtype", "f64"), "unknown dtype 'f64'"},
      {replace_field(good, "M", "9"), "does not fit this node: it is for M=9"},
      {replace_field(good, "dtype", "bf16"), "does not fit this node: it is for bf16"},
      {replace_field(good, "dtype", "f32"), "does not fit this node: it is for f32"},
  };
  for (const auto& [tactic, fragment] : bad) expect_tactic_error(&cu::make_Linear, args, tactic, source, fragment);
  const size_t need = cg::workspace_bytes(cg::Config::k128x128x64Coop, dt, 8, 64, 32,
                                          g_ctx->props().multiProcessorCount);
  if (need > 0)  // a kernel with a workspace: the tactic must grant all of it
    expect_tactic_error(&cu::make_Linear, args, replace_field(good, "ws", std::to_string(need - 1)), source,
                        "bytes of workspace");

  // N = 60 is not a multiple of 8: never a CUTLASS candidate, and a tactic for it is refused.
  const cu::KernelArgs args60 = linear_args(w60);
  expect_tactic_error(&cu::make_Linear, args60, replace_field(good, "N", "60"), source, "do not support this problem");
  EXPECT_EQ(cu::make_Linear(args60)->tactic().rfind("cublasLt.v1", 0), 0u);

  // A MatMul node is never run by CUTLASS.
  Node* mm = g.add_node(OpKind::MatMul, MatMulAttrs{},
                        {g.add_input(TensorType::fixed(dt, {8, 32}), "a"),
                         g.add_input(TensorType::fixed(dt, {32, 64}), "b")},
                        source);
  cu::KernelArgs mm_args{*g_ctx, *mm, {{dt, {8, 32}}, {dt, {32, 64}}}, {{dt, {8, 64}}}, {nullptr, nullptr}, nullptr,
                         nullptr};
  expect_tactic_error(&cu::make_MatMul, mm_args, good, source, "CUTLASS kernels run only a Linear");
}

TEST(CudaGemm, UnsupportedDtypeIsAnError) {
  // An int32 Linear cannot come out of shape inference; a kernel asked for one must still refuse.
  Graph g;
  Node* node = g.add_node(OpKind::Linear, LinearAttrs{},
                          {g.add_input(TensorType::fixed(DType::kFloat32, {2, 4}), "x"),
                           g.add_input(TensorType::fixed(DType::kFloat32, {3, 4}), "w")},
                          "model.py:7 int fc");
  cu::KernelArgs args{*g_ctx, *node, {{DType::kInt32, {2, 4}}, {DType::kInt32, {3, 4}}}, {{DType::kInt32, {2, 3}}},
                      {nullptr, nullptr}, nullptr, nullptr};
  try {
    cu::make_Linear(args);
    ADD_FAILURE() << "int32 Linear was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.py:7"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("dtype i32"), std::string::npos) << e.what();
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int rc = gpu_main(argc, argv, [] {
    g_ctx = std::make_unique<cu::Context>(0);
    std::printf("device: %s (sm_%d%d), cuBLASLt %zu\n", g_ctx->props().name, g_ctx->props().major,
                g_ctx->props().minor, cublasLtGetVersion());
  });
  g_ctx.reset();
  return rc;
}
