// What a CUDA engine records in its backend data (plan::Engine::backend_data), and its strict
// parsing. A header naming the format, the build options that change the engine (the common
// "key=value;key=value" format), one tactic per graph node, then the saved plans:
//   trtorch-cuda-tactics v4
//   allow_tf32=0;channels_last=1;cuda_graphs=1;conv_candidates=6
//   <tactic of node 0, empty for a node with one implementation>
//   ...                                   (one line per node)
//   plans <k>
//   <tactic>\n<byte count> <FNV-1a 64 of the bytes, hex>\n<bytes>   (k times, the tactics distinct)
// A saved plan is what a kernel needs to run its tactic without building it again (a serialized
// cuDNN execution plan, with the code cuDNN compiled for it at build time): a load takes it
// instead of compiling. A saved plan whose bytes do not match their checksum is an error (a damaged
// engine), so that code damaged after the engine's own checksum was made never reaches the driver.
// Version 3 (no plans section) is still read.
// A loaded engine plans its layouts and uses CUDA graphs as it was built; a dynamic engine that
// chooses a tactic again at a new shape chooses with the recorded options.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace trtorch::backends::cuda {

// The build options a CUDA engine records (plan::BuildConfig's fields of the same names).
struct EngineOptions {
  bool allow_tf32 = false;    // FP32 convolutions and GEMMs may use TF32 tensor cores
  bool channels_last = true;  // 4-D FP16/BF16 convolution activations in channels-last (NHWC) layout
  bool cuda_graphs = true;    // launches captured once and replayed as a CUDA graph
  int conv_candidates = 6;    // cuDNN engine configs each convolution times (1 to 16)
  // Not in the options line (the build options of the engine record it): it changes only how
  // convolutions are chosen, which the timing cache must tell apart (choice_key).
  int conv_runtime_compilation = 2;  // a ConvRuntimeCompilation (kernel.h): 2 fallback, the default

  // The options line: "allow_tf32=0;channels_last=1;cuda_graphs=1;conv_candidates=6".
  std::string str() const;
  // The options that change which tactic a kernel chooses (all but cuda_graphs), in the same
  // format, and the version of the convolutions' choice (";conv_choice=4": CUTLASS races cuDNN,
  // few-channel stems fold, "fallback" keeps precompiled cuDNN configs unless a runtime-compiled
  // one is 5% faster; caches from before chose otherwise): part of every timing-cache key.
  std::string choice_key() const;
  // Parses an options line strictly: every key exactly once, nothing else, each value in range.
  // Throws an error quoting the line otherwise.
  static EngineOptions parse(const std::string& line);
};

struct BackendData {
  EngineOptions options;
  std::vector<std::string> tactics;  // one per graph node
  std::map<std::string, std::vector<uint8_t>> plans;  // tactic -> its saved plan
};

// The data as bytes. Each tactic must be one line.
std::vector<uint8_t> write_backend_data(const BackendData& d);
// Parses what write_backend_data() wrote for a graph of `n_nodes` nodes; a missing or
// other-version header, a malformed options line or a wrong tactic count throws a clear error.
BackendData read_backend_data(const std::vector<uint8_t>& data, size_t n_nodes);

}  // namespace trtorch::backends::cuda
