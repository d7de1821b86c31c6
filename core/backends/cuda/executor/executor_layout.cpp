// The CUDA executor's layout planning: channels-last (NHWC) where tensor-core convolutions want it.
//
// With the engine option channels_last (the default), a 4-D FP16/BF16 activation produced by a
// convolution is NHWC; layout-agnostic consumers (elementwise, batch norm, pooling, channel
// concat/slice) keep it; any other consumer gets a layout change, made once per value and shared
// by all such consumers. Engine inputs and outputs are NCHW, so the changes sit at the engine's
// edges.
#include <algorithm>

#include "core/backends/cuda/executor/executor.h"

namespace trtorch::backends::cuda {

namespace {

// Few-channel convolutions (an image's 3 channels) read an input padded to this many channels.
// ResNet-50's 7x7 stem, FP16, batch 32, H100: 0.202 ms unpadded, 0.216 ms padded to 8, 0.111 ms
// padded to 4 (cuDNN has tensor-core kernels for C = 4).
constexpr int64_t kConvChannelAlign = 4;

}  // namespace

std::vector<CudaExecutor::KernelView> CudaExecutor::plan_layouts() {
  std::vector<KernelView> views;
  const auto nodes = engine_->graph->nodes();
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i]->op == ir::OpKind::Constant) continue;
    KernelView v = add_node_step(nodes[i], choose_layouts(*nodes[i]));
    steps_.back().tactic_index = int(i);
    views.resize(steps_.size());  // layout changes added before the node's step have empty views
    views.back() = std::move(v);
  }
  return views;
}

bool CudaExecutor::same_in_both_layouts(int v) const {
  const auto& sh = descs_[size_t(v)].shape;
  return sh.size() != 4 || sh[1] == 1 || sh[2] * sh[3] == 1;
}

bool CudaExecutor::may_be_nhwc(const ir::Value* v) const {
  return options_.channels_last && v->type.rank() == 4 &&
         (v->type.dtype == ir::DType::kFloat16 || v->type.dtype == ir::DType::kBFloat16 ||
          v->type.dtype == ir::DType::kInt8) &&
         !same_in_both_layouts(v->id);
}

CudaExecutor::NodeLayouts CudaExecutor::choose_layouts(const ir::Node& n) const {
  NodeLayouts l;
  l.want.assign(n.inputs.size(), int(Layout::kRowMajor));
  const ir::Value* o = n.outputs[0];
  auto any_input_nhwc = [&] {
    return std::any_of(n.inputs.begin(), n.inputs.end(), [&](const ir::Value* v) { return is_nhwc(v->id); });
  };
  switch (n.op) {
    case ir::OpKind::Conv2d:
      for (size_t j = 1; j < n.inputs.size(); ++j) l.want[j] = kAnyLayout;  // weights, bias (constants)
      if (may_be_nhwc(o)) {
        l.out = Layout::kNHWC;
        l.want[0] = int(Layout::kNHWC);
        if (n.attr<ir::Conv2dAttrs>().has_residual) l.want.back() = int(Layout::kNHWC);
        // A convolution of few channels (an image's 3) that reads an NCHW value: its layout
        // change also pads the channels to kConvChannelAlign with zeros (the weights get zero
        // channels too), so that cuDNN runs it on tensor cores.
        const ir::Value* x = n.inputs[0];
        const int64_t c = x->type.static_shape()[1];
        if (c % kConvChannelAlign != 0 && c < kConvChannelAlign && n.attr<ir::Conv2dAttrs>().groups == 1 &&
            slots_[size_t(n.inputs[1]->id)].kind == Slot::kConstant && !is_nhwc(x->id) &&
            !same_in_both_layouts(x->id))
          l.pad_input_channels = kConvChannelAlign;
      }
      break;
    case ir::OpKind::QConv2d:
      // INT8 convolution: NHWC in and out where the output may be (int8, FP16), for the CUTLASS
      // kernels; an FP32 output keeps every tensor row-major (the direct kernel reads either).
      for (size_t j = 1; j < n.inputs.size(); ++j) l.want[j] = kAnyLayout;  // weights, bias (constants)
      if (may_be_nhwc(o) && may_be_nhwc(n.inputs[0])) {
        l.out = Layout::kNHWC;
        l.want[0] = int(Layout::kNHWC);
        if (n.attr<ir::QConv2dAttrs>().has_residual) l.want.back() = int(Layout::kNHWC);
      }
      break;
    case ir::OpKind::Unary:
    case ir::OpKind::Cast:
    case ir::OpKind::BatchNorm:
    case ir::OpKind::Pool2d:
    case ir::OpKind::Slice:
      for (size_t j = 1; j < n.inputs.size(); ++j) l.want[j] = kAnyLayout;
      if (is_nhwc(n.inputs[0]->id) && (may_be_nhwc(o) || n.op == ir::OpKind::Pool2d)) {
        l.out = may_be_nhwc(o) ? Layout::kNHWC : Layout::kRowMajor;
        l.want[0] = int(Layout::kNHWC);
      }
      break;
    case ir::OpKind::Quantize:
    case ir::OpKind::Dequantize: {
      // Per tensor: elementwise, the input's layout (per channel: row-major).
      const int64_t axis = n.op == ir::OpKind::Quantize ? n.attr<ir::QuantizeAttrs>().axis
                                                        : n.attr<ir::DequantizeAttrs>().axis;
      if (axis < 0 && is_nhwc(n.inputs[0]->id) && may_be_nhwc(o)) {
        l.out = Layout::kNHWC;
        l.want[0] = int(Layout::kNHWC);
      }
      break;
    }
    case ir::OpKind::AdaptivePool2d:
      // Reads either layout; a 1x1 output is the same bytes in both.
      if (is_nhwc(n.inputs[0]->id) && (may_be_nhwc(o) || same_in_both_layouts(o->id))) {
        l.out = may_be_nhwc(o) ? Layout::kNHWC : Layout::kRowMajor;
        l.want[0] = int(Layout::kNHWC);
      }
      break;
    case ir::OpKind::Binary:
    case ir::OpKind::Pointwise:
      if (any_input_nhwc() && may_be_nhwc(o)) {
        l.out = Layout::kNHWC;
        for (size_t j = 0; j < n.inputs.size(); ++j)  // broadcast operands: strides
          l.want[j] = n.inputs[j]->type == o->type ? int(Layout::kNHWC) : kAnyLayout;
      }
      break;
    case ir::OpKind::Concat:
      if (any_input_nhwc() && may_be_nhwc(o)) {
        l.out = Layout::kNHWC;
        std::fill(l.want.begin(), l.want.end(), int(Layout::kNHWC));
      }
      break;
    default: break;
  }
  return l;
}

CudaExecutor::KernelView CudaExecutor::add_node_step(ir::Node* n, const NodeLayouts& l) {
  Step step;
  step.node = n;
  KernelView view;
  for (size_t j = 0; j < n->inputs.size(); ++j) {
    int v = n->inputs[j]->id;
    const bool wants = l.want[j] != kAnyLayout;
    if (wants && !same_in_both_layouts(v) && int(descs_[size_t(v)].layout) != l.want[j])
      v = layout_copy(v, Layout(l.want[j]), j == 0 ? l.pad_input_channels : 0);
    step.in.push_back(v);
    TensorDesc d = descs_[size_t(v)];
    if (wants && same_in_both_layouts(v)) d.layout = Layout(l.want[j]);  // same bytes, the kernel's view
    view.inputs.push_back(d);
  }
  for (ir::Value* ov : n->outputs) {
    descs_[size_t(ov->id)].layout = may_be_nhwc(ov) ? l.out : Layout::kRowMajor;
    step.out.push_back(ov->id);
    TensorDesc d = descs_[size_t(ov->id)];
    if (same_in_both_layouts(ov->id) && !view.inputs.empty() && n->op != ir::OpKind::Conv2d)
      d.layout = view.inputs[0].layout;
    view.outputs.push_back(d);
  }
  // An alias reads its (possibly layout-changed) input.
  if (n->op == ir::OpKind::Identity || n->op == ir::OpKind::Reshape)
    slots_[size_t(n->outputs[0]->id)] = {Slot::kAlias, step.in[0]};
  steps_.push_back(std::move(step));
  return view;
}

int CudaExecutor::layout_copy(int v, Layout to, int64_t padded_channels) {
  const auto key = std::make_pair(v, padded_channels);
  auto it = layout_copies_.find(key);
  if (it != layout_copies_.end()) return it->second;
  const int c = int(descs_.size());
  TensorDesc d = descs_[size_t(v)];
  Step st;
  st.in = {v};
  st.out = {c};
  st.kernel = make_layout_change(d, to, padded_channels);
  d.layout = to;
  if (padded_channels > 0) d.shape[1] = padded_channels;
  descs_.push_back(d);
  slots_.push_back(Slot{Slot::kArena, -1});
  steps_.push_back(std::move(st));
  layout_copies_[key] = c;
  return c;
}

}  // namespace trtorch::backends::cuda
