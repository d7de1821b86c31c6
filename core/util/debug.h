// Debugging switches: the one place trtorch reads its environment.
//
// Nothing here changes what an engine computes or how it is built for a user: every knob that
// does is a field of the build options (plan::BuildConfig, CompileSpec, the Python settings,
// trtorchc) and is recorded in the engine. These switches only add checks, logs and test hooks,
// and give the initial values of the runtime settings (log level, engine placement), which the
// API can set.
// docs/debugging.md lists them (it is the table below, in prose).
//
// A switch is read each time it is asked for (they are asked rarely: once per build, load or
// first call), so a test may set and unset one within a process.
#pragma once

#include <cstdlib>
#include <string>

namespace trtorch::util {

#define TRTORCH_DEBUG_SWITCHES(X)                                                                            \
  X(kLogLevel, "TRTORCH_LOG_LEVEL", "initial log level: 0 error, 1 warning (default), 2 info, 3 debug")     \
  X(kEnginePlacement, "TRTORCH_ENGINE_PLACEMENT", "initial engine placement: inputs (default) or recorded (runtime.h)") \
  X(kVerifyPasses, "TRTORCH_VERIFY_PASSES", "1: verify the engine IR after every pass (the test suite sets it)") \
  X(kProfile, "TRTORCH_PROFILE", "1: time every step of a CUDA engine's first call and log the slowest")    \
  X(kCheckNan, "TRTORCH_CHECK_NAN", "1: name the first step of a CUDA engine that makes a NaN/Inf from finite inputs") \
  X(kCheckSteps, "TRTORCH_CHECK_STEPS", "1: recompute each CUDA step with a trusted kernel after it ran, log what differs") \
  X(kNoArenaReuse, "TRTORCH_NO_ARENA_REUSE", "1: give every CUDA buffer its own bytes (finds memory-plan faults)") \
  X(kGraphPdl, "TRTORCH_GRAPH_PDL", "1: keep programmatic (PDL) dependencies in captured CUDA graphs")     \
  X(kGraphCopiesOutside, "TRTORCH_GRAPH_COPIES_OUTSIDE", "1: copy a CUDA graph's inputs and outputs around each replay, not in it") \
  X(kTestGraphFault, "TRTORCH_TEST_GRAPH_FAULT", "1 (test hook): poison replayed CUDA-graph outputs so that the eager fallback runs") \
  X(kDefaultDevice, "TRTORCH_DEFAULT_DEVICE", "reference: device \"auto\" means the reference backend even with a GPU (tests)") \
  X(kTestTmpdir, "TRTORCH_TEST_TMPDIR", "(tests) the folder the C++ tests write their files to (default /tmp/trtorch_test_<uid>)") \
  X(kFuzzSeconds, "TRTORCH_FUZZ_SECONDS", "(tests) how long the engine deserializer fuzz test runs (default 20)") \
  X(kFuzzSeed, "TRTORCH_FUZZ_SEED", "(tests) the seed of the engine deserializer fuzz test (default fixed)") \
  X(kModelDir, "TRTORCH_MODEL_DIR", "(tests) the folder of the model test's saved modules (default models)") \
  X(kModelSize, "TRTORCH_MODEL_SIZE", "(tests) the input resolution of the model test's image models (default 112)")

enum class DebugSwitch {
#define TRTORCH_DEBUG_ENUM(Name, Env, Doc) Name,
  TRTORCH_DEBUG_SWITCHES(TRTORCH_DEBUG_ENUM)
#undef TRTORCH_DEBUG_ENUM
};

namespace debug_detail {
struct Entry {
  const char* env;
  const char* doc;
};
inline constexpr Entry kEntries[] = {
#define TRTORCH_DEBUG_ENTRY(Name, Env, Doc) {Env, Doc},
    TRTORCH_DEBUG_SWITCHES(TRTORCH_DEBUG_ENTRY)
#undef TRTORCH_DEBUG_ENTRY
};
}  // namespace debug_detail

// The environment variable and its one-line description.
inline const char* debug_switch_env(DebugSwitch s) { return debug_detail::kEntries[int(s)].env; }
inline const char* debug_switch_doc(DebugSwitch s) { return debug_detail::kEntries[int(s)].doc; }

// The variable's value, "" when unset. (This header is the one place that reads the environment:
// inline, so that tests built from a few core sources, such as the sanitizer build of the
// deserializer fuzz test, need no library for it.)
inline std::string debug_switch_value(DebugSwitch s) {
  const char* v = std::getenv(debug_switch_env(s));
  return v ? std::string(v) : std::string();
}

// True when the variable is set to "1".
inline bool debug_switch_on(DebugSwitch s) { return debug_switch_value(s) == "1"; }

}  // namespace trtorch::util
