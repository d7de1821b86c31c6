// The runtime: a TorchScript custom class that holds a deserialized engine
// (torch.classes.trtorch.Engine) and the op that runs it (trtorch::execute_engine).
//
// A compiled module's forward is
//   %engine = prim::GetAttr[name="trtorch_engine_0"](%self)
//   %outs : Tensor[] = trtorch::execute_engine(%inputs : Tensor[], %engine)
// so several engines can sit in one TorchScript graph. The class pickles to its serialized
// engine bytes, so torch.jit.save / torch.jit.load carry it.
//
// Placement: a CUDA engine runs on any GPU with the compute capability it was built for. Under the
// placement kInputs (the default) a loaded engine is prepared on the current CUDA device (the
// recorded GPU instead when only that one has the engine's architecture), and a call whose inputs
// are on another GPU prepares it there (once: kernels rebuilt from the recorded tactics and saved
// plans, weights copied; a move when no call ran where it was loaded), so a module moved with
// .to("cuda:1"), loaded with map_location, or called from a thread per GPU, runs where its inputs
// are. Under kRecorded it runs only on the GPU it was built on (its recorded gpu_id). Another
// architecture is refused, naming both GPUs.
#pragma once

#include <torch/custom_class.h>
#include <torch/torch.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/plan/backend.h"

namespace trtorch::runtime {

constexpr const char* kEngineClassQualName = "__torch__.torch.classes.trtorch.Engine";

struct StreamArena;

enum class EnginePlacement : uint8_t {
  kInputs,    // the GPU of the call's inputs; at load, the current CUDA device
  kRecorded,  // the GPU the engine was built on
};
// Process-wide; engines loaded (and inputs placed) after the change follow it. The default is
// kInputs, or what the environment variable TRTORCH_ENGINE_PLACEMENT says ("inputs" or
// "recorded"). Also the ops trtorch::set_engine_placement(str) / trtorch::engine_placement().
void set_engine_placement(EnginePlacement p);
EnginePlacement engine_placement();
const char* engine_placement_name(EnginePlacement p);
// "inputs" or "recorded"; anything else is an error naming the valid values.
EnginePlacement parse_engine_placement(const std::string& name);

struct EngineHolder : torch::CustomClassHolder {
  explicit EngineHolder(std::string serialized);
  // An engine just built (the compiler's): taken as it is.
  explicit EngineHolder(std::shared_ptr<const plan::Engine> engine);

  std::vector<at::Tensor> run(const std::vector<at::Tensor>& inputs);
  // Where the engine was prepared when it was made (built: the build's GPU; loaded: see
  // EnginePlacement); calls may prepare it on other GPUs too.
  at::Device device() const;
  // The devices it is prepared on, in index order.
  std::vector<at::Device> prepared_devices();
  const plan::Engine& engine() const { return *engine_; }
  // The engine's bytes, serialized again from the loaded engine (byte-identical to the bytes it was
  // loaded from): a loaded module keeps its weights once, in the decoded engine, not twice.
  std::string serialized() const;
  // One line: device, precision, node count, producer, inputs and the build options.
  std::string info() const;

 private:
  // The engine prepared on one device: its executor and run state. Calls on one device run one
  // at a time (mu); calls on different devices run at once.
  struct OnDevice {
    explicit OnDevice(at::Device d) : device(d) {}
    at::Device device;
    std::unique_ptr<plan::Executor> executor;
    at::Tensor workspace;  // reference backend: kept between runs
    // CUDA: the activation arena of the stream the engine last ran on here (arena_stream), shared
    // with every engine that runs on that stream (see runtime.cpp).
    std::shared_ptr<StreamArena> arena;
    const void* arena_stream = nullptr;
    bool ran = false;  // a call ran here (guarded by devices_mu_)
    std::mutex mu;
  };

  // Prepares the engine on `device` (the reference backend: the CPU) and records the per-call
  // lookups.
  void init(at::Device device);
  // The engine on `device`, prepared on first use (`for_run`: for a call). Preparing it for a call
  // on another device while the one it was prepared on at load never ran drops that one (a move).
  OnDevice& on(at::Device device, bool for_run);
  // The device a call with these inputs runs on.
  at::Device device_for(const std::vector<at::Tensor>& inputs) const;

  std::shared_ptr<const plan::Engine> engine_;
  std::vector<ir::DType> input_dtypes_;
  std::vector<at::ScalarType> input_torch_dtypes_, output_torch_dtypes_;
  // Guards devices_, device_ and the `ran` flags. An OnDevice is removed only before any call ran
  // on it (so no caller holds it).
  mutable std::mutex devices_mu_;
  at::Device device_;  // the device of device()
  std::map<int, std::unique_ptr<OnDevice>> devices_;  // by device index (-1: the CPU)
};

// Makes the engine object as an IValue (for building the compiled module).
c10::IValue make_engine_ivalue(std::shared_ptr<const plan::Engine> engine);
c10::IValue make_engine_ivalue(std::string serialized);

// The torch dtype of an engine input or output (the runtime's own map; the compiler's is
// core/frontend/dtype_map.h).
at::ScalarType to_torch_dtype(ir::DType t);

}  // namespace trtorch::runtime
