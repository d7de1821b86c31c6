// INT8 post-training calibration (docs/int8.md): the calibration batches run through an FP32
// engine of the converted graph that also returns every tensor the INT8 build quantizes; their
// magnitudes' statistics give one scale each (plan/calibration.h), kept in a cache file that a
// rebuild of the same model reads instead of calibrating again.
#pragma once

#include <ATen/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "core/plan/builder.h"
#include "core/plan/calibration.h"

namespace trtorch::frontend {

struct CalibrationSettings {
  // Each batch: the method's tensor inputs, shaped as the compile spec allows.
  std::vector<std::vector<at::Tensor>> batches;
  plan::CalibrationAlgo algo = plan::CalibrationAlgo::kEntropy;
  double percentile = 99.99;  // kPercentile's
  std::string cache_file;     // written after calibrating (empty: none)
  bool use_cache = false;     // read cache_file when it exists instead of calibrating
};

// The table of scales for the converted graph: read from the cache, or calibrated on `build`'s
// device (and then written to the cache).
std::shared_ptr<const plan::CalibrationTable> calibrate(const ir::Graph& converted,
                                                        const std::vector<std::string>& input_names,
                                                        const plan::BuildConfig& build,
                                                        const CalibrationSettings& settings);

}  // namespace trtorch::frontend
