// Partitioning for partial compilation: which nodes of a lowered TorchScript graph run in trtorch
// engines and which stay in TorchScript, grouped into engine segments.
//
// Every node gets a placement:
//   kEngine  converted into an engine (a converter, a structural list/tuple node over engine
//            tensors, or control flow on a compile-time condition whose blocks all convert);
//   kTorch   stays in TorchScript: unsupported, forced by the settings, side effects, data-dependent
//            control flow (its blocks are partitioned in turn), or a value it needs is computed in
//            TorchScript and is not a tensor;
//   kCopy    computes no tensor from data (constants, sizes, int arithmetic, lists of tensors): it is
//            copied into every segment that needs it and kept in TorchScript for the rest.
//
// Engine nodes of one block are grouped by dependencies, not program order: a node's segment is
// the earliest one after every TorchScript node it depends on, so two engine nodes share a segment
// unless a TorchScript node lies on a path between them. Engines exchange only tensors with the
// TorchScript around them; non-tensor values crossing a boundary send their consumer (or producer)
// to TorchScript. Segments smaller than min_block_size stay in TorchScript.
#pragma once

#include <torch/csrc/jit/ir/ir.h>

#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace trtorch::frontend {

enum class Placement { kEngine, kTorch, kCopy };

struct Segment {
  torch::jit::Block* block = nullptr;
  std::vector<torch::jit::Node*> nodes;     // program order
  std::vector<torch::jit::Value*> inputs;   // tensors from outside the segment, first use first
  std::vector<torch::jit::Value*> outputs;  // tensors the rest of the graph uses
  std::vector<torch::jit::Node*> copies;    // kCopy nodes the segment needs, program order
  size_t op_count = 0;                      // what min_block_size counts
};

struct Partition {
  std::unordered_map<const torch::jit::Node*, Placement> placement;
  std::unordered_map<const torch::jit::Node*, std::string> why_torch;  // every kTorch node
  std::unordered_map<const torch::jit::Node*, int> segment_of;         // every kEngine node
  std::unordered_map<const torch::jit::Node*, bool> copy_live;  // kCopy nodes that TorchScript still needs
  std::vector<Segment> segments;
};

// Nodes sent to TorchScript before partitioning (settings, conversion failures, unknown shapes),
// with the reason for the report.
using ForcedNodes = std::unordered_map<const torch::jit::Node*, std::string>;

Partition partition_graph(torch::jit::Graph& g, ForcedNodes& forced, int64_t min_block_size);

// Values some node mutates in place (the first input of an op with a mutable schema), anywhere in g.
std::unordered_set<const torch::jit::Value*> mutated_values(torch::jit::Graph& g);

// Nodes that must keep their order among themselves: side effects, or reading or writing a value
// in `mutated` (a dict filled with aten::_set_item is read after it is filled).
bool keeps_order(torch::jit::Node* n, const std::unordered_set<const torch::jit::Value*>& mutated);

// The first line of a message (an error's headline, without its "in <node>" context).
inline std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

inline bool is_tensor_value(const torch::jit::Value* v) { return v->type()->kind() == c10::TypeKind::TensorType; }

// Calls fn for every node of b and of the blocks nested in it, in program order.
void for_each_node(torch::jit::Block* b, const std::function<void(torch::jit::Node*)>& fn);

// The node of `b` that holds `n` (n itself when n is in b; null when n is not inside b).
torch::jit::Node* ancestor_in(torch::jit::Block* b, torch::jit::Node* n);

// Calls fn(value) for every input of n and of the nodes in its blocks that is defined outside n.
void for_each_outer_input(torch::jit::Node* n, const std::function<void(torch::jit::Value*)>& fn);

}  // namespace trtorch::frontend
