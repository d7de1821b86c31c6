// Kernels compiled at engine build time with NVRTC, for the generated pointwise kernels
// (pointwise.cu). A source is compiled once per process and device for the device's own
// architecture (a cubin, no PTX JIT) and loaded as a module through the driver API; the modules
// stay loaded for the life of the process, so a rebuild or reload of an engine, and every node
// that generates the same source, reuse the compiled kernel. An engine saves the cubins of its
// kernels (Kernel::saved_plan), and a load passes them back: loading one needs no compiler. The
// driver API is reached through the runtime's entry-point query: the library does not link
// libcuda (a machine without a GPU driver loads it and runs the reference backend).
#pragma once

#include <cuda.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <vector>

namespace trtorch::backends::cuda {

class Context;

// `source` compiled by NVRTC into a cubin for sm_<sm> (e.g. 90); needs no GPU. A compile error
// throws trtorch::Error with NVRTC's log and the numbered source.
std::vector<char> rtc_compile(const std::string& source, int sm);

// The kernel `name` (declared extern "C") of `source`, compiled for ctx's device. `cubin`: the
// source's cubin as an earlier build compiled it (rtc_cubin), loaded instead of compiling; one the
// driver does not load is logged and the source compiled. A compile error throws trtorch::Error
// with NVRTC's log and the numbered source.
CUfunction rtc_function(const Context& ctx, const std::string& source, const std::string& name,
                        const std::vector<uint8_t>* cubin = nullptr);

// The cubin of `source` loaded for ctx's device (by rtc_function); empty when there is none.
std::vector<uint8_t> rtc_cubin(const Context& ctx, const std::string& source);

// Launches `fn` (one of rtc_function's) on `stream` with the kernel's parameters `params`
// (pointers to each argument).
void rtc_launch(CUfunction fn, unsigned grid, unsigned block, cudaStream_t stream, void** params);

// How many sources this process has compiled (for tests of the cache).
size_t rtc_compile_count();

}  // namespace trtorch::backends::cuda
