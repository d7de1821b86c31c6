// Compare family converters. Comparisons (eq, ne, lt, le, gt, ge and their long names), logical ops
// (logical_and/or/xor/not) and the bitwise ops on bool tensors (&, |, ^, ~), all as the Compare op
// (bool output, numpy broadcasting; operands are first brought to torch's promoted dtype); where and
// masked_fill as the Where op.
#include "core/frontend/conversion/converters/helpers.h"

namespace trtorch::frontend::converters {
namespace {

using ir::CompareKind;
using torch::jit::Node;

// self <kind> other in the promoted dtype of both.
ConverterFn compare_fn(CompareKind k) {
  return [k](ConversionCtx& ctx, const Node* n) {
    ir::DType dt = promoted_dtype(ctx, {n->input(0), n->input(1)});
    ctx.set_output(0, compare(ctx, ctx.tensor_as(n->input(0), dt), ctx.tensor_as(n->input(1), dt), k));
  };
}

// A tensor as truth values: bool unchanged, else x != 0.
ir::Value* truth(ConversionCtx& ctx, ir::Value* x) {
  if (x->type.dtype == ir::DType::kBool) return x;
  return compare(ctx, x, ctx.scalar_constant(0.0, x->type.dtype), CompareKind::kNe);
}

// logical_and / logical_or / logical_xor: any dtypes, as truth values.
ConverterFn logical_fn(CompareKind k) {
  return [k](ConversionCtx& ctx, const Node* n) {
    ir::Value* a = ctx.tensor(n->input(0));
    ir::Value* b = ctx.tensor(n->input(1));
    if (a->type.dtype != b->type.dtype) {
      a = truth(ctx, a);
      b = truth(ctx, b);
    }
    ctx.set_output(0, compare(ctx, a, b, k));
  };
}

// &, |, ^ (and bitwise_and/or/xor): supported where torch's promoted dtype is bool, where they
// are the logical operations, and for a bool tensor with a compile-time integer scalar (how
// TorchScript passes `mask & True`: as `mask & 1`, an int64 result), where the result takes one
// of two values.
ConverterFn bitwise_fn(CompareKind k) {
  return [k](ConversionCtx& ctx, const Node* n) {
    ir::DType dt = promoted_dtype(ctx, {n->input(0), n->input(1)});
    for (size_t t : {size_t(0), size_t(1)}) {
      const Arg& tensor = ctx.arg(n->input(t));
      const Arg& scalar = ctx.arg(n->input(1 - t));
      if (dt == ir::DType::kBool || tensor.kind != Arg::Kind::kTensor || tensor.tensor->type.dtype != ir::DType::kBool ||
          scalar.kind != Arg::Kind::kIValue || !(scalar.ivalue.isInt() || scalar.ivalue.isBool()))
        continue;
      const int64_t s = ctx.to_int(n->input(1 - t));
      auto apply = [k, s](int64_t b) { return k == CompareKind::kAnd ? (b & s) : k == CompareKind::kOr ? (b | s) : (b ^ s); };
      ctx.set_output(0, where(ctx, tensor.tensor, ctx.scalar_constant(double(apply(1)), dt),
                              ctx.scalar_constant(double(apply(0)), dt)));
      return;
    }
    if (dt != ir::DType::kBool)
      ctx.fail(str_cat("bitwise ", ir::compare_kind_name(k), " of ", ir::dtype_name(dt),
                       " values is not supported (only of bool tensors, where it is the logical ",
                       ir::compare_kind_name(k), ")"));
    ctx.set_output(0, compare(ctx, ctx.tensor_as(n->input(0), dt), ctx.tensor_as(n->input(1), dt), k));
  };
}

// not x: x == 0 (x == false for bool).
ir::Value* logical_not(ConversionCtx& ctx, ir::Value* x) {
  return compare(ctx, x, ctx.scalar_constant(0.0, x->type.dtype), CompareKind::kEq);
}

// where(cond, self, other) in torch's promotion of self and other (an integer tensor with a float
// scalar gives float).
void add_where(ConversionCtx& ctx, const Node* n, size_t cond_i, size_t self_i, size_t other_i) {
  const ir::DType dt = promoted_dtype(ctx, {n->input(self_i), n->input(other_i)});
  ir::Value* cond = ctx.tensor_as(n->input(cond_i), ir::DType::kBool);
  ctx.set_output(0, where(ctx, cond, ctx.tensor_as(n->input(self_i), dt), ctx.tensor_as(n->input(other_i), dt)));
}

static auto reg =
    RegisterConverters()
        .pattern({{"aten::eq.Tensor(Tensor self, Tensor other) -> Tensor",
                   "aten::eq.Scalar(Tensor self, Scalar other) -> Tensor"},
                  compare_fn(CompareKind::kEq)})
        .pattern({{"aten::ne.Tensor(Tensor self, Tensor other) -> Tensor",
                   "aten::ne.Scalar(Tensor self, Scalar other) -> Tensor",
                   "aten::not_equal.Tensor(Tensor self, Tensor other) -> Tensor",
                   "aten::not_equal.Scalar(Tensor self, Scalar other) -> Tensor"},
                  compare_fn(CompareKind::kNe)})
        .pattern({{"aten::lt.Tensor(Tensor self, Tensor other) -> Tensor",
                   "aten::lt.Scalar(Tensor self, Scalar other) -> Tensor",
                   "aten::less.Tensor(Tensor self, Tensor other) -> Tensor",
                   "aten::less.Scalar(Tensor self, Scalar other) -> Tensor"},
                  compare_fn(CompareKind::kLt)})
        .pattern({{"aten::le.Tensor(Tensor self, Tensor other) -> Tensor",
                   "aten::le.Scalar(Tensor self, Scalar other) -> Tensor",
                   "aten::less_equal.Tensor(Tensor self, Tensor other) -> Tensor",
                   "aten::less_equal.Scalar(Tensor self, Scalar other) -> Tensor"},
                  compare_fn(CompareKind::kLe)})
        .pattern({{"aten::gt.Tensor(Tensor self, Tensor other) -> Tensor",
                   "aten::gt.Scalar(Tensor self, Scalar other) -> Tensor",
                   "aten::greater.Tensor(Tensor self, Tensor other) -> Tensor",
                   "aten::greater.Scalar(Tensor self, Scalar other) -> Tensor"},
                  compare_fn(CompareKind::kGt)})
        .pattern({{"aten::ge.Tensor(Tensor self, Tensor other) -> Tensor",
                   "aten::ge.Scalar(Tensor self, Scalar other) -> Tensor",
                   "aten::greater_equal.Tensor(Tensor self, Tensor other) -> Tensor",
                   "aten::greater_equal.Scalar(Tensor self, Scalar other) -> Tensor"},
                  compare_fn(CompareKind::kGe)})
        .pattern({{"aten::logical_and(Tensor self, Tensor other) -> Tensor"}, logical_fn(CompareKind::kAnd)})
        .pattern({{"aten::logical_or(Tensor self, Tensor other) -> Tensor"}, logical_fn(CompareKind::kOr)})
        .pattern({{"aten::logical_xor(Tensor self, Tensor other) -> Tensor"}, logical_fn(CompareKind::kXor)})
        .pattern({{"aten::logical_not(Tensor self) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { ctx.set_output(0, logical_not(ctx, ctx.tensor(n->input(0)))); }})
        .pattern({{"aten::bitwise_not(Tensor self) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Value* x = ctx.tensor(n->input(0));
                    if (x->type.dtype != ir::DType::kBool)
                      ctx.fail(str_cat("bitwise not of ", ir::dtype_name(x->type.dtype),
                                       " values is not supported (only of bool tensors, where it is the logical not)"));
                    ctx.set_output(0, logical_not(ctx, x));
                  }})
        .pattern({{"aten::__and__.Tensor(Tensor self, Tensor other) -> Tensor",
                   "aten::__and__.Scalar(Tensor self, Scalar other) -> Tensor",
                   "aten::__iand__.Tensor(Tensor(a!) self, Tensor other) -> Tensor(a!)",
                   "aten::__iand__.Scalar(Tensor(a!) self, Scalar other) -> Tensor(a!)",
                   "aten::bitwise_and.Tensor(Tensor self, Tensor other) -> Tensor",
                   "aten::bitwise_and.Scalar(Tensor self, Scalar other) -> Tensor",
                   "aten::bitwise_and.Scalar_Tensor(Scalar self, Tensor other) -> Tensor"},
                  bitwise_fn(CompareKind::kAnd)})
        .pattern({{"aten::__or__.Tensor(Tensor self, Tensor other) -> Tensor",
                   "aten::__or__.Scalar(Tensor self, Scalar other) -> Tensor",
                   "aten::__ior__.Tensor(Tensor(a!) self, Tensor other) -> Tensor(a!)",
                   "aten::__ior__.Scalar(Tensor(a!) self, Scalar other) -> Tensor(a!)",
                   "aten::bitwise_or.Tensor(Tensor self, Tensor other) -> Tensor",
                   "aten::bitwise_or.Scalar(Tensor self, Scalar other) -> Tensor",
                   "aten::bitwise_or.Scalar_Tensor(Scalar self, Tensor other) -> Tensor"},
                  bitwise_fn(CompareKind::kOr)})
        .pattern({{"aten::__xor__.Tensor(Tensor self, Tensor other) -> Tensor",
                   "aten::__xor__.Scalar(Tensor self, Scalar other) -> Tensor",
                   "aten::bitwise_xor.Tensor(Tensor self, Tensor other) -> Tensor",
                   "aten::bitwise_xor.Scalar(Tensor self, Scalar other) -> Tensor",
                   "aten::bitwise_xor.Scalar_Tensor(Scalar self, Tensor other) -> Tensor"},
                  bitwise_fn(CompareKind::kXor)})
        .pattern({{"aten::masked_fill.Scalar(Tensor self, Tensor mask, Scalar value) -> Tensor",
                   "aten::masked_fill_.Scalar(Tensor(a!) self, Tensor mask, Scalar value) -> Tensor(a!)",
                   "aten::masked_fill.Tensor(Tensor self, Tensor mask, Tensor value) -> Tensor",
                   "aten::masked_fill_.Tensor(Tensor(a!) self, Tensor mask, Tensor value) -> Tensor(a!)"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Value* x = ctx.tensor(n->input(0));
                    ir::Value* value = ctx.tensor_as(n->input(2), x->type.dtype);
                    if (value->type.rank() != 0) ctx.fail("masked_fill value must be a scalar or a 0-D tensor");
                    ir::Value* out = where(ctx, ctx.tensor_as(n->input(1), ir::DType::kBool), value, x);
                    // The mask may broadcast self, but the result keeps self's shape.
                    if (out->type != x->type) ctx.fail("masked_fill: the mask must broadcast to self's shape");
                    ctx.set_output(0, out);
                  }})
        .pattern({{"aten::where.self(Tensor condition, Tensor self, Tensor other) -> Tensor",
                   "aten::where.ScalarOther(Tensor condition, Tensor self, Scalar other) -> Tensor",
                   "aten::where.ScalarSelf(Tensor condition, Scalar self, Tensor other) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_where(ctx, n, 0, 1, 2); }});

}  // namespace
}  // namespace trtorch::frontend::converters
