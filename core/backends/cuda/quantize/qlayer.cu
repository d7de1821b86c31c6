// The INT8 layers QConv2d and QLinear (attrs.h, QuantizedLayer) on the CUDA backend.
//
// Two implementations, chosen by timing when the engine is built and recorded in its tactic:
//   - CUTLASS SM90 INT8 tensor-core kernels (qlayer_cutlass.h): NHWC convolution or row-major
//     GEMM with the epilogue folded into per-channel alpha, bias, a residual scale and clamp
//     bounds (an int8 output's scale folded in: alpha' = alpha / y_scale ...), for int8 and FP16
//     outputs whose residual has the output's dtype, and (convolutions) int8 outputs with an FP16
//     residual (the first block of a ResNet stage: its residual is the downsample's float output);
//   - the direct kernel below: one thread per output element, exact int32 sums and the epilogue
//     exactly as the reference backend computes it (FP32 products and sums, not contracted), any
//     layout and output dtype. It runs what CUTLASS does not take, and checks every CUTLASS
//     candidate at build time.
// A CUTLASS result differs from the direct one only by rounding of the folded scales: int8
// outputs by at most one step, float outputs by a few FP32 ulps before their rounding.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/backends/cuda/common/context.h"
#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/device_math.cuh"
#include "core/backends/cuda/common/kernel.h"
#include "core/backends/cuda/common/tactic.h"
#include "core/backends/cuda/quantize/qlayer_cutlass.h"
#include "core/util/logging.h"

namespace trtorch::backends::cuda {

namespace {

constexpr int kThreads = 256;

// The geometry of a QConv2d, or of a QLinear as a 1x1 convolution of N = M rows, H = W = 1.
struct QGeom {
  int64_t N = 0, C = 0, H = 1, W = 1, K = 0, R = 1, S = 1, OH = 1, OW = 1;
  int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  bool x_nhwc = false, r_nhwc = false, y_nhwc = false;
  __host__ __device__ int64_t y_numel() const { return N * K * OH * OW; }
};

// Offset of (n, c, h, w) in a [N, C, H, W] tensor of either layout.
__device__ __forceinline__ int64_t offset4(bool nhwc, int64_t n, int64_t c, int64_t h, int64_t w, int64_t C,
                                           int64_t H, int64_t W) {
  return nhwc ? ((n * H + h) * W + w) * C + c : ((n * C + c) * H + h) * W + w;
}

__device__ __forceinline__ float load_any(const void* p, ir::DType t, int64_t i) {
  switch (t) {
    case ir::DType::kInt8: return float(static_cast<const int8_t*>(p)[i]);
    case ir::DType::kFloat16: return __half2float(static_cast<const __half*>(p)[i]);
    case ir::DType::kBFloat16: return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    default: return static_cast<const float*>(p)[i];
  }
}

struct DirectArgs {
  const int8_t* x;
  const int8_t* w;  // KRSC
  const float* alpha;
  const float* bias;
  const void* r;  // null: no residual
  ir::DType r_dtype;
  float r_scale;  // int8 residual's scale (a float residual: 1)
  void* y;
  ir::DType y_dtype;
  float lo, hi, inv_y;
  float qmin, qmax;
  QGeom g;
};

__global__ void qlayer_direct_kernel(DirectArgs a) {
  const QGeom& g = a.g;
  const int64_t n_out = g.y_numel();
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n_out; i += int64_t(gridDim.x) * blockDim.x) {
    // i runs over the logical NCHW order; the offsets follow each tensor's layout.
    const int64_t ow = i % g.OW, oh = i / g.OW % g.OH, k = i / (g.OW * g.OH) % g.K, n = i / (g.OW * g.OH * g.K);
    int32_t acc = 0;
    for (int64_t r = 0; r < g.R; ++r) {
      const int64_t ih = oh * g.sh - g.ph + r * g.dh;
      if (ih < 0 || ih >= g.H) continue;
      for (int64_t s = 0; s < g.S; ++s) {
        const int64_t iw = ow * g.sw - g.pw + s * g.dw;
        if (iw < 0 || iw >= g.W) continue;
        const int8_t* wp = a.w + ((k * g.R + r) * g.S + s) * g.C;
        for (int64_t c = 0; c < g.C; ++c)
          acc += int32_t(a.x[offset4(g.x_nhwc, n, c, ih, iw, g.C, g.H, g.W)]) * int32_t(wp[c]);
      }
    }
    float v = __fadd_rn(__fmul_rn(float(acc), a.alpha[k]), a.bias[k]);
    if (a.r) {
      const float rv = load_any(a.r, a.r_dtype, offset4(g.r_nhwc, n, k, oh, ow, g.K, g.OH, g.OW));
      v = __fadd_rn(v, a.r_dtype == ir::DType::kInt8 ? __fmul_rn(rv, a.r_scale) : rv);
    }
    v = v < a.lo ? a.lo : (v > a.hi ? a.hi : v);  // NaN stays NaN
    const int64_t o = offset4(g.y_nhwc, n, k, oh, ow, g.K, g.OH, g.OW);
    switch (a.y_dtype) {
      case ir::DType::kInt8: {
        const float q = __fmul_rn(v, a.inv_y);
        static_cast<int8_t*>(a.y)[o] = q != q ? int8_t(0) : int8_t(fminf(fmaxf(rintf(q), a.qmin), a.qmax));
        break;
      }
      case ir::DType::kFloat16: static_cast<__half*>(a.y)[o] = __float2half_rn(v); break;
      case ir::DType::kBFloat16: static_cast<__nv_bfloat16*>(a.y)[o] = __float2bfloat16_rn(v); break;
      default: static_cast<float*>(a.y)[o] = v; break;
    }
  }
}

// Deterministic pseudo-random int8 in [-8, 7] (timing and checking data: small enough that
// most outputs of real weights stay inside the int8 range instead of saturating).
__global__ void fill_int8_kernel(int8_t* p, int64_t n, uint32_t seed) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    uint32_t h = uint32_t(i) * 2654435761u ^ seed;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    p[i] = int8_t(int(h & 15u) - 8);
  }
}

void fill_int8(void* p, int64_t n, uint32_t seed, cudaStream_t s) {
  if (n == 0) return;
  fill_int8_kernel<<<grid_for(n), kThreads, 0, s>>>(static_cast<int8_t*>(p), n, seed);
  TRTORCH_CUDA_CHECK_LAUNCH();
}

constexpr const char* kTacticTag = "qlayer.v1";
constexpr const char* kDirect = "direct";

class QLayerKernel final : public Kernel {
 public:
  explicit QLayerKernel(const KernelArgs& a) : ctx_(a.ctx), conv_(a.node.op == ir::OpKind::QConv2d) {
    const char* op = a.node.name();
    where_ = str_cat(op, " (", a.node.source.empty() ? "no source" : a.node.source, ")");
    const ir::QuantizedLayer& q =
        conv_ ? a.node.attr<ir::QConv2dAttrs>().q : a.node.attr<ir::QLinearAttrs>().q;
    read_geometry(a);
    y_dtype_ = a.outputs[0].dtype;
    has_residual_ = a.inputs.size() == 4;
    if (has_residual_) {
      r_dtype_ = a.inputs[3].dtype;
      g_.r_nhwc = a.inputs[3].layout == Layout::kNHWC;
    }
    upload_constants(a, q);
    device_ = 0;
    TRTORCH_CUDA_CHECK(cudaGetDevice(&device_));
    sm_count_ = ctx_.props().multiProcessorCount;
    if (a.tactic) {
      load_tactic(*a.tactic);
    } else {
      choose(a.timing);
      log_choice();
    }
    describe_ = str_cat(op, " ", conv_ ? str_cat(g_.R, "x", g_.S, " ") : std::string(), "i8 -> ",
                        ir::dtype_name(y_dtype_), " [", g_.N, (conv_ ? str_cat("x", g_.OH, "x", g_.OW) : ""), ", ",
                        g_.K, "] K=", g_.C * g_.R * g_.S, ": ",
                        use_cutlass_ ? str_cat("cutlass int8 ", cutlass_int8::config_name(config_)) : "direct");
  }

  size_t scratch_bytes() const override { return ws_bytes_; }

  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void* scratch,
              cudaStream_t stream) override {
    if (g_.y_numel() == 0) return;
    if (use_cutlass_)
      run_cutlass(config_, in[0], has_residual_ ? in[3] : nullptr, out[0], scratch, ws_bytes_, stream);
    else
      run_direct(in[0], has_residual_ ? in[3] : nullptr, out[0], stream);
  }

  std::string tactic() const override {
    return TacticFields(kTacticTag)
        .add("sig", sig_)
        .add("impl", use_cutlass_ ? cutlass_int8::config_name(config_) : kDirect)
        .add("ws", ws_bytes_)
        .format();
  }
  std::string describe() const override { return describe_; }

  std::string self_check(const std::vector<const void*>& in, const std::vector<void*>& out,
                         cudaStream_t stream) override {
    if (!use_cutlass_ || g_.y_numel() == 0) return "";
    DeviceBuffer ref(y_bytes());
    run_direct(in[0], has_residual_ ? in[3] : nullptr, ref.get(), stream);
    TRTORCH_CUDA_CHECK(cudaStreamSynchronize(stream));
    return compare(config_, out[0], ref.get());
  }

 private:
  void read_geometry(const KernelArgs& a) {
    const TensorDesc& x = a.inputs[0];
    const TensorDesc& w = a.inputs[1];
    const TensorDesc& y = a.outputs[0];
    if (conv_) {
      const auto& c = a.node.attr<ir::QConv2dAttrs>();
      TRTORCH_EXPECT(x.shape.size() == 4 && w.shape.size() == 4 && y.shape.size() == 4 && c.groups == 1, where_,
                     ": expected 4-D x, w, y and groups 1");
      g_.N = x.shape[0];
      g_.C = x.shape[1];
      g_.H = x.shape[2];
      g_.W = x.shape[3];
      g_.K = w.shape[0];
      g_.R = w.shape[2];
      g_.S = w.shape[3];
      g_.OH = y.shape[2];
      g_.OW = y.shape[3];
      g_.sh = c.stride[0];
      g_.sw = c.stride[1];
      g_.ph = c.padding[0];
      g_.pw = c.padding[1];
      g_.dh = c.dilation[0];
      g_.dw = c.dilation[1];
      g_.x_nhwc = x.layout == Layout::kNHWC;
      g_.y_nhwc = y.layout == Layout::kNHWC;
    } else {
      TRTORCH_EXPECT(w.shape.size() == 2, where_, ": expected a 2-D weight");
      g_.K = w.shape[0];
      g_.C = w.shape[1];
      g_.N = g_.C > 0 ? x.numel() / g_.C : 0;
    }
  }

  // Weights repacked to KRSC (a QLinear's [N, K] is already that), and the FP32 epilogue vectors
  // of both implementations.
  void upload_constants(const KernelArgs& a, const ir::QuantizedLayer& q) {
    const ir::HostTensor* wc = a.constants.size() > 1 ? a.constants[1] : nullptr;
    const ir::HostTensor* bc = a.constants.size() > 2 ? a.constants[2] : nullptr;
    TRTORCH_EXPECT(wc && wc->dtype == ir::DType::kInt8 && bc && bc->dtype == ir::DType::kFloat32, where_,
                   ": the weight (int8) and the bias (FP32) must be constants");
    const int64_t CRS = g_.C * g_.R * g_.S;
    std::vector<int8_t> w(size_t(g_.K * CRS));
    const int8_t* src = wc->ptr<int8_t>();
    for (int64_t k = 0; k < g_.K; ++k)
      for (int64_t c = 0; c < g_.C; ++c)
        for (int64_t rs = 0; rs < g_.R * g_.S; ++rs) w[size_t((k * g_.R * g_.S + rs) * g_.C + c)] = src[(k * g_.C + c) * g_.R * g_.S + rs];
    w_ = to_device(w.data(), w.size());

    const float inv_y = q.y_scale > 0 ? 1.0f / float(q.y_scale) : 1.0f;
    std::vector<float> alpha(size_t(g_.K)), bias(size_t(g_.K)), alpha_f(size_t(g_.K)), bias_f(size_t(g_.K));
    for (int64_t k = 0; k < g_.K; ++k) {
      alpha[size_t(k)] = float(q.x_scale) * q.w_scale.ptr<float>()[k];
      bias[size_t(k)] = bc->ptr<float>()[k];
      alpha_f[size_t(k)] = alpha[size_t(k)] * inv_y;
      bias_f[size_t(k)] = bias[size_t(k)] * inv_y;
    }
    alpha_ = to_device(alpha.data(), alpha.size() * sizeof(float));
    bias_ = to_device(bias.data(), bias.size() * sizeof(float));
    alpha_folded_ = to_device(alpha_f.data(), alpha_f.size() * sizeof(float));
    bias_folded_ = to_device(bias_f.data(), bias_f.size() * sizeof(float));

    lo_ = float(q.lo);
    hi_ = float(q.hi);
    inv_y_ = inv_y;
    qmin_ = float(q.qmin);
    qmax_ = float(q.qmax);
    r_scale_ = q.r_scale > 0 ? float(q.r_scale) : 1.0f;
    // The folded epilogue: an int8 output's scale divides everything, and its [qmin, qmax] joins
    // the clamp (clamping before the rounding is the same as after, the bounds being integers).
    const bool int8_out = q.y_scale > 0;
    beta_folded_ = (q.r_scale > 0 ? float(q.r_scale) : 1.0f) * inv_y;
    lo_folded_ = int8_out ? std::fmax(lo_ * inv_y, qmin_) : lo_;
    hi_folded_ = int8_out ? std::fmin(hi_ * inv_y, qmax_) : hi_;
    sig_ = hex64(fnv1a(str_cat(conv_ ? "conv" : "gemm", ";", g_.N, ",", g_.C, ",", g_.H, ",", g_.W, ",", g_.K, ",",
                               g_.R, ",", g_.S, ",", g_.OH, ",", g_.OW, ";", g_.sh, ",", g_.sw, ",", g_.ph, ",", g_.pw,
                               ",", g_.dh, ",", g_.dw, ";", g_.x_nhwc, g_.r_nhwc, g_.y_nhwc, ";", int(y_dtype_), ",",
                               has_residual_ ? int(r_dtype_) : -1)));
  }

  DeviceBuffer to_device(const void* p, size_t bytes) {
    DeviceBuffer b(std::max<size_t>(bytes, 16));
    if (bytes) TRTORCH_CUDA_CHECK(cudaMemcpy(b.get(), p, bytes, cudaMemcpyHostToDevice));
    return b;
  }

  size_t y_bytes() const { return size_t(g_.y_numel()) * ir::dtype_size(y_dtype_); }

  // ---- the direct kernel

  void run_direct(const void* x, const void* r, void* y, cudaStream_t stream) const {
    DirectArgs d{static_cast<const int8_t*>(x),
                 static_cast<const int8_t*>(w_.get()),
                 static_cast<const float*>(alpha_.get()),
                 static_cast<const float*>(bias_.get()),
                 r,
                 r_dtype_,
                 r_scale_,
                 y,
                 y_dtype_,
                 lo_,
                 hi_,
                 inv_y_,
                 qmin_,
                 qmax_,
                 g_};
    qlayer_direct_kernel<<<grid_for(g_.y_numel()), kThreads, 0, stream>>>(d);
    TRTORCH_CUDA_CHECK_LAUNCH();
  }

  // ---- CUTLASS

  // Whether the CUTLASS kernels can compute this layer at all: NHWC convolution (or a GEMM), an
  // int8 or FP16 output, a residual in the output's layout of the output's dtype (or FP16 under an
  // int8 output; supported() says which kernels take that).
  bool cutlass_fits() const {
    if (y_dtype_ != ir::DType::kInt8 && y_dtype_ != ir::DType::kFloat16) return false;
    if (has_residual_ && r_dtype_ != y_dtype_ && !(y_dtype_ == ir::DType::kInt8 && r_dtype_ == ir::DType::kFloat16))
      return false;
    if (conv_ && (!g_.x_nhwc || !g_.y_nhwc || (has_residual_ && !g_.r_nhwc))) return false;
    return conv_ ? cutlass_int8::supported(conv_problem(nullptr, nullptr, nullptr))
                 : cutlass_int8::supported(gemm_problem(nullptr, nullptr, nullptr));
  }

  cutlass_int8::Epilogue epilogue(const void* r) const {
    cutlass_int8::Epilogue e;
    e.alpha = static_cast<const float*>(alpha_folded_.get());
    e.bias = static_cast<const float*>(bias_folded_.get());
    e.beta = has_residual_ ? beta_folded_ : 0.0f;
    e.residual = r;
    e.lo = lo_folded_;
    e.hi = hi_folded_;
    e.out = y_dtype_;
    e.residual_dtype = has_residual_ ? r_dtype_ : y_dtype_;
    return e;
  }
  cutlass_int8::ConvProblem conv_problem(const void* x, const void* r, void* y) const {
    cutlass_int8::ConvProblem p;
    p.N = int(g_.N);
    p.H = int(g_.H);
    p.W = int(g_.W);
    p.C = int(g_.C);
    p.K = int(g_.K);
    p.R = int(g_.R);
    p.S = int(g_.S);
    p.OH = int(g_.OH);
    p.OW = int(g_.OW);
    p.ph = int(g_.ph);
    p.pw = int(g_.pw);
    p.sh = int(g_.sh);
    p.sw = int(g_.sw);
    p.dh = int(g_.dh);
    p.dw = int(g_.dw);
    p.x = static_cast<const int8_t*>(x);
    p.w = static_cast<const int8_t*>(w_.get());
    p.y = y;
    p.epi = epilogue(r);
    return p;
  }
  cutlass_int8::GemmProblem gemm_problem(const void* x, const void* r, void* y) const {
    cutlass_int8::GemmProblem p;
    p.M = g_.N <= INT32_MAX ? int(g_.N) : 0;  // 0: not supported (more rows than CUTLASS's int extents)
    p.N = int(g_.K);
    p.K = int(g_.C);
    p.x = static_cast<const int8_t*>(x);
    p.w = static_cast<const int8_t*>(w_.get());
    p.y = y;
    p.epi = epilogue(r);
    return p;
  }

  size_t cutlass_ws(cutlass_int8::Config c) const {
    return conv_ ? cutlass_int8::workspace_bytes(c, conv_problem(nullptr, nullptr, nullptr), device_, sm_count_)
                 : cutlass_int8::workspace_bytes(c, gemm_problem(nullptr, nullptr, nullptr), device_, sm_count_);
  }
  bool cutlass_can(cutlass_int8::Config c) const {
    return conv_ ? cutlass_int8::can_implement(c, conv_problem(nullptr, nullptr, nullptr), device_, sm_count_)
                 : cutlass_int8::can_implement(c, gemm_problem(nullptr, nullptr, nullptr), device_, sm_count_);
  }
  void run_cutlass(cutlass_int8::Config c, const void* x, const void* r, void* y, void* ws, size_t ws_bytes,
                   cudaStream_t stream) const {
    if (conv_)
      cutlass_int8::run(c, conv_problem(x, r, y), ws, ws_bytes, device_, sm_count_, stream);
    else
      cutlass_int8::run(c, gemm_problem(x, r, y), ws, ws_bytes, device_, sm_count_, stream);
  }

  // ---- choosing

  // Differences of `got` from the direct kernel's `want` beyond what rounding allows: int8 one
  // step, float outputs a relative 1e-2 of the largest magnitude (FP16 rounding of a value
  // computed in another order). "" when none.
  std::string compare(cutlass_int8::Config c, const void* got, const void* want) const {
    const int64_t n = g_.y_numel();
    std::vector<uint8_t> a(y_bytes()), b(y_bytes());
    TRTORCH_CUDA_CHECK(cudaMemcpy(a.data(), got, a.size(), cudaMemcpyDeviceToHost));
    TRTORCH_CUDA_CHECK(cudaMemcpy(b.data(), want, b.size(), cudaMemcpyDeviceToHost));
    ir::HostTensor ta(y_dtype_, {n}), tb(y_dtype_, {n});
    std::copy(a.begin(), a.end(), static_cast<uint8_t*>(ta.data()));
    std::copy(b.begin(), b.end(), static_cast<uint8_t*>(tb.data()));
    double amax = 0, worst = 0;
    int64_t at = -1;
    for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::abs(tb.get(i)));
    const double tol = y_dtype_ == ir::DType::kInt8 ? 1.0 : 1e-2 * std::max(amax, 1e-6);
    for (int64_t i = 0; i < n; ++i) {
      const double d = std::abs(ta.get(i) - tb.get(i));
      if (!(d <= worst)) {
        worst = d;
        at = i;
      }
    }
    if (worst <= tol) return "";
    return str_cat(where_, ": CUTLASS INT8 ", cutlass_int8::config_name(c), " differs from the direct kernel by ",
                   worst, " at element ", at, " (", ta.get(at), " vs ", tb.get(at), "; allowed ", tol, ")");
  }

  // Times the CUTLASS configs that take the layer on random data, checks each against the direct
  // kernel, and keeps the fastest that agrees (or the direct kernel when none does or fits).
  void choose(const TacticOptions* timing) {
    use_cutlass_ = false;
    ws_bytes_ = 0;
    if (!cutlass_fits()) return;
    const size_t max_ws = timing ? timing->max_scratch_bytes : (size_t(1) << 30);
    std::vector<cutlass_int8::Config> cands;
    for (int c = 0; c < cutlass_int8::kNumConfigs; ++c) {
      const auto cfg = cutlass_int8::Config(c);
      if (cutlass_can(cfg) && cutlass_ws(cfg) <= max_ws) cands.push_back(cfg);
    }
    if (cands.empty()) return;
    if (!timing) {  // a kernel made alone: the first that takes it (checked when run with TRTORCH_CHECK_STEPS)
      config_ = cands[0];
      use_cutlass_ = true;
      ws_bytes_ = cutlass_ws(config_);
      return;
    }
    cudaStream_t s = ctx_.stream();
    const int64_t x_numel = g_.N * g_.C * g_.H * g_.W;
    DeviceBuffer x(size_t(std::max<int64_t>(x_numel, 16))), y(y_bytes() + 16), ref(y_bytes() + 16), r;
    fill_int8(x.get(), x_numel, 17u, s);
    // The residual: int8 random; FP16 -16 to 16 steps, a step being y_scale under an int8 output
    // (so that most sums stay inside [qmin, qmax] instead of saturating) and 0.25 under an FP16
    // one; other dtypes (the direct kernel alone) zeros.
    if (has_residual_) {
      r = DeviceBuffer(size_t(g_.y_numel()) * ir::dtype_size(r_dtype_) + 16);
      TRTORCH_CUDA_CHECK(cudaMemsetAsync(r.get(), 0, r.bytes(), s));
      if (r_dtype_ == ir::DType::kInt8) fill_int8(r.get(), g_.y_numel(), 29u, s);
      if (r_dtype_ == ir::DType::kFloat16) {
        ir::HostTensor h(ir::DType::kFloat16, {g_.y_numel()});
        const double step = y_dtype_ == ir::DType::kInt8 ? 1.0 / double(inv_y_) : 0.25;
        for (int64_t i = 0; i < h.numel(); ++i) h.set(i, double((i * 37) % 33 - 16) * step);
        TRTORCH_CUDA_CHECK(cudaMemcpyAsync(r.get(), h.data(), h.nbytes(), cudaMemcpyHostToDevice, s));
        TRTORCH_CUDA_CHECK(cudaStreamSynchronize(s));  // h is freed at the end of this block
      }
    }
    run_direct(x.get(), r.get(), ref.get(), s);
    float best = std::numeric_limits<float>::infinity();
    for (const auto cfg : cands) {
      const size_t ws_bytes = cutlass_ws(cfg);
      DeviceBuffer ws(std::max<size_t>(ws_bytes, 16));
      auto fn = [&](cudaStream_t ts) { run_cutlass(cfg, x.get(), r.get(), y.get(), ws.get(), ws_bytes, ts); };
      float ms = 0;
      try {  // a config CUTLASS refuses at launch is skipped (the reason kept for the log)
        ms = time_ms(ctx_, timing->min_timing_iters, timing->avg_timing_iters, fn);
      } catch (const Error& e) {
        notes_ += std::string(e.what()) + "; ";
        continue;
      }
      const std::string diff = compare(cfg, y.get(), ref.get());
      if (!diff.empty()) {
        notes_ += diff + "; ";
        continue;
      }
      if (ms < best) {
        best = ms;
        config_ = cfg;
        use_cutlass_ = true;
        ws_bytes_ = ws_bytes;
      }
    }
  }

  void log_choice() const {
    if (!notes_.empty())
      TRTORCH_LOG(kInfo, where_, ": CUTLASS INT8 candidates set aside: ", notes_,
                  use_cutlass_ ? "" : "the direct kernel runs it");
  }

  void load_tactic(const std::string& text) {
    try {
      const TacticFields f = TacticFields::parse(text);
      TRTORCH_EXPECT(f.tag() == kTacticTag, "tag '", f.tag(), "' is not ", kTacticTag);
      f.expect_keys({"sig", "impl", "ws"});
      TRTORCH_EXPECT(f.get("sig") == sig_, "it was chosen for another problem");
      const std::string& impl = f.get("impl");
      if (impl == kDirect) {
        use_cutlass_ = false;
        ws_bytes_ = 0;
        return;
      }
      TRTORCH_EXPECT(cutlass_int8::config_from_name(impl, &config_), "unknown implementation '", impl, "'");
      TRTORCH_EXPECT(cutlass_fits() && cutlass_can(config_), "CUTLASS config ", impl, " does not take this layer");
      use_cutlass_ = true;
      ws_bytes_ = cutlass_ws(config_);
      TRTORCH_EXPECT(uint64_t(ws_bytes_) == f.get_uint("ws"), "workspace ", ws_bytes_, " differs from the recorded ",
                     f.get("ws"));
    } catch (const Error& e) {
      TRTORCH_ERROR(where_, ": bad tactic '", text, "': ", e.what());
    }
  }

  Context& ctx_;
  bool conv_;
  std::string where_, describe_, sig_, notes_;
  QGeom g_;
  ir::DType y_dtype_ = ir::DType::kInt8, r_dtype_ = ir::DType::kInt8;
  bool has_residual_ = false;
  DeviceBuffer w_, alpha_, bias_, alpha_folded_, bias_folded_;
  float lo_ = 0, hi_ = 0, inv_y_ = 1, qmin_ = -128, qmax_ = 127, r_scale_ = 1;
  float beta_folded_ = 0, lo_folded_ = 0, hi_folded_ = 0;
  int device_ = 0, sm_count_ = 0;
  bool use_cutlass_ = false;
  cutlass_int8::Config config_ = cutlass_int8::Config::k128x128x128;
  size_t ws_bytes_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_QConv2d(const KernelArgs& a) { return std::make_unique<QLayerKernel>(a); }
std::unique_ptr<Kernel> make_QLinear(const KernelArgs& a) { return std::make_unique<QLayerKernel>(a); }

}  // namespace trtorch::backends::cuda
