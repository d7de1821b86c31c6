// One checking macro per library for every CUDA, cuDNN, cuBLASLt and NVRTC call. A failure
// throws trtorch::Error naming the call, its file and line, and the library's message (for
// NVRTC, the compile log is attached by the NVRTC helper).
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <nvrtc.h>

#include "core/util/error.h"

namespace trtorch::backends::cuda::detail {
[[noreturn]] void fail_call(const char* lib, const char* call, const char* file, int line, int code, const char* msg);
}  // namespace trtorch::backends::cuda::detail

#define TRTORCH_CUDA_CHECK(call)                                                                              \
  do {                                                                                                        \
    cudaError_t e_ = (call);                                                                                  \
    if (e_ != cudaSuccess)                                                                                    \
      ::trtorch::backends::cuda::detail::fail_call("CUDA", #call, __FILE__, __LINE__, int(e_), cudaGetErrorString(e_)); \
  } while (0)

#define TRTORCH_CUDNN_CHECK(call)                                                                                \
  do {                                                                                                           \
    cudnnStatus_t s_ = (call);                                                                                   \
    if (s_ != CUDNN_STATUS_SUCCESS)                                                                              \
      ::trtorch::backends::cuda::detail::fail_call("cuDNN", #call, __FILE__, __LINE__, int(s_), cudnnGetErrorString(s_)); \
  } while (0)

#define TRTORCH_CUBLAS_CHECK(call)                                                                              \
  do {                                                                                                          \
    cublasStatus_t s_ = (call);                                                                                 \
    if (s_ != CUBLAS_STATUS_SUCCESS)                                                                            \
      ::trtorch::backends::cuda::detail::fail_call("cuBLASLt", #call, __FILE__, __LINE__, int(s_), cublasLtGetStatusString(s_)); \
  } while (0)

#define TRTORCH_NVRTC_CHECK(call)                                                                                \
  do {                                                                                                           \
    nvrtcResult r_ = (call);                                                                                     \
    if (r_ != NVRTC_SUCCESS)                                                                                     \
      ::trtorch::backends::cuda::detail::fail_call("NVRTC", #call, __FILE__, __LINE__, int(r_), nvrtcGetErrorString(r_)); \
  } while (0)

// After a kernel launch: the launch configuration error, if any.
#define TRTORCH_CUDA_CHECK_LAUNCH() TRTORCH_CUDA_CHECK(cudaGetLastError())
