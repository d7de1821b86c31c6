// Reference backend: what the op-test table cannot express. Every op's numbers against the naive
// double-precision oracle are rows of that table (tests/ops/op_rows*.cpp, run by
// op_table_reference_test); here: special values (NaN, integer wrap-around, wide integers), the
// errors an op raises and their messages, outputs that must not alias, graph-level behaviour
// (symbolic dims, the plan::Executor registration) and a speed smoke test.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <random>

#include "core/backends/reference/reference.h"
#include "core/plan/backend.h"
#include "core/util/error.h"
#include "tests/ops/op_oracle.h"

using namespace trtorch;
using namespace trtorch::ir;
using namespace trtorch::op_test;
namespace ref = trtorch::backends::reference;

namespace {

// Runs one op on graph inputs through reference::run and checks the shape it reports.
HostTensor run_op(OpKind op, Attrs attrs, const std::vector<HostTensor>& ins) {
  Graph g;
  std::vector<Value*> vs;
  for (const HostTensor& t : ins) vs.push_back(g.add_input(TensorType::fixed(t.dtype, t.shape), "in"));
  Node* n = g.add_node(op, std::move(attrs), vs);
  g.mark_output(n->outputs[0]);
  verify(g);
  std::vector<HostTensor> out = ref::run(g, ins);
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape, n->outputs[0]->type.static_shape());
  EXPECT_EQ(out[0].dtype, n->outputs[0]->type.dtype);
  return out[0];
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Elementwise

TEST(Reference, BinaryMaxMinPropagateNaN) {
  HostTensor a(DType::kFloat32, {3}), b(DType::kFloat32, {3});
  a.set(0, std::nan("")), b.set(0, 1);
  a.set(1, 1), b.set(1, std::nan(""));
  a.set(2, -1), b.set(2, 2);
  for (BinaryKind k : {BinaryKind::kMax, BinaryKind::kMin}) {
    HostTensor y = run_op(OpKind::Binary, BinaryAttrs{k}, {a, b});
    Shape shape;
    expect_close(y, {3}, naive_binary_tensor(k, a, b, &shape), 0, 0, binary_kind_name(k));
  }
}

TEST(Reference, BinaryIntegerDivisionIsRejected) {
  HostTensor a = random_tensor(DType::kInt32, {4}, 1, 1, 9), b = random_tensor(DType::kInt32, {4}, 2, 1, 9);
  try {
    run_op(OpKind::Binary, BinaryAttrs{BinaryKind::kDiv}, {a, b});
    FAIL() << "expected trtorch::Error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("Binary"), std::string::npos) << m;
    EXPECT_NE(m.find("div"), std::string::npos) << m;
  }
}

TEST(Reference, UnsupportedDtypeNamesTheOp) {
  // A node built for FP32, evaluated on int32 inputs: rejected with the op's name.
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat32, {2, 3}), "x");
  Node* unary = g.add_node(OpKind::Unary, UnaryAttrs{UnaryKind::kExp}, {x});
  Node* softmax = g.add_node(OpKind::Softmax, SoftmaxAttrs{1, false}, {x});
  HostTensor xi = random_tensor(DType::kInt32, {2, 3}, 1, 0, 5);
  for (Node* n : {unary, softmax}) {
    try {
      ref::eval_node(*n, {xi});
      FAIL() << "expected trtorch::Error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(n->name()), std::string::npos) << e.what();
    }
  }
}

// Cast: every dtype to every dtype is a row of the op-test table (tests/ops); here the values a
// row's small random inputs do not reach: int64 -> int32 wraps around; large int64 -> float
// rounds to nearest.
TEST(Reference, CastWideIntegers) {
  HostTensor big(DType::kInt64, {2});
  big.ptr<int64_t>()[0] = (int64_t(1) << 32) + 5;
  big.ptr<int64_t>()[1] = (int64_t(1) << 40) + 1;
  CastAttrs to32;
  to32.to = DType::kInt32;
  EXPECT_EQ(run_op(OpKind::Cast, to32, {big}).ptr<int32_t>()[0], 5);
  CastAttrs tof;
  tof.to = DType::kFloat32;
  EXPECT_EQ(run_op(OpKind::Cast, tof, {big}).ptr<float>()[1], float(int64_t(1) << 40));
}

// ---------------------------------------------------------------------------------------------
// Pooling, attention, data movement

TEST(Reference, AvgPoolWithDilationIsRejected) {
  Pool2dAttrs a;
  a.kind = PoolKind::kAvg;
  a.kernel = {2, 2};
  a.dilation = {2, 2};
  try {
    run_op(OpKind::Pool2d, a, {random_tensor(DType::kFloat32, {1, 1, 6, 6}, 1)});
    FAIL() << "expected trtorch::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Pool2d"), std::string::npos) << e.what();
  }
}

TEST(Reference, AttentionRejectsMismatchedShapesByName) {
  Graph g;
  Value* q = g.add_input(TensorType::fixed(DType::kFloat32, {2, 4, 8}), "q");
  Value* k = g.add_input(TensorType::fixed(DType::kFloat32, {2, 5, 6}), "k");
  Value* v = g.add_input(TensorType::fixed(DType::kFloat32, {2, 5, 8}), "v");
  try {
    g.add_node(OpKind::Attention, AttentionAttrs{}, {q, k, v});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Attention"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("last dim"), std::string::npos) << e.what();
  }
}

TEST(Reference, GatherRejectsOutOfRangeIndexByName) {
  HostTensor x = random_tensor(DType::kFloat32, {5, 3}, 96, -1, 1);
  HostTensor ids(DType::kInt64, {3});
  ids.set(0, 1);
  ids.set(1, 7);
  ids.set(2, 0);
  try {
    run_op(OpKind::Gather, GatherAttrs{0}, {x, ids});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("Gather"), std::string::npos) << m;
    EXPECT_NE(m.find("index 7"), std::string::npos) << m;
  }
}

// ---------------------------------------------------------------------------------------------
// Compare, CumSum, Constant and Identity

TEST(Reference, CompareNaNAndWideIntegers) {
  HostTensor a(DType::kFloat32, {3}), b(DType::kFloat32, {3});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  a.set(0, nan), a.set(1, 1.0), a.set(2, nan);
  b.set(0, nan), b.set(1, nan), b.set(2, 0.0);
  const std::pair<CompareKind, Vec> cases[] = {{CompareKind::kEq, {0, 0, 0}}, {CompareKind::kNe, {1, 1, 1}},
                                               {CompareKind::kLt, {0, 0, 0}}, {CompareKind::kGe, {0, 0, 0}},
                                               {CompareKind::kAnd, {1, 1, 0}}, {CompareKind::kXor, {0, 0, 1}}};
  for (const auto& [k, want] : cases)
    expect_close(run_op(OpKind::Compare, CompareAttrs{k}, {a, b}), {3}, want, 0, 0, compare_kind_name(k));
  // int64 values that differ by one beyond 2^53 (equal once rounded to double).
  HostTensor x(DType::kInt64, {2}), y(DType::kInt64, {});
  x.ptr<int64_t>()[0] = (int64_t(1) << 53) + 1;
  x.ptr<int64_t>()[1] = int64_t(1) << 53;
  y.ptr<int64_t>()[0] = int64_t(1) << 53;
  expect_close(run_op(OpKind::Compare, CompareAttrs{CompareKind::kGt}, {x, y}), {2}, {1, 0}, 0, 0, "int64 gt");
  expect_close(run_op(OpKind::Compare, CompareAttrs{CompareKind::kEq}, {x, y}), {2}, {0, 1}, 0, 0, "int64 eq");
}

TEST(Reference, CompareRejectsMixedDtypesByName) {
  Graph g;
  Value* a = g.add_input(TensorType::fixed(DType::kFloat32, {2}), "a");
  Value* b = g.add_input(TensorType::fixed(DType::kInt64, {2}), "b");
  try {
    g.add_node(OpKind::Compare, CompareAttrs{CompareKind::kLt}, {a, b});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("Compare"), std::string::npos) << m;
    EXPECT_NE(m.find("i64"), std::string::npos) << m;
  }
}

// CumSum on every axis and dtype is a row of the op-test table; here integers wrap around like
// torch's.
TEST(Reference, CumSumIntegersWrapAround) {
  HostTensor w(DType::kInt32, {3});
  w.ptr<int32_t>()[0] = std::numeric_limits<int32_t>::max();
  w.ptr<int32_t>()[1] = 1;
  w.ptr<int32_t>()[2] = 1;
  HostTensor got = run_op(OpKind::CumSum, CumSumAttrs{0}, {w});
  EXPECT_EQ(got.ptr<int32_t>()[1], std::numeric_limits<int32_t>::min());
  EXPECT_EQ(got.ptr<int32_t>()[2], std::numeric_limits<int32_t>::min() + 1);
}

TEST(Reference, CumSumRejectsBoolAndBadAxis) {
  Graph g;
  Value* b = g.add_input(TensorType::fixed(DType::kBool, {4}), "b");
  Value* f = g.add_input(TensorType::fixed(DType::kFloat32, {4}), "f");
  EXPECT_THROW(g.add_node(OpKind::CumSum, CumSumAttrs{0}, {b}), Error);
  EXPECT_THROW(g.add_node(OpKind::CumSum, CumSumAttrs{1}, {f}), Error);
}

TEST(Reference, ConstantIdentityAndOutputsDoNotAlias) {
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat32, {2, 3}), "x");
  HostTensor cval = random_tensor(DType::kFloat32, {3}, 91);
  Value* c = g.add_constant(cval);
  Node* add = g.add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kAdd}, {x, c});
  Node* id = g.add_node(OpKind::Identity, IdentityAttrs{}, {add->outputs[0]});
  Node* idx = g.add_node(OpKind::Identity, IdentityAttrs{}, {x});
  g.mark_output(id->outputs[0]);
  g.mark_output(c);
  g.mark_output(idx->outputs[0]);
  verify(g);
  HostTensor xv = random_tensor(DType::kFloat32, {2, 3}, 92);
  auto out = ref::run(g, {xv});
  ASSERT_EQ(out.size(), 3u);
  Shape shape;
  expect_close(out[0], {2, 3}, naive_binary_tensor(BinaryKind::kAdd, xv, cval, &shape), 1e-7, 0, "add");
  expect_close(out[1], {3}, values(cval), 0, 0, "constant");
  expect_close(out[2], {2, 3}, values(xv), 0, 0, "identity");
  // Results are the caller's: writing to them changes neither the graph's constant nor the input.
  EXPECT_NE(out[1].data(), cval.data());
  EXPECT_NE(out[2].data(), xv.data());
  HostTensor folded = ref::eval_node(*c->producer, {})[0];
  EXPECT_NE(folded.data(), cval.data());
  EXPECT_TRUE(folded.same_content(cval));
}

// ---------------------------------------------------------------------------------------------
// Graph-level behaviour

TEST(Reference, SymbolicBatchRunsAtAnySizeInRange) {
  Graph g;
  Value* x = g.add_input(TensorType(DType::kFloat32, {Dim::symbolic(0, 1, 8), Dim::fixed(3), Dim::fixed(6), Dim::fixed(6)}), "x");
  HostTensor w = random_tensor(DType::kFloat32, {4, 3, 3, 3}, 101);
  Conv2dAttrs ca;
  ca.padding = {1, 1};
  Node* conv = g.add_node(OpKind::Conv2d, ca, {x, g.add_constant(w)});
  Node* relu = g.add_node(OpKind::Unary, UnaryAttrs{UnaryKind::kRelu}, {conv->outputs[0]});
  g.mark_output(relu->outputs[0]);
  verify(g);
  for (int64_t n : {1, 3, 8}) {
    HostTensor xv = random_tensor(DType::kFloat32, {n, 3, 6, 6}, 102);
    auto out = ref::run(g, {xv});
    Shape shape;
    Vec want = naive_conv(xv, w, nullptr, ca, &shape);
    for (double& v : want) v = std::max(v, 0.0);
    expect_close(out[0], shape, want, 1e-5, 1e-6, "conv+relu");
  }
  try {
    ref::run(g, {random_tensor(DType::kFloat32, {9, 3, 6, 6}, 1)});
    FAIL() << "expected trtorch::Error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("'x'"), std::string::npos) << m;
    EXPECT_NE(m.find("[1, 8]"), std::string::npos) << m;
  }
  EXPECT_THROW(ref::run(g, {random_tensor(DType::kFloat16, {2, 3, 6, 6}, 1)}), Error);
  EXPECT_THROW(ref::run(g, {}), Error);
}

TEST(Reference, ErrorsCarryTheNodeSource) {
  Graph g;
  Value* a = g.add_input(TensorType::fixed(DType::kInt64, {3}), "a");
  Node* n = g.add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kDiv}, {a, a}, "aten::div at model.py:7");
  g.mark_output(n->outputs[0]);
  try {
    ref::run(g, {random_tensor(DType::kInt64, {3}, 1, 1, 5)});
    FAIL() << "expected trtorch::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.py:7"), std::string::npos) << e.what();
  }
}

TEST(Reference, RegisteredAsPlanExecutor) {
  ASSERT_TRUE(plan::has_backend(plan::DeviceType::kReference));
  auto engine = std::make_shared<plan::Engine>();
  engine->graph = std::make_unique<Graph>();
  Graph& g = *engine->graph;
  Value* x = g.add_input(TensorType(DType::kFloat32, {Dim::symbolic(0, 1, 4), Dim::fixed(5)}), "x");
  HostTensor w = random_tensor(DType::kFloat32, {3, 5}, 111), b = random_tensor(DType::kFloat32, {3}, 112);
  Node* lin = g.add_node(OpKind::Linear, LinearAttrs{}, {x, g.add_constant(w), g.add_constant(b)});
  g.mark_output(lin->outputs[0]);
  auto exec = plan::make_executor(engine);
  std::vector<plan::Shape> in_shapes{{2, 5}};
  auto out_shapes = exec->output_shapes(in_shapes);
  ASSERT_EQ(out_shapes, (std::vector<plan::Shape>{{2, 3}}));
  EXPECT_EQ(exec->workspace_size(in_shapes), 0u);
  HostTensor xv = random_tensor(DType::kFloat32, {2, 5}, 113);
  std::vector<float> y(6, -1.0f);
  exec->execute({xv.data()}, in_shapes, {y.data()}, nullptr, nullptr);
  HostTensor want = ref::run(g, {xv})[0];
  for (int i = 0; i < 6; ++i) EXPECT_EQ(y[size_t(i)], want.ptr<float>()[i]);
}

// ---------------------------------------------------------------------------------------------
// Speed smoke test: prints, never asserts.

namespace {
double time_conv_gflops(Shape xs, Shape ws, Conv2dAttrs a, const char* label) {
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat32, xs), "x");
  Node* n = g.add_node(OpKind::Conv2d, a, {x, g.add_constant(random_tensor(DType::kFloat32, ws, 2))});
  g.mark_output(n->outputs[0]);
  HostTensor xv = random_tensor(DType::kFloat32, xs, 1);
  Shape ys = n->outputs[0]->type.static_shape();
  double flops = 2.0 * double(numel(ys)) * double(ws[1] * ws[2] * ws[3]);
  ref::run(g, {xv});  // warm-up
  double best = 1e30;
  for (int i = 0; i < 3; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    ref::run(g, {xv});
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  double gf = flops / best * 1e-9;
  std::printf("[ speed    ] %-34s %8.2f ms  %6.1f GFLOP/s\n", label, best * 1e3, gf);
  return gf;
}
}  // namespace

TEST(ReferenceSpeed, ConvGflops) {
  Conv2dAttrs same;
  same.padding = {1, 1};
  time_conv_gflops({1, 256, 56, 56}, {256, 256, 3, 3}, same, "conv 3x3 1x256x56x56 -> 256");
  time_conv_gflops({1, 1024, 14, 14}, {256, 1024, 1, 1}, Conv2dAttrs{}, "conv 1x1 1x1024x14x14 -> 256");
  Conv2dAttrs dw;
  dw.padding = {1, 1};
  dw.groups = 144;
  time_conv_gflops({1, 144, 56, 56}, {144, 1, 3, 3}, dw, "depthwise 3x3 1x144x56x56");
}

// The reference QConv2d builds its im2col matrix for runs of output pixels (16 MiB at most): a
// layer whose matrix is larger (1152 x 16900 here: two runs, split inside a row of the 3x3
// windows) gives the oracle's result.
TEST(Reference, QConv2dLargerThanOneIm2colRun) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> d(-128, 127);
  auto int8s = [&](std::vector<int64_t> shape) {
    HostTensor t(DType::kInt8, std::move(shape));
    for (int64_t i = 0; i < t.numel(); ++i) t.set(i, d(rng));
    return t;
  };
  HostTensor x = int8s({1, 128, 130, 130}), w = int8s({8, 128, 3, 3});
  HostTensor b(DType::kFloat32, {8});
  QConv2dAttrs a;
  a.padding = {1, 1};
  a.q.x_scale = 0.01;
  a.q.w_scale = HostTensor(DType::kFloat32, {8});
  for (int64_t k = 0; k < 8; ++k) {
    a.q.w_scale.set(k, 0.001 * double(k + 1));
    b.set(k, 0.5 * double(k) - 2);
  }
  a.q.y_scale = 0.5;
  Graph g;
  Value* xv = g.add_input(TensorType::fixed(DType::kInt8, x.shape), "x");
  g.mark_output(g.add_node(OpKind::QConv2d, a, {xv, g.add_constant(w), g.add_constant(b)})->outputs[0]);
  const HostTensor got = backends::reference::run(g, {x})[0];
  const Expected want = oracle(OpKind::QConv2d, a, {x, w, b})[0];
  ASSERT_EQ(got.shape, want.shape);
  int64_t off = 0, saturated = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    off += std::abs(got.get(i) - want.values[size_t(i)]) > 1;  // one step: an FP32 rounding at a half step
    saturated += std::abs(want.values[size_t(i)]) >= 127;
  }
  EXPECT_EQ(off, 0);
  EXPECT_LT(saturated, got.numel() / 10);  // the outputs spread over the int8 range
}
