#include "core/plan/int8_choice.h"

#include <algorithm>
#include <map>
#include <sstream>
#include <unordered_map>

#include "core/plan/calibration.h"
#include "core/util/error.h"

namespace trtorch::plan {

namespace {

const char* layer_family(ir::OpKind op) {
  switch (op) {
    case ir::OpKind::Conv2d:
    case ir::OpKind::QConv2d: return "conv";
    case ir::OpKind::Linear:
    case ir::OpKind::QLinear: return "linear";
    default: return nullptr;
  }
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

}  // namespace

std::vector<std::string> layer_ids(const ir::Graph& g) {
  std::vector<std::string> ids;
  std::map<std::string, int> seen;
  for (const ir::Node* n : g.nodes()) {
    const char* family = layer_family(n->op);
    if (!family || n->inputs.size() < 2 || !n->inputs[1]->type.is_static()) {
      ids.emplace_back();
      continue;
    }
    std::ostringstream sig;
    sig << family << "|" << n->source << "|";
    const std::vector<int64_t> w = n->inputs[1]->type.static_shape();
    for (size_t i = 0; i < w.size(); ++i) sig << (i ? "x" : "") << w[i];
    const int k = seen[sig.str()]++;
    ids.push_back(str_cat(sig.str(), "#", k));
  }
  return ids;
}

Int8Choice choose_int8_layers(const ir::Graph& source, const ir::Graph& int8_graph, const std::vector<double>& int8_times,
                              const ir::Graph& float_graph, const std::vector<double>& float_times) {
  TRTORCH_CHECK(int8_times.size() == int8_graph.num_nodes() && float_times.size() == float_graph.num_nodes(),
                "one time per engine node");
  // Layer id -> calibration key, from the graph the table was made for.
  std::map<std::string, std::string> key_of;
  {
    const std::vector<std::string> ids = layer_ids(source);
    std::unordered_map<const ir::Node*, size_t> pos;
    const auto nodes = source.nodes();
    for (size_t i = 0; i < nodes.size(); ++i) pos.emplace(nodes[i], i);
    for (const QuantizedInput& q : quantized_inputs(source))
      if (!ids[pos.at(q.node)].empty()) key_of.emplace(ids[pos.at(q.node)], q.key);
  }
  // The float engine's layers by id, with their times.
  std::map<std::string, double> float_ms;
  {
    const std::vector<std::string> ids = layer_ids(float_graph);
    const auto nodes = float_graph.nodes();
    for (size_t i = 0; i < nodes.size(); ++i)
      if (!ids[i].empty() && !is_int8_layer_node(nodes[i])) float_ms.emplace(ids[i], float_times[i]);
  }
  Int8Choice choice;
  const std::vector<std::string> ids = layer_ids(int8_graph);
  const auto nodes = int8_graph.nodes();
  std::unordered_map<const ir::Node*, size_t> pos;
  for (size_t i = 0; i < nodes.size(); ++i) pos.emplace(nodes[i], i);
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!is_int8_layer_node(nodes[i])) continue;
    auto key = key_of.find(ids[i]);
    auto f = float_ms.find(ids[i]);
    if (key == key_of.end() || f == float_ms.end()) continue;
    LayerTiming lt{key->second, nodes[i]->source, int8_layer_cost(nodes[i], int8_times, pos), f->second};
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
