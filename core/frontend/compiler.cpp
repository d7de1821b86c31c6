// The compiler pipeline (see compiler.h): lower, convert, build and serialize, then wrap the engine
// in a TorchScript module whose method runs it.
#include "core/frontend/compiler.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <set>

#include "core/frontend/conversion/context.h"
#include "core/frontend/lowering/lowering.h"
#include "core/frontend/partitioning/compile_partitioned.h"
#include "core/ir/sizes.h"
#include "core/runtime/runtime.h"
#include "core/util/error.h"
#include "core/util/logging.h"
#include "core/util/progress.h"

namespace trtorch::frontend {

namespace {

using Clock = std::chrono::steady_clock;

std::string engine_label(const plan::BuildConfig& b) {
  return str_cat(ir::dtype_name(b.precision), " engine for ", b.device.type == plan::DeviceType::kReference
                                                                   ? std::string("the reference backend")
                                                                   : str_cat("GPU ", b.device.gpu_id));
}
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// print() and warnings.warn in a method compiled into one engine do not run: an engine computes
// tensors only. Said once per compile, naming the first.
void warn_of_dropped_side_effects(torch::jit::Graph& g) {
  int count = 0;
  const torch::jit::Node* first = nullptr;
  for_each_node(g.block(), [&](torch::jit::Node* n) {
    if (n->kind() != c10::prim::Print && n->kind() != c10::aten::warn) return;
    ++count;
    if (!first) first = n;
  });
  if (count > 0)
    TRTORCH_LOG(kWarning, "the method compiles into one engine, where its ", count, " print / warnings.warn call",
                count == 1 ? "" : "s", " (the first: ", describe(first),
                ") do not run; an engine computes tensors only");
}

// Converts and builds the whole method as one engine. `failed_at` receives the node a conversion
// failure is attributed to.
CompiledEngine build_whole(const std::shared_ptr<torch::jit::Graph>& g, const CompileOptions& opts,
                           const torch::jit::Node** failed_at) {
  auto t1 = Clock::now();
  util::report_progress("converting", 0, 1);
  ConvertedGraph conv = convert_graph(g, opts.inputs, failed_at);
  util::report_progress("converting", 1, 1);
  TRTORCH_LOG(kInfo, "conversion done in ", seconds_since(t1), " s (", conv.graph->num_nodes(), " IR nodes)");
  auto t2 = Clock::now();
  plan::BuildConfig build = opts.build;
  build.opt_shapes = conv.opt_shapes;
  if (build.int8 && opts.calibration) {
    util::report_progress("calibrating", 0, 1);
    build.int8_calibration = calibrate(*conv.graph, conv.input_names, build, *opts.calibration);
    util::report_progress("calibrating", 1, 1);
  }
  util::report_progress("building", 0, 1, engine_label(build));
  auto engine = std::make_shared<plan::Engine>(
      plan::build_engine(std::move(conv.graph), build, conv.input_names, conv.output_names));
  util::report_progress("building", 1, 1, engine_label(build));
  TRTORCH_LOG(kInfo, "engine built in ", seconds_since(t2), " s (", engine->graph->num_nodes(), " IR nodes, ",
              engine->device.str(), ")");
  warn_of_dropped_side_effects(*g);
  CompiledEngine out;
  out.engine = std::move(engine);
  out.returns = std::move(conv.returns);
  out.input_names = std::move(conv.input_names);
  return out;
}

// A module trtorch compiled already (its method calls trtorch::execute_engine): compiling it again
// leaves those engine calls in TorchScript, which is rarely what was meant. Said out loud.
void warn_if_compiled(torch::jit::Graph& g) {
  int engines = 0;
  for_each_node(g.block(), [&](torch::jit::Node* n) {
    if (n->kind().toQualString() == std::string("trtorch::execute_engine")) ++engines;
  });
  if (engines > 0)
    TRTORCH_LOG(kWarning, "the method already calls ", engines, " trtorch engine", engines == 1 ? "" : "s",
                " (trtorch::execute_engine): this module was compiled by trtorch, and compiling it again leaves "
                "those calls in TorchScript as they are. Compile the original TorchScript module instead.");
}

std::shared_ptr<torch::jit::Graph> lower_timed(const torch::jit::Module& module, const std::string& method,
                                               const CompileOptions& opts,
                                               std::vector<torch::jit::Node*>* mutations = nullptr,
                                               torch::jit::Module* frozen = nullptr) {
  auto t0 = Clock::now();
  util::report_progress("lowering", 0, 1);
  auto g = lower_module(module, method, mutations, frozen, opts.inputs.size());
  warn_if_compiled(*g);
  util::report_progress("lowering", 1, 1);
  TRTORCH_LOG(kInfo, "lowering done in ", seconds_since(t0), " s");
  return g;
}

// A module whose `method` runs one engine and rebuilds the method's return value.
torch::jit::Module wrap_engine(const CompiledEngine& ce, const std::string& method) {
  torch::jit::Module wrapped(c10::QualifiedName("__torch__.trtorch.CompiledModule"));
  const std::string attr = "trtorch_engine_0";
  c10::IValue engine_obj = runtime::make_engine_ivalue(ce.engine);
  wrapped.register_attribute(attr, engine_obj.type(), engine_obj);

  auto g = std::make_shared<torch::jit::Graph>();
  torch::jit::Value* self = g->addInput("self")->setType(wrapped.type());
  std::vector<torch::jit::Value*> ins;
  std::set<std::string> used;
  for (const auto& full : ce.input_names) {
    torch::jit::Value* in = g->addInput()->setType(c10::TensorType::get());
    // Keep the source's input names where TorchScript accepts them, without the ".1" TorchScript
    // adds ("x.1" -> "x"), so that an argument error names the argument as the user wrote it.
    std::string name = full;
    const size_t dot = name.rfind('.');
    if (dot != std::string::npos && dot + 1 < name.size() &&
        std::all_of(name.begin() + long(dot) + 1, name.end(), [](char c) { return std::isdigit(c); }))
      name.resize(dot);
    bool plain = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(c) || c == '_'; }) &&
                 !std::isdigit(name[0]);
    if (plain && used.insert(name).second) in->setDebugName(name);
    ins.push_back(in);
  }
  torch::jit::Value* eng = g->insertNode(g->createGetAttr(self, attr))->output();
  torch::jit::Value* list = g->insertNode(g->createList(c10::TensorType::get(), ins))->output();
  torch::jit::Node* exec = g->create(c10::Symbol::fromQualString("trtorch::execute_engine"), {list, eng}, 1);
  g->insertNode(exec);
  exec->output()->setType(c10::ListType::ofTensors());
  size_t n_out = 0;
  std::function<void(const OutputTree&)> count = [&](const OutputTree& t) {
    if (t.kind == OutputTree::Kind::kEngineOutput) n_out = std::max(n_out, size_t(t.engine_output) + 1);
    for (const auto& i : t.items) count(i);
  };
  for (const auto& r : ce.returns) count(r);
  torch::jit::Node* unpack = g->insertNode(g->createListUnpack(exec->output(), n_out));
  std::vector<torch::jit::Value*> outs(unpack->outputs().begin(), unpack->outputs().end());
  TRTORCH_CHECK(ce.returns.size() == 1, "methods return one value");
  g->registerOutput(rebuild_output(*g, ce.returns[0], outs));

  auto fn = wrapped._ivalue()->compilation_unit()->create_function(c10::QualifiedName(*wrapped.type()->name(), method), g);
  wrapped.type()->addMethod(fn);
  return wrapped;
}

// A module in training mode is compiled as in eval mode (dropout removed, batch norm on its running
// statistics), as an inference engine must be: said out loud, not done silently.
void warn_if_training(const torch::jit::Module& module) {
  bool training = module.is_training();
  for (const auto& sub : module.modules()) training = training || sub.is_training();
  if (training)
    TRTORCH_LOG(kWarning, "the module is in training mode; trtorch compiles it for inference as in eval mode "
                "(dropout removed, batch norm on its running statistics). Call .eval() before compiling to "
                "silence this.");
}

// An INT8 compile needs a calibrator or quantization nodes of the model's own (QAT).
void check_int8(const torch::jit::Graph& g, const CompileOptions& opts) {
  if (!opts.build.int8 || opts.calibration) return;
  std::function<bool(const torch::jit::Block*)> quantized = [&](const torch::jit::Block* b) {
    for (const torch::jit::Node* n : b->nodes()) {
      const std::string k = n->kind().toQualString();
      if (k.rfind("aten::fake_quantize_per_", 0) == 0 || k.rfind("aten::quantize_per_", 0) == 0) return true;
      for (const torch::jit::Block* sub : n->blocks())
        if (quantized(sub)) return true;
    }
    return false;
  };
  TRTORCH_EXPECT(quantized(g.block()), "INT8 needs a calibrator (post-training quantization: trtorch.ptq) or a "
                 "quantization-aware model (aten::fake_quantize_per_tensor_affine / per_channel_affine or "
                 "quantize_per_tensor nodes); this model has no quantization nodes and no calibrator was given");
}

// Every shape of every input spec fits in a tensor: the sample runs of partial compilation and
// the engine allocate them (a range's max would otherwise fail inside torch's allocator without
// naming the input). Dims that are not positive are the conversion's error.
void check_input_sizes(const std::vector<InputSpec>& inputs) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    const InputSpec& s = inputs[i];
    const ir::DType dt = s.dtype.value_or(ir::DType::kFloat32);
    for (const auto& [which, shape] : {std::pair<const char*, const std::vector<int64_t>*>{"min", &s.min},
                                       {"opt", &s.opt},
                                       {"max", &s.max}}) {
      const bool positive = std::all_of(shape->begin(), shape->end(), [](int64_t d) { return d > 0; });
      if (positive && !ir::try_bytes(*shape, dt))
        TRTORCH_ERROR(ir::too_large_message(str_cat("input ", i, " ", which, " shape"), *shape, dt));
    }
  }
}

// Why the method does not compile into one engine, for an error that needs it (INT8 calibration):
// the first op that cannot be converted, or what the partition settings force out of engines.
std::string why_not_whole(const std::shared_ptr<torch::jit::Graph>& g, const ForcedNodes& forced,
                          const std::string& whole_error) {
  if (!whole_error.empty()) return first_line(whole_error);
  const std::vector<std::string> problems = unsupported_nodes(g);
  if (!problems.empty())
    return str_cat("cannot convert ", problems.front(),
                   problems.size() > 1 ? str_cat(", and ", problems.size() - 1, " more") : "");
  if (!forced.empty()) {
    const auto first = std::min_element(forced.begin(), forced.end(),
                                        [](const auto& a, const auto& b) { return a.first->isBefore(b.first); });
    return str_cat(describe(first->first), " runs in TorchScript: ", first->second);
  }
  return "the method takes inputs that are not tensors";
}

bool tensor_args_only(const torch::jit::Graph& g) {
  for (size_t i = 1; i < g.inputs().size(); ++i)
    if (g.inputs()[i]->type()->kind() != c10::TypeKind::TensorType) return false;
  return true;
}

}  // namespace

CompiledEngine compile_engine(const torch::jit::Module& module, const std::string& method, const CompileOptions& opts) {
  warn_if_training(module);
  check_input_sizes(opts.inputs);
  auto g = lower_timed(module, method, opts);
  check_int8(*g, opts);
  return build_whole(g, opts, nullptr);
}

torch::jit::Module compile_module(const torch::jit::Module& module, const std::string& method,
                                  const CompileOptions& opts) {
  check_partition_settings(opts.partition);
  warn_if_training(module);
  check_input_sizes(opts.inputs);
  if (opts.partition.require_full_compilation) {
    auto g = lower_timed(module, method, opts);
    check_int8(*g, opts);
    auto problems = unsupported_nodes(g);
    if (!problems.empty()) {
      std::string list;
      for (const auto& p : problems) list += "\n  " + p;
      TRTORCH_ERROR("require_full_compilation is set and ", problems.size(), " op", problems.size() == 1 ? "" : "s",
                    " of the method cannot be compiled:", list);
    }
    return wrap_engine(build_whole(g, opts, nullptr), method);
  }
  std::vector<torch::jit::Node*> mutations;
  torch::jit::Module frozen;
  auto g = lower_timed(module, method, opts, &mutations, &frozen);
  check_int8(*g, opts);
  ForcedNodes forced = forced_by_settings(*g, opts.partition);
  std::string whole_error;  // why the method did not compile into one engine, when it was tried
  if (mutations.empty() && forced.empty() && tensor_args_only(*g) && unsupported_nodes(g).empty()) {
    const torch::jit::Node* failed = nullptr;
    try {
      return wrap_engine(build_whole(g, opts, &failed), method);
    } catch (const Error& e) {
      if (!failed) throw;
      whole_error = e.what();
      TRTORCH_LOG(kInfo, "the method does not compile into one engine (", first_line(whole_error),
                  "); compiling the rest with that op in TorchScript");
      forced.emplace(failed, str_cat("cannot convert: ", first_line(whole_error)));
    }
  }
  force_mutations(*g, mutations, forced);
  if (opts.calibration)
    TRTORCH_ERROR("INT8 calibration needs the whole method in one engine, and this one compiles only partially (",
                  why_not_whole(g, forced, whole_error), "); a quantization-aware model needs no calibration");
  try {
    return compile_partitioned(frozen, method, g, opts.inputs, opts.build, opts.partition, std::move(forced));
  } catch (const Error& e) {
    // The first failure explains more (a shape that does not fit the model fails in TorchScript too).
    if (whole_error.empty()) throw;
    TRTORCH_ERROR(whole_error, "\n(partial compilation was tried too and failed: ", first_line(e.what()), ")");
  }
}

std::vector<std::string> check_method_support(const torch::jit::Module& module, const std::string& method) {
  std::vector<torch::jit::Node*> mutations;
  auto g = lower_module(module, method, &mutations);
  std::vector<std::string> problems = unsupported_nodes(g);
  for (const torch::jit::Node* m : mutations)
    problems.push_back(str_cat("in-place operation whose input is read again afterwards (runs in TorchScript): ",
                               describe(m)));
  return problems;
}

}  // namespace trtorch::frontend
