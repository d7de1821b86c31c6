// The log sink (stderr) and the process-wide log level, first read from TRTORCH_LOG_LEVEL.
#include "core/util/logging.h"

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <mutex>

#include "core/util/debug.h"

namespace trtorch::util {

namespace {
LogLevel initial_level() {
  const std::string env = debug_switch_value(DebugSwitch::kLogLevel);
  if (env.empty()) return LogLevel::kWarning;
  int v = std::atoi(env.c_str());
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
