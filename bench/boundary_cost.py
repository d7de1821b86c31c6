"""The cost of one engine boundary under partial compilation (issue 17, item 8; target: under 10 us).

The model is a chain of N small linear layers with a ReLU after each but the last. Compiled with
`torch_executed_ops: ["aten::relu"]` and `min_block_size: 1`, each linear layer becomes its own
engine segment and each ReLU runs in TorchScript between two of them: N engine calls, N - 1
boundaries. Compiled without forced ops (same min_block_size) the whole chain is one engine. Both
take and return the same small tensors, so

    cost of one boundary = (time of the N-segment module - time of the one-segment module) / (N - 1)

over several N, fitted by least squares (the slope; per-N values are printed as well). It counts
everything a boundary adds: leaving an engine, the TorchScript ReLU (its kernel launch included)
and entering the next engine. "excl. ReLU" subtracts the time of a ReLU in TorchScript alone
(a scripted module doing N - 1 ReLUs, timed the same way). The scripted module alone (TorchScript,
frozen) is timed for reference.

Timing (--device gpu): CUDA events around a loop of --inner calls, repeated --repeats times after
warm-up; the median per-call time. With tensors this small the GPU waits for the host, so these are
host-side (launch) costs, which is what a boundary adds. --device reference: time.perf_counter on
the CPU, trtorch's reference backend (an approximation of the host-side cost, not the target).

    PYTHONPATH=build/python python3 bench/boundary_cost.py --out DIR \
        [--device gpu|reference] [--precisions fp16,fp32] [--segments 2,4,8,16] \
        [--batch 8] [--features 64] [--inner 100] [--repeats 50] [--torch-only] [--no-cuda-graphs] [--profile]

--profile: for the largest N, runs the split module and the one-engine module under torch.profiler
(CPU and, on the GPU, CUDA activity) and prints, per call of the module, the host time of each op and
CUDA runtime call (self time, so the rows add up to the host's time per call): where a boundary's
microseconds go.

Writes DIR/boundary_cost.json and DIR/boundary_cost.md and prints, per precision, microseconds per
boundary and a markdown line. Each compiled module's engine calls (trtorch::execute_engine) are
counted and its output compared with TorchScript's (relative error at most 1e-4 FP32, 1e-2 FP16):
a module without the expected N (or 1) engine segments or with a wrong output is reported as a
problem and left out of the fit, never silently timed.
--torch-only skips trtorch (times TorchScript only; runs without trtorch and without a GPU). Exit
status 1 when a problem was reported or no boundary cost could be measured.
"""
import argparse
import copy
import json
import os
import statistics
import sys
import time
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import task_models  # noqa: E402  (count_engines)

DTYPES = {"fp32": torch.float32, "fp16": torch.float16}
TARGET_US = 10.0
MAX_REL_ERR = {"fp32": 1e-4, "fp16": 1e-2}  # compiled output against TorchScript FP32: a broken boundary


def chain(n, features):
    """N linear layers (features -> features) with a ReLU between each two."""
    layers = []
    for i in range(n):
        layers.append(torch.nn.Linear(features, features))
        if i + 1 < n:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


class Relus(torch.nn.Module):
    """k ReLUs in a row (TorchScript's cost of the ops the boundaries run)."""

    def __init__(self, k):
        super().__init__()
        self.k = k

    def forward(self, x):
        for _ in range(self.k):
            x = torch.relu(x)
        return x


def per_call_us(fn, x, args):
    """Median over --repeats of (time of --inner calls) / --inner, in microseconds."""
    with torch.no_grad():
        for _ in range(args.warmup):
            fn(x)
        samples = []
        if args.device == "gpu":
            torch.cuda.synchronize()
            for _ in range(args.repeats):
                a = torch.cuda.Event(enable_timing=True)
                b = torch.cuda.Event(enable_timing=True)
                a.record()
                for _ in range(args.inner):
                    fn(x)
                b.record()
                b.synchronize()
                samples.append(a.elapsed_time(b) * 1e3 / args.inner)
        else:
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                for _ in range(args.inner):
                    fn(x)
                samples.append((time.perf_counter() - t0) * 1e6 / args.inner)
    return statistics.median(samples)


def profile_calls(fn, x, args, title, calls=200):
    """Prints the host's self time per module call of each op / CUDA runtime call, from torch.profiler."""
    from torch.profiler import ProfilerActivity, profile
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if args.device == "gpu" else [])
    with torch.no_grad():
        for _ in range(10):
            fn(x)
        with profile(activities=acts) as prof:
            for _ in range(calls):
                fn(x)
            if args.device == "gpu":
                torch.cuda.synchronize()
    rows = [(e.key, e.count, e.self_cpu_time_total) for e in prof.key_averages()]
    rows.sort(key=lambda r: -r[2])
    total = sum(r[2] for r in rows)
    print(f"profile ({title}): host self time per module call, {calls} calls; total {total / calls:.2f} us")
    for key, count, self_us in rows[:25]:
        print(f"  {self_us / calls:8.2f} us  {count / calls:6.2f} x/call  {key}")
    gpu_rows = [(e.key, e.count, e.self_device_time_total) for e in prof.key_averages() if e.self_device_time_total > 0]
    gpu_rows.sort(key=lambda r: -r[2])
    for key, count, us in gpu_rows[:10]:
        print(f"  GPU {us / calls:8.2f} us  {count / calls:6.2f} x/call  {key}")
    sys.stdout.flush()


def fit_slope(xs, ys):
    """Least-squares slope of ys over xs."""
    mx, my = statistics.mean(xs), statistics.mean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else float("nan")


def max_rel_err(got, want):
    got, want = got.detach().double().cpu(), want.detach().double().cpu()
    return ((got - want).abs().max() / want.abs().max().clamp_min(1e-30)).item()


def run_precision(prec, args, device):
    dtype = DTYPES[prec]
    x_cpu = torch.randn(args.batch, args.features, generator=torch.Generator().manual_seed(1))
    x = x_cpu.to(device=device, dtype=dtype)
    result = {"precision": prec, "batch": args.batch, "features": args.features, "points": []}
    relu_us = None
    if args.device == "gpu" or dtype == torch.float32:  # CPU half ReLUs are not what runs at a boundary
        k = max(args.segments) - 1
        relus = torch.jit.freeze(torch.jit.script(Relus(k)).eval()).to(device)
        relu_us = per_call_us(relus, x, args) / k
    result["torch_relu_us"] = relu_us
    if not args.torch_only:
        import trtorch
    for n in args.segments:
        torch.manual_seed(0)
        model = chain(n, args.features).eval()
        scripted = torch.jit.script(model).eval()
        ts = torch.jit.freeze(torch.jit.script(copy.deepcopy(model).to(device=device, dtype=dtype)).eval())
        p = {"segments": n, "torchscript_us": per_call_us(ts, x, args)}
        if not args.torch_only:
            base = {"input_shapes": [[args.batch, args.features]], "op_precision": dtype, "device": args.device,
                    "min_block_size": 1, "cuda_graphs": not args.no_cuda_graphs}
            with torch.no_grad():
                want = scripted(x_cpu)
            for tag, extra, expect in (("one", {}, 1), ("split", {"torch_executed_ops": ["aten::relu"]}, n)):
                t0 = time.perf_counter()
                compiled = trtorch.compile(scripted, dict(base, **extra))
                p[f"{tag}_build_s"] = time.perf_counter() - t0
                engines = task_models.count_engines(compiled)
                p[f"{tag}_engines"] = engines
                if engines != expect:
                    p.setdefault("problems", []).append(f"{tag}: {engines} engine segments, expected {expect}")
                with torch.no_grad():
                    err = max_rel_err(compiled(x), want)
                p[f"{tag}_rel_err"] = err
                if err > MAX_REL_ERR[prec]:
                    p.setdefault("problems", []).append(f"{tag}: output off by {err:.3g} (relative), more than "
                                                        f"{MAX_REL_ERR[prec]:g}")
                p[f"{tag}_us"] = per_call_us(compiled, x, args)
                if args.profile and n == max(args.segments):
                    profile_calls(compiled, x, args, f"{prec}, N={n}, {tag} ({engines} engine calls per module call)")
            if n > 1:
                p["us_per_boundary"] = (p["split_us"] - p["one_us"]) / (n - 1)
        result["points"].append(p)
        print(json.dumps(p), flush=True)
    pts = [p for p in result["points"] if "us_per_boundary" in p and not p.get("problems")]
    if len(pts) >= 2:
        result["us_per_boundary"] = fit_slope([p["segments"] - 1 for p in pts],
                                              [p["split_us"] - p["one_us"] for p in pts])
    elif len(pts) == 1:
        result["us_per_boundary"] = pts[0]["us_per_boundary"]
    if "us_per_boundary" in result and relu_us is not None:
        result["us_per_boundary_excl_relu"] = result["us_per_boundary"] - relu_us
    return result


def markdown(results, where, args):
    lines = [f"Engine boundary cost on {where}, torch {torch.__version__}: chain of N Linear({args.features}, "
             f"{args.features}) layers, batch {args.batch}, ReLUs forced to TorchScript (N engine segments) vs "
             f"one engine; median per-call time ({args.repeats} x {args.inner} calls); per boundary: least-squares "
             f"slope of (N-segment - one-segment) over N - 1 = {', '.join(str(n - 1) for n in args.segments)}.", "",
             "| device | prec | us per boundary | excl. ReLU | TorchScript ReLU us | one engine us (N=max) | "
             "N engines us (N=max) | TorchScript us (N=max) | target < 10 us |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        last = r["points"][-1]

        def f(v, fmt="%.2f"):
            return "-" if v is None else fmt % v
        per = r.get("us_per_boundary")
        verdict = "-" if per is None else ("met" if per < TARGET_US else "missed")
        lines.append(f"| {where} | {r['precision']} | {f(per)} | {f(r.get('us_per_boundary_excl_relu'))} | "
                     f"{f(r.get('torch_relu_us'))} | {f(last.get('one_us'))} | {f(last.get('split_us'))} | "
                     f"{f(last.get('torchscript_us'))} | {verdict} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="folder for boundary_cost.json and boundary_cost.md")
    ap.add_argument("--device", choices=["gpu", "reference"], default="gpu",
                    help="gpu (CUDA-event timing; the measurement) or reference (trtorch's CPU backend, wall time)")
    ap.add_argument("--precisions", default="fp16,fp32")
    ap.add_argument("--segments", default="2,4,8,16", help="values of N (engine segments), each >= 2")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--features", type=int, default=64)
    ap.add_argument("--inner", type=int, default=100, help="calls per timed loop")
    ap.add_argument("--repeats", type=int, default=50, help="timed loops; the median is taken")
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--torch-only", action="store_true", help="time TorchScript only (no trtorch)")
    ap.add_argument("--no-cuda-graphs", action="store_true", help="compile with cuda_graphs off (eager launches)")
    ap.add_argument("--profile", action="store_true", help="profile the largest N's modules (host time per op)")
    args = ap.parse_args()
    try:
        args.segments = sorted({int(n) for n in args.segments.split(",")})
    except ValueError:
        ap.error("--segments: comma-separated integers")
    if not args.segments or min(args.segments) < 2:
        ap.error("--segments: each N must be >= 2")
    precs = [p for p in args.precisions.split(",") if p]
    if any(p not in DTYPES for p in precs):
        ap.error("--precisions: from " + ", ".join(DTYPES))
    if min(args.batch, args.features, args.inner, args.repeats) < 1:
        ap.error("--batch, --features, --inner and --repeats must be >= 1")
    if args.device == "gpu" and not torch.cuda.is_available():
        sys.exit("--device gpu needs a CUDA GPU (--device reference times the CPU backend)")
    warnings.simplefilter("ignore")
    device = "cuda" if args.device == "gpu" else "cpu"
    where = torch.cuda.get_device_name() if args.device == "gpu" else "CPU (reference backend)"
    results = [run_precision(p, args, device) for p in precs]
    md = markdown(results, where, args)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "boundary_cost.json"), "w") as f:
        json.dump({"device": where, "torch": torch.__version__, "args": vars(args), "results": results}, f, indent=1)
    with open(os.path.join(args.out, "boundary_cost.md"), "w") as f:
        f.write(md + "\n")
    print()
    for r in results:
        problems = [q for p in r["points"] for q in p.get("problems", [])]
        if "us_per_boundary" in r:
            print(f"{r['precision']}: {r['us_per_boundary']:.2f} us per engine boundary"
                  + (f" ({r['us_per_boundary_excl_relu']:.2f} us excluding the TorchScript ReLU)"
                     if "us_per_boundary_excl_relu" in r else "")
                  + f"; target < {TARGET_US:g} us: {'met' if r['us_per_boundary'] < TARGET_US else 'MISSED'}")
        elif not args.torch_only:
            print(f"{r['precision']}: no boundary cost measured")
        for q in problems:
            print(f"{r['precision']}: problem: {q}")
    print()
    print(md)
    failed = any(p.get("problems") for r in results for p in r["points"]) or \
        (not args.torch_only and any("us_per_boundary" not in r for r in results))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
