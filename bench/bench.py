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

VISION = {
    "resnet50": torchvision.models.resnet50,
    "mobilenet_v2": torchvision.models.mobilenet_v2,
    "efficientnet_b0": torchvision.models.efficientnet_b0,
    "vgg16": torchvision.models.vgg16,
    "resnet18": torchvision.models.resnet18,
    "vit_b_16": torchvision.models.vit_b_16,
}
TRANSFORMERS = ("bert", "gpt2")  # transformers' BertModel / GPT2Model, default configs
SEQ_LEN = 128
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
    while isinstance(y, (list, tuple)):
        y = y[0]
    return y


def errors(y, ref):
    y = first_tensor(y).float()
    d = (y - ref).abs().max().item()
    return d, d / max(ref.abs().max().item(), 1e-12)


def measure(name, make_fn, draws, iters):
    """Builds (timed, with the first call), computes the error on every draw (inputs, eager FP32
    output), then times on the first draw's inputs; peak memory over build and runs."""
    xs = draws[0][0]
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    free_before = torch.cuda.mem_get_info()[0]
    t0 = time.perf_counter()
    fn = make_fn()
    with torch.no_grad():
        y = fn(*xs)
    torch.cuda.synchronize()
    build_s = time.perf_counter() - t0
    errs = [errors(y, draws[0][1])]
    with torch.no_grad():
        for xd, refd in draws[1:]:
            errs.append(errors(fn(*xd), refd))
    abs_err = max(e[0] for e in errs)
    rel_err = max(e[1] for e in errs)
    mean_rel_err = statistics.mean(e[1] for e in errs)
    ms = median_ms(fn, xs, iters)
    peak_torch = torch.cuda.max_memory_allocated()
    # trtorch keeps weights and tactics' buffers outside torch's allocator: count the device's
    # free memory too.
    used_device = max(free_before - torch.cuda.mem_get_info()[0], 0)
    return {"backend": name, "median_ms": ms, "build_s": build_s, "max_abs_err": abs_err, "max_rel_err": rel_err,
            "mean_rel_err": mean_rel_err, "error_draws": len(errs),
            "peak_torch_mib": peak_torch / 2**20, "device_mem_delta_mib": used_device / 2**20}


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


def make_model(name, device="cuda"):
    """Random weights (seeded). Vision models get batch-norm statistics estimated on random
    images: torchvision initialises running statistics to mean 0 / variance 1, with which deep
    networks shrink activations towards zero (MobileNetV2's outputs were ~1e-9, EfficientNet-B0's
    ~1e-12) and output errors say nothing; estimated statistics keep activations of unit scale."""
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
    if bns:
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the calibration batches
        model.train()
        with torch.no_grad():
            for _ in range(4):
                model(torch.randn(16, 3, 224, 224, device=device))
    return model.eval()


def make_inputs(name, batch, seed=1):
    """The model's example inputs on the GPU: images, or token ids (BERT: with an attention mask
    that pads the second half of every other sequence, and token types)."""
    torch.manual_seed(seed)
    if name not in TRANSFORMERS:
        return [torch.randn(batch, 3, 224, 224, device="cuda")]
    ids = torch.randint(0, 30000, (batch, SEQ_LEN), device="cuda")
    if name == "gpt2":
        return [ids]
    mask = torch.ones(batch, SEQ_LEN, dtype=torch.long, device="cuda")
    mask[1::2, SEQ_LEN // 2:] = 0
    types = torch.zeros(batch, SEQ_LEN, dtype=torch.long, device="cuda")
    types[:, SEQ_LEN // 2:] = 1
    return [ids, mask, types]


def cpu_fp32_copy(model_name, model):
    """The model as a user hands it to trtorch: FP32 on the CPU, with `model`'s weights."""
    model_cpu = make_model(model_name, device="cpu")
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
    with torch.no_grad(), exact_fp32():  # the reference: FP32 throughout (timed baselines keep torch's defaults)
        for seed in range(1, 1 + args.error_draws):
            xd = make_inputs(model_name, batch, seed)
            draws.append(([x.to(dtype) if x.is_floating_point() else x for x in xd], first_tensor(model(*xd)).float()))
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

    def trt(allow_tf32=False):
        if transformer:
            scripted = torch.jit.trace(model_cpu.eval(), [x.cpu() for x in xs32])
        else:
            scripted = torch.jit.script(model_cpu).eval()
        return trtorch.compile(scripted, {"input_shapes": [list(x.shape) for x in xs], "op_precision": dtype,
                                          "device": "gpu", "num_avg_timing_iters": args.timing_iters,
                                          "allow_tf32": allow_tf32})

    backends = [("eager", eager), ("torchscript", torchscript)]
    if args.with_compile:
        backends.append(("torch.compile max-autotune", compiled))
    backends.append(("trtorch", trt))
    if prec == "fp32":
        # torch runs FP32 convolutions on TF32 tensor cores by default (cudnn.allow_tf32); trtorch
        # only when asked: both rows.
        backends.append(("trtorch allow_tf32", lambda: trt(allow_tf32=True)))
    for name, make in backends:
        try:
            r = measure(name, make, draws, args.iters)
        except Exception as e:  # reported in the table, never hidden
            print(f"{model_name} b{batch} {prec} {name} failed:\n{e}", file=sys.stderr, flush=True)
            r = {"backend": name, "error": " ".join(str(e).split())[:600]}
        r.update({"model": model_name, "batch": batch, "precision": prec})
        rows.append(r)
        print(json.dumps(r), flush=True)
    del m, model
    torch.cuda.empty_cache()
    return rows


def write_outputs(rows, out, gpu):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "bench.json"), "w") as f:
        json.dump({"gpu": gpu, "torch": torch.__version__, "rows": rows}, f, indent=1)
    lines = [f"GPU: {gpu}, torch {torch.__version__}; median of CUDA-event-timed runs after warm-up; errors "
             f"against eager FP32 without TF32 (rel = max|y - y32| / max|y32|; max and mean over the input draws).", "",
             "| model | batch | prec | backend | median ms | speedup vs torch.compile | build s | peak torch MiB "
             "| device mem MiB | max abs err | max rel err | mean rel err |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['model']} | {r['batch']} | {r['precision']} | {r['backend']} | failed: {r['error']} "
                         f"| | | | | | | |")
            continue
        base = [q for q in rows if q["model"] == r["model"] and q["batch"] == r["batch"] and
                q["precision"] == r["precision"] and q["backend"].startswith("torch.compile") and "median_ms" in q]
        speed = f"{base[0]['median_ms'] / r['median_ms']:.2f}x" if base else "-"
        lines.append(f"| {r['model']} | {r['batch']} | {r['precision']} | {r['backend']} | {r['median_ms']:.3f} | "
                     f"{speed} | {r['build_s']:.1f} | {r['peak_torch_mib']:.0f} | {r['device_mem_delta_mib']:.0f} | "
                     f"{r['max_abs_err']:.3g} | {r['max_rel_err']:.3g} | {r.get('mean_rel_err', r['max_rel_err']):.3g} |")
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
            ref = first_tensor(model(*xs32)).float()
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="out/bench")
    ap.add_argument("--models", default="resnet50,mobilenet_v2,efficientnet_b0,vgg16")
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--precisions", default="fp16,fp32")
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--timing-iters", type=int, default=3)
    ap.add_argument("--error-draws", type=int, default=4,
                    help="input sets the error is measured on (the first is also timed)")
    ap.add_argument("--with-compile", action="store_true", help="also torch.compile(mode='max-autotune') (slow)")
    ap.add_argument("--profile", action="store_true",
                    help="log a per-step profile of each trtorch engine's first run (TRTORCH_PROFILE=1)")
    ap.add_argument("--dynamic-batches", default="",
                    help="instead of the table: one engine for the batch range of these sizes (opt: the middle "
                         "one) against fixed-shape engines, e.g. 1,16,32")
    args = ap.parse_args()
    if args.error_draws < 1:
        sys.exit("--error-draws must be at least 1")
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
