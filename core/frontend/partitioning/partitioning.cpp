// Partitioning (see partitioning.h): placement of every node, then engine segments by dependency
// level, then checks that send nodes to TorchScript and start over until nothing changes.
#include "core/frontend/partitioning/partitioning.h"

#include <algorithm>
#include <functional>
#include <map>
#include <unordered_set>

#include "core/frontend/conversion/context.h"
#include "core/frontend/conversion/registry.h"
#include "core/frontend/lowering/aliases.h"
#include "core/util/error.h"

namespace trtorch::frontend {

using torch::jit::Block;
using torch::jit::Node;
using torch::jit::Value;
namespace prim = c10::prim;

Node* ancestor_in(Block* b, Node* n) {
  while (n) {
    if (n->owningBlock() == b) return n;
    Block* ob = n->owningBlock();
    n = ob ? ob->owningNode() : nullptr;
  }
  return nullptr;
}

namespace {

bool inside(const Node* root, const Value* v) {
  const Node* p = v->node();
  while (p) {
    if (p == root) return true;
    const Block* ob = p->owningBlock();
    p = ob ? ob->owningNode() : nullptr;
  }
  return false;
}

void outer_inputs(Node* root, Node* n, const std::function<void(Value*)>& fn) {
  for (Value* v : n->inputs())
    if (!inside(root, v)) fn(v);
  for (Block* b : n->blocks()) {
    for (Node* m : b->nodes()) outer_inputs(root, m, fn);
    for (Value* v : b->outputs())
      if (!inside(root, v)) fn(v);
  }
}

bool has_tensor_output(const Node* n) {
  return std::any_of(n->outputs().begin(), n->outputs().end(), [](const Value* v) { return is_tensor_value(v); });
}

bool has_tensor_input(const Node* n) {
  return std::any_of(n->inputs().begin(), n->inputs().end(), [](const Value* v) { return is_tensor_value(v); });
}

// List and tuple plumbing: never counted as an op, never a reason to keep a segment.
bool is_structural(const Node* n) {
  auto k = n->kind();
  return k == prim::ListConstruct || k == prim::ListUnpack || k == prim::TupleConstruct || k == prim::TupleUnpack ||
         k == prim::TupleIndex || k == prim::DictConstruct || k == c10::aten::__getitem__ ||
         k == prim::Uninitialized || k == prim::Constant;
}

bool mutates(const Node* n) {
  const c10::FunctionSchema* s = n->maybeSchema();
  return s && s->is_mutable();
}

bool side_effects(const Node* n) {
  if (n->hasSideEffects() || mutates(n) || n->kind() == c10::aten::warn) return true;
  for (const Block* b : n->blocks())
    for (const Node* m : b->nodes())
      if (side_effects(m)) return true;
  return false;
}

}  // namespace

void for_each_outer_input(Node* n, const std::function<void(Value*)>& fn) { outer_inputs(n, n, fn); }

void for_each_node(Block* b, const std::function<void(Node*)>& fn) {
  for (Node* n : b->nodes()) {
    fn(n);
    for (Block* sub : n->blocks()) for_each_node(sub, fn);
  }
}

std::unordered_set<const Value*> mutated_values(torch::jit::Graph& g) {
  std::unordered_set<const Value*> out;
  std::function<void(Block*)> walk = [&](Block* b) {
    for (Node* n : b->nodes()) {
      if (mutates(n) && !n->inputs().empty()) {
        out.insert(n->input(0));
        // A write through a view changes the tensor it views and that tensor's other views: their
        // readers keep their place around the write too.
        if (is_tensor_value(n->input(0)))
          for (const Value* a : view_aliases(n->input(0))) out.insert(a);
      }
      // An attribute write (convit's `self.rel_indices = ...` in a branch): the object written and
      // the objects it was reached through, so that the attribute reads after it stay after it.
      if (n->kind() == prim::SetAttr)
        for (const Value* o = n->input(0);; o = o->node()->input(0)) {
          out.insert(o);
          if (o->node()->kind() != prim::GetAttr) break;
        }
      for (Block* sub : n->blocks()) walk(sub);
    }
  };
  walk(g.block());
  return out;
}

bool keeps_order(Node* n, const std::unordered_set<const Value*>& mutated) {
  if (side_effects(n)) return true;
  bool touches = false;
  for_each_outer_input(n, [&](Value* v) { touches = touches || mutated.count(v) > 0; });
  return touches;
}

namespace {

class Partitioner {
 public:
  Partitioner(ForcedNodes& forced, int64_t min_block_size) : forced_(forced), min_block_size_(min_block_size) {}

  // False when it sent nodes to TorchScript (the caller runs it again).
  bool run(torch::jit::Graph& g) {
    mutated_ = mutated_values(g);
    classify_block(g.block());
    segment_block(g.block());
    if (changed_) return false;
    for (size_t s = 0; s < part.segments.size(); ++s) collect_inputs(int(s));
    for (const auto& seg : part.segments) segment_inputs_.insert(seg.inputs.begin(), seg.inputs.end());
    for (size_t s = 0; s < part.segments.size(); ++s) collect_outputs(int(s));
    if (changed_) return false;
    for (auto& seg : part.segments) {
      if (int64_t(seg.op_count) >= min_block_size_) continue;
      for (Node* n : seg.nodes)
        force(n, str_cat("in an engine segment of ", seg.op_count, seg.op_count == 1 ? " op" : " ops",
                         ", fewer than min_block_size (", min_block_size_, ")"));
    }
    return !changed_;
  }

  Partition part;

 private:
  void force(const Node* n, const std::string& why) {
    if (forced_.emplace(n, why).second) changed_ = true;
  }
  Placement placement(const Node* n) const {
    auto it = part.placement.find(n);
    return it == part.placement.end() ? Placement::kTorch : it->second;
  }
  void place(Node* n, Placement p, const std::string& why = "") {
    part.placement[n] = p;
    if (p == Placement::kTorch) part.why_torch[n] = why;
  }

  // A non-tensor value an engine can have: a constant, or computed by a copyable node (or by an
  // engine node; that it sits in the same segment is checked once segments exist).
  bool engine_computable(const Value* v) const {
    const Node* p = v->node();
    if (p->kind() == prim::Constant) return true;
    auto it = part.placement.find(p);
    return it != part.placement.end() && it->second != Placement::kTorch;
  }
  // The first non-tensor input an engine cannot have, or null.
  const Value* foreign_input(Node* n) const {
    const Value* bad = nullptr;
    for_each_outer_input(n, [&](Value* v) {
      if (!bad && !is_tensor_value(v) && !engine_computable(v)) bad = v;
    });
    return bad;
  }

  void classify_block(Block* b) {
    for (Node* n : b->nodes()) classify(n);
  }

  void classify(Node* n) {
    auto forced = forced_.find(n);
    if (forced != forced_.end()) {
      place(n, Placement::kTorch, forced->second);
      for (Block* sub : n->blocks()) classify_block(sub);
      return;
    }
    const auto k = n->kind();
    if (k == prim::Constant || k == prim::Uninitialized) return place(n, Placement::kCopy);
    if (side_effects(n) && n->blocks().empty())
      return place(n, Placement::kTorch, mutates(n) ? "mutates its input in place" : "has side effects");
    if (!n->blocks().empty()) return control_flow(n);
    if (!has_tensor_output(n)) {
      // Sizes, int arithmetic, lists: copied where needed, when an engine can compute them.
      bool copyable = is_structural(n) || find_value_evaluator(n) ||
                      (n->maybeOperator() && !has_tensor_input(n) && !find_converter(n));
      if (copyable) {
        if (const Value* bad = foreign_input(n))
          return place(n, Placement::kTorch, str_cat("needs %", bad->debugName(), " (", bad->type()->str(),
                                                     "), a non-tensor value computed in TorchScript"));
        return place(n, Placement::kCopy);
      }
    }
    const bool convertible = is_structural(n) || find_converter(n) || find_evaluator(n);
    if (!convertible) {
      // Tensors made from compile-time values alone (torch.zeros(3)) are evaluated by the converter.
      if (n->maybeOperator() && !has_tensor_input(n) && !foreign_input(n)) return place(n, Placement::kCopy);
      return place(n, Placement::kTorch, "unsupported operator");
    }
    if (const Value* bad = foreign_input(n))
      return place(n, Placement::kTorch, str_cat("needs %", bad->debugName(), " (", bad->type()->str(),
                                                 "), a non-tensor value computed in TorchScript"));
    place(n, Placement::kEngine);
  }

  // prim::If / prim::Loop: in an engine when the condition (and trip count) is known at compile
  // time and everything inside converts; else the node stays in TorchScript and its blocks are
  // partitioned on their own.
  void control_flow(Node* n) {
    const auto k = n->kind();
    for (Block* sub : n->blocks()) classify_block(sub);
    if (k != prim::If && k != prim::Loop) return place(n, Placement::kTorch, "unsupported operator");
    const size_t header = k == prim::If ? 1 : 2;
    for (size_t i = 0; i < header; ++i) {
      const Value* v = n->input(i);
      if (!engine_computable(v))
        return place(n, Placement::kTorch,
                     str_cat(k == prim::If ? "branches on" : "loops on", " %", v->debugName(),
                             ", a value computed at run time (the control flow stays in TorchScript; its blocks are "
                             "compiled)"));
    }
    if (k == prim::Loop) {
      const Value* cond = n->blocks()[0]->outputs()[0];
      if (cond->node()->owningBlock() == n->blocks()[0] && !engine_computable(cond))
        return place(n, Placement::kTorch, "its continue condition is computed at run time");
    }
    std::function<bool(Block*)> all_engine = [&](Block* b) {
      for (Node* m : b->nodes())
        if (placement(m) == Placement::kTorch) return false;
      return true;
    };
    for (Block* sub : n->blocks())
      if (!all_engine(sub)) return place(n, Placement::kTorch, "contains ops that run in TorchScript");
    if (const Value* bad = foreign_input(n))
      return place(n, Placement::kTorch, str_cat("needs %", bad->debugName(), " (", bad->type()->str(),
                                                 "), a non-tensor value computed in TorchScript"));
    place(n, Placement::kEngine);
  }

  // Groups the engine nodes of `b` by dependency level (see partitioning.h) and recurses into the
  // blocks of control flow that stays in TorchScript.
  void segment_block(Block* b) {
    std::unordered_map<const Value*, int> ready_engine, ready_torch;
    auto get = [](const std::unordered_map<const Value*, int>& m, const Value* v) {
      auto it = m.find(v);
      return it == m.end() ? 0 : it->second;
    };
    int side_chain = 0;
    std::map<int, int> segment_at_level;
    for (Node* n : b->nodes()) {
      int re = 0, rt = 0;
      for_each_outer_input(n, [&](Value* v) {
        re = std::max(re, get(ready_engine, v));
        rt = std::max(rt, get(ready_torch, v));
      });
      const Placement p = placement(n);
      int out_e = re, out_t = rt;
      if (p == Placement::kEngine) {
        out_t = re + 1;
        auto it = segment_at_level.find(re);
        if (it == segment_at_level.end()) {
          it = segment_at_level.emplace(re, int(part.segments.size())).first;
          part.segments.emplace_back();
          part.segments.back().block = b;
        }
        part.segment_of[n] = it->second;
        part.segments[size_t(it->second)].nodes.push_back(n);
      } else if (p == Placement::kTorch) {
        if (keeps_order(n, mutated_)) {
          rt = std::max(rt, side_chain);
          side_chain = rt;
        }
        out_e = out_t = rt;
        for (Block* sub : n->blocks()) segment_block(sub);
      }
      for (const Value* o : n->outputs()) {
        ready_engine[o] = out_e;
        ready_torch[o] = out_t;
      }
    }
    // Copies TorchScript still needs: used by a TorchScript node, the block's return, or such a copy.
    std::vector<Node*> nodes(b->nodes().begin(), b->nodes().end());
    for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
      Node* n = *it;
      if (placement(n) != Placement::kCopy) continue;
      bool live = false;
      for (const Value* o : n->outputs())
        for (const auto& u : o->uses()) live = live || used_by_torch(b, u.user);
      part.copy_live[n] = live;
    }
  }

  // True when `user` (anywhere under b) is TorchScript's: the block return, a TorchScript node or
  // a copy TorchScript keeps.
  bool used_by_torch(Block* b, Node* user) const {
    Node* a = ancestor_in(b, user);
    if (!a || a == b->return_node()) return true;
    Placement p = placement(a);
    if (p == Placement::kTorch) return true;
    if (p == Placement::kCopy) {
      auto it = part.copy_live.find(a);
      return it != part.copy_live.end() && it->second;
    }
    return false;
  }

  bool in_segment(const Node* n, int s) const {
    auto it = part.segment_of.find(n);
    return it != part.segment_of.end() && it->second == s;
  }

  // Inputs, copies and size of segment s; sends to TorchScript what cannot cross.
  void collect_inputs(int s) {
    Segment& seg = part.segments[size_t(s)];
    Block* b = seg.block;
    auto in_seg = [&](const Node* n) { return in_segment(n, s); };
    std::unordered_set<const Value*> seen;
    std::unordered_set<const Node*> copied;
    // Adds what segment node `consumer` needs for v: a copy of its producer, or a tensor input.
    std::function<void(Node*, Value*)> need = [&](Node* consumer, Value* v) {
      if (!seen.insert(v).second) return;
      Node* producer = v->node();
      Node* local = ancestor_in(b, producer);
      if (local && in_seg(local)) return;
      const bool copy = placement(producer) == Placement::kCopy && producer->kind() != prim::Param;
      if (copy && part.placement.count(producer)) {
        if (!copied.insert(producer).second) return;
        for_each_outer_input(producer, [&](Value* in) { need(consumer, in); });
        seg.copies.push_back(producer);
        return;
      }
      if (is_tensor_value(v)) {
        seg.inputs.push_back(v);
        return;
      }
      force(consumer, str_cat("needs %", v->debugName(), " (", v->type()->str(),
                              "), a non-tensor value computed outside its engine segment"));
    };
    for (Node* n : seg.nodes) {
      for_each_outer_input(n, [&](Value* v) { need(n, v); });
      seg.op_count += op_count(n);
    }
  }

  // The tensors of segment s that TorchScript or another segment reads (directly or through a
  // copy); sends to TorchScript a node whose non-tensor value is read outside.
  void collect_outputs(int s) {
    Segment& seg = part.segments[size_t(s)];
    Block* b = seg.block;
    for (Node* n : seg.nodes) {
      for (Value* o : n->outputs()) {
        bool outside = segment_inputs_.count(o) > 0;
        for (const auto& u : o->uses()) {
          Node* a = ancestor_in(b, u.user);
          if (a && in_segment(a, s)) continue;
          if (used_by_torch(b, u.user) || (a && placement(a) == Placement::kEngine)) outside = true;
        }
        if (!outside) continue;
        if (is_tensor_value(o)) {
          seg.outputs.push_back(o);
        } else {
          force(n, str_cat("produces %", o->debugName(), " (", o->type()->str(),
                           "), a non-tensor value used outside its engine segment"));
        }
      }
    }
  }

  static size_t op_count(const Node* n) {
    if (n->blocks().empty()) return is_structural(n) ? 0 : 1;
    size_t c = 0;
    for (const Block* b : n->blocks())
      for (const Node* m : b->nodes()) c += op_count(m);
    return std::max<size_t>(c, 1);
  }

  ForcedNodes& forced_;
  std::unordered_set<const Value*> segment_inputs_;
  std::unordered_set<const Value*> mutated_;
  int64_t min_block_size_;
  bool changed_ = false;
};

}  // namespace

Partition partition_graph(torch::jit::Graph& g, ForcedNodes& forced, int64_t min_block_size) {
  // Each round only sends nodes to TorchScript, so this ends within one round per node.
  for (;;) {
    Partitioner p(forced, min_block_size);
    if (p.run(g)) return std::move(p.part);
  }
}

}  // namespace trtorch::frontend
