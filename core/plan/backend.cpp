#include "core/plan/backend.h"

#include <map>
#include <mutex>

#include "core/util/error.h"

namespace trtorch::plan {

namespace {
std::map<DeviceType, ExecutorFactory>& registry() {
  static std::map<DeviceType, ExecutorFactory> r;
  return r;
}
std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace

std::map<DeviceType, BackendBuilder>& builders() {
  static std::map<DeviceType, BackendBuilder> b;
  return b;
}

bool register_backend_builder(DeviceType type, BackendBuilder builder) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  if (builder)
    builders()[type] = std::move(builder);
  else
    builders().erase(type);
  return true;
}

std::optional<BackendBuilder> find_backend_builder(DeviceType type) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  auto it = builders().find(type);
  if (it == builders().end()) return std::nullopt;
  return it->second;
}

bool register_backend(DeviceType type, ExecutorFactory factory) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  registry()[type] = std::move(factory);
  return true;
}

bool has_backend(DeviceType type) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  return registry().count(type) > 0;
}

std::unique_ptr<Executor> make_executor(std::shared_ptr<const Engine> engine, int device) {
  ExecutorFactory f;
  {
    std::lock_guard<std::mutex> lock(registry_mutex());
    auto it = registry().find(engine->device.type);
    TRTORCH_EXPECT(it != registry().end(), "engine was built for ", engine->device.str(),
                   " but this build of trtorch has no backend for ", device_type_name(engine->device.type));
    f = it->second;
  }
  return f(std::move(engine), device);
}

void check_inputs(const Engine& e, const std::vector<ir::DType>& dtypes, const std::vector<Shape>& shapes) {
  const auto& ins = e.graph->inputs();
  TRTORCH_EXPECT(shapes.size() == ins.size(), "engine expects ", ins.size(), " inputs, got ", shapes.size());
  for (size_t i = 0; i < ins.size(); ++i) {
    const ir::TensorType& t = ins[i]->type;
    const std::string& name = i < e.input_names.size() ? e.input_names[i] : std::string("?");
    TRTORCH_EXPECT(dtypes[i] == t.dtype, "input ", i, " ('", name, "') must have dtype ", ir::dtype_name(t.dtype),
                   ", got ", ir::dtype_name(dtypes[i]));
    TRTORCH_EXPECT(int64_t(shapes[i].size()) == t.rank(), "input ", i, " ('", name, "') must have rank ", t.rank(),
                   " (", t.str(), "), got rank ", shapes[i].size());
    if (ir::is_dynamic(*e.graph)) continue;  // bind_symbols below checks ranges and shared sizes
    for (size_t d = 0; d < shapes[i].size(); ++d) {
      const ir::Dim& dim = t.dims[d];
      int64_t v = shapes[i][d];
      if (dim.is_static()) {
        TRTORCH_EXPECT(v == dim.min, "input ", i, " ('", name, "') dimension ", d, " must be ", dim.min,
                       " (engine input ", t.str(), "), got ", v);
      } else {
        TRTORCH_EXPECT(v >= dim.min && v <= dim.max, "input ", i, " ('", name, "') dimension ", d,
                       " must be in the range [", dim.min, ", ", dim.max, "], got ", v);
      }
    }
  }
  if (ir::is_dynamic(*e.graph)) ir::bind_symbols(*e.graph, shapes);
}

}  // namespace trtorch::plan
