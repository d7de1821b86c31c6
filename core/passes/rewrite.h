// Small graph-rewrite helpers shared by the passes.
#pragma once

#include <vector>

#include "core/ir/ir.h"

namespace trtorch::passes {

// Replaces `n` by a node of the same op with `attrs` and `inputs`, inserted where `n` was: its
// output (named as n's) takes every use of n's output, and n is removed. Single-output nodes.
inline ir::Node* replace_node(ir::Graph& g, ir::Node* n, ir::Attrs attrs, const std::vector<ir::Value*>& inputs) {
  ir::Node* r = g.insert_before(n, n->op, std::move(attrs), inputs, n->source);
  r->outputs[0]->name = n->outputs[0]->name;
  g.replace_all_uses(n->outputs[0], r->outputs[0]);
  g.remove_node(n);
  return r;
}

}  // namespace trtorch::passes
