// Common subexpression elimination: a node with the op, attributes and inputs of an earlier node
// computes the same values; its users take the earlier node's outputs instead. Constants with the
// same dtype, shape and bytes merge too, which lets the nodes that read them merge next (a
// transformer converts the same attention mask into a bias once per layer; after this pass it is
// done once).
#include <map>
#include <string>
#include <vector>

#include "core/passes/passes.h"

namespace trtorch::passes {

namespace {

uint64_t fnv1a(const void* data, size_t n, uint64_t h = 1469598103934665603ull) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

// A key that equal nodes share (collisions are resolved with attrs_equal).
std::string key_of(const ir::Node& n) {
  std::string k = std::to_string(int(n.op)) + "|";
  for (const ir::Value* v : n.inputs) k += std::to_string(v->id) + ",";
  k += "|";
  if (n.op == ir::OpKind::Constant) {
    const ir::HostTensor& t = n.attr<ir::ConstantAttrs>().value;
    k += std::to_string(int(t.dtype)) + ":";
    for (int64_t d : t.shape) k += std::to_string(d) + ",";
    k += std::to_string(fnv1a(t.data(), t.nbytes()));
  } else {
    k += ir::attrs_str(n.attrs);
  }
  return k;
}

}  // namespace

bool common_subexpression_elimination(ir::Graph& g) {
  bool changed = false;
  std::map<std::string, std::vector<ir::Node*>> seen;
  for (ir::Node* n : g.nodes()) {  // topological order: an earlier equal node is already mapped
    auto& bucket = seen[key_of(*n)];
    ir::Node* same = nullptr;
    for (ir::Node* m : bucket)
      if (m->inputs == n->inputs && ir::attrs_equal(m->attrs, n->attrs)) same = m;
    if (!same) {
      bucket.push_back(n);
      continue;
    }
    for (size_t i = 0; i < n->outputs.size(); ++i) g.replace_all_uses(n->outputs[i], same->outputs[i]);
    g.remove_node(n);
    changed = true;
  }
  return changed;
}

}  // namespace trtorch::passes
