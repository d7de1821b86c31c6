// trtorchc's check of a saved result: it runs what was written to OUTPUT and the TorchScript
// module on the same random inputs and requires their outputs to agree within the threshold.
#pragma once

#include <torch/script.h>

#include "core/runtime/runtime.h"
#include "tools/trtorchc/options.h"
#include "tools/trtorchc/progress.h"

namespace trtorchc {

// The engine of a compiled module (its first), or null.
c10::intrusive_ptr<trtorch::runtime::EngineHolder> engine_of(const torch::jit::Module& m);

// Compares what was saved with TorchScript; a range at its min, opt and max shapes, fixed shapes once.
// Throws a Failure with code kCheckFailed when they disagree beyond o.threshold or the result fails to run.
void check_saved(const Options& o, torch::jit::Module& module, Progress& progress);

}  // namespace trtorchc
