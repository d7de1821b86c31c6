// trtorchc's check of a saved result against TorchScript: random inputs of the given shapes (0/1
// values for integer inputs), both modules run on them, and the scaled error of their outputs.
#include "tools/trtorchc/check.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "tools/trtorchc/errors.h"

namespace trtorchc {
namespace {

void flatten(const c10::IValue& v, std::vector<at::Tensor>& out) {
  if (v.isTensor()) {
    out.push_back(v.toTensor());
  } else if (v.isTuple()) {
    for (const auto& e : v.toTupleRef().elements()) flatten(e, out);
  } else if (v.isList()) {
    for (const auto& e : v.toListRef()) flatten(e, out);
  }
}

at::ScalarType scalar_type(CompileSpec::DataType t) {
  switch (t) {
    case CompileSpec::DataType::kHalf:
    case CompileSpec::DataType::kInt8: return at::kHalf;  // INT8 engines take FP16 like f16 ones
    case CompileSpec::DataType::kBFloat16: return at::kBFloat16;
    case CompileSpec::DataType::kFloat: break;
  }
  return at::kFloat;
}

// The device the engines of a compiled module run on (the reference backend runs on the CPU).
at::Device engine_device(const torch::jit::Module& m) {
  auto engine = engine_of(m);
  return engine ? engine->device() : at::Device(at::kCPU);
}

// Which shape of each input's range a check uses.
enum class At { kMin, kOpt, kMax };
const char* at_name(At a) { return a == At::kMin ? "min" : a == At::kOpt ? "opt" : "max"; }

// Random inputs of the inputs' `at` shapes, seeded with o.seed.
std::vector<at::Tensor> random_inputs(const Options& o, At at) {
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
  return inputs;
}

// The outputs of what was written to OUTPUT (an engine or a compiled module) on `inputs`, floating
// inputs cast to the engine precision.
std::vector<at::Tensor> run_saved(const Options& o, const std::vector<at::Tensor>& inputs) {
  std::vector<at::Tensor> got;
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
  return got;
}

// The scaled error max|a - b| / max|b| over all outputs; fails on mismatched counts, shapes or
// non-finite values where TorchScript's are finite.
double scaled_error(const std::vector<at::Tensor>& got, const std::vector<at::Tensor>& want) {
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

// Runs what was written to OUTPUT and TorchScript on the same random inputs of the inputs'
// `at` shapes; returns the scaled error max|a - b| / max|b| over all outputs.
double check_output(const Options& o, torch::jit::Module& original, At at) {
  std::vector<at::Tensor> inputs;
  try {
    inputs = random_inputs(o, at);
  } catch (const std::exception& e) {
    fail(kCheckFailed, std::string("check failed: cannot make its random inputs at the ") + at_name(at) +
                           " shapes: " + error_text(e));
  }
  torch::NoGradGuard no_grad;

  std::vector<at::Tensor> want;
  try {
    std::vector<c10::IValue> args(inputs.begin(), inputs.end());
    flatten(original.forward(args), want);
  } catch (const std::exception& e) {
    fail(kCheckFailed, "check: the TorchScript module failed on random inputs: " + error_text(e));
  }
  return scaled_error(run_saved(o, inputs), want);
}

// check_output; any other error inside the check (out of memory in the comparison, say) fails
// the check too, with exit code kCheckFailed: the compile itself succeeded.
double check_output_or_fail(const Options& o, torch::jit::Module& original, At at) {
  try {
    return check_output(o, original, at);
  } catch (const Failure&) {
    throw;
  } catch (const std::exception& e) {
    fail(kCheckFailed, std::string("check failed at the ") + at_name(at) + " shapes: " + error_text(e));
  } catch (...) {
    fail(kCheckFailed, std::string("check failed at the ") + at_name(at) + " shapes: unknown error");
  }
}

}  // namespace

// The engine of a compiled module (its first), or null.
c10::intrusive_ptr<trtorch::runtime::EngineHolder> engine_of(const torch::jit::Module& m) {
  for (const auto& a : m.named_attributes(/*recurse=*/false)) {
    if (a.value.isObject() && a.value.toObject()->type()->name() &&
        a.value.toObject()->type()->name()->qualifiedName() == trtorch::runtime::kEngineClassQualName)
      return a.value.toCustomClass<trtorch::runtime::EngineHolder>();
  }
  return nullptr;
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
    const double err = check_output_or_fail(o, module, at);
    os << (first ? "" : ", ") << err << (ranged ? std::string(" at ") + at_name(at) : std::string());
    worst = (err <= worst) ? worst : err;  // NaN propagates
    first = false;
  }
  os << " (threshold " << *o.threshold << ")";
  if (!(worst <= *o.threshold)) fail(kCheckFailed, "check failed: " + os.str());
  progress.end(os.str());
}

}  // namespace trtorchc
