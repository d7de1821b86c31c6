// The CUDA executor's step timings (time_nodes, for the builder's INT8 layer choice) and its
// debugging passes over an engine's first call, each run when its switch is on
// (core/util/debug.h): TRTORCH_PROFILE (per-step timings), TRTORCH_CHECK_NAN (the first step that
// makes a NaN or an infinity) and TRTORCH_CHECK_STEPS (each step against a trusted kernel).
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/executor/executor.h"
#include "core/util/debug.h"
#include "core/util/logging.h"

namespace trtorch::backends::cuda {

namespace {

// Whether a device tensor holds a NaN or an infinity (float dtypes; false for the others).
bool has_non_finite(const void* p, const TensorDesc& d, cudaStream_t stream) {
  if (!ir::is_floating(d.dtype) || d.numel() == 0) return false;
  ir::HostTensor h(d.dtype, {d.numel()});
  TRTORCH_CUDA_CHECK(cudaMemcpyAsync(h.data(), p, h.nbytes(), cudaMemcpyDeviceToHost, stream));
  TRTORCH_CUDA_CHECK(cudaStreamSynchronize(stream));
  for (int64_t i = 0; i < h.numel(); ++i)
    if (!std::isfinite(h.get(i))) return true;
  return false;
}

}  // namespace

void CudaExecutor::run_debug_passes(const std::vector<const void*>& in, const std::vector<void*>& out, char* ws,
                                    cudaStream_t stream) {
  using Pass = void (CudaExecutor::*)(const std::vector<const void*>&, const std::vector<void*>&, char*, cudaStream_t);
  const std::pair<util::DebugSwitch, Pass> passes[] = {{util::DebugSwitch::kProfile, &CudaExecutor::profile},
                                                       {util::DebugSwitch::kCheckNan, &CudaExecutor::check_non_finite},
                                                       {util::DebugSwitch::kCheckSteps, &CudaExecutor::check_steps}};
  for (const auto& [what, pass] : passes) {
    if (!util::debug_switch_on(what)) continue;
    // Eager launches need the real I/O pointers: staging is off for the pass.
    const bool g = use_graph_;
    use_graph_ = false;
    (this->*pass)(in, out, ws, stream);
    use_graph_ = g;
  }
}

// A step's name in debugging logs: its node's, or "layout change" for one the executor inserted.
std::string CudaExecutor::step_name(const Step& st) { return st.node ? st.node->name() : std::string("layout change"); }

void CudaExecutor::check_steps(const std::vector<const void*>& in, const std::vector<void*>& out, char* ws,
                               cudaStream_t stream) {
  std::vector<const void*> ins;
  std::vector<void*> outs;
  int checked = 0, differ = 0;
  for (size_t i = 0; i < steps_.size(); ++i) {
    const Step& st = steps_[i];
    if (!st.kernel) continue;
    bind_step(st, in, out, ws, &ins, &outs);
    st.kernel->launch(ins, outs, ws + st.scratch_offset, stream);
    TRTORCH_CUDA_CHECK(cudaStreamSynchronize(stream));
    const std::string why = st.kernel->self_check(ins, outs, stream);
    ++checked;
    if (!why.empty()) {
      ++differ;
      TRTORCH_LOG(kWarning, "TRTORCH_CHECK_STEPS: step ", i, " (", step_name(st),
                  ": ", st.kernel->describe(), ") ", why);
    }
  }
  TRTORCH_LOG(kWarning, "TRTORCH_CHECK_STEPS: ", checked, " steps ran, ", differ, " differ from their check");
}

void CudaExecutor::check_non_finite(const std::vector<const void*>& in, const std::vector<void*>& out, char* ws,
                                    cudaStream_t stream) {
  std::vector<const void*> ins;
  std::vector<void*> outs;
  for (size_t i = 0; i < steps_.size(); ++i) {
    const Step& st = steps_[i];
    if (!st.kernel) continue;
    bind_step(st, in, out, ws, &ins, &outs);
    bool inputs_finite = true;
    for (size_t k = 0; k < st.in.size(); ++k) {
      const int v = st.in[k];
      if (slots_[size_t(v)].kind != Slot::kConstant)
        inputs_finite = inputs_finite && !has_non_finite(ins[k], descs_[size_t(v)], stream);
    }
    st.kernel->launch(ins, outs, ws + st.scratch_offset, stream);
    for (size_t k = 0; k < st.out.size(); ++k)
      if (inputs_finite && has_non_finite(outs[k], descs_[size_t(st.out[k])], stream)) {
        TRTORCH_LOG(kWarning, "TRTORCH_CHECK_NAN: step ", i, " (", step_name(st),
                    st.node ? " at " + st.node->source : std::string(), ") made a NaN/Inf from finite inputs: ",
                    st.kernel->describe());
        return;
      }
  }
  TRTORCH_LOG(kWarning, "TRTORCH_CHECK_NAN: no step made a NaN/Inf from finite inputs");
}

std::vector<double> CudaExecutor::step_times(const std::vector<const void*>& in, const std::vector<void*>& out,
                                             char* ws, cudaStream_t stream, int iters) {
  std::vector<cudaEvent_t> ev(steps_.size() + 1);
  for (auto& e : ev) TRTORCH_CUDA_CHECK(cudaEventCreate(&e));
  std::vector<double> total(steps_.size(), 0.0);
  std::vector<const void*> ins;
  std::vector<void*> outs;
  try {
    for (int it = 0; it < iters + 2; ++it) {
      for (size_t i = 0; i < steps_.size(); ++i) {
        TRTORCH_CUDA_CHECK(cudaEventRecord(ev[i], stream));
        const Step& st = steps_[i];
        if (!st.kernel) continue;
        bind_step(st, in, out, ws, &ins, &outs);
        st.kernel->launch(ins, outs, ws + st.scratch_offset, stream);
      }
      TRTORCH_CUDA_CHECK(cudaEventRecord(ev.back(), stream));
      TRTORCH_CUDA_CHECK(cudaEventSynchronize(ev.back()));
      if (it < 2) continue;  // warm-up
      for (size_t i = 0; i < steps_.size(); ++i) {
        float ms = 0;
        TRTORCH_CUDA_CHECK(cudaEventElapsedTime(&ms, ev[i], ev[i + 1]));
        total[i] += ms / iters;
      }
    }
  } catch (...) {
    for (auto& e : ev) cudaEventDestroy(e);
    throw;
  }
  for (auto& e : ev) cudaEventDestroy(e);
  return total;
}

std::vector<double> CudaExecutor::time_nodes() {
  constexpr int kIters = 20;
  DeviceGuard guard(ctx_->device());
  const ir::Graph& g = *engine_->graph;
  cudaStream_t stream = ctx_->stream();
  // Zeroed inputs, outputs and arena (the kernels' times do not depend on the values).
  std::vector<DeviceBuffer> bufs;
  auto zeroed = [&](size_t bytes) {
    bufs.emplace_back(std::max<size_t>(bytes, 1));
    TRTORCH_CUDA_CHECK(cudaMemsetAsync(bufs.back().get(), 0, bufs.back().bytes(), stream));
    return bufs.back().get();
  };
  std::vector<const void*> in;
  std::vector<void*> out;
  for (const ir::Value* v : g.inputs()) in.push_back(zeroed(descs_[size_t(v->id)].bytes()));
  for (const ir::Value* v : g.outputs()) out.push_back(zeroed(descs_[size_t(v->id)].bytes()));
  char* ws = static_cast<char*>(zeroed(arena_bytes_));
  const bool graphs = use_graph_;
  use_graph_ = false;  // eager launches on these pointers
  std::vector<double> per_step;
  try {
    per_step = step_times(in, out, ws, stream, kIters);
  } catch (...) {
    use_graph_ = graphs;
    throw;
  }
  use_graph_ = graphs;
  // Per graph node; a layout change counts in the next step that has a node (the one it feeds),
  // those after the last node (of the engine's outputs) in the last node.
  std::vector<double> t(g.num_nodes(), 0.0);
  double pending = 0;
  int last = -1;
  for (size_t i = 0; i < steps_.size(); ++i) {
    pending += per_step[i];
    if (!steps_[i].node) continue;
    last = steps_[i].tactic_index;
    t[size_t(last)] += pending;
    pending = 0;
  }
  if (last >= 0) t[size_t(last)] += pending;
  return t;
}

void CudaExecutor::profile(const std::vector<const void*>& in, const std::vector<void*>& out, char* ws,
                           cudaStream_t stream) {
  constexpr int kIters = 20;
  const std::vector<double> total = step_times(in, out, ws, stream, kIters);
  std::vector<size_t> order(steps_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return total[a] > total[b]; });
  double sum = 0;
  for (double t : total) sum += t;
  std::ostringstream os;
  os << "per-step profile (eager launches, mean of " << kIters << " runs): total " << sum << " ms\n";
  // Per op kind (layout changes inserted by the executor under their own name), then the
  // slowest steps.
  std::map<std::string, std::pair<int, double>> by_op;
  for (size_t i = 0; i < steps_.size(); ++i) {
    if (!steps_[i].kernel) continue;
    auto& e = by_op[steps_[i].node ? ir::op_info(steps_[i].node->op).name : std::string("layout change")];
    ++e.first;
    e.second += total[i];
  }
  std::vector<std::pair<std::string, std::pair<int, double>>> ops(by_op.begin(), by_op.end());
  std::sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.second.second > b.second.second; });
  for (const auto& [name, e] : ops) os << "  by op: " << e.second << " ms  " << e.first << " x " << name << "\n";
  for (size_t r = 0; r < std::min<size_t>(order.size(), 25); ++r) {
    const Step& st = steps_[order[r]];
    if (!st.kernel) continue;
    os << "  " << total[order[r]] << " ms  step " << order[r] << ": " << st.kernel->describe() << "\n";
  }
  TRTORCH_LOG(kWarning, os.str());
}

}  // namespace trtorch::backends::cuda
