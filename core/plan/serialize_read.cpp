// The engine format's reader: the payload (device record, names, graph, opt shapes, backend data),
// the graph's values and nodes, tensor types with their symbolic dims, and the attribute fields.
// Every count, index, enum value and size is checked against the format limits and the bytes left
// before it is used, so a damaged or hostile engine gives trtorch::Error, never a crash or a huge
// allocation. The layout is described in serialize.cpp; deserialize() there checks the header.
#include <string>
#include <type_traits>
#include <vector>

#include "core/plan/serialize_io.h"

namespace trtorch::plan::detail {

namespace {

using ir::DType;

constexpr size_t kDimBytes = 1 + 8;
constexpr int kMaxExprDepth = 8;
constexpr size_t kMaxExprTerms = 16;

ir::Dim read_poly(Reader& r, const char* what, int depth) {
  size_t at = r.offset();
  if (depth > kMaxExprDepth) r.fail(str_cat("size expression of ", what, " is nested too deeply"), at);
  const int64_t constant = r.i64(what);
  std::vector<ir::SymPoly::Term> terms(r.count(what, 8 + 4, kMaxExprTerms));
  for (auto& t : terms) {
    t.coef = r.i64(what);
    t.atoms.resize(r.count(what, 1 + 8, kMaxExprTerms));
    for (auto& a : t.atoms) {
      size_t atom_at = r.offset();
      const uint8_t kind = r.u8(what);
      try {
        if (kind == uint8_t(ir::SymAtom::Kind::kSymbol)) {
          const int32_t id = r.i32(what);
          const int64_t lo = r.i64(what), hi = r.i64(what);
          if (lo < 1 || lo > hi)
            r.fail(str_cat("bad size expression of ", what, ": symbol s", id, " has range [", lo, ", ", hi,
                           "] (a dynamic size is at least 1)"), atom_at);
          auto [first, inserted] = r.symbol_ranges.emplace(id, std::make_pair(lo, hi));
          if (!inserted && first->second != std::make_pair(lo, hi))
            r.fail(str_cat("inconsistent engine: symbol s", id, " has range [", lo, ", ", hi, "] in ", what,
                           " but [", first->second.first, ", ", first->second.second, "] where it first appears"),
                   atom_at);
          a = ir::make_symbol_atom(id, lo, hi);
        } else if (kind == uint8_t(ir::SymAtom::Kind::kFloorDiv)) {
          const int64_t den = r.i64(what);
          ir::Dim num = read_poly(r, what, depth + 1);
          a = ir::make_floor_div_atom(num, den);
        } else {
          r.fail(str_cat("bad size expression of ", what, ": atom kind ", int(kind)), atom_at);
        }
      } catch (const Error& e) {
        r.fail(str_cat("bad size expression of ", what, ": ", e.what()), atom_at);
      }
    }
  }
  try {
    return ir::make_dim(constant, std::move(terms));
  } catch (const Error& e) {
    r.fail(str_cat("bad size expression of ", what, ": ", e.what()), at);
  }
  return ir::Dim();
}

ir::Dim read_dim(Reader& r, const char* what) {
  size_t at = r.offset();
  const uint8_t kind = r.u8(what);
  if (kind == 0) return ir::Dim::fixed(r.i64(what));
  if (kind != 1) r.fail(str_cat("bad dimension of ", what, ": kind ", int(kind)), at);
  ir::Dim d = read_poly(r, what, 0);
  if (d.is_static()) r.fail(str_cat("bad dimension of ", what, ": a symbolic dim reduces to ", d.min), at);
  return d;
}

ir::TensorType read_type(Reader& r, const char* what) {
  size_t at = r.offset();
  ir::TensorType t;
  t.dtype = r.enumeration<DType>(what);
  size_t rank = r.count(what, kDimBytes, kMaxRank);
  t.dims.resize(rank);
  std::vector<int64_t> largest;  // the shape at the upper bound of every dim
  for (ir::Dim& d : t.dims) {
    size_t dim_at = r.offset();
    d = read_dim(r, what);
    if (!(d.min >= 0 && d.min <= d.max)) {
      r.fail(str_cat("bad dimension of ", what, ": ", d.str(), " in [", d.min, ", ", d.max, "]"), dim_at);
    }
    largest.push_back(d.max);
  }
  if (!ir::try_bytes(largest, t.dtype)) {
    const std::string shape = t.is_static() ? std::string("shape") : str_cat(t.str(), " at its largest,");
    r.fail(str_cat("absurd size: ", ir::too_large_message(str_cat(what, " ", shape), largest, t.dtype)), at);
  }
  return t;
}

ir::HostTensor read_tensor(Reader& r, const char* what) {
  size_t at = r.offset();
  ir::HostTensor t;
  t.dtype = r.enumeration<DType>(what);
  size_t rank = r.count(what, 8, kMaxRank);
  t.shape.resize(rank);
  for (int64_t& d : t.shape) d = r.i64(what);
  int64_t numel = 0;
  if (!checked_numel(t.shape, &numel)) {
    r.fail(str_cat("bad shape for tensor ", what, " (a negative dim or more than 2^63 elements)"), at);
  }
  size_t nbytes_at = r.offset();
  uint64_t nbytes = r.u64(what);
  uint64_t expected;
  if (__builtin_mul_overflow(uint64_t(numel), uint64_t(ir::dtype_size(t.dtype)), &expected) || nbytes != expected) {
    r.fail(str_cat("tensor ", what, " of dtype ", ir::dtype_name(t.dtype), " and ", numel, " elements has ", nbytes,
                   " bytes of data"),
           nbytes_at);
  }
  if (nbytes > r.left()) {
    r.fail(str_cat("engine is truncated or corrupt: tensor ", what, " claims ", nbytes,
                   " bytes of data, only ", r.left(), " bytes are left"),
           nbytes_at);
  }
  const uint8_t* p = r.take(nbytes, what);
  t.bytes->assign(p, p + nbytes);
  return t;
}

// Reads one attribute field; the mirror of AttrWriter (serialize_write.cpp).
struct AttrReader {
  Reader& r;

  template <typename T>
  void operator()(const char* field, T& v) {
    if constexpr (std::is_same_v<T, int64_t>) {
      v = r.i64(field);
    } else if constexpr (std::is_same_v<T, double>) {
      v = r.f64(field);
    } else if constexpr (std::is_same_v<T, bool>) {
      v = r.boolean(field);
    } else if constexpr (std::is_enum_v<T>) {
      v = r.enumeration<T>(field);
    } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
      v.resize(r.count(field, 8, kMaxIntList));
      for (int64_t& x : v) x = r.i64(field);
    } else if constexpr (std::is_same_v<T, ir::Dim>) {
      v = read_dim(r, field);
    } else if constexpr (std::is_same_v<T, std::vector<ir::Dim>>) {
      v.resize(r.count(field, kDimBytes, kMaxRank));
      for (ir::Dim& x : v) x = read_dim(r, field);
    } else if constexpr (std::is_same_v<T, ir::HostTensor>) {
      v = read_tensor(r, field);
    } else {
      static_assert(kAlwaysFalse<T>, "attribute field type without a serialized form");
    }
  }
};

// Default-constructed attributes of `op` (the variant alternative for that op).
ir::Attrs default_attrs(ir::OpKind op) {
  switch (op) {
#define TRTORCH_OP(Name, MinIn, MaxIn, MaxOut) \
  case ir::OpKind::Name:                       \
    return ir::Name##Attrs{};
#include "core/ir/ops.def"
#undef TRTORCH_OP
    default: break;
  }
  TRTORCH_CHECK(false, "bad op kind ", int(op));
  return std::monostate{};
}

// The attribute fields of an `op` node.
ir::Attrs read_attrs(Reader& r, ir::OpKind op) {
  ir::Attrs attrs = default_attrs(op);
  std::visit(
      [&](auto& a) {
        if constexpr (!std::is_same_v<std::decay_t<decltype(a)>, std::monostate>) {
          AttrReader ar{r};
          a.visit(ar);
        }
      },
      attrs);
  return attrs;
}

// A node's input count (within the op's arity) and input value indices (each naming a value
// defined before the node).
std::vector<ir::Value*> read_node_inputs(Reader& r, ir::OpKind op, const std::vector<ir::Value*>& values) {
  size_t in_at = r.offset();
  size_t num_in = r.count("input count", 4, kMaxNodeInputs);
  const ir::OpInfo& info = ir::op_info(op);
  if (int(num_in) < info.min_inputs || (info.max_inputs >= 0 && int(num_in) > info.max_inputs)) {
    const std::string max_inputs = info.max_inputs < 0 ? std::string("any") : std::to_string(info.max_inputs);
    r.fail(str_cat(info.name, " takes ", info.min_inputs, "..", max_inputs, " inputs, the engine has ", num_in), in_at);
  }
  std::vector<ir::Value*> inputs(num_in);
  for (size_t k = 0; k < num_in; ++k) {
    size_t at = r.offset();
    uint32_t idx = r.u32("input value index");
    if (idx >= values.size()) {
      r.fail(str_cat("value index ", idx, " of input ", k, " out of range (", values.size(),
                     " values defined so far)"),
             at);
    }
    inputs[k] = values[idx];
  }
  return inputs;
}

// One node: op id, source, input value indices, attribute fields, then each output's name and
// type (checked against what shape inference gives). Appends its outputs to `values`.
void read_node(Reader& r, ir::Graph& g, std::vector<ir::Value*>& values, size_t i) {
  r.set_context(str_cat("node ", i));
  size_t op_at = r.offset();
  uint32_t op_id = r.u32("op id");
  if (op_id >= uint32_t(ir::kNumOps)) {
    r.fail(str_cat("unknown op id ", op_id, " (this build knows ", ir::kNumOps, " ops)"), op_at);
  }
  ir::OpKind op = ir::OpKind(op_id);
  std::string where = str_cat("node ", i, " (", ir::op_info(op).name, ")");
  r.set_context(where);
  std::string source = r.str("source");
  std::vector<ir::Value*> inputs = read_node_inputs(r, op, values);
  ir::Attrs attrs = read_attrs(r, op);

  ir::Node* n;
  try {
    n = g.add_node(op, std::move(attrs), inputs, std::move(source));
  } catch (const Error& e) {
    TRTORCH_ERROR("engine graph is invalid: ", where, ": ", e.what());
  }
  for (size_t k = 0; k < n->outputs.size(); ++k) {
    ir::Value* o = n->outputs[k];
    o->name = r.str("output name");
    size_t at = r.offset();
    ir::TensorType stored = read_type(r, "output type");
    if (stored != o->type) {
      TRTORCH_ERROR("engine graph is invalid: ", where, " output ", k, " is stored as ", stored.str(),
                    " but shape inference gives ", o->type.str(), " (offset ", at, ")");
    }
    values.push_back(o);
  }
}

std::unique_ptr<ir::Graph> read_graph(Reader& r) {
  auto g = std::make_unique<ir::Graph>();
  std::vector<ir::Value*> values;  // in definition order

  r.set_context("graph inputs");
  size_t num_inputs = r.count("graph input count", 4 + 1 + 4);
  for (size_t i = 0; i < num_inputs; ++i) {
    std::string name = r.str("graph input name");
    ir::TensorType t = read_type(r, "graph input type");
    values.push_back(g->add_input(std::move(t), std::move(name)));
  }

  r.set_context("");
  size_t num_nodes = r.count("node count", 4 + 4 + 4);
  for (size_t i = 0; i < num_nodes; ++i) read_node(r, *g, values, i);

  r.set_context("graph outputs");
  size_t num_outputs = r.count("graph output count", 4);
  for (size_t i = 0; i < num_outputs; ++i) {
    size_t at = r.offset();
    uint32_t idx = r.u32("graph output value index");
    if (idx >= values.size()) {
      r.fail(str_cat("value index ", idx, " of graph output ", i, " out of range (", values.size(),
                     " values in the graph)"),
             at);
    }
    g->mark_output(values[idx]);
  }
  r.set_context("");

  try {
    ir::verify(*g);
  } catch (const Error& e) {
    TRTORCH_ERROR("engine graph is invalid: ", e.what());
  }
  return g;
}

std::vector<std::string> read_names(Reader& r, const char* what) {
  std::vector<std::string> names(r.count(what, 4));
  for (std::string& s : names) s = r.str(what);
  return names;
}

// None, or one shape per graph input, each within the input's dim ranges.
std::vector<std::vector<int64_t>> read_opt_shapes(Reader& r, const ir::Graph& g) {
  r.set_context("opt shapes");
  size_t at_opt = r.offset();
  std::vector<std::vector<int64_t>> shapes(r.count("opt shapes", 4, g.inputs().size()));
  if (!shapes.empty() && shapes.size() != g.inputs().size())
    r.fail(str_cat("engine has ", shapes.size(), " opt shapes for ", g.inputs().size(), " inputs"), at_opt);
  for (size_t i = 0; i < shapes.size(); ++i) {
    const ir::TensorType& t = g.inputs()[i]->type;
    shapes[i].resize(r.count("opt shape", 8, kMaxRank));
    for (int64_t& d : shapes[i]) d = r.i64("opt shape");
    bool ok = int64_t(shapes[i].size()) == t.rank();
    for (size_t d = 0; ok && d < shapes[i].size(); ++d)
      ok = shapes[i][d] >= t.dims[d].min && shapes[i][d] <= t.dims[d].max;
    if (!ok) r.fail(str_cat("opt shape of input ", i, " does not fit ", t.str()), at_opt);
  }
  return shapes;
}

void read_device(Reader& r, DeviceInfo& device) {
  r.set_context("device record");
  size_t at = r.offset();
  uint8_t type = r.u8("device type");
  if (!known_device_type(type)) r.fail(str_cat("unknown device type ", int(type)), at);
  device.type = DeviceType(type);
  device.gpu_id = r.i32("gpu id");
  device.gpu_name = r.str("gpu name");
  device.sm_major = r.i32("sm major");
  device.sm_minor = r.i32("sm minor");
  r.set_context("");
}

}  // namespace

Engine read_payload(Reader& r) {
  Engine e;
  read_device(r, e.device);
  e.precision = r.enumeration<DType>("precision");
  e.producer = r.str("producer");
  e.build_options = r.str("build options", kMaxBuildOptions);
  e.input_names = read_names(r, "input names");
  e.output_names = read_names(r, "output names");
  e.graph = read_graph(r);
  e.opt_shapes = read_opt_shapes(r, *e.graph);
  r.set_context("backend data");
  uint64_t n_backend = r.u64("backend data size");
  const uint8_t* backend = r.take(n_backend, "backend data");
  e.backend_data.assign(backend, backend + n_backend);
  r.set_context("");
  if (r.left() != 0) {
    TRTORCH_ERROR("engine has ", r.left(), " trailing bytes after the graph at offset ", r.offset());
  }
  return e;
}

}  // namespace trtorch::plan::detail
