// The generated kernels of Pointwise nodes (pointwise.cu), exposed for tests that compile them
// without a GPU.
#pragma once

#include <cstdint>
#include <string>

#include "core/backends/cuda/common/coalesce.h"
#include "core/ir/attrs.h"

namespace trtorch::backends::cuda {

// The CUDA source of a Pointwise node whose output (n elements) is walked over the coalesced dims
// `c` (one stride list per input), `vec` outputs per thread: kernel "trtorch_pointwise_vec", and
// with vec > 1 also "trtorch_pointwise_1" (one output per thread, for unaligned pointers). Each
// takes the input pointers, then the output pointer.
std::string pointwise_source(const ir::PointwiseAttrs& attrs, ir::DType dtype, int n_inputs, const CoalescedDims& c,
                             int64_t n, int vec);

}  // namespace trtorch::backends::cuda
