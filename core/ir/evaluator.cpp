// The registry of the node evaluator (see evaluator.h).
#include "core/ir/evaluator.h"

#include <mutex>

namespace trtorch::ir {

namespace {

// Function-local statics: safe to use from other translation units' static initializers.
NodeEvaluator& evaluator_slot() {
  static NodeEvaluator e;
  return e;
}

std::mutex& evaluator_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

bool register_node_evaluator(NodeEvaluator evaluator) {
  std::lock_guard<std::mutex> lock(evaluator_mutex());
  evaluator_slot() = std::move(evaluator);
  return true;
}

const NodeEvaluator* find_node_evaluator() {
  std::lock_guard<std::mutex> lock(evaluator_mutex());
  return evaluator_slot() ? &evaluator_slot() : nullptr;
}

}  // namespace trtorch::ir
