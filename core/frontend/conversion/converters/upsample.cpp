// Upsample converters (F.interpolate in its scripted and traced forms): nearest, nearest-exact,
// linear / bilinear / trilinear and bicubic over 1, 2 or 3 spatial dims, with output sizes or scale
// factors and align_corners. Interpolation is separable, so each spatial axis is done on its own:
// its taps (source indices and weights, computed at compile time exactly as torch computes them,
// in float) become Gathers with constant indices, each multiplied by a constant weight column and
// summed. An axis whose taps are the identity is skipped; nearest upsampling by whole factors
// along every axis is a broadcast (reshape, expand, reshape) instead of gathers.
// The antialiased variants (_upsample_*_aa) are not converted.
#include <cmath>
#include <optional>

#include "core/frontend/conversion/converters/helpers.h"

namespace trtorch::frontend::converters {
namespace {

using torch::jit::Node;

enum class Mode { kNearest, kNearestExact, kLinear, kCubic };

// One output position's source taps along an axis.
struct Taps {
  std::vector<std::vector<int64_t>> index;  // [tap][output position]
  std::vector<std::vector<float>> weight;   // [tap][output position]
};

// torch's compute_scales_value / area_pixel_compute_scale (in float, as its float kernels).
float source_scale(int64_t in, int64_t out, bool align_corners, std::optional<double> scale) {
  if (align_corners) return out > 1 ? float(in - 1) / float(out - 1) : 0.f;
  if (scale && *scale > 0) return float(1.0 / *scale);
  return float(in) / float(out);
}

Taps axis_taps(Mode mode, int64_t in, int64_t out, bool align_corners, std::optional<double> scale_factor) {
  Taps t;
  const float scale = source_scale(in, out, mode == Mode::kLinear || mode == Mode::kCubic ? align_corners : false,
                                   scale_factor);
  auto clamp = [&](int64_t i) { return std::min(std::max<int64_t>(i, 0), in - 1); };
  const size_t ntaps = mode == Mode::kCubic ? 4 : mode == Mode::kLinear ? 2 : 1;
  t.index.assign(ntaps, std::vector<int64_t>(size_t(out)));
  t.weight.assign(ntaps, std::vector<float>(size_t(out), 1.f));
  for (int64_t o = 0; o < out; ++o) {
    const size_t i = size_t(o);
    switch (mode) {
      case Mode::kNearest:  // torch's nearest_idx, with its exact cases for factors 1 and 2
        t.index[0][i] = out == in       ? o
                        : out == 2 * in ? o / 2
                                        : std::min(int64_t(std::floor(float(o) * scale)), in - 1);
        break;
      case Mode::kNearestExact:
        t.index[0][i] = std::min(int64_t(std::floor((float(o) + 0.5f) * scale)), in - 1);
        break;
      case Mode::kLinear:
      case Mode::kCubic: {
        // area_pixel_compute_source_index, then guard_index_and_lambda.
        float src = align_corners ? scale * float(o) : scale * (float(o) + 0.5f) - 0.5f;
        if (mode == Mode::kLinear && !align_corners) src = std::max(src, 0.f);
        const int64_t i0 = std::min(int64_t(std::floor(src)), in - 1);
        const float l = std::min(std::max(src - float(i0), 0.f), 1.f);
        if (mode == Mode::kLinear) {
          t.index[0][i] = i0;
          t.index[1][i] = i0 + (i0 < in - 1 ? 1 : 0);
          t.weight[0][i] = 1.f - l;
          t.weight[1][i] = l;
          break;
        }
        const float a = -0.75f;  // torch's cubic convolution coefficient
        auto near = [&](float v) { return ((a + 2) * v - (a + 3)) * v * v + 1; };        // |v| <= 1
        auto far = [&](float v) { return ((a * v - 5 * a) * v + 8 * a) * v - 4 * a; };  // 1 < |v| < 2
        const float w[4] = {far(l + 1.f), near(l), near(1.f - l), far(2.f - l)};
        for (size_t k = 0; k < 4; ++k) {
          t.index[k][i] = clamp(i0 - 1 + int64_t(k));
          t.weight[k][i] = w[k];
        }
        break;
      }
    }
  }
  return t;
}

// Every output position reads its own source position with weight 1 (and others with weight 0).
bool is_identity(const Taps& t, int64_t in, int64_t out) {
  if (in != out) return false;
  for (int64_t o = 0; o < out; ++o) {
    float own = 0.f;
    for (size_t k = 0; k < t.index.size(); ++k) {
      const float w = t.weight[k][size_t(o)];
      if (t.index[k][size_t(o)] == o) own += w;
      else if (w != 0.f) return false;
    }
    if (own != 1.f) return false;
  }
  return true;
}

// Nearest taps that repeat each source `r` times in order (o / r): a broadcast does it.
int64_t whole_factor(const Taps& t, int64_t in, int64_t out) {
  if (t.index.size() != 1 || out % in != 0) return 0;
  const int64_t r = out / in;
  for (int64_t o = 0; o < out; ++o)
    if (t.index[0][size_t(o)] != o / r) return 0;
  return r;
}

ir::Value* interpolate_axis(ConversionCtx& ctx, ir::Value* x, int64_t axis, const Taps& t) {
  const int64_t rank = x->type.rank();
  std::vector<int64_t> wshape(size_t(rank - axis), 1);
  wshape[0] = int64_t(t.index[0].size());
  ir::Value* sum = nullptr;
  for (size_t k = 0; k < t.index.size(); ++k) {
    bool all_zero = true, all_one = true;
    for (float w : t.weight[k]) {
      all_zero = all_zero && w == 0.f;
      all_one = all_one && w == 1.f;
    }
    if (all_zero) continue;
    ir::Value* term = gather(ctx, x, t.index[k], axis);
    if (!all_one)
      term = binary(ctx, term, ctx.constant(at::tensor(t.weight[k], at::kFloat).view(wshape)), ir::BinaryKind::kMul);
    sum = sum ? binary(ctx, sum, term, ir::BinaryKind::kAdd) : term;
  }
  if (!sum) ctx.fail("interpolation weights are all zero");  // cannot happen: each position's weights sum to 1
  return sum;
}

// An upsample node over `nsp` spatial dims. Inputs: (x, output_size, [align_corners at align_i],
// then the .vec form's scale_factors list or the sized form's per-axis scales).
void add_upsample(ConversionCtx& ctx, const Node* n, Mode mode, size_t nsp, bool vec, int align_i) {
  ir::Value* x = ctx.tensor(n->input(0));
  const int64_t rank = x->type.rank();
  if (rank != int64_t(nsp) + 2)
    ctx.fail(str_cat("expected a ", nsp + 2, "-D input (N, C, and ", nsp, " spatial dims), got ", x->type.str()));
  const auto& d = dims_of(x);
  std::vector<int64_t> in(nsp), out(nsp);
  for (size_t i = 0; i < nsp; ++i) {
    if (!d[i + 2].is_static()) ctx.fail(str_cat("spatial dim ", i + 2, " of ", x->type.str(), " is dynamic"));
    in[i] = d[i + 2].min;
  }
  const bool align = align_i >= 0 && ctx.to_bool(n->input(size_t(align_i)));
  std::vector<std::optional<double>> scale(nsp);
  const size_t first_scale = size_t(align_i >= 0 ? align_i + 1 : 2);
  if (vec) {
    const bool has_size = !ctx.is_none(n->input(1)), has_scales = !ctx.is_none(n->input(first_scale));
    if (has_size == has_scales) ctx.fail("exactly one of output_size and scale_factors must be given");
    if (has_scales) {
      auto f = ctx.ivalue(n->input(first_scale)).toDoubleVector();
      if (f.size() != nsp) ctx.fail(str_cat("expected ", nsp, " scale factors, got ", f.size()));
      for (size_t i = 0; i < nsp; ++i) {
        if (!(f[i] > 0)) ctx.fail(str_cat("scale factors must be positive, got ", f[i]));
        scale[i] = f[i];
        out[i] = int64_t(double(in[i]) * f[i]);  // torch truncates
      }
    } else {
      out = pair_arg(ctx, n->input(1), nsp);
    }
  } else {
    out = pair_arg(ctx, n->input(1), nsp);
    for (size_t i = 0; i < nsp; ++i)
      if (!ctx.is_none(n->input(first_scale + i))) scale[i] = ctx.to_double(n->input(first_scale + i));
  }
  std::vector<Taps> taps;
  for (size_t i = 0; i < nsp; ++i) {
    if (out[i] < 1) ctx.fail(str_cat("the output size of spatial dim ", i, " would be ", out[i], " (input ", in[i], ")"));
    taps.push_back(axis_taps(mode, in[i], out[i], align, scale[i]));
  }
  // Nearest by whole factors everywhere: each element repeated, as repeat_interleave does.
  std::vector<int64_t> factor{1, 1};
  bool whole = true;
  for (size_t i = 0; i < nsp && whole; ++i) {
    factor.push_back(whole_factor(taps[i], in[i], out[i]));
    whole = factor.back() > 0;
  }
  if (whole) return ctx.set_output(0, repeat_dims(ctx, x, factor, true));
  for (size_t i = 0; i < nsp; ++i)
    if (!is_identity(taps[i], in[i], out[i])) x = interpolate_axis(ctx, x, int64_t(i) + 2, taps[i]);
  ctx.set_output(0, x);
}

template <Mode M, size_t Nsp, bool Vec, int Align>
void upsample(ConversionCtx& ctx, const Node* n) {
  add_upsample(ctx, n, M, Nsp, Vec, Align);
}

static auto reg =
    RegisterConverters()
        // Nearest: upsample_nearest{1,2,3}d and _upsample_nearest_exact{1,2,3}d, .vec and sized forms.
        .pattern({{"aten::upsample_nearest1d.vec(Tensor input, SymInt[]? output_size, float[]? scale_factors) -> Tensor"},
                  upsample<Mode::kNearest, 1, true, -1>, float_input})
        .pattern({{"aten::upsample_nearest2d.vec(Tensor input, SymInt[]? output_size, float[]? scale_factors) -> Tensor"},
                  upsample<Mode::kNearest, 2, true, -1>, float_input})
        .pattern({{"aten::upsample_nearest3d.vec(Tensor input, SymInt[]? output_size, float[]? scale_factors) -> Tensor"},
                  upsample<Mode::kNearest, 3, true, -1>, float_input})
        .pattern({{"aten::_upsample_nearest_exact1d.vec(Tensor input, SymInt[]? output_size, float[]? scale_factors) -> Tensor"},
                  upsample<Mode::kNearestExact, 1, true, -1>, float_input})
        .pattern({{"aten::_upsample_nearest_exact2d.vec(Tensor input, SymInt[]? output_size, float[]? scale_factors) -> Tensor"},
                  upsample<Mode::kNearestExact, 2, true, -1>, float_input})
        .pattern({{"aten::_upsample_nearest_exact3d.vec(Tensor input, SymInt[]? output_size, float[]? scale_factors) -> Tensor"},
                  upsample<Mode::kNearestExact, 3, true, -1>, float_input})
        .pattern({{"aten::upsample_nearest1d(Tensor self, SymInt[1] output_size, float? scales=None) -> Tensor"},
                  upsample<Mode::kNearest, 1, false, -1>, float_input})
        .pattern({{"aten::upsample_nearest2d(Tensor self, SymInt[2] output_size, float? scales_h=None, float? scales_w=None) -> Tensor"},
                  upsample<Mode::kNearest, 2, false, -1>, float_input})
        .pattern({{"aten::upsample_nearest3d(Tensor self, SymInt[3] output_size, float? scales_d=None, float? scales_h=None, "
                   "float? scales_w=None) -> Tensor"},
                  upsample<Mode::kNearest, 3, false, -1>, float_input})
        .pattern({{"aten::_upsample_nearest_exact1d(Tensor self, SymInt[1] output_size, float? scales=None) -> Tensor"},
                  upsample<Mode::kNearestExact, 1, false, -1>, float_input})
        .pattern({{"aten::_upsample_nearest_exact2d(Tensor self, SymInt[2] output_size, float? scales_h=None, "
                   "float? scales_w=None) -> Tensor"},
                  upsample<Mode::kNearestExact, 2, false, -1>, float_input})
        .pattern({{"aten::_upsample_nearest_exact3d(Tensor self, SymInt[3] output_size, float? scales_d=None, "
                   "float? scales_h=None, float? scales_w=None) -> Tensor"},
                  upsample<Mode::kNearestExact, 3, false, -1>, float_input})
        // Linear family and bicubic.
        .pattern({{"aten::upsample_linear1d.vec(Tensor input, SymInt[]? output_size, bool align_corners, float[]? scale_factors) -> Tensor"},
                  upsample<Mode::kLinear, 1, true, 2>, float_input})
        .pattern({{"aten::upsample_bilinear2d.vec(Tensor input, SymInt[]? output_size, bool align_corners, float[]? scale_factors) -> Tensor"},
                  upsample<Mode::kLinear, 2, true, 2>, float_input})
        .pattern({{"aten::upsample_trilinear3d.vec(Tensor input, SymInt[]? output_size, bool align_corners, float[]? scale_factors) -> Tensor"},
                  upsample<Mode::kLinear, 3, true, 2>, float_input})
        .pattern({{"aten::upsample_bicubic2d.vec(Tensor input, SymInt[]? output_size, bool align_corners, float[]? scale_factors) -> Tensor"},
                  upsample<Mode::kCubic, 2, true, 2>, float_input})
        .pattern({{"aten::upsample_linear1d(Tensor self, SymInt[1] output_size, bool align_corners, float? scales=None) -> Tensor"},
                  upsample<Mode::kLinear, 1, false, 2>, float_input})
        .pattern({{"aten::upsample_bilinear2d(Tensor self, SymInt[2] output_size, bool align_corners, float? scales_h=None, "
                   "float? scales_w=None) -> Tensor"},
                  upsample<Mode::kLinear, 2, false, 2>, float_input})
        .pattern({{"aten::upsample_trilinear3d(Tensor self, SymInt[3] output_size, bool align_corners, float? scales_d=None, "
                   "float? scales_h=None, float? scales_w=None) -> Tensor"},
                  upsample<Mode::kLinear, 3, false, 2>, float_input})
        .pattern({{"aten::upsample_bicubic2d(Tensor self, SymInt[2] output_size, bool align_corners, float? scales_h=None, "
                   "float? scales_w=None) -> Tensor"},
                  upsample<Mode::kCubic, 2, false, 2>, float_input});

}  // namespace
}  // namespace trtorch::frontend::converters
