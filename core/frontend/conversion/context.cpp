// ConversionCtx: the TorchScript value -> Arg map, IR node creation and the checks and errors
// converters share (see context.h).
#include "core/frontend/conversion/context.h"

#include <sstream>

#include "core/frontend/dtype_map.h"
#include "core/util/error.h"

namespace trtorch::frontend {

namespace {

// "file:line" of a source range, or "" where it has none or names no file (code that TorchScript
// compiled from a string: its builtins, torch._assert).
std::string file_line(const torch::jit::SourceRange& r) {
  auto flc = r.file_line_col();
  if (!flc) return "";
  auto [file, line, col] = *flc;
  if (file.empty() || file == "<string>") return "";
  return str_cat(file, ":", line);
}

}  // namespace

std::string source_location(const torch::jit::Node* n) {
  std::string here = file_line(n->sourceRange());
  if (!here.empty()) return here;
  // Code without a file of its own (timm's _assert is torch._assert): the innermost call site in
  // the model's code that inlined it, else the model's code around it (the branch it is in, or
  // what computed the branch's condition).
  std::string caller;
  if (auto cs = n->callstack())
    for (const auto& frame : (*cs)->vec()) {
      const std::string at = file_line(std::get<1>(frame));
      if (!at.empty()) caller = at;
    }
  for (const torch::jit::Node* up = n->owningBlock()->owningNode(); caller.empty() && up;
       up = up->owningBlock()->owningNode()) {
    caller = file_line(up->sourceRange());
    if (caller.empty() && !up->inputs().empty()) caller = file_line(up->input(0)->node()->sourceRange());
  }
  auto flc = n->sourceRange().file_line_col();
  const std::string own = flc ? str_cat(std::get<0>(*flc), ":", std::get<1>(*flc)) : "unknown location";
  return caller.empty() ? own : str_cat(own, ", called from ", caller);
}

std::string describe(const torch::jit::Node* n) {
  std::ostringstream os;
  if (auto s = n->maybeSchema()) {
    os << *s;
  } else {
    os << n->kind().toQualString();
  }
  os << " at " << source_location(n);
  return os.str();
}

void ConversionCtx::fail(const std::string& why) const {
  if (node) TRTORCH_ERROR(why, "\n  in ", describe(node));
  TRTORCH_ERROR(why);
}

const Arg& ConversionCtx::arg(const torch::jit::Value* v) const {
  auto it = values_.find(v);
  if (it == values_.end()) fail(str_cat("value %", v->debugName(), " has not been converted"));
  return it->second;
}

bool ConversionCtx::is_const(const torch::jit::Value* v) const { return arg(v).kind == Arg::Kind::kIValue; }

bool ConversionCtx::is_none(const torch::jit::Value* v) const {
  const Arg& a = arg(v);
  return a.kind == Arg::Kind::kIValue && a.ivalue.isNone();
}

c10::IValue ConversionCtx::ivalue(const torch::jit::Value* v) const {
  const Arg& a = arg(v);
  if (a.kind == Arg::Kind::kSymInt)
    fail(str_cat("argument %", v->debugName(), " is the dynamic size ", a.dim.str(), " (range [", a.dim.min, ", ",
                 a.dim.max, "]), but this op needs it known at compile time; give this input a fixed shape"));
  if (a.kind == Arg::Kind::kList)
    for (const Arg& item : a.items)
      if (item.kind == Arg::Kind::kSymInt)
        fail(str_cat("argument %", v->debugName(), " holds the dynamic size ", item.dim.str(), " (range [",
                     item.dim.min, ", ", item.dim.max,
                     "]), but this op needs it known at compile time; give this input a fixed shape"));
  if (a.kind != Arg::Kind::kIValue)
    fail(str_cat("argument %", v->debugName(), " must be known at compile time but is computed by the model"));
  return a.ivalue;
}

int64_t ConversionCtx::to_int(const torch::jit::Value* v) const {
  auto iv = ivalue(v);
  if (iv.isInt()) return iv.toInt();
  if (iv.isBool()) return iv.toBool();
  if (iv.isTensor() && iv.toTensor().numel() == 1) return iv.toTensor().item<int64_t>();
  fail(str_cat("argument %", v->debugName(), " must be an int, got ", iv.tagKind()));
}

double ConversionCtx::to_double(const torch::jit::Value* v) const {
  auto iv = ivalue(v);
  if (iv.isDouble()) return iv.toDouble();
  if (iv.isInt()) return double(iv.toInt());
  if (iv.isBool()) return iv.toBool();
  if (iv.isTensor() && iv.toTensor().numel() == 1) return iv.toTensor().item<double>();
  fail(str_cat("argument %", v->debugName(), " must be a number, got ", iv.tagKind()));
}

bool ConversionCtx::to_bool(const torch::jit::Value* v) const {
  auto iv = ivalue(v);
  if (iv.isBool()) return iv.toBool();
  if (iv.isInt()) return iv.toInt() != 0;
  fail(str_cat("argument %", v->debugName(), " must be a bool, got ", iv.tagKind()));
}

std::vector<int64_t> ConversionCtx::to_ints(const torch::jit::Value* v) const {
  auto iv = ivalue(v);
  if (iv.isIntList()) return iv.toIntVector();
  if (iv.isInt()) return {iv.toInt()};
  if (iv.isList()) {
    std::vector<int64_t> r;
    for (const auto& e : iv.toListRef()) {
      if (!e.isInt()) fail(str_cat("argument %", v->debugName(), " must be a list of ints"));
      r.push_back(e.toInt());
    }
    return r;
  }
  fail(str_cat("argument %", v->debugName(), " must be a list of ints, got ", iv.tagKind()));
}

namespace {
bool int_ivalue(const c10::IValue& iv) {
  return iv.isInt() || (iv.isTensor() && iv.toTensor().dim() == 0 &&
                        at::isIntegralType(iv.toTensor().scalar_type(), /*includeBool=*/false));
}
}  // namespace

bool ConversionCtx::list_items(const torch::jit::Value* v, std::vector<Arg>* out) const {
  const Arg& a = arg(v);
  if (a.kind == Arg::Kind::kList) {
    *out = a.items;
    return true;
  }
  if (a.kind == Arg::Kind::kIValue && (a.ivalue.isList() || a.ivalue.isTuple())) {
    out->clear();
    if (a.ivalue.isList())
      for (const auto& e : a.ivalue.toListRef()) out->push_back(Arg::of_ivalue(e));
    else
      for (const auto& e : a.ivalue.toTupleRef().elements()) out->push_back(Arg::of_ivalue(e));
    return true;
  }
  return false;
}

bool ConversionCtx::is_size(const torch::jit::Value* v) const {
  const Arg& a = arg(v);
  return a.kind == Arg::Kind::kSymInt || (a.kind == Arg::Kind::kIValue && int_ivalue(a.ivalue));
}

ir::Dim ConversionCtx::to_dim(const torch::jit::Value* v) const {
  const Arg& a = arg(v);
  if (a.kind == Arg::Kind::kSymInt) return a.dim;
  return ir::Dim::fixed(to_int(v));
}

std::vector<ir::Dim> ConversionCtx::to_dims(const torch::jit::Value* v) const {
  const Arg& a = arg(v);
  std::vector<ir::Dim> r;
  if (a.kind == Arg::Kind::kList) {
    for (const Arg& item : a.items) {
      if (item.kind == Arg::Kind::kSymInt) {
        r.push_back(item.dim);
      } else if (item.kind == Arg::Kind::kIValue && int_ivalue(item.ivalue)) {
        r.push_back(ir::Dim::fixed(item.ivalue.isInt() ? item.ivalue.toInt() : item.ivalue.toTensor().item<int64_t>()));
      } else {
        fail(str_cat("argument %", v->debugName(), " must be a list of sizes"));
      }
    }
    return r;
  }
  if (a.kind == Arg::Kind::kSymInt) return {a.dim};
  for (int64_t x : to_ints(v)) r.push_back(ir::Dim::fixed(x));
  return r;
}

ir::Value* ConversionCtx::constant(const at::Tensor& t0) {
  at::Tensor t = t0.detach().to(at::kCPU).contiguous();
  if (t.scalar_type() == at::kDouble) t = t.to(at::kFloat);
  ir::DType dt = from_torch_dtype(t.scalar_type());
  ir::HostTensor h(dt, t.sizes().vec());
  std::memcpy(h.data(), t.data_ptr(), h.nbytes());
  return graph.add_constant(std::move(h), node ? describe(node) : "");
}

ir::Value* ConversionCtx::scalar_constant(double v, ir::DType dtype) {
  ir::HostTensor h(dtype, {});
  h.set(0, v);
  return graph.add_constant(std::move(h), node ? describe(node) : "");
}

ir::Value* ConversionCtx::tensor(const torch::jit::Value* v) {
  const Arg& a = arg(v);
  if (a.kind == Arg::Kind::kTensor) return a.tensor;
  if (a.kind == Arg::Kind::kIValue) {
    auto it = materialized_.find(v);
    if (it != materialized_.end()) return it->second;
    ir::Value* c = nullptr;
    if (a.ivalue.isTensor()) {
      c = constant(a.ivalue.toTensor());
    } else if (a.ivalue.isDouble()) {
      c = scalar_constant(a.ivalue.toDouble(), ir::DType::kFloat32);
    } else if (a.ivalue.isInt() || a.ivalue.isBool()) {
      c = scalar_constant(double(a.ivalue.isInt() ? a.ivalue.toInt() : a.ivalue.toBool()), ir::DType::kInt64);
    } else {
      fail(str_cat("argument %", v->debugName(), " must be a tensor, got ", a.ivalue.tagKind()));
    }
    materialized_[v] = c;
    return c;
  }
  if (a.kind == Arg::Kind::kSymInt)
    fail(str_cat("argument %", v->debugName(), " is the dynamic size ", a.dim.str(),
                 "; using a size as a tensor value is not supported with dynamic shapes"));
  fail(str_cat("argument %", v->debugName(), " must be a tensor, got a list"));
}

ir::Value* ConversionCtx::tensor_as(const torch::jit::Value* v, ir::DType dtype) {
  const Arg& a = arg(v);
  if (a.kind == Arg::Kind::kIValue) {
    if (a.ivalue.isTensor()) {
      at::Tensor t = a.ivalue.toTensor().to(to_torch_dtype(dtype));
      return constant(t);
    }
    if (a.ivalue.isDouble() || a.ivalue.isInt() || a.ivalue.isBool()) return scalar_constant(to_double(v), dtype);
  }
  ir::Value* t = tensor(v);
  if (t->type.dtype != dtype) {
    ir::CastAttrs c;
    c.to = dtype;
    t = add(ir::OpKind::Cast, c, {t});
  }
  return t;
}

std::vector<ir::Value*> ConversionCtx::tensor_list(const torch::jit::Value* v) {
  const Arg& a = arg(v);
  std::vector<ir::Value*> out;
  if (a.kind == Arg::Kind::kList) {
    for (const Arg& item : a.items) {
      if (item.kind == Arg::Kind::kTensor) {
        out.push_back(item.tensor);
      } else if (item.kind == Arg::Kind::kIValue && item.ivalue.isTensor()) {
        out.push_back(constant(item.ivalue.toTensor()));
      } else {
        fail(str_cat("argument %", v->debugName(), " must be a list of tensors"));
      }
    }
    return out;
  }
  if (a.kind == Arg::Kind::kIValue && a.ivalue.isTensorList()) {
    for (const at::Tensor& t : a.ivalue.toTensorVector()) out.push_back(constant(t));
    return out;
  }
  fail(str_cat("argument %", v->debugName(), " must be a list of tensors"));
}

ir::Value* ConversionCtx::add(ir::OpKind op, ir::Attrs attrs, const std::vector<ir::Value*>& inputs) {
  std::string src = node ? describe(node) : "";
  try {
    return graph.add_node(op, std::move(attrs), inputs, src)->outputs[0];
  } catch (const Error& e) {
    TRTORCH_ERROR(e.what());
  }
}

int64_t normalize_dim(const ConversionCtx& ctx, int64_t dim, int64_t rank) {
  int64_t d = dim < 0 ? dim + rank : dim;
  if (d < 0 || d >= rank) ctx.fail(str_cat("dimension ", dim, " is out of range for a tensor of rank ", rank));
  return d;
}

}  // namespace trtorch::frontend
