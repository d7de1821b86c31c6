// Dead code elimination: removes every node none of whose outputs reaches a graph output.
#include <unordered_set>

#include "core/passes/passes.h"

namespace trtorch::passes {

bool dead_code_elimination(ir::Graph& g) {
  std::vector<ir::Node*> nodes = g.nodes();
  std::unordered_set<const ir::Node*> live;
  std::vector<const ir::Node*> work;
  for (const ir::Value* v : g.outputs())
    if (v->producer && live.insert(v->producer).second) work.push_back(v->producer);
  while (!work.empty()) {
    const ir::Node* n = work.back();
    work.pop_back();
    for (const ir::Value* v : n->inputs)
      if (v->producer && live.insert(v->producer).second) work.push_back(v->producer);
  }
  bool changed = false;
  // Reverse topological order: a dead node's users are gone before it is removed.
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    if (live.count(*it)) continue;
    g.remove_node(*it);
    changed = true;
  }
  return changed;
}

}  // namespace trtorch::passes
