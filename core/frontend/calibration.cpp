#include "core/frontend/calibration.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>

#include "core/runtime/runtime.h"
#include "core/util/error.h"
#include "core/util/logging.h"

namespace trtorch::frontend {

namespace {

bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

// Statistics of every observed tensor over the batches: pass 1 the largest magnitude, pass 2
// the histogram of magnitudes over [0, amax].
std::vector<plan::TensorStats> collect(runtime::EngineHolder& engine, size_t first_observed,
                                       const std::vector<std::string>& keys,
                                       const std::vector<std::vector<at::Tensor>>& batches) {
  const size_t observed = keys.size();
  const plan::Engine& e = engine.engine();
  auto run = [&](size_t b) {
    const auto& batch = batches[b];
    TRTORCH_EXPECT(batch.size() == e.graph->inputs().size(), "calibration batch ", b, " has ", batch.size(),
                   " tensors; the method takes ", e.graph->inputs().size());
    std::vector<at::Tensor> in;
    for (size_t i = 0; i < batch.size(); ++i)
      in.push_back(batch[i].to(engine.device(), runtime::to_torch_dtype(e.graph->inputs()[i]->type.dtype)).contiguous());
    std::vector<at::Tensor> out;
    try {
      out = engine.run(in);
    } catch (const Error& err) {
      TRTORCH_ERROR("INT8 calibration: running batch ", b, " of the calibrator: ", err.what());
    }
    return std::vector<at::Tensor>(out.begin() + long(first_observed), out.begin() + long(first_observed + observed));
  };
  std::vector<plan::TensorStats> stats(observed);
  for (size_t b = 0; b < batches.size(); ++b) {
    std::vector<at::Tensor> outs = run(b);
    for (size_t k = 0; k < observed; ++k) {
      if (outs[k].numel() == 0) continue;
      TRTORCH_EXPECT(outs[k].isfinite().all().item<bool>(), "INT8 calibration: batch ", b, " gives a NaN or infinite "
                     "value in the input of ", keys[k], "; calibration data must give finite activations");
      stats[k].amax = std::max(stats[k].amax, outs[k].abs().max().item<double>());
    }
  }
  std::vector<at::Tensor> hist(observed);
  for (size_t b = 0; b < batches.size(); ++b) {
    std::vector<at::Tensor> outs = run(b);
    for (size_t k = 0; k < observed; ++k) {
      if (stats[k].amax <= 0) continue;
      at::Tensor h = at::histc(outs[k].abs().to(at::kFloat), plan::kCalibrationBins, 0, stats[k].amax).to(at::kDouble);
      hist[k] = hist[k].defined() ? hist[k] + h : h;
    }
  }
  for (size_t k = 0; k < observed; ++k) {
    if (!hist[k].defined()) continue;
    at::Tensor h = hist[k].cpu().contiguous();
    stats[k].hist.assign(h.data_ptr<double>(), h.data_ptr<double>() + h.numel());
  }
  return stats;
}

}  // namespace

std::shared_ptr<const plan::CalibrationTable> calibrate(const ir::Graph& converted,
                                                        const std::vector<std::string>& input_names,
                                                        const plan::BuildConfig& build,
                                                        const CalibrationSettings& s) {
  const std::string fingerprint = plan::graph_fingerprint(converted);
  if (s.use_cache && !s.cache_file.empty() && file_exists(s.cache_file)) {
    auto t = std::make_shared<plan::CalibrationTable>(plan::read_calibration_cache(s.cache_file));
    TRTORCH_EXPECT(t->fingerprint == fingerprint, "the calibration cache '", s.cache_file, "' was made for another "
                   "model or input shape (its fingerprint ", t->fingerprint, ", this model's ", fingerprint,
                   "); delete it, or pass use_cache=False to calibrate again");
    TRTORCH_LOG(kInfo, "INT8: ", t->scales.size(), " activation scales read from the calibration cache '",
                s.cache_file, "' (", plan::calibration_algo_name(t->algo), ")");
    return t;
  }
  TRTORCH_EXPECT(!s.batches.empty(), "INT8 calibration needs data: the calibrator gave no batches",
                 s.cache_file.empty() ? std::string() : str_cat(" and its cache '", s.cache_file, "' ",
                 s.use_cache ? "does not exist" : "is not read (use_cache is off)"));
  const auto t0 = std::chrono::steady_clock::now();
  // An FP32 engine of the same graph that also returns each tensor to observe (once per tensor).
  std::unique_ptr<ir::Graph> g = converted.clone();
  const std::vector<plan::QuantizedInput> qs = plan::quantized_inputs(*g);
  TRTORCH_EXPECT(!qs.empty(), "INT8: no convolution or linear layer reads a computed tensor; nothing to quantize");
  const size_t first = g->outputs().size();
  // Each quantized input's observed output, recorded before the build rewrites (and frees) the
  // clone's nodes.
  std::map<const ir::Value*, size_t> slot;
  std::vector<size_t> slot_of;
  std::vector<std::string> output_names(first);
  for (const auto& q : qs) {
    ir::Value* v = q.node->inputs[q.input];
    if (!slot.count(v)) {
      const size_t k = slot.size();
      slot[v] = k;
      g->mark_output(v);
      output_names.push_back(q.key);
    }
    slot_of.push_back(slot[v]);
  }
  plan::BuildConfig fp32 = build;
  fp32.precision = ir::DType::kFloat32;
  fp32.int8 = false;
  fp32.int8_calibration = nullptr;
  fp32.fp32_inputs.clear();
  fp32.fp32_outputs.clear();
  fp32.cuda_graphs = false;
  auto engine = std::make_shared<plan::Engine>(plan::build_engine(std::move(g), fp32, input_names, output_names));
  runtime::EngineHolder holder(engine);
  std::vector<plan::TensorStats> stats;
  {
    torch::NoGradGuard no_grad;
    stats = collect(holder, first, std::vector<std::string>(output_names.begin() + long(first), output_names.end()),
                    s.batches);
  }
  auto t = std::make_shared<plan::CalibrationTable>();
  t->fingerprint = fingerprint;
  t->algo = s.algo;
  // The clone's keys are the converted graph's (the same nodes in the same order and sources).
  std::vector<std::string> all_zero;
  for (size_t i = 0; i < qs.size(); ++i) {
    const plan::TensorStats& st = stats[slot_of[i]];
    const double threshold = plan::calibrated_threshold(st, s.algo, s.percentile);
    // An input that was zero in every batch has no range to calibrate: scale 1 (the integers), which
    // is right only if it stays zero at run time.
    t->scales[qs[i].key] = threshold > 0 ? float(threshold / 127.0) : 1.0f;
    if (!(threshold > 0)) all_zero.push_back(qs[i].key);
  }
  if (!all_zero.empty()) {
    std::string names;
    for (size_t i = 0; i < all_zero.size() && i < 5; ++i) names += "\n  " + all_zero[i];
    TRTORCH_LOG(kWarning, "INT8 calibration: the input of ", all_zero.size(),
                " layer(s) was zero in every calibration batch, so its scale is 1.0 and nonzero values at run "
                "time round to whole numbers; calibrate with data that reaches these layers:",
                names, all_zero.size() > 5 ? str_cat("\n  and ", all_zero.size() - 5, " more") : "");
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  TRTORCH_LOG(kInfo, "INT8 calibration (", plan::calibration_algo_name(s.algo), "): ", t->scales.size(),
              " activation scales from ", s.batches.size(), " batches in ", secs, " s");
  if (!s.cache_file.empty()) plan::write_calibration_cache(s.cache_file, *t);
  return t;
}

}  // namespace trtorch::frontend
