// trtorchc's command-line parser: the --help text, flag parsing (with "--flag=value" or "--flag value"),
// the SHAPE specs ("(1,3,224,224)", "[(min);(opt);(max)]", "...@i64") and the positional arguments.
#include "tools/trtorchc/options.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "core/frontend/partitioning/settings.h"
#include "core/plan/builder.h"
#include "core/util/error.h"
#include "tools/trtorchc/errors.h"

namespace trtorchc {
namespace {

constexpr const char* kHelp = R"HELP(trtorchc: compile a saved TorchScript module into a trtorch engine

usage:
  trtorchc INPUT.ts OUTPUT.ts SHAPE... [options]
  trtorchc INPUT.ts --check-method-support[=METHOD] [options]

SHAPE, one per input of forward (quote it in the shell):
  "(1,3,224,224)"                                   a fixed shape
  "[(1,3,224,224);(4,3,224,224);(8,3,224,224)]"     a range [(min);(opt);(max)]: one engine for
                                                    every shape in it (dynamic shapes)
  "(2,128)@i64"                                     with the input's dtype: f32, i32, i64 or bool
                                                    (default: the method's declared type; a
                                                    traced module saved to a file needs it for
                                                    token ids and masks)
  --input-shape SHAPE may be given instead of (or after) the positional shapes.

options:
  -p, --op-precision P     f32 (float, fp32; default), f16 (half, fp16), bf16 (bfloat16), i8
                           (int8: INT8 convolutions and linear layers, f16 for the rest; needs
                           --calibration-cache-file or a quantization-aware model)
  --calibration-cache-file PATH
                           i8: the INT8 scales from a calibration cache that an earlier build
                           wrote (trtorch.ptq; docs/int8.md)
  --int8-all-layers        i8 with a calibration cache, GPU engines: every layer that can run in
                           INT8 does (default: only where it times faster than in f16)
  --device D               auto (default: the GPU when available, else the reference backend),
                           gpu (cuda), reference (cpu)
  --gpu-id N               GPU to build for, 0 to 2147483647 (default 0)
  --workspace-size BYTES   largest scratch memory one kernel may use, 0 to 1099511627776
                           (1 TiB; default 0: the backend's default)
  --num-min-timing-iters N tactic timing: warm-up runs per candidate, 0 to 1000 (default 2)
  --num-avg-timing-iters N tactic timing: averaged runs per candidate, 1 to 1000 (default 1)
  --allow-tf32             f32 engines: convolutions and GEMMs may use TF32 tensor cores
  --timing-cache-file PATH keep tactic choices in PATH between builds (GPU engines): a rebuild
                           of the same model on the same GPU reads them instead of timing
  --no-fp32-conv-bias      f16/bf16 engines: give convolution biases the engine precision
                           (default: they stay f32, added in f32 by the convolution)
  --no-channels-last       GPU engines: keep f16/bf16 convolution activations in NCHW
                           (default: channels-last, NHWC)
  --no-cuda-graphs         GPU engines: launch kernels one by one instead of replaying a
                           captured CUDA graph
  --conv-candidates N      GPU engines: cuDNN configs built and timed per convolution, 1 to 16
                           (default 6)
  --conv-runtime-compilation MODE
                           GPU engines: where cuDNN's runtime-compiled convolution configs race
                           the kernels compiled ahead of time for the f16/bf16 convolutions the
                           CUTLASS kernels take: fallback (default: nowhere; fastest builds), auto
                           (where none of those comes within 2x of the roofline time) or always
                           (slowest builds)
  --build-threads N        GPU engines: host threads building them at once, 0 to 64 (default 0:
                           the host's cores, up to 16); changes build time only
  --save-engine            write the raw serialized engine to OUTPUT instead of a TorchScript
                           module
  --check-method-support[=METHOD]
                           only report the operators of METHOD (default forward) that trtorch
                           cannot compile; OUTPUT and shapes are not needed
  --threshold T            after compiling, run the saved result and the TorchScript module on
                           random inputs of the given shapes (a range: at its min,
                           opt and max) and require
                           max|trtorch - torchscript| / max|torchscript| <= T
                           (default 1e-4 for f32, 1e-2 for f16 and bf16, 1e-1 for i8)
  --no-check               skip that comparison
  --seed N                 seed of the random check inputs, 0 to 18446744073709551615
                           (default 0)
  -v, --verbose            log every compiler stage
  --debug                  debug logging and IR verification after every pass
  -q, --quiet              no progress lines or bar
  --version                print version and build information
  -h, --help               this text

partial compilation (fallback to TorchScript is on by default: what trtorch cannot compile runs
in TorchScript, between engine segments):
  --require-full-compilation
                           no fallback: every operator must compile into one engine
  --min-block-size N       engine segments with fewer than N operators stay in TorchScript,
                           1 to 1073741824 (default 3)
  --torch-executed-op OP   run operator OP in TorchScript: aten::relu (every overload),
                           aten::add.Tensor (one overload) or a full schema; repeatable
  --torch-executed-module NAME, --torch-executed-mod NAME
                           run the submodule class NAME in TorchScript, e.g.
                           torchvision.models.resnet.BasicBlock; repeatable

exit codes:
  0  success (with --check-method-support: every operator is supported)
  1  bad command line (an unknown option, a malformed shape, a count outside its range)
  2  input or output problem (missing or unreadable module, unwritable output)
  3  unsupported operators (reported one per line with schema and source location)
  4  compile error (the message names the input, operator or setting)
  5  check failed (the compiled module failed to run or differs beyond the threshold)
)HELP";

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// A count in [lo, hi]: decimal digits only; a value past hi (however long) is out of range.
uint64_t parse_count(const std::string& flag, const std::string& v, uint64_t lo, uint64_t hi) {
  if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos)
    fail(kUsage, flag + " expects a non-negative integer, got '" + v + "'");
  uint64_t n = 0;
  bool overflow = false;
  for (char c : v) {
    const uint64_t digit = uint64_t(c - '0');
    if (n > (UINT64_MAX - digit) / 10) overflow = true;
    else n = n * 10 + digit;
  }
  if (overflow || n < lo || n > hi)
    fail(kUsage, flag + " expects " + std::to_string(lo) + " to " + std::to_string(hi) + ", got '" + v + "'");
  return n;
}

// "(1,3,224,224)" -> {1, 3, 224, 224}
std::vector<int64_t> parse_dims(std::string s, const std::string& whole) {
  auto bad = [&](const std::string& why) {
    fail(kUsage, "bad input shape '" + whole + "': " + why +
                     " (expected \"(d0,d1,...)\" or \"[(min...);(opt...);(max...)]\")");
  };
  s = trim(s);
  if (s.size() < 2 || s.front() != '(' || s.back() != ')') bad("'" + s + "' is not a parenthesized list");
  std::vector<int64_t> dims;
  std::stringstream ss(s.substr(1, s.size() - 2));
  std::string item;
  while (std::getline(ss, item, ',')) {
    item = trim(item);
    size_t used = 0;
    long long d = 0;
    try {
      d = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size()) bad("'" + item + "' is not an integer");
    if (d <= 0) bad("dimension " + item + " is not positive");
    dims.push_back(d);
  }
  if (dims.empty()) bad("the shape is empty");
  return dims;
}

// "SHAPE@i64" -> SHAPE and the dtype; no '@': kAuto.
CompileSpec::InputType split_dtype(std::string* text) {
  const size_t at = text->rfind('@');
  if (at == std::string::npos) return CompileSpec::InputType::kAuto;
  const std::string name = trim(text->substr(at + 1));
  const std::string whole = *text;
  *text = text->substr(0, at);
  if (name == "f32" || name == "float") return CompileSpec::InputType::kFloat;
  if (name == "i32" || name == "int32") return CompileSpec::InputType::kInt32;
  if (name == "i64" || name == "int64" || name == "long") return CompileSpec::InputType::kInt64;
  if (name == "bool") return CompileSpec::InputType::kBool;
  fail(kUsage, "bad input shape '" + whole + "': unknown dtype '" + name + "' (f32, i32, i64 or bool)");
}

CompileSpec::InputRange parse_shape(const std::string& text) {
  std::string s = trim(text);
  if (!s.empty() && s.front() == '[') {
    if (s.back() != ']') fail(kUsage, "bad input shape '" + text + "': a range must end with ']'");
    std::vector<std::vector<int64_t>> parts;
    std::stringstream ss(s.substr(1, s.size() - 2));
    std::string part;
    while (std::getline(ss, part, ';')) parts.push_back(parse_dims(part, text));
    if (parts.size() != 3)
      fail(kUsage, "bad input shape '" + text + "': a range needs exactly three shapes [(min);(opt);(max)], got " +
                       std::to_string(parts.size()));
    for (size_t d = 0; d < parts[1].size(); ++d) {
      if (parts[0].size() != parts[1].size() || parts[2].size() != parts[1].size())
        fail(kUsage, "bad input shape '" + text + "': min, opt and max have different ranks");
      if (!(parts[0][d] <= parts[1][d] && parts[1][d] <= parts[2][d]))
        fail(kUsage, "bad input shape '" + text + "': dimension " + std::to_string(d) + " needs min <= opt <= max");
    }
    return CompileSpec::InputRange(parts[0], parts[1], parts[2]);
  }
  return CompileSpec::InputRange(parse_dims(s, text));
}

// --threshold's value: a finite positive number.
double parse_threshold(const std::string& t) {
  size_t used = 0;
  double v = -1;
  try {
    v = std::stod(t, &used);
  } catch (const std::exception&) {
  }
  if (used != t.size() || !(v > 0) || !std::isfinite(v))
    fail(kUsage, "--threshold expects a positive number, got '" + t + "'");
  return v;
}

// The options that become CompileSpec fields (precision, device, engine knobs, partial
// compilation); false for any other argument. `next` reads the option's value, `no_value` rejects
// one given inline.
template <typename Next, typename NoValue>
bool parse_build_option(const std::string& a, Next& next, NoValue& no_value, Options& o) {
  if (a == "-p" || a == "--op-precision" || a == "--precision") {
    std::string p = next();
    if (p == "f32" || p == "fp32" || p == "float" || p == "float32") {
      o.precision = CompileSpec::DataType::kFloat, o.precision_name = "f32";
    } else if (p == "f16" || p == "fp16" || p == "half" || p == "float16") {
      o.precision = CompileSpec::DataType::kHalf, o.precision_name = "f16";
    } else if (p == "bf16" || p == "bfloat16") {
      o.precision = CompileSpec::DataType::kBFloat16, o.precision_name = "bf16";
    } else if (p == "i8" || p == "int8") {
      o.precision = CompileSpec::DataType::kInt8, o.precision_name = "i8";
    } else {
      fail(kUsage, "unknown precision '" + p + "' (use f32, f16, bf16 or i8)");
    }
  } else if (a == "--device" || a == "-d") {
    std::string d = next();
    if (d == "auto") o.device.type = CompileSpec::Device::Type::kAuto;
    else if (d == "gpu" || d == "cuda") o.device.type = CompileSpec::Device::Type::kGPU;
    else if (d == "reference" || d == "cpu") o.device.type = CompileSpec::Device::Type::kReference;
    else fail(kUsage, "unknown device '" + d + "' (use auto, gpu or reference)");
  } else if (a == "--gpu-id") {
    o.device.gpu_id = int(parse_count(a, next(), 0, kMaxGpuId));
  } else if (a == "--workspace-size") {
    o.workspace_size = parse_count(a, next(), 0, kMaxWorkspaceSize);
  } else if (a == "--num-min-timing-iters") {
    o.num_min_timing_iters = parse_count(a, next(), 0, kMaxTimingIters);
  } else if (a == "--num-avg-timing-iters") {
    const std::string v = next();
    if (v == "0") fail(kUsage, a + " must be at least 1 (1 to " + std::to_string(kMaxTimingIters) + "), got '0'");
    o.num_avg_timing_iters = parse_count(a, v, 1, kMaxTimingIters);
  } else if (a == "--allow-tf32") {
    o.allow_tf32 = true;
  } else if (a == "--calibration-cache-file") {
    o.calibration_cache_file = next();
    if (o.calibration_cache_file.empty()) fail(kUsage, "--calibration-cache-file needs a file path");
  } else if (a == "--timing-cache-file") {
    o.timing_cache_path = next();
    if (o.timing_cache_path.empty()) fail(kUsage, "--timing-cache-file needs a file path");
  } else if (a == "--no-fp32-conv-bias") {
    no_value();
    o.fp32_conv_bias = false;
  } else if (a == "--no-channels-last") {
    no_value();
    o.channels_last = false;
  } else if (a == "--no-cuda-graphs") {
    no_value();
    o.cuda_graphs = false;
  } else if (a == "--conv-runtime-compilation") {
    const std::string v = next();
    if (v != "auto" && v != "always" && v != "fallback")
      fail(kUsage, "--conv-runtime-compilation expects auto, always or fallback, got '" + v + "'");
    o.conv_runtime_compilation = v;
  } else if (a == "--int8-all-layers") {
    no_value();
    o.int8_timing_choice = false;
  } else if (a == "--conv-candidates") {
    o.conv_candidates = int(parse_count(a, next(), 1, trtorch::plan::kMaxConvCandidates));
  } else if (a == "--build-threads") {
    o.build_threads = int(parse_count(a, next(), 0, trtorch::plan::kMaxBuildThreads));
  } else if (a == "--require-full-compilation") {
    no_value();
    o.require_full_compilation = true;
  } else if (a == "--min-block-size") {
    o.min_block_size = parse_count(a, next(), 1, uint64_t(trtorch::frontend::kMaxMinBlockSize));
  } else if (a == "--torch-executed-op") {
    o.torch_executed_ops.push_back(next());
  } else if (a == "--torch-executed-module" || a == "--torch-executed-mod") {
    o.torch_executed_modules.push_back(next());
  } else {
    return false;
  }
  return true;
}

// The options that steer the run (what to write, the check, logging) and --input-shape; false for
// any other argument. `value` is the inline value of "--flag=value" when `has_inline`.
template <typename Next, typename NoValue>
bool parse_run_option(const std::string& a, bool has_inline, const std::string& value, Next& next, NoValue& no_value,
                      Options& o, std::vector<std::string>& positional) {
  if (a == "--input-shape") {
    positional.push_back(next());
  } else if (a == "--save-engine") {
    no_value();
    o.save_engine = true;
  } else if (a == "--check-method-support") {
    o.check_support_method = has_inline ? value : "forward";
    if (o.check_support_method->empty()) fail(kUsage, "--check-method-support= needs a method name");
  } else if (a == "--threshold") {
    o.threshold = parse_threshold(next());
  } else if (a == "--no-check") {
    no_value();
    o.check = false;
  } else if (a == "--seed") {
    o.seed = parse_count(a, next(), 0, UINT64_MAX);
  } else if (a == "-v" || a == "--verbose") {
    no_value();
    o.verbose = true;
  } else if (a == "--debug") {
    no_value();
    o.debug = true;
  } else if (a == "-q" || a == "--quiet") {
    no_value();
    o.quiet = true;
  } else {
    return false;
  }
  return true;
}

// The partial-compilation flags, checked as the compile checks them (frontend::check_partition_settings),
// but reported as usage errors that name the flag.
void check_partition_flags(const Options& o) {
  if (o.require_full_compilation && !(o.torch_executed_ops.empty() && o.torch_executed_modules.empty()))
    fail(kUsage, "conflicting flags: --require-full-compilation, yet --torch-executed-op / --torch-executed-module "
                 "ask for operators to run in TorchScript");
  auto check_one = [](const std::string& flag, const std::string& key, trtorch::frontend::PartitionSettings s) {
    try {
      trtorch::frontend::check_partition_settings(s);
    } catch (const trtorch::Error& e) {
      std::string why = e.what();
      if (why.rfind(key + ": ", 0) == 0) why.erase(0, key.size() + 2);
      fail(kUsage, flag + ": " + why);
    }
  };
  for (const auto& op : o.torch_executed_ops) {
    trtorch::frontend::PartitionSettings s;
    s.torch_executed_ops = {op};
    check_one("--torch-executed-op", "torch_executed_ops", s);
  }
  for (const auto& m : o.torch_executed_modules) {
    trtorch::frontend::PartitionSettings s;
    s.torch_executed_modules = {m};
    check_one("--torch-executed-module", "torch_executed_modules", s);
  }
}

// INPUT.ts, then (unless only checking operator support) OUTPUT and one SHAPE per input.
void set_positional(const std::vector<std::string>& positional, Options& o) {
  if (positional.empty()) fail(kUsage, "missing INPUT.ts (see trtorchc --help)");
  o.input = positional[0];
  if (o.check_support_method) {
    if (positional.size() > 1) fail(kUsage, "--check-method-support takes only INPUT.ts, got extra '" + positional[1] + "'");
    return;
  }
  if (positional.size() < 2) fail(kUsage, "missing OUTPUT path (see trtorchc --help)");
  o.output = positional[1];
  for (size_t i = 2; i < positional.size(); ++i) {
    std::string shape = positional[i];
    o.types.push_back(split_dtype(&shape));
    o.shapes.push_back(parse_shape(shape));
    o.shape_text.push_back(trim(positional[i]));
  }
  if (o.shapes.empty()) fail(kUsage, "missing input shapes: give one SHAPE per input of forward, e.g. \"(1,3,224,224)\"");
  if (!o.calibration_cache_file.empty() && o.precision != CompileSpec::DataType::kInt8)
    fail(kUsage, "--calibration-cache-file is for INT8 builds: add -p i8");
  if (!o.int8_timing_choice && o.calibration_cache_file.empty())
    fail(kUsage, "--int8-all-layers is for INT8 builds with --calibration-cache-file");
  // INT8: 8-bit activations and weights through every layer; 0.1 of the largest output catches a
  // wrong scale, not the quantization itself.
  if (!o.threshold)
    o.threshold = o.precision == CompileSpec::DataType::kFloat  ? 1e-4
                  : o.precision == CompileSpec::DataType::kInt8 ? 1e-1
                                                                : 1e-2;
}

}  // namespace

Options parse_args(int argc, char** argv) {
  Options o;
  std::vector<std::string> positional;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i], value;
    bool has_inline = false;
    if (a.rfind("--", 0) == 0 && a.find('=') != std::string::npos) {
      value = a.substr(a.find('=') + 1);
      a = a.substr(0, a.find('='));
      has_inline = true;
    }
    auto next = [&]() -> std::string {
      if (has_inline) return value;
      if (i + 1 >= args.size()) fail(kUsage, a + " needs a value");
      return args[++i];
    };
    auto no_value = [&] {
      if (has_inline) fail(kUsage, a + " takes no value");
    };
    if (parse_build_option(a, next, no_value, o)) continue;
    if (parse_run_option(a, has_inline, value, next, no_value, o, positional)) continue;
    if (a == "-h" || a == "--help") {
      std::cout << kHelp;
      std::exit(kOk);
    } else if (a == "--version") {
      std::cout << trtorch::get_build_info() << "\n";
      std::exit(kOk);
    } else if (a.size() > 1 && a[0] == '-' && a[1] != '(' && a[1] != '[') {
      fail(kUsage, "unknown option '" + a + "' (see trtorchc --help)");
    } else {
      positional.push_back(args[i]);
    }
  }
  check_partition_flags(o);
  set_positional(positional, o);
  return o;
}

}  // namespace trtorchc
