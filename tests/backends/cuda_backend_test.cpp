// The CUDA backend end to end (torch-free): engines built for the GPU through plan::build_engine,
// serialized, loaded again and run, compared with the reference backend. Every op of ops.def,
// FP32 / FP16 / BF16, with and without CUDA graphs, plus the timing cache and the build options an
// engine records. Exits 77 (skipped) where there is no GPU.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "core/backends/cuda/executor/backend_data.h"
#include "core/backends/cuda/executor/executor.h"
#include "tests/backends/cuda_test_util.h"

using namespace trtorch;
using namespace trtorch::ir;
using namespace trtorch::cuda_test;

namespace {

std::unique_ptr<Graph> one_op(DType dt, std::vector<std::vector<int64_t>> shapes, OpKind op, Attrs attrs,
                              std::vector<HostTensor> consts = {}) {
  auto g = std::make_unique<Graph>();
  std::vector<Value*> ins;
  for (size_t i = 0; i < shapes.size(); ++i) ins.push_back(g->add_input(TensorType::fixed(dt, shapes[i]), "x"));
  for (auto& c : consts) ins.push_back(g->add_constant(c.to(dt)));
  g->mark_output(g->add_node(op, std::move(attrs), ins)->outputs[0]);
  return g;
}

std::function<std::vector<HostTensor>(DType)> inputs_of(std::vector<std::vector<int64_t>> shapes, bool positive = false) {
  return [shapes, positive](DType dt) {
    std::vector<HostTensor> r;
    uint32_t seed = 11;
    for (const auto& s : shapes) r.push_back(random_tensor(dt, s, seed++, positive ? 0.2f : 1.0f, positive ? 1.0f : 0.0f));
    return r;
  };
}

class CudaBackend : public ::testing::TestWithParam<DType> {};

TEST_P(CudaBackend, EveryOp) {
  const DType dt = GetParam();
  auto op = [&](const std::string& name, std::vector<std::vector<int64_t>> shapes, OpKind k, Attrs a,
                std::vector<HostTensor> consts = {}, bool positive = false) {
    check(name, [=](DType t) { return one_op(t, shapes, k, a, consts); }, inputs_of(shapes, positive), dt);
  };
  for (UnaryKind u : {UnaryKind::kRelu, UnaryKind::kSigmoid, UnaryKind::kTanh, UnaryKind::kHardSigmoid,
                      UnaryKind::kHardSwish, UnaryKind::kSilu, UnaryKind::kGeluErf, UnaryKind::kGeluTanh,
                      UnaryKind::kLeakyRelu, UnaryKind::kElu, UnaryKind::kClamp, UnaryKind::kExp, UnaryKind::kNeg,
                      UnaryKind::kAbs, UnaryKind::kErf})
    op(std::string("unary ") + unary_kind_name(u), {{2, 3, 5, 7}}, OpKind::Unary, UnaryAttrs{u, 0.1, 0.6});
  op("unary rsqrt", {{4, 33}}, OpKind::Unary, UnaryAttrs{UnaryKind::kRsqrt}, {}, true);
  for (BinaryKind b : {BinaryKind::kAdd, BinaryKind::kSub, BinaryKind::kMul, BinaryKind::kMax, BinaryKind::kMin})
    op(std::string("binary ") + binary_kind_name(b) + " bcast", {{2, 3, 4, 5}, {3, 1, 1}}, OpKind::Binary,
       BinaryAttrs{b});
  op("binary div", {{4, 6}, {4, 6}}, OpKind::Binary, BinaryAttrs{BinaryKind::kDiv}, {}, true);
  Conv2dAttrs ca;
  ca.stride = {2, 2};
  ca.padding = {1, 1};
  ca.has_act = true;
  op("conv 3x3 s2 +bias relu", {{2, 8, 14, 14}}, OpKind::Conv2d, ca,
     {random_tensor(DType::kFloat32, {16, 8, 3, 3}, 1, 0.2f), random_tensor(DType::kFloat32, {16}, 2)});
  Conv2dAttrs dw;
  dw.groups = 16;
  dw.padding = {1, 1};
  op("conv depthwise", {{1, 16, 9, 9}}, OpKind::Conv2d, dw, {random_tensor(DType::kFloat32, {16, 1, 3, 3}, 3)});
  op("batch norm", {{2, 4, 3, 3}}, OpKind::BatchNorm, BatchNormAttrs{1e-5},
     {random_tensor(DType::kFloat32, {4}, 4, 0.1f, 1.0f), random_tensor(DType::kFloat32, {4}, 5),
      random_tensor(DType::kFloat32, {4}, 6), random_tensor(DType::kFloat32, {4}, 7, 0.1f, 1.0f)});
  LinearAttrs la;
  la.has_act = true;
  la.act = UnaryKind::kGeluErf;
  op("linear +bias gelu", {{3, 5, 32}}, OpKind::Linear, la,
     {random_tensor(DType::kFloat32, {24, 32}, 8, 0.2f), random_tensor(DType::kFloat32, {24}, 9)});
  op("matmul batched", {{2, 3, 8, 16}, {16, 4}}, OpKind::MatMul, MatMulAttrs{});
  Pool2dAttrs mp;
  mp.kernel = {3, 3};
  mp.stride = {2, 2};
  mp.padding = {1, 1};
  mp.ceil_mode = true;
  op("max pool ceil", {{2, 3, 11, 10}}, OpKind::Pool2d, mp);
  Pool2dAttrs ap = mp;
  ap.kind = PoolKind::kAvg;
  ap.count_include_pad = false;
  op("avg pool excl pad", {{2, 3, 11, 10}}, OpKind::Pool2d, ap);
  AdaptivePool2dAttrs aa;
  aa.output_size = {3, 2};
  op("adaptive avg pool", {{2, 5, 7, 9}}, OpKind::AdaptivePool2d, aa);
  aa.kind = PoolKind::kMax;
  op("adaptive max pool", {{2, 5, 7, 9}}, OpKind::AdaptivePool2d, aa);
  op("reduce mean hw", {{2, 6, 7, 7}}, OpKind::Reduce, ReduceAttrs{ReduceKind::kMean, {2, 3}, true});
  op("reduce sum big", {{3, 2000}}, OpKind::Reduce, ReduceAttrs{ReduceKind::kSum, {1}, false});
  op("reduce max axis0", {{5, 4, 3}}, OpKind::Reduce, ReduceAttrs{ReduceKind::kMax, {0, 2}, false});
  op("softmax last", {{4, 3, 300}}, OpKind::Softmax, SoftmaxAttrs{2, false});
  op("log softmax mid", {{4, 10, 6}}, OpKind::Softmax, SoftmaxAttrs{1, true});
  op("transpose", {{2, 3, 4, 5}}, OpKind::Transpose, TransposeAttrs{{0, 2, 3, 1}});
  // Inner rows kept (copied in words of up to 16 bytes), merged dims, rows of odd length.
  op("transpose rows [L,B,E]->[B,L,E]", {{7, 3, 64}}, OpKind::Transpose, TransposeAttrs{{1, 0, 2}});
  op("transpose heads [B,S,H,d]->[B,H,S,d]", {{2, 5, 3, 8}}, OpKind::Transpose, TransposeAttrs{{0, 2, 1, 3}});
  op("transpose merged dims", {{2, 3, 4, 6}}, OpKind::Transpose, TransposeAttrs{{2, 3, 0, 1}});
  op("transpose odd rows", {{3, 5, 7}}, OpKind::Transpose, TransposeAttrs{{1, 0, 2}});
  SliceAttrs sa{1, 1, 6, 2};
  op("slice step 2", {{3, 7, 4}}, OpKind::Slice, sa);
  op("slice contiguous", {{3, 7, 4}}, OpKind::Slice, SliceAttrs{1, 2, 5, 1});
  op("cast to i32", {{3, 4}}, OpKind::Cast, CastAttrs{DType::kInt32});
  op("layer norm affine", {{3, 5, 96}}, OpKind::LayerNorm, LayerNormAttrs{1, 1e-5},
     {random_tensor(DType::kFloat32, {96}, 12, 0.5f, 1.0f), random_tensor(DType::kFloat32, {96}, 13)});
  op("layer norm 2 dims", {{4, 6, 70}}, OpKind::LayerNorm, LayerNormAttrs{2, 1e-3});
  op("layer norm long row", {{2, 1500}}, OpKind::LayerNorm, LayerNormAttrs{1, 1e-5});
  op("expand", {{3, 1, 5}}, OpKind::Expand, ExpandAttrs{{2, 3, 4, 5}});
  // Gather and Where take integer / bool constants, which one_op would convert to dt.
  for (DType idx_t : {DType::kInt64, DType::kInt32}) {
    for (int64_t axis : {0, 1}) {
      check(str_cat("gather ", dtype_name(idx_t), " axis ", axis),
            [idx_t, axis](DType t) {
              auto g = std::make_unique<Graph>();
              Value* x = g->add_input(TensorType::fixed(t, {7, 9, 3}), "x");
              HostTensor ids(idx_t, {2, 3});
              for (int64_t i = 0; i < 6; ++i) ids.set(i, double((i * 5) % 7));
              g->mark_output(g->add_node(OpKind::Gather, GatherAttrs{axis}, {x, g->add_constant(ids)})->outputs[0]);
              return g;
            },
            inputs_of({{7, 9, 3}}), dt);
    }
  }
  check("where bcast",
        [](DType t) {
          auto g = std::make_unique<Graph>();
          Value* a = g->add_input(TensorType::fixed(t, {2, 3, 4}), "a");
          Value* b = g->add_input(TensorType::fixed(t, {4}), "b");
          HostTensor c(DType::kBool, {3, 1});
          c.set(0, 1.0);
          c.set(2, 1.0);
          g->mark_output(g->add_node(OpKind::Where, WhereAttrs{}, {g->add_constant(c), a, b})->outputs[0]);
          return g;
        },
        inputs_of({{2, 3, 4}, {4}}), dt);
  check("concat + reshape + identity",
        [](DType t) {
          auto g = std::make_unique<Graph>();
          Value* a = g->add_input(TensorType::fixed(t, {2, 3, 4}), "a");
          Value* b = g->add_input(TensorType::fixed(t, {2, 5, 4}), "b");
          Value* c = g->add_node(OpKind::Concat, ConcatAttrs{1}, {a, b, a})->outputs[0];
          ReshapeAttrs r;
          r.shape = {2, -1};
          Value* d = g->add_node(OpKind::Reshape, r, {c})->outputs[0];
          g->mark_output(d);
          g->mark_output(a);  // a graph input that is also an output: copied
          g->mark_output(d);  // the same value twice
          return g;
        },
        inputs_of({{2, 3, 4}, {2, 5, 4}}), dt);
}

// An image stem: a 7x7 stride-2 convolution of x's 3 channels to 16, with bias, then ReLU.
Value* add_stem(Graph& g, Value* x, DType t) {
  Conv2dAttrs stem;
  stem.stride = {2, 2};
  stem.padding = {3, 3};
  Value* y = g.add_node(OpKind::Conv2d, stem,
                        {x, g.add_constant(random_tensor(t, {16, 3, 7, 7}, 1, 0.1f)),
                         g.add_constant(random_tensor(t, {16}, 2, 0.1f))})->outputs[0];
  return g.add_node(OpKind::Unary, UnaryAttrs{UnaryKind::kRelu}, {y})->outputs[0];
}

std::unique_ptr<Graph> small_residual_network(DType t) {
  {
    auto g = std::make_unique<Graph>();
    Value* y = add_stem(*g, g->add_input(TensorType::fixed(t, {2, 3, 32, 32}), "x"), t);
    Conv2dAttrs c3;
    c3.padding = {1, 1};
    Value* z = g->add_node(OpKind::Conv2d, c3, {y, g->add_constant(random_tensor(t, {16, 16, 3, 3}, 3, 0.1f))})->outputs[0];
    z = g->add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kAdd}, {z, y})->outputs[0];
    z = g->add_node(OpKind::Unary, UnaryAttrs{UnaryKind::kRelu}, {z})->outputs[0];
    Value* p = g->add_node(OpKind::AdaptivePool2d, AdaptivePool2dAttrs{}, {z})->outputs[0];
    ReshapeAttrs r;
    r.shape = {2, 16};
    p = g->add_node(OpKind::Reshape, r, {p})->outputs[0];
    Value* o = g->add_node(OpKind::Linear, LinearAttrs{},
                           {p, g->add_constant(random_tensor(t, {10, 16}, 4, 0.3f)),
                            g->add_constant(random_tensor(t, {10}, 5))})->outputs[0];
    g->mark_output(g->add_node(OpKind::Softmax, SoftmaxAttrs{1, false}, {o})->outputs[0]);
    return g;
  }
}

TEST_P(CudaBackend, SmallResidualNetwork) {
  check("residual network", small_residual_network, inputs_of({{2, 3, 32, 32}}), GetParam());
}

// The first call checks the captured CUDA graph against eager launches (two replays); a replay
// that differs (here forced by the test hook, which poisons the replayed outputs) drops the graph,
// and the engine's results, of that call and later ones, come from eager launches.
TEST_P(CudaBackend, GraphReplayThatDiffersFallsBackToEagerLaunches) {
  setenv("TRTORCH_TEST_GRAPH_FAULT", "1", 1);
  check("residual network, graph replay poisoned", small_residual_network, inputs_of({{2, 3, 32, 32}}), GetParam());
  unsetenv("TRTORCH_TEST_GRAPH_FAULT");
}

// The NHWC fast paths: max and average pooling, depthwise convolutions with fused epilogues
// (bias, clamp, residual) and global average pooling.
TEST_P(CudaBackend, MobileNetStyleNetwork) {
  const DType dt = GetParam();
  auto make = [](DType t) {
    auto g = std::make_unique<Graph>();
    Value* x = g->add_input(TensorType::fixed(t, {3, 3, 20, 20}), "x");
    Conv2dAttrs stem;
    stem.padding = {1, 1};
    Value* y = g->add_node(OpKind::Conv2d, stem, {x, g->add_constant(random_tensor(t, {24, 3, 3, 3}, 1, 0.3f))})->outputs[0];
    Pool2dAttrs mp;
    mp.kernel = {3, 3};
    mp.stride = {2, 2};
    mp.padding = {1, 1};
    y = g->add_node(OpKind::Pool2d, mp, {y})->outputs[0];
    Conv2dAttrs dw;
    dw.groups = 24;
    dw.padding = {1, 1};
    Value* d = g->add_node(OpKind::Conv2d, dw,
                           {y, g->add_constant(random_tensor(t, {24, 1, 3, 3}, 2, 0.3f)),
                            g->add_constant(random_tensor(t, {24}, 3, 0.1f))})->outputs[0];
    d = g->add_node(OpKind::Unary, UnaryAttrs{UnaryKind::kClamp, 0.0, 6.0}, {d})->outputs[0];
    Conv2dAttrs dw2 = dw;
    dw2.padding = {2, 2};
    Value* e = g->add_node(OpKind::Conv2d, dw2, {d, g->add_constant(random_tensor(t, {24, 1, 5, 5}, 4, 0.2f))})->outputs[0];
    e = g->add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kAdd}, {e, y})->outputs[0];  // residual
    Conv2dAttrs dws = dw;
    dws.stride = {2, 2};
    Value* f = g->add_node(OpKind::Conv2d, dws, {e, g->add_constant(random_tensor(t, {24, 1, 3, 3}, 5, 0.3f))})->outputs[0];
    Pool2dAttrs ap;
    ap.kind = PoolKind::kAvg;
    ap.kernel = {2, 2};
    ap.stride = {1, 1};
    Value* h = g->add_node(OpKind::Pool2d, ap, {f})->outputs[0];
    Value* gp = g->add_node(OpKind::AdaptivePool2d, AdaptivePool2dAttrs{}, {h})->outputs[0];
    AdaptivePool2dAttrs gmax;
    gmax.kind = PoolKind::kMax;
    Value* gm = g->add_node(OpKind::AdaptivePool2d, gmax, {h})->outputs[0];
    Value* sum = g->add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kAdd}, {gp, gm})->outputs[0];
    ReshapeAttrs r;
    r.shape = {3, 24};
    g->mark_output(g->add_node(OpKind::Reshape, r, {sum})->outputs[0]);
    g->mark_output(e);
    return g;
  };
  check("mobilenet-style network", make, inputs_of({{3, 3, 20, 20}}), dt);
}

// INT8's Quantize / Dequantize between convolutions (the post-training quantization's graph): per
// tensor they keep the convolutions' NHWC layout in FP16/BF16 (int8 NHWC in between), per channel
// they read row-major (the executor changes the layout); a residual add reads a dequantized value.
// The convolutions accumulate in another order than the reference's, so a value next to a rounding
// boundary of the next Quantize may land one step away: the bound is a few steps of the largest
// scale, well below what a wrong layout or scale gives.
TEST_P(CudaBackend, QuantizedNetwork) {
  const DType dt = GetParam();
  auto make = [](DType t) {
    auto g = std::make_unique<Graph>();
    Value* x = g->add_input(TensorType::fixed(t, {2, 8, 12, 12}), "x");
    auto quant = [&](Value* v, int64_t axis, std::vector<double> s) {
      HostTensor scale(DType::kFloat32, axis < 0 ? std::vector<int64_t>{} : std::vector<int64_t>{int64_t(s.size())});
      for (size_t i = 0; i < s.size(); ++i) scale.set(int64_t(i), s[i]);
      QuantizeAttrs q;
      q.axis = axis;
      q.scale = scale;
      DequantizeAttrs d;
      d.axis = axis;
      d.scale = scale;
      d.to = t;
      Value* qv = g->add_node(OpKind::Quantize, q, {v})->outputs[0];
      return g->add_node(OpKind::Dequantize, d, {qv})->outputs[0];
    };
    Conv2dAttrs c;
    c.padding = {1, 1};
    c.has_act = true;
    Value* h = g->add_node(OpKind::Conv2d, c, {quant(x, -1, {4.0 / 127}), g->add_constant(random_tensor(t, {16, 8, 3, 3}, 1, 0.2f)),
                                               g->add_constant(random_tensor(t, {16}, 2, 0.1f))})->outputs[0];
    Value* hq = quant(h, -1, {3.0 / 127});
    Value* h2 = g->add_node(OpKind::Conv2d, c, {hq, g->add_constant(random_tensor(t, {16, 16, 3, 3}, 3, 0.1f))})->outputs[0];
    std::vector<double> per_channel;
    for (int i = 0; i < 16; ++i) per_channel.push_back((1.0 + 0.1 * i) / 127);
    Value* h3 = quant(h2, 1, per_channel);
    g->mark_output(g->add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kAdd}, {h3, hq})->outputs[0]);
    return g;
  };
  CheckOptions opt;
  opt.float_tolerance = dt == DType::kFloat32 ? 0.02 : 0.05;
  check("quantized network", make, inputs_of({{2, 8, 12, 12}}), dt, opt);
}

// The NHWC pooling and depthwise kernels path by path. Channel counts cover every vector width
// in FP16/BF16 (C = 16 and 264: 8 channels per thread; 12: 4; 6: 2; 7: 1) and 264 gives the
// global pooling several channel blocks. Activations are channels-last after a convolution (a
// channel slice of one for C % 8 != 0). Outputs, in order:
//   0-6   Pool2d: max 3x3 s2 p1, the same in ceil mode (H = 12 makes ceil mode add a clipped
//         window), avg 3x3 s2 p1, avg ceil count_include_pad=false, avg ceil divisor_override 5,
//         avg 2x2 s2 ceil (clipped windows along W = 13), max 3x3 dilation 2. The max pools read
//         a tensor with three NaNs (a window holding one gives NaN).
//   7-10  global (AdaptivePool2d to 1x1) avg and max over 56x56 pixels (H*W split over blocks,
//         partials combined by a second kernel; the max input holds one NaN), then avg and max
//         over 6x7 pixels (one pass).
//   11-17 depthwise convolutions on 12x13 (output widths 13 and 7: no multiple of the per-thread
//         pixel tiles 4 and 2) with bias, residual and activations where listed in `dws`.
// FP32 has no NHWC activations: there it checks the generic kernels on the same graphs.
TEST_P(CudaBackend, NhwcPoolingAndDepthwise) {
  const DType dt = GetParam();
  struct Dw {
    int64_t r, s, sh, sw, ph, pw, dil;
    bool bias, residual, has_act;
    UnaryAttrs act;
  };
  const std::vector<Dw> dws = {
      {3, 3, 1, 1, 1, 1, 1, true, true, true, UnaryAttrs{UnaryKind::kClamp, 0.0, 6.0}},  // tiled, 4 px/thread
      {3, 3, 2, 2, 1, 1, 1, true, true, true, UnaryAttrs{UnaryKind::kHardSwish}},        // tiled, 2 px/thread
      {5, 5, 1, 1, 2, 2, 1, true, false, true, UnaryAttrs{UnaryKind::kSilu}},            // tiled, 4 px/thread
      {5, 5, 2, 2, 2, 2, 1, true, true, true, UnaryAttrs{UnaryKind::kRelu}},             // tiled, 2 px/thread
      {3, 3, 1, 1, 2, 2, 2, false, true, false, UnaryAttrs{}},                           // dilation 2: generic
      {3, 5, 2, 1, 1, 2, 1, true, false, true, UnaryAttrs{UnaryKind::kSigmoid}},         // R != S, s(2,1): tiled
      {7, 7, 2, 2, 3, 3, 1, false, false, true, UnaryAttrs{UnaryKind::kGeluTanh}},       // 7x7: generic
  };
  constexpr int64_t N = 2, H = 12, W = 13, BH = 56, BW = 56;
  for (int64_t C : {16, 12, 6, 7, 264}) {
    // Graph inputs: x, NaN mask of the stem's output, big x, its NaN mask, then the residuals.
    std::vector<std::vector<int64_t>> shapes = {{N, 3, H, W}, {N, C, H, W}, {N, 3, BH, BW}, {N, C, BH, BW}};
    for (const Dw& d : dws)
      if (d.residual)
        shapes.push_back({N, C, (H + 2 * d.ph - d.dil * (d.r - 1) - 1) / d.sh + 1,
                          (W + 2 * d.pw - d.dil * (d.s - 1) - 1) / d.sw + 1});
    auto make = [C, shapes, dws](DType t) {
      auto g = std::make_unique<Graph>();
      std::vector<Value*> in;
      for (const auto& s : shapes) in.push_back(g->add_input(TensorType::fixed(t, s), "x"));
      // A 3x3 convolution to C channels (to a multiple of 8, then a channel slice).
      auto stem = [&](Value* x, uint32_t seed) {
        const int64_t K = (C + 7) / 8 * 8;
        Conv2dAttrs c;
        c.padding = {1, 1};
        Value* y = g->add_node(OpKind::Conv2d, c,
                               {x, g->add_constant(random_tensor(t, {K, 3, 3, 3}, seed, 0.3f)),
                                g->add_constant(random_tensor(t, {K}, seed + 1, 0.5f))})->outputs[0];
        if (K != C) y = g->add_node(OpKind::Slice, SliceAttrs{1, 0, C, 1}, {y})->outputs[0];
        return y;
      };
      auto add = [&](Value* a, Value* b) { return g->add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kAdd}, {a, b})->outputs[0]; };
      Value* y = stem(in[0], 1);
      Value* yn = add(y, in[1]);
      auto pool = [&](Value* v, PoolKind kind, std::vector<int64_t> k, std::vector<int64_t> s,
                      std::vector<int64_t> p, bool ceil, bool include_pad = true, int64_t divisor = 0,
                      std::vector<int64_t> dil = {1, 1}) {
        Pool2dAttrs a;
        a.kind = kind;
        a.kernel = k;
        a.stride = s;
        a.padding = p;
        a.ceil_mode = ceil;
        a.count_include_pad = include_pad;
        a.divisor_override = divisor;
        a.dilation = dil;
        Value* o = g->add_node(OpKind::Pool2d, a, {v})->outputs[0];
        g->mark_output(o);
        return o;
      };
      Value* p1 = pool(yn, PoolKind::kMax, {3, 3}, {2, 2}, {1, 1}, false);
      pool(yn, PoolKind::kMax, {3, 3}, {2, 2}, {1, 1}, true);
      Value* p3 = pool(y, PoolKind::kAvg, {3, 3}, {2, 2}, {1, 1}, false);
      pool(y, PoolKind::kAvg, {3, 3}, {2, 2}, {1, 1}, true, false);
      pool(y, PoolKind::kAvg, {3, 3}, {2, 2}, {1, 1}, true, true, 5);
      pool(y, PoolKind::kAvg, {2, 2}, {2, 2}, {0, 0}, true);
      pool(yn, PoolKind::kMax, {3, 3}, {1, 1}, {1, 1}, false, true, 0, {2, 2});
      auto global = [&](Value* v, PoolKind kind) {
        AdaptivePool2dAttrs a;
        a.kind = kind;
        g->mark_output(g->add_node(OpKind::AdaptivePool2d, a, {v})->outputs[0]);
      };
      Value* big = stem(in[2], 3);
      global(big, PoolKind::kAvg);
      global(add(big, in[3]), PoolKind::kMax);
      global(p3, PoolKind::kAvg);
      global(p1, PoolKind::kMax);
      size_t residual = 4;
      uint32_t seed = 10;
      for (const Dw& d : dws) {
        Conv2dAttrs a;
        a.groups = C;
        a.stride = {d.sh, d.sw};
        a.padding = {d.ph, d.pw};
        a.dilation = {d.dil, d.dil};
        std::vector<Value*> ins = {y, g->add_constant(random_tensor(t, {C, 1, d.r, d.s}, seed++, 0.3f))};
        if (d.bias) ins.push_back(g->add_constant(random_tensor(t, {C}, seed++, 0.2f)));
        Value* v = g->add_node(OpKind::Conv2d, a, ins)->outputs[0];
        if (d.residual) v = add(v, in[residual++]);
        if (d.has_act) v = g->add_node(OpKind::Unary, d.act, {v})->outputs[0];
        g->mark_output(v);
      }
      return g;
    };
    auto inputs = [C, shapes](DType t) {
      std::vector<HostTensor> r;
      uint32_t seed = 21;
      for (const auto& s : shapes) r.push_back(random_tensor(t, s, seed++));
      // The masks: zeros with NaNs at (n, c, h, w).
      auto mask = [&](HostTensor& m, std::vector<std::array<int64_t, 4>> nans) {
        const auto& s = m.shape;
        for (int64_t i = 0; i < m.numel(); ++i) m.set(i, 0.0);
        for (const auto& p : nans) m.set(((p[0] * s[1] + p[1]) * s[2] + p[2]) * s[3] + p[3], NAN);
      };
      mask(r[1], {{{0, 1, 3, 4}}, {{1, C - 1, 0, W - 1}}, {{1, 0, H - 1, 5}}});
      mask(r[3], {{{1, C / 2, 40, 17}}});
      return r;
    };
    check(str_cat("nhwc pool/depthwise C=", C), make, inputs, dt);
  }
}

// Channel slices and concat on channels-last tensors, a channel shuffle (reshape, transpose) and
// a flatten after a non-trivial adaptive pool: every layout change the executor places.
TEST_P(CudaBackend, ShuffleAndFlattenNetwork) {
  const DType dt = GetParam();
  auto make = [](DType t) {
    auto g = std::make_unique<Graph>();
    Value* x = g->add_input(TensorType::fixed(t, {2, 3, 12, 12}), "x");
    Conv2dAttrs c;
    c.padding = {1, 1};
    c.has_act = true;
    Value* y = g->add_node(OpKind::Conv2d, c, {x, g->add_constant(random_tensor(t, {16, 3, 3, 3}, 1, 0.3f))})->outputs[0];
    Value* a = g->add_node(OpKind::Slice, SliceAttrs{1, 0, 8, 1}, {y})->outputs[0];
    Value* b = g->add_node(OpKind::Slice, SliceAttrs{1, 8, 16, 1}, {y})->outputs[0];
    Value* b2 = g->add_node(OpKind::Conv2d, c, {b, g->add_constant(random_tensor(t, {8, 8, 3, 3}, 2, 0.2f))})->outputs[0];
    Value* cat = g->add_node(OpKind::Concat, ConcatAttrs{1}, {a, b2})->outputs[0];
    ReshapeAttrs r1;
    r1.shape = {2, 2, 8, 12, 12};
    Value* v = g->add_node(OpKind::Reshape, r1, {cat})->outputs[0];
    v = g->add_node(OpKind::Transpose, TransposeAttrs{{0, 2, 1, 3, 4}}, {v})->outputs[0];
    ReshapeAttrs r2;
    r2.shape = {2, 16, 12, 12};
    v = g->add_node(OpKind::Reshape, r2, {v})->outputs[0];
    Value* z = g->add_node(OpKind::Conv2d, c, {v, g->add_constant(random_tensor(t, {8, 16, 3, 3}, 3, 0.2f))})->outputs[0];
    AdaptivePool2dAttrs ap;
    ap.output_size = {3, 3};
    Value* p = g->add_node(OpKind::AdaptivePool2d, ap, {z})->outputs[0];
    ReshapeAttrs r3;
    r3.shape = {2, 72};
    p = g->add_node(OpKind::Reshape, r3, {p})->outputs[0];
    g->mark_output(g->add_node(OpKind::Linear, LinearAttrs{}, {p, g->add_constant(random_tensor(t, {5, 72}, 4, 0.2f))})->outputs[0]);
    g->mark_output(z);  // an NHWC value that is also an engine output
    return g;
  };
  check("shuffle and flatten network", make, inputs_of({{2, 3, 12, 12}}), dt);
}

INSTANTIATE_TEST_SUITE_P(DTypes, CudaBackend, ::testing::Values(DType::kFloat32, DType::kFloat16, DType::kBFloat16),
                         [](const ::testing::TestParamInfo<DType>& i) { return std::string(dtype_name(i.param)); });

TEST(CudaBuild, TimingCacheMakesRebuildsReuseTactics) {
  std::string path = "/tmp/trtorch_timing_cache_test.txt";
  std::remove(path.c_str());
  auto make = [] {
    auto g = std::make_unique<Graph>();
    Value* x = g->add_input(TensorType::fixed(DType::kFloat16, {4, 32, 16, 16}), "x");
    Conv2dAttrs c;
    c.padding = {1, 1};
    Value* y = g->add_node(OpKind::Conv2d, c, {x, g->add_constant(random_tensor(DType::kFloat16, {32, 32, 3, 3}, 1))})->outputs[0];
    g->mark_output(y);
    return g;
  };
  plan::BuildConfig cfg;
  cfg.precision = DType::kFloat16;
  cfg.device.type = plan::DeviceType::kCUDA;
  cfg.timing_cache_path = path;
  cfg.num_avg_timing_iters = 5;
  plan::Engine first = plan::build_engine(make(), cfg, {"x"}, {"y"});
  FILE* f = std::fopen(path.c_str(), "r");
  ASSERT_NE(f, nullptr) << "the timing cache file was written";
  std::fclose(f);
  plan::Engine second = plan::build_engine(make(), cfg, {"x"}, {"y"});
  EXPECT_EQ(cu::read_backend_data(first.backend_data, first.graph->num_nodes()).tactics,
            cu::read_backend_data(second.backend_data, second.graph->num_nodes()).tactics)
      << "the rebuild took the cached tactics";
  EXPECT_FALSE(first.device.gpu_name.empty());
  std::remove(path.c_str());
}

// A dynamic engine (batch 1 to 8, opt 4): each batch gets its own executor, built from the tactics
// chosen at opt (KernelArgs::other_shape), and every executor matches the reference backend at its
// shape. The executors share the weights on the device (DeviceConstants) and what their kernels
// made of them (PackedWeights) instead of uploading and packing them once per shape.
TEST(CudaBuild, DynamicEngineExecutorsShareTheirConstants) {
  const DType t = DType::kFloat16;
  const Dim b = Dim::symbolic(0, 1, 8);
  auto make = [&] {
    auto g = std::make_unique<Graph>();
    Value* x = g->add_input(TensorType(t, {b, Dim::fixed(3), Dim::fixed(32), Dim::fixed(32)}), "x");
    Value* y = add_stem(*g, x, t);
    Conv2dAttrs c3;
    c3.padding = {1, 1};
    Value* z = g->add_node(OpKind::Conv2d, c3, {y, g->add_constant(random_tensor(t, {20, 16, 3, 3}, 3, 0.1f))})->outputs[0];
    Value* p = g->add_node(OpKind::AdaptivePool2d, AdaptivePool2dAttrs{}, {z})->outputs[0];
    ReshapeAttrs r;
    r.shape = {b, Dim::fixed(20)};
    p = g->add_node(OpKind::Reshape, r, {p})->outputs[0];
    g->mark_output(g->add_node(OpKind::Linear, LinearAttrs{},
                               {p, g->add_constant(random_tensor(t, {10, 20}, 4, 0.3f)),
                                g->add_constant(random_tensor(t, {10}, 5))})->outputs[0]);
    return g;
  };
  plan::BuildConfig cfg;
  cfg.precision = t;
  cfg.device.type = plan::DeviceType::kCUDA;
  cfg.opt_shapes = {{4, 3, 32, 32}};
  auto engine = std::make_shared<const plan::Engine>(
      plan::deserialize(plan::serialize(plan::build_engine(make(), cfg, {"x"}, {"y"}))));
  auto ex = plan::make_executor(engine);
  auto* dyn = dynamic_cast<cu::DynamicCudaExecutor*>(ex.get());
  ASSERT_NE(dyn, nullptr);
  const void* constants = nullptr;
  size_t packed = 0;
  for (int64_t batch : {4, 2, 7, 4}) {
    SCOPED_TRACE(str_cat("batch ", batch));
    std::vector<plan::Shape> shapes{{batch, 3, 32, 32}};
    const std::unique_ptr<Graph> g = make();
    const auto inputs = inputs_of({shapes[0]})(t);
    const auto want = ref::run(*ir::specialize(*g, shapes), inputs);
    cu::DeviceBuffer in = upload(inputs[0]), out(want[0].nbytes()), ws(ex->workspace_size(shapes));
    TRTORCH_CUDA_CHECK(cudaMemset(out.get(), 0xff, out.bytes()));  // NaN poison
    TRTORCH_CUDA_CHECK(cudaDeviceSynchronize());
    ex->execute({in.get()}, shapes, {out.get()}, ws.get(), nullptr);
    TRTORCH_CUDA_CHECK(cudaDeviceSynchronize());
    EXPECT_LE(rel_error(download(out.get(), t, want[0].shape), want[0]), tolerance(t));
    const std::shared_ptr<const cu::DeviceConstants>& c = dyn->instance(shapes).device_constants();
    if (!constants) {
      constants = c.get();
      packed = c->packed.made();
      EXPECT_GE(packed, 5u) << "the convolutions' weights, the stem's bias, the Linear's weight and bias";
    }
    EXPECT_EQ(c.get(), constants) << "every shape's executor takes the first one's device constants";
    EXPECT_EQ(c->packed.made(), packed) << "and what its kernels made of them, instead of making it again";
  }
  EXPECT_EQ(dyn->cached_shapes(), 3u);
}

// The CUDA builder hook times an engine node by node when asked (the INT8 layer choice's input):
// one time per graph node, zero for those without a kernel (constants), positive for kernels;
// a calibrated INT8 build with the choice by timing gives an engine that runs and matches FP32.
TEST(CudaBuild, NodeTimesAndTheInt8LayerChoice) {
  plan::BuildConfig cfg;
  cfg.precision = DType::kFloat16;
  cfg.device.type = plan::DeviceType::kCUDA;
  auto hook = plan::find_backend_builder(plan::DeviceType::kCUDA);
  ASSERT_TRUE(hook.has_value());
  plan::Engine e;
  e.device = cfg.device;
  e.precision = cfg.precision;
  e.graph = plan::lower_graph(small_residual_network(DType::kFloat32), cfg);
  std::vector<double> times;
  (*hook)(e, cfg, plan::BackendBuildRequest{&times, nullptr});
  ASSERT_EQ(times.size(), e.graph->num_nodes());
  const auto nodes = e.graph->nodes();
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i]->op == OpKind::Constant)
      EXPECT_EQ(times[i], 0.0) << i;
    else if (nodes[i]->op == OpKind::Conv2d)
      EXPECT_GT(times[i], 0.0) << i << " " << nodes[i]->name();
    EXPECT_LT(times[i], 100.0) << i << " (ms)";
  }

  // INT8: min-max scales from one input, three engines built (all INT8, float, maybe chosen).
  auto source = small_residual_network(DType::kFloat32);
  auto inputs = inputs_of({{2, 3, 32, 32}})(DType::kFloat32);
  auto probe = source->clone();
  const auto qs = plan::quantized_inputs(*probe);
  const size_t first = probe->outputs().size();
  for (const auto& q : qs) probe->mark_output(q.node->inputs[q.input]);
  auto outs = ref::run(*probe, inputs);
  plan::CalibrationTable table;
  table.fingerprint = plan::graph_fingerprint(*source);
  for (size_t k = 0; k < qs.size(); ++k) {
    double amax = 0;
    for (int64_t i = 0; i < outs[first + k].numel(); ++i) amax = std::max(amax, std::abs(outs[first + k].get(i)));
    table.scales[qs[k].key] = float(std::max(amax, 1e-6) / 127);
  }
  cfg.int8 = true;
  cfg.int8_calibration = std::make_shared<plan::CalibrationTable>(table);
  plan::Engine built = plan::build_engine(source->clone(), cfg, {"x"}, {"y"});
  EXPECT_NE(built.build_options.find("int8_layers=timing"), std::string::npos) << built.build_options;
  for (const Node* n : built.graph->nodes()) EXPECT_EQ(n->source.find('\x1f'), std::string::npos) << n->source;
  auto ex = plan::make_executor(std::make_shared<const plan::Engine>(std::move(built)));
  std::vector<plan::Shape> shapes{inputs[0].shape};
  HostTensor x16 = inputs[0].to(DType::kFloat16);
  cu::DeviceBuffer in = upload(x16);
  const auto want = ref::run(*source, inputs);
  cu::DeviceBuffer out(ir::numel_of(want[0].shape) * 2);
  cu::DeviceBuffer ws(ex->workspace_size(shapes));
  ex->execute({in.get()}, shapes, {out.get()}, ws.get(), nullptr);
  TRTORCH_CUDA_CHECK(cudaDeviceSynchronize());
  EXPECT_LT(rel_error(download(out.get(), DType::kFloat16, want[0].shape).to(DType::kFloat32), want[0]), 0.06);
}

// The second line of an engine's CUDA backend data: its build options.
std::string options_line(const plan::Engine& e) {
  std::string text(e.backend_data.begin(), e.backend_data.end());
  const size_t a = text.find('\n');
  const size_t b = text.find('\n', a + 1);
  return a == std::string::npos || b == std::string::npos ? "" : text.substr(a + 1, b - a - 1);
}

// Builds the small residual network (FP16) with `cfg`, round-trips the engine through bytes and
// runs it twice (a CUDA-graph replay the second time, when the engine uses graphs), comparing
// with the reference backend. Returns the loaded engine's executor options.
cu::EngineOptions build_and_run_residual(plan::BuildConfig cfg, plan::Engine* built) {
  cfg.precision = DType::kFloat16;
  cfg.device.type = plan::DeviceType::kCUDA;
  cfg.device.gpu_id = 0;
  auto inputs = inputs_of({{2, 3, 32, 32}})(DType::kFloat16);
  auto want = ref::run(*small_residual_network(DType::kFloat16), inputs);
  *built = plan::build_engine(small_residual_network(DType::kFloat16), cfg, {"x"}, {"y"});
  auto engine = std::make_shared<const plan::Engine>(plan::deserialize(plan::serialize(*built)));
  auto ex = plan::make_executor(engine);
  auto* cuda_ex = dynamic_cast<cu::CudaExecutor*>(ex.get());
  EXPECT_NE(cuda_ex, nullptr);
  std::vector<plan::Shape> shapes{inputs[0].shape};
  cu::DeviceBuffer in = upload(inputs[0]);
  const plan::Shape out_shape = ex->output_shapes(shapes)[0];
  cu::DeviceBuffer out(want[0].nbytes());
  cu::DeviceBuffer ws(ex->workspace_size(shapes));
  cudaStream_t stream;
  TRTORCH_CUDA_CHECK(cudaStreamCreate(&stream));
  for (int rep = 0; rep < 2; ++rep) {
    TRTORCH_CUDA_CHECK(cudaMemset(out.get(), 0xff, out.bytes()));  // NaN poison
    TRTORCH_CUDA_CHECK(cudaDeviceSynchronize());
    ex->execute({in.get()}, shapes, {out.get()}, ws.get(), stream);
    TRTORCH_CUDA_CHECK(cudaStreamSynchronize(stream));
    HostTensor got = download(out.get(), want[0].dtype, out_shape);
    EXPECT_LE(rel_error(got, want[0]), tolerance(DType::kFloat16)) << "run " << rep;
  }
  cudaStreamDestroy(stream);
  return cuda_ex ? cuda_ex->options() : cu::EngineOptions{};
}

TEST(CudaBuild, EngineRecordsItsBuildOptions) {
  plan::Engine built;
  plan::BuildConfig defaults;
  cu::EngineOptions loaded = build_and_run_residual(defaults, &built);
  const std::string text(built.backend_data.begin(), built.backend_data.end());
  EXPECT_EQ(text.substr(0, text.find('\n')), "trtorch-cuda-tactics v4");
  EXPECT_EQ(options_line(built), "allow_tf32=0;channels_last=1;cuda_graphs=1;conv_candidates=6");
  EXPECT_EQ(loaded.str(), options_line(built)) << "the loaded engine runs with the recorded options";

  plan::BuildConfig cfg;
  cfg.channels_last = false;
  cfg.cuda_graphs = false;
  cfg.conv_candidates = 2;
  loaded = build_and_run_residual(cfg, &built);
  EXPECT_EQ(options_line(built), "allow_tf32=0;channels_last=0;cuda_graphs=0;conv_candidates=2");
  EXPECT_EQ(loaded.str(), options_line(built)) << "the loaded engine runs with the recorded options";
}

// A CUDA graph's copies in and out are nodes of the graph, re-pointed at each call's tensors: calls
// with other input and output buffers (and the same ones again) each give the reference result
// for their own input in their own output, with no copy left in a buffer of an earlier call.
TEST(CudaBuild, GraphReplayFollowsEachCallsBuffers) {
  plan::BuildConfig cfg;
  cfg.precision = DType::kFloat16;
  cfg.device.type = plan::DeviceType::kCUDA;
  cfg.device.gpu_id = 0;
  ASSERT_TRUE(cfg.cuda_graphs);
  const plan::Shape shape{2, 3, 32, 32};
  auto engine = std::make_shared<const plan::Engine>(
      plan::build_engine(small_residual_network(DType::kFloat16), cfg, {"x"}, {"y"}));
  auto ex = plan::make_executor(engine);
  const std::vector<plan::Shape> shapes{shape};
  const plan::Shape out_shape = ex->output_shapes(shapes)[0];
  std::vector<HostTensor> xs, want;
  std::vector<cu::DeviceBuffer> in, out;
  for (uint32_t i = 0; i < 3; ++i) {
    xs.push_back(random_tensor(DType::kFloat16, shape, 40 + i));
    want.push_back(ref::run(*small_residual_network(DType::kFloat16), {xs.back()})[0]);
    in.push_back(upload(xs.back()));
    out.emplace_back(want.back().nbytes());
  }
  cu::DeviceBuffer ws(ex->workspace_size(shapes));
  cudaStream_t stream;
  TRTORCH_CUDA_CHECK(cudaStreamCreate(&stream));
  // (input, output) buffer pairs: the capture's, then new inputs and outputs, crossed, and back.
  const std::vector<std::pair<int, int>> calls{{0, 0}, {0, 0}, {1, 1}, {2, 1}, {1, 2}, {0, 0}, {2, 2}};
  for (size_t c = 0; c < calls.size(); ++c) {
    const auto [i, o] = calls[c];
    for (auto& b : out) TRTORCH_CUDA_CHECK(cudaMemset(b.get(), 0xff, b.bytes()));  // NaN poison
    TRTORCH_CUDA_CHECK(cudaDeviceSynchronize());
    ex->execute({in[size_t(i)].get()}, shapes, {out[size_t(o)].get()}, ws.get(), stream);
    TRTORCH_CUDA_CHECK(cudaStreamSynchronize(stream));
    EXPECT_LE(rel_error(download(out[size_t(o)].get(), DType::kFloat16, out_shape), want[size_t(i)]),
              tolerance(DType::kFloat16))
        << "call " << c << ": input " << i << " into output " << o;
    for (int other = 0; other < 3; ++other) {
      if (other == o) continue;
      HostTensor untouched = download(out[size_t(other)].get(), DType::kFloat16, out_shape);
      EXPECT_TRUE(std::isnan(untouched.get(0))) << "call " << c << " wrote output buffer " << other;
    }
  }
  cudaStreamDestroy(stream);
}

// The build saves each convolution's cuDNN plan beside its tactic; a load restores it (no
// compilation) and runs as the built engine does. A damaged saved plan, or none (an engine of the
// previous format), is built from the tactic instead, with the same results.
TEST(CudaBuild, SavedConvPlansLoadAndDamagedOnesAreRebuilt) {
  plan::BuildConfig cfg;
  plan::Engine built;
  build_and_run_residual(cfg, &built);
  cu::BackendData d = cu::read_backend_data(built.backend_data, built.graph->num_nodes());
  size_t conv_tactics = 0;
  for (const std::string& t : d.tactics) conv_tactics += t.rfind("cudnn-conv", 0) == 0;
  ASSERT_GT(conv_tactics, 0u);
  EXPECT_FALSE(d.plans.empty()) << "no convolution plan was saved";
  for (const auto& [tactic, bytes] : d.plans) {
    EXPECT_NE(std::find(d.tactics.begin(), d.tactics.end(), tactic), d.tactics.end()) << tactic;
    EXPECT_FALSE(bytes.empty()) << tactic;
  }
  auto inputs = inputs_of({{2, 3, 32, 32}})(DType::kFloat16);
  auto want = ref::run(*small_residual_network(DType::kFloat16), inputs);
  auto run_engine = [&](const std::vector<uint8_t>& backend_data, const char* what) {
    plan::Engine e = plan::deserialize(plan::serialize(built));
    e.backend_data = backend_data;
    auto ex = plan::make_executor(std::make_shared<const plan::Engine>(std::move(e)));
    std::vector<plan::Shape> shapes{inputs[0].shape};
    cu::DeviceBuffer in = upload(inputs[0]);
    cu::DeviceBuffer out(want[0].nbytes());
    cu::DeviceBuffer ws(ex->workspace_size(shapes));
    ex->execute({in.get()}, shapes, {out.get()}, ws.get(), nullptr);
    TRTORCH_CUDA_CHECK(cudaDeviceSynchronize());
    EXPECT_LE(rel_error(download(out.get(), want[0].dtype, ex->output_shapes(shapes)[0]), want[0]),
              tolerance(DType::kFloat16))
        << what;
  };
  run_engine(built.backend_data, "saved plans restored");
  cu::BackendData damaged = d;
  for (auto& [tactic, bytes] : damaged.plans) {
    std::reverse(bytes.begin(), bytes.end());
    bytes.resize(bytes.size() / 2);
  }
  run_engine(cu::write_backend_data(damaged), "damaged saved plans: built from the tactics");
  cu::BackendData none = d;
  none.plans.clear();
  run_engine(cu::write_backend_data(none), "no saved plans: built from the tactics");
}

// A saved engine's options line is parsed strictly: anything malformed or missing is an error
// that quotes the line.
TEST(CudaBuild, BackendDataOptionsLineIsStrict) {
  auto data = [](const std::string& options) {
    std::string s = "trtorch-cuda-tactics v3\n" + options + "\nt0\n\n";
    return std::vector<uint8_t>(s.begin(), s.end());
  };
  cu::BackendData d = cu::read_backend_data(data("conv_candidates=3;cuda_graphs=0;channels_last=1;allow_tf32=1"), 2);
  EXPECT_TRUE(d.options.allow_tf32);
  EXPECT_TRUE(d.options.channels_last);
  EXPECT_FALSE(d.options.cuda_graphs);
  EXPECT_EQ(d.options.conv_candidates, 3);
  EXPECT_EQ(d.tactics, (std::vector<std::string>{"t0", ""}));
  for (const char* bad : {"allow_tf32=0", "", "allow_tf32=0;channels_last=1;cuda_graphs=1",
                                "allow_tf32=2;channels_last=1;cuda_graphs=1;conv_candidates=6",
                                "allow_tf32=0;channels_last=1;cuda_graphs=1;conv_candidates=0",
                                "allow_tf32=0;channels_last=1;cuda_graphs=1;conv_candidates=6;fast=1",
                                "allow_tf32=0;channels_last=1;cuda_graphs=1;conv_candidates=6;allow_tf32=0",
                                "allow_tf32=0;channels_last;cuda_graphs=1;conv_candidates=6"}) {
    try {
      cu::read_backend_data(data(bad), 2);
      ADD_FAILURE() << "accepted \"" << bad << "\"";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(str_cat("\"", bad, "\"")), std::string::npos) << e.what();
    }
  }
  std::string v2 = "trtorch-cuda-tactics v2\nallow_tf32=0\nt0\n\n";
  EXPECT_THROW(cu::read_backend_data(std::vector<uint8_t>(v2.begin(), v2.end()), 2), Error);
  EXPECT_THROW(cu::read_backend_data(data("allow_tf32=0;channels_last=1;cuda_graphs=1;conv_candidates=6"), 3), Error);
}

}  // namespace

int main(int argc, char** argv) { return gpu_main(argc, argv); }
