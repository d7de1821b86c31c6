// Error handling shared by every layer.
//
// Two kinds of failure:
//  * trtorch::Error — a user-facing problem (unsupported op, bad shape, corrupt engine). The
//    message names the op, its schema and the source location where known.
//  * TRTORCH_CHECK — an internal invariant; the message carries file and line.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace trtorch {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

namespace detail {
inline void str_into(std::ostringstream&) {}
template <typename T, typename... Rest>
void str_into(std::ostringstream& os, const T& v, const Rest&... rest) {
  os << v;
  str_into(os, rest...);
}
}  // namespace detail

template <typename... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  detail::str_into(os, args...);
  return os.str();
}

}  // namespace trtorch

// User-facing error: throws trtorch::Error with the concatenated message.
#define TRTORCH_ERROR(...) throw ::trtorch::Error(::trtorch::str_cat(__VA_ARGS__))

// Internal invariant check: names the file and line.
#define TRTORCH_CHECK(cond, ...)                                                              \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      throw ::trtorch::Error(::trtorch::str_cat("internal check failed: ", #cond, " at ",    \
                                                __FILE__, ":", __LINE__, ": ", ##__VA_ARGS__)); \
    }                                                                                         \
  } while (0)

// User-facing condition: when false, throws trtorch::Error with the message (no file/line).
#define TRTORCH_EXPECT(cond, ...)        \
  do {                                   \
    if (!(cond)) TRTORCH_ERROR(__VA_ARGS__); \
  } while (0)
