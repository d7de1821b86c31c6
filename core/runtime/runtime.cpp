// The runtime: the engine custom class (deserialize, run on torch tensors, pickle) and the
// trtorch::execute_engine op (see runtime.h).
#include "core/runtime/runtime.h"

#include <map>
#include <sstream>

#ifdef TRTORCH_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

#include "core/plan/calibration.h"
#include "core/util/error.h"

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

}  // namespace

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

EngineHolder::EngineHolder(std::string serialized) : device_(at::kCPU) {
  engine_ = std::make_shared<plan::Engine>(
      plan::deserialize(reinterpret_cast<const uint8_t*>(serialized.data()), serialized.size()));
  std::string().swap(serialized);  // the bytes go now, before the executor adds its own state
  init();
}

EngineHolder::EngineHolder(std::shared_ptr<const plan::Engine> engine) : engine_(std::move(engine)), device_(at::kCPU) {
  TRTORCH_CHECK(engine_ && engine_->graph, "EngineHolder: no engine");
  init();
}

void EngineHolder::init() {
  executor_ = plan::make_executor(engine_);
  if (engine_->device.type != plan::DeviceType::kReference)
    device_ = at::Device(at::kCUDA, c10::DeviceIndex(engine_->device.gpu_id));
  for (const ir::Value* v : engine_->graph->inputs()) {
    input_dtypes_.push_back(v->type.dtype);
    input_torch_dtypes_.push_back(to_torch_dtype(v->type.dtype));
  }
  for (const ir::Value* v : engine_->graph->outputs()) output_torch_dtypes_.push_back(to_torch_dtype(v->type.dtype));
}

at::Device EngineHolder::device() const { return device_; }

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
  const plan::Int8LayerCount c = plan::int8_layer_count(*engine_->graph);
  if (c.int8 + c.dequantized > 0)
    os << "; int8 layers: " << c.str() << "; ops by precision: " << plan::precision_summary(*engine_->graph);
  return os.str();
}

std::vector<at::Tensor> EngineHolder::run(const std::vector<at::Tensor>& inputs) {
  const plan::Engine& e = *engine_;
  const at::Device dev = device_;
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

  std::lock_guard<std::mutex> lock(mu_);
  auto out_shapes = executor_->output_shapes(shapes);
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
  const size_t ws = executor_->workspace_size(shapes);
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
    if (!arena_ || arena_stream_ != stream) {
      arena_ = arena_for(dev.index(), stream);
      arena_stream_ = stream;
    }
    std::lock_guard<std::mutex> arena_lock(arena_->mu);
    try {
      executor_->execute(in_ptrs, shapes, out_ptrs, grow(arena_->buffer), stream);
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
  executor_->execute(in_ptrs, shapes, out_ptrs, grow(workspace_), nullptr);
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
        .def_pickle(
            [](const c10::intrusive_ptr<EngineHolder>& self) -> std::string { return self->serialized(); },
            [](std::string state) -> c10::intrusive_ptr<EngineHolder> {
              return c10::make_intrusive<EngineHolder>(std::move(state));
            });

TORCH_LIBRARY(trtorch, m) {
  m.def("execute_engine(Tensor[] inputs, __torch__.torch.classes.trtorch.Engine engine) -> Tensor[]",
        execute_engine);
}

}  // namespace
}  // namespace trtorch::runtime

// Referenced by cmake/trtorch_runtime_anchor.cpp, which the installed CMake package compiles into
// every program that links trtorch::runtime: it keeps the library (and its registrations) linked.
extern "C" __attribute__((visibility("default"))) int trtorch_runtime_anchor() { return 1; }
