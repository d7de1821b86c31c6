// Convolution converters: aten::conv1d/2d/3d, aten::conv_transpose1d/2d/3d, aten::_convolution and
// aten::convolution, as Conv2d. A 1-D convolution is a 2-D one over a height of 1:
// (N, C, L) -> (N, C, 1, L), the weight (O, C/g, K) -> (O, C/g, 1, K), and the result back to
// (N, O, L').
//
// A 3-D convolution with kd depth taps is kd 2-D convolutions summed: the input, zero-padded along
// the depth and viewed as (N, D, C, H, W), gives for tap j the depth slices j*dd, j*dd + sd, ...
// (one per output depth), batched as (N*Do, C, H, W) and convolved with the weight's slice
// [:, :, j]; the sum, viewed as (N, Do, O, Ho, Wo), is transposed back to (N, O, Do, Ho, Wo).
//
// A transposed convolution of stride s is computed as an ordinary one at the input's resolution
// followed by a depth-to-space step (sub-pixel convolution), so that no multiply touches an
// inserted zero: output position o = q*s + r (phase r) receives x[i] * w[k] exactly when
// k*d = (q - i)*s + r, so each phase is a correlation of x with the taps k whose k*d % s == r, at
// offsets a_k = k*d / s. One Conv2d (stride 1) computes all s*s phases as s*s times the output
// channels, with the taps placed at A - a_k (A = max a_k) and padding A; a reshape-transpose-reshape
// interleaves the phases, and a slice applies padding and output_padding. Along an axis of stride 1
// the taps are the flipped kernel with its dilation.
#include <algorithm>

#include "core/frontend/conversion/converters/helpers.h"

namespace trtorch::frontend::converters {
namespace {

using torch::jit::Node;

// One spatial axis of a transposed convolution as the sub-pixel convolution above.
struct TransposedAxis {
  int64_t in, k, s, p, d, op;  // input size, kernel, stride, padding, dilation, output_padding
  int64_t taps, dil, pad, extra, out;

  TransposedAxis(const ConversionCtx& ctx, int64_t in_, int64_t k_, int64_t s_, int64_t p_, int64_t d_, int64_t op_,
                 const char* axis)
      : in(in_), k(k_), s(s_), p(p_), d(d_), op(op_) {
    if (s < 1 || d < 1 || p < 0 || op < 0)
      ctx.fail(str_cat(axis, ": stride and dilation must be positive and padding and output_padding non-negative, got "
                       "stride ", s, ", padding ", p, ", dilation ", d, ", output_padding ", op));
    if (op >= std::max(s, d))
      ctx.fail(str_cat(axis, ": output_padding (", op, ") must be smaller than the stride (", s,
                       ") or the dilation (", d, ")"));
    out = (in - 1) * s - 2 * p + d * (k - 1) + op + 1;
    if (out < 1) ctx.fail(str_cat(axis, ": the output size would be ", out, " (input ", in, ", kernel ", k, ")"));
    // Stride 1: the flipped kernel with its dilation; else A + 1 taps without dilation.
    taps = s == 1 ? k : (k - 1) * d / s + 1;
    dil = s == 1 ? d : 1;
    pad = (taps - 1) * dil;
    // Phase-interleaved outputs cover (in + pad + 2*extra) * s positions, of which [extra*s + p,
    // extra*s + p + out) are kept; `extra` more padding makes room for output_padding at the end.
    extra = std::max<int64_t>(0, (p + out + s - 1) / s - in - pad);
  }
  int64_t tap(int64_t ki) const { return s == 1 ? k - 1 - ki : (taps - 1) - ki * d / s; }
  int64_t phase(int64_t ki) const { return s == 1 ? 0 : ki * d % s; }
  int64_t start() const { return extra * s + p; }
};

// A 2-D transposed convolution of a 4-D x with weight w (Cin, Cout/g, Kh, Kw) and an optional
// bias, as the sub-pixel convolution above.
ir::Value* conv_transpose_2d(ConversionCtx& ctx, ir::Value* x, const at::Tensor& w, const std::vector<int64_t>& stride,
                             const std::vector<int64_t>& pad, const std::vector<int64_t>& out_pad,
                             const std::vector<int64_t>& dil, int64_t g, const at::Tensor* bias) {
  const auto& xd = dims_of(x);
  if (!xd[1].is_static() || !xd[2].is_static() || !xd[3].is_static())
    ctx.fail(str_cat("transposed convolution needs static channel and spatial dims, got ", x->type.str()));
  const int64_t cin = w.size(0), cout_g = w.size(1);
  if (g < 1 || cin % g != 0) ctx.fail(str_cat("groups (", g, ") must divide the weight's ", cin, " input channels"));
  if (xd[1].min != cin) ctx.fail(str_cat("the input has ", xd[1].min, " channels but the weight expects ", cin));
  const TransposedAxis ah(ctx, xd[2].min, w.size(2), stride[0], pad[0], dil[0], out_pad[0], "height"),
      aw(ctx, xd[3].min, w.size(3), stride[1], pad[1], dil[1], out_pad[1], "width");
  const int64_t cin_g = cin / g, cout = cout_g * g, sh = ah.s, sw = aw.s;
  // The ordinary convolution's weight (Cout, sh, sw, Cin/g, taps_h, taps_w), channel-major.
  at::Tensor wc = at::zeros({cout, sh, sw, cin_g, ah.taps, aw.taps}, w.options());
  for (int64_t kh = 0; kh < ah.k; ++kh)
    for (int64_t kw = 0; kw < aw.k; ++kw) {
      // w[gi*cin_g + ci, col, kh, kw] -> wc[gi*cout_g + col, ., ., ci, ...]
      at::Tensor src = w.select(3, kw).select(2, kh).reshape({g, cin_g, cout_g}).permute({0, 2, 1}).reshape({cout, cin_g});
      wc.select(5, aw.tap(kw)).select(4, ah.tap(kh)).select(2, aw.phase(kw)).select(1, ah.phase(kh)).copy_(src);
    }
  ir::Conv2dAttrs a;
  a.groups = g;
  a.stride = {1, 1};
  a.dilation = {ah.dil, aw.dil};
  a.padding = {ah.pad + ah.extra, aw.pad + aw.extra};
  const ir::DType dt = x->type.dtype;
  std::vector<ir::Value*> ins{x, ctx.constant(wc.reshape({cout * sh * sw, cin_g, ah.taps, aw.taps}).to(to_torch_dtype(dt)))};
  if (bias) ins.push_back(ctx.constant(bias->to(at::kFloat).repeat_interleave(sh * sw).to(to_torch_dtype(dt))));
  ir::Value* y = ctx.add(ir::OpKind::Conv2d, a, ins);
  const int64_t hq = dims_of(y)[2].min, wq = dims_of(y)[3].min;
  const ir::Dim batch = dims_of(y)[0];
  auto fixed = [](int64_t v) { return ir::Dim::fixed(v); };
  if (sh * sw > 1) {  // interleave the phases: (N, Cout, sh, sw, Hq, Wq) -> (N, Cout, Hq*sh, Wq*sw)
    y = reshape(ctx, y, {batch, fixed(cout), fixed(sh), fixed(sw), fixed(hq), fixed(wq)});
    y = transpose(ctx, y, {0, 1, 4, 2, 5, 3});
    y = reshape(ctx, y, {batch, fixed(cout), fixed(hq * sh), fixed(wq * sw)});
  }
  if (ah.start() != 0 || ah.out != hq * sh) y = slice(ctx, y, 2, fixed(ah.start()), fixed(ah.start() + ah.out), 1);
  if (aw.start() != 0 || aw.out != wq * sw) y = slice(ctx, y, 3, fixed(aw.start()), fixed(aw.start() + aw.out), 1);
  return y;
}

// A 3-D transposed convolution as one 2-D transposed convolution per depth tap, over the depth
// slices batched as (N*D, C, H, W): tap j's result for input depth i lands on depth i*sd + j*dd
// (the results spread by stride sd with zeros between, shifted by j*dd, and summed); the padding
// crops the sum and output_padding extends it with zeros; then the bias.
ir::Value* conv_transpose_3d(ConversionCtx& ctx, ir::Value* x, const at::Tensor& w, const std::vector<int64_t>& stride,
                             const std::vector<int64_t>& pad, const std::vector<int64_t>& out_pad,
                             const std::vector<int64_t>& dil, int64_t g, const at::Tensor* bias) {
  const std::vector<ir::Dim> d = dims_of(x);
  for (size_t i = 1; i < 5; ++i)
    if (!d[i].is_static())
      ctx.fail(str_cat("a 3-D transposed convolution needs static channel and spatial dims, got ", x->type.str()));
  // The depth axis checked as any other (its output size and output_padding's bound).
  const TransposedAxis ad(ctx, d[2].min, w.size(2), stride[0], pad[0], dil[0], out_pad[0], "depth");
  const int64_t depth = d[2].min, kd = w.size(2), sd = stride[0], dd = dil[0];
  auto fixed = [](int64_t v) { return ir::Dim::fixed(v); };
  ir::Value* slices =
      reshape(ctx, transpose(ctx, x, {0, 2, 1, 3, 4}), {ir::dims_product({d[0], fixed(depth)}), d[1], d[3], d[4]});
  const std::vector<int64_t> s2{stride[1], stride[2]}, p2{pad[1], pad[2]}, o2{out_pad[1], out_pad[2]}, d2{dil[1], dil[2]};
  const int64_t full = (kd - 1) * dd + depth * sd;  // depth positions i*sd + j*dd, with room for the stride's zeros
  ir::Value* sum = nullptr;
  for (int64_t j = 0; j < kd; ++j) {
    ir::Value* t = conv_transpose_2d(ctx, slices, w.select(2, j), s2, p2, o2, d2, g, nullptr);
    const auto& td = dims_of(t);
    t = reshape(ctx, t, {d[0], fixed(depth), fixed(1), td[1], td[2], td[3]});
    if (sd > 1) t = pad_constant(ctx, t, 2, 0, sd - 1, 0.0);  // zeros between the depth slices
    t = reshape(ctx, t, {d[0], fixed(depth * sd), td[1], td[2], td[3]});
    t = pad_constant(ctx, t, 1, j * dd, full - j * dd - depth * sd, 0.0);
    sum = sum ? binary(ctx, sum, t, ir::BinaryKind::kAdd) : t;
  }
  ir::Value* y = pad_constant(ctx, sum, 1, -pad[0], pad[0] + ad.out - full, 0.0);  // crop, then output_padding
  if (bias) {
    const int64_t cout = dims_of(y)[2].min;
    y = binary(ctx, y, ctx.constant(bias->reshape({1, 1, cout, 1, 1}).to(to_torch_dtype(x->type.dtype))),
               ir::BinaryKind::kAdd);
  }
  return transpose(ctx, y, {0, 2, 1, 3, 4});
}

// aten::conv_transpose1d/2d/3d and the transposed form of aten::_convolution. Weight
// (Cin, Cout/g, [Kd,] [Kh,] Kw).
void add_conv_transposed(ConversionCtx& ctx, const Node* n, size_t stride_i, size_t pad_i, size_t out_pad_i,
                         size_t groups_i, size_t dil_i) {
  ir::Value* x = ctx.tensor(n->input(0));
  if (!ctx.is_const(n->input(1))) ctx.fail("convolution weights must be constants (freeze the module)");
  at::Tensor w = ctx.ivalue(n->input(1)).toTensor().to(at::kFloat).cpu();
  if (w.dim() < 3 || w.dim() > 5)
    ctx.fail(str_cat("only 1-D, 2-D and 3-D transposed convolution are supported, weight has rank ", w.dim()));
  if (x->type.rank() != w.dim())
    ctx.fail(str_cat("the input ", x->type.str(), " has rank ", x->type.rank(), " but the weight has rank ", w.dim(),
                     " (unbatched convolution is not supported)"));
  const size_t nsp = size_t(w.dim() - 2);
  auto stride = pair_arg(ctx, n->input(stride_i), nsp), pad = pair_arg(ctx, n->input(pad_i), nsp),
       out_pad = pair_arg(ctx, n->input(out_pad_i), nsp), dil = pair_arg(ctx, n->input(dil_i), nsp);
  const int64_t g = ctx.to_int(n->input(groups_i));
  at::Tensor bias;
  if (!ctx.is_none(n->input(2))) {
    if (!ctx.is_const(n->input(2))) ctx.fail("the bias of a transposed convolution must be a constant (freeze the module)");
    bias = ctx.ivalue(n->input(2)).toTensor().to(at::kFloat).cpu();
  }
  const at::Tensor* b = bias.defined() ? &bias : nullptr;
  if (nsp == 3) return ctx.set_output(0, conv_transpose_3d(ctx, x, w, stride, pad, out_pad, dil, g, b));
  const bool one_d = nsp == 1;
  if (one_d) {  // a height of 1
    for (auto* v : {&stride, &pad, &out_pad, &dil}) v->insert(v->begin(), v == &stride || v == &dil ? 1 : 0);
    w = w.unsqueeze(2);
    x = unsqueeze(ctx, x, 2);
  }
  ir::Value* y = conv_transpose_2d(ctx, x, w, stride, pad, out_pad, dil, g, b);
  if (one_d) {
    std::vector<ir::Dim> d3 = dims_of(y);
    d3.erase(d3.begin() + 2);
    y = reshape(ctx, y, d3);
  }
  ctx.set_output(0, y);
}

// A convolution's input and padding where they are not the node's own (padding="same" pads the
// input first where the two sides differ).
struct ConvInput {
  ir::Value* x = nullptr;
  std::vector<int64_t> padding;  // one per spatial dim
};

void add_conv3d(ConversionCtx& ctx, const Node* n, size_t stride_i, size_t pad_i, size_t dil_i, size_t groups_i,
                const ConvInput* in = nullptr) {
  ir::Value* x = in ? in->x : ctx.tensor(n->input(0));
  if (!ctx.is_const(n->input(1))) ctx.fail("convolution weights must be constants (freeze the module)");
  const at::Tensor w = ctx.ivalue(n->input(1)).toTensor();
  if (x->type.rank() != 5)
    ctx.fail(str_cat("a 3-D convolution takes a 5-D (N, C, D, H, W) input, got ", x->type.str()));
  const auto stride = pair_arg(ctx, n->input(stride_i), 3), pad = in ? in->padding : pair_arg(ctx, n->input(pad_i), 3),
             dil = pair_arg(ctx, n->input(dil_i), 3);
  const std::vector<ir::Dim> d = dims_of(x);
  for (size_t i = 1; i < 5; ++i)
    if (!d[i].is_static()) ctx.fail(str_cat("a 3-D convolution needs static channel and spatial dims, got ", x->type.str()));
  const int64_t kd = w.size(2), depth = d[2].min;
  if (stride[0] < 1 || dil[0] < 1 || pad[0] < 0)
    ctx.fail(str_cat("depth stride and dilation must be positive and padding non-negative, got stride ", stride[0],
                     ", padding ", pad[0], ", dilation ", dil[0]));
  const int64_t span = dil[0] * (kd - 1) + 1, out_d = (depth + 2 * pad[0] - span) / stride[0] + 1;
  if (depth + 2 * pad[0] < span) ctx.fail(str_cat("the depth ", depth, " (padded by ", pad[0], ") is smaller than the kernel's ", span));
  auto fixed = [](int64_t v) { return ir::Dim::fixed(v); };
  const ir::DType dt = x->type.dtype;
  // (N, D, C, H, W), zero-padded along D.
  ir::Value* xt = pad_constant(ctx, transpose(ctx, x, {0, 2, 1, 3, 4}), 1, pad[0], pad[0], 0.0);
  ir::Conv2dAttrs a;
  a.groups = ctx.to_int(n->input(groups_i));
  a.stride = {stride[1], stride[2]};
  a.padding = {pad[1], pad[2]};
  a.dilation = {dil[1], dil[2]};
  const ir::Dim batch = ir::dims_product({d[0], fixed(out_d)});
  ir::Value* sum = nullptr;
  for (int64_t j = 0; j < kd; ++j) {
    ir::Value* taps = slice(ctx, xt, 1, fixed(j * dil[0]), fixed(j * dil[0] + (out_d - 1) * stride[0] + 1), stride[0]);
    taps = reshape(ctx, taps, {batch, d[1], d[3], d[4]});
    std::vector<ir::Value*> ins{taps, ctx.constant(w.select(2, j).to(to_torch_dtype(dt)))};
    if (j == 0 && !ctx.is_none(n->input(2))) ins.push_back(ctx.tensor_as(n->input(2), dt));
    ir::Value* y = ctx.add(ir::OpKind::Conv2d, a, ins);
    sum = sum ? binary(ctx, sum, y, ir::BinaryKind::kAdd) : y;
  }
  const auto& yd = dims_of(sum);
  ir::Value* y = reshape(ctx, sum, {d[0], fixed(out_d), yd[1], yd[2], yd[3]});
  ctx.set_output(0, transpose(ctx, y, {0, 2, 1, 3, 4}));
}

void add_conv(ConversionCtx& ctx, const Node* n, size_t stride_i, size_t pad_i, size_t dil_i, size_t groups_i,
              int transposed_i, const ConvInput* in = nullptr) {
  if (transposed_i >= 0 && ctx.to_bool(n->input(size_t(transposed_i)))) {
    // _convolution / convolution: (input, weight, bias, stride, padding, dilation, transposed, output_padding, groups)
    add_conv_transposed(ctx, n, stride_i, pad_i, size_t(transposed_i) + 1, groups_i, dil_i);
    return;
  }
  if (ctx.is_const(n->input(1)) && ctx.ivalue(n->input(1)).toTensor().dim() == 5)
    return add_conv3d(ctx, n, stride_i, pad_i, dil_i, groups_i, in);
  ir::Value* x = in ? in->x : ctx.tensor(n->input(0));
  if (!ctx.is_const(n->input(1))) ctx.fail("convolution weights must be constants (freeze the module)");
  at::Tensor w = ctx.ivalue(n->input(1)).toTensor();
  if (w.dim() != 3 && w.dim() != 4)
    ctx.fail(str_cat("only 1-D, 2-D and 3-D convolution are supported, weight has rank ", w.dim()));
  if (x->type.rank() != w.dim())
    ctx.fail(str_cat("the input ", x->type.str(), " has rank ", x->type.rank(), " but the weight has rank ", w.dim(),
                     " (unbatched convolution is not supported)"));
  const bool one_d = w.dim() == 3;
  ir::Conv2dAttrs a;
  a.groups = ctx.to_int(n->input(groups_i));
  ir::Value* weight;
  if (one_d) {
    a.stride = {1, pair_arg(ctx, n->input(stride_i), 1)[0]};
    a.padding = {0, in ? in->padding[0] : pair_arg(ctx, n->input(pad_i), 1)[0]};
    a.dilation = {1, pair_arg(ctx, n->input(dil_i), 1)[0]};
    x = unsqueeze(ctx, x, 2);
    weight = ctx.constant(w.unsqueeze(2).to(to_torch_dtype(x->type.dtype)));
  } else {
    a.stride = pair_arg(ctx, n->input(stride_i));
    a.padding = in ? in->padding : pair_arg(ctx, n->input(pad_i));
    a.dilation = pair_arg(ctx, n->input(dil_i));
    weight = ctx.tensor_as(n->input(1), x->type.dtype);
  }
  std::vector<ir::Value*> ins{x, weight};
  if (!ctx.is_none(n->input(2))) ins.push_back(ctx.tensor_as(n->input(2), x->type.dtype));
  ir::Value* y = ctx.add(ir::OpKind::Conv2d, a, ins);
  if (one_d) {
    std::vector<ir::Dim> d3 = dims_of(y);
    d3.erase(d3.begin() + 2);
    y = reshape(ctx, y, d3);
  }
  ctx.set_output(0, y);
}

// conv1d/2d/3d with padding "valid" (none) or "same" (the output as large as the input; stride 1):
// a dilated kernel span of k' pads k' - 1 in all, half before, the rest after (the odd one after, as
// torch does, by padding the input's end first).
void add_conv_padding_mode(ConversionCtx& ctx, const Node* n) {
  ir::Value* x = ctx.tensor(n->input(0));
  if (!ctx.is_const(n->input(1))) ctx.fail("convolution weights must be constants (freeze the module)");
  const at::Tensor w = ctx.ivalue(n->input(1)).toTensor();
  const int64_t sd = w.dim() - 2;
  if (sd < 1 || sd > 3 || x->type.rank() != w.dim())
    ctx.fail(str_cat("the input ", x->type.str(), " and the weight of rank ", w.dim(),
                     " are not a batched 1-D, 2-D or 3-D convolution"));
  const std::string mode = ctx.ivalue(n->input(4)).toStringRef();
  const auto stride = pair_arg(ctx, n->input(3), size_t(sd)), dil = pair_arg(ctx, n->input(5), size_t(sd));
  ConvInput in{x, std::vector<int64_t>(size_t(sd), 0)};
  if (mode == "same") {
    for (int64_t i = 0; i < sd; ++i) {
      if (stride[size_t(i)] != 1)
        ctx.fail(str_cat("padding='same' needs stride 1 in every dim (as in torch), got ", stride[size_t(i)]));
      const int64_t total = dil[size_t(i)] * (w.size(2 + i) - 1), lo = total / 2;
      in.padding[size_t(i)] = lo;
      if (total - lo > lo) in.x = pad_constant(ctx, in.x, 2 + i, 0, total - 2 * lo, 0.0);
    }
  } else if (mode != "valid") {
    ctx.fail(str_cat("padding must be 'same' or 'valid', got '", mode, "'"));
  }
  if (sd == 3) return add_conv3d(ctx, n, 3, 4, 5, 6, &in);
  add_conv(ctx, n, 3, 4, 5, 6, -1, &in);
}

// Input 0 is (N, C, L), (N, C, H, W) or (N, C, D, H, W).
std::string conv_input(const ConversionCtx& ctx, const Node* n) {
  const Arg& a = ctx.arg(n->input(0));
  if (a.kind == Arg::Kind::kTensor && (a.tensor->type.rank() < 3 || a.tensor->type.rank() > 5))
    return str_cat("only batched 1-D (N, C, L), 2-D (N, C, H, W) and 3-D (N, C, D, H, W) convolutions are supported, "
                   "got an input ", a.tensor->type.str());
  return "";
}

static auto reg =
    RegisterConverters()
        .pattern({{"aten::conv2d(Tensor input, Tensor weight, Tensor? bias=None, int[2] stride=1, int[2] padding=0, "
                   "int[2] dilation=1, int groups=1) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_conv(ctx, n, 3, 4, 5, 6, -1); },
                  needs_4d_input})
        .pattern({{"aten::conv1d(Tensor input, Tensor weight, Tensor? bias=None, int[1] stride=1, int[1] padding=0, "
                   "int[1] dilation=1, int groups=1) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_conv(ctx, n, 3, 4, 5, 6, -1); },
                  [](const ConversionCtx& ctx, const Node* n) {
                    const Arg& a = ctx.arg(n->input(0));
                    if (a.kind == Arg::Kind::kTensor && a.tensor->type.rank() != 3)
                      return str_cat("only batched (N, C, L) inputs are supported, got ", a.tensor->type.str());
                    return std::string();
                  }})
        .pattern({{"aten::_convolution(Tensor input, Tensor weight, Tensor? bias, int[] stride, int[] padding, "
                   "int[] dilation, bool transposed, int[] output_padding, int groups, bool benchmark, "
                   "bool deterministic, bool cudnn_enabled, bool allow_tf32) -> Tensor",
                   "aten::_convolution.deprecated(Tensor input, Tensor weight, Tensor? bias, int[] stride, "
                   "int[] padding, int[] dilation, bool transposed, int[] output_padding, int groups, "
                   "bool benchmark, bool deterministic, bool cudnn_enabled) -> Tensor",
                   "aten::convolution(Tensor input, Tensor weight, Tensor? bias, int[] stride, int[] padding, "
                   "int[] dilation, bool transposed, int[] output_padding, int groups) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_conv(ctx, n, 3, 4, 5, 8, 6); },
                  conv_input})
        .pattern({{"aten::conv1d.padding(Tensor input, Tensor weight, Tensor? bias=None, SymInt[1] stride=[1], "
                   "str padding=\"valid\", SymInt[1] dilation=[1], SymInt groups=1) -> Tensor",
                   "aten::conv2d.padding(Tensor input, Tensor weight, Tensor? bias=None, SymInt[2] stride=[1, 1], "
                   "str padding=\"valid\", SymInt[2] dilation=[1, 1], SymInt groups=1) -> Tensor",
                   "aten::conv3d.padding(Tensor input, Tensor weight, Tensor? bias=None, SymInt[3] stride=[1, 1, 1], "
                   "str padding=\"valid\", SymInt[3] dilation=[1, 1, 1], SymInt groups=1) -> Tensor",
                   // the traced form of the three
                   "aten::_convolution_mode(Tensor input, Tensor weight, Tensor? bias, SymInt[] stride, str padding, "
                   "SymInt[] dilation, SymInt groups) -> Tensor"},
                  add_conv_padding_mode, conv_input})
        .pattern({{"aten::conv3d(Tensor input, Tensor weight, Tensor? bias=None, SymInt[3] stride=[1, 1, 1], "
                   "SymInt[3] padding=[0, 0, 0], SymInt[3] dilation=[1, 1, 1], SymInt groups=1) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_conv3d(ctx, n, 3, 4, 5, 6); }})
        .pattern({{"aten::conv_transpose2d.input(Tensor input, Tensor weight, Tensor? bias=None, SymInt[2] stride=[1, 1], "
                   "SymInt[2] padding=[0, 0], SymInt[2] output_padding=[0, 0], SymInt groups=1, "
                   "SymInt[2] dilation=[1, 1]) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_conv_transposed(ctx, n, 3, 4, 5, 6, 7); },
                  needs_4d_input})
        .pattern({{"aten::conv_transpose3d.input(Tensor input, Tensor weight, Tensor? bias=None, SymInt[3] stride=[1, 1, 1], "
                   "SymInt[3] padding=[0, 0, 0], SymInt[3] output_padding=[0, 0, 0], SymInt groups=1, "
                   "SymInt[3] dilation=[1, 1, 1]) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_conv_transposed(ctx, n, 3, 4, 5, 6, 7); },
                  conv_input})
        .pattern({{"aten::conv_transpose1d(Tensor input, Tensor weight, Tensor? bias=None, SymInt[1] stride=[1], "
                   "SymInt[1] padding=[0], SymInt[1] output_padding=[0], SymInt groups=1, SymInt[1] dilation=[1]) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_conv_transposed(ctx, n, 3, 4, 5, 6, 7); },
                  conv_input});

}  // namespace
}  // namespace trtorch::frontend::converters
