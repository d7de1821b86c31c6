// The rows of the op-test table, one function per op family (see op_cases.h for how to add one).
// Rows that came from reference_test.cpp or a cuda_*_test.cpp say so in a comment.
#include <cmath>
#include <limits>

#include "tests/ops/op_cases.h"
#include "core/util/error.h"

namespace trtorch::op_test {

using namespace trtorch::ir;

namespace {

using Rows = std::vector<OpCase>;
const double kInf = std::numeric_limits<double>::infinity();

std::string shape_name(const Shape& s) {
  std::string r;
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "x" : "") + std::to_string(s[i]);
  return s.empty() ? "scalar" : r;
}

// ---------------------------------------------------------------------------------------------
// conv

Rows conv_rows() {
  struct Case {
    const char* name;
    Shape x, w, stride, padding, dilation;
    int64_t groups;
    bool bias;
  };
  // From reference_test.cpp (ConvTest); weights and bias are constants (the CUDA backend repacks
  // them once).
  const Case cases[] = {
      {"3x3_same", {2, 5, 9, 11}, {7, 5, 3, 3}, {1, 1}, {1, 1}, {1, 1}, 1, true},
      {"stride_dilation", {1, 4, 13, 10}, {6, 4, 3, 5}, {2, 3}, {1, 2}, {2, 1}, 1, false},
      {"groups", {2, 6, 8, 8}, {4, 3, 3, 3}, {1, 1}, {0, 0}, {1, 1}, 2, true},
      {"depthwise_s2", {2, 8, 11, 9}, {8, 1, 3, 3}, {2, 2}, {1, 1}, {1, 1}, 8, true},
      {"depthwise_x3_dilated", {1, 4, 12, 12}, {12, 1, 5, 5}, {1, 1}, {4, 3}, {2, 2}, 4, false},
      {"pointwise", {2, 16, 7, 5}, {9, 16, 1, 1}, {1, 1}, {0, 0}, {1, 1}, 1, true},
      {"strided_1x1", {1, 8, 9, 9}, {5, 8, 1, 1}, {2, 2}, {0, 0}, {1, 1}, 1, false},
      {"several_gemm_blocks", {1, 64, 23, 21}, {70, 64, 3, 3}, {1, 1}, {1, 1}, {1, 1}, 1, true},
      {"many_image_group_jobs", {5, 6, 10, 10}, {9, 2, 3, 3}, {1, 1}, {1, 1}, {1, 1}, 3, true},
      {"stem", {1, 3, 30, 30}, {8, 3, 7, 7}, {2, 2}, {3, 3}, {1, 1}, 1, false},
  };
  Rows rows;
  for (const Case& c : cases) {
    Conv2dAttrs a;
    a.stride = c.stride;
    a.padding = c.padding;
    a.dilation = c.dilation;
    a.groups = c.groups;
    std::vector<InputSpec> ins{in(c.x), weight(in(c.w))};
    if (c.bias) ins.push_back(weight(in({c.w[0]})));
    rows.push_back(row("conv", c.name, OpKind::Conv2d, a, ins, floats()));
  }
  // The fused epilogue (fuse_epilogues' attributes): bias + residual, then an activation.
  Conv2dAttrs epi;
  epi.padding = {1, 1};
  epi.has_residual = true;
  epi.has_act = true;
  epi.act = UnaryKind::kClamp;
  epi.act_alpha = 0.0, epi.act_beta = 6.0;
  rows.push_back(row("conv", "residual_relu6", OpKind::Conv2d, epi,
                     {in({2, 8, 6, 6}), weight(in({16, 8, 3, 3})), weight(in({16})), in({2, 16, 6, 6})}, floats()));
  return rows;
}

// ---------------------------------------------------------------------------------------------
// gemm

Rows gemm_rows() {
  Rows rows;
  // From reference_test.cpp (Linear).
  struct LinearCase {
    Shape x;
    int64_t n;
    bool bias;
  };
  for (const LinearCase& c : {LinearCase{{7}, 5, true}, LinearCase{{3, 10}, 4, false}, LinearCase{{2, 3, 9}, 17, true},
                              LinearCase{{37, 300}, 401, true}}) {
    std::vector<InputSpec> ins{in(c.x), in({c.n, c.x.back()})};
    if (c.bias) ins.push_back(in({c.n}));
    rows.push_back(row("gemm", str_cat("linear_", shape_name(c.x), "_n", c.n, c.bias ? "_bias" : ""), OpKind::Linear,
                       LinearAttrs{}, ins, floats()));
  }
  LinearAttrs gelu;
  gelu.has_act = true;
  gelu.act = UnaryKind::kGeluTanh;
  rows.push_back(row("gemm", "linear_gelu_epilogue", OpKind::Linear, gelu, {in({6, 32}), in({24, 32}), in({24})},
                     floats()));
  // From reference_test.cpp (MatMulBroadcast).
  const std::pair<Shape, Shape> mm[] = {
      {{5, 7}, {7, 3}}, {{2, 1, 5, 7}, {3, 7, 4}}, {{4, 3}, {2, 3, 6}}, {{3, 2, 33, 20}, {3, 1, 20, 45}},
      {{130, 70}, {70, 400}}};
  for (const auto& [a, b] : mm)
    rows.push_back(row("gemm", str_cat("matmul_", shape_name(a), "_", shape_name(b)), OpKind::MatMul, MatMulAttrs{},
                       {in(a), in(b)}, floats()));
  return rows;
}

// ---------------------------------------------------------------------------------------------
// attention

Rows attention_rows() {
  Rows rows;
  // From reference_test.cpp (AttentionMatchesNaive): q [2,3,4,6], k/v [2,3,5,*]; plain, a bias
  // [B,1,L,S] with a fully masked row (batch 1, query 2: NaN, as torch), causal.
  const int64_t B = 2, H = 3, L = 4, S = 5, E = 6, Ev = 7;
  const auto tol = with_tol(1e-5, 4e-3, 2e-2);
  AttentionAttrs a;
  a.scale = 0.37;
  rows.push_back(row("attention", "plain", OpKind::Attention, a, {in({B, H, L, E}), in({B, H, S, E}),
                                                                  in({B, H, S, Ev})}, tol));
  InputSpec bias = in({B, 1, L, S}, -2, 2);
  for (int64_t j = 0; j < S; ++j) bias.special.push_back({(1 * L + 2) * S + j, -kInf});
  rows.push_back(row("attention", "bias_masked_row", OpKind::Attention, a,
                     {in({B, H, L, E}), in({B, H, S, E}), in({B, H, S, Ev}), bias}, tol));
  AttentionAttrs causal = a;
  causal.causal = true;
  rows.push_back(row("attention", "causal", OpKind::Attention, causal,
                     {in({B, H, L, E}), in({B, H, S, E}), in({B, H, S, Ev})}, tol));
  // The [B, seq, H, d] layout and q/k/v packed in one [B, seq, 3, H, d] tensor (as in
  // cuda_attention_test.cpp, which keeps its kernel-choice cases).
  AttentionAttrs bshd;
  bshd.scale = 0.125;
  bshd.bshd = true;
  rows.push_back(row("attention", "bshd", OpKind::Attention, bshd, {in({2, 9, 2, 16}), in({2, 11, 2, 16}),
                                                                    in({2, 11, 2, 16})}, tol));
  AttentionAttrs packed = bshd;
  packed.packed = true;
  packed.causal = true;
  OpCase p = row("attention", "packed_causal", OpKind::Attention, packed, {in({2, 10, 3, 2, 16})}, tol);
  p.wiring = {0, 0, 0};
  rows.push_back(p);
  return rows;
}

// ---------------------------------------------------------------------------------------------
// norm

Rows norm_rows() {
  Rows rows;
  // From reference_test.cpp (BatchNorm: eps 1e-3, variances in [0.1, 2]); the parameters are
  // constants, as the CUDA backend wants them.
  for (const Shape& xs : {Shape{2, 5}, Shape{2, 5, 7}, Shape{3, 4, 6, 5}}) {
    const int64_t C = xs[1];
    rows.push_back(row("norm", "batch_norm_" + shape_name(xs), OpKind::BatchNorm, BatchNormAttrs{1e-3},
                       {in(xs, -3, 3), weight(in({C})), weight(in({C})), weight(in({C})), weight(in({C}, 0.1, 2.0))},
                       floats()));
  }
  // From cuda_elementwise_test.cpp (BatchNorm on row-major inputs: positive gamma and variance).
  for (const Shape& xs : {Shape{2, 6, 7, 7}, Shape{2, 6, 8, 8}, Shape{3, 6, 5, 2}, Shape{5, 24}, Shape{5, 7}}) {
    const int64_t C = xs[1];
    rows.push_back(row("norm", "batch_norm_rowmajor_" + shape_name(xs), OpKind::BatchNorm, BatchNormAttrs{1e-5},
                       {in(xs, -2, 2), weight(in({C}, 0.5, 2)), weight(in({C})), weight(in({C})),
                        weight(in({C}, 0.5, 2))},
                       floats()));
  }
  // From reference_test.cpp (LayerNormMatchesNaive, LayerNormWithResidualMatchesNaive).
  const auto tol = with_tol(1e-5, 2e-3, 1e-2);
  rows.push_back(row("norm", "layer_norm_rank2_affine", OpKind::LayerNorm, LayerNormAttrs{2, 1e-3},
                     {in({3, 2, 5}, -2, 3), in({2, 5}, 0.5, 1.5), in({2, 5})}, tol));
  rows.push_back(row("norm", "layer_norm_rank2_plain", OpKind::LayerNorm, LayerNormAttrs{2, 1e-3},
                     {in({3, 2, 5}, -2, 3)}, tol));
  rows.push_back(row("norm", "layer_norm_weight_only", OpKind::LayerNorm, LayerNormAttrs{1, 1e-5},
                     {in({5, 40}, -2, 3), in({40}, 0.5, 1.5)}, tol));
  rows.push_back(row("norm", "layer_norm_residual", OpKind::LayerNorm, LayerNormAttrs{1, 1e-5, true},
                     {in({4, 6}, -2, 3), in({4, 6}), in({6}, 0.5, 1.5), in({6})},
                     only(tol, {DType::kFloat32, DType::kFloat16})));
  // carry_residual_stream's form: an FP32 residual, and output 1 the FP32 sum x + residual.
  // Reference-only for now: not yet run on a GPU as a standalone node (the builder's residual
  // stream is checked on CUDA by cuda_transformer_ops_test's LayerNormResidualStream).
  OpCase emit = row("norm", "layer_norm_fp32_residual_emit_sum", OpKind::LayerNorm, LayerNormAttrs{1, 1e-5, true, true},
                    {in({4, 32}, -2, 3), fixed(DType::kFloat32, {4, 32}), in({32}, 0.5, 1.5), in({32})}, tol);
  emit.cuda = false;
  rows.push_back(emit);
  return rows;
}

// ---------------------------------------------------------------------------------------------
// pooling

Rows pooling_rows() {
  struct Case {
    const char* name;
    PoolKind kind;
    Shape x, kernel, stride, padding, dilation;
    bool ceil_mode, count_include_pad;
    int64_t divisor_override;
  };
  // From reference_test.cpp (PoolTest).
  const Case cases[] = {
      {"max_resnet_stem", PoolKind::kMax, {2, 3, 12, 12}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, false, true, 0},
      {"max_ceil_mode", PoolKind::kMax, {1, 2, 10, 11}, {3, 2}, {2, 2}, {1, 0}, {1, 1}, true, true, 0},
      {"max_dilation", PoolKind::kMax, {1, 2, 13, 12}, {3, 3}, {2, 3}, {1, 1}, {2, 2}, true, true, 0},
      {"max_vgg", PoolKind::kMax, {1, 2, 14, 14}, {2, 2}, {2, 2}, {0, 0}, {1, 1}, false, true, 0},
      {"avg_pad_counted", PoolKind::kAvg, {2, 3, 10, 9}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, false, true, 0},
      {"avg_pad_not_counted", PoolKind::kAvg, {2, 3, 10, 9}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, false, false, 0},
      {"avg_ceil_clipped", PoolKind::kAvg, {1, 2, 10, 11}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, true, true, 0},
      {"avg_ceil_clipped_no_pad", PoolKind::kAvg, {1, 2, 10, 11}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, true, false, 0},
      {"avg_ceil_unpadded", PoolKind::kAvg, {1, 2, 11, 8}, {4, 2}, {3, 3}, {0, 0}, {1, 1}, true, true, 0},
      {"avg_divisor_override", PoolKind::kAvg, {1, 2, 9, 9}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, true, true, 5},
      {"avg_densenet_transition", PoolKind::kAvg, {1, 4, 8, 8}, {2, 2}, {2, 2}, {0, 0}, {1, 1}, false, true, 0},
  };
  Rows rows;
  for (const Case& c : cases) {
    Pool2dAttrs a;
    a.kind = c.kind;
    a.kernel = c.kernel;
    a.stride = c.stride;
    a.padding = c.padding;
    a.dilation = c.dilation;
    a.ceil_mode = c.ceil_mode;
    a.count_include_pad = c.count_include_pad;
    a.divisor_override = c.divisor_override;
    rows.push_back(row("pooling", c.name, OpKind::Pool2d, a, {in(c.x, -3, 3)}, floats()));
  }
  // From reference_test.cpp (AdaptivePool).
  for (PoolKind kind : {PoolKind::kAvg, PoolKind::kMax})
    for (const auto& [xs, os] : std::vector<std::pair<Shape, Shape>>{
             {{2, 3, 10, 7}, {3, 4}}, {{1, 2, 5, 5}, {7, 7}}, {{1, 8, 7, 7}, {1, 1}}}) {
      AdaptivePool2dAttrs a;
      a.kind = kind;
      a.output_size = os;
      rows.push_back(row("pooling", str_cat("adaptive_", kind == PoolKind::kMax ? "max_" : "avg_", shape_name(xs),
                                            "_to_", shape_name(os)),
                         OpKind::AdaptivePool2d, a, {in(xs, -3, 3)}, floats()));
    }
  return rows;
}

}  // namespace

// The other families (op_rows_more.cpp).
std::vector<OpCase> elementwise_rows();
std::vector<OpCase> compare_rows();
std::vector<OpCase> reduce_rows();
std::vector<OpCase> scan_rows();
std::vector<OpCase> sort_rows();
std::vector<OpCase> grid_sample_rows();
std::vector<OpCase> quantize_rows();
std::vector<OpCase> data_movement_rows();

const std::vector<OpCase>& op_cases() {
  static const std::vector<OpCase> table = [] {
    std::vector<OpCase> all;
    for (auto* family : {conv_rows, gemm_rows, attention_rows, norm_rows, pooling_rows, elementwise_rows, compare_rows,
                         reduce_rows, scan_rows, sort_rows, grid_sample_rows, quantize_rows,
                         data_movement_rows}) {
      std::vector<OpCase> rows = family();
      all.insert(all.end(), rows.begin(), rows.end());
    }
    return all;
  }();
  return table;
}

}  // namespace trtorch::op_test
