#include "core/frontend/lowering/remove_attr_mutation.h"

#include <torch/csrc/jit/ir/alias_analysis.h>

#include <functional>
#include <map>
#include <sstream>
#include <set>
#include <string>
#include <vector>

namespace trtorch::frontend {
namespace {

using torch::jit::Node;
using torch::jit::Value;

// The attribute path of an object value: "a.b" for self.a.b, "" for the module itself; false when
// the value is not reached from the module by prim::GetAttr alone.
bool object_path(const Value* v, const Value* self, std::string* path) {
  std::vector<std::string> names;
  while (v != self) {
    const Node* n = v->node();
    if (n->kind() != c10::prim::GetAttr) return false;
    names.push_back(n->s(c10::attr::name));
    v = n->input(0);
  }
  path->clear();
  for (auto it = names.rbegin(); it != names.rend(); ++it) *path += (path->empty() ? "" : ".") + *it;
  return true;
}

struct Pass {
  const Value* self;
  int replaced = 0;
  std::map<std::string, std::vector<Node*>> writes;  // key "path:name" -> its prim::SetAttr nodes
  std::set<std::string> kept_reads;                   // keys of the reads no write dominates

  bool key_of(const Node* n, std::string* key) const {
    std::string path;
    if (!object_path(n->input(0), self, &path)) return false;
    *key = path + ":" + n->s(c10::attr::name);
    return true;
  }

  // `known`: the value each attribute holds at this point of the block (set by a dominating write).
  void run(torch::jit::Block* b, std::map<std::string, Value*> known) {
    for (Node* n : b->nodes()) {
      std::string key;
      if (n->kind() == c10::prim::SetAttr && key_of(n, &key)) {
        writes[key].push_back(n);
        known[key] = n->input(1);
        continue;
      }
      if (n->kind() == c10::prim::GetAttr && key_of(n, &key)) {
        auto it = known.find(key);
        if (it != known.end()) {
          n->output()->replaceAllUsesWith(it->second);
          ++replaced;
        } else {
          kept_reads.insert(key);
        }
        continue;
      }
      // A loop's body may read what its previous iteration wrote: what the body writes is not
      // known inside it. After a loop or branch that writes an attribute, the outer block does
      // not know its value either.
      std::map<std::string, Value*> inside = known;
      if (n->kind() == c10::prim::Loop)
        for (torch::jit::Block* sub : n->blocks()) forget_written(sub, inside);
      for (torch::jit::Block* sub : n->blocks()) run(sub, inside);
      for (torch::jit::Block* sub : n->blocks()) forget_written(sub, known);
    }
  }

  void forget_written(torch::jit::Block* b, std::map<std::string, Value*>& known) {
    for (Node* n : b->nodes()) {
      std::string key;
      if (n->kind() == c10::prim::SetAttr && key_of(n, &key)) known.erase(key);
      for (torch::jit::Block* sub : n->blocks()) forget_written(sub, known);
    }
  }
};

}  // namespace

int remove_attr_mutation(torch::jit::Graph& graph) {
  if (graph.inputs().empty()) return 0;
  Pass p{graph.inputs()[0]};
  p.run(graph.block(), {});
  for (const auto& [key, nodes] : p.writes) {
    if (p.kept_reads.count(key)) continue;
    for (Node* n : nodes) n->destroy();
  }
  return p.replaced;
}

int inline_read_only_attributes(torch::jit::Graph& graph, const torch::jit::Module& module) {
  if (graph.inputs().empty()) return 0;
  Pass p{graph.inputs()[0]};
  std::set<std::string> written;
  std::vector<Node*> reads;
  std::function<void(torch::jit::Block*)> walk = [&](torch::jit::Block* b) {
    for (Node* n : b->nodes()) {
      std::string key;
      if (n->kind() == c10::prim::SetAttr && p.key_of(n, &key)) written.insert(key);
      if (n->kind() == c10::prim::GetAttr && n->output()->type()->kind() == c10::TypeKind::TensorType) reads.push_back(n);
      for (torch::jit::Block* sub : n->blocks()) walk(sub);
    }
  };
  walk(graph.block());
  // Writes through the tensor itself (self.count[0:2] += 1, an in-place op on a view of it) count
  // as writes of the attribute: a key any of whose reads has a writer stays an attribute.
  {
    torch::jit::AliasDb aliases(graph.shared_from_this());
    for (Node* n : reads) {
      std::string key;
      if (p.key_of(n, &key) && aliases.hasWriters(n->output())) written.insert(key);
    }
  }
  int inlined = 0;
  for (Node* n : reads) {
    std::string path, key;
    if (!object_path(n->input(0), p.self, &path) || !p.key_of(n, &key) || written.count(key)) continue;
    // The object the chain names, in the (frozen) module.
    c10::IValue obj = module._ivalue();
    std::stringstream names(path);
    for (std::string name; !path.empty() && std::getline(names, name, '.');)
      obj = obj.toObjectRef().getAttr(name);
    const c10::IValue value = obj.toObjectRef().getAttr(n->s(c10::attr::name));
    if (!value.isTensor() || !value.toTensor().defined()) continue;
    torch::jit::WithInsertPoint guard(n);
    // Detached: a tensor attribute that requires grad (a plain tensor, not a registered parameter:
    // EVA-02's rotary tables) is a constant like any other for inference; TorchScript refuses
    // constants that require grad.
    n->output()->replaceAllUsesWith(graph.insertConstant(value.toTensor().detach()));
    n->destroy();
    ++inlined;
  }
  return inlined;
}

}  // namespace trtorch::frontend
