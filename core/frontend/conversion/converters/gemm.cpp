// Matrix product converters: linear, addmm and baddbmm (beta * self + alpha * product), matmul, mm, bmm.
#include "core/frontend/conversion/converters/helpers.h"

namespace trtorch::frontend::converters {
namespace {

using torch::jit::Node;

// General matmul with torch.matmul's rank rules (1-D operands are promoted and squeezed).
ir::Value* matmul(ConversionCtx& ctx, const torch::jit::Value* av, const torch::jit::Value* bv) {
  if (ctx.is_const(bv) && !ctx.is_const(av)) {
    at::Tensor b = ctx.ivalue(bv).toTensor();
    ir::Value* a = ctx.tensor(av);
    if (b.dim() == 2 && a->type.rank() >= 1) return linear(ctx, a, b.t(), nullptr);
  }
  ir::Value* a = ctx.tensor(av);
  ir::Value* b = ctx.tensor_as(bv, a->type.dtype);
  int64_t ra = a->type.rank(), rb = b->type.rank();
  if (ra == 0 || rb == 0) ctx.fail("matmul of a 0-D tensor");
  bool squeeze_a = ra == 1, squeeze_b = rb == 1;
  if (squeeze_a) a = reshape(ctx, a, std::vector<ir::Dim>{1, dims_of(a)[0]});
  if (squeeze_b) b = reshape(ctx, b, std::vector<ir::Dim>{dims_of(b)[0], 1});
  ir::Value* out = ctx.add(ir::OpKind::MatMul, ir::MatMulAttrs{}, {a, b});
  if (squeeze_a || squeeze_b) {
    const std::vector<ir::Dim> s = dims_of(out);
    std::vector<ir::Dim> t(s.begin(), s.end() - 2);
    if (!squeeze_a) t.push_back(s[s.size() - 2]);
    if (!squeeze_b) t.push_back(s.back());
    out = reshape(ctx, out, t);
  }
  return out;
}

static auto reg =
    RegisterConverters()
        .pattern({{"aten::linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Value* x = ctx.tensor(n->input(0));
                    if (!ctx.is_const(n->input(1))) {
                      ctx.set_output(0, matmul(ctx, n->input(0), n->input(1)));  // unreachable for frozen modules
                      return;
                    }
                    at::Tensor w = ctx.ivalue(n->input(1)).toTensor();
                    if (w.dim() != 2) ctx.fail(str_cat("linear weight must be 2-D, got rank ", w.dim()));
                    ir::Value* bias = ctx.is_none(n->input(2)) ? nullptr : ctx.tensor_as(n->input(2), x->type.dtype);
                    ctx.set_output(0, linear(ctx, x, w, bias));
                  },
                  [](const ConversionCtx& ctx, const Node* n) -> std::string {
                    if (!ctx.is_const(n->input(1))) return "linear weights must be constants (freeze the module)";
                    return "";
                  }})
        .pattern({{"aten::addmm(Tensor self, Tensor mat1, Tensor mat2, *, Scalar beta=1, Scalar alpha=1) -> Tensor",
                   "aten::baddbmm(Tensor self, Tensor batch1, Tensor batch2, *, Scalar beta=1, Scalar alpha=1) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    double beta = ctx.to_double(n->input(3)), alpha = ctx.to_double(n->input(4));
                    ir::Value* prod = matmul(ctx, n->input(1), n->input(2));
                    ir::DType dt = prod->type.dtype;
                    if (alpha != 1.0) prod = binary(ctx, prod, ctx.scalar_constant(alpha, dt), ir::BinaryKind::kMul);
                    // beta = 0: self is ignored, as torch documents (its NaN and Inf do not propagate).
                    if (beta == 0.0) return ctx.set_output(0, prod);
                    ir::Value* bias = ctx.tensor_as(n->input(0), dt);
                    if (beta != 1.0) bias = binary(ctx, bias, ctx.scalar_constant(beta, dt), ir::BinaryKind::kMul);
                    ctx.set_output(0, binary(ctx, prod, bias, ir::BinaryKind::kAdd));
                  }})
        .pattern({{"aten::matmul(Tensor self, Tensor other) -> Tensor", "aten::mm(Tensor self, Tensor mat2) -> Tensor",
                   "aten::bmm(Tensor self, Tensor mat2) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { ctx.set_output(0, matmul(ctx, n->input(0), n->input(1))); }});

}  // namespace
}  // namespace trtorch::frontend::converters
