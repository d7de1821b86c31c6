"""Build, load and first-call times with the CUDA JIT cache cold and warm (issue 20, item 5).

Every measurement runs in a fresh process, as a user's would:

  build cold   trtorch.compile with CUDA_CACHE_PATH set to a new, empty folder (the CUDA driver's
               JIT cache starts empty, as on a user's fresh machine; whatever of cuDNN's runtime
               compilation goes through the driver's JIT is cached there, trtorch's own NVRTC
               kernels are not); the module is saved.
  build warm   the same compile again with the folder the cold build filled.
  load cold    torch.jit.load of the saved module plus its first call, with another new, empty
               cache folder (a server that scales out to a fresh machine).
  load warm    the same with the folder the builds filled.
  new shape    (--dynamic) an engine compiled for batches [1, max] with opt at the batch given:
               the first call at another batch (its executor is made then) and the next call.

No trtorch timing cache is used. Times are wall-clock seconds of the step; "first call" includes
the engine's first-call checks and CUDA-graph capture. Outputs of the loaded module are compared
with those of the module that was built (in the build process) and must be equal.

    PYTHONPATH=build/python python3 bench/build_times.py --out out/build_times \\
        [--models resnet50,bert,efficientnet_b0,densenet169,squeezenet1_0] [--batches 1,32] \\
        [--precisions fp16,fp32] [--dynamic 8,32] [--conv-runtime-compilation auto,fallback,always]
    # no GPU: the same steps on the reference backend (checks the script, times mean nothing)
    python3 bench/build_times.py --device reference --models resnet18 --batches 1 --precisions fp32

Writes build_times.md and build_times.json under --out and prints the table.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

EXTRA_VISION = {  # models of the zoo beyond bench.VISION, by torchvision name
    "densenet169", "squeezenet1_0", "efficientnet_b1", "mobilenet_v3_small", "regnet_x_800mf",
}

_CHILD = r"""
import json, sys, time, torch
sys.path.insert(0, sys.argv[1])
import build_times
print("RESULT " + json.dumps(build_times.child(json.loads(sys.argv[2]))), flush=True)
"""


def make_model(name, device):
    import bench
    import torchvision
    if name in EXTRA_VISION:
        torch.manual_seed(0)
        return getattr(torchvision.models, name)().to(device).eval()
    return bench.make_model(name, device=device)


def model_inputs(name, batch, device):
    import bench
    if name in EXTRA_VISION:
        torch.manual_seed(1)
        return [torch.randn(batch, 3, 224, 224, device=device)]
    return bench.make_inputs(name, batch, device=device)


def outputs_of(y):
    """The output tensors a run is judged by, on the CPU (bench.first_tensor: a dict of tensors)."""
    import bench
    return {k: v.detach().cpu() for k, v in bench.first_tensor(y).items()}


def same_outputs(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def child(job):
    """One measurement in this (fresh) process; returns a dict of results."""
    import trtorch
    import bench
    dtype = bench.DTYPES[job["precision"]]
    gpu = job["device"] == "gpu"
    dev = "cuda" if gpu else "cpu"
    name, batch = job["model"], job["batch"]
    xs = model_inputs(name, batch, "cpu")
    xs_run = [x.to(dev) if not x.is_floating_point() else x.to(dev, dtype) for x in xs]
    if job["step"] == "build":
        model = make_model(name, "cpu").float()
        with torch.no_grad():
            scripted = torch.jit.trace(model, xs) if name in bench.TRANSFORMERS else torch.jit.script(model)
        if job.get("dynamic"):
            lo, opt, hi = job["dynamic"]
            shapes = [{"min": [lo] + list(x.shape[1:]), "opt": [opt] + list(x.shape[1:]),
                       "max": [hi] + list(x.shape[1:])} for x in xs]
        else:
            shapes = [list(x.shape) for x in xs]
        spec = {"input_shapes": shapes, "op_precision": dtype, "device": job["device"],
                "conv_runtime_compilation": job.get("conv_runtime_compilation", "fallback")}
        if name in bench.TRANSFORMERS:
            spec["input_dtypes"] = [x.dtype for x in xs]
        t0 = time.perf_counter()
        compiled = trtorch.compile(scripted, spec)
        build_s = time.perf_counter() - t0
        torch.jit.save(compiled, job["path"])
        with torch.no_grad():
            torch.save(outputs_of(compiled(*xs_run)), job["path"] + ".out")
        return {"build_s": build_s}
    # load
    if gpu:
        torch.cuda.init()
        torch.empty(1, device="cuda")  # the CUDA context exists before the clock starts
    t0 = time.perf_counter()
    m = torch.jit.load(job["path"])
    load_s = time.perf_counter() - t0
    r = {"load_s": load_s}
    with torch.no_grad():
        t0 = time.perf_counter()
        out = m(*xs_run)
        if gpu:
            torch.cuda.synchronize()
        r["first_call_s"] = time.perf_counter() - t0
        r["outputs_equal"] = same_outputs(outputs_of(out), torch.load(job["path"] + ".out"))
        if job.get("new_batch"):
            xn = model_inputs(name, job["new_batch"], "cpu")
            xn = [x.to(dev) if not x.is_floating_point() else x.to(dev, dtype) for x in xn]
            for key in ("new_shape_first_call_s", "new_shape_second_call_s"):
                t0 = time.perf_counter()
                m(*xn)
                if gpu:
                    torch.cuda.synchronize()
                r[key] = time.perf_counter() - t0
    return r


# INFO lines of a load that say where its time went (the executor's phases, the slowest kernels, the
# CUDA graph's capture), with the indented lines that continue them.
_TIMING_LOG = ("CUDA executor made in", "kernels made in", "CUDA graph captured", "specialized to input shapes")


def timing_log(stderr):
    kept, keep = [], False
    for line in stderr.splitlines():
        if line.startswith("[trtorch"):
            keep = any(k in line for k in _TIMING_LOG)
        elif not line.startswith("  "):
            keep = False
        if keep:
            kept.append(line)
    return kept


def run_child(job, cache_dir):
    env = dict(os.environ, CUDA_CACHE_PATH=cache_dir)
    if job["step"] == "load":
        env["TRTORCH_LOG_LEVEL"] = "2"  # info: where the load's and the new shape's time went
    p = subprocess.run([sys.executable, "-c", _CHILD, HERE, json.dumps(job)], capture_output=True, text=True,
                       env=env, timeout=3600)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            r = json.loads(line[len("RESULT "):])
            if job["step"] == "load":
                r["log"] = timing_log(p.stderr)
            return r
    return {"error": " ".join((p.stderr or p.stdout).split())[-600:]}


def measure(model, batch, precision, device, dynamic, work, crc="auto"):
    job = {"model": model, "batch": batch, "precision": precision, "device": device, "conv_runtime_compilation": crc,
           "path": os.path.join(work, f"{model}_b{batch}_{precision}_{crc}{'_dynamic' if dynamic else ''}.ts")}
    if dynamic:
        job["dynamic"] = dynamic
    row = {"model": model, "batch": batch, "precision": precision, "conv_runtime_compilation": crc,
           "dynamic": f"[{dynamic[0]}..{dynamic[2]}] opt {dynamic[1]}" if dynamic else ""}
    warm = tempfile.mkdtemp(prefix="cuda_cache_warm_", dir=work)
    cold = run_child(dict(job, step="build"), warm)  # the first build fills the (empty) folder
    row["build_cold_s"] = cold.get("build_s")
    if "error" in cold:
        row["error"] = cold["error"]
        return row
    row["build_warm_s"] = run_child(dict(job, step="build"), warm).get("build_s")
    load = dict(job, step="load")
    if dynamic:
        load["new_batch"] = dynamic[2] if batch != dynamic[2] else dynamic[0]
    for kind, folder in (("cold", tempfile.mkdtemp(prefix="cuda_cache_cold_", dir=work)), ("warm", warm)):
        r = run_child(load, folder)
        if "error" in r:
            row["error"] = r["error"]
            break
        row[f"load_{kind}_s"] = r["load_s"]
        row[f"load_{kind}_log"] = r.get("log", [])
        row[f"first_call_{kind}_s"] = r["first_call_s"]
        row["outputs_equal"] = row.get("outputs_equal", True) and r["outputs_equal"]
        if dynamic:
            row[f"new_shape_first_call_{kind}_s"] = r["new_shape_first_call_s"]
            row["new_shape_second_call_s"] = r["new_shape_second_call_s"]
    return row


def fmt(v):
    return "n/a" if v is None else ("%.2f" % v if isinstance(v, float) else str(v))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="out/build_times")
    ap.add_argument("--models", default="resnet50,bert,efficientnet_b0,mobilenet_v2")
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--precisions", default="fp16")
    ap.add_argument("--device", default="gpu", choices=["gpu", "reference"])
    ap.add_argument("--dynamic", default="", help="OPT,MAX: also a dynamic-batch engine [1, MAX] with opt OPT")
    ap.add_argument("--conv-runtime-compilation", default="fallback",
                    help="the modes to build each engine with, e.g. auto,fallback,always (a row each)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="trtorch_build_times_")
    gpu_name = torch.cuda.get_device_name() if args.device == "gpu" and torch.cuda.is_available() else "CPU"
    rows = []
    configs = [(m, b, p, None) for m in args.models.split(",") for p in args.precisions.split(",")
               for b in map(int, args.batches.split(","))]
    if args.dynamic:
        opt, hi = map(int, args.dynamic.split(","))
        configs += [(m, opt, p, (1, opt, hi)) for m in args.models.split(",") for p in args.precisions.split(",")]
    for model, batch, precision, dynamic in configs:
        for crc in args.conv_runtime_compilation.split(","):
            row = measure(model, batch, precision, args.device, dynamic, work, crc)
            rows.append(row)
            print(json.dumps(row), flush=True)
    with open(os.path.join(args.out, "build_times.json"), "w") as f:
        json.dump({"device": gpu_name, "torch": torch.__version__, "rows": rows}, f, indent=1)
    cols = ["model", "batch", "precision", "conv_runtime_compilation", "dynamic", "build_cold_s", "build_warm_s", "load_cold_s",
            "first_call_cold_s", "load_warm_s", "first_call_warm_s", "new_shape_first_call_cold_s",
            "new_shape_first_call_warm_s", "new_shape_second_call_s", "outputs_equal", "error"]
    cols = [c for c in cols if any(c in r for r in rows)]
    lines = [f"Device: {gpu_name}; torch {torch.__version__}; every step in a fresh process; cold: CUDA_CACHE_PATH "
             "a new empty folder; warm: the folder the builds filled; no timing cache; seconds", "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(fmt(r.get(c)) for c in cols) + " |")
    # Where the time of each cold load (and its new shape) went, from trtorch's INFO log.
    for r in rows:
        if r.get("load_cold_log"):
            lines += ["", f"Cold load of {r['model']} batch {r['batch']} {r['precision']} "
                      f"{r['conv_runtime_compilation']} {r['dynamic']}:", "```"]
            lines += r["load_cold_log"] + ["```"]
    with open(os.path.join(args.out, "build_times.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
