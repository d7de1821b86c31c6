// Shared by the torch-free CUDA backend tests: random inputs, the error measure and tolerances,
// host <-> device copies and NCHW <-> NHWC relayout, check(), which builds an engine for GPU 0
// from a graph, round-trips it through bytes, runs it twice (the second run replays the captured
// CUDA graph) and compares every output with the reference backend on the unbuilt graph, and
// gpu_main().
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/backends/cuda/common/context.h"
#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/kernel.h"
#include "core/backends/reference/reference.h"
#include "core/plan/builder.h"
#include "core/plan/backend.h"
#include "core/util/error.h"

namespace trtorch::cuda_test {

namespace cu = trtorch::backends::cuda;
namespace ref = trtorch::backends::reference;
using ir::DType;
using ir::Graph;
using ir::HostTensor;
using Shape = std::vector<int64_t>;

// Normal(shift, scale) values, rounded to `t`.
inline HostTensor random_tensor(DType t, Shape shape, uint32_t seed, float scale = 1.0f,
                                float shift = 0.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  HostTensor h(t, shape);
  for (int64_t i = 0; i < h.numel(); ++i) h.set(i, d(rng) + shift);
  return h;
}

// Uniform(-scale, scale) values, rounded to `t`.
inline HostTensor random_uniform(DType t, const Shape& shape, uint32_t seed, double scale = 1.0) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> d(-scale, scale);
  HostTensor h(t, shape);
  for (int64_t i = 0; i < h.numel(); ++i) h.set(i, d(gen));
  return h;
}

// max |a - b| / max |b| over the finite values of b; infinite when shapes or dtypes differ, or
// when NaNs or infinities do not match exactly.
inline double rel_error(const HostTensor& a, const HostTensor& b) {
  if (a.shape != b.shape || a.dtype != b.dtype) return INFINITY;
  double num = 0, den = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double x = a.get(i), y = b.get(i);
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

// Engines: FP32 without TF32 (cuDNN/cuBLASLt) differs from the reference by summation order only.
// FP16/BF16: the reference also rounds to the storage type after every op; kernels may round at
// other points (fused epilogues), which differs by a few half/bfloat ulps per op. Integer and bool
// results are exact.
inline double tolerance(DType t) {
  switch (t) {
    case DType::kFloat32: return 1e-4;
    case DType::kFloat16: return 1e-2;
    case DType::kBFloat16: return 4e-2;
    default: return 0;
  }
}

// One kernel (convolution or GEMM with its epilogue) against the reference on the same rounded
// inputs: as tolerance(), but BF16 3e-2 (one ulp is 2^-8 relative; double rounding of the
// unfused reference against a fused epilogue differs by 1-2 ulps).
inline double kernel_tolerance(DType t) { return t == DType::kBFloat16 ? 3e-2 : tolerance(t); }

inline std::string shape_str(const Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

// [N, C, H, W] row-major <-> channels-last bytes, any element size.
inline HostTensor relayout(const HostTensor& t, bool to_nhwc) {
  HostTensor o(t.dtype, t.shape);
  const int64_t N = t.shape[0], C = t.shape[1], H = t.shape[2], W = t.shape[3];
  const size_t es = ir::dtype_size(t.dtype);
  const auto* src = static_cast<const uint8_t*>(t.data());
  auto* dst = static_cast<uint8_t*>(o.data());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) {
          const size_t nchw = size_t(((n * C + c) * H + h) * W + w) * es;
          const size_t nhwc = size_t(((n * H + h) * W + w) * C + c) * es;
          std::memcpy(dst + (to_nhwc ? nhwc : nchw), src + (to_nhwc ? nchw : nhwc), es);
        }
  return o;
}

// A device copy of `t` (at least one byte, so that empty tensors get a pointer too).
inline cu::DeviceBuffer upload(const HostTensor& t) {
  cu::DeviceBuffer b(std::max<size_t>(t.nbytes(), 1));
  TRTORCH_CUDA_CHECK(cudaMemcpy(b.get(), t.data(), t.nbytes(), cudaMemcpyHostToDevice));
  TRTORCH_CUDA_CHECK(cudaDeviceSynchronize());  // legacy-stream work before non-blocking-stream launches
  return b;
}

// A host copy of the `t` x `shape` tensor at `src`.
inline HostTensor download(const void* src, DType t, const Shape& shape) {
  HostTensor h(t, shape);
  TRTORCH_CUDA_CHECK(cudaMemcpy(h.data(), src, h.nbytes(), cudaMemcpyDeviceToHost));
  return h;
}

// Poison for device outputs: NaN bytes for floating types, 0x7f7f7f7f... for integers.
inline int poison_byte(DType t) { return t == DType::kInt32 || t == DType::kInt64 ? 0x7f : 0xff; }

struct CheckOptions {
  // Before every run (the CUDA-graph replay too), NaN-fill the workspace and refill the outputs
  // with poison_byte(), so that no run can pass on what an earlier one left.
  // Without it, the outputs are NaN-filled once, before the first run.
  bool poison_every_run = false;
  const char* tag = "cuda";  // of the printed lines
  // >= 0: the bound for floating outputs instead of tolerance() (the op-test table's rows);
  // integer and bool outputs stay exact.
  double float_tolerance = -1;
};

// Microseconds per launch of `launch` (which enqueues one kernel on `s`): `iters` launches
// captured into a CUDA graph and replayed once after a warm-up replay, as engines run them
// (back-to-back stream launches of microsecond kernels would time the host's launch overhead).
inline double us_per_launch(cudaStream_t s, int iters, const std::function<void()>& launch) {
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  TRTORCH_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  for (int i = 0; i < iters; ++i) launch();
  TRTORCH_CUDA_CHECK(cudaStreamEndCapture(s, &graph));
  TRTORCH_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  TRTORCH_CUDA_CHECK(cudaGraphLaunch(exec, s));  // warm-up
  cudaEvent_t e0, e1;
  TRTORCH_CUDA_CHECK(cudaEventCreate(&e0));
  TRTORCH_CUDA_CHECK(cudaEventCreate(&e1));
  TRTORCH_CUDA_CHECK(cudaEventRecord(e0, s));
  TRTORCH_CUDA_CHECK(cudaGraphLaunch(exec, s));
  TRTORCH_CUDA_CHECK(cudaEventRecord(e1, s));
  TRTORCH_CUDA_CHECK(cudaEventSynchronize(e1));
  float ms = 0;
  TRTORCH_CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  return 1000.0 * ms / iters;
}

// Builds an engine for GPU 0 from make_graph(dt) (precision dt; FP32 for integer dt),
// round-trips it through bytes, runs it twice on make_inputs(dt) and compares every output with
// the reference backend on the unbuilt graph, within tolerance() of the output's dtype.
inline void check(const std::string& name, const std::function<std::unique_ptr<Graph>(DType)>& make_graph,
                  const std::function<std::vector<HostTensor>(DType)>& make_inputs, DType dt,
                  const CheckOptions& opt = {}) {
  SCOPED_TRACE(name + " " + ir::dtype_name(dt));
  auto g = make_graph(dt);
  auto inputs = make_inputs(dt);
  auto want = ref::run(*g, inputs);

  plan::BuildConfig cfg;
  cfg.precision = ir::is_floating(dt) ? dt : DType::kFloat32;
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
    dins.push_back(upload(t));
    in_ptrs.push_back(dins.back().get());
  }
  auto out_shapes = ex->output_shapes(shapes);
  ASSERT_EQ(out_shapes.size(), want.size());
  std::vector<HostTensor> got;
  std::vector<cu::DeviceBuffer> douts;
  std::vector<void*> out_ptrs;
  for (size_t i = 0; i < out_shapes.size(); ++i) {
    got.emplace_back(engine->graph->outputs()[i]->type.dtype, out_shapes[i]);
    douts.emplace_back(std::max<size_t>(got[i].nbytes(), 1));
    TRTORCH_CUDA_CHECK(cudaMemset(douts.back().get(), 0xff, got[i].nbytes()));  // NaN poison
    TRTORCH_CUDA_CHECK(cudaDeviceSynchronize());  // legacy-stream work before non-blocking-stream launches
    out_ptrs.push_back(douts.back().get());
  }
  cu::DeviceBuffer ws(ex->workspace_size(shapes));
  cudaStream_t stream;
  TRTORCH_CUDA_CHECK(cudaStreamCreate(&stream));
  for (int rep = 0; rep < 2; ++rep) {
    if (opt.poison_every_run) {
      if (ws.bytes()) TRTORCH_CUDA_CHECK(cudaMemset(ws.get(), 0xff, ws.bytes()));
      for (size_t i = 0; i < out_shapes.size(); ++i)
        TRTORCH_CUDA_CHECK(cudaMemset(out_ptrs[i], poison_byte(got[i].dtype), got[i].nbytes()));
      TRTORCH_CUDA_CHECK(cudaDeviceSynchronize());
    }
    ex->execute(in_ptrs, shapes, out_ptrs, ws.get(), stream);
    TRTORCH_CUDA_CHECK(cudaStreamSynchronize(stream));
    for (size_t i = 0; i < out_shapes.size(); ++i) {
      TRTORCH_CUDA_CHECK(cudaMemcpy(got[i].data(), douts[i].get(), got[i].nbytes(), cudaMemcpyDeviceToHost));
      const double err = rel_error(got[i], want[i]);
      const bool own_tol = opt.float_tolerance >= 0 && ir::is_floating(got[i].dtype);
      EXPECT_LE(err, own_tol ? opt.float_tolerance : tolerance(got[i].dtype)) << "output " << i << " run " << rep;
      if (rep == 1) {
        const std::string out_type = got[i].dtype == dt ? "" : str_cat(" (", ir::dtype_name(got[i].dtype), ")");
        std::printf("[%s] %-44s %-5s output %zu%s rel err %.2e\n", opt.tag, name.c_str(), ir::dtype_name(dt), i,
                    out_type.c_str(), err);
      }
    }
  }
  cudaStreamDestroy(stream);
}

// The GPU 0 context of the tests that make kernels directly.
inline cu::Context& ctx() {
  static cu::Context c(0);
  return c;
}

// An operand of a kernel made directly: its shape, layout and pointer offset.
struct Operand {
  Shape shape;
  cu::Layout layout = cu::Layout::kRowMajor;
  int offset = 0;  // elements added to the device pointer (misalignment)
};

// main() of a GPU test: 77 (ctest: skipped) without a CUDA device; else `before_tests` (when
// given), then every test.
inline int gpu_main(int argc, char** argv, const std::function<void()>& before_tests = {}) {
  ::testing::InitGoogleTest(&argc, argv);
  if (cu::device_count() == 0) {
    std::printf("no CUDA device: skipped\n");
    return 77;
  }
  if (before_tests) before_tests();
  return RUN_ALL_TESTS();
}

}  // namespace trtorch::cuda_test
