#include "core/util/progress.h"

namespace trtorch::util {

namespace {
thread_local ProgressCallback current;
}  // namespace

ProgressScope::ProgressScope(ProgressCallback cb) : previous_(std::move(current)) { current = std::move(cb); }

ProgressScope::~ProgressScope() { current = std::move(previous_); }

bool progress_wanted() { return static_cast<bool>(current); }

void report_progress(const char* stage, size_t done, size_t total, const std::string& item) {
  if (current) current(stage, done, total, item);
}

}  // namespace trtorch::util
