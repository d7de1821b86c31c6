// Checks of the partial-compilation settings (see settings.h).
#include "core/frontend/partitioning/settings.h"

#include <torch/csrc/jit/frontend/function_schema_parser.h>
#include <torch/csrc/jit/runtime/operator.h>

#include <cctype>

#include "core/util/error.h"

namespace trtorch::frontend {

namespace {

// "aten::relu" names every overload; "aten::add.Tensor" one overload; a full schema one operator.
void check_op_name(const std::string& name) {
  TRTORCH_EXPECT(!name.empty(), "torch_executed_ops: an empty op name");
  if (name.find('(') != std::string::npos) {
    c10::FunctionSchema schema = [&] {
      try {
        return torch::jit::parseSchema(name);
      } catch (const std::exception& e) {
        TRTORCH_ERROR("torch_executed_ops: '", name, "' is not a valid schema: ", e.what());
      }
    }();
    // The same operator: name, overload, and argument and return types (defaults may be left out).
    auto same = [&](const c10::FunctionSchema& s) {
      if (s.operator_name() != schema.operator_name() || s.arguments().size() != schema.arguments().size() ||
          s.returns().size() != schema.returns().size())
        return false;
      for (size_t i = 0; i < s.arguments().size(); ++i)
        if (s.arguments()[i].type()->str() != schema.arguments()[i].type()->str()) return false;
      for (size_t i = 0; i < s.returns().size(); ++i)
        if (s.returns()[i].type()->str() != schema.returns()[i].type()->str()) return false;
      return true;
    };
    for (const auto& op : torch::jit::getAllOperatorsFor(c10::Symbol::fromQualString(schema.name())))
      if (same(op->schema())) return;
    TRTORCH_ERROR("torch_executed_ops: no operator has the schema '", name, "'");
  }
  const size_t sep = name.find("::");
  TRTORCH_EXPECT(sep != std::string::npos && sep > 0 && sep + 2 < name.size(), "torch_executed_ops: '", name,
                 "' is not an op name (expected namespace::name, e.g. aten::relu, or a full schema)");
  std::string base = name;
  std::string overload;
  const size_t dot = name.find('.', sep);
  if (dot != std::string::npos) {
    base = name.substr(0, dot);
    overload = name.substr(dot + 1);
  }
  const auto ops = torch::jit::getAllOperatorsFor(c10::Symbol::fromQualString(base));
  TRTORCH_EXPECT(!ops.empty(), "torch_executed_ops: unknown operator '", name,
                 "' (no operator of that name is registered; custom ops must be loaded before compiling)");
  if (overload.empty()) return;
  for (const auto& op : ops)
    if (op->schema().overload_name() == overload) return;
  TRTORCH_ERROR("torch_executed_ops: operator '", base, "' has no overload '", overload, "'");
}

}  // namespace

void check_partition_settings(const PartitionSettings& s) {
  TRTORCH_EXPECT(s.min_block_size >= 1 && s.min_block_size <= kMaxMinBlockSize, "min_block_size must be 1 to ",
                 kMaxMinBlockSize, ", got ", s.min_block_size);
  if (s.require_full_compilation) {
    TRTORCH_EXPECT(s.torch_executed_ops.empty() && s.torch_executed_modules.empty(),
                   "conflicting settings: require_full_compilation is set, yet torch_executed_ops / "
                   "torch_executed_modules ask for ops to run in TorchScript");
  }
  for (const auto& op : s.torch_executed_ops) check_op_name(op);
  for (const auto& m : s.torch_executed_modules) {
    TRTORCH_EXPECT(!m.empty(), "torch_executed_modules: an empty module name");
    for (char c : m)
      TRTORCH_EXPECT(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.', "torch_executed_modules: '",
                     m, "' is not a qualified class name (letters, digits, '_' and '.')");
  }
}

}  // namespace trtorch::frontend
