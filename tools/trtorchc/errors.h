// trtorchc's exit codes and the error that carries one from anywhere in the tool up to main, which
// prints its message to stderr and exits with its code.
#pragma once

#include <c10/util/Exception.h>

#include <exception>
#include <string>

namespace trtorchc {

enum ExitCode : int {
  kOk = 0,
  kUsage = 1,          // bad command line
  kInputError = 2,     // missing or unreadable input, unwritable output
  kUnsupported = 3,    // the method uses operators trtorch cannot compile
  kCompileError = 4,   // the compiler rejected the module or spec
  kCheckFailed = 5,    // the compiled module failed to run or disagrees with TorchScript
};

struct Failure {
  int code;
  std::string message;
};

[[noreturn]] inline void fail(int code, const std::string& msg) { throw Failure{code, msg}; }

// The message of an exception, without the backtrace torch appends to its own errors.
inline std::string error_text(const std::exception& e) {
  if (auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
  return e.what();
}

}  // namespace trtorchc
