// The pass manager: runs a list of passes to a fixed point, verifying and dumping on request.
#include <cstdio>

#include "core/passes/passes.h"
#include "core/util/error.h"

namespace trtorch::passes {

PassManager& PassManager::add(std::string name, PassFn fn) {
  TRTORCH_CHECK(fn, "pass '", name, "' has no function");
  passes_.push_back(Pass{std::move(name), std::move(fn)});
  return *this;
}

PassManager& PassManager::add_final(std::string name, PassFn fn) {
  TRTORCH_CHECK(fn, "pass '", name, "' has no function");
  final_.push_back(Pass{std::move(name), std::move(fn)});
  return *this;
}

bool PassManager::run_one(const Pass& p, ir::Graph& g, int round) const {
  const std::string before = opts_.dump ? g.str() : std::string();
  bool c;
  try {
    c = p.fn(g);
  } catch (const Error& e) {
    TRTORCH_ERROR("pass '", p.name, "' failed: ", e.what());
  }
  if (opts_.dump && c) {
    std::fprintf(stderr, "=== before pass '%s' (round %d) ===\n%s=== after pass '%s' ===\n%s", p.name.c_str(), round,
                 before.c_str(), p.name.c_str(), g.str().c_str());
  }
  if (opts_.verify_each) {
    try {
      ir::verify(g);
    } catch (const Error& e) {
      TRTORCH_ERROR("pass '", p.name, "' left an invalid graph: ", e.what());
    }
  }
  return c;
}

bool PassManager::run(ir::Graph& g, int max_rounds, bool with_final) const {
  if (opts_.verify_each) {
    try {
      ir::verify(g);
    } catch (const Error& e) {
      TRTORCH_ERROR("pass manager: the graph is invalid before any pass ran: ", e.what());
    }
  }
  bool any = false;
  int round = 0;
  for (; round < max_rounds; ++round) {
    bool changed = false;
    for (const Pass& p : passes_) changed |= run_one(p, g, round);
    any |= changed;
    if (!changed) break;
  }
  if (with_final)
    for (const Pass& p : final_) any |= run_one(p, g, round);
  return any;
}

PassManager default_pipeline(PassManager::Options o) {
  PassManager pm(o);
  pm.add("remove_identity", remove_identity)
      .add("constant_folding", constant_folding)
      .add("fold_batch_norm", fold_batch_norm)
      .add("recognize_gelu", recognize_gelu)
      .add("fuse_epilogues", fuse_epilogues)
      .add("carry_residual_stream", carry_residual_stream)
      .add("common_subexpression_elimination", common_subexpression_elimination)
      .add("fold_attention_layout", fold_attention_layout)
      .add("pack_attention_qkv", pack_attention_qkv)
      .add("fold_causal_mask", fold_causal_mask)
      .add("dead_code_elimination", dead_code_elimination)
      // Last, once: the INT8 layers, then the chains of elementwise ops that no pattern above took.
      .add_final("fuse_quantized_layers", fuse_quantized_layers)
      .add_final("fuse_pointwise", fuse_pointwise)
      .add_final("dead_code_elimination", dead_code_elimination);
  return pm;
}

}  // namespace trtorch::passes
