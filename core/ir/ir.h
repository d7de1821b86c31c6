// The engine IR: Graph, Node, Value and tensor types.
//
// A Graph owns its nodes (kept in a valid topological order) and values. Graph inputs are
// values without a producer; weights are Constant nodes. Dims may be symbolic with a
// [min, max] range (dynamic shapes).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/ir/attrs.h"

namespace trtorch::ir {

enum class OpKind : uint8_t {
#define TRTORCH_OP(Name, MinIn, MaxIn, MaxOut) Name,
#include "core/ir/ops.def"
#undef TRTORCH_OP
  kNumOps
};
constexpr int kNumOps = int(OpKind::kNumOps);

struct OpInfo {
  const char* name;
  int min_inputs, max_inputs, max_outputs;
};
const OpInfo& op_info(OpKind k);
// Reverse lookup; returns false if no op has that name.
bool op_from_name(const std::string& name, OpKind* out);

using Attrs = std::variant<
#define TRTORCH_OP(Name, MinIn, MaxIn, MaxOut) Name##Attrs,
#include "core/ir/ops.def"
#undef TRTORCH_OP
    std::monostate>;
static_assert(std::variant_size_v<Attrs> == kNumOps + 1, "one attribute struct per op");

struct TensorType {
  DType dtype = DType::kFloat32;
  std::vector<Dim> dims;

  TensorType() = default;
  TensorType(DType t, std::vector<Dim> d) : dtype(t), dims(std::move(d)) {}
  static TensorType fixed(DType t, const std::vector<int64_t>& shape);
  int64_t rank() const { return int64_t(dims.size()); }
  bool is_static() const;
  std::vector<int64_t> static_shape() const;  // checks is_static()
  bool operator==(const TensorType& o) const { return dtype == o.dtype && dims == o.dims; }
  bool operator!=(const TensorType& o) const { return !(*this == o); }
  std::string str() const;
};

class Node;

struct Value {
  int id = -1;
  TensorType type;
  Node* producer = nullptr;  // null for graph inputs
  std::string name;          // debug name (from the source graph)
  std::vector<Node*> users;  // maintained by Graph
};

class Node {
 public:
  OpKind op;
  Attrs attrs;
  std::vector<Value*> inputs;
  std::vector<Value*> outputs;
  std::string source;  // where the node came from: "aten::conv2d at model.py:12"

  template <typename T>
  T& attr() { return std::get<T>(attrs); }
  template <typename T>
  const T& attr() const { return std::get<T>(attrs); }
  const char* name() const { return op_info(op).name; }
};

class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  Value* add_input(TensorType type, std::string name);
  // Appends a node; output types come from shape inference.
  Node* add_node(OpKind op, Attrs attrs, const std::vector<Value*>& inputs, std::string source = "");
  // As add_node, but inserted before `before` in the node order.
  Node* insert_before(Node* before, OpKind op, Attrs attrs, const std::vector<Value*>& inputs,
                      std::string source = "");
  Value* add_constant(HostTensor t, std::string source = "");
  void mark_output(Value* v) { outputs_.push_back(v); }

  // Redirects every use (and graph output) of `from` to `to`.
  void replace_all_uses(Value* from, Value* to);
  // Removes a node whose outputs have no uses.
  void remove_node(Node* n);
  void set_input(Node* n, size_t i, Value* v);
  // Recomputes a node's output types (after an attribute or input change).
  void reinfer(Node* n);

  const std::vector<Value*>& inputs() const { return inputs_; }
  const std::vector<Value*>& outputs() const { return outputs_; }
  std::vector<Value*>& mutable_outputs() { return outputs_; }
  // Nodes in topological order.
  std::vector<Node*> nodes() const;
  size_t num_nodes() const { return nodes_.size(); }
  bool is_output(const Value* v) const;
  int num_values() const { return int(values_.size()); }
  std::unique_ptr<Graph> clone() const;
  std::string str() const;

 private:
  Value* new_value(TensorType t);
  Node* make_node(OpKind op, Attrs attrs, const std::vector<Value*>& inputs, std::string source);

  std::vector<std::unique_ptr<Value>> values_;
  std::vector<std::unique_ptr<Node>> nodes_;  // topological order
  std::vector<Value*> inputs_, outputs_;
};

// Output types of `op` given its attributes and input types; throws trtorch::Error naming the
// op when the inputs are invalid.
std::vector<TensorType> infer_types(OpKind op, const Attrs& attrs, const std::vector<TensorType>& in);

// Checks structure (op arity, attribute kind, use lists, topological order, value ownership)
// and that every recorded type equals its inferred type. Throws trtorch::Error.
void verify(const Graph& g);

// Dynamic shapes. A graph is dynamic when an input has a symbolic dim (each such dim is one input
// symbol with a range). bind_symbols checks actual input shapes against the inputs' types and
// ranges (the error names the input, the dimension, the range and the value) and returns the
// symbols' values; specialize returns a static copy of the graph for those shapes: same nodes in
// the same order, symbolic attribute sizes evaluated, types re-inferred.
bool is_dynamic(const Graph& g);
SymBindings bind_symbols(const Graph& g, const std::vector<std::vector<int64_t>>& shapes);
std::unique_ptr<Graph> specialize(const Graph& g, const std::vector<std::vector<int64_t>>& shapes);

// Textual form of attributes, e.g. "stride=[1,1], groups=1".
std::string attrs_str(const Attrs& a);
bool attrs_equal(const Attrs& a, const Attrs& b);

}  // namespace trtorch::ir
