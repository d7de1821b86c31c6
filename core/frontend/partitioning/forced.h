// The nodes partial compilation sends to TorchScript before partitioning, with the reason for the
// report: those the settings name, and those around in-place writes.
#pragma once

#include <torch/csrc/jit/ir/ir.h>

#include <vector>

#include "core/frontend/partitioning/partitioning.h"
#include "core/frontend/partitioning/settings.h"

namespace trtorch::frontend {

// torch_executed_ops / torch_executed_modules. An unknown module name is an error naming the
// classes the module has (the module's own class names all of its code).
ForcedNodes forced_by_settings(torch::jit::Graph& g, const PartitionSettings& s);

// In-place writes: the write, the views of the written tensor and the tensor they view (by the
// ops' alias annotations), and lists and dicts mutated in place with their readers. `mutations`:
// what lowering found written and read again.
void force_mutations(torch::jit::Graph& g, const std::vector<torch::jit::Node*>& mutations, ForcedNodes& forced);

}  // namespace trtorch::frontend
