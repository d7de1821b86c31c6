#include "core/frontend/lowering/lowering.h"

#include "core/frontend/lowering/aliases.h"
#include "core/frontend/lowering/functionalize_view_writes.h"
#include "core/frontend/lowering/remove_attr_mutation.h"
#include "core/frontend/lowering/remove_dict_mutation.h"

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/common_subexpression_elimination.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/freeze_module.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/passes/lower_tuples.h>
#include <torch/csrc/jit/passes/normalize_ops.h>
#include <torch/csrc/jit/passes/peephole.h>
#include <torch/csrc/jit/passes/remove_dropout.h>
#include <torch/csrc/jit/passes/remove_mutation.h>

#include "core/frontend/conversion/context.h"
#include "core/util/error.h"
#include "core/util/logging.h"

namespace trtorch::frontend {

namespace {

// An in-place op on its first argument whose result is that tensor (relu_, add_): the result
// holds what the op wrote, as a view would.
bool writes_first_input(const torch::jit::Node* n) {
  const c10::FunctionSchema* s = n->maybeSchema();
  if (!s || !s->is_mutable() || s->arguments().empty() || n->outputs().size() != 1) return false;
  const c10::AliasInfo* a = s->arguments()[0].alias_info();
  return a && a->isWrite();
}

// Every in-place op left must be the last reader of the tensor it mutates and of every tensor that
// shares its memory (the tensor a view is of, its other views): the converters then treat it as
// its functional form. A write into a view (`attn[:, :, 1:] += r`) whose base is read afterwards
// is observable, and is reported like a direct one. Reads of the op's own output (its views, and
// the results of later in-place ops on it: `x += s; x = relu_(x)`) see the new value under the
// functional form too, so they are not counted.
void check_no_observable_mutation(torch::jit::Block* b, std::vector<torch::jit::Node*>* found) {
  for (torch::jit::Node* n : b->nodes()) {
    for (torch::jit::Block* sub : n->blocks()) check_no_observable_mutation(sub, found);
    const c10::FunctionSchema* s = n->maybeSchema();
    if (!s || !s->is_mutable() || n->inputs().empty()) continue;
    torch::jit::Value* mutated = n->input(0);
    // List mutation (aten::append on a list of features) is followed in program order by the
    // converter; only tensor mutation must be gone.
    if (mutated->type()->kind() != c10::TypeKind::TensorType) continue;
    // n's output and the views made of it.
    std::unordered_set<const torch::jit::Value*> own;
    std::vector<const torch::jit::Value*> work(n->outputs().begin(), n->outputs().end());
    while (!work.empty()) {
      const torch::jit::Value* v = work.back();
      work.pop_back();
      if (!own.insert(v).second) continue;
      // (A list of views, from split or unbind, holds views: what is taken out of it is one.)
      const bool list = v->type()->kind() == c10::TypeKind::ListType;
      // A tuple or list built of it holds it too.
      for (const auto& u : v->uses())
        if ((u.offset == 0 && (returns_view_of_input(u.user) || writes_first_input(u.user) ||
                               (list && (u.user->kind() == c10::aten::__getitem__ ||
                                         u.user->kind() == c10::prim::ListUnpack)))) ||
            u.user->kind() == c10::prim::TupleConstruct || u.user->kind() == c10::prim::ListConstruct)
          for (const auto* o : u.user->outputs()) work.push_back(o);
    }
    const torch::jit::Node* reader = nullptr;
    const torch::jit::Value* read = nullptr;
    const torch::jit::Value* input = nullptr;  // a method input the write reaches: the caller reads it
    for (const torch::jit::Value* a : view_aliases(mutated)) {
      if (own.count(a)) continue;
      if (a->node() == a->owningGraph()->param_node()) input = a;
      for (const torch::jit::Use& u : a->uses())
        if (u.user != n && n->isBefore(u.user)) {
          if (!reader || u.user->isBefore(reader)) {
            reader = u.user;
            read = a;
          }
        }
    }
    if (!reader) {
      // A write into the caller's tensor that the method does not read again (x.div_(255) on the
      // input, then only the result is used) is computed as its functional op, as an engine
      // computes: the result is TorchScript's, the caller's tensor is left as it was. Keeping the
      // write in TorchScript would keep every reader of the tensor there (the whole model, for a
      // first-op normalization), so it is said instead; torch_executed_ops keeps it exact.
      if (input)
        TRTORCH_LOG(kWarning, describe(n), " writes the method's input %", input->debugName(),
                    " in place; where it runs in an engine, the compiled module gives the same result but leaves the "
                    "caller's tensor unchanged (torch_executed_ops: [\"", n->kind().toQualString(),
                    "\"] keeps the write, and what reads the input, in TorchScript)");
      continue;
    }
    if (found) {
      found->push_back(n);
      continue;
    }
    TRTORCH_ERROR("in-place operation whose input is read again afterwards is not supported: ", describe(n),
                  " (input %", mutated->debugName(),
                  read == mutated ? std::string(" is used by ")
                                  : str_cat(" shares memory with %", read->debugName(), ", which is used by "),
                  describe(reader), ")");
  }
}

// A shallow copy of module `m` (and of its submodules) whose objects name `cu` as their compilation
// unit, so that a clone of it registers its new class types there. Attributes other than
// submodules are shared; the class types and their methods are the module's; a submodule that
// appears twice stays one object.
using ObjectPtr = c10::intrusive_ptr<c10::ivalue::Object>;
ObjectPtr in_unit(const ObjectPtr& obj, const std::shared_ptr<torch::jit::CompilationUnit>& cu,
                  std::unordered_map<const c10::ivalue::Object*, ObjectPtr>& done) {
  auto it = done.find(obj.get());
  if (it != done.end()) return it->second;
  auto copy = c10::ivalue::Object::create(c10::StrongTypePtr(cu, obj->type()), obj->slots().size());
  done[obj.get()] = copy;
  for (size_t i = 0; i < obj->slots().size(); ++i) {
    c10::IValue v = obj->getSlot(i);
    if (v.isObject() && v.toObject()->type()->is_module()) v = in_unit(v.toObject(), cu, done);
    copy->setSlot(i, std::move(v));
  }
  return copy;
}

torch::jit::Module in_unit(const torch::jit::Module& m, const std::shared_ptr<torch::jit::CompilationUnit>& cu) {
  std::unordered_map<const c10::ivalue::Object*, ObjectPtr> done;
  return torch::jit::Module(in_unit(m._ivalue(), cu, done));
}

// Inlining records on every inlined node the functions it was called through (InlinedCallStack,
// with raw Function pointers whose names torch's error traceback reads). Those functions belong to
// this compile's own compilation unit, which goes when the compile ends, while the nodes live on in
// a partially compiled module: an error raised later in its TorchScript part read freed memory
// (a wrong function name in the traceback, or a crash). Each record is rebuilt to name a function
// of the same name that lasts as long as the process (one empty function per distinct name).
torch::jit::Function* lasting_function(const c10::QualifiedName& name) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<torch::jit::GraphFunction>> functions;
  std::lock_guard<std::mutex> lock(mu);
  auto& f = functions[name.qualifiedName()];  // by name: the traceback prints only that
  if (!f) f = std::make_unique<torch::jit::GraphFunction>(name, std::make_shared<torch::jit::Graph>(), nullptr);
  return f.get();
}

using CallStackPtr = torch::jit::InlinedCallStackPtr;
CallStackPtr lasting_call_stack(const CallStackPtr& cs, std::map<const void*, CallStackPtr>& done) {
  auto it = done.find(cs.get());
  if (it != done.end()) return it->second;
  // The record's own copy of the function's name: the function itself may be gone already (freezing
  // inlines from clones it does not keep).
  const std::string& name = cs->function_name();
  torch::jit::Function* fn = lasting_function(c10::QualifiedName(name.empty() ? std::string("unknown") : name));
  const std::optional<CallStackPtr> callee = cs->callee();
  CallStackPtr out =
      callee ? c10::make_intrusive<torch::jit::InlinedCallStack>(lasting_call_stack(*callee, done), fn,
                                                                 cs->source_range(), cs->module_instance())
             : c10::make_intrusive<torch::jit::InlinedCallStack>(fn, cs->source_range(), cs->module_instance());
  done.emplace(cs.get(), out);
  return out;
}

void use_lasting_call_stacks(torch::jit::Block* b, std::map<const void*, CallStackPtr>& done) {
  for (torch::jit::Node* n : b->nodes()) {
    if (auto cs = n->callstack()) n->setCallStack(lasting_call_stack(*cs, done));
    for (torch::jit::Block* sub : n->blocks()) use_lasting_call_stacks(sub, done);
  }
}

// Calls `rewrite` on every node of b and of its blocks (a node's blocks before the node itself),
// which may replace and destroy the node; returns how many it rewrote (returned true).
int rewrite_nodes(torch::jit::Block* b, const std::function<bool(torch::jit::Node*)>& rewrite) {
  int done = 0;
  for (auto it = b->nodes().begin(); it != b->nodes().end();) {
    torch::jit::Node* n = *it++;
    for (torch::jit::Block* sub : n->blocks()) done += rewrite_nodes(sub, rewrite);
    done += rewrite(n) ? 1 : 0;
  }
  return done;
}

// A traced torch.autograd.Function is a prim::PythonOp that holds the trace of its forward (its
// Subgraph attribute, as the tracer records it): that trace replaces it, as ONNX export does, so
// that the ops inside convert (BLOOM's GELU, custom activations). A PythonOp without one (scripted
// code cannot call a Function) stays, and is reported as unsupported or left to TorchScript.
bool inline_autograd_function(torch::jit::Node* n) {
  if (n->kind() != c10::prim::PythonOp || !n->hasAttribute(torch::jit::attr::Subgraph)) return false;
  std::shared_ptr<torch::jit::Graph> body = n->g(torch::jit::attr::Subgraph);
  if (!body || body->inputs().size() != n->inputs().size()) return false;
  // A Function returning several tensors gives one tuple (unpacked after it); its trace returns
  // them as separate outputs.
  const auto tuple = n->outputs().size() == 1 ? n->output(0)->type()->cast<c10::TupleType>() : nullptr;
  const size_t results = tuple ? tuple->elements().size() : n->outputs().size();
  if (body->outputs().size() != results) return false;
  torch::jit::WithInsertPoint guard(n);
  std::vector<torch::jit::Value*> outs = torch::jit::insertGraph(*n->owningGraph(), *body, n->inputs());
  if (tuple) outs = {n->owningGraph()->insertNode(n->owningGraph()->createTuple(outs))->output()};
  for (size_t i = 0; i < outs.size(); ++i) n->output(i)->replaceAllUsesWith(outs[i]);
  n->destroy();
  return true;
}

// isinstance(x, T) decided by x's static type once calls are inlined (timm's DenseNet layers take
// Union[Tensor, List[Tensor]] and test which one they got): true where x's type is a T, false
// where no T and x's type have a value in common; left (to run) where it depends on the value.
bool fold_isinstance(torch::jit::Node* n) {
  if (n->kind() != c10::prim::isinstance || !n->hasAttribute(torch::jit::attr::types)) return false;
  const c10::TypePtr t = n->input(0)->type();
  bool any_is = false, any_may = false;
  for (const c10::TypePtr& c : n->tys(torch::jit::attr::types)) {
    any_is = any_is || t->isSubtypeOf(*c);
    any_may = any_may || c->isSubtypeOf(*t) || t->kind() == c10::TypeKind::AnyType ||
              t->kind() == c10::TypeKind::UnionType || t->kind() == c10::TypeKind::OptionalType;
  }
  if (!any_is && any_may) return false;
  torch::jit::WithInsertPoint guard(n);
  n->output()->replaceAllUsesWith(n->owningGraph()->insertConstant(any_is));
  n->destroy();
  return true;
}

// The object and name of a prim::GetAttr's result; false for any other value.
bool attribute_of(const torch::jit::Value* v, const torch::jit::Value** obj, std::string* name) {
  if (v->node()->kind() != c10::prim::GetAttr) return false;
  *obj = v->node()->input(0);
  *name = v->node()->s(torch::jit::attr::name);
  return true;
}

// A module attribute dict used as a memo (timm's LeViT, EfficientFormer, TinyViT attention biases):
//   if key not in self.cache: self.cache[key] = <value>
//   ... self.cache[key] ...
// The value is what the reads get either way (a memo holds what it would compute): the reads take
// it directly and the branch goes, so that a key known only at run time (str(x.device)) does not
// keep the branch, and the dict, out of an engine. Only this exact form is rewritten: the branch
// does nothing else, and its computation has no side effects.
bool drop_memo_cache(torch::jit::Node* n) {
  if (n->kind() != c10::prim::If || !n->outputs().empty()) return false;
  const torch::jit::Node* neg = n->input(0)->node();
  if (neg->kind() != c10::aten::__not__ || neg->input(0)->node()->kind() != c10::aten::__contains__) return false;
  const torch::jit::Node* has = neg->input(0)->node();
  const torch::jit::Value* obj = nullptr;
  std::string name;
  if (!attribute_of(has->input(0), &obj, &name)) return false;
  // Whether v reads the same attribute of the same object.
  auto same_dict = [&](const torch::jit::Value* v) {
    const torch::jit::Value* o = nullptr;
    std::string a;
    return attribute_of(v, &o, &a) && o == obj && a == name;
  };
  torch::jit::Value* key = has->input(1);
  torch::jit::Block* then_b = n->blocks()[0];
  if (n->blocks()[1]->nodes().begin() != n->blocks()[1]->nodes().end()) return false;
  torch::jit::Node* set = nullptr;
  for (torch::jit::Node* m : then_b->nodes()) {
    if (m->kind() == c10::aten::_set_item && !set) {
      set = m;
      continue;
    }
    const bool cache_read = m->outputs().size() == 1 && same_dict(m->output());
    const bool pure = m->blocks().empty() && !m->hasSideEffects() && !(m->maybeSchema() && m->maybeSchema()->is_mutable());
    if (!cache_read && !pure) return false;
  }
  if (!set || set->input(1) != key || !same_dict(set->input(0))) return false;
  torch::jit::Value* value = set->input(2);
  // The reads after the branch, in this block, of the same dict at the same key take the value;
  // dead code elimination removes them (they are not destroyed here: the walk holds the next node).
  bool read = false;
  for (torch::jit::Node* m = n->next(); m != n->owningBlock()->return_node(); m = m->next())
    if (m->kind() == c10::aten::__getitem__ && m->inputs().size() == 2 && m->input(1) == key && same_dict(m->input(0))) {
      m->output()->replaceAllUsesWith(value);
      read = true;
    }
  if (!read) return false;
  set->destroy();
  for (auto m = then_b->nodes().begin(); m != then_b->nodes().end();) {
    torch::jit::Node* moved = *m++;
    moved->moveBefore(n);
  }
  n->destroy();
  return true;
}

// Trailing arguments beyond the `given` inputs of the compile spec, when every one of them has a
// default value: each is replaced by its default (a constant, which constant propagation then
// folds into the control flow that tests it) and removed from the graph's inputs.
void fix_unspecified_defaults(torch::jit::Graph& g, const c10::FunctionSchema& schema, size_t given) {
  const auto& args = schema.arguments();
  if (args.size() != g.inputs().size()) return;
  const size_t first = !args.empty() && args[0].name() == "self" ? 1 : 0;
  if (first + given >= args.size()) return;
  for (size_t i = first + given; i < args.size(); ++i)
    if (!args[i].default_value()) return;  // not all have defaults: the input count is the user's mistake
  torch::jit::WithInsertPoint guard(g.block()->nodes().front());
  std::string fixed;
  for (size_t i = args.size(); i-- > first + given;) {
    g.inputs()[i]->replaceAllUsesWith(g.insertConstant(*args[i].default_value()));
    g.eraseInput(i);
    fixed = str_cat("'", args[i].name(), "' = ", *args[i].default_value(), fixed.empty() ? "" : ", ", fixed);
  }
  TRTORCH_LOG(kInfo, "the compile spec gives ", given, " input", given == 1 ? "" : "s", "; the method's other arguments keep "
              "their defaults (", fixed, ") and are not arguments of the compiled method");
}

}  // namespace

std::shared_ptr<torch::jit::Graph> lower_module(const torch::jit::Module& module, const std::string& method,
                                                std::vector<torch::jit::Node*>* mutations,
                                                torch::jit::Module* frozen_out, std::optional<size_t> given_inputs) {
  TRTORCH_EXPECT(module.find_method(method).has_value(), "the module has no method '", method, "'");
  // The module is cloned (sharing its tensors), put in eval mode and frozen. The clone's class
  // types belong to a compilation unit of this compile's own, which goes when the last module made
  // from it goes: cloned into the caller's unit they would stay there for good (about 35 kB a
  // compile, as with torch.jit.freeze).
  torch::jit::Module frozen;
  try {
    frozen = in_unit(module, std::make_shared<torch::jit::CompilationUnit>()).clone(/*inplace=*/true);
    frozen.eval();
    std::vector<std::string> preserved;
    if (method != "forward") preserved.push_back(method);
    torch::jit::freeze_module_inplace(&frozen, preserved);
  } catch (const std::exception& e) {
    TRTORCH_ERROR("freezing the module failed: ", e.what());
  }
  auto g = frozen.get_method(method).graph()->copy();
  if (frozen_out) *frozen_out = frozen;
  // Keep the dtypes declared on the method's inputs (the frontend takes integer and bool input
  // dtypes from them); cloning and freezing may drop them.
  auto declared = module.get_method(method).graph();
  if (declared->inputs().size() == g->inputs().size()) {
    for (size_t i = 0; i < g->inputs().size(); ++i) {
      auto t = declared->inputs()[i]->type()->cast<c10::TensorType>();
      if (t && t->scalarType() && g->inputs()[i]->type()->kind() == c10::TypeKind::TensorType)
        g->inputs()[i]->setType(t);
    }
  }
  if (given_inputs) fix_unspecified_defaults(*g, frozen.get_method(method).function().getSchema(), *given_inputs);
  torch::jit::Inline(*g);
  // Op aliases to their canonical ops (multiply -> mul, true_divide -> div, clip -> clamp,
  // greater -> gt, ...), as scripting does: traced code keeps the names it called.
  torch::jit::NormalizeOps(g);
  rewrite_nodes(g->block(), fold_isinstance);
  if (const int n = rewrite_nodes(g->block(), inline_autograd_function))
    TRTORCH_LOG(kInfo, "lowering: ", n, " traced autograd Function call", n == 1 ? "" : "s", " replaced by the trace of its forward");
  {
    std::map<const void*, CallStackPtr> done;
    use_lasting_call_stacks(g->block(), done);
  }
  remove_attr_mutation(*g);
  torch::jit::RemoveListMutation(g);
  torch::jit::RemoveTensorMutation(g);
  functionalize_view_writes(g->block());
  torch::jit::removeDropout(g);
  torch::jit::ConstantPropagation(g);
  if (const int n = rewrite_nodes(g->block(), drop_memo_cache))
    TRTORCH_LOG(kInfo, "lowering: ", n, " memo", n == 1 ? "" : "s", " in module dict attributes read as the value they hold");
  if (inline_read_only_attributes(*g, frozen) > 0) torch::jit::ConstantPropagation(g);
  remove_dict_mutation(g->block());
  torch::jit::LowerSimpleTuples(g);
  torch::jit::PeepholeOptimize(g, /*disable_shape_peepholes=*/true);
  torch::jit::ConstantPropagation(g);
  torch::jit::EliminateCommonSubexpression(g);
  torch::jit::EliminateDeadCode(g);
  check_no_observable_mutation(g->block(), mutations);
  TRTORCH_LOG(kDebug, "lowered graph:\n", g->toString());
  return g;
}

}  // namespace trtorch::frontend
