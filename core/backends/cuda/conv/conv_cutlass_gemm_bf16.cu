// The BF16 instantiations of the CUTLASS 1x1 convolutions run as GEMMs (conv_cutlass_gemm_impl.cuh).
#define TRTORCH_CUTLASS_CONV_GEMM_INSTANTIATE
#include "core/backends/cuda/conv/conv_cutlass_gemm_impl.cuh"

namespace trtorch::backends::cuda::cutlass_conv::detail {

const GemmOpsTable& bf16_gemm_ops() {
  static const GemmOpsTable table = make_gemm_table<cutlass::bfloat16_t>();
  return table;
}

}  // namespace trtorch::backends::cuda::cutlass_conv::detail
