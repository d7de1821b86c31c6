// trtorchc's command line: the options it sets and the parser that reads them (flags, shape
// specs, --help and --version). Parse errors throw a Failure with code kUsage.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/plan/builder.h"
#include "trtorch/trtorch.h"

namespace trtorchc {

using trtorch::CompileSpec;

// The ranges of the count flags (--conv-candidates and --build-threads use trtorch::plan's limits).
constexpr uint64_t kMaxGpuId = 2147483647;                // INT32_MAX: CompileSpec::Device::gpu_id is an int
constexpr uint64_t kMaxWorkspaceSize = trtorch::plan::kMaxWorkspaceSize;  // the builder's limits
constexpr uint64_t kMaxTimingIters = uint64_t(trtorch::plan::kMaxTimingIters);

// What the command line asks for: the inputs and output, the CompileSpec fields, the check and logging.
struct Options {
  std::string input, output;
  std::vector<CompileSpec::InputRange> shapes;
  std::vector<CompileSpec::InputType> types;  // one per shape (kAuto when not given)
  std::vector<std::string> shape_text;
  CompileSpec::DataType precision = CompileSpec::DataType::kFloat;
  std::string precision_name = "f32";
  CompileSpec::Device device;
  uint64_t workspace_size = 0;
  uint64_t num_min_timing_iters = 2;
  uint64_t num_avg_timing_iters = 1;
  bool allow_tf32 = false;
  std::string timing_cache_path;
  std::string calibration_cache_file;  // i8: read the scales from it (trtorch::ptq cache calibrator)
  bool fp32_conv_bias = true, channels_last = true, cuda_graphs = true, int8_timing_choice = true;
  int conv_candidates = 6;
  std::string conv_runtime_compilation = "fallback";
  int build_threads = 0;
  // Partial compilation (CompileSpec's fields of the same names).
  bool require_full_compilation = false;
  uint64_t min_block_size = 3;
  std::vector<std::string> torch_executed_ops, torch_executed_modules;
  bool save_engine = false;
  std::optional<std::string> check_support_method;
  std::optional<double> threshold;
  bool check = true;
  uint64_t seed = 0;
  bool verbose = false, debug = false, quiet = false;
};

// Reads argv into Options. --help and --version print and exit with kOk.
Options parse_args(int argc, char** argv);

}  // namespace trtorchc
