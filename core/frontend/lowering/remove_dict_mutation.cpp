#include "core/frontend/lowering/remove_dict_mutation.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace trtorch::frontend {
namespace {

using torch::jit::Node;
using torch::jit::Value;
namespace aten = c10::aten;
namespace prim = c10::prim;

// A constant str or int key, as a map key; nullopt for anything else.
std::optional<std::string> const_key(const Value* v) {
  auto iv = torch::jit::toIValue(v);
  if (!iv) return std::nullopt;
  if (iv->isString()) return "s" + iv->toStringRef();
  if (iv->isInt()) return "i" + std::to_string(iv->toInt());
  return std::nullopt;
}

bool is_dict_write(const Node* n, const Value* d) {
  return n->kind() == aten::_set_item && n->inputs().size() == 3 && n->input(0) == d;
}
bool is_dict_read(const Node* n, const Value* d) {
  return n->kind() == aten::__getitem__ && n->inputs().size() == 2 && n->input(0) == d;
}

struct Entries {
  std::vector<std::string> order;             // insertion order
  std::map<std::string, std::pair<Value*, Value*>> kv;  // key -> (key value, current value)
  void set(const std::string& k, Value* key, Value* val) {
    if (!kv.count(k)) order.push_back(k);
    kv[k] = {key, val};
  }
};

Value* make_dict(Node* before, const c10::TypePtr& type, const Entries& e) {
  auto dt = type->expect<c10::DictType>();
  std::vector<Value*> keys, values;
  for (const auto& k : e.order) {
    keys.push_back(e.kv.at(k).first);
    values.push_back(e.kv.at(k).second);
  }
  Node* c = before->owningGraph()->createDict(dt->getKeyType(), dt->getValueType(), keys, values);
  c->insertBefore(before);
  c->output()->setType(type);
  return c->output();
}

// Removes the dict made by `def` when every use qualifies; returns whether it did.
bool remove_one(Node* def) {
  Value* d = def->output();
  if (!d->type()->cast<c10::DictType>()) return false;
  Entries e;
  if (def->kind() == prim::DictConstruct) {
    for (size_t i = 0; i + 1 < def->inputs().size(); i += 2) {
      auto k = const_key(def->input(i));
      if (!k) return false;
      e.set(*k, def->input(i), def->input(i + 1));
    }
  }
  torch::jit::Block* block = def->owningBlock();
  Node* ret = block->return_node();
  // The users in this block, in order; every use must be one of theirs or the block's return.
  std::vector<Node*> users;
  size_t uses_here = 0;
  for (Node* n = def->next(); n != ret; n = n->next()) {
    size_t k = 0;
    for (const Value* in : n->inputs()) k += in == d;
    if (k > 0) users.push_back(n);
    uses_here += k;
  }
  for (const Value* in : ret->inputs()) uses_here += in == d;
  if (uses_here != d->uses().size()) return false;  // a use inside a nested block
  // Keys constant, reads of keys written before, no write after the dict escaped.
  std::set<std::string> known(e.order.begin(), e.order.end());
  bool escaped = false, mutated = false;
  for (Node* n : users) {
    if (is_dict_write(n, d)) {
      auto k = const_key(n->input(1));
      if (!k || escaped) return false;
      known.insert(*k);
      mutated = true;
    } else if (is_dict_read(n, d)) {
      auto k = const_key(n->input(1));
      if (!k || !known.count(*k)) return false;  // a missing key raises at run time: leave it
      mutated = true;
    } else {
      escaped = true;
    }
  }
  if (!mutated) return false;  // nothing to remove
  for (Node* n : users) {
    if (is_dict_write(n, d)) {
      e.set(*const_key(n->input(1)), n->input(1), n->input(2));
      n->destroy();
    } else if (is_dict_read(n, d)) {
      n->output()->replaceAllUsesWith(e.kv.at(*const_key(n->input(1))).second);
      n->destroy();
    } else {
      n->replaceInputWith(d, make_dict(n, d->type(), e));
    }
  }
  for (size_t i = 0; i < ret->inputs().size(); ++i)
    if (ret->input(i) == d) ret->replaceInput(i, make_dict(ret, d->type(), e));
  def->destroy();
  return true;
}

}  // namespace

int remove_dict_mutation(torch::jit::Block* block) {
  int removed = 0;
  std::vector<Node*> defs;
  for (Node* n : block->nodes()) {
    for (torch::jit::Block* sub : n->blocks()) removed += remove_dict_mutation(sub);
    if ((n->kind() == aten::dict && n->inputs().empty()) || n->kind() == prim::DictConstruct) defs.push_back(n);
  }
  for (Node* def : defs) removed += remove_one(def) ? 1 : 0;
  return removed;
}

}  // namespace trtorch::frontend
