// The CUDA backend's per-node kernels.
//
// The executor (executor.cpp) turns every node of an engine graph into a Kernel once, when the
// engine is built or loaded, then launches them in order on a stream. A kernel owns whatever it
// prepared (packed weights, cuDNN execution plans, cuBLASLt descriptors); at launch it gets the
// device pointers of its inputs and outputs, its scratch memory and the stream.
//
// Tactics: kernels with several implementations (cuDNN engine configs, cuBLASLt algorithms)
// choose one by timing when the engine is built (KernelArgs::tactic is null) and report the
// choice through tactic(); the builder stores it in the engine, and a later load passes it back
// so that loading never times anything.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/ir/ir.h"
#include "core/util/error.h"

namespace trtorch::backends::cuda {

class Context;
class DeviceBuffer;
class PackedWeights;

// Memory layout of a 4-D activation. Every other tensor is dense row-major (kRowMajor).
enum class Layout : uint8_t { kRowMajor = 0, kNHWC = 1 };

struct TensorDesc {
  ir::DType dtype = ir::DType::kFloat32;
  std::vector<int64_t> shape;  // logical (NCHW order for 4-D activations, whatever the layout)
  Layout layout = Layout::kRowMajor;
  int64_t numel() const { return ir::numel_of(shape); }  // throws when it does not fit int64_t
  // numel * dtype size; throws trtorch::Error naming the shape when it does not fit int64_t.
  size_t bytes() const { return ir::checked_bytes(shape, dtype, "CUDA tensor shape"); }
};

// TacticOptions::conv_runtime_compilation (plan::ConvRuntimeCompilation's values).
enum class ConvRuntimeCompilation : uint8_t { kAuto, kAlways, kFallback };

// Build-time options that reach kernels.
struct TacticOptions {
  int min_timing_iters = 2;  // warm-up runs per candidate
  int avg_timing_iters = 1;  // timed runs per candidate (the median is kept)
  bool allow_tf32 = false;
  size_t max_scratch_bytes = size_t(1) << 30;  // the build's workspace_size, when set
  int conv_candidates = 6;  // cuDNN engine configs a convolution times (BuildConfig::conv_candidates)
  int build_threads = 0;    // host threads building them at once; 0: the host's cores, up to 16
  // Whether a convolution may try cuDNN engine configs that compile a kernel when built (runtime
  // fusion: about 0.5 s each, again at a load without a saved plan). make_Conv2d sets it per
  // convolution by conv_runtime_compilation (conv_cutlass_kernel.cpp).
  bool cudnn_runtime_compiled = true;
  // BuildConfig::conv_runtime_compilation: where runtime-compiled cuDNN configs race the kernels
  // compiled ahead of time.
  ConvRuntimeCompilation conv_runtime_compilation = ConvRuntimeCompilation::kFallback;
};

// What the kernels of one engine share while it is built or loaded: a kernel whose problem an
// earlier kernel of the same engine already solved (a convolution of the same shapes, dtypes,
// fused stages and limits; deep CNNs repeat most of theirs) takes that kernel's
// prepared, immutable state under a key of its own making instead of choosing and building
// again. Kernels launch one at a time on the engine's stream, so shared state is never run
// concurrently by two of them. Lives as long as the executor's constructor; the kernels hold
// what they took.
class KernelShare {
 public:
  std::shared_ptr<void> find(const std::string& key) const {
    auto it = items_.find(key);
    return it == items_.end() ? nullptr : it->second;
  }
  void put(const std::string& key, std::shared_ptr<void> value) { items_.emplace(key, std::move(value)); }

 private:
  std::map<std::string, std::shared_ptr<void>> items_;
};

struct KernelArgs {
  Context& ctx;
  const ir::Node& node;
  std::vector<TensorDesc> inputs, outputs;
  // Host copies of the inputs that are Constant nodes (weights), null for the others.
  std::vector<const ir::HostTensor*> constants;
  // The tactic chosen at build time; null while building (then the kernel chooses, timing
  // candidates with `timing` if it has several).
  const std::string* tactic = nullptr;
  const TacticOptions* timing = nullptr;
  // The engine's shared kernel state; null: nothing is shared (a kernel made alone).
  KernelShare* share = nullptr;
  // With a tactic: the plan a build saved for it (Kernel::saved_plan()), or null. A kernel that
  // cannot use it (another library version, damaged) builds the tactic as it would without.
  const std::vector<uint8_t>* saved_plan = nullptr;
  // With a tactic: it was chosen for this node at another shape (a dynamic engine's opt shape,
  // specialized to a new one). A kernel whose implementations take any shape may keep it instead
  // of failing (the executor then chooses again, timing, which a new shape's first call waits for).
  bool other_shape = false;
  // The engine's device copies of what its kernels made of its constants, shared with its other
  // executors on the device; null: a kernel made alone makes its own (packed_constant()).
  PackedWeights* packed = nullptr;
};

// The device copy `how` of constant `c` that make() makes: shared through args.packed when the
// executor offers it. `how` must name everything the copy depends on besides c's bytes.
std::shared_ptr<const DeviceBuffer> packed_constant(const KernelArgs& args, const ir::HostTensor& c,
                                                    const std::string& how, const std::function<DeviceBuffer()>& make);

class Kernel {
 public:
  virtual ~Kernel() = default;
  // Scratch memory launch() needs (bytes); the executor places it in the engine's arena.
  virtual size_t scratch_bytes() const { return 0; }
  virtual void launch(const std::vector<const void*>& in, const std::vector<void*>& out, void* scratch,
                      cudaStream_t stream) = 0;
  // The chosen implementation, serialized (empty when there is only one).
  virtual std::string tactic() const { return ""; }
  // What a load needs to run tactic() without building it again (a serialized cuDNN execution
  // plan, holding the code cuDNN compiled at build time); empty when the tactic builds quickly
  // or cannot be saved. The engine records it beside the tactic (backend_data.h).
  virtual std::vector<uint8_t> saved_plan() const { return {}; }
  // A short description for logs and profiles: "cudnn conv engine 12 (fused bias+relu)".
  virtual std::string describe() const = 0;
  // Debugging (TRTORCH_CHECK_STEPS=1): after a launch with these pointers, recomputes the output
  // with a trusted kernel and returns what differs ("" when it agrees or the kernel has no check).
  virtual std::string self_check(const std::vector<const void*>& in, const std::vector<void*>& out,
                                 cudaStream_t stream) {
    return "";
  }
};

// One factory per op of ops.def (declared from the table, so a missing one fails to link).
// Constant, Identity and Reshape have no kernel: the executor gives them storage (weights) or
// aliases their input; their factories return nullptr.
#define TRTORCH_OP(Name, MinIn, MaxIn, MaxOut) std::unique_ptr<Kernel> make_##Name(const KernelArgs& args);
#include "core/ir/ops.def"
#undef TRTORCH_OP

// The layout change of a 4-D activation (NCHW <-> NHWC), placed by the executor
// (layout_change.cu). padded_channels > C (NCHW -> NHWC only) widens the result to that many
// channels, the extra ones zero.
std::unique_ptr<Kernel> make_layout_change(const TensorDesc& from, Layout to, int64_t padded_channels = 0);

// Splits a shape at `axis` into the element counts before it (outer) and after it (inner).
inline void outer_inner(const std::vector<int64_t>& shape, int64_t axis, int64_t* outer, int64_t* inner) {
  *outer = 1;
  *inner = 1;
  for (int64_t d = 0; d < axis; ++d) *outer *= shape[size_t(d)];
  for (size_t d = size_t(axis) + 1; d < shape.size(); ++d) *inner *= shape[d];
}

// Launch configuration helpers.
// Blocks of `threads` covering n elements, for a grid's x dimension: more than CUDA allows
// (2^31 - 1) is an error, not a count narrowed to a smaller grid that leaves elements out.
inline unsigned blocks_for(int64_t n, int threads) {
  const int64_t blocks = n / threads + (n % threads != 0);
  TRTORCH_EXPECT(blocks <= int64_t(INT32_MAX), "a CUDA launch over ", n, " elements needs ", blocks,
                 " blocks of ", threads, " threads, more than a grid can have (2^31 - 1)");
  return unsigned(blocks);
}
// A grid for a grid-stride loop over n elements with 256-thread blocks (clamped before narrowing).
inline unsigned grid_for(int64_t n) {
  return unsigned(std::min<int64_t>(n / 256 + (n % 256 != 0), 65535 * 8));
}

}  // namespace trtorch::backends::cuda
