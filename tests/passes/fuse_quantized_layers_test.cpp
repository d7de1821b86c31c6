// fuse_quantized_layers (and constant_folding's keeping of weight Dequantize nodes): structure
// (which layers become QConv2d / QLinear, with which scales, outputs and residuals) and numbers
// (the reference backend before and after agree up to the rounding the pass's comment states).
#include <gtest/gtest.h>

#include <cmath>

#include "core/backends/reference/reference.h"
#include "core/passes/passes.h"
#include "tests/passes/pass_test_util.h"

using namespace trtorch;
using namespace trtorch::ir;
using trtorch::pass_test::count;
using trtorch::pass_test::max_rel;
using trtorch::pass_test::random_tensor;

namespace {

HostTensor scalar_scale(double s) {
  HostTensor t(DType::kFloat32, {});
  t.set(0, s);
  return t;
}

Value* quantize(Graph& g, Value* x, double scale, DType to) {
  QuantizeAttrs q;
  q.scale = scalar_scale(scale);
  Value* q8 = g.add_node(OpKind::Quantize, q, {x})->outputs[0];
  DequantizeAttrs d;
  d.scale = scalar_scale(scale);
  d.to = to;
  return g.add_node(OpKind::Dequantize, d, {q8})->outputs[0];
}

// A weight quantized per output channel: an int8 constant and its Dequantize (what
// quantize_layer_weights and the QAT converters leave).
Value* int8_weight(Graph& g, std::vector<int64_t> shape, uint32_t seed, DType to) {
  HostTensor q(DType::kInt8, shape);
  HostTensor f = random_tensor(DType::kFloat32, shape, seed);
  for (int64_t i = 0; i < q.numel(); ++i) q.set(i, std::fmax(-127.0, std::fmin(127.0, std::nearbyint(f.get(i) * 80))));
  DequantizeAttrs d;
  d.axis = 0;
  d.scale = HostTensor(DType::kFloat32, {shape[0]});
  for (int64_t c = 0; c < shape[0]; ++c) d.scale.set(c, 0.004 + 0.001 * double(c % 5));
  d.to = to;
  return g.add_node(OpKind::Dequantize, d, {g.add_constant(q)})->outputs[0];
}

Value* bias(Graph& g, int64_t n, uint32_t seed, DType dt) { return g.add_constant(random_tensor(dt, {n}, seed)); }

// x -> Q/DQ -> conv3x3+relu (int8 out: a Quantize reads it alone) -> Q/DQ -> conv1x1 with the
// dequantized x as residual, relu (a graph output: float out) ; mean -> Q/DQ -> Linear + SiLU
// (not a clamp: a Unary after the layer); and a 3-channel convolution (not fused: 3 is not a
// multiple of 16) whose weight Dequantize is folded.
std::unique_ptr<Graph> network(DType dt) {
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input(TensorType::fixed(dt, {2, 16, 8, 8}), "x");
  Value* xq = quantize(*g, x, 0.05, dt);
  Conv2dAttrs c3;
  c3.padding = {1, 1};
  c3.has_act = true;
  Value* h = g->add_node(OpKind::Conv2d, c3, {xq, int8_weight(*g, {32, 16, 3, 3}, 1, dt), bias(*g, 32, 2, dt)})
                 ->outputs[0];
  Value* hq = quantize(*g, h, 0.1, dt);
  Conv2dAttrs c1;
  c1.has_residual = true;
  c1.has_act = true;
  Value* y = g->add_node(OpKind::Conv2d, c1, {hq, int8_weight(*g, {16, 32, 1, 1}, 3, dt), bias(*g, 16, 4, dt), xq})
                 ->outputs[0];
  g->mark_output(y);
  ReduceAttrs mean;
  mean.kind = ReduceKind::kMean;
  mean.axes = {2, 3};
  Value* pooled = g->add_node(OpKind::Reduce, mean, {y})->outputs[0];
  LinearAttrs la;
  la.has_act = true;
  la.act = UnaryKind::kSilu;
  Value* lin = g->add_node(OpKind::Linear, la, {quantize(*g, pooled, 0.02, dt), int8_weight(*g, {24, 16}, 5, dt),
                                                bias(*g, 24, 6, dt)})
                   ->outputs[0];
  g->mark_output(lin);
  Value* img = g->add_input(TensorType::fixed(dt, {2, 3, 8, 8}), "image");
  Value* stem = g->add_node(OpKind::Conv2d, Conv2dAttrs{},
                            {quantize(*g, img, 0.03, dt), int8_weight(*g, {16, 3, 1, 1}, 7, dt)})
                    ->outputs[0];
  g->mark_output(stem);
  return g;
}

const Node* only(const Graph& g, OpKind op, int index = 0) {
  int i = 0;
  for (const Node* n : g.nodes())
    if (n->op == op && i++ == index) return n;
  return nullptr;
}

TEST(FuseQuantizedLayers, ConvolutionsAndLinearBecomeInt8Layers) {
  const DType dt = DType::kFloat16;
  auto g = network(dt);
  auto before = g->clone();
  const std::vector<HostTensor> inputs{random_tensor(dt, {2, 16, 8, 8}, 9), random_tensor(dt, {2, 3, 8, 8}, 10)};
  const auto want = backends::reference::run(*before, inputs);

  ASSERT_TRUE(passes::fuse_quantized_layers(*g));
  passes::dead_code_elimination(*g);
  verify(*g);
  EXPECT_EQ(count(*g, OpKind::QConv2d), 2) << g->str();
  EXPECT_EQ(count(*g, OpKind::QLinear), 1);
  EXPECT_EQ(count(*g, OpKind::Conv2d), 1);  // the 3-channel one
  EXPECT_EQ(count(*g, OpKind::Linear), 0);
  for (const Node* n : g->nodes())  // no weight Dequantize is left: taken, or folded
    if (n->op == OpKind::Dequantize) EXPECT_NE(n->inputs[0]->producer->op, OpKind::Constant) << g->str();
  // The 3x3 convolution writes int8 (the Quantize after it is gone), scales carried over.
  const Node* a = only(*g, OpKind::QConv2d, 0);
  const Node* b = only(*g, OpKind::QConv2d, 1);
  ASSERT_TRUE(a && b);
  const auto& qa = a->attr<QConv2dAttrs>().q;
  EXPECT_EQ(a->outputs[0]->type.dtype, DType::kInt8);
  EXPECT_DOUBLE_EQ(qa.x_scale, double(float(0.05)));
  EXPECT_DOUBLE_EQ(qa.y_scale, double(float(0.1)));
  EXPECT_EQ(qa.lo, 0.0);
  EXPECT_TRUE(std::isinf(qa.hi));
  EXPECT_EQ(qa.w_scale.numel(), 32);
  EXPECT_EQ(count(*g, OpKind::Quantize), 3);  // x, the pooled value, the image: h's was taken in
  // The 1x1 convolution is a graph output: float out, its residual the dequantized x.
  EXPECT_EQ(b->outputs[0]->type.dtype, dt);
  EXPECT_TRUE(b->attr<QConv2dAttrs>().has_residual);
  EXPECT_EQ(b->attr<QConv2dAttrs>().q.r_scale, 0.0);
  EXPECT_EQ(b->inputs[3]->producer->op, OpKind::Dequantize);
  EXPECT_EQ(b->inputs[0], a->outputs[0]);  // reads the int8 output directly
  // SiLU is not a clamp: a Unary after the float-output QLinear.
  const Node* l = only(*g, OpKind::QLinear);
  ASSERT_EQ(l->outputs[0]->users.size(), 1u);
  EXPECT_EQ(l->outputs[0]->users[0]->op, OpKind::Unary);
  EXPECT_EQ(l->outputs[0]->type.dtype, dt);

  // Numbers: the same up to one int8 step of h where its float value lies within rounding of a
  // half step (its FP16 rounding before the Quantize is gone), which moves the outputs by at most
  // alpha * 127 / 2: within 5% of the largest output here.
  const auto got = backends::reference::run(*g, inputs);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_LE(max_rel(got[i], want[i]), 0.05) << "output " << i;
  EXPECT_FALSE(passes::fuse_quantized_layers(*g));  // nothing left to fuse
}

// In an FP32 engine only the layer with an int8 output becomes an INT8 layer: float outputs of
// INT8 layers are FP16.
TEST(FuseQuantizedLayers, Fp32EnginesFuseOnlyInt8Outputs) {
  const DType dt = DType::kFloat32;
  auto g = network(dt);
  auto before = g->clone();
  const std::vector<HostTensor> inputs{random_tensor(dt, {2, 16, 8, 8}, 9), random_tensor(dt, {2, 3, 8, 8}, 10)};
  const auto want = backends::reference::run(*before, inputs);
  ASSERT_TRUE(passes::fuse_quantized_layers(*g));
  passes::dead_code_elimination(*g);
  verify(*g);
  EXPECT_EQ(count(*g, OpKind::QConv2d), 1) << g->str();
  EXPECT_EQ(only(*g, OpKind::QConv2d)->outputs[0]->type.dtype, DType::kInt8);
  EXPECT_EQ(count(*g, OpKind::QLinear), 0);
  EXPECT_EQ(count(*g, OpKind::Conv2d), 2);
  EXPECT_EQ(count(*g, OpKind::Linear), 1);
  const auto got = backends::reference::run(*g, inputs);
  for (size_t i = 0; i < got.size(); ++i) EXPECT_LE(max_rel(got[i], want[i]), 0.05) << "output " << i;
}

// A layer with a float residual whose output only a Quantize reads (a ResNet stage's first block:
// its residual is the downsample's float output): in FP16 it takes the Quantize in and writes
// int8, reading the FP16 residual as it is; in FP32 (no kernel for an FP32 residual under an int8
// output) it writes float and the Quantize stays.
TEST(FuseQuantizedLayers, Fp16ResidualUnderAnInt8Output) {
  for (DType dt : {DType::kFloat16, DType::kFloat32}) {
    SCOPED_TRACE(dtype_name(dt));
    auto g = std::make_unique<Graph>();
    Value* x = g->add_input(TensorType::fixed(dt, {2, 16, 6, 6}), "x");
    Value* r = g->add_input(TensorType::fixed(dt, {2, 32, 6, 6}), "residual");
    Conv2dAttrs c;
    c.has_residual = true;
    c.has_act = true;
    Value* y = g->add_node(OpKind::Conv2d, c,
                           {quantize(*g, x, 0.05, dt), int8_weight(*g, {32, 16, 1, 1}, 1, dt), bias(*g, 32, 2, dt), r})
                   ->outputs[0];
    g->mark_output(quantize(*g, y, 0.08, dt));
    auto before = g->clone();
    const std::vector<HostTensor> inputs{random_tensor(dt, {2, 16, 6, 6}, 3), random_tensor(dt, {2, 32, 6, 6}, 4)};
    const auto want = backends::reference::run(*before, inputs);
    ASSERT_TRUE(passes::fuse_quantized_layers(*g));
    passes::dead_code_elimination(*g);
    verify(*g);
    const Node* q = only(*g, OpKind::QConv2d);
    if (dt == DType::kFloat16) {
      ASSERT_TRUE(q) << g->str();
      EXPECT_EQ(q->outputs[0]->type.dtype, DType::kInt8);
      ASSERT_EQ(q->inputs.size(), 4u);
      EXPECT_EQ(q->inputs[3], r);  // the FP16 residual, read as it is
      EXPECT_EQ(q->attr<QConv2dAttrs>().q.r_scale, 0.0);
      EXPECT_FLOAT_EQ(float(q->attr<QConv2dAttrs>().q.y_scale), 0.08f);
      EXPECT_EQ(count(*g, OpKind::Quantize), 1);  // x's; y's was taken in
    } else {
      EXPECT_EQ(q, nullptr) << g->str();  // no int8 output over an FP32 residual, no FP32 output
      EXPECT_EQ(count(*g, OpKind::Quantize), 2);
    }
    // Numbers: the same output up to one int8 step (0.08) where a value lies within rounding of
    // a half step, plus the FP16 rounding of the dequantized values (up to 127 steps: 2^-7).
    const auto got = backends::reference::run(*g, inputs);
    ASSERT_EQ(got.size(), 1u);
    double worst = 0;
    for (int64_t i = 0; i < got[0].numel(); ++i) worst = std::max(worst, std::abs(got[0].get(i) - want[0].get(i)));
    EXPECT_LE(worst, 0.08 + std::ldexp(1.0, -7));
  }
}

// A Quantize that is not the layer's only reader stays, and the layer writes float.
TEST(FuseQuantizedLayers, SharedOutputStaysFloat) {
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input(TensorType::fixed(DType::kFloat16, {1, 16, 4, 4}), "x");
  Conv2dAttrs c;
  c.has_act = true;
  c.act = UnaryKind::kClamp;
  c.act_alpha = 0;
  c.act_beta = 6;
  Value* y = g->add_node(OpKind::Conv2d, c,
                         {quantize(*g, x, 0.05, DType::kFloat16), int8_weight(*g, {16, 16, 1, 1}, 1, DType::kFloat16)})
                 ->outputs[0];
  g->mark_output(quantize(*g, y, 0.05, DType::kFloat16));
  g->mark_output(y);
  ASSERT_TRUE(passes::fuse_quantized_layers(*g));
  const Node* q = only(*g, OpKind::QConv2d);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->outputs[0]->type.dtype, DType::kFloat16);
  EXPECT_EQ(q->attr<QConv2dAttrs>().q.lo, 0.0);  // relu6 as the clamp [0, 6]
  EXPECT_EQ(q->attr<QConv2dAttrs>().q.hi, 6.0);
  EXPECT_EQ(count(*g, OpKind::Quantize), 2);
}

// constant_folding keeps the Dequantize of an int8 weight for fuse_quantized_layers, and folds
// one of an int8 constant that no layer reads as its weight.
TEST(FuseQuantizedLayers, ConstantFoldingKeepsWeightDequantize) {
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input(TensorType::fixed(DType::kFloat32, {2, 16}), "x");
  Value* w = int8_weight(*g, {8, 16}, 1, DType::kFloat32);
  Value* lin = g->add_node(OpKind::Linear, LinearAttrs{}, {x, w})->outputs[0];
  Value* other = int8_weight(*g, {8}, 2, DType::kFloat32);
  g->mark_output(g->add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kAdd}, {lin, other})->outputs[0]);
  passes::constant_folding(*g);
  passes::dead_code_elimination(*g);
  EXPECT_EQ(count(*g, OpKind::Dequantize), 1);
  EXPECT_EQ(g->outputs()[0]->producer->inputs[1]->producer->op, OpKind::Constant);
  // Linear's input is not quantized: no INT8 layer, and the weight Dequantize is folded.
  EXPECT_TRUE(passes::fuse_quantized_layers(*g));
  passes::dead_code_elimination(*g);
  EXPECT_EQ(count(*g, OpKind::Dequantize), 0);
  EXPECT_EQ(count(*g, OpKind::QLinear), 0);
}

}  // namespace
