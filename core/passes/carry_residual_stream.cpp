// Carries the residual stream of a pre-LayerNorm transformer (GPT-2, ViT) in FP32 in FP16/BF16
// engines. There the sum h + sublayer(LayerNorm(h)) feeds both the next LayerNorm and the next
// residual add; stored in FP16 it is rounded once per sublayer, and that rounding sets most of the
// output error (GPT-2 emulated on the CPU: 0.0016 relative error with it, 0.0008 without).
//
//   s = Binary add(a, b)            (FP16/BF16, a and b of s's type; s used by a LayerNorm n and
//   y = LayerNorm(s, w, bias)        by other nodes)
//   ... other users of s
// ==>
//   y, s32 = LayerNorm{has_residual, emit_sum}(a, b, w, bias)   (s32: a + b in FP32)
//   s' = Cast(s32 -> FP16/BF16)     for the other users
// (both placed before the first user of s; the LayerNorm's weight and bias must precede it)
//
// and a LayerNorm{has_residual} whose input 0 or 1 is such a Cast of an FP32 value reads the FP32
// value instead (swapping its two summands where needed: input 0 keeps the storage type). So a
// chain of sublayers passes the stream from LayerNorm to LayerNorm in FP32, and a Cast remains only
// where something else (a graph output, another op) reads the stream. FP32 engines: no change.
#include <algorithm>
#include <unordered_map>

#include "core/passes/passes.h"
#include "core/passes/rewrite.h"

namespace trtorch::passes {

namespace {

bool narrow(ir::DType t) { return t == ir::DType::kFloat16 || t == ir::DType::kBFloat16; }

// The FP32 value that `v` rounds (v = Cast(f32 value) to a narrow type), or null.
ir::Value* rounded_from(const ir::Value* v) {
  const ir::Node* c = v->producer;
  if (!c || c->op != ir::OpKind::Cast || !narrow(v->type.dtype)) return nullptr;
  ir::Value* src = c->inputs[0];
  return src->type.dtype == ir::DType::kFloat32 && src->type.dims == v->type.dims ? src : nullptr;
}

bool is_add(const ir::Node* n) {
  return n->op == ir::OpKind::Binary && n->attr<ir::BinaryAttrs>().kind == ir::BinaryKind::kAdd;
}

// Node positions, for "defined before" checks.
std::unordered_map<const ir::Node*, size_t> positions(const ir::Graph& g) {
  std::unordered_map<const ir::Node*, size_t> pos;
  size_t i = 0;
  for (const ir::Node* n : g.nodes()) pos[n] = i++;
  return pos;
}

// Summands (x, residual) for a fused LayerNorm over a + b: the residual is the FP32 value one of
// them rounds, when one does.
std::pair<ir::Value*, ir::Value*> summands(ir::Value* a, ir::Value* b) {
  if (ir::Value* r = rounded_from(b)) return {a, r};
  if (ir::Value* r = rounded_from(a)) return {b, r};
  return {a, b};
}

// Fuses one add with a LayerNorm user and other users; true if it did.
bool fuse_stream_add(ir::Graph& g, ir::Node* add) {
  if (!is_add(add)) return false;
  ir::Value* s = add->outputs[0];
  const ir::TensorType& t = s->type;
  if (!narrow(t.dtype) || add->inputs[0]->type != t || add->inputs[1]->type != t) return false;
  ir::Node* norm = nullptr;
  size_t others = 0;
  for (ir::Node* u : s->users) {
    if (!norm && u->op == ir::OpKind::LayerNorm && u->inputs[0] == s && !u->attr<ir::LayerNormAttrs>().has_residual &&
        std::count(u->inputs.begin(), u->inputs.end(), s) == 1)
      norm = u;
    else
      ++others;
  }
  // A single LayerNorm user: fuse_epilogues' has_residual does it.
  if (!norm || (others == 0 && !g.is_output(s))) return false;
  // The fused node goes before the first user of the sum: the LayerNorm's weight and bias must be
  // defined there (the summands are: they precede the add).
  auto pos = positions(g);
  ir::Node* first = norm;
  for (ir::Node* u : s->users)
    if (pos.at(u) < pos.at(first)) first = u;
  for (size_t i = 1; i < norm->inputs.size(); ++i) {
    const ir::Node* p = norm->inputs[i]->producer;
    if (p && pos.at(p) >= pos.at(first)) return false;
  }
  ir::LayerNormAttrs a = norm->attr<ir::LayerNormAttrs>();
  a.has_residual = true;
  a.emit_sum = true;
  auto [x, r] = summands(add->inputs[0], add->inputs[1]);
  std::vector<ir::Value*> ins{x, r};
  ins.insert(ins.end(), norm->inputs.begin() + 1, norm->inputs.end());
  ir::Node* fused = g.insert_before(first, ir::OpKind::LayerNorm, a, ins, norm->source);
  fused->outputs[0]->name = norm->outputs[0]->name;
  fused->outputs[1]->name = s->name + ".f32";
  ir::Node* cast = g.insert_before(first, ir::OpKind::Cast, ir::CastAttrs{t.dtype}, {fused->outputs[1]}, add->source);
  cast->outputs[0]->name = s->name;
  g.replace_all_uses(norm->outputs[0], fused->outputs[0]);
  g.remove_node(norm);
  g.replace_all_uses(s, cast->outputs[0]);
  g.remove_node(add);
  return true;
}

// A LayerNorm{has_residual} summing a rounded FP32 value reads the FP32 value; true if it changed.
bool read_fp32_summand(ir::Graph& g, ir::Node* norm) {
  const auto& a = norm->attr<ir::LayerNormAttrs>();
  if (!a.has_residual || !narrow(norm->inputs[0]->type.dtype)) return false;
  ir::Value* in0 = norm->inputs[0];
  ir::Value* in1 = norm->inputs[1];
  if (rounded_from(in0) && rounded_from(in1)) return false;
  auto [x, r] = summands(in0, in1);
  if (r == in1) return false;  // neither summand is a rounded FP32 value
  if (x == in0) {
    g.set_input(norm, 1, r);
    g.reinfer(norm);
    return true;
  }
  // Input 0 rounded: swap the summands (replace_node keeps a single output: no emit_sum).
  if (a.emit_sum || in1->type.dtype != in0->type.dtype) return false;
  std::vector<ir::Value*> ins = norm->inputs;
  ins[0] = x;
  ins[1] = r;
  replace_node(g, norm, norm->attrs, ins);
  return true;
}

}  // namespace

bool carry_residual_stream(ir::Graph& g) {
  bool changed = false;
  for (bool again = true; again;) {
    again = false;
    for (ir::Node* n : g.nodes()) {
      if (fuse_stream_add(g, n)) {
        changed = again = true;
        break;
      }
    }
  }
  for (ir::Node* n : g.nodes())
    if (n->op == ir::OpKind::LayerNorm) changed |= read_fp32_summand(g, n);
  return changed;
}

}  // namespace trtorch::passes
