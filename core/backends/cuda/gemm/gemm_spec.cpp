// What a Linear or MatMul node asks of the GEMM (GemmSpec, see gemm.h): the cuBLASLt problem in
// column-major terms, the operands' inputs, the batch offsets of a broadcast MatMul and the
// alignment every call keeps; Linear's constant weight and bias are uploaded here. Shared by the
// build (gemm_tactics.cpp) and the load (gemm.cpp).
#include <algorithm>
#include <numeric>

#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/gemm/gemm.h"

namespace trtorch::backends::cuda::gemm {
namespace {

void expect_row_major(const KernelArgs& args) {
  for (size_t i = 0; i < args.inputs.size(); ++i)
    TRTORCH_EXPECT(args.inputs[i].layout == Layout::kRowMajor, "input ", i, " must be row-major");
  TRTORCH_EXPECT(args.outputs.size() == 1 && args.outputs[0].layout == Layout::kRowMajor,
                 "expects one row-major output");
  for (size_t i = 1; i < args.inputs.size(); ++i)
    TRTORCH_EXPECT(args.inputs[i].dtype == args.inputs[0].dtype, "input ", i, " is ",
                   ir::dtype_name(args.inputs[i].dtype), " but input 0 is ", ir::dtype_name(args.inputs[0].dtype));
  cuda_type(args.inputs[0].dtype);  // rejects unsupported dtypes
}

const ir::HostTensor* constant_of(const KernelArgs& args, size_t i) {
  return i < args.constants.size() ? args.constants[i] : nullptr;
}

// A host constant on the device in the engine dtype (converted if it is stored otherwise), shared
// with the engine's other executors.
DeviceCopy upload(const KernelArgs& args, const ir::HostTensor& h, DType dtype, const std::vector<int64_t>& shape,
                  const char* what) {
  TRTORCH_EXPECT(h.shape == shape, what, " constant has shape ", shape_str(h.shape), ", expected ", shape_str(shape));
  return packed_constant(args, h, str_cat("as ", ir::dtype_name(dtype)), [&] {
    ir::HostTensor t = h.dtype == dtype ? h : h.to(dtype);
    cudaStream_t stream = args.ctx.stream();
    DeviceBuffer buf(std::max<size_t>(t.nbytes(), 1));
    TRTORCH_CUDA_CHECK(cudaMemcpyAsync(buf.get(), t.data(), t.nbytes(), cudaMemcpyHostToDevice, stream));
    TRTORCH_CUDA_CHECK(cudaStreamSynchronize(stream));  // `t` may be a temporary
    return buf;
  });
}

// A MatMul's batch: the element offset of each operand's matrix for every output batch index (0
// along broadcast dims).
struct MatMulBatch {
  int64_t total = 1;            // output batch count
  std::vector<int64_t> oa, ob;  // offsets of the first and second operand, one per output batch index
};

MatMulBatch batch_offsets(const std::vector<int64_t>& as, const std::vector<int64_t>& bs,
                          const std::vector<int64_t>& ys, int64_t M, int64_t K, int64_t N) {
  const size_t br = ys.size() - 2;
  std::vector<int64_t> sa(br, 0), sb(br, 0);
  int64_t step_a = M * K, step_b = K * N;
  for (size_t d = br; d-- > 0;) {
    const size_t lead_a = br - (as.size() - 2), lead_b = br - (bs.size() - 2);
    if (d >= lead_a) {
      int64_t n = as[d - lead_a];
      TRTORCH_EXPECT(n == ys[d] || n == 1, "batch dim ", d, " of ", shape_str(as), " does not broadcast to ",
                     shape_str(ys));
      if (n != 1) sa[d] = step_a;
      step_a *= n;
    }
    if (d >= lead_b) {
      int64_t n = bs[d - lead_b];
      TRTORCH_EXPECT(n == ys[d] || n == 1, "batch dim ", d, " of ", shape_str(bs), " does not broadcast to ",
                     shape_str(ys));
      if (n != 1) sb[d] = step_b;
      step_b *= n;
    }
  }
  MatMulBatch b;
  for (size_t d = 0; d < br; ++d) b.total *= ys[d];
  auto offsets = [&](const std::vector<int64_t>& stride) {
    std::vector<int64_t> off(static_cast<size_t>(b.total));
    for (int64_t i = 0; i < b.total; ++i) {
      int64_t o = 0, rem = i;
      for (size_t d = br; d-- > 0;) {
        o += (rem % ys[d]) * stride[d];
        rem /= ys[d];
      }
      off[size_t(i)] = o;
    }
    return off;
  };
  b.oa = offsets(sa);
  b.ob = offsets(sb);
  return b;
}

// The largest group of trailing batch dims over which both operands step by one constant
// stride each (the same in every group): one strided-batched call per group. Returns the
// group's batch count.
int64_t inner_group(const std::vector<int64_t>& ys, const MatMulBatch& b) {
  if (b.total == 0) return 1;
  const size_t br = ys.size() - 2;
  const std::vector<int64_t>& oa = b.oa;
  const std::vector<int64_t>& ob = b.ob;
  for (size_t k = br + 1; k-- > 0;) {
    int64_t n = 1;
    for (size_t d = br - k; d < br; ++d) n *= ys[d];
    const int64_t step_oa = n > 1 ? oa[1] - oa[0] : 0, step_ob = n > 1 ? ob[1] - ob[0] : 0;
    bool ok = true;
    for (int64_t i = 0; i < b.total && ok; ++i) {
      const int64_t first = i - i % n;
      ok = oa[size_t(i)] == oa[size_t(first)] + (i % n) * step_oa &&
           ob[size_t(i)] == ob[size_t(first)] + (i % n) * step_ob;
    }
    if (ok) return n;
  }
  return 1;
}

// Pointer alignment every call keeps, given kBaseAlignment-aligned buffers.
uint32_t align_of(const std::vector<int64_t>& off, DType dtype) {
  const int64_t es = int64_t(ir::dtype_size(dtype));
  int64_t al = kBaseAlignment;
  for (int64_t o : off) al = std::gcd(al, o * es);
  return uint32_t(al == 0 ? kBaseAlignment : al);
}

}  // namespace

GemmSpec linear_spec(const KernelArgs& args, DeviceCopy* weight, DeviceCopy* bias) {
  TRTORCH_EXPECT(args.inputs.size() == 2 || args.inputs.size() == 3, "expects 2 or 3 inputs, got ",
                 args.inputs.size());
  expect_row_major(args);
  const auto& a = args.node.attr<ir::LinearAttrs>();
  const auto& xs = args.inputs[0].shape;
  const auto& wsh = args.inputs[1].shape;
  TRTORCH_EXPECT(!xs.empty() && wsh.size() == 2 && xs.back() == wsh[1], "input ", shape_str(xs),
                 " does not match weight ", shape_str(wsh));
  TRTORCH_EXPECT(!a.has_act || size_t(a.act) < size_t(UnaryKind::kCount), "unknown activation ", int(a.act));
  const DType dt = args.inputs[0].dtype;
  GemmSpec g;
  g.op = "linear";
  g.N = wsh[0];
  g.K = wsh[1];
  g.M = ir::numel_of(std::vector<int64_t>(xs.begin(), xs.end() - 1));  // leading dims fold into M
  g.has_bias = args.inputs.size() == 3;
  g.has_act = a.has_act;
  g.act = a.act;
  g.alpha = float(a.act_alpha);
  g.beta = float(a.act_beta);
  g.out_rows = g.M;
  g.out_cols = g.N;
  // D^T (N x M) = W (N x K, stored K x N column-major, transposed) * X^T (K x M).
  LtShape& s = g.shape;
  s.dtype = dt;
  s.trans_a = true;
  s.rows = g.N;
  s.cols = g.M;
  s.depth = g.K;
  s.lda = std::max<int64_t>(g.K, 1);
  s.ldb = std::max<int64_t>(g.K, 1);
  s.ldd = std::max<int64_t>(g.N, 1);
  g.a_input = 1;
  g.b_input = 0;
  g.bias_input = g.has_bias ? 2 : -1;

  if (const ir::HostTensor* h = constant_of(args, 1)) *weight = upload(args, *h, dt, wsh, "weight");
  if (g.has_bias) {
    TRTORCH_EXPECT(args.inputs[2].shape == std::vector<int64_t>{g.N}, "bias ", shape_str(args.inputs[2].shape),
                   " must be [", g.N, "]");
    if (const ir::HostTensor* h = constant_of(args, 2)) *bias = upload(args, *h, dt, {g.N}, "bias");
  }
  return g;
}

GemmSpec matmul_spec(const KernelArgs& args) {
  TRTORCH_EXPECT(args.inputs.size() == 2, "expects 2 inputs, got ", args.inputs.size());
  expect_row_major(args);
  const auto& as = args.inputs[0].shape;
  const auto& bs = args.inputs[1].shape;
  const auto& ys = args.outputs[0].shape;
  TRTORCH_EXPECT(as.size() >= 2 && bs.size() >= 2 && ys.size() >= 2 && as.back() == bs[bs.size() - 2],
                 "operands ", shape_str(as), " @ ", shape_str(bs), " do not multiply");
  const int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
  TRTORCH_EXPECT(ys[ys.size() - 2] == M && ys.back() == N, "output ", shape_str(ys), " does not match ",
                 shape_str(as), " @ ", shape_str(bs));
  const size_t br = ys.size() - 2;
  TRTORCH_EXPECT(as.size() - 2 <= br && bs.size() - 2 <= br, "operand rank exceeds the output's");
  const MatMulBatch batch = batch_offsets(as, bs, ys, M, K, N);
  const std::vector<int64_t>& oa = batch.oa;
  const std::vector<int64_t>& ob = batch.ob;
  const int64_t total = batch.total, inner = inner_group(ys, batch);

  GemmSpec g;
  g.op = "matmul";
  g.M = M;
  g.N = N;
  g.K = K;
  g.out_rows = total * M;
  g.out_cols = N;
  g.a_input = 1;  // cuBLASLt's A is the second operand (B^T in column-major terms)
  g.b_input = 0;
  LtShape& s = g.shape;
  s.dtype = args.inputs[0].dtype;
  s.trans_a = false;
  s.rows = N;
  s.cols = M;
  s.depth = K;
  s.lda = std::max<int64_t>(N, 1);
  s.ldb = std::max<int64_t>(K, 1);
  s.ldd = std::max<int64_t>(N, 1);
  const int64_t stride_a = inner > 1 ? oa[1] - oa[0] : 0;  // first operand's batch stride
  const int64_t stride_b = inner > 1 ? ob[1] - ob[0] : 0;
  if (inner > 1 && stride_b == 0 && stride_a == M * K) {
    s.cols = inner * M;  // second operand shared by the whole group: one GEMM with M' = inner * M
  } else if (inner > 1) {
    s.batch = inner;
    s.stride_a = stride_b;
    s.stride_b = stride_a;
    s.stride_d = M * N;
  }
  g.off_a.clear();
  g.off_b.clear();
  g.off_d.clear();
  if (total == 0) {
    s.batch = 0;  // an empty output: nothing to launch
    g.off_a = g.off_b = g.off_d = {0};
  }
  for (int64_t o = 0; o < total / inner; ++o) {
    g.off_a.push_back(ob[size_t(o * inner)]);
    g.off_b.push_back(oa[size_t(o * inner)]);
    g.off_d.push_back(o * inner * M * N);
  }
  s.align_a = align_of(g.off_a, s.dtype);
  s.align_b = align_of(g.off_b, s.dtype);
  s.align_d = align_of(g.off_d, s.dtype);
  return g;
}

}  // namespace trtorch::backends::cuda::gemm
