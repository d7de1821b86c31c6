// The partial-compilation settings (what runs in engines and what stays in TorchScript). They are
// filled from C++ CompileSpec, the Python settings dictionary (both the current keys and TRTorch
// v0.4's "torch_fallback" spelling) and trtorchc's flags; see docs/partial_compilation.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace trtorch::frontend {

struct PartitionSettings {
  // True: every op must compile into one engine, else the compile fails listing each unsupported
  // op (the behaviour before partial compilation). False (the default): what trtorch cannot
  // compile runs in TorchScript, between engine segments.
  bool require_full_compilation = false;
  // Engine segments with fewer operations than this stay in TorchScript (one engine call has a
  // fixed cost; a tiny segment between two Torch ops rarely pays for it).
  int64_t min_block_size = 3;
  // Operators to run in TorchScript: "aten::upsample_nearest2d" (every overload) or a full schema.
  std::vector<std::string> torch_executed_ops;
  // Submodule classes whose code runs in TorchScript, by qualified name
  // ("torchvision.models.resnet.BasicBlock"; a leading "__torch__." is optional).
  std::vector<std::string> torch_executed_modules;
};

constexpr int64_t kMaxMinBlockSize = int64_t(1) << 30;

// Throws trtorch::Error naming the problem: min_block_size outside 1..kMaxMinBlockSize, an empty or
// malformed op or module name, or ops/modules forced to Torch while full compilation is required.
void check_partition_settings(const PartitionSettings& s);

}  // namespace trtorch::frontend
