// The direct attention kernel: one block per query row (leading index b, query i):
//   1. the row's scores s_j = scale * q_i . k_j + bias (or -inf past the causal diagonal) into
//      shared memory, a thread per key;
//   2. block-wide max and sum of exp (FP32), as torch's softmax (all -inf gives NaN);
//   3. out_e = sum_j p_j v_je / sum, a thread per output column (coalesced over e).
// It is the fallback of the fused cuDNN SDPA (attention.cpp), and the FP32 implementation.
#include <cfloat>
#include <cmath>

#include "core/backends/cuda/attention/attention.h"
#include "core/backends/cuda/common/cuda_check.h"
#include "core/backends/cuda/common/device_math.cuh"
#include "core/util/error.h"

namespace trtorch::backends::cuda {

namespace {

constexpr int kThreads = 128;
constexpr int kMaxLead = 6;

struct Geom {
  int lead_rank;
  int64_t lead[kMaxLead];
  int64_t bias_lead[kMaxLead];
  int64_t bias_i, bias_j;
  int64_t L, S, E, Ev;
  int64_t H;     // heads (bshd)
  int64_t rows;  // bshd: q/k/v rows per sequence position and head (3 when packed, else 1)
  float scale;
  bool causal, has_bias, bshd;
};

// Element offset of position `pos` of leading index `bb` in a tensor of head size d, sequence
// length len and `rows` rows per position (packed inputs: 3, the output: 1).
__device__ __forceinline__ int64_t seq_offset(const Geom& g, int64_t bb, int64_t pos, int64_t len, int64_t d,
                                              int64_t rows) {
  return g.bshd ? (((bb / g.H) * len + pos) * rows * g.H + bb % g.H) * d : (bb * len + pos) * d;
}

// Block-wide reduction of one float (max or sum); every thread gets the result.
template <bool kMax>
__device__ float block_reduce(float v, float* scratch) {
  for (int o = 16; o > 0; o >>= 1) {
    float w = __shfl_xor_sync(0xffffffffu, v, o);
    v = kMax ? fmaxf(v, w) : v + w;
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // scratch may still be read by a previous reduction
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = scratch[0];
  for (int w = 1; w < int(blockDim.x / 32); ++w) v = kMax ? fmaxf(v, scratch[w]) : v + scratch[w];
  return v;
}

template <typename T>
__global__ void __launch_bounds__(kThreads) attention_direct_kernel(const T* __restrict__ q, const T* __restrict__ k,
                                                                    const T* __restrict__ v, const T* __restrict__ bias,
                                                                    T* __restrict__ y, Geom g) {
  extern __shared__ float smem[];
  float* s = smem;           // [S]
  float* qrow = smem + g.S;  // [E]
  float* red = qrow + g.E;   // [32]
  const int64_t row = blockIdx.x;
  const int64_t b = row / g.L, i = row - b * g.L;
  const int64_t qoff = seq_offset(g, b, i, g.L, g.E, g.rows);
  for (int64_t e = threadIdx.x; e < g.E; e += blockDim.x) qrow[e] = load_f(q, qoff + e);
  int64_t boff = i * g.bias_i;
  if (g.has_bias) {
    int64_t r = b;
    for (int d = g.lead_rank - 1; d >= 0; --d) {
      boff += (r % g.lead[d]) * g.bias_lead[d];
      r /= g.lead[d];
    }
  }
  __syncthreads();
  const T* kb = k + seq_offset(g, b, 0, g.S, g.E, g.rows);
  const int64_t kstride = g.bshd ? g.rows * g.H * g.E : g.E;
  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j < g.S; j += blockDim.x) {
    float sc;
    if (g.causal && j > i) {
      sc = -INFINITY;
    } else {
      float dot = 0.0f;
      const T* kr = kb + j * kstride;
      for (int64_t e = 0; e < g.E; ++e) dot += qrow[e] * load_f(kr, e);
      sc = dot * g.scale;
      if (g.has_bias) sc += load_f(bias, boff + j * g.bias_j);
    }
    s[j] = sc;
    mx = fmaxf(mx, sc);
  }
  mx = block_reduce<true>(mx, red);
  float sum = 0.0f;
  for (int64_t j = threadIdx.x; j < g.S; j += blockDim.x) {
    const float p = expf(s[j] - mx);  // NaN when the whole row is -inf, like torch
    s[j] = p;
    sum += p;
  }
  sum = block_reduce<false>(sum, red);  // its barriers also publish s[]
  const T* vb = v + seq_offset(g, b, 0, g.S, g.Ev, g.rows);
  const int64_t vstride = g.bshd ? g.rows * g.H * g.Ev : g.Ev;
  const int64_t yoff = seq_offset(g, b, i, g.L, g.Ev, 1);
  for (int64_t e = threadIdx.x; e < g.Ev; e += blockDim.x) {
    float acc = 0.0f;
    for (int64_t j = 0; j < g.S; ++j) acc += s[j] * load_f(vb, j * vstride + e);
    y[yoff + e] = from_f<T>(acc / sum);
  }
}

}  // namespace

std::string AttentionProblem::signature() const {
  std::string s = str_cat("t=", int(dtype), ";lead=");
  for (int64_t d : lead) s += str_cat(d, ",");
  s += str_cat(";L=", L, ";S=", S, ";E=", E, ";Ev=", Ev, ";scale=", scale, ";causal=", causal, ";bshd=", bshd,
               packed ? ";packed=1" : "", ";bias=");
  if (has_bias)
    for (int64_t st : bias_strides) s += str_cat(st, ",");
  return s;
}

void prepare_attention_direct(const AttentionProblem& p, const cudaDeviceProp& props) {
  const size_t bytes = size_t(p.S + p.E + 32) * sizeof(float);
  TRTORCH_EXPECT(bytes <= props.sharedMemPerBlockOptin, "Attention: the direct kernel keeps a row of ", p.S,
                 " scores and a query of ", p.E, " values in shared memory (", bytes, " B), above the ",
                 props.sharedMemPerBlockOptin, " B of ", props.name);
  TRTORCH_EXPECT(p.lead.size() <= size_t(kMaxLead), "Attention: at most ", kMaxLead, " leading dims, got ",
                 p.lead.size());
  dispatch_float(p.dtype, "Attention", [&](auto t) {
    using T = decltype(t);
    if (bytes > 48 * 1024)
      TRTORCH_CUDA_CHECK(
          cudaFuncSetAttribute(attention_direct_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)));
  });
}

void launch_attention_direct(const AttentionProblem& p, const void* q, const void* k, const void* v, const void* bias,
                             void* y, cudaStream_t stream) {
  const int64_t rows = p.batch() * p.L;
  if (rows == 0 || p.Ev == 0) return;
  TRTORCH_EXPECT(rows < (int64_t(1) << 31), "Attention: ", rows, " query rows exceed the grid");
  Geom g{};
  g.lead_rank = int(p.lead.size());
  for (size_t d = 0; d < p.lead.size(); ++d) {
    g.lead[d] = p.lead[d];
    g.bias_lead[d] = p.has_bias ? p.bias_strides[d] : 0;
  }
  g.bias_i = p.has_bias ? p.bias_strides[p.lead.size()] : 0;
  g.bias_j = p.has_bias ? p.bias_strides[p.lead.size() + 1] : 0;
  g.L = p.L;
  g.S = p.S;
  g.E = p.E;
  g.Ev = p.Ev;
  g.scale = p.scale;
  g.causal = p.causal;
  g.has_bias = p.has_bias;
  g.bshd = p.bshd;
  g.H = p.heads();
  g.rows = p.packed ? 3 : 1;
  const size_t smem = size_t(p.S + p.E + 32) * sizeof(float);
  dispatch_float(p.dtype, "Attention", [&](auto t) {
    using T = decltype(t);
    attention_direct_kernel<T><<<unsigned(rows), kThreads, smem, stream>>>(
        static_cast<const T*>(q), static_cast<const T*>(k) + p.k_offset(), static_cast<const T*>(v) + p.v_offset(),
        static_cast<const T*>(bias),
        static_cast<T*>(y), g);
  });
  TRTORCH_CUDA_CHECK_LAUNCH();
}

}  // namespace trtorch::backends::cuda
