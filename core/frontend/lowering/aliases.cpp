#include "core/frontend/lowering/aliases.h"

#include <unordered_set>
#include <utility>

namespace trtorch::frontend {

using torch::jit::Node;
using torch::jit::Value;

bool returns_view_of_input(const Node* n) {
  const c10::FunctionSchema* s = n->maybeSchema();
  if (!s || s->arguments().empty() || s->returns().empty() || n->inputs().empty()) return false;
  const c10::AliasInfo* in = s->arguments()[0].alias_info();
  const c10::AliasInfo* out = s->returns()[0].alias_info();
  if (!in || !out) return false;
  if (in->beforeSets() == out->beforeSets()) return true;
  // A list of views (chunk, split, unbind, tensor_split: Tensor(a)[]): the alias set is the
  // elements'.
  for (const c10::AliasInfo& e : out->containedTypes())
    if (e.beforeSets() == in->beforeSets()) return true;
  return false;
}

bool is_container_read(const Node* n) {
  auto k = n->kind();
  return k == c10::aten::__getitem__ || k == c10::prim::ListUnpack || k == c10::prim::TupleUnpack ||
         k == c10::prim::TupleIndex || k == c10::aten::pop;
}

std::vector<const Value*> view_aliases(const Value* m) {
  // A container is "opened" when an element read from it (or m itself) is what reached it: then
  // any of its elements may be the alias. A container reached because an alias was put into it
  // shares memory with that alias only, not with its other elements.
  std::unordered_set<const Value*> set, opened;
  std::vector<std::pair<const Value*, bool>> work;
  auto add = [&](const Value* v, bool open) {
    const bool fresh = set.insert(v).second;
    const bool newly_opened = open && opened.insert(v).second;
    if (fresh || newly_opened) work.push_back({v, open});
  };
  add(m, true);
  while (!work.empty()) {
    const auto [v, open] = work.back();
    work.pop_back();
    const Node* p = v->node();
    if (returns_view_of_input(p)) add(p->input(0), true);
    if (is_container_read(p)) add(p->input(0), true);
    if (open && (p->kind() == c10::prim::ListConstruct || p->kind() == c10::prim::TupleConstruct))
      for (const Value* in : p->inputs()) add(in, true);
    for (const auto& u : v->uses()) {
      const Node* n = u.user;
      if ((returns_view_of_input(n) && u.offset == 0) || (is_container_read(n) && u.offset == 0))
        for (const Value* o : n->outputs()) add(o, true);
      if (n->kind() == c10::prim::ListConstruct || n->kind() == c10::prim::TupleConstruct) add(n->output(), false);
    }
  }
  return {set.begin(), set.end()};
}


}  // namespace trtorch::frontend
