// Rewrites and analyses of the lowered graph before partitioning (see rewrites.h).
#include "core/frontend/partitioning/rewrites.h"

#include <functional>
#include <set>
#include <unordered_set>

#include "core/util/error.h"

namespace trtorch::frontend {

using torch::jit::Block;
using torch::jit::Node;
using torch::jit::Value;

// Values whose shape (for a scalar: whose value) may depend on tensor data, each with the op it
// comes from: outputs of ops whose output shape depends on the data (nonzero, masked_select,
// unique, nms, boolean-mask indexing, ...), scalars read from tensor data (.item(), int(t)), and
// everything computed from them. The sample runs may see such a tensor at one shape by chance
// (detections capped at 100 on random weights); an engine fixed to it would refuse other data.

DataDependent data_dependent_values(torch::jit::Graph& g, const ShapeMap& shapes) {
  static const std::set<std::string> shape_from_data = {
      "aten::nonzero", "aten::nonzero_numpy", "aten::argwhere", "aten::masked_select", "aten::unique",
      "aten::_unique", "aten::_unique2", "aten::unique_dim", "aten::unique_consecutive",
      "aten::unique_dim_consecutive", "aten::repeat_interleave", "aten::bincount", "torchvision::nms",
      "torchvision::batched_nms"};
  static const std::set<std::string> scalar_from_data = {
      "aten::item", "aten::_local_scalar_dense", "aten::Int", "aten::Float", "aten::Bool", "aten::IntImplicit",
      "aten::FloatImplicit", "aten::ScalarImplicit", "prim::tolist", "aten::tolist"};
  DataDependent out;
  // Tensors that hold sizes (a traced model's prim::NumToTensor and arithmetic on it): int() of one
  // is shape arithmetic, not data.
  std::unordered_set<const Value*> size_tensors;
  auto bool_dtype = [&](const Value* v) {
    auto it = shapes.find(v);
    return it != shapes.end() && it->second.seen &&
           (it->second.dtype == at::kBool || it->second.dtype == at::kByte);
  };
  std::function<void(Block*)> walk = [&](Block* b) {
    for (Node* n : b->nodes()) {
      const std::string kind = n->kind().toQualString();
      std::string origin;
      if (shape_from_data.count(kind) || (n->kind() == c10::aten::where && n->inputs().size() == 1)) {
        origin = kind;
      } else if (scalar_from_data.count(kind) && !n->inputs().empty() && is_tensor_value(n->input(0)) &&
                 !size_tensors.count(n->input(0))) {
        origin = kind;
      } else if (n->kind() == c10::aten::index && n->inputs().size() == 2 &&
                 n->input(1)->node()->kind() == c10::prim::ListConstruct) {
        for (const Value* idx : n->input(1)->node()->inputs())
          if (bool_dtype(idx)) origin = "aten::index with a boolean mask";
      }
      // Control flow on data does not make shapes data-dependent by itself (the sample runs see each
      // branch's shapes, and a shape that changes between iterations): its outputs are tainted by
      // what its blocks give back, below.
      if (origin.empty() && n->blocks().empty()) {
        for_each_outer_input(n, [&](Value* v) {
          auto it = out.find(v);
          if (origin.empty() && it != out.end()) origin = it->second;
        });
      }
      // Loop-carried values: tainted when what enters or what the body gives back is.
      for (Block* sub : n->blocks()) {
        if (n->kind() == c10::prim::Loop) {
          for (int round = 0; round < 2; ++round) {
            for (size_t i = 0; i + 2 < n->inputs().size() && i + 1 < sub->inputs().size(); ++i) {
              auto from_in = out.find(n->input(i + 2));
              auto from_body = out.find(sub->outputs()[i + 1]);
              if (from_in != out.end()) out.emplace(sub->inputs()[i + 1], from_in->second);
              else if (from_body != out.end()) out.emplace(sub->inputs()[i + 1], from_body->second);
            }
            walk(sub);
          }
        } else {
          walk(sub);
        }
      }
      if (origin.empty() && !n->blocks().empty()) {
        // prim::If: block i's outputs are the node's; prim::Loop: the body's carried outputs follow the
        // condition output.
        const size_t skip = n->kind() == c10::prim::Loop ? 1 : 0;
        for (size_t i = 0; i < n->outputs().size() && origin.empty(); ++i)
          for (Block* sub : n->blocks()) {
            if (i + skip >= sub->outputs().size()) continue;
            auto it = out.find(sub->outputs()[i + skip]);
            if (it != out.end()) origin = it->second;
          }
        if (n->kind() == c10::prim::Loop)
          for (size_t i = 0; i + 2 < n->inputs().size() && i < n->outputs().size() && origin.empty(); ++i) {
            auto it = out.find(n->input(i + 2));
            if (it != out.end()) origin = it->second;
          }
      }
      if (!origin.empty()) {
        for (const Value* o : n->outputs()) out.emplace(o, origin);
        continue;
      }
      bool sizes_only = n->kind() == c10::prim::NumToTensor;
      if (!sizes_only) {
        size_t tensors = 0, sizes = 0;
        for (const Value* v : n->inputs()) {
          tensors += is_tensor_value(v);
          sizes += size_tensors.count(v);
        }
        sizes_only = tensors > 0 && sizes == tensors;
      }
      if (sizes_only)
        for (const Value* o : n->outputs()) size_tensors.insert(o);
    }
  };
  walk(g.block());
  return out;
}

// A List[Tensor] argument of a known length is unpacked on entry and rebuilt as a new list, so
// that engine segments can take its tensors (torch.cat(xs) compiles). Not where the method
// mutates the caller's list.
void unpack_list_inputs(torch::jit::Graph& g, const std::vector<size_t>& counts) {
  for (size_t i = 1; i < g.inputs().size(); ++i) {
    Value* xs = g.inputs()[i];
    if (xs->type()->kind() != c10::TypeKind::ListType || xs->uses().empty()) continue;
    bool mutated = false;
    for (const auto& u : xs->uses())
      mutated = mutated || (u.user->maybeSchema() && u.user->maybeSchema()->is_mutable());
    if (mutated) continue;
    torch::jit::WithInsertPoint guard(g.block()->nodes().front());
    Node* unpack = g.insertNode(g.createListUnpack(xs, counts[i - 1]));
    Node* rebuilt = g.insertNode(g.createList(c10::TensorType::get(), unpack->outputs()));
    xs->replaceAllUsesAfterNodeWith(unpack, rebuilt->output());
  }
}

// True when `v` is fixed by the compile spec: computed only from constants, tensors' ranks and
// dtypes, and (when every input shape is fixed) the sizes of the method's tensor arguments; never
// from data, an intermediate's size or a non-tensor argument. Such a branch condition takes its one value in the sample runs on every input.
namespace {

bool fixed_by_spec(const Value* v, bool static_shapes, int depth = 0) {
  const Node* n = v->node();
  const auto k = n->kind();
  if (depth > 64) return false;
  if (k == c10::prim::Constant) return true;
  static const c10::Symbol numel = c10::Symbol::fromQualString("aten::numel");
  static const c10::Symbol is_cuda = c10::Symbol::fromQualString("prim::is_cuda");
  if (k == c10::aten::dim || k == c10::prim::dtype || k == c10::prim::device || k == is_cuda) return true;
  if (k == c10::aten::size || k == numel) {
    // Sizes of the method's own tensor arguments only: an intermediate's may depend on the data.
    if (!static_shapes || n->input(0)->node()->kind() != c10::prim::Param ||
        n->input(0)->node()->owningBlock() != n->owningGraph()->block())
      return false;
    for (size_t i = 1; i < n->inputs().size(); ++i)
      if (!fixed_by_spec(n->input(i), static_shapes, depth + 1)) return false;
    return true;
  }
  if (k == c10::prim::Param || !n->blocks().empty() || n->hasSideEffects()) return false;
  const c10::FunctionSchema* schema = n->maybeSchema();
  const bool pure_scalar_op = (schema && !schema->is_mutable() && (k.is_aten() || k.is_prim())) ||
                              k == c10::prim::ListConstruct || k == c10::prim::TupleConstruct ||
                              k == c10::prim::TupleIndex || k == c10::prim::ListUnpack;
  if (!pure_scalar_op) return false;
  for (const Value* in : n->inputs())
    if (is_tensor_value(in) || !fixed_by_spec(in, static_shapes, depth + 1)) return false;
  return true;
}

void erase_forced(Block* b, ForcedNodes& forced) {
  for (Node* n : b->nodes()) {
    forced.erase(n);
    for (Block* sub : n->blocks()) erase_forced(sub, forced);
  }
}

}  // namespace

// Inlines the taken branch of every prim::If whose condition the compile spec fixes (a rank or dtype
// test in F.interpolate, a size test of a static model), so that the ops of branches no input can
// take never hold back the rest. Returns how many it inlined.
size_t fold_fixed_branches(Block* b, const ShapeMap& shapes, bool static_shapes, ForcedNodes& forced) {
  size_t folded = 0;
  std::vector<Node*> nodes(b->nodes().begin(), b->nodes().end());
  for (Node* n : nodes) {
    if (n->kind() == c10::prim::If) {
      auto it = shapes.find(n->input(0));
      if (it != shapes.end() && it->second.constant_flag && fixed_by_spec(n->input(0), static_shapes)) {
        Block* taken = n->blocks()[*it->second.constant_flag ? 0 : 1];
        erase_forced(n->blocks()[*it->second.constant_flag ? 1 : 0], forced);
        std::vector<Node*> inner(taken->nodes().begin(), taken->nodes().end());
        for (Node* m : inner) m->moveBefore(n);
        for (size_t i = 0; i < n->outputs().size(); ++i) n->output(i)->replaceAllUsesWith(taken->outputs()[i]);
        forced.erase(n);
        n->destroy();
        ++folded;
        // The inlined nodes are this block's now: look at them again (an If inside the taken branch).
        return folded + fold_fixed_branches(b, shapes, static_shapes, forced);
      }
    }
    for (Block* sub : n->blocks()) folded += fold_fixed_branches(sub, shapes, static_shapes, forced);
  }
  return folded;
}

}  // namespace trtorch::frontend
