// The CUDA kernels of the transformer-model ops (Compare, CumSum, Where, Gather, LayerNorm) and
// the mask pipelines the converters build from them (BERT's padding mask: Cast, Gather, Compare,
// Where, Softmax; an engine-computed index), against the reference backend. Torch-free: engines
// are built for the GPU through plan::build_engine, serialized, loaded again and run twice (the
// second run replays the captured CUDA graph). Kernels made directly from KernelArgs take
// misaligned pointers (the fallbacks of the vector paths) and time BERT-base sizes. Exits 77
// (skipped) where there is no GPU. Compare of every kind and dtype and CumSum on contiguous and
// strided lines are rows of the op-test table (tests/ops, compare and scan families).
#include <cmath>
#include <functional>
#include <limits>
#include <random>

#include "core/backends/cuda/common/kernel.h"
#include "core/passes/passes.h"
#include "tests/backends/cuda_test_util.h"

using namespace trtorch;
using namespace trtorch::ir;
using namespace trtorch::cuda_test;

namespace {

using GraphFn = std::function<std::unique_ptr<Graph>(DType)>;
using InputsFn = std::function<std::vector<HostTensor>(DType)>;

// Random values: floats N(0, 1) rounded to the storage type, or with `ties` to multiples of 0.5
// (few distinct values, so that comparisons meet equal pairs); integers uniform in [-3, 3];
// bools about half true.
HostTensor random_input(DType t, Shape shape, uint32_t seed, bool ties = false) {
  std::mt19937 rng(seed);
  HostTensor h(t, shape);
  std::normal_distribution<double> nd(0.0, 1.0);
  std::uniform_int_distribution<int> id(-3, 3);
  for (int64_t i = 0; i < h.numel(); ++i) {
    if (is_floating(t)) h.set(i, ties ? std::round(2.0 * nd(rng)) / 2.0 : nd(rng));
    else if (t == DType::kBool) h.set(i, id(rng) > 0 ? 1.0 : 0.0);
    else h.set(i, double(id(rng)));
  }
  return h;
}

// Graph inputs of the given types (a floating type of kFloat32 here stands for the precision dt).
std::unique_ptr<Graph> graph_of(DType dt, const std::vector<std::pair<DType, Shape>>& ins,
                                const std::function<Value*(Graph&, const std::vector<Value*>&)>& body) {
  auto g = std::make_unique<Graph>();
  std::vector<Value*> vs;
  for (const auto& [t, s] : ins) vs.push_back(g->add_input(TensorType::fixed(is_floating(t) ? dt : t, s), "x"));
  g->mark_output(body(*g, vs));
  return g;
}

InputsFn inputs_of(const std::vector<std::pair<DType, Shape>>& ins, bool ties = false) {
  return [ins, ties](DType dt) {
    std::vector<HostTensor> r;
    uint32_t seed = 21;
    for (const auto& [t, s] : ins) r.push_back(random_input(is_floating(t) ? dt : t, s, seed++, ties));
    return r;
  };
}

Value* op(Graph& g, OpKind k, Attrs a, const std::vector<Value*>& ins) { return g.add_node(k, std::move(a), ins)->outputs[0]; }

class CudaTransformerOps : public ::testing::TestWithParam<DType> {};

// BERT's padding mask, as the converters build it: the int64 attention mask cast to bool, picked
// out per (batch, key) by a Gather with a compile-time linear index, and-ed with a compile-time
// mask, then applied to attention scores with Where and a softmax.
TEST_P(CudaTransformerOps, PaddingMaskPipeline) {
  const DType dt = GetParam();
  const int64_t B = 2, S = 9;
  auto make = [=](DType t) {
    auto g = std::make_unique<Graph>();
    Value* mask = g->add_input(TensorType::fixed(DType::kInt64, {B, S}), "attention_mask");
    Value* scores = g->add_input(TensorType::fixed(t, {B, 2, S, S}), "scores");
    Value* m = op(*g, OpKind::Cast, CastAttrs{DType::kBool}, {mask});
    m = op(*g, OpKind::Reshape, ReshapeAttrs{{B * S}}, {m});
    HostTensor lin(DType::kInt64, {B, 1, 1, S});
    for (int64_t b = 0; b < B; ++b)
      for (int64_t s = 0; s < S; ++s) lin.set(b * S + s, double(b * S + s));
    m = op(*g, OpKind::Gather, GatherAttrs{0}, {m, g->add_constant(lin)});
    HostTensor ones(DType::kBool, {1, 1, S, 1});
    for (int64_t i = 0; i < S; ++i) ones.set(i, 1.0);
    m = op(*g, OpKind::Compare, CompareAttrs{CompareKind::kAnd}, {g->add_constant(ones), m});
    HostTensor zero(t, {}), ninf(t, {});
    ninf.set(0, -std::numeric_limits<double>::infinity());
    Value* bias = op(*g, OpKind::Where, WhereAttrs{}, {m, g->add_constant(zero), g->add_constant(ninf)});
    Value* x = op(*g, OpKind::Binary, BinaryAttrs{BinaryKind::kAdd}, {scores, bias});
    g->mark_output(op(*g, OpKind::Softmax, SoftmaxAttrs{3, false}, {x}));
    g->mark_output(m);
    return g;
  };
  auto inputs = [=](DType t) {
    HostTensor mask(DType::kInt64, {B, S});
    for (int64_t b = 0; b < B; ++b)
      for (int64_t s = 0; s < S; ++s) mask.set(b * S + s, s < S - 3 * b ? 1.0 : 0.0);  // batch 1 has 3 padding keys
    return std::vector<HostTensor>{mask, random_input(t, {B, 2, S, S}, 31)};
  };
  check("padding mask pipeline", make, inputs, dt);
}

// An index computed by the engine (x[:, idx] with idx from the model): negative entries wrapped
// with Compare / Binary / Where, then a Gather.
TEST_P(CudaTransformerOps, EngineIndexWrapAndGather) {
  const DType dt = GetParam();
  auto make = [=](DType t) {
    auto g = std::make_unique<Graph>();
    Value* x = g->add_input(TensorType::fixed(t, {3, 7, 4}), "x");
    Value* idx = g->add_input(TensorType::fixed(DType::kInt64, {2, 5}), "idx");
    HostTensor zero(DType::kInt64, {}), seven(DType::kInt64, {});
    seven.set(0, 7.0);
    Value* neg = op(*g, OpKind::Compare, CompareAttrs{CompareKind::kLt}, {idx, g->add_constant(zero)});
    Value* wrapped = op(*g, OpKind::Binary, BinaryAttrs{BinaryKind::kAdd}, {idx, g->add_constant(seven)});
    Value* i = op(*g, OpKind::Where, WhereAttrs{}, {neg, wrapped, idx});
    g->mark_output(op(*g, OpKind::Gather, GatherAttrs{1}, {x, i}));
    return g;
  };
  auto inputs = [=](DType t) {
    HostTensor idx(DType::kInt64, {2, 5});
    const int v[] = {0, -1, 6, -7, 3, 2, -3, 5, 1, -2};
    for (int64_t k = 0; k < 10; ++k) idx.set(k, v[k]);
    return std::vector<HostTensor>{random_input(t, {3, 7, 4}, 41), idx};
  };
  check("engine index wrap + gather", make, inputs, dt);
}

// Broadcasts of every operand, in dims that coalesce and dims that do not (32-bit offsets over the
// coalesced dims), and scalars.
TEST_P(CudaTransformerOps, BroadcastWhereAndCompare) {
  const DType dt = GetParam();
  const DType f = DType::kFloat32, b = DType::kBool;
  const std::vector<std::vector<std::pair<DType, Shape>>> wheres = {
      {{b, {2, 1, 1, 9}}, {f, {2, 3, 9, 9}}, {f, {1}}},  // a padding mask over scores
      {{b, {2, 3, 1, 5}}, {f, {1, 1, 4, 5}}, {f, {2, 1, 4, 1}}},
      {{b, {7, 1}}, {f, {1, 6}}, {f, {2, 1, 1}}},
  };
  for (const auto& ins : wheres)
    check(str_cat("where ", shape_str(ins[0].second), " ", shape_str(ins[1].second), " ", shape_str(ins[2].second)),
          [=](DType t) { return graph_of(t, ins, [](Graph& g, auto v) { return op(g, OpKind::Where, WhereAttrs{}, v); }); },
          inputs_of(ins), dt);
  const std::vector<std::vector<std::pair<DType, Shape>>> compares = {
      {{f, {2, 3, 4, 5}}, {f, {1, 1, 4, 5}}},  // coalesces to rank 2
      {{f, {2, 1, 4, 1}}, {f, {1, 3, 1, 5}}},
      {{f, {8, 1, 64, 1}}, {f, {8, 1, 1, 64}}},
      {{f, {1}}, {f, {3, 7}}},
  };
  for (const auto& ins : compares)
    check(str_cat("compare ge ", shape_str(ins[0].second), " ", shape_str(ins[1].second)),
          [=](DType t) {
            return graph_of(t, ins, [](Graph& g, auto v) { return op(g, OpKind::Compare, CompareAttrs{CompareKind::kGe}, v); });
          },
          inputs_of(ins, true), dt);
}

// Gathered rows of every width in words: 16 bytes (an embedding lookup), 8, 4 and 2 bytes, and
// rows of one element.
TEST_P(CudaTransformerOps, GatherRows) {
  const DType dt = GetParam();
  struct Case {
    Shape x;
    int64_t axis;
    Shape idx;
    DType idx_t;
  };
  const std::vector<Case> cases = {
      {{50, 64}, 0, {3, 5}, DType::kInt64},  // embedding lookup
      {{50, 64}, 0, {7}, DType::kInt32},
      {{40, 6}, 0, {2, 9}, DType::kInt64},
      {{3, 10, 8}, 1, {4}, DType::kInt32},
      {{3, 10, 5}, 1, {2, 2}, DType::kInt64},
      {{2, 3, 10}, 2, {6}, DType::kInt64},
  };
  for (const Case& c : cases) {
    auto make = [=](DType t) {
      auto g = std::make_unique<Graph>();
      Value* x = g->add_input(TensorType::fixed(t, c.x), "x");
      HostTensor ids(c.idx_t, c.idx);
      for (int64_t i = 0; i < ids.numel(); ++i) ids.set(i, double((i * 7 + 3) % c.x[size_t(c.axis)]));
      g->mark_output(op(*g, OpKind::Gather, GatherAttrs{c.axis}, {x, g->add_constant(ids)}));
      return g;
    };
    auto inputs = [=](DType t) { return std::vector<HostTensor>{random_input(t, c.x, 51)}; };
    check(str_cat("gather ", shape_str(c.x), " axis ", c.axis, " ", shape_str(c.idx), " ", dtype_name(c.idx_t)), make,
          inputs, dt);
  }
}

// LayerNorm: the warp-per-row kernel in 16-byte vectors (cols a multiple of 8 FP16/BF16 or 4 FP32
// values, up to 4096) and one element at a time (other cols up to 1024), with row counts that
// leave the last block partly idle; the block-per-row kernels past those limits; with and without
// the residual, the weight and the bias.
TEST_P(CudaTransformerOps, LayerNorm) {
  const DType dt = GetParam();
  struct Case {
    Shape x;
    int64_t normalized_rank;
    bool res, weight, bias;
  };
  const std::vector<Case> cases = {
      {{3, 7, 768}, 1, true, true, true},  // BERT's, 21 rows
      {{3, 7, 768}, 1, false, true, false},
      {{3, 7, 768}, 1, true, false, false},
      {{5, 37}, 1, true, true, true},  // odd: one element at a time
      {{5, 36}, 1, false, true, true},
      {{9, 8}, 1, true, true, true},
      {{3, 1000}, 1, true, true, true},  // lanes idle in the last round of vectors
      {{2, 1030}, 1, true, true, true},  // past 1024, not in vectors: a block per row
      {{2, 3, 4096}, 1, true, true, true},
      {{2, 4104}, 1, true, true, false},  // past 4096: a block per row
      {{3, 4, 48}, 2, false, true, true},
  };
  for (const Case& c : cases) {
    const Shape ws(c.x.end() - c.normalized_rank, c.x.end());
    auto make = [=](DType t) {
      auto g = std::make_unique<Graph>();
      std::vector<Value*> ins{g->add_input(TensorType::fixed(t, c.x), "x")};
      if (c.res) ins.push_back(g->add_input(TensorType::fixed(t, c.x), "r"));
      if (c.weight) ins.push_back(g->add_constant(random_tensor(t, ws, 7, 0.5f, 1.0f)));
      if (c.bias) ins.push_back(g->add_constant(random_tensor(t, ws, 8)));
      g->mark_output(op(*g, OpKind::LayerNorm, LayerNormAttrs{c.normalized_rank, 1e-5, c.res}, ins));
      return g;
    };
    auto inputs = [=](DType t) {
      std::vector<HostTensor> r{random_tensor(t, c.x, 1, 2.0f, 3.0f)};
      if (c.res) r.push_back(random_tensor(t, c.x, 2));
      return r;
    };
    check(str_cat("layer norm ", shape_str(c.x), c.res ? " +res" : "", c.weight ? " weight" : "", c.bias ? " bias" : ""),
          make, inputs, dt);
  }
}

// A pre-LayerNorm residual stream (carry_residual_stream): in FP16/BF16 the builder turns it into
// LayerNorms that read an FP32 residual and write the FP32 sum, one of them also cast back for a
// graph output. Every kernel path (16-byte vectors, one element at a time, a block per row, the
// long-row kernel) against the reference backend on the graph as written.
TEST_P(CudaTransformerOps, LayerNormResidualStream) {
  const DType dt = GetParam();
  for (int64_t cols : {768, 37, 1030, 4104}) {
    const Shape x_shape{2, 5, cols}, ws{cols};
    auto make = [=](DType t) {
      auto g = std::make_unique<Graph>();
      Value* x = g->add_input(TensorType::fixed(t, x_shape), "x");
      Value* a = g->add_input(TensorType::fixed(t, x_shape), "a");
      Value* b = g->add_input(TensorType::fixed(t, x_shape), "b");
      auto norm = [&](Value* v, uint32_t seed) {
        return op(*g, OpKind::LayerNorm, LayerNormAttrs{1, 1e-5},
                  {v, g->add_constant(random_tensor(t, ws, seed, 0.5f, 1.0f)), g->add_constant(random_tensor(t, ws, seed + 1))});
      };
      auto binary = [&](BinaryKind k, Value* p, Value* q) {
        BinaryAttrs ba;
        ba.kind = k;
        return op(*g, OpKind::Binary, ba, {p, q});
      };
      Value* s1 = binary(BinaryKind::kAdd, x, a);
      Value* s2 = binary(BinaryKind::kAdd, s1, binary(BinaryKind::kMul, norm(s1, 10), b));
      Value* s3 = binary(BinaryKind::kAdd, s2, norm(s2, 20));
      g->mark_output(norm(s3, 30));
      g->mark_output(s1);
      return g;
    };
    auto inputs = [=](DType t) {
      return std::vector<HostTensor>{random_tensor(t, x_shape, 1, 2.0f, 3.0f), random_tensor(t, x_shape, 2),
                                     random_tensor(t, x_shape, 3)};
    };
    // The builder's passes make two LayerNorms that emit the sum, and one more that reads it.
    auto g = make(dt);
    plan::assign_precision(*g, dt);
    passes::default_pipeline().run(*g);
    int emitting = 0, fp32_residual = 0;
    for (Node* n : g->nodes())
      if (n->op == OpKind::LayerNorm) {
        emitting += n->attr<LayerNormAttrs>().emit_sum;
        fp32_residual += n->attr<LayerNormAttrs>().has_residual && n->inputs[0]->type.dtype != DType::kFloat32 &&
                         n->inputs[1]->type.dtype == DType::kFloat32;
      }
    const bool narrow = dt != DType::kFloat32;
    EXPECT_EQ(emitting, narrow ? 2 : 0);
    EXPECT_EQ(fp32_residual, narrow ? 2 : 0);
    check(str_cat("layer norm residual stream ", shape_str(x_shape)), make, inputs, dt);
  }
}

INSTANTIATE_TEST_SUITE_P(DTypes, CudaTransformerOps,
                         ::testing::Values(DType::kFloat32, DType::kFloat16, DType::kBFloat16),
                         [](const ::testing::TestParamInfo<DType>& i) { return std::string(dtype_name(i.param)); });

// ---------------------------------------------------------------------------------------------
// Kernels made directly (the test chooses pointer offsets and times launches)

// A device buffer holding `bytes` from `src` (or poison when null), `offset` bytes into it.
struct Placed {
  cu::DeviceBuffer buf;
  char* ptr;
  Placed(const void* src, size_t bytes, size_t offset, int poison) : buf(bytes + offset + 16) {
    ptr = static_cast<char*>(buf.get()) + offset;
    TRTORCH_CUDA_CHECK(cudaMemset(buf.get(), poison, buf.bytes()));
    if (src) TRTORCH_CUDA_CHECK(cudaMemcpy(ptr, src, bytes, cudaMemcpyHostToDevice));
    TRTORCH_CUDA_CHECK(cudaDeviceSynchronize());  // legacy-stream work before non-blocking-stream launches
  }
};

using Factory = std::unique_ptr<cu::Kernel> (*)(const cu::KernelArgs&);

// Runs make(n)'s kernel on `ins` (input i placed offsets[i] elements into its buffer, the output
// out_offset elements), compares its output with the reference, checks that describe() contains
// `want_desc`, and prints the time per launch when time_iters > 0.
void direct(Factory make, const Node& n, const std::vector<HostTensor>& ins, const std::vector<int>& offsets,
            int out_offset, const std::string& want_desc, int time_iters = 0) {
  const HostTensor want = ref::eval_node(n, ins)[0];
  cu::KernelArgs args{ctx(), n, {}, {}, std::vector<const HostTensor*>(ins.size(), nullptr), nullptr, nullptr};
  for (const HostTensor& t : ins) args.inputs.push_back(cu::TensorDesc{t.dtype, t.shape});
  args.outputs = {cu::TensorDesc{want.dtype, want.shape}};
  auto kernel = make(args);
  const std::string desc = kernel->describe();
  SCOPED_TRACE(desc);
  EXPECT_NE(desc.find(want_desc), std::string::npos) << desc << " lacks '" << want_desc << "'";

  std::vector<Placed> dins;
  dins.reserve(ins.size());
  std::vector<const void*> in_ptrs;
  for (size_t i = 0; i < ins.size(); ++i) {
    dins.emplace_back(ins[i].data(), ins[i].nbytes(), size_t(offsets[i]) * dtype_size(ins[i].dtype), 0);
    in_ptrs.push_back(dins.back().ptr);
  }
  Placed dy(nullptr, want.nbytes(), size_t(out_offset) * dtype_size(want.dtype), poison_byte(want.dtype));
  cudaStream_t s = ctx().stream();
  kernel->launch(in_ptrs, {dy.ptr}, nullptr, s);
  TRTORCH_CUDA_CHECK(cudaStreamSynchronize(s));
  const double err = rel_error(download(dy.ptr, want.dtype, want.shape), want);
  EXPECT_LE(err, tolerance(want.dtype));
  double us = 0;
  if (time_iters > 0) us = us_per_launch(s, time_iters, [&] { kernel->launch(in_ptrs, {dy.ptr}, nullptr, s); });
  std::printf("[direct] %-80s rel err %.2e%s\n", desc.c_str(), err, us > 0 ? str_cat(" ", us, " us/launch").c_str() : "");
}

// LayerNorm on x [rows, cols] with a residual, weight and bias, x placed `offset` elements into
// its buffer.
void direct_layer_norm(DType dt, int64_t rows, int64_t cols, int offset, const std::string& want_desc,
                       int time_iters = 0) {
  Graph g;
  std::vector<Value*> vs;
  for (const Shape& s : {Shape{rows, cols}, Shape{rows, cols}, Shape{cols}, Shape{cols}})
    vs.push_back(g.add_input(TensorType::fixed(dt, s), "x"));
  Node* n = g.add_node(OpKind::LayerNorm, LayerNormAttrs{1, 1e-5, true}, vs);
  const std::vector<HostTensor> ins{random_tensor(dt, {rows, cols}, 1, 2.0f, 3.0f), random_tensor(dt, {rows, cols}, 2),
                                    random_tensor(dt, {cols}, 3, 0.5f, 1.0f), random_tensor(dt, {cols}, 4)};
  direct(cu::make_LayerNorm, *n, ins, {offset, 0, 0, 0}, 0, want_desc, time_iters);
}

// The paths LayerNorm takes; pointers off 16 bytes fall back to one element at a time (rows up to
// 1024) or to a block per row.
TEST(CudaTransformerOpsDirect, LayerNormPaths) {
  for (DType dt : {DType::kFloat16, DType::kBFloat16, DType::kFloat32}) {
    const std::string wide = str_cat("warp/row vec", dt == DType::kFloat32 ? 4 : 8);
    direct_layer_norm(dt, 13, 768, 0, wide);
    direct_layer_norm(dt, 13, 768, 1, wide);
    direct_layer_norm(dt, 6, 2048, 0, wide);
    direct_layer_norm(dt, 6, 2048, 2, "(misaligned: block/row)");
    direct_layer_norm(dt, 5, 37, 0, "warp/row vec1");
    direct_layer_norm(dt, 5, 37, 1, "warp/row vec1");
    direct_layer_norm(dt, 3, 1030, 0, "block/row");
    direct_layer_norm(dt, 3, 5000, 0, "block/row");
  }
}

// BERT-base at batch 32, sequence 128 (FP16): the LayerNorm after attention (x + residual,
// affine), the padding mask's Where and Compare over [32, 1, 128, 128], the word-embedding
// lookup. Timed (CUDA-graph replays); the times are printed, not checked.
TEST(CudaTransformerOpsDirect, BertBaseSizes) {
  const DType h = DType::kFloat16;
  direct_layer_norm(h, 4096, 768, 0, "warp/row vec8", 50);

  Graph g;
  Value* c = g.add_input(TensorType::fixed(DType::kBool, {32, 1, 1, 128}), "c");
  Value* a = g.add_input(TensorType::fixed(h, {32, 1, 128, 128}), "a");
  Value* b = g.add_input(TensorType::fixed(h, {1}), "b");
  Node* where = g.add_node(OpKind::Where, WhereAttrs{}, {c, a, b});
  direct(cu::make_Where, *where,
         {random_input(DType::kBool, {32, 1, 1, 128}, 61), random_input(h, {32, 1, 128, 128}, 62),
          random_input(h, {1}, 63)},
         {0, 0, 0}, 0, "rank", 50);

  Value* p = g.add_input(TensorType::fixed(h, {32, 1, 128, 1}), "p");
  Value* q = g.add_input(TensorType::fixed(h, {32, 1, 1, 128}), "q");
  Node* cmp = g.add_node(OpKind::Compare, CompareAttrs{CompareKind::kLt}, {p, q});
  direct(cu::make_Compare, *cmp, {random_input(h, {32, 1, 128, 1}, 64, true), random_input(h, {32, 1, 1, 128}, 65, true)},
         {0, 0}, 0, "rank", 50);

  const int64_t vocab = 1000, hidden = 768;
  Value* table = g.add_input(TensorType::fixed(h, {vocab, hidden}), "table");
  Value* ids = g.add_input(TensorType::fixed(DType::kInt64, {32, 128}), "ids");
  Node* gather = g.add_node(OpKind::Gather, GatherAttrs{0}, {table, ids});
  HostTensor hids(DType::kInt64, {32, 128});
  for (int64_t i = 0; i < hids.numel(); ++i) hids.set(i, double((i * 37) % vocab));
  direct(cu::make_Gather, *gather, {random_input(h, {vocab, hidden}, 66), hids}, {0, 0}, 0, "words of up to 16", 50);
  // Misaligned: narrower words.
  direct(cu::make_Gather, *gather, {random_input(h, {vocab, hidden}, 66), hids}, {1, 0}, 0, "");
}

}  // namespace

int main(int argc, char** argv) { return gpu_main(argc, argv); }
