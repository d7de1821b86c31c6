// The debugging switch table's lookups: names, descriptions and values read from the environment.
#include "core/util/debug.h"

#include <cstdlib>

namespace trtorch::util {

namespace {
struct Entry {
  const char* env;
  const char* doc;
};
constexpr Entry kEntries[] = {
#define TRTORCH_DEBUG_ENTRY(Name, Env, Doc) {Env, Doc},
    TRTORCH_DEBUG_SWITCHES(TRTORCH_DEBUG_ENTRY)
#undef TRTORCH_DEBUG_ENTRY
};
}  // namespace

const char* debug_switch_env(DebugSwitch s) { return kEntries[int(s)].env; }
const char* debug_switch_doc(DebugSwitch s) { return kEntries[int(s)].doc; }

std::string debug_switch_value(DebugSwitch s) {
  const char* v = std::getenv(debug_switch_env(s));
  return v ? std::string(v) : std::string();
}

bool debug_switch_on(DebugSwitch s) { return debug_switch_value(s) == "1"; }

}  // namespace trtorch::util
