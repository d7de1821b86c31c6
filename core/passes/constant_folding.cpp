// Constant folding: a node whose inputs are all Constant outputs is evaluated by the registered
// node evaluator (core/ir/evaluator.h; the reference backend's) and its outputs become Constant
// nodes. The inputs it leaves unused are removed by dead_code_elimination. The Dequantize of an
// int8 weight stays for fuse_quantized_layers (which folds the ones it does not take).
#include "core/ir/evaluator.h"
#include "core/passes/passes.h"
#include "core/util/error.h"
#include "core/util/logging.h"

namespace trtorch::passes {

namespace {

bool all_inputs_constant(const ir::Node& n) {
  for (const ir::Value* v : n.inputs)
    if (!v->producer || v->producer->op != ir::OpKind::Constant) return false;
  return !n.inputs.empty();
}

}  // namespace

bool fold_constant_node(ir::Graph& g, ir::Node* n) {
  TRTORCH_CHECK(all_inputs_constant(*n), n->name(), ": constant folding needs constant inputs");
  const ir::NodeEvaluator* eval_node = ir::find_node_evaluator();
  if (!eval_node) return false;
  std::vector<ir::HostTensor> args;
  for (const ir::Value* v : n->inputs) args.push_back(v->producer->attr<ir::ConstantAttrs>().value);
  std::vector<ir::HostTensor> results;
  try {
    results = (*eval_node)(*n, args);
  } catch (const Error&) {
    return false;  // e.g. an op the evaluator rejects: left for the backend to report at build time
  }
  TRTORCH_CHECK(results.size() == n->outputs.size(), n->name(), ": eval_node returned ", results.size(),
                " outputs");
  for (size_t i = 0; i < results.size(); ++i) {
    ir::Value* old = n->outputs[i];
    ir::ConstantAttrs c;
    c.value = std::move(results[i]);
    ir::Node* k = g.insert_before(n, ir::OpKind::Constant, std::move(c), {}, n->source);
    TRTORCH_CHECK(k->outputs[0]->type == old->type, "folded ", n->name(), " into ", k->outputs[0]->type.str(),
                  " but its output was ", old->type.str());
    k->outputs[0]->name = old->name;
    g.replace_all_uses(old, k->outputs[0]);
  }
  g.remove_node(n);
  return true;
}

bool constant_folding(ir::Graph& g) {
  if (!ir::find_node_evaluator()) {
    TRTORCH_LOG(kWarning, "constant_folding: no node evaluator is registered (the reference backend registers one); "
                          "nothing is folded");
    return false;
  }
  bool changed = false;
  for (ir::Node* n : g.nodes())
    if (n->op != ir::OpKind::Constant && all_inputs_constant(*n) && !keeps_weight_dequantize(*n))
      changed |= fold_constant_node(g, n);
  return changed;
}

}  // namespace trtorch::passes
