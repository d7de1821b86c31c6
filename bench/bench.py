"""Side-by-side latency benchmark on one GPU, in one process: eager PyTorch, frozen TorchScript,
torch.compile(mode="max-autotune") (optional, slow to build) and trtorch.

For every (model, batch, precision): median latency of >= 100 CUDA-event-timed runs after
warm-up, build time, peak GPU memory, and the max abs / relative error of the output against
eager FP32 without TF32 (relative: max|y - y_fp32| / max|y_fp32|), the largest over
--error-draws input sets (the error on one input is a single sample), and their mean. Writes a
markdown table, JSON and a PNG chart, and prints the table.

    PYTHONPATH=build/python python3 bench/bench.py --out out/bench \
        [--models resnet50,mobilenet_v2,efficientnet_b0,vgg16,bert] [--batches 1,32] \
        [--precisions fp16,fp32] [--with-compile] [--iters 200]
    # partial compilation (issue 17): a detection and a segmentation model, FP16
    PYTHONPATH=build/python python3 bench/bench.py --out out/bench_partition \
        --models fasterrcnn_mobilenet_v3_large_fpn,deeplabv3_mobilenet_v3_large --batches 1 \
        --precisions fp16 --with-compile
    # no GPU: builds the models and checks eager against TorchScript on the CPU (output handling)
    python3 bench/bench.py --cpu-check --models ssdlite320_mobilenet_v3_large,lraspp_mobilenet_v3_large

Detection and segmentation models (bench/task_models.py, whose docstring has the details):
fasterrcnn_mobilenet_v3_large_fpn, retinanet_resnet50_fpn, ssdlite320_mobilenet_v3_large,
fcn_resnet50, deeplabv3_mobilenet_v3_large, lraspp_mobilenet_v3_large; random weights
(weights=None, weights_backbone=None), eval mode, torch seeded. Batch N is N images of 3x320x320
(--task-image-size): detection models take them as a List[Tensor] (values in [0, 1]) and resize
them themselves (Faster R-CNN and RetinaNet to 800x800, SSDlite to 320x320); segmentation models
take one N x 3 x 320 x 320 tensor and return {"out": ...}, which is compared. What was done so
that random-weight outputs can be compared at all: the detection score threshold is 0
(model.roi_heads.score_thresh for Faster R-CNN, model.score_thresh for RetinaNet and SSD), so each
model returns its full detections_per_img (100 / 300 / 300); batch-norm statistics are estimated
on random images of the input size; the last batch norm of every residual branch is scaled by 0.3
(random deep residual networks amplify rounding: FP16-rounded weights put fcn_resnet50's output
15% off before, 0.06% after); the class-logit layers are rescaled to logits of mean 0 and
standard deviation 1 (fresh models give all scores within 0.002 of each other, and which boxes
survive top-k and NMS then depends on the last bit). trtorch gets input_shapes flat (one shape
per image for the detection models). A partially compiled trtorch module takes what TorchScript
takes, FP32 images also in an FP16 build (each engine casts at its boundary): its rows are fed
FP32 inputs, a whole compile's the precision's dtype.

Detection errors compare image 0's detections with eager FP32's: when the numbers of detections
differ the error columns say "n/a" and the notes column says why (no pairing of boxes is
meaningful then). Otherwise detections are paired one to one (same label, box coordinates within
0.25 px + 1% of the box's longer side, scores within 0.02: task_models.compare_detections);
"max abs err" is the largest box-coordinate difference in pixels over the pairs, "max rel err" the
larger of that over the largest box coordinate and the largest score difference over the largest
score, and the notes column says how many were paired (unpaired ones are near-ties at the top-k
or NMS cut-offs, or mistakes). Under TorchScript the detection models return (losses,
detections); both forms are read.

trtorch rows also give "engines", the number of trtorch engine calls (trtorch::execute_engine,
engine segments) in the compiled module's graph, and "in engines", the share of ops in engines by
trtorch's own count (its compile summary at INFO, captured from stderr; 100% for a whole compile)
or, marked "~", estimated from the graphs: 1 - (tensor nodes left in the compiled module's
TorchScript) / (tensor nodes of the frozen, inlined scripted module), a tensor node being one with
a Tensor output other than constants and the list packing and dtype casts around engine calls
(task_models.engine_share). Both are in bench.json.
"""
import argparse
import contextlib
import json
import os
import statistics
import sys
import time
import warnings

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import task_models  # noqa: E402

VISION = {
    "resnet50": torchvision.models.resnet50,
    "mobilenet_v2": torchvision.models.mobilenet_v2,
    "efficientnet_b0": torchvision.models.efficientnet_b0,
    "vgg16": torchvision.models.vgg16,
    "resnet18": torchvision.models.resnet18,
    "vit_b_16": torchvision.models.vit_b_16,
}
TRANSFORMERS = ("bert", "gpt2")  # transformers' BertModel / GPT2Model, default configs
TASK_MODELS = task_models.TASK_MODELS  # detection and segmentation (issue 17)
ALL_MODELS = list(VISION) + list(TRANSFORMERS) + list(TASK_MODELS)
SEQ_LEN = 128
TASK_IMAGE_SIZE = task_models.IMAGE_SIZE  # --task-image-size
# Pairing tolerances for detection errors, the FP16 ones of tests/python/partition_real_models.py.
DET_BOX_RTOL = 1e-2   # of the box's longer side
DET_BOX_ATOL = 0.25   # pixels
DET_SCORE_TOL = 2e-2
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def median_ms(fn, xs, iters, warmup=20):
    """Median of `iters` runs, each timed with CUDA events, after `warmup` runs."""
    with torch.no_grad():
        for _ in range(warmup):
            fn(*xs)
        torch.cuda.synchronize()
        times = []
        for _ in range(iters):
            a = torch.cuda.Event(enable_timing=True)
            b = torch.cuda.Event(enable_timing=True)
            a.record()
            fn(*xs)
            b.record()
            b.synchronize()
            times.append(a.elapsed_time(b))
    return statistics.median(times)


def first_tensor(y):
    """The tensors an output is judged by (task_models.main_outputs), on the CPU in FP32: {"out":
    tensor} for a tensor, a segmentation dict or the first tensor of a list / tuple; image 0's
    {"boxes", "scores", "labels"} for detections."""
    return task_models.main_outputs(y)


def errors(y, ref):
    """(max abs error, max rel error, note) of output `y` against the reference `ref` (a
    first_tensor() dict). Detections: (None, None, why) when the numbers of detections differ
    ("n/a" in the table), else the errors over the paired detections (see the module docstring)."""
    got = first_tensor(y)
    if "boxes" not in ref:
        return task_models.tensor_errors(got["out"], ref["out"]) + (None,)
    n_got, n_ref = len(got["scores"]), len(ref["scores"])
    if n_got != n_ref:
        return None, None, f"n/a: {n_got} detections vs {n_ref} in eager FP32 (image 0)"
    r = task_models.compare_detections(got, ref, DET_BOX_RTOL, DET_BOX_ATOL, DET_SCORE_TOL)
    if not r["matched"]:
        return None, None, f"n/a: none of {n_ref} detections pairs with eager FP32's (image 0)"
    box_scale = max(ref["boxes"].abs().max().item(), 1e-12)
    score_scale = max(ref["scores"].abs().max().item(), 1e-12)
    rel = max(r["box_err"] / box_scale, r["score_err"] / score_scale)
    note = (f"{r['matched']}/{n_ref} detections paired ({r['near_ties']} near-ties, {r['unexplained']} other); "
            f"abs err in px")
    return r["box_err"], rel, note


def measure(name, make_fn, draws, iters, pick_draws=None):
    """Builds (timed, with the first call), computes the error on every draw (inputs, eager FP32
    output), then times on the first draw's inputs; peak memory over build and runs.
    pick_draws(fn): the draws to use for the built `fn` instead (inputs of another dtype)."""
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    free_before = torch.cuda.mem_get_info()[0]
    t0 = time.perf_counter()
    fn = make_fn()
    if pick_draws is not None:
        draws = pick_draws(fn)
    xs = draws[0][0]
    with torch.no_grad():
        y = fn(*xs)
    torch.cuda.synchronize()
    build_s = time.perf_counter() - t0
    errs = [errors(y, draws[0][1])]
    with torch.no_grad():
        for xd, refd in draws[1:]:
            errs.append(errors(fn(*xd), refd))
    abs_err, rel_err, mean_rel_err, note = aggregate_errors(errs)
    ms = median_ms(fn, xs, iters)
    peak_torch = torch.cuda.max_memory_allocated()
    # trtorch keeps weights and tactics' buffers outside torch's allocator: count the device's
    # free memory too.
    used_device = max(free_before - torch.cuda.mem_get_info()[0], 0)
    row = {"backend": name, "median_ms": ms, "build_s": build_s, "max_abs_err": abs_err, "max_rel_err": rel_err,
           "mean_rel_err": mean_rel_err, "error_draws": len(errs),
           "peak_torch_mib": peak_torch / 2**20, "device_mem_delta_mib": used_device / 2**20}
    if note:
        row["error_note"] = note
    return row


def aggregate_errors(errs):
    """(max abs, max rel, mean rel, note) over the draws' errors() results; the errors are None
    ("n/a") when any draw's are, and the note then says why and in how many draws."""
    na = [e for e in errs if e[0] is None]
    if na:
        return None, None, None, f"{na[0][2]} ({len(na)} of {len(errs)} draws)"
    notes = [e[2] for e in errs if e[2]]
    note = notes[0] + (f" (draw 1 of {len(errs)})" if len(errs) > 1 else "") if notes else None
    return max(e[0] for e in errs), max(e[1] for e in errs), statistics.mean(e[1] for e in errs), note


class LastHiddenState(torch.nn.Module):
    """A transformers model returning its last hidden state (a tensor, for every backend)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        if token_type_ids is not None:
            return self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                              return_dict=False)[0]
        return self.model(input_ids=input_ids, return_dict=False)[0]


def make_model(name, device="cuda", prepare=True):
    """Random weights (seeded). Vision models get batch-norm statistics estimated on random
    images: torchvision initialises running statistics to mean 0 / variance 1, with which deep
    networks shrink activations towards zero (MobileNetV2's outputs were ~1e-9, EfficientNet-B0's
    ~1e-12) and output errors say nothing; estimated statistics keep activations of unit scale.
    Detection and segmentation models: task_models.make_model. prepare=False skips the estimate
    (and the detection models' logit rescaling), for a copy whose state_dict is loaded next."""
    if name in TASK_MODELS:
        return task_models.make_model(name, device, prepare=prepare, image_size=TASK_IMAGE_SIZE)
    torch.manual_seed(0)
    if name in TRANSFORMERS:
        import transformers
        if name == "bert":
            m = transformers.BertModel(transformers.BertConfig(), add_pooling_layer=False)
        else:
            m = transformers.GPT2Model(transformers.GPT2Config())
        return LastHiddenState(m).to(device).eval()
    model = VISION[name]().to(device)
    if name == "vit_b_16":  # torchvision zero-initialises the classifier: the output would be all zeros
        torch.nn.init.normal_(model.heads.head.weight, std=0.02)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if bns and prepare:
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the calibration batches
        model.train()
        with torch.no_grad():
            for _ in range(4):
                model(torch.randn(16, 3, 224, 224, device=device))
    return model.eval()


def make_inputs(name, batch, seed=1, device="cuda"):
    """The model's example inputs on the GPU: images, or token ids (BERT: with an attention mask
    that pads the second half of every other sequence, and token types). Detection models: one
    argument, a list of `batch` images (task_models.make_inputs)."""
    if name in TASK_MODELS:
        return task_models.make_inputs(name, batch, TASK_IMAGE_SIZE, seed, device)
    torch.manual_seed(seed)
    if name not in TRANSFORMERS:
        return [torch.randn(batch, 3, 224, 224, device=device)]
    ids = torch.randint(0, 30000, (batch, SEQ_LEN), device=device)
    if name == "gpt2":
        return [ids]
    mask = torch.ones(batch, SEQ_LEN, dtype=torch.long, device=device)
    mask[1::2, SEQ_LEN // 2:] = 0
    types = torch.zeros(batch, SEQ_LEN, dtype=torch.long, device=device)
    types[:, SEQ_LEN // 2:] = 1
    return [ids, mask, types]


def cpu_fp32_copy(model_name, model):
    """The model as a user hands it to trtorch: FP32 on the CPU, with `model`'s weights."""
    model_cpu = make_model(model_name, device="cpu", prepare=False)
    model_cpu.load_state_dict({k: v.float().cpu() for k, v in model.state_dict().items()})
    return model_cpu.eval()


@contextlib.contextmanager
def exact_fp32():
    """FP32 without TF32 tensor cores. torch's default runs FP32 convolutions on TF32
    (torch.backends.cudnn.allow_tf32), whose 10-bit mantissa is FP16's: an "eager FP32" reference
    computed that way carries errors of the size the FP16 backends are judged by."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def run_config(model_name, batch, prec, args):
    import trtorch

    dtype = DTYPES[prec]
    model = make_model(model_name)
    xs32 = make_inputs(model_name, batch)
    draws = []  # (inputs in dtype, eager FP32 output)
    draws32 = []  # (FP32 inputs, eager FP32 output): for partially compiled trtorch modules
    with torch.no_grad(), exact_fp32():  # the reference: FP32 throughout (timed baselines keep torch's defaults)
        for seed in range(1, 1 + args.error_draws):
            xd = make_inputs(model_name, batch, seed)
            ref = first_tensor(model(*xd))
            draws.append((task_models.cast(xd, dtype), ref))
            draws32.append((xd, ref))
    # trtorch compiles an FP32 TorchScript module on the CPU (as a user would hand it over) and
    # converts the weights itself; the weights are the eager model's, copied before `to(dtype)`,
    # which converts the model in place (a copy taken after it had FP16-rounded weights).
    model_cpu = cpu_fp32_copy(model_name, model)
    m = model.to(dtype)
    xs = draws[0][0]
    rows = []
    transformer = model_name in TRANSFORMERS

    def eager():
        return m

    def torchscript():
        with torch.no_grad():
            mod = torch.jit.trace(m, xs) if transformer else torch.jit.script(m)
            return torch.jit.freeze(mod.eval())

    def compiled():
        torch._dynamo.reset()
        c = torch.compile(m, mode="max-autotune")
        return c

    made = {}  # the last trt() call's scripted and compiled modules, for engine_stats()

    def trt(allow_tf32=False, conv_runtime_compilation="fallback"):
        if transformer:
            scripted = torch.jit.trace(model_cpu.eval(), [x.cpu() for x in xs32])
        else:
            scripted = torch.jit.script(model_cpu).eval()
        # input_shapes is flat: the detection models' List[Tensor] gives one shape per image. The
        # compile's INFO summary (trtorch's count of ops in engines) is captured from stderr.
        compiled, summary = task_models.compile_with_summary(
            trtorch, scripted, {"input_shapes": task_models.input_shapes(xs), "op_precision": dtype, "device": "gpu",
                                "num_avg_timing_iters": args.timing_iters, "allow_tf32": allow_tf32,
                                "conv_runtime_compilation": conv_runtime_compilation})
        made.update(scripted=scripted, compiled=compiled, summary=summary)
        return compiled

    def trt_draws(compiled):
        # A partially compiled module takes what TorchScript does (FP32), a whole compile `dtype`.
        return draws if task_models.input_dtype(compiled, dtype) == dtype else draws32

    def torchscript_no_tf32():
        # Issue 20's fair FP32 comparison: trtorch FP32 (no TF32) against TorchScript with TF32
        # off, trtorch allow_tf32 against TorchScript's default (TF32 convolutions).
        mod = torchscript()

        def run(*a):
            with exact_fp32():
                return mod(*a)
        return run

    backends = [("eager", eager), ("torchscript", torchscript)]
    if prec == "fp32":
        backends.append(("torchscript tf32 off", torchscript_no_tf32))
    if args.with_compile:
        backends.append(("torch.compile max-autotune", compiled))
    backends.append(("trtorch", trt))
    for mode in (args.conv_runtime_compilation.split(",") if args.conv_runtime_compilation and prec != "fp32" else []):
        # The same build with another conv_runtime_compilation mode.
        backends.append((f"trtorch conv_runtime_compilation={mode}",
                         lambda mode=mode: trt(conv_runtime_compilation=mode)))
    if prec == "fp32":
        # torch runs FP32 convolutions on TF32 tensor cores by default (cudnn.allow_tf32); trtorch
        # only when asked: both rows.
        backends.append(("trtorch allow_tf32", lambda: trt(allow_tf32=True)))
    for name, make in backends:
        made.clear()
        try:
            r = measure(name, make, draws, args.iters, pick_draws=trt_draws if name.startswith("trtorch") else None)
            if made:
                r.update(engine_stats(made["scripted"], made["compiled"], made["summary"]))
        except Exception as e:  # reported in the table, never hidden
            print(f"{model_name} b{batch} {prec} {name} failed:\n{e}", file=sys.stderr, flush=True)
            r = {"backend": name, "error": " ".join(str(e).split())[:600]}
        r.update({"model": model_name, "batch": batch, "precision": prec})
        rows.append(r)
        print(json.dumps(r), flush=True)
    del m, model
    torch.cuda.empty_cache()
    return rows


def engine_stats(scripted, compiled, summary=None):
    """{"engines": engine calls in the compiled graph, "engine_op_share": trtorch's own share of
    ops in engines (from its compile summary; 1 for a whole compile), "engine_node_share": the
    graph-based estimate, ...} (task_models.engine_share); logged."""
    try:
        s = task_models.engine_share(scripted, compiled, summary)
    except Exception as e:  # noqa: BLE001 (a graph this cannot read must not lose the timing)
        print(f"engine count failed: {e}", file=sys.stderr, flush=True)
        return {}
    ops = f"{100 * s['trtorch_share']:.1f}%" if "trtorch_share" in s else "?"
    if "engine_ops" in s:
        ops += f" ({s['engine_ops']} of {s['total_ops']})"
    print(f"trtorch: {s['engines']} engine segment(s), {ops} of the ops in engines by trtorch's count, "
          f"{100 * s['share']:.1f}% of the graph's nodes ({s['nodes_in_torch']} of {s['nodes_total']} left in "
          f"TorchScript){'; whole compile' if s['whole'] else ''}", flush=True)
    r = {"engines": s["engines"], "engine_node_share": s["share"], "nodes_in_torch": s["nodes_in_torch"],
         "nodes_total": s["nodes_total"], "whole_compile": s["whole"]}
    if "trtorch_share" in s:
        r["engine_op_share"] = s["trtorch_share"]
    for k in ("engine_ops", "total_ops", "torch_reasons"):
        if k in s:
            r[k] = s[k]
    return r


def fmt_err(v):
    return "n/a" if v is None else f"{v:.3g}"


def write_outputs(rows, out, gpu):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "bench.json"), "w") as f:
        json.dump({"gpu": gpu, "torch": torch.__version__, "rows": rows}, f, indent=1)
    lines = [f"GPU: {gpu}, torch {torch.__version__}; median of CUDA-event-timed runs after warm-up; errors "
             f"against eager FP32 without TF32 (rel = max|y - y32| / max|y32|; max and mean over the input draws; "
             f"detections: see notes, n/a when the numbers of detections differ). engines: trtorch engine segments; "
             f"in engines: share of the ops in them by trtorch's count (~: estimated from the graphs).", "",
             "| model | batch | prec | backend | median ms | speedup vs torch.compile | build s | peak torch MiB "
             "| device mem MiB | max abs err | max rel err | mean rel err | engines | in engines | notes |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['model']} | {r['batch']} | {r['precision']} | {r['backend']} | failed: {r['error']} "
                         f"| | | | | | | | | | |")
            continue
        base = [q for q in rows if q["model"] == r["model"] and q["batch"] == r["batch"] and
                q["precision"] == r["precision"] and q["backend"].startswith("torch.compile") and "median_ms" in q]
        speed = f"{base[0]['median_ms'] / r['median_ms']:.2f}x" if base else "-"
        engines = str(r["engines"]) if "engines" in r else "-"
        share = f"{100 * r['engine_op_share']:.1f}%" if "engine_op_share" in r else \
            f"~{100 * r['engine_node_share']:.1f}%" if "engine_node_share" in r else "-"
        mean_rel = r.get("mean_rel_err", r["max_rel_err"])
        lines.append(f"| {r['model']} | {r['batch']} | {r['precision']} | {r['backend']} | {r['median_ms']:.3f} | "
                     f"{speed} | {r['build_s']:.1f} | {r['peak_torch_mib']:.0f} | {r['device_mem_delta_mib']:.0f} | "
                     f"{fmt_err(r['max_abs_err'])} | {fmt_err(r['max_rel_err'])} | {fmt_err(mean_rel)} | "
                     f"{engines} | {share} | {r.get('error_note', '')} |")
    table = "\n".join(lines)
    with open(os.path.join(out, "bench.md"), "w") as f:
        f.write(table + "\n")
    print(table)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        ok = [r for r in rows if "median_ms" in r]
        configs = sorted({(r["model"], r["batch"], r["precision"]) for r in ok})
        names = [n for n in ["eager", "torchscript", "torch.compile max-autotune", "trtorch"] if any(r["backend"] == n for r in ok)]
        fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(configs)), 4))
        w = 0.8 / max(len(names), 1)
        for i, n in enumerate(names):
            vals = [next((r["median_ms"] for r in ok if (r["model"], r["batch"], r["precision"]) == c and r["backend"] == n), 0)
                    for c in configs]
            ax.bar([j + i * w for j in range(len(configs))], vals, w, label=n)
        ax.set_xticks([j + 0.4 - w / 2 for j in range(len(configs))])
        ax.set_xticklabels([f"{m}\nb{b} {p}" for m, b, p in configs], fontsize=7)
        ax.set_ylabel("median latency (ms)")
        ax.set_yscale("log")
        ax.set_title(f"trtorch vs baselines on {gpu}")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(out, "bench.png"), dpi=120)
    except ImportError:
        print("matplotlib missing: no chart")


def run_dynamic(model_name, batches, prec, args):
    """One engine compiled for a batch range [min(batches), max(batches)] with opt at the middle
    entry, against an engine compiled for each fixed batch; same inputs, errors against eager
    FP32. Rows: backend "trtorch fixed" / "trtorch dynamic [lo..hi] opt N"."""
    import trtorch

    dtype = DTYPES[prec]
    if model_name in TRANSFORMERS or task_models.is_detection(model_name):
        sys.exit(f"--dynamic-batches: {model_name} is not an image-batch model (it takes token ids or a list of images)")
    lo, opt, hi = min(batches), batches[len(batches) // 2], max(batches)
    model = make_model(model_name)
    scripted = torch.jit.script(cpu_fp32_copy(model_name, model)).eval()
    shape = list(make_inputs(model_name, 1)[0].shape[1:])

    def compile_for(mn, op, mx):
        return trtorch.compile(scripted, {"input_shapes": [{"min": [mn] + shape, "opt": [op] + shape, "max": [mx] + shape}],
                                          "op_precision": dtype, "device": "gpu",
                                          "num_avg_timing_iters": args.timing_iters})

    t0 = time.perf_counter()
    dyn = compile_for(lo, opt, hi)
    dyn_build = time.perf_counter() - t0
    rows = []
    for b in batches:
        xs32 = make_inputs(model_name, b)
        with torch.no_grad(), exact_fp32():
            ref = first_tensor(model(*xs32))
        xs = [x.to(dtype) for x in xs32]
        fixed = measure("trtorch fixed", lambda: compile_for(b, b, b), [(xs, ref)], args.iters)
        d = measure(f"trtorch dynamic [{lo}..{hi}] opt {opt}", lambda: dyn, [(xs, ref)], args.iters)
        d["first_call_s"] = d["build_s"]  # measure() timed the first call at this batch (its executor is made)
        d["build_s"] = dyn_build
        d["vs_fixed"] = d["median_ms"] / fixed["median_ms"]
        for r in (fixed, d):
            r.update({"model": model_name, "batch": b, "precision": prec})
            rows.append(r)
            print(json.dumps(r), flush=True)
    return rows


def cpu_check(args):
    """Without a GPU: builds each model, runs it eager and as frozen TorchScript (scripted; the
    transformers models traced) in FP32 on the CPU at the first --batches value, and prints the
    errors, notes and node counts bench.py would report; checks the output handling, not speed."""
    batch = int(args.batches.split(",")[0])
    failed = []
    for name in args.models.split(","):
        t0 = time.perf_counter()
        try:
            model = make_model(name, device="cpu")
            xs = make_inputs(name, batch, device="cpu")
            with torch.no_grad():
                ref = first_tensor(model(*xs))
                scripted = (torch.jit.trace(model, xs) if name in TRANSFORMERS else torch.jit.script(model)).eval()
                ts = torch.jit.freeze(scripted)
                err = errors(ts(*xs), ref)
            nodes = task_models.reference_work_nodes(scripted)
            print(f"cpu-check {name} b{batch}: eager vs TorchScript max abs err {fmt_err(err[0])}, "
                  f"max rel err {fmt_err(err[1])}{'; ' + err[2] if err[2] else ''}; outputs "
                  f"{ {k: list(v.shape) for k, v in ref.items()} }; {nodes} work nodes; "
                  f"{time.perf_counter() - t0:.1f} s", flush=True)
            if err[1] is None or err[1] > 1e-4:
                failed.append(name)
        except Exception as e:  # noqa: BLE001
            print(f"cpu-check {name}: failed: {type(e).__name__}: {e}", flush=True)
            failed.append(name)
    if failed:
        sys.exit(f"cpu-check failed: {', '.join(failed)}")


def main():
    global TASK_IMAGE_SIZE
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="out/bench")
    ap.add_argument("--models", default="resnet50,mobilenet_v2,efficientnet_b0,vgg16",
                    help="comma-separated, from: " + ", ".join(ALL_MODELS))
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--precisions", default="fp16,fp32")
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--timing-iters", type=int, default=3)
    ap.add_argument("--error-draws", type=int, default=4,
                    help="input sets the error is measured on (the first is also timed)")
    ap.add_argument("--with-compile", action="store_true", help="also torch.compile(mode='max-autotune') (slow)")
    ap.add_argument("--conv-runtime-compilation", default="",
                    help="FP16/BF16: also a trtorch row per mode listed (auto, always; the default row is fallback), e.g. auto,always")
    ap.add_argument("--profile", action="store_true",
                    help="log a per-step profile of each trtorch engine's first run (TRTORCH_PROFILE=1)")
    ap.add_argument("--dynamic-batches", default="",
                    help="instead of the table: one engine for the batch range of these sizes (opt: the middle "
                         "one) against fixed-shape engines, e.g. 1,16,32")
    ap.add_argument("--task-image-size", type=int, default=TASK_IMAGE_SIZE,
                    help="height and width of the detection and segmentation models' images (default 320)")
    ap.add_argument("--cpu-check", action="store_true",
                    help="no GPU needed: eager vs TorchScript on the CPU, FP32, to check model building and "
                         "output comparison (no timing, no trtorch)")
    args = ap.parse_args()
    if args.error_draws < 1:
        sys.exit("--error-draws must be at least 1")
    unknown = [m for m in args.models.split(",") if m not in ALL_MODELS]
    if unknown:
        sys.exit(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(ALL_MODELS)}")
    TASK_IMAGE_SIZE = args.task_image_size
    if args.cpu_check:
        warnings.simplefilter("ignore")
        cpu_check(args)
        return
    if args.profile:
        os.environ["TRTORCH_PROFILE"] = "1"
        os.environ.setdefault("TRTORCH_LOG_LEVEL", "1")
    if not torch.cuda.is_available():
        sys.exit("the benchmark needs a CUDA GPU")
    warnings.simplefilter("ignore")
    gpu = torch.cuda.get_device_name()
    rows = []
    if args.dynamic_batches:
        batches = [int(b) for b in args.dynamic_batches.split(",")]
        for model in args.models.split(","):
            for prec in args.precisions.split(","):
                rows += run_dynamic(model, batches, prec, args)
        write_outputs(rows, args.out, gpu)
        for r in rows:
            if "vs_fixed" in r:
                print(f"{r['model']} {r['precision']} batch {r['batch']}: dynamic / fixed = {r['vs_fixed']:.3f} "
                      f"(first call at this batch {r['first_call_s']:.2f} s)")
        return
    for model in args.models.split(","):
        for batch in [int(b) for b in args.batches.split(",")]:
            for prec in args.precisions.split(","):
                rows += run_config(model, batch, prec, args)
                write_outputs(rows, args.out, gpu)


if __name__ == "__main__":
    main()
