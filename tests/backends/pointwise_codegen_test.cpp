// The generated Pointwise kernels compile with NVRTC for sm_90, without a GPU (so CI checks the
// code generator): every UnaryKind and BinaryKind, immediates, every storage type, vector and
// scalar kernels, 32- and 64-bit indices, broadcast operands; and a compile error names NVRTC's
// message and the source line.
#include <gtest/gtest.h>

#include <string>

#include "core/backends/cuda/elementwise/pointwise.h"
#include "core/backends/cuda/common/rtc.h"
#include "core/util/error.h"

using namespace trtorch;
using namespace trtorch::ir;
namespace cu = trtorch::backends::cuda;

namespace {

// r0 = x, r1 = y (inputs); every unary kind of r0 added up, times y, then every binary kind
// against an immediate 0.5.
PointwiseAttrs every_kind_program() {
  PointwiseAttrs a;
  std::vector<float> params;
  int64_t next = 2, sum = -1;
  auto emit = [&](int64_t op, int64_t kind, int64_t x, int64_t y, float p0, float p1) {
    a.code.insert(a.code.end(), {op, kind, x, y});
    params.push_back(p0);
    params.push_back(p1);
    return next++;
  };
  for (int k = 0; k < int(UnaryKind::kCount); ++k) {
    const int64_t u = emit(PointwiseAttrs::kUnary, k, 0, 0, 0.1f, 1.5f);
    sum = sum < 0 ? u : emit(PointwiseAttrs::kBinary, int64_t(BinaryKind::kAdd), sum, u, 0, 0);
  }
  int64_t v = emit(PointwiseAttrs::kBinary, int64_t(BinaryKind::kMul), sum, 1, 0, 0);
  const int64_t half = emit(PointwiseAttrs::kImmediate, 0, 0, 0, 0.5f, 0);
  for (int k = 0; k < int(BinaryKind::kCount); ++k) v = emit(PointwiseAttrs::kBinary, k, v, half, 0, 0);
  a.params = HostTensor(DType::kFloat32, {int64_t(params.size())});
  for (size_t i = 0; i < params.size(); ++i) a.params.set(int64_t(i), params[i]);
  return a;
}

TEST(PointwiseCodegen, EveryKindCompilesForEveryDtype) {
  const PointwiseAttrs a = every_kind_program();
  // x [2, 16, 35] walked innermost first; y broadcast along the inner dim (a per-channel operand).
  cu::CoalescedDims c;
  c.size = {35 * 16, 2};
  c.stride = {{1, 35 * 16}, {0, 0}};
  c.fits_int32 = true;
  for (DType dt : {DType::kFloat32, DType::kFloat16, DType::kBFloat16}) {
    SCOPED_TRACE(dtype_name(dt));
    for (int vec : {1, 4}) {
      const std::string src = cu::pointwise_source(a, dt, 2, c, 2 * 35 * 16, vec);
      EXPECT_NE(src.find("trtorch_pointwise_vec"), std::string::npos);
      EXPECT_EQ(src.find("trtorch_pointwise_1") != std::string::npos, vec > 1);
      EXPECT_NE(src.find("trtorch_pw_gelu_tanh"), std::string::npos);
      EXPECT_NE(src.find("trtorch_pw_pow"), std::string::npos);
      const std::vector<char> cubin = cu::rtc_compile(src, 90);
      EXPECT_GT(cubin.size(), 1000u);
    }
  }
}

TEST(PointwiseCodegen, SixtyFourBitIndices) {
  PointwiseAttrs a;
  a.code = {PointwiseAttrs::kUnary, int64_t(UnaryKind::kSilu), 0, 0};
  a.params = HostTensor(DType::kFloat32, {2});
  cu::CoalescedDims c;
  c.size = {int64_t(3) << 30};
  c.stride = {{1}};
  c.fits_int32 = false;
  const std::string src = cu::pointwise_source(a, DType::kFloat16, 1, c, int64_t(3) << 30, 8);
  EXPECT_NE(src.find("unsigned long long I"), std::string::npos);
  EXPECT_GT(cu::rtc_compile(src, 90).size(), 1000u);
}

TEST(PointwiseCodegen, InconsistentProblemIsRejected) {
  PointwiseAttrs a;
  a.code = {PointwiseAttrs::kUnary, int64_t(UnaryKind::kExp), 0, 0};
  a.params = HostTensor(DType::kFloat32, {2});
  cu::CoalescedDims c;
  c.size = {10};
  c.stride = {{1}};
  EXPECT_THROW(cu::pointwise_source(a, DType::kFloat32, 1, c, 10, 4), Error);  // 10 is not a multiple of 4
  EXPECT_THROW(cu::pointwise_source(a, DType::kInt32, 1, c, 10, 1), Error);    // not a floating type
}

TEST(PointwiseCodegen, CompileErrorNamesTheLine) {
  try {
    cu::rtc_compile("extern \"C\" __global__ void k() {\n  undeclared_name = 1;\n}\n", 90);
    FAIL() << "expected a compile error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("NVRTC could not compile"), std::string::npos) << m;
    EXPECT_NE(m.find("undeclared_name"), std::string::npos) << m;
    EXPECT_NE(m.find("2:   undeclared_name = 1;"), std::string::npos) << m;
  }
}

}  // namespace
