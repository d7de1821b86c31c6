// Drives conversion of a lowered TorchScript graph into an engine IR graph.
#pragma once

#include <torch/csrc/jit/ir/ir.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/ir/ir.h"

namespace trtorch::frontend {

// How the method's return value is rebuilt from the engine's flat list of outputs.
struct OutputTree {
  enum class Kind { kEngineOutput, kConstant, kTuple, kList, kDict };
  Kind kind = Kind::kEngineOutput;
  int engine_output = -1;      // kEngineOutput
  c10::IValue constant;        // kConstant
  c10::TypePtr type;           // kTuple / kList / kDict
  std::vector<OutputTree> items;  // kDict: key, value, key, value, ...
};

// One input's shapes: fixed (min == opt == max) or a range. Dims that differ between min and max
// are dynamic; dynamic dims of different inputs at the same position with the same range are taken
// to be one size (a batch or sequence length shared by all inputs).
struct InputSpec {
  std::vector<int64_t> min, opt, max;
  // The engine input's dtype; empty: from the method's declared type (see input_dtype()).
  std::optional<ir::DType> dtype;
};

struct ConvertedGraph {
  std::unique_ptr<ir::Graph> graph;  // FP32, before passes
  std::vector<std::string> input_names, output_names;
  std::vector<OutputTree> returns;   // one per graph output of the TorchScript method
  std::vector<std::vector<int64_t>> opt_shapes;  // per input: the shape tactics are chosen for
};

// Converts; throws trtorch::Error naming the first unsupported or invalid node. When `failed_at` is
// given it receives that node (null when the failure is not a node's, e.g. a bad input spec).
ConvertedGraph convert_graph(const std::shared_ptr<torch::jit::Graph>& g, const std::vector<InputSpec>& inputs,
                             const torch::jit::Node** failed_at = nullptr);

// Inserts into `g` the nodes that rebuild a returned value from the engine's outputs `outs`.
torch::jit::Value* rebuild_output(torch::jit::Graph& g, const OutputTree& t, const std::vector<torch::jit::Value*>& outs);

// Walks the whole graph (nested blocks too) and lists every node that has no converter and
// cannot be evaluated at compile time (one line each, with its schema and source location).
// Empty when everything is supported. Needs no input shapes.
std::vector<std::string> unsupported_nodes(const std::shared_ptr<torch::jit::Graph>& g);

}  // namespace trtorch::frontend
