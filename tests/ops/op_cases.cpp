// The op-test table's machinery: row builders, the op -> family map, the one-node graph of a row
// and its random inputs. The rows themselves are in op_rows.cpp.
#include "tests/ops/op_cases.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <random>

#include "core/util/error.h"

namespace trtorch::op_test {

using namespace trtorch::ir;

const char* family_of(OpKind op) {
  switch (op) {
    case OpKind::Conv2d: return "conv";
    case OpKind::Linear:
    case OpKind::MatMul: return "gemm";
    case OpKind::Attention: return "attention";
    case OpKind::BatchNorm:
    case OpKind::LayerNorm: return "norm";
    case OpKind::Pool2d:
    case OpKind::AdaptivePool2d: return "pooling";
    case OpKind::Unary:
    case OpKind::Binary:
    case OpKind::Cast:
    case OpKind::Pointwise: return "elementwise";
    case OpKind::Compare:
    case OpKind::Where: return "compare";
    case OpKind::Reduce:
    case OpKind::Softmax: return "reduce";
    case OpKind::CumSum:
    case OpKind::CumProd: return "scan";
    case OpKind::TopK: return "sort";
    case OpKind::GridSample: return "grid_sample";
    case OpKind::Quantize:
    case OpKind::Dequantize:
    case OpKind::QConv2d:
    case OpKind::QLinear: return "quantize";
    case OpKind::Constant:
    case OpKind::Identity:
    case OpKind::Reshape:
    case OpKind::Transpose:
    case OpKind::Concat:
    case OpKind::Slice:
    case OpKind::Gather:
    case OpKind::Scatter:
    case OpKind::Expand: return "data_movement";
    case OpKind::kNumOps: break;
  }
  return "";
}

OpCase row(const std::string& family, const std::string& name, OpKind op, Attrs attrs, std::vector<InputSpec> inputs,
           std::vector<DTypeTol> dtypes) {
  OpCase c;
  c.family = family;
  c.name = name;
  c.op = op;
  c.attrs = std::move(attrs);
  c.inputs = std::move(inputs);
  c.dtypes = std::move(dtypes);
  return c;
}

InputSpec in(Shape shape, double lo, double hi) {
  InputSpec s;
  s.shape = std::move(shape);
  s.lo = lo;
  s.hi = hi;
  return s;
}

InputSpec fixed(DType t, Shape shape, double lo, double hi) {
  InputSpec s = in(std::move(shape), lo, hi);
  s.dtype = t;
  return s;
}

InputSpec given(DType t, Shape shape, std::vector<double> values) {
  InputSpec s = fixed(t, std::move(shape));
  s.values = std::move(values);
  return s;
}

InputSpec weight(InputSpec s) {
  s.constant = true;
  return s;
}

std::vector<DTypeTol> floats() {
  return {{DType::kFloat32, 1e-5, 1e-6},
          {DType::kFloat16, std::ldexp(1.0, -10), 1e-5},
          {DType::kBFloat16, std::ldexp(1.0, -7), 1e-4}};
}

std::vector<DTypeTol> with_tol(double f32, double f16, double bf16) {
  return {{DType::kFloat32, f32, f32}, {DType::kFloat16, f16, f16}, {DType::kBFloat16, bf16, bf16}};
}

std::vector<DTypeTol> ints() { return {{DType::kInt32}, {DType::kInt64}}; }

std::vector<DTypeTol> every_dtype() {
  return {{DType::kFloat32}, {DType::kFloat16}, {DType::kBFloat16}, {DType::kInt32}, {DType::kInt64}, {DType::kBool}};
}

std::vector<DTypeTol> only(std::vector<DTypeTol> all, const std::vector<DType>& keep) {
  std::vector<DTypeTol> r;
  for (const DTypeTol& t : all)
    if (std::find(keep.begin(), keep.end(), t.dtype) != keep.end()) r.push_back(t);
  return r;
}

std::vector<OpRun> op_runs() {
  std::vector<OpRun> r;
  for (const OpCase& c : op_cases())
    for (const DTypeTol& t : c.dtypes) r.push_back({&c, t});
  return r;
}

std::string run_name(const OpRun& r) {
  std::string s = str_cat(r.row->family, "_", r.row->name, "_", dtype_name(r.dtype.dtype));
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

void PrintTo(const OpRun& r, std::ostream* os) { *os << run_name(r); }

Attrs attrs_of(const OpCase& c, DType dt) { return c.attrs_for ? c.attrs_for(dt) : c.attrs; }

namespace {

DType dtype_of(const InputSpec& s, DType dt) { return s.dtype ? *s.dtype : dt; }

HostTensor draw(const InputSpec& s, DType t, uint32_t seed) {
  HostTensor h(t, s.shape);
  if (!s.values.empty()) {
    TRTORCH_CHECK(int64_t(s.values.size()) == h.numel());
    for (int64_t i = 0; i < h.numel(); ++i) h.set(i, s.values[size_t(i)]);
    return h;
  }
  std::mt19937 gen(seed);
  if (t == DType::kInt32 || t == DType::kInt64 || t == DType::kInt8) {
    std::uniform_int_distribution<int64_t> d{int64_t(std::ceil(s.lo)), int64_t(std::floor(s.hi))};
    for (int64_t i = 0; i < h.numel(); ++i) h.set(i, double(d(gen)));
  } else if (t == DType::kBool) {
    std::bernoulli_distribution d(0.5);
    for (int64_t i = 0; i < h.numel(); ++i) h.set(i, d(gen) ? 1.0 : 0.0);
  } else {
    std::uniform_real_distribution<double> d(s.lo, s.hi);
    for (int64_t i = 0; i < h.numel(); ++i) {
      const double v = d(gen);
      h.set(i, s.step > 0 ? std::round(v / s.step) * s.step : v);  // rounded to the storage dtype
    }
    for (const auto& [i, v] : s.special) h.set(i, v);
  }
  return h;
}

}  // namespace

std::vector<HostTensor> draw_specs(const OpCase& c, DType dt) {
  std::vector<HostTensor> r;
  for (size_t i = 0; i < c.inputs.size(); ++i)
    r.push_back(draw(c.inputs[i], dtype_of(c.inputs[i], dt), c.seed + uint32_t(i)));
  return r;
}

std::vector<HostTensor> make_inputs(const OpCase& c, DType dt) {
  std::vector<HostTensor> all = draw_specs(c, dt), r;
  for (size_t i = 0; i < c.inputs.size(); ++i)
    if (!c.inputs[i].constant) r.push_back(all[i]);
  return r;
}

std::unique_ptr<Graph> make_graph(const OpCase& c, DType dt) {
  auto g = std::make_unique<Graph>();
  const std::vector<HostTensor> values = draw_specs(c, dt);
  std::vector<Value*> ins;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const TensorType type = TensorType::fixed(dtype_of(c.inputs[i], dt), c.inputs[i].shape);
    ins.push_back(c.inputs[i].constant ? g->add_constant(values[i]) : g->add_input(type, str_cat("in", i)));
  }
  std::vector<Value*> node_ins = ins;
  if (!c.wiring.empty()) {
    node_ins.clear();
    for (int w : c.wiring) node_ins.push_back(ins[size_t(w)]);
  }
  Node* n = g->add_node(c.op, attrs_of(c, dt), node_ins, str_cat("op table ", c.family, "/", c.name));
  for (Value* v : n->outputs) g->mark_output(v);
  return g;
}

}  // namespace trtorch::op_test
