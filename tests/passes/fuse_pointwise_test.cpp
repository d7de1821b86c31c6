// fuse_pointwise: structure (which nodes become one Pointwise, what stays) and numbers (the
// reference backend before and after agree; FP16 rounds once instead of once per op), the
// program's validation in shape inference, and a round trip through the engine format.
#include <gtest/gtest.h>

#include "core/backends/reference/reference.h"
#include "core/passes/passes.h"
#include "core/util/error.h"
#include "tests/passes/pass_test_util.h"

using namespace trtorch;
using namespace trtorch::ir;
using trtorch::pass_test::count;
using trtorch::pass_test::max_rel;
using trtorch::pass_test::random_tensor;

namespace {

Value* unary(Graph& g, UnaryKind k, Value* x, double alpha = 0) {
  UnaryAttrs a{k};
  a.alpha = alpha;
  return g.add_node(OpKind::Unary, a, {x})->outputs[0];
}
Value* binary(Graph& g, BinaryKind k, Value* x, Value* y) {
  return g.add_node(OpKind::Binary, BinaryAttrs{k}, {x, y})->outputs[0];
}
Value* constant(Graph& g, DType t, std::vector<int64_t> shape, double v) {
  HostTensor c(t, shape);
  for (int64_t i = 0; i < c.numel(); ++i) c.set(i, v);
  return g.add_constant(c);
}

// x [2, 8, 5, 5], c [8, 1, 1]:
//   gate = tanh(x * sigmoid(x) * 0.5 + c)         one group (x read twice, 0.5 an immediate)
//   r = relu(x); out2 = r + 1, out3 = r * r        r has two users: relu, the add and the mul stay
//   out4 = exp(gate) - gate is not fused into gate's group (gate has two users)
std::unique_ptr<Graph> model(DType t) {
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input(TensorType::fixed(t, {2, 8, 5, 5}), "x");
  Value* c = g->add_input(TensorType::fixed(t, {8, 1, 1}), "c");
  Value* v = binary(*g, BinaryKind::kMul, x, unary(*g, UnaryKind::kSigmoid, x));
  v = binary(*g, BinaryKind::kAdd, binary(*g, BinaryKind::kMul, v, constant(*g, t, {1}, 0.5)), c);
  Value* gate = unary(*g, UnaryKind::kTanh, v);
  g->mark_output(gate);
  Value* r = unary(*g, UnaryKind::kRelu, x);
  g->mark_output(binary(*g, BinaryKind::kAdd, r, constant(*g, t, {1}, 1.0)));
  g->mark_output(binary(*g, BinaryKind::kMul, r, r));
  g->mark_output(binary(*g, BinaryKind::kSub, unary(*g, UnaryKind::kExp, gate), gate));
  return g;
}

TEST(FusePointwise, StructureAndNumbers) {
  for (DType dt : {DType::kFloat32, DType::kFloat16}) {
    SCOPED_TRACE(dtype_name(dt));
    auto g = model(dt);
    auto before = g->clone();
    std::vector<HostTensor> in = {random_tensor(dt, {2, 8, 5, 5}, 1), random_tensor(dt, {8, 1, 1}, 2)};
    auto want = backends::reference::run(*before, in);
    ASSERT_TRUE(passes::fuse_pointwise(*g));
    verify(*g);
    // gate's five ops, and exp(gate) - gate: two Pointwise nodes. relu, r + 1 and r * r stay.
    EXPECT_EQ(count(*g, OpKind::Pointwise), 2);
    EXPECT_EQ(count(*g, OpKind::Unary), 1);
    EXPECT_EQ(count(*g, OpKind::Binary), 2);
    for (Node* n : g->nodes()) {
      if (n->op != OpKind::Pointwise) continue;
      const auto& a = n->attr<PointwiseAttrs>();
      if (n->outputs[0] == g->outputs()[0]) {
        // Inputs x and c; instructions sigmoid, mul, immediate 0.5, mul, add, tanh.
        ASSERT_EQ(n->inputs.size(), 2u);
        EXPECT_EQ(n->inputs[0], g->inputs()[0]);
        EXPECT_EQ(n->inputs[1], g->inputs()[1]);
        ASSERT_EQ(a.instructions(), 6u);
        EXPECT_EQ(a.code[0], PointwiseAttrs::kUnary);
        EXPECT_EQ(a.code[8], PointwiseAttrs::kImmediate);
        EXPECT_EQ(a.params.ptr<float>()[4], 0.5f);
        EXPECT_EQ(a.code[20], PointwiseAttrs::kUnary);
        EXPECT_EQ(a.code[21], int64_t(UnaryKind::kTanh));
        EXPECT_EQ(n->outputs[0]->type, before->outputs()[0]->type);
      } else {
        EXPECT_EQ(n->outputs[0], g->outputs()[3]);
        EXPECT_EQ(n->inputs.size(), 1u);  // gate, read by exp and by the sub
        EXPECT_EQ(a.instructions(), 2u);
      }
    }
    EXPECT_FALSE(passes::fuse_pointwise(*g)) << "a second run finds nothing";
    passes::dead_code_elimination(*g);
    EXPECT_EQ(count(*g, OpKind::Constant), 1);  // 0.5 became an immediate; the 1 of r + 1 stays
    auto got = backends::reference::run(*g, in);
    ASSERT_EQ(got.size(), want.size());
    // FP16: the fused chain rounds once, the unfused one after each of its ops.
    const double tol = dt == DType::kFloat32 ? 1e-6 : 4e-3;
    for (size_t i = 0; i < got.size(); ++i) EXPECT_LE(max_rel(got[i], want[i]), tol) << "output " << i;
  }
}

// Fusing must not change the output's shape: x [4] * ones [1, 1, 1] is [1, 1, 4]; the constant
// stays an input (as an immediate it would not broadcast).
TEST(FusePointwise, ConstantThatBroadcastsStaysAnInput) {
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat32, {4}), "x");
  Value* y = binary(g, BinaryKind::kMul, unary(g, UnaryKind::kAbs, x), constant(g, DType::kFloat32, {1, 1, 1}, 2.0));
  g.mark_output(y);
  HostTensor in = random_tensor(DType::kFloat32, {4}, 3);
  auto want = backends::reference::run(g, {in});
  ASSERT_TRUE(passes::fuse_pointwise(g));
  verify(g);
  ASSERT_EQ(count(g, OpKind::Pointwise), 1);
  for (Node* n : g.nodes())
    if (n->op == OpKind::Pointwise) {
      EXPECT_EQ(n->inputs.size(), 2u);
      EXPECT_EQ(n->outputs[0]->type, TensorType::fixed(DType::kFloat32, {1, 1, 4}));
    }
  auto got = backends::reference::run(g, {in});
  EXPECT_EQ(got[0].shape, want[0].shape);
  EXPECT_LE(max_rel(got[0], want[0]), 1e-7);
}

// Integer chains, single ops and graph outputs in the middle of a chain are left alone.
TEST(FusePointwise, LeavesWhatItMustNot) {
  Graph g;
  Value* i = g.add_input(TensorType::fixed(DType::kInt32, {6}), "i");
  g.mark_output(binary(g, BinaryKind::kAdd, binary(g, BinaryKind::kMul, i, i), i));  // int32
  Value* x = g.add_input(TensorType::fixed(DType::kFloat32, {6}), "x");
  Value* e = unary(g, UnaryKind::kExp, x);
  g.mark_output(e);  // a graph output: not internal
  g.mark_output(unary(g, UnaryKind::kNeg, e));
  g.mark_output(unary(g, UnaryKind::kAbs, x));  // a single op
  EXPECT_FALSE(passes::fuse_pointwise(g));
  EXPECT_EQ(count(g, OpKind::Pointwise), 0);
}

// A chain longer than one kernel may hold is cut in pieces, each a valid program.
TEST(FusePointwise, LongChain) {
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat32, {3, 5}), "x");
  Value* v = x;
  for (int k = 0; k < 150; ++k) v = unary(g, k % 2 ? UnaryKind::kTanh : UnaryKind::kLeakyRelu, v, 0.5);
  g.mark_output(v);
  HostTensor in = random_tensor(DType::kFloat32, {3, 5}, 4);
  auto want = backends::reference::run(g, {in});
  ASSERT_TRUE(passes::fuse_pointwise(g));
  verify(g);
  EXPECT_EQ(count(g, OpKind::Unary), 0);
  EXPECT_EQ(count(g, OpKind::Pointwise), 3);  // 64 + 64 + 22
  EXPECT_LE(max_rel(backends::reference::run(g, {in})[0], want[0]), 1e-6);
}

// Dynamic shapes: a chain over a symbolic batch dim fuses, keeps the symbolic output type, and
// the specialized graphs agree with the unfused one at two batch sizes.
TEST(FusePointwise, SymbolicDims) {
  Graph g;
  Value* x = g.add_input(TensorType(DType::kFloat32, {Dim::symbolic(0, 1, 8), Dim::fixed(6)}), "x");
  Value* c = g.add_constant(random_tensor(DType::kFloat32, {6}, 5));
  Value* y = unary(g, UnaryKind::kTanh, binary(g, BinaryKind::kMul, unary(g, UnaryKind::kSigmoid, x), c));
  g.mark_output(binary(g, BinaryKind::kAdd, y, constant(g, DType::kFloat32, {1}, 0.25)));
  auto before = g.clone();
  ASSERT_TRUE(passes::fuse_pointwise(g));
  verify(g);
  ASSERT_EQ(count(g, OpKind::Pointwise), 1);
  EXPECT_EQ(g.outputs()[0]->type, before->outputs()[0]->type);
  EXPECT_FALSE(g.outputs()[0]->type.dims[0].is_static());
  for (int64_t batch : {1, 5}) {
    HostTensor in = random_tensor(DType::kFloat32, {batch, 6}, 6);
    auto want = backends::reference::run(*specialize(*before, {{batch, 6}}), {in});
    auto got = backends::reference::run(*specialize(g, {{batch, 6}}), {in});
    EXPECT_EQ(got[0].shape, (std::vector<int64_t>{batch, 6}));
    EXPECT_LE(max_rel(got[0], want[0]), 1e-6) << "batch " << batch;
  }
}

// Shape inference rejects a malformed program with a message naming the fault.
TEST(FusePointwise, MalformedProgramIsRejected) {
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat32, {4}), "x");
  PointwiseAttrs a;
  a.code = {PointwiseAttrs::kBinary, int64_t(BinaryKind::kAdd), 0, 5};  // register 5 does not exist
  a.params = HostTensor(DType::kFloat32, {2});
  try {
    g.add_node(OpKind::Pointwise, a, {x});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("reads registers 0 and 5 of 1 defined"), std::string::npos) << e.what();
  }
  a.code = {PointwiseAttrs::kUnary, int64_t(UnaryKind::kCount), 0, 0};
  EXPECT_THROW(g.add_node(OpKind::Pointwise, a, {x}), Error);
  a.code = {PointwiseAttrs::kUnary, int64_t(UnaryKind::kExp), 0, 0};
  a.params = HostTensor(DType::kFloat32, {3});
  EXPECT_THROW(g.add_node(OpKind::Pointwise, a, {x}), Error);
  Value* i = g.add_input(TensorType::fixed(DType::kInt32, {4}), "i");
  a.params = HostTensor(DType::kFloat32, {2});
  EXPECT_THROW(g.add_node(OpKind::Pointwise, a, {i}), Error);
}

}  // namespace
