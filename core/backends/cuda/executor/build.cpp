// The CUDA backend's engine-builder hook (build_for_cuda): the build options of plan::BuildConfig
// into a BuildState, tactics chosen by an executor built over the engine and recorded in the
// engine's backend data, the timing cache read before and written after. Also the backend's
// registrations (executor factory and builder hook).
#include <algorithm>
#include <cstdio>
#include <fstream>

#include "core/backends/cuda/executor/executor.h"
#include "core/plan/builder.h"
#include "core/util/logging.h"

namespace trtorch::backends::cuda {

namespace {

// The timing cache file: pairs of lines, a node key then its tactic.
std::map<std::string, std::string> read_timing_cache(const std::string& path) {
  std::map<std::string, std::string> m;
  std::ifstream f(path);
  std::string key, value;
  while (std::getline(f, key) && std::getline(f, value)) m[key] = value;
  return m;
}

void write_timing_cache(const std::string& path, const std::map<std::string, std::string>& m) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    TRTORCH_EXPECT(f.good(), "cannot write the timing cache ", tmp);
    for (const auto& [k, v] : m) f << k << "\n" << v << "\n";
  }
  TRTORCH_EXPECT(std::rename(tmp.c_str(), path.c_str()) == 0, "cannot write the timing cache ", path);
}

// The build options that reach the executor and its kernels.
BuildState build_state_of(const plan::BuildConfig& config) {
  TRTORCH_EXPECT(config.conv_candidates >= 1 && config.conv_candidates <= 16,
                 "conv_candidates must be 1 to 16, got ", config.conv_candidates);
  TRTORCH_EXPECT(config.build_threads >= 0 && config.build_threads <= 64,
                 "build_threads must be 0 (the host's cores) to 64, got ", config.build_threads);
  BuildState state;
  state.timing.min_timing_iters = std::max(config.num_min_timing_iters, 0);
  state.timing.avg_timing_iters = std::max(config.num_avg_timing_iters, 1);
  state.timing.allow_tf32 = config.allow_tf32;
  if (config.workspace_size > 0) state.timing.max_scratch_bytes = config.workspace_size;
  state.timing.conv_candidates = config.conv_candidates;
  state.timing.build_threads = config.build_threads;
  state.timing.conv_runtime_compilation = ConvRuntimeCompilation(int(config.conv_runtime_compilation));
  state.channels_last = config.channels_last;
  state.cuda_graphs = config.cuda_graphs;
  return state;
}

// The executor's per-node times, or none (the builder then keeps every INT8 layer) when timing
// fails, as an engine too large to run once more beside the build's memory would.
void time_nodes_or_none(CudaExecutor& ex, std::vector<double>* times) {
  try {
    *times = ex.time_nodes();
  } catch (const std::exception& err) {
    cudaGetLastError();
    times->clear();
    TRTORCH_LOG(kWarning, "timing the engine node by node failed (", err.what(), ")");
  }
}

// Dynamic shapes: tactics are chosen on the graph specialized to the opt shapes (same nodes in
// the same order, so the tactic list fits the dynamic graph); the memory plan is reported for the
// max shapes, where an executor is built as at run time.
void build_dynamic(plan::Engine& e, const BuildState& state, std::vector<double>* node_times) {
  CudaExecutor ex(specialize_engine(e, e.opt_shapes), &state);
  e.backend_data = ex.tactic_data();
  if (node_times) time_nodes_or_none(ex, node_times);
  std::vector<plan::Shape> max_shapes;
  for (const ir::Value* v : e.graph->inputs()) {
    plan::Shape s;
    for (const ir::Dim& d : v->type.dims) s.push_back(d.max);
    max_shapes.push_back(s);
  }
  CudaExecutor at_max(specialize_engine(e, max_shapes), nullptr, /*shape_changed=*/true, plan::kRecordedDevice,
                      ex.device_constants());
  TRTORCH_LOG(kInfo, "CUDA engine with dynamic shapes built for ", e.device.str(),
              ": tactics chosen at the opt shapes (arena ", ex.arena_bytes(), " bytes); arena at the max shapes ",
              at_max.arena_bytes(), " bytes; ", ex.cache_hits(), " tactics from the timing cache");
}

void build_for_cuda_impl(plan::Engine& e, const plan::BuildConfig& config, const plan::BackendBuildRequest& request) {
  BuildState state = build_state_of(config);
  auto ctx = context_for(e.device.gpu_id);
  DeviceGuard guard(e.device.gpu_id);  // the caller's current device is left as it was
  e.device.gpu_name = ctx->props().name;
  e.device.sm_major = ctx->props().major;
  e.device.sm_minor = ctx->props().minor;
  // The timing cache: the file's entries (if any), in the build's memo when it keeps one.
  std::map<std::string, std::string> local;
  std::map<std::string, std::string>& cache = request.tactic_memo ? *request.tactic_memo : local;
  if (!config.timing_cache_path.empty())
    for (auto& [k, v] : read_timing_cache(config.timing_cache_path)) cache.emplace(k, v);
  if (!config.timing_cache_path.empty() || request.tactic_memo) state.cache = &cache;
  if (ir::is_dynamic(*e.graph)) {
    build_dynamic(e, state, request.node_times);
  } else {
    // Build an executor over a non-owning view of the engine: kernels time their tactics.
    std::shared_ptr<const plan::Engine> view(&e, [](const plan::Engine*) {});
    CudaExecutor ex(view, &state);
    e.backend_data = ex.tactic_data();
    TRTORCH_LOG(kInfo, "CUDA engine built for ", e.device.str(), ": arena ", ex.arena_bytes(), " bytes; ",
                ex.cache_hits(), " tactics from the timing cache");
    if (request.node_times) time_nodes_or_none(ex, request.node_times);
  }
  if (!config.timing_cache_path.empty()) write_timing_cache(config.timing_cache_path, cache);
}

// A build leaves no recoverable CUDA error behind as the thread's last error, whether it failed
// (out of memory) or skipped a candidate that failed: torch's next kernel-launch check would take
// it for its own ("CUDA error: out of memory" from an unrelated op).
void build_for_cuda(plan::Engine& e, const plan::BuildConfig& config, const plan::BackendBuildRequest& request) {
  try {
    build_for_cuda_impl(e, config, request);
  } catch (...) {
    cudaGetLastError();
    throw;
  }
  cudaGetLastError();
}

const bool registered =
    plan::register_backend(plan::DeviceType::kCUDA,
                           [](std::shared_ptr<const plan::Engine> e, int device) -> std::unique_ptr<plan::Executor> {
                             if (ir::is_dynamic(*e->graph))
                               return std::make_unique<DynamicCudaExecutor>(std::move(e), device);
                             return std::make_unique<CudaExecutor>(std::move(e), nullptr, false, device);
                           }) &&
    plan::register_backend_builder(plan::DeviceType::kCUDA, build_for_cuda);

}  // namespace

bool cuda_backend_registered() { return registered; }

}  // namespace trtorch::backends::cuda
