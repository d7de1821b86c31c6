// The CUDA backend's executor and engine-builder hook.
//
// Construction (at build time, or when a saved engine is loaded):
//   * every value gets storage: a graph input, a device copy of a constant, an alias of its input
//     (Identity, Reshape), a graph output buffer, or an offset in one arena;
//   * every other node becomes a Kernel (kernel.h); at build time kernels choose tactics by
//     timing, at load time they rebuild the recorded ones;
//   * the arena (intermediates, kernel scratch, CUDA-graph staging) is planned statically
//     (core/plan/memory_plan.h) and is the executor's workspace.
// Execution launches the kernels in order on the caller's stream, or replays a CUDA graph of
// them (fixed shapes): inputs are copied into staging buffers, the graph is launched, and the
// outputs are copied out.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <fstream>
#include <cmath>
#include <set>
#include <map>
#include <mutex>
#include <sstream>

#include "core/backends/cuda/common/context.h"
#include "core/backends/cuda/executor/executor.h"
#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/kernel.h"
#include "core/plan/builder.h"
#include "core/plan/backend.h"
#include "core/plan/memory_plan.h"
#include "core/util/logging.h"

namespace trtorch::backends::cuda {

namespace {

// The backend data: this header, a line of build options, then one tactic per graph node.
constexpr const char* kTacticHeader = "trtorch-cuda-tactics v2";
// Few-channel convolutions (an image's 3 channels) read an input padded to this many channels.
// ResNet-50's 7x7 stem, FP16, batch 32, H100: 0.202 ms unpadded, 0.216 ms padded to 8, 0.111 ms
// padded to 4 (cuDNN has tensor-core kernels for C = 4).
constexpr int64_t kConvChannelAlign = 4;

bool graphs_enabled() {
  const char* env = std::getenv("TRTORCH_CUDA_GRAPHS");
  return !(env && std::string(env) == "0");
}

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

// The tactics of a saved engine, and its build options (allow_tf32: a dynamic engine that chooses
// a tactic again at a new shape chooses as the build did).
std::vector<std::string> parse_tactics(const std::vector<uint8_t>& data, size_t n_nodes, bool* allow_tf32) {
  std::string text(data.begin(), data.end());
  std::istringstream is(text);
  std::string line;
  TRTORCH_EXPECT(std::getline(is, line) && line == kTacticHeader,
                 "the engine's CUDA backend data is missing or from another trtorch version (expected \"",
                 kTacticHeader, "\"): rebuild the engine");
  TRTORCH_EXPECT(std::getline(is, line) && (line == "allow_tf32=0" || line == "allow_tf32=1"),
                 "the engine's CUDA backend data lacks its build options line: the engine is corrupt");
  *allow_tf32 = line == "allow_tf32=1";
  std::vector<std::string> t;
  while (std::getline(is, line)) t.push_back(line);
  TRTORCH_EXPECT(t.size() == n_nodes, "the engine's CUDA backend data lists ", t.size(), " tactics for ", n_nodes,
                 " nodes: the engine is corrupt");
  return t;
}

std::string node_key(const Context& ctx, const ir::Node& n, const std::vector<TensorDesc>& in) {
  std::ostringstream os;
  os << ctx.props().name << "|sm" << ctx.props().major << ctx.props().minor << "|" << n.name() << "{"
     << ir::attrs_str(n.attrs) << "}";
  for (const auto& d : in) {
    os << "|" << ir::dtype_name(d.dtype) << (d.layout == Layout::kNHWC ? "nhwc" : "") << "[";
    for (auto s : d.shape) os << s << ",";
    os << "]";
  }
  return os.str();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
CudaExecutor::CudaExecutor(std::shared_ptr<const plan::Engine> engine, const BuildState* build, bool shape_changed)
    : engine_(std::move(engine)) {
  const plan::Engine& e = *engine_;
  const ir::Graph& g = *e.graph;
  TRTORCH_EXPECT(e.device.type == plan::DeviceType::kCUDA, "not a CUDA engine");
  TRTORCH_EXPECT(device_count() > 0, "the engine was built for ", e.device.str(),
                 " but this process sees no CUDA device");
  ctx_ = context_for(e.device.gpu_id);
  const cudaDeviceProp& p = ctx_->props();
  TRTORCH_EXPECT(p.major == e.device.sm_major && p.minor == e.device.sm_minor, "the engine was built for ",
                 e.device.str(), " but CUDA device ", e.device.gpu_id, " is ", p.name, " (sm_", p.major, p.minor,
                 "): rebuild the engine for this GPU");

  const auto nodes = g.nodes();
  std::vector<std::string> loaded;
  if (build)
    allow_tf32_ = build->timing.allow_tf32;
  else
    loaded = parse_tactics(e.backend_data, nodes.size(), &allow_tf32_);

  // ---- storage and layout of every value ----
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
  std::vector<int> output_of(size_t(n_ir_values), -1);  // first graph output index of a value
  for (size_t k = 0; k < g.outputs().size(); ++k)
    if (output_of[size_t(g.outputs()[k]->id)] < 0) output_of[size_t(g.outputs()[k]->id)] = int(k);

  size_t const_bytes = 0;
  std::vector<std::pair<const ir::HostTensor*, size_t>> uploads;
  for (ir::Node* n : nodes) {
    if (n->op == ir::OpKind::Constant) {
      const auto& t = n->attr<ir::ConstantAttrs>().value;
      slots_[size_t(n->outputs[0]->id)] = {Slot::kConstant, -1, const_bytes};
      uploads.emplace_back(&t, const_bytes);
      const_bytes += (t.nbytes() + 255) / 256 * 256;
    } else if (n->op == ir::OpKind::Identity || n->op == ir::OpKind::Reshape) {
      slots_[size_t(n->outputs[0]->id)] = {Slot::kAlias, n->inputs[0]->id};
    } else {
      for (ir::Value* o : n->outputs) slots_[size_t(o->id)] = {Slot::kArena, -1};
    }
  }
  constants_ = DeviceBuffer(const_bytes);
  for (auto& [t, off] : uploads)
    TRTORCH_CUDA_CHECK(cudaMemcpy(static_cast<char*>(constants_.get()) + off, t->data(), t->nbytes(),
                                  cudaMemcpyHostToDevice));

  // ---- layouts: channels-last where tensor-core convolutions want it ----
  // A 4-D FP16/BF16 activation produced by a convolution is NHWC; layout-agnostic consumers
  // (elementwise, batch norm, pooling, channel concat/slice) keep it; any other consumer gets a
  // layout change, made once per value and shared by all such consumers. Engine inputs and
  // outputs are NCHW, so the changes sit at the engine's edges.
  const char* nhwc_env = std::getenv("TRTORCH_NHWC");
  const bool nhwc_on = !(nhwc_env && std::string(nhwc_env) == "0");
  auto trivial = [&](int v) {  // NHWC and NCHW are the same bytes
    const auto& sh = descs_[size_t(v)].shape;
    return sh.size() != 4 || sh[1] == 1 || sh[2] * sh[3] == 1;
  };
  auto can_nhwc = [&](const ir::Value* v) {
    return nhwc_on && v->type.rank() == 4 && (v->type.dtype == ir::DType::kFloat16 || v->type.dtype == ir::DType::kBFloat16) &&
           !trivial(v->id);
  };
  auto is_nhwc = [&](int v) { return descs_[size_t(v)].layout == Layout::kNHWC; };
  // (value, padded channels or 0) -> its copy in the other layout
  std::map<std::pair<int, int64_t>, int> converted;
  auto convert = [&](int v, Layout to, int64_t padded_channels = 0) {
    const auto key = std::make_pair(v, padded_channels);
    auto it = converted.find(key);
    if (it != converted.end()) return it->second;
    int c = int(descs_.size());
    TensorDesc d = descs_[size_t(v)];
    Step st;
    st.in = {v};
    st.out = {c};
    st.kernel = make_layout_change(d, to, padded_channels);
    d.layout = to;
    if (padded_channels > 0) d.shape[1] = padded_channels;
    descs_.push_back(d);
    slots_.push_back(Slot{Slot::kArena, -1});
    steps_.push_back(std::move(st));
    converted[key] = c;
    return c;
  };

  // ---- kernels ----
  TacticOptions default_timing;
  constexpr int kAny = -1;
  std::vector<std::pair<double, size_t>> kernel_seconds;  // (seconds to make, step index)
  KernelShare share;  // repeated problems (convolutions of one shape) are solved once
  for (size_t i = 0; i < nodes.size(); ++i) {
    const ir::Node& n = *nodes[i];
    if (n.op == ir::OpKind::Constant) continue;
    // Wanted layout per input (kAny: the kernel takes either) and the output layout.
    std::vector<int> want(n.inputs.size(), int(Layout::kRowMajor));
    Layout out = Layout::kRowMajor;
    int64_t pad_input_channels = 0;  // widen input 0 with zero channels in its layout change
    const ir::Value* o = n.outputs[0];
    switch (n.op) {
      case ir::OpKind::Conv2d:
        for (size_t j = 1; j < n.inputs.size(); ++j) want[j] = kAny;  // weights, bias (constants)
        if (can_nhwc(o)) {
          out = Layout::kNHWC;
          want[0] = int(Layout::kNHWC);
          if (n.attr<ir::Conv2dAttrs>().has_residual) want.back() = int(Layout::kNHWC);
          // A convolution of few channels (an image's 3) that reads an NCHW value: its layout
          // change also pads the channels to kConvChannelAlign with zeros (the weights get zero
          // channels too), so that cuDNN runs it on tensor cores.
          const int64_t c = n.inputs[0]->type.static_shape()[1];
          const ir::Value* x = n.inputs[0];
          if (c % kConvChannelAlign != 0 && c < kConvChannelAlign && n.attr<ir::Conv2dAttrs>().groups == 1 &&
              slots_[size_t(n.inputs[1]->id)].kind == Slot::kConstant && !is_nhwc(x->id) && !trivial(x->id))
            pad_input_channels = kConvChannelAlign;
        }
        break;
      case ir::OpKind::Unary:
      case ir::OpKind::Cast:
      case ir::OpKind::BatchNorm:
      case ir::OpKind::Pool2d:
      case ir::OpKind::Slice:
        for (size_t j = 1; j < n.inputs.size(); ++j) want[j] = kAny;
        if (is_nhwc(n.inputs[0]->id) && (can_nhwc(o) || n.op == ir::OpKind::Pool2d)) {
          out = can_nhwc(o) ? Layout::kNHWC : Layout::kRowMajor;
          want[0] = int(Layout::kNHWC);
        }
        break;
      case ir::OpKind::AdaptivePool2d:
        // Reads either layout; a 1x1 output is the same bytes in both.
        if (is_nhwc(n.inputs[0]->id) && (can_nhwc(o) || trivial(o->id))) {
          out = can_nhwc(o) ? Layout::kNHWC : Layout::kRowMajor;
          want[0] = int(Layout::kNHWC);
        }
        break;
      case ir::OpKind::Binary:
      case ir::OpKind::Pointwise: {
        bool any = false;
        for (ir::Value* v : n.inputs) any |= is_nhwc(v->id);
        if (any && can_nhwc(o)) {
          out = Layout::kNHWC;
          for (size_t j = 0; j < n.inputs.size(); ++j)
            want[j] = n.inputs[j]->type == o->type ? int(Layout::kNHWC) : kAny;  // broadcast operands: strides
        }
        break;
      }
      case ir::OpKind::Concat: {
        bool any = false;
        for (ir::Value* v : n.inputs) any |= is_nhwc(v->id);
        if (any && can_nhwc(o)) {
          out = Layout::kNHWC;
          std::fill(want.begin(), want.end(), int(Layout::kNHWC));
        }
        break;
      }
      default: break;
    }
    Step step;
    step.node = nodes[i];
    KernelArgs args{*ctx_, n, {}, {}, {}, nullptr, build ? &build->timing : &default_timing, &share};
    for (size_t j = 0; j < n.inputs.size(); ++j) {
      int v = n.inputs[j]->id;
      if (want[j] != kAny && !trivial(v) && int(descs_[size_t(v)].layout) != want[j])
        v = convert(v, Layout(want[j]), j == 0 ? pad_input_channels : 0);
      step.in.push_back(v);
      TensorDesc d = descs_[size_t(v)];
      if (want[j] != kAny && trivial(v)) d.layout = Layout(want[j]);  // same bytes, the kernel's view
      args.inputs.push_back(d);
      const Slot& sl = slots_[size_t(v)];
      args.constants.push_back(sl.kind == Slot::kConstant ? &n.inputs[j]->producer->attr<ir::ConstantAttrs>().value
                                                          : nullptr);
    }
    for (ir::Value* ov : n.outputs) {
      descs_[size_t(ov->id)].layout = can_nhwc(ov) ? out : Layout::kRowMajor;
      step.out.push_back(ov->id);
      TensorDesc d = descs_[size_t(ov->id)];
      if (trivial(ov->id) && !args.inputs.empty() && n.op != ir::OpKind::Conv2d) d.layout = args.inputs[0].layout;
      args.outputs.push_back(d);
    }
    // An alias reads its (possibly layout-changed) input.
    if (n.op == ir::OpKind::Identity || n.op == ir::OpKind::Reshape) slots_[size_t(o->id)] = {Slot::kAlias, step.in[0]};
    std::unique_ptr<Kernel> k;
    const auto t_kernel = std::chrono::steady_clock::now();
    if (build) {
      // A TF32 build may choose other tactics: its cache entries are its own.
      std::string key = node_key(*ctx_, n, args.inputs) + (build->timing.allow_tf32 ? ";tf32" : "");
      auto hit = build->cache ? build->cache->find(key) : std::map<std::string, std::string>::iterator();
      if (build->cache && hit != build->cache->end() && !hit->second.empty()) {
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
      if (k && build->cache) (*build->cache)[key] = k->tactic();
    } else {
      args.tactic = &loaded[i];
      try {
        k = dispatch(args);
      } catch (const Error& err) {
        if (!shape_changed) throw;
        // A tactic chosen at another shape that does not fit this one: choose again, quickly.
        TRTORCH_LOG(kDebug, "node ", i, " ", n.name(), ": the opt-shape tactic does not fit (", err.what(),
                    "); choosing with one timed run per candidate");
        TacticOptions quick{0, 1};
        quick.allow_tf32 = allow_tf32_;
        args.tactic = nullptr;
        args.timing = &quick;
        k = dispatch(args);
      }
    }
    step.kernel = std::move(k);
    step.tactic_index = int(i);
    const double kernel_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_kernel).count();
    if (step.kernel) {
      TRTORCH_LOG(kDebug, "node ", i, " ", n.name(), ": ", step.kernel->describe(), " (made in ", kernel_s, " s)");
      kernel_seconds.push_back({kernel_s, steps_.size()});
    }
    steps_.push_back(std::move(step));
  }
  // Where the build's time went: the kernels that took longest to make (tactic timing, cuDNN's
  // runtime compilation, NVRTC).
  std::sort(kernel_seconds.begin(), kernel_seconds.end(), std::greater<>());
  double kernels_total = 0;
  for (const auto& ks : kernel_seconds) kernels_total += ks.first;
  std::ostringstream slowest;
  for (size_t r = 0; r < kernel_seconds.size() && r < 5; ++r)
    slowest << "\n  " << kernel_seconds[r].first << " s  " << steps_[kernel_seconds[r].second].kernel->describe();
  TRTORCH_LOG(kInfo, "CUDA engine: kernels made in ", kernels_total, " s; the slowest:", slowest.str());
  tactics_.assign(nodes.size(), "");
  for (const Step& st : steps_)
    if (st.node && st.kernel) tactics_[size_t(st.tactic_index)] = st.kernel->tactic();

  // ---- engine outputs: NCHW, written in place by their producer where possible ----
  for (size_t k = 0; k < g.outputs().size(); ++k) {
    int v = g.outputs()[k]->id;
    if (!trivial(root(v)) && descs_[size_t(root(v))].layout == Layout::kNHWC) v = convert(root(v), Layout::kRowMajor);
    Slot& s = slots_[size_t(v)];
    if (s.kind == Slot::kArena && output_of[size_t(g.outputs()[k]->id)] == int(k) && !written_to_output(v))
      s = Slot{Slot::kOutput, int(k)};
    if (!(s.kind == Slot::kOutput && s.index == int(k))) final_copies_.push_back({int(k), v});
  }

  plan_arena();
}

bool CudaExecutor::written_to_output(int value) const {
  const Slot& s = slots_[size_t(value)];
  return s.kind == Slot::kOutput;
}

CudaExecutor::~CudaExecutor() {
  if (graph_exec_) cudaGraphExecDestroy(graph_exec_);
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
  use_graph_ = graphs_enabled();
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
  if (const char* nr = std::getenv("TRTORCH_NO_ARENA_REUSE"); nr && std::string(nr) == "1")
    for (auto& r : reqs) r.first = 0, r.last = n_steps;
  plan::MemoryPlan mp = plan::plan_memory(reqs, 256);
  arena_bytes_ = mp.total;
  for (size_t v = 0; v < n_values; ++v)
    if (req_value[v] >= 0) slots_[v].offset = mp.offsets[size_t(req_value[v])];
  for (int i = 0; i < n_steps; ++i)
    steps_[size_t(i)].scratch_offset = scratch_req[size_t(i)] >= 0 ? mp.offsets[size_t(scratch_req[size_t(i)])] : 0;
  for (int r : in_stage) input_stage_.push_back(mp.offsets[size_t(r)]);
  for (int r : out_stage) output_stage_.push_back(mp.offsets[size_t(r)]);
  size_t sum = 0;
  for (const auto& r : reqs) sum += r.bytes;
  int changes = 0;
  for (const Step& st : steps_) changes += st.node == nullptr;
  TRTORCH_LOG(kInfo, "CUDA engine: ", n_steps, " steps (", changes, " layout changes), arena ", arena_bytes_,
              " bytes (", reqs.size(), " buffers totalling ", sum, " bytes unplanned), constants ", constants_.bytes(),
              " bytes; CUDA graphs ", use_graph_ ? "on" : "off");
}

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
    case Slot::kConstant: return static_cast<char*>(constants_.get()) + s.offset;
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

void CudaExecutor::profile(const std::vector<const void*>& in, const std::vector<void*>& out, char* ws,
                           cudaStream_t stream) {
  constexpr int kIters = 20;
  std::vector<cudaEvent_t> ev(steps_.size() + 1);
  for (auto& e : ev) TRTORCH_CUDA_CHECK(cudaEventCreate(&e));
  std::vector<double> total(steps_.size(), 0.0);
  std::vector<const void*> ins;
  std::vector<void*> outs;
  for (int it = 0; it < kIters + 2; ++it) {
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
      total[i] += ms / kIters;
    }
  }
  for (auto& e : ev) cudaEventDestroy(e);
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

}  // namespace

void CudaExecutor::execute(const std::vector<const void*>& inputs, const std::vector<plan::Shape>&,
                           const std::vector<void*>& outputs, void* workspace, void* stream_ptr) {
  cudaStream_t stream = static_cast<cudaStream_t>(stream_ptr);
  TRTORCH_CUDA_CHECK(cudaSetDevice(ctx_->device()));
  char* ws = static_cast<char*>(workspace);
  TRTORCH_CHECK(arena_bytes_ == 0 || ws != nullptr, "CUDA executor needs its workspace");
  if (!profiled_) {
    profiled_ = true;
    // Debugging passes over the first call, when their switch is set to 1. Eager launches need
    // the real I/O pointers: staging is off for the pass.
    using Pass = void (CudaExecutor::*)(const std::vector<const void*>&, const std::vector<void*>&, char*,
                                        cudaStream_t);
    for (const auto& [var, pass] : {std::pair<const char*, Pass>{"TRTORCH_PROFILE", &CudaExecutor::profile},
                                    std::pair<const char*, Pass>{"TRTORCH_CHECK_NAN", &CudaExecutor::check_non_finite},
                                    std::pair<const char*, Pass>{"TRTORCH_CHECK_STEPS", &CudaExecutor::check_steps}}) {
      const char* env = std::getenv(var);
      if (!env || std::string(env) != "1") continue;
      const bool g = use_graph_;
      use_graph_ = false;
      (this->*pass)(inputs, outputs, ws, stream);
      use_graph_ = g;
    }
  }
  const ir::Graph& g = *engine_->graph;
  if (!use_graph_) {
    launch_all(inputs, outputs, ws, stream);
    return;
  }
  auto bytes_of = [](const ir::Value* v) {
    return size_t(ir::numel_of(v->type.static_shape())) * ir::dtype_size(v->type.dtype);
  };
  if (!graph_exec_ || graph_workspace_ != ws) {
    // Capture once per workspace address on the context's stream; replay on the caller's.
    if (graph_exec_) {
      cudaGraphExecDestroy(graph_exec_);
      graph_exec_ = nullptr;
    }
    cudaStream_t cs = ctx_->stream();
    cudaGraph_t graph = nullptr;
    TRTORCH_CUDA_CHECK(cudaStreamSynchronize(stream));
    TRTORCH_CUDA_CHECK(cudaStreamBeginCapture(cs, cudaStreamCaptureModeThreadLocal));
    try {
      launch_all(inputs, outputs, ws, cs);
    } catch (...) {
      cudaStreamEndCapture(cs, &graph);
      if (graph) cudaGraphDestroy(graph);
      throw;
    }
    TRTORCH_CUDA_CHECK(cudaStreamEndCapture(cs, &graph));
    const char* pdl = std::getenv("TRTORCH_GRAPH_PDL");
    if (!(pdl && std::string(pdl) == "1")) {
      std::string err;
      const int n = make_edges_full(graph, &err);
      if (n < 0) {
        cudaGraphDestroy(graph);
        drop_graph(err);
        launch_all(inputs, outputs, ws, stream);
        return;
      }
      if (n > 0) TRTORCH_LOG(kInfo, "CUDA graph: ", n, " programmatic (PDL) dependencies made full dependencies");
    }
    TRTORCH_CUDA_CHECK(cudaGraphInstantiate(&graph_exec_, graph, 0));
    cudaGraphDestroy(graph);
    graph_workspace_ = ws;
    verify_graph(inputs, outputs, ws, stream);  // the outputs hold this call's result
    return;
  }
  replay(inputs, ws, stream);
  for (size_t k = 0; k < outputs.size(); ++k)
    TRTORCH_CUDA_CHECK(cudaMemcpyAsync(outputs[k], ws + output_stage_[k], bytes_of(g.outputs()[k]),
                                       cudaMemcpyDeviceToDevice, stream));
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
  const char* fault = std::getenv("TRTORCH_TEST_GRAPH_FAULT");
  const bool poison = fault && std::string(fault) == "1";
  std::string why;
  for (int rep = 0; rep < 2 && why.empty(); ++rep) {
    replay(inputs, ws, stream);
    for (size_t k = 0; k < outputs.size() && why.empty(); ++k) {
      if (poison)
        TRTORCH_CUDA_CHECK(cudaMemsetAsync(ws + output_stage_[k], 0xff, eager[k].nbytes(), stream));
      ir::HostTensor replayed = host_copy(ws + output_stage_[k], g.outputs()[k]);
      TRTORCH_CUDA_CHECK(cudaStreamSynchronize(stream));
      double num = 0, den = 0;
      bool exact = !ir::is_floating(eager[k].dtype);
      bool same = true;
      for (int64_t j = 0; j < eager[k].numel() && same; ++j) {
        const double a = replayed.get(j), b = eager[k].get(j);
        if (exact || std::isnan(a) || std::isnan(b) || std::isinf(a) || std::isinf(b)) {
          same = a == b || (std::isnan(a) && std::isnan(b));
        } else {
          num = std::max(num, std::fabs(a - b));
          den = std::max(den, std::fabs(b));
        }
      }
      if (same && num > 1e-3 * std::max(den, 1e-30)) same = false;
      if (!same)
        why = str_cat("replay ", rep + 1, " differs from eager launches on output ", k,
                      exact || !(den > 0) ? std::string() : str_cat(" (rel. diff ", num / den, ")"));
    }
  }
  if (why.empty()) return true;
  drop_graph(why);
  return false;
}

void CudaExecutor::replay(const std::vector<const void*>& inputs, char* ws, cudaStream_t stream) {
  const ir::Graph& g = *engine_->graph;
  for (size_t i = 0; i < inputs.size(); ++i)
    TRTORCH_CUDA_CHECK(cudaMemcpyAsync(ws + input_stage_[i], inputs[i], descs_[size_t(g.inputs()[i]->id)].bytes(),
                                       cudaMemcpyDeviceToDevice, stream));
  TRTORCH_CUDA_CHECK(cudaGraphLaunch(graph_exec_, stream));
}

void CudaExecutor::drop_graph(const std::string& why) {
  TRTORCH_LOG(kWarning, "CUDA graph of this engine: ", why, "; the engine runs with eager launches");
  if (graph_exec_) cudaGraphExecDestroy(graph_exec_);
  graph_exec_ = nullptr;
  graph_workspace_ = nullptr;
  use_graph_ = false;
}

std::vector<uint8_t> CudaExecutor::tactic_data() const {
  std::string s = std::string(kTacticHeader) + "\n" + (allow_tf32_ ? "allow_tf32=1\n" : "allow_tf32=0\n");
  for (const std::string& t : tactics_) {
    TRTORCH_CHECK(t.find('\n') == std::string::npos, "tactic strings must be one line");
    s += t + "\n";
  }
  return std::vector<uint8_t>(s.begin(), s.end());
}

// ---------------------------------------------------------------------------------------------
std::shared_ptr<plan::Engine> specialize_engine(const plan::Engine& e, const std::vector<plan::Shape>& shapes) {
  auto s = std::make_shared<plan::Engine>();
  s->device = e.device;
  s->precision = e.precision;
  s->graph = ir::specialize(*e.graph, shapes);
  s->input_names = e.input_names;
  s->output_names = e.output_names;
  s->producer = e.producer;
  s->backend_data = e.backend_data;
  return s;
}

CudaExecutor& DynamicCudaExecutor::instance(const std::vector<plan::Shape>& shapes) {
  auto it = std::find_if(instances_.begin(), instances_.end(), [&](const auto& p) { return p.first == shapes; });
  if (it == instances_.begin() && it != instances_.end()) return *it->second;
  std::pair<std::vector<plan::Shape>, std::unique_ptr<CudaExecutor>> entry;
  if (it != instances_.end()) {
    entry = std::move(*it);
    instances_.erase(it);
  } else {
    const bool at_opt = shapes == engine_->opt_shapes;
    entry = {shapes, std::make_unique<CudaExecutor>(specialize_engine(*engine_, shapes), nullptr, !at_opt)};
    if (instances_.size() >= kMaxShapes) instances_.pop_back();
  }
  instances_.insert(instances_.begin(), std::move(entry));
  return *instances_.front().second;
}

namespace {

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

void build_for_cuda(plan::Engine& e, const plan::BuildConfig& config) {
  auto ctx = context_for(e.device.gpu_id);
  e.device.gpu_name = ctx->props().name;
  e.device.sm_major = ctx->props().major;
  e.device.sm_minor = ctx->props().minor;
  BuildState state;
  state.timing.min_timing_iters = std::max(config.num_min_timing_iters, 0);
  state.timing.avg_timing_iters = std::max(config.num_avg_timing_iters, 1);
  state.timing.allow_tf32 = config.allow_tf32;
  if (config.workspace_size > 0) state.timing.max_scratch_bytes = config.workspace_size;
  std::map<std::string, std::string> cache;
  if (!config.timing_cache_path.empty()) {
    cache = read_timing_cache(config.timing_cache_path);
    state.cache = &cache;
  }
  if (ir::is_dynamic(*e.graph)) {
    // Dynamic shapes: tactics are chosen on the graph specialized to the opt shapes (same nodes
    // in the same order, so the tactic list fits the dynamic graph); the memory plan is reported
    // for the max shapes, where an executor is built as at run time.
    CudaExecutor ex(specialize_engine(e, e.opt_shapes), &state);
    e.backend_data = ex.tactic_data();
    std::vector<plan::Shape> max_shapes;
    for (const ir::Value* v : e.graph->inputs()) {
      plan::Shape s;
      for (const ir::Dim& d : v->type.dims) s.push_back(d.max);
      max_shapes.push_back(s);
    }
    CudaExecutor at_max(specialize_engine(e, max_shapes), nullptr, /*shape_changed=*/true);
    TRTORCH_LOG(kInfo, "CUDA engine with dynamic shapes built for ", e.device.str(), ": tactics chosen at the opt shapes ",
                "(arena ", ex.arena_bytes(), " bytes); arena at the max shapes ", at_max.arena_bytes(), " bytes; ",
                ex.cache_hits(), " tactics from the timing cache");
  } else {
    // Build an executor over a non-owning view of the engine: kernels time their tactics.
    std::shared_ptr<const plan::Engine> view(&e, [](const plan::Engine*) {});
    CudaExecutor ex(view, &state);
    e.backend_data = ex.tactic_data();
    TRTORCH_LOG(kInfo, "CUDA engine built for ", e.device.str(), ": arena ", ex.arena_bytes(), " bytes; ",
                ex.cache_hits(), " tactics from the timing cache");
  }
  if (!config.timing_cache_path.empty()) write_timing_cache(config.timing_cache_path, cache);
}

const bool registered =
    plan::register_backend(plan::DeviceType::kCUDA,
                           [](std::shared_ptr<const plan::Engine> e) -> std::unique_ptr<plan::Executor> {
                             if (ir::is_dynamic(*e->graph)) return std::make_unique<DynamicCudaExecutor>(std::move(e));
                             return std::make_unique<CudaExecutor>(std::move(e), nullptr);
                           }) &&
    plan::register_backend_builder(plan::DeviceType::kCUDA, build_for_cuda);

}  // namespace

bool cuda_backend_registered() { return registered; }

}  // namespace trtorch::backends::cuda
