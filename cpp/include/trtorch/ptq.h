// trtorch INT8 post-training quantization: calibrators (docs/int8.md). Includes torch.
//
//   auto loader = torch::data::make_data_loader(
//       MyDataset().map(torch::data::transforms::Stack<>()), torch::data::DataLoaderOptions().batch_size(32));
//   spec.op_precision = trtorch::CompileSpec::DataType::kInt8;
//   spec.ptq_calibrator = trtorch::ptq::make_int8_calibrator(std::move(loader), "calibration.cache", true);
//   // or, from a cache written by an earlier build:
//   spec.ptq_calibrator = trtorch::ptq::make_int8_cache_calibrator("calibration.cache");
#pragma once

#include <torch/torch.h>

#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "trtorch/trtorch.h"

namespace trtorch::ptq {

enum class CalibrationAlgo {
  kEntropy,     // the clipping threshold that loses least information (KL divergence); TensorRT's entropy calibration
  kMinMax,      // the largest magnitude seen
  kPercentile,  // the `percentile` (99.99 by default) of the magnitudes seen
};

struct Calibrator {
  // Each batch: the method's tensor inputs. Empty when the cache is read instead.
  std::vector<std::vector<at::Tensor>> batches;
  CalibrationAlgo algo = CalibrationAlgo::kEntropy;
  double percentile = 99.99;
  // The calibration cache (a text file of one scale per quantized tensor): written after
  // calibrating; read instead of calibrating when use_cache is set and the file exists.
  std::string cache_file;
  bool use_cache = false;
};

// Calibrates on every batch the loader gives (a torch::data data loader whose batches have a
// `.data` tensor, e.g. with the Stack<> transform: the method's one input), unless use_cache is
// set and cache_file exists, in which case the loader is not read.
template <typename DataLoader>
std::shared_ptr<Calibrator> make_int8_calibrator(DataLoader dataloader, std::string cache_file = "",
                                                 bool use_cache = false,
                                                 CalibrationAlgo algo = CalibrationAlgo::kEntropy) {
  auto c = std::make_shared<Calibrator>();
  c->cache_file = std::move(cache_file);
  c->use_cache = use_cache;
  c->algo = algo;
  if (c->use_cache && !c->cache_file.empty() && std::ifstream(c->cache_file).good()) return c;
  for (auto& batch : *dataloader) c->batches.push_back({batch.data.detach().cpu()});
  return c;
}

// Reads the scales from a calibration cache file only (an error at compile time when it is
// missing or made for another model).
inline std::shared_ptr<Calibrator> make_int8_cache_calibrator(std::string cache_file) {
  auto c = std::make_shared<Calibrator>();
  c->cache_file = std::move(cache_file);
  c->use_cache = true;
  return c;
}

}  // namespace trtorch::ptq
