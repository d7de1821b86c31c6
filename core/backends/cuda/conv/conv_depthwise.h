// Depthwise convolution on NHWC or NCHW activations (conv_depthwise.cu): the fast path conv.cpp
// takes for groups == C == K with constant weights.
#pragma once

#include <memory>

#include "core/backends/cuda/common/kernel.h"

namespace trtorch::backends::cuda {

// Depthwise Conv2d (groups == C == K) on NHWC or NCHW with constant weights, epilogue fused;
// nullptr when the node is not its case (then the generic convolution is used).
std::unique_ptr<Kernel> make_depthwise(const KernelArgs& a);

}  // namespace trtorch::backends::cuda
