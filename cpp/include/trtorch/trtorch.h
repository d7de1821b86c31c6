// trtorch: ahead-of-time compilation of TorchScript modules into optimized GPU engines.
//
// trtorch builds its own engines (its own IR, passes, kernels and tactic selection); it does not
// use NVIDIA TensorRT. Where no GPU is present the engine runs on the reference (CPU) backend.
//
//   auto mod = torch::jit::load("model.ts");
//   trtorch::CompileSpec spec({{1, 3, 224, 224}});
//   spec.op_precision = trtorch::CompileSpec::DataType::kHalf;
//   auto compiled = trtorch::CompileGraph(mod, spec);   // a TorchScript module
//   compiled.save("model_trt.ts");
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace torch::jit {
struct Module;
}

#define TRTORCH_API __attribute__((visibility("default")))

namespace trtorch {

namespace ptq {
struct Calibrator;  // trtorch/ptq.h: made from a data loader or a calibration cache file
}

struct TRTORCH_API CompileSpec {
  // A range of shapes one input may take. Fixed shapes have min == opt == max. Dims where min and
  // max differ are dynamic: one engine runs every shape in the range, with tactics chosen at opt
  // (dynamic dims of different inputs at the same position with the same range are one size).
  struct InputRange {
    std::vector<int64_t> min, opt, max;
    InputRange(std::vector<int64_t> fixed);  // NOLINT: implicit from a shape, as in TRTorch
    InputRange(std::vector<int64_t> min, std::vector<int64_t> opt, std::vector<int64_t> max);
    bool is_fixed() const { return min == opt && opt == max; }
  };

  // kInt8: INT8 for the convolutions and linear layers it quantizes, FP16 for the other ops (as
  // kHalf with enable_int8). INT8 needs a calibrator (ptq_calibrator) or a quantization-aware
  // model (docs/int8.md).
  enum class DataType { kFloat, kHalf, kBFloat16, kInt8 };
  // The dtype of an engine input. kAuto: from the method's declared input type (int64 / int32 /
  // bool when declared so, a floating input otherwise, in the engine precision). kFloat: FP32
  // whatever the precision (an FP16/BF16 engine casts it inside). A module traced and saved loses
  // its declared types: give token ids and masks their dtype here.
  enum class InputType { kAuto, kFloat, kInt32, kInt64, kBool };

  struct Device {
    enum class Type {
      kAuto,       // the GPU when the CUDA backend and a GPU are present, else the reference backend
      kGPU,        // a CUDA GPU (gpu_id); an error where there is none
      kReference,  // the CPU reference backend
    };
    Type type = Type::kAuto;
    int gpu_id = 0;
  };

  CompileSpec(std::vector<InputRange> input_ranges);             // NOLINT
  CompileSpec(std::vector<std::vector<int64_t>> fixed_sizes);  // NOLINT

  std::vector<InputRange> input_ranges;
  // One per input, or empty (every input kAuto).
  std::vector<InputType> input_types;
  DataType op_precision = DataType::kFloat;
  // INT8 beside a floating op_precision (kFloat, kHalf or kBFloat16 for the ops not in INT8):
  // Torch-TensorRT's enabled_precisions = {int8, op_precision}.
  bool enable_int8 = false;
  // Post-training quantization: the calibration data or cache (trtorch/ptq.h). Null: the model
  // must be quantization-aware.
  std::shared_ptr<ptq::Calibrator> ptq_calibrator;
  // Calibrated INT8 on a GPU: a layer that can run in INT8 does so only where that is faster than
  // its float version, the Quantize / Dequantize work it brings included (the builder times both;
  // builds take longer). False: every layer that can run in INT8 does.
  bool int8_timing_choice = true;
  Device device;
  // Largest scratch memory the builder may give one kernel (bytes); 0 means the default.
  uint64_t workspace_size = 0;
  // Tactic timing: warm-up runs and averaged runs per candidate.
  uint64_t num_min_timing_iters = 2;
  uint64_t num_avg_timing_iters = 1;
  // FP32 engines: let convolutions and GEMMs use TF32 tensor cores (10-bit mantissa inputs, FP32
  // accumulation), as torch does for convolutions by default (torch.backends.cudnn.allow_tf32).
  // Off: FP32 arithmetic throughout.
  bool allow_tf32 = false;
  // Log every lowering and conversion step and verify the engine IR after each pass.
  bool debug = false;
  // A file that keeps tactic choices between builds (GPU engines): a rebuild of the same model
  // on the same GPU reads them instead of timing again. Empty: no cache.
  std::string timing_cache_path;

  // Engine knobs. Each is recorded in the engine (its summary, torch.classes.trtorch.Engine.info(),
  // lists them). The defaults build the same engines as before these were options.
  // FP16/BF16 engines: keep convolution biases (folded BatchNorm shifts) in FP32, added in FP32
  // by the convolution epilogue. False gives them the engine precision.
  bool fp32_conv_bias = true;
  // GPU engines: FP16/BF16 convolution activations in channels-last (NHWC) layout.
  bool channels_last = true;
  // GPU engines: replay the engine's launches as a CUDA graph (captured on the first call).
  bool cuda_graphs = true;
  // GPU engines: how many cuDNN engine configs each convolution builds and times (1 to 16).
  int conv_candidates = 6;
  // GPU engines: where cuDNN's runtime-compiled convolution engine configs (a kernel compiled at
  // build, about 0.5 s each) race the kernels compiled ahead of time (CUTLASS, cuDNN's precompiled
  // configs) for the FP16/BF16 convolutions CUTLASS takes. kFallback (default): nowhere (builds in
  // seconds); kAuto: where none of those comes within 2x of the convolution's roofline time;
  // kAlways: everywhere (slowest builds). Convolutions CUTLASS does not take try them too, except
  // under kFallback FP16/BF16 ones whose best precompiled config is within 2x of the roofline time
  // or under 10 us.
  enum class ConvRuntimeCompilation { kAuto, kAlways, kFallback };
  ConvRuntimeCompilation conv_runtime_compilation = ConvRuntimeCompilation::kFallback;
  // GPU engines: host threads that build a convolution's candidates at once (0: the host's
  // cores, up to 16; at most 64). Changes build time only, never the engine.
  int build_threads = 0;

  // Partial compilation: which parts of the method run in engines and which stay in TorchScript.
  // Fallback to TorchScript is on by default: what trtorch cannot compile runs in TorchScript,
  // between engine segments. (TRTorch v0.4's `torch_fallback` struct is not offered: its
  // `enabled` defaulted to off, the opposite of require_full_compilation's default.)
  // True: every operation must compile into one engine, else the compile fails listing each
  // unsupported operation (fallback off).
  bool require_full_compilation = false;
  // Engine segments with fewer operations than this stay in TorchScript (1 to 2^30).
  uint64_t min_block_size = 3;
  // Operators to run in TorchScript: "aten::upsample_nearest2d" (every overload),
  // "aten::add.Tensor" (one overload) or a full schema. Not allowed with require_full_compilation.
  std::vector<std::string> torch_executed_ops;
  // Submodule classes whose code runs in TorchScript, by qualified name
  // ("torchvision.models.resnet.BasicBlock"). Not allowed with require_full_compilation.
  std::vector<std::string> torch_executed_modules;
};

// True when every operation of the method can be compiled. When `report` is given it receives
// one line per unsupported operation, with its schema and source location.
TRTORCH_API bool CheckMethodOperatorSupport(const torch::jit::Module& module, std::string method_name,
                                            std::string* report = nullptr);

// Compiles the module's forward into an engine and returns a TorchScript module whose forward
// runs it. The result saves with torch::jit::save and loads in any process that has the
// trtorch runtime library loaded.
TRTORCH_API torch::jit::Module CompileGraph(const torch::jit::Module& module, CompileSpec spec);

// The serialized engine of one method, for use without the TorchScript wrapper.
TRTORCH_API std::string ConvertGraphToTRTEngine(const torch::jit::Module& module, std::string method_name,
                                                CompileSpec spec);

// Version and build information ("trtorch 0.1.0, torch 2.11.0, ...").
TRTORCH_API std::string get_build_info();
TRTORCH_API void dump_build_info();

// Where CUDA engines run, for the whole process (also the environment variable
// TRTORCH_ENGINE_PLACEMENT="inputs" | "recorded"):
//   kInputs (default): on any GPU with the compute capability the engine was built for. A loaded
//     engine is prepared on the current CUDA device; a call whose inputs are on another GPU
//     prepares it there too (once), so module.to(torch::Device("cuda:1")) and one module called
//     from a thread per GPU work.
//   kRecorded: only on the GPU it was built on (CompileSpec::Device::gpu_id).
enum class EnginePlacement { kInputs = 0, kRecorded = 1 };
TRTORCH_API void set_engine_placement(EnginePlacement placement);
TRTORCH_API EnginePlacement get_engine_placement();

namespace logging {
enum class Level { kERROR = 0, kWARNING = 1, kINFO = 2, kDEBUG = 3 };
TRTORCH_API void set_reportable_log_level(Level lvl);
TRTORCH_API Level get_reportable_log_level();
}  // namespace logging

}  // namespace trtorch
