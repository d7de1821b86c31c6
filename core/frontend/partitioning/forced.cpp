// The nodes partial compilation sends to TorchScript before partitioning: those the settings name
// (torch_executed_ops / torch_executed_modules) and those around in-place writes (see forced.h).
#include "core/frontend/partitioning/forced.h"

#include "core/frontend/lowering/aliases.h"

#include <torch/csrc/jit/frontend/function_schema_parser.h>

#include <algorithm>
#include <functional>
#include <set>
#include <unordered_set>

#include "core/util/error.h"

namespace trtorch::frontend {

using torch::jit::Block;
using torch::jit::Node;
using torch::jit::Value;

namespace {

// "__torch__.a.b.___torch_mangle_3.Block" -> "a.b.Block".
std::string plain_class_name(std::string q) {
  const std::string prefix = "__torch__.";
  if (q.rfind(prefix, 0) == 0) q = q.substr(prefix.size());
  std::string out;
  size_t start = 0;
  while (start <= q.size()) {
    size_t dot = q.find('.', start);
    std::string part = q.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.rfind("___torch_mangle_", 0) != 0) out += (out.empty() ? "" : ".") + part;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return out;
}

bool module_matches(const std::string& cls, const std::string& wanted) {
  const std::string w = plain_class_name(wanted);
  if (cls == w) return true;
  // A name without a dot names the class in any module ("Block").
  return w.find('.') == std::string::npos && cls.size() > w.size() && cls.compare(cls.size() - w.size(), w.size(), w) == 0 &&
         cls[cls.size() - w.size() - 1] == '.';
}

// The classes of the submodules whose code `n` was inlined from, outermost first.
std::vector<std::string> module_classes(const Node* n) {
  std::vector<std::string> out;
  if (auto cs = n->callstack()) {
    for (const auto& entry : (*cs)->vec()) {
      const auto& info = std::get<torch::jit::kModuleInstanceInfo>(entry);
      if (info && info->class_type() && info->class_type()->name())
        out.push_back(plain_class_name(info->class_type()->name()->qualifiedName()));
    }
  }
  return out;
}

bool op_matches(const Node* n, const std::string& spec) {
  const c10::FunctionSchema* s = n->maybeSchema();
  if (spec.find('(') != std::string::npos)
    return s && torch::jit::parseSchema(spec).operator_name() == s->operator_name();
  const std::string kind = n->kind().toQualString();
  if (kind == spec) return true;
  return s && !s->overload_name().empty() && kind + "." + s->overload_name() == spec;
}

}  // namespace

ForcedNodes forced_by_settings(torch::jit::Graph& g, const PartitionSettings& s) {
  ForcedNodes forced;
  std::vector<bool> module_found(s.torch_executed_modules.size(), false);
  std::set<std::string> classes;
  // The module's own class names all of its code.
  std::string root;
  if (auto cls = g.inputs().empty() ? nullptr : g.inputs()[0]->type()->cast<c10::ClassType>())
    if (cls->name()) root = plain_class_name(cls->name()->qualifiedName());
  if (!root.empty()) classes.insert(root);
  for_each_node(g.block(), [&](Node* n) {
    for (size_t i = 0; i < s.torch_executed_modules.size(); ++i)
      if (!root.empty() && module_matches(root, s.torch_executed_modules[i])) {
        module_found[i] = true;
        forced.emplace(n, str_cat("in module ", root, ", forced by torch_executed_modules"));
      }
    for (const auto& op : s.torch_executed_ops)
      if (op_matches(n, op)) forced.emplace(n, str_cat("forced by torch_executed_ops ('", op, "')"));
    const auto mods = module_classes(n);
    classes.insert(mods.begin(), mods.end());
    for (size_t i = 0; i < s.torch_executed_modules.size(); ++i)
      for (const auto& m : mods)
        if (module_matches(m, s.torch_executed_modules[i])) {
          module_found[i] = true;
          forced.emplace(n, str_cat("in submodule ", m, ", forced by torch_executed_modules"));
        }
  });
  for (size_t i = 0; i < module_found.size(); ++i) {
    if (module_found[i]) continue;
    std::string known;
    for (const auto& c : classes) known += (known.empty() ? "" : ", ") + c;
    TRTORCH_ERROR("torch_executed_modules: the module has no submodule of class '", s.torch_executed_modules[i],
                  "' (its submodules' classes: ", known.empty() ? "none" : known, ")");
  }
  return forced;
}

void force_mutations(torch::jit::Graph& g, const std::vector<Node*>& mutations, ForcedNodes& forced) {
  // Lists and dicts mutated in place (aten::append, aten::_set_item): the mutation, and every node
  // that reads the container, keep TorchScript's order (a copy of the list into an engine would
  // miss what is appended later).
  for_each_node(g.block(), [&](Node* n) {
    const c10::FunctionSchema* s = n->maybeSchema();
    if (!s || !s->is_mutable() || n->inputs().empty() || is_tensor_value(n->input(0))) return;
    Value* c = n->input(0);
    forced.emplace(n, str_cat("mutates %", c->debugName(), " (", c->type()->str(), ") in place"));
    forced.emplace(c->node(), str_cat("builds %", c->debugName(), ", which is mutated in place"));
    for (const auto& u : c->uses()) forced.emplace(u.user, str_cat("reads %", c->debugName(), ", which is mutated in place"));
  });
  // Tensors mutated in place: every one, not only those read again afterwards — a write into a view
  // (batched[i].copy_(img)) changes its base, which an engine would have copied.
  std::vector<Node*> all = mutations;
  for_each_node(g.block(), [&](Node* n) {
    const c10::FunctionSchema* s = n->maybeSchema();
    if (s && s->is_mutable() && !n->inputs().empty() && is_tensor_value(n->input(0)) &&
        std::find(all.begin(), all.end(), n) == all.end())
      all.push_back(n);
  });
  if (all.empty()) return;
  std::unordered_set<const Value*> aliases;
  for (Node* m : all) {
    forced.emplace(m, str_cat("mutates %", m->input(0)->debugName(), " in place"));
    for (const Value* a : view_aliases(m->input(0))) aliases.insert(a);
  }
  // Every node that reads or writes a view of a mutated tensor (or the tensor a view is of) keeps
  // TorchScript's order and sees the write.
  for_each_node(g.block(), [&](Node* n) {
    if (n->kind() == c10::prim::Constant || forced.count(n)) return;
    for (const Value* v : n->inputs())
      if (aliases.count(v)) {
        forced.emplace(n, str_cat("reads %", v->debugName(), ", a tensor written in place"));
        return;
      }
    for (const Value* v : n->outputs())
      if (aliases.count(v)) {
        forced.emplace(n, str_cat("makes %", v->debugName(), ", a tensor written in place"));
        return;
      }
  });
}
}  // namespace trtorch::frontend
