// Typed attribute structs, one per op of ops.def.
//
// Each struct lists its fields once in visit(f); printing, equality and serialization all
// walk that list. Field types a visitor must handle: int64_t, double, bool, DType, the kind
// enums below (uint8_t based), std::vector<int64_t>, Dim, std::vector<Dim> (sizes that may be
// symbolic: see symbolic.h) and HostTensor.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "core/ir/dtype.h"
#include "core/ir/symbolic.h"
#include "core/ir/tensor.h"

namespace trtorch::ir {

// Enum numbering is serialized: append only.
enum class UnaryKind : uint8_t {
  kRelu, kSigmoid, kTanh, kHardSigmoid, kHardSwish, kSilu, kGeluErf, kGeluTanh,
  kLeakyRelu,  // alpha = negative slope
  kElu,        // alpha
  kClamp,      // alpha = min, beta = max (relu6, hardtanh, clamp)
  kExp, kLog, kSqrt, kRsqrt, kNeg, kAbs, kErf, kReciprocal,
  kFloor, kCeil,
  kRound,  // to the nearest integer, halves to even (torch.round)
  kTrunc,
  kSign,   // -1, 0 or 1; 0 for NaN (torch.sign)
  kCount
};
const char* unary_kind_name(UnaryKind k);

enum class BinaryKind : uint8_t { kAdd, kSub, kMul, kDiv, kPow, kMax, kMin, kCount };
const char* binary_kind_name(BinaryKind k);

enum class PoolKind : uint8_t { kMax, kAvg, kCount };
// Compare: the six comparisons, then the logical connectives (operands taken as truth values:
// nonzero is true).
enum class CompareKind : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe, kAnd, kOr, kXor, kCount };
const char* compare_kind_name(CompareKind k);
enum class ReduceKind : uint8_t { kSum, kMean, kMax, kMin, kProd, kCount };

struct ConstantAttrs {
  HostTensor value;
  template <class F> void visit(F&& f) { f("value", value); }
};

struct IdentityAttrs {
  template <class F> void visit(F&&) {}
};

// out = act(conv(x, w) + b + residual). x: [N, C, H, W], w: [K, C/groups, R, S].
// Inputs: x, w, then b if present, then residual if has_residual (same shape as the output).
// The epilogue (residual, activation) is filled in by the fuse_epilogues pass.
struct Conv2dAttrs {
  std::vector<int64_t> stride{1, 1}, padding{0, 0}, dilation{1, 1};
  int64_t groups = 1;
  bool has_residual = false;
  bool has_act = false;
  UnaryKind act = UnaryKind::kRelu;
  double act_alpha = 0.0, act_beta = 0.0;
  template <class F> void visit(F&& f) {
    f("stride", stride); f("padding", padding); f("dilation", dilation); f("groups", groups);
    f("has_residual", has_residual); f("has_act", has_act); f("act", act); f("act_alpha", act_alpha);
    f("act_beta", act_beta);
  }
};
// A Conv2d node's inputs are x, w, an optional bias (input kConvBiasInput), then the residual
// when has_residual: whether a node with n_inputs inputs has a bias.
constexpr size_t kConvBiasInput = 2;
inline bool conv_has_bias(const Conv2dAttrs& a, size_t n_inputs) { return n_inputs - (a.has_residual ? 1 : 0) == 3; }

// Inference batch norm over dim 1: inputs x, weight, bias, running_mean, running_var.
struct BatchNormAttrs {
  double eps = 1e-5;
  template <class F> void visit(F&& f) { f("eps", eps); }
};

// out = act(x @ w^T + b), x: [..., K], w: [N, K], b: [N] (optional). The activation is filled
// in by the fuse_epilogues pass.
struct LinearAttrs {
  bool has_act = false;
  UnaryKind act = UnaryKind::kRelu;
  double act_alpha = 0.0, act_beta = 0.0;
  template <class F> void visit(F&& f) {
    f("has_act", has_act); f("act", act); f("act_alpha", act_alpha); f("act_beta", act_beta);
  }
};

// Batched matrix product of rank >= 2 operands with broadcast batch dims.
struct MatMulAttrs {
  template <class F> void visit(F&&) {}
};

struct UnaryAttrs {
  UnaryKind kind = UnaryKind::kRelu;
  double alpha = 0.0, beta = 0.0;
  template <class F> void visit(F&& f) { f("kind", kind); f("alpha", alpha); f("beta", beta); }
};

// Elementwise with numpy broadcasting.
struct BinaryAttrs {
  BinaryKind kind = BinaryKind::kAdd;
  template <class F> void visit(F&& f) { f("kind", kind); }
};

struct Pool2dAttrs {
  PoolKind kind = PoolKind::kMax;
  std::vector<int64_t> kernel{1, 1}, stride{1, 1}, padding{0, 0}, dilation{1, 1};
  bool ceil_mode = false;
  bool count_include_pad = true;
  int64_t divisor_override = 0;  // 0: none
  template <class F> void visit(F&& f) {
    f("kind", kind); f("kernel", kernel); f("stride", stride); f("padding", padding);
    f("dilation", dilation); f("ceil_mode", ceil_mode); f("count_include_pad", count_include_pad);
    f("divisor_override", divisor_override);
  }
};

struct AdaptivePool2dAttrs {
  PoolKind kind = PoolKind::kAvg;
  std::vector<int64_t> output_size{1, 1};
  template <class F> void visit(F&& f) { f("kind", kind); f("output_size", output_size); }
};

// Reduction over `axes` (non-negative, sorted).
struct ReduceAttrs {
  ReduceKind kind = ReduceKind::kSum;
  std::vector<int64_t> axes;
  bool keepdim = false;
  template <class F> void visit(F&& f) { f("kind", kind); f("axes", axes); f("keepdim", keepdim); }
};

struct SoftmaxAttrs {
  int64_t axis = -1;  // non-negative after conversion
  bool log = false;
  template <class F> void visit(F&& f) { f("axis", axis); f("log", log); }
};

// Target shape; entries may be symbolic sizes (dynamic shapes); at most one entry may be -1
// (inferred from the element count).
struct ReshapeAttrs {
  std::vector<Dim> shape;
  template <class F> void visit(F&& f) { f("shape", shape); }
};

// out.dim(i) = in.dim(perm[i]).
struct TransposeAttrs {
  std::vector<int64_t> perm;
  template <class F> void visit(F&& f) { f("perm", perm); }
};

struct ConcatAttrs {
  int64_t axis = 0;
  template <class F> void visit(F&& f) { f("axis", axis); }
};

// Elements start, start+step, ... < end along axis (normalized: 0 <= start <= end <= dim; start
// and end may be symbolic sizes).
struct SliceAttrs {
  int64_t axis = 0;
  Dim start = Dim::fixed(0), end = Dim::fixed(0);
  int64_t step = 1;
  template <class F> void visit(F&& f) { f("axis", axis); f("start", start); f("end", end); f("step", step); }
};

struct CastAttrs {
  DType to = DType::kFloat32;
  template <class F> void visit(F&& f) { f("to", to); }
};

// Layer normalization over the last `normalized_rank` dims (biased variance, like
// torch.layer_norm). Inputs: x, then optionally weight and bias, each shaped like those dims.
// With a single optional input it is the weight (bias-only is expressed with a ones weight).
// has_residual (set by fuse_epilogues): input 1 is a residual of x's dims, of x's type or FP32
// (a residual stream carried in FP32, carry_residual_stream), and x + residual is normalized (the
// sum in FP32, not rounded to the storage type); weight and bias follow it, of x's type.
// emit_sum (needs has_residual; set by carry_residual_stream): output 1 is that sum, FP32, x's dims.
struct LayerNormAttrs {
  int64_t normalized_rank = 1;
  double eps = 1e-5;
  bool has_residual = false;
  bool emit_sum = false;
  template <class F> void visit(F&& f) {
    f("normalized_rank", normalized_rank);
    f("eps", eps);
    f("has_residual", has_residual);
    f("emit_sum", emit_sum);
  }
};

// out = data indexed by `indices` (int32/int64, any shape) along `axis`:
// out.shape = data.shape[:axis] + indices.shape + data.shape[axis+1:] (torch.embedding for
// axis 0, index_select for 1-D indices). Indices must lie in [0, data.shape[axis]): the
// reference backend rejects others with an error naming the index; the CUDA backend trusts them
// (no bounds check at run time, like TensorRT's gather), so a bad index reads out of bounds.
struct GatherAttrs {
  int64_t axis = 0;
  template <class F> void visit(F&& f) { f("axis", axis); }
};

// out = cond ? a : b with numpy broadcasting of all three; cond is bool, a and b share a dtype
// (the output's).
struct WhereAttrs {
  template <class F> void visit(F&&) {}
};

// Broadcast of the input to `shape` (entries may be symbolic sizes) (numpy broadcast_to: the input's dims align to
// the right and each is 1 or equal to the target dim).
struct ExpandAttrs {
  std::vector<Dim> shape;
  template <class F> void visit(F&& f) { f("shape", shape); }
};

// Scaled dot-product attention over the last two dims, per leading (batch, head) index:
//   out = softmax(q @ k^T * scale + bias [+ causal]) @ v
// q [..., L, E], k [..., S, E], v [..., S, Ev] with equal leading dims; the optional 4th input
// is an additive bias of q's dtype broadcastable to [..., L, S] (a boolean mask arrives as 0 /
// -inf). causal keeps key j for query i only when j <= i (torch's is_causal, top-left aligned).
// Softmax is computed in FP32; a row whose every score is -inf gives NaN, as in torch.
// bshd: q, k, v and the output are rank 4 and given as [B, seq, H, d] (the layout of a linear
// projection before its heads are transposed out); the bias still broadcasts to [B, H, L, S].
// packed (with bshd): q, k and v are one tensor [B, seq, 3, H, d], the output of a fused q/k/v
// projection, passed as all three inputs (each is read at its own slot); q, k and v are its
// [:, :, 0], [:, :, 1] and [:, :, 2]
// (so L == S and E == Ev), read in place, and the output is [B, seq, H, d].
struct AttentionAttrs {
  double scale = 1.0;
  bool causal = false;
  bool bshd = false;
  bool packed = false;
  template <class F> void visit(F&& f) {
    f("scale", scale); f("causal", causal); f("bshd", bshd); f("packed", packed);
  }
};

// out = a <kind> b, bool, with numpy broadcasting of a and b, which share a dtype (any dtype,
// bool included). Comparisons follow IEEE rules on floats (NaN compares unequal to everything,
// so only kNe is true for it); kAnd, kOr and kXor are logical (nonzero is true).
struct CompareAttrs {
  CompareKind kind = CompareKind::kEq;
  template <class F> void visit(F&& f) { f("kind", kind); }
};

// Inclusive prefix sum along `axis` (non-negative after conversion); the output has the input's
// dtype and shape (float, int32 or int64; floating types accumulate in at least FP32, integers
// wrap around like torch).
struct CumSumAttrs {
  int64_t axis = 0;
  template <class F> void visit(F&& f) { f("axis", axis); }
};

// Inclusive running product along `axis` (non-negative after conversion), like CumSum: the
// output has the input's dtype and shape (float, int32 or int64; floating types multiply in at
// least FP32, integers wrap around like torch).
struct CumProdAttrs {
  int64_t axis = 0;
  template <class F> void visit(F&& f) { f("axis", axis); }
};

// The first k elements of every line along `axis` once it is sorted: output 0 the values (the
// input's dtype), output 1 their positions along the axis (int64). largest: descending order
// (topk's default, sort(descending=True)), else ascending. k = -1 keeps the whole axis (sort,
// argsort); k = 1 is argmax / argmin. The order is total and stable, as torch's stable sort: NaN
// is above every number (first when descending, last when ascending), -0.0 equals 0.0, and equal
// values keep their input order (so argmax returns the first maximum, like torch).
struct TopKAttrs {
  int64_t axis = 0;
  int64_t k = -1;
  bool largest = true;
  template <class F> void visit(F&& f) {
    f("axis", axis);
    f("k", k);
    f("largest", largest);
  }
};

// out = input 0 (self) with the elements of input 2 (src, the shape of the index) written at the
// positions input 1 (index, int32/int64, self's rank) names along `axis`: for every position p of
// the index, out[p with p[axis] replaced by index[p]] = src[p] (torch.scatter); kAdd adds instead
// (scatter_add, index_put with accumulate=True; duplicate indices all add). With kNone and
// duplicate indices, which write lands is unspecified (as in torch). The index's dims other than
// `axis` must not exceed self's. An index outside [0, self.shape[axis]) is an error on the
// reference backend; the CUDA kernel skips its write (it never writes out of bounds).
enum class ScatterReduce : uint8_t { kNone, kAdd, kCount };
struct ScatterAttrs {
  int64_t axis = 0;
  ScatterReduce reduce = ScatterReduce::kNone;
  template <class F> void visit(F&& f) {
    f("axis", axis);
    f("reduce", reduce);
  }
};

// torch.nn.functional.grid_sample on 4-D input: input 0 x [N, C, H, W], input 1 grid
// [N, Ho, Wo, 2] of (x, y) coordinates in [-1, 1] (the input's dtype); the output is
// [N, C, Ho, Wo]. Coordinates are unnormalized with align_corners as torch does and computed
// in FP32 whatever the storage type; padding decides what a tap outside the input reads (zeros,
// the nearest border pixel, or the coordinate reflected back inside).
enum class GridSampleMode : uint8_t { kBilinear, kNearest, kCount };
enum class GridSamplePadding : uint8_t { kZeros, kBorder, kReflection, kCount };
struct GridSampleAttrs {
  GridSampleMode mode = GridSampleMode::kBilinear;
  GridSamplePadding padding = GridSamplePadding::kZeros;
  bool align_corners = false;
  template <class F> void visit(F&& f) {
    f("mode", mode);
    f("padding", padding);
    f("align_corners", align_corners);
  }
};

// A fused chain of elementwise ops (fuse_pointwise): a small program over FP32 registers.
// Registers 0 .. n_inputs-1 hold the inputs (numpy broadcasting against the output, all of the
// output's floating dtype); instruction i writes register n_inputs + i; the last one is the
// output, rounded to the storage type once. Instruction i is code[4i .. 4i+3] = {op, kind, a, b}:
//   op kImmediate: the constant params[2i];
//   op kUnary:     UnaryKind `kind` of register a, alpha = params[2i], beta = params[2i+1];
//   op kBinary:    BinaryKind `kind` of registers a and b.
// params is FP32 [2 * instructions] (unused entries 0).
struct PointwiseAttrs {
  enum Op : int64_t { kImmediate = 0, kUnary = 1, kBinary = 2 };
  std::vector<int64_t> code;
  HostTensor params;
  size_t instructions() const { return code.size() / 4; }
  template <class F> void visit(F&& f) { f("code", code); f("params", params); }
};

// Symmetric linear quantization (zero point 0), as torch's fake quantization computes it:
//   Quantize:   q = clamp(round_half_even(float(x) * (1.0f / scale[c])), qmin, qmax), int8 out;
//   Dequantize: y = float(q) * scale[c], rounded once to `to`.
// The reciprocal and the product are FP32 (torch's fake_quantize kernels multiply by the FP32
// reciprocal, not divide); NaN quantizes to 0. scale is FP32 and positive: one value (axis = -1,
// per tensor) or one per index of dim `axis` (per channel). [qmin, qmax] lies in [-128, 127]
// (-127 for the narrow range that symmetric weight quantization uses).
struct QuantizeAttrs {
  int64_t axis = -1;
  HostTensor scale;
  int64_t qmin = -128, qmax = 127;
  template <class F> void visit(F&& f) {
    f("axis", axis);
    f("scale", scale);
    f("qmin", qmin);
    f("qmax", qmax);
  }
};

struct DequantizeAttrs {
  int64_t axis = -1;
  HostTensor scale;
  DType to = DType::kFloat32;
  template <class F> void visit(F&& f) {
    f("axis", axis);
    f("scale", scale);
    f("to", to);
  }
};

// The arithmetic of an INT8 layer (QConv2d, QLinear), which the fuse_quantized_layers pass makes
// from Dequantize -> Conv2d / Linear -> (Quantize) with int8 weights:
//   acc  = the sum of the int8 x int8 products (exact: the layer's reduction is short enough
//          for int32, which infer_types checks)
//   v    = clamp(float(acc) * alpha[k] + bias[k] + r, lo, hi), in FP32, where
//          alpha[k] = float(x_scale) * w_scale[k] (FP32), k the output channel,
//          r the residual: float, or int8 times float(r_scale) when r_scale > 0
//   out  = y_scale > 0: int8 clamp(round_half_even(v * (1.0f / float(y_scale))), qmin, qmax)
//          (the Quantize it took in; NaN gives 0), else v rounded once to out_dtype.
// The activation is a clamp: none is (-inf, inf), relu [0, inf), relu6 [0, 6]; the pass leaves
// other activations as a Unary after a float-output layer. The bias is FP32 [K] (zeros when the
// layer had none).
struct QuantizedLayer {
  double x_scale = 1.0;
  HostTensor w_scale;  // FP32 [K]
  double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
  double r_scale = 0.0;
  double y_scale = 0.0;
  int64_t qmin = -128, qmax = 127;
  DType out_dtype = DType::kFloat16;
  template <class F> void visit(F&& f) {
    f("x_scale", x_scale); f("w_scale", w_scale); f("lo", lo); f("hi", hi); f("r_scale", r_scale);
    f("y_scale", y_scale); f("qmin", qmin); f("qmax", qmax); f("out_dtype", out_dtype);
  }
};

// INT8 convolution: x int8 [N, C, H, W], w int8 [K, C, R, S], bias FP32 [K], then the residual
// ([N, K, OH, OW]: of q.out_dtype, a float residual also under an int8 output; or int8 with
// q.r_scale > 0) when has_residual. groups is 1 (a field for grouped convolutions later).
struct QConv2dAttrs {
  std::vector<int64_t> stride{1, 1}, padding{0, 0}, dilation{1, 1};
  int64_t groups = 1;
  bool has_residual = false;
  QuantizedLayer q;
  template <class F> void visit(F&& f) {
    f("stride", stride); f("padding", padding); f("dilation", dilation); f("groups", groups);
    f("has_residual", has_residual);
    q.visit(f);
  }
};

// INT8 linear layer: x int8 [..., K], w int8 [N, K], bias FP32 [N]; out [..., N].
struct QLinearAttrs {
  QuantizedLayer q;
  template <class F> void visit(F&& f) { q.visit(f); }
};

}  // namespace trtorch::ir
