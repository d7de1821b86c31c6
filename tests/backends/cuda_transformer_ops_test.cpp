// The CUDA kernels of the transformer-model ops (Compare, CumSum) and the mask pipelines the
// converters build from them (BERT's padding mask: Cast, Gather, Compare, Where, Softmax; an
// engine-computed index), against the reference backend. Torch-free: engines are built for the
// GPU through plan::build_engine, serialized, loaded again and run twice (the second run replays
// the captured CUDA graph). Exits 77 (skipped) where there is no GPU.
#include <cmath>
#include <functional>
#include <limits>
#include <random>

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

TEST_P(CudaTransformerOps, CompareEveryKind) {
  const DType dt = GetParam();
  for (int k = 0; k < int(CompareKind::kCount); ++k) {
    const CompareAttrs a{CompareKind(k)};
    const std::string kind = compare_kind_name(CompareKind(k));
    // Floats (in the precision under test) with ties, broadcast and same-shape operands.
    const std::vector<std::pair<DType, Shape>> bc{{DType::kFloat32, {2, 3, 1, 5}}, {DType::kFloat32, {4, 1}}};
    check("compare " + kind + " float bcast",
          [=](DType t) { return graph_of(t, bc, [&](Graph& g, auto v) { return op(g, OpKind::Compare, a, v); }); },
          inputs_of(bc, true), dt);
    const std::vector<std::pair<DType, Shape>> same{{DType::kFloat32, {1000, 33}}, {DType::kFloat32, {1000, 33}}};
    check("compare " + kind + " float same",
          [=](DType t) { return graph_of(t, same, [&](Graph& g, auto v) { return op(g, OpKind::Compare, a, v); }); },
          inputs_of(same, true), dt);
    // Integers and bools keep their dtype whatever the precision.
    for (DType it : {DType::kInt32, DType::kInt64, DType::kBool}) {
      const std::vector<std::pair<DType, Shape>> ins{{it, {3, 1, 7}}, {it, {5, 1}}};
      check("compare " + kind + " " + dtype_name(it),
            [=](DType t) { return graph_of(t, ins, [&](Graph& g, auto v) { return op(g, OpKind::Compare, a, v); }); },
            inputs_of(ins), dt);
    }
  }
}

TEST_P(CudaTransformerOps, CumSum) {
  const DType dt = GetParam();
  // Contiguous lines: one chunk, several chunks with a partial last one, many lines.
  for (Shape s : {Shape{4, 100}, Shape{3, 1000}, Shape{700, 17}}) {
    const std::vector<std::pair<DType, Shape>> ins{{DType::kFloat32, s}};
    check(str_cat("cumsum rows [", s[0], ",", s[1], "]"),
          [=](DType t) {
            return graph_of(t, ins, [](Graph& g, auto v) { return op(g, OpKind::CumSum, CumSumAttrs{1}, v); });
          },
          inputs_of(ins), dt);
  }
  // Strided lines (the axis is not innermost), on every scanned dtype.
  for (DType it : {DType::kFloat32, DType::kInt32, DType::kInt64}) {
    const std::vector<std::pair<DType, Shape>> ins{{it, {3, 50, 9}}};
    check(str_cat("cumsum cols ", dtype_name(it)),
          [=](DType t) {
            return graph_of(t, ins, [](Graph& g, auto v) { return op(g, OpKind::CumSum, CumSumAttrs{1}, v); });
          },
          inputs_of(ins), dt);
  }
  const std::vector<std::pair<DType, Shape>> ints{{DType::kInt64, {2, 600}}};
  check("cumsum rows int64",
        [=](DType t) { return graph_of(t, ints, [](Graph& g, auto v) { return op(g, OpKind::CumSum, CumSumAttrs{1}, v); }); },
        inputs_of(ints), dt);
}

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

INSTANTIATE_TEST_SUITE_P(DTypes, CudaTransformerOps,
                         ::testing::Values(DType::kFloat32, DType::kFloat16, DType::kBFloat16),
                         [](const ::testing::TestParamInfo<DType>& i) { return std::string(dtype_name(i.param)); });

}  // namespace

int main(int argc, char** argv) { return gpu_main(argc, argv); }
