// The engine builder: the pass pipeline, precision assignment, the build options recorded in the
// engine, and the hand-off to the engine's backend (tactics, memory plan).
#include "core/plan/builder.h"

#include <cmath>

#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <string>

#include "core/passes/passes.h"
#include "core/plan/backend.h"
#include "core/plan/int8_choice.h"
#include "core/util/debug.h"
#include "core/util/logging.h"

namespace trtorch::plan {

namespace {

// Whether `v` is read, and every read of it is input `i` of a node `u` for which
// is_bias(u, i) holds (and it is no graph output).
template <class IsBias>
bool only_read_as_bias(const ir::Graph& g, const ir::Value* v, IsBias is_bias) {
  if (v->users.empty() || g.is_output(v)) return false;
  for (const ir::Node* u : v->users)
    for (size_t i = 0; i < u->inputs.size(); ++i)
      if (u->inputs[i] == v && !is_bias(*u, i)) return false;
  return true;
}

// The bias of a Conv2d (input 2 of a node with x, w, bias).
bool is_conv_bias(const ir::Node& u, size_t i) {
  return u.op == ir::OpKind::Conv2d && i == ir::kConvBiasInput &&
         ir::conv_has_bias(u.attr<ir::Conv2dAttrs>(), u.inputs.size());
}

// The bias of an INT8 layer (QConv2d, QLinear: x, w, bias), which the IR defines as FP32 in any
// engine precision (attrs.h, QuantizedLayer).
bool is_int8_layer_bias(const ir::Node& u, size_t i) {
  return (u.op == ir::OpKind::QConv2d || u.op == ir::OpKind::QLinear) && i == 2;
}

}  // namespace

void check_build_config(const BuildConfig& config) {
  TRTORCH_EXPECT(ir::is_floating(config.precision), "op_precision must be a floating-point type, got ",
                 ir::dtype_name(config.precision));
  TRTORCH_EXPECT(config.conv_candidates >= 1 && config.conv_candidates <= kMaxConvCandidates,
                 "conv_candidates must be 1 to ", kMaxConvCandidates, ", got ", config.conv_candidates);
  TRTORCH_EXPECT(config.build_threads >= 0 && config.build_threads <= kMaxBuildThreads,
                 "build_threads must be 0 (the host's cores) to ", kMaxBuildThreads, ", got ", config.build_threads);
  TRTORCH_EXPECT(config.num_min_timing_iters >= 0 && config.num_min_timing_iters <= kMaxTimingIters,
                 "num_min_timing_iters must be 0 to ", kMaxTimingIters, ", got ", config.num_min_timing_iters);
  TRTORCH_EXPECT(config.num_avg_timing_iters >= 1 && config.num_avg_timing_iters <= kMaxTimingIters,
                 "num_avg_timing_iters must be 1 to ", kMaxTimingIters, ", got ", config.num_avg_timing_iters);
  TRTORCH_EXPECT(config.workspace_size <= kMaxWorkspaceSize, "workspace_size must be at most ", kMaxWorkspaceSize,
                 " bytes (1 TiB), got ", config.workspace_size);
}

const char* conv_runtime_compilation_name(ConvRuntimeCompilation m) {
  switch (m) {
    case ConvRuntimeCompilation::kAuto: return "auto";
    case ConvRuntimeCompilation::kAlways: return "always";
    case ConvRuntimeCompilation::kFallback: return "fallback";
  }
  TRTORCH_ERROR("unknown conv_runtime_compilation mode ", int(m));
}

bool conv_runtime_compilation_from_name(const std::string& name, ConvRuntimeCompilation* m) {
  for (auto v : {ConvRuntimeCompilation::kAuto, ConvRuntimeCompilation::kAlways, ConvRuntimeCompilation::kFallback})
    if (name == conv_runtime_compilation_name(v)) {
      *m = v;
      return true;
    }
  return false;
}

std::string build_options_text(const BuildConfig& c) {
  std::ostringstream os;
  os << "precision=" << ir::dtype_name(c.precision) << ";allow_tf32=" << int(c.allow_tf32)
     << ";fp32_conv_bias=" << int(c.fp32_conv_bias) << ";channels_last=" << int(c.channels_last)
     << ";cuda_graphs=" << int(c.cuda_graphs) << ";conv_candidates=" << c.conv_candidates
     << ";workspace_size=" << c.workspace_size << ";num_min_timing_iters=" << c.num_min_timing_iters
     << ";num_avg_timing_iters=" << c.num_avg_timing_iters;
  if (c.int8) os << ";int8=" << (c.int8_calibration ? calibration_algo_name(c.int8_calibration->algo) : "qat");
  if (c.int8_calibration) os << ";int8_layers=" << (c.int8_timing_choice ? "timing" : "all");
  if (c.conv_runtime_compilation != ConvRuntimeCompilation::kFallback)  // the default is not recorded
    os << ";conv_runtime_compilation=" << conv_runtime_compilation_name(c.conv_runtime_compilation);
  return os.str();
}

void assign_precision(ir::Graph& g, ir::DType precision, bool fp32_conv_bias, const std::vector<bool>& fp32_inputs,
                      const std::vector<bool>& fp32_outputs) {
  TRTORCH_EXPECT(ir::is_floating(precision), "op_precision must be a floating-point type, got ",
                 ir::dtype_name(precision));
  if (precision == ir::DType::kFloat32) return;
  auto kept = [](const std::vector<bool>& flags, size_t i) { return i < flags.size() && flags[i]; };
  std::vector<bool> was_fp32;
  for (const ir::Value* v : g.outputs()) was_fp32.push_back(v->type.dtype == ir::DType::kFloat32);
  const std::vector<ir::Node*> nodes = g.nodes();
  for (size_t i = 0; i < g.inputs().size(); ++i) {
    ir::Value* v = g.inputs()[i];
    if (v->type.dtype != ir::DType::kFloat32) continue;
    if (!kept(fp32_inputs, i) || v->users.empty()) {
      if (!kept(fp32_inputs, i)) v->type.dtype = precision;
      continue;
    }
    // The input stays FP32; its readers read a cast of it, made before the first node.
    const std::vector<ir::Node*> readers = v->users;
    ir::Node* cast = g.insert_before(nodes.front(), ir::OpKind::Cast, ir::CastAttrs{precision}, {v}, "engine input");
    for (ir::Node* r : readers)
      for (size_t j = 0; j < r->inputs.size(); ++j)
        if (r->inputs[j] == v) g.set_input(r, j, cast->outputs[0]);
  }
  for (ir::Node* n : nodes) {
    if (n->op == ir::OpKind::Constant) {
      auto& c = n->attr<ir::ConstantAttrs>();
      // Convolution biases (folded BatchNorm shifts) stay FP32: the epilogue adds them in FP32,
      // so the output is rounded once instead of after a rounded bias. INT8 layers' biases are FP32
      // by definition.
      const ir::Value* out = n->outputs[0];
      const bool fp32_bias = (fp32_conv_bias && only_read_as_bias(g, out, is_conv_bias)) ||
                             only_read_as_bias(g, out, is_int8_layer_bias);
      if (c.value.dtype == ir::DType::kFloat32 && !fp32_bias) c.value = c.value.to(precision);
    } else if (n->op == ir::OpKind::Cast) {
      auto& c = n->attr<ir::CastAttrs>();
      if (c.to == ir::DType::kFloat32) c.to = precision;
    } else if (n->op == ir::OpKind::Dequantize) {  // its scales stay FP32 (attributes)
      auto& d = n->attr<ir::DequantizeAttrs>();
      if (d.to == ir::DType::kFloat32) d.to = precision;
    } else if (n->op == ir::OpKind::Unary && precision == ir::DType::kFloat16) {
      // A positive lower bound below half's smallest positive value (F.normalize's clamp_min(1e-12))
      // would round to 0 and turn x / clamp_min(|x|, eps) into 0 / 0 for a zero row: it becomes
      // that smallest value (2^-24), so that the bound stays positive.
      auto& u = n->attr<ir::UnaryAttrs>();
      const double tiny = std::ldexp(1.0, -24);
      if (u.kind == ir::UnaryKind::kClamp && u.alpha > 0 && u.alpha < tiny) u.alpha = tiny;
    }
    g.reinfer(n);
  }
  for (size_t i = 0; i < g.outputs().size(); ++i) {
    ir::Value* v = g.outputs()[i];
    if (kept(fp32_outputs, i) && was_fp32[i] && v->type.dtype != ir::DType::kFloat32)
      g.mutable_outputs()[i] = g.add_node(ir::OpKind::Cast, ir::CastAttrs{ir::DType::kFloat32}, {v}, "engine output")->outputs[0];
  }
}

namespace {

bool has_quantization(const ir::Graph& g) {
  for (const ir::Node* n : g.nodes())
    if (n->op == ir::OpKind::Dequantize) return true;
  return false;
}

// INT8 builds with a calibration table: its activation scales go into the graph, but for the
// layers in `float_layers`. (A quantization-aware graph has its own; the frontend checks that an
// INT8 compile has one or the other, for the whole method, since an engine segment of it may have
// neither.)
void apply_int8(ir::Graph& g, const BuildConfig& config, const std::set<std::string>& float_layers) {
  if (!config.int8_calibration) return;
  TRTORCH_EXPECT(!has_quantization(g), "INT8: the model is quantization-aware (it has its own quantization "
                 "nodes); build it without a calibrator");
  insert_activation_quantization(g, *config.int8_calibration, float_layers);
}

}  // namespace

std::unique_ptr<ir::Graph> lower_graph(std::unique_ptr<ir::Graph> graph, const BuildConfig& config,
                                       const std::set<std::string>& float_layers, bool tag) {
  passes::PassManager::Options opts;
  // Verify after every pass in debug mode, in debug builds and wherever TRTORCH_VERIFY_PASSES=1
  // (the test suite sets it).
#ifndef NDEBUG
  opts.verify_each = true;
#else
  opts.verify_each = config.debug || util::debug_switch_on(util::DebugSwitch::kVerifyPasses);
#endif
  opts.dump = config.debug && util::log_enabled(util::LogLevel::kDebug);
  auto pipeline = passes::default_pipeline(opts);
  const std::vector<QuantizedInput> layers = tag ? quantized_inputs(*graph) : std::vector<QuantizedInput>{};
  if (config.int8) apply_int8(*graph, config, float_layers);
  tag_int8_layers(layers);  // after the activation quantization, which reads the sources
  // The final passes (pointwise fusion) run once, on the graph in its engine precision, after
  // every other pass has seen it there.
  pipeline.run(*graph, 4, /*with_final=*/false);
  // Folded batch norms made the weights final. A quantization-aware model's weights may arrive
  // already fake-quantized (as float constants): their own grid.
  if (config.int8_calibration)
    quantize_layer_weights(*graph);
  else if (config.int8)
    quantize_layer_weights(*graph, WeightScales::kOwnGrid);
  assign_precision(*graph, config.precision, config.fp32_conv_bias, config.fp32_inputs, config.fp32_outputs);
  pipeline.run(*graph);
  ir::verify(*graph);
  return graph;
}

namespace {

// The engine of an engine graph, prepared by the device's backend (if it has a builder hook).
Engine make_engine(std::unique_ptr<ir::Graph> graph, const BuildConfig& config, const BackendBuilder* hook,
                   std::vector<std::string> input_names, std::vector<std::string> output_names,
                   const BackendBuildRequest& request = {}) {
  if (config.int8) {
    TRTORCH_LOG(kInfo, "INT8: ", int8_layer_count(*graph).str(), "; the other ops run in ",
                ir::dtype_name(config.precision));
  }
  TRTORCH_LOG(kDebug, "engine graph:\n", graph->str());
  Engine e;
  e.device = config.device;
  e.precision = config.precision;
  e.graph = std::move(graph);
  e.input_names = std::move(input_names);
  e.output_names = std::move(output_names);
  e.producer = "trtorch 0.1.0";
  e.build_options = build_options_text(config);
  if (ir::is_dynamic(*e.graph)) {
    TRTORCH_EXPECT(config.opt_shapes.size() == e.graph->inputs().size(), "a graph with dynamic input dims needs one "
                   "opt shape per input, got ", config.opt_shapes.size(), " for ", e.graph->inputs().size(), " inputs");
    ir::bind_symbols(*e.graph, config.opt_shapes);  // checks that opt lies in every range
    e.opt_shapes = config.opt_shapes;
  }
  if (hook) (*hook)(e, config, request);
  return e;
}

double total_ms(const std::vector<double>& t) { return std::accumulate(t.begin(), t.end(), 0.0); }

// A calibrated INT8 build with the layer choice by timing (int8_choice.h): the all-INT8 engine,
// the float one, and (when some layers are faster in float) the chosen one; the faster of the
// all-INT8 and the chosen engine. A backend that reports no times leaves every layer in INT8.
Engine build_int8_by_timing(std::unique_ptr<ir::Graph> graph, const BuildConfig& config, const BackendBuilder& hook,
                            const std::vector<std::string>& input_names, const std::vector<std::string>& output_names) {
  std::map<std::string, std::string> memo;  // tactics shared by the three builds
  std::vector<double> int8_times, float_times, chosen_times;
  std::unique_ptr<ir::Graph> all_graph = lower_graph(graph->clone(), config, {}, true);
  if (int8_layer_count(*all_graph).int8 == 0) {  // nothing to choose: one build
    strip_int8_layer_tags(*all_graph);
    return make_engine(std::move(all_graph), config, &hook, input_names, output_names);
  }
  Engine all = make_engine(std::move(all_graph), config, &hook, input_names, output_names, {&int8_times, &memo});
  // The other engines only inform the choice: where one cannot be built or timed (out of memory
  // beside the first), the all-INT8 engine stands.
  auto all_int8 = [&](const std::string& why) {
    TRTORCH_LOG(kWarning, "INT8 layer choice by timing: ", why, "; every layer that fits runs in INT8");
    strip_int8_layer_tags(*all.graph);
    return std::move(all);
  };
  BuildConfig float_config = config;
  float_config.int8 = false;
  float_config.int8_calibration.reset();
  std::unique_ptr<Engine> floats;
  try {
    floats = std::make_unique<Engine>(make_engine(lower_graph(graph->clone(), float_config, {}, true), float_config,
                                                  &hook, input_names, output_names, {&float_times, &memo}));
  } catch (const std::exception& err) {
    return all_int8(str_cat("the float engine failed to build (", err.what(), ")"));
  }
  if (int8_times.size() != all.graph->num_nodes() || float_times.size() != floats->graph->num_nodes())
    return all_int8(str_cat("the ", all.device.str(), " backend reported no node times"));
  const Int8Choice choice = choose_int8_layers(*all.graph, int8_times, *floats->graph, float_times);
  floats.reset();
  strip_int8_layer_tags(*all.graph);
  TRTORCH_LOG(kInfo, "INT8 layer choice by timing: ", choice.str(), "; engines: all INT8 ", total_ms(int8_times),
              " ms, float ", total_ms(float_times), " ms");
  if (choice.float_layers.empty()) return all;
  Engine chosen;
  try {
    chosen = make_engine(lower_graph(std::move(graph), config, choice.float_layers), config, &hook, input_names,
                         output_names, {&chosen_times, &memo});
  } catch (const std::exception& err) {
    return all_int8(str_cat("the chosen engine failed to build (", err.what(), ")"));
  }
  const bool timed = chosen_times.size() == chosen.graph->num_nodes();
  const bool keep = timed && total_ms(chosen_times) <= total_ms(int8_times);
  TRTORCH_LOG(kInfo, "INT8 layer choice by timing: the engine with ", choice.float_layers.size(),
              " layers in float takes ", timed ? str_cat(total_ms(chosen_times), " ms") : std::string("(not timed)"),
              ", the all-INT8 one ", total_ms(int8_times), " ms: keeping the ", keep ? "chosen" : "all-INT8",
              " engine");
  return keep ? std::move(chosen) : std::move(all);
}

}  // namespace

Engine build_engine(std::unique_ptr<ir::Graph> graph, const BuildConfig& config,
                    std::vector<std::string> input_names, std::vector<std::string> output_names) {
  check_build_config(config);
  ir::verify(*graph);
  const std::optional<BackendBuilder> hook = find_backend_builder(config.device.type);
  TRTORCH_EXPECT(hook || config.device.type == DeviceType::kReference, "no engine builder for ",
                 config.device.str(), " in this build of trtorch");
  // The choice by timing needs a backend that times engines; without one (the reference backend)
  // every fitting layer runs in INT8, and the engine records that.
  BuildConfig c = config;
  c.int8_timing_choice = config.int8_timing_choice && hook;
  if (c.int8_calibration && c.int8_timing_choice)
    return build_int8_by_timing(std::move(graph), c, *hook, input_names, output_names);
  return make_engine(lower_graph(std::move(graph), c), c, hook ? &*hook : nullptr, std::move(input_names),
                     std::move(output_names));
}

}  // namespace trtorch::plan
