// Per-device state of the CUDA backend: the device, its properties and library handles.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace trtorch::backends::cuda {

// Makes `device` the calling thread's current CUDA device for the guard's lifetime, then restores
// the one that was current (torch's current device is the thread's). Allocations, library handles
// and kernel launches go to the current device, so everything that prepares or runs an engine on
// a GPU other than the caller's current one runs under a guard.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int prev_ = -1;
};

class Context {
 public:
  // Creates the handles on device `gpu_id` (the caller's current device is left as it was).
  // Throws trtorch::Error when there is no such device.
  explicit Context(int gpu_id);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  int device() const { return device_; }
  const cudaDeviceProp& props() const { return props_; }
  cudnnHandle_t cudnn() const { return cudnn_; }
  cublasLtHandle_t cublaslt() const { return cublaslt_; }
  // A stream owned by the context, used for timing tactics and for CUDA graph capture.
  cudaStream_t stream() const { return stream_; }

  // Extra cuDNN handles for host threads that build plans beside the caller (a cuDNN handle is
  // used by one thread at a time; a plan runs on the handle it was built with). A leased handle
  // is the holder's until the lease is destroyed; handles are made on demand and kept for reuse.
  class HandleLease {
   public:
    HandleLease(Context& ctx, cudnnHandle_t h) : ctx_(ctx), h_(h) {}
    ~HandleLease() { ctx_.release_cudnn(h_); }
    HandleLease(const HandleLease&) = delete;
    HandleLease& operator=(const HandleLease&) = delete;
    cudnnHandle_t get() const { return h_; }

   private:
    Context& ctx_;
    cudnnHandle_t h_;
  };
  std::shared_ptr<HandleLease> lease_cudnn();

 private:
  void release_cudnn(cudnnHandle_t h);

  int device_ = 0;
  cudaDeviceProp props_{};
  cudnnHandle_t cudnn_ = nullptr;
  cublasLtHandle_t cublaslt_ = nullptr;
  cudaStream_t stream_ = nullptr;
  std::mutex spare_mutex_;
  std::vector<cudnnHandle_t> spare_cudnn_;  // free leasable handles
  std::vector<cudnnHandle_t> all_cudnn_;    // every leasable handle made (destroyed with the context)
};

// Number of CUDA devices (0 when there is no driver or GPU; never throws).
int device_count();

// Times `fn` on the context's stream: `warmup` untimed runs, then the median of `iters` runs
// measured with CUDA events, in milliseconds.
template <typename F>
float time_ms(Context& ctx, int warmup, int iters, F&& fn);

// RAII device memory.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) { o.ptr_ = nullptr; o.bytes_ = 0; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  void* get() const { return ptr_; }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// What kernels make on the device from an engine's constants (weights packed to a kernel's layout,
// a bias in FP32), shared by the executors of one engine on one device: the executor a dynamic
// engine makes at a new input shape takes the copies the executors of its other shapes made,
// instead of packing and uploading every weight again. An entry is keyed by the constant's host
// bytes and a description of what was made of them ("how": layout, padding, dtype), and held
// weakly: a copy lives while a kernel holds it. Thread-safe.
class PackedWeights {
 public:
  using Bytes = std::shared_ptr<std::vector<uint8_t>>;
  // The copy made of `host` as `how`: an earlier one still alive, or a new one from make().
  std::shared_ptr<const DeviceBuffer> get(const Bytes& host, const std::string& how,
                                          const std::function<DeviceBuffer()>& make);
  // Copies made so far (the others were shared).
  size_t made() const;

 private:
  struct Entry {
    Bytes host;  // keeps the key's address the same bytes
    std::weak_ptr<const DeviceBuffer> copy;
  };
  mutable std::mutex mu_;
  std::map<std::pair<const void*, std::string>, Entry> items_;
  size_t made_ = 0;
};

}  // namespace trtorch::backends::cuda

#include "core/backends/cuda/common/context_inl.h"
