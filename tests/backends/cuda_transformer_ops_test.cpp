// The CUDA kernels of the transformer-model ops (Compare, CumSum) and the mask pipelines the
// converters build from them (BERT's padding mask: Cast, Gather, Compare, Where, Softmax; an
// engine-computed index), against the reference backend. Torch-free: engines are built for the
// GPU through plan::build_engine, serialized, loaded again and run twice (the second run replays
// the captured CUDA graph). Exits 77 (skipped) where there is no GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <random>

#include "core/backends/cuda/context.h"
#include "core/backends/cuda/cuda_check.h"
#include "core/backends/reference/reference.h"
#include "core/plan/builder.h"
#include "core/plan/executor.h"

using namespace trtorch;
using namespace trtorch::ir;
namespace cu = trtorch::backends::cuda;

namespace {

using Shape = std::vector<int64_t>;
using GraphFn = std::function<std::unique_ptr<Graph>(DType)>;
using InputsFn = std::function<std::vector<HostTensor>(DType)>;

// Random values: floats N(0, 1) rounded to the storage type, or with `ties` to multiples of 0.5
// (few distinct values, so that comparisons meet equal pairs); integers uniform in [-3, 3];
// bools about half true.
HostTensor random_tensor(DType t, Shape shape, uint32_t seed, bool ties = false) {
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

// max |got - want| / max |want| over the finite values; infinities and NaNs must match exactly.
double rel_error(const HostTensor& got, const HostTensor& want) {
  if (got.shape != want.shape || got.dtype != want.dtype) return INFINITY;
  double num = 0, den = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double x = got.get(i), y = want.get(i);
    if (std::isnan(x) != std::isnan(y)) return INFINITY;
    if (std::isnan(y)) continue;
    if (std::isinf(y) || std::isinf(x)) {
      if (x != y) return INFINITY;
      continue;
    }
    num = std::max(num, std::fabs(x - y));
    den = std::max(den, std::fabs(y));
  }
  return num / (den > 0 ? den : 1.0);
}

double tolerance(DType t) {
  // Bool and integer results are exact; floats differ by summation order (FP32) or by where
  // the kernels round (FP16/BF16).
  return t == DType::kFloat32 ? 1e-4 : t == DType::kFloat16 ? 1e-2 : 4e-2;
}

// Builds `make_graph(dt)` for GPU 0 with precision dt, round-trips the engine through bytes,
// runs it twice on `make_inputs(dt)` and compares every output with the reference backend on
// the unbuilt graph. Integer and bool outputs must match exactly.
void check(const std::string& name, const GraphFn& make_graph, const InputsFn& make_inputs, DType dt) {
  SCOPED_TRACE(name + " " + dtype_name(dt));
  auto g = make_graph(dt);
  auto inputs = make_inputs(dt);
  auto want = backends::reference::run(*g, inputs);

  plan::BuildConfig cfg;
  cfg.precision = dt;
  cfg.device.type = plan::DeviceType::kCUDA;
  cfg.device.gpu_id = 0;
  std::vector<std::string> in_names, out_names;
  for (size_t i = 0; i < g->inputs().size(); ++i) in_names.push_back("in" + std::to_string(i));
  for (size_t i = 0; i < g->outputs().size(); ++i) out_names.push_back("out" + std::to_string(i));
  plan::Engine built = plan::build_engine(std::move(g), cfg, in_names, out_names);
  auto bytes = plan::serialize(built);
  auto engine = std::make_shared<const plan::Engine>(plan::deserialize(bytes));
  auto ex = plan::make_executor(engine);

  std::vector<plan::Shape> shapes;
  std::vector<cu::DeviceBuffer> dins;
  std::vector<const void*> in_ptrs;
  for (const auto& t : inputs) {
    shapes.push_back(t.shape);
    dins.emplace_back(std::max<size_t>(t.nbytes(), 1));
    TRTORCH_CUDA_CHECK(cudaMemcpy(dins.back().get(), t.data(), t.nbytes(), cudaMemcpyHostToDevice));
    in_ptrs.push_back(dins.back().get());
  }
  auto out_shapes = ex->output_shapes(shapes);
  ASSERT_EQ(out_shapes.size(), want.size());
  std::vector<cu::DeviceBuffer> douts;
  std::vector<void*> out_ptrs;
  for (size_t i = 0; i < out_shapes.size(); ++i) {
    HostTensor h(engine->graph->outputs()[i]->type.dtype, out_shapes[i]);
    douts.emplace_back(std::max<size_t>(h.nbytes(), 1));
    TRTORCH_CUDA_CHECK(cudaMemset(douts.back().get(), 0xff, h.nbytes()));  // poison
    out_ptrs.push_back(douts.back().get());
  }
  cu::DeviceBuffer ws(ex->workspace_size(shapes));
  cudaStream_t stream;
  TRTORCH_CUDA_CHECK(cudaStreamCreate(&stream));
  for (int rep = 0; rep < 2; ++rep) {
    ex->execute(in_ptrs, shapes, out_ptrs, ws.get(), stream);
    TRTORCH_CUDA_CHECK(cudaStreamSynchronize(stream));
    for (size_t i = 0; i < out_shapes.size(); ++i) {
      HostTensor got(engine->graph->outputs()[i]->type.dtype, out_shapes[i]);
      TRTORCH_CUDA_CHECK(cudaMemcpy(got.data(), douts[i].get(), got.nbytes(), cudaMemcpyDeviceToHost));
      const double err = rel_error(got, want[i]);
      EXPECT_LE(err, is_floating(got.dtype) ? tolerance(got.dtype) : 0.0) << "output " << i << " run " << rep;
      if (rep == 1)
        std::printf("[cuda] %-36s %-5s output %zu (%s) rel err %.2e\n", name.c_str(), dtype_name(dt), i,
                    dtype_name(got.dtype), err);
    }
  }
  cudaStreamDestroy(stream);
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
    for (const auto& [t, s] : ins) r.push_back(random_tensor(is_floating(t) ? dt : t, s, seed++, ties));
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
    return std::vector<HostTensor>{mask, random_tensor(t, {B, 2, S, S}, 31)};
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
    return std::vector<HostTensor>{random_tensor(t, {3, 7, 4}, 41), idx};
  };
  check("engine index wrap + gather", make, inputs, dt);
}

INSTANTIATE_TEST_SUITE_P(DTypes, CudaTransformerOps,
                         ::testing::Values(DType::kFloat32, DType::kFloat16, DType::kBFloat16),
                         [](const ::testing::TestParamInfo<DType>& i) { return std::string(dtype_name(i.param)); });

}  // namespace

int main(int argc, char** argv) {
  if (cu::device_count() == 0) {
    std::printf("no CUDA device: skipping GPU tests\n");
    return 77;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
