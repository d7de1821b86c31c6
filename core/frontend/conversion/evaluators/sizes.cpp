// Evaluators for arithmetic on symbolic sizes (dynamic shapes): aten::size of a dynamic dim gives
// a symbolic size (Arg::Kind::kSymInt); sums, differences, products and floor divisions of sizes
// and ints stay symbolic, comparisons are decided from the sizes' ranges where the range decides
// them, lists that hold symbolic sizes can be indexed, sliced and concatenated, and an arange to a
// symbolic bound is a slice of a constant arange. Traced graphs
// pass sizes through prim::NumToTensor / aten::Int as 0-dim tensors: those keep the size.
// Each evaluator returns false when no operand is symbolic (the op is then evaluated or converted
// as usual).
#include <ATen/ATen.h>

#include <sstream>

#include "core/frontend/conversion/registry.h"
#include "core/util/error.h"

namespace trtorch::frontend {
namespace {

using torch::jit::Node;

bool is_sym(const ConversionCtx& ctx, const torch::jit::Value* v) { return ctx.arg(v).kind == Arg::Kind::kSymInt; }

// Both operands are sizes and at least one is symbolic.
bool sym_operands(const ConversionCtx& ctx, const Node* n) {
  if (n->inputs().size() < 2) return false;
  const auto* a = n->input(0);
  const auto* b = n->input(1);
  return (is_sym(ctx, a) || is_sym(ctx, b)) && ctx.is_size(a) && ctx.is_size(b);
}

// Passes a symbolic size through (NumToTensor, Int, ...).
bool pass_through(ConversionCtx& ctx, const Node* n) {
  if (!is_sym(ctx, n->input(0))) return false;
  ctx.set(n->output(), ctx.arg(n->input(0)));
  return true;
}

template <typename F>
EvaluatorFn arithmetic(F f) {
  return [f](ConversionCtx& ctx, const Node* n) {
    if (!sym_operands(ctx, n)) return false;
    ctx.set(n->output(), Arg::of_dim(f(ctx, n, ctx.to_dim(n->input(0)), ctx.to_dim(n->input(1)))));
    return true;
  };
}

ir::Dim floor_divide(const ConversionCtx& ctx, const ir::Dim& a, const ir::Dim& b) {
  if (!b.is_static() || b.min <= 0) {
    ir::Dim q;
    if (ir::exact_div(a, b, &q)) return q;
    ctx.fail(str_cat("dividing the size ", a.str(), " by ", b.str(),
                     " is supported only by a positive constant or an exact divisor"));
  }
  return ir::floor_div(a, b.min);
}

// A comparison of sizes; fails when the ranges do not decide it.
enum class Cmp { kEq, kNe, kLt, kLe, kGt, kGe };
EvaluatorFn comparison(Cmp c) {
  return [c](ConversionCtx& ctx, const Node* n) {
    if (!sym_operands(ctx, n)) return false;
    const ir::Dim a = ctx.to_dim(n->input(0)), b = ctx.to_dim(n->input(1));
    // lt: known true when a.max < b.min, known false when a.min >= b.max.
    auto decide_lt = [&](const ir::Dim& x, const ir::Dim& y, bool* out) {
      if (x == y) return *out = false, true;
      if (x.max < y.min) return *out = true, true;
      if (x.min >= y.max) return *out = false, true;
      return false;
    };
    bool r = false, known = false;
    switch (c) {
      case Cmp::kEq:
      case Cmp::kNe: {
        bool lt, gt;
        if (a == b) {
          r = true, known = true;
        } else if ((decide_lt(a, b, &lt) && lt) || (decide_lt(b, a, &gt) && gt)) {
          r = false, known = true;
        }
        if (c == Cmp::kNe) r = !r;
        break;
      }
      case Cmp::kLt: known = decide_lt(a, b, &r); break;
      case Cmp::kGe: known = decide_lt(a, b, &r), r = !r; break;
      case Cmp::kGt: known = decide_lt(b, a, &r); break;
      case Cmp::kLe: known = decide_lt(b, a, &r), r = !r; break;
    }
    if (!known)
      ctx.fail(str_cat("comparing the sizes ", a.str(), " (range [", a.min, ", ", a.max, "]) and ", b.str(), " (range [",
                       b.min, ", ", b.max, "]) depends on the input shape; the model's control flow must not ",
                       "depend on a dynamic dimension"));
    ctx.set(n->output(), Arg::of_ivalue(r));
    return true;
  };
}

bool holds_sym(const std::vector<Arg>& items) {
  for (const Arg& i : items)
    if (i.kind == Arg::Kind::kSymInt) return true;
  return false;
}

// arange with a symbolic bound: a constant arange over the bound's whole range, sliced to the
// actual bounds at run time (the engine has no arange op: positions and masks are built this way).
bool arange(ConversionCtx& ctx, const Node* n) {
  const std::string overload = n->maybeSchema() ? n->maybeSchema()->overload_name() : "";
  size_t start_i, end_i, step_i, dtype_i;
  if (overload.empty()) {
    start_i = step_i = SIZE_MAX, end_i = 0, dtype_i = 1;
  } else if (overload == "start") {
    start_i = 0, end_i = 1, step_i = SIZE_MAX, dtype_i = 2;
  } else if (overload == "start_step") {
    start_i = 0, end_i = 1, step_i = 2, dtype_i = 3;
  } else {
    return false;
  }
  const bool any_sym = is_sym(ctx, n->input(end_i)) || (start_i != SIZE_MAX && is_sym(ctx, n->input(start_i)));
  if (!any_sym) return false;
  const ir::Dim start = start_i == SIZE_MAX ? ir::Dim(0) : ctx.to_dim(n->input(start_i));
  const ir::Dim end = ctx.to_dim(n->input(end_i));
  const int64_t step = step_i == SIZE_MAX ? 1 : ctx.to_int(n->input(step_i));
  if (step <= 0) ctx.fail("arange with a dynamic bound needs a positive integer step");
  if (start.min < 0) ctx.fail(str_cat("arange from ", start.str(), ", which may be negative"));
  at::ScalarType st = ctx.is_none(n->input(dtype_i)) ? at::kLong : at::ScalarType(ctx.to_int(n->input(dtype_i)));
  ir::Value* all = ctx.constant(at::arange(end.max, at::TensorOptions().dtype(st)));
  ir::SliceAttrs a;
  a.axis = 0;
  a.start = start;
  a.end = end;
  a.step = step;
  ctx.set_output(0, ctx.add(ir::OpKind::Slice, a, {all}));
  return true;
}

// Text of a value for aten::format: a symbolic size prints as its expression ("s0").
std::string arg_text(const Arg& a) {
  if (a.kind == Arg::Kind::kSymInt) return a.dim.str();
  if (a.kind == Arg::Kind::kList) {
    std::string r = "[";
    for (size_t i = 0; i < a.items.size(); ++i) r += (i ? ", " : "") + arg_text(a.items[i]);
    return r + "]";
  }
  if (a.kind == Arg::Kind::kIValue) {
    if (a.ivalue.isString()) return a.ivalue.toStringRef();
    std::ostringstream os;
    os << a.ivalue;
    return os.str();
  }
  return "<tensor>";
}

// "...{}...".format(args) where an argument holds a symbolic size (messages of torch._assert:
// ViT's f"Expected (batch_size, seq_length, hidden_dim) got {input.shape}").
bool format(ConversionCtx& ctx, const Node* n) {
  bool any_sym = false;
  for (size_t i = 1; i < n->inputs().size(); ++i) {
    any_sym = any_sym || is_sym(ctx, n->input(i)) || (ctx.arg(n->input(i)).kind == Arg::Kind::kList &&
                                                       holds_sym(ctx.arg(n->input(i)).items));
  }
  if (!any_sym || !ctx.is_const(n->input(0))) return false;
  const std::string fmt = ctx.ivalue(n->input(0)).toStringRef();
  std::string out;
  size_t next = 1;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] == '{' && fmt.find('}', i) != std::string::npos && next < n->inputs().size()) {
      out += arg_text(ctx.arg(n->input(next++)));
      i = fmt.find('}', i);
    } else {
      out += fmt[i];
    }
  }
  ctx.set(n->output(), Arg::of_ivalue(out));
  return true;
}

static auto evaluators =
    RegisterEvaluators()
        .size_kind("aten::format", format)
        .size_kind("aten::arange", arange)
        .size_kind("prim::NumToTensor", pass_through)
        .size_kind("aten::Int", pass_through)
        .size_kind("aten::IntImplicit", pass_through)
        .size_kind("aten::ScalarImplicit", pass_through)
        .size_kind("aten::add",
              [](ConversionCtx& ctx, const Node* n) {
                // List concatenation with symbolic items.
                std::vector<Arg> a, b;
                if (n->input(0)->type()->kind() == c10::TypeKind::ListType) {
                  if (!ctx.list_items(n->input(0), &a) || !ctx.list_items(n->input(1), &b) ||
                      !(holds_sym(a) || holds_sym(b)))
                    return false;
                  a.insert(a.end(), b.begin(), b.end());
                  ctx.set(n->output(), Arg::of_list(std::move(a), n->output()->type()));
                  return true;
                }
                return arithmetic([](const ConversionCtx& c, const Node* m, const ir::Dim& x, const ir::Dim& y) {
                  if (m->inputs().size() > 2 && !(c.is_const(m->input(2)) && c.to_int(m->input(2)) == 1))
                    c.fail("add with alpha on a dynamic size is not supported");
                  return x + y;
                })(ctx, n);
              })
        .size_kind("aten::sub", arithmetic([](const ConversionCtx& ctx, const Node* n, const ir::Dim& a, const ir::Dim& b) {
                if (n->inputs().size() > 2 && !(ctx.is_const(n->input(2)) && ctx.to_int(n->input(2)) == 1))
                  ctx.fail("sub with alpha on a dynamic size is not supported");
                return a - b;
              }))
        .size_kind("aten::mul", arithmetic([](const ConversionCtx&, const Node*, const ir::Dim& a, const ir::Dim& b) {
                return a * b;
              }))
        .size_kind("aten::floordiv", arithmetic([](const ConversionCtx& ctx, const Node*, const ir::Dim& a, const ir::Dim& b) {
                return floor_divide(ctx, a, b);
              }))
        .size_kind("aten::floor_divide",
              arithmetic([](const ConversionCtx& ctx, const Node*, const ir::Dim& a, const ir::Dim& b) {
                return floor_divide(ctx, a, b);
              }))
        .size_kind("aten::div",
              [](ConversionCtx& ctx, const Node* n) {
                if (!sym_operands(ctx, n)) return false;
                // torch.div(a, b, rounding_mode='floor'); true division of sizes gives a float.
                if (n->inputs().size() < 3 || ctx.is_none(n->input(2)) ||
                    ctx.ivalue(n->input(2)).toStringRef() != "floor")
                  ctx.fail("true division of a dynamic size (a float) is not supported; use // or rounding_mode='floor'");
                ctx.set(n->output(),
                        Arg::of_dim(floor_divide(ctx, ctx.to_dim(n->input(0)), ctx.to_dim(n->input(1)))));
                return true;
              })
        .size_kind("aten::neg",
              [](ConversionCtx& ctx, const Node* n) {
                if (!is_sym(ctx, n->input(0))) return false;
                ctx.set(n->output(), Arg::of_dim(ir::Dim::fixed(0) - ctx.to_dim(n->input(0))));
                return true;
              })
        .size_kind("aten::eq", comparison(Cmp::kEq))
        .size_kind("aten::ne", comparison(Cmp::kNe))
        .size_kind("aten::lt", comparison(Cmp::kLt))
        .size_kind("aten::le", comparison(Cmp::kLe))
        .size_kind("aten::gt", comparison(Cmp::kGt))
        .size_kind("aten::ge", comparison(Cmp::kGe))
        // List slicing and concatenation (x.size()[:-1] + (h, d)) with symbolic items.
        .size_kind("aten::slice",
              [](ConversionCtx& ctx, const Node* n) {
                std::vector<Arg> items;
                if (n->input(0)->type()->kind() != c10::TypeKind::ListType || !ctx.list_items(n->input(0), &items) ||
                    !holds_sym(items))
                  return false;
                const int64_t len = int64_t(items.size());
                auto bound = [&](size_t i, int64_t dflt) {
                  if (ctx.is_none(n->input(i))) return dflt;
                  int64_t b = ctx.to_int(n->input(i));
                  if (b < 0) b += len;
                  return std::min(std::max<int64_t>(b, 0), len);
                };
                const int64_t start = bound(1, 0), end = bound(2, len), step = ctx.to_int(n->input(3));
                if (step <= 0) ctx.fail("list slice step must be positive");
                std::vector<Arg> out;
                for (int64_t i = start; i < end; i += step) out.push_back(items[size_t(i)]);
                ctx.set(n->output(), Arg::of_list(std::move(out), n->output()->type()));
                return true;
              });

}  // namespace
}  // namespace trtorch::frontend
