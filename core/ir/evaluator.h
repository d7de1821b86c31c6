// The node evaluator: computes one node on concrete inputs, for passes that evaluate at compile
// time (constant folding). The IR and the passes do not evaluate ops themselves and must not
// include a backend: a backend registers its evaluator from a static initializer, as backends
// register executors in core/plan/backend.h (the reference backend registers reference::eval_node,
// so every program that links trtorch_core has one).
#pragma once

#include <functional>
#include <vector>

#include "core/ir/ir.h"

namespace trtorch::ir {

// Returns one tensor per output of the node; the caller owns them (no storage shared with an
// input or an attribute). Throws trtorch::Error for a node it cannot evaluate.
using NodeEvaluator = std::function<std::vector<HostTensor>(const Node& n, const std::vector<HostTensor>& inputs)>;

// Sets the evaluator; a later registration replaces an earlier one. Returns true (for use as a
// static initializer).
bool register_node_evaluator(NodeEvaluator evaluator);

// The registered evaluator, or null when no backend registered one.
const NodeEvaluator* find_node_evaluator();

}  // namespace trtorch::ir
