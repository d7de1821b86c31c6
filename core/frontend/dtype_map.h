// The frontend's map between torch scalar types and engine IR dtypes (conversion, evaluators and
// converters use it). The runtime keeps its own map for its inputs and outputs: the frontend sits
// above the runtime and does not reach into it for this.
#pragma once

#include <c10/core/ScalarType.h>

#include "core/ir/ir.h"

namespace trtorch::frontend {

at::ScalarType to_torch_dtype(ir::DType t);
// Throws trtorch::Error for torch dtypes engines do not have (double, int8, complex, ...).
ir::DType from_torch_dtype(at::ScalarType t);

}  // namespace trtorch::frontend
