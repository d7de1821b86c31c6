// Padding, rearrangement, repetition and slice-writing converters of the data_movement family:
// aten::pad in its four modes and the legacy constant_pad_nd / reflection_pad / replication_pad /
// _pad_circular ops; roll and flip; repeat, tile and repeat_interleave; slice_scatter and
// select_scatter (what lowering turns writes into slices into); im2col and col2im (F.unfold / F.fold)
// and Tensor.unfold's sliding windows.
//  * constant padding: Slices for negative pads (cropping), then a Concat with the fill value
//    broadcast (Expand) to the pad's shape;
//  * reflect / replicate / circular padding: one Gather per padded dim with a constant index that
//    names, for every output position, the input position it copies (the dim must be static);
//  * roll / flip: one Gather per dim with the constant index (i - shift) mod n, or n - 1 - i;
//  * slice_scatter: a Concat of the kept parts and the source (step 1), or a Gather with a constant
//    index from the Concat of the input and the source (any step); select_scatter is a slice_scatter
//    of one element;
//  * repeat / tile: the input with a 1 inserted before each dim, broadcast to the repeats and
//    merged (reshape, Expand, reshape); repeat_interleave the same with the 1 after the dim, or a
//    Gather when the repeats are a tensor known at compile time;
//  * im2col (F.unfold): the padded image's pixels flattened, then one Gather with a constant index
//    that lists, per kernel tap and output position, the pixel it reads; col2im (F.fold), its
//    adjoint, a Scatter with reduce add of the columns into the flattened padded image at the same
//    index, then cropped (overlapping patches sum).
#include <algorithm>
#include <cstdint>

#include "core/frontend/conversion/converters/helpers.h"

namespace trtorch::frontend::converters {
namespace {

using torch::jit::Node;

enum class PadMode { kConstant, kReflect, kReplicate, kCircular };

PadMode pad_mode(const ConversionCtx& ctx, const std::string& m) {
  if (m == "constant") return PadMode::kConstant;
  if (m == "reflect") return PadMode::kReflect;
  if (m == "replicate") return PadMode::kReplicate;
  if (m == "circular") return PadMode::kCircular;
  ctx.fail(str_cat("padding mode '", m, "' is not supported (constant, reflect, replicate, circular)"));
}

// Dim `axis` of size n padded by `lo` before and `hi` after (negative: cropped) by copying input
// positions: reflect mirrors without repeating the edge, replicate repeats the edge, circular wraps.
ir::Value* pad_by_index(ConversionCtx& ctx, ir::Value* x, int64_t axis, int64_t lo, int64_t hi, PadMode mode) {
  const ir::Dim& dim = dims_of(x)[size_t(axis)];
  if (!dim.is_static()) ctx.fail(str_cat("padding dim ", axis, " of ", x->type.str(), " needs its size at compile time"));
  const int64_t n = dim.min;
  if (n + lo + hi < 1) ctx.fail(str_cat("padding (", lo, ", ", hi, ") leaves no elements of dim ", axis, " (size ", n, ")"));
  if (mode == PadMode::kReflect && (lo >= n || hi >= n))
    ctx.fail(str_cat("reflect padding (", lo, ", ", hi, ") must be smaller than the dim's size ", n, " (dim ", axis, ")"));
  // Circular, as torch does it: a negative side crops first, and the padding wraps around what is
  // left (the m positions from `crop_lo`).
  const int64_t crop_lo = std::max<int64_t>(-lo, 0), m = n - crop_lo - std::max<int64_t>(-hi, 0);
  if (mode == PadMode::kCircular && (lo > m || hi > m))
    ctx.fail(str_cat("circular padding (", lo, ", ", hi, ") must be at most the size left after cropping, ", m,
                     " (dim ", axis, " of size ", n, ")"));
  std::vector<int64_t> idx;
  for (int64_t j = -lo; j < n + hi; ++j) {
    int64_t i = j;
    if (mode == PadMode::kReflect) {
      i = j < 0 ? -j : j >= n ? 2 * (n - 1) - j : j;
    } else if (mode == PadMode::kReplicate) {
      i = std::min(std::max<int64_t>(j, 0), n - 1);
    } else {
      const int64_t k = j + lo - std::max<int64_t>(lo, 0);  // the output position relative to the kept part
      i = crop_lo + ((k % m) + m) % m;
    }
    idx.push_back(i);
  }
  return gather(ctx, x, idx, axis);
}

// torch's pad list: (last dim before, last dim after, second-to-last before, ...).
void add_pad(ConversionCtx& ctx, const Node* n, PadMode mode, double value) {
  ir::Value* x = ctx.tensor(n->input(0));
  const std::vector<int64_t> p = ctx.to_ints(n->input(1));
  const int64_t rank = x->type.rank();
  if (p.size() % 2 != 0 || int64_t(p.size()) > 2 * rank)
    ctx.fail(str_cat("the pad list must have an even length of at most twice the rank (", rank, "), got ", p.size()));
  for (size_t i = 0; i < p.size() / 2; ++i) {
    const int64_t axis = rank - 1 - int64_t(i);
    const int64_t lo = p[2 * i], hi = p[2 * i + 1];
    if (lo == 0 && hi == 0) continue;
    x = mode == PadMode::kConstant ? pad_constant(ctx, x, axis, lo, hi, value) : pad_by_index(ctx, x, axis, lo, hi, mode);
  }
  ctx.set_output(0, x);
}

// Static size of dim `axis` of x (roll, flip).
int64_t static_size(ConversionCtx& ctx, ir::Value* x, int64_t axis, const char* op) {
  const ir::Dim& dim = dims_of(x)[size_t(axis)];
  if (!dim.is_static()) ctx.fail(str_cat(op, " along the dynamic dim ", axis, " of ", x->type.str(), " is not supported"));
  return dim.min;
}

// torch.roll: dims empty rolls the flattened tensor.
void add_roll(ConversionCtx& ctx, const Node* n) {
  ir::Value* x = ctx.tensor(n->input(0));
  const std::vector<int64_t> shifts = ctx.to_ints(n->input(1)), dims = ctx.to_ints(n->input(2));
  const std::vector<ir::Dim> shape = dims_of(x);
  std::vector<int64_t> axes = dims;
  if (dims.empty()) {
    if (shifts.size() != 1) ctx.fail(str_cat("roll without dims takes one shift, got ", shifts.size()));
    x = reshape(ctx, x, std::vector<ir::Dim>{ir::dims_product(shape)});
    axes = {0};
  } else if (shifts.size() != dims.size()) {
    ctx.fail(str_cat("roll takes as many shifts as dims, got ", shifts.size(), " and ", dims.size()));
  }
  for (size_t i = 0; i < axes.size(); ++i) {
    const int64_t axis = normalize_dim(ctx, axes[i], x->type.rank());
    const int64_t len = static_size(ctx, x, axis, "roll");
    if (len == 0) continue;
    const int64_t s = ((shifts[i] % len) + len) % len;
    if (s == 0) continue;
    std::vector<int64_t> idx;
    for (int64_t j = 0; j < len; ++j) idx.push_back((j - s + len) % len);
    x = gather(ctx, x, idx, axis);
  }
  if (dims.empty()) x = reshape(ctx, x, shape);
  ctx.set_output(0, x);
}

void add_flip(ConversionCtx& ctx, const Node* n) {
  ir::Value* x = ctx.tensor(n->input(0));
  std::vector<bool> seen(size_t(x->type.rank()), false);
  for (int64_t d : ctx.to_ints(n->input(1))) {
    const int64_t axis = normalize_dim(ctx, d, x->type.rank());
    if (seen[size_t(axis)]) ctx.fail(str_cat("dim ", axis, " appears more than once in flip's dims"));
    seen[size_t(axis)] = true;
    const int64_t len = static_size(ctx, x, axis, "flip");
    if (len <= 1) continue;
    std::vector<int64_t> idx;
    for (int64_t j = len - 1; j >= 0; --j) idx.push_back(j);
    x = gather(ctx, x, idx, axis);
  }
  ctx.set_output(0, x);
}

// The geometry of im2col / col2im: a kernel of kh x kw taps with dilation, padding and stride over an
// H x W image; the padded image's size and the number of output positions per dim.
struct Unfold {
  int64_t kh, kw, dh, dw, ph, pw, sh, sw, hp, wp, oh, ow;
  // For tap (i, j) and output position (y, x), in that order: the pixel read, flattened over the
  // padded image.
  std::vector<int64_t> index() const {
    std::vector<int64_t> idx;
    idx.reserve(size_t(kh * kw * oh * ow));
    for (int64_t i = 0; i < kh; ++i)
      for (int64_t j = 0; j < kw; ++j)
        for (int64_t y = 0; y < oh; ++y)
          for (int64_t x = 0; x < ow; ++x) idx.push_back((y * sh + i * dh) * wp + x * sw + j * dw);
    return idx;
  }
};

Unfold unfold_geometry(ConversionCtx& ctx, const Node* n, size_t first, int64_t h, int64_t w) {
  auto pair = [&](size_t i, const char* what, int64_t least) {
    const std::vector<int64_t> v = ctx.to_ints(n->input(i));
    if (v.size() != 2) ctx.fail(str_cat(what, " must have 2 values, got ", v.size()));
    if (v[0] < least || v[1] < least) ctx.fail(str_cat(what, " must be at least ", least, ", got (", v[0], ", ", v[1], ")"));
    return v;
  };
  const auto k = pair(first, "kernel_size", 1), d = pair(first + 1, "dilation", 1), p = pair(first + 2, "padding", 0),
             s = pair(first + 3, "stride", 1);
  Unfold u{k[0], k[1], d[0], d[1], p[0], p[1], s[0], s[1], h + 2 * p[0], w + 2 * p[1], 0, 0};
  u.oh = (u.hp - (d[0] * (k[0] - 1) + 1)) / s[0] + 1;
  u.ow = (u.wp - (d[1] * (k[1] - 1) + 1)) / s[1] + 1;
  if (u.hp < d[0] * (k[0] - 1) + 1 || u.wp < d[1] * (k[1] - 1) + 1 || u.oh < 1 || u.ow < 1)
    ctx.fail(str_cat("the dilated kernel (", d[0] * (k[0] - 1) + 1, ", ", d[1] * (k[1] - 1) + 1,
                     ") is larger than the padded image (", u.hp, ", ", u.wp, ")"));
  return u;
}

// The static size of each of the last `count` dims of x (what im2col / col2im need at compile time).
std::vector<int64_t> static_trailing(ConversionCtx& ctx, ir::Value* x, int64_t count) {
  const auto& d = dims_of(x);
  std::vector<int64_t> r;
  for (size_t i = d.size() - size_t(count); i < d.size(); ++i) {
    if (!d[i].is_static()) ctx.fail(str_cat("dim ", i, " of ", x->type.str(), " is dynamic; it must be known at compile time"));
    r.push_back(d[i].min);
  }
  return r;
}

// F.unfold: (N, C, H, W) or (C, H, W) -> (N, C*kh*kw, L) or (C*kh*kw, L), L = oh * ow, rows ordered
// (channel, tap), as torch orders them. The batch may be dynamic.
void add_im2col(ConversionCtx& ctx, const Node* n) {
  ir::Value* x = ctx.tensor(n->input(0));
  const int64_t rank = x->type.rank();
  if (rank != 3 && rank != 4) ctx.fail(str_cat("im2col takes a 3-D (C, H, W) or 4-D (N, C, H, W) input, got ", x->type.str()));
  const std::vector<int64_t> chw = static_trailing(ctx, x, 3);
  const Unfold u = unfold_geometry(ctx, n, 1, chw[1], chw[2]);
  if (rank == 3) x = unsqueeze(ctx, x, 0);
  const ir::Dim batch = dims_of(x)[0];
  x = pad_constant(ctx, pad_constant(ctx, x, 2, u.ph, u.ph, 0.0), 3, u.pw, u.pw, 0.0);
  const ir::Dim c = ir::Dim::fixed(chw[0]);
  x = reshape(ctx, x, std::vector<ir::Dim>{batch, c, ir::Dim::fixed(u.hp * u.wp)});
  ir::Value* y = gather(ctx, x, u.index(), 2);  // (N, C, taps * L)
  std::vector<ir::Dim> out{batch, ir::Dim::fixed(chw[0] * u.kh * u.kw), ir::Dim::fixed(u.oh * u.ow)};
  if (rank == 3) out.erase(out.begin());
  ctx.set_output(0, reshape(ctx, y, out));
}

// F.fold: (N, C*kh*kw, L) or (C*kh*kw, L) -> (N, C, H, W) or (C, H, W), each column's values added
// into the pixels its patch covers. The batch may be dynamic.
void add_col2im(ConversionCtx& ctx, const Node* n) {
  ir::Value* x = ctx.tensor(n->input(0));
  const int64_t rank = x->type.rank();
  if (rank != 2 && rank != 3) ctx.fail(str_cat("col2im takes a 2-D (C*kh*kw, L) or 3-D (N, C*kh*kw, L) input, got ", x->type.str()));
  const std::vector<int64_t> hw = ctx.to_ints(n->input(1));
  if (hw.size() != 2 || hw[0] < 1 || hw[1] < 1) ctx.fail("output_size must be 2 positive values");
  const Unfold u = unfold_geometry(ctx, n, 2, hw[0], hw[1]);
  const std::vector<int64_t> kl = static_trailing(ctx, x, 2);
  if (kl[0] % (u.kh * u.kw) != 0)
    ctx.fail(str_cat("dim ", rank - 2, " of ", x->type.str(), " (", kl[0], ") is not a multiple of the kernel's ",
                     u.kh * u.kw, " taps"));
  if (kl[1] != u.oh * u.ow)
    ctx.fail(str_cat("dim ", rank - 1, " of ", x->type.str(), " (", kl[1], ") must be the number of patches, ",
                     u.oh, " * ", u.ow, " = ", u.oh * u.ow));
  if (rank == 2) x = unsqueeze(ctx, x, 0);
  const ir::Dim batch = dims_of(x)[0], c = ir::Dim::fixed(kl[0] / (u.kh * u.kw));
  const ir::Dim taps_l = ir::Dim::fixed(kl[0] / c.min * kl[1]);
  x = reshape(ctx, x, std::vector<ir::Dim>{batch, c, taps_l});
  const std::vector<int64_t> idx = u.index();
  ir::Value* index = expand(ctx, reshape(ctx, ctx.constant(at::tensor(idx, at::kLong)), std::vector<int64_t>{1, 1, int64_t(idx.size())}),
                            std::vector<ir::Dim>{batch, c, taps_l});
  ir::Value* zeros = expand(ctx, ctx.scalar_constant(0.0, x->type.dtype),
                            std::vector<ir::Dim>{batch, c, ir::Dim::fixed(u.hp * u.wp)});
  ir::Value* y = scatter(ctx, zeros, index, x, 2, ir::ScatterReduce::kAdd);
  y = reshape(ctx, y, std::vector<ir::Dim>{batch, c, ir::Dim::fixed(u.hp), ir::Dim::fixed(u.wp)});
  y = pad_constant(ctx, pad_constant(ctx, y, 2, -u.ph, -u.ph, 0.0), 3, -u.pw, -u.pw, 0.0);
  if (rank == 2) y = reshape(ctx, y, std::vector<ir::Dim>{c, ir::Dim::fixed(hw[0]), ir::Dim::fixed(hw[1])});
  ctx.set_output(0, y);
}

// Tensor.unfold(dim, size, step): the windows of `size` elements every `step` along `dim` (static):
// dim becomes the window count and a new last dim of `size` holds each window (a Gather with a
// constant index, then a reshape and a transpose).
void add_unfold_windows(ConversionCtx& ctx, const Node* n) {
  ir::Value* x = ctx.tensor(n->input(0));
  const int64_t rank = x->type.rank();
  if (rank == 0) ctx.fail("unfold of a 0-D tensor is not supported");
  const int64_t axis = normalize_dim(ctx, ctx.to_int(n->input(1)), rank);
  const int64_t size = ctx.to_int(n->input(2)), step = ctx.to_int(n->input(3));
  const int64_t len = static_size(ctx, x, axis, "unfold");
  if (size < 0 || size > len) ctx.fail(str_cat("unfold: size ", size, " must be in [0, ", len, "] (dim ", axis, ")"));
  if (step < 1) ctx.fail(str_cat("unfold: step must be positive, got ", step));
  const int64_t windows = (len - size) / step + 1;
  std::vector<int64_t> idx;
  for (int64_t i = 0; i < windows; ++i)
    for (int64_t j = 0; j < size; ++j) idx.push_back(i * step + j);
  ir::Value* y = gather(ctx, x, idx, axis);  // dim `axis` now windows * size
  std::vector<ir::Dim> split = dims_of(x);
  split[size_t(axis)] = ir::Dim::fixed(windows);
  split.insert(split.begin() + axis + 1, ir::Dim::fixed(size));
  y = reshape(ctx, y, split);
  std::vector<int64_t> perm;
  for (int64_t i = 0; i <= rank; ++i)
    if (i != axis + 1) perm.push_back(i);
  perm.push_back(axis + 1);
  ctx.set_output(0, transpose(ctx, y, perm));
}

// self with elements start, start+step, ... < end of dim `axis` replaced by src's (static dim).
ir::Value* slice_scatter(ConversionCtx& ctx, ir::Value* self, ir::Value* src, int64_t axis, int64_t start, int64_t end,
                         int64_t step) {
  const int64_t len = static_size(ctx, self, axis, "a write into a slice");
  if (step < 1) ctx.fail(str_cat("the slice step must be positive, got ", step));
  auto clamp = [&](int64_t i) { return std::min(std::max<int64_t>(i < 0 ? i + len : i, 0), len); };
  start = clamp(start);
  end = std::max(clamp(end), start);
  const int64_t count = (end - start + step - 1) / step;
  const ir::Dim& src_len = dims_of(src)[size_t(axis)];
  if (!src_len.is_static() || src_len.min != count)
    ctx.fail(str_cat("the source ", src->type.str(), " does not fit the ", count, " elements of dim ", axis, " it is written to"));
  if (count == 0) return self;
  if (src->type.dtype != self->type.dtype) {
    ir::CastAttrs c;
    c.to = self->type.dtype;
    src = ctx.add(ir::OpKind::Cast, c, {src});
  }
  ir::ConcatAttrs cat;
  cat.axis = axis;
  if (step == 1 || count == 1) {
    end = start + 1 + (count - 1) * step;
    std::vector<ir::Value*> parts;
    if (start > 0) parts.push_back(slice(ctx, self, axis, ir::Dim::fixed(0), ir::Dim::fixed(start), 1));
    parts.push_back(src);
    if (end < len) parts.push_back(slice(ctx, self, axis, ir::Dim::fixed(end), ir::Dim::fixed(len), 1));
    return parts.size() == 1 ? src : ctx.add(ir::OpKind::Concat, cat, parts);
  }
  std::vector<int64_t> idx;
  for (int64_t j = 0; j < len; ++j)
    idx.push_back(j >= start && j < end && (j - start) % step == 0 ? len + (j - start) / step : j);
  return gather(ctx, ctx.add(ir::OpKind::Concat, cat, {self, src}), idx, axis);
}

// repeat(x, reps): reps may be longer than the rank (new leading dims of size 1).
ir::Value* repeat(ConversionCtx& ctx, ir::Value* x, const std::vector<int64_t>& reps) {
  const int64_t rank = x->type.rank();
  if (int64_t(reps.size()) < rank)
    ctx.fail(str_cat("repeat needs at least as many repeats (", reps.size(), ") as the tensor has dims (", rank, ")"));
  if (int64_t(reps.size()) > rank) {
    std::vector<ir::Dim> s(reps.size() - size_t(rank), ir::Dim::fixed(1));
    for (const auto& dd : dims_of(x)) s.push_back(dd);
    x = reshape(ctx, x, s);
  }
  return repeat_dims(ctx, x, reps, false);
}

void add_repeat_interleave(ConversionCtx& ctx, const Node* n) {
  ir::Value* x = ctx.tensor(n->input(0));
  int64_t axis = 0;
  if (ctx.is_none(n->input(2))) {
    x = reshape(ctx, x, std::vector<ir::Dim>{ir::dims_product(dims_of(x))});
  } else {
    axis = normalize_dim(ctx, ctx.to_int(n->input(2)), x->type.rank());
  }
  const Arg& r = ctx.arg(n->input(1));
  if (r.kind == Arg::Kind::kIValue && r.ivalue.isTensor()) {
    at::Tensor reps = r.ivalue.toTensor().to(at::kLong).reshape({-1});
    const ir::Dim& dim = dims_of(x)[size_t(axis)];
    if (reps.numel() == 1) {
      std::vector<int64_t> all(size_t(x->type.rank()), 1);
      all[size_t(axis)] = reps.item<int64_t>();
      ctx.set_output(0, repeat_dims(ctx, x, all, true));
      return;
    }
    if (!dim.is_static() || dim.min != reps.numel())
      ctx.fail(str_cat(reps.numel(), " repeats for dim ", axis, " of ", x->type.str()));
    std::vector<int64_t> idx;
    for (int64_t i = 0; i < reps.numel(); ++i) {
      const int64_t k = reps[i].item<int64_t>();
      if (k < 0) ctx.fail(str_cat("repeats must be non-negative, got ", k));
      idx.insert(idx.end(), size_t(k), i);
    }
    if (idx.empty()) ctx.fail("repeat_interleave with all repeats zero gives an empty tensor");
    ctx.set_output(0, gather(ctx, x, idx, axis));
    return;
  }
  if (r.kind == Arg::Kind::kTensor) ctx.fail("repeat_interleave with repeats computed by the engine is not supported");
  std::vector<int64_t> all(size_t(x->type.rank()), 1);
  all[size_t(axis)] = ctx.to_int(n->input(1));
  ctx.set_output(0, repeat_dims(ctx, x, all, true));
}

template <PadMode M>
void legacy_pad(ConversionCtx& ctx, const Node* n) {
  add_pad(ctx, n, M, 0.0);
}

static auto reg =
    RegisterConverters()
        .pattern({{"aten::pad(Tensor self, SymInt[] pad, str mode=\"constant\", float? value=None) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    const PadMode m = pad_mode(ctx, ctx.ivalue(n->input(2)).toStringRef());
                    const double v = ctx.is_none(n->input(3)) ? 0.0 : ctx.to_double(n->input(3));
                    if (m != PadMode::kConstant && v != 0.0)
                      ctx.fail("a padding value is only allowed with mode 'constant'");
                    add_pad(ctx, n, m, v);
                  }})
        .pattern({{"aten::constant_pad_nd(Tensor self, SymInt[] pad, Scalar value=0) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) { add_pad(ctx, n, PadMode::kConstant, ctx.to_double(n->input(2))); }})
        .pattern({{"aten::reflection_pad1d(Tensor self, SymInt[2] padding) -> Tensor",
                   "aten::reflection_pad2d(Tensor self, SymInt[4] padding) -> Tensor",
                   "aten::reflection_pad3d(Tensor self, SymInt[6] padding) -> Tensor"},
                  legacy_pad<PadMode::kReflect>})
        .pattern({{"aten::replication_pad1d(Tensor self, SymInt[2] padding) -> Tensor",
                   "aten::replication_pad2d(Tensor self, SymInt[4] padding) -> Tensor",
                   "aten::replication_pad3d(Tensor self, SymInt[6] padding) -> Tensor"},
                  legacy_pad<PadMode::kReplicate>})
        .pattern({{"aten::_pad_circular(Tensor self, SymInt[] pad) -> Tensor"}, legacy_pad<PadMode::kCircular>})
        .pattern({{"aten::roll(Tensor self, SymInt[1] shifts, int[1] dims=[]) -> Tensor"}, add_roll})
        .pattern({{"aten::flip(Tensor self, int[] dims) -> Tensor"}, add_flip})
        .pattern({{"aten::slice_scatter(Tensor self, Tensor src, int dim=0, SymInt? start=None, SymInt? end=None, "
                   "SymInt step=1) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Value* self = ctx.tensor(n->input(0));
                    const int64_t axis = normalize_dim(ctx, ctx.to_int(n->input(2)), self->type.rank());
                    const int64_t start = ctx.is_none(n->input(3)) ? 0 : ctx.to_int(n->input(3));
                    const int64_t end = ctx.is_none(n->input(4)) ? INT64_MAX : ctx.to_int(n->input(4));
                    ctx.set_output(0, slice_scatter(ctx, self, ctx.tensor_as(n->input(1), self->type.dtype), axis, start,
                                                    end, ctx.to_int(n->input(5))));
                  }})
        .pattern({{"aten::select_scatter(Tensor self, Tensor src, int dim, SymInt index) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Value* self = ctx.tensor(n->input(0));
                    const int64_t axis = normalize_dim(ctx, ctx.to_int(n->input(2)), self->type.rank());
                    const int64_t len = static_size(ctx, self, axis, "a write into an element");
                    int64_t index = ctx.to_int(n->input(3));
                    if (index < -len || index >= len)
                      ctx.fail(str_cat("index ", index, " is out of range for dim ", axis, " of size ", len));
                    if (index < 0) index += len;
                    ir::Value* src = ctx.tensor_as(n->input(1), self->type.dtype);
                    std::vector<ir::Dim> d = dims_of(src);
                    d.insert(d.begin() + axis, ir::Dim::fixed(1));
                    ctx.set_output(0, slice_scatter(ctx, self, reshape(ctx, src, d), axis, index, index + 1, 1));
                  }})
        .pattern({{"aten::repeat(Tensor self, SymInt[] repeats) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ctx.set_output(0, repeat(ctx, ctx.tensor(n->input(0)), ctx.to_ints(n->input(1))));
                  }})
        .pattern({{"aten::tile(Tensor self, SymInt[] dims) -> Tensor"},
                  [](ConversionCtx& ctx, const Node* n) {
                    ir::Value* x = ctx.tensor(n->input(0));
                    std::vector<int64_t> reps = ctx.to_ints(n->input(1));
                    if (int64_t(reps.size()) < x->type.rank()) reps.insert(reps.begin(), size_t(x->type.rank()) - reps.size(), 1);
                    ctx.set_output(0, repeat(ctx, x, reps));
                  }})
        .pattern({{"aten::repeat_interleave.self_int(Tensor self, SymInt repeats, int? dim=None, *, SymInt? output_size=None) -> Tensor",
                   "aten::repeat_interleave.self_Tensor(Tensor self, Tensor repeats, int? dim=None, *, SymInt? output_size=None) -> Tensor"},
                  add_repeat_interleave});

static auto im2col_reg = RegisterConverters()
    .pattern({{"aten::unfold(Tensor(a) self, int dimension, int size, int step) -> Tensor(a)"}, add_unfold_windows})
    .pattern({{"aten::im2col(Tensor self, int[2] kernel_size, int[2] dilation, int[2] padding, int[2] stride) -> Tensor"},
              add_im2col})
    .pattern({{"aten::col2im(Tensor self, SymInt[2] output_size, int[2] kernel_size, int[2] dilation, int[2] padding, "
               "int[2] stride) -> Tensor"},
              add_col2im});

}  // namespace

// x with each dim d repeated reps[d] times: as a whole (.., d, ..) -> (.., r*d, ..) for repeat, each
// element in turn for repeat_interleave. A new dim of size r goes before the dim (repeat) or after
// it (repeat_interleave), the result is broadcast to it and merged; dims repeated once get none,
// so the broadcast's rank grows only by the repeated dims.
ir::Value* repeat_dims(ConversionCtx& ctx, ir::Value* x, const std::vector<int64_t>& reps, bool interleave) {
  const auto& d = dims_of(x);
  std::vector<ir::Dim> split, wide, merged;
  for (size_t i = 0; i < d.size(); ++i) {
    if (reps[i] < 0) ctx.fail(str_cat("repeats must be non-negative, got ", reps[i]));
    const ir::Dim r = ir::Dim::fixed(reps[i]);
    if (reps[i] == 1) {
      split.push_back(d[i]);
      wide.push_back(d[i]);
    } else if (interleave) {
      split.insert(split.end(), {d[i], ir::Dim::fixed(1)});
      wide.insert(wide.end(), {d[i], r});
    } else {
      split.insert(split.end(), {ir::Dim::fixed(1), d[i]});
      wide.insert(wide.end(), {r, d[i]});
    }
    merged.push_back(ir::dims_product({r, d[i]}));
  }
  if (split.size() == d.size()) return x;  // every dim repeated once
  return reshape(ctx, expand(ctx, reshape(ctx, x, split), wide), merged);
}

ir::Value* pad_constant(ConversionCtx& ctx, ir::Value* x, int64_t axis, int64_t lo, int64_t hi, double value) {
  if (lo < 0 || hi < 0) {  // cropping
    const ir::Dim& dim = dims_of(x)[size_t(axis)];
    const int64_t start = std::max<int64_t>(0, -lo);
    ir::Dim end = dim;
    if (hi < 0) {
      if (!dim.is_static()) ctx.fail(str_cat("cropping the end of the dynamic dim ", axis, " of ", x->type.str(), " is not supported"));
      end = ir::Dim::fixed(dim.min + hi);
    }
    if (dim.min + std::min<int64_t>(lo, 0) + std::min<int64_t>(hi, 0) < 1)
      ctx.fail(str_cat("padding (", lo, ", ", hi, ") leaves no elements of dim ", axis, " of ", x->type.str()));
    x = slice(ctx, x, axis, ir::Dim::fixed(start), end, 1);
    lo = std::max<int64_t>(lo, 0);
    hi = std::max<int64_t>(hi, 0);
  }
  if (lo == 0 && hi == 0) return x;
  ir::Value* fill = ctx.scalar_constant(value, x->type.dtype);
  auto block = [&](int64_t len) {
    std::vector<ir::Dim> shape = dims_of(x);
    shape[size_t(axis)] = ir::Dim::fixed(len);
    return expand(ctx, fill, shape);
  };
  std::vector<ir::Value*> parts;
  if (lo > 0) parts.push_back(block(lo));
  parts.push_back(x);
  if (hi > 0) parts.push_back(block(hi));
  ir::ConcatAttrs c;
  c.axis = axis;
  return ctx.add(ir::OpKind::Concat, c, parts);
}

}  // namespace trtorch::frontend::converters
