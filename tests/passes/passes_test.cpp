// Passes: for each pass, the numbers before and after agree on the reference backend, and the
// expected structure is there; the pass manager verifies, dumps and attributes failures.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/backends/reference/reference.h"
#include "core/passes/passes.h"
#include "core/plan/builder.h"
#include "core/util/error.h"

using namespace trtorch;
using namespace trtorch::ir;
namespace ref = trtorch::backends::reference;
using Shape = std::vector<int64_t>;

namespace {

HostTensor random_tensor(DType t, Shape shape, uint32_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> d(lo, hi);
  HostTensor h(t, shape);
  for (int64_t i = 0; i < h.numel(); ++i) h.set(i, d(gen));
  return h;
}

int count_ops(const Graph& g, OpKind k) {
  int n = 0;
  for (const Node* node : g.nodes()) n += node->op == k;
  return n;
}

// Random inputs for every graph input (symbolic dims at their max).
std::vector<HostTensor> random_inputs(const Graph& g, uint32_t seed) {
  std::vector<HostTensor> in;
  for (const Value* v : g.inputs()) {
    Shape s;
    for (const Dim& d : v->type.dims) s.push_back(d.max);
    in.push_back(random_tensor(v->type.dtype, s, seed++));
  }
  return in;
}

// Max over outputs of |a - b| / max(1, max|a|).
double max_rel_diff(const std::vector<HostTensor>& a, const std::vector<HostTensor>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t o = 0; o < a.size() && o < b.size(); ++o) {
    EXPECT_EQ(a[o].shape, b[o].shape);
    EXPECT_EQ(a[o].dtype, b[o].dtype);
    double scale = 1;
    for (int64_t i = 0; i < a[o].numel(); ++i) scale = std::max(scale, std::abs(a[o].get(i)));
    for (int64_t i = 0; i < a[o].numel() && i < b[o].numel(); ++i)
      worst = std::max(worst, std::abs(a[o].get(i) - b[o].get(i)) / scale);
  }
  return worst;
}

// Applies `pass` to a copy of g; checks it changed something, verifies, and compares numbers.
std::unique_ptr<Graph> apply_and_compare(const Graph& g, const passes::PassFn& pass, double tol = 1e-5) {
  auto after = g.clone();
  EXPECT_TRUE(pass(*after));
  EXPECT_NO_THROW(verify(*after));
  for (uint32_t seed : {1u, 2u}) {
    auto in = random_inputs(g, seed * 100);
    EXPECT_LE(max_rel_diff(ref::run(g, in), ref::run(*after, in)), tol);
  }
  return after;
}

Value* conv(Graph& g, Value* x, int64_t k, int64_t c, bool bias, uint32_t seed, DType t = DType::kFloat32) {
  Conv2dAttrs a;
  a.padding = {1, 1};
  std::vector<Value*> ins{x, g.add_constant(random_tensor(t, {k, c, 3, 3}, seed))};
  if (bias) ins.push_back(g.add_constant(random_tensor(t, {k}, seed + 1)));
  return g.add_node(OpKind::Conv2d, a, ins, "aten::conv2d")->outputs[0];
}

Value* batch_norm(Graph& g, Value* x, int64_t c, uint32_t seed, DType t = DType::kFloat32) {
  std::vector<Value*> ins{x,
                          g.add_constant(random_tensor(t, {c}, seed, 0.5, 1.5)),
                          g.add_constant(random_tensor(t, {c}, seed + 1)),
                          g.add_constant(random_tensor(t, {c}, seed + 2)),
                          g.add_constant(random_tensor(t, {c}, seed + 3, 0.2, 2.0))};
  return g.add_node(OpKind::BatchNorm, BatchNormAttrs{1e-5}, ins, "aten::batch_norm")->outputs[0];
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// constant_folding

TEST(ConstantFolding, FoldsConstantSubgraphs) {
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat32, {2, 12}), "x");
  Value* c1 = g.add_constant(random_tensor(DType::kFloat32, {3, 4}, 1));
  Value* c2 = g.add_constant(random_tensor(DType::kFloat32, {3, 4}, 2));
  Value* prod = g.add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kMul}, {c1, c2})->outputs[0];
  ReshapeAttrs r;
  r.shape = {12};
  Value* flat = g.add_node(OpKind::Reshape, r, {prod})->outputs[0];
  Value* e = g.add_node(OpKind::Unary, UnaryAttrs{UnaryKind::kExp}, {flat})->outputs[0];
  Value* y = g.add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kAdd}, {x, e})->outputs[0];
  g.mark_output(y);
  auto after = apply_and_compare(g, passes::constant_folding);
  EXPECT_EQ(count_ops(*after, OpKind::Unary), 0);
  EXPECT_EQ(count_ops(*after, OpKind::Reshape), 0);
  EXPECT_EQ(count_ops(*after, OpKind::Binary), 1);  // only the add that reads x
  EXPECT_TRUE(passes::dead_code_elimination(*after));
  verify(*after);
  EXPECT_EQ(count_ops(*after, OpKind::Constant), 1);
  EXPECT_EQ(after->num_nodes(), 2u);
  EXPECT_FALSE(passes::constant_folding(*after));
}

TEST(ConstantFolding, LeavesWhatTheBackendRejects) {
  Graph g;
  HostTensor ints(DType::kInt32, {3});
  for (int i = 0; i < 3; ++i) ints.set(i, i + 1);
  Value* c = g.add_constant(ints);
  Node* div = g.add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kDiv}, {c, c});
  g.mark_output(div->outputs[0]);
  EXPECT_FALSE(passes::constant_folding(g));
  EXPECT_EQ(count_ops(g, OpKind::Binary), 1);
}

// ---------------------------------------------------------------------------------------------
// dead_code_elimination

TEST(DeadCodeElimination, RemovesUnusedBranches) {
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat32, {4, 5}), "x");
  Value* used = g.add_node(OpKind::Unary, UnaryAttrs{UnaryKind::kTanh}, {x})->outputs[0];
  Value* dead1 = g.add_node(OpKind::Unary, UnaryAttrs{UnaryKind::kExp}, {x})->outputs[0];
  Value* dead_c = g.add_constant(random_tensor(DType::kFloat32, {5}, 3));
  g.add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kAdd}, {dead1, dead_c});
  g.mark_output(used);
  auto after = apply_and_compare(g, passes::dead_code_elimination, 0.0);
  ASSERT_EQ(after->num_nodes(), 1u);
  EXPECT_EQ(after->nodes()[0]->op, OpKind::Unary);
  EXPECT_EQ(after->inputs().size(), 1u);  // graph inputs are interface: kept
  EXPECT_FALSE(passes::dead_code_elimination(*after));
}

// ---------------------------------------------------------------------------------------------
// fold_batch_norm

TEST(FoldBatchNorm, ConvWithAndWithoutBias) {
  for (bool bias : {false, true}) {
    SCOPED_TRACE(bias ? "bias" : "no bias");
    Graph g;
    Value* x = g.add_input(TensorType(DType::kFloat32, {Dim::symbolic(0, 1, 2), Dim::fixed(3), Dim::fixed(8), Dim::fixed(8)}), "x");
    Value* y = batch_norm(g, conv(g, x, 6, 3, bias, 10), 6, 20);
    g.mark_output(g.add_node(OpKind::Unary, UnaryAttrs{UnaryKind::kRelu}, {y})->outputs[0]);
    auto after = apply_and_compare(g, passes::fold_batch_norm);
    EXPECT_EQ(count_ops(*after, OpKind::BatchNorm), 0);
    ASSERT_EQ(count_ops(*after, OpKind::Conv2d), 1);
    for (const Node* n : after->nodes())
      if (n->op == OpKind::Conv2d) {
        EXPECT_EQ(n->inputs.size(), 3u);  // a bias is created when there was none
        EXPECT_EQ(n->source, "aten::conv2d");
      }
    EXPECT_FALSE(passes::fold_batch_norm(*after));
  }
}

TEST(FoldBatchNorm, LinearRank2) {
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat32, {4, 10}), "x");
  Value* w = g.add_constant(random_tensor(DType::kFloat32, {7, 10}, 1));
  Value* lin = g.add_node(OpKind::Linear, LinearAttrs{}, {x, w})->outputs[0];
  g.mark_output(batch_norm(g, lin, 7, 5));
  auto after = apply_and_compare(g, passes::fold_batch_norm);
  EXPECT_EQ(count_ops(*after, OpKind::BatchNorm), 0);
  EXPECT_EQ(count_ops(*after, OpKind::Linear), 1);
}

TEST(FoldBatchNorm, HalfWeightsFoldInFloatAndRoundOnce) {
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat16, {1, 4, 6, 6}), "x");
  Value* y = batch_norm(g, conv(g, x, 5, 4, true, 30, DType::kFloat16), 5, 40, DType::kFloat16);
  g.mark_output(y);
  // Before: the conv output and the BatchNorm output are each rounded to FP16; after: the folded
  // weights and the conv output are. Each rounding is 2^-11 relative, so a few of them bound it.
  auto after = apply_and_compare(g, passes::fold_batch_norm, 4 * std::ldexp(1.0, -11));
  EXPECT_EQ(count_ops(*after, OpKind::BatchNorm), 0);
  // The folded weights are FP16; the folded bias stays FP32 (the epilogue adds it in FP32).
  for (const Node* n : after->nodes())
    if (n->op == OpKind::Conv2d) {
      EXPECT_EQ(n->inputs[1]->type.dtype, DType::kFloat16);
      EXPECT_EQ(n->inputs[2]->type.dtype, DType::kFloat32);
    }
}

// assign_precision (the builder's step between its two pipeline runs)

// In an FP16 engine a constant used only as a Conv2d bias stays FP32; weights, Linear biases and
// a constant that is also used elsewhere become FP16.
TEST(AssignPrecision, ConvBiasStaysFloat32) {
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat32, {1, 4, 6, 6}), "x");
  Value* c1 = conv(g, x, 4, 4, true, 1);
  Value* shared = g.add_constant(random_tensor(DType::kFloat32, {4}, 3));
  Conv2dAttrs a;
  a.padding = {1, 1};
  Value* c2 = g.add_node(OpKind::Conv2d, a, {c1, g.add_constant(random_tensor(DType::kFloat32, {4, 4, 3, 3}, 4)), shared})
                  ->outputs[0];
  Value* flat = g.add_node(OpKind::Reshape, ReshapeAttrs{{Dim::fixed(1), Dim::fixed(144)}}, {c2})->outputs[0];
  Value* lin = g.add_node(OpKind::Linear, LinearAttrs{},
                          {flat, g.add_constant(random_tensor(DType::kFloat32, {4, 144}, 5)),
                           g.add_constant(random_tensor(DType::kFloat32, {4}, 6))})->outputs[0];
  g.mark_output(g.add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kMul}, {lin, shared})->outputs[0]);
  auto before = g.clone();
  plan::assign_precision(g, DType::kFloat16);
  EXPECT_NO_THROW(verify(g));
  const Node* convs[2] = {c1->producer, c2->producer};
  EXPECT_EQ(convs[0]->inputs[1]->type.dtype, DType::kFloat16);
  EXPECT_EQ(convs[0]->inputs[2]->type.dtype, DType::kFloat32);  // its own bias
  EXPECT_EQ(convs[1]->inputs[2]->type.dtype, DType::kFloat16);  // also read by the Mul
  EXPECT_EQ(lin->producer->inputs[2]->type.dtype, DType::kFloat16);
  EXPECT_EQ(lin->type.dtype, DType::kFloat16);
  // Numbers: the FP16 graph stays within FP16 rounding of the FP32 one.
  auto in = random_inputs(*before, 7);
  std::vector<HostTensor> in16{in[0].to(DType::kFloat16)};
  auto y32 = ref::run(*before, in), y16 = ref::run(g, in16);
  y16[0] = y16[0].to(DType::kFloat32);
  EXPECT_LE(max_rel_diff(y32, y16), 0.02);
}

// fp32_inputs / fp32_outputs (partial compilation's FP32 boundary tensors): the chosen FP32 inputs
// and outputs stay FP32 and are cast inside the graph; the others take the engine precision. The
// graph computes what the FP32 one does, within FP16 rounding.
TEST(AssignPrecision, KeptFloat32InputsAndOutputsAreCastInside) {
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat32, {2, 8}), "x");
  Value* y = g.add_input(TensorType::fixed(DType::kFloat32, {2, 8}), "y");
  Value* passthrough = g.add_input(TensorType::fixed(DType::kFloat32, {2, 8}), "p");
  Value* lin = g.add_node(OpKind::Linear, LinearAttrs{},
                          {x, g.add_constant(random_tensor(DType::kFloat32, {8, 8}, 5)),
                           g.add_constant(random_tensor(DType::kFloat32, {8}, 6))})->outputs[0];
  Value* sum = g.add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kAdd}, {lin, y})->outputs[0];
  Value* prod = g.add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kMul}, {sum, x})->outputs[0];
  g.mark_output(sum);
  g.mark_output(prod);
  g.mark_output(passthrough);
  auto before = g.clone();
  plan::assign_precision(g, DType::kFloat16, true, {true, false, true}, {true, false, true});
  EXPECT_NO_THROW(verify(g));
  // Types at the boundary.
  EXPECT_EQ(g.inputs()[0]->type.dtype, DType::kFloat32);
  EXPECT_EQ(g.inputs()[1]->type.dtype, DType::kFloat16);
  EXPECT_EQ(g.inputs()[2]->type.dtype, DType::kFloat32);
  EXPECT_EQ(g.outputs()[0]->type.dtype, DType::kFloat32);
  EXPECT_EQ(g.outputs()[1]->type.dtype, DType::kFloat16);
  EXPECT_EQ(g.outputs()[2], passthrough);  // read by no node: left as it is
  // Structure: x is read by one cast (to FP16) only, which both of its readers share; output 0 is
  // a cast (to FP32) of the FP16 sum, which output 1's Mul still reads.
  ASSERT_EQ(x->users.size(), 1u);
  const Node* cin = x->users[0];
  EXPECT_EQ(cin->op, OpKind::Cast);
  EXPECT_EQ(cin->attr<CastAttrs>().to, DType::kFloat16);
  EXPECT_EQ(cin->outputs[0]->users.size(), 2u);
  EXPECT_EQ(lin->type.dtype, DType::kFloat16);
  const Node* cout = g.outputs()[0]->producer;
  ASSERT_NE(cout, nullptr);
  EXPECT_EQ(cout->op, OpKind::Cast);
  EXPECT_EQ(cout->inputs[0], sum);
  EXPECT_EQ(sum->type.dtype, DType::kFloat16);
  // Numbers.
  auto in = random_inputs(*before, 8);
  auto want = ref::run(*before, in);
  auto got = ref::run(g, {in[0], in[1].to(DType::kFloat16), in[2]});
  ASSERT_EQ(got.size(), 3u);
  ASSERT_EQ(got[0].dtype, DType::kFloat32);
  got[1] = got[1].to(DType::kFloat32);
  EXPECT_LE(max_rel_diff(want, got), 0.02);
  // Without flags every FP32 input and output becomes FP16 (the whole-engine behaviour).
  auto plain = before->clone();
  plan::assign_precision(*plain, DType::kFloat16);
  for (const Value* v : plain->inputs()) EXPECT_EQ(v->type.dtype, DType::kFloat16);
  for (const Value* v : plain->outputs()) EXPECT_EQ(v->type.dtype, DType::kFloat16);
}

// An INT8 layer's bias is FP32 in every engine precision (attrs.h, QuantizedLayer): an FP16 engine
// keeps it (a cast bias fails the layer's type check), and the numbers do not change.
TEST(AssignPrecision, Int8LayerBiasStaysFloat32) {
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kInt8, {3, 16}), "x");
  HostTensor w(DType::kInt8, {8, 16}), b = random_tensor(DType::kFloat32, {8}, 9);
  for (int64_t i = 0; i < w.numel(); ++i) w.set(i, double((i * 37) % 255) - 127.0);
  QLinearAttrs a;
  a.q.x_scale = 0.02;
  a.q.w_scale = HostTensor(DType::kFloat32, {8});
  for (int64_t k = 0; k < 8; ++k) a.q.w_scale.set(k, 0.001 * double(k + 1));
  a.q.out_dtype = DType::kFloat16;
  Value* bias = g.add_constant(b);
  Value* q = g.add_node(OpKind::QLinear, a, {x, g.add_constant(w), bias})->outputs[0];
  g.mark_output(q);
  auto before = g.clone();
  EXPECT_NO_THROW(plan::assign_precision(g, DType::kFloat16));
  EXPECT_NO_THROW(verify(g));
  EXPECT_EQ(bias->type.dtype, DType::kFloat32);
  EXPECT_EQ(q->type.dtype, DType::kFloat16);
  HostTensor xin(DType::kInt8, {3, 16});
  for (int64_t i = 0; i < xin.numel(); ++i) xin.set(i, double((i * 53) % 256) - 128.0);
  EXPECT_EQ(max_rel_diff(ref::run(*before, {xin}), ref::run(g, {xin})), 0.0);
}

// A Conv2d whose bias is FP32 rounds once: y = fp16(x * w + b), with b not representable in
// FP16. A bias rounded to FP16 first gives another result for some inputs, so the check can fail.
TEST(AssignPrecision, Float32ConvBiasRoundsOnce) {
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat16, {1, 1, 1, 64}), "x");
  HostTensor w(DType::kFloat16, {1, 1, 1, 1}), b(DType::kFloat32, {1});
  w.set(0, 0.375);
  const double bias = 0.1 + std::ldexp(1.0, -16);
  b.set(0, bias);
  g.mark_output(g.add_node(OpKind::Conv2d, Conv2dAttrs{}, {x, g.add_constant(w), g.add_constant(b)})->outputs[0]);
  EXPECT_NO_THROW(verify(g));
  HostTensor in(DType::kFloat16, {1, 1, 1, 64});
  for (int64_t i = 0; i < 64; ++i) in.set(i, std::ldexp(double(i) - 32.0, -16));  // x * w: fractions of an FP16 ulp of y
  const HostTensor y = ref::run(g, {in})[0];
  ASSERT_EQ(y.dtype, DType::kFloat16);
  auto fp16 = [](double v) {
    HostTensor t(DType::kFloat16, {1});
    t.set(0, v);
    return t.get(0);
  };
  int differs = 0;
  for (int64_t i = 0; i < 64; ++i) {
    const double exact = in.get(i) * 0.375;  // exact in FP32
    EXPECT_EQ(y.get(i), fp16(exact + double(float(bias)))) << "element " << i;
    differs += fp16(exact + double(float(bias))) != fp16(exact + fp16(bias));
  }
  EXPECT_GT(differs, 0) << "the inputs do not tell a rounded bias from an FP32 one";
}

TEST(FoldBatchNorm, RespectsTheSafetyConditions) {
  auto build = [](Graph& g, int variant) {
    Value* x = g.add_input(TensorType::fixed(DType::kFloat32, {1, 3, 5, 5}), "x");
    Value* wv = variant == 0 ? g.add_input(TensorType::fixed(DType::kFloat32, {4, 3, 3, 3}), "w")
                             : g.add_constant(random_tensor(DType::kFloat32, {4, 3, 3, 3}, 1));
    Conv2dAttrs a;
    Value* c = g.add_node(OpKind::Conv2d, a, {x, wv})->outputs[0];
    Value* bn = batch_norm(g, c, 4, 2);
    g.mark_output(bn);
    if (variant == 1) g.mark_output(c);  // conv output is a graph output
    if (variant == 2) g.mark_output(g.add_node(OpKind::Unary, UnaryAttrs{UnaryKind::kExp}, {c})->outputs[0]);
  };
  for (int variant : {0, 1, 2}) {
    SCOPED_TRACE(variant);
    Graph g;
    build(g, variant);
    EXPECT_FALSE(passes::fold_batch_norm(g));
    EXPECT_EQ(count_ops(g, OpKind::BatchNorm), 1);
  }
  // Linear with a rank-3 output: BatchNorm's dim 1 is not the feature dim.
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat32, {2, 3, 4}), "x");
  Value* lin = g.add_node(OpKind::Linear, LinearAttrs{}, {x, g.add_constant(random_tensor(DType::kFloat32, {3, 4}, 1))})->outputs[0];
  g.mark_output(batch_norm(g, lin, 3, 2));
  EXPECT_FALSE(passes::fold_batch_norm(g));
}

// ---------------------------------------------------------------------------------------------
// remove_identity

// The per-layer mask -> bias conversion of a transformer: equal constants and the equal Where
// nodes reading them merge; a node with other attributes stays.
TEST(CommonSubexpressionElimination, MergesEqualConstantsAndNodes) {
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat32, {2, 4}), "x");
  Value* m = g.add_input(TensorType::fixed(DType::kBool, {2, 4}), "m");
  auto scalar = [](double v) {
    HostTensor t(DType::kFloat32, {});
    t.set(0, v);
    return t;
  };
  Value* y = x;
  for (int layer = 0; layer < 3; ++layer) {
    Value* zero = g.add_constant(scalar(0.0));
    Value* low = g.add_constant(scalar(-1e4));
    Value* bias = g.add_node(OpKind::Where, WhereAttrs{}, {m, zero, low})->outputs[0];
    y = g.add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kAdd}, {y, bias})->outputs[0];
  }
  // Same input, different attributes: not merged.
  Value* a = g.add_node(OpKind::Unary, UnaryAttrs{UnaryKind::kRelu}, {y})->outputs[0];
  Value* b = g.add_node(OpKind::Unary, UnaryAttrs{UnaryKind::kTanh}, {y})->outputs[0];
  g.mark_output(a);
  g.mark_output(b);
  auto after = apply_and_compare(g, passes::common_subexpression_elimination, 0.0);
  EXPECT_EQ(count_ops(*after, OpKind::Where), 1);
  EXPECT_EQ(count_ops(*after, OpKind::Constant), 2);
  EXPECT_EQ(count_ops(*after, OpKind::Binary), 3);  // each add reads another y
  EXPECT_EQ(count_ops(*after, OpKind::Unary), 2);
  EXPECT_FALSE(passes::common_subexpression_elimination(*after)) << "a second run finds nothing";
}

TEST(RemoveIdentity, RemovesNoOpsOnly) {
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat32, {2, 3, 4}), "x");
  Value* a = g.add_node(OpKind::Identity, IdentityAttrs{}, {x})->outputs[0];
  Value* b = g.add_node(OpKind::Cast, CastAttrs{DType::kFloat32}, {a})->outputs[0];
  ReshapeAttrs same;
  same.shape = {2, -1, 4};
  Value* c = g.add_node(OpKind::Reshape, same, {b})->outputs[0];
  TransposeAttrs id_perm;
  id_perm.perm = {0, 1, 2};
  Value* d = g.add_node(OpKind::Transpose, id_perm, {c})->outputs[0];
  TransposeAttrs swap;
  swap.perm = {0, 2, 1};
  Value* e = g.add_node(OpKind::Transpose, swap, {d})->outputs[0];
  Value* f = g.add_node(OpKind::Cast, CastAttrs{DType::kFloat16}, {e})->outputs[0];
  ReshapeAttrs flat;
  flat.shape = {2, 12};
  Value* h = g.add_node(OpKind::Reshape, flat, {f})->outputs[0];
  g.mark_output(h);
  g.mark_output(g.add_node(OpKind::Identity, IdentityAttrs{}, {x})->outputs[0]);  // output -> input
  auto after = apply_and_compare(g, passes::remove_identity, 0.0);
  EXPECT_EQ(count_ops(*after, OpKind::Identity), 0);
  EXPECT_EQ(count_ops(*after, OpKind::Transpose), 1);
  EXPECT_EQ(count_ops(*after, OpKind::Cast), 1);
  EXPECT_EQ(count_ops(*after, OpKind::Reshape), 1);
  EXPECT_EQ(after->num_nodes(), 3u);
  EXPECT_EQ(after->outputs()[1], after->inputs()[0]);
  EXPECT_FALSE(passes::remove_identity(*after));
}

// ---------------------------------------------------------------------------------------------
// PassManager

namespace {
// A small model: conv-bn-relu, an identity, a constant subexpression and a dead branch.
std::unique_ptr<Graph> model() {
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input(TensorType::fixed(DType::kFloat32, {2, 3, 8, 8}), "x");
  Value* y = batch_norm(*g, conv(*g, x, 8, 3, false, 1), 8, 2);
  y = g->add_node(OpKind::Unary, UnaryAttrs{UnaryKind::kRelu}, {y})->outputs[0];
  y = g->add_node(OpKind::Identity, IdentityAttrs{}, {y})->outputs[0];
  y = batch_norm(*g, conv(*g, y, 4, 8, true, 3), 4, 4);
  Value* s = g->add_node(OpKind::Unary, UnaryAttrs{UnaryKind::kSigmoid},
                         {g->add_constant(random_tensor(DType::kFloat32, {4, 1, 1}, 5))})->outputs[0];
  y = g->add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kMul}, {y, s})->outputs[0];
  g->add_node(OpKind::Unary, UnaryAttrs{UnaryKind::kExp}, {y});  // dead
  g->mark_output(y);
  return g;
}
}  // namespace

TEST(PassManager, DefaultPipelineOnAModel) {
  auto g = model();
  verify(*g);
  auto after = g->clone();
  passes::PassManager pm = passes::default_pipeline({/*verify_each=*/true, /*dump=*/false});
  ASSERT_EQ(pm.passes().size(), 11u);
  EXPECT_EQ(pm.passes()[0].name, "remove_identity");
  EXPECT_EQ(pm.passes()[3].name, "recognize_gelu");
  EXPECT_EQ(pm.passes()[4].name, "fuse_epilogues");
  EXPECT_EQ(pm.passes()[5].name, "carry_residual_stream");
  EXPECT_EQ(pm.passes()[6].name, "common_subexpression_elimination");
  EXPECT_EQ(pm.passes()[7].name, "fold_attention_layout");
  EXPECT_EQ(pm.passes()[8].name, "pack_attention_qkv");
  EXPECT_EQ(pm.passes()[9].name, "fold_causal_mask");
  EXPECT_EQ(pm.passes()[10].name, "dead_code_elimination");
  ASSERT_EQ(pm.final_passes().size(), 3u);
  EXPECT_EQ(pm.final_passes()[0].name, "fuse_quantized_layers");
  EXPECT_EQ(pm.final_passes()[1].name, "fuse_pointwise");
  EXPECT_EQ(pm.final_passes()[2].name, "dead_code_elimination");
  EXPECT_TRUE(pm.run(*after));
  verify(*after);
  EXPECT_EQ(count_ops(*after, OpKind::BatchNorm), 0);
  EXPECT_EQ(count_ops(*after, OpKind::Identity), 0);
  EXPECT_EQ(count_ops(*after, OpKind::Unary), 0);   // relu fused into the conv, sigmoid folded, exp dead
  EXPECT_EQ(count_ops(*after, OpKind::Conv2d), 2);
  int fused = 0;
  for (Node* n : after->nodes())
    if (n->op == OpKind::Conv2d && n->attr<Conv2dAttrs>().has_act) ++fused;
  EXPECT_EQ(fused, 1);
  EXPECT_EQ(count_ops(*after, OpKind::Constant), 5);  // two weights, two biases, the folded sigmoid
  EXPECT_EQ(after->num_nodes(), 8u);
  auto in = random_inputs(*g, 7);
  EXPECT_LE(max_rel_diff(ref::run(*g, in), ref::run(*after, in)), 1e-5);
  EXPECT_FALSE(pm.run(*after));  // fixed point
}

TEST(PassManager, VerifyEachNamesTheBrokenPass) {
  auto broken = [](Graph& g) {
    for (Node* n : g.nodes())
      if (n->op == OpKind::Unary) {
        n->outputs[0]->type = TensorType::fixed(DType::kFloat32, {1});  // stale type
        return true;
      }
    return false;
  };
  {
    auto g = model();
    passes::PassManager pm({/*verify_each=*/true, /*dump=*/false});
    pm.add("remove_identity", passes::remove_identity).add("break_types", broken);
    try {
      pm.run(*g);
      FAIL() << "expected trtorch::Error";
    } catch (const Error& e) {
      std::string m = e.what();
      EXPECT_NE(m.find("break_types"), std::string::npos) << m;
      EXPECT_NE(m.find("Unary"), std::string::npos) << m;
      EXPECT_EQ(m.find("remove_identity"), std::string::npos) << m;
    }
  }
  {
    auto g = model();
    passes::PassManager pm;  // no verification: the broken graph goes through
    pm.add("break_types", broken);
    EXPECT_NO_THROW(pm.run(*g, 1));
  }
}

TEST(PassManager, ErrorsInsideAPassNameIt) {
  auto g = model();
  passes::PassManager pm;
  pm.add("throws", [](Graph&) -> bool { TRTORCH_ERROR("something went wrong"); });
  try {
    pm.run(*g);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'throws'"), std::string::npos) << e.what();
  }
}

TEST(PassManager, DumpPrintsBeforeAndAfter) {
  auto g = model();
  passes::PassManager pm({/*verify_each=*/false, /*dump=*/true});
  pm.add("remove_identity", passes::remove_identity);
  testing::internal::CaptureStderr();
  pm.run(*g);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("before pass 'remove_identity'"), std::string::npos) << err;
  EXPECT_NE(err.find("after pass 'remove_identity'"), std::string::npos) << err;
  EXPECT_NE(err.find("Identity("), std::string::npos) << err;
}

TEST(PassManager, StopsAfterMaxRounds) {
  int calls = 0;
  passes::PassManager pm;
  pm.add("always_changes", [&](Graph&) { ++calls; return true; });
  Graph g;
  EXPECT_TRUE(pm.run(g, 3));
  EXPECT_EQ(calls, 3);
}
