// The conversion driver (see conversion.h): walks the lowered graph, runs evaluators and converters,
// and collects the inputs, outputs and unsupported nodes.
#include "core/frontend/conversion/conversion.h"

#include <torch/csrc/jit/runtime/operator.h>

#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_set>

#include "core/frontend/conversion/context.h"
#include "core/frontend/conversion/registry.h"
#include "core/frontend/dtype_map.h"
#include "core/util/error.h"
#include "core/util/logging.h"

namespace trtorch::frontend {

namespace {

using torch::jit::Node;
namespace prim = c10::prim;

// Nodes that never reach the engine and have no effect on inference results.
bool is_ignored(const Node* n) {
  static const std::set<std::string> kinds = {"aten::warn", "prim::Print"};
  return kinds.count(n->kind().toQualString()) > 0;
}

// Structural nodes handled by the driver itself.
bool is_structural(const Node* n) {
  auto k = n->kind();
  return k == prim::Constant || k == prim::If || k == prim::Loop || k == prim::ListConstruct ||
         k == prim::ListUnpack || k == prim::TupleConstruct || k == prim::TupleUnpack ||
         k == prim::TupleIndex || k == prim::RaiseException || k == prim::Uninitialized || k == prim::DictConstruct;
}

// `a + b` on two lists (aten::add.t): a new list of a's items, then b's.
bool is_list_concat(const Node* n) {
  return n->kind() == c10::aten::add && n->outputs().size() == 1 &&
         n->output()->type()->kind() == c10::TypeKind::ListType;
}

bool produces_tensor(const Node* n) {
  for (const auto* o : n->outputs())
    if (o->type()->kind() == c10::TypeKind::TensorType) return true;
  return false;
}

// Why an operator without a converter that returns a scalar or a list fails.
constexpr const char* kNeedsModelValue =
    " (it needs a value the model computes at compile time: data-dependent shapes or control flow)";

bool all_inputs_const(const ConversionCtx& ctx, const Node* n) {
  for (const auto* v : n->inputs())
    if (!ctx.is_const(v)) return false;
  return true;
}

// Compile-time tensors on different devices (weights of a module moved to the GPU, tensors the
// model creates on the default device: RAFT's coordinate grid, whose .to(x.device) of an engine
// tensor evaluates to the CPU) all go to the CPU, where the operator can take them together.
void on_one_device(torch::jit::Stack& stack) {
  std::optional<c10::Device> first;
  bool mixed = false;
  auto note = [&](const at::Tensor& t) {
    if (!t.defined()) return;
    if (!first) first = t.device();
    mixed = mixed || t.device() != *first;
  };
  for (const c10::IValue& v : stack) {
    if (v.isTensor()) note(v.toTensor());
    if (v.isTensorList())
      for (const at::Tensor& t : v.toTensorVector()) note(t);
  }
  if (!mixed) return;
  for (c10::IValue& v : stack) {
    if (v.isTensor() && v.toTensor().defined()) v = v.toTensor().cpu();
    if (v.isTensorList()) {
      std::vector<at::Tensor> ts = v.toTensorVector();
      for (at::Tensor& t : ts) t = t.defined() ? t.cpu() : t;
      v = c10::IValue(ts);
    }
  }
}

// Runs a node on compile-time values with the TorchScript operator itself.
bool try_generic_eval(ConversionCtx& ctx, const Node* n) {
  if (!n->blocks().empty() || !all_inputs_const(ctx, n)) return false;
  // A random op (torch.rand, randn, randint, randperm, dropout in training) gives new values at
  // every call: evaluated once here, the engine would repeat the same numbers.
  if (n->isNondeterministic()) return false;
  const torch::jit::Operator* op = n->maybeOperator();
  if (!op) return false;
  torch::jit::Stack stack;
  for (const auto* v : n->inputs()) stack.push_back(ctx.ivalue(v));
  // Vararg operators (aten::format, ...) read their input count from the stack, as the
  // interpreter pushes it.
  if (n->maybeSchema() && n->maybeSchema()->is_vararg()) stack.push_back(int64_t(n->inputs().size()));
  on_one_device(stack);
  try {
    n->getOperation()(stack);
  } catch (const std::exception& e) {
    ctx.fail(str_cat("evaluating at compile time failed: ", e.what()));
  }
  TRTORCH_CHECK(stack.size() == n->outputs().size(), "stack size after evaluating ", n->kind().toQualString());
  for (size_t i = 0; i < n->outputs().size(); ++i) ctx.set(n->output(i), Arg::of_ivalue(stack[i]));
  return true;
}

class Converter {
 public:
  explicit Converter(ConversionCtx& ctx) : ctx_(ctx) {}

  void block(const torch::jit::Block* b) {
    for (const Node* n : b->nodes()) node(n);
  }

  void node(const Node* n) {
    ctx_.node = n;
    TRTORCH_LOG(kDebug, "converting ", describe(n));
    auto k = n->kind();
    if (is_ignored(n)) return;
    if (k == prim::Constant) {
      ctx_.set(n->output(), Arg::of_ivalue(torch::jit::toIValue(n->output()).value()));
      return;
    }
    if (k == prim::If) return if_node(n);
    if (k == prim::Loop) return loop_node(n);
    if (k == prim::RaiseException) {
      std::string msg = ctx_.is_const(n->input(0)) ? ctx_.ivalue(n->input(0)).toStringRef() : "(message unknown)";
      ctx_.fail(str_cat("the model raises an exception on this path for the given input shapes: ", msg));
    }
    // A dict's items are its keys and values in turn; it is returned as a dict (make_output_tree).
    if (k == prim::ListConstruct || k == prim::TupleConstruct || k == prim::DictConstruct) {
      if (k != prim::DictConstruct && all_inputs_const(ctx_, n)) return ctx_.set(n->output(), Arg::of_ivalue(construct(n)));
      std::vector<Arg> items;
      for (const auto* v : n->inputs()) items.push_back(ctx_.arg(v));
      ctx_.set(n->output(), Arg::of_list(std::move(items), n->output()->type()));
      return;
    }
    if (k == prim::ListUnpack || k == prim::TupleUnpack) return unpack(n);
    if (list_op(n)) return;
    if (const EvaluatorFn* ev = find_evaluator(n)) {
      if ((*ev)(ctx_, n)) return;
    }
    if (try_generic_eval(ctx_, n)) return;
    convert(n);
  }

 private:
  // prim::ListUnpack / TupleUnpack of a list of Args or of a compile-time list or tuple.
  void unpack(const Node* n) {
    const Arg a = ctx_.arg(n->input(0));  // a copy: set() below may rehash the value map
    if (a.kind == Arg::Kind::kList) {
      if (a.items.size() != n->outputs().size())
        ctx_.fail(str_cat("unpacks ", n->outputs().size(), " values from a list of ", a.items.size()));
      for (size_t i = 0; i < a.items.size(); ++i) ctx_.set(n->output(i), a.items[i]);
      return;
    }
    if (a.kind == Arg::Kind::kIValue && (a.ivalue.isList() || a.ivalue.isTuple())) {
      std::vector<c10::IValue> elems;
      if (a.ivalue.isList()) {
        for (const auto& e : a.ivalue.toListRef()) elems.push_back(e);
      } else {
        elems = a.ivalue.toTupleRef().elements().vec();
      }
      if (elems.size() != n->outputs().size())
        ctx_.fail(str_cat("unpacks ", n->outputs().size(), " values from a list of ", elems.size()));
      for (size_t i = 0; i < elems.size(); ++i) ctx_.set(n->output(i), Arg::of_ivalue(elems[i]));
      return;
    }
    ctx_.fail("cannot unpack a value computed by the engine");
  }

  // Indexing and appending to lists that hold engine tensors (lists of Args). False for any other node.
  bool list_op(const Node* n) {
    auto k = n->kind();
    if (k == prim::TupleIndex || (k == c10::aten::__getitem__ && ctx_.arg(n->input(0)).kind == Arg::Kind::kList)) {
      const Arg a = ctx_.arg(n->input(0));
      if (a.kind == Arg::Kind::kList) {
        int64_t i = ctx_.to_int(n->input(1));
        int64_t sz = int64_t(a.items.size());
        if (i < 0) i += sz;
        if (i < 0 || i >= sz) ctx_.fail(str_cat("index ", i, " out of range for a list of ", sz));
        ctx_.set(n->output(), a.items[size_t(i)]);
        return true;
      }
    }
    if (is_list_concat(n) && (ctx_.arg(n->input(0)).kind == Arg::Kind::kList ||
                              ctx_.arg(n->input(1)).kind == Arg::Kind::kList)) {
      // Two lists, one of them holding engine tensors: a new list (neither operand changes).
      Arg out = Arg::of_list({}, n->output()->type());
      for (size_t i = 0; i < 2; ++i) {
        const Arg a = ctx_.arg(n->input(i));
        if (a.kind == Arg::Kind::kList) {
          out.items.insert(out.items.end(), a.items.begin(), a.items.end());
        } else if (a.kind == Arg::Kind::kIValue && a.ivalue.isList()) {
          for (const auto& e : a.ivalue.toListRef()) out.items.push_back(Arg::of_ivalue(e));
        } else {
          ctx_.fail("list concatenation of a value that is not a list");
        }
      }
      ctx_.set(n->output(), out);
      return true;
    }
    if (k == c10::aten::append && ctx_.arg(n->input(0)).kind == Arg::Kind::kList) {
      // A list that holds engine tensors grows in place: every later use of the list value
      // sees the new element, as in the interpreter.
      Arg list = ctx_.arg(n->input(0));
      list.items.push_back(ctx_.arg(n->input(1)));
      ctx_.set(n->input(0), list);
      ctx_.set(n->output(), list);
      return true;
    }
    if (k == c10::aten::append && ctx_.is_const(n->input(0)) && !ctx_.is_const(n->input(1))) {
      // First engine tensor appended to a compile-time list: the list becomes a list of Args.
      Arg list = Arg::of_list({}, n->input(0)->type());
      for (const auto& e : ctx_.ivalue(n->input(0)).toListRef()) list.items.push_back(Arg::of_ivalue(e));
      list.items.push_back(ctx_.arg(n->input(1)));
      ctx_.set(n->input(0), list);
      ctx_.set(n->output(), list);
      return true;
    }
    return false;
  }

  // An operator with a converter: checks that it can convert the node, converts it, and checks
  // that every output was set.
  void convert(const Node* n) {
    const ConverterPattern* conv = find_converter(n);
    if (!conv) {
      ctx_.fail(str_cat("unsupported operator: ", n->maybeSchema() ? c10::toString(*n->maybeSchema())
                                                                 : std::string(n->kind().toQualString()),
                        produces_tensor(n) || !n->maybeOperator() ? "" : kNeedsModelValue));
    }
    if (conv->can_convert) {
      std::string why = conv->can_convert(ctx_, n);
      if (!why.empty()) ctx_.fail(str_cat("cannot convert: ", why));
    }
    conv->convert(ctx_, n);
    for (const auto* o : n->outputs())
      if (!ctx_.has(o)) ctx_.fail(str_cat("converter left output %", o->debugName(), " unset"));
  }

  // A list or tuple of compile-time values.
  c10::IValue construct(const Node* n) {
    std::vector<c10::IValue> items;
    for (const auto* v : n->inputs()) items.push_back(ctx_.ivalue(v));
    if (n->kind() == prim::TupleConstruct) {
      auto tt = n->output()->type()->cast<c10::TupleType>();
      if (tt && tt->schema()) return c10::ivalue::Tuple::createNamed(std::move(items), tt);
      return c10::ivalue::Tuple::create(std::move(items));
    }
    auto lt = n->output()->type()->cast<c10::ListType>();
    TRTORCH_CHECK(lt, "prim::ListConstruct without a list type");
    c10::impl::GenericList list(lt->getElementType());
    for (auto& i : items) list.push_back(std::move(i));
    return c10::IValue(std::move(list));
  }

  void if_node(const Node* n) {
    if (!ctx_.is_const(n->input(0)))
      ctx_.fail("data-dependent control flow (prim::If on a value computed by the model) is not supported");
    bool cond = ctx_.to_bool(n->input(0));
    const torch::jit::Block* b = n->blocks()[cond ? 0 : 1];
    block(b);
    ctx_.node = n;
    for (size_t i = 0; i < n->outputs().size(); ++i) ctx_.set(n->output(i), ctx_.arg(b->outputs()[i]));
  }

  // Unrolls a loop whose trip count and condition are known at compile time.
  void loop_node(const Node* n) {
    if (!ctx_.is_const(n->input(0)) || !ctx_.is_const(n->input(1)))
      ctx_.fail("a loop whose trip count or condition is computed by the model is not supported");
    int64_t trips = ctx_.to_int(n->input(0));
    bool cond = ctx_.to_bool(n->input(1));
    const torch::jit::Block* body = n->blocks()[0];
    std::vector<Arg> carried;
    for (size_t i = 2; i < n->inputs().size(); ++i) carried.push_back(ctx_.arg(n->input(i)));
    constexpr int64_t kMaxUnroll = 100000;
    for (int64_t it = 0; it < trips && cond; ++it) {
      if (it >= kMaxUnroll) ctx_.fail(str_cat("loop runs more than ", kMaxUnroll, " iterations"));
      ctx_.set(body->inputs()[0], Arg::of_ivalue(it));
      for (size_t i = 0; i < carried.size(); ++i) ctx_.set(body->inputs()[i + 1], carried[i]);
      block(body);
      ctx_.node = n;
      if (!ctx_.is_const(body->outputs()[0]))
        ctx_.fail("a loop whose continue condition is computed by the model is not supported");
      cond = ctx_.to_bool(body->outputs()[0]);
      for (size_t i = 0; i < carried.size(); ++i) carried[i] = ctx_.arg(body->outputs()[i + 1]);
    }
    for (size_t i = 0; i < n->outputs().size(); ++i) ctx_.set(n->output(i), carried[i]);
  }

  ConversionCtx& ctx_;
};

// The node that computes the dynamic size inside returned value `v` (through the tuples, lists and
// dicts that hold it), or null.
const torch::jit::Node* dynamic_size_source(ConversionCtx& ctx, const torch::jit::Value* v) {
  if (ctx.arg(v).kind == Arg::Kind::kSymInt) return v->node();
  const torch::jit::Node* n = v->node();
  const auto k = n->kind();
  if (k != c10::prim::TupleConstruct && k != c10::prim::ListConstruct && k != c10::prim::DictConstruct) return nullptr;
  for (const torch::jit::Value* in : n->inputs())
    if (const torch::jit::Node* s = dynamic_size_source(ctx, in)) return s;
  return nullptr;
}

OutputTree make_output_tree(ConversionCtx& ctx, const Arg& a, std::vector<ir::Value*>& outs) {
  OutputTree t;
  switch (a.kind) {
    case Arg::Kind::kTensor:
      t.kind = OutputTree::Kind::kEngineOutput;
      t.engine_output = int(outs.size());
      outs.push_back(a.tensor);
      break;
    case Arg::Kind::kIValue:
      t.kind = OutputTree::Kind::kConstant;
      t.constant = a.ivalue;
      break;
    case Arg::Kind::kSymInt:
      ctx.fail(str_cat("the method returns the dynamic size ", a.dim.str(), "; returning sizes of dynamic inputs is not supported"));
    case Arg::Kind::kList:
      t.kind = a.type && a.type->kind() == c10::TypeKind::TupleType  ? OutputTree::Kind::kTuple
               : a.type && a.type->kind() == c10::TypeKind::DictType ? OutputTree::Kind::kDict
                                                                     : OutputTree::Kind::kList;
      t.type = a.type;
      for (const Arg& item : a.items) t.items.push_back(make_output_tree(ctx, item, outs));
      break;
  }
  return t;
}

// The engine dtype of a graph input: integer and bool inputs (token ids, masks) keep the dtype
// their TorchScript type gives; every other input is FP32 here (the engine precision is applied
// by the builder).
ir::DType input_dtype(const torch::jit::Value* v) {
  auto st = v->type()->expectRef<c10::TensorType>().scalarType();
  if (st && (*st == at::kLong || *st == at::kInt || *st == at::kBool)) return from_torch_dtype(*st);
  return ir::DType::kFloat32;
}

// The method's tensor arguments: its graph inputs less the first, the module itself (%self).
std::vector<const torch::jit::Value*> method_args(const torch::jit::Graph& g) {
  std::vector<const torch::jit::Value*> args;
  for (size_t i = 0; i < g.inputs().size(); ++i) {
    const auto* v = g.inputs()[i];
    if (i == 0 && v->type()->kind() == c10::TypeKind::ClassType) continue;
    args.push_back(v);
  }
  return args;
}

// Dynamic dims at the same position with the same range are one size (batch, sequence):
// (position, min, opt, max) -> symbol id.
using SymbolTable = std::map<std::tuple<size_t, int64_t, int64_t, int64_t>, int32_t>;

// The IR dims of input `i` from its spec: fixed where min == max, else a symbol with the range.
std::vector<ir::Dim> input_dims(const torch::jit::Value* v, size_t i, const InputSpec& s, SymbolTable& symbols) {
  TRTORCH_EXPECT(!s.opt.empty(), "input ", i, " ('", v->debugName(), "') has an empty shape in the compile spec");
  TRTORCH_EXPECT(s.min.size() == s.opt.size() && s.max.size() == s.opt.size(), "input ", i, " ('", v->debugName(),
                 "'): min, opt and max shapes must have one rank, got ", s.min.size(), ", ", s.opt.size(), " and ",
                 s.max.size());
  std::vector<ir::Dim> dims;
  for (size_t d = 0; d < s.opt.size(); ++d) {
    TRTORCH_EXPECT(s.min[d] > 0 && s.min[d] <= s.opt[d] && s.opt[d] <= s.max[d], "input ", i, " ('",
                   v->debugName(), "') dimension ", d, ": needs 0 < min <= opt <= max, got min ", s.min[d],
                   ", opt ", s.opt[d], ", max ", s.max[d]);
    if (s.min[d] == s.max[d]) {
      dims.push_back(ir::Dim::fixed(s.min[d]));
      continue;
    }
    auto key = std::make_tuple(d, s.min[d], s.opt[d], s.max[d]);
    auto it = symbols.find(key);
    if (it == symbols.end()) it = symbols.emplace(key, int32_t(symbols.size())).first;
    dims.push_back(ir::Dim::symbolic(it->second, s.min[d], s.max[d]));
  }
  return dims;
}

// The engine dtype of input `i`: the spec's when it gives one (it must agree with a declared
// scalar type), else from the method's declared type (input_dtype).
ir::DType input_spec_dtype(const torch::jit::Value* v, size_t i, const InputSpec& s) {
  ir::DType dt = input_dtype(v);
  if (!s.dtype) return dt;
  // A declared scalar type and the spec's must agree (floating types as float); a plain Tensor
  // takes the spec's.
  const auto declared = v->type()->expectRef<c10::TensorType>().scalarType();
  TRTORCH_EXPECT(!declared || dt == *s.dtype, "input ", i, " ('", v->debugName(), "'): the compile spec gives ",
                 ir::dtype_name(*s.dtype), " but the method declares ",
                 declared ? c10::toString(*declared) : std::string("Tensor"));
  TRTORCH_EXPECT(*s.dtype == ir::DType::kFloat32 || *s.dtype == ir::DType::kInt32 ||
                     *s.dtype == ir::DType::kInt64 || *s.dtype == ir::DType::kBool,
                 "input ", i, " ('", v->debugName(), "'): input dtype ", ir::dtype_name(*s.dtype),
                 " is not supported (float, int32, int64 or bool)");
  return *s.dtype;
}

}  // namespace

ConvertedGraph convert_graph(const std::shared_ptr<torch::jit::Graph>& g, const std::vector<InputSpec>& inputs,
                             const torch::jit::Node** failed_at) {
  ConvertedGraph out;
  out.graph = std::make_unique<ir::Graph>();
  ConversionCtx ctx(*out.graph);

  const std::vector<const torch::jit::Value*> args = method_args(*g);
  TRTORCH_EXPECT(args.size() == inputs.size(), "the method takes ", args.size(), " inputs but the compile spec gives ",
                 inputs.size(), " input shapes");
  SymbolTable symbols;
  for (size_t i = 0; i < args.size(); ++i) {
    const auto* v = args[i];
    TRTORCH_EXPECT(v->type()->kind() == c10::TypeKind::TensorType, "input ", i, " ('", v->debugName(),
                   "') has type ", v->type()->str(), "; only Tensor inputs are supported");
    std::vector<ir::Dim> dims = input_dims(v, i, inputs[i], symbols);
    ir::Value* iv = out.graph->add_input(ir::TensorType(input_spec_dtype(v, i, inputs[i]), dims), v->debugName());
    out.opt_shapes.push_back(inputs[i].opt);
    ctx.set(v, Arg::of_tensor(iv));
    out.input_names.push_back(v->debugName());
  }

  Converter conv(ctx);
  try {
    conv.block(g->block());
  } catch (...) {
    if (failed_at) *failed_at = ctx.node;
    throw;
  }
  ctx.node = nullptr;

  std::vector<ir::Value*> outs;
  for (const auto* v : g->outputs()) {
    try {
      out.returns.push_back(make_output_tree(ctx, ctx.arg(v), outs));
    } catch (...) {
      // A returned dynamic size: the node that computes it (partial compilation leaves it to
      // TorchScript, which reads the size of the engine's output).
      if (failed_at) *failed_at = dynamic_size_source(ctx, v);
      throw;
    }
  }
  TRTORCH_EXPECT(!outs.empty(), "the method returns no tensor computed from its inputs");
  for (size_t i = 0; i < outs.size(); ++i) {
    out.graph->mark_output(outs[i]);
    out.output_names.push_back(str_cat("output_", i));
  }
  return out;
}

torch::jit::Value* rebuild_output(torch::jit::Graph& g, const OutputTree& t, const std::vector<torch::jit::Value*>& outs) {
  switch (t.kind) {
    case OutputTree::Kind::kEngineOutput:
      return outs.at(size_t(t.engine_output));
    case OutputTree::Kind::kConstant:
      return g.insertConstant(t.constant);
    case OutputTree::Kind::kTuple: {
      std::vector<torch::jit::Value*> items;
      for (const auto& i : t.items) items.push_back(rebuild_output(g, i, outs));
      auto tuple_type = t.type ? t.type->cast<c10::TupleType>() : nullptr;
      // Named tuples keep their type; plain tuples take their element types.
      auto* n = g.insertNode(tuple_type && tuple_type->schema() ? g.createTuple(items, tuple_type) : g.createTuple(items));
      return n->output();
    }
    case OutputTree::Kind::kList: {
      std::vector<torch::jit::Value*> items;
      for (const auto& i : t.items) items.push_back(rebuild_output(g, i, outs));
      auto list_type = t.type ? t.type->cast<c10::ListType>() : nullptr;
      c10::TypePtr elem = list_type ? list_type->getElementType() : c10::TensorType::get();
      return g.insertNode(g.createList(elem, items))->output();
    }
    case OutputTree::Kind::kDict: {
      std::vector<torch::jit::Value*> keys, values;
      for (size_t i = 0; i + 1 < t.items.size(); i += 2) {
        keys.push_back(rebuild_output(g, t.items[i], outs));
        values.push_back(rebuild_output(g, t.items[i + 1], outs));
      }
      auto dt = t.type->expect<c10::DictType>();
      auto* n = g.insertNode(g.createDict(dt->getKeyType(), dt->getValueType(), keys, values));
      n->output()->setType(t.type);
      return n->output();
    }
  }
  TRTORCH_CHECK(false, "bad output tree kind");
  return nullptr;
}


namespace {

// The static support check: a walk over the lowered graph that follows which values are known at
// compile time the way the conversion driver does (constants; outputs of evaluators, such as
// aten::size of an engine tensor; outputs of any operator whose inputs are all known, which the
// driver evaluates with TorchScript itself; lists and tuples of known values). A node that is not
// known this way needs a converter; one without is reported, as is control flow on a value the
// model computes. Needs no input shapes, so what depends on them (a shape a converter rejects)
// is found by compiling.
class SupportCheck {
 public:
  std::vector<std::string> problems;

  explicit SupportCheck(const torch::jit::Graph& g) {
    for (size_t i = 0; i < g.inputs().size(); ++i)
      if (i == 0 && g.inputs()[i]->type()->kind() == c10::TypeKind::ClassType) known_.insert(g.inputs()[i]);
  }

  void block(const torch::jit::Block* b) {
    for (const Node* n : b->nodes()) node(n);
  }

 private:
  bool known(const torch::jit::Value* v) const { return known_.count(v) > 0; }
  bool all_known(const Node* n) const {
    for (const auto* v : n->inputs())
      if (!known(v)) return false;
    return true;
  }
  void set_outputs(const Node* n, bool k) {
    for (const auto* o : n->outputs()) {
      if (k) known_.insert(o);
      else known_.erase(o);
    }
  }
  void report(const std::string& line) {
    if (seen_.insert(line).second) problems.push_back(line);
  }

  void node(const Node* n) {
    auto k = n->kind();
    if (is_ignored(n)) return;
    if (k == prim::Constant || k == prim::Uninitialized) return set_outputs(n, true);
    if (k == prim::If) return if_node(n);
    if (k == prim::Loop) return loop_node(n);
    if (k == prim::RaiseException) return;  // an error only on the path the shapes select
    if (k == c10::aten::append) {
      // The list grows in place: it stays known only while everything appended is known.
      bool item_known = known(n->input(1));
      if (!item_known) known_.erase(n->input(0));
      return set_outputs(n, item_known && known(n->input(0)));
    }
    if (is_structural(n) || k == c10::aten::__getitem__ || is_list_concat(n)) return set_outputs(n, all_known(n));
    if (find_value_evaluator(n)) return set_outputs(n, true);  // evaluators produce compile-time values
    if (n->blocks().empty() && n->maybeOperator() && all_known(n)) return set_outputs(n, true);
    set_outputs(n, false);
    if (find_converter(n)) return;
    report(str_cat("unsupported operator: ", describe(n), produces_tensor(n) || !n->maybeOperator() ? "" : kNeedsModelValue));
  }

  void if_node(const Node* n) {
    if (!known(n->input(0)))
      report(str_cat("unsupported control flow: ", describe(n),
                     " (prim::If on a value computed by the model; only conditions known at compile time are supported)"));
    for (const auto* b : n->blocks()) block(b);
    for (size_t i = 0; i < n->outputs().size(); ++i) {
      bool k = known(n->input(0));
      for (const auto* b : n->blocks()) k = k && known(b->outputs()[i]);
      if (k) known_.insert(n->output(i));
      else known_.erase(n->output(i));
    }
  }

  void loop_node(const Node* n) {
    const bool header_known = known(n->input(0)) && known(n->input(1));
    if (!header_known)
      report(str_cat("unsupported control flow: ", describe(n),
                     " (a loop whose trip count or condition is computed by the model)"));
    const torch::jit::Block* body = n->blocks()[0];
    const size_t carried = n->inputs().size() - 2;
    std::vector<bool> k(carried);
    for (size_t i = 0; i < carried; ++i) k[i] = known(n->input(i + 2));
    // Iterate until the carried values' knownness is stable (it only ever drops).
    for (size_t round = 0; round <= carried; ++round) {
      known_.insert(body->inputs()[0]);
      for (size_t i = 0; i < carried; ++i) {
        if (k[i]) known_.insert(body->inputs()[i + 1]);
        else known_.erase(body->inputs()[i + 1]);
      }
      block(body);
      bool changed = false;
      for (size_t i = 0; i < carried; ++i) {
        if (k[i] && !known(body->outputs()[i + 1])) {
          k[i] = false;
          changed = true;
        }
      }
      if (!changed) break;
    }
    if (header_known && !known(body->outputs()[0]))
      report(str_cat("unsupported control flow: ", describe(n),
                     " (a loop whose continue condition is computed by the model)"));
    for (size_t i = 0; i < carried; ++i) {
      if (k[i] && header_known) known_.insert(n->output(i));
      else known_.erase(n->output(i));
    }
  }

  std::unordered_set<const torch::jit::Value*> known_;
  std::set<std::string> seen_;
};

}  // namespace

std::vector<std::string> unsupported_nodes(const std::shared_ptr<torch::jit::Graph>& g) {
  SupportCheck check(*g);
  check.block(g->block());
  return check.problems;
}

}  // namespace trtorch::frontend
