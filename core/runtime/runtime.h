// The runtime: a TorchScript custom class that holds a deserialized engine
// (torch.classes.trtorch.Engine) and the op that runs it (trtorch::execute_engine).
//
// A compiled module's forward is
//   %engine = prim::GetAttr[name="trtorch_engine_0"](%self)
//   %outs : Tensor[] = trtorch::execute_engine(%inputs : Tensor[], %engine)
// so several engines can sit in one TorchScript graph. The class pickles to its serialized
// engine bytes, so torch.jit.save / torch.jit.load carry it.
#pragma once

#include <torch/custom_class.h>
#include <torch/torch.h>

#include <memory>
#include <mutex>
#include <string>

#include "core/plan/backend.h"

namespace trtorch::runtime {

constexpr const char* kEngineClassQualName = "__torch__.torch.classes.trtorch.Engine";

struct StreamArena;

struct EngineHolder : torch::CustomClassHolder {
  explicit EngineHolder(std::string serialized);
  // An engine just built (the compiler's): taken as it is.
  explicit EngineHolder(std::shared_ptr<const plan::Engine> engine);

  std::vector<at::Tensor> run(const std::vector<at::Tensor>& inputs);
  at::Device device() const;
  const plan::Engine& engine() const { return *engine_; }
  // The engine's bytes, serialized again from the loaded engine (byte-identical to the bytes it was
  // loaded from): a loaded module keeps its weights once, in the decoded engine, not twice.
  std::string serialized() const;
  // One line: device, precision, node count, producer, inputs and the build options.
  std::string info() const;

 private:
  void init();  // the executor and the per-call lookups
  std::shared_ptr<const plan::Engine> engine_;
  std::unique_ptr<plan::Executor> executor_;
  at::Device device_;
  std::vector<ir::DType> input_dtypes_;
  std::vector<at::ScalarType> input_torch_dtypes_, output_torch_dtypes_;
  at::Tensor workspace_;  // reference backend: kept between runs
  // CUDA: the activation arena of the stream the engine last ran on (arena_stream_), shared with
  // every engine that runs on that stream (see runtime.cpp).
  std::shared_ptr<StreamArena> arena_;
  const void* arena_stream_ = nullptr;
  std::mutex mu_;
};

// Makes the engine object as an IValue (for building the compiled module).
c10::IValue make_engine_ivalue(std::shared_ptr<const plan::Engine> engine);
c10::IValue make_engine_ivalue(std::string serialized);

// The torch dtype of an engine input or output (the runtime's own map; the compiler's is
// core/frontend/dtype_map.h).
at::ScalarType to_torch_dtype(ir::DType t);

}  // namespace trtorch::runtime
