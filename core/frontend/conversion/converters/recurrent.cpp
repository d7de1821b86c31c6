// Recurrent layer converters: aten::lstm, aten::gru and aten::rnn_tanh / rnn_relu (nn.LSTM / nn.GRU /
// nn.RNN, any number of layers, one
// or two directions, batch_first; nn's unbatched form reaches them with a batch of 1), unrolled over a sequence length known at compile
// time. Each layer and direction computes its input projection for every step at once (one Linear
// over [T, B, F], both biases folded in for the LSTM), then per step one Linear of the hidden state
// and the gate arithmetic (Slice, Unary, Binary), which the pointwise fusion makes one kernel; the
// steps' hidden states are concatenated along time. Weights must be constants (a frozen module).
#include "core/frontend/conversion/converters/helpers.h"

namespace trtorch::frontend::converters {
namespace {

using ir::BinaryKind;
using ir::UnaryKind;
using torch::jit::Node;

ir::Value* concat(ConversionCtx& ctx, const std::vector<ir::Value*>& xs, int64_t axis) {
  if (xs.size() == 1) return xs[0];
  ir::ConcatAttrs a;
  a.axis = axis;
  return ctx.add(ir::OpKind::Concat, a, xs);
}

// x @ w^T (+ b), w and b constants (b undefined: none).
ir::Value* linear(ConversionCtx& ctx, ir::Value* x, const at::Tensor& w, const at::Tensor& b) {
  return converters::linear(ctx, x, w, b.defined() ? ctx.constant(b.to(at::kFloat).contiguous()) : nullptr);
}

// Columns [k * h, (k + 1) * h) of the last dim of a [B, G * h] tensor.
ir::Value* gate(ConversionCtx& ctx, ir::Value* g, int64_t k, int64_t h) {
  return slice(ctx, g, 1, ir::Dim::fixed(k * h), ir::Dim::fixed((k + 1) * h), 1);
}

// Step t of a [T, B, N] tensor as [B, N].
ir::Value* step(ConversionCtx& ctx, ir::Value* x, int64_t t) {
  ir::Value* s = slice(ctx, x, 0, ir::Dim::fixed(t), ir::Dim::fixed(t + 1), 1);
  std::vector<ir::Dim> d = dims_of(s);
  d.erase(d.begin());
  return reshape(ctx, s, d);
}

enum class Cell { kLstm, kGru, kTanh, kRelu };

void add_recurrent(ConversionCtx& ctx, const Node* n, Cell cell) {
  const bool lstm = cell == Cell::kLstm;
  const char* what = lstm ? "lstm" : cell == Cell::kGru ? "gru" : "rnn";
  ir::Value* x = ctx.tensor(n->input(0));
  std::vector<ir::Value*> hx = lstm ? ctx.tensor_list(n->input(1)) : std::vector<ir::Value*>{ctx.tensor(n->input(1))};
  std::vector<Arg> param_args;
  if (!ctx.list_items(n->input(2), &param_args)) ctx.fail(str_cat(what, ": the weights must be a list of tensors"));
  std::vector<at::Tensor> params;
  for (const Arg& a : param_args) {
    if (a.kind != Arg::Kind::kIValue || !a.ivalue.isTensor())
      ctx.fail(str_cat(what, ": the weights must be constants (freeze the module)"));
    params.push_back(a.ivalue.toTensor());
  }
  const bool has_biases = ctx.to_bool(n->input(3));
  const int64_t layers = ctx.to_int(n->input(4));
  if (ctx.to_bool(n->input(6))) ctx.fail(str_cat(what, " in training mode (dropout between layers) is not supported"));
  const bool bidirectional = ctx.to_bool(n->input(7)), batch_first = ctx.to_bool(n->input(8));
  const int64_t dirs = bidirectional ? 2 : 1, per = has_biases ? 4 : 2;
  if (layers < 1 || int64_t(params.size()) != layers * dirs * per)
    ctx.fail(str_cat(what, ": expected ", layers * dirs * per, " weight tensors for ", layers, " layer(s) and ", dirs,
                     " direction(s), got ", params.size(), lstm ? " (proj_size is not supported)" : ""));
  const int64_t gates = lstm ? 4 : cell == Cell::kGru ? 3 : 1, hidden = params[1].size(1);
  if (hx.size() != (lstm ? 2u : 1u)) ctx.fail(str_cat(what, ": expected ", lstm ? 2 : 1, " initial state tensor(s)"));
  if (x->type.rank() != 3) ctx.fail(str_cat(what, ": the input must be 3-D, got ", x->type.str()));
  if (batch_first) x = transpose(ctx, x, {1, 0, 2});
  const ir::Dim& td = dims_of(x)[0];
  if (!td.is_static()) ctx.fail(str_cat(what, ": the sequence length must be known at compile time, got ", x->type.str()));
  const int64_t steps = td.min;
  const ir::Dim batch = dims_of(x)[1];
  std::vector<ir::Value*> h_n, c_n;
  ir::Value* layer_in = x;  // [T, B, F]
  for (int64_t l = 0; l < layers; ++l) {
    std::vector<ir::Value*> outs;
    for (int64_t d = 0; d < dirs; ++d) {
      const size_t p = size_t((l * dirs + d) * per);
      const at::Tensor &w_ih = params[p], &w_hh = params[p + 1];
      const at::Tensor b_ih = has_biases ? params[p + 2] : at::Tensor(), b_hh = has_biases ? params[p + 3] : at::Tensor();
      if (w_ih.dim() != 2 || w_hh.dim() != 2 || w_ih.size(0) != gates * hidden || w_hh.size(0) != gates * hidden)
        ctx.fail(str_cat(what, ": layer ", l, " has weights of unexpected shapes ", w_ih.sizes(), " and ", w_hh.sizes()));
      // The LSTM's and the plain RNN's two biases add up front; the GRU's hidden bias is inside
      // r * (W_hn h + b_hn).
      const bool fold_biases = cell != Cell::kGru && has_biases;
      ir::Value* xp = linear(ctx, layer_in, w_ih, fold_biases ? b_ih + b_hh : b_ih);  // [T, B, G*H]
      const int64_t k = l * dirs + d;
      auto initial = [&](ir::Value* s) {
        return reshape(ctx, slice(ctx, s, 0, ir::Dim::fixed(k), ir::Dim::fixed(k + 1), 1),
                       std::vector<ir::Dim>{batch, ir::Dim::fixed(hidden)});
      };
      ir::Value* h = initial(hx[0]);
      ir::Value* c = lstm ? initial(hx[1]) : nullptr;
      std::vector<ir::Value*> hs(size_t(steps), nullptr);
      for (int64_t i = 0; i < steps; ++i) {
        const int64_t t = d == 0 ? i : steps - 1 - i;
        ir::Value* xt = step(ctx, xp, t);
        ir::Value* hp = linear(ctx, h, w_hh, fold_biases ? at::Tensor() : b_hh);  // [B, G*H]
        if (cell == Cell::kTanh || cell == Cell::kRelu) {
          h = unary(ctx, binary(ctx, xt, hp, BinaryKind::kAdd), cell == Cell::kTanh ? UnaryKind::kTanh : UnaryKind::kRelu);
        } else if (lstm) {
          ir::Value* g = binary(ctx, xt, hp, BinaryKind::kAdd);
          ir::Value* in = unary(ctx, gate(ctx, g, 0, hidden), UnaryKind::kSigmoid);
          ir::Value* forget = unary(ctx, gate(ctx, g, 1, hidden), UnaryKind::kSigmoid);
          ir::Value* cand = unary(ctx, gate(ctx, g, 2, hidden), UnaryKind::kTanh);
          ir::Value* out = unary(ctx, gate(ctx, g, 3, hidden), UnaryKind::kSigmoid);
          c = binary(ctx, binary(ctx, forget, c, BinaryKind::kMul), binary(ctx, in, cand, BinaryKind::kMul),
                     BinaryKind::kAdd);
          h = binary(ctx, out, unary(ctx, c, UnaryKind::kTanh), BinaryKind::kMul);
        } else {
          ir::Value* r = unary(ctx, binary(ctx, gate(ctx, xt, 0, hidden), gate(ctx, hp, 0, hidden), BinaryKind::kAdd),
                               UnaryKind::kSigmoid);
          ir::Value* z = unary(ctx, binary(ctx, gate(ctx, xt, 1, hidden), gate(ctx, hp, 1, hidden), BinaryKind::kAdd),
                               UnaryKind::kSigmoid);
          ir::Value* nn = unary(ctx,
                                binary(ctx, gate(ctx, xt, 2, hidden),
                                       binary(ctx, r, gate(ctx, hp, 2, hidden), BinaryKind::kMul), BinaryKind::kAdd),
                                UnaryKind::kTanh);
          // (1 - z) * n + z * h = n + z * (h - n)
          h = binary(ctx, nn, binary(ctx, z, binary(ctx, h, nn, BinaryKind::kSub), BinaryKind::kMul), BinaryKind::kAdd);
        }
        hs[size_t(t)] = unsqueeze(ctx, h, 0);
      }
      outs.push_back(concat(ctx, hs, 0));  // [T, B, H], in time order
      h_n.push_back(unsqueeze(ctx, h, 0));
      if (lstm) c_n.push_back(unsqueeze(ctx, c, 0));
    }
    layer_in = concat(ctx, outs, 2);  // [T, B, D*H]
  }
  ir::Value* y = layer_in;
  ir::Value* hn = concat(ctx, h_n, 0);  // [L*D, B, H]
  ir::Value* cn = lstm ? concat(ctx, c_n, 0) : nullptr;
  if (batch_first) y = transpose(ctx, y, {1, 0, 2});
  ctx.set_output(0, y);
  ctx.set_output(1, hn);
  if (lstm) ctx.set_output(2, cn);
}

static auto reg =
    RegisterConverters()
        .pattern({{"aten::lstm.input(Tensor input, Tensor[] hx, Tensor[] params, bool has_biases, int num_layers, "
                   "float dropout, bool train, bool bidirectional, bool batch_first) -> (Tensor, Tensor, Tensor)"},
                  [](ConversionCtx& ctx, const Node* n) { add_recurrent(ctx, n, Cell::kLstm); }, float_input})
        .pattern({{"aten::gru.input(Tensor input, Tensor hx, Tensor[] params, bool has_biases, int num_layers, "
                   "float dropout, bool train, bool bidirectional, bool batch_first) -> (Tensor, Tensor)"},
                  [](ConversionCtx& ctx, const Node* n) { add_recurrent(ctx, n, Cell::kGru); }, float_input})
        .pattern({{"aten::rnn_tanh.input(Tensor input, Tensor hx, Tensor[] params, bool has_biases, int num_layers, "
                   "float dropout, bool train, bool bidirectional, bool batch_first) -> (Tensor, Tensor)"},
                  [](ConversionCtx& ctx, const Node* n) { add_recurrent(ctx, n, Cell::kTanh); }, float_input})
        .pattern({{"aten::rnn_relu.input(Tensor input, Tensor hx, Tensor[] params, bool has_biases, int num_layers, "
                   "float dropout, bool train, bool bidirectional, bool batch_first) -> (Tensor, Tensor)"},
                  [](ConversionCtx& ctx, const Node* n) { add_recurrent(ctx, n, Cell::kRelu); }, float_input});

}  // namespace
}  // namespace trtorch::frontend::converters
