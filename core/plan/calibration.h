// INT8 post-training quantization, the parts that need no data: which tensors of an engine graph
// an INT8 build quantizes, how a calibration algorithm turns a tensor's statistics into a scale,
// the calibration cache file, and the rewrite that puts the scales into the graph. Running the
// calibration batches is the frontend's (core/frontend/calibration.cpp); the builder applies the
// table (BuildConfig::int8).
//
// Quantization is symmetric (zero point 0): activations per tensor with the calibrated scale,
// weights per output channel with scale max|w[c]| / 127 (the narrow range [-127, 127]).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/ir/ir.h"

namespace trtorch::plan {

enum class CalibrationAlgo : uint8_t {
  kEntropy = 0,     // the threshold whose 128-level quantization loses least information (KL divergence)
  kMinMax = 1,      // the largest magnitude seen
  kPercentile = 2,  // the given percentile of the magnitudes seen
};
const char* calibration_algo_name(CalibrationAlgo a);
// "entropy", "minmax" or "percentile"; throws trtorch::Error naming the choices otherwise.
CalibrationAlgo calibration_algo_from_name(const std::string& name);

// An activation the INT8 build quantizes: input `input` of `node` (input 0 of a Conv2d or a
// Linear that reads a computed floating-point tensor). `key` names it stably across rebuilds of
// the same model: "<op>#<k> <source>", k counting that op's quantized nodes in graph order.
struct QuantizedInput {
  ir::Node* node = nullptr;
  size_t input = 0;
  std::string key;
};
std::vector<QuantizedInput> quantized_inputs(const ir::Graph& g);

// What calibration collects per tensor: the largest magnitude, and a histogram of magnitudes
// over [0, amax] in kCalibrationBins bins (empty when amax is 0).
constexpr int kCalibrationBins = 2048;
struct TensorStats {
  double amax = 0;
  std::vector<double> hist;
};
// The clipping threshold the algorithm chooses (the scale is threshold / 127). `percentile` is
// kPercentile's, in (0, 100].
double calibrated_threshold(const TensorStats& s, CalibrationAlgo algo, double percentile);

// One scale per quantized activation, for one graph (its fingerprint) and algorithm.
struct CalibrationTable {
  std::string fingerprint;
  CalibrationAlgo algo = CalibrationAlgo::kEntropy;
  std::map<std::string, float> scales;  // key -> scale (> 0)
  std::string source;                    // the cache file it was read from (empty: calibrated here)
};
// A hash of the graph's structure (ops, attributes, types, sources; not the weights' values): a
// cache made for another model, or another input shape, does not match it.
std::string graph_fingerprint(const ir::Graph& g);

// The cache file (text, one scale per line; docs/int8.md):
//   trtorch-int8-calibration 1
//   fingerprint <16 hex digits>
//   algorithm <entropy|minmax|percentile>
//   <scale>\t<key>            (a scale in C99 hex-float notation, exact)
void write_calibration_cache(const std::string& path, const CalibrationTable& t);
// Throws trtorch::Error naming the file and the line for a file that is not such a cache.
CalibrationTable read_calibration_cache(const std::string& path);

// Puts the table into the graph: Quantize -> Dequantize on the input of every layer that can run
// in INT8 (passes::int8_layer_fits; the others keep reading their float input), its scale from
// the table (a key the table lacks, or a table made for another graph, is an error naming it).
// A residual add (of two same-shaped tensors) that reads a quantized tensor reads its Dequantize
// too, as TensorRT's INT8 builds do. The layers whose keys `float_layers` holds stay float (the
// INT8 layer choice, int8_choice.h).
void insert_activation_quantization(ir::Graph& g, const CalibrationTable& t,
                                    const std::set<std::string>& float_layers = {});

// The engine summary's INT8 layer count: how many convolution / linear / matmul layers the graph
// has, how many of them run in INT8 (QConv2d, QLinear), and how many float ones read a
// dequantized (int8) input.
struct Int8LayerCount {
  int layers = 0, int8 = 0, dequantized = 0;
  // "k of n convolution / linear / matmul layers run in INT8 (j more read dequantized int8 inputs)"
  std::string str() const;
};
Int8LayerCount int8_layer_count(const ir::Graph& g);
// Which ops run in which precision: the graph's nodes (constants aside) counted by output dtype
// and op, "i8: QConv2d 52, Quantize 3; f16: Conv2d 1, Pointwise 17" (dtypes in order of first
// appearance, ops by name). The INT8 engine summary's second part.
std::string precision_summary(const ir::Graph& g);

// Weights of the INT8 layers (Conv2d / Linear whose input 0 is a Dequantize output): each
// constant weight becomes an int8 constant and its per-output-channel Dequantize (axis 0,
// symmetric, [-127, 127]), which fuse_quantized_layers reads. Runs after batch norm folding has
// made the weights final. Returns whether it changed the graph.
//   kMaxAbs (calibrated builds): each channel's scale is max |w[c]| / 127, the weights rounded.
//   kOwnGrid (quantization-aware models whose weight fake quantization torch or constant folding
//     already applied): a weight whose every channel lies on a grid of step max |w[c]| / k (an
//     integer k <= 127) keeps exactly those values; a weight off such a grid stays float.
enum class WeightScales { kMaxAbs, kOwnGrid };
bool quantize_layer_weights(ir::Graph& g, WeightScales mode = WeightScales::kMaxAbs);

}  // namespace trtorch::plan
