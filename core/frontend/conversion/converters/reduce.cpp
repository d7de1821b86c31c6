// Reduction and softmax converters.
#include <algorithm>

#include "core/frontend/conversion/converters/helpers.h"

namespace trtorch::frontend::converters {
namespace {

using torch::jit::Node;

// dims: empty or None means all dims.
void add_reduce(ConversionCtx& ctx, const Node* n, ir::ReduceKind k, const torch::jit::Value* dims_v,
                const torch::jit::Value* keepdim_v, const torch::jit::Value* dtype_v) {
  ir::Value* x = ctx.tensor(n->input(0));
  if (dtype_v && !ctx.is_none(dtype_v)) ctx.fail("reductions with a dtype argument are not supported");
  int64_t r = x->type.rank();
  std::vector<int64_t> axes;
  if (dims_v && !ctx.is_none(dims_v)) axes = ctx.to_ints(dims_v);
  if (axes.empty()) {
    for (int64_t i = 0; i < r; ++i) axes.push_back(i);
  }
  for (auto& a : axes) a = normalize_dim(ctx, a, r);
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) ctx.fail("a dim is repeated in the reduction");
  ir::ReduceAttrs a;
  a.kind = k;
  a.axes = axes;
  a.keepdim = keepdim_v ? ctx.to_bool(keepdim_v) : false;
  ctx.set_output(0, ctx.add(ir::OpKind::Reduce, a, {x}));
}

void add_softmax(ConversionCtx& ctx, const Node* n, bool log) {
  ir::Value* x = ctx.tensor(n->input(0));
  if (n->inputs().size() > 2 && !ctx.is_none(n->input(2))) {
    const auto iv = ctx.ivalue(n->input(2));
    if (!iv.isBool()) ctx.fail("softmax with a dtype argument is not supported");
  }
  ir::SoftmaxAttrs a;
  a.axis = normalize_dim(ctx, ctx.to_int(n->input(1)), x->type.rank());
  a.log = log;
  ctx.set_output(0, ctx.add(ir::OpKind::Softmax, a, {x}));
}

static auto reg =
    RegisterConverters()
        .pattern({{"aten::mean.dim(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    add_reduce(ctx, n, ir::ReduceKind::kMean, n->input(1), n->input(2), n->input(3));
                  },
                  float_input})
        .pattern({{"aten::mean(Tensor self, *, ScalarType? dtype=None) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    add_reduce(ctx, n, ir::ReduceKind::kMean, nullptr, nullptr, n->input(1));
                  },
                  float_input})
        .pattern({{"aten::sum.dim_IntList(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    add_reduce(ctx, n, ir::ReduceKind::kSum, n->input(1), n->input(2), n->input(3));
                  },
                  float_input})
        .pattern({{"aten::sum(Tensor self, *, ScalarType? dtype=None) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    add_reduce(ctx, n, ir::ReduceKind::kSum, nullptr, nullptr, n->input(1));
                  },
                  float_input})
        .pattern({{"aten::amax(Tensor self, int[1] dim=[], bool keepdim=False) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    add_reduce(ctx, n, ir::ReduceKind::kMax, n->input(1), n->input(2), nullptr);
                  },
                  float_input})
        .pattern({{"aten::amin(Tensor self, int[1] dim=[], bool keepdim=False) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    add_reduce(ctx, n, ir::ReduceKind::kMin, n->input(1), n->input(2), nullptr);
                  },
                  float_input})
        .pattern({{"aten::prod.dim_int(Tensor self, int dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    add_reduce(ctx, n, ir::ReduceKind::kProd, n->input(1), n->input(2), n->input(3));
                  },
                  float_input})
        .pattern({{"aten::softmax.int(Tensor self, int dim, ScalarType? dtype=None) -> Tensor",
                   "aten::_softmax(Tensor self, int dim, bool half_to_float) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_softmax(ctx, n, false); }, float_input})
        .pattern({{"aten::log_softmax.int(Tensor self, int dim, ScalarType? dtype=None) -> Tensor",
                   "aten::_log_softmax(Tensor self, int dim, bool half_to_float) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_softmax(ctx, n, true); }, float_input});

}  // namespace
}  // namespace trtorch::frontend::converters
