// Lets Attention read its operands where the projections wrote them:
//   Transpose(q', [0,2,1,3]), Transpose(k', ..), Transpose(v', ..) -> Attention [-> Transpose [0,2,1,3]]
//   ==>  Attention{bshd}(q', k', v') [-> its output used directly]
// A multi-head layer projects to [B, seq, H, d] and transposes the heads out to [B, H, seq, d]
// for the attention, then back for the output projection: four copies of every activation that
// a strided attention kernel does not need. The Transposes stay when they have other users (DCE
// removes them otherwise); when the output is not transposed back, a Transpose restores the
// [B, H, L, d] result for its users.
#include "core/passes/passes.h"

namespace trtorch::passes {

namespace {

const std::vector<int64_t> kSwapSeqHeads = {0, 2, 1, 3};

// The [B, seq, H, d] tensor that `v` is the heads-first transpose of, or null.
ir::Value* heads_first_source(ir::Value* v) {
  ir::Node* p = v->producer;
  if (!p || p->op != ir::OpKind::Transpose || p->attr<ir::TransposeAttrs>().perm != kSwapSeqHeads) return nullptr;
  return p->inputs[0];
}

}  // namespace

bool fold_attention_layout(ir::Graph& g) {
  bool changed = false;
  for (ir::Node* n : g.nodes()) {
    if (n->op != ir::OpKind::Attention) continue;
    const auto& a = n->attr<ir::AttentionAttrs>();
    if (a.bshd || n->inputs[0]->type.rank() != 4) continue;
    ir::Value* src[3];
    bool all = true;
    for (int i = 0; i < 3; ++i) all = all && (src[i] = heads_first_source(n->inputs[size_t(i)])) != nullptr;
    if (!all) continue;
    ir::AttentionAttrs fa = a;
    fa.bshd = true;
    std::vector<ir::Value*> ins{src[0], src[1], src[2]};
    if (n->inputs.size() > 3) ins.push_back(n->inputs[3]);
    ir::Node* fused = g.insert_before(n, ir::OpKind::Attention, fa, ins, n->source);
    ir::Value* out = n->outputs[0];  // [B, H, L, d]
    // Users that transpose the result back take the [B, L, H, d] output directly; any other user
    // gets it transposed to [B, H, L, d] again.
    std::vector<ir::Node*> back, others;
    for (ir::Node* u : out->users)
      (u->op == ir::OpKind::Transpose && u->attr<ir::TransposeAttrs>().perm == kSwapSeqHeads ? back : others).push_back(u);
    for (ir::Node* u : back) g.replace_all_uses(u->outputs[0], fused->outputs[0]);
    if (!others.empty() || g.is_output(out)) {
      ir::TransposeAttrs t;
      t.perm = kSwapSeqHeads;
      ir::Node* restore = g.insert_before(n, ir::OpKind::Transpose, t, {fused->outputs[0]}, n->source);
      g.replace_all_uses(out, restore->outputs[0]);
    }
    changed = true;
  }
  return changed;
}

}  // namespace trtorch::passes
