// The reference backend: a plain C++ interpreter of every IR op on the CPU.
//
// It is the test oracle for the CUDA backend and runs engines where there is no GPU.
// Floating-point ops compute in FP32; FP16/BF16 tensors are stored in their own type and
// rounded after every op (FP16 storage, FP32 accumulation).
#pragma once

#include <vector>

#include "core/ir/ir.h"

namespace trtorch::backends::reference {

// Runs the graph. Inputs must match the graph input dtypes and ranks; symbolic dims may take
// any value in their range. Returns one tensor per graph output.
std::vector<ir::HostTensor> run(const ir::Graph& g, const std::vector<ir::HostTensor>& inputs);

// Evaluates one node on concrete inputs (used by constant folding). Output shapes come from
// shape inference on the concrete input shapes.
std::vector<ir::HostTensor> eval_node(const ir::Node& n, const std::vector<ir::HostTensor>& inputs);

}  // namespace trtorch::backends::reference
