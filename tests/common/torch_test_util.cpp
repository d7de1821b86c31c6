// Helpers shared by the torch-linked C++ tests (see torch_test_util.h).
#include "tests/common/torch_test_util.h"

#include "core/plan/backend.h"
#include "core/util/debug.h"

#include <torch/cuda.h>

#include <filesystem>
#include <limits>
#include <unistd.h>

namespace trtorch::testing {

std::vector<at::Tensor> flatten(const c10::IValue& v) {
  std::vector<at::Tensor> out;
  std::function<void(const c10::IValue&)> rec = [&](const c10::IValue& x) {
    if (x.isTensor()) out.push_back(x.toTensor());
    else if (x.isTuple())
      for (const auto& e : x.toTupleRef().elements()) rec(e);
    else if (x.isList())
      for (const auto& e : x.toListRef()) rec(e);
  };
  rec(v);
  return out;
}

double max_rel_error(const std::vector<at::Tensor>& got, const std::vector<at::Tensor>& want) {
  if (got.size() != want.size()) return std::numeric_limits<double>::infinity();
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i].sizes() != want[i].sizes()) return std::numeric_limits<double>::infinity();
    at::Tensor g = got[i].to(at::kCPU).to(at::kDouble), w = want[i].to(at::kCPU).to(at::kDouble);
    if (w.numel() == 0) continue;
    if (g.isnan().any().item<bool>() != w.isnan().any().item<bool>()) return std::numeric_limits<double>::infinity();
    double scale = std::max(w.abs().max().item<double>(), 1e-6);
    worst = std::max(worst, (g - w).abs().max().item<double>() / scale);
  }
  return worst;
}

c10::IValue run(torch::jit::Module& m, const std::vector<at::Tensor>& inputs) {
  torch::NoGradGuard ng;
  std::vector<c10::IValue> args(inputs.begin(), inputs.end());
  return m.forward(args);
}

trtorch::CompileSpec reference_spec(const std::vector<at::Tensor>& inputs, bool fp16) {
  std::vector<std::vector<int64_t>> shapes;
  for (const auto& t : inputs) shapes.push_back(t.sizes().vec());
  trtorch::CompileSpec spec(shapes);
  spec.device.type = trtorch::CompileSpec::Device::Type::kReference;
  if (fp16) spec.op_precision = trtorch::CompileSpec::DataType::kHalf;
  return spec;
}

trtorch::CompileSpec gpu_spec(const std::vector<at::Tensor>& inputs, bool fp16) {
  trtorch::CompileSpec spec = reference_spec(inputs, fp16);
  spec.device.type = trtorch::CompileSpec::Device::Type::kGPU;
  return spec;
}

bool have_gpu_backend() {
  return torch::cuda::is_available() && trtorch::plan::has_backend(trtorch::plan::DeviceType::kCUDA);
}

std::vector<at::Tensor> to_cuda(const std::vector<at::Tensor>& inputs) {
  std::vector<at::Tensor> r;
  for (const auto& t : inputs) r.push_back(t.cuda());
  return r;
}

std::vector<at::Tensor> to_half(const std::vector<at::Tensor>& inputs) {
  std::vector<at::Tensor> r;
  for (const auto& t : inputs) r.push_back(t.is_floating_point() ? t.to(at::kHalf) : t);
  return r;
}

std::string tmp_dir() {
  std::string d = util::debug_switch_value(util::DebugSwitch::kTestTmpdir);
  if (d.empty()) d = "/tmp/trtorch_test_" + std::to_string(getuid());
  std::filesystem::create_directories(d);
  return d;
}

std::string bin_dir() {
  return std::filesystem::canonical("/proc/self/exe").parent_path().string();
}

}  // namespace trtorch::testing
