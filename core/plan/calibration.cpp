#include "core/plan/calibration.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/ir/evaluator.h"
#include "core/passes/passes.h"
#include "core/plan/engine.h"
#include "core/util/error.h"

namespace trtorch::plan {

const char* calibration_algo_name(CalibrationAlgo a) {
  switch (a) {
    case CalibrationAlgo::kEntropy: return "entropy";
    case CalibrationAlgo::kMinMax: return "minmax";
    case CalibrationAlgo::kPercentile: return "percentile";
  }
  return "?";
}

CalibrationAlgo calibration_algo_from_name(const std::string& name) {
  for (CalibrationAlgo a : {CalibrationAlgo::kEntropy, CalibrationAlgo::kMinMax, CalibrationAlgo::kPercentile})
    if (name == calibration_algo_name(a)) return a;
  TRTORCH_ERROR("unknown calibration algorithm '", name, "' (entropy, minmax or percentile)");
}

namespace {

bool is_int8_layer(ir::OpKind op) { return op == ir::OpKind::Conv2d || op == ir::OpKind::Linear; }

// A node's source for a cache key, without what differs between machines: "aten::conv2d at
// conv.py:548" from "aten::conv2d(Tensor input, ...) -> Tensor at /usr/lib/.../conv.py:548" (the
// op's name, and the file's name without its directory).
std::string short_source(const std::string& source) {
  std::string op = source.substr(0, source.find_first_of("( "));
  const size_t at = source.rfind(" at ");
  if (at != std::string::npos) {
    std::string where = source.substr(at + 4);
    const size_t slash = where.find_last_of("/\\");
    if (slash != std::string::npos) where = where.substr(slash + 1);
    op += " at " + where;
  }
  std::replace_if(op.begin(), op.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
  return op;
}

// KL divergence of the distribution `p` from its quantization into `levels` levels, where bins
// [0, i) of `hist` are kept and the mass beyond goes into bin i - 1 (entropy calibration).
double quantization_divergence(const std::vector<double>& hist, size_t i, size_t levels, double outliers) {
  std::vector<double> p(hist.begin(), hist.begin() + long(i));
  p[i - 1] += outliers;
  // q: the kept bins merged into `levels` groups, each group's mass spread evenly over its
  // non-empty bins (an empty bin stays empty).
  std::vector<double> q(i, 0.0);
  for (size_t j = 0; j < levels; ++j) {
    const size_t start = j * i / levels, stop = (j + 1) * i / levels;
    double total = 0;
    size_t nonzero = 0;
    for (size_t k = start; k < stop; ++k) {
      total += hist[k];
      nonzero += hist[k] != 0;
    }
    for (size_t k = start; k < stop; ++k) q[k] = hist[k] != 0 ? total / double(nonzero) : 0.0;
  }
  double ps = 0, qs = 0;
  for (size_t k = 0; k < i; ++k) {
    ps += p[k];
    qs += q[k];
  }
  if (ps == 0 || qs == 0) return 0;
  double kl = 0;
  for (size_t k = 0; k < i; ++k) {
    if (p[k] == 0) continue;
    const double pk = p[k] / ps;
    // A bin with mass in p and none in q (its mass went to the outlier bin): a small floor keeps
    // the divergence finite and large.
    const double qk = q[k] > 0 ? q[k] / qs : 1e-12;
    kl += pk * std::log(pk / qk);
  }
  return kl;
}

}  // namespace

std::vector<QuantizedInput> quantized_inputs(const ir::Graph& g) {
  std::vector<QuantizedInput> out;
  std::map<ir::OpKind, int> seen;
  for (ir::Node* n : g.nodes()) {
    if (!is_int8_layer(n->op)) continue;
    const ir::Value* x = n->inputs[0];
    if (!ir::is_floating(x->type.dtype) || (x->producer && x->producer->op == ir::OpKind::Constant)) continue;
    const int k = seen[n->op]++;
    out.push_back({n, 0, str_cat(n->name(), "#", k, " ", short_source(n->source))});
  }
  return out;
}

double calibrated_threshold(const TensorStats& s, CalibrationAlgo algo, double percentile) {
  if (s.amax <= 0 || s.hist.empty()) return 0;
  const size_t bins = s.hist.size();
  const double width = s.amax / double(bins);
  double total = 0;
  for (double h : s.hist) total += h;
  if (algo == CalibrationAlgo::kMinMax || total == 0) return s.amax;
  if (algo == CalibrationAlgo::kPercentile) {
    TRTORCH_EXPECT(percentile > 0 && percentile <= 100, "calibration percentile must be in (0, 100], got ", percentile);
    const double want = total * percentile / 100.0;
    double cum = 0;
    for (size_t b = 0; b < bins; ++b) {
      cum += s.hist[b];
      if (cum >= want) return double(b + 1) * width;
    }
    return s.amax;
  }
  // Entropy: the threshold (a bin edge from 128 bins up) whose quantization into 128 levels
  // diverges least from the clipped distribution; of equal divergences the largest threshold.
  // Two guards against what KL divergence alone gets wrong: the spike of exact zeros that ReLU
  // outputs have is counted as its neighbour bin (else it dominates both distributions and
  // favours clipping), and a candidate may clip at most kMaxClipped of the values (when a small
  // sample is spread thin, clipping nearly everything into the last bin makes both distributions
  // one spike and "loses nothing").
  constexpr size_t kLevels = 128;
  constexpr double kMaxClipped = 0.01;
  if (bins <= kLevels) return s.amax;
  std::vector<double> hist = s.hist;
  if (bins > 1) hist[0] = std::min(hist[0], hist[1]);
  double kept_total = 0;
  for (double h : hist) kept_total += h;
  double outliers = 0;
  for (size_t b = kLevels; b < bins; ++b) outliers += hist[b];
  size_t best = bins;
  double best_kl = INFINITY;
  for (size_t i = kLevels; i <= bins; ++i) {
    if (i > kLevels) outliers -= hist[i - 1];
    if (outliers > kMaxClipped * kept_total) continue;
    const double kl = quantization_divergence(hist, i, kLevels, outliers);
    if (kl <= best_kl) {
      best_kl = kl;
      best = i;
    }
  }
  return std::min(double(best) * width, s.amax);
}

std::string graph_fingerprint(const ir::Graph& g) {
  const std::string text = g.str();
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx",
                (unsigned long long)fnv1a64(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  return buf;
}

void write_calibration_cache(const std::string& path, const CalibrationTable& t) {
  std::ostringstream os;
  os << "trtorch-int8-calibration 1\nfingerprint " << t.fingerprint << "\nalgorithm "
     << calibration_algo_name(t.algo) << "\n";
  char buf[64];
  for (const auto& [key, scale] : t.scales) {
    std::snprintf(buf, sizeof buf, "%a", double(scale));
    os << buf << "\t" << key << "\n";
  }
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  TRTORCH_EXPECT(f.good(), "cannot write the calibration cache '", path, "'");
  f << os.str();
  f.close();
  TRTORCH_EXPECT(f.good(), "writing the calibration cache '", path, "' failed");
}

CalibrationTable read_calibration_cache(const std::string& path) {
  std::error_code ec;
  TRTORCH_EXPECT(!std::filesystem::is_directory(path, ec), "the calibration cache '", path,
                 "' is a directory; give the path of a cache file");
  std::ifstream f(path, std::ios::binary);
  TRTORCH_EXPECT(f.good(), "cannot read the calibration cache '", path, "'");
  CalibrationTable t;
  t.source = path;
  std::string line;
  int line_no = 0;
  auto bad = [&](const std::string& why) {
    TRTORCH_ERROR("calibration cache '", path, "' line ", line_no, ": ", why, " (got '", line.substr(0, 120), "')");
  };
  // A line without its end; a file whose lines end in CR LF (a checkout with Windows line endings)
  // reads as the one written.
  auto next_line = [&] {
    if (!std::getline(f, line)) return false;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  };
  auto expect_prefix = [&](const std::string& prefix) {
    ++line_no;
    if (!next_line() || line.rfind(prefix, 0) != 0) bad(str_cat("expected '", prefix, "...'"));
    return line.substr(prefix.size());
  };
  if (expect_prefix("trtorch-int8-calibration ") != "1") bad("unsupported cache version (this trtorch writes 1)");
  t.fingerprint = expect_prefix("fingerprint ");
  if (t.fingerprint.size() != 16 || t.fingerprint.find_first_not_of("0123456789abcdef") != std::string::npos)
    bad("the fingerprint is 16 hex digits");
  const std::string algo = expect_prefix("algorithm ");
  try {
    t.algo = calibration_algo_from_name(algo);
  } catch (const Error& e) {
    bad(e.what());
  }
  while (++line_no, next_line()) {
    if (line.empty()) continue;
    const size_t tab = line.find('\t');
    if (tab == std::string::npos || tab == 0 || tab + 1 == line.size()) bad("expected '<scale>\\t<key>'");
    const std::string num = line.substr(0, tab);
    char* end = nullptr;
    const double scale = std::strtod(num.c_str(), &end);
    if (end != num.c_str() + num.size() || !(scale > 0) || !std::isfinite(scale) || float(scale) <= 0)
      bad("the scale must be a positive finite number");
    if (!t.scales.emplace(line.substr(tab + 1), float(scale)).second) bad("a key appears twice");
  }
  return t;
}

void insert_activation_quantization(ir::Graph& g, const CalibrationTable& t, const std::set<std::string>& float_layers) {
  const std::string fp = graph_fingerprint(g);
  const std::string from = t.source.empty() ? "" : str_cat(" read from '", t.source, "'");
  TRTORCH_EXPECT(t.fingerprint == fp, "the INT8 calibration table", from, " was made for another graph (fingerprint ",
                 t.fingerprint, ", this model's is ", fp, "): a calibration cache of another model or input shape; "
                 "delete it or calibrate again");
  // Quantize once per tensor read by several layers; the first key's scale wins.
  std::map<const ir::Value*, ir::Value*> done;
  for (const QuantizedInput& q : quantized_inputs(g)) {
    auto it = t.scales.find(q.key);
    TRTORCH_EXPECT(it != t.scales.end(), "the INT8 calibration table", from, " has no scale for ", q.key,
                   from.empty() ? "" : " (a truncated or edited cache: delete it to calibrate again)");
    // A layer that cannot run in INT8 (a depthwise convolution, 3 input channels) reads its float
    // input: quantizing it would cost a Quantize and a Dequantize pass and accuracy, and gain
    // nothing. Its key stays in the table (calibration measures every layer's input).
    if (!passes::int8_layer_fits(*q.node) || float_layers.count(q.key)) continue;
    ir::Value* x = q.node->inputs[q.input];
    auto d = done.find(x);
    if (d == done.end()) {
      ir::HostTensor scale(ir::DType::kFloat32, {});
      scale.set(0, it->second);
      ir::QuantizeAttrs qa;
      qa.scale = scale;
      ir::DequantizeAttrs da;
      da.scale = scale;
      da.to = x->type.dtype;
      ir::Node* qn = g.insert_before(q.node, ir::OpKind::Quantize, qa, {x}, q.node->source);
      ir::Node* dn = g.insert_before(q.node, ir::OpKind::Dequantize, da, {qn->outputs[0]}, q.node->source);
      d = done.emplace(x, dn->outputs[0]).first;
    }
    g.set_input(q.node, q.input, d->second);
  }
  // A residual add of a quantized tensor reads it dequantized too (as TensorRT's INT8 builds do):
  // the layer whose epilogue takes that add in then reads an int8 residual, and a chain of
  // residual blocks passes int8 tensors from one INT8 layer to the next.
  std::map<const ir::Node*, size_t> order;
  for (const ir::Node* n : g.nodes()) order.emplace(n, order.size());
  for (const auto& [x, dq] : done) {
    const size_t after = order.at(dq->producer);
    const std::vector<ir::Node*> users = x->users;
    for (ir::Node* u : users) {
      if (u->op != ir::OpKind::Binary || u->attr<ir::BinaryAttrs>().kind != ir::BinaryKind::kAdd ||
          order.at(u) < after)
        continue;
      for (size_t i = 0; i < u->inputs.size(); ++i)
        if (u->inputs[i] == x && u->inputs[1 - i]->type == x->type) g.set_input(u, i, dq);
    }
  }
}

std::string Int8LayerCount::str() const {
  return str_cat(int8, " of ", layers, " convolution / linear / matmul layers run in INT8 (", dequantized,
                 " more read dequantized int8 inputs)");
}

std::string precision_summary(const ir::Graph& g) {
  std::vector<ir::DType> order;
  std::map<ir::DType, std::map<std::string, int>> counts;
  for (const ir::Node* n : g.nodes()) {
    if (n->op == ir::OpKind::Constant) continue;
    const ir::DType t = n->outputs[0]->type.dtype;
    if (!counts.count(t)) order.push_back(t);
    ++counts[t][n->name()];
  }
  std::string s;
  for (ir::DType t : order) {
    s += str_cat(s.empty() ? "" : "; ", ir::dtype_name(t), ":");
    bool first = true;
    for (const auto& [op, k] : counts[t]) {
      s += str_cat(first ? " " : ", ", op, " ", k);
      first = false;
    }
  }
  return s;
}

Int8LayerCount int8_layer_count(const ir::Graph& g) {
  Int8LayerCount c;
  for (const ir::Node* n : g.nodes()) {
    if (n->op == ir::OpKind::QConv2d || n->op == ir::OpKind::QLinear) {
      ++c.layers;
      ++c.int8;
    } else if (n->op == ir::OpKind::Conv2d || n->op == ir::OpKind::Linear || n->op == ir::OpKind::MatMul) {
      ++c.layers;
      const ir::Node* p = n->inputs[0]->producer;
      c.dequantized += p && p->op == ir::OpKind::Dequantize;
    }
  }
  return c;
}

namespace {

// max |w| over the n values from `start` (one output channel).
double channel_amax(const ir::HostTensor& w, int64_t start, int64_t n) {
  double amax = 0;
  for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::abs(w.get(start + i)));
  return amax;
}

// The step of the grid a channel's values lie on (each value q * step with q an integer of at
// most 127 in magnitude, up to FP32 rounding): max |w| / k for the largest k <= 127 that fits,
// 1 for an all-zero channel, 0 when there is none.
float channel_grid(const ir::HostTensor& w, int64_t start, int64_t n) {
  const double amax = channel_amax(w, start, n);
  if (amax == 0) return 1.0f;
  if (!std::isfinite(amax)) return 0.0f;
  for (int k = 127; k >= 1; --k) {
    const double step = double(float(amax / k));
    bool fits = true;
    for (int64_t i = 0; i < n && fits; ++i) {
      const double q = w.get(start + i) / step;
      fits = std::abs(q - std::nearbyint(q)) <= 1e-3;
    }
    if (fits) return float(step);
  }
  return 0.0f;
}

}  // namespace

bool quantize_layer_weights(ir::Graph& g, WeightScales mode) {
  bool changed = false;
  for (ir::Node* n : g.nodes()) {
    if (!is_int8_layer(n->op) || n->inputs.size() < 2) continue;
    const ir::Value* x = n->inputs[0];
    if (!x->producer || x->producer->op != ir::OpKind::Dequantize) continue;
    ir::Value* w = n->inputs[1];
    if (!w->producer || w->producer->op != ir::OpKind::Constant || !ir::is_floating(w->type.dtype)) continue;
    const ir::HostTensor& wt = w->producer->attr<ir::ConstantAttrs>().value;
    // Conv2d weights are [O, I/g, kh, kw], Linear's [O, I]: output channel = dim 0.
    const int64_t out_ch = wt.shape.empty() ? 1 : wt.shape[0];
    const int64_t per = out_ch ? wt.numel() / out_ch : 0;
    ir::QuantizeAttrs qa;
    qa.axis = wt.shape.empty() ? -1 : 0;
    qa.scale = wt.shape.empty() ? ir::HostTensor(ir::DType::kFloat32, {}) : ir::HostTensor(ir::DType::kFloat32, {out_ch});
    qa.qmin = -127;
    qa.qmax = 127;
    bool on_grid = true;
    for (int64_t c = 0; c < out_ch && on_grid; ++c) {
      if (mode == WeightScales::kOwnGrid) {
        const float step = channel_grid(wt, c * per, per);
        on_grid = step > 0;
        qa.scale.set(c, step);
      } else {
        const double amax = channel_amax(wt, c * per, per);
        qa.scale.set(c, amax > 0 && std::isfinite(amax) ? double(float(amax / 127.0)) : 1.0);
      }
    }
    if (!on_grid) continue;  // not fake-quantized: a float weight
    // The int8 weight (evaluated here: a constant) and its Dequantize, which fuse_quantized_layers
    // takes into an INT8 layer, or folds back into the float weight on the grid.
    const ir::NodeEvaluator* eval = ir::find_node_evaluator();
    TRTORCH_CHECK(eval, "INT8 weights: no node evaluator is registered");
    ir::Node* qn = g.insert_before(n, ir::OpKind::Quantize, qa, {w}, w->producer->source);
    ir::HostTensor q8 = (*eval)(*qn, {wt})[0];
    g.remove_node(qn);
    ir::Value* qc = g.insert_before(n, ir::OpKind::Constant, ir::ConstantAttrs{std::move(q8)}, {}, w->producer->source)
                        ->outputs[0];
    ir::Node* dq = g.insert_before(n, ir::OpKind::Dequantize, ir::DequantizeAttrs{qa.axis, qa.scale, wt.dtype}, {qc},
                                   w->producer->source);
    g.set_input(n, 1, dq->outputs[0]);
    if (w->users.empty()) g.remove_node(w->producer);
    changed = true;
  }
  return changed;
}

}  // namespace trtorch::plan
