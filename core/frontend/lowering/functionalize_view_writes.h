// Lowering pass: in-place writes into slices, and the direct in-place writes that torch's
// RemoveTensorMutation leaves (index_put_ with computed indices), become pure ops
// (functionalization).
//
// `base[..., a:b, ...].op_(args)` / `base[i].copy_(src)` — an in-place op on a chain of
// aten::slice / aten::select views of a tensor the graph computed — becomes
//   new_view = op(view, args)          (copy_: src broadcast and cast to the view; fill_ / zero_:
//                                       a full tensor)
//   new_base = slice_scatter / select_scatter of new_view back through the chain,
// and every later use of the base reads new_base (a write into the tensor itself: new_view is the
// new base). Each write first gets its own copy of its view
// chain (TorchScript shares identical views between writes). It is not done, and the write stays
// in place (partial compilation then keeps it in TorchScript), when the base is (a view of) a graph
// input, module state, a constant or a list element (the write would be seen by the caller or by
// the next call), or comes from an enclosing block (a write inside a loop or branch),
// when another view of the base made before the write is read after it, when the write's result is
// read again, or when the op has no functional form.
#pragma once

#include <torch/csrc/jit/ir/ir.h>

namespace trtorch::frontend {

// Returns the number of writes rewritten.
int functionalize_view_writes(torch::jit::Block* block);

}  // namespace trtorch::frontend
