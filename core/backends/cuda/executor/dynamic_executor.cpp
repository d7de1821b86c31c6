// Engines with dynamic input dims: a CudaExecutor per input shape, over the engine specialized
// to that shape, the most recently used kept (see DynamicCudaExecutor in executor.h).
#include <algorithm>
#include <chrono>

#include "core/backends/cuda/executor/executor.h"
#include "core/util/logging.h"

namespace trtorch::backends::cuda {

std::shared_ptr<plan::Engine> specialize_engine(const plan::Engine& e, const std::vector<plan::Shape>& shapes) {
  auto s = std::make_shared<plan::Engine>();
  s->device = e.device;
  s->precision = e.precision;
  s->graph = ir::specialize(*e.graph, shapes);
  s->input_names = e.input_names;
  s->output_names = e.output_names;
  s->producer = e.producer;
  s->backend_data = e.backend_data;
  return s;
}

CudaExecutor& DynamicCudaExecutor::instance(const std::vector<plan::Shape>& shapes) {
  auto it = std::find_if(instances_.begin(), instances_.end(), [&](const auto& p) { return p.first == shapes; });
  if (it == instances_.begin() && it != instances_.end()) return *it->second;
  std::pair<std::vector<plan::Shape>, std::unique_ptr<CudaExecutor>> entry;
  if (it != instances_.end()) {
    entry = std::move(*it);
    instances_.erase(it);
  } else {
    // Built from the tactics and options the engine recorded; a tactic chosen at the opt shapes
    // that does not fit these shapes is chosen again.
    const bool at_opt = shapes == engine_->opt_shapes;
    const auto t0 = std::chrono::steady_clock::now();
    std::shared_ptr<plan::Engine> specialized = specialize_engine(*engine_, shapes);
    TRTORCH_LOG(kInfo, "dynamic CUDA engine: specialized to input shapes ", at_opt ? "(the opt shapes) " : "", "in ",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), " s");
    // The weights on the device are shared with the most recently used shape's executor.
    std::shared_ptr<const DeviceConstants> constants =
        instances_.empty() ? nullptr : instances_.front().second->device_constants();
    entry = {shapes, std::make_unique<CudaExecutor>(std::move(specialized), nullptr, !at_opt, device_,
                                                    std::move(constants))};
    if (instances_.size() >= kMaxShapes) instances_.pop_back();
  }
  instances_.insert(instances_.begin(), std::move(entry));
  return *instances_.front().second;
}

}  // namespace trtorch::backends::cuda
