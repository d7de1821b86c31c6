// The interface between the runtime and a backend. A backend turns an Engine into an Executor;
// the runtime owns all memory (torch's allocator), asks for output shapes and workspace size,
// then calls execute() with raw pointers on the backend's device and its stream.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/plan/engine.h"

namespace trtorch::plan {

using Shape = std::vector<int64_t>;

class Executor {
 public:
  virtual ~Executor() = default;
  // Output shapes for the given input shapes (which the caller has checked against the
  // engine's input types).
  virtual std::vector<Shape> output_shapes(const std::vector<Shape>& input_shapes) = 0;
  // Scratch memory execute() needs for these input shapes, in bytes.
  virtual size_t workspace_size(const std::vector<Shape>& input_shapes) = 0;
  // Runs the engine. `stream` is a cudaStream_t for the CUDA backend, null for the reference.
  virtual void execute(const std::vector<const void*>& inputs, const std::vector<Shape>& input_shapes,
                       const std::vector<void*>& outputs, void* workspace, void* stream) = 0;
};

// `device`: the index of the device to run on (CUDA: a GPU of the engine's compute capability),
// or kRecordedDevice for the one the engine records. Backends with one device ignore it.
constexpr int kRecordedDevice = -1;
using ExecutorFactory = std::function<std::unique_ptr<Executor>(std::shared_ptr<const Engine>, int device)>;

// Backends register a factory for their device type from a static initializer.
bool register_backend(DeviceType type, ExecutorFactory factory);
bool has_backend(DeviceType type);
std::unique_ptr<Executor> make_executor(std::shared_ptr<const Engine> engine, int device = kRecordedDevice);

// Backends that prepare engines at build time (tactic selection on the target device) register
// a hook that fills the engine's device record and backend data; build_engine calls it.
// What a build asks of the hook beyond that (the INT8 layer choice, int8_choice.h, builds one
// graph several ways):
//   node_times   non-null: also time the built engine, eager launches on zeroed inputs, into one
//                time per graph node in graph order (ms; 0 for nodes without a kernel; the layout
//                changes the backend inserts count in the node they feed);
//   tactic_memo  non-null: tactics chosen by earlier builds of this build_engine call (node key ->
//                tactic), read before timing a node and added to, as a timing cache in memory.
struct BuildConfig;
struct BackendBuildRequest {
  std::vector<double>* node_times = nullptr;
  std::map<std::string, std::string>* tactic_memo = nullptr;
};
using BackendBuilder = std::function<void(Engine&, const BuildConfig&, const BackendBuildRequest&)>;
// An empty `builder` removes the type's hook.
bool register_backend_builder(DeviceType type, BackendBuilder builder);
// A copy of the type's hook (none: nullopt), so that a hook removed meanwhile stays valid for the caller.
std::optional<BackendBuilder> find_backend_builder(DeviceType type);

// Checks actual input shapes and dtypes against the engine's input types; the message names
// the input, the dimension, the expected size or range and the value received.
void check_inputs(const Engine& e, const std::vector<ir::DType>& dtypes, const std::vector<Shape>& shapes);

}  // namespace trtorch::plan
