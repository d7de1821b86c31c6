// Bad input, end to end: every case must give a clear error that names the problem, never a
// crash or a silently wrong result.
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/serialize.h>

#include <cstdio>
#include <fstream>

#include "core/frontend/partitioning/settings.h"
#include "core/plan/backend.h"
#include "core/runtime/runtime.h"
#include "tests/common/torch_test_util.h"

using namespace trtorch::testing;

namespace {

torch::jit::Module small_module() {
  torch::jit::Module m("__torch__.Small");
  m.register_attribute("w", c10::TensorType::get(), torch::randn({4, 8}));
  m.define("def forward(self, x):\n  return torch.relu(torch.matmul(x, self.w.t()))\n");
  return m;
}

std::string engine_bytes() {
  auto m = small_module();
  return trtorch::ConvertGraphToTRTEngine(m, "forward", reference_spec({torch::randn({2, 8})}));
}

int run_cmd(const std::string& cmd, std::string* out) {
  std::string path = tmp_dir() + "/cmd_out.txt";
  int rc = std::system((cmd + " > " + path + " 2>&1").c_str());
  std::ifstream f(path);
  out->assign(std::istreambuf_iterator<char>(f), {});
  return WEXITSTATUS(rc);
}

TEST(RunTimeInputs, WrongCountRankShapeDtype) {
  auto m = small_module();
  auto compiled = trtorch::CompileGraph(m, reference_spec({torch::randn({2, 8})}));
  // FP32, 8-term sums in another order than torch's (threaded) matmul: ~1e-6 apart.
  EXPECT_LE(max_rel_error(flatten(run(compiled, {torch::ones({2, 8})})), flatten(run(m, {torch::ones({2, 8})}))), 1e-5);
  expect_error([&] { compiled.forward({torch::randn({2, 8}), torch::randn({2, 8})}); }, {"forward", "argument"});
  expect_error([&] { compiled.forward({torch::randn({2, 8, 1})}); }, {"input 0", "rank 2", "got rank 3"});
  expect_error([&] { compiled.forward({torch::randn({3, 8})}); }, {"input 0", "dimension 0", "must be 2", "got 3"});
  expect_error([&] { compiled.forward({torch::randn({2, 8}).to(torch::kDouble)}); }, {"input 0", "Double"});
  expect_error([&] { compiled.forward({torch::randn({2, 8}).to(torch::kHalf)}); }, {"input 0", "dtype f32", "got Half"});
}

TEST(RunTimeInputs, WrongDeviceNamesBothDevices) {
  auto m = small_module();
  auto compiled = trtorch::CompileGraph(m, reference_spec({torch::randn({2, 8})}));
  expect_error([&] { compiled.forward({torch::empty({2, 8}, torch::TensorOptions().device(torch::kMeta))}); },
               {"input 0", "is on meta", "engine runs on cpu"});
  if (torch::cuda::is_available()) {
    expect_error([&] { compiled.forward({torch::randn({2, 8}).cuda()}); }, {"input 0", "is on cuda:0", "engine runs on cpu"});
  }
}

TEST(RunTimeInputs, NonContiguousInputIsHandled) {
  auto m = small_module();
  auto compiled = trtorch::CompileGraph(m, reference_spec({torch::randn({2, 8})}));
  at::Tensor x = torch::randn({8, 2}).t();
  ASSERT_FALSE(x.is_contiguous());
  // Same FP32 sums as above in another order than torch's matmul (CI saw 1.9e-6 apart).
  EXPECT_LE(max_rel_error(flatten(run(compiled, {x})), flatten(run(m, {x}))), 1e-5);
}

// The engine placement (where CUDA engines run): the C++ setting, its names and their errors. A
// reference engine runs on the CPU under either placement.
TEST(EnginePlacement, SettingRoundTripsAndBadNamesAreErrors) {
  EXPECT_EQ(trtorch::get_engine_placement(), trtorch::EnginePlacement::kInputs);  // the default
  auto m = small_module();
  auto compiled = trtorch::CompileGraph(m, reference_spec({torch::randn({2, 8})}));
  for (auto p : {trtorch::EnginePlacement::kRecorded, trtorch::EnginePlacement::kInputs}) {
    trtorch::set_engine_placement(p);
    EXPECT_EQ(trtorch::get_engine_placement(), p);
    at::Tensor x = torch::randn({2, 8});
    EXPECT_LE(max_rel_error(flatten(run(compiled, {x})), flatten(run(m, {x}))), 1e-5);
  }
  EXPECT_EQ(std::string(trtorch::runtime::engine_placement_name(trtorch::runtime::EnginePlacement::kRecorded)),
            "recorded");
  EXPECT_EQ(trtorch::runtime::parse_engine_placement("recorded"), trtorch::runtime::EnginePlacement::kRecorded);
  expect_error([] { trtorch::runtime::parse_engine_placement("gpu0"); },
               {"unknown engine placement 'gpu0'", "'inputs'", "'recorded'"});
  expect_error([] { trtorch::set_engine_placement(trtorch::EnginePlacement(7)); }, {"unknown engine placement 7"});
  EXPECT_EQ(trtorch::get_engine_placement(), trtorch::EnginePlacement::kInputs);
}

TEST(EngineBytes, StartWithMagicAndRoundTrip) {
  std::string e = engine_bytes();
  ASSERT_GT(e.size(), 16u);
  EXPECT_EQ(e.substr(0, 7), "TRTORCH");
  auto holder = c10::make_intrusive<trtorch::runtime::EngineHolder>(e);
  EXPECT_NE(holder->info().find("reference"), std::string::npos);
}

TEST(EngineBytes, TruncatedCorruptedWrongVersion) {
  std::string e = engine_bytes();
  expect_error([&] { trtorch::runtime::EngineHolder h(e.substr(0, e.size() / 2)); }, {"truncated"});
  expect_error([&] { trtorch::runtime::EngineHolder h(""); }, {"engine"});
  std::string bad = e;
  bad[bad.size() - 3] ^= 0x5a;
  expect_error([&] { trtorch::runtime::EngineHolder h(bad); }, {"checksum"});
  std::string wrong_version = e;
  wrong_version[8] = 99;  // u32 format version follows the 8-byte magic
  expect_error([&] { trtorch::runtime::EngineHolder h(wrong_version); }, {"version 99", "not supported"});
  expect_error([&] { trtorch::runtime::EngineHolder h("definitely not an engine"); }, {"not a trtorch engine"});
}

TEST(SavedModule, CorruptedEngineInsideSavedModuleFailsOnLoad) {
  // A saved module whose engine bytes were damaged on disk gives the deserializer's error.
  auto m = small_module();
  auto compiled = trtorch::CompileGraph(m, reference_spec({torch::randn({2, 8})}));
  std::string path = tmp_dir() + "/corrupt_module.ts";
  compiled.save(path);
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  size_t at = bytes.find("TRTORCH");
  ASSERT_NE(at, std::string::npos) << "engine bytes are stored verbatim in the archive";
  bytes[at + 40] ^= 0x11;
  std::string bad_path = tmp_dir() + "/corrupt_module_bad.ts";
  std::ofstream(bad_path, std::ios::binary) << bytes;
  expect_error([&] { torch::jit::load(bad_path); }, {"checksum"});
}

TEST(FreshProcess, MissingFileAndBadArguments) {
  std::string out;
  std::string runner = bin_dir() + "/trtorch_run";
  EXPECT_EQ(run_cmd(runner + " /nonexistent/model.ts /nonexistent/in.pt /tmp/x.pt", &out), 1);
  EXPECT_NE(out.find("/nonexistent/model.ts"), std::string::npos) << out;
  EXPECT_EQ(run_cmd(runner, &out), 2);
  EXPECT_NE(out.find("usage"), std::string::npos) << out;
  // Options: a flag without its value, a value that is not a count or a device, an unknown flag.
  const std::string files = " a.ts in.pt out.pt";
  EXPECT_EQ(run_cmd(runner + files + " --iters", &out), 2);
  EXPECT_NE(out.find("--iters needs a value"), std::string::npos) << out;
  EXPECT_EQ(run_cmd(runner + files + " --iters 10x", &out), 2);
  EXPECT_NE(out.find("--iters: expected a whole number"), std::string::npos) << out;
  EXPECT_EQ(run_cmd(runner + files + " --device gpu", &out), 2);
  EXPECT_NE(out.find("--device: expected cpu, cuda or cuda:N, got 'gpu'"), std::string::npos) << out;
  EXPECT_EQ(run_cmd(runner + files + " --bogus 1", &out), 2);
  EXPECT_NE(out.find("unknown argument '--bogus'"), std::string::npos) << out;
}

TEST(FreshProcess, WrongShapeInFreshProcessNamesInput) {
  auto m = small_module();
  auto compiled = trtorch::CompileGraph(m, reference_spec({torch::randn({2, 8})}));
  std::string base = tmp_dir() + "/fresh_wrong_shape";
  compiled.save(base + ".ts");
  torch::save(std::vector<at::Tensor>{torch::randn({5, 8})}, base + "_in.pt");
  std::string out;
  EXPECT_EQ(run_cmd(bin_dir() + "/trtorch_run " + base + ".ts " + base + "_in.pt " + base + "_out.pt", &out), 1);
  EXPECT_NE(out.find("dimension 0 must be 2"), std::string::npos) << out;
}

TEST(Compile, UnsupportedOpIsReportedWithSchemaAndLocation) {
  torch::jit::Module m("__torch__.Unsupported");
  m.define("def forward(self, x):\n  y = torch.relu(x)\n  return torch.logcumsumexp(y, 1) + torch.special_i0e(y)\n");
  std::string report;
  EXPECT_FALSE(trtorch::CheckMethodOperatorSupport(m, "forward", &report));
  EXPECT_NE(report.find("aten::logcumsumexp"), std::string::npos) << report;
  EXPECT_NE(report.find("aten::special_i0e"), std::string::npos) << report;
  EXPECT_NE(report.find("<string>:3"), std::string::npos) << report;
  EXPECT_EQ(report.find("aten::relu"), std::string::npos) << report;
  // With require_full_compilation the compile fails listing every unsupported op; by default
  // they run in TorchScript and the rest is compiled.
  trtorch::CompileSpec full = reference_spec({torch::randn({2, 3})});
  full.require_full_compilation = true;
  expect_error([&] { trtorch::CompileGraph(m, full); },
               {"require_full_compilation", "aten::logcumsumexp", "aten::special_i0e", "<string>:3"});
  torch::jit::Module partial = trtorch::CompileGraph(m, reference_spec({torch::randn({2, 3})}));
  torch::Tensor px = torch::randn({2, 3});
  EXPECT_TRUE(torch::allclose(partial.forward({px}).toTensor(), m.forward({px}).toTensor(), 1e-5, 1e-6));

  torch::jit::Module ok = small_module();
  std::string empty;
  EXPECT_TRUE(trtorch::CheckMethodOperatorSupport(ok, "forward", &empty));
  EXPECT_TRUE(empty.empty());
}

TEST(Compile, BadSpecsAndModules) {
  auto m = small_module();
  expect_error([&] { trtorch::CompileGraph(m, reference_spec({torch::randn({2, 8}), torch::randn({2, 8})})); },
               {"takes 1 inputs", "2 input shapes"});
  expect_error([&] { trtorch::CompileGraph(m, reference_spec({torch::randn({2, 9})})); },
               {"inner dim 9", "expects 8", "<string>:2"});
  trtorch::CompileSpec range_spec({trtorch::CompileSpec::InputRange({1, 8}, {2, 8}, {4, 8})});
  range_spec.device.type = trtorch::CompileSpec::Device::Type::kReference;
  // A range compiles to one engine for every batch in [1, 4]; outside it, a clear error.
  torch::jit::Module ranged = trtorch::CompileGraph(m, range_spec);
  for (int64_t b : {1, 3, 4}) {
    torch::Tensor x = torch::randn({b, 8});
    torch::Tensor got = ranged.forward({x}).toTensor(), want = m.forward({x}).toTensor();
    EXPECT_TRUE(torch::allclose(got, want, 1e-5, 1e-6)) << "batch " << b;
  }
  expect_error([&] { ranged.forward({torch::randn({5, 8})}); },
               {"input 0", "dimension 0 must be in the range [1, 4], got 5"});
  expect_error([&] { trtorch::ConvertGraphToTRTEngine(m, "no_such_method", reference_spec({torch::randn({2, 8})})); },
               {"no method 'no_such_method'"});

  torch::jit::Module dyn("__torch__.DataDependent");
  dyn.define("def forward(self, x):\n  if bool(x.sum() > 0):\n    return x * 2.0\n  return x\n");
  // The branch condition is computed from the input: the comparison converts (a bool tensor in
  // the engine), but turning it into a Python bool at compile time cannot, and is reported.
  trtorch::CompileSpec dyn_full = reference_spec({torch::randn({2, 2})});
  dyn_full.require_full_compilation = true;
  expect_error([&] { trtorch::CompileGraph(dyn, dyn_full); },
               {"require_full_compilation", "aten::Bool", "value the model computes", "<string>:2"});
  // By default the branch stays in TorchScript.
  torch::jit::Module dyn_partial = trtorch::CompileGraph(dyn, reference_spec({torch::randn({2, 2})}));
  for (float sign : {1.0f, -1.0f}) {
    torch::Tensor x = torch::rand({2, 2}) * sign;
    EXPECT_TRUE(torch::allclose(dyn_partial.forward({x}).toTensor(), dyn.forward({x}).toTensor())) << sign;
  }
  std::string dyn_report;
  EXPECT_FALSE(trtorch::CheckMethodOperatorSupport(dyn, "forward", &dyn_report));
  EXPECT_NE(dyn_report.find("aten::Bool"), std::string::npos) << dyn_report;
  EXPECT_NE(dyn_report.find("prim::If"), std::string::npos) << dyn_report;
  EXPECT_EQ(dyn_report.find("aten::gt"), std::string::npos) << dyn_report;

  torch::jit::Module scalar_in("__torch__.ScalarIn");
  scalar_in.define("def forward(self, x, k: int):\n  return x * k\n");
  expect_error([&] { trtorch::CompileGraph(scalar_in, reference_spec({torch::randn({2}), torch::randn({1})})); },
               {"input 1", "has type int", "inputs must be tensors"});
}

// The engine knobs of the compile spec: out-of-range values are errors that name the knob, found
// before the module is converted; chosen values are recorded in the engine and its summary.
TEST(Compile, EngineKnobsAreCheckedAndRecorded) {
  auto m = small_module();
  auto with = [](auto edit) {
    trtorch::CompileSpec spec = reference_spec({torch::randn({2, 8})});
    edit(spec);
    return spec;
  };
  expect_error([&] { trtorch::CompileGraph(m, with([](auto& s) { s.conv_candidates = 0; })); },
               {"conv_candidates must be 1 to 16, got 0"});
  expect_error([&] { trtorch::CompileGraph(m, with([](auto& s) { s.conv_candidates = 17; })); },
               {"conv_candidates must be 1 to 16, got 17"});
  expect_error([&] { trtorch::ConvertGraphToTRTEngine(m, "forward", with([](auto& s) { s.build_threads = -1; })); },
               {"build_threads must be 0", "got -1"});
  expect_error([&] { trtorch::CompileGraph(m, with([](auto& s) { s.build_threads = 65; })); },
               {"build_threads must be 0", "to 64, got 65"});
  // Unsigned 64-bit counts of the C++ API are checked before they are narrowed to int.
  expect_error([&] { trtorch::CompileGraph(m, with([](auto& s) { s.num_min_timing_iters = uint64_t(1) << 32; })); },
               {"num_min_timing_iters must be 0 to 1000, got 4294967296"});
  expect_error([&] { trtorch::CompileGraph(m, with([](auto& s) { s.num_avg_timing_iters = 0; })); },
               {"num_avg_timing_iters must be 1 to 1000, got 0"});
  expect_error([&] { trtorch::CompileGraph(m, with([](auto& s) { s.workspace_size = (uint64_t(1) << 40) + 1; })); },
               {"workspace_size must be at most 1099511627776 bytes"});

  auto defaults = c10::make_intrusive<trtorch::runtime::EngineHolder>(engine_bytes());
  EXPECT_EQ(defaults->engine().build_options,
            "precision=f32;allow_tf32=0;fp32_conv_bias=1;channels_last=1;cuda_graphs=1;conv_candidates=6;"
            "workspace_size=0;num_min_timing_iters=2;num_avg_timing_iters=1");
  auto spec = with([](auto& s) {
    s.op_precision = trtorch::CompileSpec::DataType::kHalf;
    s.allow_tf32 = true;
    s.fp32_conv_bias = false;
    s.channels_last = false;
    s.cuda_graphs = false;
    s.conv_candidates = 2;
    s.build_threads = 3;
    s.workspace_size = 1 << 20;
    s.num_min_timing_iters = 1;
    s.num_avg_timing_iters = 5;
  });
  auto chosen = c10::make_intrusive<trtorch::runtime::EngineHolder>(trtorch::ConvertGraphToTRTEngine(m, "forward", spec));
  const std::string want =
      "precision=f16;allow_tf32=1;fp32_conv_bias=0;channels_last=0;cuda_graphs=0;conv_candidates=2;"
      "workspace_size=1048576;num_min_timing_iters=1;num_avg_timing_iters=5";
  EXPECT_EQ(chosen->engine().build_options, want);
  EXPECT_NE(chosen->info().find("; build options: " + want), std::string::npos) << chosen->info();
}

// fp32_conv_bias reaches the builder: an FP16 engine keeps its convolution bias in FP32 by
// default, and in FP16 without it.
TEST(Compile, Fp32ConvBiasOptionReachesTheBuilder) {
  torch::jit::Module m("__torch__.ConvBias");
  m.register_attribute("w", c10::TensorType::get(), torch::randn({4, 3, 3, 3}));
  m.register_attribute("b", c10::TensorType::get(), torch::randn({4}));
  m.define("def forward(self, x):\n  return torch.conv2d(x, self.w, self.b)\n");
  auto bias_dtype = [&](bool fp32_conv_bias) {
    trtorch::CompileSpec spec = reference_spec({torch::randn({1, 3, 8, 8})}, /*fp16=*/true);
    spec.fp32_conv_bias = fp32_conv_bias;
    trtorch::runtime::EngineHolder h(trtorch::ConvertGraphToTRTEngine(m, "forward", spec));
    for (const trtorch::ir::Node* n : h.engine().graph->nodes())
      if (n->op == trtorch::ir::OpKind::Conv2d && n->inputs.size() > trtorch::ir::kConvBiasInput)
        return n->inputs[trtorch::ir::kConvBiasInput]->type.dtype;
    ADD_FAILURE() << "no Conv2d with a bias in the engine";
    return trtorch::ir::DType::kBool;
  };
  EXPECT_EQ(bias_dtype(true), trtorch::ir::DType::kFloat32);
  EXPECT_EQ(bias_dtype(false), trtorch::ir::DType::kFloat16);
}

// Masks, indexing and casts the converters cannot express name the op, its schema, the source
// location and the reason; the static check accepts them (they have converters), so these are
// found by compiling.
TEST(Compile, MaskAndIndexErrorsNameOpSchemaAndLocation) {
  auto compile = [](const std::string& src, std::vector<int64_t> shape) {
    torch::jit::Module m("__torch__.MaskCase");
    m.define(src);
    // The converters' own messages: with fallback (the default) these ops run in TorchScript.
    return [m, shape]() mutable {
      trtorch::CompileSpec spec = reference_spec({torch::randn(shape)});
      spec.require_full_compilation = true;
      trtorch::CompileGraph(m, spec);
    };
  };
  expect_error(compile("def forward(self, x):\n  return x[x > 0]\n", {3, 4}),
               {"boolean mask computed by the model", "aten::index.Tensor(Tensor self, Tensor?[] indices)", "<string>:2"});
  expect_error(compile("def forward(self, x):\n  i = x.to(4)\n  return (i & i).to(6)\n", {3}),
               {"bitwise and of i64", "only of bool tensors", "aten::__and__.Tensor", "<string>:3"});
  expect_error(compile("def forward(self, x):\n  return x[torch.tensor([1, 5])]\n", {3, 2}),
               {"index 5 is out of bounds for dim 0 of size 3", "aten::index.Tensor", "<string>:2"});
  expect_error(compile("def forward(self, x):\n  return x[torch.tensor([0]), torch.tensor([0, 1, 2])]\n", {3, 2, 2}),
               {"index 2 is out of bounds for dim 1 of size 2", "aten::index.Tensor"});
  expect_error(compile("def forward(self, x):\n  return x.to(1) * 2\n", {3}),
               {"conversion to Char is not supported", "aten::to.dtype", "<string>:2"});
  // By default the data-dependent mask runs in TorchScript, the rest in an engine.
  torch::jit::Module masked("__torch__.MaskFallback");
  masked.define("def forward(self, x):\n  y = torch.relu(x) * 2.0 + 1.0\n  return y[y > 1.5].sum() + y.mean()\n");
  torch::jit::Module partial = trtorch::CompileGraph(masked, reference_spec({torch::randn({3, 4})}));
  for (int i = 0; i < 3; ++i) {
    torch::Tensor x = torch::randn({3, 4});
    EXPECT_TRUE(torch::allclose(partial.forward({x}).toTensor(), masked.forward({x}).toTensor(), 1e-5, 1e-5));
  }
}

TEST(Compile, TensorTooLargeToHoldIsAnErrorNotACrash) {
  // x.expand(2**59, 8): 2^59 x 8 float32 elements are 2^64 bytes. The byte size used to wrap around
  // to a 0-byte buffer that the reference backend then wrote (SIGSEGV). TorchScript itself refuses
  // the same module ("Storage size calculation overflowed").
  torch::jit::Module m("__torch__.TooLarge");
  m.define("def forward(self, x):\n  return (x.expand(576460752303423488, 8) + 1).sum(0)\n");
  expect_error([&] { trtorch::CompileGraph(m, reference_spec({torch::randn({8})})).forward({torch::randn({8})}); },
               {"Expand: output shape [576460752303423488, 8] of f32 is 2^64 bytes, more than a tensor can hold",
                "<string>:2"});
}

// The partial-compilation settings: what check_partition_settings refuses (naming the setting and
// the value) and what it accepts.
TEST(Compile, PartitionSettingsAreChecked) {
  using trtorch::frontend::PartitionSettings;
  auto check = [](auto edit) {
    PartitionSettings s;
    edit(s);
    trtorch::frontend::check_partition_settings(s);
  };
  expect_error([&] { check([](auto& s) { s.min_block_size = 0; }); },
               {"min_block_size must be 1 to 1073741824, got 0"});
  expect_error([&] { check([](auto& s) { s.min_block_size = (int64_t(1) << 30) + 1; }); },
               {"min_block_size must be 1 to 1073741824, got 1073741825"});
  expect_error([&] { check([](auto& s) { s.torch_executed_ops = {"aten::no_such_op"}; }); },
               {"torch_executed_ops", "unknown operator 'aten::no_such_op'"});
  expect_error([&] { check([](auto& s) { s.torch_executed_ops = {"relu"}; }); },
               {"torch_executed_ops", "'relu' is not an op name"});
  expect_error([&] { check([](auto& s) { s.torch_executed_ops = {"aten::relu.nope"}; }); },
               {"torch_executed_ops", "'aten::relu' has no overload 'nope'"});
  expect_error([&] { check([](auto& s) { s.torch_executed_ops = {"aten::relu.nope(Tensor self) -> Tensor"}; }); },
               {"torch_executed_ops", "no operator has the schema"});
  expect_error(
      [&] {
        check([](auto& s) {
          s.require_full_compilation = true;
          s.torch_executed_ops = {"aten::relu"};
        });
      },
      {"conflicting settings", "require_full_compilation", "torch_executed_ops"});
  expect_error(
      [&] {
        check([](auto& s) {
          s.require_full_compilation = true;
          s.torch_executed_modules = {"torchvision.models.resnet.BasicBlock"};
        });
      },
      {"conflicting settings", "torch_executed_modules"});
  expect_error([&] { check([](auto& s) { s.torch_executed_modules = {"my module"}; }); },
               {"torch_executed_modules", "'my module' is not a qualified class name"});

  EXPECT_NO_THROW(check([](auto&) {}));
  EXPECT_NO_THROW(check([](auto& s) { s.require_full_compilation = true; }));
  EXPECT_NO_THROW(check([](auto& s) {
    s.min_block_size = 1;
    s.torch_executed_ops = {"aten::relu", "aten::add.Tensor", "aten::relu(Tensor self) -> Tensor"};
    s.torch_executed_modules = {"torchvision.models.resnet.BasicBlock", "__torch__.Small"};
  }));
}

// The C++ API's partial-compilation fields reach that check before anything is compiled;
// min_block_size (unsigned 64-bit) is range-checked before it is narrowed.
TEST(Compile, PartitionFieldsOfTheCompileSpecAreChecked) {
  auto m = small_module();
  auto with = [](auto edit) {
    trtorch::CompileSpec spec = reference_spec({torch::randn({2, 8})});
    edit(spec);
    return spec;
  };
  expect_error([&] { trtorch::CompileGraph(m, with([](auto& s) { s.min_block_size = 0; })); },
               {"min_block_size must be 1 to 1073741824, got 0"});
  expect_error([&] { trtorch::CompileGraph(m, with([](auto& s) { s.min_block_size = uint64_t(1) << 40; })); },
               {"min_block_size must be 1 to 1073741824, got 1099511627776"});
  expect_error([&] { trtorch::CompileGraph(m, with([](auto& s) { s.min_block_size = (uint64_t(1) << 32) + 3; })); },
               {"min_block_size must be 1 to 1073741824, got 4294967299"});
  expect_error(
      [&] { trtorch::ConvertGraphToTRTEngine(m, "forward", with([](auto& s) { s.torch_executed_ops = {"relu"}; })); },
      {"torch_executed_ops", "'relu' is not an op name"});
  expect_error(
      [&] {
        trtorch::CompileGraph(m, with([](auto& s) {
          s.require_full_compilation = true;
          s.torch_executed_modules = {"__torch__.Small"};
        }));
      },
      {"conflicting settings"});
  trtorch::CompileSpec defaults({{2, 8}});
  EXPECT_FALSE(defaults.require_full_compilation);  // fallback to TorchScript is on by default
  EXPECT_EQ(defaults.min_block_size, 3u);
  EXPECT_NO_THROW(trtorch::CompileGraph(m, with([](auto& s) { s.require_full_compilation = true; })));
  EXPECT_NO_THROW(trtorch::CompileGraph(m, with([](auto& s) {
    s.min_block_size = 1;
    s.torch_executed_ops = {"aten::add.Tensor"};
  })));
}

TEST(Compile, GpuRequestNeedsBackendAndGpu) {
  auto m = small_module();
  trtorch::CompileSpec spec({{2, 8}});
  spec.device.type = trtorch::CompileSpec::Device::Type::kGPU;
  if (trtorch::plan::has_backend(trtorch::plan::DeviceType::kCUDA) && torch::cuda::is_available()) {
    EXPECT_NO_THROW(trtorch::CompileGraph(m, spec));
  } else {
    expect_error([&] { trtorch::CompileGraph(m, spec); }, {"device GPU was requested"});
  }
}

}  // namespace
