// Engines built by hand for the serialization tests and the deserializer fuzz test.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/ir/ir.h"
#include "core/plan/engine.h"

namespace trtorch::plan::fixtures {

using namespace trtorch::ir;

constexpr size_t kHeaderSize = 28;  // magic, version, payload size, checksum

inline HostTensor filled(DType t, std::vector<int64_t> shape, double start = 0.25) {
  HostTensor h(t, std::move(shape));
  for (int64_t i = 0; i < h.numel(); ++i) h.set(i, start * double(i % 5) - 0.5);
  return h;
}

inline Value* add(Graph& g, OpKind op, Attrs a, std::vector<Value*> in, const std::string& source,
                  const std::string& name = "") {
  Node* n = g.add_node(op, std::move(a), in, source);
  n->outputs[0]->name = name;
  return n->outputs[0];
}

// Every op of ops.def and every attribute field type (constants of every dtype, a rank-0 constant,
// a symbolic batch dim with a range). serialize_test checks that it covers the whole op table.
inline std::unique_ptr<Graph> all_ops_graph() {
  auto g = std::make_unique<Graph>();
  Graph& G = *g;
  const DType f32 = DType::kFloat32;
  Value* x = G.add_input(TensorType(f32, {Dim::symbolic(0, 1, 32), Dim::fixed(3), Dim::fixed(8), Dim::fixed(8)}), "x");
  Value* y = G.add_input(TensorType::fixed(f32, {2, 3, 4}), "y");

  Value* w = G.add_constant(filled(f32, {4, 3, 3, 3}), "conv.weight");
  Value* b = G.add_constant(filled(f32, {4}), "conv.bias");
  Conv2dAttrs conv;
  conv.padding = {1, 1};
  Value* c = add(G, OpKind::Conv2d, conv, {x, w, b}, "aten::conv2d at model.py:10", "conv");
  Value* w2 = G.add_constant(filled(f32, {4, 2, 3, 3}, 0.125));
  Conv2dAttrs gconv;
  gconv.stride = {2, 1};
  gconv.dilation = {1, 2};
  gconv.groups = 2;
  Value* c2 = add(G, OpKind::Conv2d, gconv, {c, w2}, "aten::conv2d at model.py:11");

  std::vector<Value*> bn_in{c2};
  for (int i = 0; i < 4; ++i) bn_in.push_back(G.add_constant(filled(f32, {4}, 0.5 + i)));
  Value* bn = add(G, OpKind::BatchNorm, BatchNormAttrs{1e-3}, bn_in, "aten::batch_norm");

  UnaryAttrs leaky{UnaryKind::kLeakyRelu, 0.1, 0.0};
  Value* u = add(G, OpKind::Unary, leaky, {bn}, "aten::leaky_relu", "act");
  UnaryAttrs clamp{UnaryKind::kClamp, 0.0, 6.0};
  Value* u2 = add(G, OpKind::Unary, clamp, {u}, "aten::hardtanh");

  Pool2dAttrs maxpool;
  maxpool.kernel = {3, 3};
  maxpool.stride = {2, 2};
  maxpool.padding = {1, 1};
  maxpool.ceil_mode = true;
  Value* p = add(G, OpKind::Pool2d, maxpool, {u2}, "aten::max_pool2d");
  Pool2dAttrs avgpool;
  avgpool.kind = PoolKind::kAvg;
  avgpool.kernel = {2, 2};
  avgpool.count_include_pad = false;
  avgpool.divisor_override = 3;
  Value* p2 = add(G, OpKind::Pool2d, avgpool, {p}, "aten::avg_pool2d");
  AdaptivePool2dAttrs ap;
  ap.output_size = {1, 1};
  Value* a = add(G, OpKind::AdaptivePool2d, ap, {p2}, "aten::adaptive_avg_pool2d");

  Value* scale = G.add_constant(filled(f32, {1, 4, 1, 1}));
  Value* m = add(G, OpKind::Binary, BinaryAttrs{BinaryKind::kMul}, {a, scale}, "aten::mul");
  Value* t = add(G, OpKind::Transpose, TransposeAttrs{{0, 2, 3, 1}}, {m}, "aten::permute");
  Value* s = add(G, OpKind::Slice, SliceAttrs{3, 1, 4, 2}, {t}, "aten::slice");
  Value* cat = add(G, OpKind::Concat, ConcatAttrs{3}, {s, s, t}, "aten::cat");
  Value* red = add(G, OpKind::Reduce, ReduceAttrs{ReduceKind::kMean, {1, 2}, false}, {cat}, "aten::mean");
  Value* lw = G.add_constant(filled(f32, {5, 8}));
  Value* lb = G.add_constant(filled(f32, {5}));
  Value* lin = add(G, OpKind::Linear, LinearAttrs{}, {red, lw, lb}, "aten::linear");
  Value* sm = add(G, OpKind::Softmax, SoftmaxAttrs{1, true}, {lin}, "aten::log_softmax");
  Value* mw = G.add_constant(filled(f32, {5, 3}));
  Value* mm = add(G, OpKind::MatMul, MatMulAttrs{}, {sm, mw}, "aten::matmul");
  Value* h = add(G, OpKind::Cast, CastAttrs{DType::kFloat16}, {mm}, "aten::to");
  Value* id = add(G, OpKind::Identity, IdentityAttrs{}, {h}, "aten::contiguous", "out");
  Value* half_scalar = G.add_constant(filled(DType::kFloat16, {}, 3.0));
  Value* hs = add(G, OpKind::Binary, BinaryAttrs{BinaryKind::kPow}, {id, half_scalar}, "aten::pow");

  Value* r = add(G, OpKind::Reshape, ReshapeAttrs{{6, -1}}, {y}, "aten::view");
  Value* rs = add(G, OpKind::Reduce, ReduceAttrs{ReduceKind::kSum, {0}, true}, {r}, "aten::sum");

  Value* i32 = G.add_constant(filled(DType::kInt32, {3}, 7.0));
  Value* i32b = G.add_constant(filled(DType::kInt32, {1}, 2.0));
  Value* isum = add(G, OpKind::Binary, BinaryAttrs{BinaryKind::kAdd}, {i32, i32b}, "aten::add");
  Value* i64 = G.add_constant(filled(DType::kInt64, {2, 2}, 1e12));
  Value* i64f = add(G, OpKind::Cast, CastAttrs{DType::kFloat32}, {i64}, "aten::to");
  Value* bl = G.add_constant(filled(DType::kBool, {4}, 1.0));
  Value* blf = add(G, OpKind::Cast, CastAttrs{DType::kBFloat16}, {bl}, "aten::to");
  Value* bf = G.add_constant(filled(DType::kBFloat16, {2}, 0.75));
  Value* bfe = add(G, OpKind::Unary, UnaryAttrs{UnaryKind::kExp}, {bf}, "aten::exp");

  // Transformer ops on y [2, 3, 4].
  Value* lnw = G.add_constant(filled(f32, {4}, 0.5));
  Value* lnb = G.add_constant(filled(f32, {4}));
  Value* ln = add(G, OpKind::LayerNorm, LayerNormAttrs{1, 1e-6}, {y, lnw, lnb}, "aten::layer_norm");
  HostTensor ids(DType::kInt64, {3});
  for (int64_t i = 0; i < 3; ++i) ids.set(i, double(2 * i));
  Value* table = G.add_constant(filled(f32, {6, 4}, 0.125));
  Value* emb = add(G, OpKind::Gather, GatherAttrs{0}, {table, G.add_constant(ids)}, "aten::embedding");
  Value* cond = G.add_constant(filled(DType::kBool, {3, 1}, 1.0));
  Value* fill = G.add_constant(filled(f32, {}, 2.0));
  Value* wh = add(G, OpKind::Where, WhereAttrs{}, {cond, ln, fill}, "aten::masked_fill");
  Value* ex = add(G, OpKind::Expand, ExpandAttrs{{2, 3, 4}}, {emb}, "aten::expand");

  // Masks and running sums: Compare (a bool result) and CumSum.
  Value* cmp = add(G, OpKind::Compare, CompareAttrs{CompareKind::kLe}, {ln, fill}, "aten::le");
  Value* cs = add(G, OpKind::CumSum, CumSumAttrs{1}, {y}, "aten::cumsum");

  // Running products, sorting (values and int64 indices), scatter-add, grid sampling.
  Value* cp = add(G, OpKind::CumProd, CumProdAttrs{2}, {y}, "aten::cumprod");
  Node* tk = G.add_node(OpKind::TopK, TopKAttrs{2, 2, false}, {y}, "aten::topk");
  HostTensor sidx(DType::kInt64, {2, 3, 2});
  for (int64_t i = 0; i < 12; ++i) sidx.set(i, double(i % 4));
  Value* sc = add(G, OpKind::Scatter, ScatterAttrs{2, ScatterReduce::kAdd}, {y, G.add_constant(sidx), tk->outputs[0]},
                  "aten::scatter_add");
  Value* grid = G.add_constant(filled(f32, {2, 3, 2, 2}, 0.25));
  GridSampleAttrs gsa;
  gsa.mode = GridSampleMode::kNearest;
  gsa.padding = GridSamplePadding::kReflection;
  gsa.align_corners = true;
  Value* gs = add(G, OpKind::GridSample, gsa, {G.add_constant(filled(f32, {2, 2, 4, 4}, 1.5)), grid},
                  "aten::grid_sampler");

  // Quantization: y per channel of its last dim (int8 out), an int8 constant dequantized per tensor.
  QuantizeAttrs qa;
  qa.axis = 2;
  qa.scale = HostTensor(f32, {4});
  for (int64_t i = 0; i < 4; ++i) qa.scale.set(i, 0.125 * double(i + 1));
  qa.qmin = -127;
  Value* q = add(G, OpKind::Quantize, qa, {y}, "aten::fake_quantize_per_channel_affine");
  HostTensor q8(DType::kInt8, {2, 3});
  for (int64_t i = 0; i < 6; ++i) q8.set(i, double(i * 40 - 120));
  DequantizeAttrs dqa;
  dqa.scale = HostTensor(f32, {});
  dqa.scale.set(0, 0.0625);
  dqa.to = DType::kFloat16;
  Value* dq = add(G, OpKind::Dequantize, dqa, {G.add_constant(q8)}, "aten::dequantize");

  // INT8 layers: a 3x3 QConv2d with an int8 residual and relu, int8 out; a QLinear into FP16.
  auto int8s = [](std::vector<int64_t> shape, int64_t mul) {
    HostTensor h(DType::kInt8, std::move(shape));
    for (int64_t i = 0; i < h.numel(); ++i) h.set(i, double((i * mul) % 255 - 127));
    return h;
  };
  auto scales = [](int64_t n, double base) {
    HostTensor h(DType::kFloat32, {n});
    for (int64_t i = 0; i < n; ++i) h.set(i, base * double(1 + i % 3));
    return h;
  };
  QConv2dAttrs qca;
  qca.padding = {1, 1};
  qca.has_residual = true;
  qca.q.x_scale = 0.05;
  qca.q.w_scale = scales(16, 0.002);
  qca.q.lo = 0;
  qca.q.r_scale = 0.1;
  qca.q.y_scale = 0.25;
  Value* qconv = add(G, OpKind::QConv2d, qca,
                     {G.add_constant(int8s({1, 16, 2, 2}, 37)), G.add_constant(int8s({16, 16, 3, 3}, 11)),
                      G.add_constant(filled(f32, {16})), G.add_constant(int8s({1, 16, 2, 2}, 53))},
                     "aten::conv2d");
  QLinearAttrs qla;
  qla.q.x_scale = 0.125;
  qla.q.w_scale = scales(8, 0.01);
  qla.q.hi = 4.0;
  qla.q.out_dtype = DType::kFloat16;
  Value* qlin = add(G, OpKind::QLinear, qla,
                    {G.add_constant(int8s({3, 16}, 29)), G.add_constant(int8s({8, 16}, 7)),
                     G.add_constant(filled(f32, {8}))},
                    "aten::linear");

  // Attention over y as [batch 2, seq 3, d 4] with a bias, and a LayerNorm with a fused residual.
  AttentionAttrs at;
  at.scale = 0.5;
  at.causal = true;
  Value* att = add(G, OpKind::Attention, at, {y, ln, y, G.add_constant(filled(f32, {3, 3}, -1.0))},
                   "aten::scaled_dot_product_attention");
  Value* lnr = add(G, OpKind::LayerNorm, LayerNormAttrs{1, 1e-5, true}, {y, att, lnw, lnb}, "aten::layer_norm");
  // The same emitting its FP32 sum (a second output).
  Node* lns = G.add_node(OpKind::LayerNorm, LayerNormAttrs{1, 1e-5, true, true}, {y, att, lnw, lnb}, "aten::layer_norm");

  // A fused elementwise chain: tanh(y * 0.5 + ln) (an immediate and two inputs).
  PointwiseAttrs pwa;
  pwa.code = {PointwiseAttrs::kImmediate, 0, 0, 0, PointwiseAttrs::kBinary, int64_t(BinaryKind::kMul), 0, 2,
              PointwiseAttrs::kBinary, int64_t(BinaryKind::kAdd), 3, 1, PointwiseAttrs::kUnary,
              int64_t(UnaryKind::kTanh), 4, 0};
  pwa.params = filled(f32, {8}, 0.0);
  pwa.params.set(0, 0.5);
  Value* pw = add(G, OpKind::Pointwise, pwa, {y, ln}, "fused");

  for (Value* o : {hs, rs, isum, i64f, blf, bfe, id, wh, ex, cmp, cs, cp, tk->outputs[1], sc, gs, lnr, lns->outputs[0],
                   lns->outputs[1], pw, q, dq, qconv, qlin})
    G.mark_output(o);
  verify(G);
  return g;
}

// input -> Unary -> output: small enough to corrupt byte by byte.
inline std::unique_ptr<Graph> small_graph() {
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input(TensorType(DType::kFloat32, {Dim::symbolic(0, 1, 8), Dim::fixed(4)}), "x");
  Value* c = g->add_constant(filled(DType::kFloat32, {4}), "bias");
  Value* s = add(*g, OpKind::Binary, BinaryAttrs{BinaryKind::kSub}, {x, c}, "sub@marker", "diff");
  Value* u = add(*g, OpKind::Unary, UnaryAttrs{UnaryKind::kSigmoid}, {s}, "unary@marker", "y");
  g->mark_output(u);
  return g;
}

// A small convolutional graph with static shapes.
inline std::unique_ptr<Graph> conv_graph() {
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input(TensorType::fixed(DType::kFloat16, {1, 2, 5, 5}), "image");
  Value* w = g->add_constant(filled(DType::kFloat16, {2, 2, 1, 1}));
  Conv2dAttrs ca;
  ca.stride = {2, 2};
  Value* c = add(*g, OpKind::Conv2d, ca, {x, w}, "conv");
  Pool2dAttrs pa;
  pa.kernel = {2, 2};
  Value* p = add(*g, OpKind::Pool2d, pa, {c}, "pool");
  Value* r = add(*g, OpKind::Reshape, ReshapeAttrs{{1, -1}}, {p}, "flatten");
  Value* s = add(*g, OpKind::Softmax, SoftmaxAttrs{1, false}, {r}, "softmax");
  g->mark_output(s);
  g->mark_output(x);
  return g;
}

inline Engine make_engine(std::unique_ptr<Graph> g, bool cuda = false) {
  Engine e;
  if (cuda) {
    e.device.type = DeviceType::kCUDA;
    e.device.gpu_id = 1;
    e.device.gpu_name = "NVIDIA H100 80GB HBM3";
    e.device.sm_major = 9;
    e.device.sm_minor = 0;
    e.precision = DType::kFloat16;
  }
  e.producer = "trtorch test";
  for (Value* v : g->inputs()) e.input_names.push_back("input_" + v->name);
  for (size_t i = 0; i < g->outputs().size(); ++i) e.output_names.push_back("output_" + std::to_string(i));
  e.graph = std::move(g);
  return e;
}

// Valid engines for the corruption and fuzz tests.
inline std::vector<std::vector<uint8_t>> corpus() {
  return {serialize(make_engine(small_graph())), serialize(make_engine(conv_graph(), true)),
          serialize(make_engine(all_ops_graph(), true))};
}

// Rewrites the header's payload size and checksum so that a modified payload reaches the parser.
inline void reseal(std::vector<uint8_t>& b) {
  if (b.size() < kHeaderSize) return;
  uint64_t size = b.size() - kHeaderSize;
  uint64_t sum = fnv1a64(b.data() + kHeaderSize, b.size() - kHeaderSize);
  for (int i = 0; i < 8; ++i) {
    b[12 + i] = uint8_t(size >> (8 * i));
    b[20 + i] = uint8_t(sum >> (8 * i));
  }
}

// Offset of the first occurrence of `s` in `b` (the tests place marker strings in sources).
inline size_t find_bytes(const std::vector<uint8_t>& b, const std::string& s) {
  for (size_t i = 0; i + s.size() <= b.size(); ++i)
    if (std::equal(s.begin(), s.end(), b.begin() + long(i))) return i;
  return std::string::npos;
}

}  // namespace trtorch::plan::fixtures
