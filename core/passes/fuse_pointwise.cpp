// Chains of elementwise ops  ==>  one Pointwise node (a program over FP32 registers, attrs.h),
// which the CUDA backend runs as one generated kernel (NVRTC).
//
// A group is a tree of floating Unary and Binary nodes of one dtype, rooted at the node whose
// output leaves the group: every other member's output has exactly one user, the member after it
// in the tree, and is not a graph output. Scalar constants of the group become immediates (unless
// that would change the output's rank: a [1, 1, 1] constant still broadcasts). Broadcasting
// inside the group is kept: every input broadcasts against the root's output, so a member of a
// smaller shape is recomputed per output element. Groups of one node stay as they are.
//
// Runs once, after the fixed point of the other passes (PassManager::add_final): epilogue fusion
// into convolutions and GEMMs, GELU recognition and the residual-stream rewrite take their
// patterns first, and only what they leave is fused here.
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "core/passes/passes.h"

namespace trtorch::passes {

namespace {

constexpr size_t kMaxMembers = 64;  // instructions a generated kernel may hold (with immediates)

bool fusible(const ir::Node* n) {
  return (n->op == ir::OpKind::Unary || n->op == ir::OpKind::Binary) && ir::is_floating(n->outputs[0]->type.dtype);
}

bool is_scalar_constant(const ir::Value* v) {
  return v->producer && v->producer->op == ir::OpKind::Constant &&
         v->producer->attr<ir::ConstantAttrs>().value.numel() == 1;
}

// The Pointwise node of `members` (topological order, the root last), inserted before the root;
// nullptr when its output type would differ from the root's.
ir::Node* build(ir::Graph& g, const std::vector<ir::Node*>& members, bool immediates) {
  std::unordered_set<const ir::Value*> inside;
  for (const ir::Node* m : members) inside.insert(m->outputs[0]);
  std::vector<ir::Value*> inputs;
  std::unordered_map<const ir::Value*, int64_t> reg;
  for (const ir::Node* m : members)
    for (ir::Value* v : m->inputs)
      if (!inside.count(v) && !(immediates && is_scalar_constant(v)) && !reg.count(v)) {
        reg[v] = int64_t(inputs.size());
        inputs.push_back(v);
      }
  if (inputs.empty()) return nullptr;
  ir::PointwiseAttrs a;
  std::vector<float> params;
  int64_t next = int64_t(inputs.size());
  auto operand = [&](const ir::Value* v) {
    auto it = reg.find(v);
    if (it != reg.end()) return it->second;
    a.code.insert(a.code.end(), {ir::PointwiseAttrs::kImmediate, 0, 0, 0});  // a scalar constant
    params.push_back(float(v->producer->attr<ir::ConstantAttrs>().value.get(0)));
    params.push_back(0.0f);
    return reg[v] = next++;
  };
  for (const ir::Node* m : members) {
    if (m->op == ir::OpKind::Unary) {
      const auto& u = m->attr<ir::UnaryAttrs>();
      const int64_t x = operand(m->inputs[0]);
      a.code.insert(a.code.end(), {ir::PointwiseAttrs::kUnary, int64_t(u.kind), x, 0});
      params.push_back(float(u.alpha));
      params.push_back(float(u.beta));
    } else {
      const int64_t x = operand(m->inputs[0]), y = operand(m->inputs[1]);
      a.code.insert(a.code.end(), {ir::PointwiseAttrs::kBinary, int64_t(m->attr<ir::BinaryAttrs>().kind), x, y});
      params.push_back(0.0f);
      params.push_back(0.0f);
    }
    reg[m->outputs[0]] = next++;
  }
  a.params = ir::HostTensor(ir::DType::kFloat32, {int64_t(params.size())});
  std::copy(params.begin(), params.end(), a.params.ptr<float>());
  ir::Node* root = members.back();
  ir::Node* pw = g.insert_before(root, ir::OpKind::Pointwise, std::move(a), inputs, root->source);
  if (pw->outputs[0]->type != root->outputs[0]->type) {
    g.remove_node(pw);
    return nullptr;
  }
  return pw;
}

}  // namespace

bool fuse_pointwise(ir::Graph& g) {
  // Groups by root, members in topological order.
  std::unordered_map<ir::Node*, std::vector<ir::Node*>> groups;
  std::vector<ir::Node*> roots;
  for (ir::Node* n : g.nodes()) {
    if (!fusible(n)) continue;
    std::vector<ir::Node*> members;
    for (ir::Value* v : n->inputs) {
      ir::Node* p = v->producer;
      auto it = p ? groups.find(p) : groups.end();
      if (it == groups.end() || v->users.size() != 1 || g.is_output(v) || v->type.dtype != n->outputs[0]->type.dtype)
        continue;
      if (members.size() + it->second.size() + 1 > kMaxMembers) continue;
      members.insert(members.end(), it->second.begin(), it->second.end());
      groups.erase(it);  // p is no longer a root
    }
    members.push_back(n);
    groups[n] = std::move(members);
    roots.push_back(n);
  }
  bool changed = false;
  for (ir::Node* root : roots) {
    auto it = groups.find(root);
    if (it == groups.end() || it->second.size() < 2) continue;
    const std::vector<ir::Node*>& members = it->second;
    ir::Node* pw = build(g, members, /*immediates=*/true);
    if (!pw) pw = build(g, members, /*immediates=*/false);
    if (!pw) continue;
    pw->outputs[0]->name = root->outputs[0]->name;
    g.replace_all_uses(root->outputs[0], pw->outputs[0]);
    for (auto m = members.rbegin(); m != members.rend(); ++m) g.remove_node(*m);
    changed = true;
  }
  return changed;
}

}  // namespace trtorch::passes
