// Quantize and Dequantize (attrs.h states the arithmetic; the reference backend's quantize.cpp is
// the oracle): one thread per element in a grid-stride loop, the scale of its channel read from a
// small device array (one value per tensor, or one per index of dim `axis`). A per-tensor
// Quantize / Dequantize is elementwise and reads and writes either layout (NCHW or NHWC, the
// executor keeps the input's); a per-channel one is row-major.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "core/backends/cuda/common/context.h"
#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/device_math.cuh"
#include "core/backends/cuda/common/kernel.h"

namespace trtorch::backends::cuda {

namespace {

constexpr int kThreads = 256;

// Element i's channel: (i / inner) % channels (channels = 1: the one per-tensor scale).
struct ChannelOf {
  int64_t inner, channels;
  __device__ __forceinline__ int64_t operator()(int64_t i) const { return channels == 1 ? 0 : (i / inner) % channels; }
};

template <typename T>
__global__ void quantize_kernel(const T* __restrict__ x, int8_t* __restrict__ q, const float* __restrict__ scale,
                                int64_t n, ChannelOf ch, float qmin, float qmax) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    // __fmul_rn and rintf: an FP32 product the compiler may not contract, halves to even.
    const float v = __fmul_rn(load_f(x, i), __frcp_rn(scale[ch(i)]));
    q[i] = v != v ? int8_t(0) : int8_t(fminf(fmaxf(rintf(v), qmin), qmax));
  }
}

template <typename T>
__global__ void dequantize_kernel(const int8_t* __restrict__ q, T* __restrict__ y, const float* __restrict__ scale,
                                  int64_t n, ChannelOf ch) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = from_f<T>(__fmul_rn(float(q[i]), scale[ch(i)]));
}

// What Quantize and Dequantize share: the float tensor's dtype, the element count, the channel
// structure and the scales on the device.
class QuantizeBase : public Kernel {
 protected:
  QuantizeBase(const KernelArgs& a, const char* op, int64_t axis, const ir::HostTensor& scale, ir::DType float_dtype)
      : op_(op), dtype_(float_dtype) {
    dispatch_float(dtype_, op, [](auto) {});
    const TensorDesc& x = a.inputs[0];
    TRTORCH_EXPECT(axis < 0 || x.layout == Layout::kRowMajor, op, ": a per-channel scale needs a row-major input");
    TRTORCH_EXPECT(scale.dtype == ir::DType::kFloat32, op, ": scale must be FP32");
    n_ = x.numel();
    ch_ = ChannelOf{1, 1};
    if (axis >= 0) {
      int64_t outer, inner;
      outer_inner(x.shape, axis, &outer, &inner);
      ch_ = ChannelOf{inner, x.shape[size_t(axis)]};
    }
    scale_ = DeviceBuffer(size_t(scale.numel()) * sizeof(float));
    TRTORCH_CUDA_CHECK(cudaMemcpy(scale_.get(), scale.data(), scale_.bytes(), cudaMemcpyHostToDevice));
    per_channel_ = axis >= 0;
  }
  std::string describe_as(const char* what) const {
    return str_cat(op_, " ", what, per_channel_ ? " per-channel" : " per-tensor", " [", n_, "]");
  }

  const char* op_;
  ir::DType dtype_;
  int64_t n_ = 0;
  ChannelOf ch_{1, 1};
  DeviceBuffer scale_;
  bool per_channel_ = false;
};

class QuantizeKernel : public QuantizeBase {
 public:
  explicit QuantizeKernel(const KernelArgs& a)
      : QuantizeBase(a, "Quantize", a.node.attr<ir::QuantizeAttrs>().axis, a.node.attr<ir::QuantizeAttrs>().scale,
                     a.inputs[0].dtype),
        qmin_(float(a.node.attr<ir::QuantizeAttrs>().qmin)), qmax_(float(a.node.attr<ir::QuantizeAttrs>().qmax)) {}
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    if (n_ == 0) return;
    dispatch_float(dtype_, op_, [&](auto t) {
      using T = decltype(t);
      quantize_kernel<T><<<grid_for(n_), kThreads, 0, s>>>(static_cast<const T*>(in[0]), static_cast<int8_t*>(out[0]),
                                                           static_cast<const float*>(scale_.get()), n_, ch_, qmin_, qmax_);
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override { return describe_as(str_cat(ir::dtype_name(dtype_), " -> i8").c_str()); }

 private:
  float qmin_, qmax_;
};

class DequantizeKernel : public QuantizeBase {
 public:
  explicit DequantizeKernel(const KernelArgs& a)
      : QuantizeBase(a, "Dequantize", a.node.attr<ir::DequantizeAttrs>().axis,
                     a.node.attr<ir::DequantizeAttrs>().scale, a.outputs[0].dtype) {}
  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    if (n_ == 0) return;
    dispatch_float(dtype_, op_, [&](auto t) {
      using T = decltype(t);
      dequantize_kernel<T><<<grid_for(n_), kThreads, 0, s>>>(static_cast<const int8_t*>(in[0]), static_cast<T*>(out[0]),
                                                             static_cast<const float*>(scale_.get()), n_, ch_);
    });
    TRTORCH_CUDA_CHECK_LAUNCH();
  }
  std::string describe() const override { return describe_as(str_cat("i8 -> ", ir::dtype_name(dtype_)).c_str()); }
};

}  // namespace

std::unique_ptr<Kernel> make_Quantize(const KernelArgs& a) { return std::make_unique<QuantizeKernel>(a); }
std::unique_ptr<Kernel> make_Dequantize(const KernelArgs& a) { return std::make_unique<DequantizeKernel>(a); }

}  // namespace trtorch::backends::cuda
