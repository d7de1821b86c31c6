// The CUDA backend's executor: construction (at build time, or when a saved engine is loaded),
// a short sequence of steps:
//   * check_device: the GPU it runs on (the engine's, or another of the same architecture)
//     exists and has the engine's compute capability; everything after runs with it current;
//   * assign_storage: every value gets storage: a graph input, a device copy of a constant, an
//     alias of its input (Identity, Reshape), or an offset in one arena;
//   * plan_layouts (executor_layout.cpp): channels-last where tensor-core convolutions want it,
//     with layout changes at the edges;
//   * make_kernels: every other node becomes a Kernel (kernel.h); at build time kernels choose
//     tactics by timing (or take them from the timing cache), at load time they rebuild the
//     recorded ones;
//   * place_outputs: engine outputs are written in place by their producer where possible;
//   * plan_arena: the arena (intermediates, kernel scratch, CUDA-graph staging) is planned
//     statically (core/plan/memory_plan.h) and is the executor's workspace.
// Execution is in executor_run.cpp.
#include "core/backends/cuda/executor/executor.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>

#include "core/backends/cuda/common/context.h"
#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/kernel.h"
#include "core/util/progress.h"
#include "core/plan/memory_plan.h"
#include "core/util/debug.h"
#include "core/util/logging.h"

namespace trtorch::backends::cuda {

namespace {

std::unique_ptr<Kernel> dispatch(const KernelArgs& a) {
  switch (a.node.op) {
#define TRTORCH_OP(Name, MinIn, MaxIn, MaxOut) \
  case ir::OpKind::Name:                       \
    return make_##Name(a);
#include "core/ir/ops.def"
#undef TRTORCH_OP
    default: break;
  }
  TRTORCH_ERROR("unknown op ", int(a.node.op));
}

// A node's timing-cache key: the GPU, the node and its inputs, and the build options that change
// which tactic it gets (a TF32 build, another layout plan or candidate count choose otherwise).
std::string node_key(const Context& ctx, const ir::Node& n, const std::vector<TensorDesc>& in,
                     const EngineOptions& options) {
  std::ostringstream os;
  os << ctx.props().name << "|sm" << ctx.props().major << ctx.props().minor << "|" << n.name() << "{"
     << ir::attrs_str(n.attrs) << "}";
  for (const auto& d : in) {
    os << "|" << ir::dtype_name(d.dtype) << (d.layout == Layout::kNHWC ? "nhwc" : "") << "[";
    for (auto s : d.shape) os << s << ",";
    os << "]";
  }
  os << "|" << options.choice_key();
  return os.str();
}

// Logs where the build's time went: the kernels that took longest to make (tactic timing,
// cuDNN's runtime compilation, NVRTC). `seconds`: (seconds to make, its description).
void log_kernel_times(std::vector<std::pair<double, std::string>> seconds) {
  std::sort(seconds.begin(), seconds.end(), std::greater<>());
  double total = 0;
  for (const auto& ks : seconds) total += ks.first;
  std::ostringstream slowest;
  for (size_t r = 0; r < seconds.size() && r < 5; ++r)
    slowest << "\n  " << seconds[r].first << " s  " << seconds[r].second;
  TRTORCH_LOG(kInfo, "CUDA engine: kernels made in ", total, " s; the slowest:", slowest.str());
}

}  // namespace

// One Context per device, shared by the executors of a process.
std::shared_ptr<Context> context_for(int gpu_id) {
  static std::mutex mu;
  static std::map<int, std::weak_ptr<Context>> contexts;
  std::lock_guard<std::mutex> lock(mu);
  auto c = contexts[gpu_id].lock();
  if (!c) {
    c = std::make_shared<Context>(gpu_id);
    contexts[gpu_id] = c;
  }
  return c;
}

EngineOptions BuildState::options() const {
  EngineOptions o;
  o.allow_tf32 = timing.allow_tf32;
  o.channels_last = channels_last;
  o.cuda_graphs = cuda_graphs;
  o.conv_candidates = timing.conv_candidates;
  o.conv_runtime_compilation = int(timing.conv_runtime_compilation);
  return o;
}

// ---------------------------------------------------------------------------------------------
CudaExecutor::CudaExecutor(std::shared_ptr<const plan::Engine> engine, const BuildState* build, bool shape_changed,
                           int device, std::shared_ptr<const DeviceConstants> constants)
    : engine_(std::move(engine)) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point t0 = Clock::now();
  auto since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  const int gpu = device == plan::kRecordedDevice ? engine_->device.gpu_id : device;
  check_device(gpu);
  DeviceGuard guard(gpu);  // weights, plans and kernels are made on that GPU
  // The options: the build's, or (with the tactics) those the engine recorded when it was built.
  std::vector<std::string> recorded;
  if (build) {
    options_ = build->options();
  } else {
    BackendData data = read_backend_data(engine_->backend_data, engine_->graph->num_nodes());
    options_ = data.options;
    recorded = std::move(data.tactics);
    saved_plans_ = std::move(data.plans);
  }
  const double t_data = since(t0);
  Clock::time_point t = Clock::now();
  const DeviceConstants* offered = constants.get();
  assign_storage(std::move(constants));
  const bool shared_constants = offered && constants_.get() == offered;
  const double t_constants = since(t);
  t = Clock::now();
  const std::vector<KernelView> views = plan_layouts();
  const double t_layouts = since(t);
  t = Clock::now();
  make_kernels(views, build, recorded, shape_changed);
  const double t_kernels = since(t);
  t = Clock::now();
  place_outputs();
  layout_copies_.clear();
  plan_arena();
  // Where a load's or a new shape's time goes (the first call adds the graph's capture).
  TRTORCH_LOG(kInfo, "CUDA executor made in ", since(t0), " s: device, options and tactics ", t_data,
              " s, constants ", t_constants, " s (", constants_->buffer.bytes() >> 20, " MiB",
              shared_constants ? ", shared" : "", "), layouts ", t_layouts, " s, kernels ", t_kernels, " s, arena ",
              since(t), " s", shape_changed ? " (at shapes other than the opt shapes)" : "");
}

CudaExecutor::~CudaExecutor() { destroy_graph(); }

void CudaExecutor::check_device(int device) {
  const plan::Engine& e = *engine_;
  TRTORCH_EXPECT(e.device.type == plan::DeviceType::kCUDA, "not a CUDA engine");
  const int n = device_count();
  TRTORCH_EXPECT(n > 0, "the engine was built for ", e.device.str(), " but this process sees no CUDA device");
  TRTORCH_EXPECT(device >= 0 && device < n, "the engine (built for ", e.device.str(), ") is to run on CUDA device ",
                 device, " but this process sees ", n, " CUDA device", n == 1 ? "" : "s", " (0 to ", n - 1,
                 device == e.device.gpu_id ? "); load it with the engine placement 'inputs' to run it on another GPU"
                                           : ")");
  ctx_ = context_for(device);
  const cudaDeviceProp& p = ctx_->props();
  TRTORCH_EXPECT(p.major == e.device.sm_major && p.minor == e.device.sm_minor, "the engine was built for ",
                 e.device.str(), " but CUDA device ", device, " is ", p.name, " (sm_", p.major, p.minor,
                 "): rebuild the engine for this GPU");
}

void CudaExecutor::assign_storage(std::shared_ptr<const DeviceConstants> reuse) {
  const ir::Graph& g = *engine_->graph;
  const auto nodes = g.nodes();
  const int n_ir_values = g.num_values();
  slots_.assign(size_t(n_ir_values), Slot{});
  descs_.assign(size_t(n_ir_values), TensorDesc{});
  for (ir::Node* n : nodes)
    for (ir::Value* o : n->outputs) descs_[size_t(o->id)] = {o->type.dtype, o->type.static_shape(), Layout::kRowMajor};
  for (size_t i = 0; i < g.inputs().size(); ++i) {
    ir::Value* v = g.inputs()[i];
    slots_[size_t(v->id)] = {Slot::kInput, int(i)};
    descs_[size_t(v->id)] = {v->type.dtype, v->type.static_shape(), Layout::kRowMajor};
  }
  size_t const_bytes = 0;
  std::vector<std::pair<const ir::HostTensor*, size_t>> uploads;
  for (ir::Node* n : nodes) {
    if (n->op == ir::OpKind::Constant) {
      const auto& t = n->attr<ir::ConstantAttrs>().value;
      slots_[size_t(n->outputs[0]->id)] = {Slot::kConstant, -1, const_bytes};
      uploads.emplace_back(&t, const_bytes);
      const_bytes = ir::checked_add_size(const_bytes, ir::checked_align_up(t.nbytes(), 256, "CUDA constants"),
                                         "CUDA constants");
    } else if (n->op == ir::OpKind::Identity || n->op == ir::OpKind::Reshape) {
      slots_[size_t(n->outputs[0]->id)] = {Slot::kAlias, n->inputs[0]->id};
    } else {
      for (ir::Value* o : n->outputs) slots_[size_t(o->id)] = {Slot::kArena, -1};
    }
  }
  auto c = std::make_shared<DeviceConstants>();
  c->device = ctx_->device();
  for (auto& [t, off] : uploads) {
    c->layout.emplace_back(t->bytes.get(), t->nbytes(), off);
    c->keep.push_back(t->bytes);
  }
  // The same host tensors (alive, so their addresses are theirs; constants are never written
  // after the build) at the same offsets on the same device: the same bytes.
  if (reuse && reuse->device == c->device && reuse->layout == c->layout && reuse->buffer.bytes() == const_bytes) {
    constants_ = std::move(reuse);
    return;
  }
  c->buffer = DeviceBuffer(const_bytes);
  for (auto& [t, off] : uploads)
    TRTORCH_CUDA_CHECK(cudaMemcpy(static_cast<char*>(c->buffer.get()) + off, t->data(), t->nbytes(),
                                  cudaMemcpyHostToDevice));
  constants_ = std::move(c);
}

void CudaExecutor::make_kernels(const std::vector<KernelView>& views, const BuildState* build,
                                const std::vector<std::string>& recorded, bool shape_changed) {
  TacticOptions default_timing;
  std::vector<std::pair<double, std::string>> kernel_seconds;  // (seconds to make, description)
  KernelShare share;  // repeated problems (convolutions of one shape) are solved once
  size_t to_make = 0, made = 0;
  for (const Step& st : steps_) to_make += st.node != nullptr;
  for (size_t s = 0; s < steps_.size(); ++s) {
    Step& step = steps_[s];
    if (!step.node) continue;  // a layout change: made by plan_layouts()
    const ir::Node& n = *step.node;
    if (build) util::report_progress("kernels", made++, to_make, n.name());
    const size_t i = size_t(step.tactic_index);
    KernelArgs args{*ctx_, n, views[s].inputs, views[s].outputs, {}, nullptr,
                    build ? &build->timing : &default_timing, &share};
    args.packed = &constants_->packed;
    for (size_t j = 0; j < n.inputs.size(); ++j)
      args.constants.push_back(slots_[size_t(step.in[j])].kind == Slot::kConstant
                                   ? &n.inputs[j]->producer->attr<ir::ConstantAttrs>().value
                                   : nullptr);
    const auto t_kernel = std::chrono::steady_clock::now();
    step.kernel = build ? choose_kernel(args, *build) : rebuild_kernel(args, recorded[i], shape_changed);
    const double kernel_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_kernel).count();
    if (step.kernel) {
      TRTORCH_LOG(kDebug, "node ", i, " ", n.name(), ": ", step.kernel->describe(), " (made in ", kernel_s, " s)");
      kernel_seconds.push_back({kernel_s, step.kernel->describe()});
    }
  }
  if (build) util::report_progress("kernels", to_make, to_make);
  log_kernel_times(std::move(kernel_seconds));
  tactics_.assign(engine_->graph->num_nodes(), "");
  for (const Step& st : steps_)
    if (st.node && st.kernel) tactics_[size_t(st.tactic_index)] = st.kernel->tactic();
  saved_plans_.clear();  // loaded: taken by the kernels; a load does not write the engine again
  if (!build) return;
  // The plans a load takes instead of building them, once per distinct tactic.
  for (const Step& st : steps_) {
    if (!st.node || !st.kernel) continue;
    const std::string& t = tactics_[size_t(st.tactic_index)];
    if (t.empty() || saved_plans_.count(t)) continue;
    std::vector<uint8_t> bytes = st.kernel->saved_plan();
    if (!bytes.empty()) saved_plans_.emplace(t, std::move(bytes));
  }
}

std::unique_ptr<Kernel> CudaExecutor::choose_kernel(KernelArgs& args, const BuildState& build) {
  const ir::Node& n = args.node;
  std::unique_ptr<Kernel> k;
  const std::string key = node_key(*ctx_, n, args.inputs, options_);
  auto hit = build.cache ? build.cache->find(key) : std::map<std::string, std::string>::iterator();
  if (build.cache && hit != build.cache->end() && !hit->second.empty()) {
    args.tactic = &hit->second;
    try {
      k = dispatch(args);
      ++cache_hits_;
    } catch (const Error& err) {
      TRTORCH_LOG(kInfo, "timing cache entry for ", n.name(), " not usable (", err.what(), "); timing again");
      k.reset();
    }
    args.tactic = nullptr;
  }
  if (!k) k = dispatch(args);
  if (k && build.cache) (*build.cache)[key] = k->tactic();
  return k;
}

std::unique_ptr<Kernel> CudaExecutor::rebuild_kernel(KernelArgs& args, const std::string& tactic,
                                                     bool shape_changed) {
  args.tactic = &tactic;
  auto saved = saved_plans_.find(tactic);
  args.saved_plan = saved == saved_plans_.end() ? nullptr : &saved->second;
  args.other_shape = shape_changed;
  try {
    return dispatch(args);
  } catch (const Error& err) {
    if (!shape_changed) throw;
    // A tactic chosen at another shape that does not fit this one: choose again, quickly, with
    // the options the engine was built with.
    TRTORCH_LOG(kDebug, "node ", args.node.name(), ": the opt-shape tactic does not fit (", err.what(),
                "); choosing with one timed run per candidate");
    TacticOptions quick{0, 1};
    quick.allow_tf32 = options_.allow_tf32;
    quick.conv_candidates = options_.conv_candidates;
    quick.conv_runtime_compilation = ConvRuntimeCompilation(options_.conv_runtime_compilation);
    args.tactic = nullptr;
    args.saved_plan = nullptr;
    args.other_shape = false;
    args.timing = &quick;
    return dispatch(args);
  }
}

void CudaExecutor::place_outputs() {
  const ir::Graph& g = *engine_->graph;
  std::vector<int> output_of(size_t(g.num_values()), -1);  // first graph output number of a value
  for (size_t k = 0; k < g.outputs().size(); ++k)
    if (output_of[size_t(g.outputs()[k]->id)] < 0) output_of[size_t(g.outputs()[k]->id)] = int(k);
  for (size_t k = 0; k < g.outputs().size(); ++k) {
    int v = g.outputs()[k]->id;
    if (!same_in_both_layouts(root(v)) && is_nhwc(root(v))) v = layout_copy(root(v), Layout::kRowMajor);
    Slot& s = slots_[size_t(v)];
    if (s.kind == Slot::kArena && output_of[size_t(g.outputs()[k]->id)] == int(k) && !written_to_output(v))
      s = Slot{Slot::kOutput, int(k)};
    if (!(s.kind == Slot::kOutput && s.index == int(k))) final_copies_.push_back({int(k), v});
  }
}

bool CudaExecutor::written_to_output(int value) const {
  const Slot& s = slots_[size_t(value)];
  return s.kind == Slot::kOutput;
}

int CudaExecutor::root(int value) const {
  while (slots_[size_t(value)].kind == Slot::kAlias) value = slots_[size_t(value)].index;
  return value;
}

void CudaExecutor::plan_arena() {
  const ir::Graph& g = *engine_->graph;
  const int n_steps = int(steps_.size());
  const size_t n_values = descs_.size();
  // Live ranges: from the producing step to the last step that reads the value or an alias of it.
  std::vector<int> first(n_values, 0), last(n_values, -1);
  for (int i = 0; i < n_steps; ++i) {
    for (int o : steps_[size_t(i)].out) first[size_t(o)] = last[size_t(o)] = i;
    for (int v : steps_[size_t(i)].in) last[size_t(root(v))] = std::max(last[size_t(root(v))], i);
  }
  for (const auto& fc : final_copies_) last[size_t(root(fc.value))] = n_steps;
  std::vector<plan::BufferRequest> reqs;
  std::vector<int> req_value(n_values, -1);
  for (size_t v = 0; v < n_values; ++v) {
    if (slots_[v].kind != Slot::kArena) continue;
    req_value[v] = int(reqs.size());
    reqs.push_back({descs_[v].bytes(), first[v], std::max(first[v], last[v])});
  }
  std::vector<int> scratch_req(size_t(n_steps), -1);
  for (int i = 0; i < n_steps; ++i) {
    const auto& k = steps_[size_t(i)].kernel;
    if (k && k->scratch_bytes() > 0) {
      scratch_req[size_t(i)] = int(reqs.size());
      reqs.push_back({k->scratch_bytes(), i, i});
    }
  }
  // CUDA-graph staging for the graph inputs and outputs: live for the whole run.
  use_graph_ = options_.cuda_graphs;
  copy_nodes_ = !util::debug_switch_on(util::DebugSwitch::kGraphCopiesOutside);  // executor_run.cpp
  std::vector<int> in_stage, out_stage;
  if (use_graph_) {
    for (ir::Value* v : g.inputs()) {
      in_stage.push_back(int(reqs.size()));
      reqs.push_back({descs_[size_t(v->id)].bytes(), 0, n_steps});
    }
    for (ir::Value* v : g.outputs()) {
      out_stage.push_back(int(reqs.size()));
      reqs.push_back({descs_[size_t(v->id)].bytes(), 0, n_steps});
    }
  }
  // Debugging (TRTORCH_NO_ARENA_REUSE=1): every buffer its own bytes for the whole run.
  if (util::debug_switch_on(util::DebugSwitch::kNoArenaReuse))
    for (auto& r : reqs) r.first = 0, r.last = n_steps;
  plan::MemoryPlan mp = plan::plan_memory(reqs, 256);
  arena_bytes_ = mp.total;
  for (size_t v = 0; v < n_values; ++v)
    if (req_value[v] >= 0) slots_[v].offset = mp.offsets[size_t(req_value[v])];
  for (int i = 0; i < n_steps; ++i)
    steps_[size_t(i)].scratch_offset = scratch_req[size_t(i)] >= 0 ? mp.offsets[size_t(scratch_req[size_t(i)])] : 0;
  for (int r : in_stage) input_stage_.push_back(mp.offsets[size_t(r)]);
  for (int r : out_stage) output_stage_.push_back(mp.offsets[size_t(r)]);
  size_t sum = 0;  // only logged: saturates instead of wrapping
  for (const auto& r : reqs) sum = r.bytes > SIZE_MAX - sum ? SIZE_MAX : sum + r.bytes;
  int changes = 0;
  for (const Step& st : steps_) changes += st.node == nullptr;
  TRTORCH_LOG(kInfo, "CUDA engine: ", n_steps, " steps (", changes, " layout changes), arena ", arena_bytes_,
              " bytes (", reqs.size(), " buffers totalling ", sum, " bytes unplanned), constants ", constants_->buffer.bytes(),
              " bytes; CUDA graphs ", use_graph_ ? "on" : "off");
}

std::vector<uint8_t> CudaExecutor::tactic_data() const {
  return write_backend_data({options_, tactics_, saved_plans_});
}

}  // namespace trtorch::backends::cuda
