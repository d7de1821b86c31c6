// Shape analysis (see shape_analysis.h): the graph is instrumented with a recording op after
// every tensor value, run by the TorchScript interpreter on sample inputs, and left as it was.
#include "core/frontend/partitioning/shape_analysis.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/jit/runtime/interpreter.h>
#include <torch/library.h>
#include <torch/torch.h>

#include <functional>
#include <set>
#include <string>
#include <tuple>

#include "core/frontend/conversion/context.h"
#include "core/frontend/dtype_map.h"
#include "core/frontend/lowering/aliases.h"
#include "core/util/error.h"
#include "core/util/logging.h"

namespace trtorch::frontend {

namespace {

struct Observation {
  std::vector<int64_t> shape;
  c10::ScalarType dtype = c10::ScalarType::Undefined;  // Undefined: a bool (a branch condition)
  bool flag = false;
};

// The recording op writes here while a sample runs on this thread.
thread_local std::vector<std::vector<Observation>>* g_observations = nullptr;

// Takes Any: a Tensor-typed value may hold prim::Uninitialized on a path that raises.
void record(const c10::IValue& v, int64_t id) {
  if (!g_observations || id < 0 || size_t(id) >= g_observations->size()) return;
  if (v.isBool()) {
    (*g_observations)[size_t(id)].push_back({{}, c10::ScalarType::Undefined, v.toBool()});
    return;
  }
  if (!v.isTensor()) return;
  const at::Tensor& t = v.toTensor();
  if (!t.defined()) return;
  (*g_observations)[size_t(id)].push_back({t.sizes().vec(), t.scalar_type(), false});
}

TORCH_LIBRARY_FRAGMENT(trtorch_analysis, m) {
  m.def(torch::schema("record(Any t, int id) -> ()", c10::AliasAnalysisKind::CONSERVATIVE), record);
}

bool is_tensor(const torch::jit::Value* v) { return v->type()->kind() == c10::TypeKind::TensorType; }

// Inserts a record node for every tensor value of `b` (block inputs and node outputs, nested
// blocks too); `values[id]` is the recorded value.
void instrument(torch::jit::Graph& g, torch::jit::Block* b, std::vector<torch::jit::Value*>& values,
                std::vector<torch::jit::Node*>& added) {
  static const c10::Symbol kRecord = c10::Symbol::fromQualString("trtorch_analysis::record");
  auto add = [&](torch::jit::Value* v, torch::jit::Node* after, torch::jit::Block* at_start,
                 torch::jit::Node* before = nullptr) {
    torch::jit::WithInsertPoint guard(before ? before : at_start ? at_start->nodes().front() : after->next());
    torch::jit::Value* id = g.insertConstant(int64_t(values.size()));
    torch::jit::Node* rec = g.insertNode(g.create(kRecord, {v, id}, 0));
    added.push_back(id->node());
    added.push_back(rec);
    values.push_back(v);
  };
  for (torch::jit::Value* in : b->inputs())
    if (is_tensor(in)) add(in, nullptr, b);
  std::vector<torch::jit::Node*> nodes(b->nodes().begin(), b->nodes().end());
  for (torch::jit::Node* n : nodes) {
    // Branch conditions too: one that is the same in every run may be a compile-time constant.
    if (n->kind() == c10::prim::If) add(n->input(0), nullptr, nullptr, n);
    for (torch::jit::Block* sub : n->blocks()) instrument(g, sub, values, added);
    // Record after the node, last output first so that the records stay in output order.
    for (size_t i = n->outputs().size(); i-- > 0;)
      if (is_tensor(n->output(i))) add(n->output(i), n, nullptr);
  }
}

// One sample input for a spec: normal for floating inputs (positive-only or negative-only in the
// later draws, so that sign tests take either branch), 0 or 1 for integer and bool inputs.
at::Tensor sample(const std::vector<int64_t>& shape, c10::ScalarType dtype, int draw, const c10::Device& device) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(uint64_t(1234 + draw));
  at::Tensor t;
  if (at::isFloatingType(dtype)) {
    t = at::randn(shape, gen, at::TensorOptions().dtype(at::kFloat));
    if (draw == 2) t = t.abs();
    if (draw == 3) t = -t.abs();
  } else {
    t = at::randint(0, 2, shape, gen, at::TensorOptions().dtype(at::kLong));
  }
  return t.to(device, dtype);
}

// The keys a method reads from its Dict[str, Tensor] argument `v` (constant keys of
// aten::__getitem__), sorted: the order in which their shapes are given.
std::vector<std::string> dict_keys(const torch::jit::Value* v, size_t i) {
  std::set<std::string> keys;
  for (const auto& u : v->uses()) {
    const torch::jit::Node* n = u.user;
    auto key = n->inputs().size() == 2 && u.offset == 0 ? torch::jit::toIValue(n->input(1)) : std::nullopt;
    TRTORCH_EXPECT(n->kind() == c10::aten::__getitem__ && key && key->isString(), "input ", i, " ('", v->debugName(),
                   "') is a dict; a dict input must be read only with constant keys (d[\"name\"]), but ",
                   describe(n), " reads it");
    keys.insert(key->toStringRef());
  }
  return {keys.begin(), keys.end()};
}

// How many tensors an argument of type t takes from the flat list of shapes; -1 for a list (its
// length is what the other arguments leave).
int64_t fixed_leaves(const c10::TypePtr& t, const torch::jit::Value* v, size_t i) {
  switch (t->kind()) {
    case c10::TypeKind::OptionalType: return 0;  // sampled as None (a detection model's targets)
    case c10::TypeKind::TensorType: return 1;
    case c10::TypeKind::TupleType: {
      int64_t n = 0;
      for (const auto& e : t->expectRef<c10::TupleType>().elements()) {
        int64_t k = fixed_leaves(e, nullptr, i);
        TRTORCH_EXPECT(k >= 0, "input ", i, ": a list inside a tuple is not supported as an input");
        n += k;
      }
      return n;
    }
    case c10::TypeKind::ListType:
      TRTORCH_EXPECT(t->expectRef<c10::ListType>().getElementType()->kind() == c10::TypeKind::TensorType, "input ", i,
                     " has type ", t->str(), "; list inputs must be List[Tensor]");
      return -1;
    case c10::TypeKind::DictType:
      TRTORCH_EXPECT(v && t->expectRef<c10::DictType>().getKeyType()->kind() == c10::TypeKind::StringType &&
                         t->expectRef<c10::DictType>().getValueType()->kind() == c10::TypeKind::TensorType,
                     "input ", i, " has type ", t->str(), "; dict inputs must be Dict[str, Tensor] arguments");
      return int64_t(dict_keys(v, i).size());
    default:
      TRTORCH_ERROR("input ", i, v ? str_cat(" ('", v->debugName(), "')") : std::string(), " has type ", t->str(),
                    "; inputs must be tensors, or tuples, lists (List[Tensor]) or dicts (Dict[str, Tensor]) of them");
  }
}

}  // namespace

std::vector<size_t> flat_input_counts(const torch::jit::Graph& g, size_t n_specs) {
  std::vector<size_t> counts;
  int64_t fixed = 0;
  int lists = 0;
  for (size_t i = 1; i < g.inputs().size(); ++i) {
    int64_t k = fixed_leaves(g.inputs()[i]->type(), g.inputs()[i], i - 1);
    if (k < 0) ++lists;
    else fixed += k;
    counts.push_back(k < 0 ? SIZE_MAX : size_t(k));
  }
  TRTORCH_EXPECT(lists <= 1, "the method takes ", lists, " List[Tensor] arguments; the shapes are given flat, so at most one "
                 "list argument can be sized (use tuples for the others)");
  TRTORCH_EXPECT(int64_t(n_specs) >= fixed + lists, "the method's inputs hold ", fixed, " tensors",
                 lists ? " and a list of at least one" : "", " but the compile spec gives ", n_specs, " input shapes");
  for (auto& c : counts)
    if (c == SIZE_MAX) c = n_specs - size_t(fixed);
  TRTORCH_EXPECT(lists || int64_t(n_specs) == fixed, "the method's inputs hold ", fixed,
                 " tensors but the compile spec gives ", n_specs, " input shapes");
  return counts;
}

namespace {

// The module's tensors that the graph writes in place (a buffer updated each call, directly or
// through views of it) and the attributes it replaces (prim::SetAttr). The sample runs write them
// too; they are saved before the runs and put back after, so that compiling leaves the module's
// state as it was.
class StateGuard {
 public:
  StateGuard(torch::jit::Graph& g, const c10::IValue& self) {
    std::function<std::optional<c10::IValue>(const torch::jit::Value*)> resolve =
        [&](const torch::jit::Value* v) -> std::optional<c10::IValue> {
      if (v == g.inputs()[0]) return self;
      const torch::jit::Node* n = v->node();
      if (n->kind() != c10::prim::GetAttr) return std::nullopt;
      auto owner = resolve(n->input(0));
      if (!owner || !owner->isObject()) return std::nullopt;
      auto obj = owner->toObject();
      const std::string name = n->s(c10::attr::name);
      if (!obj->type()->hasAttribute(name)) return std::nullopt;
      return obj->getAttr(name);
    };
    std::function<void(torch::jit::Block*)> walk = [&](torch::jit::Block* b) {
      for (torch::jit::Node* n : b->nodes()) {
        for (torch::jit::Block* sub : n->blocks()) walk(sub);
        if (n->kind() == c10::prim::SetAttr) {  // an attribute replaced: its value is put back
          auto owner = resolve(n->input(0));
          const std::string name = n->s(c10::attr::name);
          if (owner && owner->isObject() && owner->toObject()->type()->hasAttribute(name))
            attrs_.emplace_back(owner->toObject(), name, owner->toObject()->getAttr(name));
          continue;
        }
        const c10::FunctionSchema* s = n->maybeSchema();
        if (!s || !s->is_mutable() || n->inputs().empty() || !n->input(0)->type()->cast<c10::TensorType>()) continue;
        const torch::jit::Value* root = n->input(0);
        while (returns_view_of_input(root->node())) root = root->node()->input(0);
        auto iv = resolve(root);
        if (!iv || !iv->isTensor() || !iv->toTensor().defined()) continue;
        const at::Tensor& t = iv->toTensor();
        bool seen = false;
        for (const auto& [kept, copy] : saved_) seen = seen || kept.is_same(t);
        if (!seen) saved_.emplace_back(t, t.clone());
      }
    };
    walk(g.block());
  }
  ~StateGuard() {
    torch::NoGradGuard no_grad;
    for (auto& [t, copy] : saved_) t.copy_(copy);
    for (auto it = attrs_.rbegin(); it != attrs_.rend(); ++it) std::get<0>(*it)->setAttr(std::get<1>(*it), std::get<2>(*it));
  }
  StateGuard(const StateGuard&) = delete;
  StateGuard& operator=(const StateGuard&) = delete;

 private:
  std::vector<std::pair<at::Tensor, at::Tensor>> saved_;
  std::vector<std::tuple<c10::intrusive_ptr<c10::ivalue::Object>, std::string, c10::IValue>> attrs_;
};

}  // namespace

ShapeMap analyze_shapes(torch::jit::Graph& g, const c10::IValue& self, const std::vector<InputSpec>& inputs,
                        const c10::Device& device) {
  const StateGuard state(g, self);
  const std::vector<size_t> counts = flat_input_counts(g, inputs.size());
  bool dynamic = false;
  for (const auto& s : inputs) dynamic = dynamic || s.min != s.max;

  std::vector<torch::jit::Value*> values;
  std::vector<torch::jit::Node*> added;
  instrument(g, g.block(), values, added);
  // Runs: four draws at opt (a value whose shape differs between them depends on the data), then
  // one at min and one at max when an input is dynamic.
  enum Which { kOpt, kMin, kMax };
  std::vector<std::pair<Which, int>> runs = {{kOpt, 0}, {kOpt, 1}, {kOpt, 2}, {kOpt, 3}};
  if (dynamic) {
    runs.push_back({kMin, 0});
    runs.push_back({kMax, 0});
  }
  std::vector<std::pair<Which, std::vector<std::vector<Observation>>>> per_run;  // the runs that finished
  try {
    torch::jit::Code code(g.shared_from_this(), "trtorch_shape_analysis");
    torch::NoGradGuard no_grad;
    for (const auto& [which, draw] : runs) {
      torch::jit::Stack stack{self};
      size_t next = 0;
      // One tensor: the spec's dtype, else the one its type declares, else float.
      auto leaf = [&](std::optional<c10::ScalarType> declared) {
        const auto& spec = inputs.at(next++);
        const c10::ScalarType st = spec.dtype ? to_torch_dtype(*spec.dtype) : declared.value_or(at::kFloat);
        return sample(which == kMin ? spec.min : which == kMax ? spec.max : spec.opt, st, draw, device);
      };
      std::function<c10::IValue(const c10::TypePtr&, const torch::jit::Value*, size_t)> make =
          [&](const c10::TypePtr& t, const torch::jit::Value* v, size_t count) -> c10::IValue {
        switch (t->kind()) {
          case c10::TypeKind::OptionalType: return c10::IValue();
          case c10::TypeKind::TensorType: return leaf(t->expectRef<c10::TensorType>().scalarType());
          case c10::TypeKind::TupleType: {
            std::vector<c10::IValue> items;
            for (const auto& e : t->expectRef<c10::TupleType>().elements()) items.push_back(make(e, nullptr, 0));
            return c10::ivalue::Tuple::create(std::move(items));
          }
          case c10::TypeKind::ListType: {
            c10::List<at::Tensor> list;
            for (size_t k = 0; k < count; ++k) list.push_back(leaf(std::nullopt));
            return list;
          }
          default: {
            c10::Dict<std::string, at::Tensor> dict;
            for (const auto& key : dict_keys(v, 0)) dict.insert(key, leaf(std::nullopt));
            return dict;
          }
        }
      };
      for (size_t i = 1; i < g.inputs().size(); ++i) {
        const torch::jit::Value* v = g.inputs()[i];
        stack.push_back(make(v->type(), v, counts[i - 1]));
      }
      std::vector<std::vector<Observation>> obs(values.size());
      g_observations = &obs;
      try {
        torch::jit::InterpreterState(code).run(stack);
      } catch (const std::exception& e) {
        g_observations = nullptr;
        // A draw the model rejects (an assertion on the data) tells nothing; the first draw must run.
        TRTORCH_EXPECT(which != kOpt || draw != 0, "running the TorchScript module on sample inputs (to find the shapes "
                       "at engine boundaries) failed: ", e.what());
        TRTORCH_LOG(kWarning, "shape analysis: a sample run failed and is ignored: ", e.what());
        continue;
      }
      g_observations = nullptr;
      per_run.emplace_back(which, std::move(obs));
    }
  } catch (...) {
    g_observations = nullptr;
    for (auto it = added.rbegin(); it != added.rend(); ++it) (*it)->destroy();
    throw;
  }
  for (auto it = added.rbegin(); it != added.rend(); ++it) (*it)->destroy();

  ShapeMap out;
  for (size_t id = 0; id < values.size(); ++id) {
    ValueShapes vs;
    const std::vector<int64_t>* first_opt = nullptr;
    std::optional<std::vector<int64_t>> at_min, at_max;
    if (values[id]->type()->kind() == c10::TypeKind::BoolType) {
      std::optional<bool> flag;
      bool same = true;
      for (const auto& run : per_run)
        for (const Observation& o : run.second[id]) {
          if (flag && *flag != o.flag) same = false;
          flag = o.flag;
        }
      if (flag && same) out[values[id]].constant_flag = flag;
      continue;
    }
    for (const auto& [which, obs] : per_run) {
      for (const Observation& o : obs[id]) {
        if (!vs.seen) vs.dtype = o.dtype;
        vs.seen = true;
        if (o.dtype != vs.dtype && vs.stable) {
          vs.stable = false;
          vs.why_unstable = "has a dtype that depends on the data";
        }
        const std::vector<int64_t>** ref = nullptr;
        std::optional<std::vector<int64_t>>* bound = nullptr;
        if (which == kOpt) ref = &first_opt;
        if (which == kMin) bound = &at_min;
        if (which == kMax) bound = &at_max;
        if (ref) {
          if (!*ref) *ref = &o.shape;
          else if (**ref != o.shape && vs.stable) {
            vs.stable = false;
            vs.why_unstable = str_cat("has a shape that depends on the data (", c10::IntArrayRef(**ref), " and ",
                                      c10::IntArrayRef(o.shape), " for one input shape)");
          }
        } else if (!*bound) {
          *bound = o.shape;
        } else if (**bound != o.shape && vs.stable) {
          vs.stable = false;
          vs.why_unstable = "changes shape between loop iterations";
        }
      }
    }
    if (vs.seen && first_opt) {
      vs.opt = *first_opt;
      vs.min = at_min ? *at_min : vs.opt;
      vs.max = at_max ? *at_max : vs.opt;
      if (dynamic && (!at_min || !at_max) && vs.stable) {
        vs.stable = false;
        vs.why_unstable = "was not computed at the min and max input shapes";
      }
    }
    if (vs.seen && !first_opt && vs.stable) {
      vs.stable = false;
      vs.why_unstable = "was not computed at the opt input shapes";
    }
    out[values[id]] = std::move(vs);
  }
  return out;
}

}  // namespace trtorch::frontend
