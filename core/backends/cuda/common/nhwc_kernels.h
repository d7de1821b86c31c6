// Fast paths for channels-last activations (nhwc_kernels.cu). Each factory returns nullptr when
// the node is not its case, and the generic kernel is used.
#pragma once

#include <memory>

#include "core/backends/cuda/common/kernel.h"

namespace trtorch::backends::cuda {

// NCHW <-> NHWC of a 4-D tensor as a batched tiled transpose.
std::unique_ptr<Kernel> make_nhwc_layout_change(const TensorDesc& from, Layout to);
// Pool2d, and AdaptivePool2d to 1x1, on NHWC input and output.
std::unique_ptr<Kernel> make_nhwc_pool(const KernelArgs& a);
// Depthwise Conv2d (groups == C == K) on NHWC with constant weights, epilogue fused.
std::unique_ptr<Kernel> make_depthwise_nhwc(const KernelArgs& a);

}  // namespace trtorch::backends::cuda
