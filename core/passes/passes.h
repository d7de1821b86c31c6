// IR -> IR rewrites. Each pass is a function of the graph, in its own file, that returns whether
// it changed anything. The PassManager runs a list of them and, when asked (debug builds and
// tests), verifies the graph after each pass and can dump it before and after.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/ir/ir.h"

namespace trtorch::passes {

using PassFn = std::function<bool(ir::Graph&)>;

struct Pass {
  std::string name;
  PassFn fn;
};

// Evaluates nodes whose inputs are all constants (with the node evaluator a backend registered in
// core/ir/evaluator.h: the reference backend's) and replaces them by Constant nodes. Logs a
// warning and folds nothing when no evaluator is registered.
bool constant_folding(ir::Graph& g);
// Folds one node whose inputs are all constants (what constant_folding does to each): its outputs
// become Constant nodes and it is removed. False, leaving it, when no evaluator is registered or
// the evaluator rejects it.
bool fold_constant_node(ir::Graph& g, ir::Node* n);
// Merges nodes with equal op, attributes and inputs, and constants with equal bytes.
bool common_subexpression_elimination(ir::Graph& g);
// Removes nodes none of whose outputs reach a graph output.
bool dead_code_elimination(ir::Graph& g);
// Folds an inference BatchNorm that follows a Conv2d or Linear (whose weights are constants and
// whose output has no other user) into the weights and bias.
bool fold_batch_norm(ir::Graph& g);
// Replaces GELU written out in elementwise ops (the tanh approximation, or the erf form) by one
// Unary, which fuse_epilogues can then fold into the GEMM before it.
bool recognize_gelu(ir::Graph& g);
// Folds a residual add and an activation into the Conv2d before them, a bias add (addmm) and an
// activation into the Linear before them, and an add into the LayerNorm after it (the epilogue fields of
// Conv2dAttrs / LinearAttrs, LayerNormAttrs::has_residual).
bool fuse_epilogues(ir::Graph& g);
// FP16/BF16: a residual add feeding a LayerNorm and other nodes becomes that LayerNorm with
// has_residual and emit_sum, and the next LayerNorms read the FP32 sum (the residual stream of
// GPT-2 and ViT carried in FP32 instead of rounded once per sublayer).
bool carry_residual_stream(ir::Graph& g);
// Lets Attention read q/k/v as [B, seq, H, d] (AttentionAttrs::bshd) where they are the
// heads-first transposes of such tensors, and drops the transpose of its output back.
bool fold_attention_layout(ir::Graph& g);
// Lets an attention read q, k and v in place from one [B, seq, 3, H, d] tensor
// (AttentionAttrs::packed): the output of one projection split in thirds, or of the three
// projections of one input with constant weights, merged into one Linear.
bool pack_attention_qkv(ir::Graph& g);
// Replaces an attention's constant causal bias (0 on and below the diagonal, <= -1e4 above) by
// AttentionAttrs::causal.
bool fold_causal_mask(ir::Graph& g);
// INT8: Dequantize -> Conv2d / Linear (-> Quantize) with int8 constant weights becomes one QConv2d /
// QLinear (int8 input, int32 accumulation, scales, bias, residual and clamp activation in the
// epilogue, int8 output where a Quantize was the only reader); then the Dequantize nodes of the
// constants no layer took are folded. Runs once, before fuse_pointwise (fuse_quantized_layers.cpp
// states what it fuses).
bool fuse_quantized_layers(ir::Graph& g);
// Whether Conv2d / Linear `n` has what fuse_quantized_layers needs of an INT8 layer's shape
// (groups 1, input channels a multiple of 16, output channels of 8), whatever its inputs are.
bool int8_layer_fits(const ir::Node& n);
// Whether constant_folding leaves Dequantize `n` alone: it dequantizes an int8 Constant into the
// weight of a Conv2d or Linear, which fuse_quantized_layers reads as int8.
bool keeps_weight_dequantize(const ir::Node& n);
// Replaces each chain of floating Unary and Binary nodes (each intermediate value used once, by
// the chain) by one Pointwise node: the chain's ops as a program over its external inputs, scalar
// constants as immediates. Runs once, after the other passes have taken their patterns.
bool fuse_pointwise(ir::Graph& g);
// Removes Identity nodes, Casts to the same dtype, Reshapes to the same shape and identity
// Transposes.
bool remove_identity(ir::Graph& g);

class PassManager {
 public:
  struct Options {
    bool verify_each = false;  // run ir::verify after every pass
    bool dump = false;         // print the graph before and after every pass that changed it
  };
  PassManager() = default;
  explicit PassManager(Options o) : opts_(o) {}
  PassManager& add(std::string name, PassFn fn);
  // A pass run once, in the order added, after the others reached their fixed point.
  PassManager& add_final(std::string name, PassFn fn);
  // Runs the list until no pass changes the graph (at most max_rounds), then (with_final) the
  // final passes; returns whether anything changed.
  bool run(ir::Graph& g, int max_rounds = 4, bool with_final = true) const;
  const std::vector<Pass>& passes() const { return passes_; }
  const std::vector<Pass>& final_passes() const { return final_; }

 private:
  bool run_one(const Pass& p, ir::Graph& g, int round) const;

  Options opts_;
  std::vector<Pass> passes_;
  std::vector<Pass> final_;
};

// The default pipeline of the engine builder.
PassManager default_pipeline(PassManager::Options o = {});

}  // namespace trtorch::passes
