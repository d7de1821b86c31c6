// Per-op tests: a small scripted module per converter is compiled with trtorch (reference
// backend), run, and compared with the TorchScript interpreter, in FP32 and FP16.
//
// Error metric: max |trtorch - torchscript| / max |torchscript| over all outputs.
//  * FP32: <= 1e-4 (the bound; the reference computes in FP32 like TorchScript on CPU,
//    differences are summation order only).
//  * FP16: inputs and weights are rounded to half (relative error 2^-11 ~ 4.9e-4 each) and every
//    op output is rounded once more; a single op with sums over up to a few hundred terms
//    stays well under 1e-2, which is the bound used (per case it can be raised with a reason).
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "tests/common/torch_test_util.h"

using namespace trtorch::testing;

namespace {

struct OpCase {
  std::string name;
  std::string forward;  // TorchScript source of forward(self, ...)
  std::vector<std::vector<int64_t>> shapes;
  std::map<std::string, at::Tensor> params;
  bool positive = false;  // inputs drawn from (0.5, 1.5) instead of N(0, 1)
  double fp16_tol = 1e-2;
  // Inputs that are int64 indices in [0, max) (by input position), and bool inputs (masks). The
  // forward's graph declares their dtypes, which the compiler takes as the engine inputs' dtypes.
  std::map<size_t, int64_t> int_inputs = {};
  std::set<size_t> bool_inputs = {};
  // Float inputs rounded to values that half represents exactly, so that comparisons and
  // float-to-int casts see the same values in the FP16 engine as in TorchScript.
  bool half_exact = false;
  // Float inputs of distinct values, exact in half (orders and indices of sorts are then unique).
  bool distinct = false;
};

at::Tensor w(std::vector<int64_t> s) { return torch::randn(s) * 0.3; }
at::Tensor pos(std::vector<int64_t> s) { return torch::rand(s) + 0.5; }

std::vector<OpCase> cases() {
  torch::manual_seed(42);
  std::vector<OpCase> c;
  auto add = [&](OpCase o) { c.push_back(std::move(o)); };
  // --- convolution and batch norm ---
  add({"conv2d_stride_pad_bias", "def forward(self, x):\n  return torch.conv2d(x, self.w, self.b, [2, 1], [1, 0], [1, 1], 1)\n",
       {{2, 4, 11, 9}}, {{"w", w({6, 4, 3, 3})}, {"b", w({6})}}});
  add({"conv2d_groups_dilation_nobias", "def forward(self, x):\n  return torch.conv2d(x, self.w, None, [1, 1], [2, 2], [2, 2], 2)\n",
       {{1, 4, 10, 10}}, {{"w", w({6, 2, 3, 3})}}});
  add({"conv2d_depthwise", "def forward(self, x):\n  return torch.conv2d(x, self.w, self.b, [2, 2], [1, 1], [1, 1], 8)\n",
       {{1, 8, 9, 9}}, {{"w", w({8, 1, 3, 3})}, {"b", w({8})}}});
  add({"conv1d_stride_pad_bias", "def forward(self, x):\n  return torch.conv1d(x, self.w, self.b, [2], [1], [1], 1)\n",
       {{2, 4, 17}}, {{"w", w({6, 4, 3})}, {"b", w({6})}}});
  add({"conv1d_groups_dilation_nobias", "def forward(self, x):\n  return torch.conv1d(x, self.w, None, [1], [2], [2], 2)\n",
       {{1, 4, 20}}, {{"w", w({6, 2, 3})}}});
  add({"conv_padding_same_valid",  // padding='same' (an even kernel pads one more at the end) and 'valid'
       "def forward(self, x, y, z):\n  return torch.conv2d(x, self.w, self.b, [1, 1], 'same', [2, 1], 1), torch.conv2d(x, self.w, None, [2, 1], 'valid', [1, 1], 1), torch.conv1d(y, self.v, None, [1], 'same', [1], 1), torch.conv3d(z, self.u, None, [1, 1, 1], 'same', [1, 1, 1], 1)\n",
       {{1, 3, 9, 8}, {2, 3, 10}, {1, 2, 4, 5, 6}},
       {{"w", w({4, 3, 3, 2})}, {"b", w({4})}, {"v", w({5, 3, 4})}, {"u", w({3, 2, 2, 3, 3})}}});
  add({"convolution_mode_traced_form",  // what a trace records for padding='same' / 'valid'
       "def forward(self, x):\n  return torch._convolution_mode(x, self.w, self.b, [1, 1], 'same', [1, 2], 1), torch._convolution_mode(x, self.w, None, [2, 2], 'valid', [1, 1], 1)\n",
       {{1, 3, 9, 8}}, {{"w", w({4, 3, 3, 2})}, {"b", w({4})}}});
  add({"square_addcmul_addcdiv",
       "def forward(self, x, y, z):\n  return torch.square(x) + torch.addcmul(x, y, z, value=0.5) + torch.addcdiv(x, y, z.abs() + 1.0, value=-2.0), torch.square(torch.arange(4))\n",
       {{3, 4}, {3, 4}, {4}}});
  add({"convolution_traced_form_1d",
       "def forward(self, x):\n  return torch._convolution(x, self.w, self.b, [1], [1], [1], False, [0], 1, False, False, True, True)\n",
       {{1, 3, 16}}, {{"w", w({5, 3, 3})}, {"b", w({5})}}});
  add({"convolution_traced_form",
       "def forward(self, x):\n  return torch._convolution(x, self.w, self.b, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, False, False, True, True)\n",
       {{1, 3, 8, 8}}, {{"w", w({5, 3, 3, 3})}, {"b", w({5})}}});
  // Transposed convolution: stride, padding, output_padding, groups and dilation in every mix.
  add({"conv_transpose2d_stride2_k2", "def forward(self, x):\n  return torch.conv_transpose2d(x, self.w, self.b, [2, 2])\n",
       {{2, 6, 5, 4}}, {{"w", w({6, 4, 2, 2})}, {"b", w({4})}}});
  add({"conv_transpose2d_k4_s2_p1", "def forward(self, x):\n  return torch.conv_transpose2d(x, self.w, None, [2, 2], [1, 1])\n",
       {{1, 5, 4, 6}}, {{"w", w({5, 3, 4, 4})}}});
  add({"conv_transpose2d_k3_s2_outpad_groups",
       "def forward(self, x):\n  return torch.conv_transpose2d(x, self.w, self.b, [2, 3], [1, 0], [1, 2], 2)\n",
       {{2, 4, 5, 3}}, {{"w", w({4, 3, 3, 3})}, {"b", w({6})}}});
  add({"conv_transpose2d_dilation_stride1",
       "def forward(self, x):\n  return torch.conv_transpose2d(x, self.w, self.b, [1, 1], [2, 1], [0, 0], 1, [2, 3])\n",
       {{1, 3, 6, 7}}, {{"w", w({3, 4, 3, 2})}, {"b", w({4})}}});
  add({"conv_transpose2d_dilation_stride_outpad",
       "def forward(self, x):\n  return torch.conv_transpose2d(x, self.w, None, [3, 2], [2, 1], [2, 1], 1, [2, 2])\n",
       {{1, 2, 4, 5}}, {{"w", w({2, 3, 3, 3})}}});
  add({"conv_transpose1d", "def forward(self, x):\n  return torch.conv_transpose1d(x, self.w, self.b, [3], [1], [2], 1, [1])\n",
       {{2, 4, 7}}, {{"w", w({4, 5, 4})}, {"b", w({5})}}});
  add({"convolution_traced_form_transposed",
       "def forward(self, x):\n  return torch._convolution(x, self.w, self.b, [2, 2], [1, 1], [1, 1], True, [1, 1], 1, False, False, True, True)\n",
       {{1, 3, 5, 5}}, {{"w", w({3, 2, 3, 3})}, {"b", w({2})}}});
  // 3-D convolution: depth taps, strides, padding, dilation, groups.
  add({"conv3d_stride_pad_bias", "def forward(self, x):\n  return torch.conv3d(x, self.w, self.b, [2, 1, 2], [1, 1, 0])\n",
       {{2, 4, 5, 6, 7}}, {{"w", w({6, 4, 3, 3, 2})}, {"b", w({6})}}});
  add({"conv3d_dilation_groups_nobias", "def forward(self, x):\n  return torch.conv3d(x, self.w, None, [1, 2, 1], [2, 1, 1], [2, 1, 2], 2)\n",
       {{1, 4, 6, 5, 6}}, {{"w", w({6, 2, 3, 3, 3})}}});
  // 3-D transposed convolution: depth stride with zeros between slices, padding that crops,
  // output_padding past the last tap (dilation > stride), groups, and the traced form.
  add({"conv_transpose3d_stride_pad_outpad",
       "def forward(self, x):\n  return torch.conv_transpose3d(x, self.w, self.b, [2, 2, 1], [1, 0, 1], [1, 1, 0])\n",
       {{2, 4, 3, 5, 4}}, {{"w", w({4, 3, 3, 2, 3})}, {"b", w({3})}}});
  add({"conv_transpose3d_groups_dilation",
       "def forward(self, x):\n  return torch.conv_transpose3d(x, self.w, None, [1, 2, 2], [0, 1, 0], [1, 0, 1], 2, [3, 1, 2])\n",
       {{1, 4, 3, 4, 3}}, {{"w", w({4, 2, 2, 3, 2})}}});
  add({"convolution_traced_form_transposed_3d",
       "def forward(self, x):\n  return torch._convolution(x, self.w, self.b, [2, 1, 2], [0, 1, 1], [1, 1, 1], True, [1, 0, 0], 1, False, False, True, True)\n",
       {{1, 3, 2, 4, 4}}, {{"w", w({3, 2, 2, 3, 3})}, {"b", w({2})}}});
  add({"conv3d_temporal_and_spatial",  // r(2+1)d's factorized kernels
       "def forward(self, x):\n  y = torch.conv3d(x, self.s, None, [1, 1, 1], [0, 1, 1])\n  return torch.conv3d(torch.relu(y), self.t, self.b, [2, 1, 1], [1, 0, 0])\n",
       {{2, 3, 4, 6, 6}}, {{"s", w({5, 3, 1, 3, 3})}, {"t", w({4, 5, 3, 1, 1})}, {"b", w({4})}}});
  add({"convolution_traced_form_3d",
       "def forward(self, x):\n  return torch._convolution(x, self.w, self.b, [1, 1, 1], [1, 1, 1], [1, 1, 1], False, [0, 0, 0], 1, False, False, True, True)\n",
       {{1, 3, 4, 5, 5}}, {{"w", w({2, 3, 3, 3, 3})}, {"b", w({2})}}});
  add({"batch_norm", "def forward(self, x):\n  return torch.batch_norm(x, self.g, self.b, self.m, self.v, False, 0.1, 1e-3, True)\n",
       {{2, 5, 4, 3}}, {{"g", pos({5})}, {"b", w({5})}, {"m", w({5})}, {"v", pos({5})}}});
  add({"group_norm_affine", "def forward(self, x):\n  return torch.group_norm(x, 2, self.g, self.b, 1e-5, True)\n",
       {{2, 6, 5, 4}}, {{"g", pos({6})}, {"b", w({6})}}});
  add({"group_norm_plain_3d", "def forward(self, x):\n  return torch.group_norm(x, 4, None, None, 1e-3, True)\n", {{3, 8, 7}}});
  add({"instance_norm_input_stats", "def forward(self, x):\n  return torch.instance_norm(x, self.g, self.b, None, None, True, 0.1, 1e-5, True)\n",
       {{2, 3, 6, 5}}, {{"g", pos({3})}, {"b", w({3})}}});
  add({"instance_norm_running_stats",
       "def forward(self, x):\n  return torch.instance_norm(x, None, None, self.m, self.v, False, 0.1, 1e-5, True)\n",
       {{2, 3, 6, 5}}, {{"m", w({3})}, {"v", pos({3})}}});
  add({"conv_bn_relu_folded",
       "def forward(self, x):\n  y = torch.conv2d(x, self.w, None, [1, 1], [1, 1], [1, 1], 1)\n"
       "  return torch.relu(torch.batch_norm(y, self.g, self.b, self.m, self.v, False, 0.1, 1e-5, True))\n",
       {{1, 3, 8, 8}}, {{"w", w({4, 3, 3, 3})}, {"g", pos({4})}, {"b", w({4})}, {"m", w({4})}, {"v", pos({4})}}});
  // --- pooling ---
  add({"max_pool2d_ceil_pad", "def forward(self, x):\n  return torch.max_pool2d(x, [3, 3], [2, 2], [1, 1], [1, 1], True)\n", {{1, 3, 10, 11}}});
  add({"max_pool2d_dilation", "def forward(self, x):\n  return torch.max_pool2d(x, [2, 2], [1, 1], [0, 0], [2, 2], False)\n", {{1, 2, 7, 7}}});
  add({"avg_pool2d_exclude_pad_ceil", "def forward(self, x):\n  return torch.avg_pool2d(x, [3, 3], [2, 2], [1, 1], True, False)\n", {{1, 3, 10, 9}}});
  add({"avg_pool2d_divisor", "def forward(self, x):\n  return torch.avg_pool2d(x, [2, 2], [2, 2], [0, 0], False, True, 3)\n", {{1, 3, 6, 6}}});
  add({"adaptive_avg_pool2d", "def forward(self, x):\n  return torch.adaptive_avg_pool2d(x, [3, 4])\n", {{2, 3, 7, 10}}});
  add({"adaptive_avg_pool2d_upsample", "def forward(self, x):\n  return torch.adaptive_avg_pool2d(x, [6, 6])\n", {{1, 2, 2, 3}}});
  add({"adaptive_max_pool2d", "def forward(self, x):\n  return torch.adaptive_max_pool2d(x, [2, 3])[0]\n", {{1, 3, 7, 8}}});
  add({"pool1d", "def forward(self, x):\n  return torch.max_pool1d(x, [3], [2], [1], [1], True), torch.avg_pool1d(x, [3], [2], [1], False, False), torch.adaptive_avg_pool1d(x, [4]), torch.adaptive_max_pool1d(x, [3])[0]\n",
       {{2, 3, 11}}});
  add({"max_pool3d", "def forward(self, x):\n  return torch.max_pool3d(x, [3, 3, 2], [2, 2, 1], [1, 1, 0], [1, 1, 2], True), torch.max_pool3d(x, [2, 2, 2], [2, 2, 2])\n",
       {{2, 3, 7, 8, 6}}});
  add({"avg_pool3d", "def forward(self, x):\n  return torch.avg_pool3d(x, [3, 3, 3], [2, 2, 2], [1, 1, 1], True, False), torch.avg_pool3d(x, [2, 3, 2], [1, 2, 2], [1, 1, 0], True, True), torch.avg_pool3d(x, [2, 2, 2], [2, 2, 2], [0, 0, 0], False, True, 5)\n",
       {{2, 3, 7, 8, 6}}});
  add({"adaptive_pool3d", "def forward(self, x):\n  return torch.adaptive_avg_pool3d(x, [1, 1, 1]), torch.adaptive_avg_pool3d(x, [3, 4, 5]), torch.adaptive_max_pool3d(x, [2, 3, 2])[0]\n",
       {{2, 3, 5, 7, 6}}});
  // --- elementwise ---
  add({"add_tensor_alpha_broadcast", "def forward(self, x, y):\n  return torch.add(x, y, alpha=2.5)\n", {{2, 3, 4}, {3, 1}}});
  add({"add_scalar", "def forward(self, x):\n  return x + 3\n", {{2, 5}}});
  add({"sub_mul_div", "def forward(self, x, y):\n  return (x - y) * 2.0 / (y.abs() + 1.0)\n", {{4, 6}, {4, 6}}});
  add({"rsub", "def forward(self, x):\n  return 1.0 - x\n", {{3, 3}}});
  add({"pow_scalar", "def forward(self, x):\n  return torch.pow(x, 3)\n", {{3, 4}}});
  add({"maximum_minimum", "def forward(self, x, y):\n  return torch.maximum(x, y) + torch.minimum(x, y) * 2.0\n", {{3, 4}, {1, 4}}});
  add({"mul_constant_tensor", "def forward(self, x):\n  return x * self.s\n", {{2, 3, 4, 4}}, {{"s", w({1, 3, 1, 1})}}});
  add({"inplace_add_relu", "def forward(self, x, y):\n  z = x * 2.0\n  z += y\n  return torch.relu_(z)\n", {{2, 8}, {2, 8}}});
  // --- activations ---
  add({"relu", "def forward(self, x):\n  return torch.relu(x)\n", {{2, 3, 4}}});
  add({"relu6", "def forward(self, x):\n  return torch.relu6(x * 4.0)\n", {{2, 16}}});
  add({"hardtanh", "def forward(self, x):\n  return torch.hardtanh(x, -0.5, 0.7)\n", {{3, 7}}});
  add({"clamp", "def forward(self, x):\n  return torch.clamp(x, min=-0.2) + torch.clamp(x, max=0.3) + torch.clamp(x, -0.1, 0.1)\n", {{3, 7}}});
  add({"clamp_min_max", "def forward(self, x):\n  return torch.clamp_min(x, -0.2) + torch.clamp_max(x, 0.3) + x.clamp_min(0.1)\n", {{3, 7}}});
  add({"sigmoid_tanh", "def forward(self, x):\n  return torch.sigmoid(x) + torch.tanh(x)\n", {{4, 5}}});
  add({"hardsigmoid_hardswish", "def forward(self, x):\n  return torch.hardsigmoid(x * 4.0) + torch.hardswish(x * 4.0)\n", {{4, 16}}});
  add({"silu", "def forward(self, x):\n  return torch.silu(x)\n", {{4, 5}}});
  add({"gelu_erf", "def forward(self, x):\n  return torch.gelu(x)\n", {{4, 5}}});
  add({"gelu_tanh", "def forward(self, x):\n  return torch.gelu(x, approximate='tanh')\n", {{4, 5}}});
  add({"leaky_relu_elu", "def forward(self, x):\n  return torch.leaky_relu(x, 0.2) + torch.elu(x, 0.7)\n", {{4, 5}}});
  add({"view_as_reshape_as", "def forward(self, x, y):\n  return x.view_as(y) + 1.0, x.t().reshape_as(y), x.reshape_as(self.c)\n",
       {{4, 6}, {2, 12}}, {{"c", w({3, 8})}}});
  add({"pixel_shuffle_unshuffle",
       "def forward(self, x):\n  return torch.pixel_shuffle(x, 2), torch.pixel_unshuffle(x, 2)\n",
       {{2, 8, 4, 6}}});
  add({"unfold_im2col",  // F.unfold: 4-D with every argument, and 3-D (unbatched)
       "def forward(self, x):\n  return torch.im2col(x, [3, 2], [1, 2], [1, 0], [2, 1]), torch.im2col(x[0], [3, 3], [1, 1], [1, 1], [1, 1])\n",
       {{2, 3, 9, 10}}});
  add({"tensor_unfold_windows",  // Tensor.unfold: overlapping, strided, the whole dim, an inner dim, negative dim
       "def forward(self, x):\n  return x.unfold(2, 3, 1), x.unfold(-1, 2, 3), x.unfold(1, 4, 4), x.unfold(0, 2, 1) * 2.0\n",
       {{2, 4, 7}}});
  add({"fold_col2im",  // F.fold: overlapping patches add up; 3-D and 2-D (unbatched) columns
       "def forward(self, x, y):\n  return torch.col2im(x, [9, 10], [3, 2], [1, 2], [1, 0], [2, 1]), torch.col2im(y, [5, 6], [3, 3], [1, 1], [1, 1], [1, 1])\n",
       {{2, 18, 40}, {27, 30}}});
  add({"vector_norms",
       "def forward(self, x):\n  return torch.linalg_vector_norm(x, 2.0, [1], True) + torch.linalg_vector_norm(x, 1.0, [1], True) + torch.linalg_vector_norm(x, float('inf'), [1], True) + torch.norm(x, 3.0, [1], True)\n",
       {{3, 7, 5}}});
  add({"vector_norm_large_values_all_dims",
       "def forward(self, x):\n  return torch.linalg_vector_norm(x * 1000.0, 2.0, None, False) + torch.norm(x * 300.0, 2.0, [0, 2], False).sum()\n",
       {{3, 7, 5}}});
  add({"normalize_with_zero_rows",  // F.normalize: clamp_min(1e-12) must stay positive in FP16 (no 0 / 0)
       "def forward(self, x):\n  y = x * self.m\n  return y / torch.clamp_min(torch.linalg_vector_norm(y, 2.0, [-1], True), 1e-12)\n",
       {{3, 4, 6}}, {{"m", torch::tensor({1.0f, 0.0f, 1.0f, 0.0f}).view({4, 1})}}});
  add({"softplus", "def forward(self, x):\n  return torch.softplus(x * 8.0, 1.0, 20.0) + torch.softplus(x, 2.0, 3.0)\n", {{4, 16}}});
  add({"mish_logsigmoid", "def forward(self, x):\n  return torch.mish(x * 4.0) + torch.log_sigmoid(x * 4.0)\n", {{4, 16}}});
  add({"selu_celu", "def forward(self, x):\n  return torch.selu(x * 3.0) + torch.celu(x * 3.0, 0.5)\n", {{4, 16}}});
  add({"glu", "def forward(self, x):\n  return torch.glu(x, 1).sum(1) + torch.glu(x, -1).sum(-1).sum(-1, keepdim=True)\n", {{2, 6, 8}}});
  add({"prelu_per_channel", "def forward(self, x):\n  return torch.prelu(x, self.w)\n", {{2, 5, 3, 3}}, {{"w", w({5})}}});
  add({"prelu_shared", "def forward(self, x):\n  return torch.prelu(x, self.w)\n", {{2, 5, 3}}, {{"w", w({1})}}});
  add({"exp_neg_abs_erf", "def forward(self, x):\n  return torch.exp(x) + torch.neg(x) + torch.abs(x) + torch.erf(x)\n", {{4, 5}}});
  add({"log_sqrt_rsqrt_reciprocal", "def forward(self, x):\n  return torch.log(x) + torch.sqrt(x) + torch.rsqrt(x) + torch.reciprocal(x)\n", {{4, 5}}, {}, true});
  add({"dropout_eval", "def forward(self, x):\n  return torch.dropout(x, 0.5, False) * 2.0\n", {{4, 5}}});
  // --- matrix products ---
  add({"linear_bias", "def forward(self, x):\n  return torch.linear(x, self.w, self.b)\n", {{2, 3, 16}}, {{"w", w({8, 16})}, {"b", w({8})}}});
  add({"linear_nobias", "def forward(self, x):\n  return torch.linear(x, self.w)\n", {{5, 16}}, {{"w", w({7, 16})}}});
  add({"lstm_two_layers_bidirectional_batch_first",  // torch.lstm as nn.LSTM calls it, with given states
       "def forward(self, x, h, c):\n  return torch.lstm(x, [h, c], [self.a, self.b, self.c, self.d, self.e, self.f, self.g, self.h, self.i, self.j, self.k, self.l, self.m, self.n, self.o, self.p], True, 2, 0.0, False, True, True)\n",
       {{2, 5, 3}, {4, 2, 4}, {4, 2, 4}},
       {{"a", w({16, 3})}, {"b", w({16, 4})}, {"c", w({16})}, {"d", w({16})}, {"e", w({16, 3})}, {"f", w({16, 4})},
        {"g", w({16})}, {"h", w({16})}, {"i", w({16, 8})}, {"j", w({16, 4})}, {"k", w({16})}, {"l", w({16})},
        {"m", w({16, 8})}, {"n", w({16, 4})}, {"o", w({16})}, {"p", w({16})}}});
  add({"gru_no_bias",
       "def forward(self, x, h):\n  return torch.gru(x, h, [self.a, self.b], False, 1, 0.0, False, False, False)\n",
       {{6, 2, 3}, {1, 2, 5}}, {{"a", w({15, 3})}, {"b", w({15, 5})}}});
  add({"rnn_tanh_relu_bidirectional",
       "def forward(self, x, h):\n  return torch.rnn_tanh(x, h, [self.a, self.b, self.c, self.d, self.e, self.f, self.g, self.h], True, 1, 0.0, False, True, False), torch.rnn_relu(x.transpose(0, 1), h[:1], [self.a, self.b, self.c, self.d], True, 1, 0.0, False, False, True)\n",
       {{4, 3, 5}, {2, 3, 6}},
       {{"a", w({6, 5})}, {"b", w({6, 6})}, {"c", w({6})}, {"d", w({6})}, {"e", w({6, 5})}, {"f", w({6, 6})},
        {"g", w({6})}, {"h", w({6})}}});
  add({"baddbmm", "def forward(self, x, y, z):\n  return torch.baddbmm(z, x, y, beta=0.5, alpha=2.0), torch.baddbmm(z[0], x, y)\n",
       {{3, 4, 6}, {3, 6, 5}, {3, 4, 5}}});
  add({"addmm", "def forward(self, x):\n  return torch.addmm(self.b, x, self.w, beta=0.5, alpha=2.0)\n", {{4, 6}}, {{"w", w({6, 3})}, {"b", w({3})}}});
  add({"matmul_3d_2d", "def forward(self, x, y):\n  return torch.matmul(x, y)\n", {{2, 3, 5}, {5, 4}}});
  add({"matmul_vec", "def forward(self, x, y):\n  return torch.matmul(x, y)\n", {{2, 3, 5}, {5}}});
  add({"bmm_mm", "def forward(self, x, y, z):\n  return torch.bmm(x, y), torch.mm(z, z)\n", {{2, 3, 5}, {2, 5, 4}, {4, 4}}});
  add({"einsum_matmul_forms",
       "def forward(self, x, y, z):\n  return torch.einsum('bij,bjk->bik', [x, y]), torch.einsum('bhid, bhjd -> bhij', [z, z]), torch.einsum('ij,kj', [x[0], y[0].t()])\n",
       {{2, 3, 4}, {2, 4, 5}, {2, 3, 6, 4}}});
  add({"einsum_sums_outer_ellipsis_three",
       "def forward(self, x, y, v):\n  return torch.einsum('...ij,...jk->...ik', [x, y]), torch.einsum('bij->j', [x]), torch.einsum('i,j->ij', [v, v]), torch.einsum('bij,bjk,k->bi', [x, y, v[:5]]), torch.einsum('Bij,bjk', [x, y[0:1]])\n",
       {{2, 3, 4}, {2, 4, 5}, {6}}});
  add({"tensor_split", "def forward(self, x):\n  a = torch.tensor_split(x, 3, 1)\n  b = torch.tensor_split(x, [1, 4], 2)\n  return a[0] * 2.0, a[2], b[1], b[2] + 1.0\n",
       {{2, 7, 6}}});
  // --- shape and layout ---
  add({"view_size_arith", "def forward(self, x):\n  n = x.size(0)\n  return x.view(n, -1) * 2.0\n", {{3, 2, 4}}});
  add({"reshape_flatten", "def forward(self, x):\n  return torch.flatten(x.reshape(2, 3, 4, 2), 1, 2)\n", {{6, 8}}});
  add({"native_multi_head_attention",
       "def forward(self, x):\n"
       "  return torch._native_multi_head_attention(x, x, x, 16, 2, self.w, self.b, self.pw, self.pb, None, False)[0]\n",
       {{2, 5, 16}}, {{"w", w({48, 16})}, {"b", w({48})}, {"pw", w({16, 16})}, {"pb", w({16})}}});
  add({"unflatten", "def forward(self, x):\n  return torch.unflatten(x, 1, [2, -1]) * 2.0\n", {{3, 8, 5}}});
  // `is` on engine tensors: identical only to itself (nn.MultiheadAttention's fast-path check).
  add({"is_on_engine_tensors",
       "def forward(self, x, y):\n  z = x\n  a = 2.0 if z is x else 3.0\n  b = 5.0 if x is y else 7.0\n"
       "  c = 11.0 if x is not y else 13.0\n  return x * a + y * b + c\n",
       {{2, 3}, {2, 3}}});
  add({"format_in_assert",
       "def forward(self, x):\n  h = x.size(1)\n  torch._assert(h == 8, 'expected {} rows, got {}'.format(8, h))\n"
       "  return x + 1.0\n",
       {{3, 8}}});
  add({"permute_transpose_t", "def forward(self, x, y):\n  return x.permute(2, 0, 1).contiguous(), x.transpose(0, -1), y.t()\n", {{2, 3, 4}, {3, 5}}});
  add({"unsqueeze_squeeze", "def forward(self, x):\n  return x.unsqueeze(1).unsqueeze(-1), x.unsqueeze(0).squeeze(0), x.view(3, 1, 4).squeeze()\n", {{3, 4}}});
  add({"cat_stack", "def forward(self, x, y):\n  return torch.cat([x, y, x], 1), torch.stack([x, x], 0)\n", {{2, 3}, {2, 5}}});
  add({"chunk_split", "def forward(self, x):\n  a, b, c = x.chunk(3, 1)\n  d, e = torch.split(x, [2, 5], 1)\n  f = torch.split(x, 3, 1)\n  return a + 1.0, b, c, d, e, f[2]\n", {{2, 7}}});
  add({"unsafe_chunk_split",
       "def forward(self, x):\n  a, b = torch.unsafe_chunk(x, 2, 1)\n  c = torch.unsafe_split(x, 3, 1)\n  d, e = torch.unsafe_split_with_sizes(x, [4, 3], 1)\n  return a, b * 2.0, c[2], d, e\n",
       {{2, 7}}});
  add({"unbind", "def forward(self, x):\n  a, b, c = x.unbind(1)\n  return a * b + c\n", {{2, 3, 4}}});
  add({"slice_select", "def forward(self, x):\n  return x[:, 1:5:2], x[-1], x[:, -3:], x[1, 2:]\n", {{3, 7}}});
  add({"channel_shuffle",
       "def forward(self, x):\n  b, c, h, w = x.size()\n  g = 2\n  x = x.view(b, g, c // g, h, w)\n"
       "  x = torch.transpose(x, 1, 2).contiguous()\n  return x.view(b, -1, h, w)\n",
       {{2, 8, 3, 3}}});
  add({"to_dtype", "def forward(self, x):\n  return x.to(6) * 3.0\n", {{2, 3}}});
  // --- reductions and softmax ---
  add({"mean_dims_keepdim", "def forward(self, x):\n  return x.mean([2, 3], keepdim=True), x.mean(1), x.mean()\n", {{2, 3, 4, 5}}});
  add({"sum_amax_amin",  // positive: a sum of 60 half-rounded values of both signs can cancel to below FP16's bound
       "def forward(self, x):\n  return x.sum(-1), x.sum(), torch.amax(x, [0, 2]), torch.amin(x, 1, True)\n", {{3, 4, 5}}, {}, true});
  add({"prod", "def forward(self, x):\n  return torch.prod(x, 1)\n", {{3, 4}}, {}, true});
  add({"softmax_with_dtype",  // F.softmax(x, -1, dtype=torch.float32) (6), as Hugging Face attention writes it; float64 (7)
       "def forward(self, x):\n  return torch.softmax(x, -1, 6), torch.log_softmax(x, 1, 7).float()\n", {{2, 6, 5}}});
  add({"softmax_log_softmax", "def forward(self, x):\n  return torch.softmax(x, -1), torch.log_softmax(x, 1)\n", {{2, 6, 5}}});
  // --- transformer ops ---
  add({"layer_norm_affine", "def forward(self, x):\n  return torch.layer_norm(x, [8], self.g, self.b, 1e-5)\n",
       {{2, 3, 8}}, {{"g", pos({8})}, {"b", w({8})}}});
  add({"layer_norm_no_affine_2d", "def forward(self, x):\n  return torch.layer_norm(x, [3, 5], None, None, 1e-3)\n", {{4, 3, 5}}});
  add({"layer_norm_bias_only", "def forward(self, x):\n  return torch.layer_norm(x, [6], None, self.b)\n", {{5, 6}}, {{"b", w({6})}}});
  add({"embedding_int64_input", "def forward(self, ids):\n  return torch.embedding(self.w, ids)\n", {{2, 5}},
       {{"w", w({10, 4})}}, false, 1e-2, {{0, 10}}});
  add({"embedding_plus_positions",
       "def forward(self, ids, x):\n  return torch.embedding(self.w, ids) + torch.embedding(self.p, self.pos) + x\n",
       {{2, 3}, {2, 3, 4}}, {{"w", w({7, 4})}, {"p", w({5, 4})}, {"pos", torch::arange(3)}}, false, 1e-2, {{0, 7}}});
  add({"index_select", "def forward(self, x, i):\n  return torch.index_select(x, 1, i), torch.index_select(x, 0, self.j)\n",
       {{3, 6, 2}, {4}}, {{"j", torch::tensor({2, 0}, at::kInt)}}, false, 1e-2, {{1, 6}}});
  add({"masked_fill_bool_input", "def forward(self, x, m):\n  return x.masked_fill(m, -2.5), torch.masked_fill(x, m[0], 3)\n",
       {{2, 3, 4}, {1, 3, 4}}, {}, false, 1e-2, {}, {1}});
  add({"masked_fill_inplace", "def forward(self, x, m):\n  y = x * 2.0\n  y.masked_fill_(m, 0.5)\n  return y\n",
       {{3, 4}, {3, 4}}, {}, false, 1e-2, {}, {1}});
  add({"where", "def forward(self, c, x, y):\n  return torch.where(c, x, y), torch.where(c, x, 0.25)\n",
       {{3, 1}, {3, 4}, {4}}, {}, false, 1e-2, {}, {0}});
  add({"expand_expand_as", "def forward(self, x, y):\n  return x.expand(2, -1, 4) * 1.5, x.expand_as(y), x.expand(4, 3, 2)\n",
       {{3, 1}, {2, 3, 5}}});
  add({"sdpa", "def forward(self, q, k, v):\n  return torch.scaled_dot_product_attention(q, k, v)\n",
       {{2, 2, 5, 8}, {2, 2, 6, 8}, {2, 2, 6, 4}}});
  add({"sdpa_float_mask_scale",
       "def forward(self, q, k, v, m):\n  return torch.scaled_dot_product_attention(q, k, v, m, scale=0.3)\n",
       {{2, 5, 8}, {2, 6, 8}, {2, 6, 8}, {5, 6}}});
  add({"sdpa_bool_mask",
       "def forward(self, q, k, v):\n  return torch.scaled_dot_product_attention(q, k, v, self.m)\n",
       {{1, 2, 4, 8}, {1, 2, 6, 8}, {1, 2, 6, 8}},
       {{"m", torch::tensor({1, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1}, at::kBool).view({4, 6})}}});
  add({"sdpa_causal", "def forward(self, q, k, v):\n  return torch.scaled_dot_product_attention(q, k, v, is_causal=True)\n",
       {{2, 3, 6, 8}, {2, 3, 6, 8}, {2, 3, 6, 8}}});
  add({"sdpa_grouped_query",  // enable_gqa: 6 query heads over 2 key/value heads (each serves 3 in a row)
       "def forward(self, q, k, v):\n  return torch.scaled_dot_product_attention(q, k, v, enable_gqa=True)\n",
       {{2, 6, 5, 8}, {2, 2, 7, 8}, {2, 2, 7, 8}}});
  add({"sdpa_broadcast_leading_dims",  // multi-query (one key/value head) and a key/value batch of 1
       "def forward(self, q, k, v):\n  return torch.scaled_dot_product_attention(q, k, v), torch.scaled_dot_product_attention(q, k[:1], v[:1])\n",
       {{2, 4, 5, 8}, {2, 1, 6, 8}, {2, 1, 6, 8}}});
  // --- comparisons, logical ops, casts (masks) ---
  add({"compare_float", "def forward(self, x, y):\n  return x > y, x <= 0.25, torch.ge(x, self.c), y.lt(x), torch.where(x != y, x, y * 2.0)\n",
       {{3, 4}, {4}}, {{"c", w({3, 1}).to(at::kHalf).to(at::kFloat)}}, false, 1e-2, {}, {}, true});
  add({"compare_int_ties", "def forward(self, i, j):\n  return (i == j, i != 2, torch.eq(i, self.k), i.ge(j), torch.less_equal(i, 1.5), j > i,\n"
       "          torch.greater(i, j), torch.greater_equal(j, i), torch.less(i, 1), torch.not_equal(i, j), i.lt(j), i <= j)\n",
       {{4, 5}, {5}}, {{"k", torch::tensor({0, 1, 2, 1, 0})}}, false, 1e-2, {{0, 3}, {1, 3}}});
  add({"int_tensor_float_scalar_promotion",  // torch's type promotion: an int tensor with a float scalar is float; neg/abs of ints
       "def forward(self, i):\n  return (i + 1.5, i * 0.5, 0.5 - i, torch.where(i > 1, i, 0.5), torch.maximum(i, self.h),\n"
       "          torch.add(i, 2.5, alpha=2), torch.rsub(i, 0.25), i * 2, i - 1, torch.abs(i - 2), -i)\n",
       {{3, 4}}, {{"h", torch::tensor(1.5)}}, false, 1e-2, {{0, 5}}});
  add({"compare_mixed_dtypes", "def forward(self, x, i):\n  return torch.where(i > x, x, x * 3.0), (i.float() < x).float()\n",
       {{3, 4}, {3, 4}}, {}, false, 1e-2, {{1, 3}}, {}, true});
  add({"logical_bitwise_bool", "def forward(self, a, b):\n  c = a ^ b\n  c &= b\n  c |= self.m\n"
       "  return a & b, a | b, a ^ b, ~a, torch.logical_not(b), b | self.m, torch.bitwise_xor(a, self.m), c\n",
       {{3, 4}, {3, 4}}, {{"m", torch::tensor({true, false, false, true})}}, false, 1e-2, {}, {0, 1}});
  add({"bitwise_bool_with_int_scalar",  // TorchScript passes `mask & True` as `mask & 1`: int64 results
       "def forward(self, a):\n  flag = a.dim() == 2\n  return a & flag, a | True, torch.bitwise_xor(a, 1), a & 6, torch.bitwise_or(a, -4)\n",
       {{3, 4}}, {}, false, 1e-2, {}, {0}});
  add({"logical_any_dtype", "def forward(self, x, i, b):\n  return torch.logical_and(x, i), torch.logical_or(i, b), torch.logical_xor(x, b), torch.logical_not(i)\n",
       {{2, 3}, {2, 3}, {2, 3}}, {}, false, 1e-2, {{1, 2}}, {2}});
  add({"to_overloads",
       "def forward(self, x, i):\n"
       "  a = x.to(4)\n  b = x.to(x.device, 11)\n  c = i.to(dtype=6, device=torch.device('cpu'))\n"
       "  d = x.to(i)\n  e = i.type_as(x)\n  f = x.to('cpu')\n  g = x.to(device='cpu')\n  h = x.to(torch.device('cpu'), 3)\n"
       "  return a, b, c * 0.5, d, e, f + 1.0, g, h, b.to(6) + x\n",
       {{3, 4}, {3, 4}}, {}, false, 1e-2, {{1, 5}}, {}, true});
  add({"causal_mask_from_shapes",  // folded at compile time: arange, comparisons, new_ones on an engine tensor
       "def forward(self, x):\n  n = x.size(-1)\n  r = torch.arange(n)\n"
       "  m = (r[None, :] <= r[:, None]) & x.new_ones([n, n], dtype=11)\n  return torch.where(m, x, -1.0)\n",
       {{2, 4, 4}}});
  // --- advanced indexing ---
  add({"index_padding_mask",  // transformers' padding mask: mask[batch_idx, kv_idx]
       "def forward(self, m):\n  b = torch.arange(m.size(0))[:, None, None, None]\n  k = torch.arange(m.size(1))[None, None, None, :]\n"
       "  return m.to(m.device, 11)[b, k], m[b, k] * 2\n",
       {{2, 5}}, {}, false, 1e-2, {{0, 2}}});
  add({"index_constant_indices",
       "def forward(self, x):\n  return x[:, self.i], x[self.i, :, self.j], x[self.i2, self.j2], x[self.mask], x[:, self.i, self.j]\n",
       {{3, 4, 5}},
       {{"i", torch::tensor({2, 0, -1})}, {"j", torch::tensor({4, -5, 1})}, {"i2", torch::tensor({0, 2, 1}).view({3, 1})},
        {"j2", torch::tensor({3, 0})}, {"mask", torch::tensor({true, false, true})}}});
  add({"index_engine_indices", "def forward(self, x, i):\n  return x[i], x[:, i], x[i, self.j], x[self.j2, :, i]\n",
       {{4, 4, 4}, {2, 2}}, {{"j", torch::tensor({1, 3})}, {"j2", torch::tensor({0, -1}).view({2, 1})}}, false, 1e-2, {{1, 4}}});
  add({"torch_gather", "def forward(self, x, i, j):\n  return torch.gather(x, 1, i), torch.gather(x, -1, i[:, :, :2]), torch.gather(x, 0, j)\n",
       {{3, 4, 5}, {3, 2, 5}, {2, 2, 3}}, {}, false, 1e-2, {{1, 4}, {2, 3}}});
  add({"index_negative_engine_indices", "def forward(self, x, i):\n  return x[i - 2]\n",
       {{4, 3}, {5}}, {}, false, 1e-2, {{1, 4}}});
  // --- padding and repetition ---
  add({"pad_constant_and_crop",
       "def forward(self, x):\n  return torch.pad(x, [1, 2, 0, 3], 'constant', 0.5), torch.pad(x, [-1, 2, 1, -2]), torch.constant_pad_nd(x, [2, 1], -1.5)\n",
       {{2, 3, 5, 6}}});
  add({"pad_reflect_replicate_circular",
       "def forward(self, x):\n  return torch.pad(x, [2, 1, 3, 0], 'reflect'), torch.pad(x, [1, 3, 2, 2], 'replicate'), torch.pad(x, [2, 1, 1, 3], 'circular')\n",
       {{2, 3, 5, 6}}});
  add({"pad_1d_3d_modes",
       "def forward(self, x, y):\n  return torch.pad(x, [2, 3], 'reflect'), torch.pad(y, [1, 1, 2, 0, 1, 2], 'replicate'), torch.pad(y, [1, 2, 1, 1, 0, 1], 'circular')\n",
       {{2, 3, 7}, {1, 2, 3, 4, 5}}});
  add({"pad_legacy_ops",
       "def forward(self, x):\n  return torch.reflection_pad2d(x, [1, 2, 2, 1]), torch.replication_pad1d(x[0], [2, 1]), torch._pad_circular(x, [1, 1, 2, 0])\n",
       {{2, 3, 5, 6}}});
  add({"roll", "def forward(self, x):\n  return torch.roll(x, [1, -2], [2, 0]), torch.roll(x, [7]), torch.roll(x, [5], [-1])\n",
       {{3, 4, 5}}});
  add({"flip", "def forward(self, x, m):\n  return torch.flip(x, [0, 2]), torch.flip(x, [-1]), torch.flip(m, [1])\n",
       {{3, 4, 5}, {2, 6}}, {}, false, 1e-2, {}, {1}});
  add({"repeat_tile", "def forward(self, x):\n  return x.repeat(2, 1, 3), x.repeat(2, 1, 2, 1), torch.tile(x, [2]), torch.tile(x, [2, 1, 1, 2])\n",
       {{2, 3, 4}}});
  add({"repeat_interleave", "def forward(self, x):\n  return x.repeat_interleave(3, 1), x.repeat_interleave(2), torch.repeat_interleave(x, self.r, 2)\n",
       {{2, 3, 4}}, {{"r", torch::tensor({1, 0, 3, 2})}}});
  // --- writes into slices (functionalized in lowering) and the scatter ops they become ---
  add({"slice_writes",
       "def forward(self, x, z):\n  y = x * 2.0\n  y[:, 1:3] = z\n  y[0] += z[0, 0]\n  y[:, -1] *= 3.0\n  y[:, :, ::2] = 0.5\n  y[1, 2:4, 1] = torch.relu(z[1, :, 0])\n  return y + 1.0\n",
       {{2, 5, 6}, {2, 2, 6}}});
  add({"attention_bias_write",  // mvit's attn[:, :, 1:, 1:] += rel_pos, then a softmax
       "def forward(self, a, r):\n  attn = a * 0.5\n  attn[:, :, 1:, 1:] += r\n  return torch.softmax(attn, -1)\n",
       {{2, 3, 5, 5}, {2, 3, 4, 4}}});
  add({"slice_select_scatter", "def forward(self, x, z, w):\n  return torch.slice_scatter(x, z, 1, 0, 5, 2), torch.select_scatter(x, w, 2, -1), torch.slice_scatter(x, z, 1, 2, 5)\n",
       {{2, 5, 4}, {2, 3, 4}, {2, 5}}});
  // --- interpolation (F.interpolate's aten ops) ---
  add({"upsample_nearest", "def forward(self, x):\n  return torch.upsample_nearest2d(x, None, [2.0, 2.0]), torch.upsample_nearest2d(x, [7, 5], None), torch.upsample_nearest2d(x, None, [1.7, 0.6])\n",
       {{2, 3, 5, 6}}});
  add({"upsample_nearest_exact_1d_3d",
       "def forward(self, x, y):\n  return torch._upsample_nearest_exact2d(x, [8, 4], None), torch.upsample_nearest1d(x[0], None, [2.5]), torch.upsample_nearest3d(y, None, [2.0, 1.5, 3.0])\n",
       {{2, 3, 5, 6}, {1, 2, 3, 4, 2}}});
  add({"upsample_bilinear",
       "def forward(self, x):\n  return torch.upsample_bilinear2d(x, [9, 13], False, None), torch.upsample_bilinear2d(x, [9, 13], True, None), torch.upsample_bilinear2d(x, None, False, [2.0, 1.5]), torch.upsample_bilinear2d(x, [3, 4], False, None)\n",
       {{2, 3, 5, 6}}});
  add({"upsample_linear_trilinear",
       "def forward(self, x, y):\n  return torch.upsample_linear1d(x, [11], True, None), torch.upsample_linear1d(x, None, False, [0.6]), torch.upsample_trilinear3d(y, [4, 5, 3], False, None)\n",
       {{2, 3, 7}, {1, 2, 3, 4, 2}}});
  add({"upsample_bicubic",
       "def forward(self, x):\n  return torch.upsample_bicubic2d(x, [9, 13], False, None), torch.upsample_bicubic2d(x, [9, 13], True, None), torch.upsample_bicubic2d(x, None, False, [2.0, 0.5])\n",
       {{2, 3, 5, 6}}});
  add({"upsample_sized_forms",
       "def forward(self, x):\n  return torch.upsample_nearest2d(x, [10, 12], 2.0, 2.0), torch.upsample_bilinear2d(x, [10, 9], False, 2.0, 1.5), torch.upsample_bicubic2d(x, [7, 7], True)\n",
       {{2, 3, 5, 6}}});
  // --- running sums and differences ---
  add({"cumsum", "def forward(self, x, i, m):\n  return torch.cumsum(x, 1), torch.cumsum(i, 0), m.cumsum(-1), x.cumsum(0, dtype=6)\n",
       {{3, 6}, {4, 2}, {2, 7}}, {}, false, 1e-2, {{1, 9}}, {2}});
  add({"diff", "def forward(self, x, i, m):\n  return torch.diff(x, dim=1), torch.diff(x, n=2, dim=0, prepend=self.p), torch.diff(i, append=self.a), torch.diff(m)\n",
       {{4, 5}, {2, 6}, {3, 4}}, {{"p", w({2, 5})}, {"a", torch::tensor({3, 1}).view({2, 1})}}, false, 1e-2, {{1, 9}}, {2}});
  add({"packed_sequence_detection",  // transformers' find_packed_sequence_indices on engine position ids
       "def forward(self, p):\n  d = torch.diff(p, prepend=p[:, :1] - 1, dim=-1)\n  return (d != 1).cumsum(-1)\n",
       {{2, 6}}, {}, false, 1e-2, {{0, 3}}});
  // --- rounding; inputs exact in half, divisors powers of two, so FP16 sees FP32's quotients ---
  {
    OpCase r{"floor_ceil_round_trunc_sign_frac",
             "def forward(self, x, i):\n  y = x * 4.0\n  return torch.floor(y), torch.ceil(y), torch.round(y), torch.trunc(y), "
             "torch.sign(y), torch.frac(y), torch.round(y, decimals=1), torch.floor(i), torch.sign(i - 4)\n",
             {{3, 7}, {2, 5}}, {}, false, 1e-2, {{1, 9}}};
    r.half_exact = true;
    add(r);
    OpCase d{"div_rounding_modes_floor_divide",
             "def forward(self, x, y):\n  return torch.div(x, y, rounding_mode='floor'), torch.div(x, 0.25, rounding_mode='trunc'), "
             "torch.floor_divide(x, 0.5), torch.div(x, y, rounding_mode=None)\n",
             {{3, 6}, {3, 6}}, {}, true, 1e-2};
    d.half_exact = true;
    add(d);
  }
  // Fake quantization (QAT models): one quantum of error allowed in FP16, where the scales round
  // to half and a value near a rounding boundary may land in the next bin.
  add({"fake_quantize_per_tensor_and_channel",
       "def forward(self, x):\n  return torch.fake_quantize_per_tensor_affine(x, 0.05, 3, -128, 127), "
       "torch.fake_quantize_per_channel_affine(x, self.s, self.z, 1, 0, 255), "
       "torch.fake_quantize_per_tensor_affine(x * 10.0, 0.125, 0, -8, 7)\n",
       {{2, 4, 5}}, {{"s", torch::tensor({0.02, 0.05, 0.1, 0.01})}, {"z", torch::tensor({128, 100, 0, 255}, at::kInt)}},
       false, 5e-2});
  // Symmetric int8 (zero point 0, within [-128, 127]): the IR's Quantize and Dequantize. Per
  // channel on the narrow range of weights, per tensor on a quantized tensor (qint8: ScalarType 12)
  // read back.
  add({"quantize_symmetric_int8",
       "def forward(self, x):\n  q = torch.quantize_per_tensor(x, 0.02, 0, 12)\n"
       "  return torch.fake_quantize_per_channel_affine(x, self.s, self.z, 1, -127, 127), torch.dequantize(q) * 2.0\n",
       {{2, 4, 5}}, {{"s", torch::tensor({0.02, 0.05, 0.1, 0.01})}, {"z", torch::zeros({4}, at::kInt)}}, false, 5e-2});
  add({"log2_log10_exp2", "def forward(self, x):\n  return torch.log2(x), torch.log10(x), torch.exp2(x)\n", {{3, 5}}, {}, true});
  add({"cumprod", "def forward(self, x, i):\n  return torch.cumprod(x, 1), torch.cumprod(i, 0), x.cumprod(0, dtype=6)\n",
       {{3, 6}, {4, 2}}, {}, true, 1e-2, {{1, 4}}});
  // --- sorting and selection (TopK); inputs exact in half so that FP16 sees no new ties ---
  {
    OpCase o{"topk_sort_argsort",
             "def forward(self, x):\n  v, i = torch.topk(x, 3, 1)\n  s, j = torch.sort(x, 0, True)\n  return v, i, s, j, "
             "torch.argsort(x, -1), torch.topk(x, 2, 0, False)[1], torch.sort(x, stable=True)[1]\n",
             {{4, 7}}};
    o.half_exact = true;
    o.distinct = true;  // random values rounded to half can tie, and ties may order either way
    add(o);
    OpCase m{"argmax_argmin_max_min_dim",
             "def forward(self, x):\n  return torch.argmax(x), torch.argmax(x, 1), torch.argmin(x, 0, True), "
             "torch.max(x, 1)[0], torch.max(x, 1, True)[1], torch.min(x, -1)[1], torch.argmax(x, keepdim=True)\n",
             {{3, 5, 4}}};
    m.half_exact = true;
    add(m);
  }
  // --- scatter and index_put (the Scatter op) ---
  add({"scatter_forms",
       "def forward(self, x, s):\n  return torch.scatter(x, 1, self.i, s), torch.scatter(x, 0, self.j, 2.5), "
       "torch.scatter_add(x, 1, self.k, s), x.scatter_reduce(1, self.k, s, \"sum\"), x.scatter(1, self.i, 1.0, reduce=\"add\")\n",
       {{3, 5}, {3, 4}},
       {{"i", torch::tensor({3, 0, 4, 2, 1, 0}).view({3, 2})},
        {"j", torch::tensor({2, 0, 1, 0, 2, 1, 2, 0, 1, 0}).view({2, 5})},
        {"k", torch::tensor({1, 1, 4, 0, 3, 3, 3, 3, 0, 2, 2, 1}).view({3, 4})}}});
  add({"scatter_engine_index",  // the index computed in the engine: x's values in sorted order
       "def forward(self, x):\n  o = torch.argsort(x, 1)\n  return torch.scatter(torch.zeros_like(x), 1, o, x), torch.gather(x, 1, o)\n",
       {{3, 6}}});
  add({"index_add_copy_fill",
       "def forward(self, x, s):\n  return torch.index_add(x, 1, self.i, s), x.index_add(1, self.k, s, alpha=0.5), "
       "torch.index_copy(x, 1, self.i, s), torch.index_fill(x, 0, self.j, -2.0), x.index_fill(1, self.i, self.v)\n",
       {{3, 5}, {3, 2}},
       {{"i", torch::tensor({4, 1})}, {"k", torch::tensor({2, 2})}, {"j", torch::tensor({-1, 0})},
        {"v", torch::tensor(0.75)}}});
  add({"take_along_dim",  // sorted values by argsort, a broadcast index, the flattened form
       "def forward(self, x):\n  return torch.take_along_dim(x, torch.argsort(x, 1), 1), torch.take_along_dim(x, self.i, 2), "
       "torch.take_along_dim(x, self.f)\n",
       {{2, 3, 4}}, {{"i", torch::tensor({3, 0, 1, 1, 2, 0}).view({2, 1, 3})}, {"f", torch::tensor({23, 0, 5})}}});
  add({"movedim", "def forward(self, x):\n  return torch.movedim(x, 0, -1), torch.movedim(x, [3, 0], [0, 2]), torch.moveaxis(x, 1, 2)\n",
       {{2, 3, 4, 5}}});
  add({"index_put_forms",
       "def forward(self, x, v):\n  y = x * 1.0\n  y[self.i] = v\n  z = x * 2.0\n  z[:, self.j] += 1.5\n  w = x * 3.0\n"
       "  w[x > 0.5] = 0.0\n  return y, z, w, torch.index_put(x, [self.p, self.q], self.u, True), "
       "torch.index_put(x, [self.r], v, False)\n",
       {{4, 5}, {5}},
       {{"i", torch::tensor({2, 0})}, {"j", torch::tensor({4, -1, 1})}, {"p", torch::tensor({2, 2, 3})},
        {"q", torch::tensor({1, 1, 0})}, {"u", torch::tensor({0.5, 0.25, -1.0})},
        {"r", torch::tensor({3, 0, 1}).view({3, 1})}}});
  // --- grid sampling ---
  add({"grid_sampler_modes",
       "def forward(self, x, g):\n  return torch.grid_sampler(x, g, 0, 0, False), torch.grid_sampler(x, g, 1, 1, True), "
       "torch.grid_sampler(x, g, 0, 2, False), torch.grid_sampler(x, g, 0, 2, True), torch.grid_sampler_2d(x, g, 1, 0, False)\n",
       {{2, 3, 5, 7}, {2, 4, 6, 2}}});
  // --- tensors made from an engine tensor's shape, cat with the legacy empty tensor ---
  add({"new_ones_zeros_like_full_like",
       "def forward(self, x):\n  return x + x.new_ones([3, 4]) * 2.0 + torch.zeros_like(x) + torch.full_like(x, 0.5) + x.new_zeros([4])\n",
       {{3, 4}}});
  add({"cat_skips_legacy_empty", "def forward(self, x):\n  return torch.cat([self.e, x], -2), torch.cat([x, self.e, x], 0)\n",
       {{2, 3, 4}}, {{"e", torch::zeros({0})}}});
  // --- control flow and structure ---
  add({"constant_if_and_loop",
       "def forward(self, x):\n  if x.dim() == 2:\n    x = x * 2.0\n  else:\n    x = x * 3.0\n"
       "  for i in range(3):\n    x = x + 1.0\n  return x\n",
       {{2, 3}}});
  add({"tuple_and_list_outputs", "def forward(self, x):\n  return (x + 1.0, [x * 2.0, x])\n", {{2, 2}}});
  return c;
}

void PrintTo(const OpCase& c, std::ostream* os) { *os << c.name; }

torch::jit::Module make_module(const OpCase& c) {
  torch::jit::Module m("__torch__.OpCase_" + c.name);
  for (const auto& [k, v] : c.params) m.register_attribute(k, c10::TensorType::get(), v);
  m.define(c.forward);
  // Declare the dtypes of integer and bool inputs in the graph (input 0 is self).
  auto g = m.get_method("forward").graph();
  for (const auto& [i, max] : c.int_inputs) g->inputs()[i + 1]->setType(c10::TensorType::get()->withScalarType(at::kLong));
  for (size_t i : c.bool_inputs) g->inputs()[i + 1]->setType(c10::TensorType::get()->withScalarType(at::kBool));
  m.eval();
  return m;
}

std::vector<at::Tensor> make_inputs(const OpCase& c) {
  // Seeded per case: a case's inputs do not depend on the cases and tests that ran before it.
  torch::manual_seed(int64_t(std::hash<std::string>{}(c.name) & 0x7fffffff));
  std::vector<at::Tensor> r;
  for (size_t i = 0; i < c.shapes.size(); ++i) {
    const auto& s = c.shapes[i];
    if (c.int_inputs.count(i)) r.push_back(torch::randint(c.int_inputs.at(i), s, at::kLong));
    else if (c.bool_inputs.count(i)) r.push_back(torch::rand(s) < 0.5);
    else r.push_back(c.positive ? pos(s) : torch::randn(s));
    if (c.distinct && r.back().is_floating_point())
      r.back() = ((torch::randperm(r.back().numel()).to(at::kFloat) - float(r.back().numel()) / 2) * 0.25).view(s);
    if (c.half_exact && r.back().is_floating_point()) r.back() = r.back().to(at::kHalf).to(at::kFloat);
  }
  return r;
}

class OpTest : public ::testing::TestWithParam<OpCase> {};

TEST_P(OpTest, MatchesTorchScriptFP32) {
  const OpCase& c = GetParam();
  auto m = make_module(c);
  auto inputs = make_inputs(c);
  auto want = flatten(run(m, inputs));
  // The static check agrees with compilation: every case here compiles.
  std::string report;
  EXPECT_TRUE(trtorch::CheckMethodOperatorSupport(m, "forward", &report)) << c.name << ": " << report;
  auto compiled = trtorch::CompileGraph(m, reference_spec(inputs));
  auto got = flatten(run(compiled, inputs));
  ASSERT_EQ(got.size(), want.size()) << c.name;
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].scalar_type(), want[i].scalar_type()) << c.name << " output " << i;
  double err = max_rel_error(got, want);
  EXPECT_LE(err, 1e-4) << c.name;
  // A second set of inputs through the same engine.
  auto inputs2 = make_inputs(c);
  EXPECT_LE(max_rel_error(flatten(run(compiled, inputs2)), flatten(run(m, inputs2))), 1e-4) << c.name;
}

TEST_P(OpTest, MatchesTorchScriptFP16) {
  const OpCase& c = GetParam();
  auto m = make_module(c);
  auto inputs = make_inputs(c);
  auto want = flatten(run(m, inputs));
  auto compiled = trtorch::CompileGraph(m, reference_spec(inputs, /*fp16=*/true));
  auto got = flatten(run(compiled, to_half(inputs)));
  ASSERT_EQ(got.size(), want.size()) << c.name;
  // Floating outputs are half; integer and bool outputs (masks, indices) keep their dtype.
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(got[i].scalar_type(), want[i].is_floating_point() ? at::kHalf : want[i].scalar_type()) << c.name << " output " << i;
  EXPECT_LE(max_rel_error(got, want), c.fp16_tol) << c.name;
}

// The same modules on the CUDA backend (GPU 0), FP32 and FP16, against TorchScript on the CPU.
TEST_P(OpTest, MatchesTorchScriptOnGPU) {
  if (!have_gpu_backend()) GTEST_SKIP() << "no CUDA GPU or no CUDA backend in this build";
  const OpCase& c = GetParam();
  auto m = make_module(c);
  auto inputs = make_inputs(c);
  auto want = flatten(run(m, inputs));
  auto compiled = trtorch::CompileGraph(m, gpu_spec(inputs));
  auto got = flatten(run(compiled, to_cuda(inputs)));
  for (const auto& t : got) EXPECT_TRUE(t.is_cuda());
  EXPECT_LE(max_rel_error(got, want), 1e-4) << c.name << " fp32";
  auto compiled16 = trtorch::CompileGraph(m, gpu_spec(inputs, /*fp16=*/true));
  EXPECT_LE(max_rel_error(flatten(run(compiled16, to_half(to_cuda(inputs)))), want), c.fp16_tol) << c.name << " fp16";
}

INSTANTIATE_TEST_SUITE_P(Ops, OpTest, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<OpCase>& i) { return i.param.name; });

}  // namespace
