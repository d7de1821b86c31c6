// CUDA backend elementwise kernels (core/backends/cuda/elementwise.cu) against the reference
// backend: Binary with numpy broadcasting, row-major and channels-last, every BinaryKind, FP32 /
// FP16 / BF16 / int32 / int64; and BatchNorm (the per-channel affine kernel).
//
// Plain cases (every BinaryKind on broadcast shapes, NaN in max / min, integer Binary, row-major
// BatchNorm) are rows of the op-test table (tests/ops/op_rows_more.cpp, op_table_cuda_test).
// Two kinds of cases here:
//  - engines, built through plan::build_engine and run like cuda_backend_test: channels-last
//    activations come out of FP16/BF16 convolutions, so the executor picks the layouts;
//  - kernels made directly from KernelArgs, where the test chooses every operand's layout and
//    pointer alignment (the misaligned fallbacks), checks describe() (the coalesced rank and
//    vector width), and runs the EfficientNet-B0 squeeze-excitation scale at full size.
//
// Torch-free; needs a GPU. Without one it prints a line and exits 77 (ctest: skipped).
#include <cmath>
#include <cstring>
#include <random>

#include "core/backends/cuda/common/kernel.h"
#include "tests/backends/cuda_test_util.h"

using namespace trtorch;
using namespace trtorch::ir;
using namespace trtorch::cuda_test;

namespace {

// ---------------------------------------------------------------------------------------------
// Host helpers

bool is_int(DType t) { return t == DType::kInt32 || t == DType::kInt64; }

// Floats: N(0, 1), or uniform in [0.5, 2] when `positive` (div, pow). Integers: uniform in
// [-50, 50], or [1, 50].
HostTensor random_input(DType t, const Shape& shape, uint32_t seed, bool positive = false) {
  if (!is_int(t) && !positive) return random_tensor(t, shape, seed);
  std::mt19937 rng(seed);
  HostTensor h(t, shape);
  if (is_int(t)) {
    std::uniform_int_distribution<int> d(positive ? 1 : -50, 50);
    for (int64_t i = 0; i < h.numel(); ++i) h.set(i, double(d(rng)));
  } else {
    std::uniform_real_distribution<float> d(0.5f, 2.0f);
    for (int64_t i = 0; i < h.numel(); ++i) h.set(i, d(rng));
  }
  return h;
}

HostTensor to_physical(const HostTensor& t, cu::Layout l) { return l == cu::Layout::kNHWC ? relayout(t, true) : t; }
HostTensor from_physical(const HostTensor& t, cu::Layout l) { return l == cu::Layout::kNHWC ? relayout(t, false) : t; }

// ---------------------------------------------------------------------------------------------
// Engines (the executor chooses layouts), as in cuda_backend_test

using GraphFn = std::function<std::unique_ptr<Graph>(DType)>;
using InputsFn = std::function<std::vector<HostTensor>(DType)>;

// check() with a poisoned workspace and outputs before each of the two runs.
void check_engine(const std::string& name, const GraphFn& make_graph, const InputsFn& make_inputs, DType dt) {
  CheckOptions opt;
  opt.poison_every_run = true;
  opt.tag = "engine";
  check(name, make_graph, make_inputs, dt, opt);
}

InputsFn inputs_of(std::vector<Shape> shapes, bool positive = false) {
  return [shapes, positive](DType dt) {
    std::vector<HostTensor> r;
    uint32_t seed = 17;
    for (const auto& s : shapes) r.push_back(random_input(dt, s, seed++, positive));
    return r;
  };
}

// One Binary node on two engine inputs (row-major: engine inputs are NCHW).
GraphFn binary_graph(Shape a, Shape b, BinaryKind k) {
  return [=](DType t) {
    auto g = std::make_unique<Graph>();
    Value* x = g->add_input(TensorType::fixed(t, a), "a");
    Value* y = g->add_input(TensorType::fixed(t, b), "b");
    g->mark_output(g->add_node(OpKind::Binary, BinaryAttrs{k}, {x, y})->outputs[0]);
    return g;
  };
}

// A 1x1 convolution [N, Cin, H, W] -> [N, C, H, W] (channels-last in FP16/BF16), then `make`
// on its output. The convolution's input is the engine's first input; `make` adds the others.
Value* conv1x1(Graph& g, Value* x, int64_t C, uint32_t seed) {
  const int64_t Cin = x->type.static_shape()[1];
  const DType t = x->type.dtype;
  HostTensor w = random_input(DType::kFloat32, {C, Cin, 1, 1}, seed);
  HostTensor b = random_input(DType::kFloat32, {C}, seed + 1);
  for (int64_t i = 0; i < w.numel(); ++i) w.set(i, w.get(i) / std::sqrt(double(Cin)));
  return g.add_node(OpKind::Conv2d, Conv2dAttrs{}, {x, g.add_constant(w.to(t)), g.add_constant(b.to(t))})->outputs[0];
}

// conv1x1(x) op other (or other op conv1x1(x) when `other_first`), other an engine input.
GraphFn conv_binary_graph(Shape x_shape, int64_t C, Shape other, BinaryKind k, bool other_first = false) {
  return [=](DType t) {
    auto g = std::make_unique<Graph>();
    Value* x = g->add_input(TensorType::fixed(t, x_shape), "x");
    Value* s = g->add_input(TensorType::fixed(t, other), "s");
    Value* y = conv1x1(*g, x, C, 5);
    std::vector<Value*> ins = other_first ? std::vector<Value*>{s, y} : std::vector<Value*>{y, s};
    g->mark_output(g->add_node(OpKind::Binary, BinaryAttrs{k}, ins)->outputs[0]);
    return g;
  };
}

class CudaElementwise : public ::testing::TestWithParam<DType> {};

// Row-major broadcasting: every pattern of the coalescer, ranks 1 to 6, innermost sizes that are
// and are not multiples of the vector widths, scalars on either side.
TEST_P(CudaElementwise, BinaryRowMajor) {
  const DType dt = GetParam();
  struct Case {
    Shape a, b;
    BinaryKind k;
  };
  const std::vector<Case> cases = {
      {{4, 24, 7, 7}, {4, 24, 1, 1}, BinaryKind::kMul},  // x * [N,C,1,1], H*W odd
      {{2, 16, 8, 8}, {2, 16, 1, 1}, BinaryKind::kMul},  // x * [N,C,1,1], H*W = 64
      {{8, 64, 28, 28}, {8, 64, 1, 1}, BinaryKind::kMul},
      {{2, 24, 5, 6}, {24, 1, 1}, BinaryKind::kAdd},     // x + [C,1,1]
      {{2, 12, 6, 8}, {1, 1, 6, 8}, BinaryKind::kMul},   // x * [1,1,H,W]
      {{2, 12, 5, 7}, {1, 1, 5, 7}, BinaryKind::kMul},
      {{2, 1, 6, 8}, {2, 5, 1, 1}, BinaryKind::kMul},    // both sides broadcast
      {{2, 5, 1, 1}, {2, 1, 6, 8}, BinaryKind::kSub},
      {{3, 1, 5, 7}, {3, 6, 1, 1}, BinaryKind::kMul},
      {{1, 4, 1, 16}, {3, 1, 8, 1}, BinaryKind::kAdd},   // both broadcast, inner stride 1 vs 0
      {{3, 5, 7}, {1}, BinaryKind::kAdd},                // scalars
      {{1}, {4, 9}, BinaryKind::kSub},
      {{1}, {4, 16}, BinaryKind::kSub},
      {{1}, {1}, BinaryKind::kMul},
      {{37}, {37}, BinaryKind::kAdd},                    // rank 1, with a tail
      {{1000}, {1000}, BinaryKind::kMul},
      {{1}, {1003}, BinaryKind::kMax},
      {{5}, {1}, BinaryKind::kMin},
      {{6, 1}, {1, 10}, BinaryKind::kAdd},               // rank 2: outer product
      {{6, 1}, {1, 16}, BinaryKind::kAdd},
      {{4, 16}, {16}, BinaryKind::kAdd},                 // innermost 16, 12, 10, 7
      {{4, 12}, {12}, BinaryKind::kAdd},
      {{4, 10}, {10}, BinaryKind::kAdd},
      {{4, 7}, {7}, BinaryKind::kAdd},
      {{5, 8}, {5, 1}, BinaryKind::kSub},                // column broadcast
      {{3, 1, 5}, {4, 5}, BinaryKind::kMul},             // rank 3
      {{3, 4, 8}, {3, 1, 8}, BinaryKind::kMul},
      {{2, 3, 4, 5}, {3, 1, 5}, BinaryKind::kSub},       // rank 4
      {{2, 3, 2, 4, 6}, {3, 1, 4, 1}, BinaryKind::kMax}, // rank 5
      {{2, 1, 3, 1, 5}, {1, 4, 1, 6, 1}, BinaryKind::kAdd},    // coalesced rank 5 (generic)
      {{2, 1, 3, 1, 16}, {1, 4, 1, 6, 16}, BinaryKind::kMul},  // coalesced rank 5, vectors
      {{2, 1, 3, 1, 2, 1}, {1, 3, 1, 2, 1, 4}, BinaryKind::kMin},  // coalesced rank 6
      {{2, 3, 5, 7}, {2, 3, 5, 7}, BinaryKind::kMul},    // same shape
      {{3, 40, 40}, {3, 40, 40}, BinaryKind::kSub},
  };
  for (const Case& c : cases) {
    std::string name = str_cat("binary ", binary_kind_name(c.k), " ", shape_str(c.a), " ", shape_str(c.b));
    check_engine(name, binary_graph(c.a, c.b, c.k), inputs_of({c.a, c.b}), dt);
  }
}

// Channels-last activations (FP16/BF16 conv outputs; FP32 runs the same graphs in NCHW).
TEST_P(CudaElementwise, BinaryAfterConv) {
  const DType dt = GetParam();
  struct Case {
    std::string name;
    int64_t N, C, H, W;
    Shape other;
    BinaryKind k;
    bool other_first;
  };
  const std::vector<Case> cases = {
      {"x*[N,C,1,1] C24", 2, 24, 6, 6, {2, 24, 1, 1}, BinaryKind::kMul, false},  // squeeze-excitation scale
      {"x*[N,C,1,1] C12", 2, 12, 6, 6, {2, 12, 1, 1}, BinaryKind::kMul, false},
      {"x*[N,C,1,1] C20", 2, 20, 5, 5, {2, 20, 1, 1}, BinaryKind::kMul, false},
      {"x*[N,C,1,1] C10", 2, 10, 5, 5, {2, 10, 1, 1}, BinaryKind::kMul, false},
      {"x*[N,C,1,1] C7", 2, 7, 5, 5, {2, 7, 1, 1}, BinaryKind::kMul, false},
      {"x*[N,C,1,1] C144 14x14", 4, 144, 14, 14, {4, 144, 1, 1}, BinaryKind::kMul, false},
      {"[N,C,1,1]*x C24", 2, 24, 6, 6, {2, 24, 1, 1}, BinaryKind::kMul, true},
      {"x/[N,C,1,1] C16", 2, 16, 3, 3, {2, 16, 1, 1}, BinaryKind::kDiv, false},  // divisor in [0.5, 2]
      {"x+[C,1,1] C24", 2, 24, 6, 6, {24, 1, 1}, BinaryKind::kAdd, false},
      {"x+[C,1,1] C7", 2, 7, 6, 6, {7, 1, 1}, BinaryKind::kAdd, false},
      {"x-[1,C,1,1] C32", 3, 32, 4, 4, {1, 32, 1, 1}, BinaryKind::kSub, false},
      {"x*[1,1,H,W] C24", 2, 24, 6, 6, {1, 1, 6, 6}, BinaryKind::kMul, false},
      {"[N,1,H,W]*x C16", 2, 16, 5, 7, {2, 1, 5, 7}, BinaryKind::kMul, true},
      {"x*[1] C24", 2, 24, 6, 6, {1}, BinaryKind::kMul, false},
      {"[1]-x C9", 2, 9, 6, 6, {1}, BinaryKind::kSub, true},
      {"x-[1,C,H,W] C16", 2, 16, 4, 4, {1, 16, 4, 4}, BinaryKind::kSub, false},  // a non-trivial row-major operand
      {"x max [N,C,1,1] C24", 2, 24, 4, 4, {2, 24, 1, 1}, BinaryKind::kMax, false},
      {"x min [C,1,1] C40", 2, 40, 3, 3, {40, 1, 1}, BinaryKind::kMin, false},
  };
  for (const Case& c : cases) {
    Shape x{c.N, 5, c.H, c.W};
    check_engine("conv, " + c.name, conv_binary_graph(x, c.C, c.other, c.k, c.other_first),
                 inputs_of({x, c.other}, c.k == BinaryKind::kDiv), dt);
  }
  // Two channels-last operands of the same shape (the unbroadcast path), and one value twice.
  for (int64_t C : {24, 7}) {
    Shape xs{2, 5, 6, 6};
    check_engine(str_cat("conv, x*y same shape C", C),
                 [=](DType t) {
                   auto g = std::make_unique<Graph>();
                   Value* x = g->add_input(TensorType::fixed(t, xs), "x");
                   Value* a = conv1x1(*g, x, C, 3);
                   Value* b = conv1x1(*g, x, C, 9);
                   g->mark_output(g->add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kMul}, {a, b})->outputs[0]);
                   g->mark_output(g->add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kSub}, {a, a})->outputs[0]);
                   return g;
                 },
                 inputs_of({xs}), dt);
  }
}

// BatchNorm (the affine kernel) after a conv + relu (channels-last in FP16/BF16, not folded into
// the conv because the relu sits between). On row-major inputs of rank 2 and 4 it is a row of the
// op-test table (tests/ops, norm family).
TEST_P(CudaElementwise, BatchNorm) {
  const DType dt = GetParam();
  auto bn_params = [](int64_t C, DType t, Graph& g) {
    std::vector<Value*> p;
    p.push_back(g.add_constant(random_input(DType::kFloat32, {C}, 31, true).to(t)));  // gamma
    p.push_back(g.add_constant(random_input(DType::kFloat32, {C}, 32).to(t)));        // beta
    p.push_back(g.add_constant(random_input(DType::kFloat32, {C}, 33).to(t)));        // mean
    p.push_back(g.add_constant(random_input(DType::kFloat32, {C}, 34, true).to(t)));  // var
    return p;
  };
  for (int64_t C : {24, 12, 10, 7, 144}) {
    Shape xs{2, 5, 7, 6};
    check_engine(str_cat("conv relu batchnorm C", C),
                 [=](DType t) {
                   auto g = std::make_unique<Graph>();
                   Value* x = g->add_input(TensorType::fixed(t, xs), "x");
                   Value* y = conv1x1(*g, x, C, 7);
                   y = g->add_node(OpKind::Unary, UnaryAttrs{UnaryKind::kRelu}, {y})->outputs[0];
                   std::vector<Value*> ins{y};
                   for (Value* v : bn_params(C, t, *g)) ins.push_back(v);
                   g->mark_output(g->add_node(OpKind::BatchNorm, BatchNormAttrs{1e-5}, ins)->outputs[0]);
                   return g;
                 },
                 inputs_of({xs}), dt);
  }
}

INSTANTIATE_TEST_SUITE_P(DTypes, CudaElementwise, ::testing::Values(DType::kFloat32, DType::kFloat16, DType::kBFloat16),
                         [](const ::testing::TestParamInfo<DType>& i) { return std::string(dtype_name(i.param)); });

// ---------------------------------------------------------------------------------------------
// Kernels made directly (the test chooses layouts and pointer offsets)

// A device copy of `t` in `layout`, starting `offset` elements into its buffer.
struct DeviceTensor {
  cu::DeviceBuffer buf;
  char* ptr = nullptr;
  DeviceTensor(const HostTensor& t, cu::Layout layout, int offset) : buf(t.nbytes() + 64) {
    ptr = static_cast<char*>(buf.get()) + size_t(offset) * dtype_size(t.dtype);
    HostTensor p = to_physical(t, layout);
    TRTORCH_CUDA_CHECK(cudaMemcpy(ptr, p.data(), p.nbytes(), cudaMemcpyHostToDevice));
    TRTORCH_CUDA_CHECK(cudaDeviceSynchronize());  // legacy-stream work before non-blocking-stream launches
  }
  DeviceTensor(DType dt, const Shape& shape, int offset) : buf(size_t(numel_of(shape)) * dtype_size(dt) + 64) {
    ptr = static_cast<char*>(buf.get()) + size_t(offset) * dtype_size(dt);
    TRTORCH_CUDA_CHECK(cudaMemset(buf.get(), poison_byte(dt), buf.bytes()));
    TRTORCH_CUDA_CHECK(cudaDeviceSynchronize());  // legacy-stream work before non-blocking-stream launches
  }
  HostTensor download(DType dt, const Shape& shape, cu::Layout layout) const {
    return from_physical(cuda_test::download(ptr, dt, shape), layout);
  }
};

// Runs make_Binary on a (op) b with the given layouts and offsets, compares the output with the
// reference, checks that describe() contains `want_desc` (when not empty), and returns the kernel's
// average time per launch in microseconds when `time_iters` > 0.
double direct_binary(DType dt, BinaryKind k, const Operand& a, const Operand& b, cu::Layout out_layout, int out_offset,
                     const std::string& want_desc, int time_iters = 0) {
  Graph g;
  Value* va = g.add_input(TensorType::fixed(dt, a.shape), "a");
  Value* vb = g.add_input(TensorType::fixed(dt, b.shape), "b");
  Node* n = g.add_node(OpKind::Binary, BinaryAttrs{k}, {va, vb});
  const Shape out = n->outputs[0]->type.static_shape();
  const bool positive = k == BinaryKind::kDiv || k == BinaryKind::kPow;
  HostTensor ha = random_input(dt, a.shape, 101, positive), hb = random_input(dt, b.shape, 102, positive);
  const HostTensor want = ref::eval_node(*n, {ha, hb})[0];

  const std::string name = str_cat("direct ", binary_kind_name(k), " ", dtype_name(dt), " ", shape_str(a.shape),
                                   a.layout == cu::Layout::kNHWC ? "nhwc" : "", "+", a.offset, " ", shape_str(b.shape),
                                   b.layout == cu::Layout::kNHWC ? "nhwc" : "", "+", b.offset, " -> ",
                                   out_layout == cu::Layout::kNHWC ? "nhwc" : "row-major", "+", out_offset);
  SCOPED_TRACE(name);
  cu::KernelArgs args{ctx(), *n, {}, {}, {nullptr, nullptr}, nullptr, nullptr};
  args.inputs = {cu::TensorDesc{dt, a.shape, a.layout}, cu::TensorDesc{dt, b.shape, b.layout}};
  args.outputs = {cu::TensorDesc{dt, out, out_layout}};
  auto kernel = cu::make_Binary(args);
  const std::string desc = kernel->describe();
  if (!want_desc.empty()) {
    EXPECT_NE(desc.find(want_desc), std::string::npos) << desc << " lacks '" << want_desc << "'";
  }

  DeviceTensor da(ha, a.layout, a.offset), db(hb, b.layout, b.offset), dy(dt, out, out_offset);
  cudaStream_t s = ctx().stream();
  kernel->launch({da.ptr, db.ptr}, {dy.ptr}, nullptr, s);
  TRTORCH_CUDA_CHECK(cudaStreamSynchronize(s));
  const double err = rel_error(dy.download(dt, out, out_layout), want);
  EXPECT_LE(err, tolerance(dt));
  double us = 0;
  if (time_iters > 0) us = us_per_launch(s, time_iters, [&] { kernel->launch({da.ptr, db.ptr}, {dy.ptr}, nullptr, s); });
  std::printf("[direct] %-90s %-48s rel err %.2e%s\n", name.c_str(), desc.c_str(), err,
              us > 0 ? str_cat(" ", us, " us/launch").c_str() : "");
  return us;
}

const cu::Layout kRow = cu::Layout::kRowMajor;
const cu::Layout kNHWC = cu::Layout::kNHWC;

// EfficientNet-B0's squeeze-excitation scale at batch 32: x [32,144,56,56] channels-last times
// s [32,144,1,1] is a rank-3 problem [N, H*W, C] with 16-byte vectors along C.
TEST(CudaElementwiseDirect, SqueezeExcitationScale) {
  for (DType dt : {DType::kFloat16, DType::kBFloat16}) {
    const double us = direct_binary(dt, BinaryKind::kMul, {{32, 144, 56, 56}, kNHWC}, {{32, 144, 1, 1}, kRow}, kNHWC,
                                    0, "vec8 rank3", 20);
    std::printf("  squeeze-excitation scale %s: %.1f us per launch (14.45M elements)\n", dtype_name(dt), us);
  }
  direct_binary(DType::kFloat32, BinaryKind::kMul, {{4, 144, 14, 14}, kNHWC}, {{4, 144, 1, 1}, kRow}, kNHWC, 0,
                "vec4 rank3");
  // Row-major (FP32 engines): [N*C, H*W] with s broadcast along H*W.
  direct_binary(DType::kFloat32, BinaryKind::kMul, {{32, 144, 56, 56}, kRow}, {{32, 144, 1, 1}, kRow}, kRow, 0,
                "vec4 rank2", 20);
  direct_binary(DType::kFloat32, BinaryKind::kMul, {{8, 96, 7, 7}, kRow}, {{8, 96, 1, 1}, kRow}, kRow, 0, "vec1 rank2");
}

// The coalesced rank and vector width describe() reports, with a correct result for each.
TEST(CudaElementwiseDirect, Coalescing) {
  const DType h = DType::kFloat16;
  direct_binary(h, BinaryKind::kAdd, {{2, 3, 5, 7}}, {{2, 3, 5, 7}}, kRow, 0, "vec8 rank1");  // same shape, tail
  direct_binary(h, BinaryKind::kAdd, {{2, 16, 5, 7}, kNHWC}, {{2, 16, 5, 7}, kNHWC}, kNHWC, 0, "vec8 rank1");
  direct_binary(h, BinaryKind::kAdd, {{2, 16, 5, 7}, kNHWC}, {{16, 1, 1}}, kNHWC, 0, "vec8 rank2");  // x + [C,1,1]
  direct_binary(h, BinaryKind::kMul, {{2, 16, 5, 7}, kNHWC}, {{1, 1, 5, 7}}, kNHWC, 0, "vec8 rank3");  // x * [1,1,H,W]
  direct_binary(h, BinaryKind::kMul, {{2, 12, 5, 7}, kNHWC}, {{2, 12, 1, 1}}, kNHWC, 0, "vec4 rank3");
  direct_binary(h, BinaryKind::kMul, {{2, 10, 5, 7}, kNHWC}, {{2, 10, 1, 1}}, kNHWC, 0, "vec2 rank3");
  direct_binary(h, BinaryKind::kMul, {{2, 7, 5, 7}, kNHWC}, {{2, 7, 1, 1}}, kNHWC, 0, "vec1 rank3");
  direct_binary(h, BinaryKind::kMul, {{2, 1, 6, 8}}, {{2, 5, 1, 1}}, kRow, 0, "vec8 rank3");   // both broadcast
  direct_binary(h, BinaryKind::kMul, {{3, 5, 7}}, {{1}}, kRow, 0, "vec8 rank1");               // scalar
  direct_binary(h, BinaryKind::kMul, {{1}}, {{1}}, kRow, 0, "rank1");
  direct_binary(h, BinaryKind::kSub, {{2, 1, 3, 1, 5}}, {{1, 4, 1, 6, 1}}, kRow, 0, "vec1 rank5");
  direct_binary(h, BinaryKind::kMin, {{2, 1, 3, 1, 2, 1}}, {{1, 3, 1, 2, 1, 4}}, kRow, 0, "rank6");
  direct_binary(h, BinaryKind::kMul, {{2, 1, 3, 1, 16}}, {{1, 4, 1, 6, 16}}, kRow, 0, "vec8 rank5");
  // A channels-last operand with a row-major output (a broadcast to rank 5): strided reads.
  direct_binary(h, BinaryKind::kAdd, {{2, 8, 3, 4}, kNHWC}, {{2, 1, 1, 1, 1}}, kRow, 0, "vec1");
  // A channels-last [1,C,H,W] operand against a row-major output and vice versa.
  direct_binary(h, BinaryKind::kAdd, {{1, 8, 3, 4}, kNHWC}, {{2, 8, 3, 4}}, kRow, 0, "");
  direct_binary(h, BinaryKind::kAdd, {{2, 8, 3, 4}, kNHWC}, {{1, 8, 3, 4}}, kNHWC, 0, "");
  direct_binary(DType::kInt32, BinaryKind::kMax, {{4, 64}}, {{64}}, kRow, 0, "vec4 rank2");
  direct_binary(DType::kInt64, BinaryKind::kMul, {{4, 64}}, {{4, 1}}, kRow, 0, "vec2 rank2");
}

// Pointers that are not 16-byte aligned: the kernel falls back to narrower vectors or scalars.
TEST(CudaElementwiseDirect, MisalignedPointers) {
  for (DType dt : {DType::kFloat16, DType::kFloat32, DType::kBFloat16, DType::kInt32}) {
    for (int off : {1, 2, 4}) {
      // An offset on each pointer in turn (b is a vector operand in the first case).
      direct_binary(dt, BinaryKind::kMul, {{2, 24, 4, 4}, kNHWC, off}, {{2, 24, 1, 1}}, kNHWC, 0, "");
      direct_binary(dt, BinaryKind::kMul, {{2, 24, 4, 4}, kNHWC}, {{2, 24, 1, 1}, kRow, off}, kNHWC, 0, "");
      direct_binary(dt, BinaryKind::kMul, {{2, 24, 4, 4}, kNHWC}, {{2, 24, 1, 1}}, kNHWC, off, "");
      direct_binary(dt, BinaryKind::kAdd, {{1001}, kRow, off}, {{1001}}, kRow, off, "");
      direct_binary(dt, BinaryKind::kSub, {{67}}, {{1}, kRow, off}, kRow, 0, "");
    }
  }
}

// More than 2^31 - 1 output elements: the 64-bit fallback. a [3, M] is filled with one value
// (bytes 0x3c: 1.0586 in FP16), b [3, 1] = {1, 2, 4}; each output row is that value scaled
// exactly. Needs ~8.6 GB of GPU memory and as much host memory.
TEST(CudaElementwiseDirect, Indices64) {
  size_t free_b = 0, total_b = 0;
  TRTORCH_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  if (free_b < (size_t(12) << 30)) GTEST_SKIP() << "needs 12 GB of free GPU memory";
  const int64_t M = 715827883;  // 3 * M = 2^31 + 1
  const DType dt = DType::kFloat16;
  Graph g;
  Value* va = g.add_input(TensorType::fixed(dt, {3, M}), "a");
  Value* vb = g.add_input(TensorType::fixed(dt, {3, 1}), "b");
  Node* n = g.add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kMul}, {va, vb});
  cu::KernelArgs args{ctx(), *n, {}, {}, {nullptr, nullptr}, nullptr, nullptr};
  args.inputs = {cu::TensorDesc{dt, {3, M}}, cu::TensorDesc{dt, {3, 1}}};
  args.outputs = {cu::TensorDesc{dt, {3, M}}};
  auto kernel = cu::make_Binary(args);
  EXPECT_NE(kernel->describe().find("idx64"), std::string::npos) << kernel->describe();
  const size_t bytes = size_t(3 * M) * 2;
  cu::DeviceBuffer a(bytes), y(bytes), b(3 * 2);
  TRTORCH_CUDA_CHECK(cudaMemset(a.get(), 0x3c, bytes));
  TRTORCH_CUDA_CHECK(cudaDeviceSynchronize());  // legacy-stream work before non-blocking-stream launches
  TRTORCH_CUDA_CHECK(cudaMemset(y.get(), 0xff, bytes));
  TRTORCH_CUDA_CHECK(cudaDeviceSynchronize());  // legacy-stream work before non-blocking-stream launches
  HostTensor hb(dt, {3, 1});
  hb.set(0, 1.0);
  hb.set(1, 2.0);
  hb.set(2, 4.0);
  TRTORCH_CUDA_CHECK(cudaMemcpy(b.get(), hb.data(), 6, cudaMemcpyHostToDevice));
  TRTORCH_CUDA_CHECK(cudaDeviceSynchronize());  // legacy-stream work before non-blocking-stream launches
  kernel->launch({a.get(), b.get()}, {y.get()}, nullptr, ctx().stream());
  TRTORCH_CUDA_CHECK(cudaStreamSynchronize(ctx().stream()));
  HostTensor one(dt, {1});
  std::memset(one.data(), 0x3c, 2);
  uint16_t want[3];
  for (int r = 0; r < 3; ++r) {
    HostTensor w(dt, {1});
    w.set(0, one.get(0) * hb.get(r));
    std::memcpy(&want[r], w.data(), 2);
  }
  std::vector<uint16_t> host(size_t(3 * M));
  TRTORCH_CUDA_CHECK(cudaMemcpy(host.data(), y.get(), bytes, cudaMemcpyDeviceToHost));
  int64_t bad = 0, first_bad = -1;
  for (int64_t i = 0; i < 3 * M; ++i)
    if (host[size_t(i)] != want[i / M]) {
      if (first_bad < 0) first_bad = i;
      ++bad;
    }
  EXPECT_EQ(bad, 0) << "first wrong element " << first_bad;
  std::printf("[direct] %s: %lld wrong elements\n", kernel->describe().c_str(), (long long)bad);
}

// BatchNorm made directly: channels-last with every vector width, row-major, misaligned pointers.
void direct_batchnorm(DType dt, const Shape& shape, cu::Layout layout, int offset, const std::string& want_desc) {
  const int64_t C = shape[1];
  Graph g;
  Value* x = g.add_input(TensorType::fixed(dt, shape), "x");
  std::vector<HostTensor> p = {random_input(DType::kFloat32, {C}, 41, true), random_input(DType::kFloat32, {C}, 42),
                               random_input(DType::kFloat32, {C}, 43), random_input(DType::kFloat32, {C}, 44, true)};
  std::vector<Value*> ins{x};
  for (auto& t : p) {
    t = t.to(dt);
    ins.push_back(g.add_constant(t));
  }
  Node* n = g.add_node(OpKind::BatchNorm, BatchNormAttrs{1e-5}, ins);
  HostTensor hx = random_input(dt, shape, 45);
  const HostTensor want = ref::eval_node(*n, {hx, p[0], p[1], p[2], p[3]})[0];
  const std::string name = str_cat("direct batchnorm ", dtype_name(dt), " ", shape_str(shape),
                                   layout == kNHWC ? " nhwc" : "", " +", offset);
  SCOPED_TRACE(name);
  cu::KernelArgs args{ctx(), *n, {}, {}, {}, nullptr, nullptr};
  args.inputs.push_back(cu::TensorDesc{dt, shape, layout});
  args.constants.push_back(nullptr);
  for (size_t i = 0; i < 4; ++i) {
    args.inputs.push_back(cu::TensorDesc{dt, {C}});
    args.constants.push_back(&p[i]);
  }
  args.outputs = {cu::TensorDesc{dt, shape, layout}};
  auto kernel = cu::make_BatchNorm(args);
  const std::string desc = kernel->describe();
  if (!want_desc.empty()) {
    EXPECT_NE(desc.find(want_desc), std::string::npos) << desc << " lacks '" << want_desc << "'";
  }
  DeviceTensor dx(hx, layout, offset), dy(dt, shape, offset);
  kernel->launch({dx.ptr, nullptr, nullptr, nullptr, nullptr}, {dy.ptr}, nullptr, ctx().stream());
  TRTORCH_CUDA_CHECK(cudaStreamSynchronize(ctx().stream()));
  const double err = rel_error(dy.download(dt, shape, layout), want);
  EXPECT_LE(err, tolerance(dt));
  std::printf("[direct] %-60s %-36s rel err %.2e\n", name.c_str(), desc.c_str(), err);
}

TEST(CudaElementwiseDirect, BatchNorm) {
  for (DType dt : {DType::kFloat16, DType::kBFloat16, DType::kFloat32}) {
    const int wide = dt == DType::kFloat32 ? 4 : 8;
    direct_batchnorm(dt, {2, 144, 7, 7}, kNHWC, 0, str_cat("vec", wide));
    direct_batchnorm(dt, {2, 12, 7, 7}, kNHWC, 0, "vec4");
    direct_batchnorm(dt, {2, 10, 7, 7}, kNHWC, 0, "vec2");
    direct_batchnorm(dt, {2, 7, 5, 5}, kNHWC, 0, "vec1");
    direct_batchnorm(dt, {2, 6, 8, 8}, kRow, 0, str_cat("vec", wide));
    direct_batchnorm(dt, {2, 6, 7, 7}, kRow, 0, "vec1");
    direct_batchnorm(dt, {5, 24}, kRow, 0, str_cat("vec", wide));
    direct_batchnorm(dt, {5, 24, 3}, kRow, 0, "vec1");
    for (int off : {1, 2}) {
      direct_batchnorm(dt, {2, 144, 7, 7}, kNHWC, off, "");
      direct_batchnorm(dt, {2, 6, 8, 8}, kRow, off, "");
    }
  }
}

}  // namespace

int main(int argc, char** argv) { return gpu_main(argc, argv); }
