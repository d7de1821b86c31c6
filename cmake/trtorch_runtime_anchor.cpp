// Compiled into every target that links trtorch::runtime (see trtorchConfig.cmake): a reference to
// the runtime library, so that the linker keeps it and its registrations run at load time.
extern "C" int trtorch_runtime_anchor();
namespace {
const int trtorch_runtime_kept = trtorch_runtime_anchor();
}  // namespace
