// fuse_epilogues: numbers (reference backend before and after agree) and structure.
#include <gtest/gtest.h>

#include "core/backends/reference/reference.h"
#include "core/passes/passes.h"
#include "tests/passes/pass_test_util.h"

using namespace trtorch;
using namespace trtorch::ir;
using trtorch::pass_test::count;
using trtorch::pass_test::max_rel;
using trtorch::pass_test::random_tensor;

namespace {

// A ResNet bottleneck tail: the residual (a downsample conv) is computed after the main conv.
std::unique_ptr<Graph> bottleneck(DType dt) {
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input(TensorType::fixed(dt, {2, 8, 6, 6}), "x");
  Value* w1 = g->add_constant(random_tensor(dt, {16, 8, 3, 3}, 1));
  Value* b1 = g->add_constant(random_tensor(dt, {16}, 2));
  Conv2dAttrs c3;
  c3.padding = {1, 1};
  Value* main = g->add_node(OpKind::Conv2d, c3, {x, w1, b1})->outputs[0];
  Value* wd = g->add_constant(random_tensor(dt, {16, 8, 1, 1}, 3));
  Value* down = g->add_node(OpKind::Conv2d, Conv2dAttrs{}, {x, wd})->outputs[0];
  Value* sum = g->add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kAdd}, {main, down})->outputs[0];
  Value* act = g->add_node(OpKind::Unary, UnaryAttrs{UnaryKind::kRelu}, {sum})->outputs[0];
  // A Linear with GELU after pooling.
  AdaptivePool2dAttrs pa;
  Value* pooled = g->add_node(OpKind::AdaptivePool2d, pa, {act})->outputs[0];
  ReshapeAttrs ra;
  ra.shape = {2, 16};
  Value* flat = g->add_node(OpKind::Reshape, ra, {pooled})->outputs[0];
  Value* lw = g->add_constant(random_tensor(dt, {5, 16}, 4));
  Value* lin = g->add_node(OpKind::Linear, LinearAttrs{}, {flat, lw})->outputs[0];
  UnaryAttrs gelu{UnaryKind::kGeluErf};
  g->mark_output(g->add_node(OpKind::Unary, gelu, {lin})->outputs[0]);
  g->mark_output(act);  // a second output: the conv chain's result itself
  return g;
}

TEST(FuseEpilogues, ResidualAndActivationIntoConvAndLinear) {
  for (DType dt : {DType::kFloat32, DType::kFloat16}) {
    auto g = bottleneck(dt);
    auto before = g->clone();
    HostTensor x = random_tensor(dt, {2, 8, 6, 6}, 9);
    auto want = backends::reference::run(*before, {x});
    ASSERT_TRUE(passes::fuse_epilogues(*g));
    verify(*g);
    // The relu output is a graph output: the add+relu still fuse into the conv whose output is
    // that graph output; the Linear absorbs the GELU.
    EXPECT_EQ(count(*g, OpKind::Binary), 0);
    EXPECT_EQ(count(*g, OpKind::Unary), 0);
    int fused_convs = 0;
    for (Node* n : g->nodes()) {
      if (n->op == OpKind::Conv2d && n->attr<Conv2dAttrs>().has_residual) {
        ++fused_convs;
        EXPECT_TRUE(n->attr<Conv2dAttrs>().has_act);
        EXPECT_EQ(n->attr<Conv2dAttrs>().act, UnaryKind::kRelu);
        EXPECT_EQ(n->inputs.size(), 4u);
      }
      if (n->op == OpKind::Linear) EXPECT_EQ(n->attr<LinearAttrs>().act, UnaryKind::kGeluErf);
    }
    EXPECT_EQ(fused_convs, 1);
    EXPECT_FALSE(passes::fuse_epilogues(*g)) << "a second run finds nothing";
    auto got = backends::reference::run(*g, {x});
    ASSERT_EQ(got.size(), want.size());
    // FP16: the fused node rounds once instead of three times (one half ulp each).
    double tol = dt == DType::kFloat32 ? 1e-6 : 2e-3;
    for (size_t i = 0; i < got.size(); ++i) EXPECT_LE(max_rel(got[i], want[i]), tol);
  }
}

TEST(FuseEpilogues, LeavesSharedAndBroadcastChainsAlone) {
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat32, {1, 4, 5, 5}), "x");
  Value* w = g.add_constant(random_tensor(DType::kFloat32, {4, 4, 1, 1}, 5));
  Value* c = g.add_node(OpKind::Conv2d, Conv2dAttrs{}, {x, w})->outputs[0];
  // c has two users: nothing may fuse into it.
  Value* r1 = g.add_node(OpKind::Unary, UnaryAttrs{UnaryKind::kRelu}, {c})->outputs[0];
  Value* r2 = g.add_node(OpKind::Unary, UnaryAttrs{UnaryKind::kSigmoid}, {c})->outputs[0];
  // A broadcast add (per-channel scale) is not a residual.
  Value* c2 = g.add_node(OpKind::Conv2d, Conv2dAttrs{}, {r1, w})->outputs[0];
  Value* s = g.add_constant(random_tensor(DType::kFloat32, {1, 4, 1, 1}, 6));
  Value* y = g.add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kAdd}, {c2, s})->outputs[0];
  g.mark_output(y);
  g.mark_output(r2);
  EXPECT_FALSE(passes::fuse_epilogues(g));
  EXPECT_EQ(count(g, OpKind::Unary), 2);
  EXPECT_EQ(count(g, OpKind::Binary), 1);
}

}  // namespace

// Binary add -> LayerNorm becomes LayerNorm{has_residual}; an add with another user stays.
TEST(FuseEpilogues, ResidualAddIntoLayerNorm) {
  for (bool shared : {false, true}) {
    SCOPED_TRACE(shared ? "add output shared" : "add feeds only the norm");
    Graph g;
    Value* x = g.add_input(TensorType::fixed(DType::kFloat32, {3, 8}), "x");
    Value* r = g.add_input(TensorType::fixed(DType::kFloat32, {3, 8}), "r");
    Value* sum = g.add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kAdd}, {x, r})->outputs[0];
    Value* w = g.add_constant(random_tensor(DType::kFloat32, {8}, 5));
    Value* b = g.add_constant(random_tensor(DType::kFloat32, {8}, 6));
    g.mark_output(g.add_node(OpKind::LayerNorm, LayerNormAttrs{}, {sum, w, b})->outputs[0]);
    if (shared) g.mark_output(sum);
    std::vector<HostTensor> in{random_tensor(DType::kFloat32, {3, 8}, 7), random_tensor(DType::kFloat32, {3, 8}, 8)};
    auto before = backends::reference::run(g, in);
    EXPECT_EQ(passes::fuse_epilogues(g), !shared);
    verify(g);
    EXPECT_EQ(count(g, OpKind::Binary), shared ? 1 : 0);
    for (Node* n : g.nodes())
      if (n->op == OpKind::LayerNorm) EXPECT_EQ(n->attr<LayerNormAttrs>().has_residual, !shared);
    auto after = backends::reference::run(g, in);
    for (size_t o = 0; o < before.size(); ++o) EXPECT_LE(max_rel(after[o], before[o]), 1e-6);
  }
}
