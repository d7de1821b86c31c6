// The op-test table (op_cases.h) on the reference backend: every row in every one of its dtypes,
// one named test each (<family>_<name>_<dtype>), run through reference::run on a one-node graph
// and compared with the naive double-precision oracle (op_oracle.h), whose outputs are rounded to
// the output's storage type once, as the reference defines. Also checks the table itself: every
// IR op of ops.def has rows, rows sit in their op's family, names are unique. Torch-free.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/backends/reference/reference.h"
#include "core/util/error.h"
#include "tests/ops/op_cases.h"
#include "tests/ops/op_oracle.h"

using namespace trtorch;
using namespace trtorch::ir;
using namespace trtorch::op_test;
namespace ref = trtorch::backends::reference;

namespace {

class OpTableReference : public ::testing::TestWithParam<OpRun> {};

TEST_P(OpTableReference, MatchesOracle) {
  const OpCase& c = *GetParam().row;
  const DTypeTol& t = GetParam().dtype;
  auto g = make_graph(c, t.dtype);
  verify(*g);
  const std::vector<HostTensor> inputs = make_inputs(c, t.dtype);
  const std::vector<HostTensor> got = ref::run(*g, inputs);
  const Node* n = g->nodes().back();
  const std::vector<HostTensor> specs = draw_specs(c, t.dtype);
  std::vector<HostTensor> node_inputs;
  for (size_t i = 0; i < n->inputs.size(); ++i)
    node_inputs.push_back(specs[c.wiring.empty() ? i : size_t(c.wiring[i])]);
  const std::vector<Expected> want = oracle(c.op, n->attrs, node_inputs);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(str_cat("output ", i));
    const TensorType& type = n->outputs[i]->type;
    EXPECT_EQ(got[i].dtype, type.dtype);
    EXPECT_EQ(got[i].shape, type.static_shape());
    Vec rounded = want[i].values;
    for (double& v : rounded) v = round_to(type.dtype, v);
    expect_close(got[i], want[i].shape, rounded, t.rtol, t.atol, run_name(GetParam()));
  }
}

INSTANTIATE_TEST_SUITE_P(Ops, OpTableReference, ::testing::ValuesIn(op_runs()),
                         [](const ::testing::TestParamInfo<OpRun>& i) { return run_name(i.param); });

// Adding an op to ops.def without rows fails here.
TEST(OpTable, EveryOpHasRows) {
  std::map<OpKind, int> count;
  for (const OpCase& c : op_cases()) ++count[c.op];
  for (int k = 0; k < kNumOps; ++k)
    EXPECT_GT(count[OpKind(k)], 0) << "no row of the op-test table runs " << op_info(OpKind(k)).name
                                   << ": add rows to tests/ops/op_rows*.cpp";
}

TEST(OpTable, RowsSitInTheirFamilyWithUniqueNames) {
  std::set<std::string> names;
  for (const OpCase& c : op_cases()) {
    EXPECT_STREQ(c.family.c_str(), family_of(c.op)) << c.name;
    EXPECT_TRUE(names.insert(c.family + "/" + c.name).second) << "duplicate row " << c.family << "/" << c.name;
    EXPECT_FALSE(c.dtypes.empty()) << c.name;
  }
}

// Prints the number of rows per family (the test log shows the table's size).
TEST(OpTable, RowsPerFamily) {
  std::map<std::string, std::pair<int, int>> per;
  for (const OpCase& c : op_cases()) {
    per[c.family].first += 1;
    per[c.family].second += int(c.dtypes.size());
  }
  for (const auto& [family, n] : per)
    std::printf("[ op table ] %-14s %4d rows %5d runs\n", family.c_str(), n.first, n.second);
}

}  // namespace
