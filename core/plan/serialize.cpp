// The serialized engine format (layout in engine.h).
//
// Payload, in order (integers little-endian; str = u32 length + bytes; type = u8 dtype, u32 rank,
// rank x dim; dim = u8 0, i64 size | u8 1, size polynomial: see write_dim):
//   device     u8 type, i32 gpu_id, str gpu_name, i32 sm_major, i32 sm_minor
//   precision  u8 dtype
//   producer   str
//   options    str: the build options, "key=value;..." (at most kMaxBuildOptions bytes)
//   names      u32 n, n x str input names; u32 n, n x str output names
//   inputs     u32 n, n x (str name, type)
//   nodes      u32 n, n x (u32 op id, str source, u32 k, k x u32 value index, attribute fields,
//                          one (str name, type) per output: as many as shape inference gives)
//   outputs    u32 n, n x u32 value index
//   opt shapes u32 n (0, or one per input), n x (u32 rank, rank x i64): where tactics were chosen
//   backend    u64 n, n bytes (opaque data of the engine's backend: tactic choices, memory plan)
// Values are numbered in definition order: graph inputs, then node outputs. Attribute fields are
// written in the order of their struct's visit(); changing a struct's fields changes the format, so
// bump kFormatVersion (tests/plan/serialize_test.cpp pins a golden checksum to catch this).
//
// Loading rebuilds the graph with Graph::add_node, which re-runs shape inference; the recomputed
// output types must equal the stored ones, and the graph must pass ir::verify.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>
#include <unordered_map>

#include "core/plan/engine.h"
#include "core/util/error.h"

namespace trtorch::plan {

namespace {

using ir::DType;

constexpr char kMagic[8] = {'T', 'R', 'T', 'O', 'R', 'C', 'H', '\0'};
constexpr size_t kHeaderSize = 8 + 4 + 8 + 8;

// Format limits. They bound the work and memory a (possibly hostile) engine can ask for; every
// int-list attribute is per-dimension, so it shares the rank limit.
constexpr size_t kMaxRank = 32;
// Integer-list attributes: shapes and strides (at most kMaxRank), and a Pointwise program (4 words
// per instruction).
constexpr size_t kMaxIntList = 1024;
constexpr size_t kMaxNodeInputs = 4096;
// The build options text (a few hundred bytes today).
constexpr size_t kMaxBuildOptions = 4096;

template <typename T>
constexpr bool kAlwaysFalse = false;

// Number of valid values of a serialized uint8-based enum.
template <typename E>
constexpr size_t enum_count() {
  static_assert(std::is_same_v<std::underlying_type_t<E>, uint8_t>, "serialized enums are uint8_t based");
  if constexpr (std::is_same_v<E, DType>) {
    return size_t(ir::kNumDTypes);
  } else {
    return size_t(E::kCount);
  }
}

bool known_device_type(uint8_t v) {
  switch (DeviceType(v)) {  // -Wswitch flags a new enumerator missing here
    case DeviceType::kReference:
    case DeviceType::kCUDA: return true;
  }
  return false;
}

// Element count of `shape` (dims >= 0); false if it does not fit int64_t.
bool checked_numel(const std::vector<int64_t>& shape, int64_t* out) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) return false;
  }
  *out = n;
  return true;
}

std::string hex64(uint64_t v) {
  char buf[19];
  std::snprintf(buf, sizeof(buf), "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Writing

class Writer {
 public:
  void u8(uint8_t v) { out_.push_back(v); }
  void u32(uint32_t v) { put_le(v, 4); }
  void u64(uint64_t v) { put_le(v, 8); }
  void i32(int32_t v) { put_le(uint32_t(v), 4); }
  void i64(int64_t v) { put_le(uint64_t(v), 8); }
  void f64(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    u64(bits);
  }
  void count(size_t n, const char* what) {
    TRTORCH_EXPECT(n <= UINT32_MAX, "cannot serialize engine: ", what, " has ", n, " entries");
    u32(uint32_t(n));
  }
  void str(const std::string& s) {
    count(s.size(), "a string");
    raw(s.data(), s.size());
  }
  void raw(const void* p, size_t n) {
    const uint8_t* b = static_cast<const uint8_t*>(p);
    out_.insert(out_.end(), b, b + n);
  }
  std::vector<uint8_t>& bytes() { return out_; }

 private:
  void put_le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(uint8_t(v >> (8 * i)));
  }
  std::vector<uint8_t> out_;
};

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
      int64_t numel = 0;
      TRTORCH_EXPECT(size_t(v.dtype) < enum_count<DType>() && v.shape.size() <= kMaxRank &&
                         checked_numel(v.shape, &numel) &&
                         uint64_t(numel) * ir::dtype_size(v.dtype) == v.nbytes(),
                     "cannot serialize engine: ", op, " attribute ", field, " is not a valid tensor");
      w.u8(uint8_t(v.dtype));
      w.u32(uint32_t(v.shape.size()));
      for (int64_t d : v.shape) w.i64(d);
      w.u64(v.nbytes());
      w.raw(v.data(), v.nbytes());
    } else {
      static_assert(kAlwaysFalse<T>, "attribute field type without a serialized form");
    }
  }
};

void write_graph(Writer& w, const ir::Graph& g) {
  std::unordered_map<const ir::Value*, uint32_t> index;
  auto define = [&](const ir::Value* v) {
    TRTORCH_EXPECT(index.emplace(v, uint32_t(index.size())).second, "cannot serialize engine: value %",
                   v->id, " is defined twice");
  };
  auto ref = [&](const ir::Value* v, const std::string& where) {
    auto it = index.find(v);
    TRTORCH_EXPECT(it != index.end(), "cannot serialize engine: ", where, " uses value %", v ? v->id : -1,
                   " that is not defined before it");
    w.u32(it->second);
  };

  w.count(g.inputs().size(), "the graph inputs");
  for (const ir::Value* v : g.inputs()) {
    define(v);
    w.str(v->name);
    write_type(w, v->type);
  }
  const std::vector<ir::Node*> nodes = g.nodes();
  w.count(nodes.size(), "the node list");
  for (size_t i = 0; i < nodes.size(); ++i) {
    const ir::Node* n = nodes[i];
    std::string where = str_cat("node ", i, " (", n->name(), ")");
    TRTORCH_EXPECT(n->inputs.size() <= kMaxNodeInputs, "cannot serialize engine: ", where, " has ",
                   n->inputs.size(), " inputs (the format allows at most ", kMaxNodeInputs, ")");
    TRTORCH_EXPECT(n->attrs.index() == size_t(n->op), "cannot serialize engine: ", where,
                   " carries attributes of another op");
    w.u32(uint32_t(n->op));
    w.str(n->source);
    w.u32(uint32_t(n->inputs.size()));
    for (const ir::Value* v : n->inputs) ref(v, where);
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
      define(o);
      w.str(o->name);
      write_type(w, o->type);
    }
  }
  w.count(g.outputs().size(), "the graph outputs");
  for (const ir::Value* v : g.outputs()) ref(v, "the graph outputs");
}

// ---------------------------------------------------------------------------------------------
// Reading

// Bounds-checked little-endian reads. Offsets in messages are from the start of the engine.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size, size_t base) : data_(data), size_(size), base_(base) {}

  size_t offset() const { return base_ + pos_; }
  size_t left() const { return size_ - pos_; }
  // What is being read, for messages: "node 3 (Conv2d)".
  void set_context(std::string c) { context_ = std::move(c); }

  [[noreturn]] void fail(const std::string& msg, size_t at) const {
    TRTORCH_ERROR(msg, " at offset ", at, context_.empty() ? "" : " (in ", context_, context_.empty() ? "" : ")");
  }

  const uint8_t* take(uint64_t n, const char* what) {
    if (n > left()) {
      TRTORCH_ERROR("engine is truncated: needs ", n, " bytes at offset ", offset(), ", only ", left(),
                    " left (reading ", what, context_.empty() ? "" : " of ", context_, ")");
    }
    const uint8_t* p = data_ + pos_;
    pos_ += size_t(n);
    return p;
  }

  uint8_t u8(const char* what) { return *take(1, what); }
  uint32_t u32(const char* what) { return uint32_t(le(take(4, what), 4)); }
  uint64_t u64(const char* what) { return le(take(8, what), 8); }
  int32_t i32(const char* what) { return int32_t(u32(what)); }
  int64_t i64(const char* what) { return int64_t(u64(what)); }
  double f64(const char* what) {
    uint64_t bits = u64(what);
    double v;
    std::memcpy(&v, &bits, 8);
    return v;
  }
  bool boolean(const char* what) {
    size_t at = offset();
    uint8_t v = u8(what);
    if (v > 1) fail(str_cat("bad bool value ", int(v), " for ", what), at);
    return v == 1;
  }
  template <typename E>
  E enumeration(const char* what) {
    size_t at = offset();
    uint8_t v = u8(what);
    if (v >= enum_count<E>()) {
      fail(str_cat("unknown ", std::is_same_v<E, DType> ? "dtype" : "enum value", " ", int(v), " for ", what,
                   " (this build knows ", enum_count<E>(), " values)"),
           at);
    }
    return E(v);
  }
  // A u32 element count, checked against `limit` and against the bytes left (each element takes
  // at least `min_elem_bytes`) before anything is allocated.
  size_t count(const char* what, size_t min_elem_bytes, size_t limit = SIZE_MAX) {
    size_t at = offset();
    size_t n = u32(what);
    if (n > limit) fail(str_cat("absurd size: ", what, " has ", n, " entries (at most ", limit, " allowed)"), at);
    if (n * min_elem_bytes > left()) {
      fail(str_cat("engine is truncated or corrupt: ", what, " claims ", n, " entries of at least ",
                   min_elem_bytes, " bytes, only ", left(), " bytes are left"),
           at);
    }
    return n;
  }
  std::string str(const char* what, size_t limit = SIZE_MAX) {
    size_t n = count(what, 1, limit);
    const uint8_t* p = take(n, what);
    return std::string(reinterpret_cast<const char*>(p), n);
  }

 private:
  static uint64_t le(const uint8_t* p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= uint64_t(p[i]) << (8 * i);
    return v;
  }

  const uint8_t* data_;
  size_t size_;
  size_t base_;
  size_t pos_ = 0;
  std::string context_;
};

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
  int64_t numel = 1;
  for (ir::Dim& d : t.dims) {
    size_t dim_at = r.offset();
    d = read_dim(r, what);
    if (!(d.min >= 0 && d.min <= d.max)) {
      r.fail(str_cat("bad dimension of ", what, ": ", d.str(), " in [", d.min, ", ", d.max, "]"), dim_at);
    }
    if (__builtin_mul_overflow(numel, d.max, &numel)) {
      r.fail(str_cat("absurd size: ", what, " has more than 2^63 elements"), at);
    }
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

// Reads one attribute field; the mirror of AttrWriter.
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

  size_t in_at = r.offset();
  size_t num_in = r.count("input count", 4, kMaxNodeInputs);
  const ir::OpInfo& info = ir::op_info(op);
  if (int(num_in) < info.min_inputs || (info.max_inputs >= 0 && int(num_in) > info.max_inputs)) {
    r.fail(str_cat(info.name, " takes ", info.min_inputs, "..",
                   info.max_inputs < 0 ? std::string("any") : std::to_string(info.max_inputs), " inputs, the engine has ",
                   num_in),
           in_at);
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

  ir::Attrs attrs = default_attrs(op);
  std::visit(
      [&](auto& a) {
        if constexpr (!std::is_same_v<std::decay_t<decltype(a)>, std::monostate>) {
          AttrReader ar{r};
          a.visit(ar);
        }
      },
      attrs);

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

Engine read_payload(Reader& r) {
  Engine e;
  r.set_context("device record");
  size_t at = r.offset();
  uint8_t type = r.u8("device type");
  if (!known_device_type(type)) r.fail(str_cat("unknown device type ", int(type)), at);
  e.device.type = DeviceType(type);
  e.device.gpu_id = r.i32("gpu id");
  e.device.gpu_name = r.str("gpu name");
  e.device.sm_major = r.i32("sm major");
  e.device.sm_minor = r.i32("sm minor");
  r.set_context("");
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

}  // namespace

std::vector<uint8_t> serialize(const Engine& e) {
  TRTORCH_EXPECT(e.graph != nullptr, "cannot serialize engine: it has no graph");
  Writer w;
  w.raw(kMagic, sizeof(kMagic));
  w.u32(kFormatVersion);
  w.u64(0);  // payload size, patched below
  w.u64(0);  // payload checksum, patched below

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

  std::vector<uint8_t>& out = w.bytes();
  uint64_t payload_size = out.size() - kHeaderSize;
  uint64_t checksum = fnv1a64(out.data() + kHeaderSize, payload_size);
  for (int i = 0; i < 8; ++i) {
    out[12 + i] = uint8_t(payload_size >> (8 * i));
    out[20 + i] = uint8_t(checksum >> (8 * i));
  }
  return std::move(out);
}

Engine deserialize(const uint8_t* data, size_t size) {
  TRTORCH_EXPECT(size > 0, "engine is empty (0 bytes)");
  if (std::memcmp(data, kMagic, std::min(size, sizeof(kMagic))) != 0) {
    TRTORCH_ERROR("not a trtorch engine (bad magic)");
  }
  Reader r(data, size, 0);
  r.take(sizeof(kMagic), "magic");
  uint32_t version = r.u32("format version");
  TRTORCH_EXPECT(version == kFormatVersion, "engine format version ", version,
                 " is not supported by this build (supports ", kFormatVersion, ")");
  uint64_t payload_size = r.u64("payload size");
  uint64_t checksum = r.u64("payload checksum");
  size_t payload_at = r.offset();
  const uint8_t* payload = r.take(payload_size, "payload");
  if (r.left() != 0) {
    TRTORCH_ERROR("engine has ", r.left(), " trailing bytes after its ", payload_size,
                  "-byte payload at offset ", r.offset());
  }
  uint64_t actual = fnv1a64(payload, size_t(payload_size));
  if (actual != checksum) {
    TRTORCH_ERROR("engine checksum mismatch (corrupted data): the header says ", hex64(checksum),
                  ", the payload at offset ", payload_at, " gives ", hex64(actual));
  }
  Reader pr(payload, size_t(payload_size), payload_at);
  return read_payload(pr);
}

Engine deserialize_payload(const uint8_t* data, size_t size) {
  Reader r(data, size, 0);
  return read_payload(r);
}

}  // namespace trtorch::plan
