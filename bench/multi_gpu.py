"""Throughput on several GPUs of one machine (issue 23, item 3): one compiled module loaded once per
GPU, each called from a thread of its own, as a server with an instance per GPU runs it.

For each model: compile on GPU 0 (the model's own input shapes, --precision), save, then load one
copy per GPU (under torch.cuda.device(g), so each is prepared on its GPU: the engine placement
"inputs"). For n = 1, 2, 4, ... GPUs (up to --gpus, at most the machine's), n threads each run
--iters calls on its GPU after a warm-up; throughput is (n * iters * batch) / wall time, and the
scaling is that over the one-GPU throughput. Every GPU's outputs on the same inputs are compared
with GPU 0's (they must be equal: same kernels, same tactics).

    PYTHONPATH=build/python python3 bench/multi_gpu.py --out out/multi_gpu \
        [--models resnet50,bert] [--batch 32] [--precision fp16] [--iters 200] [--gpus 4]

Writes multi_gpu.md and multi_gpu.json under --out and prints the table.
"""
import argparse
import io
import json
import os
import sys
import threading
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (make_model, make_inputs, cpu_fp32_copy, DTYPES, TRANSFORMERS)


def compile_saved(name, batch, dtype):
    """(saved module bytes, the eager model's inputs on the CPU)."""
    import trtorch
    model = bench.make_model(name, device="cuda:0")
    xs = bench.make_inputs(name, batch, device="cpu")
    model_cpu = bench.cpu_fp32_copy(name, model)
    with torch.no_grad():
        scripted = torch.jit.trace(model_cpu, xs) if name in bench.TRANSFORMERS else torch.jit.script(model_cpu)
    spec = {"inputs": [trtorch.Input(list(x.shape), dtype=x.dtype if not x.is_floating_point() else dtype)
                       for x in xs],
            "device": {"device_type": "gpu", "gpu_id": 0}, "op_precision": dtype}
    compiled = trtorch.compile(scripted, spec)
    buf = io.BytesIO()
    torch.jit.save(compiled, buf)
    return buf.getvalue(), [x if not x.is_floating_point() else x.to(dtype) for x in xs]


def load_on(saved, gpu):
    with torch.cuda.device(gpu):
        return torch.jit.load(io.BytesIO(saved), map_location="cuda:%d" % gpu)


def run_threads(modules, inputs, iters, warmup):
    """Wall seconds for len(modules) threads, thread g running `iters` calls of modules[g] on GPU g."""
    barrier = threading.Barrier(len(modules) + 1)
    errors = []

    def worker(g):
        try:
            with torch.no_grad(), torch.cuda.device(g):
                xs = inputs[g]
                for _ in range(warmup):
                    modules[g](*xs)
                torch.cuda.synchronize(g)
                barrier.wait()
                for _ in range(iters):
                    modules[g](*xs)
                torch.cuda.synchronize(g)
        except Exception as e:  # reported after the join
            errors.append("GPU %d: %r" % (g, e))
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(g,)) for g in range(len(modules))]
    for t in threads:
        t.start()
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        pass
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    if errors:
        raise RuntimeError("; ".join(errors))
    return seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="out/multi_gpu")
    ap.add_argument("--models", default="resnet50,bert")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--precision", default="fp16", choices=sorted(bench.DTYPES))
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--gpus", type=int, default=torch.cuda.device_count())
    args = ap.parse_args()
    available = torch.cuda.device_count()
    if available < 1:
        sys.exit("multi_gpu.py: needs a CUDA GPU")
    gpus = min(args.gpus, available)
    if gpus < 1:
        sys.exit("multi_gpu.py: --gpus must be at least 1")
    counts = [n for n in (1, 2, 4, 8) if n <= gpus]
    if counts[-1] != gpus:
        counts.append(gpus)
    dtype = bench.DTYPES[args.precision]
    names = [torch.cuda.get_device_name(g) for g in range(gpus)]
    rows = []
    for name in args.models.split(","):
        saved, xs = compile_saved(name, args.batch, dtype)
        modules = [load_on(saved, g) for g in range(gpus)]
        inputs = [[x.to("cuda:%d" % g) for x in xs] for g in range(gpus)]
        with torch.no_grad():
            outs = [{k: v.cpu() for k, v in bench.first_tensor(modules[g](*inputs[g])).items()} for g in range(gpus)]
        equal = all(o.keys() == outs[0].keys() and all(torch.equal(o[k], outs[0][k]) for k in o) for o in outs[1:])
        base = None
        for n in counts:
            seconds = run_threads(modules[:n], inputs[:n], args.iters, args.warmup)
            per_s = n * args.iters * args.batch / seconds
            base = base or per_s
            rows.append({"model": name, "batch": args.batch, "precision": args.precision, "gpus": n,
                         "samples_per_s": round(per_s, 1), "scaling": round(per_s / base, 3),
                         "outputs_equal_gpu0": equal})
            print(rows[-1], flush=True)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "multi_gpu.json"), "w") as f:
        json.dump({"gpus": names, "torch": torch.__version__, "rows": rows}, f, indent=1)
    lines = ["GPUs: %s; torch %s; %d calls per thread after %d warm-up calls" % (
        ", ".join(names), torch.__version__, args.iters, args.warmup), "",
        "| model | batch | precision | GPUs | samples/s | scaling | outputs equal to GPU 0's |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append("| %s | %d | %s | %d | %.1f | %.2fx | %s |" % (r["model"], r["batch"], r["precision"], r["gpus"],
                                                                   r["samples_per_s"], r["scaling"],
                                                                   "yes" if r["outputs_equal_gpu0"] else "NO"))
    with open(os.path.join(args.out, "multi_gpu.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
