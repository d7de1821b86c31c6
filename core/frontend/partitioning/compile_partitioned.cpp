// Partial compilation's driver (see compile_partitioned.h).
#include "core/frontend/partitioning/compile_partitioned.h"

#include <torch/csrc/jit/passes/constant_pooling.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <queue>
#include <set>
#include <unordered_set>

#include "core/frontend/conversion/context.h"
#include "core/frontend/dtype_map.h"
#include "core/frontend/partitioning/rewrites.h"
#include "core/frontend/partitioning/shape_analysis.h"
#include "core/runtime/runtime.h"
#include "core/util/error.h"
#include "core/util/logging.h"
#include "core/util/progress.h"

namespace trtorch::frontend {

using torch::jit::Block;
using torch::jit::Node;
using torch::jit::Value;

namespace {

// The engine-side dtype of a boundary tensor of torch dtype `st`, or nothing when none fits.
std::optional<ir::DType> boundary_dtype(c10::ScalarType st) {
  switch (st) {
    case at::kFloat: case at::kHalf: case at::kBFloat16: case at::kDouble: return ir::DType::kFloat32;
    case at::kLong: return ir::DType::kInt64;
    case at::kInt: case at::kShort: case at::kChar: case at::kByte: return ir::DType::kInt32;
    case at::kBool: return ir::DType::kBool;
    default: return std::nullopt;
  }
}

struct BuiltSegment {
  std::shared_ptr<plan::Engine> engine;
  std::vector<OutputTree> returns;          // one per segment output
  std::vector<c10::ScalarType> input_casts;   // per engine input: the dtype the engine takes
  std::vector<c10::ScalarType> output_dtypes; // per engine output: the dtype it gives
  std::vector<c10::ScalarType> value_dtypes;  // per segment output: the dtype TorchScript has
};

struct SegmentGraph {
  std::shared_ptr<torch::jit::Graph> graph;
  std::unordered_map<const Node*, Node*> origin;  // clone (top level) -> original node
};

SegmentGraph segment_graph(const Segment& s, const std::vector<c10::ScalarType>& input_types) {
  SegmentGraph out;
  out.graph = std::make_shared<torch::jit::Graph>();
  torch::jit::Graph& sg = *out.graph;
  std::unordered_map<Value*, Value*> env;
  std::unordered_set<const Node*> copies(s.copies.begin(), s.copies.end());
  for (size_t i = 0; i < s.inputs.size(); ++i) {
    Value* in = sg.addInput()->setType(c10::TensorType::get()->withScalarType(input_types[i]));
    // The method's name for the value (an argument's, 'y'), which the engine's input errors quote.
    if (s.inputs[i]->hasDebugName()) in->setDebugName(s.inputs[i]->debugNameBase());
    env[s.inputs[i]] = in;
  }
  std::function<void(Node*)> emit;
  std::function<Value*(Value*)> map_value = [&](Value* v) -> Value* {
    auto it = env.find(v);
    if (it != env.end()) return it->second;
    TRTORCH_CHECK(copies.count(v->node()), "partitioning: segment value %", v->debugName(), " has no source");
    emit(v->node());
    return env.at(v);
  };
  emit = [&](Node* n) {
    Node* c = sg.insertNode(sg.createClone(n, map_value));
    out.origin[c] = n;
    for (size_t i = 0; i < n->outputs().size(); ++i) env[n->output(i)] = c->output(i);
  };
  for (Node* n : s.nodes) emit(n);
  for (Value* v : s.outputs) sg.registerOutput(env.at(v));
  return out;
}


// What one attempt at building every segment found: nothing (all built) or nodes to send to Torch.
class SegmentBuilder {
 public:
  SegmentBuilder(const ShapeMap& shapes, const DataDependent& data_dependent, const plan::BuildConfig& build)
      : shapes_(shapes), data_dependent_(data_dependent), build_(build) {}

  // False when it sent nodes to TorchScript (partition again).
  bool specs(const Segment& s, ForcedNodes& forced, std::vector<InputSpec>& specs,
             std::vector<c10::ScalarType>& types) {
    bool ok = true;
    for (Value* v : s.inputs) {
      std::string why;
      auto it = shapes_.find(v);
      std::optional<ir::DType> dt;
      auto dd = data_dependent_.find(v);
      if (dd != data_dependent_.end()) {
        why = str_cat("has a shape that may depend on the data (it is computed from ", dd->second, ")");
      } else if (it == shapes_.end() || !it->second.seen) {
        why = "was not computed by any sample run, so its shape is unknown";
      } else if (!it->second.stable) {
        why = it->second.why_unstable;
      } else if (it->second.opt.empty()) {
        why = "is a 0-dim tensor (engine inputs have at least one dimension)";
      } else if (!(dt = boundary_dtype(it->second.dtype))) {
        why = str_cat("has dtype ", c10::toString(it->second.dtype), ", which engines do not take");
      } else {
        const auto& vs = it->second;
        for (size_t d = 0; d < vs.opt.size() && why.empty(); ++d)
          if (vs.min.size() != vs.opt.size() || vs.max.size() != vs.opt.size() || vs.min[d] < 1 || vs.min[d] > vs.opt[d] ||
              vs.opt[d] > vs.max[d])
            why = str_cat("has shapes ", c10::IntArrayRef(vs.min), " / ", c10::IntArrayRef(vs.opt), " / ",
                          c10::IntArrayRef(vs.max), " at the min / opt / max inputs, not a range of sizes >= 1");
      }
      if (!why.empty()) {
        ok = false;
        for (Node* n : s.nodes) {
          bool uses = false;
          for_each_outer_input(n, [&](Value* in) { uses = uses || in == v; });
          if (uses) forced.emplace(n, str_cat("its input %", v->debugName(), " ", why));
        }
        for (Node* c : s.copies) {
          // A copy that reads the tensor (its size): send its segment consumers instead.
          for (Value* in : c->inputs())
            if (in == v)
              for (Node* n : s.nodes) forced.emplace(n, str_cat("its input %", v->debugName(), " ", why));
        }
        continue;
      }
      const auto& vs = it->second;
      specs.push_back(InputSpec{vs.min, vs.opt, vs.max, *dt});
      types.push_back(to_torch_dtype(*dt));
    }
    return ok;
  }

  // Converts segment s; on failure sends the failing node (or the whole segment) to TorchScript.
  bool convert(const Segment& s, const std::vector<InputSpec>& specs, const std::vector<c10::ScalarType>& types,
               ForcedNodes& forced, ConvertedGraph& out) {
    SegmentGraph sg = segment_graph(s, types);
    const Node* failed = nullptr;
    try {
      out = convert_graph(sg.graph, specs, &failed);
      return true;
    } catch (const Error& e) {
      Node* top = failed ? ancestor_in(sg.graph->block(), const_cast<Node*>(failed)) : nullptr;
      auto it = top ? sg.origin.find(top) : sg.origin.end();
      if (it != sg.origin.end()) {
        forced.emplace(it->second, str_cat("cannot convert: ", first_line(e.what())));
      } else {
        for (Node* n : s.nodes) forced.emplace(n, str_cat("its segment cannot convert: ", first_line(e.what())));
      }
      TRTORCH_LOG(kDebug, "partial compilation: ", e.what());
      return false;
    }
  }

  BuiltSegment build(const Segment& s, ConvertedGraph conv) {
    BuiltSegment b;
    b.returns = std::move(conv.returns);
    std::vector<c10::ScalarType> converted_dtypes;
    for (const ir::Value* o : conv.graph->outputs()) converted_dtypes.push_back(to_torch_dtype(o->type.dtype));
    // TorchScript's dtype of each segment output: as seen in the sample runs, else as converted.
    for (size_t i = 0; i < s.outputs.size(); ++i) {
      auto it = shapes_.find(s.outputs[i]);
      c10::ScalarType st = it != shapes_.end() && it->second.seen ? it->second.dtype : c10::ScalarType::Undefined;
      if (st == c10::ScalarType::Undefined && b.returns[i].kind == OutputTree::Kind::kEngineOutput)
        st = converted_dtypes.at(size_t(b.returns[i].engine_output));
      b.value_dtypes.push_back(st);
    }
    // Boundary tensors that TorchScript holds in FP32 stay FP32 at the engine's inputs and outputs of
    // an FP16/BF16 engine: the engine casts them among its own kernels (in its CUDA graph), which
    // costs less than a TorchScript cast on each side of the engine call.
    plan::BuildConfig bc = build_;
    bc.opt_shapes = conv.opt_shapes;
    bc.fp32_inputs.clear();  // the settings' flags are about the method's inputs, not the segment's
    for (Value* v : s.inputs) {
      auto it = shapes_.find(v);
      bc.fp32_inputs.push_back(it != shapes_.end() && it->second.dtype == at::kFloat);
    }
    bc.fp32_outputs.assign(converted_dtypes.size(), false);
    for (size_t i = 0; i < b.value_dtypes.size(); ++i)
      if (b.value_dtypes[i] == at::kFloat && b.returns[i].kind == OutputTree::Kind::kEngineOutput)
        bc.fp32_outputs.at(size_t(b.returns[i].engine_output)) = true;
    auto engine = std::make_shared<plan::Engine>(
        plan::build_engine(std::move(conv.graph), bc, conv.input_names, conv.output_names));
    const plan::Engine& e = *engine;
    // A boundary tensor is cast only where TorchScript's dtype is not the engine's.
    for (size_t i = 0; i < e.graph->inputs().size(); ++i) {
      const c10::ScalarType want = to_torch_dtype(e.graph->inputs()[i]->type.dtype);
      auto it = shapes_.find(s.inputs.at(i));
      b.input_casts.push_back(it != shapes_.end() && it->second.dtype == want ? c10::ScalarType::Undefined : want);
    }
    for (const ir::Value* o : e.graph->outputs()) b.output_dtypes.push_back(to_torch_dtype(o->type.dtype));
    b.engine = std::move(engine);
    return b;
  }

 private:
  const ShapeMap& shapes_;
  const DataDependent& data_dependent_;
  const plan::BuildConfig& build_;
};

Value* cast_to(torch::jit::Graph& g, Value* v, c10::ScalarType st) {
  if (st == c10::ScalarType::Undefined) return v;
  return g.insert(c10::aten::to, {v, static_cast<int64_t>(st), false, false});
}

// Report counters.
struct Summary {
  size_t engine_ops = 0, torch_ops = 0, torch_segments = 0;
  std::map<std::string, size_t> torch_reasons;  // "aten::op: reason" -> count
};

bool is_glue(const Node* n) {
  auto k = n->kind();
  return k == c10::prim::Constant || k == c10::prim::ListConstruct || k == c10::prim::ListUnpack ||
         k == c10::prim::TupleConstruct || k == c10::prim::TupleUnpack || k == c10::prim::TupleIndex ||
         k == c10::prim::DictConstruct || k == c10::aten::__getitem__ || k == c10::prim::GetAttr ||
         k == c10::prim::Uninitialized || k == c10::aten::size || k == c10::aten::len || k == c10::aten::dim ||
         k == c10::prim::If || k == c10::prim::Loop || k == c10::prim::RaiseException || k == c10::aten::format ||
         k == c10::aten::warn || k == c10::prim::Print ||
         std::none_of(n->inputs().begin(), n->inputs().end(), [](const Value* v) { return is_tensor_value(v); });
}

// Stitches the segments of block b (its nested blocks first) and orders units by dependencies.
class Stitcher {
 public:
  Stitcher(torch::jit::Graph& g, const Partition& p, const std::vector<BuiltSegment>& built, Summary& summary)
      : g_(g), p_(p), built_(built), summary_(summary), mutated_(mutated_values(g)) {}

  void block(Block* b) {
    for (Node* n : b->nodes())
      if (placement(n) == Placement::kTorch)
        for (Block* sub : n->blocks()) block(sub);
    order(b);
  }

  void destroy_replaced() {
    for (auto it = dead_.rbegin(); it != dead_.rend(); ++it) {
      for (const Value* o : (*it)->outputs())
        for (const auto& u : o->uses())
          TRTORCH_CHECK(false, "partitioning: %", o->debugName(), " of ", describe(*it), " is still used by ",
                        describe(u.user));
      (*it)->destroy();
    }
  }

 private:
  Placement placement(const Node* n) const {
    auto it = p_.placement.find(n);
    return it == p_.placement.end() ? Placement::kTorch : it->second;
  }
  bool dead_copy(const Node* n) const {
    if (placement(n) != Placement::kCopy) return false;
    auto it = p_.copy_live.find(n);
    return it == p_.copy_live.end() || !it->second;
  }

  void order(Block* b) {
    struct Unit {
      int segment = -1;
      Node* node = nullptr;
      size_t first = 0;
      std::set<size_t> deps;
    };
    std::vector<Unit> units;
    std::unordered_map<const Node*, size_t> unit_of;
    std::map<int, size_t> seg_unit;
    std::vector<Node*> nodes(b->nodes().begin(), b->nodes().end());
    std::vector<Node*> local_dead;
    for (size_t i = 0; i < nodes.size(); ++i) {
      Node* n = nodes[i];
      if (placement(n) == Placement::kEngine && p_.segment_of.count(n)) {
        int s = p_.segment_of.at(n);
        auto it = seg_unit.find(s);
        if (it == seg_unit.end()) {
          it = seg_unit.emplace(s, units.size()).first;
          units.push_back(Unit{s, nullptr, i, {}});
        }
        unit_of[n] = it->second;
        local_dead.push_back(n);
      } else if (dead_copy(n)) {
        local_dead.push_back(n);
      } else {
        unit_of[n] = units.size();
        units.push_back(Unit{-1, n, i, {}});
      }
    }
    auto dep_on = [&](Unit& u, size_t self, Value* v) {
      Node* a = ancestor_in(b, v->node());
      if (!a) return;
      auto it = unit_of.find(a);
      if (it != unit_of.end() && it->second != self) u.deps.insert(it->second);
    };
    size_t last_side_effect = SIZE_MAX;
    for (size_t ui = 0; ui < units.size(); ++ui) {
      Unit& u = units[ui];
      if (u.segment >= 0) {
        for (Value* v : p_.segments[size_t(u.segment)].inputs) dep_on(u, ui, v);
      } else {
        for_each_outer_input(u.node, [&](Value* v) { dep_on(u, ui, v); });
        if (keeps_order(u.node, mutated_)) {
          if (last_side_effect != SIZE_MAX) u.deps.insert(last_side_effect);
          last_side_effect = ui;
        }
      }
    }
    // Kahn's algorithm, earliest original position first.
    std::vector<size_t> indegree(units.size(), 0);
    std::vector<std::vector<size_t>> users(units.size());
    for (size_t ui = 0; ui < units.size(); ++ui)
      for (size_t d : units[ui].deps) {
        ++indegree[ui];
        users[d].push_back(ui);
      }
    using Item = std::pair<size_t, size_t>;  // (first position, unit)
    std::priority_queue<Item, std::vector<Item>, std::greater<Item>> ready;
    for (size_t ui = 0; ui < units.size(); ++ui)
      if (indegree[ui] == 0) ready.push({units[ui].first, ui});
    size_t emitted = 0;
    bool in_torch_run = false;
    while (!ready.empty()) {
      size_t ui = ready.top().second;
      ready.pop();
      ++emitted;
      Unit& u = units[ui];
      if (u.segment >= 0) {
        emit_segment(b, u.segment);
        in_torch_run = false;
      } else {
        u.node->moveBefore(b->return_node());
        if (placement(u.node) == Placement::kTorch && !is_glue(u.node)) {
          if (!in_torch_run) ++summary_.torch_segments;
          in_torch_run = true;
        }
      }
      for (size_t w : users[ui])
        if (--indegree[w] == 0) ready.push({units[w].first, w});
    }
    TRTORCH_CHECK(emitted == units.size(), "partitioning: engine segments and TorchScript ops form a cycle");
    dead_.insert(dead_.end(), local_dead.begin(), local_dead.end());
  }

  void emit_segment(Block* b, int s) {
    const Segment& seg = p_.segments[size_t(s)];
    const BuiltSegment& bs = built_[size_t(s)];
    torch::jit::WithInsertPoint guard(b->return_node());
    Value* self = g_.inputs()[0];
    const std::string attr = str_cat("trtorch_engine_", s);
    engine_attrs_.push_back(attr);
    Value* eng = g_.insertNode(g_.createGetAttr(self, attr))->output();
    std::vector<Value*> ins;
    for (size_t i = 0; i < seg.inputs.size(); ++i) {
      // An output of a segment stitched before this one is read from that engine's call.
      auto r = replaced_.find(seg.inputs[i]);
      ins.push_back(cast_to(g_, r == replaced_.end() ? seg.inputs[i] : r->second, bs.input_casts.at(i)));
    }
    Value* list = g_.insertNode(g_.createList(c10::TensorType::get(), ins))->output();
    Node* exec = g_.create(c10::Symbol::fromQualString("trtorch::execute_engine"), {list, eng}, 1);
    g_.insertNode(exec);
    exec->output()->setType(c10::ListType::ofTensors());
    Node* unpack = g_.insertNode(g_.createListUnpack(exec->output(), bs.output_dtypes.size()));
    std::vector<Value*> outs(unpack->outputs().begin(), unpack->outputs().end());
    for (size_t i = 0; i < seg.outputs.size(); ++i) {
      Value* v = rebuild_output(g_, bs.returns[i], outs);
      if (bs.returns[i].kind == OutputTree::Kind::kEngineOutput &&
          bs.output_dtypes.at(size_t(bs.returns[i].engine_output)) != bs.value_dtypes[i])
        v = cast_to(g_, v, bs.value_dtypes[i]);
      Value* old = seg.outputs[i];
      replaced_[old] = v;
      std::vector<torch::jit::Use> uses(old->uses().begin(), old->uses().end());
      for (const auto& use : uses) {
        Node* a = ancestor_in(b, use.user);
        if (a && a != b->return_node() && placement(a) == Placement::kEngine && p_.segment_of.count(a) &&
            p_.segment_of.at(a) == s)
          continue;
        if (a && dead_copy(a)) continue;
        use.user->replaceInput(use.offset, v);
      }
    }
  }

 public:
  std::vector<std::string> engine_attrs_;

 private:
  torch::jit::Graph& g_;
  const Partition& p_;
  const std::vector<BuiltSegment>& built_;
  Summary& summary_;
  std::vector<Node*> dead_;
  std::unordered_map<const Value*, Value*> replaced_;
  std::unordered_set<const Value*> mutated_;
};


// The device the engines run on, where the TorchScript segments between them run too.
c10::Device engine_device(const plan::BuildConfig& build) {
  if (build.device.type == plan::DeviceType::kReference) return c10::Device(c10::kCPU);
  return c10::Device(c10::kCUDA, c10::DeviceIndex(build.device.gpu_id));
}

c10::Device analysis_device(torch::jit::Graph& g, const plan::BuildConfig& build) {
  std::optional<c10::Device> dev;
  for_each_node(g.block(), [&](Node* n) {
    if (dev || n->kind() != c10::prim::Constant || !is_tensor_value(n->output())) return;
    dev = torch::jit::toIValue(n->output())->toTensor().device();
  });
  return dev ? *dev : engine_device(build);
}

// Tensor constants of the TorchScript segments (frozen weights) on another device than the
// engines' (a module scripted on the CPU, compiled for the GPU) are moved there: the segments run
// on the engines' tensors. Returns how many moved.
size_t move_constants(torch::jit::Graph& g, c10::Device dev) {
  std::vector<Node*> moved;
  for_each_node(g.block(), [&](Node* n) {
    if (n->kind() != c10::prim::Constant || !is_tensor_value(n->output())) return;
    const at::Tensor t = torch::jit::toIValue(n->output())->toTensor();
    if (t.defined() && t.device() != dev) moved.push_back(n);
  });
  for (Node* n : moved) {
    torch::jit::WithInsertPoint guard(n);
    Value* c = g.insertConstant(torch::jit::toIValue(n->output())->toTensor().to(dev));
    n->output()->replaceAllUsesWith(c);
    n->destroy();
  }
  return moved.size();
}

// The same for the tensors of a module object (and its submodules), each replaced by a moved copy:
// the caller's module, whose tensors the frozen clone shares, keeps its own.
size_t move_attributes(const c10::intrusive_ptr<c10::ivalue::Object>& obj, c10::Device dev) {
  size_t n = 0;
  for (size_t i = 0; i < obj->slots().size(); ++i) {
    const c10::IValue v = obj->getSlot(i);
    if (v.isTensor() && v.toTensor().defined() && v.toTensor().device() != dev) {
      obj->setSlot(i, v.toTensor().to(dev));
      ++n;
    } else if (v.isObject() && v.toObject()->type()->is_module()) {
      n += move_attributes(v.toObject(), dev);
    }
  }
  return n;
}

void log_summary(const Partition& p, const Summary& s) {
  std::ostringstream os;
  os << "partial compilation: " << p.segments.size() << " engine segment" << (p.segments.size() == 1 ? "" : "s") << " (";
  for (size_t i = 0; i < p.segments.size(); ++i) os << (i ? ", " : "") << p.segments[i].op_count << " ops";
  os << "), " << s.torch_segments << " TorchScript segment" << (s.torch_segments == 1 ? "" : "s") << "; "
     << s.engine_ops << " of " << (s.engine_ops + s.torch_ops) << " ops in engines ("
     << (s.engine_ops + s.torch_ops ? 100.0 * double(s.engine_ops) / double(s.engine_ops + s.torch_ops) : 0.0) << "%)";
  if (!s.torch_reasons.empty()) os << "; ops left to TorchScript:";
  for (const auto& [what, count] : s.torch_reasons) os << "\n  " << count << " x " << what;
  TRTORCH_LOG(kInfo, os.str());
}

}  // namespace

torch::jit::Module compile_partitioned(const torch::jit::Module& frozen, const std::string& method,
                                       std::shared_ptr<torch::jit::Graph> g, const std::vector<InputSpec>& inputs,
                                       const plan::BuildConfig& build, const PartitionSettings& settings,
                                       ForcedNodes forced) {
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  TRTORCH_CHECK(!g->inputs().empty(), "the method graph has no module input");
  unpack_list_inputs(*g, flat_input_counts(*g, inputs.size()));
  util::report_progress("shape analysis", 0, 1);
  const ShapeMap shapes = analyze_shapes(*g, frozen._ivalue(), inputs, analysis_device(*g, build));
  util::report_progress("shape analysis", 1, 1);
  TRTORCH_LOG(kInfo, "partial compilation: shape analysis done in ",
              std::chrono::duration<double>(Clock::now() - t0).count(), " s");

  bool static_shapes = true;
  for (const auto& in : inputs) static_shapes = static_shapes && in.min == in.max;
  const size_t folded = fold_fixed_branches(g->block(), shapes, static_shapes, forced);
  if (folded) TRTORCH_LOG(kInfo, "partial compilation: ", folded, " branches fixed by the input shapes inlined");

  const DataDependent data_dependent = data_dependent_values(*g, shapes);
  SegmentBuilder builder(shapes, data_dependent, build);
  Partition part;
  std::vector<BuiltSegment> built;
  for (size_t attempt = 0;; ++attempt) {
    TRTORCH_CHECK(attempt < 100000, "partial compilation does not converge");
    part = partition_graph(*g, forced, settings.min_block_size);
    std::vector<std::vector<InputSpec>> specs(part.segments.size());
    std::vector<std::vector<c10::ScalarType>> types(part.segments.size());
    bool ok = true;
    const size_t forced_before = forced.size();
    for (size_t s = 0; s < part.segments.size(); ++s) ok = builder.specs(part.segments[s], forced, specs[s], types[s]) && ok;
    if (!ok) {
      TRTORCH_CHECK(forced.size() > forced_before, "partial compilation: no progress placing boundary tensors");
      continue;
    }
    std::vector<ConvertedGraph> converted(part.segments.size());
    for (size_t s = 0; s < part.segments.size(); ++s)
      ok = builder.convert(part.segments[s], specs[s], types[s], forced, converted[s]) && ok;
    if (!ok) continue;
    built.clear();
    for (size_t s = 0; s < part.segments.size() && ok; ++s) {
      util::report_progress("engine segments", s, part.segments.size(),
                            str_cat("segment ", s, ", ", part.segments[s].op_count, " ops"));
      try {
        built.push_back(builder.build(part.segments[s], std::move(converted[s])));
      } catch (const Error& e) {
        TRTORCH_LOG(kWarning, "partial compilation: building engine segment ", s, " failed; it runs in TorchScript: ",
                    first_line(e.what()));
        for (Node* n : part.segments[s].nodes) forced.emplace(n, str_cat("its engine failed to build: ", first_line(e.what())));
        ok = false;
      }
    }
    if (ok) break;
  }
  util::report_progress("engine segments", part.segments.size(), part.segments.size());

  Summary summary;
  for (const auto& seg : part.segments) summary.engine_ops += seg.op_count;
  for_each_node(g->block(), [&](Node* n) {
    auto it = part.placement.find(n);
    if (it == part.placement.end() || it->second != Placement::kTorch || is_glue(n)) return;
    // Nodes inside an engine's control flow are counted with the engine.
    for (Node* a = n->owningBlock()->owningNode(); a; a = a->owningBlock()->owningNode())
      if (part.placement.count(a) && part.placement.at(a) == Placement::kEngine) return;
    ++summary.torch_ops;
    summary.torch_reasons[str_cat(n->kind().toQualString(), ": ", part.why_torch.at(n))]++;
  });

  torch::jit::Module wrapped(c10::QualifiedName("__torch__.trtorch.CompiledModule"));
  for (size_t s = 0; s < built.size(); ++s) {
    c10::IValue engine_obj = runtime::make_engine_ivalue(std::move(built[s].engine));
    wrapped.register_attribute(str_cat("trtorch_engine_", s), engine_obj.type(), engine_obj);
  }
  Value* self = g->inputs()[0];
  const std::vector<torch::jit::Use> self_uses(self->uses().begin(), self->uses().end());
  // Attributes the model sets at run time stayed attributes: the graph reads them from the frozen
  // module, kept as a submodule.
  size_t moved = 0;
  if (!self_uses.empty()) {
    moved += move_attributes(frozen._ivalue(), engine_device(build));
    wrapped.register_module("original", frozen);
  }
  self->setType(wrapped.type());
  if (!self_uses.empty()) {
    torch::jit::WithInsertPoint guard(g->block()->nodes().front());
    Value* original = g->insertNode(g->createGetAttr(self, "original"))->output();
    for (const auto& u : self_uses) u.user->replaceInput(u.offset, original);
  }
  if (part.segments.empty())
    TRTORCH_LOG(kWarning, "partial compilation: no op of the method runs in an engine; the result runs it all in "
                "TorchScript (see the reasons below)");
  Stitcher stitcher(*g, part, built, summary);
  stitcher.block(g->block());
  stitcher.destroy_replaced();
  // Floating-point tensor arguments are cast on entry to the dtype the samples ran with (FP32 for an
  // FP32 model): like a whole engine built in FP16, the module takes FP16 input too. An integer or
  // bool tensor there is refused, as TorchScript's ops and a whole engine refuse it, instead of
  // being cast.
  for (size_t i = 1; i < g->inputs().size(); ++i) {
    Value* x = g->inputs()[i];
    auto it = shapes.find(x);
    if (!is_tensor_value(x) || x->uses().empty() || it == shapes.end() || !it->second.seen ||
        !at::isFloatingType(it->second.dtype))
      continue;
    const std::vector<torch::jit::Use> uses(x->uses().begin(), x->uses().end());
    torch::jit::WithInsertPoint guard(g->block()->nodes().front());
    Value* floating = g->insert(c10::aten::is_floating_point, {x});
    Node* check = g->insertNode(g->create(c10::prim::If, {floating}, 0));
    check->addBlock();
    {
      torch::jit::WithInsertPoint in_else(check->addBlock());
      g->insert(c10::prim::RaiseException,
                {g->insertConstant(str_cat("input ", i - 1, " ('", x->debugNameBase(), "') must be a floating-point ",
                                           "tensor (the module was compiled for ", c10::toString(it->second.dtype),
                                           "), got an integer or bool tensor")),
                 g->insertConstant(std::string("builtins.RuntimeError"))});
    }
    Value* cast = cast_to(*g, x, it->second.dtype);
    for (const auto& u : uses) u.user->replaceInput(u.offset, cast);
  }
  torch::jit::EliminateDeadCode(g);
  moved += move_constants(*g, engine_device(build));
  if (moved > 0)
    TRTORCH_LOG(kInfo, "partial compilation: ", moved, " weight tensor", moved == 1 ? "" : "s", " of the TorchScript "
                "segments moved to ", engine_device(build).str(), ", where the engines run");
  torch::jit::ConstantPooling(g);
  log_summary(part, summary);
  TRTORCH_LOG(kDebug, "partitioned graph:\n", g->toString());

  auto* fn = wrapped._ivalue()->compilation_unit()->create_function(c10::QualifiedName(*wrapped.type()->name(), method), g);
  // The method's own signature: argument names and defaults (a detection model's targets=None).
  const c10::FunctionSchema& original = frozen.get_method(method).function().getSchema();
  if (original.arguments().size() == g->inputs().size()) {
    std::vector<c10::Argument> args = original.arguments();
    args[0] = args[0].cloneWithType(wrapped.type());
    std::vector<c10::Argument> rets;
    for (const Value* o : g->outputs()) rets.emplace_back("", o->type());
    torch::jit::toGraphFunction(*fn).setSchema(
        c10::FunctionSchema(fn->name(), "", std::move(args), std::move(rets), original.is_vararg(), original.is_varret()));
  }
  wrapped.type()->addMethod(fn);
  return wrapped;
}

}  // namespace trtorch::frontend
