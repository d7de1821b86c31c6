#include "core/util/logging.h"

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <mutex>

namespace trtorch::util {

namespace {
LogLevel initial_level() {
  const char* env = std::getenv("TRTORCH_LOG_LEVEL");
  if (!env) return LogLevel::kWarning;
  int v = std::atoi(env);
  if (v < 0) v = 0;
  if (v > 3) v = 3;
  return LogLevel(v);
}
std::atomic<int>& level_ref() {
  static std::atomic<int> l{int(initial_level())};
  return l;
}
}  // namespace

void set_log_level(LogLevel l) { level_ref() = int(l); }
LogLevel log_level() { return LogLevel(level_ref().load()); }

void log(LogLevel l, const std::string& msg) {
  static std::mutex mu;
  static const char* names[] = {"ERROR", "WARNING", "INFO", "DEBUG"};
  std::lock_guard<std::mutex> lock(mu);
  std::cerr << "[trtorch " << names[int(l)] << "] " << msg << "\n";
}

}  // namespace trtorch::util
