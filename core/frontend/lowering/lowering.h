// Lowering: TorchScript module -> a frozen, inlined, functional TorchScript graph that the
// converters can take.
//
//  1. clone, eval() and freeze (parameters and attributes become constants; calls are inlined);
//  2. TorchScript passes: inline, in-place -> functional, dropout removal, constant propagation
//     (which resolves prim::If on constants such as `self.training` or `torch.jit.is_scripting()`),
//     tuple lowering, peephole, common subexpression and dead code elimination;
//  3. a check that no in-place op remains whose mutated input is read again.
// Shape arithmetic driven by aten::size is folded later, during conversion, where input
// shapes are known (see conversion/evaluators).
#pragma once

#include <torch/csrc/jit/api/module.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace trtorch::frontend {

// `mutations`: when given, in-place ops whose input is read again are listed there (partial
// compilation keeps them in TorchScript) instead of failing the lowering. `frozen`: when given,
// receives the frozen module, the object the graph's input 0 is (a module whose attributes are
// set at run time keeps them, and the graph reads them). `given_inputs`: how many inputs the
// compile spec gives; trailing method arguments beyond them that have default values
// (`attn_mask: Optional[Tensor] = None`, `is_causal: bool = False`) take those values for good
// and leave the method's signature (the compiled module's forward takes the given inputs).
std::shared_ptr<torch::jit::Graph> lower_module(const torch::jit::Module& module, const std::string& method,
                                                std::vector<torch::jit::Node*>* mutations = nullptr,
                                                torch::jit::Module* frozen = nullptr,
                                                std::optional<size_t> given_inputs = std::nullopt);

}  // namespace trtorch::frontend
