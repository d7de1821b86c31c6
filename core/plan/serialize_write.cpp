// The engine format's writer: the payload (device record, names, graph, opt shapes, backend data),
// the graph's values and nodes, tensor types with their symbolic dims, and the attribute fields.
// The layout is described in serialize.cpp; serialize() there adds the header.
#include <string>
#include <type_traits>
#include <unordered_map>

#include "core/plan/serialize_io.h"

namespace trtorch::plan::detail {

namespace {

using ir::DType;

// A dim: u8 0 then i64 size (static), or u8 1 then its polynomial (symbolic):
//   poly = i64 constant | u32 terms | per term: i64 coef | u32 atoms | per atom: u8 kind, then
//          kind 0 (symbol): i32 id, i64 lo, i64 hi; kind 1 (floor division): i64 den, poly.
void write_poly(Writer& w, const ir::SymPoly& p);
void write_dim(Writer& w, const ir::Dim& d) {
  w.u8(d.is_static() ? 0 : 1);
  if (d.is_static())
    w.i64(d.min);
  else
    write_poly(w, *d.expr);
}
void write_poly(Writer& w, const ir::SymPoly& p) {
  w.i64(p.constant);
  w.u32(uint32_t(p.terms.size()));
  for (const auto& t : p.terms) {
    w.i64(t.coef);
    w.u32(uint32_t(t.atoms.size()));
    for (const auto& a : t.atoms) {
      w.u8(uint8_t(a->kind));
      if (a->kind == ir::SymAtom::Kind::kSymbol) {
        w.i32(a->symbol);
        w.i64(a->lo);
        w.i64(a->hi);
      } else {
        w.i64(a->den);
        write_poly(w, *a->num);
      }
    }
  }
}

void write_type(Writer& w, const ir::TensorType& t) {
  TRTORCH_EXPECT(t.dims.size() <= kMaxRank, "cannot serialize engine: ", t.str(), " has rank ",
                 t.dims.size(), " (the format allows at most ", kMaxRank, ")");
  w.u8(uint8_t(t.dtype));
  w.u32(uint32_t(t.dims.size()));
  for (const ir::Dim& d : t.dims) write_dim(w, d);
}

// Writes one attribute field; every field type of attrs.h has a branch here.
struct AttrWriter {
  Writer& w;
  const char* op;

  template <typename T>
  void operator()(const char* field, const T& v) {
    if constexpr (std::is_same_v<T, int64_t>) {
      w.i64(v);
    } else if constexpr (std::is_same_v<T, double>) {
      w.f64(v);
    } else if constexpr (std::is_same_v<T, bool>) {
      w.u8(v ? 1 : 0);
    } else if constexpr (std::is_enum_v<T>) {
      TRTORCH_EXPECT(size_t(v) < enum_count<T>(), "cannot serialize engine: ", op, " attribute ", field,
                     " has unknown value ", int(v));
      w.u8(uint8_t(v));
    } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
      TRTORCH_EXPECT(v.size() <= kMaxIntList, "cannot serialize engine: ", op, " attribute ", field, " has ",
                     v.size(), " entries (the format allows at most ", kMaxIntList, ")");
      w.u32(uint32_t(v.size()));
      for (int64_t x : v) w.i64(x);
    } else if constexpr (std::is_same_v<T, ir::Dim>) {
      write_dim(w, v);
    } else if constexpr (std::is_same_v<T, std::vector<ir::Dim>>) {
      TRTORCH_EXPECT(v.size() <= kMaxRank, "cannot serialize engine: ", op, " attribute ", field, " has ",
                     v.size(), " entries (the format allows at most ", kMaxRank, ")");
      w.u32(uint32_t(v.size()));
      for (const ir::Dim& x : v) write_dim(w, x);
    } else if constexpr (std::is_same_v<T, ir::HostTensor>) {
      write_tensor(field, v);
    } else {
      static_assert(kAlwaysFalse<T>, "attribute field type without a serialized form");
    }
  }

  // u8 dtype, u32 rank, rank x i64 dim, u64 byte count, the bytes.
  void write_tensor(const char* field, const ir::HostTensor& v) {
    int64_t numel = 0;
    TRTORCH_EXPECT(size_t(v.dtype) < enum_count<DType>() && v.shape.size() <= kMaxRank &&
                       checked_numel(v.shape, &numel) && uint64_t(numel) * ir::dtype_size(v.dtype) == v.nbytes(),
                   "cannot serialize engine: ", op, " attribute ", field, " is not a valid tensor");
    w.u8(uint8_t(v.dtype));
    w.u32(uint32_t(v.shape.size()));
    for (int64_t d : v.shape) w.i64(d);
    w.u64(v.nbytes());
    w.raw(v.data(), v.nbytes());
  }
};

// Numbers the graph's values in definition order (graph inputs, then node outputs) and writes
// references to them.
class ValueNumbering {
 public:
  void define(const ir::Value* v) {
    TRTORCH_EXPECT(index_.emplace(v, uint32_t(index_.size())).second, "cannot serialize engine: value %", v->id,
                   " is defined twice");
  }
  void ref(Writer& w, const ir::Value* v, const std::string& where) const {
    auto it = index_.find(v);
    TRTORCH_EXPECT(it != index_.end(), "cannot serialize engine: ", where, " uses value %", v ? v->id : -1,
                   " that is not defined before it");
    w.u32(it->second);
  }

 private:
  std::unordered_map<const ir::Value*, uint32_t> index_;
};

// Node `i`: op id, source, input value indices, attribute fields, then each output's name and type.
void write_node(Writer& w, const ir::Node* n, size_t i, ValueNumbering& values) {
  std::string where = str_cat("node ", i, " (", n->name(), ")");
  TRTORCH_EXPECT(n->inputs.size() <= kMaxNodeInputs, "cannot serialize engine: ", where, " has ",
                 n->inputs.size(), " inputs (the format allows at most ", kMaxNodeInputs, ")");
  TRTORCH_EXPECT(n->attrs.index() == size_t(n->op), "cannot serialize engine: ", where,
                 " carries attributes of another op");
  w.u32(uint32_t(n->op));
  w.str(n->source);
  w.u32(uint32_t(n->inputs.size()));
  for (const ir::Value* v : n->inputs) values.ref(w, v, where);
  std::visit(
      [&](const auto& attrs) {
        using A = std::decay_t<decltype(attrs)>;
        if constexpr (!std::is_same_v<A, std::monostate>) {
          AttrWriter aw{w, n->name()};
          const_cast<A&>(attrs).visit(aw);  // visit() only reads; the writer takes const refs
        }
      },
      n->attrs);
  TRTORCH_EXPECT(!n->outputs.empty() && int(n->outputs.size()) <= ir::op_info(n->op).max_outputs,
                 "cannot serialize engine: ", where, " has ", n->outputs.size(), " outputs");
  for (const ir::Value* o : n->outputs) {
    values.define(o);
    w.str(o->name);
    write_type(w, o->type);
  }
}

void write_graph(Writer& w, const ir::Graph& g) {
  ValueNumbering values;
  w.count(g.inputs().size(), "the graph inputs");
  for (const ir::Value* v : g.inputs()) {
    values.define(v);
    w.str(v->name);
    write_type(w, v->type);
  }
  const std::vector<ir::Node*> nodes = g.nodes();
  w.count(nodes.size(), "the node list");
  for (size_t i = 0; i < nodes.size(); ++i) write_node(w, nodes[i], i, values);
  w.count(g.outputs().size(), "the graph outputs");
  for (const ir::Value* v : g.outputs()) values.ref(w, v, "the graph outputs");
}

}  // namespace

void write_payload(Writer& w, const Engine& e) {
  TRTORCH_EXPECT(known_device_type(uint8_t(e.device.type)), "cannot serialize engine: unknown device type ",
                 int(e.device.type));
  TRTORCH_EXPECT(size_t(e.precision) < enum_count<DType>(), "cannot serialize engine: unknown precision ",
                 int(e.precision));
  w.u8(uint8_t(e.device.type));
  w.i32(e.device.gpu_id);
  w.str(e.device.gpu_name);
  w.i32(e.device.sm_major);
  w.i32(e.device.sm_minor);
  w.u8(uint8_t(e.precision));
  w.str(e.producer);
  TRTORCH_EXPECT(e.build_options.size() <= kMaxBuildOptions, "cannot serialize engine: its build options take ",
                 e.build_options.size(), " bytes (at most ", kMaxBuildOptions, ")");
  w.str(e.build_options);
  w.count(e.input_names.size(), "input names");
  for (const std::string& s : e.input_names) w.str(s);
  w.count(e.output_names.size(), "output names");
  for (const std::string& s : e.output_names) w.str(s);
  write_graph(w, *e.graph);
  w.count(e.opt_shapes.size(), "opt shapes");
  for (const auto& sh : e.opt_shapes) {
    w.count(sh.size(), "opt shape");
    for (int64_t d : sh) w.i64(d);
  }
  w.u64(e.backend_data.size());
  w.raw(e.backend_data.data(), e.backend_data.size());
}

}  // namespace trtorch::plan::detail
