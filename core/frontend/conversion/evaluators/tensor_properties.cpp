// Evaluators for properties of engine tensors known at compile time (shape, rank, dtype,
// device), tensors made from them (new_ones, zeros_like, ...), and for list queries over lists
// that hold engine tensors.
#include <ATen/ATen.h>

#include "core/frontend/conversion/registry.h"
#include "core/frontend/dtype_map.h"
#include "core/util/error.h"

namespace trtorch::frontend {
namespace {

using torch::jit::Node;

bool is_engine_tensor(const ConversionCtx& ctx, const torch::jit::Value* v) {
  return ctx.arg(v).kind == Arg::Kind::kTensor;
}

bool same_engine_tensor(const ConversionCtx& ctx, const Node* n) {
  const Arg &a = ctx.arg(n->input(0)), &b = ctx.arg(n->input(1));
  return a.kind == Arg::Kind::kTensor && b.kind == Arg::Kind::kTensor && a.tensor == b.tensor;
}

std::vector<int64_t> static_shape(const ConversionCtx& ctx, const torch::jit::Value* v) {
  const ir::TensorType& t = ctx.arg(v).tensor->type;
  if (!t.is_static()) ctx.fail(str_cat("shape of a tensor with symbolic dims ", t.str(), " is not supported yet"));
  return t.static_shape();
}

// Factory functions that read only an engine tensor's shape and dtype (new_ones(x, size),
// zeros_like(x), ...): the result is a compile-time tensor. `dtype_i` is the ScalarType? argument
// (None: x's dtype), `fill_i` the fill value's argument for new_full / full_like (-1: none).
EvaluatorFn factory(double value, bool like, int dtype_i, int fill_i) {
  return [=](ConversionCtx& ctx, const Node* n) {
    if (!is_engine_tensor(ctx, n->input(0)) || !n->maybeSchema() || !n->maybeSchema()->overload_name().empty())
      return false;
    std::vector<int64_t> size = like ? static_shape(ctx, n->input(0)) : ctx.to_ints(n->input(1));
    at::ScalarType st = ctx.is_none(n->input(size_t(dtype_i)))
                            ? to_torch_dtype(ctx.arg(n->input(0)).tensor->type.dtype)
                            : at::ScalarType(ctx.to_int(n->input(size_t(dtype_i))));
    c10::Scalar v = fill_i < 0 ? c10::Scalar(value) : ctx.ivalue(n->input(size_t(fill_i))).toScalar();
    ctx.set(n->output(), Arg::of_ivalue(at::full(size, v, at::TensorOptions().dtype(st))));
    return true;
  };
}

static auto evaluators =
    RegisterEvaluators()
        .kind("aten::size",
              [](ConversionCtx& ctx, const Node* n) {
                if (!is_engine_tensor(ctx, n->input(0))) return false;
                // Dynamic dims give symbolic sizes (sizes.cpp); a shape with any is a list of Args.
                const ir::TensorType& t = ctx.arg(n->input(0)).tensor->type;
                if (n->inputs().size() == 1) {
                  if (t.is_static()) {
                    ctx.set(n->output(), Arg::of_ivalue(c10::IValue(t.static_shape())));
                  } else {
                    std::vector<Arg> items;
                    for (const ir::Dim& d : t.dims) items.push_back(Arg::of_dim(d));
                    ctx.set(n->output(), Arg::of_list(std::move(items), n->output()->type()));
                  }
                } else {
                  int64_t d = normalize_dim(ctx, ctx.to_int(n->input(1)), t.rank());
                  ctx.set(n->output(), Arg::of_dim(t.dims[size_t(d)]));
                }
                return true;
              })
        .kind("aten::dim",
              [](ConversionCtx& ctx, const Node* n) {
                if (!is_engine_tensor(ctx, n->input(0))) return false;
                ctx.set(n->output(), Arg::of_ivalue(ctx.arg(n->input(0)).tensor->type.rank()));
                return true;
              })
        .kind("aten::numel",
              [](ConversionCtx& ctx, const Node* n) {
                if (!is_engine_tensor(ctx, n->input(0))) return false;
                ctx.set(n->output(), Arg::of_dim(ir::dims_product(ctx.arg(n->input(0)).tensor->type.dims)));
                return true;
              })
        .kind("prim::dtype",
              [](ConversionCtx& ctx, const Node* n) {
                if (!is_engine_tensor(ctx, n->input(0))) return false;
                auto st = to_torch_dtype(ctx.arg(n->input(0)).tensor->type.dtype);
                ctx.set(n->output(), Arg::of_ivalue(int64_t(st)));
                return true;
              })
        .kind("prim::device",
              [](ConversionCtx& ctx, const Node* n) {
                if (!is_engine_tensor(ctx, n->input(0))) return false;
                // Engines run on one device; shape logic that asks for it gets the CPU device.
                ctx.set(n->output(), Arg::of_ivalue(c10::Device(c10::kCPU)));
                return true;
              })
        .kind("prim::requires_grad",
              [](ConversionCtx& ctx, const Node* n) {
                if (!is_engine_tensor(ctx, n->input(0))) return false;
                ctx.set(n->output(), Arg::of_ivalue(false));  // inference engines carry no autograd
                return true;
              })
        .kind("prim::is_nested",
              [](ConversionCtx& ctx, const Node* n) {
                if (!is_engine_tensor(ctx, n->input(0))) return false;
                ctx.set(n->output(), Arg::of_ivalue(false));  // engine tensors are dense
                return true;
              })
        .kind("aten::is_floating_point",
              [](ConversionCtx& ctx, const Node* n) {
                if (!is_engine_tensor(ctx, n->input(0))) return false;
                ctx.set(n->output(), Arg::of_ivalue(ir::is_floating(ctx.arg(n->input(0)).tensor->type.dtype)));
                return true;
              })
        // An engine tensor is identical only to itself (`query is key` in nn.MultiheadAttention's
        // self-attention check); it is never None, never identical to a constant or a list.
        .kind("aten::__is__",
              [](ConversionCtx& ctx, const Node* n) {
                if (ctx.is_const(n->input(0)) && ctx.is_const(n->input(1))) return false;
                ctx.set(n->output(), Arg::of_ivalue(same_engine_tensor(ctx, n)));
                return true;
              })
        .kind("aten::__isnot__",
              [](ConversionCtx& ctx, const Node* n) {
                if (ctx.is_const(n->input(0)) && ctx.is_const(n->input(1))) return false;
                ctx.set(n->output(), Arg::of_ivalue(!same_engine_tensor(ctx, n)));
                return true;
              })
        // Uninitialized memory (new_empty, empty_like) may hold anything: zeros.
        .kind("aten::new_ones", factory(1.0, false, 2, -1))
        .kind("aten::new_zeros", factory(0.0, false, 2, -1))
        .kind("aten::new_empty", factory(0.0, false, 2, -1))
        .kind("aten::new_full", factory(0.0, false, 3, 2))
        .kind("aten::ones_like", factory(1.0, true, 1, -1))
        .kind("aten::zeros_like", factory(0.0, true, 1, -1))
        .kind("aten::empty_like", factory(0.0, true, 1, -1))
        .kind("aten::full_like", factory(0.0, true, 2, 1))
        .kind("aten::len", [](ConversionCtx& ctx, const Node* n) {
          const Arg& a = ctx.arg(n->input(0));
          if (a.kind == Arg::Kind::kList) {
            ctx.set(n->output(), Arg::of_ivalue(int64_t(a.items.size())));
            return true;
          }
          if (a.kind == Arg::Kind::kTensor) {
            const ir::TensorType& t = a.tensor->type;
            if (t.rank() == 0) ctx.fail("len() of a 0-d tensor");
            ctx.set(n->output(), Arg::of_dim(t.dims[0]));
            return true;
          }
          return false;
        });

}  // namespace
}  // namespace trtorch::frontend
