// A small leveled logger shared by every layer (stderr, prefixed "[trtorch]").
#pragma once

#include <string>

#include "core/util/error.h"

namespace trtorch::util {

enum class LogLevel { kError = 0, kWarning = 1, kInfo = 2, kDebug = 3 };

void set_log_level(LogLevel l);
LogLevel log_level();
void log(LogLevel l, const std::string& msg);
inline bool log_enabled(LogLevel l) { return int(l) <= int(log_level()); }

}  // namespace trtorch::util

#define TRTORCH_LOG(level, ...)                                                         \
  do {                                                                                  \
    if (::trtorch::util::log_enabled(::trtorch::util::LogLevel::level))                 \
      ::trtorch::util::log(::trtorch::util::LogLevel::level, ::trtorch::str_cat(__VA_ARGS__)); \
  } while (0)
