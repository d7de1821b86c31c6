// Attention: softmax(q @ k^T * scale + bias [+ causal mask]) @ v per leading index, FP32 scores
// and softmax (double sums), rounded once into the output's storage type.
#include <cmath>
#include <limits>
#include <memory>

#include "core/backends/reference/kernels.h"

namespace trtorch::backends::reference {

using ir::HostTensor;

void eval_Attention(const ir::AttentionAttrs& a, const std::vector<HostTensor>& in, std::vector<HostTensor>& out) {
  const char* op = "Attention";
  FloatIn q(op, "query", in[0]), k(op, "key", in[1]), v(op, "value", in[2]);
  const auto& qs = in[0].shape;
  const size_t r = qs.size();
  // Leading dims, sequence lengths and head sizes; bshd inputs are [B, seq, H, d], packed ones
  // [B, seq, 3, H, d].
  std::vector<int64_t> lead(qs.begin(), qs.end() - 2);
  int64_t L = qs[r - 2], S = in[1].shape[r - 2];
  if (a.bshd) {
    lead = {qs[0], qs[a.packed ? 3 : 2]};
    L = qs[1];
    S = in[1].shape[1];
  }
  const int64_t E = qs[r - 1], Ev = in[2].shape[r - 1], H = lead.back();
  const int64_t batch = ir::numel_of(lead);
  // Element offset of sequence position `pos` of leading index `bb` in a tensor of head size d
  // and sequence length `len`; `slot` is the input's place in a packed tensor (rows hold
  // q, k, v for all heads in turn), `rows` how many such slots a sequence position holds.
  auto at = [&](int64_t bb, int64_t pos, int64_t len, int64_t d, int64_t rows = 1, int64_t slot = 0) {
    return a.bshd ? ((((bb / H) * len + pos) * rows + slot) * H + bb % H) * d : (bb * len + pos) * d;
  };
  const int64_t rows = a.packed ? 3 : 1;
  // A packed tensor is passed as all three inputs: each reads its own slot.
  const int64_t kslot = a.packed ? 1 : 0, vslot = a.packed ? 2 : 0;
  // The bias expanded to the full scores shape [..., L, S].
  std::vector<float> bias;
  if (in.size() > 3) {
    FloatIn b(op, "bias", in[3]);
    std::vector<int64_t> scores = lead;
    scores.push_back(L);
    scores.push_back(S);
    bias.resize(size_t(ir::numel_of(scores)));
    const float* bp = b.data();
    for_each_broadcast(scores, {broadcast_strides(in[3].shape, scores)},
                       [&](int64_t o, const std::vector<int64_t>& off) { bias[size_t(o)] = bp[off[0]]; });
  }
  FloatOut y(out[0]);
  const float* qp = q.data();
  const float* kp = k.data();
  const float* vp = v.data();
  float* yp = y.data();
  const float neg_inf = -std::numeric_limits<float>::infinity();
#pragma omp parallel for schedule(static) if (batch * L * S * E >= kParallelMin && batch * L > 1)
  for (int64_t row = 0; row < batch * L; ++row) {
    const int64_t b = row / L, i = row % L;
    const float* qr = qp + at(b, i, L, E, rows);
    std::vector<float> s(static_cast<size_t>(S));
    float mx = neg_inf;
    for (int64_t j = 0; j < S; ++j) {
      float acc;
      if (a.causal && j > i) {
        acc = neg_inf;
      } else {
        double dot = 0.0;
        const float* kr = kp + at(b, j, S, E, rows, kslot);
        for (int64_t e = 0; e < E; ++e) dot += double(qr[e]) * kr[e];
        acc = float(dot * a.scale);
        if (!bias.empty()) acc += bias[size_t(row * S + j)];
      }
      s[size_t(j)] = acc;
      mx = std::fmax(mx, acc);
    }
    // A row of only -inf scores gives NaN (exp(-inf - -inf)), as torch's softmax does.
    double sum = 0.0;
    for (int64_t j = 0; j < S; ++j) {
      s[size_t(j)] = std::exp(s[size_t(j)] - mx);
      sum += s[size_t(j)];
    }
    float* yr = yp + at(b, i, L, Ev);
    for (int64_t e = 0; e < Ev; ++e) {
      double acc = 0.0;
      for (int64_t j = 0; j < S; ++j) acc += double(s[size_t(j)]) * vp[at(b, j, S, Ev, rows, vslot) + e];
      yr[e] = float(acc / sum);
    }
  }
  y.commit();
}

}  // namespace trtorch::backends::reference
