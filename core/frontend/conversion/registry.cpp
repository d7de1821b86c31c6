// The converter and evaluator registries (see registry.h): converters keyed by the operator name
// and overload of their schemas (a schema registered twice is an error), evaluators by node kind.
#include "core/frontend/conversion/registry.h"

#include <torch/csrc/jit/frontend/function_schema_parser.h>

#include <algorithm>
#include <map>
#include <memory>

#include "core/util/error.h"

namespace trtorch::frontend {

namespace {

// Keyed by operator name and overload ("aten::add.Tensor").
struct Registry {
  std::map<std::string, std::shared_ptr<ConverterPattern>> converters;
  std::vector<std::string> schemas;
  std::map<std::string, EvaluatorFn> evaluators;
  std::map<std::string, EvaluatorFn> size_evaluators;
};

Registry& registry() {
  static Registry r;
  return r;
}

std::string op_key(const c10::OperatorName& name) {
  return name.overload_name.empty() ? name.name : name.name + "." + name.overload_name;
}

}  // namespace

RegisterConverters& RegisterConverters::pattern(ConverterPattern p) {
  auto shared = std::make_shared<ConverterPattern>(std::move(p));
  for (const std::string& s : shared->schemas) {
    auto parsed = torch::jit::parseSchema(s);
    std::string key = op_key(parsed.operator_name());
    TRTORCH_CHECK(!registry().converters.count(key), "converter for ", key, " registered twice");
    registry().converters[key] = shared;
    registry().schemas.push_back(c10::toString(parsed));
  }
  return *this;
}

RegisterEvaluators& RegisterEvaluators::kind(const std::string& qualified_kind, EvaluatorFn fn) {
  TRTORCH_CHECK(!registry().evaluators.count(qualified_kind), "evaluator for ", qualified_kind,
                " registered twice");
  registry().evaluators[qualified_kind] = std::move(fn);
  return *this;
}

RegisterEvaluators& RegisterEvaluators::size_kind(const std::string& qualified_kind, EvaluatorFn fn) {
  TRTORCH_CHECK(!registry().size_evaluators.count(qualified_kind), "size evaluator for ", qualified_kind,
                " registered twice");
  registry().size_evaluators[qualified_kind] = std::move(fn);
  return *this;
}

const ConverterPattern* find_converter(const torch::jit::Node* n) {
  const c10::FunctionSchema* s = n->maybeSchema();
  if (!s) return nullptr;
  auto it = registry().converters.find(op_key(s->operator_name()));
  return it == registry().converters.end() ? nullptr : it->second.get();
}

const EvaluatorFn* find_value_evaluator(const torch::jit::Node* n) {
  auto it = registry().evaluators.find(n->kind().toQualString());
  return it == registry().evaluators.end() ? nullptr : &it->second;
}

const EvaluatorFn* find_evaluator(const torch::jit::Node* n) {
  if (const EvaluatorFn* e = find_value_evaluator(n)) return e;
  auto it = registry().size_evaluators.find(n->kind().toQualString());
  return it == registry().size_evaluators.end() ? nullptr : &it->second;
}

std::vector<std::string> registered_schemas() {
  auto s = registry().schemas;
  std::sort(s.begin(), s.end());
  return s;
}

std::vector<std::string> registered_evaluator_kinds() {
  std::vector<std::string> r;
  for (auto& [k, v] : registry().evaluators) r.push_back(k);
  return r;
}

}  // namespace trtorch::frontend
