#include "core/frontend/lowering/functionalize_view_writes.h"

#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>

#include <string>
#include <unordered_set>
#include <vector>

#include "core/frontend/lowering/aliases.h"

namespace trtorch::frontend {
namespace {

using torch::jit::Node;
using torch::jit::Value;
namespace aten = c10::aten;

bool is_slice_view(const Node* n) {
  return n->kind() == aten::slice && n->inputs().size() == 5 && n->input(0)->type()->kind() == c10::TypeKind::TensorType;
}
bool is_select_view(const Node* n) {
  return n->kind() == aten::select && n->inputs().size() == 3 && n->input(0)->type()->kind() == c10::TypeKind::TensorType &&
         n->input(2)->type()->kind() == c10::TypeKind::IntType;
}

// The chain of slice / select views that v is made by, innermost first (empty: v is no such view).
std::vector<Node*> view_chain(Value* v) {
  std::vector<Node*> chain;
  for (; is_slice_view(v->node()) || is_select_view(v->node()); v = v->node()->input(0)) chain.push_back(v->node());
  return chain;
}

// An in-place op on a tensor: mutable schema, its first argument written.
bool is_tensor_write(const Node* n) {
  const c10::FunctionSchema* s = n->maybeSchema();
  if (!s || !s->is_mutable() || n->inputs().empty() || s->arguments().empty()) return false;
  const c10::AliasInfo* a = s->arguments()[0].alias_info();
  return a && a->isWrite() && n->input(0)->type()->kind() == c10::TypeKind::TensorType && n->outputs().size() == 1;
}

// The functional result of write `n` on `view`, inserted before n; nullptr when there is none.
Value* functional_result(torch::jit::Graph& g, Node* n, Value* view) {
  const std::string name = n->kind().toUnqualString();
  using NV = torch::jit::NamedValue;
  try {
    if (name == "copy_") {
      Value* src = g.insert(aten::expand_as, {NV(n->input(1)), NV(view)});
      return g.insert(aten::type_as, {NV(src), NV(view)});
    }
    if (name == "fill_") {
      if (n->input(1)->type()->kind() == c10::TypeKind::TensorType) {
        Value* v = g.insert(aten::expand_as, {NV(n->input(1)), NV(view)});
        return g.insert(aten::type_as, {NV(v), NV(view)});
      }
      return g.insert(aten::full_like, {NV(view), NV(n->input(1))});
    }
    if (name == "zero_") return g.insert(aten::zeros_like, {NV(view)});
    if (name.empty() || name.back() != '_' || name.rfind("__", 0) == 0) return nullptr;
    // The op without the underscore, on the same inputs; its overload is the one whose schema the
    // inputs' types match (as the in-place op's was), not one reached by implicit conversions.
    Node* f = g.create(c10::Symbol::aten(name.substr(0, name.size() - 1)), n->inputs(), 1);
    f->replaceInput(0, view);
    f->output()->setType(n->output()->type());
    f->insertBefore(n);
    if (!f->maybeSchema() || f->maybeSchema()->is_mutable()) {
      f->destroy();
      return nullptr;
    }
    return f->output();
  } catch (const std::exception&) {
    return nullptr;  // no functional overload takes these arguments
  }
}

bool rewrite(Node* n) {
  Value* view = n->input(0);
  const std::vector<Node*> chain = view_chain(view);
  // A write into the tensor itself (chain empty) is the functional op's result replacing it
  // (torch's RemoveTensorMutation leaves those whose arguments hold a list of tensors:
  // index_put_ with a computed mask or index).
  Value* base = chain.empty() ? view : chain.back()->input(0);
  // The tensor the base is (a view of) must be made by this call: a write into a graph input is
  // seen by the caller, one into module state (prim::GetAttr) or a constant persists to the next
  // call, and one into a list element reaches the list.
  const Value* root = base;
  while (returns_view_of_input(root->node())) root = root->node()->input(0);
  const auto rk = root->node()->kind();
  if (rk == c10::prim::Param || rk == c10::prim::Constant || rk == c10::prim::GetAttr || is_container_read(root->node()))
    return false;
  // A base from an enclosing block (a write in a loop or a branch) would need its new value carried
  // out of the block.
  if (base->node()->owningBlock() != n->owningBlock()) return false;
  // Nothing made before the write that shares memory with the base may be read after it, except
  // the base itself (its later readers take the new base). Views made after the write are made from
  // the base, so they read the new values.
  for (const Value* a : view_aliases(base)) {
    if (a == base || (a->node()->kind() != c10::prim::Param && n->isBefore(a->node()))) continue;
    for (const torch::jit::Use& u : a->uses())
      if (u.user != n && n->isBefore(u.user)) return false;  // a view (of the chain or another) read after the write
  }
  // The write's result read again (y[0].add_(1).mul_(2)): a later write into it would have to
  // reach the base too; left in place.
  if (!n->output()->uses().empty()) return false;
  torch::jit::Graph& g = *n->owningGraph();
  torch::jit::WithInsertPoint guard(n);
  Value* cur = functional_result(g, n, view);
  if (!cur) return false;
  Value* new_view = cur;
  using NV = torch::jit::NamedValue;
  for (Node* c : chain) {
    if (is_slice_view(c))
      cur = g.insert(aten::slice_scatter, {NV(c->input(0)), NV(cur), NV(c->input(1)), NV(c->input(2)), NV(c->input(3)),
                                           NV(c->input(4))});
    else
      cur = g.insert(aten::select_scatter, {NV(c->input(0)), NV(cur), NV(c->input(1)), NV(c->input(2))});
  }
  n->output()->replaceAllUsesWith(new_view);
  base->replaceAllUsesAfterNodeWith(n, cur);
  n->destroy();
  return true;
}

// Gives write n a chain of views of its own, made right before it (TorchScript shares identical
// views between writes, `y[:, a] = ...; y[:, b] = ...` both slicing y[:]; a shared view made before
// an earlier write would count as read after it). The old views go when nothing else reads them.
void own_chain(Node* n) {
  const std::vector<Node*> chain = view_chain(n->input(0));
  if (chain.empty()) return;
  Value* cur = chain.back()->input(0);
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    Node* c = n->owningGraph()->createClone(*it, [&](Value* v) { return v == (*it)->input(0) ? cur : v; });
    c->insertBefore(n);
    cur = c->output();
  }
  n->replaceInput(0, cur);
  for (Node* c : chain) {  // innermost first: each one's input is the next one's output
    if (!c->output()->uses().empty()) break;
    c->destroy();
  }
}

// Whether views a and b are the same elements of one tensor: the same base, through the same
// slice / select ops with the same arguments (the same values, or constants that are equal).
bool same_view(Value* a, Value* b) {
  const std::vector<Node*> ca = view_chain(a), cb = view_chain(b);
  if (ca.size() != cb.size()) return false;
  if ((ca.empty() ? a : ca.back()->input(0)) != (cb.empty() ? b : cb.back()->input(0))) return false;
  for (size_t i = 0; i < ca.size(); ++i) {
    if (ca[i]->kind() != cb[i]->kind() || ca[i]->inputs().size() != cb[i]->inputs().size()) return false;
    for (size_t j = 1; j < ca[i]->inputs().size(); ++j) {
      Value *x = ca[i]->input(j), *y = cb[i]->input(j);
      if (x == y) continue;
      const auto cx = torch::jit::toIValue(x), cy = torch::jit::toIValue(y);
      if (!cx || !cy || !(*cx == *cy)) return false;
    }
  }
  return true;
}

// `v[i] op= x` as the tracer records it: the in-place op on a view, then v[i].copy_(result) into
// the same elements again (Python's __setitem__ after __iadd__). That copy moves nothing (source
// and destination are the same memory); dropping it leaves the write alone, which is then
// functionalized like any other.
int drop_self_copies(torch::jit::Block* block) {
  int dropped = 0;
  for (auto it = block->nodes().begin(); it != block->nodes().end();) {
    Node* n = *it++;
    if (n->kind() != aten::copy_ || n->inputs().size() < 2 || !is_tensor_write(n)) continue;
    Value* src = n->input(1);
    while (is_tensor_write(src->node())) src = src->node()->input(0);  // an in-place op's result is its input
    if (src == n->input(1) || !same_view(src, n->input(0))) continue;
    n->output()->replaceAllUsesWith(n->input(0));
    n->destroy();
    ++dropped;
  }
  return dropped;
}

}  // namespace

int functionalize_view_writes(torch::jit::Block* block) {
  int done = 0;
  drop_self_copies(block);
  std::vector<Node*> writes;
  for (Node* n : block->nodes()) {
    for (torch::jit::Block* sub : n->blocks()) done += functionalize_view_writes(sub);
    if (is_tensor_write(n)) writes.push_back(n);
  }
  for (Node* n : writes) own_chain(n);
  for (Node* n : writes) done += rewrite(n) ? 1 : 0;
  return done;
}

}  // namespace trtorch::frontend
