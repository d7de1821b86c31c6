// The generated pointwise kernels (Pointwise, pointwise.cu + rtc.cpp) on the GPU:
//   * engines whose chains fuse_pointwise turned into Pointwise nodes, against the reference
//     backend on the unfused graph (check()), with the engine graph checked for the fusion;
//   * kernels made directly with chosen layouts and pointer offsets, against the reference
//     backend's Pointwise on the same node (one rounding on both sides);
//   * the NVRTC cache: the same source is compiled once per process.
#include <cmath>
#include <map>
#include <random>

#include "core/backends/cuda/common/kernel.h"
#include "core/backends/cuda/common/rtc.h"
#include "core/passes/passes.h"
#include "tests/backends/cuda_test_util.h"

using namespace trtorch;
using namespace trtorch::ir;
using namespace trtorch::cuda_test;

namespace {

HostTensor uniform(DType t, const Shape& shape, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  HostTensor h(t, shape);
  for (int64_t i = 0; i < h.numel(); ++i) h.set(i, d(rng));
  return h;
}

Value* unary(Graph& g, UnaryKind k, Value* x, double alpha = 0, double beta = 0) {
  UnaryAttrs a{k};
  a.alpha = alpha;
  a.beta = beta;
  return g.add_node(OpKind::Unary, a, {x})->outputs[0];
}
Value* binary(Graph& g, BinaryKind k, Value* x, Value* y) {
  return g.add_node(OpKind::Binary, BinaryAttrs{k}, {x, y})->outputs[0];
}
Value* scalar(Graph& g, DType t, double v) {
  HostTensor s(t, {1});
  s.set(0, v);
  return g.add_constant(s);
}

// Swish-like gate with a per-channel scale and shift: tanh(x * sigmoid(x) * s + c) * 0.5, x
// [2, 16, 9, 9], s and c [16, 1, 1] (engine inputs).
std::unique_ptr<Graph> gate_graph(DType t) {
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input(TensorType::fixed(t, {2, 16, 9, 9}), "x");
  Value* s = g->add_input(TensorType::fixed(t, {16, 1, 1}), "s");
  Value* c = g->add_input(TensorType::fixed(t, {16, 1, 1}), "c");
  Value* v = binary(*g, BinaryKind::kMul, x, unary(*g, UnaryKind::kSigmoid, x));
  v = binary(*g, BinaryKind::kAdd, binary(*g, BinaryKind::kMul, v, s), c);
  g->mark_output(binary(*g, BinaryKind::kMul, unary(*g, UnaryKind::kTanh, v), scalar(*g, t, 0.5)));
  return g;
}

// Every UnaryKind of x (uniform in [0.2, 2]: log, sqrt and rsqrt stay finite), summed.
std::unique_ptr<Graph> every_unary_graph(DType t) {
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input(TensorType::fixed(t, {3, 40, 7}), "x");
  Value* sum = nullptr;
  for (int k = 0; k < int(UnaryKind::kCount); ++k) {
    const UnaryKind u = UnaryKind(k);
    const double alpha = u == UnaryKind::kClamp ? 0.5 : 0.1, beta = u == UnaryKind::kClamp ? 1.5 : 0.0;
    Value* y = unary(*g, u, x, alpha, beta);
    sum = sum ? binary(*g, BinaryKind::kAdd, sum, y) : y;
  }
  // Every floating BinaryKind once more, against a broadcast [40, 1] operand.
  Value* b = g->add_input(TensorType::fixed(t, {40, 1}), "b");
  for (int k = 0; k < int(BinaryKind::kCount); ++k) sum = binary(*g, BinaryKind(k), sum, b);
  g->mark_output(sum);
  return g;
}

// conv (channels-last in FP16/BF16) -> * s [1, C, 1, 1] -> + r -> hardswish: the chain reads a
// channels-last value and a row-major one and writes channels-last.
std::unique_ptr<Graph> after_conv_graph(DType t) {
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input(TensorType::fixed(t, {2, 8, 6, 5}), "x");
  Value* s = g->add_input(TensorType::fixed(t, {1, 24, 1, 1}), "s");
  Value* r = g->add_input(TensorType::fixed(t, {2, 24, 6, 5}), "r");
  HostTensor w = uniform(DType::kFloat32, {24, 8, 3, 3}, 7, -0.2f, 0.2f).to(t);
  Conv2dAttrs ca;
  ca.padding = {1, 1};
  Value* y = g->add_node(OpKind::Conv2d, ca, {x, g->add_constant(w)})->outputs[0];
  Value* v = binary(*g, BinaryKind::kAdd, binary(*g, BinaryKind::kMul, y, s), r);
  Value* h = unary(*g, UnaryKind::kHardSwish, v);
  g->mark_output(binary(*g, BinaryKind::kMul, h, h));  // h used twice: h stays a group root
  return g;
}

// The number of Pointwise nodes of the engine built from make(dt).
int pointwise_nodes(const std::function<std::unique_ptr<Graph>(DType)>& make, DType dt) {
  plan::BuildConfig cfg;
  cfg.precision = dt;
  cfg.device.type = plan::DeviceType::kCUDA;
  cfg.device.gpu_id = 0;
  auto g = make(dt);
  std::vector<std::string> in, out;
  for (size_t i = 0; i < g->inputs().size(); ++i) in.push_back("in" + std::to_string(i));
  for (size_t i = 0; i < g->outputs().size(); ++i) out.push_back("out" + std::to_string(i));
  plan::Engine e = plan::build_engine(std::move(g), cfg, in, out);
  int n = 0;
  for (Node* node : e.graph->nodes()) n += node->op == OpKind::Pointwise;
  return n;
}

class CudaPointwise : public ::testing::TestWithParam<DType> {};

TEST_P(CudaPointwise, Engines) {
  const DType dt = GetParam();
  CheckOptions opt;
  opt.poison_every_run = true;
  opt.tag = "engine";
  auto gate_inputs = [](DType t) {
    return std::vector<HostTensor>{random_tensor(t, {2, 16, 9, 9}, 1), random_tensor(t, {16, 1, 1}, 2),
                                   random_tensor(t, {16, 1, 1}, 3)};
  };
  check("gate", gate_graph, gate_inputs, dt, opt);
  EXPECT_EQ(pointwise_nodes(gate_graph, dt), 1);
  auto every_inputs = [](DType t) {
    return std::vector<HostTensor>{uniform(t, {3, 40, 7}, 4, 0.2f, 2.0f), uniform(t, {40, 1}, 5, 0.5f, 1.5f)};
  };
  check("every unary and binary kind", every_unary_graph, every_inputs, dt, opt);
  EXPECT_EQ(pointwise_nodes(every_unary_graph, dt), 1);
  auto conv_inputs = [](DType t) {
    return std::vector<HostTensor>{random_tensor(t, {2, 8, 6, 5}, 6), random_tensor(t, {1, 24, 1, 1}, 7),
                                   random_tensor(t, {2, 24, 6, 5}, 8)};
  };
  check("after a convolution", after_conv_graph, conv_inputs, dt, opt);
  // mul, add, hardswish fuse; the final h * h reads h twice (not fusable into h's group).
  EXPECT_EQ(pointwise_nodes(after_conv_graph, dt), 1);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaPointwise,
                         ::testing::Values(DType::kFloat32, DType::kFloat16, DType::kBFloat16),
                         [](const ::testing::TestParamInfo<DType>& i) { return std::string(dtype_name(i.param)); });

// ---------------------------------------------------------------------------------------------
// Kernels made directly

// The Pointwise node fuse_pointwise makes of gate(a, b): a * sigmoid(a) * b + 0.25, then
// leaky_relu(0.1).
struct Fused {
  Graph g;
  Node* node = nullptr;
};
std::unique_ptr<Fused> fused_gate(DType dt, const Shape& a, const Shape& b) {
  auto f = std::make_unique<Fused>();
  Graph& g = f->g;
  Value* x = g.add_input(TensorType::fixed(dt, a), "a");
  Value* y = g.add_input(TensorType::fixed(dt, b), "b");
  Value* v = binary(g, BinaryKind::kMul, binary(g, BinaryKind::kMul, x, unary(g, UnaryKind::kSigmoid, x)), y);
  v = unary(g, UnaryKind::kLeakyRelu, binary(g, BinaryKind::kAdd, v, scalar(g, dt, 0.25)), 0.1);
  g.mark_output(v);
  EXPECT_TRUE(passes::fuse_pointwise(g));
  for (Node* n : g.nodes())
    if (n->op == OpKind::Pointwise) f->node = n;
  EXPECT_NE(f->node, nullptr);
  return f;
}

// Runs make_Pointwise on the fused gate with the given layouts and offsets and compares with the
// reference backend's Pointwise on the same node; checks describe() for `want_desc`.
void direct(DType dt, const Operand& a, const Operand& b, cu::Layout out_layout, int out_offset,
            const std::string& want_desc) {
  auto f = fused_gate(dt, a.shape, b.shape);
  ASSERT_NE(f->node, nullptr);
  const Node& n = *f->node;
  ASSERT_EQ(n.inputs.size(), 2u);
  const Shape out = n.outputs[0]->type.static_shape();
  HostTensor ha = random_tensor(dt, a.shape, 11), hb = random_tensor(dt, b.shape, 12);
  const HostTensor want = ref::eval_node(n, {ha, hb})[0];
  const std::string name = str_cat(dtype_name(dt), " ", shape_str(a.shape), a.layout == cu::Layout::kNHWC ? "nhwc" : "",
                                   "+", a.offset, " ", shape_str(b.shape), "+", b.offset, " -> ",
                                   out_layout == cu::Layout::kNHWC ? "nhwc" : "row-major", "+", out_offset);
  SCOPED_TRACE(name);
  cu::KernelArgs args{ctx(), n, {}, {}, {nullptr, nullptr}, nullptr, nullptr};
  args.inputs = {cu::TensorDesc{dt, a.shape, a.layout}, cu::TensorDesc{dt, b.shape, b.layout}};
  args.outputs = {cu::TensorDesc{dt, out, out_layout}};
  auto kernel = cu::make_Pointwise(args);
  const std::string desc = kernel->describe();
  EXPECT_NE(desc.find("NVRTC"), std::string::npos) << desc;
  if (!want_desc.empty()) EXPECT_NE(desc.find(want_desc), std::string::npos) << desc << " lacks '" << want_desc << "'";

  auto put = [&](const HostTensor& t, cu::Layout l, int off, cu::DeviceBuffer& buf) {
    buf = cu::DeviceBuffer(t.nbytes() + 64);
    char* p = static_cast<char*>(buf.get()) + size_t(off) * dtype_size(dt);
    HostTensor phys = l == cu::Layout::kNHWC ? relayout(t, true) : t;
    TRTORCH_CUDA_CHECK(cudaMemcpy(p, phys.data(), phys.nbytes(), cudaMemcpyHostToDevice));
    return p;
  };
  cu::DeviceBuffer ba, bb, by;
  char* pa = put(ha, a.layout, a.offset, ba);
  char* pb = put(hb, b.layout, b.offset, bb);
  by = cu::DeviceBuffer(size_t(numel_of(out)) * dtype_size(dt) + 64);
  TRTORCH_CUDA_CHECK(cudaMemset(by.get(), 0xff, by.bytes()));  // NaN poison
  TRTORCH_CUDA_CHECK(cudaDeviceSynchronize());
  char* py = static_cast<char*>(by.get()) + size_t(out_offset) * dtype_size(dt);
  cudaStream_t s = ctx().stream();
  kernel->launch({pa, pb}, {py}, nullptr, s);
  TRTORCH_CUDA_CHECK(cudaStreamSynchronize(s));
  HostTensor got = download(py, dt, out);
  if (out_layout == cu::Layout::kNHWC) got = relayout(got, false);
  // Both sides compute in FP32 and round once: FP32 differs by the math library only.
  const double tol = dt == DType::kFloat32 ? 1e-5 : dt == DType::kFloat16 ? 1e-3 : 8e-3;
  const double err = rel_error(got, want);
  EXPECT_LE(err, tol);
  std::printf("[direct] pointwise %-60s %-70s rel err %.2e\n", name.c_str(), desc.c_str(), err);
}

const cu::Layout kRow = cu::Layout::kRowMajor;
const cu::Layout kNHWC = cu::Layout::kNHWC;

TEST(CudaPointwiseDirect, LayoutsAndVectors) {
  for (DType dt : {DType::kFloat32, DType::kFloat16, DType::kBFloat16}) {
    const std::string v = dt == DType::kFloat32 ? "vec4" : "vec8";
    direct(dt, {{2, 16, 5, 7}}, {{2, 16, 5, 7}}, kRow, 0, v + " rank1");          // same shapes
    direct(dt, {{2, 16, 5, 7}, kNHWC}, {{16, 1, 1}}, kNHWC, 0, v + " rank2");     // per-channel, channels-last
    direct(dt, {{2, 16, 5, 7}}, {{16, 1, 1}}, kRow, 0, "vec1 rank3");             // per-channel, row-major: [2, 16, 35]
    direct(dt, {{2, 16, 5, 7}, kNHWC}, {{2, 16, 5, 7}}, kRow, 0, "");              // channels-last in, row-major out
    direct(dt, {{3, 5, 7}}, {{1}}, kRow, 0, "vec1 rank1");                         // 105 elements: no vectors
    direct(dt, {{2, 1, 3, 1, 5}}, {{1, 4, 1, 6, 1}}, kRow, 0, "rank5");            // both broadcast
    direct(dt, {{1}}, {{1}}, kRow, 0, "rank1");
  }
}

// Pointers not aligned for the vector accesses: the V = 1 kernel of the same module runs.
TEST(CudaPointwiseDirect, MisalignedPointers) {
  for (DType dt : {DType::kFloat32, DType::kFloat16}) {
    for (int off : {1, 2}) {
      direct(dt, {{2, 16, 4, 4}, kNHWC, off}, {{2, 16, 1, 1}}, kNHWC, 0, "");
      direct(dt, {{2, 16, 4, 4}, kNHWC}, {{2, 16, 1, 1}}, kNHWC, off, "");
      direct(dt, {{1024}, kRow, off}, {{1024}}, kRow, off, "");
    }
  }
}

// The NVRTC cache: a second kernel with the same source compiles nothing; another shape does.
TEST(CudaPointwiseDirect, CompileCache) {
  auto f = fused_gate(DType::kFloat16, {4, 32}, {32});
  ASSERT_NE(f->node, nullptr);
  auto make = [&](const Shape& a) {
    cu::KernelArgs args{ctx(), *f->node, {}, {}, {nullptr, nullptr}, nullptr, nullptr};
    args.inputs = {cu::TensorDesc{DType::kFloat16, a, kRow}, cu::TensorDesc{DType::kFloat16, {32}, kRow}};
    args.outputs = {cu::TensorDesc{DType::kFloat16, {a[0], 32}, kRow}};
    return cu::make_Pointwise(args);
  };
  make({4, 32});
  const size_t n = cu::rtc_compile_count();
  make({4, 32});
  EXPECT_EQ(cu::rtc_compile_count(), n);
  make({8, 32});
  EXPECT_EQ(cu::rtc_compile_count(), n + 1);
}

// The point of fusing: tanh(x * sigmoid(x) * s + c) * 0.5 on [32, 64, 56, 56] FP16 (EfficientNet-
// sized) as one generated kernel against the six Unary/Binary kernels it replaces, each timed as
// a captured CUDA graph. Memory-bound: one pass over x instead of six.
TEST(CudaPointwiseDirect, FusedChainBeatsSeparateKernels) {
  const DType dt = DType::kFloat16;
  const Shape xs{32, 64, 56, 56}, cs{64, 1, 1};
  Graph g;
  Value* x = g.add_input(TensorType::fixed(dt, xs), "x");
  Value* sv = g.add_input(TensorType::fixed(dt, cs), "s");
  Value* cv = g.add_input(TensorType::fixed(dt, cs), "c");
  Value* half = g.add_input(TensorType::fixed(dt, {1}), "half");  // an input: the unfused chain reads it
  Value* v = binary(g, BinaryKind::kMul, x, unary(g, UnaryKind::kSigmoid, x));
  v = binary(g, BinaryKind::kAdd, binary(g, BinaryKind::kMul, v, sv), cv);
  g.mark_output(binary(g, BinaryKind::kMul, unary(g, UnaryKind::kTanh, v), half));
  HostTensor hhalf(dt, {1});
  hhalf.set(0, 0.5);
  std::map<const Value*, HostTensor> host = {{x, random_tensor(dt, xs, 1)}, {sv, random_tensor(dt, cs, 2)},
                                             {cv, random_tensor(dt, cs, 3)}, {half, hhalf}};
  const HostTensor want = ref::run(g, {host[x], host[sv], host[cv], host[half]})[0];
  std::map<const Value*, cu::DeviceBuffer> dev;
  for (auto& [val, t] : host) dev[val] = upload(t);
  // Unfused: one kernel per node, intermediates in their own buffers.
  // Row-major kernel arguments of node n, and its input pointers (from `dev`).
  auto args_of = [&](Node* n, std::vector<const void*>* ptrs) {
    cu::KernelArgs args{ctx(), *n, {}, {}, {}, nullptr, nullptr};
    for (Value* in : n->inputs) {
      args.inputs.push_back(cu::TensorDesc{dt, in->type.static_shape(), cu::Layout::kRowMajor});
      args.constants.push_back(nullptr);
      ptrs->push_back(dev[in].get());
    }
    args.outputs = {cu::TensorDesc{dt, n->outputs[0]->type.static_shape(), cu::Layout::kRowMajor}};
    return args;
  };
  std::vector<std::unique_ptr<cu::Kernel>> kernels;
  std::vector<std::vector<const void*>> ins;
  std::vector<void*> outs;
  for (Node* n : g.nodes()) {
    std::vector<const void*> p;
    const cu::KernelArgs args = args_of(n, &p);
    dev[n->outputs[0]] = cu::DeviceBuffer(size_t(numel_of(args.outputs[0].shape)) * dtype_size(dt));
    kernels.push_back(n->op == OpKind::Unary ? cu::make_Unary(args) : cu::make_Binary(args));
    ins.push_back(p);
    outs.push_back(dev[n->outputs[0]].get());
  }
  cudaStream_t st = ctx().stream();
  auto unfused = [&] {
    for (size_t i = 0; i < kernels.size(); ++i) kernels[i]->launch(ins[i], {outs[i]}, nullptr, st);
  };
  // Fused: the same graph after fuse_pointwise.
  ASSERT_TRUE(passes::fuse_pointwise(g));
  Node* pw = nullptr;
  for (Node* n : g.nodes())
    if (n->op == OpKind::Pointwise) pw = n;
  ASSERT_NE(pw, nullptr);
  ASSERT_EQ(pw->inputs.size(), 4u);
  std::vector<const void*> pin;
  auto fused_kernel = cu::make_Pointwise(args_of(pw, &pin));
  cu::DeviceBuffer fused_out(size_t(numel_of(xs)) * dtype_size(dt));
  auto fused = [&] { fused_kernel->launch(pin, {fused_out.get()}, nullptr, st); };

  unfused();
  fused();
  TRTORCH_CUDA_CHECK(cudaStreamSynchronize(st));
  const double err_unfused = rel_error(download(outs.back(), dt, xs), want);
  const double err_fused = rel_error(download(fused_out.get(), dt, xs), want);
  EXPECT_LE(err_unfused, tolerance(dt));
  EXPECT_LE(err_fused, tolerance(dt));  // one rounding instead of six
  const double us_unfused = us_per_launch(st, 20, unfused), us_fused = us_per_launch(st, 20, fused);
  std::printf("[direct] gate chain f16 [32,64,56,56]: %zu kernels %.1f us, fused (%s) %.1f us, %.2fx; "
              "rel err %.1e / %.1e\n",
              kernels.size(), us_unfused, fused_kernel->describe().c_str(), us_fused, us_unfused / us_fused,
              err_unfused, err_fused);
  EXPECT_LT(us_fused * 2, us_unfused) << "fusing six memory-bound kernels should more than halve the time";
}

}  // namespace

int main(int argc, char** argv) { return gpu_main(argc, argv); }
