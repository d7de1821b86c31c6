// Pointwise: a fused chain of elementwise ops (fuse_pointwise, PointwiseAttrs) as one generated
// kernel, compiled with NVRTC when the engine is built or loaded (rtc.h).
//
// The generated source is pointwise_math.h (the math every static kernel uses, embedded at build
// time), load/store helpers for the storage type, and one kernel specialised to the node's
// shapes: the output is walked in its physical order over its coalesced dims (coalesce.h), each
// input's strides (its own layout, 0 where broadcast) are literals, so the index math is
// multiplications by constants. A thread handles V consecutive outputs (V * element size up to
// 16 bytes, where the innermost coalesced dim allows it); an input that steps with the output
// along that dim is loaded V at a time, one that is broadcast along it is loaded once. The
// program runs in FP32 registers and the result is rounded to the storage type once. A V = 1
// kernel in the same source serves pointers not aligned for the vector accesses.
#include <algorithm>
#include <cstring>
#include <sstream>

#include "core/backends/cuda/common/coalesce.h"
#include "core/backends/cuda/common/context.h"
#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/device_math.cuh"
#include "core/backends/cuda/common/kernel.h"
#include "core/backends/cuda/elementwise/pointwise.h"
#include "core/backends/cuda/common/rtc.h"
#include "core/backends/cuda/common/tactic.h"
#include "core/util/logging.h"
#include "pointwise_math_source.h"

namespace trtorch::backends::cuda {

namespace {

using ir::DType;
using ir::PointwiseAttrs;

constexpr int kThreads = 256;

// Storage type and conversions of a floating dtype, as generated source.
const char* storage_source(DType t) {
  switch (t) {
    case DType::kFloat32:
      return "typedef float S;\n"
             "__device__ __forceinline__ float trtorch_ld(S v) { return v; }\n"
             "__device__ __forceinline__ S trtorch_st(float v) { return v; }\n";
    case DType::kFloat16:
      return "typedef unsigned short S;\n"
             "__device__ __forceinline__ float trtorch_ld(S v) {\n"
             "  float f; asm(\"cvt.f32.f16 %0, %1;\" : \"=f\"(f) : \"h\"(v)); return f;\n}\n"
             "__device__ __forceinline__ S trtorch_st(float v) {\n"
             "  S h; asm(\"cvt.rn.f16.f32 %0, %1;\" : \"=h\"(h) : \"f\"(v)); return h;\n}\n";
    case DType::kBFloat16:
      return "typedef unsigned short S;\n"
             "__device__ __forceinline__ float trtorch_ld(S v) { return __uint_as_float(unsigned(v) << 16); }\n"
             "__device__ __forceinline__ S trtorch_st(float v) {\n"
             "  S h; asm(\"cvt.rn.bf16.f32 %0, %1;\" : \"=h\"(h) : \"f\"(v)); return h;\n}\n";
    default: TRTORCH_ERROR("Pointwise: dtype ", ir::dtype_name(t), " is not supported (f32, f16 and bf16 are)");
  }
}

std::string float_literal(float v) {
  if (v != v) return "__int_as_float(0x7fc00000)";
  if (v == INFINITY) return "__int_as_float(0x7f800000)";
  if (v == -INFINITY) return "__int_as_float(0xff800000)";
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  std::ostringstream os;
  os << "__int_as_float(0x" << std::hex << bits << ")";  // exact
  return os.str();
}

// The body of one kernel: V outputs per thread.
void kernel_source(std::ostringstream& os, const PointwiseAttrs& attrs, DType dtype, int n_in, const CoalescedDims& c,
                   int64_t n, const char* name, int v) {
  const char* idx = c.fits_int32 ? "unsigned" : "unsigned long long";
  const int rank = int(c.size.size());
  const int64_t units = n / v;
  os << "extern \"C\" __global__ void __launch_bounds__(" << kThreads << ") " << name << "(";
  for (int k = 0; k < n_in; ++k) os << "const S* __restrict__ in" << k << ", ";
  os << "S* __restrict__ out) {\n";
  os << "  typedef " << idx << " I;\n";
  os << "  struct alignas(" << v * int(ir::dtype_size(dtype)) << ") Vec { S v[" << v << "]; };\n";
  os << "  for (I u = I(blockIdx.x) * blockDim.x + threadIdx.x; u < I(" << units << "ull); u += I(gridDim.x) * blockDim.x) {\n";
  os << "    I r = u;\n";
  for (int d = 0; d < rank; ++d) {
    const int64_t size = d == 0 ? c.size[0] / v : c.size[size_t(d)];
    if (d < rank - 1) os << "    const I c" << d << " = r % I(" << size << "ull); r /= I(" << size << "ull);\n";
    else os << "    const I c" << d << " = r;\n";
  }
  for (int k = 0; k < n_in; ++k) {
    std::string off;
    for (int d = 0; d < rank; ++d) {
      const int64_t st = d == 0 ? c.stride[size_t(k)][0] * v : c.stride[size_t(k)][size_t(d)];
      if (st != 0) off += str_cat(off.empty() ? "" : " + ", "c", d, " * I(", st, "ull)");
    }
    if (off.empty()) off = "I(0)";
    os << "    float a" << k << "[" << v << "];\n";
    if (v > 1 && c.stride[size_t(k)][0] == 1) {
      os << "    { const Vec t = *reinterpret_cast<const Vec*>(in" << k << " + (" << off << "));\n"
         << "#pragma unroll\n      for (int j = 0; j < " << v << "; ++j) a" << k << "[j] = trtorch_ld(t.v[j]); }\n";
    } else {
      os << "    { const float t = trtorch_ld(in" << k << "[" << off << "]);\n"
         << "#pragma unroll\n      for (int j = 0; j < " << v << "; ++j) a" << k << "[j] = t; }\n";
    }
  }
  os << "    Vec o;\n#pragma unroll\n    for (int j = 0; j < " << v << "; ++j) {\n";
  for (int k = 0; k < n_in; ++k) os << "      const float r" << k << " = a" << k << "[j];\n";
  const float* p = attrs.params.ptr<float>();
  for (size_t i = 0; i < attrs.instructions(); ++i) {
    const int64_t* ci = &attrs.code[4 * i];
    os << "      const float r" << n_in + int(i) << " = ";
    if (ci[0] == PointwiseAttrs::kImmediate) {
      os << float_literal(p[2 * i]);
    } else if (ci[0] == PointwiseAttrs::kUnary) {
      os << "trtorch_pw_" << ir::unary_kind_name(ir::UnaryKind(ci[1])) << "(r" << ci[2] << ", "
         << float_literal(p[2 * i]) << ", " << float_literal(p[2 * i + 1]) << ")";
    } else {
      os << "trtorch_pw_" << ir::binary_kind_name(ir::BinaryKind(ci[1])) << "(r" << ci[2] << ", r" << ci[3] << ")";
    }
    os << ";\n";
  }
  os << "      o.v[j] = trtorch_st(r" << n_in + int(attrs.instructions()) - 1 << ");\n    }\n";
  os << "    *reinterpret_cast<Vec*>(out + u * I(" << v << ")) = o;\n  }\n}\n";
}

}  // namespace

std::string pointwise_source(const PointwiseAttrs& attrs, DType dtype, int n_inputs, const CoalescedDims& c, int64_t n,
                             int vec) {
  TRTORCH_EXPECT(int(c.stride.size()) == n_inputs && !c.size.empty() && vec >= 1 && c.size[0] % vec == 0,
                 "Pointwise: inconsistent kernel problem (", c.stride.size(), " operands for ", n_inputs,
                 " inputs, vector width ", vec, ")");
  std::ostringstream os;
  os << kPointwiseMathSource << "\n" << storage_source(dtype) << "\n";
  kernel_source(os, attrs, dtype, n_inputs, c, n, "trtorch_pointwise_vec", vec);
  if (vec > 1) kernel_source(os, attrs, dtype, n_inputs, c, n, "trtorch_pointwise_1", 1);
  return os.str();
}

namespace {

class PointwiseKernel : public Kernel {
 public:
  explicit PointwiseKernel(const KernelArgs& a)
      : ctx_(a.ctx), attrs_(a.node.attr<PointwiseAttrs>()), dtype_(a.outputs[0].dtype) {
    const auto& out = a.outputs[0].shape;
    n_ = a.outputs[0].numel();
    n_in_ = int(a.inputs.size());
    const int rank = int(out.size());
    TRTORCH_EXPECT(attrs_.instructions() >= 1 && attrs_.params.numel() == int64_t(2 * attrs_.instructions()),
                   "Pointwise: malformed program (", a.node.source, ")");
    storage_source(dtype_);  // rejects other dtypes when the engine is built
    // Each input's strides along the output's dims in the output's physical order.
    const bool out_nhwc = a.outputs[0].layout == Layout::kNHWC;
    const auto order = physical_order(out.size(), out_nhwc);
    std::vector<int64_t> phys(size_t(rank), 1);
    for (int j = 0; j < rank; ++j) phys[size_t(j)] = out[size_t(order[size_t(j)])];
    std::vector<std::vector<int64_t>> st(size_t(n_in_), std::vector<int64_t>(size_t(rank), 0));
    for (int k = 0; k < n_in_; ++k) {
      const TensorDesc& d = a.inputs[size_t(k)];
      TRTORCH_EXPECT(d.dtype == dtype_, "Pointwise: input ", k, " has dtype ", ir::dtype_name(d.dtype), ", the output ",
                     ir::dtype_name(dtype_), " (", a.node.source, ")");
      const auto ls = logical_strides(d.shape, d.layout == Layout::kNHWC);
      for (int j = 0; j < rank; ++j) {
        const int sd = order[size_t(j)] - (rank - int(d.shape.size()));
        st[size_t(k)][size_t(j)] = (sd < 0 || d.shape[size_t(sd)] == 1) ? 0 : ls[size_t(sd)];
      }
    }
    if (n_ == 0) return;
    c_ = coalesce_dims(phys, st);
    vec_ = 1;
    const int max_vec = int(16 / ir::dtype_size(dtype_));
    for (int v = max_vec; v >= 2; v /= 2)
      if (vec_ok(v)) {
        vec_ = v;
        break;
      }
    source_ = pointwise_source(attrs_, dtype_, n_in_, c_, n_, vec_);
    const std::string sum = hex64(fnv1a(source_));
    // A load passes the cubin its build saved (no compilation) when it is this source's; an engine
    // from before these tactics (empty) or from a trtorch that generated other code compiles.
    const bool same = a.tactic && !a.tactic->empty() && recorded_source_is(*a.tactic, sum, a.node.source);
    tactic_ = TacticFields(kTacticTag).add("src", sum).format();
    fn_vec_ = rtc_function(a.ctx, source_, "trtorch_pointwise_vec", same ? a.saved_plan : nullptr);
    fn_1_ = vec_ > 1 ? rtc_function(a.ctx, source_, "trtorch_pointwise_1") : fn_vec_;
  }

  // "rtc.v1;src=<FNV-1a of the generated source>": names the kernel the cubin of saved_plan() is.
  std::string tactic() const override { return tactic_; }
  std::vector<uint8_t> saved_plan() const override {
    return n_ == 0 ? std::vector<uint8_t>() : rtc_cubin(ctx_, source_);
  }

  void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void*, cudaStream_t s) override {
    if (n_ == 0) return;
    const size_t bytes = size_t(vec_) * ir::dtype_size(dtype_);
    bool aligned = reinterpret_cast<uintptr_t>(out[0]) % bytes == 0;
    for (int k = 0; k < n_in_ && aligned; ++k)
      if (c_.stride[size_t(k)][0] == 1) aligned = reinterpret_cast<uintptr_t>(in[size_t(k)]) % bytes == 0;
    const int v = aligned ? vec_ : 1;
    std::vector<const void*> ptrs(in.begin(), in.end());
    ptrs.push_back(out[0]);
    std::vector<void*> params(ptrs.size());
    for (size_t i = 0; i < ptrs.size(); ++i) params[i] = &ptrs[i];
    rtc_launch(v == vec_ ? fn_vec_ : fn_1_, grid_for(n_ / v), kThreads, s, params.data());
  }

  std::string describe() const override {
    return str_cat("pointwise ", expression(), " ", ir::dtype_name(dtype_), " n=", n_, " vec", vec_, " rank",
                   c_.size.size(), c_.fits_int32 ? "" : " idx64", " (NVRTC)");
  }

 private:
  static constexpr const char* kTacticTag = "rtc.v1";

  // Whether a recorded tactic names the source this node generates (`sum`). The tactic records no
  // choice, only which kernel a saved cubin is: another source (a trtorch that generates other
  // code) is compiled instead. A malformed tactic is an error naming the node (a damaged engine).
  static bool recorded_source_is(const std::string& text, const std::string& sum, const std::string& where) {
    std::string got;
    try {
      const TacticFields f = TacticFields::parse(text);
      TRTORCH_EXPECT(f.tag() == kTacticTag, "it does not start with '", kTacticTag, "'");
      f.expect_keys({"src"});
      got = f.get("src");
    } catch (const Error& e) {
      TRTORCH_ERROR("Pointwise ", where, ": cannot read tactic '", text, "': ", e.what());
    }
    if (got == sum) return true;
    TRTORCH_LOG(kDebug, "Pointwise ", where, ": the engine's saved kernel (src=", got, ") is not this node's (src=",
                sum, ": another shape of a dynamic engine, or a trtorch that generates other code); compiling it");
    return false;
  }

  // V outputs per thread: the innermost coalesced dim divides into V; every input steps by 1
  // (vector loads) or 0 (broadcast) along it, and one loaded by vectors has its other strides
  // multiples of V (each vector it loads is aligned when its base pointer is).
  bool vec_ok(int v) const {
    if (c_.size[0] % v != 0) return false;
    for (const auto& s : c_.stride) {
      if (s[0] != 0 && s[0] != 1) return false;
      if (s[0] == 1)
        for (size_t d = 1; d < s.size(); ++d)
          if (s[d] % v != 0) return false;
    }
    return true;
  }

  // The program as an expression over in0, in1, ... (for logs and profiles).
  std::string expression() const {
    std::vector<std::string> reg;
    for (int k = 0; k < n_in_; ++k) reg.push_back(str_cat("in", k));
    const float* p = attrs_.params.ptr<float>();
    for (size_t i = 0; i < attrs_.instructions(); ++i) {
      const int64_t* c = &attrs_.code[4 * i];
      if (c[0] == PointwiseAttrs::kImmediate) reg.push_back(str_cat(p[2 * i]));
      else if (c[0] == PointwiseAttrs::kUnary)
        reg.push_back(str_cat(ir::unary_kind_name(ir::UnaryKind(c[1])), "(", reg[size_t(c[2])], ")"));
      else
        reg.push_back(str_cat(ir::binary_kind_name(ir::BinaryKind(c[1])), "(", reg[size_t(c[2])], ", ",
                              reg[size_t(c[3])], ")"));
    }
    return reg.back();
  }

  const Context& ctx_;
  PointwiseAttrs attrs_;
  DType dtype_;
  std::string source_, tactic_;
  int64_t n_ = 0;
  int n_in_ = 0;
  int vec_ = 1;
  CoalescedDims c_;
  CUfunction fn_vec_ = nullptr, fn_1_ = nullptr;
};

}  // namespace

std::unique_ptr<Kernel> make_Pointwise(const KernelArgs& a) { return std::make_unique<PointwiseKernel>(a); }

}  // namespace trtorch::backends::cuda
