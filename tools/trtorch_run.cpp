// trtorch_run: loads a saved (compiled) TorchScript module and runs it, in a process that links
// only the trtorch runtime library, not the compiler.
//
//   trtorch_run MODULE.ts INPUTS.pt OUTPUTS.pt [--device cpu|cuda] [--iters N]
//
// INPUTS.pt / OUTPUTS.pt hold a list of tensors written by torch::save (C++). The forward's
// return value is flattened (tuples/lists in order, dicts' values in their order; None and other
// non-tensor values skipped). With --iters it also
// prints the median latency in ms. Exit codes: 0 ok, 1 error, 2 usage.
#include <torch/cuda.h>
#include <torch/script.h>
#include <torch/serialize.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

namespace {

void flatten(const c10::IValue& v, std::vector<at::Tensor>& out) {
  if (v.isTensor()) {
    out.push_back(v.toTensor());
  } else if (v.isTuple()) {
    for (const auto& e : v.toTupleRef().elements()) flatten(e, out);
  } else if (v.isList()) {
    for (const auto& e : v.toListRef()) flatten(e, out);
  } else if (v.isGenericDict()) {
    for (const auto& e : v.toGenericDict()) flatten(e.value(), out);
  }
}

constexpr const char* kUsage = "usage: trtorch_run MODULE.ts INPUTS.pt OUTPUTS.pt [--device cpu|cuda[:N]] [--iters N]\n";

int usage_error(const std::string& why) {
  std::cerr << "trtorch_run: " << why << "\n" << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << kUsage;
    return 2;
  }
  std::string device = "cpu";
  int iters = 0;
  for (int i = 4; i < argc; i += 2) {
    const std::string a = argv[i];
    if (a != "--device" && a != "--iters") return usage_error("unknown argument '" + a + "'");
    if (i + 1 >= argc) return usage_error(a + " needs a value");
    const std::string v = argv[i + 1];
    if (a == "--device") {
      try {
        device = torch::Device(v).str();
      } catch (const std::exception&) {
        return usage_error("--device: expected cpu, cuda or cuda:N, got '" + v + "'");
      }
    } else {
      char* end = nullptr;
      errno = 0;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || errno != 0 || n < 0 || n > 10000000)
        return usage_error("--iters: expected a whole number from 0 to 10000000, got '" + v + "'");
      iters = int(n);
    }
  }
  try {
    torch::jit::Module m = torch::jit::load(argv[1]);
    std::vector<at::Tensor> inputs;
    torch::load(inputs, argv[2]);
    std::vector<c10::IValue> args;
    for (auto& t : inputs) args.emplace_back(t.to(torch::Device(device)));
    c10::IValue result = m.forward(args);
    std::vector<at::Tensor> outs;
    flatten(result, outs);
    for (auto& t : outs) t = t.to(torch::kCPU);
    torch::save(outs, argv[3]);
    if (iters > 0) {
      std::vector<double> ms;
      for (int i = 0; i < iters; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        m.forward(args);
        if (device != "cpu") torch::cuda::synchronize();
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      }
      std::sort(ms.begin(), ms.end());
      std::cout << "median_ms " << ms[ms.size() / 2] << "\n";
    }
  } catch (const c10::Error& e) {
    std::cerr << "trtorch_run: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "trtorch_run: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
