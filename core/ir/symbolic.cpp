#include "core/ir/symbolic.h"

#include <algorithm>

#include "core/util/error.h"

namespace trtorch::ir {

namespace {

using Term = SymPoly::Term;

int64_t add_ck(int64_t a, int64_t b) {
  int64_t r;
  TRTORCH_EXPECT(!__builtin_add_overflow(a, b, &r), "size expression overflows: ", a, " + ", b);
  return r;
}
int64_t mul_ck(int64_t a, int64_t b) {
  int64_t r;
  TRTORCH_EXPECT(!__builtin_mul_overflow(a, b, &r), "size expression overflows: ", a, " * ", b);
  return r;
}
int64_t floor_div_i(int64_t a, int64_t d) {
  int64_t q = a / d;
  return (a % d != 0 && ((a < 0) != (d < 0))) ? q - 1 : q;
}
int64_t floor_mod_i(int64_t a, int64_t d) { return a - floor_div_i(a, d) * d; }

std::string monomial_key(const std::vector<SymAtomPtr>& atoms) {
  std::string k;
  for (size_t i = 0; i < atoms.size(); ++i) k += (i ? "*" : "") + atoms[i]->key;
  return k;
}

struct Interval {
  int64_t lo, hi;
};
Interval mul_iv(Interval a, Interval b) {
  int64_t c[4] = {mul_ck(a.lo, b.lo), mul_ck(a.lo, b.hi), mul_ck(a.hi, b.lo), mul_ck(a.hi, b.hi)};
  return {*std::min_element(c, c + 4), *std::max_element(c, c + 4)};
}
Interval atom_bounds(const SymAtom& a) {
  if (a.kind == SymAtom::Kind::kSymbol) return {a.lo, a.hi};
  // num carries its own bounds through the Dim it came from: recompute from its terms.
  Interval n{a.num->constant, a.num->constant};
  for (const Term& t : a.num->terms) {
    Interval m{1, 1};
    for (const auto& at : t.atoms) m = mul_iv(m, atom_bounds(*at));
    Interval s = mul_iv(m, Interval{t.coef, t.coef});
    n = {add_ck(n.lo, s.lo), add_ck(n.hi, s.hi)};
  }
  return {floor_div_i(n.lo, a.den), floor_div_i(n.hi, a.den)};
}

int64_t eval_poly(const SymPoly& p, const SymBindings& b);
int64_t eval_atom(const SymAtom& a, const SymBindings& b) {
  if (a.kind == SymAtom::Kind::kSymbol) {
    auto it = b.find(a.symbol);
    TRTORCH_EXPECT(it != b.end(), "symbol s", a.symbol, " has no value (no input dimension binds it)");
    return it->second;
  }
  return floor_div_i(eval_poly(*a.num, b), a.den);
}
int64_t eval_poly(const SymPoly& p, const SymBindings& b) {
  int64_t v = p.constant;
  for (const Term& t : p.terms) {
    int64_t m = t.coef;
    for (const auto& a : t.atoms) m = mul_ck(m, eval_atom(*a, b));
    v = add_ck(v, m);
  }
  return v;
}

// The terms of a Dim (empty for a static one) and its constant.
std::vector<Term> terms_of(const Dim& d) { return d.expr ? d.expr->terms : std::vector<Term>{}; }
int64_t constant_of(const Dim& d) { return d.expr ? d.expr->constant : d.min; }

}  // namespace

Dim make_dim(int64_t constant, std::vector<Term> terms) {
  for (Term& t : terms)
    std::sort(t.atoms.begin(), t.atoms.end(), [](const SymAtomPtr& a, const SymAtomPtr& b) { return a->key < b->key; });
  std::map<std::string, Term> merged;
  for (Term& t : terms) {
    if (t.coef == 0) continue;
    if (t.atoms.empty()) {
      constant = add_ck(constant, t.coef);
      continue;
    }
    std::string k = monomial_key(t.atoms);
    auto it = merged.find(k);
    if (it == merged.end())
      merged.emplace(k, std::move(t));
    else
      it->second.coef = add_ck(it->second.coef, t.coef);
  }
  auto p = std::make_shared<SymPoly>();
  p->constant = constant;
  for (auto& [k, t] : merged)
    if (t.coef != 0) p->terms.push_back(std::move(t));
  if (p->terms.empty()) return Dim::fixed(constant);
  std::string key = "(";
  Interval iv{constant, constant};
  for (size_t i = 0; i < p->terms.size(); ++i) {
    const Term& t = p->terms[i];
    key += (i ? "+" : "") + (t.coef == 1 ? std::string() : std::to_string(t.coef) + "*") + monomial_key(t.atoms);
    Interval m{1, 1};
    for (const auto& a : t.atoms) m = mul_iv(m, atom_bounds(*a));
    Interval s = mul_iv(m, Interval{t.coef, t.coef});
    iv = {add_ck(iv.lo, s.lo), add_ck(iv.hi, s.hi)};
  }
  if (constant != 0) key += "+" + std::to_string(constant);
  key += ")";
  // A lone symbol prints bare ("s0", not "(s0)").
  if (constant == 0 && p->terms.size() == 1 && p->terms[0].coef == 1 && p->terms[0].atoms.size() == 1)
    key = p->terms[0].atoms[0]->key;
  p->key = std::move(key);
  Dim d;
  d.min = iv.lo;
  d.max = iv.hi;
  d.expr = std::move(p);
  return d;
}

SymAtomPtr make_symbol_atom(int32_t id, int64_t lo, int64_t hi) {
  TRTORCH_EXPECT(id >= 0 && lo >= 0 && lo <= hi, "bad symbol s", id, " with range [", lo, ", ", hi, "]");
  auto a = std::make_shared<SymAtom>();
  a->kind = SymAtom::Kind::kSymbol;
  a->symbol = id;
  a->lo = lo;
  a->hi = hi;
  a->key = "s" + std::to_string(id);
  return a;
}

SymAtomPtr make_floor_div_atom(const Dim& num, int64_t den) {
  TRTORCH_EXPECT(num.expr && den > 1, "bad floor division atom");
  auto a = std::make_shared<SymAtom>();
  a->kind = SymAtom::Kind::kFloorDiv;
  a->num = num.expr;
  a->den = den;
  a->key = "(" + num.expr->key + "//" + std::to_string(den) + ")";
  return a;
}

Dim Dim::symbolic(int32_t id, int64_t lo, int64_t hi) {
  Term t;
  t.atoms = {make_symbol_atom(id, lo, hi)};
  t.coef = 1;
  return make_dim(0, {t});
}

int64_t Dim::value() const {
  TRTORCH_CHECK(is_static(), "dim is symbolic (", str(), " in [", min, ", ", max, "])");
  return min;
}

int32_t Dim::symbol() const {
  if (!expr || expr->constant != 0 || expr->terms.size() != 1) return -1;
  const Term& t = expr->terms[0];
  if (t.coef != 1 || t.atoms.size() != 1 || t.atoms[0]->kind != SymAtom::Kind::kSymbol) return -1;
  return t.atoms[0]->symbol;
}

int64_t Dim::eval(const SymBindings& b) const { return expr ? eval_poly(*expr, b) : min; }

std::string Dim::str() const { return expr ? expr->key : std::to_string(min); }

bool Dim::operator==(const Dim& o) const {
  if (is_static() != o.is_static()) return false;
  if (is_static()) return min == o.min;
  return expr == o.expr || expr->key == o.expr->key;
}

Dim operator+(const Dim& a, const Dim& b) {
  if (a.is_static() && b.is_static()) return Dim::fixed(add_ck(a.min, b.min));
  std::vector<Term> t = terms_of(a), tb = terms_of(b);
  t.insert(t.end(), tb.begin(), tb.end());
  return make_dim(add_ck(constant_of(a), constant_of(b)), std::move(t));
}

Dim operator-(const Dim& a, const Dim& b) {
  std::vector<Term> neg = terms_of(b);
  for (Term& t : neg) t.coef = mul_ck(t.coef, -1);
  Dim nb = b.is_static() ? Dim::fixed(mul_ck(b.min, -1)) : make_dim(mul_ck(constant_of(b), -1), std::move(neg));
  return a + nb;
}

Dim operator*(const Dim& a, const Dim& b) {
  if (a.is_static() && b.is_static()) return Dim::fixed(mul_ck(a.min, b.min));
  // (ca + sum ta) * (cb + sum tb), distributed.
  std::vector<Term> ta = terms_of(a), tb = terms_of(b);
  const int64_t ca = constant_of(a), cb = constant_of(b);
  std::vector<Term> out;
  for (const Term& t : ta) out.push_back({t.atoms, mul_ck(t.coef, cb)});
  for (const Term& t : tb) out.push_back({t.atoms, mul_ck(t.coef, ca)});
  for (const Term& x : ta)
    for (const Term& y : tb) {
      Term p{x.atoms, mul_ck(x.coef, y.coef)};
      p.atoms.insert(p.atoms.end(), y.atoms.begin(), y.atoms.end());
      out.push_back(std::move(p));
    }
  return make_dim(mul_ck(ca, cb), std::move(out));
}

Dim floor_div(const Dim& a, int64_t den) {
  TRTORCH_EXPECT(den > 0, "floor division of a size by ", den);
  if (a.is_static()) return Dim::fixed(floor_div_i(a.min, den));
  if (den == 1) return a;
  // a = den * q + r with every coefficient of r in [0, den): a // den = q + r // den.
  std::vector<Term> q, r;
  for (const Term& t : a.expr->terms) {
    int64_t qc = floor_div_i(t.coef, den), rc = floor_mod_i(t.coef, den);
    if (qc) q.push_back({t.atoms, qc});
    if (rc) r.push_back({t.atoms, rc});
  }
  const int64_t qc = floor_div_i(a.expr->constant, den), rc = floor_mod_i(a.expr->constant, den);
  Dim rest = make_dim(rc, std::move(r));
  if (rest.is_static()) return make_dim(qc + floor_div_i(rest.min, den), std::move(q));
  q.push_back({{make_floor_div_atom(rest, den)}, 1});
  return make_dim(qc, std::move(q));
}

bool exact_div(const Dim& a, const Dim& b, Dim* out) {
  if (b.is_static()) {
    if (b.min == 0) return false;
    if (a.is_static()) {
      if (a.min % b.min != 0) return false;
      *out = Dim::fixed(a.min / b.min);
      return true;
    }
    if (a.expr->constant % b.min != 0) return false;
    std::vector<Term> t = a.expr->terms;
    for (Term& x : t) {
      if (x.coef % b.min != 0) return false;
      x.coef /= b.min;
    }
    *out = make_dim(a.expr->constant / b.min, std::move(t));
    return true;
  }
  if (b.expr->constant != 0 || b.expr->terms.size() != 1) return false;
  if (a.is_static()) return false;
  const Term& m = b.expr->terms[0];
  if (a.expr->constant != 0) return false;
  std::vector<Term> t;
  for (const Term& x : a.expr->terms) {
    if (x.coef % m.coef != 0) return false;
    std::vector<SymAtomPtr> left = x.atoms;
    for (const auto& d : m.atoms) {
      auto it = std::find_if(left.begin(), left.end(), [&](const SymAtomPtr& p) { return p->key == d->key; });
      if (it == left.end()) return false;
      left.erase(it);
    }
    t.push_back({std::move(left), x.coef / m.coef});
  }
  *out = make_dim(0, std::move(t));
  return true;
}

Dim dims_product(const std::vector<Dim>& dims) {
  Dim p = Dim::fixed(1);
  for (const Dim& d : dims) p = p * d;
  return p;
}

std::vector<Dim> fixed_dims(const std::vector<int64_t>& sizes) {
  std::vector<Dim> r;
  for (int64_t s : sizes) r.push_back(Dim::fixed(s));
  return r;
}

}  // namespace trtorch::ir
