// The oracle's heavy ops (conv, gemm, attention, norm, pooling, reduce, scan): naive loops in
// double precision, straight from the PyTorch definitions.
#include <algorithm>
#include <cmath>
#include <limits>

#include "tests/ops/op_oracle.h"

namespace trtorch::op_test {

using namespace trtorch::ir;

// ---------------------------------------------------------------------------------------------
// conv

namespace {

int64_t window_count(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  // torch's pooling_output_shape: (in + 2p - d(k-1) - 1) / s + 1, rounded down or up, and with
  // ceil_mode the last window must start inside the input or the left padding.
  double q = double(in + 2 * p - d * (k - 1) - 1) / double(s);
  int64_t out = int64_t(ceil_mode ? std::ceil(q) : std::floor(q)) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

}  // namespace

Vec naive_conv(const HostTensor& x, const HostTensor& w, const HostTensor* b, const Conv2dAttrs& a, Shape* shape) {
  Vec X = values(x), Wt = values(w), B = b ? values(*b) : Vec();
  int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  int64_t K = w.shape[0], Cg = w.shape[1], R = w.shape[2], S = w.shape[3];
  int64_t OH = window_count(H, R, a.stride[0], a.padding[0], a.dilation[0], false);
  int64_t OW = window_count(W, S, a.stride[1], a.padding[1], a.dilation[1], false);
  *shape = {N, K, OH, OW};
  Vec y(size_t(N * K * OH * OW));
  int64_t kpg = K / a.groups;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double acc = b ? B[size_t(k)] : 0.0;
          int64_t grp = k / kpg;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t r = 0; r < R; ++r)
              for (int64_t s = 0; s < S; ++s) {
                int64_t ih = oh * a.stride[0] - a.padding[0] + r * a.dilation[0];
                int64_t iw = ow * a.stride[1] - a.padding[1] + s * a.dilation[1];
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += X[size_t(((n * C + grp * Cg + c) * H + ih) * W + iw)] *
                       Wt[size_t(((k * Cg + c) * R + r) * S + s)];
              }
          y[size_t(((n * K + k) * OH + oh) * OW + ow)] = acc;
        }
  return y;
}

// Conv2d with its epilogue: act(conv(x, w) + b + residual).
Expected oracle_conv2d(const Conv2dAttrs& a, const std::vector<HostTensor>& ins) {
  const bool bias = conv_has_bias(a, ins.size());
  Expected e;
  e.values = naive_conv(ins[0], ins[1], bias ? &ins[kConvBiasInput] : nullptr, a, &e.shape);
  if (a.has_residual) {
    Vec R = values(ins.back());
    for (size_t i = 0; i < e.values.size(); ++i) e.values[i] += R[i];
  }
  if (a.has_act)
    for (double& v : e.values) v = naive_unary(a.act, v, a.act_alpha, a.act_beta);
  return e;
}

// ---------------------------------------------------------------------------------------------
// gemm

namespace {

Vec naive_matmul(const HostTensor& a, const HostTensor& b, Shape* shape) {
  Vec A = values(a), B = values(b);
  Shape ab(a.shape.begin(), a.shape.end() - 2), bb(b.shape.begin(), b.shape.end() - 2);
  Shape batch = broadcast_shape(ab, bb);
  int64_t M = a.shape[a.shape.size() - 2], K = a.shape.back(), N = b.shape.back();
  *shape = batch;
  shape->push_back(M);
  shape->push_back(N);
  Vec y(size_t(numel(*shape)));
  for (int64_t bi = 0; bi < numel(batch); ++bi) {
    Shape idx = unravel(bi, batch);
    int64_t ao = ab.empty() ? 0 : broadcast_index(idx, ab), bo = bb.empty() ? 0 : broadcast_index(idx, bb);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k) acc += A[size_t(ao * M * K + i * K + k)] * B[size_t(bo * K * N + k * N + j)];
        y[size_t((bi * M + i) * N + j)] = acc;
      }
  }
  return y;
}

}  // namespace

Expected oracle_matmul(const std::vector<HostTensor>& ins) {
  Expected e;
  e.values = naive_matmul(ins[0], ins[1], &e.shape);
  return e;
}

Expected oracle_linear(const LinearAttrs& a, const std::vector<HostTensor>& ins) {
  const HostTensor &x = ins[0], &w = ins[1];
  const bool bias = ins.size() > 2;
  const int64_t K = x.shape.back(), n = w.shape[0], M = x.numel() / K;
  Vec X = values(x), W = values(w), B = bias ? values(ins[2]) : Vec();
  Expected e;
  e.shape = x.shape;
  e.shape.back() = n;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = bias ? B[size_t(j)] : 0;
      for (int64_t k = 0; k < K; ++k) acc += X[size_t(i * K + k)] * W[size_t(j * K + k)];
      e.values.push_back(a.has_act ? naive_unary(a.act, acc, a.act_alpha, a.act_beta) : acc);
    }
  return e;
}

// ---------------------------------------------------------------------------------------------
// attention

// Offset of element (b, h, i, e) of an attention operand: heads-first [B, H, n, d], [B, n, H, d]
// (bshd), or slot `slot` of a packed [B, n, 3, H, d].
namespace {

struct AttnLayout {
  int64_t H, n, d;
  bool bshd, packed;
  int slot;
  int64_t at(int64_t b, int64_t h, int64_t i, int64_t e) const {
    if (packed) return ((((b * n + i) * 3 + slot) * H + h) * d + e);
    if (bshd) return ((b * n + i) * H + h) * d + e;
    return ((b * H + h) * n + i) * d + e;
  }
};

}  // namespace

Expected oracle_attention(const AttentionAttrs& a, const std::vector<HostTensor>& ins) {
  const Shape& qs = ins[0].shape;
  const size_t r = qs.size();
  const bool bshd = a.bshd || a.packed;
  // The leading dims `lead` (the bias broadcasts to lead + [L, S]) flattened as [B, H] (H: the
  // last leading dim); L, S, E and Ev.
  int64_t B = 1, H = 1, L, S, E, Ev;
  Shape lead;
  if (a.packed) {
    B = qs[0], L = S = qs[1], H = qs[3], E = Ev = qs[4];
  } else if (bshd) {
    B = qs[0], L = qs[1], H = qs[2], E = qs[3], S = ins[1].shape[1], Ev = ins[2].shape[3];
  } else {
    lead.assign(qs.begin(), qs.end() - 2);
    for (size_t d = 0; d + 3 < r; ++d) B *= qs[d];
    H = r >= 3 ? qs[r - 3] : 1;
    L = qs[r - 2], E = qs[r - 1], S = ins[1].shape[r - 2], Ev = ins[2].shape[r - 1];
  }
  if (bshd) lead = {B, H};
  const AttnLayout lq{H, L, E, bshd, a.packed, 0}, lk{H, S, E, bshd, a.packed, 1}, lv{H, S, Ev, bshd, a.packed, 2};
  Vec Q = values(ins[0]), K = values(ins[1]), V = values(ins[2]);
  const bool has_bias = ins.size() > 3;
  Vec Bi = has_bias ? values(ins[3]) : Vec();
  Expected e;
  e.shape = bshd ? Shape{B, L, H, Ev} : qs;
  if (!bshd) e.shape.back() = Ev;
  e.values.assign(size_t(numel(e.shape)), 0.0);
  const AttnLayout lo{H, L, Ev, bshd, false, 0};
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < L; ++i) {
        Vec sc(static_cast<size_t>(S));
        double mx = -INFINITY;
        for (int64_t j = 0; j < S; ++j) {
          double d = 0;
          for (int64_t x = 0; x < E; ++x) d += Q[size_t(lq.at(b, h, i, x))] * K[size_t(lk.at(b, h, j, x))];
          d *= a.scale;
          if (has_bias) {
            Shape idx = unravel(b * H + h, lead);
            idx.push_back(i);
            idx.push_back(j);
            d += Bi[size_t(broadcast_index(idx, ins[3].shape))];
          }
          if (a.causal && j > i) d = -INFINITY;
          sc[size_t(j)] = d;
          mx = std::max(mx, d);
        }
        double sum = 0;
        for (double& x : sc) sum += (x = std::exp(x - mx));
        for (int64_t x = 0; x < Ev; ++x) {
          double acc = 0;
          for (int64_t j = 0; j < S; ++j) acc += sc[size_t(j)] * V[size_t(lv.at(b, h, j, x))];
          e.values[size_t(lo.at(b, h, i, x))] = mx == -INFINITY ? NAN : acc / sum;
        }
      }
  return e;
}

// ---------------------------------------------------------------------------------------------
// norm

Expected oracle_batch_norm(const BatchNormAttrs& a, const std::vector<HostTensor>& ins) {
  const HostTensor& x = ins[0];
  const int64_t C = x.shape[1], inner = x.numel() / (x.shape[0] * C);
  Vec X = values(x), W = values(ins[1]), B = values(ins[2]), M = values(ins[3]), V = values(ins[4]);
  Expected e{x.shape, Vec(X.size())};
  for (size_t i = 0; i < X.size(); ++i) {
    size_t c = size_t((int64_t(i) / inner) % C);
    e.values[i] = (X[i] - M[c]) / std::sqrt(V[c] + a.eps) * W[c] + B[c];
  }
  return e;
}

// Inputs: x, the residual when has_residual, then the weight and the bias when present. With
// emit_sum, output 1 is x + residual.
std::vector<Expected> oracle_layer_norm(const LayerNormAttrs& a, const std::vector<HostTensor>& ins) {
  const HostTensor& x = ins[0];
  size_t next = 1;
  Vec X = values(x);
  if (a.has_residual) {
    Vec R = values(ins[next++]);
    for (size_t i = 0; i < X.size(); ++i) X[i] += R[i];
  }
  const bool has_w = ins.size() > next, has_b = ins.size() > next + 1;
  Vec W = has_w ? values(ins[next]) : Vec(), B = has_b ? values(ins[next + 1]) : Vec();
  int64_t cols = 1;
  for (int64_t d = 0; d < a.normalized_rank; ++d) cols *= x.shape[x.shape.size() - 1 - size_t(d)];
  const int64_t rows = x.numel() / cols;
  Expected e{x.shape, Vec(X.size())};
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < cols; ++i) mean += X[size_t(r * cols + i)] / double(cols);
    for (int64_t i = 0; i < cols; ++i) var += std::pow(X[size_t(r * cols + i)] - mean, 2) / double(cols);
    for (int64_t i = 0; i < cols; ++i) {
      double v = (X[size_t(r * cols + i)] - mean) / std::sqrt(var + a.eps);
      if (has_w) v *= W[size_t(i)];
      if (has_b) v += B[size_t(i)];
      e.values[size_t(r * cols + i)] = v;
    }
  }
  if (!a.emit_sum) return {e};
  return {e, Expected{x.shape, X}};
}

// ---------------------------------------------------------------------------------------------
// pooling

Expected oracle_pool2d(const Pool2dAttrs& a, const HostTensor& x) {
  Vec X = values(x);
  int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  int64_t OH = window_count(H, a.kernel[0], a.stride[0], a.padding[0], a.dilation[0], a.ceil_mode);
  int64_t OW = window_count(W, a.kernel[1], a.stride[1], a.padding[1], a.dilation[1], a.ceil_mode);
  Expected e{{N, C, OH, OW}, {}};
  for (int64_t nc = 0; nc < N * C; ++nc)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        double mx = -std::numeric_limits<double>::infinity(), sum = 0;
        int64_t in_input = 0, in_padded = 0;
        for (int64_t r = 0; r < a.kernel[0]; ++r)
          for (int64_t s = 0; s < a.kernel[1]; ++s) {
            int64_t ih = oh * a.stride[0] - a.padding[0] + r * a.dilation[0];
            int64_t iw = ow * a.stride[1] - a.padding[1] + s * a.dilation[1];
            // Positions of the padded input [-p, size + p) count for count_include_pad.
            bool padded = ih < H + a.padding[0] && iw < W + a.padding[1];
            bool inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
            in_padded += padded;
            if (!inside) continue;
            ++in_input;
            double v = X[size_t((nc * H + ih) * W + iw)];
            mx = std::max(mx, v);
            sum += v;
          }
        double out;
        if (a.kind == PoolKind::kMax) {
          out = mx;
        } else {
          int64_t div = a.divisor_override ? a.divisor_override : a.count_include_pad ? in_padded : in_input;
          out = in_input ? sum / double(div) : 0.0;
        }
        e.values.push_back(out);
      }
  return e;
}

Expected oracle_adaptive_pool2d(const AdaptivePool2dAttrs& a, const HostTensor& x) {
  Vec X = values(x);
  const Shape& xs = x.shape;
  const Shape& os = a.output_size;
  const int64_t H = xs[2], W = xs[3];
  Expected e{{xs[0], xs[1], os[0], os[1]}, {}};
  for (int64_t nc = 0; nc < xs[0] * xs[1]; ++nc)
    for (int64_t i = 0; i < os[0]; ++i)
      for (int64_t j = 0; j < os[1]; ++j) {
        int64_t h0 = int64_t(std::floor(double(i * H) / double(os[0])));
        int64_t h1 = int64_t(std::ceil(double((i + 1) * H) / double(os[0])));
        int64_t w0 = int64_t(std::floor(double(j * W) / double(os[1])));
        int64_t w1 = int64_t(std::ceil(double((j + 1) * W) / double(os[1])));
        double acc = a.kind == PoolKind::kMax ? -INFINITY : 0.0;
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) {
            double v = X[size_t((nc * H + h) * W + w)];
            acc = a.kind == PoolKind::kMax ? std::max(acc, v) : acc + v;
          }
        e.values.push_back(a.kind == PoolKind::kMax ? acc : acc / double((h1 - h0) * (w1 - w0)));
      }
  return e;
}

// ---------------------------------------------------------------------------------------------
// reduce

Expected oracle_reduce(const ReduceAttrs& a, const HostTensor& x) {
  Vec X = values(x);
  const Shape& axes = a.axes;
  Shape kept_shape;  // with keepdim layout, size 1 on reduced axes
  for (size_t d = 0; d < x.shape.size(); ++d)
    kept_shape.push_back(std::count(axes.begin(), axes.end(), int64_t(d)) ? 1 : x.shape[d]);
  Expected e;
  for (size_t d = 0; d < x.shape.size(); ++d)
    if (a.keepdim || !std::count(axes.begin(), axes.end(), int64_t(d))) e.shape.push_back(kept_shape[d]);
  std::vector<Vec> groups{static_cast<size_t>(numel(kept_shape))};
  for (int64_t i = 0; i < x.numel(); ++i) {
    Shape idx = unravel(i, x.shape);
    for (size_t d = 0; d < idx.size(); ++d)
      if (kept_shape[d] == 1) idx[d] = 0;
    groups[size_t(ravel(idx, kept_shape))].push_back(X[size_t(i)]);
  }
  for (auto& g : groups) {
    double r = 0;
    switch (a.kind) {
      case ReduceKind::kSum: for (double v : g) r += v; break;
      case ReduceKind::kMean: for (double v : g) r += v / double(g.size()); break;
      case ReduceKind::kProd: r = 1; for (double v : g) r *= v; break;
      case ReduceKind::kMax: r = *std::max_element(g.begin(), g.end()); break;
      case ReduceKind::kMin: r = *std::min_element(g.begin(), g.end()); break;
      default: break;
    }
    e.values.push_back(r);
  }
  return e;
}

Expected oracle_softmax(const SoftmaxAttrs& a, const HostTensor& x) {
  Vec X = values(x);
  const Shape& s = x.shape;
  const size_t axis = size_t(a.axis);
  Expected e{s, Vec(X.size())};
  for (int64_t i = 0; i < x.numel(); ++i) {
    Shape idx = unravel(i, s);
    double m = -INFINITY, sum = 0;
    for (int64_t j = 0; j < s[axis]; ++j) {
      idx[axis] = j;
      m = std::max(m, X[size_t(ravel(idx, s))]);
    }
    for (int64_t j = 0; j < s[axis]; ++j) {
      idx[axis] = j;
      sum += std::exp(X[size_t(ravel(idx, s))] - m);
    }
    e.values[size_t(i)] = a.log ? X[size_t(i)] - m - std::log(sum) : std::exp(X[size_t(i)] - m) / sum;
  }
  return e;
}

// ---------------------------------------------------------------------------------------------
// scan

namespace {

// Every element combined, from `identity`, with those before it along `axis` (exact in double
// for the rows' values); int32 results wrap around like torch's (two's complement).
template <typename Combine>
Expected running(int64_t axis, double identity, Combine combine, const HostTensor& x) {
  const Shape& s = x.shape;
  Expected e{s, Vec(size_t(x.numel()))};
  for (int64_t i = 0; i < x.numel(); ++i) {
    Shape idx = unravel(i, s);
    double acc = identity;
    for (Shape j = idx; j[size_t(axis)] >= 0; --j[size_t(axis)]) acc = combine(acc, x.get(ravel(j, s)));
    if (x.dtype == DType::kInt32) acc = double(int32_t(uint32_t(int64_t(acc))));
    e.values[size_t(i)] = acc;
  }
  return e;
}

}  // namespace

Expected oracle_cumsum(const CumSumAttrs& a, const HostTensor& x) {
  return running(a.axis, 0, [](double p, double q) { return p + q; }, x);
}

Expected oracle_cumprod(const CumProdAttrs& a, const HostTensor& x) {
  return running(a.axis, 1, [](double p, double q) { return p * q; }, x);
}

// ---------------------------------------------------------------------------------------------
// sort

// Every line sorted by a stable insertion sort in double: NaN above every number, -0 == 0.
std::vector<Expected> oracle_topk(const TopKAttrs& a, const HostTensor& x) {
  const Shape& s = x.shape;
  const size_t axis = size_t(a.axis);
  const int64_t len = s[axis], k = a.k < 0 ? len : a.k;
  Shape os = s;
  os[axis] = k;
  Expected vals{os, Vec(size_t(numel(os)))}, ids{os, Vec(size_t(numel(os)))};
  auto before = [&](double p, double q) {  // p strictly precedes q
    if (std::isnan(p) || std::isnan(q)) return a.largest ? (std::isnan(p) && !std::isnan(q)) : (!std::isnan(p) && std::isnan(q));
    return a.largest ? p > q : p < q;
  };
  for (int64_t o = 0; o < numel(os); ++o) {
    Shape idx = unravel(o, os);
    if (idx[axis] != 0) continue;  // one line per output position with index 0 along the axis
    std::vector<std::pair<double, int64_t>> line;
    for (int64_t j = 0; j < len; ++j) {
      Shape src = idx;
      src[axis] = j;
      line.push_back({x.get(ravel(src, s)), j});
    }
    for (size_t i = 1; i < line.size(); ++i)  // insertion sort: moves an element only past later-ranked ones
      for (size_t j = i; j > 0 && before(line[j].first, line[j - 1].first); --j) std::swap(line[j], line[j - 1]);
    for (int64_t j = 0; j < k; ++j) {
      Shape dst = idx;
      dst[axis] = j;
      vals.values[size_t(ravel(dst, os))] = line[size_t(j)].first;
      ids.values[size_t(ravel(dst, os))] = double(line[size_t(j)].second);
    }
  }
  return {vals, ids};
}

// ---------------------------------------------------------------------------------------------
// scatter (data_movement)

Expected oracle_scatter(const ScatterAttrs& a, const std::vector<HostTensor>& ins) {
  const HostTensor &self = ins[0], &index = ins[1], &src = ins[2];
  Expected e{self.shape, values(self)};
  for (int64_t p = 0; p < index.numel(); ++p) {
    Shape at = unravel(p, index.shape);
    at[size_t(a.axis)] = int64_t(index.get(p));
    double& out = e.values[size_t(ravel(at, self.shape))];
    out = a.reduce == ScatterReduce::kAdd ? out + src.get(p) : src.get(p);
  }
  return e;
}

// ---------------------------------------------------------------------------------------------
// grid_sample

namespace {

// torch's unnormalization and padding of one grid coordinate, in double.
double grid_coord(double g, int64_t size, GridSamplePadding padding, bool align_corners) {
  const double n = double(size);
  double x = align_corners ? (g + 1) / 2 * (n - 1) : ((g + 1) * n - 1) / 2;
  if (padding == GridSamplePadding::kZeros) return x;
  if (padding == GridSamplePadding::kReflection) {
    // Reflect about the edges (the pixel centres 0 and n-1, or the borders -0.5 and n-0.5).
    const double lo = align_corners ? 0 : -0.5, hi = align_corners ? n - 1 : n - 0.5, span = hi - lo;
    if (span <= 0) {
      x = 0;
    } else {
      double d = std::fabs(x - lo);
      const double flips = std::floor(d / span), extra = d - flips * span;
      x = std::fmod(flips, 2.0) == 0 ? lo + extra : hi - extra;
    }
  }
  return std::min(n - 1, std::max(x, 0.0));
}

}  // namespace

Expected oracle_grid_sample(const GridSampleAttrs& a, const std::vector<HostTensor>& ins) {
  const HostTensor &x = ins[0], &grid = ins[1];
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t Ho = grid.shape[1], Wo = grid.shape[2];
  Expected e{{N, C, Ho, Wo}, Vec(size_t(N * C * Ho * Wo))};
  auto pixel = [&](int64_t n, int64_t c, int64_t r, int64_t col) {
    return r < 0 || r >= H || col < 0 || col >= W ? 0.0 : x.get(((n * C + c) * H + r) * W + col);
  };
  for (int64_t n = 0; n < N; ++n)
    for (int64_t h = 0; h < Ho; ++h)
      for (int64_t w = 0; w < Wo; ++w) {
        const int64_t g = ((n * Ho + h) * Wo + w) * 2;
        const double sx = grid_coord(grid.get(g), W, a.padding, a.align_corners);
        const double sy = grid_coord(grid.get(g + 1), H, a.padding, a.align_corners);
        for (int64_t c = 0; c < C; ++c) {
          double v;
          if (a.mode == GridSampleMode::kNearest) {
            v = pixel(n, c, int64_t(std::nearbyint(sy)), int64_t(std::nearbyint(sx)));
          } else {
            const double y0 = std::floor(sy), x0 = std::floor(sx), fy = sy - y0, fx = sx - x0;
            const int64_t r = int64_t(y0), col = int64_t(x0);
            v = pixel(n, c, r, col) * (1 - fy) * (1 - fx) + pixel(n, c, r, col + 1) * (1 - fy) * fx +
                pixel(n, c, r + 1, col) * fy * (1 - fx) + pixel(n, c, r + 1, col + 1) * fy * fx;
          }
          e.values[size_t(((n * C + c) * Ho + h) * Wo + w)] = v;
        }
      }
  return e;
}

namespace {

// The scale of element i of a tensor of `shape`: scale[(i / inner) % channels] along `axis`.
double scale_at(const HostTensor& scale, int64_t axis, const Shape& shape, int64_t i) {
  if (axis < 0) return scale.get(0);
  int64_t inner = 1;
  for (size_t d = size_t(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
  return scale.get((i / inner) % shape[size_t(axis)]);
}

}  // namespace

Expected oracle_quantize(const QuantizeAttrs& a, const HostTensor& x) {
  Expected e{x.shape, Vec(size_t(x.numel()))};
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float inv = 1.0f / float(scale_at(a.scale, a.axis, x.shape, i));
    const float v = float(x.get(i)) * inv;
    e.values[size_t(i)] = std::isnan(v) ? 0.0 : std::clamp(double(std::nearbyint(v)), double(a.qmin), double(a.qmax));
  }
  return e;
}

Expected oracle_dequantize(const DequantizeAttrs& a, const HostTensor& q) {
  Expected e{q.shape, Vec(size_t(q.numel()))};
  for (int64_t i = 0; i < q.numel(); ++i)
    e.values[size_t(i)] = double(float(q.get(i)) * float(scale_at(a.scale, a.axis, q.shape, i)));
  return e;
}

// The INT8 layers (attrs.h, QuantizedLayer): the exact integer sum (in double), then the epilogue
// in double: alpha[k] = float(x_scale) * w_scale[k] as the layer's FP32 product, the output scale
// a division.
namespace {

Expected quantized_epilogue(const QuantizedLayer& q, Expected acc, int64_t inner, const HostTensor& bias,
                            const HostTensor* residual) {
  const int64_t K = q.w_scale.numel();
  const Vec R = residual ? values(*residual) : Vec();
  for (size_t i = 0; i < acc.values.size(); ++i) {
    const int64_t k = int64_t(i) / inner % K;
    const double alpha = double(float(q.x_scale) * float(q.w_scale.get(k)));
    double v = acc.values[i] * alpha + bias.get(k);
    if (residual) v += R[i] * (q.r_scale > 0 ? double(float(q.r_scale)) : 1.0);
    v = std::clamp(v, q.lo, q.hi);
    if (q.y_scale > 0) v = std::clamp(double(std::nearbyint(v / q.y_scale)), double(q.qmin), double(q.qmax));
    acc.values[i] = v;
  }
  return acc;
}

}  // namespace

Expected oracle_qconv2d(const QConv2dAttrs& a, const std::vector<HostTensor>& ins) {
  Conv2dAttrs c;
  c.stride = a.stride;
  c.padding = a.padding;
  c.dilation = a.dilation;
  c.groups = a.groups;
  Expected e;
  e.values = naive_conv(ins[0], ins[1], nullptr, c, &e.shape);
  const int64_t inner = e.shape[2] * e.shape[3];
  return quantized_epilogue(a.q, std::move(e), inner, ins[2], a.has_residual ? &ins[3] : nullptr);
}

Expected oracle_qlinear(const QLinearAttrs& a, const std::vector<HostTensor>& ins) {
  HostTensor wt(ins[1].dtype, {ins[1].shape[1], ins[1].shape[0]});  // w^T [K, N]
  for (int64_t n = 0; n < ins[1].shape[0]; ++n)
    for (int64_t k = 0; k < ins[1].shape[1]; ++k) wt.set(k * ins[1].shape[0] + n, ins[1].get(n * ins[1].shape[1] + k));
  Expected e;
  e.values = naive_matmul(ins[0], wt, &e.shape);
  return quantized_epilogue(a.q, std::move(e), 1, ins[2], nullptr);
}

}  // namespace trtorch::op_test
