// Which TorchScript values share memory, by the ops' alias annotations: used by lowering's check
// for in-place writes that are observed later, and by partial compilation to keep everything
// around such writes in TorchScript.
#pragma once

#include <torch/csrc/jit/ir/ir.h>

#include <vector>

namespace trtorch::frontend {

// True when n's output may be a view of its first input, or a list of views of it: its schema
// gives both the same alias set (aten::slice, select, view, expand, permute, to, contiguous, ...;
// chunk, split, unbind).
bool returns_view_of_input(const torch::jit::Node* n);

// aten::__getitem__, prim::ListUnpack, TupleUnpack, TupleIndex, aten::pop: reads of a container.
bool is_container_read(const torch::jit::Node* n);

// The values that share memory with `m`: up through view ops to the tensor they view (and through
// list/tuple reads to every element of the container), then down to every view of those and to
// the containers they are put in (whose other elements do not count); m included.
std::vector<const torch::jit::Value*> view_aliases(const torch::jit::Value* m);

}  // namespace trtorch::frontend
