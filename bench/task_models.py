"""torchvision detection and segmentation models for the partial-compilation checks (issue 17):
how they are built, their inputs, how their outputs are compared, and how much of a compiled
graph sits in trtorch engines. Shared by bench/bench.py and tests/python/partition_real_models.py.

Models (random weights: weights=None, weights_backbone=None; eval mode; torch seeded):

  detection     fasterrcnn_mobilenet_v3_large_fpn, retinanet_resnet50_fpn,
                ssdlite320_mobilenet_v3_large: forward(List[Tensor] of 3xHxW images in [0, 1])
                returns List[Dict[str, Tensor]] ("boxes", "scores", "labels") in eager mode and
                (losses, detections) under TorchScript; main_outputs() takes either.
  segmentation  fcn_resnet50, deeplabv3_mobilenet_v3_large, lraspp_mobilenet_v3_large:
                forward(N x 3 x H x W) returns {"out": N x 21 x H x W}.

Random weights give meaningless, nearly tied detections: every class logit of a fresh model is
about the same (RetinaNet's classifier starts at the prior bias -4.6 with weights of std 0.01,
Faster R-CNN's at weights of std 0.01), so the scores of Faster R-CNN's 100 detections lay within
0.002 of each other, RetinaNet's within 0.0003, and which boxes survive top-k and NMS depended on
the last bit (FP32 against FP64 on the CPU put another label at 31% of RetinaNet's 300 ranks).
make_model() therefore, with torch seeded:

  1. sets the score threshold to 0 (model.roi_heads.score_thresh for Faster R-CNN,
     model.score_thresh for RetinaNet and SSD), so that every model returns its full
     detections_per_img (100, 300, 300);
  2. estimates the batch-norm statistics on 4 random images of the input size, drawn as
     make_inputs() draws them (as bench.py does for the classifiers: torchvision's initial mean
     0 / variance 1 shrink or blow up deep activations);
  3. then damps every residual branch: the last batch norm's weight and bias of each ResNet
     Bottleneck / BasicBlock and of each MobileNetV3 InvertedResidual with a skip connection are
     scaled by RESIDUAL_SCALE (0.3). Random deep residual networks are chaotic: rounding errors
     grow block after block (FP16-rounded weights put fcn_resnet50's output 15% off, and FP32
     against FP64 differed by 1e-4), where trained ones are not; damped, 0.06% and 7e-7;
  4. rescales each class-logit layer (Faster R-CNN: rpn.head.cls_logits and
     roi_heads.box_predictor.cls_score; RetinaNet: head.classification_head.cls_logits; SSD: the
     last conv of each head.classification_head.module_list entry) so that its outputs on those
     images have mean 0 and standard deviation LOGIT_STD; RetinaNet's (sigmoid scores of the top
     300 of ~10^6 candidates) are also shifted so that the kept ones centre on score 0.5 instead
     of crowding at 0.99. Scores then spread over about 0.2 to 0.75.

Near-ties remain at the top-k / NMS cut-offs (hundreds of detections kept out of up to millions
of candidates): compare_detections() matches detections one to one (same label, boxes and score
within tolerance) and reports the fraction matched. Measured on the CPU (image 0 of
make_inputs(name, 1)), at the tolerances of tests/python/partition_real_models.py, against
TorchScript FP32: eager FP64 matched 100% of the detections; FP16 emulated (weights and input
rounded to FP16, FP32 arithmetic) 99-100%; before the damping (step 3) RetinaNet's FP16 emulation
matched 86-88%, and at 224 pixels with the estimate on other-sized images 13%.
"""
import os
import re
import sys
import tempfile

import torch
import torchvision
from torchvision.models import detection as _det
from torchvision.models import segmentation as _seg

DETECTION = {
    "fasterrcnn_mobilenet_v3_large_fpn": _det.fasterrcnn_mobilenet_v3_large_fpn,
    "retinanet_resnet50_fpn": _det.retinanet_resnet50_fpn,
    "ssdlite320_mobilenet_v3_large": _det.ssdlite320_mobilenet_v3_large,
}
SEGMENTATION = {
    "fcn_resnet50": _seg.fcn_resnet50,
    "deeplabv3_mobilenet_v3_large": _seg.deeplabv3_mobilenet_v3_large,
    "lraspp_mobilenet_v3_large": _seg.lraspp_mobilenet_v3_large,
}
TASK_MODELS = {**DETECTION, **SEGMENTATION}
IMAGE_SIZE = 320   # input images are 3 x 320 x 320 (the detection models resize them internally:
#                    Faster R-CNN and RetinaNet to 800 x 800, SSDlite to 320 x 320)
LOGIT_STD = 1.0    # standard deviation of the rescaled class logits (see the module docstring)
RESIDUAL_SCALE = 0.3  # residual branches' last batch norm is scaled by this (see the module docstring)
CALIBRATION_IMAGES = 4


def is_detection(name):
    return name in DETECTION


def _class_logit_layers(model):
    if isinstance(model, _det.FasterRCNN):
        return [model.rpn.head.cls_logits, model.roi_heads.box_predictor.cls_score]
    if isinstance(model, _det.RetinaNet):
        return [model.head.classification_head.cls_logits]
    if isinstance(model, _det.ssd.SSD):
        return [block[-1] for block in model.head.classification_head.module_list]
    return []


def _set_score_threshold(model, value):
    if hasattr(model, "roi_heads"):
        model.roi_heads.score_thresh = value
    elif hasattr(model, "score_thresh"):
        model.score_thresh = value


def make_model(name, device="cpu", prepare=True, transform_size=None, seed=0, image_size=IMAGE_SIZE):
    """The model `name` in eval mode on `device`. prepare=False skips the batch-norm estimate and
    the logit rescaling (for a copy whose state_dict is loaded next; the score threshold, a plain
    attribute, is set either way). transform_size: detection models resize their images to this
    square size (GeneralizedRCNNTransform's min_size = max_size, or SSD's fixed_size) instead of
    their own default (800 for Faster R-CNN and RetinaNet, 320 for SSDlite). image_size: the size
    of the images the model will be given (make_inputs' size); the batch-norm statistics and logit
    scales are estimated on random images of that size (random-weight networks react strongly to
    the input's statistics: RetinaNet calibrated on 320-pixel images resized to 224 gave logits 25
    times too large on 224-pixel ones, which its transform does not smooth)."""
    if name not in TASK_MODELS:
        raise ValueError("unknown model %r; known: %s" % (name, ", ".join(TASK_MODELS)))
    torch.manual_seed(seed)
    model = TASK_MODELS[name](weights=None, weights_backbone=None).to(device).eval()
    if transform_size and is_detection(name):
        t = model.transform  # GeneralizedRCNNTransform; SSD resizes to its fixed_size instead
        t.min_size, t.max_size = (transform_size,), transform_size
        if t.fixed_size is not None:
            t.fixed_size = (transform_size, transform_size)
    _set_score_threshold(model, 0.0)
    if prepare:
        _prepare(name, model, device, seed, image_size)
    return model.eval()


def _prepare(name, model, device, seed, image_size):
    g = torch.Generator().manual_seed(seed + 1000)
    shape = (CALIBRATION_IMAGES, 3, image_size, image_size)
    if is_detection(name):
        images = torch.rand(shape, generator=g).to(device)
        calib = ([im for im in images],)
    else:
        calib = (torch.randn(shape, generator=g).to(device),)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        # Batch norm in training mode (cumulative averages), the rest in eval mode: detection
        # models in training mode want targets.
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None
            bn.train()
        for _ in range(2):
            model(*calib)
        for bn in bns:
            bn.eval()
        # After the estimate (damping first and estimating on the damped network conditioned
        # fcn_resnet50 worse: FP16-rounded weights 1% off rather than 0.06%).
        _damp_residual_branches(model)
        layers = _class_logit_layers(model)
        seen = {}
        hooks = [layer.register_forward_hook(lambda mod, inp, out: seen.setdefault(mod, []).append(out.detach().flatten()))
                 for layer in layers]
        try:
            model(*calib)
        finally:
            for h in hooks:
                h.remove()
        for layer in layers:
            out = torch.cat(seen[layer]).double()
            mean, std = out.mean().item(), out.std().item()
            shift = 0.0
            if isinstance(model, _det.RetinaNet):
                # Sigmoid scores of the top few hundred of ~10^6 candidates: centre the kept ones
                # on logit 0 (score 0.5) rather than in the saturated tail (scores ~0.99).
                k = min(model.detections_per_img * CALIBRATION_IMAGES, out.numel())
                shift = torch.topk((out - mean) / std, k).values[-1].item()
            # ((w x + b - mean) / std - shift) * LOGIT_STD
            layer.weight.mul_(LOGIT_STD / std)
            layer.bias.sub_(mean + shift * std).mul_(LOGIT_STD / std)


def _damp_residual_branches(model):
    """Scales the last batch norm of every residual branch (ResNet's Bottleneck.bn3, MobileNetV3's
    InvertedResidual with a skip connection) by RESIDUAL_SCALE."""
    from torchvision.models.mobilenetv3 import InvertedResidual
    from torchvision.models.resnet import BasicBlock, Bottleneck
    for m in model.modules():
        bn = None
        if isinstance(m, Bottleneck):
            bn = m.bn3
        elif isinstance(m, BasicBlock):
            bn = m.bn2
        elif isinstance(m, InvertedResidual) and m.use_res_connect:
            bn = m.block[-1][1]
        if isinstance(bn, torch.nn.modules.batchnorm._BatchNorm):
            bn.weight.mul_(RESIDUAL_SCALE)
            bn.bias.mul_(RESIDUAL_SCALE)


def make_inputs(name, batch, size=IMAGE_SIZE, seed=1, device="cpu"):
    """forward's arguments: detection, [a list of `batch` images 3 x size x size in [0, 1]];
    segmentation, [a batch x 3 x size x size tensor of normal values (normalised images)]."""
    g = torch.Generator().manual_seed(seed)
    if is_detection(name):
        images = torch.rand(batch, 3, size, size, generator=g)
        return [[images[i].to(device) for i in range(batch)]]
    return [torch.randn(batch, 3, size, size, generator=g).to(device)]


def cast(x, dtype=None, device=None):
    """x (a tensor, or lists / tuples / dicts of them) with floating tensors in `dtype` and all
    tensors on `device` (None: unchanged)."""
    if isinstance(x, torch.Tensor):
        if device is not None:
            x = x.to(device)
        return x.to(dtype) if dtype is not None and x.is_floating_point() else x
    if isinstance(x, (list, tuple)):
        return type(x)(cast(e, dtype, device) for e in x)
    if isinstance(x, dict):
        return {k: cast(v, dtype, device) for k, v in x.items()}
    return x


def input_shapes(xs):
    """trtorch's input_shapes for forward's arguments `xs`: flat, one shape per tensor in argument
    order (a List[Tensor] or tuple argument gives one per element, a Dict[str, Tensor] one per
    value by sorted key), as trtorch's README says for collection inputs."""
    out = []

    def add(x):
        if isinstance(x, torch.Tensor):
            out.append(list(x.shape))
        elif isinstance(x, (list, tuple)):
            for e in x:
                add(e)
        elif isinstance(x, dict):
            for k in sorted(x):
                add(x[k])
        else:
            raise TypeError("no input shape for %s" % type(x).__name__)
    for x in xs:
        add(x)
    return out


def detections(y):
    """The List[Dict[str, Tensor]] of a detection model's output: the eager list, or the second
    element of TorchScript's (losses, detections) tuple; None when `y` is neither."""
    if isinstance(y, tuple) and len(y) == 2 and isinstance(y[1], list):
        y = y[1]
    if isinstance(y, list) and y and isinstance(y[0], dict) and "boxes" in y[0]:
        return y
    return None


def main_outputs(y):
    """The tensors that stand for a model's output, detached, floating ones in FP32, on the CPU:
    a tensor -> {"out": y}; a dict with "out" (segmentation) -> {"out": y["out"]}; detections ->
    image 0's {"boxes", "scores", "labels"}; another list / tuple -> its first element's."""
    dets = detections(y)
    if dets is not None:
        picked = {k: dets[0][k] for k in ("boxes", "scores", "labels")}
    elif isinstance(y, torch.Tensor):
        picked = {"out": y}
    elif isinstance(y, dict) and "out" in y:
        picked = {"out": y["out"]}
    elif isinstance(y, (list, tuple)) and y:
        return main_outputs(y[0])
    else:
        raise TypeError("cannot tell the main output of a %s" % type(y).__name__)
    return {k: (v.detach().float() if v.is_floating_point() else v.detach()).cpu() for k, v in picked.items()}


def tensor_errors(got, want):
    """(max |got - want|, max |got - want| / max |want|)."""
    got, want = got.double(), want.double()
    if got.shape != want.shape:
        raise ValueError("output shape %s, expected %s" % (list(got.shape), list(want.shape)))
    d = (got - want).abs().max().item() if want.numel() else 0.0
    return d, d / max(want.abs().max().item() if want.numel() else 0.0, 1e-12)


def compare_detections(got, want, box_rtol, box_atol, score_tol, tie_iou=0.3):
    """Matches the detections `got` against `want` (dicts of boxes, scores, labels) one to one:
    a pair matches when the labels are equal, every box coordinate is within box_atol + box_rtol *
    (the longer side of want's box) pixels (box regression errors scale with the anchor, so with
    the box) and the scores within score_tol; reference detections are taken in score order, each
    its closest free candidate. An unmatched reference detection is a near-tie when its score is within
    score_tol of the lowest kept score (the top-k cut-off) or an unmatched detection of `got` with
    its label and a score within score_tol overlaps it (IoU >= tie_iou: NMS kept the other one of
    two near-equal boxes). Returns a dict: n_want, n_got, matched, near_ties, unexplained, and the
    largest box / score difference over the matched pairs (None when none matched)."""
    wb, ws, wl = want["boxes"].double(), want["scores"].double(), want["labels"]
    gb, gs, gl = got["boxes"].double(), got["scores"].double(), got["labels"]
    n, k = len(ws), len(gs)
    r = {"n_want": n, "n_got": k, "matched": 0, "near_ties": 0, "unexplained": 0, "box_err": None, "score_err": None}
    if n == 0 or k == 0:
        r["unexplained"] = n
        return r
    box_d = (wb[:, None, :] - gb[None, :, :]).abs().amax(-1)
    score_d = (ws[:, None] - gs[None, :]).abs()
    same = wl[:, None] == gl[None, :]
    side = (wb[:, 2:] - wb[:, :2]).amax(-1).clamp_min(0)
    ok = same & (box_d <= (box_atol + box_rtol * side)[:, None]) & (score_d <= score_tol)
    used = torch.zeros(k, dtype=torch.bool)
    matched = torch.zeros(n, dtype=torch.bool)
    box_err, score_err = 0.0, 0.0
    for i in torch.argsort(ws, descending=True).tolist():
        cand = torch.nonzero(ok[i] & ~used).flatten()
        if len(cand):
            j = cand[box_d[i, cand].argmin()].item()
            used[j] = matched[i] = True
            box_err = max(box_err, box_d[i, j].item())
            score_err = max(score_err, score_d[i, j].item())
    iou = torchvision.ops.box_iou(wb, gb)
    cut = ws.min().item()
    for i in torch.nonzero(~matched).flatten().tolist():
        partner = (~used) & same[i] & (score_d[i] <= score_tol) & (iou[i] >= tie_iou)
        if ws[i].item() <= cut + score_tol or partner.any():
            r["near_ties"] += 1
        else:
            r["unexplained"] += 1
    r["matched"] = int(matched.sum())
    if r["matched"]:
        r["box_err"], r["score_err"] = box_err, score_err
    return r


# --- How much of a compiled module runs in trtorch engines -------------------------------------

ENGINE_OP = "trtorch::execute_engine"
# Nodes that are not work: constants, attribute reads, and the list / tuple packing around engine
# calls (an engine call takes a list of tensors and returns one).
_NOT_WORK = {"prim::Constant", "prim::GetAttr"}
_GLUE = {"prim::ListConstruct", "prim::ListUnpack", "prim::TupleConstruct", "prim::TupleUnpack"}


def all_nodes(graph_or_block):
    """Every node of a graph, those inside prim::If / prim::Loop blocks included."""
    for node in graph_or_block.nodes():
        yield node
        for block in node.blocks():
            yield from all_nodes(block)


def _graph(module):
    try:
        return module.inlined_graph
    except (AttributeError, RuntimeError):
        return module.graph


def count_engines(module):
    """The number of trtorch engine calls (engine segments) in `module`'s forward."""
    return sum(1 for n in all_nodes(_graph(module)) if n.kind() == ENGINE_OP)


def _outputs_tensor(node):
    return any(isinstance(o.type(), torch._C.TensorType) for o in node.outputs())


def _engine_glue(graph):
    """The nodes around engine calls: the list packing of their inputs and unpacking of their
    outputs, and the dtype casts (aten::to) at the boundary (an FP16 engine in a partially
    compiled module casts its inputs and outputs in TorchScript)."""
    glue = set()
    for n in all_nodes(graph):
        if n.kind() != ENGINE_OP:
            continue
        for i in n.inputs():
            pack = i.node()
            if pack.kind() in _GLUE:
                glue.add(pack)
                glue.update(x.node() for x in pack.inputs() if x.node().kind() == "aten::to")
        for o in n.outputs():
            for u in o.uses():
                if u.user.kind() in _GLUE:
                    glue.add(u.user)
                    glue.update(v.user for out in u.user.outputs() for v in out.uses() if v.user.kind() == "aten::to")
    return glue


def work_nodes(graph, engine_glue=False):
    """Nodes that compute tensors in TorchScript: nodes with a Tensor output (so not the size
    arithmetic, shape checks and raises around them, which trtorch does not count as ops either),
    other than constants, attribute reads and engine calls; with engine_glue, the list packing
    and dtype casts around engine calls (_engine_glue) are left out too."""
    glue = _engine_glue(graph) if engine_glue else set()
    return sum(1 for n in all_nodes(graph)
               if n.kind() not in _NOT_WORK and n.kind() != ENGINE_OP and _outputs_tensor(n) and n not in glue)


def reference_work_nodes(scripted):
    """Work nodes of the scripted module's forward as trtorch sees it: frozen (attributes folded
    into constants) and inlined; falls back to the inlined graph where freezing fails."""
    try:
        frozen = torch.jit.freeze(scripted.eval())
        graph = frozen.graph
    except Exception:  # noqa: BLE001 (freezing is only an approximation of trtorch's lowering)
        graph = scripted.inlined_graph
    return work_nodes(graph)


def compiled_whole(compiled):
    """True when the compiled module's forward is one engine call and nothing else (a whole
    compile; trtorch compiles whole when nothing needs TorchScript)."""
    return count_engines(compiled) == 1 and work_nodes(_graph(compiled), engine_glue=True) == 0


def input_dtype(compiled, precision_dtype):
    """The floating dtype the compiled module takes: a whole FP16/BF16 compile takes that dtype;
    a partially compiled module takes what the TorchScript module does (FP32: each engine casts
    at its boundary; trtorch README, "Partial compilation")."""
    return precision_dtype if compiled_whole(compiled) else torch.float32


_SUMMARY = re.compile(r"partial compilation: (\d+) engine segments? \(([^)]*)\), (\d+) TorchScript segments?; "
                      r"(\d+) of (\d+) ops in engines \(([0-9.eE+-]+)%\)")


def compile_logged(trtorch, scripted, settings):
    """trtorch.compile(scripted, settings) with trtorch's log at INFO captured from stderr (file
    descriptor 2, where its C++ logger writes): (compiled, log text). On an error the captured log
    is written back to stderr before the error propagates."""
    level = trtorch.logging.get_reportable_log_level()
    trtorch.logging.set_reportable_log_level(trtorch.logging.Level.Info)
    sys.stderr.flush()
    saved = os.dup(2)
    tmp = tempfile.TemporaryFile()
    try:
        os.dup2(tmp.fileno(), 2)
        try:
            compiled = trtorch.compile(scripted, settings)
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            trtorch.logging.set_reportable_log_level(level)
        tmp.seek(0)
        return compiled, tmp.read().decode("utf-8", "replace")
    except BaseException:
        tmp.seek(0)
        sys.stderr.write(tmp.read().decode("utf-8", "replace"))
        raise
    finally:
        os.close(saved)
        tmp.close()


def compile_with_summary(trtorch, scripted, settings, echo=True):
    """compile_logged(), then: (compiled, summary): summary is parsed from
    the "partial compilation: ..." line (engine_segments, torch_segments, engine_ops, total_ops,
    share (0 to 1), reasons: the "N x op: why" lines), or None when there is none (a whole
    compile logs none). With echo, the summary and any warning or error lines are written back to
    stderr (all captured lines when the log level already was INFO or more)."""
    level = trtorch.logging.get_reportable_log_level()
    compiled, text = compile_logged(trtorch, scripted, settings)
    lines = text.splitlines()
    summary, keep = None, []
    for i, line in enumerate(lines):
        m = _SUMMARY.search(line)
        if m:
            reasons = []
            for follow in lines[i + 1:]:
                if not follow.startswith("  "):
                    break
                reasons.append(follow.strip())
            summary = {"engine_segments": int(m.group(1)), "segment_ops": m.group(2),
                       "torch_segments": int(m.group(3)), "engine_ops": int(m.group(4)),
                       "total_ops": int(m.group(5)), "share": float(m.group(6)) / 100.0, "reasons": reasons}
            keep += [line] + ["  " + r for r in reasons]
        elif "WARN" in line or "ERROR" in line:
            keep.append(line)
    if echo:
        shown = lines if int(level) >= int(trtorch.logging.Level.Info) else keep
        if shown:
            sys.stderr.write("\n".join(shown) + "\n")
            sys.stderr.flush()
    return compiled, summary


def engine_share(scripted, compiled, summary=None):
    """Engine segments and the share of the graph inside engines. Always: engines (engine calls
    in `compiled`'s graph) and the graph-based approximation 1 - (work_nodes() left in
    `compiled`'s TorchScript) / (work_nodes() of the frozen, inlined `scripted`) (nodes_in_torch, nodes_total,
    share; trtorch's lowering rewrites the graph before partitioning, so its counts differ
    somewhat). With `summary` (compile_with_summary()), trtorch's own count too: trtorch_share,
    engine_ops, total_ops, torch_reasons; a whole compile has share 1. Returns a dict."""
    total = reference_work_nodes(scripted)
    left = work_nodes(_graph(compiled), engine_glue=True)
    share = 1.0 - left / total if total else 0.0
    r = {"engines": count_engines(compiled), "nodes_total": total, "nodes_in_torch": left,
         "share": min(max(share, 0.0), 1.0), "whole": compiled_whole(compiled)}
    if summary is not None:
        r.update(trtorch_share=summary["share"], engine_ops=summary["engine_ops"], total_ops=summary["total_ops"],
                 torch_reasons=summary["reasons"])
    elif r["whole"]:
        r.update(trtorch_share=1.0)
    return r
