#include "core/backends/cuda/common/context.h"

#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/kernel.h"

namespace trtorch::backends::cuda {

namespace detail {
void fail_call(const char* lib, const char* call, const char* file, int line, int code, const char* msg) {
  // The failure is reported here; a recoverable CUDA error (out of memory, a bad launch
  // configuration) must not stay behind as the thread's last error, where the next check of
  // torch's (after its own kernel launch) would take it for its own and fail. A sticky error (a
  // fault on the device) stays whatever this does.
  cudaGetLastError();
  TRTORCH_ERROR(lib, " call failed: ", call, " returned ", code, " (", msg ? msg : "no message", ") at ", file, ":",
                line);
}
}  // namespace detail

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver/device" error
    return 0;
  }
  return n;
}

DeviceGuard::DeviceGuard(int device) {
  TRTORCH_CUDA_CHECK(cudaGetDevice(&prev_));
  // Also when `device` is current already: cudaSetDevice makes its primary context current on this
  // thread, which the driver API (NVRTC modules) and cuDNN's driver-API engines need.
  TRTORCH_CUDA_CHECK(cudaSetDevice(device));
}

DeviceGuard::~DeviceGuard() {
  // Restoring a device that was current a moment ago does not fail; a failure is not thrown
  // from a destructor (the thread's last error is cleared instead).
  int now = -1;
  if (cudaGetDevice(&now) != cudaSuccess || (now != prev_ && cudaSetDevice(prev_) != cudaSuccess)) cudaGetLastError();
}

Context::Context(int gpu_id) : device_(gpu_id) {
  int n = device_count();
  TRTORCH_EXPECT(gpu_id >= 0 && gpu_id < n, "CUDA device ", gpu_id, " does not exist (", n, " present)");
  DeviceGuard guard(gpu_id);
  TRTORCH_CUDA_CHECK(cudaGetDeviceProperties(&props_, gpu_id));
  TRTORCH_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  TRTORCH_CUDNN_CHECK(cudnnCreate(&cudnn_));
  TRTORCH_CUBLAS_CHECK(cublasLtCreate(&cublaslt_));
}

Context::~Context() {
  for (cudnnHandle_t h : all_cudnn_) cudnnDestroy(h);
  if (cublaslt_) cublasLtDestroy(cublaslt_);
  if (cudnn_) cudnnDestroy(cudnn_);
  if (stream_) cudaStreamDestroy(stream_);
}

std::shared_ptr<Context::HandleLease> Context::lease_cudnn() {
  cudnnHandle_t h = nullptr;
  {
    std::lock_guard<std::mutex> lock(spare_mutex_);
    if (!spare_cudnn_.empty()) {
      h = spare_cudnn_.back();
      spare_cudnn_.pop_back();
    }
  }
  if (!h) {
    DeviceGuard guard(device_);  // the handle belongs to the current device
    TRTORCH_CUDNN_CHECK(cudnnCreate(&h));
    std::lock_guard<std::mutex> lock(spare_mutex_);
    all_cudnn_.push_back(h);
  }
  return std::make_shared<HandleLease>(*this, h);
}

void Context::release_cudnn(cudnnHandle_t h) {
  std::lock_guard<std::mutex> lock(spare_mutex_);
  spare_cudnn_.push_back(h);
}

DeviceBuffer::DeviceBuffer(size_t bytes) : bytes_(bytes) {
  if (bytes > 0) TRTORCH_CUDA_CHECK(cudaMalloc(&ptr_, bytes));
}

DeviceBuffer::~DeviceBuffer() {
  if (ptr_) cudaFree(ptr_);
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    if (ptr_) cudaFree(ptr_);
    ptr_ = o.ptr_;
    bytes_ = o.bytes_;
    o.ptr_ = nullptr;
    o.bytes_ = 0;
  }
  return *this;
}

std::shared_ptr<const DeviceBuffer> PackedWeights::get(const Bytes& host, const std::string& how,
                                                       const std::function<DeviceBuffer()>& make) {
  std::lock_guard<std::mutex> lock(mu_);
  // Entries whose copies are gone are dropped as the map is used.
  for (auto it = items_.begin(); it != items_.end();) it = it->second.copy.expired() ? items_.erase(it) : ++it;
  Entry& e = items_[{host.get(), how}];
  if (auto kept = e.copy.lock()) return kept;
  auto made = std::make_shared<const DeviceBuffer>(make());
  e.host = host;
  e.copy = made;
  ++made_;
  return made;
}

size_t PackedWeights::made() const {
  std::lock_guard<std::mutex> lock(mu_);
  return made_;
}

std::shared_ptr<const DeviceBuffer> packed_constant(const KernelArgs& args, const ir::HostTensor& c,
                                                    const std::string& how, const std::function<DeviceBuffer()>& make) {
  if (!args.packed) return std::make_shared<const DeviceBuffer>(make());
  return args.packed->get(c.bytes, how, make);
}

}  // namespace trtorch::backends::cuda
