// compile_module IN.ts OUT.ts N C H W: compiles IN.ts for one input of shape N x C x H x W (trtorch
// chooses the device: the GPU where there is one) and saves the compiled module to OUT.ts.
#include <torch/script.h>

#include <iostream>
#include <string>

#include "trtorch/trtorch.h"

int main(int argc, char** argv) {
  if (argc != 7) {
    std::cerr << "usage: compile_module IN.ts OUT.ts N C H W\n";
    return 2;
  }
  std::vector<int64_t> shape;
  for (int i = 3; i < 7; ++i) shape.push_back(std::stoll(argv[i]));
  try {
    torch::jit::Module module = torch::jit::load(argv[1]);
    module.eval();
    trtorch::CompileSpec spec(std::vector<std::vector<int64_t>>{shape});
    torch::jit::Module compiled = trtorch::CompileGraph(module, spec);
    compiled.save(argv[2]);
  } catch (const std::exception& e) {
    std::cerr << "compile_module: " << e.what() << "\n";
    return 1;
  }
  std::cout << "compiled " << argv[1] << " -> " << argv[2] << "\n";
  return 0;
}
