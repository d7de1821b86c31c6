// The transformer block kernels on the CUDA backend against the reference backend, FP32 / FP16 /
// BF16. LayerNorm (registers for rows up to 2048, the long-row kernel above; with and without
// the fused residual and the affine parameters). Attention: cuDNN's fused
// SDPA (FP16/BF16, head sizes multiple of 8 up to 128, bias [B|1, H|1, L, S]) and the direct
// kernel for everything else (FP32, other head sizes, biases broadcast along L, rank 3), in the
// heads-first and the [B, seq, H, d] (bshd) layouts, and with q/k/v packed in one
// [B, seq, 3, H, d] tensor. Exits 77 (skipped) without a GPU.
#include <limits>

#include "tests/backends/cuda_test_util.h"

using namespace trtorch;
using namespace trtorch::ir;
using namespace trtorch::cuda_test;

namespace {

struct Case {
  std::string name;
  std::vector<int64_t> q, k, v;
  std::vector<int64_t> bias;  // empty: none
  bool causal = false, bshd = false;
  double scale = 0.125;
  bool packed = false;  // q: [B, seq, 3, H, d], passed as q, k and v (k and v unused)
};

void run_case(const Case& c, DType dt) {
  auto make = [c](DType t) {
    auto g = std::make_unique<Graph>();
    std::vector<Value*> ins;
    if (c.packed) {
      Value* qkv = g->add_input(TensorType::fixed(t, c.q), "qkv");
      ins = {qkv, qkv, qkv};
    } else {
      ins = {g->add_input(TensorType::fixed(t, c.q), "q"), g->add_input(TensorType::fixed(t, c.k), "k"),
             g->add_input(TensorType::fixed(t, c.v), "v")};
    }
    if (!c.bias.empty()) ins.push_back(g->add_input(TensorType::fixed(t, c.bias), "bias"));
    AttentionAttrs a;
    a.scale = c.scale;
    a.causal = c.causal;
    a.bshd = c.bshd || c.packed;
    a.packed = c.packed;
    g->mark_output(g->add_node(OpKind::Attention, a, ins)->outputs[0]);
    return g;
  };
  auto inputs = [c](DType t) {
    std::vector<HostTensor> r{random_tensor(t, c.q, 1)};
    if (!c.packed) {
      r.push_back(random_tensor(t, c.k, 2));
      r.push_back(random_tensor(t, c.v, 3));
    }
    if (!c.bias.empty()) {
      HostTensor b = random_tensor(t, c.bias, 4);
      // Mask every third key with -inf (a padding mask as an additive bias); key 0 stays, so no
      // row is fully masked.
      const int64_t S = c.bias.back();
      for (int64_t i = 0; i < b.numel(); ++i)
        if ((i % S) % 3 == 2) b.set(i, -std::numeric_limits<double>::infinity());
      r.push_back(b);
    }
    return r;
  };
  check(c.name, make, inputs, dt);
}

class CudaAttention : public ::testing::TestWithParam<DType> {};

TEST_P(CudaAttention, MatchesReference) {
  const DType dt = GetParam();
  std::vector<Case> cases = {
      {"plain", {2, 4, 16, 64}, {2, 4, 16, 64}, {2, 4, 16, 64}, {}},
      {"causal", {2, 4, 16, 64}, {2, 4, 16, 64}, {2, 4, 16, 64}, {}, true},
      {"kv longer", {2, 3, 16, 32}, {2, 3, 40, 32}, {2, 3, 40, 32}, {}},
      {"bias per batch", {2, 4, 16, 64}, {2, 4, 16, 64}, {2, 4, 16, 64}, {2, 1, 16, 16}},
      {"bias per head", {2, 4, 16, 64}, {2, 4, 16, 64}, {2, 4, 16, 64}, {1, 4, 16, 16}},
      {"bias 2-D", {2, 4, 16, 64}, {2, 4, 16, 64}, {2, 4, 16, 64}, {16, 16}},
      {"bias along keys only", {2, 4, 16, 64}, {2, 4, 16, 64}, {2, 4, 16, 64}, {2, 1, 1, 16}},
      {"head size 36", {2, 2, 9, 36}, {2, 2, 11, 36}, {2, 2, 11, 36}, {}},
      {"rank 3", {3, 10, 16}, {3, 12, 16}, {3, 12, 16}, {}},
      {"head size 128", {1, 2, 33, 128}, {1, 2, 33, 128}, {1, 2, 33, 128}, {}, true},
      {"bshd", {2, 16, 4, 64}, {2, 24, 4, 64}, {2, 24, 4, 64}, {2, 1, 16, 24}, false, true},
      {"bshd causal", {2, 16, 4, 64}, {2, 16, 4, 64}, {2, 16, 4, 64}, {}, true, true},
      {"bshd head size 20", {2, 7, 3, 20}, {2, 5, 3, 20}, {2, 5, 3, 20}, {}, false, true},
      {"packed", {2, 16, 3, 4, 64}, {}, {}, {}, false, true, 0.125, true},
      {"packed with bias", {2, 24, 3, 4, 64}, {}, {}, {2, 1, 24, 24}, false, true, 0.125, true},
      {"packed causal", {3, 17, 3, 2, 32}, {}, {}, {}, true, true, 0.125, true},
      {"packed head size 20", {2, 7, 3, 3, 20}, {}, {}, {}, false, true, 0.125, true},
  };
  for (const Case& c : cases) run_case(c, dt);
}

TEST_P(CudaAttention, LayerNormWithResidual) {
  const DType dt = GetParam();
  for (int64_t cols : {768, 33, 1000, 2048, 3000}) {
    for (int variant = 0; variant < 4; ++variant) {  // bit 0: residual, bit 1: weight and bias
      const bool res = variant & 1, affine = variant & 2;
      auto make = [=](DType t) {
        auto g = std::make_unique<Graph>();
        Value* x = g->add_input(TensorType::fixed(t, {3, 5, cols}), "x");
        std::vector<Value*> ins{x};
        if (res) ins.push_back(g->add_input(TensorType::fixed(t, {3, 5, cols}), "r"));
        if (affine) {
          ins.push_back(g->add_constant(random_tensor(t, {cols}, 7, 0.5f, 1.0f)));
          ins.push_back(g->add_constant(random_tensor(t, {cols}, 8)));
        }
        LayerNormAttrs a;
        a.eps = 1e-5;
        a.has_residual = res;
        g->mark_output(g->add_node(OpKind::LayerNorm, a, ins)->outputs[0]);
        return g;
      };
      auto inputs = [=](DType t) {
        std::vector<HostTensor> r{random_tensor(t, {3, 5, cols}, 1, 2.0f, 3.0f)};
        if (res) r.push_back(random_tensor(t, {3, 5, cols}, 2));
        return r;
      };
      check(str_cat("layer norm cols=", cols, res ? " +res" : "", affine ? " affine" : ""), make, inputs, dt);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(DTypes, CudaAttention, ::testing::Values(DType::kFloat32, DType::kFloat16, DType::kBFloat16),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace

int main(int argc, char** argv) { return gpu_main(argc, argv); }
