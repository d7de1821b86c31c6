// The type-erased entry points of a CUTLASS 3 kernel, for the kernel families that instantiate
// many (quantize/qlayer_cutlass_*.cu, conv/conv_cutlass_*.cu): each instantiation is reached
// through a CutlassOps table entry, so that callers need neither its type nor CUTLASS's headers.
// Only CUTLASS translation units include this.
#pragma once

#include <cutlass/cutlass.h>

#include <cuda_runtime.h>

#include <cstddef>

namespace trtorch::backends::cuda {

// Problem P's entry points of one kernel.
template <class P>
struct CutlassOps {
  bool (*can_implement)(const P&, int device, int sm_count);
  size_t (*workspace)(const P&, int device, int sm_count);
  cutlass::Status (*launch)(const P&, void* workspace, int device, int sm_count, cudaStream_t stream);
};

// The entry points of kernel K: its CUTLASS device adapter K::Adapter, and its arguments for a
// problem from K::arguments(problem, device, sm_count).
template <class K, class P>
struct CutlassEntry {
  static bool can_implement(const P& p, int device, int sm_count) {
    return K::Adapter::can_implement(K::arguments(p, device, sm_count)) == cutlass::Status::kSuccess;
  }
  static size_t workspace(const P& p, int device, int sm_count) {
    return K::Adapter::get_workspace_size(K::arguments(p, device, sm_count));
  }
  static cutlass::Status launch(const P& p, void* ws, int device, int sm_count, cudaStream_t stream) {
    typename K::Adapter op;
    const auto args = K::arguments(p, device, sm_count);
    cutlass::Status s = op.can_implement(args);
    if (s != cutlass::Status::kSuccess) return s;
    s = op.initialize(args, ws, stream);
    return s == cutlass::Status::kSuccess ? op.run(stream) : s;
  }
};

template <class K, class P>
constexpr CutlassOps<P> cutlass_ops_of() {
  return {&CutlassEntry<K, P>::can_implement, &CutlassEntry<K, P>::workspace, &CutlassEntry<K, P>::launch};
}

}  // namespace trtorch::backends::cuda
