// run_module COMPILED.ts ORIGINAL.ts cpu|cuda N C H W: runs the compiled module (its input on the
// given device, where its engines run) and the original TorchScript module on the same random
// input and checks that they agree. Links trtorch::runtime only.
#include <torch/script.h>

#include <iostream>
#include <string>

int main(int argc, char** argv) {
  if (argc != 8) {
    std::cerr << "usage: run_module COMPILED.ts ORIGINAL.ts cpu|cuda N C H W\n";
    return 2;
  }
  const std::string device = argv[3];
  std::vector<int64_t> shape;
  for (int i = 4; i < 8; ++i) shape.push_back(std::stoll(argv[i]));
  try {
    torch::jit::Module compiled = torch::jit::load(argv[1]);
    torch::jit::Module original = torch::jit::load(argv[2]);
    original.eval();
    torch::NoGradGuard no_grad;
    torch::manual_seed(0);
    const at::Tensor x = torch::randn(shape);
    const at::Tensor got = compiled.forward({x.to(at::Device(device))}).toTensor();
    const at::Tensor want = original.forward({x}).toTensor();
    const double err = (got.cpu().to(at::kFloat) - want).abs().max().item<double>() /
                       std::max(1e-12, want.abs().max().item<double>());
    std::cout << "max relative difference " << err << "\n";
    return err < 1e-3 ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "run_module: " << e.what() << "\n";
    return 1;
  }
}
