// The CUDA backend's plan::Executor. Registered for plan::DeviceType::kCUDA (executor and
// engine-builder hook) when libtrtorch_cuda is loaded.
//
// Its files: executor.cpp (construction, step by step), executor_layout.cpp (channels-last
// layout planning), executor_run.cpp (execution and CUDA graphs), executor_debug.cpp (the
// debugging passes over a first call), dynamic_executor.cpp (engines with dynamic shapes),
// backend_data.{h,cpp} (what an engine records: options and tactics), build.cpp (the
// engine-builder hook, the timing cache and the registrations).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "core/backends/cuda/common/context.h"
#include "core/backends/cuda/common/kernel.h"
#include "core/backends/cuda/executor/backend_data.h"
#include "core/plan/backend.h"

namespace trtorch::backends::cuda {

// What a build passes to the executor: the build options (from plan::BuildConfig) and the timing
// cache (node key -> tactic).
struct BuildState {
  TacticOptions timing;
  bool channels_last = true;  // BuildConfig::channels_last
  bool cuda_graphs = true;    // BuildConfig::cuda_graphs
  std::map<std::string, std::string>* cache = nullptr;

  // The options the engine records (allow_tf32 and conv_candidates from `timing`).
  EngineOptions options() const;
};

// An engine's constants on the device, in one buffer. The executors of one dynamic engine share it
// where their specialized graphs hold the same constant tensors (HostTensor copies share their
// bytes), instead of uploading the weights once per input shape.
struct DeviceConstants {
  int device = -1;
  // Each constant's host bytes (the shared vector, its size) and offset; `keep` holds those
  // vectors alive, so that their addresses stay theirs.
  std::vector<std::tuple<const void*, size_t, size_t>> layout;
  std::vector<std::shared_ptr<std::vector<uint8_t>>> keep;
  DeviceBuffer buffer;
  // What the kernels made of these constants (packed weights), shared the same way.
  mutable PackedWeights packed;
};

class CudaExecutor : public plan::Executor {
 public:
  // `build` non-null: kernels choose tactics (timing); null: they rebuild the tactics recorded in
  // the engine's backend data. `shape_changed`: the engine is a dynamic one specialized to a
  // shape other than the one its tactics were chosen at; a kernel whose recorded tactic does not
  // fit the new shape chooses again with one timed run per candidate. `device`: the GPU it runs
  // on (plan::kRecordedDevice: the engine's), which must have the engine's compute capability.
  // `constants`: another executor's device constants (of the same engine, on the same device),
  // taken where this one's constants are the same tensors at the same offsets.
  CudaExecutor(std::shared_ptr<const plan::Engine> engine, const BuildState* build, bool shape_changed = false,
               int device = plan::kRecordedDevice, std::shared_ptr<const DeviceConstants> constants = nullptr);
  ~CudaExecutor() override;

  std::vector<plan::Shape> output_shapes(const std::vector<plan::Shape>& input_shapes) override;
  size_t workspace_size(const std::vector<plan::Shape>& input_shapes) override;
  void execute(const std::vector<const void*>& inputs, const std::vector<plan::Shape>& input_shapes,
               const std::vector<void*>& outputs, void* workspace, void* stream) override;

  // The engine's backend data: its options, one tactic per node and the kernels' saved plans
  // (backend_data.h).
  std::vector<uint8_t> tactic_data() const;
  size_t arena_bytes() const { return arena_bytes_; }
  size_t constant_bytes() const { return constants_->buffer.bytes(); }
  const std::shared_ptr<const DeviceConstants>& device_constants() const { return constants_; }
  int cache_hits() const { return cache_hits_; }
  // Times every step (eager launches on zeroed inputs, after two warm-up runs, mean of 20) and
  // returns one time per graph node in graph order, in ms: 0 for nodes without a kernel, a layout
  // change counted in the node it feeds (those after the last node in the last node;
  // plan::BackendBuildRequest::node_times).
  std::vector<double> time_nodes();
  // The build options it runs with: the build's, or those its engine recorded.
  const EngineOptions& options() const { return options_; }

 private:
  struct Slot {
    enum Kind { kUnused, kInput, kOutput, kConstant, kArena, kAlias } kind = kUnused;  // kUnused: removed by a pass
    int index = -1;     // input / output number, or the aliased value
    size_t offset = 0;  // in the constant buffer or the arena
  };
  struct Step {
    const ir::Node* node = nullptr;  // null for a layout change the executor inserted
    std::vector<int> in, out;        // value ids (ids past the graph's are layout copies)
    std::unique_ptr<Kernel> kernel;  // null for Identity / Reshape (aliases)
    size_t scratch_offset = 0;
    int tactic_index = -1;           // the node's position in the graph
  };
  struct FinalCopy {
    int output;  // graph output number
    int value;   // value to copy from
  };

  // What a node's kernel is made with, as plan_layouts() decided: the descriptions of its inputs
  // and outputs (a value whose two layouts are the same bytes is described in the layout the
  // kernel wants).
  struct KernelView {
    std::vector<TensorDesc> inputs, outputs;
  };
  // The layouts plan_layouts() wants for one node: per input (kAnyLayout: the kernel takes
  // either), of its outputs, and the channels its first input is padded to (0: none).
  static constexpr int kAnyLayout = -1;
  struct NodeLayouts {
    std::vector<int> want;
    Layout out = Layout::kRowMajor;
    int64_t pad_input_channels = 0;
  };

  // ---- construction (executor.cpp), in order ----
  // The engine is a CUDA engine and GPU `device` exists and has the compute capability the engine
  // was built for; takes that device's Context.
  void check_device(int device);
  // Every value's description, and storage for graph inputs, constants (uploaded), aliases and
  // the rest (arena).
  void assign_storage(std::shared_ptr<const DeviceConstants> reuse);
  // Layouts (executor_layout.cpp): one step per node (kernel still null), layout changes between
  // them where channels-last values meet consumers that want NCHW. Returns each step's view.
  std::vector<KernelView> plan_layouts();
  // Every node's kernel: chosen (build) or rebuilt from `recorded` (load); logs where the time went.
  void make_kernels(const std::vector<KernelView>& views, const BuildState* build,
                    const std::vector<std::string>& recorded, bool shape_changed);
  // Engine outputs: NCHW, written in place by their producer where possible, else copied.
  void place_outputs();
  // The arena: intermediates, kernel scratch and CUDA-graph staging, planned statically.
  void plan_arena();

  // ---- construction helpers ----
  // At build time: the kernel of a step, from the timing cache or chosen by timing.
  std::unique_ptr<Kernel> choose_kernel(KernelArgs& args, const BuildState& build);
  // At load time: the kernel of a step, rebuilt from its recorded tactic (chosen again when the
  // tactic does not fit a changed shape).
  std::unique_ptr<Kernel> rebuild_kernel(KernelArgs& args, const std::string& tactic, bool shape_changed);
  // The layouts node `n` wants (executor_layout.cpp).
  NodeLayouts choose_layouts(const ir::Node& n) const;
  // Appends node `n`'s step, its inputs layout-changed as `l` wants; returns its view.
  KernelView add_node_step(ir::Node* n, const NodeLayouts& l);
  // The copy of value `v` in layout `to` (padded to `padded_channels` channels if > 0), made by a
  // layout-change step the first time it is asked for.
  int layout_copy(int v, Layout to, int64_t padded_channels = 0);
  // NHWC and NCHW are the same bytes for this value.
  bool same_in_both_layouts(int v) const;
  // The value may be channels-last: a 4-D FP16/BF16 activation whose layouts differ.
  bool may_be_nhwc(const ir::Value* v) const;
  bool is_nhwc(int v) const { return descs_[size_t(v)].layout == Layout::kNHWC; }

  int root(int value) const;
  bool written_to_output(int value) const;
  void* resolve(int value, const std::vector<const void*>& in, const std::vector<void*>& out, char* ws) const;
  // The device pointers of a step's inputs and outputs, into `ins` / `outs` (cleared first).
  void bind_step(const Step& st, const std::vector<const void*>& in, const std::vector<void*>& out, char* ws,
                 std::vector<const void*>* ins, std::vector<void*>* outs) const;

  // ---- execution (executor_run.cpp) ----
  void launch_all(const std::vector<const void*>& in, const std::vector<void*>& out, char* ws, cudaStream_t stream);
  // Captures launch_all() on the context's stream and instantiates it; false (graph dropped, this
  // call's launches done eagerly) when the capture cannot be made a graph.
  bool capture_graph(const std::vector<const void*>& in, const std::vector<void*>& out, char* ws,
                     cudaStream_t stream);
  // After a capture: eager launches into the outputs, then two replays of the graph, each
  // compared with them; false (graph dropped, eager launches from then on) when a replay differs.
  // The outputs hold the eager result either way.
  bool verify_graph(const std::vector<const void*>& in, const std::vector<void*>& out, char* ws, cudaStream_t stream);
  // Launches the captured graph on `in`, leaving the results in `out`. With the graph's own copy
  // nodes (copy_nodes_), these are re-pointed at this call's tensors where they changed, and the
  // launch is the call's only work on the stream; otherwise the inputs are copied into their
  // staging buffers before the launch and the outputs out of theirs after it. False, with
  // nothing launched, when a copy node cannot be re-pointed (`why` says why).
  bool replay(const std::vector<const void*>& in, const std::vector<void*>& out, char* ws, cudaStream_t stream,
              std::string* why);
  // Adds to the captured `graph` a copy node per input (into its staging buffer; before every
  // root) and per output (out of its staging buffer; after every leaf), so that a replay needs no
  // copies of its own. False (graph unchanged in effect: no node added) where it cannot.
  bool add_copy_nodes(cudaGraph_t graph, const std::vector<const void*>& in, const std::vector<void*>& out, char* ws);
  // Destroys the instantiated graph and the graph its copy nodes belong to.
  void destroy_graph();
  // Destroys the captured graph (if any) and switches to eager launches, logging `why`.
  void drop_graph(const std::string& why);

  // ---- debugging passes over the first call (executor_debug.cpp) ----
  // Runs those whose switch is on (core/util/debug.h), with eager launches.
  void run_debug_passes(const std::vector<const void*>& in, const std::vector<void*>& out, char* ws,
                        cudaStream_t stream);
  // Each step's mean time over `iters` eager runs after two warm-up runs, in ms.
  std::vector<double> step_times(const std::vector<const void*>& in, const std::vector<void*>& out, char* ws,
                                 cudaStream_t stream, int iters);
  // TRTORCH_PROFILE=1: times every step once (first run) and logs the most expensive ones.
  void profile(const std::vector<const void*>& in, const std::vector<void*>& out, char* ws, cudaStream_t stream);
  // TRTORCH_CHECK_NAN=1: one eager pass that names the first step whose output holds a NaN or an
  // infinity although its inputs do not (a debugging aid; slow: copies every tensor to the host).
  void check_non_finite(const std::vector<const void*>& in, const std::vector<void*>& out, char* ws,
                        cudaStream_t stream);
  // TRTORCH_CHECK_STEPS=1: each step's self_check() after it ran (eager launches, synchronized).
  void check_steps(const std::vector<const void*>& in, const std::vector<void*>& out, char* ws, cudaStream_t stream);
  // A step's name in debugging logs.
  static std::string step_name(const Step& st);

  std::shared_ptr<const plan::Engine> engine_;
  std::shared_ptr<Context> ctx_;
  std::vector<Slot> slots_;       // per value id
  std::vector<TensorDesc> descs_;  // per value id: dtype, shape, layout
  std::vector<Step> steps_;
  std::vector<std::string> tactics_;  // per graph node
  // Loading: the engine's saved plans, by tactic (until the kernels are made). Building: the
  // kernels' saved plans, which tactic_data() records.
  std::map<std::string, std::vector<uint8_t>> saved_plans_;
  EngineOptions options_;             // the build's (recorded in the engine): layouts, graphs, re-choosing
  std::map<std::pair<int, int64_t>, int> layout_copies_;  // (value, padded channels) -> its copy (construction)
  std::vector<FinalCopy> final_copies_;
  std::shared_ptr<const DeviceConstants> constants_;
  size_t arena_bytes_ = 0;
  int cache_hits_ = 0;
  bool use_graph_ = false;
  bool profiled_ = false;
  std::vector<size_t> input_stage_, output_stage_;
  cudaGraphExec_t graph_exec_ = nullptr;
  const char* graph_workspace_ = nullptr;
  // The graph's copies in and out (add_copy_nodes): one node per input / output (null for a
  // zero-byte one), what each copies from / to now, and the graph they belong to, kept alive
  // while graph_exec_ is (cudaGraphExecMemcpyNodeSetParams1D names the node of that graph).
  // copy_nodes_ goes false for good when a node cannot be re-pointed (memory of another kind).
  bool copy_nodes_ = true;
  cudaGraph_t graph_ = nullptr;
  std::vector<cudaGraphNode_t> in_copy_nodes_, out_copy_nodes_;
  std::vector<const void*> in_copy_src_;
  std::vector<void*> out_copy_dst_;
};

// An engine with dynamic input dims. Each input shape gets its own CudaExecutor over the engine
// specialized to that shape (ir::specialize), built from the tactics chosen at the opt shape;
// the most recently used kMaxShapes of them are kept (each with its kernels, weights, memory plan
// and CUDA graph); an older one is rebuilt when its shape comes back.
class DynamicCudaExecutor : public plan::Executor {
 public:
  static constexpr size_t kMaxShapes = 8;
  explicit DynamicCudaExecutor(std::shared_ptr<const plan::Engine> engine, int device = plan::kRecordedDevice)
      : engine_(std::move(engine)), device_(device) {}

  std::vector<plan::Shape> output_shapes(const std::vector<plan::Shape>& input_shapes) override {
    return instance(input_shapes).output_shapes(input_shapes);
  }
  size_t workspace_size(const std::vector<plan::Shape>& input_shapes) override {
    return instance(input_shapes).workspace_size(input_shapes);
  }
  void execute(const std::vector<const void*>& inputs, const std::vector<plan::Shape>& input_shapes,
               const std::vector<void*>& outputs, void* workspace, void* stream) override {
    instance(input_shapes).execute(inputs, input_shapes, outputs, workspace, stream);
  }
  // The executor for these shapes (built on first use), most recently used first.
  CudaExecutor& instance(const std::vector<plan::Shape>& input_shapes);
  size_t cached_shapes() const { return instances_.size(); }

 private:
  std::shared_ptr<const plan::Engine> engine_;
  int device_;
  std::vector<std::pair<std::vector<plan::Shape>, std::unique_ptr<CudaExecutor>>> instances_;
};

// The Context of a device, one per device shared by the executors of a process.
std::shared_ptr<Context> context_for(int gpu_id);

// An Engine sharing `e`'s device, names and tactics, its graph specialized to `shapes`.
std::shared_ptr<plan::Engine> specialize_engine(const plan::Engine& e, const std::vector<plan::Shape>& shapes);

// True once the backend's registrations ran (referencing it keeps the library linked).
bool cuda_backend_registered();

}  // namespace trtorch::backends::cuda
