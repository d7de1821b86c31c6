#include "core/plan/int8_choice.h"

#include <algorithm>
#include <map>
#include <sstream>
#include <unordered_map>

#include "core/util/error.h"

namespace trtorch::plan {

namespace {

// Separates a node's source from its layer tag (a character no source holds).
constexpr char kTagMark = '\x1f';

bool is_layer_node(const ir::Node* n) {
  return n->op == ir::OpKind::Conv2d || n->op == ir::OpKind::QConv2d || n->op == ir::OpKind::Linear ||
         n->op == ir::OpKind::QLinear;
}

bool is_int8_layer_node(const ir::Node* n) { return n->op == ir::OpKind::QConv2d || n->op == ir::OpKind::QLinear; }

// The time of the INT8 layer `q` with the quantization work it brings (int8_choice.h).
double int8_layer_cost(const ir::Node* q, const std::vector<double>& t,
                       const std::unordered_map<const ir::Node*, size_t>& pos) {
  double c = t[pos.at(q)];
  const ir::Node* p = q->inputs[0]->producer;
  if (p && p->op == ir::OpKind::Quantize)
    c += t[pos.at(p)] / double(std::max<size_t>(p->outputs[0]->users.size(), 1));
  for (const ir::Node* u : q->outputs[0]->users)
    if (u->op == ir::OpKind::Dequantize) c += t[pos.at(u)];
  return c;
}

// Milliseconds per element of a stand-alone Quantize in this engine: the median over its Quantize
// nodes of their time per input element (0 when it has none).
double quantize_ms_per_element(const ir::Graph& g, const std::vector<double>& t) {
  std::vector<double> rates;
  const auto nodes = g.nodes();
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i]->op != ir::OpKind::Quantize || !nodes[i]->inputs[0]->type.is_static()) continue;
    const int64_t n = ir::numel_of(nodes[i]->inputs[0]->type.static_shape());
    if (n > 0 && t[i] > 0) rates.push_back(t[i] / double(n));
  }
  if (rates.empty()) return 0;
  std::nth_element(rates.begin(), rates.begin() + (rates.size() - 1) / 2, rates.end());
  return rates[(rates.size() - 1) / 2];
}

// Whether the INT8 layer `q` writes int8 that another INT8 layer reads: in float, its output would
// need a stand-alone Quantize for that reader.
bool feeds_int8_layers(const ir::Node* q) {
  const ir::Value* y = q->outputs[0];
  if (y->type.dtype != ir::DType::kInt8) return false;
  for (const ir::Node* u : y->users)
    if (is_int8_layer_node(u)) return true;
  return false;
}

}  // namespace

void tag_int8_layers(const std::vector<QuantizedInput>& layers) {
  for (const QuantizedInput& q : layers) q.node->source += str_cat(kTagMark, q.key);
}

void strip_int8_layer_tags(ir::Graph& g) {
  for (ir::Node* n : g.nodes()) {
    const size_t mark = n->source.find(kTagMark);
    if (mark != std::string::npos) n->source.resize(mark);
  }
}

std::vector<std::string> int8_layer_ids(const ir::Graph& g) {
  std::vector<std::string> ids;
  for (const ir::Node* n : g.nodes()) {
    const size_t mark = n->source.find(kTagMark);
    if (!is_layer_node(n) || mark == std::string::npos || n->inputs.size() < 2 || !n->inputs[1]->type.is_static()) {
      ids.emplace_back();
      continue;
    }
    std::ostringstream id;
    id << n->source.substr(mark + 1) << "|";
    const std::vector<int64_t> w = n->inputs[1]->type.static_shape();
    for (size_t i = 0; i < w.size(); ++i) id << (i ? "x" : "") << w[i];
    ids.push_back(id.str());
  }
  return ids;
}

Int8Choice choose_int8_layers(const ir::Graph& int8_graph, const std::vector<double>& int8_times,
                              const ir::Graph& float_graph, const std::vector<double>& float_times) {
  TRTORCH_CHECK(int8_times.size() == int8_graph.num_nodes() && float_times.size() == float_graph.num_nodes(),
                "one time per engine node");
  // The float engine's layers by id, with their times (an id that two nodes share, which no pass
  // makes, is left out).
  std::map<std::string, double> float_ms;
  std::map<std::string, int> float_seen;
  {
    const std::vector<std::string> ids = int8_layer_ids(float_graph);
    const auto nodes = float_graph.nodes();
    for (size_t i = 0; i < nodes.size(); ++i)
      if (!ids[i].empty() && !is_int8_layer_node(nodes[i]) && float_seen[ids[i]]++ == 0)
        float_ms.emplace(ids[i], float_times[i]);
    for (const auto& [id, n] : float_seen)
      if (n > 1) float_ms.erase(id);
  }
  Int8Choice choice;
  const double quantize_rate = quantize_ms_per_element(int8_graph, int8_times);
  const std::vector<std::string> ids = int8_layer_ids(int8_graph);
  const auto nodes = int8_graph.nodes();
  std::unordered_map<const ir::Node*, size_t> pos;
  for (size_t i = 0; i < nodes.size(); ++i) pos.emplace(nodes[i], i);
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!is_int8_layer_node(nodes[i]) || ids[i].empty()) continue;
    auto f = float_ms.find(ids[i]);
    if (f == float_ms.end()) continue;
    LayerTiming lt{ids[i].substr(0, ids[i].rfind('|')), int8_layer_cost(nodes[i], int8_times, pos), f->second};
    if (feeds_int8_layers(nodes[i]) && nodes[i]->outputs[0]->type.is_static())
      lt.float_ms += quantize_rate * double(ir::numel_of(nodes[i]->outputs[0]->type.static_shape()));
    if (lt.float_ms < lt.int8_ms) choice.float_layers.insert(lt.key);
    choice.timings.push_back(std::move(lt));
  }
  return choice;
}

std::string Int8Choice::str() const {
  std::ostringstream os;
  os << float_layers.size() << " of " << timings.size() << " INT8 layers are faster in float";
  int listed = 0;
  for (const LayerTiming& t : timings) {
    if (!float_layers.count(t.key)) continue;
    if (listed++ == 8) {
      os << "; ...";
      break;
    }
    os << (listed == 1 ? ": " : "; ") << t.key << " (INT8 " << t.int8_ms << " ms with its quantization, float "
       << t.float_ms << " ms)";
  }
  return os.str();
}

}  // namespace trtorch::plan
