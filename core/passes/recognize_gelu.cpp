// Recognizes GELU written out in elementwise ops and replaces it by one Unary, which the GEMM
// before it can then apply in its epilogue (fuse_epilogues):
//   0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))   ==>  Unary{gelu_tanh}(x)
//     (GPT-2's "gelu_new" and other models' hand-written tanh approximation: eight kernels
//     over the FFN's widest activation otherwise)
//   0.5 * x * (1 + erf(x / sqrt(2)))                          ==>  Unary{gelu_erf}(x)
// Products and sums match in either operand order; x^3 may be pow(x, 3), x * x * x or x * x^2
// forms; the multiplication by 0.5 may sit on x, on (1 + ...) or on the whole product; division
// by sqrt(2) may be multiplication by 1/sqrt(2). The exponents, 0.5 and 1 match exactly (they are
// exact in every float type); the irrational constants to a relative 2e-3 (FP16 storage of the
// literals). Every intermediate must have no other user.
#include <cmath>
#include <optional>

#include "core/passes/passes.h"

namespace trtorch::passes {

namespace {

using ir::BinaryKind;
using ir::Value;

struct Matcher {
  const ir::Graph& g;
  Value* x = nullptr;  // the GELU's input, fixed by the first leaf that binds it

  // An intermediate: produced by a node of `op` and used only once.
  ir::Node* inner(Value* v, ir::OpKind op) const {
    if (!v->producer || v->producer->op != op) return nullptr;
    if (v->users.size() != 1 || g.is_output(v)) return nullptr;
    return v->producer;
  }
  ir::Node* binary(Value* v, BinaryKind k) const {
    ir::Node* n = inner(v, ir::OpKind::Binary);
    return n && n->attr<ir::BinaryAttrs>().kind == k ? n : nullptr;
  }
  static std::optional<double> scalar(Value* v) {
    if (!v->producer || v->producer->op != ir::OpKind::Constant) return std::nullopt;
    const ir::HostTensor& t = v->producer->attr<ir::ConstantAttrs>().value;
    if (t.numel() != 1 || !ir::is_floating(t.dtype)) return std::nullopt;
    return t.get(0);
  }
  static bool near(Value* v, double c) {
    auto s = scalar(v);
    return s && std::fabs(*s - c) <= 2e-3 * std::fabs(c);
  }
  static bool exactly(Value* v, double c) {
    auto s = scalar(v);
    return s && *s == c;
  }
  // v is x (binding x on first use).
  bool is_x(Value* v) {
    if (!x) x = v;
    return v == x;
  }
  // v = a <k> b in either order with `match_a` on one operand and `match_b` on the other.
  template <typename A, typename B>
  bool commutes(Value* v, BinaryKind k, A match_a, B match_b) {
    ir::Node* n = binary(v, k);
    if (!n) return false;
    Value* saved = x;
    if (match_a(n->inputs[0]) && match_b(n->inputs[1])) return true;
    x = saved;
    return match_a(n->inputs[1]) && match_b(n->inputs[0]);
  }
  auto constant(double c) {
    return [c](Value* v) { return near(v, c); };
  }
  auto exact(double c) {
    return [c](Value* v) { return exactly(v, c); };
  }
  auto input() {
    return [this](Value* v) { return is_x(v); };
  }
  // x^3: pow(x, 3), x * (x * x), x * x^2 written as pow(x, 2).
  bool cube(Value* v) {
    if (ir::Node* p = binary(v, BinaryKind::kPow)) return is_x(p->inputs[0]) && exactly(p->inputs[1], 3.0);
    auto square = [this](Value* s) {
      if (ir::Node* p = binary(s, BinaryKind::kPow)) return is_x(p->inputs[0]) && exactly(p->inputs[1], 2.0);
      ir::Node* m = binary(s, BinaryKind::kMul);
      return m && is_x(m->inputs[0]) && is_x(m->inputs[1]);
    };
    return commutes(v, BinaryKind::kMul, input(), square);
  }
  // tanh(sqrt(2/pi) * (x + 0.044715 * x^3))
  bool tanh_arg(Value* v) {
    ir::Node* t = inner(v, ir::OpKind::Unary);
    if (!t || t->attr<ir::UnaryAttrs>().kind != ir::UnaryKind::kTanh) return false;
    auto poly = [this](Value* p) {
      return commutes(p, BinaryKind::kAdd, input(),
                      [this](Value* c) { return commutes(c, BinaryKind::kMul, constant(0.044715), [this](Value* q) { return cube(q); }); });
    };
    return commutes(t->inputs[0], BinaryKind::kMul, constant(std::sqrt(2.0 / M_PI)), poly);
  }
  // erf(x / sqrt(2)) or erf(x * (1 / sqrt(2)))
  bool erf_arg(Value* v) {
    ir::Node* e = inner(v, ir::OpKind::Unary);
    if (!e || e->attr<ir::UnaryAttrs>().kind != ir::UnaryKind::kErf) return false;
    Value* a = e->inputs[0];
    if (ir::Node* d = binary(a, BinaryKind::kDiv)) return is_x(d->inputs[0]) && near(d->inputs[1], std::sqrt(2.0));
    return commutes(a, BinaryKind::kMul, input(), constant(1.0 / std::sqrt(2.0)));
  }
  // 1 + f(...)
  template <typename F>
  bool one_plus(Value* v, F f) {
    return commutes(v, BinaryKind::kAdd, exact(1.0), f);
  }
  // 0.5 * x * (1 + f(...)) in its three groupings.
  template <typename F>
  bool gelu(Value* v, F f) {
    auto bracket = [&](Value* b) { return one_plus(b, f); };
    auto half_x = [&](Value* h) { return commutes(h, BinaryKind::kMul, exact(0.5), input()); };
    auto half_bracket = [&](Value* h) { return commutes(h, BinaryKind::kMul, exact(0.5), bracket); };
    auto x_bracket = [&](Value* h) { return commutes(h, BinaryKind::kMul, input(), bracket); };
    ir::Node* m = v->producer;
    if (!m || m->op != ir::OpKind::Binary || m->attr<ir::BinaryAttrs>().kind != BinaryKind::kMul) return false;
    auto top = [&](auto a, auto b) {
      for (int i = 0; i < 2; ++i) {
        x = nullptr;
        if (a(m->inputs[size_t(i)]) && b(m->inputs[size_t(1 - i)])) return true;
      }
      return false;
    };
    return top(half_x, bracket) || top(input(), half_bracket) || top(exact(0.5), x_bracket);
  }
};

}  // namespace

bool recognize_gelu(ir::Graph& g) {
  bool changed = false;
  for (ir::Node* n : g.nodes()) {
    if (n->op != ir::OpKind::Binary || n->attr<ir::BinaryAttrs>().kind != BinaryKind::kMul) continue;
    Value* out = n->outputs[0];
    Matcher m{g};
    ir::UnaryKind kind;
    if (m.gelu(out, [&](Value* v) { return m.tanh_arg(v); })) {
      kind = ir::UnaryKind::kGeluTanh;
    } else if (m.gelu(out, [&](Value* v) { return m.erf_arg(v); })) {
      kind = ir::UnaryKind::kGeluErf;
    } else {
      continue;
    }
    if (!m.x || m.x->type != out->type) continue;
    ir::UnaryAttrs u;
    u.kind = kind;
    ir::Node* gelu = g.insert_before(n, ir::OpKind::Unary, u, {m.x}, n->source);
    gelu->outputs[0]->name = out->name;
    g.replace_all_uses(out, gelu->outputs[0]);
    changed = true;  // the dead chain goes with dead_code_elimination
  }
  return changed;
}

}  // namespace trtorch::passes
