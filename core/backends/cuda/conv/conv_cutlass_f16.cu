// The FP16 instantiations of the CUTLASS convolutions (conv_cutlass_impl.cuh).
#define TRTORCH_CUTLASS_CONV_INSTANTIATE
#include "core/backends/cuda/conv/conv_cutlass_impl.cuh"

namespace trtorch::backends::cuda::cutlass_conv::detail {

const OpsTable& f16_ops() {
  static const OpsTable table = make_table<cutlass::half_t>();
  return table;
}

}  // namespace trtorch::backends::cuda::cutlass_conv::detail
