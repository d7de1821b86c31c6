// The C++ API: maps CompileSpec onto the compiler pipeline.
#include "trtorch/trtorch.h"
#include "trtorch/ptq.h"

#include <torch/cuda.h>
#include <torch/script.h>
#include <torch/version.h>

#include <iostream>
#include <sstream>

#include "core/frontend/compiler.h"
#include "core/plan/backend.h"
#include "core/runtime/runtime.h"
#include "core/util/debug.h"
#include "core/util/logging.h"

namespace trtorch {

CompileSpec::InputRange::InputRange(std::vector<int64_t> fixed) : min(fixed), opt(fixed), max(std::move(fixed)) {}
CompileSpec::InputRange::InputRange(std::vector<int64_t> mn, std::vector<int64_t> op, std::vector<int64_t> mx)
    : min(std::move(mn)), opt(std::move(op)), max(std::move(mx)) {}

CompileSpec::CompileSpec(std::vector<InputRange> ranges) : input_ranges(std::move(ranges)) {}
CompileSpec::CompileSpec(std::vector<std::vector<int64_t>> fixed_sizes) {
  for (auto& s : fixed_sizes) input_ranges.emplace_back(std::move(s));
}

namespace {

plan::DeviceInfo resolve_device(const CompileSpec::Device& d) {
  plan::DeviceInfo info;
  bool cuda_backend = plan::has_backend(plan::DeviceType::kCUDA);
  bool gpu = torch::cuda::is_available();
  switch (d.type) {
    case CompileSpec::Device::Type::kReference:
      info.type = plan::DeviceType::kReference;
      return info;
    case CompileSpec::Device::Type::kGPU:
      TRTORCH_EXPECT(cuda_backend, "device GPU was requested but this build of trtorch has no CUDA backend");
      TRTORCH_EXPECT(gpu, "device GPU was requested but no CUDA GPU is available");
      break;
    case CompileSpec::Device::Type::kAuto: {
      // TRTORCH_DEFAULT_DEVICE=reference makes "auto" mean the reference backend even where a
      // GPU is present (the Python API tests use it to run the same on every machine).
      if (util::debug_switch_value(util::DebugSwitch::kDefaultDevice) == "reference") {
        info.type = plan::DeviceType::kReference;
        return info;
      }
      if (!cuda_backend || !gpu) {
        TRTORCH_LOG(kInfo, "no CUDA GPU/backend: building for the reference (CPU) backend");
        info.type = plan::DeviceType::kReference;
        return info;
      }
      break;
    }
  }
  TRTORCH_EXPECT(d.gpu_id >= 0 && d.gpu_id < int(torch::cuda::device_count()), "gpu_id ", d.gpu_id,
                 " is not a CUDA device (", torch::cuda::device_count(), " present)");
  info.type = plan::DeviceType::kCUDA;
  info.gpu_id = d.gpu_id;
  return info;
}

frontend::CompileOptions to_options(const CompileSpec& spec) {
  frontend::CompileOptions o;
  TRTORCH_EXPECT(spec.input_types.empty() || spec.input_types.size() == spec.input_ranges.size(), "the compile spec gives ",
                 spec.input_types.size(), " input types for ", spec.input_ranges.size(), " inputs");
  for (size_t i = 0; i < spec.input_ranges.size(); ++i) {
    const auto& r = spec.input_ranges[i];
    frontend::InputSpec in{r.min, r.opt, r.max};
    switch (spec.input_types.empty() ? CompileSpec::InputType::kAuto : spec.input_types[i]) {
      case CompileSpec::InputType::kAuto: break;
      case CompileSpec::InputType::kFloat:
        // FP32 at the engine's boundary whatever the precision (cast inside the engine).
        in.dtype = ir::DType::kFloat32;
        o.build.fp32_inputs.resize(spec.input_ranges.size(), false);
        o.build.fp32_inputs[i] = true;
        break;
      case CompileSpec::InputType::kInt32: in.dtype = ir::DType::kInt32; break;
      case CompileSpec::InputType::kInt64: in.dtype = ir::DType::kInt64; break;
      case CompileSpec::InputType::kBool: in.dtype = ir::DType::kBool; break;
    }
    o.inputs.push_back(in);
  }
  switch (spec.op_precision) {
    case CompileSpec::DataType::kFloat: o.build.precision = ir::DType::kFloat32; break;
    case CompileSpec::DataType::kHalf: o.build.precision = ir::DType::kFloat16; break;
    case CompileSpec::DataType::kBFloat16: o.build.precision = ir::DType::kBFloat16; break;
    case CompileSpec::DataType::kInt8: o.build.precision = ir::DType::kFloat16; break;
  }
  o.build.int8 = spec.op_precision == CompileSpec::DataType::kInt8 || spec.enable_int8;
  o.build.int8_timing_choice = spec.int8_timing_choice;
  if (spec.ptq_calibrator) {
    TRTORCH_EXPECT(o.build.int8, "a ptq_calibrator is given but INT8 is not enabled (op_precision kInt8 or "
                   "enable_int8)");
    const ptq::Calibrator& c = *spec.ptq_calibrator;
    auto s = std::make_shared<frontend::CalibrationSettings>();
    s->batches = c.batches;
    s->algo = c.algo == ptq::CalibrationAlgo::kMinMax       ? plan::CalibrationAlgo::kMinMax
              : c.algo == ptq::CalibrationAlgo::kPercentile ? plan::CalibrationAlgo::kPercentile
                                                            : plan::CalibrationAlgo::kEntropy;
    TRTORCH_EXPECT(c.percentile > 0 && c.percentile <= 100, "calibration percentile must be in (0, 100], got ",
                   c.percentile);
    s->percentile = c.percentile;
    s->cache_file = c.cache_file;
    s->use_cache = c.use_cache;
    TRTORCH_EXPECT(!s->batches.empty() || (s->use_cache && !s->cache_file.empty()),
                   "the ptq_calibrator has no calibration batches and no cache file to read");
    o.calibration = std::move(s);
  }
  o.build.device = resolve_device(spec.device);
  o.build.workspace_size = spec.workspace_size;
  // The counts are unsigned 64-bit in the API: checked before they are narrowed to int.
  TRTORCH_EXPECT(spec.num_min_timing_iters <= uint64_t(plan::kMaxTimingIters), "num_min_timing_iters must be 0 to ",
                 plan::kMaxTimingIters, ", got ", spec.num_min_timing_iters);
  TRTORCH_EXPECT(spec.num_avg_timing_iters >= 1 && spec.num_avg_timing_iters <= uint64_t(plan::kMaxTimingIters),
                 "num_avg_timing_iters must be 1 to ", plan::kMaxTimingIters, ", got ", spec.num_avg_timing_iters);
  o.build.num_min_timing_iters = int(spec.num_min_timing_iters);
  o.build.num_avg_timing_iters = int(spec.num_avg_timing_iters);
  o.build.allow_tf32 = spec.allow_tf32;
  o.build.debug = spec.debug;
  o.build.timing_cache_path = spec.timing_cache_path;
  o.build.fp32_conv_bias = spec.fp32_conv_bias;
  o.build.channels_last = spec.channels_last;
  o.build.cuda_graphs = spec.cuda_graphs;
  o.build.conv_runtime_compilation = plan::ConvRuntimeCompilation(int(spec.conv_runtime_compilation));
  o.build.conv_candidates = spec.conv_candidates;
  o.build.build_threads = spec.build_threads;
  plan::check_build_config(o.build);  // before the (slow) conversion
  TRTORCH_EXPECT(spec.min_block_size >= 1 && spec.min_block_size <= uint64_t(frontend::kMaxMinBlockSize),
                 "min_block_size must be 1 to ", frontend::kMaxMinBlockSize, ", got ", spec.min_block_size);
  o.partition.require_full_compilation = spec.require_full_compilation;
  o.partition.min_block_size = int64_t(spec.min_block_size);
  o.partition.torch_executed_ops = spec.torch_executed_ops;
  o.partition.torch_executed_modules = spec.torch_executed_modules;
  frontend::check_partition_settings(o.partition);
  if (spec.debug) util::set_log_level(util::LogLevel::kDebug);
  return o;
}

}  // namespace

bool CheckMethodOperatorSupport(const torch::jit::Module& module, std::string method_name, std::string* report) {
  auto problems = frontend::check_method_support(module, method_name);
  if (report) {
    std::ostringstream os;
    for (const auto& p : problems) os << p << "\n";
    *report = os.str();
  }
  for (const auto& p : problems) TRTORCH_LOG(kWarning, p);
  return problems.empty();
}

torch::jit::Module CompileGraph(const torch::jit::Module& module, CompileSpec spec) {
  return frontend::compile_module(module, "forward", to_options(spec));
}

std::string ConvertGraphToTRTEngine(const torch::jit::Module& module, std::string method_name, CompileSpec spec) {
  return plan::serialize_string(*frontend::compile_engine(module, method_name, to_options(spec)).engine);
}

std::string get_build_info() {
  std::ostringstream os;
  os << "trtorch 0.1.0 (engine format " << plan::kFormatVersion << "), built against torch " << TORCH_VERSION
     << "; backends: reference" << (plan::has_backend(plan::DeviceType::kCUDA) ? ", CUDA" : "");
  return os.str();
}

void dump_build_info() { std::cout << get_build_info() << std::endl; }

// The API's values are the runtime's (checked here at compile time); the runtime checks a value.
static_assert(int(EnginePlacement::kInputs) == int(runtime::EnginePlacement::kInputs) &&
                  int(EnginePlacement::kRecorded) == int(runtime::EnginePlacement::kRecorded),
              "trtorch::EnginePlacement mirrors runtime::EnginePlacement");

void set_engine_placement(EnginePlacement placement) {
  runtime::set_engine_placement(runtime::EnginePlacement(int(placement)));
}

EnginePlacement get_engine_placement() { return EnginePlacement(int(runtime::engine_placement())); }

namespace logging {
void set_reportable_log_level(Level lvl) { util::set_log_level(util::LogLevel(int(lvl))); }
Level get_reportable_log_level() { return Level(int(util::log_level())); }
}  // namespace logging

}  // namespace trtorch
