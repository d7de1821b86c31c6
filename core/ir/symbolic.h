// Dimensions of tensors: static sizes or symbolic expressions over the engine's input dims.
//
// A symbolic Dim holds an integer polynomial over atoms, in a canonical form (terms sorted, equal
// monomials merged, zero coefficients dropped), so that equal sizes computed along different
// paths compare equal: ResNet's (H - 1) // 2 + 1 from a strided 1x1 convolution equals the one
// from the 3x3 convolution beside it, and [B, S, 768] reshaped to [B, S, 12, 64] and back is
// again [B, S, 768]. Atoms are
//   * input symbols: s<id> with a range [lo, hi] (a dynamic dimension of an engine input);
//   * floor divisions of a polynomial by a positive constant that does not divide it exactly.
// Every Dim carries its bounds [min, max] (interval arithmetic; a static Dim has min == max).
// An expression is evaluated once the input symbols are bound to the actual input sizes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace trtorch::ir {

struct SymPoly;
using SymPolyPtr = std::shared_ptr<const SymPoly>;

struct SymAtom {
  enum class Kind : uint8_t { kSymbol = 0, kFloorDiv = 1 };
  Kind kind = Kind::kSymbol;
  int32_t symbol = -1;     // kSymbol
  int64_t lo = 0, hi = 0;  // kSymbol: the range
  SymPolyPtr num;          // kFloorDiv: num // den
  int64_t den = 1;
  std::string key;         // canonical text, e.g. "s0" or "((s0+-1)//2)"
};
using SymAtomPtr = std::shared_ptr<const SymAtom>;

// constant + sum(coef * product(atoms)); terms sorted by their monomial's key.
struct SymPoly {
  struct Term {
    std::vector<SymAtomPtr> atoms;  // sorted by key; repeated for powers
    int64_t coef = 0;
  };
  int64_t constant = 0;
  std::vector<Term> terms;  // non-empty for every poly held by a symbolic Dim
  std::string key;
};

// Symbol id -> value.
using SymBindings = std::map<int32_t, int64_t>;

// A dimension: static (min == max, no expression) or symbolic (expression, bounds [min, max]).
struct Dim {
  int64_t min = 0, max = 0;
  SymPolyPtr expr;

  Dim() = default;
  Dim(int64_t v) : min(v), max(v) {}  // NOLINT: a static size converts implicitly
  static Dim fixed(int64_t v) { return Dim(v); }
  // An engine input's dynamic dimension: symbol `id` with range [lo, hi].
  static Dim symbolic(int32_t id, int64_t lo, int64_t hi);
  bool is_static() const { return expr == nullptr; }
  int64_t value() const;  // checks is_static()
  // The input symbol this dim is, or -1 (static, or a compound expression).
  int32_t symbol() const;
  // Exact value once the symbols are bound; throws when a symbol is unbound.
  int64_t eval(const SymBindings& b) const;
  std::string str() const;  // "7", "s0", "(s0*2048)" ...
  bool operator==(const Dim& o) const;
  bool operator!=(const Dim& o) const { return !(*this == o); }
};

// Arithmetic on dims: results are static whenever the expression reduces to a constant.
Dim operator+(const Dim& a, const Dim& b);
Dim operator-(const Dim& a, const Dim& b);
Dim operator*(const Dim& a, const Dim& b);
// Floor division by a positive constant.
Dim floor_div(const Dim& a, int64_t den);
// a / b when the division is exact for every value of the symbols (b a nonzero constant times a
// product of atoms dividing every term of a); false otherwise.
bool exact_div(const Dim& a, const Dim& b, Dim* out);
Dim dims_product(const std::vector<Dim>& dims);
std::vector<Dim> fixed_dims(const std::vector<int64_t>& sizes);

// Builds a Dim from a polynomial (canonicalizes; static if constant). Used by deserialization.
Dim make_dim(int64_t constant, std::vector<SymPoly::Term> terms);
SymAtomPtr make_symbol_atom(int32_t id, int64_t lo, int64_t hi);
SymAtomPtr make_floor_div_atom(const Dim& num, int64_t den);  // num must be symbolic

}  // namespace trtorch::ir
