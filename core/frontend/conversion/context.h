// Conversion of a lowered TorchScript graph into the engine IR.
//
// Every TorchScript value maps to an Arg: an IR tensor (computed by the engine), a
// compile-time IValue (constants, shapes, ints, weights), a symbolic size (an int that depends on
// a dynamic input dimension: aten::size of a dynamic dim and arithmetic on it; traced graphs also
// carry it as a 0-dim tensor through prim::NumToTensor), or a list/tuple of Args (a list of IR
// tensors for aten::cat, the outputs of aten::chunk, a returned tuple, a shape with symbolic
// sizes).
#pragma once

#include <torch/csrc/jit/ir/ir.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/ir/ir.h"

namespace trtorch::frontend {

struct Arg {
  enum class Kind { kTensor, kIValue, kList, kSymInt };
  Kind kind = Kind::kIValue;
  ir::Value* tensor = nullptr;
  c10::IValue ivalue;
  ir::Dim dim;             // kSymInt
  std::vector<Arg> items;  // kList
  c10::TypePtr type;       // kList: the TorchScript list/tuple type

  static Arg of_tensor(ir::Value* v) {
    Arg a;
    a.kind = Kind::kTensor;
    a.tensor = v;
    return a;
  }
  static Arg of_ivalue(c10::IValue v) {
    Arg a;
    a.kind = Kind::kIValue;
    a.ivalue = std::move(v);
    return a;
  }
  // A size: a compile-time int when static, else a symbolic size.
  static Arg of_dim(const ir::Dim& d) {
    if (d.is_static()) return of_ivalue(d.min);
    Arg a;
    a.kind = Kind::kSymInt;
    a.dim = d;
    return a;
  }
  static Arg of_list(std::vector<Arg> items, c10::TypePtr type) {
    Arg a;
    a.kind = Kind::kList;
    a.items = std::move(items);
    a.type = std::move(type);
    return a;
  }
};

// "aten::conv2d(Tensor input, ...) -> Tensor at model.py:12"
std::string describe(const torch::jit::Node* n);
std::string source_location(const torch::jit::Node* n);

class ConversionCtx {
 public:
  explicit ConversionCtx(ir::Graph& g) : graph(g) {}

  ir::Graph& graph;
  const torch::jit::Node* node = nullptr;  // the node being converted

  bool has(const torch::jit::Value* v) const { return values_.count(v) > 0; }
  const Arg& arg(const torch::jit::Value* v) const;
  void set(const torch::jit::Value* v, Arg a) { values_[v] = std::move(a); }

  // True when v is known at compile time (not computed by the engine).
  bool is_const(const torch::jit::Value* v) const;
  bool is_none(const torch::jit::Value* v) const;
  c10::IValue ivalue(const torch::jit::Value* v) const;  // error when v is computed by the engine
  int64_t to_int(const torch::jit::Value* v) const;
  double to_double(const torch::jit::Value* v) const;
  bool to_bool(const torch::jit::Value* v) const;
  std::vector<int64_t> to_ints(const torch::jit::Value* v) const;
  // The items of a list or tuple value as Args (a compile-time one gives one Arg per element);
  // false when v is not a list or tuple.
  bool list_items(const torch::jit::Value* v, std::vector<Arg>* out) const;
  // Sizes that may be symbolic (view/reshape/expand sizes, slice bounds).
  bool is_size(const torch::jit::Value* v) const;  // an int, a 0-dim int tensor or a symbolic size
  ir::Dim to_dim(const torch::jit::Value* v) const;
  std::vector<ir::Dim> to_dims(const torch::jit::Value* v) const;

  // The IR tensor for v; a compile-time tensor or scalar becomes a Constant node.
  ir::Value* tensor(const torch::jit::Value* v);
  // Like tensor(), with a compile-time scalar or tensor converted to `dtype`.
  ir::Value* tensor_as(const torch::jit::Value* v, ir::DType dtype);
  std::vector<ir::Value*> tensor_list(const torch::jit::Value* v);
  ir::Value* constant(const at::Tensor& t);
  ir::Value* scalar_constant(double v, ir::DType dtype);

  // Adds an IR node named after the current TorchScript node.
  ir::Value* add(ir::OpKind op, ir::Attrs attrs, const std::vector<ir::Value*>& inputs);
  void set_output(size_t i, ir::Value* v) { set(node->output(i), Arg::of_tensor(v)); }

  [[noreturn]] void fail(const std::string& why) const;

 private:
  std::unordered_map<const torch::jit::Value*, Arg> values_;
  std::unordered_map<const torch::jit::Value*, ir::Value*> materialized_;
};

// A dim index normalized against a rank (negative counts from the end), with a clear error.
int64_t normalize_dim(const ConversionCtx& ctx, int64_t dim, int64_t rank);

}  // namespace trtorch::frontend
