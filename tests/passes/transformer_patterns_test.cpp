// The transformer pattern passes: pack_attention_qkv, recognize_gelu, fold_causal_mask, the
// Linear epilogues of fuse_epilogues (addmm's bias add, an activation behind a reshape) and
// carry_residual_stream. Each test checks the structure after the pass and that the reference
// backend computes the same numbers before and after (carry_residual_stream: closer to FP32
// numbers than before); the negative cases check that near misses are left alone.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <array>
#include <functional>
#include <limits>

#include "core/backends/reference/reference.h"
#include "core/passes/passes.h"
#include "core/plan/builder.h"
#include "tests/passes/pass_test_util.h"

using namespace trtorch;
using namespace trtorch::ir;
using trtorch::pass_test::count;
using trtorch::pass_test::random_tensor;

namespace {

constexpr int64_t B = 2, S = 6, H = 3, D = 4, K = 10, N = H * D;

Value* constant(Graph& g, std::vector<int64_t> shape, uint32_t seed) {
  return g.add_constant(random_tensor(DType::kFloat32, std::move(shape), seed));
}
Value* scalar(Graph& g, double v) {
  HostTensor t(DType::kFloat32, {});
  t.set(0, v);
  return g.add_constant(t);
}
Value* binary(Graph& g, BinaryKind k, Value* a, Value* b) {
  BinaryAttrs at;
  at.kind = k;
  return g.add_node(OpKind::Binary, at, {a, b})->outputs[0];
}
Value* unary(Graph& g, UnaryKind k, Value* x) {
  UnaryAttrs u;
  u.kind = k;
  return g.add_node(OpKind::Unary, u, {x})->outputs[0];
}
Value* reshape(Graph& g, Value* x, std::vector<Dim> shape) {
  ReshapeAttrs r;
  r.shape = std::move(shape);
  return g.add_node(OpKind::Reshape, r, {x})->outputs[0];
}
Value* linear(Graph& g, Value* x, Value* w, Value* b = nullptr) {
  std::vector<Value*> ins{x, w};
  if (b) ins.push_back(b);
  return g.add_node(OpKind::Linear, LinearAttrs{}, ins)->outputs[0];
}
Value* slice(Graph& g, Value* x, int64_t axis, int64_t start, int64_t end) {
  SliceAttrs s;
  s.axis = axis;
  s.start = start;
  s.end = end;
  return g.add_node(OpKind::Slice, s, {x})->outputs[0];
}
Value* attention(Graph& g, Value* q, Value* k, Value* v, Value* bias = nullptr) {
  AttentionAttrs a;
  a.scale = 0.5;
  a.bshd = true;
  std::vector<Value*> ins{q, k, v};
  if (bias) ins.push_back(bias);
  return g.add_node(OpKind::Attention, a, ins)->outputs[0];
}

// Runs `pass` (then DCE) on a copy of g and checks that it did `expect_change`, that the graph
// stays valid and that the reference backend's outputs agree within tol.
std::unique_ptr<Graph> run_pass(const Graph& g, const std::function<bool(Graph&)>& pass, bool expect_change,
                                const std::vector<HostTensor>& in, double tol = 1e-5) {
  auto before = backends::reference::run(g, in);
  auto h = g.clone();
  EXPECT_EQ(pass(*h), expect_change);
  passes::dead_code_elimination(*h);
  verify(*h);
  auto after = backends::reference::run(*h, in);
  EXPECT_EQ(after.size(), before.size());
  for (size_t o = 0; o < std::min(after.size(), before.size()); ++o) {
    EXPECT_EQ(after[o].shape, before[o].shape);
    for (int64_t i = 0; i < after[o].numel(); ++i) {
      const double a = after[o].get(i), b = before[o].get(i);
      if (std::isnan(a) && std::isnan(b)) continue;  // NaN where the graph computed NaN before
      if (!(std::fabs(a - b) <= tol)) {
        ADD_FAILURE() << "output " << o << " [" << i << "]: " << a << " after the pass, " << b << " before";
        break;  // the first mismatch only
      }
    }
  }
  return h;
}

int packed_attentions(const Graph& g) {
  int c = 0;
  for (Node* n : g.nodes()) c += n->op == OpKind::Attention && n->attr<AttentionAttrs>().packed;
  return c;
}

// GPT-2's attention input: one projection [B*S, 3N] viewed as [B, S, 3N] and split in thirds.
// `order` permutes which third feeds q, k and v.
std::unique_ptr<Graph> sliced_block(std::array<int, 3> order, bool bias) {
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input(TensorType::fixed(DType::kFloat32, {B * S, K}), "x");
  Value* p = reshape(*g, linear(*g, x, constant(*g, {3 * N, K}, 1), constant(*g, {3 * N}, 2)), {B, S, 3 * N});
  Value* part[3];
  for (int i = 0; i < 3; ++i) part[i] = reshape(*g, slice(*g, p, 2, order[size_t(i)] * N, (order[size_t(i)] + 1) * N), {B, S, H, D});
  Value* m = bias ? g->add_input(TensorType::fixed(DType::kFloat32, {B, 1, S, S}), "mask") : nullptr;
  g->mark_output(reshape(*g, attention(*g, part[0], part[1], part[2], m), {B, S, N}));
  return g;
}

// BERT's: three projections of one input; `biases` says which have a bias.
std::unique_ptr<Graph> parallel_block(std::array<bool, 3> biases, bool same_input = true) {
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input(TensorType::fixed(DType::kFloat32, {B, S, K}), "x");
  Value* y = same_input ? x : g->add_input(TensorType::fixed(DType::kFloat32, {B, S, K}), "y");
  Value* part[3];
  for (int i = 0; i < 3; ++i) {
    Value* b = biases[size_t(i)] ? constant(*g, {N}, uint32_t(20 + i)) : nullptr;
    part[i] = reshape(*g, linear(*g, i == 2 ? y : x, constant(*g, {N, K}, uint32_t(10 + i)), b), {B, S, H, D});
  }
  g->mark_output(reshape(*g, attention(*g, part[0], part[1], part[2]), {B, S, N}));
  return g;
}

std::vector<HostTensor> random_inputs(const Graph& g) {
  std::vector<HostTensor> in;
  uint32_t seed = 100;
  for (Value* v : g.inputs()) in.push_back(random_tensor(v->type.dtype, v->type.static_shape(), seed++));
  return in;
}

}  // namespace

TEST(PackAttentionQkv, ReadsTheThirdsOfOneProjectionInPlace) {
  for (bool bias : {false, true}) {
    auto g = sliced_block({0, 1, 2}, bias);
    auto h = run_pass(*g, passes::pack_attention_qkv, true, random_inputs(*g));
    EXPECT_EQ(count(*h, OpKind::Slice), 0);
    EXPECT_EQ(packed_attentions(*h), 1);
    EXPECT_FALSE(passes::pack_attention_qkv(*h)) << "a second run finds nothing";
  }
}

TEST(PackAttentionQkv, MergesThreeProjectionsOfOneInput) {
  for (auto biases : {std::array<bool, 3>{true, true, true}, {false, false, false}, {true, false, true}}) {
    auto g = parallel_block(biases);
    auto h = run_pass(*g, passes::pack_attention_qkv, true, random_inputs(*g));
    EXPECT_EQ(count(*h, OpKind::Linear), 1);
    EXPECT_EQ(packed_attentions(*h), 1);
    for (Node* n : h->nodes())
      if (n->op == OpKind::Linear) {
        EXPECT_EQ(n->outputs[0]->type.dims.back(), Dim(3 * N));
        EXPECT_EQ(n->inputs.size(), biases[0] || biases[1] || biases[2] ? 3u : 2u);
      }
  }
}

TEST(PackAttentionQkv, LeavesOtherLayoutsAlone) {
  {
    auto g = sliced_block({1, 0, 2}, false);  // k from the first third: not the packed layout
    auto h = run_pass(*g, passes::pack_attention_qkv, false, random_inputs(*g));
    EXPECT_EQ(packed_attentions(*h), 0);
  }
  {
    auto g = parallel_block({true, true, true}, false);  // v projects another input
    auto h = run_pass(*g, passes::pack_attention_qkv, false, random_inputs(*g));
    EXPECT_EQ(count(*h, OpKind::Linear), 3);
  }
  {
    // k's heads are also an output (a key cache): merging would keep k's projection alive beside
    // the merged one.
    auto g = parallel_block({true, true, true});
    for (Node* n : g->nodes())
      if (n->op == OpKind::Attention) g->mark_output(n->inputs[1]);
    auto h = run_pass(*g, passes::pack_attention_qkv, false, random_inputs(*g));
    EXPECT_EQ(count(*h, OpKind::Linear), 3);
  }
}

// 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3))) in the groupings of `form`, and the erf
// form; `c` is the cubic's coefficient.
std::unique_ptr<Graph> gelu_graph(int form, double c = 0.044715, bool leak = false, double power = 3.0) {
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input(TensorType::fixed(DType::kFloat32, {B, S, K}), "x");
  Value* bracket;
  if (form == 3) {  // erf form
    Value* e = unary(*g, UnaryKind::kErf, binary(*g, BinaryKind::kDiv, x, scalar(*g, std::sqrt(2.0))));
    bracket = binary(*g, BinaryKind::kAdd, e, scalar(*g, 1.0));
  } else {
    Value* cube = form == 1 ? binary(*g, BinaryKind::kMul, x, binary(*g, BinaryKind::kMul, x, x))
                            : binary(*g, BinaryKind::kPow, x, scalar(*g, power));
    Value* inner = binary(*g, BinaryKind::kAdd, x, binary(*g, BinaryKind::kMul, scalar(*g, c), cube));
    Value* t = unary(*g, UnaryKind::kTanh, binary(*g, BinaryKind::kMul, inner, scalar(*g, std::sqrt(2.0 / M_PI))));
    bracket = binary(*g, BinaryKind::kAdd, scalar(*g, 1.0), t);
    if (leak) g->mark_output(t);  // an intermediate with another user
  }
  Value* y;
  if (form == 2)
    y = binary(*g, BinaryKind::kMul, x, binary(*g, BinaryKind::kMul, bracket, scalar(*g, 0.5)));
  else
    y = binary(*g, BinaryKind::kMul, binary(*g, BinaryKind::kMul, scalar(*g, 0.5), x), bracket);
  g->mark_output(y);
  return g;
}

TEST(RecognizeGelu, ReplacesTheWrittenOutForms) {
  for (int form : {0, 1, 2, 3}) {
    SCOPED_TRACE("form " + std::to_string(form));
    auto g = gelu_graph(form);
    auto h = run_pass(*g, passes::recognize_gelu, true, random_inputs(*g));
    EXPECT_EQ(count(*h, OpKind::Binary), 0);
    ASSERT_EQ(count(*h, OpKind::Unary), 1);
    for (Node* n : h->nodes())
      if (n->op == OpKind::Unary)
        EXPECT_EQ(n->attr<UnaryAttrs>().kind, form == 3 ? UnaryKind::kGeluErf : UnaryKind::kGeluTanh);
  }
}

TEST(RecognizeGelu, LeavesNearMissesAlone) {
  auto wrong = gelu_graph(0, 0.04);
  run_pass(*wrong, passes::recognize_gelu, false, random_inputs(*wrong));
  auto shared = gelu_graph(0, 0.044715, true);
  run_pass(*shared, passes::recognize_gelu, false, random_inputs(*shared));
  auto power = gelu_graph(0, 0.044715, false, 2.995);  // x^2.995 is NaN for x < 0: not GELU
  run_pass(*power, passes::recognize_gelu, false, random_inputs(*power));
}

std::unique_ptr<Graph> masked_attention(bool causal_mask, double masked) {
  auto g = std::make_unique<Graph>();
  Value* q = g->add_input(TensorType::fixed(DType::kFloat32, {B, S, H, D}), "q");
  HostTensor m(DType::kFloat32, {1, 1, S, S});
  for (int64_t i = 0; i < S; ++i)
    for (int64_t j = 0; j < S; ++j) m.set(i * S + j, j <= i ? 0.0 : (causal_mask ? masked : (j == S - 1 ? masked : 0.0)));
  g->mark_output(attention(*g, q, q, q, g->add_constant(m)));
  return g;
}

TEST(FoldCausalMask, TurnsATriangularConstantIntoTheFlag) {
  for (double masked : {-std::numeric_limits<double>::infinity(), -3.4e38, -1e4, -9984.0}) {
    auto g = masked_attention(true, masked);
    auto h = run_pass(*g, passes::fold_causal_mask, true, random_inputs(*g));
    for (Node* n : h->nodes())
      if (n->op == OpKind::Attention) {
        EXPECT_TRUE(n->attr<AttentionAttrs>().causal);
        EXPECT_EQ(n->inputs.size(), 3u);
      }
  }
  auto other = masked_attention(false, -1e9);  // masks only the last key of the first rows
  run_pass(*other, passes::fold_causal_mask, false, random_inputs(*other));
  auto weak = masked_attention(true, -10.0);  // -10 does not mask
  run_pass(*weak, passes::fold_causal_mask, false, random_inputs(*weak));
}

TEST(FuseEpiloguesLinear, FoldsAddmmBiasAndAnActivationBehindAReshape) {
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input(TensorType::fixed(DType::kFloat32, {B * S, K}), "x");
  Value* y = binary(*g, BinaryKind::kAdd, linear(*g, x, constant(*g, {N, K}, 1)), constant(*g, {1, N}, 2));
  g->mark_output(unary(*g, UnaryKind::kGeluTanh, reshape(*g, y, {B, S, N})));
  auto h = run_pass(*g, passes::fuse_epilogues, true, random_inputs(*g));
  EXPECT_EQ(count(*h, OpKind::Binary), 0);
  EXPECT_EQ(count(*h, OpKind::Unary), 0);
  for (Node* n : h->nodes())
    if (n->op == OpKind::Linear) {
      EXPECT_EQ(n->inputs.size(), 3u);
      EXPECT_TRUE(n->attr<LinearAttrs>().has_act);
      EXPECT_EQ(n->attr<LinearAttrs>().act, UnaryKind::kGeluTanh);
    }
}

TEST(FuseEpiloguesLinear, KeepsABiasThatIsNotPerColumn) {
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input(TensorType::fixed(DType::kFloat32, {B * S, K}), "x");
  g->mark_output(binary(*g, BinaryKind::kAdd, linear(*g, x, constant(*g, {N, K}, 1)), constant(*g, {B * S, 1}, 2)));
  auto h = run_pass(*g, passes::fuse_epilogues, false, random_inputs(*g));
  EXPECT_EQ(count(*h, OpKind::Binary), 1);
}

// A pre-LayerNorm stack (GPT-2, ViT): h = h + Linear(LayerNorm(h)) `layers` times, then a final
// LayerNorm; with `stream_output` the first sum is a graph output as well.
std::unique_ptr<Graph> pre_norm_stack(int layers, bool stream_output) {
  constexpr int64_t C = 64;
  auto g = std::make_unique<Graph>();
  Value* h = g->add_input(TensorType::fixed(DType::kFloat32, {B, S, C}), "x");
  auto norm = [&](Value* x, uint32_t seed) {
    HostTensor w = random_tensor(DType::kFloat32, {C}, seed);
    for (int64_t i = 0; i < C; ++i) w.set(i, 1.0 + w.get(i));
    return g->add_node(OpKind::LayerNorm, LayerNormAttrs{1, 1e-5},
                       {x, g->add_constant(w), constant(*g, {C}, seed + 1)})->outputs[0];
  };
  for (int l = 0; l < layers; ++l) {
    Value* o = linear(*g, norm(h, uint32_t(40 + 4 * l)), constant(*g, {C, C}, uint32_t(42 + 4 * l)),
                      constant(*g, {C}, uint32_t(43 + 4 * l)));
    h = binary(*g, BinaryKind::kAdd, h, o);
    if (l == 0 && stream_output) g->mark_output(h);
  }
  g->mark_output(norm(h, 90));
  return g;
}

double max_rel_err(const HostTensor& y, const HostTensor& ref) {
  double d = 0, m = 0;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    d = std::max(d, std::fabs(y.get(i) - ref.get(i)));
    m = std::max(m, std::fabs(ref.get(i)));
  }
  return d / m;
}

TEST(CarryResidualStream, KeepsThePreNormStreamInFp32) {
  for (bool stream_output : {false, true}) {
    SCOPED_TRACE(stream_output ? "the first sum is a graph output" : "no stream output");
    auto g32 = pre_norm_stack(8, stream_output);
    std::vector<HostTensor> in32 = random_inputs(*g32), in16;
    for (const HostTensor& t : in32) in16.push_back(t.to(DType::kFloat16));
    const auto want = backends::reference::run(*g32, in32);

    // FP16 as the builder makes it: fused epilogues, then the stream pass (or not).
    auto plain = g32->clone();
    plan::assign_precision(*plain, DType::kFloat16);
    passes::fuse_epilogues(*plain);
    auto carried = plain->clone();
    ASSERT_TRUE(passes::carry_residual_stream(*carried));
    passes::dead_code_elimination(*carried);
    verify(*carried);

    // Structure: no residual add left; every LayerNorm but the first sums in its registers, the
    // seven inner ones emit the FP32 sum, and every residual after the first is that FP32 sum.
    EXPECT_EQ(count(*carried, OpKind::Binary), 0);
    int norms = 0, residual = 0, emitting = 0, fp32_residual = 0;
    for (Node* n : carried->nodes()) {
      if (n->op != OpKind::LayerNorm) continue;
      const auto& a = n->attr<LayerNormAttrs>();
      ++norms;
      residual += a.has_residual;
      emitting += a.emit_sum;
      if (a.has_residual) {
        EXPECT_EQ(n->inputs[0]->type.dtype, DType::kFloat16);
        fp32_residual += n->inputs[1]->type.dtype == DType::kFloat32;
      }
      if (a.emit_sum) EXPECT_EQ(n->outputs[1]->type.dtype, DType::kFloat32);
    }
    EXPECT_EQ(norms, 9);
    EXPECT_EQ(residual, 8);
    EXPECT_EQ(emitting, 7);
    EXPECT_EQ(fp32_residual, 7);
    // A Cast back to FP16 remains only for the stream value that is a graph output.
    EXPECT_EQ(count(*carried, OpKind::Cast), stream_output ? 1 : 0);

    // Numbers: closer to FP32 than the FP16 graph that rounds the stream, every output.
    const auto a = backends::reference::run(*plain, in16);
    const auto b = backends::reference::run(*carried, in16);
    ASSERT_EQ(a.size(), want.size());
    ASSERT_EQ(b.size(), want.size());
    const double e_plain = max_rel_err(a.back(), want.back()), e_carried = max_rel_err(b.back(), want.back());
    EXPECT_LT(e_carried, e_plain);
    std::printf("rel. error against FP32: %.5f rounding the stream, %.5f carrying it in FP32\n", e_plain, e_carried);
    EXPECT_LT(e_carried, 5e-3);
    if (stream_output) EXPECT_LT(max_rel_err(b[0], want[0]), 2e-3);  // the rounded stream value
  }
}

TEST(CarryResidualStream, LeavesFp32AndBroadcastAddsAlone) {
  auto g = pre_norm_stack(3, false);
  auto h = g->clone();
  passes::fuse_epilogues(*h);
  EXPECT_FALSE(passes::carry_residual_stream(*h));  // FP32 engine: nothing to gain
  // A broadcast add (ViT's position embedding) is not a residual sum.
  auto b = std::make_unique<Graph>();
  Value* x = b->add_input(TensorType::fixed(DType::kFloat16, {B, S, 8}), "x");
  Value* pos = b->add_constant(random_tensor(DType::kFloat32, {1, S, 8}, 5).to(DType::kFloat16));
  Value* s = binary(*b, BinaryKind::kAdd, x, pos);
  b->mark_output(b->add_node(OpKind::LayerNorm, LayerNormAttrs{1, 1e-5}, {s})->outputs[0]);
  b->mark_output(unary(*b, UnaryKind::kRelu, s));
  EXPECT_FALSE(passes::carry_residual_stream(*b));
}
