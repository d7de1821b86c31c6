// Whole-model tests: torchvision classification models and ViT-B/16 (random weights, eval mode,
// scripted and traced), and Hugging Face BERT and GPT-2 (default configs, random weights,
// traced: transformers' models do not script; batch 2 of 128 tokens, BERT and the padded GPT-2
// with an attention mask that pads the second sequence), compiled with trtorch on the reference
// backend and compared with TorchScript; the compiled module is saved, then loaded and run in a
// fresh process (trtorch_run, which links only the runtime library). The static operator check
// must accept every model (they all compile).
//
// Tolerances, as max |trtorch - torchscript| / max |torchscript|:
//  * FP32: 1e-4 (the bound).
//  * FP16: 1e-2. Weights and activations are rounded to half (unit roundoff 2^-11 ~ 4.9e-4)
//    at each of the 20-150 layers; the rounding errors add up roughly as sqrt(#layers) times the
//    per-layer error amplified by the layers' gains. Measured on the 14 CNNs at 112x112
//    (printed by the test): 4e-4 to 1.1e-3 (VGG-16 the largest); BERT 1.5e-3 to 2.2e-3, GPT-2 1.8e-3.
//    1e-2 leaves about 5x room for other inputs while still failing on any real mistake (a
//    wrong op gives errors of order 1).
//
// Environment: TRTORCH_MODEL_DIR (made by make_models.py), TRTORCH_MODEL_SIZE (default 112).
// A transformers model that make_models.py could not write (transformers not installed) is
// skipped with the reason it left in <name>.skipped.
#include <gtest/gtest.h>
#include <torch/serialize.h>

#include <cstdlib>
#include <fstream>

#include "core/util/debug.h"
#include "tests/common/torch_test_util.h"

using namespace trtorch::testing;

namespace {

const char* kModels[] = {"resnet18",     "resnet50",        "resnext50_32x4d",  "wide_resnet50_2", "mobilenet_v2",
                         "mobilenet_v3_large", "vgg16",     "alexnet",          "squeezenet1_1",   "densenet121",
                         "shufflenet_v2_x1_0", "efficientnet_b0", "regnet_y_400mf", "googlenet", "vit_b_16"};
// Traced only; their inputs are token ids (and masks), see model_inputs().
const char* kTransformerModels[] = {"bert", "gpt2", "gpt2_padded"};

struct ModelCase {
  std::string model, kind;  // kind: scripted | traced
};

void PrintTo(const ModelCase& c, std::ostream* os) { *os << c.model << "_" << c.kind; }

std::vector<ModelCase> all_cases() {
  std::vector<ModelCase> r;
  for (const char* m : kModels)
    for (const char* k : {"scripted", "traced"}) r.push_back({m, k});
  for (const char* m : kTransformerModels) r.push_back({m, "traced"});
  return r;
}

bool is_transformer(const ModelCase& c) {
  for (const char* m : kTransformerModels)
    if (c.model == m) return true;
  return false;
}

std::string model_dir() {
  const std::string dir = trtorch::util::debug_switch_value(trtorch::util::DebugSwitch::kModelDir);
  return dir.empty() ? "models" : dir;
}

std::string model_path(const ModelCase& c) { return model_dir() + "/" + c.model + "_" + c.kind + ".ts"; }

// The reason make_models.py left for a model it could not write, or "".
std::string skip_reason(const ModelCase& c) {
  std::ifstream f(model_dir() + "/" + c.model + ".skipped");
  if (!f) return "";
  std::string why((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return why.empty() ? "skipped by make_models.py" : why;
}

// The input resolution: TRTORCH_MODEL_SIZE (default 112), or the model's fixed one (ViT: 224).
int64_t input_size(const ModelCase& c) {
  if (c.model == "vit_b_16") return 224;
  const std::string s = trtorch::util::debug_switch_value(trtorch::util::DebugSwitch::kModelSize);
  return s.empty() ? 112 : std::atoll(s.c_str());
}

// The model's inputs (seeded): an image batch of 1, or for the transformers models a batch of 2
// sequences of 128 token ids below the configs' default vocabulary sizes (BERT 30522, GPT-2
// 50257), the attention mask padding the last quarter of the second sequence, and BERT's token
// types 0 then 1. The shapes are those make_models.py traced with.
std::vector<at::Tensor> model_inputs(const ModelCase& c) {
  torch::manual_seed(7);
  if (!is_transformer(c)) return {torch::randn({1, 3, input_size(c), input_size(c)})};
  const int64_t B = 2, S = 128;
  at::Tensor ids = torch::randint(c.model == "bert" ? 30522 : 50257, {B, S}, at::kLong);
  at::Tensor mask = torch::ones({B, S}, at::kLong);
  mask[1].narrow(0, S * 3 / 4, S - S * 3 / 4).fill_(0);
  at::Tensor types = torch::zeros({B, S}, at::kLong);
  types.narrow(1, S / 2, S - S / 2).fill_(1);
  if (c.model == "bert") return {ids, mask, types};
  if (c.model == "gpt2_padded") return {ids, mask};
  return {ids};
}

// A saved module's forward takes plain `Tensor`s: the dtypes a traced graph had are gone, and
// the compile spec gives shapes only. The compiler takes integer and bool engine inputs from the
// graph's declared input types, so declare the integer ones (token ids, masks).
void declare_input_dtypes(torch::jit::Module& m, const std::vector<at::Tensor>& inputs) {
  auto g = m.get_method("forward").graph();
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i].is_floating_point())
      g->inputs()[i + 1]->setType(c10::TensorType::get()->withScalarType(inputs[i].scalar_type()));
}

// Loads the model, or skips the test where make_models.py said why it could not write it.
#define LOAD_MODEL_OR_SKIP(c, m)                                  \
  do {                                                            \
    std::string why_ = skip_reason(c);                            \
    if (!why_.empty()) GTEST_SKIP() << c.model << ": " << why_;   \
    m = torch::jit::load(model_path(c));                          \
    declare_input_dtypes(m, model_inputs(c));                     \
  } while (0)

class ModelTest : public ::testing::TestWithParam<ModelCase> {};

TEST_P(ModelTest, FP32MatchesTorchScriptAndRunsInFreshProcess) {
  const ModelCase& c = GetParam();
  torch::jit::Module m;
  LOAD_MODEL_OR_SKIP(c, m);
  std::vector<at::Tensor> inputs = model_inputs(c);
  auto want = flatten(run(m, inputs));
  std::string report;
  EXPECT_TRUE(trtorch::CheckMethodOperatorSupport(m, "forward", &report)) << report;
  auto compiled = trtorch::CompileGraph(m, reference_spec(inputs));
  auto got = flatten(run(compiled, inputs));
  double err = max_rel_error(got, want);
  std::cout << "[model] " << c.model << " " << c.kind << " fp32 max_rel_err " << err << std::endl;
  RecordProperty("fp32_max_rel_err", std::to_string(err));
  EXPECT_LE(err, 1e-4);

  // Save, then load and run in a fresh process that links only the runtime library.
  std::string base = tmp_dir() + "/" + c.model + "_" + c.kind;
  compiled.save(base + "_trtorch.ts");
  torch::save(inputs, base + "_in.pt");
  std::string cmd = bin_dir() + "/trtorch_run " + base + "_trtorch.ts " + base + "_in.pt " + base + "_out.pt";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::vector<at::Tensor> fresh;
  torch::load(fresh, base + "_out.pt");
  EXPECT_LE(max_rel_error(fresh, want), 1e-4);
  EXPECT_EQ(max_rel_error(fresh, got), 0.0) << "the fresh process must reproduce the in-process result";
}

TEST_P(ModelTest, FP16MatchesTorchScript) {
  const ModelCase& c = GetParam();
  torch::jit::Module m;
  LOAD_MODEL_OR_SKIP(c, m);
  std::vector<at::Tensor> inputs = model_inputs(c);
  auto want = flatten(run(m, inputs));
  auto compiled = trtorch::CompileGraph(m, reference_spec(inputs, /*fp16=*/true));
  auto got = flatten(run(compiled, to_half(inputs)));
  double err = max_rel_error(got, want);
  std::cout << "[model] " << c.model << " " << c.kind << " fp16 max_rel_err " << err << std::endl;
  RecordProperty("fp16_max_rel_err", std::to_string(err));
  EXPECT_LE(err, 1e-2);
}

// The CUDA backend (GPU 0): FP32 within 1e-4 and FP16 within the same 1e-2 as above, saved and
// re-run in a fresh process on the GPU.
TEST_P(ModelTest, GPUMatchesTorchScript) {
  if (!have_gpu_backend()) GTEST_SKIP() << "no CUDA GPU or no CUDA backend in this build";
  const ModelCase& c = GetParam();
  torch::jit::Module m;
  LOAD_MODEL_OR_SKIP(c, m);
  std::vector<at::Tensor> inputs = model_inputs(c);
  auto want = flatten(run(m, inputs));
  auto compiled = trtorch::CompileGraph(m, gpu_spec(inputs));
  auto got = flatten(run(compiled, to_cuda(inputs)));
  double err = max_rel_error(got, want);
  std::cout << "[model] " << c.model << " " << c.kind << " gpu fp32 max_rel_err " << err << std::endl;
  EXPECT_LE(err, 1e-4);
  auto compiled16 = trtorch::CompileGraph(m, gpu_spec(inputs, /*fp16=*/true));
  double err16 = max_rel_error(flatten(run(compiled16, to_half(to_cuda(inputs)))), want);
  std::cout << "[model] " << c.model << " " << c.kind << " gpu fp16 max_rel_err " << err16 << std::endl;
  EXPECT_LE(err16, 1e-2);

  std::string base = tmp_dir() + "/" + c.model + "_" + c.kind + "_gpu";
  compiled16.save(base + "_trtorch.ts");
  torch::save(to_half(inputs), base + "_in.pt");
  std::string cmd = bin_dir() + "/trtorch_run " + base + "_trtorch.ts " + base + "_in.pt " + base + "_out.pt --device cuda";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::vector<at::Tensor> fresh;
  torch::load(fresh, base + "_out.pt");
  EXPECT_LE(max_rel_error(fresh, want), 1e-2);
}

INSTANTIATE_TEST_SUITE_P(Models, ModelTest, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<ModelCase>& i) {
                           return i.param.model + "_" + i.param.kind;
                         });

}  // namespace
