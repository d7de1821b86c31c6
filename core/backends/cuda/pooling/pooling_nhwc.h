// Pooling on channels-last (NHWC) activations: the fast path pooling.cu takes before its generic
// one-thread-per-element kernel (pooling_nhwc.cu).
#pragma once

#include <memory>

#include "core/backends/cuda/common/kernel.h"

namespace trtorch::backends::cuda {

// Pool2d, and AdaptivePool2d to 1x1, on NHWC input and output; nullptr when the node is not its
// case (then the generic kernel is used).
std::unique_ptr<Kernel> make_nhwc_pool(const KernelArgs& a);

}  // namespace trtorch::backends::cuda
