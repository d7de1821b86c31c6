// The CUDA executor's execution: it launches the kernels in order on the caller's stream, or
// replays a CUDA graph of them (fixed shapes, engine option cuda_graphs): inputs are copied into
// staging buffers, the graph is launched, and the outputs are copied out. The graph is captured
// on the first call (and again for a new workspace address), checked against eager launches, and
// dropped for good if a replay differs.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/executor/executor.h"
#include "core/util/debug.h"
#include "core/util/logging.h"

namespace trtorch::backends::cuda {

namespace {

// Replaces every edge of `g` that lets its downstream kernel start before the upstream one has
// finished (programmatic dependent launch, which library kernels may request: such an edge orders
// a kernel only after the one launched just before it, and a kernel that reads, before its
// grid-dependency wait, a tensor written earlier can read it too soon) by a full dependency.
// Returns how many edges changed, or -1 with `err` set.
int make_edges_full(cudaGraph_t g, std::string* err) {
  size_t n = 0;
  cudaError_t e = cudaGraphGetEdges(g, nullptr, nullptr, nullptr, &n);
  if (e != cudaSuccess) {
    *err = str_cat("cudaGraphGetEdges: ", cudaGetErrorString(e));
    return -1;
  }
  std::vector<cudaGraphNode_t> from(n), to(n);
  std::vector<cudaGraphEdgeData> data(n);
  if (n > 0 && (e = cudaGraphGetEdges(g, from.data(), to.data(), data.data(), &n)) != cudaSuccess) {
    *err = str_cat("cudaGraphGetEdges: ", cudaGetErrorString(e));
    return -1;
  }
  auto is_full = [](const cudaGraphEdgeData& d) {
    return d.type == cudaGraphDependencyTypeDefault && d.from_port == cudaGraphKernelNodePortDefault;
  };
  std::set<std::pair<cudaGraphNode_t, cudaGraphNode_t>> full_edges;
  for (size_t i = 0; i < n; ++i)
    if (is_full(data[i])) full_edges.insert({from[i], to[i]});
  int changed = 0;
  const cudaGraphEdgeData full{};  // from_port 0: the upstream node's completion; type default
  for (size_t i = 0; i < n; ++i) {
    if (is_full(data[i])) continue;
    if ((e = cudaGraphRemoveDependencies(g, &from[i], &to[i], &data[i], 1)) != cudaSuccess ||
        (!full_edges.count({from[i], to[i]}) &&
         (e = cudaGraphAddDependencies(g, &from[i], &to[i], &full, 1)) != cudaSuccess)) {
      *err = str_cat("making a programmatic dependency a full one: ", cudaGetErrorString(e));
      return -1;
    }
    full_edges.insert({from[i], to[i]});
    ++changed;
  }
  return changed;
}

// Whether a replayed output matches the eager one: exactly for integer dtypes and non-finite
// values, within 1e-3 relative to the largest value otherwise. `detail`: the relative difference
// of one that does not match, when there is one to tell.
bool same_as_eager(const ir::HostTensor& replayed, const ir::HostTensor& eager, std::string* detail) {
  double num = 0, den = 0;
  const bool exact = !ir::is_floating(eager.dtype);
  bool same = true;
  for (int64_t j = 0; j < eager.numel() && same; ++j) {
    const double a = replayed.get(j), b = eager.get(j);
    if (exact || std::isnan(a) || std::isnan(b) || std::isinf(a) || std::isinf(b)) {
      same = a == b || (std::isnan(a) && std::isnan(b));
    } else {
      num = std::max(num, std::fabs(a - b));
      den = std::max(den, std::fabs(b));
    }
  }
  if (same && num > 1e-3 * std::max(den, 1e-30)) same = false;
  *detail = exact || !(den > 0) ? std::string() : str_cat(" (rel. diff ", num / den, ")");
  return same;
}

}  // namespace

std::vector<plan::Shape> CudaExecutor::output_shapes(const std::vector<plan::Shape>&) {
  std::vector<plan::Shape> r;
  for (ir::Value* v : engine_->graph->outputs()) r.push_back(v->type.static_shape());
  return r;
}

size_t CudaExecutor::workspace_size(const std::vector<plan::Shape>&) { return arena_bytes_; }

void* CudaExecutor::resolve(int value, const std::vector<const void*>& in, const std::vector<void*>& out,
                            char* ws) const {
  const Slot& s = slots_[size_t(root(value))];
  switch (s.kind) {
    case Slot::kInput: return use_graph_ ? ws + input_stage_[size_t(s.index)] : const_cast<void*>(in[size_t(s.index)]);
    case Slot::kOutput: return use_graph_ ? ws + output_stage_[size_t(s.index)] : out[size_t(s.index)];
    case Slot::kConstant: return static_cast<char*>(constants_->buffer.get()) + s.offset;
    case Slot::kArena: return ws + s.offset;
    case Slot::kAlias:
    case Slot::kUnused: break;
  }
  TRTORCH_CHECK(false, "unresolved value %", value);
  return nullptr;
}

void CudaExecutor::bind_step(const Step& st, const std::vector<const void*>& in, const std::vector<void*>& out,
                             char* ws, std::vector<const void*>* ins, std::vector<void*>* outs) const {
  ins->clear();
  outs->clear();
  for (int v : st.in) ins->push_back(resolve(v, in, out, ws));
  for (int v : st.out) outs->push_back(resolve(v, in, out, ws));
}

void CudaExecutor::launch_all(const std::vector<const void*>& in, const std::vector<void*>& out, char* ws,
                              cudaStream_t stream) {
  std::vector<const void*> ins;
  std::vector<void*> outs;
  for (const Step& st : steps_) {
    if (!st.kernel) continue;
    bind_step(st, in, out, ws, &ins, &outs);
    st.kernel->launch(ins, outs, ws + st.scratch_offset, stream);
  }
  for (const auto& fc : final_copies_) {
    void* dst = use_graph_ ? ws + output_stage_[size_t(fc.output)] : out[size_t(fc.output)];
    TRTORCH_CUDA_CHECK(cudaMemcpyAsync(dst, resolve(fc.value, in, out, ws), descs_[size_t(fc.value)].bytes(),
                                       cudaMemcpyDeviceToDevice, stream));
  }
}

void CudaExecutor::execute(const std::vector<const void*>& inputs, const std::vector<plan::Shape>&,
                           const std::vector<void*>& outputs, void* workspace, void* stream_ptr) {
  cudaStream_t stream = static_cast<cudaStream_t>(stream_ptr);
  DeviceGuard guard(ctx_->device());
  char* ws = static_cast<char*>(workspace);
  TRTORCH_CHECK(arena_bytes_ == 0 || ws != nullptr, "CUDA executor needs its workspace");
  if (!profiled_) {
    profiled_ = true;
    run_debug_passes(inputs, outputs, ws, stream);
  }
  if (!use_graph_) {
    launch_all(inputs, outputs, ws, stream);
    return;
  }
  if (!graph_exec_ || graph_workspace_ != ws) {
    // Capture once per workspace address; the outputs of this call come from eager launches.
    const auto t0 = std::chrono::steady_clock::now();
    if (capture_graph(inputs, outputs, ws, stream)) {
      verify_graph(inputs, outputs, ws, stream);
      TRTORCH_LOG(kInfo, "CUDA graph captured and checked against eager launches in ",
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), " s");
    } else {
      launch_all(inputs, outputs, ws, stream);  // the graph was dropped
    }
    return;
  }
  std::string why;
  if (replay(inputs, outputs, ws, stream, &why)) return;
  // A tensor the graph's copy nodes cannot address (memory of another kind than at the capture):
  // captured again with the copies outside the graph, for good.
  TRTORCH_LOG(kInfo, "CUDA graph: ", why, "; captured again with its input and output copies outside the graph");
  copy_nodes_ = false;
  destroy_graph();
  execute(inputs, {}, outputs, workspace, stream_ptr);
}

bool CudaExecutor::add_copy_nodes(cudaGraph_t graph, const std::vector<const void*>& in, const std::vector<void*>& out,
                                  char* ws) {
  const ir::Graph& g = *engine_->graph;
  size_t n = 0;
  if (cudaGraphGetNodes(graph, nullptr, &n) != cudaSuccess || n == 0) return false;
  std::vector<cudaGraphNode_t> nodes(n), roots, leaves;
  if (cudaGraphGetNodes(graph, nodes.data(), &n) != cudaSuccess) return false;
  size_t n_roots = 0;
  if (cudaGraphGetRootNodes(graph, nullptr, &n_roots) != cudaSuccess) return false;
  roots.resize(n_roots);
  if (n_roots > 0 && cudaGraphGetRootNodes(graph, roots.data(), &n_roots) != cudaSuccess) return false;
  for (cudaGraphNode_t node : nodes) {
    size_t dependents = 0;
    if (cudaGraphNodeGetDependentNodes(node, nullptr, nullptr, &dependents) != cudaSuccess) return false;
    if (dependents == 0) leaves.push_back(node);
  }
  std::vector<cudaGraphNode_t> in_nodes(in.size(), nullptr), out_nodes(out.size(), nullptr);
  for (size_t i = 0; i < in.size(); ++i) {
    const size_t bytes = descs_[size_t(g.inputs()[i]->id)].bytes();
    if (bytes == 0) continue;
    if (cudaGraphAddMemcpyNode1D(&in_nodes[i], graph, nullptr, 0, ws + input_stage_[i], in[i], bytes,
                                 cudaMemcpyDeviceToDevice) != cudaSuccess)
      return false;
    for (cudaGraphNode_t r : roots)
      if (cudaGraphAddDependencies(graph, &in_nodes[i], &r, nullptr, 1) != cudaSuccess) return false;
  }
  for (size_t k = 0; k < out.size(); ++k) {
    const size_t bytes = descs_[size_t(g.outputs()[k]->id)].bytes();
    if (bytes == 0) continue;
    if (cudaGraphAddMemcpyNode1D(&out_nodes[k], graph, leaves.data(), leaves.size(), out[k], ws + output_stage_[k],
                                 bytes, cudaMemcpyDeviceToDevice) != cudaSuccess)
      return false;
  }
  in_copy_nodes_ = std::move(in_nodes);
  out_copy_nodes_ = std::move(out_nodes);
  in_copy_src_ = in;
  out_copy_dst_ = out;
  return true;
}

bool CudaExecutor::capture_graph(const std::vector<const void*>& inputs, const std::vector<void*>& outputs, char* ws,
                                 cudaStream_t stream) {
  destroy_graph();
  // Captured on the context's stream, replayed on the caller's.
  cudaStream_t cs = ctx_->stream();
  cudaGraph_t graph = nullptr;
  TRTORCH_CUDA_CHECK(cudaStreamSynchronize(stream));
  TRTORCH_CUDA_CHECK(cudaStreamBeginCapture(cs, cudaStreamCaptureModeThreadLocal));
  try {
    launch_all(inputs, outputs, ws, cs);
  } catch (const std::exception& e) {
    // A launch that cannot be captured (a library's first run of a plan doing work that stream
    // capture forbids) loses the graph, not the call: the caller runs the launches eagerly, where
    // an error that is not the capture's is reported as it is.
    cudaStreamEndCapture(cs, &graph);
    if (graph) cudaGraphDestroy(graph);
    cudaGetLastError();  // the capture's error is not the caller's
    drop_graph(str_cat("a launch failed while it was captured (", e.what(), ")"));
    return false;
  }
  TRTORCH_CUDA_CHECK(cudaStreamEndCapture(cs, &graph));
  if (!util::debug_switch_on(util::DebugSwitch::kGraphPdl)) {
    std::string err;
    const int n = make_edges_full(graph, &err);
    if (n < 0) {
      cudaGraphDestroy(graph);
      drop_graph(err);
      return false;
    }
    if (n > 0) TRTORCH_LOG(kInfo, "CUDA graph: ", n, " programmatic (PDL) dependencies made full dependencies");
  }
  // The copies in and out become nodes of the graph (re-pointed at each call's tensors), so that a
  // call is one launch. Where a node cannot be added, the graph is captured again without them.
  if (copy_nodes_ && !add_copy_nodes(graph, inputs, outputs, ws)) {
    cudaGetLastError();
    cudaGraphDestroy(graph);
    TRTORCH_LOG(kInfo, "CUDA graph: its input and output copies could not be made nodes of it; they stay outside");
    copy_nodes_ = false;
    return capture_graph(inputs, outputs, ws, stream);
  }
  if (copy_nodes_) {
    const cudaError_t e = cudaGraphInstantiate(&graph_exec_, graph, 0);
    if (e != cudaSuccess) {  // with the copy nodes: captured again without them
      cudaGetLastError();
      graph_exec_ = nullptr;
      cudaGraphDestroy(graph);
      TRTORCH_LOG(kInfo, "CUDA graph: instantiating it with its copy nodes failed (", cudaGetErrorString(e),
                  "); they stay outside");
      copy_nodes_ = false;
      return capture_graph(inputs, outputs, ws, stream);
    }
  } else {
    TRTORCH_CUDA_CHECK(cudaGraphInstantiate(&graph_exec_, graph, 0));
  }
  if (copy_nodes_) {
    graph_ = graph;  // its copy nodes are re-pointed through it
  } else {
    cudaGraphDestroy(graph);
  }
  graph_workspace_ = ws;
  return true;
}

bool CudaExecutor::verify_graph(const std::vector<const void*>& inputs, const std::vector<void*>& outputs, char* ws,
                                cudaStream_t stream) {
  const ir::Graph& g = *engine_->graph;
  use_graph_ = false;
  launch_all(inputs, outputs, ws, stream);
  use_graph_ = true;
  auto host_copy = [&](const void* p, const ir::Value* v) {
    ir::HostTensor h(v->type.dtype, v->type.static_shape());
    TRTORCH_CUDA_CHECK(cudaMemcpyAsync(h.data(), p, h.nbytes(), cudaMemcpyDeviceToHost, stream));
    return h;
  };
  std::vector<ir::HostTensor> eager;
  for (size_t k = 0; k < outputs.size(); ++k) eager.push_back(host_copy(outputs[k], g.outputs()[k]));
  // Test hook: TRTORCH_TEST_GRAPH_FAULT=1 poisons the replayed outputs, so that the fallback runs.
  const bool poison = util::debug_switch_on(util::DebugSwitch::kTestGraphFault);
  std::string why;
  for (int rep = 0; rep < 2 && why.empty(); ++rep) {
    if (!replay(inputs, outputs, ws, stream, &why)) break;
    for (size_t k = 0; k < outputs.size() && why.empty(); ++k) {
      if (poison) TRTORCH_CUDA_CHECK(cudaMemsetAsync(ws + output_stage_[k], 0xff, eager[k].nbytes(), stream));
      ir::HostTensor replayed = host_copy(ws + output_stage_[k], g.outputs()[k]);
      TRTORCH_CUDA_CHECK(cudaStreamSynchronize(stream));
      std::string detail;
      if (!same_as_eager(replayed, eager[k], &detail))
        why = str_cat("replay ", rep + 1, " differs from eager launches on output ", k, detail);
    }
  }
  if (why.empty()) return true;
  drop_graph(why);
  launch_all(inputs, outputs, ws, stream);  // a replay may have written the outputs
  return false;
}

bool CudaExecutor::replay(const std::vector<const void*>& inputs, const std::vector<void*>& outputs, char* ws,
                          cudaStream_t stream, std::string* why) {
  const ir::Graph& g = *engine_->graph;
  if (graph_) {
    // Re-point the copy nodes whose tensor moved (a host-side update of the instantiated graph).
    auto repoint = [&](cudaGraphNode_t node, void* dst, const void* src, size_t bytes, const char* what, size_t i) {
      const cudaError_t e = cudaGraphExecMemcpyNodeSetParams1D(graph_exec_, node, dst, src, bytes,
                                                               cudaMemcpyDeviceToDevice);
      if (e == cudaSuccess) return true;
      cudaGetLastError();
      *why = str_cat("the copy of its ", what, " ", i, " could not be re-pointed (", cudaGetErrorString(e), ")");
      return false;
    };
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!in_copy_nodes_[i] || in_copy_src_[i] == inputs[i]) continue;
      if (!repoint(in_copy_nodes_[i], ws + input_stage_[i], inputs[i], descs_[size_t(g.inputs()[i]->id)].bytes(),
                   "input", i))
        return false;
      in_copy_src_[i] = inputs[i];
    }
    for (size_t k = 0; k < outputs.size(); ++k) {
      if (!out_copy_nodes_[k] || out_copy_dst_[k] == outputs[k]) continue;
      if (!repoint(out_copy_nodes_[k], outputs[k], ws + output_stage_[k], descs_[size_t(g.outputs()[k]->id)].bytes(),
                   "output", k))
        return false;
      out_copy_dst_[k] = outputs[k];
    }
    TRTORCH_CUDA_CHECK(cudaGraphLaunch(graph_exec_, stream));
    return true;
  }
  for (size_t i = 0; i < inputs.size(); ++i)
    TRTORCH_CUDA_CHECK(cudaMemcpyAsync(ws + input_stage_[i], inputs[i], descs_[size_t(g.inputs()[i]->id)].bytes(),
                                       cudaMemcpyDeviceToDevice, stream));
  TRTORCH_CUDA_CHECK(cudaGraphLaunch(graph_exec_, stream));
  for (size_t k = 0; k < outputs.size(); ++k)
    TRTORCH_CUDA_CHECK(cudaMemcpyAsync(outputs[k], ws + output_stage_[k], descs_[size_t(g.outputs()[k]->id)].bytes(),
                                       cudaMemcpyDeviceToDevice, stream));
  return true;
}

void CudaExecutor::destroy_graph() {
  if (graph_exec_) cudaGraphExecDestroy(graph_exec_);
  if (graph_) cudaGraphDestroy(graph_);
  graph_exec_ = nullptr;
  graph_ = nullptr;
  graph_workspace_ = nullptr;
  in_copy_nodes_.clear();
  out_copy_nodes_.clear();
}

void CudaExecutor::drop_graph(const std::string& why) {
  TRTORCH_LOG(kWarning, "CUDA graph of this engine: ", why, "; the engine runs with eager launches");
  destroy_graph();
  use_graph_ = false;
}

}  // namespace trtorch::backends::cuda
