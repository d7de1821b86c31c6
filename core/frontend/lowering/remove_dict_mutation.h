// Lowering pass: dictionaries filled in place become values.
//
// A dict made empty (aten::dict()) or by prim::DictConstruct, whose every use sits in the same
// block and is a write with a constant key (aten::_set_item), a read with a constant key
// (aten::__getitem__) or, after its last write, any other use (a return, a tuple), is removed:
// each read becomes the value last written under its key, and the other uses take a
// prim::DictConstruct of the final entries in insertion order. torchvision's
// IntermediateLayerGetter and segmentation heads build their outputs this way; without the pass
// the writes are in-place mutations that split the graph. Dicts used otherwise (keys(), len(),
// a key computed at run time, a write after the dict escaped) are left as they are.
#pragma once

#include <torch/csrc/jit/ir/ir.h>

namespace trtorch::frontend {

// Returns the number of dicts removed.
int remove_dict_mutation(torch::jit::Block* block);

}  // namespace trtorch::frontend
