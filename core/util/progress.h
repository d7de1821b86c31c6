// Build progress for people waiting on a compile: the slow stages report "done of total, current
// item" to a callback that the caller installs for its own thread (trtorchc's bar, Python's
// progress=True). Without a callback, a report costs one thread-local read.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace trtorch::util {

// stage: "lowering", "shape analysis", "engine segments", "converting", "optimizing", "kernels";
// done == total ends the stage.
using ProgressCallback =
    std::function<void(const std::string& stage, size_t done, size_t total, const std::string& item)>;

// Installs `cb` for this thread while it lives (the previous one comes back after).
class ProgressScope {
 public:
  explicit ProgressScope(ProgressCallback cb);
  ~ProgressScope();
  ProgressScope(const ProgressScope&) = delete;
  ProgressScope& operator=(const ProgressScope&) = delete;

 private:
  ProgressCallback previous_;
};

bool progress_wanted();
// A callback that throws (a Python KeyboardInterrupt, say) stops the compile with that error.
void report_progress(const char* stage, size_t done, size_t total, const std::string& item = std::string());

}  // namespace trtorch::util
