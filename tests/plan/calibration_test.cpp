// INT8 post-training quantization without data (core/plan/calibration.h): which tensors are
// quantized, the algorithms' thresholds, the cache file, and the graph rewrites (structure and
// numbers on the reference backend); the INT8 layer choice by timing (core/plan/int8_choice.h),
// with made-up times.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>

#include "core/backends/reference/reference.h"
#include "core/plan/backend.h"
#include "core/plan/builder.h"
#include "core/passes/passes.h"
#include "core/plan/calibration.h"
#include "core/plan/int8_choice.h"
#include "core/util/error.h"
#include "tests/passes/pass_test_util.h"

using namespace trtorch;
using namespace trtorch::ir;
using namespace trtorch::plan;
using trtorch::pass_test::count;
using trtorch::pass_test::max_rel;
using trtorch::pass_test::random_tensor;

namespace {

// x [2, 16, 8, 16] -> conv 3x3 (+bias) -> relu -> conv 1x1 -> (y, and a Linear over y's last dim):
// three layers of INT8 layer shapes (passes::int8_layer_fits).
std::unique_ptr<Graph> small_cnn() {
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input(TensorType::fixed(DType::kFloat32, {2, 16, 8, 16}), "x");
  Conv2dAttrs c3;
  c3.padding = {1, 1};
  Value* w1 = g->add_constant(random_tensor(DType::kFloat32, {16, 16, 3, 3}, 1));
  Value* b1 = g->add_constant(random_tensor(DType::kFloat32, {16}, 2));
  Value* h = g->add_node(OpKind::Conv2d, c3, {x, w1, b1}, "aten::conv2d at net.py:3")->outputs[0];
  h = g->add_node(OpKind::Unary, UnaryAttrs{UnaryKind::kRelu, 0, 0}, {h}, "aten::relu at net.py:4")->outputs[0];
  Value* w2 = g->add_constant(random_tensor(DType::kFloat32, {16, 16, 1, 1}, 3));
  Value* y = g->add_node(OpKind::Conv2d, Conv2dAttrs{}, {h, w2}, "aten::conv2d at net.py:5")->outputs[0];
  Value* lw = g->add_constant(random_tensor(DType::kFloat32, {8, 16}, 4));
  Value* z = g->add_node(OpKind::Linear, LinearAttrs{}, {y, lw}, "aten::linear at net.py:6")->outputs[0];
  g->mark_output(y);
  g->mark_output(z);
  return g;
}

CalibrationTable table_for(const Graph& g, float scale) {
  CalibrationTable t;
  t.fingerprint = graph_fingerprint(g);
  for (const auto& q : quantized_inputs(g)) t.scales[q.key] = scale;
  return t;
}

// Min-max scales from one input: each quantized tensor's largest magnitude / 127 (what the
// frontend's calibration computes from batches, here on the reference backend directly).
CalibrationTable minmax_table(const Graph& g, const HostTensor& x) {
  CalibrationTable t = table_for(g, 1.0f);
  auto c = g.clone();
  const size_t first = c->outputs().size();
  auto qs = quantized_inputs(*c);
  for (const auto& q : qs) c->mark_output(q.node->inputs[q.input]);
  auto outs = backends::reference::run(*c, {x});
  for (size_t k = 0; k < qs.size(); ++k) {
    double amax = 0;
    for (int64_t i = 0; i < outs[first + k].numel(); ++i) amax = std::max(amax, std::abs(outs[first + k].get(i)));
    t.scales[qs[k].key] = float(amax / 127);
  }
  return t;
}

TensorStats stats_of(const std::vector<double>& magnitudes) {
  TensorStats s;
  for (double m : magnitudes) s.amax = std::max(s.amax, m);
  s.hist.assign(kCalibrationBins, 0.0);
  for (double m : magnitudes)
    s.hist[std::min<size_t>(size_t(m / s.amax * kCalibrationBins), kCalibrationBins - 1)] += 1;
  return s;
}

std::string temp_path(const char* name) { return std::string(::testing::TempDir()) + name; }

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST(Calibration, QuantizedInputsAreTheActivationsOfConvAndLinear) {
  auto g = small_cnn();
  auto qs = quantized_inputs(*g);
  ASSERT_EQ(qs.size(), 3u);
  EXPECT_EQ(qs[0].key, "Conv2d#0 aten::conv2d at net.py:3");
  // Keys leave out what differs between machines: the schema and the file's directory.
  g->nodes()[2]->source = "aten::conv2d(Tensor input, Tensor weight) -> Tensor at /opt/py/site-packages/torch/conv.py:548";
  EXPECT_EQ(quantized_inputs(*g)[0].key, "Conv2d#0 aten::conv2d at conv.py:548");
  g->nodes()[2]->source = "aten::conv2d at net.py:3";
  EXPECT_EQ(qs[1].key, "Conv2d#1 aten::conv2d at net.py:5");
  EXPECT_EQ(qs[2].key, "Linear#0 aten::linear at net.py:6");
  // The same keys for a copy (a rebuild of the same model finds its scales).
  auto c = g->clone();
  auto qc = quantized_inputs(*c);
  for (size_t i = 0; i < qs.size(); ++i) EXPECT_EQ(qc[i].key, qs[i].key);
  EXPECT_EQ(graph_fingerprint(*c), graph_fingerprint(*g));
}

TEST(Calibration, AlgorithmsChooseTheirThresholds) {
  // |N(0, 1)| with ten outliers at 50: min-max keeps the outliers, the 99.99th percentile sits
  // near 3.9, entropy clips far below the outliers.
  std::mt19937 rng(7);
  std::normal_distribution<double> d(0, 1);
  std::vector<double> m;
  for (int i = 0; i < 200000; ++i) m.push_back(std::abs(d(rng)));
  for (int i = 0; i < 10; ++i) m.push_back(50.0);
  TensorStats s = stats_of(m);
  const double width = s.amax / kCalibrationBins;
  EXPECT_DOUBLE_EQ(calibrated_threshold(s, CalibrationAlgo::kMinMax, 99.99), 50.0);
  const double p = calibrated_threshold(s, CalibrationAlgo::kPercentile, 99.99);
  EXPECT_NEAR(p, 3.9, 0.3) << p;
  EXPECT_NEAR(calibrated_threshold(s, CalibrationAlgo::kPercentile, 100.0), 50.0, width);
  const double e = calibrated_threshold(s, CalibrationAlgo::kEntropy, 99.99);
  EXPECT_GT(e, 2.0) << e;
  EXPECT_LT(e, 12.0) << e;
  // Uniform magnitudes: every clip loses information, entropy keeps (nearly) the whole range.
  std::uniform_real_distribution<double> u(0, 4);
  std::vector<double> um;
  for (int i = 0; i < 200000; ++i) um.push_back(u(rng));
  EXPECT_GT(calibrated_threshold(stats_of(um), CalibrationAlgo::kEntropy, 99.99), 3.6);
  // ReLU outputs: half the values exactly 0. The zero spike must not pull the threshold down:
  // about where it is for the same values without the zeros.
  std::vector<double> relu = m;
  relu.resize(200000);
  const double no_zeros = calibrated_threshold(stats_of(relu), CalibrationAlgo::kEntropy, 99.99);
  relu.insert(relu.end(), 200000, 0.0);
  const double with_zeros = calibrated_threshold(stats_of(relu), CalibrationAlgo::kEntropy, 99.99);
  EXPECT_NEAR(with_zeros, no_zeros, 0.25 * no_zeros) << with_zeros << " vs " << no_zeros;
  // A small sample spread thin over the bins (64 values): nothing to clip, the whole range.
  std::vector<double> few;
  for (int i = 0; i < 64; ++i) few.push_back(u(rng));
  TensorStats fs = stats_of(few);
  EXPECT_DOUBLE_EQ(calibrated_threshold(fs, CalibrationAlgo::kEntropy, 99.99), fs.amax);
  // An all-zero tensor has no threshold (its scale is arbitrary).
  EXPECT_EQ(calibrated_threshold(TensorStats{}, CalibrationAlgo::kEntropy, 99.99), 0.0);
  EXPECT_THROW(calibrated_threshold(s, CalibrationAlgo::kPercentile, 0.0), Error);
}

TEST(Calibration, CacheRoundTripIsExact) {
  auto g = small_cnn();
  CalibrationTable t = table_for(*g, 0.0f);
  float v = 0.0123456789f;
  for (auto& [k, s] : t.scales) s = (v *= 1.7f);
  t.algo = CalibrationAlgo::kPercentile;
  const std::string path = temp_path("round_trip.cache");
  write_calibration_cache(path, t);
  CalibrationTable back = read_calibration_cache(path);
  EXPECT_EQ(back.fingerprint, t.fingerprint);
  EXPECT_EQ(back.algo, t.algo);
  EXPECT_EQ(back.scales, t.scales);  // bit-exact (hex floats)
  std::ifstream f(path);
  std::string first;
  std::getline(f, first);
  EXPECT_EQ(first, "trtorch-int8-calibration 1");
}

TEST(Calibration, BrokenCachesNameTheLine) {
  const std::string ok_head = "trtorch-int8-calibration 1\nfingerprint 0123456789abcdef\nalgorithm entropy\n";
  struct Case {
    std::string text, want;
  } cases[] = {
      {"", "line 1"},
      {"trtorch-int8-calibration 2\n", "unsupported cache version"},
      {"trtorch-int8-calibration 1\nfingerprint xyz\n", "line 2"},
      {"trtorch-int8-calibration 1\nfingerprint 0123456789abcdef\nalgorithm fancy\n", "unknown calibration algorithm"},
      {ok_head + "0x1p-4\tConv2d#0 a\nnot-a-number\tConv2d#1 b\n", "line 5"},
      {ok_head + "-0x1p-4\tConv2d#0 a\n", "positive finite"},
      {ok_head + "0x1p-4 Conv2d#0 a\n", "expected '<scale>\\t<key>'"},
      {ok_head + "0x1p-4\tConv2d#0 a\n0x1p-3\tConv2d#0 a\n", "a key appears twice"},
  };
  const std::string path = temp_path("broken.cache");
  for (const Case& c : cases) {
    write_file(path, c.text);
    try {
      read_calibration_cache(path);
      ADD_FAILURE() << "accepted: " << c.text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(c.want), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(read_calibration_cache(temp_path("does_not_exist.cache")), Error);
}

TEST(Calibration, ActivationQuantizationStructureAndNumbers) {
  auto g = small_cnn();
  auto before = g->clone();
  HostTensor x = random_tensor(DType::kFloat32, {2, 16, 8, 16}, 9);
  auto want = backends::reference::run(*before, {x});
  insert_activation_quantization(*g, minmax_table(*g, x));
  verify(*g);
  EXPECT_EQ(count(*g, OpKind::Quantize), 3);
  EXPECT_EQ(count(*g, OpKind::Dequantize), 3);
  for (Node* n : g->nodes())
    if (n->op == OpKind::Conv2d || n->op == OpKind::Linear) {
      ASSERT_TRUE(n->inputs[0]->producer);
      EXPECT_EQ(n->inputs[0]->producer->op, OpKind::Dequantize);
    }
  auto got = backends::reference::run(*g, {x});
  // Every activation on a grid of 1/127 of its range: close, not equal.
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_LT(max_rel(got[i], want[i]), 0.05) << i;
    EXPECT_GT(max_rel(got[i], want[i]), 0.0) << i;
  }
  // A table for another graph, or without a key, is refused naming it.
  auto h = small_cnn();
  CalibrationTable other = table_for(*h, 0.01f);
  other.fingerprint = "0000000000000000";
  EXPECT_THROW(insert_activation_quantization(*h, other), Error);
  CalibrationTable missing = table_for(*h, 0.01f);
  missing.scales.erase("Linear#0 aten::linear at net.py:6");
  try {
    insert_activation_quantization(*h, missing);
    ADD_FAILURE() << "a missing key was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Linear#0 aten::linear at net.py:6"), std::string::npos) << e.what();
  }
}

// Only layers that can run in INT8 get a quantized input: a convolution of 3 input channels and a
// depthwise one keep reading their float inputs (no fake quantization, no extra passes), while
// calibration still measures them (their keys stay in the table).
TEST(Calibration, LayersThatCannotRunInInt8KeepFloatInputs) {
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input(TensorType::fixed(DType::kFloat32, {1, 3, 8, 8}), "x");
  Conv2dAttrs p1;
  p1.padding = {1, 1};
  Value* stem = g->add_node(OpKind::Conv2d, p1, {x, g->add_constant(random_tensor(DType::kFloat32, {16, 3, 3, 3}, 1))},
                            "aten::conv2d at net.py:3")->outputs[0];
  Conv2dAttrs dw = p1;
  dw.groups = 16;
  Value* d = g->add_node(OpKind::Conv2d, dw, {stem, g->add_constant(random_tensor(DType::kFloat32, {16, 1, 3, 3}, 2))},
                         "aten::conv2d at net.py:4")->outputs[0];
  Value* y = g->add_node(OpKind::Conv2d, Conv2dAttrs{},
                         {d, g->add_constant(random_tensor(DType::kFloat32, {16, 16, 1, 1}, 3))},
                         "aten::conv2d at net.py:5")->outputs[0];
  g->mark_output(y);
  auto before = g->clone();
  ASSERT_EQ(quantized_inputs(*g).size(), 3u);  // calibration measures all three
  HostTensor in = random_tensor(DType::kFloat32, {1, 3, 8, 8}, 9);
  insert_activation_quantization(*g, minmax_table(*g, in));
  verify(*g);
  EXPECT_EQ(count(*g, OpKind::Quantize), 1);
  EXPECT_EQ(count(*g, OpKind::Dequantize), 1);
  EXPECT_EQ(stem->producer->inputs[0], x);
  EXPECT_EQ(d->producer->inputs[0], stem);
  ASSERT_TRUE(y->producer->inputs[0]->producer);
  EXPECT_EQ(y->producer->inputs[0]->producer->op, OpKind::Dequantize);
  EXPECT_EQ(y->producer->inputs[0]->producer->inputs[0]->producer->inputs[0], d);
  EXPECT_TRUE(passes::int8_layer_fits(*y->producer));
  EXPECT_FALSE(passes::int8_layer_fits(*stem->producer));
  EXPECT_FALSE(passes::int8_layer_fits(*d->producer));
  // Numbers: the one quantized activation on its grid, close to the float graph.
  EXPECT_LT(max_rel(backends::reference::run(*g, {in})[0], backends::reference::run(*before, {in})[0]), 0.05);
}

// The weights of the layers a quantized input reaches: per output channel, int8 with the largest
// magnitude at 127, its Dequantize giving back the weight within half a step.
TEST(Calibration, LayerWeightsGoOnTheirPerChannelGrid) {
  auto g = small_cnn();
  auto original = small_cnn();
  std::vector<HostTensor> before;
  for (Node* n : original->nodes())
    if (n->op == OpKind::Conv2d || n->op == OpKind::Linear) before.push_back(n->inputs[1]->producer->attr<ConstantAttrs>().value);
  insert_activation_quantization(*g, table_for(*g, 0.01f));
  EXPECT_TRUE(quantize_layer_weights(*g));
  verify(*g);
  size_t checked = 0;
  for (Node* n : g->nodes()) {
    if (n->op != OpKind::Conv2d && n->op != OpKind::Linear) continue;
    const Node* dq = n->inputs[1]->producer;
    ASSERT_EQ(dq->op, OpKind::Dequantize) << n->source;
    const auto& da = dq->attr<DequantizeAttrs>();
    EXPECT_EQ(da.axis, 0);
    const HostTensor& q = dq->inputs[0]->producer->attr<ConstantAttrs>().value;
    ASSERT_EQ(q.dtype, DType::kInt8);
    ASSERT_LT(checked, before.size());
    const HostTensor& w = before[checked];
    const int64_t per = q.numel() / q.shape[0];
    for (int64_t c = 0; c < q.shape[0]; ++c) {
      double qmax = 0;
      for (int64_t i = 0; i < per; ++i) {
        qmax = std::max(qmax, std::abs(q.get(c * per + i)));
        EXPECT_LE(std::abs(q.get(c * per + i) * da.scale.get(c) - w.get(c * per + i)), da.scale.get(c) / 2 + 1e-7);
      }
      EXPECT_EQ(qmax, 127) << n->source << " channel " << c;  // the largest weight is the 127th step
    }
    ++checked;
  }
  EXPECT_EQ(checked, 3u);
  // A layer that reads no dequantized tensor keeps its weights.
  auto plain = small_cnn();
  EXPECT_FALSE(quantize_layer_weights(*plain));
}

// A quantization-aware model's weights that arrive already fake-quantized keep their own grid
// (the int8 values times its step give back every weight); a weight off every grid stays float.
TEST(Calibration, FakeQuantizedWeightsKeepTheirOwnGrid) {
  auto g = small_cnn();
  insert_activation_quantization(*g, table_for(*g, 0.01f));
  std::vector<HostTensor> want;
  int layer = 0;
  for (Node* n : g->nodes()) {
    if (n->op != OpKind::Conv2d && n->op != OpKind::Linear) continue;
    HostTensor w = n->inputs[1]->producer->attr<ConstantAttrs>().value;
    if (layer++ < 2) {  // on a grid whose largest value is step 100 (not 127): step amax / 100
      const int64_t per = w.numel() / w.shape[0];
      for (int64_t c = 0; c < w.shape[0]; ++c) {
        const float step = 0.01f * float(c + 1);
        for (int64_t i = 0; i < per; ++i) w.set(c * per + i, double(float(double((c * per + i) % 201 - 100)) * step));
      }
    }
    want.push_back(w);
    g->set_input(n, 1, g->insert_before(n, OpKind::Constant, ConstantAttrs{w}, {})->outputs[0]);
  }
  EXPECT_TRUE(quantize_layer_weights(*g, WeightScales::kOwnGrid));
  verify(*g);
  layer = 0;
  for (Node* n : g->nodes()) {
    if (n->op != OpKind::Conv2d && n->op != OpKind::Linear) continue;
    const Node* p = n->inputs[1]->producer;
    if (layer < 2) {
      ASSERT_EQ(p->op, OpKind::Dequantize);
      const auto& da = p->attr<DequantizeAttrs>();
      const HostTensor& q = p->inputs[0]->producer->attr<ConstantAttrs>().value;
      const int64_t per = q.numel() / q.shape[0];
      for (int64_t i = 0; i < q.numel(); ++i)
        EXPECT_NEAR(q.get(i) * da.scale.get(i / per), want[size_t(layer)].get(i),
                    1e-6 * std::abs(want[size_t(layer)].get(i)) + 1e-9)
            << layer << " " << i;
    } else {
      EXPECT_EQ(p->op, OpKind::Constant);  // random weights: no grid
    }
    ++layer;
  }
}

TEST(Calibration, BuildsRefuseAQuantizationAwareGraphWithATable) {
  auto g = small_cnn();
  CalibrationTable t = table_for(*g, 0.01f);
  insert_activation_quantization(*g, t);  // now it has its own quantization nodes
  BuildConfig c;
  c.int8 = true;
  c.int8_calibration = std::make_shared<CalibrationTable>(t);
  EXPECT_THROW(build_engine(std::move(g), c, {"x"}, {"y", "z"}), Error);
  // A calibrated build: quantized activations, weights on their grid, numbers close to FP32.
  auto fresh = small_cnn();
  HostTensor x = random_tensor(DType::kFloat32, {2, 16, 8, 16}, 9);
  auto want = backends::reference::run(*fresh, {x});
  CalibrationTable t2 = minmax_table(*fresh, x);
  c.int8_calibration = std::make_shared<CalibrationTable>(t2);
  Engine e = build_engine(std::move(fresh), c, {"x"}, {"y", "z"});
  EXPECT_GE(count(*e.graph, OpKind::Quantize), 1);
  EXPECT_NE(e.build_options.find("int8=entropy"), std::string::npos) << e.build_options;
  auto got = backends::reference::run(*e.graph, {x});
  for (size_t i = 0; i < got.size(); ++i) EXPECT_LT(max_rel(got[i], want[i]), 0.05) << i;
}

// ---- the INT8 layer choice by timing (core/plan/int8_choice.h) ----

namespace {

// Made-up node times for small_cnn's engines: INT8 layers 0.5 ms, float convolutions 1 ms, float
// linear layers 2 ms, a Quantize of the graph input 4.5 ms and other Quantize nodes 0.1 ms. So
// the 3x3 convolution, whose int8 input needs the expensive Quantize, is faster in float (5.0 ms
// against 1 ms) and the two other layers are faster in INT8.
std::vector<double> made_up_times(const Graph& g) {
  std::vector<double> t;
  for (const Node* n : g.nodes()) {
    switch (n->op) {
      case OpKind::QConv2d:
      case OpKind::QLinear: t.push_back(0.5); break;
      case OpKind::Conv2d: t.push_back(1.0); break;
      case OpKind::Linear: t.push_back(2.0); break;
      case OpKind::Quantize: t.push_back(n->inputs[0]->producer ? 0.1 : 4.5); break;
      default: t.push_back(0.0);
    }
  }
  return t;
}

BuildConfig int8_f16_config(const CalibrationTable& t) {
  BuildConfig c;
  c.precision = DType::kFloat16;
  c.int8 = true;
  c.int8_calibration = std::make_shared<CalibrationTable>(t);
  return c;
}

// A builder hook for the reference backend that reports made_up_times, while it lives; with
// `fail_float`, building an engine without INT8 fails (as one out of memory would).
struct MadeUpTimer {
  int builds = 0;
  explicit MadeUpTimer(bool fail_float = false) {
    register_backend_builder(DeviceType::kReference,
                             [this, fail_float](Engine& e, const BuildConfig& c, const BackendBuildRequest& r) {
                               ++builds;
                               if (fail_float && !c.int8) TRTORCH_ERROR("out of memory (made up)");
                               if (r.node_times) *r.node_times = made_up_times(*e.graph);
                             });
  }
  ~MadeUpTimer() { register_backend_builder(DeviceType::kReference, nullptr); }
};

}  // namespace

TEST(Int8Choice, LayersAreMatchedByTheirTagsNotTheirOrder) {
  // x -> conv A -> a; x -> conv B -> b; a + b, with b also an output: the add becomes conv A's
  // residual epilogue, and the fused conv A moves after conv B. Both layers have one source and
  // one weight shape, so only their tags tell them apart.
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input(TensorType::fixed(DType::kFloat32, {2, 16, 8, 8}), "x");
  Value* wa = g->add_constant(random_tensor(DType::kFloat32, {16, 16, 1, 1}, 1));
  Value* wb = g->add_constant(random_tensor(DType::kFloat32, {16, 16, 1, 1}, 2));
  Value* a = g->add_node(OpKind::Conv2d, Conv2dAttrs{}, {x, wa}, "aten::conv2d at m.py:2")->outputs[0];
  Value* b = g->add_node(OpKind::Conv2d, Conv2dAttrs{}, {x, wb}, "aten::conv2d at m.py:2")->outputs[0];
  Value* sum = g->add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kAdd}, {a, b}, "aten::add at m.py:3")->outputs[0];
  g->mark_output(sum);
  g->mark_output(b);
  HostTensor xv = random_tensor(DType::kFloat32, {2, 16, 8, 8}, 9);
  const CalibrationTable t = minmax_table(*g, xv);
  const auto keys = quantized_inputs(*g);
  ASSERT_EQ(keys.size(), 2u);
  BuildConfig c = int8_f16_config(t);
  auto all = lower_graph(g->clone(), c, {}, true);
  BuildConfig f;
  f.precision = DType::kFloat16;
  auto floats = lower_graph(g->clone(), f, {}, true);
  // The lowering moved conv A (the one with the residual) after conv B.
  std::vector<const Node*> layers;
  for (const Node* n : all->nodes())
    if (n->op == OpKind::QConv2d) layers.push_back(n);
  ASSERT_EQ(layers.size(), 2u);
  ASSERT_FALSE(layers[0]->attr<QConv2dAttrs>().has_residual);
  ASSERT_TRUE(layers[1]->attr<QConv2dAttrs>().has_residual);
  const std::vector<std::string> ids = int8_layer_ids(*all);
  const std::vector<std::string> float_ids = int8_layer_ids(*floats);
  int tagged = 0;
  for (const std::string& id : float_ids) tagged += !id.empty();
  EXPECT_EQ(tagged, 2);
  // Made-up times: the INT8 layer with the residual is slow (5 ms) and the other fast (0.5 ms),
  // a float convolution takes 1 ms: conv A, the first in the source graph, is kept in float.
  std::vector<double> t8, tf;
  for (const Node* n : all->nodes())
    t8.push_back(n->op == OpKind::QConv2d ? (n->attr<QConv2dAttrs>().has_residual ? 5.0 : 0.5) : 0.0);
  for (const Node* n : floats->nodes()) tf.push_back(n->op == OpKind::Conv2d ? 1.0 : 0.0);
  const Int8Choice choice = choose_int8_layers(*all, t8, *floats, tf);
  EXPECT_EQ(choice.float_layers, std::set<std::string>{keys[0].key});
  ASSERT_EQ(choice.timings.size(), 2u);
  EXPECT_EQ(choice.timings[0].key, keys[1].key);
  const std::vector<Node*> nodes = all->nodes();
  EXPECT_EQ(ids[size_t(std::find(nodes.begin(), nodes.end(), layers[1]) - nodes.begin())], keys[0].key + "|16x16x1x1");
  // Stripped, the sources are the model's again.
  strip_int8_layer_tags(*all);
  for (const Node* n : all->nodes()) EXPECT_EQ(n->source.find('\x1f'), std::string::npos) << n->source;
  EXPECT_EQ(layers[0]->source, "aten::conv2d at m.py:2");
}

TEST(Int8Choice, KeepsInFloatTheLayersFasterThere) {
  auto source = small_cnn();
  HostTensor x = random_tensor(DType::kFloat32, {2, 16, 8, 16}, 9);
  const CalibrationTable t = minmax_table(*source, x);
  auto all = lower_graph(source->clone(), int8_f16_config(t), {}, true);
  BuildConfig f;
  f.precision = DType::kFloat16;
  auto floats = lower_graph(source->clone(), f, {}, true);
  ASSERT_EQ(count(*all, OpKind::QConv2d), 2);
  ASSERT_EQ(count(*all, OpKind::QLinear), 1);
  const Int8Choice choice = choose_int8_layers(*all, made_up_times(*all), *floats, made_up_times(*floats));
  const auto keys = quantized_inputs(*source);
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(choice.float_layers, std::set<std::string>{keys[0].key});
  ASSERT_EQ(choice.timings.size(), 3u);
  // The 3x3 layer: 0.5 ms + the Quantize of the input; in float 1 ms + the Quantize its int8
  // output's reader (the 1x1 layer) would need, at the engine's median Quantize time per element
  // (of 4.5 ms and 0.1 ms over as many elements: 0.1 ms); the 1x1: its own time (a float output);
  // the linear layer: 0.5 ms + the 0.1 ms Quantize of y that it alone reads.
  EXPECT_DOUBLE_EQ(choice.timings[0].int8_ms, 5.0);
  EXPECT_NEAR(choice.timings[0].float_ms, 1.1, 1e-12);
  EXPECT_DOUBLE_EQ(choice.timings[1].float_ms, 1.0);
  EXPECT_DOUBLE_EQ(choice.timings[1].int8_ms, 0.5);
  EXPECT_DOUBLE_EQ(choice.timings[2].int8_ms, 0.6);
  EXPECT_DOUBLE_EQ(choice.timings[2].float_ms, 2.0);
  EXPECT_NE(choice.str().find("1 of 3 INT8 layers are faster in float: " + keys[0].key), std::string::npos)
      << choice.str();
}

TEST(Int8Choice, BuildsKeepTheChosenLayersInFloat) {
  auto source = small_cnn();
  HostTensor x = random_tensor(DType::kFloat32, {2, 16, 8, 16}, 9);
  const auto want = backends::reference::run(*source, {x});
  const CalibrationTable t = minmax_table(*source, x);
  MadeUpTimer timer;
  Engine e = build_engine(source->clone(), int8_f16_config(t), {"x"}, {"y", "z"});
  EXPECT_EQ(timer.builds, 3);  // all INT8, all float, chosen
  for (const Node* n : e.graph->nodes()) EXPECT_EQ(n->source.find('\x1f'), std::string::npos) << n->source;
  // The 3x3 convolution is a float layer reading its float input; the others are INT8 layers.
  EXPECT_EQ(count(*e.graph, OpKind::Conv2d), 1);
  EXPECT_EQ(count(*e.graph, OpKind::QConv2d), 1);
  EXPECT_EQ(count(*e.graph, OpKind::QLinear), 1);
  for (const Node* n : e.graph->nodes())
    if (n->op == OpKind::Conv2d) EXPECT_EQ(n->inputs[0]->producer, nullptr) << "reads x itself";
  EXPECT_NE(e.build_options.find("int8=entropy;int8_layers=timing"), std::string::npos) << e.build_options;
  auto got = backends::reference::run(*e.graph, {x.to(DType::kFloat16)});
  for (size_t i = 0; i < got.size(); ++i) EXPECT_LT(max_rel(got[i], want[i]), 0.05) << i;
  // Without the choice: one build, every layer that fits in INT8.
  BuildConfig c = int8_f16_config(t);
  c.int8_timing_choice = false;
  Engine every = build_engine(source->clone(), c, {"x"}, {"y", "z"});
  EXPECT_EQ(timer.builds, 4);
  EXPECT_EQ(count(*every.graph, OpKind::QConv2d), 2);
  EXPECT_NE(every.build_options.find("int8_layers=all"), std::string::npos) << every.build_options;
}

TEST(Int8Choice, AGraphWithoutInt8LayersIsBuiltOnce) {
  // One convolution of 3 input channels: no layer fits in INT8, nothing to time.
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input(TensorType::fixed(DType::kFloat32, {2, 3, 8, 8}), "x");
  Value* w = g->add_constant(random_tensor(DType::kFloat32, {16, 3, 3, 3}, 1));
  g->mark_output(g->add_node(OpKind::Conv2d, Conv2dAttrs{}, {x, w}, "aten::conv2d at m.py:2")->outputs[0]);
  HostTensor xv = random_tensor(DType::kFloat32, {2, 3, 8, 8}, 9);
  const CalibrationTable t = minmax_table(*g, xv);
  MadeUpTimer timer;
  Engine e = build_engine(std::move(g), int8_f16_config(t), {"x"}, {"y"});
  EXPECT_EQ(timer.builds, 1);
  EXPECT_EQ(count(*e.graph, OpKind::Conv2d), 1);
  for (const Node* n : e.graph->nodes()) EXPECT_EQ(n->source.find('\x1f'), std::string::npos) << n->source;
}

TEST(Int8Choice, AFailedFloatBuildLeavesTheAllInt8Engine) {
  auto source = small_cnn();
  HostTensor x = random_tensor(DType::kFloat32, {2, 16, 8, 16}, 9);
  MadeUpTimer timer(/*fail_float=*/true);
  Engine e = build_engine(source->clone(), int8_f16_config(minmax_table(*source, x)), {"x"}, {"y", "z"});
  EXPECT_EQ(timer.builds, 2);
  EXPECT_EQ(count(*e.graph, OpKind::QConv2d), 2);
  EXPECT_EQ(count(*e.graph, OpKind::QLinear), 1);
  for (const Node* n : e.graph->nodes()) EXPECT_EQ(n->source.find('\x1f'), std::string::npos) << n->source;
}

TEST(Int8Choice, WithoutATimingBackendEveryFittingLayerRunsInInt8) {
  auto source = small_cnn();
  HostTensor x = random_tensor(DType::kFloat32, {2, 16, 8, 16}, 9);
  Engine e = build_engine(source->clone(), int8_f16_config(minmax_table(*source, x)), {"x"}, {"y", "z"});
  EXPECT_EQ(count(*e.graph, OpKind::QConv2d), 2);
  EXPECT_EQ(count(*e.graph, OpKind::QLinear), 1);
  EXPECT_NE(e.build_options.find("int8_layers=all"), std::string::npos) << e.build_options;
}
