// The rows of the op-test table for the elementwise, compare, reduce, scan and data_movement
// families (see op_cases.h for how to add one; the others are in op_rows.cpp).
#include <cmath>
#include <limits>

#include "core/util/error.h"
#include "tests/ops/op_cases.h"

namespace trtorch::op_test {

using namespace trtorch::ir;

namespace {

using Rows = std::vector<OpCase>;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string shape_name(const Shape& s) {
  std::string r;
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "x" : "") + std::to_string(s[i]);
  return s.empty() ? "scalar" : r;
}

// A Pointwise program under construction: registers 0 .. n_inputs-1 are the inputs, each
// instruction's result is the next register.
struct Program {
  int64_t n_inputs;
  std::vector<int64_t> code;
  std::vector<double> params;
  int64_t emit(int64_t op, int64_t kind, int64_t a, int64_t b, double p0, double p1) {
    code.insert(code.end(), {op, kind, a, b});
    params.push_back(p0);
    params.push_back(p1);
    return n_inputs + int64_t(code.size() / 4) - 1;
  }
  int64_t imm(double v) { return emit(PointwiseAttrs::kImmediate, 0, 0, 0, v, 0); }
  int64_t unary(UnaryKind k, int64_t a, double alpha = 0, double beta = 0) {
    return emit(PointwiseAttrs::kUnary, int64_t(k), a, 0, alpha, beta);
  }
  int64_t binary(BinaryKind k, int64_t a, int64_t b) { return emit(PointwiseAttrs::kBinary, int64_t(k), a, b, 0, 0); }
  PointwiseAttrs attrs() const {
    PointwiseAttrs a;
    a.code = code;
    a.params = HostTensor(DType::kFloat32, {int64_t(params.size())});
    for (size_t i = 0; i < params.size(); ++i) a.params.set(int64_t(i), params[i]);
    return a;
  }
};

// ---------------------------------------------------------------------------------------------
// elementwise

void unary_rows(Rows& rows) {
  // From reference_test.cpp (UnaryEveryKind): log, sqrt, rsqrt and reciprocal on [0.25, 5].
  for (int k = 0; k < int(UnaryKind::kCount); ++k) {
    const UnaryKind kind = UnaryKind(k);
    const bool positive = kind == UnaryKind::kLog || kind == UnaryKind::kSqrt || kind == UnaryKind::kRsqrt ||
                          kind == UnaryKind::kReciprocal;
    UnaryAttrs a;
    a.kind = kind;
    if (kind == UnaryKind::kLeakyRelu) a.alpha = 0.01;
    if (kind == UnaryKind::kElu) a.alpha = 1.3;
    if (kind == UnaryKind::kClamp) a.alpha = -1.5, a.beta = 2.25;
    OpCase c = row("elementwise", str_cat("unary_", unary_kind_name(kind)), OpKind::Unary, a,
                   {in({3, 4, 50}, positive ? 0.25 : -5.0, 5.0)}, floats());
    c.seed = 7 + uint32_t(k);
    rows.push_back(c);
  }
}

void binary_rows(Rows& rows) {
  // reference_test.cpp (BinaryFloatBroadcast), then cuda_elementwise_test.cpp (BinaryEveryKind);
  // div and pow on [0.5, 2].
  const std::pair<Shape, Shape> shapes[] = {
      {{2, 3, 1, 5}, {3, 4, 1}}, {{4, 6}, {4, 6}}, {{4, 6}, {}},  {{1}, {3, 2}},  {{5, 1, 7}, {5, 3, 1}},
      {{2, 16, 4, 4}, {2, 16, 1, 1}}, {{4, 7}, {7}}, {{3, 16}, {1}}, {{1}, {3, 10}}, {{2, 8, 5}, {2, 1, 5}}};
  for (int k = 0; k < int(BinaryKind::kCount); ++k) {
    const BinaryKind kind = BinaryKind(k);
    const double lo = kind == BinaryKind::kPow || kind == BinaryKind::kDiv ? 0.5 : -2.0;
    for (const auto& [a, b] : shapes) {
      const std::string name = str_cat("binary_", binary_kind_name(kind), "_", shape_name(a), "_", shape_name(b));
      rows.push_back(row("elementwise", name, OpKind::Binary, BinaryAttrs{kind}, {in(a, lo, 2.0), in(b, lo, 2.0)},
                         floats()));
    }
  }
  // From cuda_elementwise_test.cpp (BinaryMaxMinNaN): NaN operands of max / min propagate.
  for (BinaryKind kind : {BinaryKind::kMax, BinaryKind::kMin}) {
    InputSpec a = in({4, 16}, -2, 2), b = in({16}, -2, 2);
    a.special = {{3, kNaN}, {20, kNaN}};
    b.special = {{7, kNaN}};
    rows.push_back(row("elementwise", str_cat("binary_", binary_kind_name(kind), "_nan"), OpKind::Binary,
                       BinaryAttrs{kind}, {a, b}, floats()));
  }
  // Integers: from reference_test.cpp (BinaryIntegers; pow is reference-only: the CUDA backend
  // has no integer pow or div) ...
  for (BinaryKind kind : {BinaryKind::kAdd, BinaryKind::kSub, BinaryKind::kMul, BinaryKind::kMax, BinaryKind::kMin,
                          BinaryKind::kPow}) {
    const bool pow = kind == BinaryKind::kPow;
    OpCase c = row("elementwise", str_cat("binary_int_", binary_kind_name(kind), "_3x1x4_5x1"), OpKind::Binary,
                   BinaryAttrs{kind}, {in({3, 1, 4}, pow ? -3 : -1000, pow ? 3 : 1000), in({5, 1}, pow ? 0 : -1000,
                                                                                         pow ? 5 : 1000)},
                   ints());
    c.cuda = !pow;
    rows.push_back(c);
  }
  // ... and cuda_elementwise_test.cpp (CudaElementwiseInt.Binary), values in [-50, 50].
  const std::pair<Shape, Shape> int_shapes[] = {
      {{2, 16, 4, 4}, {2, 16, 1, 1}}, {{4, 7}, {7}}, {{3, 16}, {1}}, {{1}, {37}}, {{37}, {37}},
      {{2, 1, 6, 8}, {2, 5, 1, 1}},   {{6, 1}, {1, 10}}, {{2, 1, 3, 1, 5}, {1, 4, 1, 6, 1}}};
  for (BinaryKind kind : {BinaryKind::kAdd, BinaryKind::kSub, BinaryKind::kMul, BinaryKind::kMax, BinaryKind::kMin})
    for (const auto& [a, b] : int_shapes)
      rows.push_back(row("elementwise", str_cat("binary_int_", binary_kind_name(kind), "_", shape_name(a), "_",
                                                shape_name(b)),
                         OpKind::Binary, BinaryAttrs{kind}, {in(a, -50, 50), in(b, -50, 50)}, ints()));
}

void cast_and_pointwise_rows(Rows& rows) {
  // From reference_test.cpp (CastBetweenAllDtypes): every dtype to every dtype, exact; floats
  // start with -2.75, 2.75, -0.5, 0 (truncation toward zero, zero to false).
  for (const DTypeTol& to : every_dtype()) {
    InputSpec x = in({4, 9}, -20, 20);
    x.special = {{0, -2.75}, {1, 2.75}, {2, -0.5}, {3, 0.0}};
    CastAttrs a;
    a.to = to.dtype;
    OpCase c = row("elementwise", str_cat("cast_to_", dtype_name(to.dtype)), OpKind::Cast, a, {x}, every_dtype());
    c.seed = 31;
    // At FP16 / BF16 precision the CUDA engine's FP32 output is not FP32 (the builder stores
    // float tensors in the precision), so it cannot be compared with the reference's FP32.
    if (to.dtype == DType::kFloat32) c.cuda_skip = {DType::kFloat16, DType::kBFloat16};
    rows.push_back(c);
  }
  // Generated pointwise chains (fuse_pointwise's node), as cuda_pointwise_test.cpp makes them:
  // a gate leaky_relu(a * sigmoid(a) * b + 0.25, 0.1), and tanh(x * sigmoid(x) * s + c) * 0.5
  // with per-channel s and c.
  Program gate{2, {}, {}};
  int64_t r = gate.binary(BinaryKind::kMul, 0, gate.unary(UnaryKind::kSigmoid, 0));
  r = gate.binary(BinaryKind::kAdd, gate.binary(BinaryKind::kMul, r, 1), gate.imm(0.25));
  gate.unary(UnaryKind::kLeakyRelu, r, 0.1);
  rows.push_back(row("elementwise", "pointwise_gate", OpKind::Pointwise, gate.attrs(),
                     {in({2, 16, 9, 9}, -3, 3), in({2, 16, 9, 9}, -3, 3)}, floats()));
  Program swish{3, {}, {}};
  r = swish.binary(BinaryKind::kMul, 0, swish.unary(UnaryKind::kSigmoid, 0));
  r = swish.binary(BinaryKind::kAdd, swish.binary(BinaryKind::kMul, r, 1), 2);
  swish.binary(BinaryKind::kMul, swish.unary(UnaryKind::kTanh, r), swish.imm(0.5));
  rows.push_back(row("elementwise", "pointwise_swish_scale_shift", OpKind::Pointwise, swish.attrs(),
                     {in({2, 16, 9, 9}, -3, 3), in({16, 1, 1}), in({16, 1, 1})}, floats()));
}

}  // namespace

std::vector<OpCase> elementwise_rows() {
  Rows rows;
  unary_rows(rows);
  binary_rows(rows);
  cast_and_pointwise_rows(rows);
  return rows;
}

// ---------------------------------------------------------------------------------------------
// compare

std::vector<OpCase> compare_rows() {
  Rows rows;
  const std::vector<DTypeTol> int_bool = only(every_dtype(), {DType::kInt32, DType::kInt64, DType::kBool});
  for (int k = 0; k < int(CompareKind::kCount); ++k) {
    const CompareAttrs a{CompareKind(k)};
    const std::string kind = compare_kind_name(CompareKind(k));
    // From reference_test.cpp (CompareEveryKindAndDtypeWithBroadcast): few distinct values, so
    // that equal pairs occur.
    InputSpec x = in({3, 1, 4}, -1, 1), y = in({2, 1}, -1, 1);
    x.step = y.step = 0.5;
    OpCase c = row("compare", "compare_" + kind + "_3x1x4_2x1", OpKind::Compare, a, {x, y}, every_dtype());
    c.seed = 97;
    rows.push_back(c);
    // From cuda_transformer_ops_test.cpp (CompareEveryKind): floats with ties, broadcast and
    // same-shape; integers and bools in [-3, 3].
    InputSpec bx = in({2, 3, 1, 5}, -2, 2), by = in({4, 1}, -2, 2), sx = in({1000, 33}, -2, 2), sy = sx;
    bx.step = by.step = sx.step = sy.step = 0.5;
    rows.push_back(row("compare", "compare_" + kind + "_float_bcast", OpKind::Compare, a, {bx, by}, floats()));
    rows.push_back(row("compare", "compare_" + kind + "_float_same", OpKind::Compare, a, {sx, sy}, floats()));
    rows.push_back(row("compare", "compare_" + kind + "_int_bcast", OpKind::Compare, a,
                       {in({3, 1, 7}, -3, 3), in({5, 1}, -3, 3)}, int_bool));
  }
  // From reference_test.cpp (GatherWhereExpandOnAnyDtype): cond [4,1,1] alternating, x [4,3,2],
  // y [2].
  rows.push_back(row("compare", "where_4x1x1_4x3x2_2", OpKind::Where, WhereAttrs{},
                     {given(DType::kBool, {4, 1, 1}, {0, 1, 0, 1}), in({4, 3, 2}, -50, 50), in({2}, -50, 50)},
                     every_dtype()));
  rows.push_back(row("compare", "where_every_operand_broadcast", OpKind::Where, WhereAttrs{},
                     {fixed(DType::kBool, {2, 1, 5}), in({3, 5}), in({2, 3, 1})}, floats()));
  return rows;
}

// ---------------------------------------------------------------------------------------------
// reduce

std::vector<OpCase> reduce_rows() {
  Rows rows;
  const char* names[] = {"sum", "mean", "max", "min", "prod"};
  // From reference_test.cpp (ReduceEveryKind): prod on [0.9, 1.1].
  for (int k = 0; k < int(ReduceKind::kCount); ++k) {
    const bool prod = ReduceKind(k) == ReduceKind::kProd;
    for (const Shape& axes : {Shape{1}, Shape{0, 2}, Shape{1, 2, 3}, Shape{3}, Shape{0, 1, 2, 3}})
      for (bool keepdim : {false, true}) {
        ReduceAttrs a;
        a.kind = ReduceKind(k);
        a.axes = axes;
        a.keepdim = keepdim;
        OpCase c = row("reduce", str_cat("reduce_", names[k], "_axes_", shape_name(axes), keepdim ? "_keepdim" : ""),
                       OpKind::Reduce, a, {in({3, 4, 5, 6}, prod ? 0.9 : -3.0, prod ? 1.1 : 3.0)}, floats());
        c.seed = 61;
        rows.push_back(c);
      }
  }
  // From reference_test.cpp (SoftmaxAndLogSoftmax): large logits (a naive exp() would overflow).
  for (int64_t axis : {0, 1, 2})
    for (bool log : {false, true})
      rows.push_back(row("reduce", str_cat(log ? "log_softmax" : "softmax", "_axis", axis), OpKind::Softmax,
                         SoftmaxAttrs{axis, log}, {in({4, 5, 6}, -100, 100)}, floats()));
  return rows;
}

// ---------------------------------------------------------------------------------------------
// scan

std::vector<OpCase> scan_rows() {
  Rows rows;
  std::vector<DTypeTol> float_int = floats();
  for (const DTypeTol& t : ints()) float_int.push_back(t);
  // From reference_test.cpp (CumSumMatchesNaiveOnEveryAxis).
  for (int64_t axis : {0, 1, 2})
    rows.push_back(row("scan", str_cat("cumsum_3x4x5_axis", axis), OpKind::CumSum, CumSumAttrs{axis},
                       {in({3, 4, 5}, -20, 20)}, float_int));
  // From cuda_transformer_ops_test.cpp (CumSum): contiguous lines (one chunk, several chunks with
  // a partial last one, many lines), strided lines, long int64 lines.
  for (const Shape& s : {Shape{4, 100}, Shape{3, 1000}, Shape{700, 17}})
    rows.push_back(row("scan", "cumsum_rows_" + shape_name(s), OpKind::CumSum, CumSumAttrs{1}, {in(s, -3, 3)},
                       floats()));
  rows.push_back(row("scan", "cumsum_cols_3x50x9", OpKind::CumSum, CumSumAttrs{1}, {in({3, 50, 9}, -3, 3)},
                     float_int));
  rows.push_back(row("scan", "cumsum_rows_2x600", OpKind::CumSum, CumSumAttrs{1}, {in({2, 600}, -3, 3)},
                     only(ints(), {DType::kInt64})));
  // CumProd: factors near 1 keep long FP16 products in range; integer factors 2 and 3 (no zero
  // to end a product) wrap int32 within 30 elements, and 3^30 stays exact in the oracle's double;
  // contiguous lines over several chunks, strided lines.
  for (int64_t axis : {0, 1, 2})
    rows.push_back(row("scan", str_cat("cumprod_3x4x5_axis", axis), OpKind::CumProd, CumProdAttrs{axis},
                       {in({3, 4, 5}, -2, 2)}, float_int));
  rows.push_back(row("scan", "cumprod_rows_3x700", OpKind::CumProd, CumProdAttrs{1}, {in({3, 700}, 0.995, 1.005)},
                     with_tol(1e-5, 4e-3, 3e-2)));
  rows.push_back(row("scan", "cumprod_cols_3x30x9", OpKind::CumProd, CumProdAttrs{1}, {in({3, 30, 9}, 2, 3)},
                     only(ints(), {DType::kInt32})));
  return rows;
}

// ---------------------------------------------------------------------------------------------
// sort

std::vector<OpCase> sort_rows() {
  Rows rows;
  std::vector<DTypeTol> exact = {{DType::kFloat32}, {DType::kFloat16}, {DType::kBFloat16}, {DType::kInt32},
                                 {DType::kInt64}};
  // Values on a grid of 1/8 in [-4, 4] are exact in every dtype and tie often: ties must keep
  // their input order (indices compared exactly).
  auto ties = [](InputSpec s) {
    s.step = 0.125;
    return s;
  };
  for (bool largest : {true, false})
    for (int64_t axis : {0, 1, 2}) {
      TopKAttrs a;
      a.axis = axis;
      a.largest = largest;
      a.k = -1;
      rows.push_back(row("sort", str_cat("sort_3x5x7_axis", axis, largest ? "_desc" : "_asc"), OpKind::TopK, a,
                         {ties(in({3, 5, 7}, -4, 4))}, exact));
      a.k = 1;  // argmax / argmin, contiguous and strided lines
      rows.push_back(row("sort", str_cat("top1_3x5x7_axis", axis, largest ? "_max" : "_min"), OpKind::TopK, a,
                         {ties(in({3, 5, 7}, -4, 4))}, exact));
    }
  // topk of long lines (CUB's segmented sort over many segments, and few long ones), NaN, -inf
  // and -0.0 among the values (NaN first when largest, last otherwise; -0.0 ties with 0.0).
  for (bool largest : {true, false}) {
    TopKAttrs a;
    a.axis = 1;
    a.k = 5;
    a.largest = largest;
    InputSpec x = in({6, 300}, -4, 4);
    x.special = {{3, std::nan("")}, {10, -INFINITY}, {20, -0.0}, {21, 0.0}, {650, std::nan("")}};
    rows.push_back(row("sort", str_cat("topk5_6x300", largest ? "_largest" : "_smallest"), OpKind::TopK, a, {x},
                       only(exact, {DType::kFloat32, DType::kFloat16, DType::kBFloat16})));
    a.k = 3;
    a.axis = 0;
    rows.push_back(row("sort", str_cat("topk3_2000x3_axis0", largest ? "_largest" : "_smallest"), OpKind::TopK, a,
                       {in({2000, 3}, -1000, 1000)}, only(exact, {DType::kFloat32, DType::kInt32, DType::kInt64})));
    a.axis = 1;
    a.k = 1;
    rows.push_back(row("sort", str_cat("top1_4x5000", largest ? "_max" : "_min"), OpKind::TopK, a,
                       {in({4, 5000}, -1e6, 1e6)}, only(exact, {DType::kFloat32, DType::kInt64})));
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// grid_sample

std::vector<OpCase> grid_sample_rows() {
  Rows rows;
  // Grid values in [-1.2, 1.2] reach past every edge; every mode, padding and alignment.
  for (GridSampleMode mode : {GridSampleMode::kBilinear, GridSampleMode::kNearest})
    for (GridSamplePadding pad : {GridSamplePadding::kZeros, GridSamplePadding::kBorder, GridSamplePadding::kReflection})
      for (bool align : {false, true}) {
        GridSampleAttrs a;
        a.mode = mode;
        a.padding = pad;
        a.align_corners = align;
        const char* pn = pad == GridSamplePadding::kZeros ? "zeros" : pad == GridSamplePadding::kBorder ? "border" : "reflection";
        OpCase c = row("grid_sample",
                       str_cat(mode == GridSampleMode::kNearest ? "nearest_" : "bilinear_", pn, align ? "_align" : ""),
                       OpKind::GridSample, a, {in({2, 3, 5, 7}, -3, 3), in({2, 4, 6, 2}, -1.2, 1.2)},
                       mode == GridSampleMode::kNearest ? floats() : with_tol(1e-5, 4e-3, 3e-2));
        // Nearest rounds a coordinate: an FP16/BF16 grid lands on other pixels than the exact
        // grid would only at rounding ties, which the seed avoids (the reference computes in FP32
        // from the same rounded grid values the oracle reads).
        rows.push_back(c);
      }
  // Bigger than one block of points, channels > 1, a 1-pixel-wide input (reflection's span 0).
  GridSampleAttrs a;
  rows.push_back(row("grid_sample", "bilinear_2x16x33x40_to_31x29", OpKind::GridSample, a,
                     {in({2, 16, 33, 40}, -3, 3), in({2, 31, 29, 2}, -1.1, 1.1)}, with_tol(1e-5, 4e-3, 3e-2)));
  a.padding = GridSamplePadding::kReflection;
  a.align_corners = true;
  rows.push_back(row("grid_sample", "bilinear_reflection_width1", OpKind::GridSample, a,
                     {in({1, 2, 4, 1}, -3, 3), in({1, 3, 3, 2}, -1.5, 1.5)}, with_tol(1e-5, 4e-3, 3e-2)));
  return rows;
}

// ---------------------------------------------------------------------------------------------
// quantize

namespace {

// An FP32 scale tensor: one value (per tensor) or a vector (per channel).
HostTensor scales(std::vector<double> v, bool per_channel) {
  HostTensor t(DType::kFloat32, per_channel ? Shape{int64_t(v.size())} : Shape{});
  for (size_t i = 0; i < v.size(); ++i) t.set(int64_t(i), v[i]);
  return t;
}

QuantizeAttrs quantize_attrs(int64_t axis, HostTensor scale, int64_t qmin = -128, int64_t qmax = 127) {
  QuantizeAttrs a;
  a.axis = axis;
  a.scale = std::move(scale);
  a.qmin = qmin;
  a.qmax = qmax;
  return a;
}

}  // namespace

std::vector<OpCase> quantize_rows() {
  Rows rows;
  // Quantize is exact in every dtype (int8 out). Per tensor: values past both ends clamp
  // (|x| / scale reaches 150); ties: x a multiple of scale / 2 with a power-of-two scale, so that
  // x / scale is exactly k + 0.5 and rounds to even; NaN quantizes to 0.
  const auto exact = with_tol(0, 0, 0);
  rows.push_back(row("quantize", "per_tensor_clamps", OpKind::Quantize, quantize_attrs(-1, scales({0.02}, false)),
                     {in({2, 3, 5, 7}, -3, 3)}, exact));
  OpCase ties = row("quantize", "per_tensor_ties", OpKind::Quantize, quantize_attrs(-1, scales({0.25}, false)),
                    {in({4, 65}, -40, 40)}, exact);
  ties.inputs[0].step = 0.125;
  ties.inputs[0].special = {{0, std::nan("")}, {1, 0.125}, {2, -0.375}, {3, 0.625}};
  rows.push_back(ties);
  // The narrow range of symmetric weights [-127, 127].
  rows.push_back(row("quantize", "per_tensor_narrow", OpKind::Quantize,
                     quantize_attrs(-1, scales({0.01}, false), -127, 127), {in({3, 300}, -2, 2)}, exact));
  // Per channel along the first, a middle and the last dim.
  rows.push_back(row("quantize", "per_channel_axis0", OpKind::Quantize,
                     quantize_attrs(0, scales({0.01, 0.02, 0.05, 0.004}, true), -127, 127), {in({4, 3, 3, 3}, -1, 1)},
                     exact));
  rows.push_back(row("quantize", "per_channel_axis1", OpKind::Quantize,
                     quantize_attrs(1, scales({0.01, 0.03, 0.007}, true)), {in({2, 3, 9, 11}, -1, 1)}, exact));
  rows.push_back(row("quantize", "per_channel_last", OpKind::Quantize,
                     quantize_attrs(2, scales({0.1, 0.2, 0.3, 0.4, 0.5}, true)), {in({6, 7, 5}, -30, 30)}, exact));
  // Dequantize: every int8 value, into the dtype under test.
  auto dequantize = [](int64_t axis, HostTensor scale) {
    return [axis, scale](DType t) -> Attrs {
      DequantizeAttrs a;
      a.axis = axis;
      a.scale = scale;
      a.to = t;
      return a;
    };
  };
  OpCase d = row("quantize", "dequantize_per_tensor", OpKind::Dequantize, DequantizeAttrs{},
                 {fixed(DType::kInt8, {5, 103}, -128, 127)}, floats());
  d.attrs_for = dequantize(-1, scales({0.0137}, false));
  rows.push_back(d);
  d = row("quantize", "dequantize_per_channel_axis1", OpKind::Dequantize, DequantizeAttrs{},
          {fixed(DType::kInt8, {2, 4, 6, 5}, -128, 127)}, floats());
  d.attrs_for = dequantize(1, scales({0.01, 0.5, 3.0, 0.002}, true));
  rows.push_back(d);

  // The INT8 layers (attrs.h, QuantizedLayer): int8 inputs and weights over the whole range, FP32
  // biases. An int8 output runs once (the dtype under test is not used): against the oracle it
  // may differ by one step where the FP32 epilogue rounds a value within rounding of a half step
  // the other way (atol 1 / 127 of the largest magnitude, 127); CUDA's tensor-core kernels fold the
  // output scale into the per-channel scales, the same one step. A float output is the dtype
  // under test.
  const double inf = std::numeric_limits<double>::infinity();
  auto layer = [](int64_t K, double x_scale, double y_scale, double lo, double hi, double r_scale = 0) {
    QuantizedLayer q;
    q.x_scale = x_scale;
    q.w_scale = HostTensor(DType::kFloat32, {K});
    for (int64_t k = 0; k < K; ++k) q.w_scale.set(k, 0.002 + 0.0005 * double(k % 7));
    q.y_scale = y_scale;
    q.lo = lo;
    q.hi = hi;
    q.r_scale = r_scale;
    return q;
  };
  const std::vector<DTypeTol> int8_out{{DType::kFloat32, 0, 1.0 / 127, 1.0 / 127}};
  auto i8 = [](Shape s) { return fixed(DType::kInt8, std::move(s), -128, 127); };
  auto w8 = [](Shape s) { return weight(fixed(DType::kInt8, std::move(s), -127, 127)); };
  auto bias = [](int64_t K) { return weight(fixed(DType::kFloat32, {K}, -2, 2)); };
  auto qconv = [](std::vector<int64_t> stride, std::vector<int64_t> padding, std::vector<int64_t> dilation,
                  bool residual, QuantizedLayer q) {
    QConv2dAttrs a;
    a.stride = std::move(stride);
    a.padding = std::move(padding);
    a.dilation = std::move(dilation);
    a.has_residual = residual;
    a.q = std::move(q);
    return a;
  };
  // 3x3, relu, int8 out (ResNet's convolutions between two INT8 layers).
  rows.push_back(row("quantize", "qconv_3x3_relu_int8_out", OpKind::QConv2d,
                     qconv({1, 1}, {1, 1}, {1, 1}, false, layer(16, 0.02, 0.1, 0, inf)),
                     {i8({2, 32, 9, 11}), w8({16, 32, 3, 3}), bias(16)}, int8_out));
  // Stride 2 with an int8 residual and relu6, int8 out.
  rows.push_back(row("quantize", "qconv_3x3_s2_residual_relu6_int8_out", OpKind::QConv2d,
                     qconv({2, 2}, {1, 1}, {1, 1}, true, layer(32, 0.03, 0.05, 0, 6, 0.04)),
                     {i8({2, 16, 10, 10}), w8({32, 16, 3, 3}), bias(32), i8({2, 32, 5, 5})}, int8_out));
  // Dilation 2, no activation, a narrow [qmin, qmax].
  QConv2dAttrs dil = qconv({1, 1}, {2, 2}, {2, 2}, false, layer(16, 0.01, 0.05, -inf, inf));
  dil.q.qmin = -127;
  rows.push_back(row("quantize", "qconv_3x3_dilated_int8_out", OpKind::QConv2d, dil,
                     {i8({1, 16, 12, 12}), w8({16, 16, 3, 3}), bias(16)}, int8_out));
  // 1x1 with a float residual, float out (the dtype under test), 24 output channels.
  OpCase f = row("quantize", "qconv_1x1_residual_float_out", OpKind::QConv2d, QConv2dAttrs{},
                 {i8({3, 64, 7, 7}), w8({24, 64, 1, 1}), bias(24), in({3, 24, 7, 7}, -4, 4)}, floats());
  f.attrs_for = [qconv, layer, inf](DType t) -> Attrs {
    QConv2dAttrs a = qconv({1, 1}, {0, 0}, {1, 1}, true, layer(24, 0.01, 0, -inf, inf));
    a.q.out_dtype = t;
    return a;
  };
  rows.push_back(f);
  // 1x1 with a float residual and an int8 output (a ResNet stage's first block, whose residual is
  // the downsample's float output), relu; FP16 (the dtype under test) is what the CUDA
  // tensor-core kernels take, FP32 and BF16 run on the direct kernel.
  OpCase fr = row("quantize", "qconv_1x1_float_residual_int8_out", OpKind::QConv2d, QConv2dAttrs{},
                  {i8({2, 32, 6, 6}), w8({32, 32, 1, 1}), bias(32), in({2, 32, 6, 6}, -4, 4)},
                  {{DType::kFloat32, 0, 1.0 / 127, 1.0 / 127},
                   {DType::kFloat16, 0, 1.0 / 127, 1.0 / 127},
                   {DType::kBFloat16, 0, 1.0 / 127, 1.0 / 127}});
  fr.attrs_for = [qconv, layer, inf](DType t) -> Attrs {
    QConv2dAttrs a = qconv({1, 1}, {0, 0}, {1, 1}, true, layer(32, 0.02, 0.1, 0, inf));
    a.q.out_dtype = t;
    return a;
  };
  rows.push_back(fr);
  // QLinear: rank-3 input, relu, int8 out; and clamp [-1, 1] into the dtype under test.
  QLinearAttrs ql;
  ql.q = layer(32, 0.02, 0.08, 0, inf);
  rows.push_back(row("quantize", "qlinear_relu_int8_out", OpKind::QLinear, ql,
                     {i8({4, 5, 64}), w8({32, 64}), bias(32)}, int8_out));
  OpCase lf = row("quantize", "qlinear_clamp_float_out", OpKind::QLinear, QLinearAttrs{},
                  {i8({7, 48}), w8({40, 48}), bias(40)}, floats());
  lf.attrs_for = [layer](DType t) -> Attrs {
    QLinearAttrs a;
    a.q = layer(40, 0.001, 0, -1, 1);
    a.q.out_dtype = t;
    return a;
  };
  rows.push_back(lf);
  return rows;
}

// ---------------------------------------------------------------------------------------------
// data_movement

std::vector<OpCase> data_movement_rows() {
  Rows rows;
  // From reference_test.cpp (ReshapeTransposeConcatSliceOnAnyDtype, GatherWhereExpandOnAnyDtype):
  // byte moves, every dtype, exact.
  const Shape x{2, 3, 4, 5};
  ReshapeAttrs ra;
  ra.shape = {6, -1, 2};
  rows.push_back(row("data_movement", "reshape_infer", OpKind::Reshape, ra, {in(x, -50, 50)}, every_dtype()));
  TransposeAttrs ta;
  ta.perm = {2, 0, 3, 1};
  rows.push_back(row("data_movement", "transpose_2031", OpKind::Transpose, ta, {in(x, -50, 50)}, every_dtype()));
  rows.push_back(row("data_movement", "concat_axis1", OpKind::Concat, ConcatAttrs{1},
                     {in(x, -50, 50), in({2, 1, 4, 5}, -50, 50), in({2, 2, 4, 5}, -50, 50)}, every_dtype()));
  SliceAttrs sa;
  sa.axis = 3;
  sa.start = 1;
  sa.end = 5;
  sa.step = 2;
  rows.push_back(row("data_movement", "slice_step2", OpKind::Slice, sa, {in(x, -50, 50)}, every_dtype()));
  rows.push_back(row("data_movement", "gather_axis1_2x2_ids", OpKind::Gather, GatherAttrs{1},
                     {in({4, 3, 2}, -50, 50), given(DType::kInt32, {2, 2}, {2, 0, 2, 1})}, every_dtype()));
  rows.push_back(row("data_movement", "gather_embedding_int64_ids", OpKind::Gather, GatherAttrs{0},
                     {in({10, 16}, -50, 50), fixed(DType::kInt64, {3, 4}, 0, 9)}, every_dtype()));
  // Scatter: every dtype for plain writes (unique indices: a permutation per column), additions
  // with repeated indices (atomic on CUDA), an index smaller than self, int32 indices.
  rows.push_back(row("data_movement", "scatter_axis0_perm", OpKind::Scatter, ScatterAttrs{0, ScatterReduce::kNone},
                     {in({4, 3}, -50, 50), given(DType::kInt64, {4, 3}, {3, 0, 1, 1, 2, 0, 0, 3, 2, 2, 1, 3}),
                      in({4, 3}, -50, 50)},
                     every_dtype()));
  rows.push_back(row("data_movement", "scatter_axis1_partial", OpKind::Scatter, ScatterAttrs{1, ScatterReduce::kNone},
                     {in({3, 6, 2}, -50, 50), given(DType::kInt32, {2, 2, 1}, {5, 0, 2, 4}), in({2, 2, 1}, -50, 50)},
                     every_dtype()));
  rows.push_back(row("data_movement", "scatter_add_axis1_repeats", OpKind::Scatter,
                     ScatterAttrs{1, ScatterReduce::kAdd},
                     {in({5, 8}, -4, 4), fixed(DType::kInt64, {5, 40}, 0, 7), in({5, 40}, -4, 4)},
                     // FP16/BF16 atomics round after every add (the reference once per output).
                     {{DType::kFloat32, 1e-5, 1e-5}, {DType::kFloat16, 2e-2, 2e-2, 2e-2},
                      {DType::kBFloat16, 1.5e-1, 1.5e-1, 1e-1}}));
  rows.push_back(row("data_movement", "scatter_add_axis0_ints", OpKind::Scatter, ScatterAttrs{0, ScatterReduce::kAdd},
                     {in({6, 4}, -50, 50), fixed(DType::kInt32, {30, 4}, 0, 5), in({30, 4}, -50, 50)}, ints()));
  rows.push_back(row("data_movement", "expand_2_to_2x3x2", OpKind::Expand, ExpandAttrs{{2, 3, 2}}, {in({2}, -50, 50)},
                     every_dtype()));
  rows.push_back(row("data_movement", "identity", OpKind::Identity, IdentityAttrs{}, {in({2, 3, 4}, -50, 50)},
                     every_dtype()));
  // A Constant of the dtype under test (no graph inputs).
  OpCase c = row("data_movement", "constant_3x4", OpKind::Constant, ConstantAttrs{}, {}, every_dtype());
  c.attrs_for = [](DType t) {
    ConstantAttrs a;
    a.value = HostTensor(t, {3, 4});
    for (int64_t i = 0; i < 12; ++i) a.value.set(i, t == DType::kBool ? double(i % 3 == 0) : double(i % 7) - 3.0);
    return Attrs(a);
  };
  rows.push_back(c);
  return rows;
}

}  // namespace trtorch::op_test
