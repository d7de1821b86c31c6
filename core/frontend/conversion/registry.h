// Converters (aten op -> IR nodes) and evaluators (compile-time values), keyed by schema.
//
// Each op family registers its converters from its own file:
//
//   static auto reg = RegisterConverters()
//       .pattern({{"aten::relu(Tensor self) -> Tensor", "aten::relu_(Tensor(a!) self) -> Tensor(a!)"},
//                 [](ConversionCtx& ctx, const torch::jit::Node* n) { ... }});
//
// One entry may list several schemas (overloads that share a body). An entry may carry a
// can-convert predicate so that support checks reject a node up front (dtype, rank, constness)
// instead of failing mid-conversion.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/frontend/conversion/context.h"

namespace trtorch::frontend {

using ConverterFn = std::function<void(ConversionCtx&, const torch::jit::Node*)>;
// Returns an empty string when the node can be converted, else the reason it cannot.
using CanConvertFn = std::function<std::string(const ConversionCtx&, const torch::jit::Node*)>;

struct ConverterPattern {
  std::vector<std::string> schemas;
  ConverterFn convert;
  CanConvertFn can_convert = nullptr;
};

class RegisterConverters {
 public:
  RegisterConverters& pattern(ConverterPattern p);
};

// Evaluators run at compile time on nodes that are not plain aten ops on known values
// (aten::size of an engine tensor, prim list ops over engine tensors). They are keyed by
// node kind; return false to decline (then the generic path is tried).
using EvaluatorFn = std::function<bool(ConversionCtx&, const torch::jit::Node*)>;

class RegisterEvaluators {
 public:
  RegisterEvaluators& kind(const std::string& qualified_kind, EvaluatorFn fn);
  // An evaluator of symbolic sizes (dynamic shapes): it handles the node only when an operand is
  // a symbolic size and otherwise declines, so it says nothing about whether the op is supported
  // (the static support check ignores it; a known-inputs op is evaluated as usual).
  RegisterEvaluators& size_kind(const std::string& qualified_kind, EvaluatorFn fn);
};

const ConverterPattern* find_converter(const torch::jit::Node* n);
// The node's evaluator, else its size evaluator, else null.
const EvaluatorFn* find_evaluator(const torch::jit::Node* n);
// The node's evaluator, not counting size evaluators (for the static support check).
const EvaluatorFn* find_value_evaluator(const torch::jit::Node* n);
// Every registered converter schema, sorted (for the README's list of supported ops).
std::vector<std::string> registered_schemas();
std::vector<std::string> registered_evaluator_kinds();

}  // namespace trtorch::frontend
