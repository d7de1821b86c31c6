// trtorchc: compiles a saved TorchScript module with trtorch from the command line.
//
//   trtorchc input.ts output.ts "(1,3,224,224)" -p f16
//   trtorchc input.ts output.ts "[(1,3,224,224);(4,3,224,224);(8,3,224,224)]"
//   trtorchc input.ts --check-method-support
//
// Run `trtorchc --help` for every option and the exit codes. Progress goes to stdout, one line
// per stage with its elapsed time; errors go to stderr.
#include <torch/script.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/plan/builder.h"
#include "core/runtime/runtime.h"
#include "trtorch/trtorch.h"

namespace {

using trtorch::CompileSpec;

enum ExitCode : int {
  kOk = 0,
  kUsage = 1,          // bad command line
  kInputError = 2,     // missing or unreadable input, unwritable output
  kUnsupported = 3,    // the method uses operators trtorch cannot compile
  kCompileError = 4,   // the compiler rejected the module or spec
  kCheckFailed = 5,    // the compiled module failed to run or disagrees with TorchScript
};

constexpr const char* kHelp = R"HELP(trtorchc: compile a saved TorchScript module into a trtorch engine

usage:
  trtorchc INPUT.ts OUTPUT.ts SHAPE... [options]
  trtorchc INPUT.ts --check-method-support[=METHOD] [options]

SHAPE, one per input of forward (quote it in the shell):
  "(1,3,224,224)"                                   a fixed shape
  "[(1,3,224,224);(4,3,224,224);(8,3,224,224)]"     a range [(min);(opt);(max)]
                                                    (rejected until dynamic shapes are supported)
  "(2,128)@i64"                                     with the input's dtype: f32, i32, i64 or bool
                                                    (default: the method's declared type; a
                                                    traced module saved to a file needs it for
                                                    token ids and masks)
  --input-shape SHAPE may be given instead of (or after) the positional shapes.

options:
  -p, --op-precision P     f32 (float, fp32; default), f16 (half, fp16), bf16 (bfloat16)
  --device D               auto (default: the GPU when available, else the reference backend),
                           gpu (cuda), reference (cpu)
  --gpu-id N               GPU to build for (default 0)
  --workspace-size BYTES   largest scratch memory one kernel may use (0: default)
  --num-min-timing-iters N tactic timing: warm-up runs per candidate (default 2)
  --num-avg-timing-iters N tactic timing: averaged runs per candidate (default 1)
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
                           (default 1e-4 for f32, 1e-2 for f16 and bf16)
  --no-check               skip that comparison
  --seed N                 seed of the random check inputs (default 0)
  -v, --verbose            log every compiler stage
  --debug                  debug logging and IR verification after every pass
  -q, --quiet              no progress lines
  --version                print version and build information
  -h, --help               this text

exit codes:
  0  success (with --check-method-support: every operator is supported)
  1  bad command line
  2  input or output problem (missing or unreadable module, unwritable output)
  3  unsupported operators (reported one per line with schema and source location)
  4  compile error (the message names the input, operator or setting)
  5  check failed (the compiled module failed to run or differs beyond the threshold)
)HELP";

struct Failure {
  int code;
  std::string message;
};

[[noreturn]] void fail(int code, const std::string& msg) { throw Failure{code, msg}; }

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
  bool fp32_conv_bias = true, channels_last = true, cuda_graphs = true;
  int conv_candidates = 6;
  int build_threads = 0;
  bool save_engine = false;
  std::optional<std::string> check_support_method;
  std::optional<double> threshold;
  bool check = true;
  uint64_t seed = 0;
  bool verbose = false, debug = false, quiet = false;
};

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

uint64_t parse_count(const std::string& flag, const std::string& v) {
  size_t used = 0;
  long long n = -1;
  try {
    n = std::stoll(v, &used);
  } catch (const std::exception&) {
  }
  if (used != v.size() || n < 0) fail(kUsage, flag + " expects a non-negative integer, got '" + v + "'");
  return uint64_t(n);
}

// A count in [lo, hi].
int parse_count_in(const std::string& flag, const std::string& v, int lo, int hi) {
  const uint64_t n = parse_count(flag, v);
  if (n < uint64_t(lo) || n > uint64_t(hi))
    fail(kUsage, flag + " expects " + std::to_string(lo) + " to " + std::to_string(hi) + ", got '" + v + "'");
  return int(n);
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

// The options that become CompileSpec fields (precision, device, engine knobs); false for any
// other argument. `next` reads the option's value, `no_value` rejects one given inline.
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
      fail(kUsage, "precision int8: INT8 is not supported yet (use f32, f16 or bf16)");
    } else {
      fail(kUsage, "unknown precision '" + p + "' (use f32, f16 or bf16)");
    }
  } else if (a == "--device" || a == "-d") {
    std::string d = next();
    if (d == "auto") o.device.type = CompileSpec::Device::Type::kAuto;
    else if (d == "gpu" || d == "cuda") o.device.type = CompileSpec::Device::Type::kGPU;
    else if (d == "reference" || d == "cpu") o.device.type = CompileSpec::Device::Type::kReference;
    else fail(kUsage, "unknown device '" + d + "' (use auto, gpu or reference)");
  } else if (a == "--gpu-id") {
    o.device.gpu_id = int(parse_count(a, next()));
  } else if (a == "--workspace-size") {
    o.workspace_size = parse_count(a, next());
  } else if (a == "--num-min-timing-iters") {
    o.num_min_timing_iters = parse_count(a, next());
  } else if (a == "--num-avg-timing-iters") {
    o.num_avg_timing_iters = parse_count(a, next());
    if (o.num_avg_timing_iters == 0) fail(kUsage, "--num-avg-timing-iters must be at least 1");
  } else if (a == "--allow-tf32") {
    o.allow_tf32 = true;
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
  } else if (a == "--conv-candidates") {
    o.conv_candidates = parse_count_in(a, next(), 1, trtorch::plan::kMaxConvCandidates);
  } else if (a == "--build-threads") {
    o.build_threads = parse_count_in(a, next(), 0, trtorch::plan::kMaxBuildThreads);
  } else {
    return false;
  }
  return true;
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
  if (!o.threshold) o.threshold = o.precision == CompileSpec::DataType::kFloat ? 1e-4 : 1e-2;
}

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
    if (a == "-h" || a == "--help") {
      std::cout << kHelp;
      std::exit(kOk);
    } else if (a == "--version") {
      std::cout << trtorch::get_build_info() << "\n";
      std::exit(kOk);
    } else if (a == "--input-shape") {
      positional.push_back(next());
    } else if (a == "--save-engine") {
      no_value();
      o.save_engine = true;
    } else if (a == "--check-method-support") {
      o.check_support_method = has_inline ? value : "forward";
      if (o.check_support_method->empty()) fail(kUsage, "--check-method-support= needs a method name");
    } else if (a == "--threshold") {
      std::string t = next();
      size_t used = 0;
      double v = -1;
      try {
        v = std::stod(t, &used);
      } catch (const std::exception&) {
      }
      if (used != t.size() || !(v > 0) || !std::isfinite(v)) fail(kUsage, "--threshold expects a positive number, got '" + t + "'");
      o.threshold = v;
    } else if (a == "--no-check") {
      no_value();
      o.check = false;
    } else if (a == "--seed") {
      o.seed = parse_count(a, next());
    } else if (a == "-v" || a == "--verbose") {
      no_value();
      o.verbose = true;
    } else if (a == "--debug") {
      no_value();
      o.debug = true;
    } else if (a == "-q" || a == "--quiet") {
      no_value();
      o.quiet = true;
    } else if (a.size() > 1 && a[0] == '-' && a[1] != '(' && a[1] != '[') {
      fail(kUsage, "unknown option '" + a + "' (see trtorchc --help)");
    } else {
      positional.push_back(args[i]);
    }
  }
  set_positional(positional, o);
  return o;
}

// Per-stage progress lines with elapsed times.
class Progress {
 public:
  explicit Progress(bool quiet) : quiet_(quiet), start_(Clock::now()) {}
  void begin(const std::string& stage, const std::string& what) {
    stage_ = stage;
    stage_start_ = Clock::now();
    line(stage + ": " + what + " ...");
  }
  void end(const std::string& result = "done") {
    std::ostringstream os;
    os.precision(3);
    os << std::fixed << stage_ << ": " << result << " (" << seconds(stage_start_) << " s, total " << seconds(start_)
       << " s)";
    line(os.str());
  }
  void line(const std::string& s) const {
    if (!quiet_) std::cout << "[trtorchc] " << s << std::endl;
  }

 private:
  using Clock = std::chrono::steady_clock;
  static double seconds(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
  bool quiet_;
  Clock::time_point start_, stage_start_;
  std::string stage_;
};

std::string error_text(const std::exception& e) {
  if (auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
  return e.what();
}

void flatten(const c10::IValue& v, std::vector<at::Tensor>& out) {
  if (v.isTensor()) {
    out.push_back(v.toTensor());
  } else if (v.isTuple()) {
    for (const auto& e : v.toTupleRef().elements()) flatten(e, out);
  } else if (v.isList()) {
    for (const auto& e : v.toListRef()) flatten(e, out);
  }
}

torch::jit::Module load_module(const std::string& path) {
  if (!std::ifstream(path).good()) fail(kInputError, "cannot read input module '" + path + "': no such file or not readable");
  try {
    return torch::jit::load(path);
  } catch (const std::exception& e) {
    fail(kInputError, "cannot load '" + path + "' as a TorchScript module: " + error_text(e));
  }
}

at::ScalarType scalar_type(CompileSpec::DataType t) {
  switch (t) {
    case CompileSpec::DataType::kHalf: return at::kHalf;
    case CompileSpec::DataType::kBFloat16: return at::kBFloat16;
    case CompileSpec::DataType::kFloat: break;
  }
  return at::kFloat;
}

// The engine of a compiled module (its first), or null.
c10::intrusive_ptr<trtorch::runtime::EngineHolder> engine_of(const torch::jit::Module& m) {
  for (const auto& a : m.named_attributes(/*recurse=*/false)) {
    if (a.value.isObject() && a.value.toObject()->type()->name() &&
        a.value.toObject()->type()->name()->qualifiedName() == trtorch::runtime::kEngineClassQualName)
      return a.value.toCustomClass<trtorch::runtime::EngineHolder>();
  }
  return nullptr;
}

// The device the engines of a compiled module run on (the reference backend runs on the CPU).
at::Device engine_device(const torch::jit::Module& m) {
  auto engine = engine_of(m);
  return engine ? engine->device() : at::Device(at::kCPU);
}

// Which shape of each input's range a check uses.
enum class At { kMin, kOpt, kMax };
const char* at_name(At a) { return a == At::kMin ? "min" : a == At::kOpt ? "opt" : "max"; }

// Runs what was written to OUTPUT and TorchScript on the same random inputs of the inputs'
// `at` shapes; returns the scaled error max|a - b| / max|b| over all outputs.
double check_output(const Options& o, torch::jit::Module& original, At at) {
  torch::manual_seed(o.seed);
  std::vector<at::Tensor> inputs;
  for (size_t i = 0; i < o.shapes.size(); ++i) {
    const auto& r = o.shapes[i];
    const std::vector<int64_t>& shape = at == At::kMin ? r.min : at == At::kOpt ? r.opt : r.max;
    // Integer inputs get 0/1 values: valid token ids for any vocabulary, and valid masks.
    switch (o.types[i]) {
      case CompileSpec::InputType::kInt32: inputs.push_back(torch::randint(0, 2, shape, at::kInt)); break;
      case CompileSpec::InputType::kInt64: inputs.push_back(torch::randint(0, 2, shape, at::kLong)); break;
      case CompileSpec::InputType::kBool: inputs.push_back(torch::randint(0, 2, shape, at::kLong).to(at::kBool)); break;
      default: inputs.push_back(torch::randn(shape));
    }
  }
  torch::NoGradGuard no_grad;

  std::vector<at::Tensor> want, got;
  try {
    std::vector<c10::IValue> args(inputs.begin(), inputs.end());
    flatten(original.forward(args), want);
  } catch (const std::exception& e) {
    fail(kCheckFailed, "check: the TorchScript module failed on random inputs: " + error_text(e));
  }
  try {
    at::ScalarType dt = scalar_type(o.precision);
    if (o.save_engine) {
      std::ifstream f(o.output, std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(f)), {});
      trtorch::runtime::EngineHolder engine(bytes);
      std::vector<at::Tensor> ins;
      for (auto& t : inputs) ins.push_back(t.to(engine.device(), t.is_floating_point() ? dt : t.scalar_type()));
      got = engine.run(ins);
    } else {
      torch::jit::Module compiled = torch::jit::load(o.output);
      at::Device dev = engine_device(compiled);
      std::vector<c10::IValue> args;
      for (auto& t : inputs) args.emplace_back(t.to(dev, t.is_floating_point() ? dt : t.scalar_type()));
      flatten(compiled.forward(args), got);
    }
  } catch (const Failure&) {
    throw;
  } catch (const std::exception& e) {
    fail(kCheckFailed, "check: the compiled result in '" + o.output + "' failed to run: " + error_text(e));
  }
  if (got.size() != want.size())
    fail(kCheckFailed, "check: the compiled module returns " + std::to_string(got.size()) + " tensors, TorchScript " +
                           std::to_string(want.size()));
  double max_diff = 0, max_ref = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i].sizes() != want[i].sizes()) {
      std::ostringstream os;
      os << "check: output " << i << " has shape " << got[i].sizes() << ", TorchScript gives " << want[i].sizes();
      fail(kCheckFailed, os.str());
    }
    at::Tensor a = got[i].to(at::kCPU, at::kDouble), b = want[i].to(at::kCPU, at::kDouble);
    if (!a.isfinite().all().item<bool>() && b.isfinite().all().item<bool>())
      fail(kCheckFailed, "check: output " + std::to_string(i) + " has non-finite values where TorchScript's are finite");
    if (a.numel() == 0) continue;
    max_diff = std::max(max_diff, (a - b).abs().max().item<double>());
    max_ref = std::max(max_ref, b.abs().max().item<double>());
  }
  return max_ref > 0 ? max_diff / max_ref : max_diff;
}

// Reports the operators of the method that trtorch cannot compile. Returns whether all are supported.
bool check_operators(const Options& o, const torch::jit::Module& module, Progress& progress) {
  // Unsupported operators first: a report with every one of them beats the first compile error.
  const std::string method = o.check_support_method.value_or("forward");
  progress.begin("check operators", method);
  std::string report;
  bool supported = false;
  auto level = trtorch::logging::get_reportable_log_level();  // the report is printed below instead
  trtorch::logging::set_reportable_log_level(trtorch::logging::Level::kERROR);
  try {
    supported = trtorch::CheckMethodOperatorSupport(module, method, &report);
  } catch (const std::exception& e) {
    trtorch::logging::set_reportable_log_level(level);
    fail(kCompileError, "cannot analyze method '" + method + "': " + error_text(e));
  }
  trtorch::logging::set_reportable_log_level(level);
  if (!supported) {
    progress.end("unsupported operators");
    std::cout << "unsupported operators in " << o.input << " (" << method << "):\n" << report;
    if (!o.check_support_method)
      fail(kUnsupported, "'" + o.input + "' cannot be compiled: it uses the unsupported operators listed above");
    return false;
  }
  progress.end("all supported");
  if (o.check_support_method) std::cout << "every operator of " << o.input << " (" << method << ") is supported\n";
  return true;
}

CompileSpec make_spec(const Options& o) {
  CompileSpec spec(o.shapes);
  spec.input_types = o.types;
  spec.op_precision = o.precision;
  spec.device = o.device;
  spec.workspace_size = o.workspace_size;
  spec.num_min_timing_iters = o.num_min_timing_iters;
  spec.num_avg_timing_iters = o.num_avg_timing_iters;
  spec.allow_tf32 = o.allow_tf32;
  spec.debug = o.debug;
  spec.timing_cache_path = o.timing_cache_path;
  spec.fp32_conv_bias = o.fp32_conv_bias;
  spec.channels_last = o.channels_last;
  spec.cuda_graphs = o.cuda_graphs;
  spec.conv_candidates = o.conv_candidates;
  spec.build_threads = o.build_threads;
  return spec;
}

// The build options recorded in the compiled engine (the engine bytes, or the module's engine).
std::string recorded_build_options(const std::string& engine, const std::optional<torch::jit::Module>& compiled) {
  if (!compiled) {
    return trtorch::plan::deserialize(reinterpret_cast<const uint8_t*>(engine.data()), engine.size()).build_options;
  }
  auto holder = engine_of(*compiled);
  return holder ? holder->engine().build_options : "(no engine found)";
}

// Compiles forward into a module or engine, writes it to OUTPUT and prints the options it records.
void compile_and_save(const Options& o, const torch::jit::Module& module, Progress& progress) {
  std::string shapes;
  for (const auto& s : o.shape_text) shapes += (shapes.empty() ? "" : ", ") + s;
  progress.begin("compile", std::string(o.save_engine ? "engine" : "module") + ", " + o.precision_name + ", inputs " + shapes);
  std::string engine;
  std::optional<torch::jit::Module> compiled;
  try {
    if (o.save_engine) engine = trtorch::ConvertGraphToTRTEngine(module, "forward", make_spec(o));
    else compiled = trtorch::CompileGraph(module, make_spec(o));
  } catch (const std::exception& e) {
    fail(kCompileError, "compile failed: " + error_text(e));
  }
  progress.end();
  progress.line("engine build options: " + recorded_build_options(engine, compiled));

  progress.begin("save", o.output);
  if (o.save_engine) {
    std::ofstream f(o.output, std::ios::binary);
    f.write(engine.data(), std::streamsize(engine.size()));
    f.close();
    if (!f) fail(kInputError, "cannot write the engine to '" + o.output + "'");
    progress.end(std::to_string(engine.size()) + " bytes");
  } else {
    try {
      compiled->save(o.output);
    } catch (const std::exception& e) {
      fail(kInputError, "cannot write the compiled module to '" + o.output + "': " + error_text(e));
    }
    progress.end();
  }
}

// Compares what was saved with TorchScript; a range at its min, opt and max shapes, fixed shapes once.
void check_saved(const Options& o, torch::jit::Module& module, Progress& progress) {
  bool ranged = false;
  for (const auto& r : o.shapes) ranged = ranged || r.min != r.max;
  progress.begin("check", ranged ? "saved result vs TorchScript on random inputs at the min, opt and max shapes"
                                 : "saved result vs TorchScript on random inputs");
  std::ostringstream os;
  os << "max|trtorch - torchscript| / max|torchscript| = ";
  double worst = 0;
  bool first = true;
  for (At at : {At::kMin, At::kOpt, At::kMax}) {
    if (!ranged && at != At::kOpt) continue;
    const double err = check_output(o, module, at);
    os << (first ? "" : ", ") << err << (ranged ? std::string(" at ") + at_name(at) : std::string());
    worst = (err <= worst) ? worst : err;  // NaN propagates
    first = false;
  }
  os << " (threshold " << *o.threshold << ")";
  if (!(worst <= *o.threshold)) fail(kCheckFailed, "check failed: " + os.str());
  progress.end(os.str());
}

int run(const Options& o) {
  if (o.debug) trtorch::logging::set_reportable_log_level(trtorch::logging::Level::kDEBUG);
  else if (o.verbose) trtorch::logging::set_reportable_log_level(trtorch::logging::Level::kINFO);
  Progress progress(o.quiet);

  progress.begin("load", o.input);
  torch::jit::Module module = load_module(o.input);
  progress.end();

  const bool supported = check_operators(o, module, progress);
  if (o.check_support_method) return supported ? kOk : kUnsupported;
  compile_and_save(o, module, progress);
  if (o.check) check_saved(o, module, progress);
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options o = parse_args(argc, argv);
    return run(o);
  } catch (const Failure& f) {
    std::cerr << "trtorchc: " << f.message << "\n";
    if (f.code == kUsage) std::cerr << "(trtorchc --help lists the options)\n";
    return f.code;
  } catch (const std::exception& e) {
    std::cerr << "trtorchc: " << error_text(e) << "\n";
    return kCompileError;
  }
}
