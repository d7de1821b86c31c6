// The compiler pipeline behind the public APIs: lower -> convert -> build -> wrap.
#pragma once

#include <torch/csrc/jit/api/module.h>

#include <memory>
#include <string>
#include <vector>

#include "core/frontend/calibration.h"
#include "core/frontend/conversion/conversion.h"
#include "core/frontend/partitioning/settings.h"
#include "core/plan/builder.h"

namespace trtorch::frontend {

struct CompileOptions {
  std::vector<InputSpec> inputs;
  plan::BuildConfig build;
  PartitionSettings partition;
  // INT8 post-training quantization (build.int8 with a calibrator); null: none.
  std::shared_ptr<const CalibrationSettings> calibration;
};

struct CompiledEngine {
  std::shared_ptr<plan::Engine> engine;  // handed to the runtime as it is (no serialize / deserialize)
  std::vector<OutputTree> returns;
  std::vector<std::string> input_names;
};

CompiledEngine compile_engine(const torch::jit::Module& module, const std::string& method, const CompileOptions& opts);

// A TorchScript module whose `method` runs the engine and rebuilds the original return value.
torch::jit::Module compile_module(const torch::jit::Module& module, const std::string& method,
                                  const CompileOptions& opts);

// One line per unsupported node (empty when the method is fully supported).
std::vector<std::string> check_method_support(const torch::jit::Module& module, const std::string& method);

}  // namespace trtorch::frontend
