// The serialized engine format: round trips and damaged input.
#include <gtest/gtest.h>

#include <set>
#include <unordered_map>

#include "core/util/error.h"
#include "tests/plan/engines.h"

using namespace trtorch;
using namespace trtorch::plan;
using namespace trtorch::plan::fixtures;

namespace {

// Value numbering in definition order (inputs, then node outputs), as the format numbers them.
std::unordered_map<const Value*, int> numbering(const Graph& g) {
  std::unordered_map<const Value*, int> idx;
  for (Value* v : g.inputs()) idx.emplace(v, int(idx.size()));
  for (Node* n : g.nodes())
    for (Value* o : n->outputs) idx.emplace(o, int(idx.size()));
  return idx;
}

void expect_same_graph(const Graph& a, const Graph& b) {
  auto ia = numbering(a), ib = numbering(b);
  ASSERT_EQ(a.inputs().size(), b.inputs().size());
  for (size_t i = 0; i < a.inputs().size(); ++i) {
    EXPECT_EQ(a.inputs()[i]->name, b.inputs()[i]->name);
    EXPECT_EQ(a.inputs()[i]->type, b.inputs()[i]->type) << a.inputs()[i]->type.str();
  }
  auto na = a.nodes(), nb = b.nodes();
  ASSERT_EQ(na.size(), nb.size());
  for (size_t i = 0; i < na.size(); ++i) {
    SCOPED_TRACE(::testing::Message() << "node " << i << " " << na[i]->name());
    EXPECT_EQ(na[i]->op, nb[i]->op);
    EXPECT_EQ(na[i]->source, nb[i]->source);
    EXPECT_TRUE(attrs_equal(na[i]->attrs, nb[i]->attrs))
        << attrs_str(na[i]->attrs) << " vs " << attrs_str(nb[i]->attrs);
    ASSERT_EQ(na[i]->inputs.size(), nb[i]->inputs.size());
    for (size_t k = 0; k < na[i]->inputs.size(); ++k)
      EXPECT_EQ(ia.at(na[i]->inputs[k]), ib.at(nb[i]->inputs[k]));
    ASSERT_EQ(na[i]->outputs.size(), nb[i]->outputs.size());
    for (size_t k = 0; k < na[i]->outputs.size(); ++k) {
      EXPECT_EQ(na[i]->outputs[k]->name, nb[i]->outputs[k]->name);
      EXPECT_EQ(na[i]->outputs[k]->type, nb[i]->outputs[k]->type);
      EXPECT_EQ(ia.at(na[i]->outputs[k]), ib.at(nb[i]->outputs[k]));
    }
  }
  ASSERT_EQ(a.outputs().size(), b.outputs().size());
  for (size_t i = 0; i < a.outputs().size(); ++i) EXPECT_EQ(ia.at(a.outputs()[i]), ib.at(b.outputs()[i]));
}

void expect_same_engine(const Engine& a, const Engine& b) {
  EXPECT_EQ(a.device.type, b.device.type);
  EXPECT_EQ(a.device.gpu_id, b.device.gpu_id);
  EXPECT_EQ(a.device.gpu_name, b.device.gpu_name);
  EXPECT_EQ(a.device.sm_major, b.device.sm_major);
  EXPECT_EQ(a.device.sm_minor, b.device.sm_minor);
  EXPECT_EQ(a.precision, b.precision);
  EXPECT_EQ(a.producer, b.producer);
  EXPECT_EQ(a.build_options, b.build_options);
  EXPECT_EQ(a.input_names, b.input_names);
  EXPECT_EQ(a.output_names, b.output_names);
  expect_same_graph(*a.graph, *b.graph);
}

// Records the C++ type of every attribute field it is shown.
struct FieldTypes {
  std::set<std::string>& seen;
  template <typename T>
  void operator()(const char*, const T&) {
    seen.insert(typeid(T).name());
  }
};

std::string error_of(const std::vector<uint8_t>& b) {
  try {
    deserialize(b);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string payload_error_of(const std::vector<uint8_t>& b) {
  try {
    deserialize_payload(b.data() + kHeaderSize, b.size() - kHeaderSize);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

void put_u32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = uint8_t(v >> (8 * i));
}

#define EXPECT_CONTAINS(haystack, needle)                                            \
  do {                                                                               \
    std::string h_ = (haystack);                                                     \
    EXPECT_NE(h_.find(needle), std::string::npos) << "message: " << h_;              \
  } while (0)

}  // namespace

TEST(Serialize, AllOpsGraphCoversTheOpTableAndEveryFieldType) {
  auto g = all_ops_graph();
  std::set<int> ops;
  std::set<std::string> fields;
  for (Node* n : g->nodes()) {
    ops.insert(int(n->op));
    std::visit(
        [&](auto& a) {
          if constexpr (!std::is_same_v<std::decay_t<decltype(a)>, std::monostate>) {
            FieldTypes f{fields};
            const_cast<std::decay_t<decltype(a)>&>(a).visit(f);
          }
        },
        n->attrs);
  }
  EXPECT_EQ(int(ops.size()), kNumOps) << "add the new op to all_ops_graph() in tests/plan/engines.h";
  for (const char* t : {typeid(int64_t).name(), typeid(double).name(), typeid(bool).name(), typeid(DType).name(),
                        typeid(UnaryKind).name(), typeid(BinaryKind).name(), typeid(PoolKind).name(),
                        typeid(ReduceKind).name(), typeid(CompareKind).name(), typeid(std::vector<int64_t>).name(), typeid(HostTensor).name()})
    EXPECT_TRUE(fields.count(t)) << t;
  std::set<DType> const_dtypes;
  for (Node* n : g->nodes())
    if (n->op == OpKind::Constant) const_dtypes.insert(n->attr<ConstantAttrs>().value.dtype);
  EXPECT_EQ(int(const_dtypes.size()), kNumDTypes);
}

TEST(Serialize, RoundTripIsExact) {
  for (bool cuda : {false, true}) {
    for (auto make : {all_ops_graph, small_graph, conv_graph}) {
      Engine e = make_engine(make(), cuda);
      std::vector<uint8_t> bytes = serialize(e);
      Engine back = deserialize(bytes);
      expect_same_engine(e, back);
      verify(*back.graph);
      EXPECT_EQ(serialize(back), bytes);
      // The payload parses on its own too.
      Engine p = deserialize_payload(bytes.data() + kHeaderSize, bytes.size() - kHeaderSize);
      expect_same_engine(e, p);
    }
  }
}

TEST(Serialize, ConstantsKeepTheirBytes) {
  Engine e = make_engine(all_ops_graph());
  Engine back = deserialize(serialize(e));
  auto na = e.graph->nodes(), nb = back.graph->nodes();
  for (size_t i = 0; i < na.size(); ++i) {
    if (na[i]->op != OpKind::Constant) continue;
    EXPECT_TRUE(na[i]->attr<ConstantAttrs>().value.same_content(nb[i]->attr<ConstantAttrs>().value));
  }
}

TEST(Serialize, DeviceRecordSurvives) {
  Engine e = make_engine(small_graph(), true);
  e.device.gpu_id = -3;
  e.device.gpu_name = std::string("odd\0name\xff", 9);
  e.device.sm_major = 10;
  e.device.sm_minor = 3;
  e.precision = DType::kBFloat16;
  Engine back = deserialize(serialize(e));
  EXPECT_EQ(back.device.type, DeviceType::kCUDA);
  EXPECT_EQ(back.device.gpu_id, -3);
  EXPECT_EQ(back.device.gpu_name, e.device.gpu_name);
  EXPECT_EQ(back.device.sm_major, 10);
  EXPECT_EQ(back.device.sm_minor, 3);
  EXPECT_EQ(back.precision, DType::kBFloat16);
}

TEST(Serialize, SpecialFloatAttributesSurviveBitExactly) {
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input(TensorType::fixed(DType::kFloat32, {3}), "x");
  Value* a = add(*g, OpKind::Unary, UnaryAttrs{UnaryKind::kClamp, -std::numeric_limits<double>::infinity(),
                                                std::numeric_limits<double>::quiet_NaN()}, {x}, "");
  Value* b = add(*g, OpKind::Unary, UnaryAttrs{UnaryKind::kElu, -0.0, 5e-324}, {a}, "");
  g->mark_output(b);
  Engine e = make_engine(std::move(g));
  auto bytes = serialize(e);
  Engine back = deserialize(bytes);
  expect_same_engine(e, back);
  EXPECT_EQ(serialize(back), bytes);
}

// Dynamic shapes: symbolic sizes in types and attributes (a polynomial with a floor division) and
// the opt shapes round-trip exactly; an opt shape outside its input's range is rejected.
TEST(Serialize, DynamicEngineRoundTrips) {
  using namespace trtorch::ir;
  auto g = std::make_unique<Graph>();
  const Dim b = Dim::symbolic(0, 1, 16), h = Dim::symbolic(1, 8, 64);
  Value* x = g->add_input(TensorType(DType::kFloat32, {b, Dim::fixed(3), h, h}), "x");
  Pool2dAttrs pa;
  pa.kernel = {2, 2};
  pa.stride = {2, 2};
  Node* pool = g->add_node(OpKind::Pool2d, pa, {x});
  const Dim oh = pool->outputs[0]->type.dims[2];
  ASSERT_FALSE(oh.is_static());
  ReshapeAttrs ra;
  ra.shape = {b, Dim::fixed(3) * oh * oh};
  Node* flat = g->add_node(OpKind::Reshape, ra, {pool->outputs[0]});
  SliceAttrs sa;
  sa.axis = 1;
  sa.end = oh;
  Node* sl = g->add_node(OpKind::Slice, sa, {flat->outputs[0]});
  g->mark_output(sl->outputs[0]);
  Engine e = make_engine(std::move(g));
  e.opt_shapes = {{4, 3, 32, 32}};
  auto bytes = serialize(e);
  Engine back = deserialize(bytes);
  expect_same_engine(e, back);
  EXPECT_EQ(back.opt_shapes, e.opt_shapes);
  EXPECT_EQ(back.graph->outputs()[0]->type, e.graph->outputs()[0]->type);
  EXPECT_EQ(serialize(back), bytes);
  e.opt_shapes = {{4, 3, 80, 32}};  // 80 is outside [8, 64]
  bytes = serialize(e);
  try {
    deserialize(bytes);
    FAIL() << "expected an error";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("opt shape of input 0 does not fit"), std::string::npos) << err.what();
  }
}

// Changing an attribute struct or the layout changes these bytes: bump kFormatVersion, then
// update the checksum here. A new op appended to ops.def (and to all_ops_graph) changes them too
// but needs no bump: engines without it read as before, and an older build rejects an engine
// that uses it as an unknown op id.
TEST(Serialize, FormatIsPinned) {
  auto bytes = serialize(make_engine(all_ops_graph(), true));
  EXPECT_EQ(bytes.size(), 12578u);
  EXPECT_EQ(fnv1a64(bytes.data(), bytes.size()), 0xf51c0deaaf6b631dull)
      << "the serialized format changed: bump kFormatVersion in core/plan/engine.h and update this test";
}

TEST(Serialize, SerializeRejectsBrokenEngines) {
  Engine e;
  EXPECT_THROW(serialize(e), Error);  // no graph
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input(TensorType::fixed(DType::kFloat32, {2}), "x");
  Node* n = g->add_node(OpKind::Unary, UnaryAttrs{}, {x});
  g->mark_output(n->outputs[0]);
  n->attr<UnaryAttrs>().kind = UnaryKind(200);
  Engine bad = make_engine(std::move(g));
  try {
    serialize(bad);
    FAIL();
  } catch (const Error& err) {
    EXPECT_CONTAINS(err.what(), "kind");
  }
}

TEST(Deserialize, EveryTruncationIsAnError) {
  auto bytes = serialize(make_engine(small_graph(), true));
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + long(n));
    std::string m = error_of(prefix);
    EXPECT_TRUE(m.find(n == 0 ? "empty" : "truncated") != std::string::npos) << n << ": " << m;
    if (n > 0 && n < 8) continue;
    if (n >= kHeaderSize) {
      std::string pm = payload_error_of(prefix);
      EXPECT_CONTAINS(pm, "truncated");
      EXPECT_CONTAINS(pm, "offset");
    }
  }
  EXPECT_CONTAINS(error_of({}), "engine is empty");
  std::string m = error_of(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 12));
  EXPECT_CONTAINS(m, "engine is truncated: needs 8 bytes at offset 12, only 0 left");
}

TEST(Deserialize, BadMagic) {
  auto bytes = serialize(make_engine(small_graph()));
  bytes[1] = 'X';
  EXPECT_EQ(error_of(bytes), "not a trtorch engine (bad magic)");
  EXPECT_EQ(error_of({'P', 'K', 3, 4}), "not a trtorch engine (bad magic)");
}

TEST(Serialize, BackendDataRoundTrips) {
  Engine e = make_engine(small_graph());
  e.backend_data = {1, 2, 3, 0, 255};
  auto bytes = serialize(e);
  Engine back = deserialize(bytes);
  EXPECT_EQ(back.backend_data, e.backend_data);
  // A backend-data length beyond the end is a truncation error, found before any allocation.
  size_t len_at = bytes.size() - 5 - 8;
  for (int i = 0; i < 8; ++i) bytes[len_at + i] = 0xee;
  reseal(bytes);
  EXPECT_CONTAINS(error_of(bytes), "engine is truncated");
}

// The build options (a string after the producer) survive a round trip, and a damaged one is
// rejected: a length beyond the end, or beyond the format's limit, before anything is allocated.
TEST(Serialize, BuildOptionsRoundTrip) {
  const std::string opts =
      "precision=f16;allow_tf32=0;fp32_conv_bias=0;channels_last=1;cuda_graphs=0;conv_candidates=3;"
      "workspace_size=1048576;num_min_timing_iters=2;num_avg_timing_iters=1";
  Engine e = make_engine(conv_graph(), true);
  e.build_options = opts;
  auto bytes = serialize(e);
  Engine back = deserialize(bytes);
  expect_same_engine(e, back);
  EXPECT_EQ(back.build_options, opts);
  EXPECT_EQ(serialize(back), bytes);
  // Without options: an empty string, not a missing field.
  Engine plain = make_engine(small_graph());
  EXPECT_EQ(deserialize(serialize(plain)).build_options, "");

  // Every truncation of an engine with options is still an error.
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + long(n));
    EXPECT_CONTAINS(error_of(prefix), n == 0 ? "empty" : "truncated");
  }
  // The options' u32 length sits just before their text.
  const size_t text_at = find_bytes(bytes, opts);
  ASSERT_NE(text_at, std::string::npos);
  const size_t len_at = text_at - 4;
  auto patched = [&](uint32_t len) {
    auto b = bytes;
    put_u32(b, len_at, len);
    reseal(b);
    return error_of(b);
  };
  std::string m = patched(5000);  // over the 4096-byte limit
  EXPECT_CONTAINS(m, "absurd size: build options has 5000 entries");
  EXPECT_CONTAINS(m, "offset " + std::to_string(len_at));
  m = patched(4000);  // within the limit, past the end
  EXPECT_CONTAINS(m, "truncated or corrupt: build options claims 4000 entries");
  m = patched(uint32_t(opts.size() - 1));  // one byte short: the next fields are read from the wrong place
  EXPECT_NE(m, "(no error)");
  // A flipped byte in the text fails the checksum.
  auto b = bytes;
  b[text_at] ^= 0x20;
  EXPECT_CONTAINS(error_of(b), "engine checksum mismatch");
  // Serializing refuses options beyond the limit.
  e.build_options.assign(5000, 'x');
  EXPECT_THROW(serialize(e), Error);
}

TEST(Deserialize, WrongVersion) {
  auto bytes = serialize(make_engine(small_graph()));
  put_u32(bytes, 8, 99);
  EXPECT_EQ(error_of(bytes), "engine format version 99 is not supported by this build (supports " + std::to_string(kFormatVersion) + ")");
}

TEST(Deserialize, FlippedPayloadByteFailsTheChecksum) {
  auto bytes = serialize(make_engine(small_graph()));
  for (size_t at : {kHeaderSize, bytes.size() / 2, bytes.size() - 1}) {
    auto b = bytes;
    b[at] ^= 0x10;
    EXPECT_CONTAINS(error_of(b), "engine checksum mismatch (corrupted data)");
  }
}

TEST(Deserialize, TrailingBytes) {
  auto bytes = serialize(make_engine(small_graph()));
  auto b = bytes;
  b.push_back(0);
  EXPECT_CONTAINS(error_of(b), "1 trailing bytes");
  reseal(b);  // now the payload itself has a stray byte after the graph
  EXPECT_CONTAINS(error_of(b), "1 trailing bytes after the graph");
}

TEST(Deserialize, CorruptFieldsAreNamed) {
  const auto bytes = serialize(make_engine(small_graph()));
  // Layout around a node: u32 op | u32 source length | source | u32 k | k x u32 | attributes.
  const size_t src = find_bytes(bytes, "unary@marker");
  ASSERT_NE(src, std::string::npos);
  const size_t op_at = src - 8, len_at = src - 4, inputs_at = src + 12, kind_at = src + 12 + 8;

  auto patched = [&](auto edit) {
    auto b = bytes;
    edit(b);
    reseal(b);
    return error_of(b);
  };
  std::string m = patched([&](auto& b) { put_u32(b, op_at, 200); });
  EXPECT_CONTAINS(m, "unknown op id 200");
  EXPECT_CONTAINS(m, "offset " + std::to_string(op_at));

  m = patched([&](auto& b) { put_u32(b, inputs_at + 4, 99); });
  EXPECT_CONTAINS(m, "value index 99");
  EXPECT_CONTAINS(m, "out of range");
  EXPECT_CONTAINS(m, "Unary");

  m = patched([&](auto& b) { b[kind_at] = 250; });
  EXPECT_CONTAINS(m, "unknown enum value 250 for kind");
  EXPECT_CONTAINS(m, "node 2 (Unary)");

  m = patched([&](auto& b) { put_u32(b, len_at, 0xfffffff0u); });
  EXPECT_CONTAINS(m, "4294967280");
  EXPECT_CONTAINS(m, "truncated or corrupt");

  // The constant's byte count: source "bias" | u32 k=0 | u8 dtype | u32 rank | i64 dim | u64 nbytes.
  const size_t bias_src = find_bytes(bytes, "bias");
  ASSERT_NE(bias_src, std::string::npos);
  const size_t nbytes_at = bias_src + 4 + 4 + 1 + 4 + 8;
  ASSERT_EQ(bytes[nbytes_at], 16);
  m = patched([&](auto& b) {
    for (int i = 0; i < 8; ++i) b[nbytes_at + i] = 0xff;
  });
  EXPECT_CONTAINS(m, "18446744073709551615 bytes");

  // The first graph input's dtype sits after its name "x".
  const size_t x_at = find_bytes(bytes, std::string("\x01\0\0\0x", 5));
  ASSERT_NE(x_at, std::string::npos);
  m = patched([&](auto& b) { b[x_at + 5] = 9; });
  EXPECT_CONTAINS(m, "unknown dtype 9");

  // Shape inference rejects the node once the input's dtype changes.
  m = patched([&](auto& b) { b[x_at + 5] = uint8_t(DType::kFloat16); });
  EXPECT_CONTAINS(m, "engine graph is invalid");
  EXPECT_CONTAINS(m, "Binary");

  // A stored output type that differs from what shape inference computes.
  const size_t y_at = find_bytes(bytes, std::string("\x01\0\0\0y", 5));
  ASSERT_NE(y_at, std::string::npos);
  m = patched([&](auto& b) { b[y_at + 5] = uint8_t(DType::kFloat16); });
  EXPECT_CONTAINS(m, "engine graph is invalid: node 2 (Unary) output 0 is stored as f16[s0:1..8,4] but shape "
                     "inference gives f32[s0:1..8,4]");

  // Unknown device type.
  m = patched([&](auto& b) { b[kHeaderSize] = 7; });
  EXPECT_CONTAINS(m, "unknown device type 7");
}

namespace {

// Replaces every stored static dim (kind 0, i64 value) equal to `from` by `to`, then reseals.
std::vector<uint8_t> with_dim(std::vector<uint8_t> b, int64_t from, int64_t to) {
  auto encode = [](int64_t v) {
    std::string s(1, '\0');
    for (int i = 0; i < 8; ++i) s.push_back(char(uint8_t(uint64_t(v) >> (8 * i))));
    return s;
  };
  const std::string pattern = encode(from), replacement = encode(to);
  size_t n = 0;
  for (size_t at = find_bytes(b, pattern); at != std::string::npos; at = find_bytes(b, pattern)) {
    std::copy(replacement.begin(), replacement.end(), b.begin() + long(at));
    ++n;
  }
  EXPECT_GT(n, 0u);
  reseal(b);
  return b;
}

}  // namespace

// Shapes whose byte size does not fit int64_t: clean errors, never a wrapped-around 0-byte buffer.
TEST(Deserialize, InputShapeWhoseBytesOverflowIsAnError) {
  // Static: x f32[12345] -> sigmoid, edited to f32[2^62] (2^64 bytes) in the input and output types.
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input(TensorType::fixed(DType::kFloat32, {12345}), "x");
  g->mark_output(add(*g, OpKind::Unary, UnaryAttrs{UnaryKind::kSigmoid}, {x}, "sigmoid"));
  std::string m = error_of(with_dim(serialize(make_engine(std::move(g))), 12345, int64_t(1) << 62));
  EXPECT_CONTAINS(m, "absurd size: graph input type shape [4611686018427387904] of f32 is 2^64 bytes, more than a "
                     "tensor can hold");

  // Dynamic: s0 in [1, 8] edited to [1, 2^60]; [s0, 4] of f32 is 2^64 bytes at its largest.
  auto b = serialize(make_engine(small_graph()));
  std::string atom;
  for (int64_t v : {int64_t(1), int64_t(8)})
    for (int i = 0; i < 8; ++i) atom.push_back(char(uint8_t(uint64_t(v) >> (8 * i))));
  size_t n = 0;
  for (size_t at = find_bytes(b, atom); at != std::string::npos; at = find_bytes(b, atom), ++n)
    for (int i = 0; i < 8; ++i) b[at + 8 + size_t(i)] = i == 7 ? 0x10 : 0;  // hi = 2^60
  ASSERT_GT(n, 0u);
  reseal(b);
  m = error_of(b);
  EXPECT_CONTAINS(m, "at its largest, [1152921504606846976, 4] of f32 is 2^64 bytes, more than a tensor can hold");
}

TEST(Deserialize, ExpandWhoseOutputBytesOverflowIsAnError) {
  // (x.expand(2**59, 8) + 1) as engine bytes: an Expand to [12345, 8] edited to [2^59, 8].
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input(TensorType::fixed(DType::kFloat32, {1, 8}), "x");
  Value* e = add(*g, OpKind::Expand, ExpandAttrs{{12345, 8}}, {x}, "code/__torch__.py:5");
  g->mark_output(add(*g, OpKind::Unary, UnaryAttrs{UnaryKind::kSigmoid}, {e}, "sigmoid"));
  std::string m = error_of(with_dim(serialize(make_engine(std::move(g))), 12345, int64_t(1) << 59));
  EXPECT_CONTAINS(m, "engine graph is invalid");
  EXPECT_CONTAINS(m, "Expand: output shape [576460752303423488, 8] of f32 is 2^64 bytes, more than a tensor can hold");
}

TEST(Deserialize, ConstantShapeWhoseBytesOverflowIsAnError) {
  // The "bias" constant f32[4] of small_graph, its dim edited: the byte count no longer matches.
  const auto bytes = serialize(make_engine(small_graph()));
  const size_t bias_src = find_bytes(bytes, "bias");
  ASSERT_NE(bias_src, std::string::npos);
  const size_t dim_at = bias_src + 4 + 4 + 1 + 4;
  for (int64_t d : {int64_t(1) << 62, (int64_t(1) << 61) + 1, INT64_MAX}) {
    auto b = bytes;
    for (int i = 0; i < 8; ++i) b[dim_at + i] = uint8_t(uint64_t(d) >> (8 * i));
    reseal(b);
    std::string m = error_of(b);
    EXPECT_CONTAINS(m, "(Constant)");
    EXPECT_CONTAINS(m, "elements has 16 bytes of data");
  }
}

// An engine is not trusted because its checksum matches: an input's range edited on its own (1..8
// to 1..2^31, or to start at 0) disagrees with the node types the range flows into.
TEST(Deserialize, EditedInputRangeDisagreesWithTheNodeTypes) {
  auto b = serialize(make_engine(small_graph()));  // s0 in [1, 8]
  std::string atom;
  for (int64_t v : {int64_t(1), int64_t(8)})
    for (int i = 0; i < 8; ++i) atom.push_back(char(uint8_t(uint64_t(v) >> (8 * i))));
  const size_t first = find_bytes(b, atom);
  ASSERT_NE(first, std::string::npos);
  auto wide = b;
  for (int i = 0; i < 8; ++i) wide[first + 8 + size_t(i)] = char(uint8_t((uint64_t(1) << 31) >> (8 * i)));
  reseal(wide);
  std::string m = error_of(wide);
  EXPECT_CONTAINS(m, "symbol s0 has range [1, 8]");
  EXPECT_CONTAINS(m, "but [1, 2147483648] where it first appears");
  auto zero = b;
  for (int i = 0; i < 8; ++i) zero[first + size_t(i)] = 0;
  reseal(zero);
  EXPECT_CONTAINS(error_of(zero), "symbol s0 has range [0, 8] (a dynamic size is at least 1)");
}
