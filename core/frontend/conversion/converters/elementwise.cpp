// Elementwise arithmetic and activation converters.
#include <cmath>

#include "core/frontend/conversion/converters/helpers.h"

namespace trtorch::frontend::converters {
namespace {

using torch::jit::Node;
using ir::BinaryKind;
using ir::UnaryKind;

// The engine dtype of a binary op: torch's type promotion of its two operands (an integer tensor
// with a float scalar or a float 0-dim tensor computes in float).
ir::DType operand_dtype(ConversionCtx& ctx, const Node* n) { return promoted_dtype(ctx, {n->input(0), n->input(1)}); }

// self <op> other, optionally with other scaled by alpha (add/sub).
void add_binary(ConversionCtx& ctx, const Node* n, BinaryKind k, bool has_alpha, bool reverse = false) {
  ir::DType dt = operand_dtype(ctx, n);
  ir::Value* a = ctx.tensor_as(n->input(0), dt);
  ir::Value* b = ctx.tensor_as(n->input(1), dt);
  if (has_alpha) {
    double alpha = ctx.to_double(n->input(2));
    if (alpha != 1.0) {
      ir::Value*& scaled = reverse ? a : b;
      scaled = binary(ctx, scaled, ctx.scalar_constant(alpha, dt), BinaryKind::kMul);
    }
  }
  ctx.set_output(0, reverse ? binary(ctx, b, a, k) : binary(ctx, a, b, k));
}

ConverterFn binary_fn(BinaryKind k, bool has_alpha) {
  return [k, has_alpha](ConversionCtx& ctx, const Node* n) { add_binary(ctx, n, k, has_alpha); };
}

// floor / ceil / round / trunc: the unary op on floats; integers are already whole (torch returns
// them unchanged).
ConverterFn rounding_fn(UnaryKind k) {
  return [k](ConversionCtx& ctx, const Node* n) {
    ir::Value* x = ctx.tensor(n->input(0));
    ctx.set_output(0, ir::is_floating(x->type.dtype) ? unary(ctx, x, k) : x);
  };
}

// Input 0 is a number tensor (floating or integer), not bool.
std::string numeric_input(const ConversionCtx& ctx, const Node* n) {
  const Arg& a = ctx.arg(n->input(0));
  if (a.kind == Arg::Kind::kTensor && a.tensor->type.dtype == ir::DType::kBool)
    return str_cat("bool inputs are not supported, got ", a.tensor->type.str());
  return "";
}

// round(self, decimals): rounded to multiples of 10^-decimals, as torch computes it (scaled by
// 10^decimals, rounded, scaled back; a negative decimals divides first).
void add_round_decimals(ConversionCtx& ctx, const Node* n) {
  ir::Value* x = ctx.tensor(n->input(0));
  const int64_t d = ctx.to_int(n->input(1));
  if (!ir::is_floating(x->type.dtype)) return ctx.set_output(0, x);
  const double ten = std::pow(10.0, double(d < 0 ? -d : d));
  ir::Value* t = ctx.scalar_constant(ten, x->type.dtype);
  ir::Value* y = unary(ctx, binary(ctx, x, t, d < 0 ? BinaryKind::kDiv : BinaryKind::kMul), UnaryKind::kRound);
  ctx.set_output(0, binary(ctx, y, t, d < 0 ? BinaryKind::kMul : BinaryKind::kDiv));
}

// sign: floats by the unary op; integers as (x > 0) - (x < 0) in their own dtype.
void add_sign(ConversionCtx& ctx, const Node* n) {
  ir::Value* x = ctx.tensor(n->input(0));
  if (ir::is_floating(x->type.dtype)) return ctx.set_output(0, unary(ctx, x, UnaryKind::kSign));
  ir::Value* zero = ctx.scalar_constant(0.0, x->type.dtype);
  const at::ScalarType st = x->type.dtype == ir::DType::kInt32 ? at::kInt : at::kLong;
  ir::Value* pos = cast_to(ctx, compare(ctx, x, zero, ir::CompareKind::kGt), st);
  ir::Value* neg = cast_to(ctx, compare(ctx, x, zero, ir::CompareKind::kLt), st);
  ctx.set_output(0, binary(ctx, pos, neg, BinaryKind::kSub));
}

// neg / abs: the unary op on floats; on integers 0 - x (abs: where(x < 0, 0 - x, x)).
void add_neg_abs(ConversionCtx& ctx, const Node* n, bool abs) {
  ir::Value* x = ctx.tensor(n->input(0));
  if (ir::is_floating(x->type.dtype)) return ctx.set_output(0, unary(ctx, x, abs ? UnaryKind::kAbs : UnaryKind::kNeg));
  ir::Value* zero = ctx.scalar_constant(0.0, x->type.dtype);
  ir::Value* neg = binary(ctx, zero, x, BinaryKind::kSub);
  ctx.set_output(0, abs ? where(ctx, compare(ctx, x, zero, ir::CompareKind::kLt), neg, x) : neg);
}

// div with rounding_mode (None, "trunc", "floor") and floor_divide, on floating tensors.
void add_div_mode(ConversionCtx& ctx, const Node* n, const char* mode) {
  const ir::DType dt = operand_dtype(ctx, n);
  ir::Value* q = binary(ctx, ctx.tensor_as(n->input(0), dt), ctx.tensor_as(n->input(1), dt), BinaryKind::kDiv);
  std::string m = mode ? mode : "";
  if (!mode && !ctx.is_none(n->input(2))) m = ctx.ivalue(n->input(2)).toStringRef();
  if (m == "trunc") q = unary(ctx, q, UnaryKind::kTrunc);
  else if (m == "floor") q = unary(ctx, q, UnaryKind::kFloor);
  else if (!m.empty()) ctx.fail(str_cat("unknown rounding_mode \"", m, "\" (None, \"trunc\" and \"floor\" are)"));
  ctx.set_output(0, q);
}

// The division ops take floating tensors here (the engine has no integer division).
std::string float_division(const ConversionCtx& ctx, const Node* n) {
  for (size_t i = 0; i < 2; ++i) {
    const Arg& a = ctx.arg(n->input(i));
    if (a.kind == Arg::Kind::kTensor && !ir::is_floating(a.tensor->type.dtype))
      return str_cat("integer division is not supported (operand ", a.tensor->type.str(), ")");
  }
  if (n->inputs().size() > 2 && !ctx.is_const(n->input(2))) return "rounding_mode must be known when the engine is built";
  return "";
}

ConverterFn unary_fn(UnaryKind k) {
  return [k](ConversionCtx& ctx, const Node* n) { ctx.set_output(0, unary(ctx, ctx.tensor(n->input(0)), k)); };
}

static auto reg =
    RegisterConverters()
        .pattern({{"aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor",
                   "aten::add_.Tensor(Tensor(a!) self, Tensor other, *, Scalar alpha=1) -> Tensor(a!)",
                   "aten::add.Scalar(Tensor self, Scalar other, Scalar alpha=1) -> Tensor",
                   "aten::add_.Scalar(Tensor(a!) self, Scalar other, Scalar alpha=1) -> Tensor(a!)"},
                  binary_fn(BinaryKind::kAdd, true)})
        .pattern({{"aten::sub.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor",
                   "aten::sub_.Tensor(Tensor(a!) self, Tensor other, *, Scalar alpha=1) -> Tensor(a!)",
                   "aten::sub.Scalar(Tensor self, Scalar other, Scalar alpha=1) -> Tensor"},
                  binary_fn(BinaryKind::kSub, true)})
        .pattern({{"aten::rsub.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor",
                   "aten::rsub.Scalar(Tensor self, Scalar other, Scalar alpha=1) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_binary(ctx, n, BinaryKind::kSub, true, true); }})
        .pattern({{"aten::mul.Tensor(Tensor self, Tensor other) -> Tensor",
                   "aten::mul_.Tensor(Tensor(a!) self, Tensor other) -> Tensor(a!)",
                   "aten::mul.Scalar(Tensor self, Scalar other) -> Tensor",
                   "aten::mul_.Scalar(Tensor(a!) self, Scalar other) -> Tensor(a!)"},
                  binary_fn(BinaryKind::kMul, false)})
        .pattern({{"aten::square(Tensor self) -> Tensor", "aten::square_(Tensor(a!) self) -> Tensor(a!)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Value* x = ctx.tensor(n->input(0));
                    ctx.set_output(0, binary(ctx, x, x, BinaryKind::kMul));
                  },
                  numeric_input})
        // self + value * t1 * t2 (addcmul) or self + value * t1 / t2 (addcdiv, floating only, as in
        // torch), in the promoted dtype of the three tensors.
        .pattern({{"aten::addcmul(Tensor self, Tensor tensor1, Tensor tensor2, *, Scalar value=1) -> Tensor",
                   "aten::addcmul_(Tensor(a!) self, Tensor tensor1, Tensor tensor2, *, Scalar value=1) -> Tensor(a!)",
                   "aten::addcdiv(Tensor self, Tensor tensor1, Tensor tensor2, *, Scalar value=1) -> Tensor",
                   "aten::addcdiv_(Tensor(a!) self, Tensor tensor1, Tensor tensor2, *, Scalar value=1) -> Tensor(a!)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    const bool div = n->kind().toUnqualString()[4] == 'd';
                    const ir::DType dt = promoted_dtype(ctx, {n->input(0), n->input(1), n->input(2)});
                    if (div && !ir::is_floating(dt))
                      ctx.fail("addcdiv of integer tensors is not supported (torch refuses integer division there)");
                    ir::Value* t = binary(ctx, ctx.tensor_as(n->input(1), dt), ctx.tensor_as(n->input(2), dt),
                                          div ? BinaryKind::kDiv : BinaryKind::kMul);
                    const double value = ctx.to_double(n->input(3));
                    if (value != 1.0) t = binary(ctx, t, ctx.scalar_constant(value, dt), BinaryKind::kMul);
                    ctx.set_output(0, binary(ctx, ctx.tensor_as(n->input(0), dt), t, BinaryKind::kAdd));
                  }})
        .pattern({{"aten::div.Tensor(Tensor self, Tensor other) -> Tensor",
                   "aten::div_.Tensor(Tensor(a!) self, Tensor other) -> Tensor(a!)",
                   "aten::div.Scalar(Tensor self, Scalar other) -> Tensor",
                   "aten::div_.Scalar(Tensor(a!) self, Scalar other) -> Tensor(a!)"},
                  binary_fn(BinaryKind::kDiv, false), float_input})
        .pattern({{"aten::pow.Tensor_Scalar(Tensor self, Scalar exponent) -> Tensor",
                   "aten::pow.Tensor_Tensor(Tensor self, Tensor exponent) -> Tensor"},
                  binary_fn(BinaryKind::kPow, false), float_input})
        .pattern({{"aten::maximum(Tensor self, Tensor other) -> Tensor"}, binary_fn(BinaryKind::kMax, false)})
        .pattern({{"aten::minimum(Tensor self, Tensor other) -> Tensor"}, binary_fn(BinaryKind::kMin, false)})
        .pattern({{"aten::relu(Tensor self) -> Tensor", "aten::relu_(Tensor(a!) self) -> Tensor(a!)"},
                  unary_fn(UnaryKind::kRelu), float_input})
        .pattern({{"aten::relu6(Tensor self) -> Tensor", "aten::relu6_(Tensor(a!) self) -> Tensor(a!)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ctx.set_output(0, unary(ctx, ctx.tensor(n->input(0)), UnaryKind::kClamp, 0.0, 6.0));
                  },
                  float_input})
        .pattern({{"aten::hardtanh(Tensor self, Scalar min_val=-1, Scalar max_val=1) -> Tensor",
                   "aten::hardtanh_(Tensor(a!) self, Scalar min_val=-1, Scalar max_val=1) -> Tensor(a!)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ctx.set_output(0, unary(ctx, ctx.tensor(n->input(0)), UnaryKind::kClamp,
                                            ctx.to_double(n->input(1)), ctx.to_double(n->input(2))));
                  },
                  float_input})
        .pattern({{"aten::clamp(Tensor self, Scalar? min=None, Scalar? max=None) -> Tensor",
                   "aten::clamp_(Tensor(a!) self, Scalar? min=None, Scalar? max=None) -> Tensor(a!)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    double lo = ctx.is_none(n->input(1)) ? -std::numeric_limits<double>::infinity()
                                                         : ctx.to_double(n->input(1));
                    double hi = ctx.is_none(n->input(2)) ? std::numeric_limits<double>::infinity()
                                                         : ctx.to_double(n->input(2));
                    ctx.set_output(0, unary(ctx, ctx.tensor(n->input(0)), UnaryKind::kClamp, lo, hi));
                  },
                  float_input})
        .pattern({{"aten::clamp_min(Tensor self, Scalar min) -> Tensor",
                   "aten::clamp_min_(Tensor(a!) self, Scalar min) -> Tensor(a!)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ctx.set_output(0, unary(ctx, ctx.tensor(n->input(0)), UnaryKind::kClamp, ctx.to_double(n->input(1)),
                                            std::numeric_limits<double>::infinity()));
                  },
                  float_input})
        .pattern({{"aten::clamp_max(Tensor self, Scalar max) -> Tensor",
                   "aten::clamp_max_(Tensor(a!) self, Scalar max) -> Tensor(a!)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ctx.set_output(0, unary(ctx, ctx.tensor(n->input(0)), UnaryKind::kClamp,
                                            -std::numeric_limits<double>::infinity(), ctx.to_double(n->input(1))));
                  },
                  float_input})
        .pattern({{"aten::sigmoid(Tensor self) -> Tensor", "aten::sigmoid_(Tensor(a!) self) -> Tensor(a!)"},
                  unary_fn(UnaryKind::kSigmoid), float_input})
        .pattern({{"aten::tanh(Tensor self) -> Tensor", "aten::tanh_(Tensor(a!) self) -> Tensor(a!)"},
                  unary_fn(UnaryKind::kTanh), float_input})
        .pattern({{"aten::hardsigmoid(Tensor self) -> Tensor",
                   "aten::hardsigmoid_(Tensor(a!) self) -> Tensor(a!)"},
                  unary_fn(UnaryKind::kHardSigmoid), float_input})
        .pattern({{"aten::hardswish(Tensor self) -> Tensor", "aten::hardswish_(Tensor(a!) self) -> Tensor(a!)"},
                  unary_fn(UnaryKind::kHardSwish), float_input})
        .pattern({{"aten::silu(Tensor self) -> Tensor", "aten::silu_(Tensor(a!) self) -> Tensor(a!)"},
                  unary_fn(UnaryKind::kSilu), float_input})
        .pattern({{"aten::gelu(Tensor self, *, str approximate='none') -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    std::string approx = ctx.ivalue(n->input(1)).toStringRef();
                    if (approx != "none" && approx != "tanh") ctx.fail(str_cat("unknown gelu approximation '", approx, "'"));
                    ctx.set_output(0, unary(ctx, ctx.tensor(n->input(0)),
                                            approx == "tanh" ? UnaryKind::kGeluTanh : UnaryKind::kGeluErf));
                  },
                  float_input})
        .pattern({{"aten::leaky_relu(Tensor self, Scalar negative_slope=0.01) -> Tensor",
                   "aten::leaky_relu_(Tensor(a!) self, Scalar negative_slope=0.01) -> Tensor(a!)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ctx.set_output(0, unary(ctx, ctx.tensor(n->input(0)), UnaryKind::kLeakyRelu,
                                            ctx.to_double(n->input(1))));
                  },
                  float_input})
        .pattern({{"aten::elu(Tensor self, Scalar alpha=1, Scalar scale=1, Scalar input_scale=1) -> Tensor",
                   "aten::elu_(Tensor(a!) self, Scalar alpha=1, Scalar scale=1, Scalar input_scale=1) -> Tensor(a!)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    if (ctx.to_double(n->input(2)) != 1.0 || ctx.to_double(n->input(3)) != 1.0)
                      ctx.fail("elu with scale or input_scale other than 1 is not supported");
                    ctx.set_output(0, unary(ctx, ctx.tensor(n->input(0)), UnaryKind::kElu, ctx.to_double(n->input(1))));
                  },
                  float_input})
        .pattern({{"aten::exp(Tensor self) -> Tensor"}, unary_fn(UnaryKind::kExp), float_input})
        .pattern({{"aten::log(Tensor self) -> Tensor"}, unary_fn(UnaryKind::kLog), float_input})
        .pattern({{"aten::sqrt(Tensor self) -> Tensor"}, unary_fn(UnaryKind::kSqrt), float_input})
        .pattern({{"aten::rsqrt(Tensor self) -> Tensor"}, unary_fn(UnaryKind::kRsqrt), float_input})
        .pattern({{"aten::neg(Tensor self) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_neg_abs(ctx, n, false); }, numeric_input})
        .pattern({{"aten::abs(Tensor self) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_neg_abs(ctx, n, true); }, numeric_input})
        .pattern({{"aten::erf(Tensor self) -> Tensor"}, unary_fn(UnaryKind::kErf), float_input})
        .pattern({{"aten::reciprocal(Tensor self) -> Tensor"}, unary_fn(UnaryKind::kReciprocal), float_input})
        .pattern({{"aten::log2(Tensor self) -> Tensor", "aten::log10(Tensor self) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {  // log(x) / log(base)
                    ir::Value* x = ctx.tensor(n->input(0));
                    const double base = n->kind() == c10::Symbol::aten("log2") ? 2.0 : 10.0;
                    ctx.set_output(0, binary(ctx, unary(ctx, x, UnaryKind::kLog),
                                             ctx.scalar_constant(1.0 / std::log(base), x->type.dtype), BinaryKind::kMul));
                  },
                  float_input})
        .pattern({{"aten::exp2(Tensor self) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {  // exp(x * log(2))
                    ir::Value* x = ctx.tensor(n->input(0));
                    ctx.set_output(0, unary(ctx, binary(ctx, x, ctx.scalar_constant(std::log(2.0), x->type.dtype),
                                                        BinaryKind::kMul),
                                            UnaryKind::kExp));
                  },
                  float_input})
        .pattern({{"aten::floor(Tensor self) -> Tensor", "aten::floor_(Tensor(a!) self) -> Tensor(a!)"},
                  rounding_fn(UnaryKind::kFloor), numeric_input})
        .pattern({{"aten::ceil(Tensor self) -> Tensor", "aten::ceil_(Tensor(a!) self) -> Tensor(a!)"},
                  rounding_fn(UnaryKind::kCeil), numeric_input})
        .pattern({{"aten::round(Tensor self) -> Tensor", "aten::round_(Tensor(a!) self) -> Tensor(a!)"},
                  rounding_fn(UnaryKind::kRound), numeric_input})
        .pattern({{"aten::round.decimals(Tensor self, *, int decimals) -> Tensor",
                   "aten::round_.decimals(Tensor(a!) self, *, int decimals) -> Tensor(a!)"},
                  add_round_decimals, numeric_input})
        .pattern({{"aten::trunc(Tensor self) -> Tensor", "aten::trunc_(Tensor(a!) self) -> Tensor(a!)",
                   "aten::fix(Tensor self) -> Tensor", "aten::fix_(Tensor(a!) self) -> Tensor(a!)"},
                  rounding_fn(UnaryKind::kTrunc), numeric_input})
        .pattern({{"aten::sign(Tensor self) -> Tensor", "aten::sign_(Tensor(a!) self) -> Tensor(a!)"}, add_sign,
                  numeric_input})
        .pattern({{"aten::frac(Tensor self) -> Tensor", "aten::frac_(Tensor(a!) self) -> Tensor(a!)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Value* x = ctx.tensor(n->input(0));
                    ctx.set_output(0, binary(ctx, x, unary(ctx, x, UnaryKind::kTrunc), BinaryKind::kSub));
                  },
                  float_input})
        .pattern({{"aten::div.Tensor_mode(Tensor self, Tensor other, *, str? rounding_mode) -> Tensor",
                   "aten::div_.Tensor_mode(Tensor(a!) self, Tensor other, *, str? rounding_mode) -> Tensor(a!)",
                   "aten::div.Scalar_mode(Tensor self, Scalar other, *, str? rounding_mode) -> Tensor",
                   "aten::div_.Scalar_mode(Tensor(a!) self, Scalar other, *, str? rounding_mode) -> Tensor(a!)"},
                  [](ConversionCtx& ctx, const Node* n) { add_div_mode(ctx, n, nullptr); }, float_division})
        .pattern({{"aten::floor_divide(Tensor self, Tensor other) -> Tensor",
                   "aten::floor_divide.Scalar(Tensor self, Scalar other) -> Tensor",
                   "aten::floor_divide_.Tensor(Tensor(a!) self, Tensor other) -> Tensor(a!)"},
                  [](ConversionCtx& ctx, const Node* n) { add_div_mode(ctx, n, "floor"); }, float_division})
        .pattern({{"aten::dropout(Tensor input, float p, bool train) -> Tensor",
                   "aten::dropout_(Tensor(a!) self, float p=0.5, bool train=False) -> Tensor(a!)",
                   "aten::feature_dropout(Tensor input, float p, bool train) -> Tensor",
                   "aten::alpha_dropout(Tensor input, float p, bool train) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    if (ctx.to_bool(n->input(2))) ctx.fail("dropout in training mode is not supported (call eval())");
                    identity(ctx, n);
                  }})
        .pattern({{"aten::detach(Tensor(a) self) -> Tensor(a)", "aten::clone(Tensor self, *, MemoryFormat? memory_format=None) -> Tensor"},
                  identity});

}  // namespace
}  // namespace trtorch::frontend::converters
