#include <gtest/gtest.h>

#include "core/ir/evaluator.h"
#include "core/ir/ir.h"
#include "core/util/error.h"

using namespace trtorch;
using namespace trtorch::ir;

namespace {
HostTensor filled(DType t, std::vector<int64_t> shape, float start = 0.1f) {
  HostTensor h(t, shape);
  for (int64_t i = 0; i < h.numel(); ++i) h.set(i, start * float(i % 7) - 0.3f);
  return h;
}
}  // namespace

TEST(IR, OpTableNamesRoundTrip) {
  for (int i = 0; i < kNumOps; ++i) {
    OpKind k;
    ASSERT_TRUE(op_from_name(op_info(OpKind(i)).name, &k));
    EXPECT_EQ(int(k), i);
  }
  OpKind k;
  EXPECT_FALSE(op_from_name("NoSuchOp", &k));
}

TEST(IR, ConvShapeInference) {
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat32, {2, 8, 15, 17}), "x");
  Value* w = g.add_constant(filled(DType::kFloat32, {16, 4, 3, 3}));
  Conv2dAttrs a;
  a.stride = {2, 2};
  a.padding = {1, 1};
  a.groups = 2;
  Node* n = g.add_node(OpKind::Conv2d, a, {x, w});
  EXPECT_EQ(n->outputs[0]->type.static_shape(), (std::vector<int64_t>{2, 16, 8, 9}));
  g.mark_output(n->outputs[0]);
  EXPECT_NO_THROW(verify(g));
}

TEST(IR, ConvChannelMismatchNamesTheProblem) {
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat32, {1, 3, 8, 8}), "x");
  Value* w = g.add_constant(filled(DType::kFloat32, {4, 5, 3, 3}));
  try {
    g.add_node(OpKind::Conv2d, Conv2dAttrs{}, {x, w}, "aten::conv2d at m.py:3");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("Conv2d"), std::string::npos) << m;
    EXPECT_NE(m.find("channels"), std::string::npos) << m;
    EXPECT_NE(m.find("m.py:3"), std::string::npos) << m;
  }
}

TEST(IR, PoolCeilModeMatchesPyTorchRule) {
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat32, {1, 1, 112, 112}), "x");
  Pool2dAttrs a;
  a.kernel = {3, 3};
  a.stride = {2, 2};
  a.ceil_mode = true;
  Node* n = g.add_node(OpKind::Pool2d, a, {x});
  // floor((112-3)/2)+1 = 55, ceil gives 56.
  EXPECT_EQ(n->outputs[0]->type.static_shape(), (std::vector<int64_t>{1, 1, 56, 56}));
}

TEST(IR, BroadcastAndSymbolicBatch) {
  Graph g;
  Value* x = g.add_input(TensorType(DType::kFloat32, {Dim::symbolic(0, 1, 32), Dim::fixed(4), Dim::fixed(1)}), "x");
  Value* y = g.add_input(TensorType::fixed(DType::kFloat32, {4, 5}), "y");
  Node* n = g.add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kAdd}, {x, y});
  const TensorType& t = n->outputs[0]->type;
  ASSERT_EQ(t.rank(), 3);
  EXPECT_FALSE(t.dims[0].is_static());
  EXPECT_EQ(t.dims[0].max, 32);
  EXPECT_EQ(t.dims[2], Dim::fixed(5));
  Value* z = g.add_input(TensorType::fixed(DType::kFloat32, {3, 5}), "z");
  EXPECT_THROW(g.add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kAdd}, {x, z}), Error);
}

TEST(IR, ReshapeInfersMinusOne) {
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat16, {2, 3, 4}), "x");
  ReshapeAttrs a;
  a.shape = {2, -1};
  Node* n = g.add_node(OpKind::Reshape, a, {x});
  EXPECT_EQ(n->outputs[0]->type, TensorType::fixed(DType::kFloat16, {2, 12}));
  a.shape = {5, -1};
  EXPECT_THROW(g.add_node(OpKind::Reshape, a, {x}), Error);
}

TEST(IR, VerifierCatchesStaleType) {
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat32, {2, 3}), "x");
  Node* n = g.add_node(OpKind::Unary, UnaryAttrs{}, {x});
  g.mark_output(n->outputs[0]);
  EXPECT_NO_THROW(verify(g));
  n->outputs[0]->type = TensorType::fixed(DType::kFloat32, {3, 2});
  try {
    verify(g);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Unary"), std::string::npos);
  }
}

TEST(IR, CloneAndReplaceUses) {
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat32, {2, 3}), "x");
  Node* a = g.add_node(OpKind::Identity, IdentityAttrs{}, {x});
  Node* b = g.add_node(OpKind::Unary, UnaryAttrs{UnaryKind::kTanh}, {a->outputs[0]});
  g.mark_output(b->outputs[0]);
  g.replace_all_uses(a->outputs[0], x);
  g.remove_node(a);
  verify(g);
  auto c = g.clone();
  verify(*c);
  ASSERT_EQ(c->num_nodes(), 1u);
  EXPECT_EQ(c->nodes()[0]->op, OpKind::Unary);
  EXPECT_EQ(c->outputs()[0]->type, g.outputs()[0]->type);
  EXPECT_TRUE(attrs_equal(c->nodes()[0]->attrs, g.nodes()[0]->attrs));
}

// Constant folding evaluates through the registered node evaluator: the reference backend, which
// is part of trtorch_core, registers it when the library loads.
TEST(IR, ANodeEvaluatorIsRegistered) {
  const NodeEvaluator* eval = find_node_evaluator();
  ASSERT_NE(eval, nullptr);
  Graph g;
  HostTensor a = filled(DType::kFloat32, {2, 3}), b = filled(DType::kFloat32, {2, 3}, 0.2f);
  Value* ca = g.add_constant(a);
  Value* cb = g.add_constant(b);
  Node* add = g.add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kAdd}, {ca, cb});
  std::vector<HostTensor> out = (*eval)(*add, {a, b});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape, (std::vector<int64_t>{2, 3}));
  for (int64_t i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(float(out[0].get(i)), float(a.get(i)) + float(b.get(i)));
}

TEST(IR, HalfConversionRoundTrips) {
  for (float f : {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035e-05f, 5.96e-08f, 1e-3f, 3.14159f}) {
    float back = half_to_float(float_to_half(f));
    EXPECT_NEAR(back, f, std::abs(f) * 1e-3f + 1e-7f) << f;
  }
  EXPECT_EQ(half_to_float(float_to_half(1e6f)), std::numeric_limits<float>::infinity());
  // Every half value survives half -> float -> half exactly.
  for (uint32_t h = 0; h < 0x10000u; ++h) {
    if ((h & 0x7c00u) == 0x7c00u && (h & 0x3ffu)) continue;  // nan payloads
    ASSERT_EQ(float_to_half(half_to_float(uint16_t(h))), h) << h;
  }
  EXPECT_NEAR(bf16_to_float(float_to_bf16(3.14159f)), 3.14159f, 0.02f);
}

// ---------------------------------------------------------------------------------------------
// Symbolic sizes (dynamic shapes)

TEST(IRSymbolic, EqualSizesFromDifferentPathsCompareEqual) {
  const Dim h = Dim::symbolic(1, 32, 512);
  Graph g;
  Value* x = g.add_input(TensorType(DType::kFloat32, {Dim::symbolic(0, 1, 32), Dim::fixed(8), h, h}), "x");
  Conv2dAttrs s2p1;
  s2p1.stride = {2, 2};
  s2p1.padding = {1, 1};
  Conv2dAttrs s2;
  s2.stride = {2, 2};
  Node* a = g.add_node(OpKind::Conv2d, s2p1, {x, g.add_constant(HostTensor(DType::kFloat32, {4, 8, 3, 3}))});
  Node* b = g.add_node(OpKind::Conv2d, s2, {x, g.add_constant(HostTensor(DType::kFloat32, {4, 8, 1, 1}))});
  // (h + 2 - 3) // 2 + 1 and (h - 1) // 2 + 1: the residual add of ResNet's downsampling block.
  EXPECT_EQ(a->outputs[0]->type, b->outputs[0]->type) << a->outputs[0]->type.str() << " vs " << b->outputs[0]->type.str();
  Node* sum = g.add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kAdd}, {a->outputs[0], b->outputs[0]});
  const Dim& oh = sum->outputs[0]->type.dims[2];
  EXPECT_FALSE(oh.is_static());
  EXPECT_EQ(oh.min, 16);
  EXPECT_EQ(oh.max, 256);
  for (int64_t v : {32, 33, 224, 225, 511, 512}) EXPECT_EQ(oh.eval({{1, v}}), (v - 1) / 2 + 1) << v;
  // Stride 1, same padding keeps the very same size.
  Conv2dAttrs same;
  same.padding = {1, 1};
  Node* c = g.add_node(OpKind::Conv2d, same, {x, g.add_constant(HostTensor(DType::kFloat32, {4, 8, 3, 3}))});
  EXPECT_EQ(c->outputs[0]->type.dims[2], h);
}

TEST(IRSymbolic, ReshapeDividesSymbolicElementCounts) {
  const Dim b = Dim::symbolic(0, 1, 32), s = Dim::symbolic(1, 1, 512);
  Graph g;
  Value* x = g.add_input(TensorType(DType::kFloat16, {b, s, Dim::fixed(768)}), "x");
  ReshapeAttrs heads;
  heads.shape = {b, s, 12, 64};
  Node* r1 = g.add_node(OpKind::Reshape, heads, {x});
  ReshapeAttrs merge;
  merge.shape = {b, s, -1};
  Node* r2 = g.add_node(OpKind::Reshape, merge, {r1->outputs[0]});
  EXPECT_EQ(r2->outputs[0]->type, x->type) << r2->outputs[0]->type.str();
  ReshapeAttrs flat;
  flat.shape = {b, -1};
  Node* r3 = g.add_node(OpKind::Reshape, flat, {x});
  EXPECT_EQ(r3->outputs[0]->type.dims[1], s * Dim::fixed(768));
  ReshapeAttrs bad;
  bad.shape = {7, -1};  // 7 does not divide b * s * 768 for every b and s
  EXPECT_THROW(g.add_node(OpKind::Reshape, bad, {x}), Error);
  ReshapeAttrs wrong_count;
  wrong_count.shape = {b, s, 700};
  EXPECT_THROW(g.add_node(OpKind::Reshape, wrong_count, {x}), Error);
}

TEST(IRSymbolic, SliceBoundsMustHoldForTheWholeRange) {
  const Dim s = Dim::symbolic(0, 1, 64);
  Graph g;
  Value* table = g.add_input(TensorType::fixed(DType::kFloat32, {1, 64, 8}), "pos");
  SliceAttrs a;
  a.axis = 1;
  a.start = 0;
  a.end = s;
  Node* n = g.add_node(OpKind::Slice, a, {table});
  EXPECT_EQ(n->outputs[0]->type.dims[1], s);
  a.end = s + Dim::fixed(1);  // may reach 65 > 64
  EXPECT_THROW(g.add_node(OpKind::Slice, a, {table}), Error);
}

TEST(IRSymbolic, SpecializeBindsSymbolsAndChecksInputs) {
  const Dim b = Dim::symbolic(0, 1, 8);
  Graph g;
  Value* x = g.add_input(TensorType(DType::kFloat32, {b, Dim::fixed(4)}), "x");
  Value* m = g.add_input(TensorType(DType::kFloat32, {b, Dim::fixed(1)}), "m");
  Node* mul = g.add_node(OpKind::Binary, BinaryAttrs{BinaryKind::kMul}, {x, m});
  ReshapeAttrs ra;
  ra.shape = {b * Dim::fixed(4)};
  Node* flat = g.add_node(OpKind::Reshape, ra, {mul->outputs[0]});
  g.mark_output(flat->outputs[0]);
  verify(g);
  EXPECT_TRUE(is_dynamic(g));
  std::unique_ptr<Graph> s = specialize(g, {{3, 4}, {3, 1}});
  EXPECT_FALSE(is_dynamic(*s));
  EXPECT_EQ(s->outputs()[0]->type.static_shape(), (std::vector<int64_t>{12}));
  EXPECT_EQ(s->num_nodes(), g.num_nodes());
  verify(*s);
  auto expect_error = [&](std::vector<std::vector<int64_t>> shapes, const std::string& part) {
    try {
      specialize(g, shapes);
      FAIL() << "expected an error with '" << part << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_error({{9, 4}, {9, 1}}, "input 0 ('x') dimension 0 must be in the range [1, 8], got 9");
  expect_error({{3, 4}, {2, 1}}, "input 1 ('m') dimension 0 must equal input 0 ('x') dimension 0 (3)");
  expect_error({{3, 5}, {3, 1}}, "input 0 ('x') dimension 1 must be 4");
  expect_error({{3, 4}}, "takes 2 inputs");
}

TEST(IRSymbolic, ArithmeticCanonicalForm) {
  const Dim a = Dim::symbolic(0, 2, 10), b = Dim::symbolic(1, 1, 3);
  EXPECT_EQ(a + b, b + a);
  EXPECT_EQ((a + b) * Dim::fixed(2), a * Dim::fixed(2) + b + b);
  EXPECT_EQ(a - a, Dim::fixed(0));
  EXPECT_TRUE((a - a).is_static());
  EXPECT_EQ(floor_div(a * Dim::fixed(4) + Dim::fixed(2), 2), a * Dim::fixed(2) + Dim::fixed(1));
  const Dim h = floor_div(a + Dim::fixed(1), 2);
  EXPECT_FALSE(h.is_static());
  EXPECT_EQ(h.min, 1);
  EXPECT_EQ(h.max, 5);
  Dim q;
  EXPECT_TRUE(exact_div(a * b * Dim::fixed(6), a * Dim::fixed(3), &q));
  EXPECT_EQ(q, b * Dim::fixed(2));
  EXPECT_FALSE(exact_div(a + b, a, &q));
  EXPECT_EQ((a * b).eval({{0, 7}, {1, 3}}), 21);
  EXPECT_THROW((a * b).eval({{0, 7}}), Error);
}

TEST(IRSymbolic, PoolOutputSizesMatchTheStaticFormula) {
  // An input [1, 2, H, 9] with H in [5, 40].
  auto dynamic_input = [](Graph& g) {
    return g.add_input(TensorType(DType::kFloat32, {Dim::fixed(1), Dim::fixed(2), Dim::symbolic(0, 5, 40),
                                                    Dim::fixed(9)}), "x");
  };
  // Every size in the range: the symbolic output evaluates to what a static input gives.
  for (bool ceil_mode : {false, true}) {
    for (int64_t pad : {0, 1}) {
      Graph g;
      Value* x = dynamic_input(g);
      Pool2dAttrs a;
      a.kernel = {3, 3};
      a.stride = {2, 2};
      a.padding = {pad, pad};
      a.ceil_mode = ceil_mode;
      const Dim oh = g.add_node(OpKind::Pool2d, a, {x})->outputs[0]->type.dims[2];
      for (int64_t h = 5; h <= 40; ++h) {
        Graph gs;
        Value* xs = gs.add_input(TensorType::fixed(DType::kFloat32, {1, 2, h, 9}), "x");
        const int64_t want = gs.add_node(OpKind::Pool2d, a, {xs})->outputs[0]->type.dims[2].value();
        EXPECT_EQ(oh.eval({{0, h}}), want) << "h=" << h << " pad=" << pad << " ceil=" << ceil_mode;
      }
    }
  }
  // A ceil_mode window wider than the kernel's reach (stride 3 > kernel 2) is refused with a reason.
  Graph g;
  Value* x = dynamic_input(g);
  Pool2dAttrs wide;
  wide.kernel = {2, 2};
  wide.stride = {3, 3};
  wide.ceil_mode = true;
  EXPECT_THROW(g.add_node(OpKind::Pool2d, wide, {x}), Error);
}

// Byte sizes of tensors: numel * dtype size must not wrap around to a small buffer.
TEST(IRSizes, NumelAndBytesOverflowAreErrors) {
  const int64_t big = int64_t(1) << 62;
  EXPECT_EQ(numel_of({big, 1}), big);
  EXPECT_EQ(numel_of({0, big, big}), 0);  // an empty tensor, whatever the other dims
  EXPECT_THROW(numel_of({big, 4}), Error);  // 2^64 elements used to wrap to 0
  // 2^62 float32 elements: 2^64 bytes used to wrap to a 0-byte buffer.
  try {
    HostTensor t(DType::kFloat32, {big});
    FAIL() << "expected an error, got a tensor of " << t.nbytes() << " bytes";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[4611686018427387904] of f32 is 2^64 bytes"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(HostTensor(DType::kInt64, {int64_t(1) << 60, 16}), Error);
  EXPECT_THROW(HostTensor(DType::kFloat32, {-1, 2}), Error);
  EXPECT_EQ(HostTensor(DType::kBool, {0, big, big}).nbytes(), 0u);
}

TEST(IRSizes, CheckedHelpers) {
  const int64_t big = int64_t(1) << 62;
  EXPECT_EQ(try_bytes({big, 1}, DType::kBool), big);
  EXPECT_FALSE(try_bytes({big, 2}, DType::kFloat16));
  EXPECT_EQ(*try_bytes({3, 5}, DType::kFloat32), 60);
  EXPECT_EQ(checked_bytes({2, 3}, DType::kInt64, "t"), 48u);
  EXPECT_EQ(checked_numel({2, 3}, DType::kInt64, "t"), 6);
  EXPECT_EQ(checked_mul(big, 1, "x"), big);
  EXPECT_THROW(checked_mul(big, 2, "x"), Error);
  EXPECT_THROW(checked_add(INT64_MAX, 1, "x"), Error);
  EXPECT_THROW(checked_add_size(SIZE_MAX, 1, "x"), Error);
  EXPECT_THROW(checked_mul_size(SIZE_MAX / 2, 3, "x"), Error);
  EXPECT_EQ(checked_align_up(1000, 256, "x"), 1024u);
  EXPECT_EQ(checked_align_up(SIZE_MAX - 255, 256, "x"), SIZE_MAX - 255);
  try {
    checked_align_up(SIZE_MAX - 10, 256, "arena");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("arena: size computation overflows"), std::string::npos) << e.what();
  }
  EXPECT_EQ(too_large_message("Expand: output shape", {int64_t(1) << 59, 8}, DType::kFloat32),
            "Expand: output shape [576460752303423488, 8] of f32 is 2^64 bytes, more than a tensor can hold");
}

TEST(IRSizes, ExpandWhoseOutputCannotBeHeldIsAShapeError) {
  // (x.expand(2**59, 8) + 1): every dim is in range, the output is 2^64 bytes.
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat32, {1, 8}), "x");
  ExpandAttrs a;
  a.shape = {Dim::fixed(int64_t(1) << 59), Dim::fixed(8)};
  try {
    g.add_node(OpKind::Expand, a, {x}, "code/__torch__.py:5");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "Expand: output shape [576460752303423488, 8] of f32 is 2^64 bytes, more than "
                                     "a tensor can hold (from code/__torch__.py:5)");
  }
  // A bool tensor of 2^62 elements is 2^62 bytes: it fits.
  Value* b = g.add_input(TensorType::fixed(DType::kBool, {1, 8}), "b");
  a.shape = {Dim::fixed(int64_t(1) << 59), Dim::fixed(8)};
  EXPECT_NO_THROW(g.add_node(OpKind::Expand, a, {b}));
  // A dynamic dim is checked at its upper bound.
  Value* d = g.add_input(TensorType(DType::kFloat32, {Dim::symbolic(0, 1, int64_t(1) << 40), Dim::fixed(1)}), "d");
  a.shape = {d->type.dims[0], Dim::fixed(int64_t(1) << 22)};
  try {
    g.add_node(OpKind::Expand, a, {d});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("at its largest, [1099511627776, 4194304] of f32 is 2^64 bytes"),
              std::string::npos)
        << e.what();
  }
}

TEST(IRSizes, ConcatAndMatMulOutputsAreChecked) {
  Graph g;
  const int64_t big = int64_t(1) << 60;
  Value* x = g.add_input(TensorType::fixed(DType::kFloat32, {big, 1}), "x");  // 2^62 bytes
  EXPECT_THROW(g.add_node(OpKind::Concat, ConcatAttrs{0}, {x, x}), Error);  // 2^63 bytes
  Value* a = g.add_input(TensorType::fixed(DType::kFloat32, {int64_t(1) << 31, 1}), "a");
  Value* b = g.add_input(TensorType::fixed(DType::kFloat32, {1, int64_t(1) << 31}), "b");
  try {
    g.add_node(OpKind::MatMul, MatMulAttrs{}, {a, b});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("MatMul: output shape [2147483648, 2147483648] of f32 is 2^64 bytes"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(g.add_input(TensorType::fixed(DType::kFloat32, {big, 4}), "huge"), Error);
}

// The INT8 layers' types: int8 or float output by y_scale, and every malformed attribute or input
// an error that names it.
TEST(IR, QuantizedLayerTypesAndErrors) {
  auto scales = [](int64_t n) {
    HostTensor s(DType::kFloat32, {n});
    for (int64_t i = 0; i < n; ++i) s.set(i, 0.01 * double(i + 1));
    return s;
  };
  auto attrs = [&](int64_t K) {
    QConv2dAttrs a;
    a.padding = {1, 1};
    a.q.x_scale = 0.05;
    a.q.w_scale = scales(K);
    a.q.y_scale = 0.1;
    return a;
  };
  auto expect_error = [](Graph& g, OpKind op, Attrs a, std::vector<Value*> in, const std::string& part) {
    try {
      g.add_node(op, std::move(a), in, "aten::conv2d at q.py:7");
      ADD_FAILURE() << "expected an error containing '" << part << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("q.py:7"), std::string::npos) << e.what();
    }
  };
  Graph g;
  Value* x = g.add_input(TensorType::fixed(DType::kInt8, {2, 16, 6, 6}), "x");
  Value* xf = g.add_input(TensorType::fixed(DType::kFloat16, {2, 16, 6, 6}), "xf");
  Value* w = g.add_constant(HostTensor(DType::kInt8, {32, 16, 3, 3}));
  Value* b = g.add_constant(HostTensor(DType::kFloat32, {32}));
  Value* r8 = g.add_input(TensorType::fixed(DType::kInt8, {2, 32, 6, 6}), "r8");
  Node* n = g.add_node(OpKind::QConv2d, attrs(32), {x, w, b});
  EXPECT_EQ(n->outputs[0]->type, TensorType::fixed(DType::kInt8, {2, 32, 6, 6}));
  QConv2dAttrs f = attrs(32);
  f.q.y_scale = 0;
  f.q.out_dtype = DType::kFloat16;
  EXPECT_EQ(g.add_node(OpKind::QConv2d, f, {x, w, b})->outputs[0]->type.dtype, DType::kFloat16);
  QConv2dAttrs r = attrs(32);
  r.has_residual = true;
  r.q.r_scale = 0.2;
  EXPECT_EQ(g.add_node(OpKind::QConv2d, r, {x, w, b, r8})->outputs[0]->type.dtype, DType::kInt8);

  expect_error(g, OpKind::QConv2d, attrs(32), {xf, w, b}, "input must be int8");
  expect_error(g, OpKind::QConv2d, attrs(16), {x, w, b}, "w_scale must be f32[32]");
  QConv2dAttrs neg = attrs(32);
  neg.q.w_scale.set(3, -1.0);
  expect_error(g, OpKind::QConv2d, neg, {x, w, b}, "w_scale must be positive and finite");
  QConv2dAttrs grouped = attrs(32);
  grouped.groups = 2;
  expect_error(g, OpKind::QConv2d, grouped, {x, w, b}, "groups must be 1");
  QConv2dAttrs range = attrs(32);
  range.q.qmin = -200;
  expect_error(g, OpKind::QConv2d, range, {x, w, b}, "[qmin, qmax] must lie in [-128, 127]");
  QConv2dAttrs bounds = attrs(32);
  bounds.q.lo = 1;
  bounds.q.hi = 0;
  expect_error(g, OpKind::QConv2d, bounds, {x, w, b}, "activation bounds");
  QConv2dAttrs float_res = r;
  float_res.q.r_scale = 0;  // then the residual must be out_dtype (f16), not int8
  expect_error(g, OpKind::QConv2d, float_res, {x, w, b, r8}, "residual");
  expect_error(g, OpKind::QConv2d, attrs(32), {x, w, g.add_constant(HostTensor(DType::kFloat16, {32}))},
               "bias must be f32[32]");
  // A reduction too long for an int32 accumulator.
  Value* xl = g.add_input(TensorType::fixed(DType::kInt8, {1, 20000, 3, 3}), "xl");
  Value* wl = g.add_constant(HostTensor(DType::kInt8, {16, 20000, 3, 3}));
  expect_error(g, OpKind::QConv2d, attrs(16), {xl, wl, g.add_constant(HostTensor(DType::kFloat32, {16}))},
               "may overflow the int32 accumulator");
  // Other ops still refuse int8 inputs.
  expect_error(g, OpKind::Unary, UnaryAttrs{}, {x}, "only Dequantize and the INT8 layers read quantized tensors");
}
