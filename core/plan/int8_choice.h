// The per-layer precision of calibrated INT8 builds, chosen by timing (as TensorRT's implicit
// quantization chooses). Which layers *can* run in INT8 is a matter of shape
// (passes::int8_layer_fits); whether one *should* is a matter of time: an INT8 layer may cost more
// than its float version once the Quantize in front of it and the Dequantize behind it are
// counted (a wide tensor quantized by a stand-alone kernel, a small layer that tensor cores do not
// fill). build_engine lowers the graph with every fitting layer in INT8 and with none, has the
// backend build and time both engines node by node, and keeps in float the layers whose float
// version is faster; it then keeps whichever of the all-INT8 and the chosen engine is faster as a
// whole. Quantization-aware models keep their own quantization (explicit precision).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "core/ir/ir.h"
#include "core/plan/calibration.h"

namespace trtorch::plan {

// Layers are matched across the engine graphs by a tag: before its passes run, each lowering
// appends the layer's calibration key to the source of its Conv2d / Linear node (after the
// activation quantization, which reads the sources), and the passes carry a node's source into the
// nodes they make of it. The tags come off before an engine is returned.
void tag_int8_layers(const std::vector<QuantizedInput>& layers);
void strip_int8_layer_tags(ir::Graph& g);
// Per node in graph order: "<calibration key>|<weight shape>" for a tagged convolution or linear
// layer (Conv2d, QConv2d, Linear, QLinear), empty for others. The weight shape keeps apart a layer
// and what a pass merged it into (q, k and v packed into one QKV layer keep q's tag).
std::vector<std::string> int8_layer_ids(const ir::Graph& g);

// One layer's times (ms): as an INT8 layer with the Quantize and Dequantize work it brings, and as
// a float layer.
struct LayerTiming {
  std::string key;  // its calibration key (QuantizedInput::key)
  double int8_ms = 0, float_ms = 0;
};

struct Int8Choice {
  std::set<std::string> float_layers;  // calibration keys of the layers to keep in float
  std::vector<LayerTiming> timings;    // every layer both engines have, in the INT8 graph's order
  std::string str() const;             // the layers kept in float, with their times
};

// The choice, from the tagged engine graph with every fitting layer in INT8 and its per-node times,
// and the tagged engine graph with none and its times (one time per node in graph order,
// BackendBuildRequest::node_times). An INT8 layer (QConv2d, QLinear) costs its own time, its share
// of a stand-alone Quantize that makes its int8 input (divided among that Quantize's readers) and
// the Dequantize nodes that read its int8 output; its float version costs its own time, and where
// the INT8 layer writes int8 for another INT8 layer, the stand-alone Quantize that reader would then
// need (estimated from the engine's own Quantize nodes: the median time per element). A layer
// stays in INT8 unless its float version is faster; a layer that only one of the engines has
// (merged or removed by a pass) stays as it is.
Int8Choice choose_int8_layers(const ir::Graph& int8_graph, const std::vector<double>& int8_times,
                              const ir::Graph& float_graph, const std::vector<double>& float_times);

}  // namespace trtorch::plan
