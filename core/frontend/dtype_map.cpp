// The frontend's torch <-> engine IR dtype map (see dtype_map.h).
#include "core/frontend/dtype_map.h"

#include "core/util/error.h"

namespace trtorch::frontend {

at::ScalarType to_torch_dtype(ir::DType t) {
  switch (t) {
    case ir::DType::kFloat32: return at::kFloat;
    case ir::DType::kFloat16: return at::kHalf;
    case ir::DType::kBFloat16: return at::kBFloat16;
    case ir::DType::kInt32: return at::kInt;
    case ir::DType::kInt64: return at::kLong;
    case ir::DType::kBool: return at::kBool;
    case ir::DType::kInt8: return at::kChar;
  }
  TRTORCH_ERROR("unknown engine dtype ", int(t));
}

ir::DType from_torch_dtype(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return ir::DType::kFloat32;
    case at::kHalf: return ir::DType::kFloat16;
    case at::kBFloat16: return ir::DType::kBFloat16;
    case at::kInt: return ir::DType::kInt32;
    case at::kLong: return ir::DType::kInt64;
    case at::kBool: return ir::DType::kBool;
    default: break;
  }
  TRTORCH_ERROR("dtype ", c10::toString(t), " is not supported by trtorch engines");
}

}  // namespace trtorch::frontend
