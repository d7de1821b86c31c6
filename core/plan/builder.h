// The engine builder: IR graph in, Engine out. It runs the pass pipeline, assigns precision,
// and (with the CUDA backend) chooses tactics and plans memory.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/plan/calibration.h"
#include "core/plan/engine.h"

namespace trtorch::plan {

// BuildConfig::conv_runtime_compilation.
// Convolutions CUTLASS does not take try cuDNN's runtime-compiled configs in every mode, except
// under kFallback FP16/BF16 ones whose best precompiled cuDNN config is within 2x of the roofline
// time or within 10 us of what timing an empty launch measures, and ones where no runtime-compiled
// config is 5% faster than it (conv_cutlass_kernel.cpp).
enum class ConvRuntimeCompilation : uint8_t {
  kAuto,      // also where no ahead-of-time kernel comes within 2x of the convolution's roofline time
  kAlways,    // everywhere (the fastest engines, the slowest builds)
  kFallback,  // nowhere else (the default: the fastest builds)
};
// "auto", "always", "fallback".
const char* conv_runtime_compilation_name(ConvRuntimeCompilation m);
// The mode named `name`; false when there is none.
bool conv_runtime_compilation_from_name(const std::string& name, ConvRuntimeCompilation* m);

struct BuildConfig {
  ir::DType precision = ir::DType::kFloat32;  // kFloat32, kFloat16 or kBFloat16
  DeviceInfo device;
  uint64_t workspace_size = 0;
  int num_min_timing_iters = 2;
  int num_avg_timing_iters = 1;
  bool allow_tf32 = false;  // FP32 engines: TF32 tensor cores for convolutions and GEMMs
  bool debug = false;  // verify after every pass and log the graph
  // A file of tactic choices kept between builds; a rebuild of the same model on the same GPU
  // reads its tactics instead of timing them. Empty: no cache.
  std::string timing_cache_path;
  // Dynamic shapes: per input, the shape to choose tactics at (the compile spec's opt). Empty:
  // the graph's inputs are static.
  std::vector<std::vector<int64_t>> opt_shapes;
  // FP16/BF16 engines: per graph input and output, true keeps an FP32 tensor FP32 at the engine's
  // boundary, cast to and from the engine precision inside the engine (where the casts join its
  // kernels and CUDA graph) instead of by the caller around the engine call. Partial compilation
  // sets it for boundary tensors that TorchScript holds in FP32. Empty or false: the input or output
  // takes the engine precision. The engine records it in its input and output types.
  std::vector<bool> fp32_inputs, fp32_outputs;
  // INT8 (docs/int8.md). With a calibration table (post-training quantization) the activations
  // that Conv2d and Linear read are quantized with its scales and their weights per output
  // channel; a quantization-aware graph brings its own Quantize / Dequantize and needs none. The
  // other ops run in `precision`. An INT8 build of a graph with neither is an error.
  bool int8 = false;
  std::shared_ptr<const CalibrationTable> int8_calibration;
  // Calibrated INT8 builds on a backend that times engines (CUDA): each layer that can run in INT8
  // does so only where that is faster than its float version with the quantization it brings
  // (int8_choice.h; three engines are built and timed instead of one). False: every layer that
  // fits runs in INT8 (what the reference backend always does).
  bool int8_timing_choice = true;

  // ---- engine knobs (each is recorded in the engine; see docs/architecture.md) ----
  // FP16/BF16 engines: keep Conv2d biases (folded BatchNorm shifts) in FP32, added in FP32 by the
  // convolution epilogue. False gives them the engine precision (the behaviour before FP32 biases).
  bool fp32_conv_bias = true;
  // CUDA: 4-D FP16/BF16 activations of convolutions in channels-last (NHWC) layout.
  bool channels_last = true;
  // CUDA: capture the engine's launches once and replay them as a CUDA graph (fixed shapes).
  bool cuda_graphs = true;
  // CUDA: how many cuDNN engine configs each convolution times (1 to 16).
  int conv_candidates = 6;
  // CUDA: where cuDNN's runtime-compiled convolution engine configs (runtime fusion: a kernel
  // compiled at build, about 0.5 s each, and at a load without a saved plan) race the kernels
  // compiled ahead of time (CUTLASS, cuDNN's precompiled configs) for FP16/BF16 convolutions the
  // CUTLASS kernels take. Convolutions CUTLASS does not take always try them.
  ConvRuntimeCompilation conv_runtime_compilation = ConvRuntimeCompilation::kFallback;
  // CUDA: host threads that build a convolution's candidate configs at once (0: the host's
  // cores, up to 16). Changes build time only, never the choice.
  int build_threads = 0;
};

// Valid ranges of the engine knobs.
constexpr int kMaxConvCandidates = 16;
constexpr int kMaxBuildThreads = 64;
constexpr int kMaxTimingIters = 1000;                      // per candidate; more only makes builds slower
constexpr uint64_t kMaxWorkspaceSize = uint64_t(1) << 40;  // 1 TiB, more than any GPU has

// Throws trtorch::Error naming the first field of `config` that is out of range.
void check_build_config(const BuildConfig& config);

// The options that shape an engine, as "key=value;key=value" text in a fixed order (precision,
// allow_tf32, fp32_conv_bias, channels_last, cuda_graphs, conv_candidates, workspace_size,
// num_min_timing_iters, num_avg_timing_iters; bools as 0/1). The builder records it in
// Engine::build_options. build_threads, debug and timing_cache_path are left out: they change
// how long a build takes or what it logs, never the engine.
std::string build_options_text(const BuildConfig& config);

// Converts every floating-point tensor of the graph (inputs, constants, casts) to `precision`
// and re-infers types. Weights are rounded once, from FP32. With `fp32_conv_bias`, a constant used
// only as a Conv2d bias stays FP32: the convolution epilogue adds it in FP32. An FP32 input whose
// entry in `fp32_inputs` is true stays FP32 and is cast after it; an output whose entry in
// `fp32_outputs` is true and that was FP32 is cast back to FP32.
void assign_precision(ir::Graph& g, ir::DType precision, bool fp32_conv_bias = true,
                      const std::vector<bool>& fp32_inputs = {}, const std::vector<bool>& fp32_outputs = {});

// The engine graph of `graph` (what build_engine hands to the backend): the pass pipeline, the
// INT8 quantization of `config` (calibrated builds: but for the layers whose calibration keys
// `float_layers` holds) and the precision assignment. `tag_layers`: the layers carry their
// calibration keys in their sources (int8_choice.h, tag_int8_layers).
std::unique_ptr<ir::Graph> lower_graph(std::unique_ptr<ir::Graph> graph, const BuildConfig& config,
                                       const std::set<std::string>& float_layers = {}, bool tag_layers = false);

Engine build_engine(std::unique_ptr<ir::Graph> graph, const BuildConfig& config,
                    std::vector<std::string> input_names, std::vector<std::string> output_names);

}  // namespace trtorch::plan
