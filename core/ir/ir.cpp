#include "core/ir/ir.h"

#include <algorithm>
#include <cstring>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "core/util/error.h"

namespace trtorch::ir {

namespace {
const OpInfo kOpInfos[] = {
#define TRTORCH_OP(Name, MinIn, MaxIn, MaxOut) {#Name, MinIn, MaxIn, MaxOut},
#include "core/ir/ops.def"
#undef TRTORCH_OP
};
static_assert(sizeof(kOpInfos) / sizeof(kOpInfos[0]) == size_t(kNumOps), "op table size");

const char* const kUnaryNames[] = {"relu", "sigmoid", "tanh", "hardsigmoid", "hardswish", "silu",
                                   "gelu_erf", "gelu_tanh", "leaky_relu", "elu", "clamp", "exp",
                                   "log", "sqrt", "rsqrt", "neg", "abs", "erf", "reciprocal",
                                   "floor", "ceil", "round", "trunc", "sign"};
static_assert(sizeof(kUnaryNames) / sizeof(kUnaryNames[0]) == size_t(UnaryKind::kCount),
              "unary name table size");
const char* const kBinaryNames[] = {"add", "sub", "mul", "div", "pow", "max", "min"};
static_assert(sizeof(kBinaryNames) / sizeof(kBinaryNames[0]) == size_t(BinaryKind::kCount),
              "binary name table size");
const char* const kPoolNames[] = {"max", "avg"};
static_assert(sizeof(kPoolNames) / sizeof(kPoolNames[0]) == size_t(PoolKind::kCount), "pool names");
const char* const kCompareNames[] = {"eq", "ne", "lt", "le", "gt", "ge", "and", "or", "xor"};
static_assert(sizeof(kCompareNames) / sizeof(kCompareNames[0]) == size_t(CompareKind::kCount),
              "compare name table size");
const char* const kReduceNames[] = {"sum", "mean", "max", "min", "prod"};
static_assert(sizeof(kReduceNames) / sizeof(kReduceNames[0]) == size_t(ReduceKind::kCount),
              "reduce names");

// The name of an enum value from its table, "?" when out of range.
template <typename E, size_t N>
const char* enum_name(E v, const char* const (&names)[N]) {
  return size_t(v) < N ? names[size_t(v)] : "?";
}

const char* const kScatterReduceNames[] = {"none", "add"};
static_assert(sizeof(kScatterReduceNames) / sizeof(kScatterReduceNames[0]) == size_t(ScatterReduce::kCount),
              "scatter reduction names");
const char* const kGridModeNames[] = {"bilinear", "nearest"};
static_assert(sizeof(kGridModeNames) / sizeof(kGridModeNames[0]) == size_t(GridSampleMode::kCount),
              "grid sample mode names");
const char* const kGridPaddingNames[] = {"zeros", "border", "reflection"};
static_assert(sizeof(kGridPaddingNames) / sizeof(kGridPaddingNames[0]) == size_t(GridSamplePadding::kCount),
              "grid sample padding names");

// Prints one attribute field.
struct AttrPrinter {
  std::ostringstream& os;
  bool first = true;
  void sep(const char* name) {
    if (!first) os << ", ";
    first = false;
    os << name << "=";
  }
  void operator()(const char* n, const int64_t& v) { sep(n); os << v; }
  void operator()(const char* n, const double& v) { sep(n); os << v; }
  void operator()(const char* n, const bool& v) { sep(n); os << (v ? "true" : "false"); }
  void operator()(const char* n, const DType& v) { sep(n); os << dtype_name(v); }
  void operator()(const char* n, const UnaryKind& v) { sep(n); os << unary_kind_name(v); }
  void operator()(const char* n, const BinaryKind& v) { sep(n); os << binary_kind_name(v); }
  void operator()(const char* n, const CompareKind& v) { sep(n); os << compare_kind_name(v); }
  void operator()(const char* n, const PoolKind& v) { sep(n); os << enum_name(v, kPoolNames); }
  void operator()(const char* n, const ReduceKind& v) { sep(n); os << enum_name(v, kReduceNames); }
  void operator()(const char* n, const ScatterReduce& v) { sep(n); os << enum_name(v, kScatterReduceNames); }
  void operator()(const char* n, const GridSampleMode& v) { sep(n); os << enum_name(v, kGridModeNames); }
  void operator()(const char* n, const GridSamplePadding& v) { sep(n); os << enum_name(v, kGridPaddingNames); }
  void operator()(const char* n, const std::vector<int64_t>& v) {
    sep(n);
    os << "[";
    for (size_t i = 0; i < v.size(); ++i) os << (i ? "," : "") << v[i];
    os << "]";
  }
  void operator()(const char* n, const Dim& v) { sep(n); os << v.str(); }
  void operator()(const char* n, const std::vector<Dim>& v) {
    sep(n);
    os << "[";
    for (size_t i = 0; i < v.size(); ++i) os << (i ? "," : "") << v[i].str();
    os << "]";
  }
  void operator()(const char* n, const HostTensor& t) {
    sep(n);
    os << dtype_name(t.dtype) << "[";
    for (size_t i = 0; i < t.shape.size(); ++i) os << (i ? "," : "") << t.shape[i];
    os << "]";
    if (t.numel() == 1) os << "{" << t.get(0) << "}";
  }
};

// Compares the fields of two structs of the same type, one field at a time.
struct AttrCollector {
  std::vector<std::string> out;
  template <typename T>
  void operator()(const char*, const T& v) {
    if constexpr (std::is_same_v<T, HostTensor>) {
      std::string s(reinterpret_cast<const char*>(v.data()), v.nbytes());
      std::ostringstream os;
      os << int(v.dtype) << ":";
      for (auto d : v.shape) os << d << ",";
      out.push_back(os.str() + s);
    } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
      std::string s;
      for (auto d : v) s += std::to_string(d) + ",";
      out.push_back(s);
    } else if constexpr (std::is_same_v<T, Dim>) {
      out.push_back(v.str());
    } else if constexpr (std::is_same_v<T, std::vector<Dim>>) {
      std::string s;
      for (const Dim& d : v) s += d.str() + ",";
      out.push_back(s);
    } else if constexpr (std::is_same_v<T, double>) {
      char buf[8];
      std::memcpy(buf, &v, 8);
      out.push_back(std::string(buf, 8));
    } else {
      out.push_back(std::to_string(int64_t(v)));
    }
  }
};
}  // namespace

const OpInfo& op_info(OpKind k) {
  TRTORCH_CHECK(int(k) < kNumOps, "bad op kind ", int(k));
  return kOpInfos[int(k)];
}

bool op_from_name(const std::string& name, OpKind* out) {
  for (int i = 0; i < kNumOps; ++i) {
    if (name == kOpInfos[i].name) {
      *out = OpKind(i);
      return true;
    }
  }
  return false;
}

const char* unary_kind_name(UnaryKind k) {
  return enum_name(k, kUnaryNames);
}
const char* binary_kind_name(BinaryKind k) {
  return enum_name(k, kBinaryNames);
}

const char* compare_kind_name(CompareKind k) {
  return enum_name(k, kCompareNames);
}

std::string attrs_str(const Attrs& a) {
  std::ostringstream os;
  std::visit(
      [&](auto& s) {
        if constexpr (!std::is_same_v<std::decay_t<decltype(s)>, std::monostate>) {
          AttrPrinter p{os};
          const_cast<std::decay_t<decltype(s)>&>(s).visit(p);
        }
      },
      a);
  return os.str();
}

bool attrs_equal(const Attrs& a, const Attrs& b) {
  if (a.index() != b.index()) return false;
  auto collect = [](const Attrs& x) {
    AttrCollector c;
    std::visit(
        [&](auto& s) {
          if constexpr (!std::is_same_v<std::decay_t<decltype(s)>, std::monostate>)
            const_cast<std::decay_t<decltype(s)>&>(s).visit(c);
        },
        x);
    return c.out;
  };
  return collect(a) == collect(b);
}


TensorType TensorType::fixed(DType t, const std::vector<int64_t>& shape) {
  std::vector<Dim> d;
  for (int64_t s : shape) d.push_back(Dim::fixed(s));
  return TensorType(t, d);
}

bool TensorType::is_static() const {
  return std::all_of(dims.begin(), dims.end(), [](const Dim& d) { return d.is_static(); });
}

std::vector<int64_t> TensorType::static_shape() const {
  std::vector<int64_t> s;
  for (const Dim& d : dims) s.push_back(d.value());
  return s;
}

std::string TensorType::str() const {
  std::ostringstream os;
  os << dtype_name(dtype) << "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) os << ",";
    const Dim& d = dims[i];
    if (d.is_static())
      os << d.min;
    else
      os << d.str() << ":" << d.min << ".." << d.max;
  }
  os << "]";
  return os.str();
}

Value* Graph::new_value(TensorType t) {
  values_.push_back(std::make_unique<Value>());
  Value* v = values_.back().get();
  v->id = int(values_.size()) - 1;
  v->type = std::move(t);
  return v;
}

Value* Graph::add_input(TensorType type, std::string name) {
  if (type.is_static() && !try_bytes(type.static_shape(), type.dtype))
    TRTORCH_ERROR(too_large_message(str_cat("graph input ", name, " shape"), type.static_shape(), type.dtype));
  Value* v = new_value(std::move(type));
  v->name = std::move(name);
  inputs_.push_back(v);
  return v;
}

Node* Graph::make_node(OpKind op, Attrs attrs, const std::vector<Value*>& inputs, std::string source) {
  const OpInfo& info = op_info(op);
  TRTORCH_CHECK(attrs.index() == size_t(op), "attributes of ", info.name, " have the wrong struct");
  int n_in = int(inputs.size());
  if (n_in < info.min_inputs || (info.max_inputs >= 0 && n_in > info.max_inputs)) {
    TRTORCH_ERROR(info.name, " takes ", info.min_inputs, "..", info.max_inputs, " inputs, got ", n_in,
                  source.empty() ? "" : " (", source, source.empty() ? "" : ")");
  }
  std::vector<TensorType> in_types;
  for (Value* v : inputs) in_types.push_back(v->type);
  std::vector<TensorType> out_types;
  try {
    out_types = infer_types(op, attrs, in_types);
  } catch (const Error& e) {
    if (source.empty()) throw;
    TRTORCH_ERROR(e.what(), " (from ", source, ")");
  }
  auto node = std::make_unique<Node>();
  node->op = op;
  node->attrs = std::move(attrs);
  node->inputs = inputs;
  node->source = std::move(source);
  for (Value* v : inputs) v->users.push_back(node.get());
  for (auto& t : out_types) {
    Value* o = new_value(t);
    o->producer = node.get();
    node->outputs.push_back(o);
  }
  Node* raw = node.get();
  nodes_.push_back(std::move(node));
  return raw;
}

Node* Graph::add_node(OpKind op, Attrs attrs, const std::vector<Value*>& inputs, std::string source) {
  return make_node(op, std::move(attrs), inputs, std::move(source));
}

Node* Graph::insert_before(Node* before, OpKind op, Attrs attrs, const std::vector<Value*>& inputs,
                           std::string source) {
  Node* n = make_node(op, std::move(attrs), inputs, std::move(source));
  auto owned = std::move(nodes_.back());
  nodes_.pop_back();
  auto it = std::find_if(nodes_.begin(), nodes_.end(), [&](auto& p) { return p.get() == before; });
  TRTORCH_CHECK(it != nodes_.end(), "insert_before: node not in graph");
  nodes_.insert(it, std::move(owned));
  return n;
}

Value* Graph::add_constant(HostTensor t, std::string source) {
  ConstantAttrs a;
  a.value = std::move(t);
  return add_node(OpKind::Constant, std::move(a), {}, std::move(source))->outputs[0];
}

void Graph::replace_all_uses(Value* from, Value* to) {
  if (from == to) return;
  for (Node* u : from->users) {
    for (Value*& in : u->inputs)
      if (in == from) in = to;
    to->users.push_back(u);
  }
  from->users.clear();
  for (Value*& o : outputs_)
    if (o == from) o = to;
}

void Graph::set_input(Node* n, size_t i, Value* v) {
  TRTORCH_CHECK(i < n->inputs.size(), "set_input index");
  Value* old = n->inputs[i];
  n->inputs[i] = v;
  auto& us = old->users;
  auto it = std::find(us.begin(), us.end(), n);
  if (it != us.end()) us.erase(it);
  v->users.push_back(n);
}

void Graph::remove_node(Node* n) {
  for (Value* o : n->outputs) {
    TRTORCH_CHECK(o->users.empty() && !is_output(o), "remove_node: ", n->name(), " output still used");
  }
  for (Value* in : n->inputs) {
    auto& us = in->users;
    auto it = std::find(us.begin(), us.end(), n);
    if (it != us.end()) us.erase(it);
  }
  auto it = std::find_if(nodes_.begin(), nodes_.end(), [&](auto& p) { return p.get() == n; });
  TRTORCH_CHECK(it != nodes_.end(), "remove_node: node not in graph");
  for (Value* o : n->outputs) o->producer = nullptr;
  nodes_.erase(it);
}

void Graph::reinfer(Node* n) {
  std::vector<TensorType> in;
  for (Value* v : n->inputs) in.push_back(v->type);
  auto out = infer_types(n->op, n->attrs, in);
  TRTORCH_CHECK(out.size() == n->outputs.size(), "reinfer: output count changed");
  for (size_t i = 0; i < out.size(); ++i) n->outputs[i]->type = out[i];
}

std::vector<Node*> Graph::nodes() const {
  std::vector<Node*> r;
  r.reserve(nodes_.size());
  for (auto& n : nodes_) r.push_back(n.get());
  return r;
}

bool Graph::is_output(const Value* v) const {
  return std::find(outputs_.begin(), outputs_.end(), v) != outputs_.end();
}

std::unique_ptr<Graph> Graph::clone() const {
  auto g = std::make_unique<Graph>();
  std::unordered_map<const Value*, Value*> map;
  for (Value* v : inputs_) map[v] = g->add_input(v->type, v->name);
  for (auto& n : nodes_) {
    std::vector<Value*> ins;
    for (Value* v : n->inputs) ins.push_back(map.at(v));
    Node* c = g->add_node(n->op, n->attrs, ins, n->source);
    for (size_t i = 0; i < n->outputs.size(); ++i) {
      c->outputs[i]->name = n->outputs[i]->name;
      map[n->outputs[i]] = c->outputs[i];
    }
  }
  for (Value* v : outputs_) g->mark_output(map.at(v));
  return g;
}

std::string Graph::str() const {
  std::ostringstream os;
  os << "graph(";
  for (size_t i = 0; i < inputs_.size(); ++i)
    os << (i ? ", " : "") << "%" << inputs_[i]->id << " : " << inputs_[i]->type.str();
  os << "):\n";
  for (auto& n : nodes_) {
    os << "  ";
    for (size_t i = 0; i < n->outputs.size(); ++i)
      os << (i ? ", " : "") << "%" << n->outputs[i]->id << " : " << n->outputs[i]->type.str();
    os << " = " << n->name() << "(";
    for (size_t i = 0; i < n->inputs.size(); ++i) os << (i ? ", " : "") << "%" << n->inputs[i]->id;
    os << ")";
    std::string a = attrs_str(n->attrs);
    if (!a.empty()) os << " {" << a << "}";
    os << "\n";
  }
  os << "  return (";
  for (size_t i = 0; i < outputs_.size(); ++i) os << (i ? ", " : "") << "%" << outputs_[i]->id;
  os << ")\n";
  return os.str();
}

void verify(const Graph& g) {
  // Each defined value maps to the set of its users (linear time, even for values with many users).
  std::unordered_map<const Value*, std::unordered_set<const Node*>> defined;
  auto define = [&](const Value* v) { defined[v].insert(v->users.begin(), v->users.end()); };
  for (Value* v : g.inputs()) {
    TRTORCH_EXPECT(v->producer == nullptr, "verifier: graph input %", v->id, " has a producer");
    define(v);
  }
  for (Node* n : g.nodes()) {
    const OpInfo& info = op_info(n->op);
    auto where = [&]() { return str_cat(info.name, n->source.empty() ? "" : " (", n->source, n->source.empty() ? "" : ")"); };
    TRTORCH_EXPECT(n->attrs.index() == size_t(n->op), "verifier: ", where(), " carries attributes of another op");
    int n_in = int(n->inputs.size());
    TRTORCH_EXPECT(n_in >= info.min_inputs && (info.max_inputs < 0 || n_in <= info.max_inputs),
                   "verifier: ", where(), " has ", n_in, " inputs");
    TRTORCH_EXPECT(!n->outputs.empty() && int(n->outputs.size()) <= info.max_outputs, "verifier: ", where(), " has ",
                   n->outputs.size(), " outputs, expected 1 to ", info.max_outputs);
    std::vector<TensorType> in_types;
    for (Value* v : n->inputs) {
      TRTORCH_EXPECT(v && defined.count(v), "verifier: ", where(), " uses value %", v ? v->id : -1,
                     " before it is defined");
      TRTORCH_EXPECT(defined.at(v).count(n), "verifier: use list of %",
                     v->id, " misses ", where());
      in_types.push_back(v->type);
    }
    auto inferred = infer_types(n->op, n->attrs, in_types);
    TRTORCH_EXPECT(inferred.size() == n->outputs.size(), "verifier: ", where(), " has ", n->outputs.size(),
                   " outputs but its attributes give ", inferred.size());
    for (size_t i = 0; i < n->outputs.size(); ++i) {
      Value* o = n->outputs[i];
      TRTORCH_EXPECT(o->producer == n, "verifier: output %", o->id, " of ", where(), " has another producer");
      TRTORCH_EXPECT(o->type == inferred[i], "verifier: ", where(), " output %", o->id, " has type ",
                     o->type.str(), " but its inputs give ", inferred[i].str());
      TRTORCH_EXPECT(!defined.count(o), "verifier: value %", o->id, " defined twice");
      define(o);
    }
  }
  for (Value* v : g.outputs()) {
    TRTORCH_EXPECT(defined.count(v), "verifier: graph output %", v->id, " is not defined");
  }
}

}  // namespace trtorch::ir
