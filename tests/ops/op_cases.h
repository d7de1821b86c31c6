// The op-test table: one row per (IR op, attributes, input shapes) case, grouped by op family,
// run by every backend's op-table test (op_table_reference_test against the naive oracle of
// op_oracle.h, op_table_cuda_test against the reference backend).
//
// How to add a row (adding an op = adding rows; both harnesses pick them up):
//  1. Find the family's function: conv_rows(), gemm_rows(), attention_rows(), norm_rows() and
//     pooling_rows() in op_rows.cpp; elementwise_rows(), compare_rows(), reduce_rows(),
//     scan_rows() and data_movement_rows() in op_rows_more.cpp. A new IR op first gets its
//     family in family_of() (op_cases.cpp), named as in the layout table.
//  2. Append a row:
//       rows.push_back(row("norm", "batch_norm_rank3", OpKind::BatchNorm, BatchNormAttrs{1e-3},
//                          {in({2, 5, 7}, -3, 3), weight(in({5})), weight(in({5})),
//                           weight(in({5})), weight(in({5}, 0.1, 2.0))},
//                          floats()));
//     - the name is unique within the family (letters, digits, '_'); the test is named
//       <family>_<name>_<dtype>;
//     - inputs, in the node's input order: in(shape, lo, hi) takes the dtype under test,
//       fixed(dtype, shape, lo, hi) a dtype of its own (indices, masks), given(dtype, shape,
//       values) exact values; weight(spec) makes one a graph constant (what a backend wants
//       constant: Conv2d weights, BatchNorm parameters). Values are uniform in [lo, hi]
//       (integers: the integers in it; bools: half true), rounded to the dtype: positive ranges
//       for log / sqrt / div / pow, valid ranges for indices; `step` rounds floats to multiples
//       (ties), `special` sets single values (NaN, -inf);
//     - dtypes: floats() (FP32 / FP16 / BF16 with the default tolerances), ints(), every_dtype()
//       (exact), with_tol(...) for other tolerances, only(...) for a subset; a DTypeTol's
//       `cuda_tol` overrides the CUDA test's tolerance (relative to the output's largest
//       magnitude; default: cuda_test_util.h's tolerance());
//     - attrs_for (attributes that depend on the dtype under test: a Constant's value), wiring
//       (one graph input read by several node inputs), seed: see OpCase.
//  3. When the op is new, teach op_oracle.cpp (or op_oracle_compute.cpp) its naive
//     double-precision definition; the reference test fails for an op of ops.def without rows.
// A row the CUDA backend does not run sets cuda = false (or lists dtypes in cuda_skip) and says
// why in a comment.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "core/ir/ir.h"

namespace trtorch::op_test {

using ir::DType;
using Shape = std::vector<int64_t>;

// One graph input of a row.
struct InputSpec {
  Shape shape;
  std::optional<DType> dtype;  // none: the dtype under test
  double lo = -1.0, hi = 1.0;  // uniform range (integers: the integers in it)
  double step = 0.0;           // > 0: floats rounded to multiples of it (ties for comparisons)
  std::vector<double> values;  // when not empty: exactly these values (numel of them)
  // (index, value) set after drawing, on floating inputs only (NaN, -inf, exact ties).
  std::vector<std::pair<int64_t, double>> special;
  // A weight: a Constant of the graph, not a graph input (the CUDA backend wants the weights of
  // Conv2d and the parameters of BatchNorm constant).
  bool constant = false;
};

// A dtype a row runs in, and its tolerances. Against the oracle: |got - want| <= rtol * |want| +
// atol * max(1, max |want|). Against the reference on CUDA: cuda_tol bounds the error relative to
// the output's largest magnitude (< 0: cuda_test_util.h's tolerance() of the output's dtype).
struct DTypeTol {
  DType dtype;
  double rtol = 0, atol = 0;
  double cuda_tol = -1;
};

struct OpCase {
  std::string family;  // the op family (family_of(op))
  std::string name;    // unique within the family
  ir::OpKind op;
  ir::Attrs attrs;
  // When set, the attributes for a dtype under test (a Constant's value), instead of `attrs`.
  std::function<ir::Attrs(DType)> attrs_for;
  std::vector<InputSpec> inputs;
  // Node input i reads graph input wiring[i] (packed attention passes one tensor three times);
  // empty: one graph input per node input.
  std::vector<int> wiring;
  std::vector<DTypeTol> dtypes;
  bool cuda = true;   // false: the CUDA test skips the row
  std::vector<DType> cuda_skip;  // dtypes the CUDA test skips (with a comment at the row)
  uint32_t seed = 1;  // input i draws with seed + i
};

// A row and one of its dtypes: the parameter of both harnesses.
struct OpRun {
  const OpCase* row;
  DTypeTol dtype;
};

// gtest prints a parameter by its name.
void PrintTo(const OpRun& r, std::ostream* os);

// The table, in family order (op_rows.cpp).
const std::vector<OpCase>& op_cases();
// Every (row, dtype); CUDA-only selection is the harness's.
std::vector<OpRun> op_runs();
// "<family>_<name>_<dtype>", usable as a gtest parameter name.
std::string run_name(const OpRun& r);

// The family of an IR op, as in the layout table (conv, gemm, attention, norm, pooling,
// elementwise, compare, reduce, scan, data_movement).
const char* family_of(ir::OpKind op);

// The graph of one node on graph inputs (and constants) of the row's dtypes (the dtype under test `dt` where the
// spec has none), its outputs marked; and the row's inputs for `dt`.
// Every spec drawn, in spec order (the constants too): node input i is spec wiring[i] (or i).
std::unique_ptr<ir::Graph> make_graph(const OpCase& c, DType dt);
std::vector<ir::HostTensor> make_inputs(const OpCase& c, DType dt);
std::vector<ir::HostTensor> draw_specs(const OpCase& c, DType dt);
ir::Attrs attrs_of(const OpCase& c, DType dt);

// Row builders (op_cases.cpp).
OpCase row(const std::string& family, const std::string& name, ir::OpKind op, ir::Attrs attrs,
           std::vector<InputSpec> inputs, std::vector<DTypeTol> dtypes);
InputSpec in(Shape shape, double lo = -1.0, double hi = 1.0);
InputSpec fixed(DType t, Shape shape, double lo = -1.0, double hi = 1.0);
InputSpec given(DType t, Shape shape, std::vector<double> values);
// `s` as a constant of the graph (a weight).
InputSpec weight(InputSpec s);
// FP32 / FP16 / BF16 with the default tolerances: FP32 {1e-5, 1e-6}; FP16 and BF16 twice half an
// ulp relative ({2^-10, 1e-5}, {2^-7, 1e-4}): inputs are exact in the storage type, compute is
// FP32 and the output is rounded once.
std::vector<DTypeTol> floats();
// The three floating types with rtol = atol = the given value per type.
std::vector<DTypeTol> with_tol(double f32, double f16, double bf16);
std::vector<DTypeTol> ints();         // int32, int64: exact
std::vector<DTypeTol> every_dtype();  // all six dtypes: exact
// Only the listed dtypes of `all`.
std::vector<DTypeTol> only(std::vector<DTypeTol> all, const std::vector<DType>& keep);

}  // namespace trtorch::op_test
