#include "core/frontend/lowering/aliases.h"

#include <unordered_set>

namespace trtorch::frontend {

using torch::jit::Node;
using torch::jit::Value;

bool returns_view_of_input(const Node* n) {
  const c10::FunctionSchema* s = n->maybeSchema();
  if (!s || s->arguments().empty() || s->returns().empty() || n->inputs().empty()) return false;
  const c10::AliasInfo* in = s->arguments()[0].alias_info();
  const c10::AliasInfo* out = s->returns()[0].alias_info();
  return in && out && in->beforeSets() == out->beforeSets();
}

bool is_container_read(const Node* n) {
  auto k = n->kind();
  return k == c10::aten::__getitem__ || k == c10::prim::ListUnpack || k == c10::prim::TupleUnpack ||
         k == c10::prim::TupleIndex || k == c10::aten::pop;
}

std::vector<const Value*> view_aliases(const Value* m) {
  std::unordered_set<const Value*> set;
  std::vector<const Value*> work{m};
  auto add = [&](const Value* v) {
    if (set.insert(v).second) work.push_back(v);
  };
  set.insert(m);
  while (!work.empty()) {
    const Value* v = work.back();
    work.pop_back();
    const Node* p = v->node();
    if (returns_view_of_input(p)) add(p->input(0));
    if (is_container_read(p)) {
      const Value* c = p->input(0);
      add(c);
    }
    if (p->kind() == c10::prim::ListConstruct || p->kind() == c10::prim::TupleConstruct)
      for (const Value* in : p->inputs()) add(in);
    for (const auto& u : v->uses()) {
      const Node* n = u.user;
      if ((returns_view_of_input(n) && u.offset == 0) || (is_container_read(n) && u.offset == 0))
        for (const Value* o : n->outputs()) add(o);
      if (n->kind() == c10::prim::ListConstruct || n->kind() == c10::prim::TupleConstruct) add(n->output());
    }
  }
  return {set.begin(), set.end()};
}


}  // namespace trtorch::frontend
