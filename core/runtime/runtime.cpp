// The runtime: the engine custom class (deserialize, run on torch tensors, pickle) and the
// trtorch::execute_engine op (see runtime.h).
#include "core/runtime/runtime.h"

#include <atomic>
#include <map>
#include <sstream>

#ifdef TRTORCH_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

#include "core/plan/calibration.h"
#include "core/util/debug.h"
#include "core/util/error.h"
#include "core/util/logging.h"

namespace trtorch::runtime {

// Engines that run on one CUDA stream run one after another, so they can share one activation arena
// per (device, stream): the engine segments of a partially compiled module (and several compiled
// modules on one stream) need only the largest arena, not the sum. The arena's mutex is held while
// an engine enqueues its work, so that growing the arena never frees memory another engine's
// enqueued kernels still use; the caching allocator reuses the freed block only on the same stream,
// after them. A stream's arena lives while an engine that ran on it does.
struct StreamArena {
  std::mutex mu;
  at::Tensor buffer;  // a fixed address between growths (CUDA graph replay)
};

namespace {

std::shared_ptr<StreamArena> arena_for(int device, const void* stream) {
  static std::mutex mu;
  static std::map<std::pair<int, const void*>, std::weak_ptr<StreamArena>> arenas;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = arenas[{device, stream}];
  std::shared_ptr<StreamArena> a = slot.lock();
  if (!a) {
    a = std::make_shared<StreamArena>();
    slot = a;
  }
  return a;
}

// The placement: set by set_engine_placement(), or the environment's once it has been read (every
// engine call asks for it); -1 before either. A bad environment value is not kept: each ask says so.
std::atomic<int> g_placement{-1};

}  // namespace

void set_engine_placement(EnginePlacement p) {
  TRTORCH_EXPECT(p == EnginePlacement::kInputs || p == EnginePlacement::kRecorded, "unknown engine placement ",
                 int(p));
  g_placement = int(p);
}

EnginePlacement engine_placement() {
  const int set = g_placement.load();
  if (set >= 0) return EnginePlacement(set);
  const std::string env = util::debug_switch_value(util::DebugSwitch::kEnginePlacement);
  EnginePlacement p = EnginePlacement::kInputs;
  try {
    if (!env.empty()) p = parse_engine_placement(env);
  } catch (const Error& e) {
    TRTORCH_ERROR("TRTORCH_ENGINE_PLACEMENT: ", e.what());
  }
  int unset = -1;  // a value set meanwhile through the API wins
  g_placement.compare_exchange_strong(unset, int(p));
  return EnginePlacement(g_placement.load());
}

const char* engine_placement_name(EnginePlacement p) {
  return p == EnginePlacement::kRecorded ? "recorded" : "inputs";
}

EnginePlacement parse_engine_placement(const std::string& name) {
  if (name == "inputs") return EnginePlacement::kInputs;
  if (name == "recorded") return EnginePlacement::kRecorded;
  TRTORCH_ERROR("unknown engine placement '", name,
                "': expected 'inputs' (run on the GPU of the inputs) or 'recorded' (only on the GPU the engine "
                "was built on)");
}

at::ScalarType to_torch_dtype(ir::DType t) {
  switch (t) {
    case ir::DType::kFloat32: return at::kFloat;
    case ir::DType::kFloat16: return at::kHalf;
    case ir::DType::kBFloat16: return at::kBFloat16;
    case ir::DType::kInt32: return at::kInt;
    case ir::DType::kInt64: return at::kLong;
    case ir::DType::kBool: return at::kBool;
    case ir::DType::kInt8: return at::kChar;
  }
  TRTORCH_ERROR("unknown engine dtype ", int(t));
}

namespace {

bool is_cuda_engine(const plan::Engine& e) { return e.device.type != plan::DeviceType::kReference; }

at::Device recorded_device(const plan::Engine& e) {
  return is_cuda_engine(e) ? at::Device(at::kCUDA, c10::DeviceIndex(e.device.gpu_id)) : at::Device(at::kCPU);
}

#ifdef TRTORCH_WITH_CUDA
// Whether CUDA device `d` exists and has the compute capability the engine was built for.
bool fits(const plan::Engine& e, int d) {
  int n = 0, major = -1, minor = -1;
  const bool ok = cudaGetDeviceCount(&n) == cudaSuccess && d >= 0 && d < n &&
                  cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, d) == cudaSuccess &&
                  cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, d) == cudaSuccess;
  if (!ok) cudaGetLastError();
  return ok && major == e.device.sm_major && minor == e.device.sm_minor;
}
#endif

// Where a loaded engine is prepared: the GPU it was built on, or under the placement kInputs the
// current CUDA device when it has the engine's architecture (else the recorded GPU when that one
// has: a machine with GPUs of two kinds). Where neither fits, the executor's check names both.
at::Device load_device(const plan::Engine& e) {
#ifdef TRTORCH_WITH_CUDA
  if (is_cuda_engine(e) && engine_placement() == EnginePlacement::kInputs) {
    int current = 0;
    if (cudaGetDevice(&current) != cudaSuccess) {
      cudaGetLastError();  // no device: the executor's own check says so
      return recorded_device(e);
    }
    if (fits(e, current) || !fits(e, e.device.gpu_id)) return at::Device(at::kCUDA, c10::DeviceIndex(current));
  }
#endif
  return recorded_device(e);
}

}  // namespace

EngineHolder::EngineHolder(std::string serialized) : device_(at::kCPU) {
  engine_ = std::make_shared<plan::Engine>(
      plan::deserialize(reinterpret_cast<const uint8_t*>(serialized.data()), serialized.size()));
  std::string().swap(serialized);  // the bytes go now, before the executor adds its own state
  init(load_device(*engine_));
}

EngineHolder::EngineHolder(std::shared_ptr<const plan::Engine> engine) : engine_(std::move(engine)), device_(at::kCPU) {
  TRTORCH_CHECK(engine_ && engine_->graph, "EngineHolder: no engine");
  init(recorded_device(*engine_));
}

void EngineHolder::init(at::Device device) {
  device_ = device;
  on(device, /*for_run=*/false);
  for (const ir::Value* v : engine_->graph->inputs()) {
    input_dtypes_.push_back(v->type.dtype);
    input_torch_dtypes_.push_back(to_torch_dtype(v->type.dtype));
  }
  for (const ir::Value* v : engine_->graph->outputs()) output_torch_dtypes_.push_back(to_torch_dtype(v->type.dtype));
}

EngineHolder::OnDevice& EngineHolder::on(at::Device device, bool for_run) {
  const int index = device.is_cuda() ? int(device.index()) : -1;
  std::lock_guard<std::mutex> lock(devices_mu_);
  auto it = devices_.find(index);
  if (it != devices_.end()) {
    it->second->ran = it->second->ran || for_run;
    return *it->second;
  }
  // Preparing on another GPU rebuilds the recorded tactics there (no timing) and copies the
  // weights: the first call there pays a load. The calls of this engine wait meanwhile.
  auto d = std::make_unique<OnDevice>(device);
  d->executor = plan::make_executor(engine_, device.is_cuda() ? index : plan::kRecordedDevice);
  d->ran = for_run;
  // The engine moves rather than copies when the device it was prepared on at load never ran it
  // (a module loaded on one GPU and called on another: torch.jit.load with map_location, or a
  // server's instance per GPU): its memory there goes.
  if (devices_.size() == 1 && !devices_.begin()->second->ran) {
    TRTORCH_LOG(kInfo, "trtorch engine: moved from ", devices_.begin()->second->device.str(), " to ", device.str(),
                " (its inputs are there)");
    devices_.clear();
    device_ = device;
  } else if (!devices_.empty()) {
    TRTORCH_LOG(kInfo, "trtorch engine: also prepared on ", device.str(), " (its inputs are there)");
  }
  return *devices_.emplace(index, std::move(d)).first->second;
}

at::Device EngineHolder::device_for(const std::vector<at::Tensor>& inputs) const {
  if (is_cuda_engine(*engine_)) {
    if (engine_placement() == EnginePlacement::kRecorded) return recorded_device(*engine_);
    for (const at::Tensor& t : inputs)
      if (t.defined() && t.is_cuda()) return t.device();
  }
  return device();
}

at::Device EngineHolder::device() const {
  std::lock_guard<std::mutex> lock(devices_mu_);
  return device_;
}

std::vector<at::Device> EngineHolder::prepared_devices() {
  std::lock_guard<std::mutex> lock(devices_mu_);
  std::vector<at::Device> out;
  for (const auto& [index, d] : devices_) out.push_back(d->device);
  return out;
}

std::string EngineHolder::serialized() const {
  return plan::serialize_string(*engine_);
}

std::string EngineHolder::info() const {
  std::ostringstream os;
  os << "trtorch engine for " << engine_->device.str() << ", precision " << ir::dtype_name(engine_->precision)
     << ", " << engine_->graph->num_nodes() << " nodes, produced by " << engine_->producer << "; inputs:";
  for (size_t i = 0; i < engine_->graph->inputs().size(); ++i)
    os << " " << engine_->input_names[i] << ":" << engine_->graph->inputs()[i]->type.str();
  os << "; build options: " << (engine_->build_options.empty() ? "(not recorded)" : engine_->build_options);
  // Which layers run in INT8 or on dequantized inputs; the other ops run in the engine precision.
  // (An INT8 build says so also when none does: its layers all timed faster in float.)
  const plan::Int8LayerCount c = plan::int8_layer_count(*engine_->graph);
  if (c.int8 + c.dequantized > 0 || engine_->build_options.find(";int8=") != std::string::npos)
    os << "; int8 layers: " << c.str() << "; ops by precision: " << plan::precision_summary(*engine_->graph);
  return os.str();
}

std::vector<at::Tensor> EngineHolder::run(const std::vector<at::Tensor>& inputs) {
  const plan::Engine& e = *engine_;
  const at::Device dev = device_for(inputs);
  std::vector<plan::Shape> shapes;
  TRTORCH_EXPECT(inputs.size() == input_dtypes_.size(), "trtorch engine expects ", input_dtypes_.size(),
                 " inputs, got ", inputs.size());
  shapes.reserve(inputs.size());
  std::vector<const void*> in_ptrs;
  in_ptrs.reserve(inputs.size());
  std::vector<at::Tensor> materialized;  // inputs that had to be made dense, kept alive for the run
  for (size_t i = 0; i < inputs.size(); ++i) {
    const at::Tensor& t = inputs[i];
    TRTORCH_EXPECT(t.defined(), "input ", i, " ('", e.input_names[i], "') is an undefined tensor");
    TRTORCH_EXPECT(t.layout() == at::kStrided, "input ", i, " ('", e.input_names[i], "') is a ",
                   c10::toString(t.layout()), " tensor; engines take dense (strided) tensors (call .to_dense())");
    TRTORCH_EXPECT(t.device() == dev, "input ", i, " ('", e.input_names[i], "') is on ", t.device().str(),
                   " but the engine runs on ", dev.str(), " (", e.device.str(), ")");
    TRTORCH_EXPECT(t.scalar_type() == input_torch_dtypes_[i], "input ", i, " ('", e.input_names[i],
                   "') must have dtype ", ir::dtype_name(input_dtypes_[i]), " (", c10::toString(input_torch_dtypes_[i]),
                   "), got ", c10::toString(t.scalar_type()));
    shapes.push_back(t.sizes().vec());
    if (t.is_contiguous() && !t.is_neg() && !t.is_conj()) {
      in_ptrs.push_back(t.const_data_ptr());
    } else {
      // A lazily negated or conjugated view (torch's neg / conj bits) is materialized: the engine
      // reads the bytes, which hold the values before negation.
      materialized.push_back(t.resolve_conj().resolve_neg().contiguous());
      in_ptrs.push_back(materialized.back().const_data_ptr());
    }
  }
  plan::check_inputs(e, input_dtypes_, shapes);

  OnDevice& here = on(dev, /*for_run=*/true);
  std::lock_guard<std::mutex> lock(here.mu);
  plan::Executor& executor = *here.executor;
  auto out_shapes = executor.output_shapes(shapes);
  std::vector<at::Tensor> outputs;
  std::vector<void*> out_ptrs;
  outputs.reserve(out_shapes.size());
  out_ptrs.reserve(out_shapes.size());
  for (size_t i = 0; i < out_shapes.size(); ++i) {
    outputs.push_back(at::empty(out_shapes[i], at::TensorOptions().device(dev).dtype(output_torch_dtypes_[i])));
    out_ptrs.push_back(outputs.back().data_ptr());
  }
  // The workspace (the engine's activation arena) comes from torch's allocator and is kept: a fixed
  // address lets the CUDA backend replay its captured CUDA graph.
  const size_t ws = executor.workspace_size(shapes);
  auto grow = [&](at::Tensor& buffer) {
    if (ws > 0 && (!buffer.defined() || size_t(buffer.numel()) < ws))
      buffer = at::empty({int64_t(ws)}, at::TensorOptions().device(dev).dtype(at::kByte));
    return ws > 0 ? buffer.data_ptr() : nullptr;
  };
#ifdef TRTORCH_WITH_CUDA
  if (dev.is_cuda()) {
    c10::cuda::CUDAGuard guard(dev);
    // Torch's current stream: the engine composes with the caller's other work on it.
    void* stream = c10::cuda::getCurrentCUDAStream(dev.index()).stream();
    if (!here.arena || here.arena_stream != stream) {
      here.arena = arena_for(dev.index(), stream);
      here.arena_stream = stream;
    }
    std::lock_guard<std::mutex> arena_lock(here.arena->mu);
    try {
      executor.execute(in_ptrs, shapes, out_ptrs, grow(here.arena->buffer), stream);
    } catch (...) {
      // A recoverable CUDA error (out of memory) is reported by this exception; left as the
      // thread's last error, torch's next kernel-launch check would report it again as its own.
      cudaGetLastError();
      throw;
    }
    return outputs;
  }
#else
  TRTORCH_EXPECT(!dev.is_cuda(), "this build of the trtorch runtime has no CUDA support");
#endif
  executor.execute(in_ptrs, shapes, out_ptrs, grow(here.workspace), nullptr);
  return outputs;
}

c10::IValue make_engine_ivalue(std::shared_ptr<const plan::Engine> engine) {
  return c10::IValue(c10::make_intrusive<EngineHolder>(std::move(engine)));
}

c10::IValue make_engine_ivalue(std::string serialized) {
  return c10::IValue(c10::make_intrusive<EngineHolder>(std::move(serialized)));
}

namespace {

std::vector<at::Tensor> execute_engine(std::vector<at::Tensor> inputs, c10::intrusive_ptr<EngineHolder> engine) {
  return engine->run(inputs);
}

// Registration: the class first, then the op whose schema names it (same translation unit,
// so the order is fixed).
static auto engine_class =
    torch::class_<EngineHolder>("trtorch", "Engine")
        .def(torch::init<std::string>())
        .def("info", [](const c10::intrusive_ptr<EngineHolder>& self) { return self->info(); })
        // "cuda:0", ...: the devices the engine is prepared on.
        .def("devices",
             [](const c10::intrusive_ptr<EngineHolder>& self) {
               std::vector<std::string> out;
               for (const at::Device& d : self->prepared_devices()) out.push_back(d.str());
               return out;
             })
        .def_pickle(
            [](const c10::intrusive_ptr<EngineHolder>& self) -> std::string { return self->serialized(); },
            [](std::string state) -> c10::intrusive_ptr<EngineHolder> {
              return c10::make_intrusive<EngineHolder>(std::move(state));
            });

TORCH_LIBRARY(trtorch, m) {
  m.def("execute_engine(Tensor[] inputs, __torch__.torch.classes.trtorch.Engine engine) -> Tensor[]",
        execute_engine);
  // The placement of engines (runtime.h), for processes that load only this library.
  m.def("set_engine_placement(str placement) -> ()",
        [](const std::string& p) { set_engine_placement(parse_engine_placement(p)); });
  m.def("engine_placement() -> str", [] { return std::string(engine_placement_name(engine_placement())); });
}

}  // namespace
}  // namespace trtorch::runtime

// Referenced by cmake/trtorch_runtime_anchor.cpp, which the installed CMake package compiles into
// every program that links trtorch::runtime: it keeps the library (and its registrations) linked.
extern "C" __attribute__((visibility("default"))) int trtorch_runtime_anchor() { return 1; }
