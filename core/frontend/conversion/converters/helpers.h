// Small helpers shared by converter files.
#pragma once

#include "core/frontend/conversion/registry.h"
#include "core/util/error.h"

namespace trtorch::frontend::converters {

// An int list argument of `n` entries; a single entry is repeated (int[2] given as [k]).
inline std::vector<int64_t> pair_arg(const ConversionCtx& ctx, const torch::jit::Value* v, size_t n = 2) {
  std::vector<int64_t> r = ctx.to_ints(v);
  if (r.size() == 1) r.assign(n, r[0]);
  if (r.size() != n) ctx.fail(str_cat("expected ", n, " values for %", v->debugName(), ", got ", r.size()));
  return r;
}

inline int64_t rank_of(ConversionCtx& ctx, const torch::jit::Value* v) { return ctx.tensor(v)->type.rank(); }

inline ir::Value* unary(ConversionCtx& ctx, ir::Value* x, ir::UnaryKind k, double alpha = 0, double beta = 0) {
  ir::UnaryAttrs a;
  a.kind = k;
  a.alpha = alpha;
  a.beta = beta;
  return ctx.add(ir::OpKind::Unary, a, {x});
}

inline ir::Value* binary(ConversionCtx& ctx, ir::Value* a, ir::Value* b, ir::BinaryKind k) {
  ir::BinaryAttrs attrs;
  attrs.kind = k;
  return ctx.add(ir::OpKind::Binary, attrs, {a, b});
}

inline ir::Value* reshape(ConversionCtx& ctx, ir::Value* x, std::vector<int64_t> shape) {
  ir::ReshapeAttrs a;
  a.shape = std::move(shape);
  return ctx.add(ir::OpKind::Reshape, a, {x});
}

inline ir::Value* transpose(ConversionCtx& ctx, ir::Value* x, std::vector<int64_t> perm) {
  ir::TransposeAttrs a;
  a.perm = std::move(perm);
  return ctx.add(ir::OpKind::Transpose, a, {x});
}

inline std::vector<int64_t> shape_of(const ConversionCtx& ctx, ir::Value* v) {
  if (!v->type.is_static()) ctx.fail(str_cat("tensor with symbolic dims ", v->type.str(), " is not supported here yet"));
  return v->type.static_shape();
}

// Sets every output of the node to the same engine tensor (ops that are identities here).
inline void identity(ConversionCtx& ctx, const torch::jit::Node* n) { ctx.set_output(0, ctx.tensor(n->input(0))); }

}  // namespace trtorch::frontend::converters
