// Partial compilation's driver: partition, find boundary shapes, convert and build each engine
// segment (a node that fails to convert goes to TorchScript and the graph is partitioned again),
// then stitch the engine calls into the TorchScript graph.
#pragma once

#include <torch/csrc/jit/api/module.h>

#include <memory>
#include <string>
#include <vector>

#include "core/frontend/conversion/conversion.h"
#include "core/frontend/partitioning/forced.h"
#include "core/frontend/partitioning/partitioning.h"
#include "core/frontend/partitioning/settings.h"
#include "core/plan/builder.h"

namespace trtorch::frontend {

// `g`: the lowered method graph; `frozen`: the module its input 0 is (kept as the submodule
// "original" when the graph reads its attributes at run time). Returns a module of class
// __torch__.trtorch.CompiledModule whose `method` runs engine segments through
// trtorch::execute_engine and the rest as TorchScript.
torch::jit::Module compile_partitioned(const torch::jit::Module& frozen, const std::string& method,
                                       std::shared_ptr<torch::jit::Graph> g, const std::vector<InputSpec>& inputs,
                                       const plan::BuildConfig& build, const PartitionSettings& settings,
                                       ForcedNodes forced);

}  // namespace trtorch::frontend
