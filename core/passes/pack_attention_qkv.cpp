// Lets one GEMM produce an attention's q, k and v, and the attention read them where it wrote them:
//   (a) Attention{bshd}(Reshape(Slice(P, 0:n)), Reshape(Slice(P, n:2n)), Reshape(Slice(P, 2n:3n)) [, bias])
//       ==>  Attention{bshd, packed}(P', P', P' [, bias]),  P' = Reshape(P, [B, seq, 3, H, d])
//       (GPT-2's c_attn: one projection, split three ways along its last dim; each split was a copy)
//   (b) Attention{bshd}(Reshape(Linear(x, Wq [, bq])), Reshape(Linear(x, Wk [, bk])), Reshape(Linear(x, Wv [, bv])))
//       ==>  P = Linear(x, [Wq; Wk; Wv], [bq; bk; bv]), then as (a)
//       (BERT's and ViT's three projections of one input: one GEMM of 3n columns instead of three
//       of n, which fills the GPU better at small batch and saves two launches)
// Conditions: self-attention (q, k and v of one shape [B, seq, H, d]); the slices are the three
// consecutive thirds of P's last dim and P's other dims hold B * seq rows; in (b) the weights
// (and biases, where present) are constants, the Linears carry no activation, each feeds only
// its Reshape and each Reshape only the attention (else the old projection would stay alive
// beside the merged one, e.g. for a key/value cache output). A missing bias becomes zeros when another projection has one.
#include <cstring>

#include "core/passes/passes.h"
#include "core/passes/rewrite.h"

namespace trtorch::passes {

namespace {

ir::Node* producer_of(ir::Value* v, ir::OpKind op) {
  return v->producer && v->producer->op == op ? v->producer : nullptr;
}

const ir::HostTensor* constant_of(ir::Value* v) {
  ir::Node* c = producer_of(v, ir::OpKind::Constant);
  return c ? &c->attr<ir::ConstantAttrs>().value : nullptr;
}

// Pattern (a): the tensor P whose consecutive thirds of the last dim, reshaped, are q, k and v.
ir::Value* sliced_source(ir::Value* const (&qkv)[3]) {
  ir::Value* src = nullptr;
  for (int i = 0; i < 3; ++i) {
    ir::Node* r = producer_of(qkv[i], ir::OpKind::Reshape);
    ir::Node* s = r ? producer_of(r->inputs[0], ir::OpKind::Slice) : nullptr;
    if (!s) return nullptr;
    ir::Value* p = s->inputs[0];
    const auto& a = s->attr<ir::SliceAttrs>();
    const int64_t last = p->type.rank() - 1;
    if (a.axis != last || a.step != 1 || !a.start.is_static() || !a.end.is_static()) return nullptr;
    if (!p->type.dims[size_t(last)].is_static()) return nullptr;
    const int64_t n = p->type.dims[size_t(last)].value() / 3;
    if (n * 3 != p->type.dims[size_t(last)].value() || a.start.value() != i * n || a.end.value() != (i + 1) * n)
      return nullptr;
    if (src && src != p) return nullptr;
    src = p;
  }
  return src;
}

// Pattern (b): q, k and v reshaped from Linears of one input with constant weights; returns the
// Linear nodes in q, k, v order, or false.
bool parallel_linears(const ir::Graph& g, ir::Value* const (&qkv)[3], ir::Node* (&lin)[3]) {
  for (int i = 0; i < 3; ++i) {
    ir::Node* r = producer_of(qkv[i], ir::OpKind::Reshape);
    if (!r || g.is_output(qkv[i])) return false;
    for (ir::Node* u : qkv[i]->users)
      if (u->op != ir::OpKind::Attention || u != qkv[i]->users[0]) return false;
    lin[i] = producer_of(r->inputs[0], ir::OpKind::Linear);
    if (!lin[i] || lin[i]->attr<ir::LinearAttrs>().has_act) return false;
    ir::Value* out = lin[i]->outputs[0];
    if (out->users.size() != 1 || g.is_output(out)) return false;
    const ir::HostTensor* w = constant_of(lin[i]->inputs[1]);
    if (!w || (lin[i]->inputs.size() > 2 && !constant_of(lin[i]->inputs[2]))) return false;
    if (lin[i]->inputs[0] != lin[0]->inputs[0] || w->dtype != constant_of(lin[0]->inputs[1])->dtype ||
        w->shape != constant_of(lin[0]->inputs[1])->shape)
      return false;
  }
  return lin[0] != lin[1] && lin[1] != lin[2] && lin[0] != lin[2];
}

// Row-major concatenation along dim 0 of tensors of one dtype and equal trailing dims.
ir::HostTensor concat_rows(const std::vector<const ir::HostTensor*>& parts) {
  std::vector<int64_t> shape = parts[0]->shape;
  shape[0] = 0;
  for (const ir::HostTensor* p : parts) shape[0] += p->shape[0];
  ir::HostTensor out(parts[0]->dtype, shape);
  size_t at = 0;
  for (const ir::HostTensor* p : parts) {
    std::memcpy(static_cast<uint8_t*>(out.data()) + at, p->data(), p->nbytes());
    at += p->nbytes();
  }
  return out;
}

// The fused projection of pattern (b), inserted before the first of the three Linears.
ir::Value* fuse_linears(ir::Graph& g, ir::Node* const (&lin)[3]) {
  const bool any_bias = lin[0]->inputs.size() > 2 || lin[1]->inputs.size() > 2 || lin[2]->inputs.size() > 2;
  std::vector<const ir::HostTensor*> ws, bs;
  std::vector<ir::HostTensor> zeros;
  zeros.reserve(3);
  for (ir::Node* l : lin) {
    const ir::HostTensor* w = constant_of(l->inputs[1]);
    ws.push_back(w);
    if (!any_bias) continue;
    if (l->inputs.size() > 2) {
      bs.push_back(constant_of(l->inputs[2]));
    } else {
      zeros.emplace_back(w->dtype, std::vector<int64_t>{w->shape[0]});
      bs.push_back(&zeros.back());
    }
  }
  ir::Node* first = lin[0];
  for (ir::Node* n : g.nodes())
    if (n == lin[0] || n == lin[1] || n == lin[2]) {
      first = n;
      break;
    }
  const std::string& src = lin[0]->source;
  std::vector<ir::Value*> ins{lin[0]->inputs[0]};
  ins.push_back(g.insert_before(first, ir::OpKind::Constant, ir::ConstantAttrs{concat_rows(ws)}, {}, src)->outputs[0]);
  if (any_bias)
    ins.push_back(g.insert_before(first, ir::OpKind::Constant, ir::ConstantAttrs{concat_rows(bs)}, {}, src)->outputs[0]);
  return g.insert_before(first, ir::OpKind::Linear, lin[0]->attrs, ins, src)->outputs[0];
}

}  // namespace

bool pack_attention_qkv(ir::Graph& g) {
  bool changed = false;
  for (ir::Node* n : g.nodes()) {
    if (n->op != ir::OpKind::Attention) continue;
    const auto& a = n->attr<ir::AttentionAttrs>();
    if (!a.bshd || a.packed) continue;
    ir::Value* const qkv[3] = {n->inputs[0], n->inputs[1], n->inputs[2]};
    const ir::TensorType& t = qkv[0]->type;  // [B, seq, H, d]
    if (qkv[1]->type != t || qkv[2]->type != t || t.rank() != 4) continue;
    const ir::Dim rows = ir::dims_product({t.dims[0], t.dims[1]});
    auto holds_rows = [&](ir::Value* p) {
      std::vector<ir::Dim> lead(p->type.dims.begin(), p->type.dims.end() - 1);
      return p->type.dtype == t.dtype && ir::dims_product(lead) == rows;
    };
    ir::Value* p = sliced_source(qkv);
    if (!p) {
      ir::Node* lin[3];
      if (!parallel_linears(g, qkv, lin) || !holds_rows(lin[0]->outputs[0])) continue;
      p = fuse_linears(g, lin);
    }
    if (!holds_rows(p)) continue;
    ir::ReshapeAttrs r;
    r.shape = {t.dims[0], t.dims[1], ir::Dim(3), t.dims[2], t.dims[3]};
    ir::Value* packed = g.insert_before(n, ir::OpKind::Reshape, r, {p}, n->source)->outputs[0];
    ir::AttentionAttrs pa = a;
    pa.packed = true;
    std::vector<ir::Value*> ins{packed, packed, packed};
    if (n->inputs.size() > 3) ins.push_back(n->inputs[3]);
    replace_node(g, n, pa, ins);
    changed = true;
  }
  return changed;
}

}  // namespace trtorch::passes
