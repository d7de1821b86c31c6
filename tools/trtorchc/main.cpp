// trtorchc: compiles a saved TorchScript module with trtorch from the command line.
//
//   trtorchc input.ts output.ts "(1,3,224,224)" -p f16
//   trtorchc input.ts output.ts "[(1,3,224,224);(4,3,224,224);(8,3,224,224)]"
//   trtorchc input.ts --check-method-support
//
// Run `trtorchc --help` for every option and the exit codes. Progress goes to stdout, one line
// per stage with its elapsed time; errors go to stderr.
//
// This file holds main and the run's steps (load, check operators, compile and save; OUTPUT is
// written whole, through a temporary file, or not at all); the command line is parsed in
// options.cpp and the saved result checked against TorchScript in check.cpp.
#include <torch/script.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

#include "core/plan/builder.h"
#include "core/runtime/runtime.h"
#include "tools/trtorchc/check.h"
#include "tools/trtorchc/errors.h"
#include "tools/trtorchc/options.h"
#include "tools/trtorchc/progress.h"
#include "trtorch/ptq.h"
#include "trtorch/trtorch.h"

namespace trtorchc {
namespace {

// Loads INPUT.ts; a missing, unreadable or invalid file is an input error.
torch::jit::Module load_module(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    fail(kInputError, "cannot read input module '" + path + "': it is a directory, not a saved TorchScript module");
  if (!std::ifstream(path).good()) fail(kInputError, "cannot read input module '" + path + "': no such file or not readable");
  try {
    return torch::jit::load(path);
  } catch (const std::exception& e) {
    fail(kInputError, "cannot load '" + path + "' as a TorchScript module: " + error_text(e));
  }
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
    if (!o.check_support_method && o.require_full_compilation)
      fail(kUnsupported, "'" + o.input + "' cannot be compiled whole (--require-full-compilation): it uses the "
                         "unsupported operators listed above");
    if (!o.check_support_method)
      std::cout << "these run in TorchScript; the rest is compiled (partial compilation)\n";
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
  if (!o.calibration_cache_file.empty())
    spec.ptq_calibrator = trtorch::ptq::make_int8_cache_calibrator(o.calibration_cache_file);
  spec.fp32_conv_bias = o.fp32_conv_bias;
  spec.channels_last = o.channels_last;
  spec.cuda_graphs = o.cuda_graphs;
  spec.int8_timing_choice = o.int8_timing_choice;
  spec.conv_candidates = o.conv_candidates;
  using Crc = CompileSpec::ConvRuntimeCompilation;
  spec.conv_runtime_compilation = o.conv_runtime_compilation == "always"     ? Crc::kAlways
                                 : o.conv_runtime_compilation == "fallback" ? Crc::kFallback
                                                                            : Crc::kAuto;
  spec.build_threads = o.build_threads;
  spec.require_full_compilation = o.require_full_compilation;
  spec.min_block_size = o.min_block_size;
  spec.torch_executed_ops = o.torch_executed_ops;
  spec.torch_executed_modules = o.torch_executed_modules;
  return spec;
}

// The partial-compilation settings of a spec, one line: "require_full_compilation=0;min_block_size=3;
// torch_executed_ops=[aten::relu; aten::add.Tensor];torch_executed_modules=[]" (';' inside the
// brackets: a schema has commas).
std::string partition_text(const CompileSpec& spec) {
  auto list = [](const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : "; ") + n;
    return "[" + out + "]";
  };
  return "require_full_compilation=" + std::to_string(int(spec.require_full_compilation)) +
         ";min_block_size=" + std::to_string(spec.min_block_size) + ";torch_executed_ops=" +
         list(spec.torch_executed_ops) + ";torch_executed_modules=" + list(spec.torch_executed_modules);
}

// The build options recorded in the compiled engine (the engine bytes, or the module's engine).
std::string recorded_build_options(const std::string& engine, const std::optional<torch::jit::Module>& compiled) {
  if (!compiled) {
    return trtorch::plan::deserialize(reinterpret_cast<const uint8_t*>(engine.data()), engine.size()).build_options;
  }
  auto holder = engine_of(*compiled);
  return holder ? holder->engine().build_options : "(no engine found)";
}

// Writes all of `bytes` to the open descriptor `fd`; false (errno set) when a write fails.
bool write_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += size_t(n);
  }
  return true;
}

// Writes `bytes` (`what`: "the engine", "the compiled module") to `path`. A regular file is
// written to a temporary file in the same folder, renamed into place only once the whole write
// succeeded, so a full disk or a write error never leaves a truncated OUTPUT; the temporary is
// removed on failure. A path that exists and is not a regular file (/dev/stdout, a pipe) is
// written in place. Any failure is an output error naming the path and the reason.
void write_output(const std::string& path, const std::string& bytes, const std::string& what) {
  auto failed = [&](const std::string& why) {
    fail(kInputError, "cannot write " + what + " to '" + path + "': " + why);
  };
  struct stat st{};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && !S_ISREG(st.st_mode)) {
    if (S_ISDIR(st.st_mode)) failed("it is a directory");
    const int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) failed(std::strerror(errno));
    const bool ok = write_all(fd, bytes);
    const int err = errno;
    if (::close(fd) != 0 || !ok) failed(std::strerror(ok ? errno : err));
    return;
  }
  // A symbolic link to a file: its target is replaced, not the link.
  std::string target = path;
  struct stat link{};
  if (exists && ::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
    if (char* real = ::realpath(path.c_str(), nullptr)) target = real, std::free(real);
  }
  const size_t slash = target.rfind('/');
  std::string tmp = (slash == std::string::npos ? std::string() : target.substr(0, slash + 1)) + ".trtorchc-XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) failed(std::string("cannot create a temporary file in its folder: ") + std::strerror(errno));
  // The mode a plain write would give: the replaced file's, or the usual 0666 less the umask.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  const mode_t mode = exists ? (st.st_mode & 07777) : (0666 & ~mask);
  bool ok = write_all(fd, bytes) && ::fchmod(fd, mode) == 0 && ::fsync(fd) == 0;
  int err = errno;
  if (::close(fd) != 0 && ok) ok = false, err = errno;
  if (ok && ::rename(tmp.c_str(), target.c_str()) != 0) ok = false, err = errno;
  if (!ok) {
    ::unlink(tmp.c_str());
    failed(std::strerror(err));
  }
}

// Compiles forward into a module or engine, writes it to OUTPUT and prints the options it records.
void compile_and_save(const Options& o, const torch::jit::Module& module, Progress& progress) {
  std::string shapes;
  for (const auto& s : o.shape_text) shapes += (shapes.empty() ? "" : ", ") + s;
  const CompileSpec spec = make_spec(o);
  progress.line("partition settings: " + partition_text(spec));
  progress.begin("compile", std::string(o.save_engine ? "engine" : "module") + ", " + o.precision_name + ", inputs " + shapes);
  std::string engine;
  std::optional<torch::jit::Module> compiled;
  try {
    trtorch::util::ProgressScope scope(progress.reporter());
    if (o.save_engine) engine = trtorch::ConvertGraphToTRTEngine(module, "forward", spec);
    else compiled = trtorch::CompileGraph(module, spec);
  } catch (const std::exception& e) {
    fail(kCompileError, "compile failed: " + error_text(e));
  }
  progress.end();
  progress.line("engine build options: " + recorded_build_options(engine, compiled));

  progress.begin("save", o.output);
  std::string what = "the engine";
  if (!o.save_engine) {
    // Serialized in memory first: torch's file writer aborts the process when a write fails.
    what = "the compiled module";
    std::ostringstream bytes;
    try {
      compiled->save(bytes);
    } catch (const std::exception& e) {
      fail(kInputError, "cannot serialize the compiled module for '" + o.output + "': " + error_text(e));
    }
    engine = bytes.str();
  }
  write_output(o.output, engine, what);
  if (o.save_engine) progress.end(std::to_string(engine.size()) + " bytes");
  else progress.end();
}

// The run's steps in order: load, check operators, then (unless only checking) compile, save and check.
int run(const Options& o) {
  if (o.debug) trtorch::logging::set_reportable_log_level(trtorch::logging::Level::kDEBUG);
  else if (o.verbose) trtorch::logging::set_reportable_log_level(trtorch::logging::Level::kINFO);
  Progress progress(o.quiet);

  // OUTPUT naming INPUT's file (the same path, a link to it) would replace the source module with
  // the compiled one.
  std::error_code ec;
  if (!o.check_support_method && std::filesystem::equivalent(o.input, o.output, ec))
    fail(kUsage, "OUTPUT '" + o.output + "' is INPUT '" + o.input +
                     "': writing it would replace the source module with the compiled one; give another OUTPUT path");
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
}  // namespace trtorchc

int main(int argc, char** argv) {
  try {
    trtorchc::Options o = trtorchc::parse_args(argc, argv);
    return trtorchc::run(o);
  } catch (const trtorchc::Failure& f) {
    std::cerr << "trtorchc: " << f.message << "\n";
    if (f.code == trtorchc::kUsage) std::cerr << "(trtorchc --help lists the options)\n";
    return f.code;
  } catch (const std::exception& e) {
    std::cerr << "trtorchc: " << trtorchc::error_text(e) << "\n";
    return trtorchc::kCompileError;
  }
}
