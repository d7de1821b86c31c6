// The C++ INT8 API (trtorch/ptq.h): a calibrator from a torch::data data loader, one from the
// cache it wrote, and the errors of INT8 without either.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "tests/common/torch_test_util.h"
#include "trtorch/ptq.h"

using namespace trtorch::testing;

namespace {

torch::jit::Module conv_module() {
  torch::manual_seed(0);
  torch::jit::Module m("__torch__.ConvNet");
  // The first convolution (3 input channels) and the linear layer (4 outputs) stay float layers;
  // the second convolution runs in INT8.
  m.register_attribute("w1", c10::TensorType::get(), torch::randn({16, 3, 3, 3}) * 0.3);
  m.register_attribute("b1", c10::TensorType::get(), torch::randn({16}) * 0.1);
  m.register_attribute("w3", c10::TensorType::get(), torch::randn({16, 16, 1, 1}) * 0.3);
  m.register_attribute("w2", c10::TensorType::get(), torch::randn({4, 16}) * 0.3);
  m.define(
      "def forward(self, x):\n"
      "  h = torch.relu(torch.conv2d(x, self.w1, self.b1, [1, 1], [1, 1], [1, 1], 1))\n"
      "  h = torch.relu(torch.conv2d(h, self.w3, None, [1, 1], [0, 0], [1, 1], 1))\n"
      "  return torch.linear(h.mean([2, 3]), self.w2)\n");
  m.eval();
  return m;
}

// Random images, as a data set the torch::data loaders batch with Stack<>.
struct Images : torch::data::datasets::Dataset<Images> {
  torch::data::Example<> get(size_t i) override {
    auto g = torch::randn({3, 12, 12}, torch::TensorOptions().dtype(torch::kFloat));
    return {g, torch::tensor(int64_t(i % 4))};
  }
  torch::optional<size_t> size() const override { return 32; }
};

trtorch::CompileSpec int8_spec() {
  trtorch::CompileSpec spec({{4, 3, 12, 12}});
  spec.op_precision = trtorch::CompileSpec::DataType::kInt8;
  spec.device.type = trtorch::CompileSpec::Device::Type::kReference;
  return spec;
}

std::string read(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

TEST(Ptq, DataLoaderCalibratorThenCacheCalibrator) {
  auto m = conv_module();
  const std::string cache = tmp_dir() + "/ptq_test.cache";
  std::remove(cache.c_str());
  torch::manual_seed(1);
  auto loader = torch::data::make_data_loader(Images().map(torch::data::transforms::Stack<>()),
                                              torch::data::DataLoaderOptions().batch_size(4));
  auto spec = int8_spec();
  spec.ptq_calibrator = trtorch::ptq::make_int8_calibrator(std::move(loader), cache, false,
                                                          trtorch::ptq::CalibrationAlgo::kMinMax);
  EXPECT_EQ(spec.ptq_calibrator->batches.size(), 8u);
  auto compiled = trtorch::CompileGraph(m, spec);
  const std::string text = read(cache);
  EXPECT_EQ(text.rfind("trtorch-int8-calibration 1\n", 0), 0u) << text;
  EXPECT_NE(text.find("algorithm minmax"), std::string::npos) << text;
  EXPECT_NE(text.find("Conv2d#0"), std::string::npos) << text;
  EXPECT_NE(text.find("Conv2d#1"), std::string::npos) << text;
  EXPECT_NE(text.find("Linear#0"), std::string::npos) << text;

  auto x = torch::randn({4, 3, 12, 12});
  auto want = flatten(run(m, {x}));
  auto got = flatten(run(compiled, {x.to(torch::kHalf)}));
  const double err = max_rel_error({got[0].to(torch::kFloat)}, want);
  EXPECT_LT(err, 0.05);
  EXPECT_GT(err, 0.0);

  auto again = int8_spec();
  again.ptq_calibrator = trtorch::ptq::make_int8_cache_calibrator(cache);
  EXPECT_TRUE(again.ptq_calibrator->batches.empty());
  auto from_cache = trtorch::CompileGraph(m, again);
  EXPECT_TRUE(torch::equal(flatten(run(from_cache, {x.to(torch::kHalf)}))[0], got[0]));
  // use_cache with an existing cache does not read the loader.
  auto unread = torch::data::make_data_loader(Images().map(torch::data::transforms::Stack<>()),
                                              torch::data::DataLoaderOptions().batch_size(4));
  EXPECT_TRUE(trtorch::ptq::make_int8_calibrator(std::move(unread), cache, true)->batches.empty());
}

TEST(Ptq, Int8WithoutCalibratorOrQuantizationIsAnError) {
  auto m = conv_module();
  expect_error([&] { trtorch::CompileGraph(m, int8_spec()); }, {"INT8 needs a calibrator"});
  auto spec = reference_spec({torch::randn({4, 3, 12, 12})});
  spec.ptq_calibrator = trtorch::ptq::make_int8_cache_calibrator(tmp_dir() + "/none.cache");
  expect_error([&] { trtorch::CompileGraph(m, spec); }, {"INT8 is not enabled"});
  auto missing = int8_spec();
  missing.ptq_calibrator = trtorch::ptq::make_int8_cache_calibrator(tmp_dir() + "/does_not_exist.cache");
  expect_error([&] { trtorch::CompileGraph(m, missing); }, {"does_not_exist.cache"});
}
