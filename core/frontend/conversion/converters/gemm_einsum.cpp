// aten::einsum (gemm family), lowered to reductions, transposes, reshapes and batched MatMuls.
//
// Operands are contracted left to right. For a pair (a, b), with `needed` the labels of the
// output and of the operands still to come, each label is
//   batch      (in a and b, needed)      -> MatMul batch dims (broadcast like torch.matmul),
//   contracted (in a and b, not needed)  -> the MatMul's K,
//   left/right (in one of them, needed)  -> the MatMul's M / N,
//   summed     (in one of them, not needed) -> summed out first (Reduce).
// a is transposed to (batch, left, contracted) and viewed as (batch, M, K), b to (batch,
// contracted, right) as (batch, K, N); the product (batch, M, N) is viewed as (batch, left,
// right). One operand: sums and a transpose. The result is transposed to the output's order.
// Ellipses ("...") and the implicit output (labels seen once, in alphabetical order, after the
// ellipsis dims) follow torch; a label repeated within one operand (a diagonal) is refused.
#include <algorithm>
#include <map>
#include <set>

#include "core/frontend/conversion/converters/helpers.h"

namespace trtorch::frontend::converters {
namespace {

using torch::jit::Node;

constexpr int kEllipsisBase = 1000;  // label of the k-th broadcast (ellipsis) dim: kEllipsisBase + k

struct Operand {
  ir::Value* v;
  std::vector<int> labels;  // one per dim
};

int letter(const ConversionCtx& ctx, char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';  // in ASCII order: the implicit output sorts them so
  if (c >= 'a' && c <= 'z') return 26 + (c - 'a');
  ctx.fail(str_cat("einsum: '", std::string(1, c), "' is not a subscript (letters and ... only)"));
}

// The letters of a term (its subscripts other than an ellipsis).
int64_t letters_in(const std::string& t) {
  int64_t n = 0;
  for (char c : t) n += c != '.';
  return n;
}

// Subscripts of one term; an operand's ellipsis stands for its trailing `rank - letters` of the
// `ell_rank` broadcast dims (the output's, rank < 0, for all of them).
std::vector<int> parse_term(const ConversionCtx& ctx, const std::string& t, int64_t rank, int64_t ell_rank) {
  std::vector<int> out;
  bool ellipsis = false;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '.') {
      if (t.compare(i, 3, "...") != 0 || ellipsis) ctx.fail(str_cat("einsum: malformed ellipsis in '", t, "'"));
      ellipsis = true;
      const int64_t e = rank >= 0 ? rank - letters_in(t) : ell_rank;
      if (e < 0) ctx.fail(str_cat("einsum: '", t, "' has more subscripts than the operand's ", rank, " dims"));
      for (int64_t k = ell_rank - e; k < ell_rank; ++k) out.push_back(kEllipsisBase + int(k));
      i += 2;
    } else {
      out.push_back(letter(ctx, t[i]));
    }
  }
  if (rank >= 0 && int64_t(out.size()) != rank)
    ctx.fail(str_cat("einsum: '", t, "' names ", out.size(), " dims but the operand has ", rank));
  return out;
}

void permute_to(ConversionCtx& ctx, Operand& op, const std::vector<int>& order) {
  std::vector<int64_t> perm;
  for (int l : order) perm.push_back(std::find(op.labels.begin(), op.labels.end(), l) - op.labels.begin());
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i) identity = identity && perm[i] == int64_t(i);
  if (!identity) op.v = transpose(ctx, op.v, perm);
  op.labels = order;
}

// Sums out the labels of op that are not in `keep`.
void sum_out(ConversionCtx& ctx, Operand& op, const std::set<int>& keep) {
  ir::ReduceAttrs r;
  r.kind = ir::ReduceKind::kSum;
  std::vector<int> left;
  for (size_t i = 0; i < op.labels.size(); ++i) {
    if (keep.count(op.labels[i])) left.push_back(op.labels[i]);
    else r.axes.push_back(int64_t(i));
  }
  if (r.axes.empty()) return;
  op.v = ctx.add(ir::OpKind::Reduce, r, {op.v});
  op.labels = left;
}

ir::Dim dim_of(const Operand& op, int label) {
  return dims_of(op.v)[size_t(std::find(op.labels.begin(), op.labels.end(), label) - op.labels.begin())];
}

Operand contract(ConversionCtx& ctx, Operand a, Operand b, const std::set<int>& needed) {
  const std::set<int> la(a.labels.begin(), a.labels.end()), lb(b.labels.begin(), b.labels.end());
  std::set<int> keep_a = needed, keep_b = needed;
  keep_a.insert(lb.begin(), lb.end());
  keep_b.insert(la.begin(), la.end());
  sum_out(ctx, a, keep_a);
  sum_out(ctx, b, keep_b);
  std::vector<int> batch, left, right, con;
  for (int l : a.labels) {
    if (!std::count(b.labels.begin(), b.labels.end(), l)) left.push_back(l);
    else if (needed.count(l)) batch.push_back(l);
    else con.push_back(l);
  }
  for (int l : b.labels)
    if (!std::count(a.labels.begin(), a.labels.end(), l)) right.push_back(l);
  for (int l : con)
    if (!(dim_of(a, l) == dim_of(b, l)))
      ctx.fail(str_cat("einsum: a summed subscript has sizes ", dim_of(a, l).str(), " and ", dim_of(b, l).str()));
  std::vector<int> order_a = batch, order_b = batch;
  order_a.insert(order_a.end(), left.begin(), left.end());
  order_a.insert(order_a.end(), con.begin(), con.end());
  order_b.insert(order_b.end(), con.begin(), con.end());
  order_b.insert(order_b.end(), right.begin(), right.end());
  permute_to(ctx, a, order_a);
  permute_to(ctx, b, order_b);
  auto dims = [](const Operand& op, const std::vector<int>& ls) {
    std::vector<ir::Dim> r;
    for (int l : ls) r.push_back(dim_of(op, l));
    return r;
  };
  std::vector<ir::Dim> sa = dims(a, batch), sb = dims(b, batch);
  sa.push_back(ir::dims_product(dims(a, left)));
  sa.push_back(ir::dims_product(dims(a, con)));
  sb.push_back(ir::dims_product(dims(b, con)));
  sb.push_back(ir::dims_product(dims(b, right)));
  ir::Value* y = ctx.add(ir::OpKind::MatMul, ir::MatMulAttrs{}, {reshape(ctx, a.v, sa), reshape(ctx, b.v, sb)});
  std::vector<ir::Dim> out(dims_of(y).begin(), dims_of(y).begin() + int64_t(batch.size()));
  for (const auto& d : dims(a, left)) out.push_back(d);
  for (const auto& d : dims(b, right)) out.push_back(d);
  Operand r{reshape(ctx, y, out), batch};
  r.labels.insert(r.labels.end(), left.begin(), left.end());
  r.labels.insert(r.labels.end(), right.begin(), right.end());
  return r;
}

void add_einsum(ConversionCtx& ctx, const Node* n) {
  std::string eq;
  for (char c : ctx.ivalue(n->input(0)).toStringRef())
    if (c != ' ') eq += c;
  std::vector<ir::Value*> xs = ctx.tensor_list(n->input(1));
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != xs.size())
    ctx.fail(str_cat("einsum: '", eq, "' has ", terms.size(), " operand terms for ", xs.size(), " tensors"));
  // The broadcast rank of the ellipsis: the most dims any operand's ellipsis stands for.
  int64_t ell_rank = 0;
  for (size_t i = 0; i < terms.size(); ++i)
    if (terms[i].find("...") != std::string::npos) ell_rank = std::max(ell_rank, xs[i]->type.rank() - letters_in(terms[i]));
  std::vector<Operand> ops;
  std::map<int, int> count;
  for (size_t i = 0; i < terms.size(); ++i) {
    Operand op{xs[i], parse_term(ctx, terms[i], xs[i]->type.rank(), ell_rank)};
    std::set<int> seen;
    for (int l : op.labels) {
      if (!seen.insert(l).second) ctx.fail(str_cat("einsum: a subscript repeated within '", terms[i], "' (a diagonal) is not supported"));
      ++count[l];
    }
    ops.push_back(op);
  }
  std::vector<int> out;
  if (arrow != std::string::npos) {
    out = parse_term(ctx, eq.substr(arrow + 2), -1, ell_rank);
    std::set<int> seen;
    for (int l : out) {
      if (!count.count(l)) ctx.fail(str_cat("einsum: an output subscript of '", eq, "' is in no operand"));
      if (!seen.insert(l).second) ctx.fail(str_cat("einsum: an output subscript of '", eq, "' appears twice"));
    }
  } else {  // implicit: the ellipsis dims, then the labels seen once, alphabetically
    for (int64_t k = 0; k < ell_rank; ++k) out.push_back(kEllipsisBase + int(k));
    for (const auto& [l, c] : count)
      if (l < kEllipsisBase && c == 1) out.push_back(l);
  }
  const std::set<int> out_set(out.begin(), out.end());
  Operand acc = ops[0];
  for (size_t i = 1; i < ops.size(); ++i) {
    std::set<int> needed = out_set;
    for (size_t j = i + 1; j < ops.size(); ++j) needed.insert(ops[j].labels.begin(), ops[j].labels.end());
    acc = contract(ctx, acc, ops[i], needed);
  }
  sum_out(ctx, acc, out_set);  // every output label is in acc: an operand has it, and contractions keep it
  permute_to(ctx, acc, out);
  ctx.set_output(0, acc.v);
}

static auto reg = RegisterConverters().pattern(
    {{"aten::einsum(str equation, Tensor[] tensors, *, int[]? path=None) -> Tensor"}, add_einsum});

}  // namespace
}  // namespace trtorch::frontend::converters
