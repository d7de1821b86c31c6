// Replaces an attention's constant causal bias by the causal flag:
//   Attention(q, k, v, C)  ==>  Attention{causal}(q, k, v)
// where every [L, S] slice of the constant C is 0 at j <= i and at most -9000 at j > i
// (torch.finfo.min, -inf, or the -10000 of older models, -9984 once stored in BF16). A decoder
// traced without a padding mask (GPT-2) gets its triangular mask folded to such a constant; as a
// flag, the fused kernel skips the masked half of the scores instead of reading a bias of
// B * L * S elements. The result is the same: exp of the masked scores underflows to 0 in FP32
// either way, and the diagonal keeps every row non-empty.
#include "core/passes/passes.h"
#include "core/passes/rewrite.h"

namespace trtorch::passes {

namespace {

constexpr double kMasked = -9000.0;

bool is_causal_mask(const ir::HostTensor& c, int64_t L, int64_t S) {
  if (c.shape.size() < 2 || c.shape[c.shape.size() - 2] != L || c.shape.back() != S) return false;
  const int64_t slices = L * S == 0 ? 0 : c.numel() / (L * S);
  for (int64_t b = 0; b < slices; ++b)
    for (int64_t i = 0; i < L; ++i)
      for (int64_t j = 0; j < S; ++j) {
        const double v = c.get((b * L + i) * S + j);
        if (j <= i ? v != 0.0 : !(v <= kMasked)) return false;
      }
  return true;
}

}  // namespace

bool fold_causal_mask(ir::Graph& g) {
  bool changed = false;
  for (ir::Node* n : g.nodes()) {
    if (n->op != ir::OpKind::Attention || n->inputs.size() < 4) continue;
    const auto& a = n->attr<ir::AttentionAttrs>();
    ir::Value* bias = n->inputs[3];
    if (a.causal || !bias->producer || bias->producer->op != ir::OpKind::Constant) continue;
    // Query and key lengths: the attention's output is [..., L, Ev] ([B, L, H, Ev] with bshd).
    const auto& out = n->outputs[0]->type.dims;
    const ir::Dim& L = a.bshd ? out[1] : out[out.size() - 2];
    const auto& kd = n->inputs[1]->type.dims;
    const ir::Dim& S = a.bshd ? kd[1] : kd[kd.size() - 2];
    if (!L.is_static() || !S.is_static() || L != S) continue;  // top-left aligned: square only
    if (!is_causal_mask(bias->producer->attr<ir::ConstantAttrs>().value, L.value(), S.value())) continue;
    ir::AttentionAttrs ca = a;
    ca.causal = true;
    replace_node(g, n, ca, {n->inputs[0], n->inputs[1], n->inputs[2]});
    changed = true;
  }
  return changed;
}

}  // namespace trtorch::passes
