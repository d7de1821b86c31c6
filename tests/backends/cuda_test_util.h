// Shared by the torch-free CUDA backend tests: random inputs, the error measure and tolerances,
// and check(), which builds an engine for GPU 0 from a graph, round-trips it through bytes, runs
// it twice (the second run replays the captured CUDA graph) and compares every output with the
// reference backend on the unbuilt graph.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/backends/cuda/context.h"
#include "core/backends/cuda/cuda_check.h"
#include "core/backends/reference/reference.h"
#include "core/plan/builder.h"
#include "core/plan/executor.h"

namespace trtorch::cuda_test {

using ir::DType;
using ir::Graph;
using ir::HostTensor;

// Normal(shift, scale) values, rounded to `t`.
inline HostTensor random_tensor(DType t, std::vector<int64_t> shape, uint32_t seed, float scale = 1.0f,
                                float shift = 0.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  HostTensor h(t, shape);
  for (int64_t i = 0; i < h.numel(); ++i) h.set(i, d(rng) + shift);
  return h;
}

// max |a - b| / max |b|; infinite when shapes, dtypes or NaN positions differ.
inline double rel_error(const HostTensor& a, const HostTensor& b) {
  if (a.shape != b.shape || a.dtype != b.dtype) return INFINITY;
  double num = 0, den = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    double x = a.get(i), y = b.get(i);
    if (std::isnan(x) != std::isnan(y)) return INFINITY;
    if (std::isnan(y)) continue;
    num = std::max(num, std::fabs(x - y));
    den = std::max(den, std::fabs(y));
  }
  return num / (den > 0 ? den : 1.0);
}

inline double tolerance(DType t) {
  // FP32: cuDNN/cuBLASLt without TF32 differ from the reference by summation order only.
  // FP16/BF16: the reference also rounds to the storage type after every op; kernels may round
  // at other points (fused epilogues), which differs by a few half/bfloat ulps per op.
  return t == DType::kFloat32 ? 1e-4 : t == DType::kFloat16 ? 1e-2 : 4e-2;
}

inline void check(const std::string& name, const std::function<std::unique_ptr<Graph>(DType)>& make_graph,
                  const std::function<std::vector<HostTensor>(DType)>& make_inputs, DType dt) {
  namespace cu = trtorch::backends::cuda;
  SCOPED_TRACE(name + " " + ir::dtype_name(dt));
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
    dins.emplace_back(t.nbytes());
    TRTORCH_CUDA_CHECK(cudaMemcpy(dins.back().get(), t.data(), t.nbytes(), cudaMemcpyHostToDevice));
    in_ptrs.push_back(dins.back().get());
  }
  auto out_shapes = ex->output_shapes(shapes);
  std::vector<cu::DeviceBuffer> douts;
  std::vector<void*> out_ptrs;
  for (size_t i = 0; i < out_shapes.size(); ++i) {
    HostTensor h(engine->graph->outputs()[i]->type.dtype, out_shapes[i]);
    douts.emplace_back(h.nbytes());
    TRTORCH_CUDA_CHECK(cudaMemset(douts.back().get(), 0xff, h.nbytes()));  // NaN poison
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
      double err = rel_error(got, want[i]);
      EXPECT_LE(err, tolerance(dt)) << "output " << i << " run " << rep;
      if (rep == 1) std::printf("[cuda] %-28s %-5s output %zu rel err %.2e\n", name.c_str(), ir::dtype_name(dt), i, err);
    }
  }
  cudaStreamDestroy(stream);
}

// main() of a GPU test: 77 (ctest: skipped) without a CUDA device.
inline int gpu_main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (backends::cuda::device_count() == 0) {
    std::printf("no CUDA device: skipped\n");
    return 77;
  }
  return RUN_ALL_TESTS();
}

}  // namespace trtorch::cuda_test
