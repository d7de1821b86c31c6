// Helpers for tests that compare trtorch with the TorchScript interpreter.
#pragma once

#include <gtest/gtest.h>
#include <torch/script.h>

#include <string>
#include <vector>

#include "trtorch/trtorch.h"

namespace trtorch::testing {

// Flattens a forward's return value into its tensors (tuples and lists in order, None skipped).
std::vector<at::Tensor> flatten(const c10::IValue& v);

// max |a - b| / max |b| over all outputs (scaled error, robust to values near zero), with a
// shape and count check. Returns +inf on a shape mismatch.
double max_rel_error(const std::vector<at::Tensor>& got, const std::vector<at::Tensor>& want);

// Runs `f`, expects an exception whose message contains every one of `needles`.
template <typename F>
void expect_error(F f, std::vector<std::string> needles) {
  try {
    f();
  } catch (const std::exception& e) {
    std::string msg = e.what();
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "missing '" << n << "' in:\n" << msg << "\n---";
    return;
  }
  ADD_FAILURE() << "expected an error";
}

// Runs a module on inputs without autograd.
c10::IValue run(torch::jit::Module& m, const std::vector<at::Tensor>& inputs);

// A compile spec for the reference backend with the inputs' shapes.
trtorch::CompileSpec reference_spec(const std::vector<at::Tensor>& inputs, bool fp16 = false);

// A compile spec for CUDA GPU 0 with the inputs' shapes.
trtorch::CompileSpec gpu_spec(const std::vector<at::Tensor>& inputs, bool fp16 = false);
// True when a CUDA GPU and trtorch's CUDA backend are both present.
bool have_gpu_backend();
std::vector<at::Tensor> to_cuda(const std::vector<at::Tensor>& inputs);

// Floating-point inputs converted to half (integer and bool inputs unchanged).
std::vector<at::Tensor> to_half(const std::vector<at::Tensor>& inputs);

// Folder for test artifacts (TRTORCH_TEST_TMPDIR or /tmp), created on first use.
std::string tmp_dir();
// The directory holding the test binaries (for trtorch_run).
std::string bin_dir();

}  // namespace trtorch::testing
