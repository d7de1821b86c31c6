// The bundled example: compile a TorchScript ResNet-18, save it, load and run it in a fresh
// process that links only the trtorch runtime, and report agreement with TorchScript and timings.
//
//   trtorch_example MODEL.ts WORKDIR [--fp16]
#include <torch/cuda.h>
#include <torch/script.h>
#include <torch/serialize.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>

#include "core/runtime/runtime.h"
#include "trtorch/trtorch.h"

namespace {

// Median wall time of f (synchronizing the GPU when there is one, so GPU work is counted).
double median_ms(const std::function<void()>& f, int iters) {
  std::vector<double> ms;
  for (int i = 0; i < iters; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    if (torch::cuda::is_available()) torch::cuda::synchronize();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: trtorch_example MODEL.ts WORKDIR [--fp16]\n";
    return 2;
  }
  std::string model_path = argv[1], dir = argv[2];
  bool fp16 = argc > 3 && std::string(argv[3]) == "--fp16";
  try {
    trtorch::dump_build_info();
    torch::jit::Module model = torch::jit::load(model_path);
    model.eval();
    torch::manual_seed(0);
    at::Tensor input = torch::randn({1, 3, 224, 224});
    at::Tensor ref;
    {
      torch::NoGradGuard ng;
      ref = model.forward({input}).toTensor();
    }
    double ts_ms = median_ms([&] { torch::NoGradGuard ng; model.forward({input}); }, 10);

    trtorch::CompileSpec spec({{1, 3, 224, 224}});
    if (fp16) spec.op_precision = trtorch::CompileSpec::DataType::kHalf;
    auto t0 = std::chrono::steady_clock::now();
    torch::jit::Module compiled = trtorch::CompileGraph(model, spec);
    double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::string compiled_path = dir + "/resnet18_trtorch.ts";
    compiled.save(compiled_path);
    // The device the engine was built for: the GPU where trtorch has one, else the CPU
    // reference backend.
    at::Device dev = compiled.attr("trtorch_engine_0").toCustomClass<trtorch::runtime::EngineHolder>()->device();
    at::Tensor engine_input = fp16 ? input.to(torch::kHalf) : input;
    torch::save(std::vector<at::Tensor>{engine_input}, dir + "/input.pt");

    // A fresh process that links only the runtime library loads and runs the saved module.
    std::string exe = std::string(argv[0]);
    std::string runner = exe.substr(0, exe.find_last_of('/') + 1) + "trtorch_run";
    std::string cmd = runner + " " + compiled_path + " " + dir + "/input.pt " + dir + "/output.pt --iters 100 --device " +
                      (dev.is_cuda() ? "cuda" : "cpu") + " > " + dir + "/run.txt";
    if (std::system(cmd.c_str()) != 0) {
      std::cerr << "the fresh process failed: " << cmd << "\n";
      return 1;
    }
    std::vector<at::Tensor> outs;
    torch::load(outs, dir + "/output.pt");
    at::Tensor out = outs.at(0).to(torch::kFloat);
    double max_abs = (out - ref).abs().max().item<double>();
    double rel = max_abs / ref.abs().max().item<double>();
    bool same_top1 = out.argmax(1).item<int64_t>() == ref.argmax(1).item<int64_t>();
    std::ifstream run_txt(dir + "/run.txt");
    std::string key;
    double engine_ms = 0;
    run_txt >> key >> engine_ms;

    std::cout << "model: " << model_path << " (input 1x3x224x224, " << (fp16 ? "FP16" : "FP32") << ")\n"
              << "engine device:           " << (dev.is_cuda() ? "CUDA GPU" : "reference backend (CPU)") << "\n"
              << "build time:              " << build_s << " s\n"
              << "saved:                   " << compiled_path << "\n"
              << "fresh-process agreement: max abs diff " << max_abs << ", max rel err " << rel
              << ", top-1 " << (same_top1 ? "same" : "DIFFERENT") << "\n"
              << "TorchScript median:      " << ts_ms << " ms (CPU)\n"
              << "trtorch median:          " << engine_ms << " ms (fresh process, " << (dev.is_cuda() ? "GPU" : "CPU")
              << ")\n";
    double tol = fp16 ? 2e-2 : 1e-4;
    if (!(rel <= tol) || !same_top1) {
      std::cerr << "FAILED: relative error " << rel << " above " << tol << "\n";
      return 1;
    }
    std::cout << "OK\n";
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
