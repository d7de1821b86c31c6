// Lowering pass: module attributes written and then read within one call become values.
//
// A model that keeps intermediate results on a submodule (`self.corr_block.corr_pyramid = ...`
// in one method, read back by another; torchvision's RAFT) shows, once inlined and frozen, a
// prim::SetAttr followed by prim::GetAttr reads of the same attribute of the same object (the
// object named by its chain of prim::GetAttr from the module). Each read that a write dominates
// (an earlier write in the same block, or in an enclosing block before the read's ancestor) takes
// the written value instead. When no read of the attribute is left, its writes go too: the value
// is only ever read back by the same call, so nothing outside the call can observe it. Writes in a
// loop or a branch end what the enclosing block knows of that attribute (and, in a loop, what its
// body knows: an iteration reads the previous one's write); reads before any write (state carried
// from one call to the next) are left as they are, and so are their writes.
#pragma once

#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/ir.h>

namespace trtorch::frontend {

// Returns the number of reads replaced.
int remove_attr_mutation(torch::jit::Graph& graph);

// Lowering pass, after freezing and constant propagation: tensor attributes that the method reads
// and nothing in it writes (no prim::SetAttr, no in-place op on the tensor or a view of it) become
// constants of their current value, as freezing makes the others.
// Freezing keeps an attribute that any code path writes: a buffer updated only in training mode
// (`if self.training: self.scale = ...`) stays a prim::GetAttr even after the module is in eval
// mode and the branch is gone. Returns the number of reads replaced.
int inline_read_only_attributes(torch::jit::Graph& graph, const torch::jit::Module& module);

}  // namespace trtorch::frontend
