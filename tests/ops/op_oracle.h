// The naive oracle of the op-test table: every IR op written as straightforward loops in double
// precision, straight from the PyTorch definitions, independent of the backends. Also the value
// helpers the reference backend's focused tests share with it (random tensors, index helpers,
// expect_close()).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/ir/ir.h"

namespace trtorch::op_test {

using Shape = std::vector<int64_t>;
using Vec = std::vector<double>;

// Uniform in [lo, hi], rounded to `t` (integers: uniform integers; bools: half true).
ir::HostTensor random_tensor(ir::DType t, Shape shape, uint32_t seed, double lo = -1.0, double hi = 1.0);
Vec values(const ir::HostTensor& t);
int64_t numel(const Shape& s);
// Row-major index helpers.
Shape unravel(int64_t i, const Shape& s);
int64_t ravel(const Shape& idx, const Shape& s);
// numpy broadcasting: the result shape, and the index into `s` (right-aligned, size-1 dims
// broadcast) of output index `idx`.
Shape broadcast_shape(const Shape& a, const Shape& b);
int64_t broadcast_index(const Shape& idx, const Shape& s);

double naive_unary(ir::UnaryKind k, double x, double alpha, double beta);
double naive_binary(ir::BinaryKind k, double a, double b);
bool naive_compare(ir::CompareKind k, double a, double b);
Vec naive_binary_tensor(ir::BinaryKind k, const ir::HostTensor& a, const ir::HostTensor& b, Shape* shape);
Vec naive_conv(const ir::HostTensor& x, const ir::HostTensor& w, const ir::HostTensor* b, const ir::Conv2dAttrs& a,
               Shape* shape);

// One output of the oracle: its shape and exact values (not rounded to a storage type).
struct Expected {
  Shape shape;
  Vec values;
};
// The outputs of `op` with attributes `a` on `ins` (the node's inputs, in order).
std::vector<Expected> oracle(ir::OpKind op, const ir::Attrs& a, const std::vector<ir::HostTensor>& ins);
// The oracles of the heavy ops (op_oracle_compute.cpp), called by oracle().
Expected oracle_conv2d(const ir::Conv2dAttrs& a, const std::vector<ir::HostTensor>& ins);
Expected oracle_linear(const ir::LinearAttrs& a, const std::vector<ir::HostTensor>& ins);
Expected oracle_matmul(const std::vector<ir::HostTensor>& ins);
Expected oracle_attention(const ir::AttentionAttrs& a, const std::vector<ir::HostTensor>& ins);
Expected oracle_batch_norm(const ir::BatchNormAttrs& a, const std::vector<ir::HostTensor>& ins);
std::vector<Expected> oracle_layer_norm(const ir::LayerNormAttrs& a, const std::vector<ir::HostTensor>& ins);
Expected oracle_pool2d(const ir::Pool2dAttrs& a, const ir::HostTensor& x);
Expected oracle_adaptive_pool2d(const ir::AdaptivePool2dAttrs& a, const ir::HostTensor& x);
Expected oracle_reduce(const ir::ReduceAttrs& a, const ir::HostTensor& x);
Expected oracle_softmax(const ir::SoftmaxAttrs& a, const ir::HostTensor& x);
Expected oracle_cumsum(const ir::CumSumAttrs& a, const ir::HostTensor& x);
Expected oracle_cumprod(const ir::CumProdAttrs& a, const ir::HostTensor& x);
std::vector<Expected> oracle_topk(const ir::TopKAttrs& a, const ir::HostTensor& x);
// Quantize / Dequantize (attrs.h): the FP32 reciprocal and product they specify, rounded as
// std::nearbyint rounds (halves to even).
Expected oracle_quantize(const ir::QuantizeAttrs& a, const ir::HostTensor& x);
Expected oracle_dequantize(const ir::DequantizeAttrs& a, const ir::HostTensor& q);
// QConv2d / QLinear (attrs.h, QuantizedLayer): exact integer sums, the epilogue in double.
Expected oracle_qconv2d(const ir::QConv2dAttrs& a, const std::vector<ir::HostTensor>& ins);
Expected oracle_qlinear(const ir::QLinearAttrs& a, const std::vector<ir::HostTensor>& ins);
Expected oracle_scatter(const ir::ScatterAttrs& a, const std::vector<ir::HostTensor>& ins);
Expected oracle_grid_sample(const ir::GridSampleAttrs& a, const std::vector<ir::HostTensor>& ins);
// `v` rounded to `t` the way the reference stores it (FP16/BF16: round to nearest even of the
// FP32 value; FP32: to float; integers and bools: unchanged).
double round_to(ir::DType t, double v);

// |got - want| <= rtol * |want| + atol * max(1, max |want|) elementwise (atol scales with the
// tensor's magnitude, which bounds the cancellation error of long FP32 sums); NaN and infinities
// must match exactly. Reports the first mismatches as gtest failures.
void expect_close(const ir::HostTensor& got, const Shape& want_shape, const Vec& want, double rtol, double atol,
                  const std::string& what);

}  // namespace trtorch::op_test
