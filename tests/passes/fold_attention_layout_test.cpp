// fold_attention_layout: numbers (reference backend before and after agree) and structure.
#include <gtest/gtest.h>

#include "core/backends/reference/reference.h"
#include "core/passes/passes.h"
#include "tests/passes/pass_test_util.h"

using namespace trtorch;
using namespace trtorch::ir;
using trtorch::pass_test::count;
using trtorch::pass_test::random_tensor;

namespace {

constexpr int64_t B = 2, L = 5, S = 7, H = 3, D = 4;

Value* heads_first(Graph& g, Value* x) {
  TransposeAttrs t;
  t.perm = {0, 2, 1, 3};
  return g.add_node(OpKind::Transpose, t, {x})->outputs[0];
}

// A multi-head attention block as the converters emit it: [B, seq, H, d] projections, heads
// transposed out, attention, heads transposed back and flattened. `also_raw` makes the raw
// [B, H, L, d] attention output a graph output too; `bias` adds a [B, 1, L, S] bias.
std::unique_ptr<Graph> block(DType dt, bool also_raw, bool bias, bool causal) {
  auto g = std::make_unique<Graph>();
  Value* q = g->add_input(TensorType::fixed(dt, {B, L, H, D}), "q");
  Value* k = g->add_input(TensorType::fixed(dt, {B, S, H, D}), "k");
  Value* v = g->add_input(TensorType::fixed(dt, {B, S, H, D}), "v");
  AttentionAttrs a;
  a.scale = 0.5;
  a.causal = causal;
  std::vector<Value*> ins{heads_first(*g, q), heads_first(*g, k), heads_first(*g, v)};
  if (bias) ins.push_back(g->add_input(TensorType::fixed(dt, {B, 1, L, S}), "bias"));
  Value* o = g->add_node(OpKind::Attention, a, ins)->outputs[0];
  ReshapeAttrs r;
  r.shape = {B, L, H * D};
  g->mark_output(g->add_node(OpKind::Reshape, r, {heads_first(*g, o)})->outputs[0]);
  if (also_raw) g->mark_output(o);
  return g;
}

std::vector<HostTensor> inputs(DType dt, bool bias) {
  std::vector<HostTensor> in{random_tensor(dt, {B, L, H, D}, 1), random_tensor(dt, {B, S, H, D}, 2),
                             random_tensor(dt, {B, S, H, D}, 3)};
  if (bias) in.push_back(random_tensor(dt, {B, 1, L, S}, 4));
  return in;
}

void expect_same(const std::vector<HostTensor>& a, const std::vector<HostTensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t o = 0; o < a.size(); ++o) {
    ASSERT_EQ(a[o].shape, b[o].shape);
    for (int64_t i = 0; i < a[o].numel(); ++i) ASSERT_NEAR(a[o].get(i), b[o].get(i), 1e-6) << "output " << o << " [" << i << "]";
  }
}

}  // namespace

TEST(FoldAttentionLayout, DropsEveryTransposeOfAMultiHeadBlock) {
  for (bool bias : {false, true}) {
    for (bool causal : {false, true}) {
      if (bias && causal) continue;
      SCOPED_TRACE(std::string("bias ") + (bias ? "1" : "0") + " causal " + (causal ? "1" : "0"));
      auto g = block(DType::kFloat32, false, bias, causal);
      auto in = inputs(DType::kFloat32, bias);
      auto before = backends::reference::run(*g, in);
      ASSERT_TRUE(passes::fold_attention_layout(*g));
      ASSERT_TRUE(passes::dead_code_elimination(*g));
      verify(*g);
      EXPECT_EQ(count(*g, OpKind::Transpose), 0);
      ASSERT_EQ(count(*g, OpKind::Attention), 1);
      for (Node* n : g->nodes())
        if (n->op == OpKind::Attention) EXPECT_TRUE(n->attr<AttentionAttrs>().bshd);
      expect_same(backends::reference::run(*g, in), before);
      EXPECT_FALSE(passes::fold_attention_layout(*g)) << "a second run finds nothing";
    }
  }
}

TEST(FoldAttentionLayout, KeepsTheHeadsFirstResultForOtherUsers) {
  auto g = block(DType::kFloat16, true, true, false);
  auto in = inputs(DType::kFloat16, true);
  auto before = backends::reference::run(*g, in);
  ASSERT_TRUE(passes::fold_attention_layout(*g));
  passes::dead_code_elimination(*g);
  verify(*g);
  // The raw output is restored by one Transpose; the input transposes are gone.
  EXPECT_EQ(count(*g, OpKind::Transpose), 1);
  expect_same(backends::reference::run(*g, in), before);
}

TEST(FoldAttentionLayout, LeavesOtherLayoutsAlone) {
  // q is not a heads-first transpose: nothing to fold.
  Graph g;
  Value* q = g.add_input(TensorType::fixed(DType::kFloat32, {B, H, L, D}), "q");
  Value* k = g.add_input(TensorType::fixed(DType::kFloat32, {B, S, H, D}), "k");
  Value* v = g.add_input(TensorType::fixed(DType::kFloat32, {B, S, H, D}), "v");
  g.mark_output(g.add_node(OpKind::Attention, AttentionAttrs{}, {q, heads_first(g, k), heads_first(g, v)})->outputs[0]);
  EXPECT_FALSE(passes::fold_attention_layout(g));
  // A transpose with another permutation is not the heads swap either.
  Graph g2;
  Value* x = g2.add_input(TensorType::fixed(DType::kFloat32, {B, D, H, L}), "x");
  TransposeAttrs t;
  t.perm = {0, 2, 3, 1};
  Value* qq = g2.add_node(OpKind::Transpose, t, {x})->outputs[0];  // [B, H, L, D]
  Value* kk = g2.add_input(TensorType::fixed(DType::kFloat32, {B, H, S, D}), "k");
  Value* vv = g2.add_input(TensorType::fixed(DType::kFloat32, {B, H, S, D}), "v");
  g2.mark_output(g2.add_node(OpKind::Attention, AttentionAttrs{}, {qq, kk, vv})->outputs[0]);
  EXPECT_FALSE(passes::fold_attention_layout(g2));
}
