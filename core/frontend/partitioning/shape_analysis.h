// Shape analysis for partial compilation: runs the lowered TorchScript graph on sample inputs
// (random, at the min, opt and max shapes of each input) and records the shape and dtype of every
// tensor value it computes (and every prim::If condition), nested blocks included. Engine segments take their boundary tensors'
// shapes from it.
#pragma once

#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/ir.h>

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/frontend/conversion/conversion.h"

namespace trtorch::frontend {

struct ValueShapes {
  bool seen = false;    // computed in at least one sample run
  bool stable = true;   // one shape per input shape: the same in every draw and loop iteration
  std::string why_unstable;
  c10::ScalarType dtype = c10::ScalarType::Undefined;
  std::vector<int64_t> min, opt, max;  // at the min, opt and max input shapes
  // A branch condition (bool) that had this one value in every run.
  std::optional<bool> constant_flag;
};

using ShapeMap = std::unordered_map<const torch::jit::Value*, ValueShapes>;

// How many of the flat input shapes each argument of the method takes: one per tensor, a tuple's
// tensors in order, a Dict[str, Tensor]'s per key it reads (sorted by key), and what is left for
// the one List[Tensor] argument. Throws naming the mismatch.
std::vector<size_t> flat_input_counts(const torch::jit::Graph& g, size_t n_specs);

// `g` is the lowered graph (input 0 is the module); `self` the module object it takes; one
// InputSpec per tensor input. The samples run on `device`. Leaves `g` as it was.
ShapeMap analyze_shapes(torch::jit::Graph& g, const c10::IValue& self, const std::vector<InputSpec>& inputs,
                        const c10::Device& device);

}  // namespace trtorch::frontend
