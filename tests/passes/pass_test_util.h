// Shared by the pass tests: seeded normal(0, 0.5) inputs and op counts of a graph.
#pragma once

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/ir/ir.h"

namespace trtorch::pass_test {

inline ir::HostTensor random_tensor(ir::DType t, std::vector<int64_t> shape, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 0.5f);
  ir::HostTensor h(t, shape);
  for (int64_t i = 0; i < h.numel(); ++i) h.set(i, d(rng));
  return h;
}

// max |a - b| / max |b|.
inline double max_rel(const ir::HostTensor& a, const ir::HostTensor& b) {
  double m = 0, s = 1e-12;
  for (int64_t i = 0; i < a.numel(); ++i) {
    m = std::max(m, std::abs(a.get(i) - b.get(i)));
    s = std::max(s, std::abs(b.get(i)));
  }
  return m / s;
}

inline int count(const ir::Graph& g, ir::OpKind k) {
  int c = 0;
  for (ir::Node* n : g.nodes()) c += n->op == k;
  return c;
}

}  // namespace trtorch::pass_test
