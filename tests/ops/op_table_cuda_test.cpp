// The op-test table (op_cases.h) on the CUDA backend: every row the CUDA backend runs, in every
// one of its dtypes, one named test each (<family>_<name>_<dtype>): an engine built for GPU 0
// from the row's one-node graph (precision: the dtype under test), serialized and loaded again,
// run twice with poisoned outputs and workspace (the second run replays the captured CUDA graph),
// against the reference backend on the same graph (cuda_test_util.h's check()). Torch-free; exits
// 77 (ctest: skipped) without a GPU.
#include <algorithm>

#include "tests/backends/cuda_test_util.h"
#include "tests/ops/op_cases.h"

using namespace trtorch;
using namespace trtorch::cuda_test;
using namespace trtorch::op_test;

namespace {

std::vector<OpRun> cuda_runs() {
  std::vector<OpRun> r;
  for (const OpRun& run : op_runs())
    if (run.row->cuda && std::count(run.row->cuda_skip.begin(), run.row->cuda_skip.end(), run.dtype.dtype) == 0)
      r.push_back(run);
  return r;
}

class OpTableCuda : public ::testing::TestWithParam<OpRun> {};

TEST_P(OpTableCuda, MatchesReference) {
  const OpCase& c = *GetParam().row;
  CheckOptions opt;
  opt.poison_every_run = true;
  opt.tag = "op table";
  opt.float_tolerance = GetParam().dtype.cuda_tol;
  check(run_name(GetParam()), [&c](ir::DType dt) { return make_graph(c, dt); },
        [&c](ir::DType dt) { return make_inputs(c, dt); }, GetParam().dtype.dtype, opt);
}

INSTANTIATE_TEST_SUITE_P(Ops, OpTableCuda, ::testing::ValuesIn(cuda_runs()),
                         [](const ::testing::TestParamInfo<OpRun>& i) { return run_name(i.param); });

}  // namespace

int main(int argc, char** argv) { return gpu_main(argc, argv); }
