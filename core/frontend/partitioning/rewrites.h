// Rewrites and analyses of the lowered graph that partial compilation runs before partitioning.
#pragma once

#include <torch/csrc/jit/ir/ir.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "core/frontend/partitioning/partitioning.h"
#include "core/frontend/partitioning/shape_analysis.h"

namespace trtorch::frontend {

// A List[Tensor] argument of a known length (`counts`, from flat_input_counts) is unpacked on
// entry and rebuilt as a new list, so that engine segments can take its tensors.
void unpack_list_inputs(torch::jit::Graph& g, const std::vector<size_t>& counts);

// Inlines the taken branch of every prim::If whose condition the compile spec fixes (ranks,
// dtypes, a static input's sizes) as the sample runs saw it. Returns how many it inlined.
size_t fold_fixed_branches(torch::jit::Block* b, const ShapeMap& shapes, bool static_shapes, ForcedNodes& forced);

// Values whose shape (for a scalar: whose value) may depend on tensor data, each with the op it
// comes from (see rewrites.cpp).
using DataDependent = std::unordered_map<const torch::jit::Value*, std::string>;
DataDependent data_dependent_values(torch::jit::Graph& g, const ShapeMap& shapes);

}  // namespace trtorch::frontend
