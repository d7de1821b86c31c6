"""Host memory of compiling, saving and loading (issue 21, item 6), on trtorch's reference backend
or the GPU (engines on the GPU: host memory is what the loaded module keeps on the host).

Each phase runs in a fresh process, on a model of one Linear(F, F) layer (weights F*F*4 bytes):

    load     resident size (RSS) added by torch.jit.load of the compiled module, against the
             TorchScript module's (target: at most weights + 10%)
    compile  peak RSS during trtorch.compile above the RSS before it, in units of the weights
             (target: at most 3x)
    save     peak RSS during torch.jit.save of the compiled module above the RSS before it
    repeat   RSS growth over --compiles rounds of a compile, an op-support check and a failing
             compile of a small model (target: flat), per round

Peaks come from /proc/self/status VmHWM, reset through /proc/self/clear_refs before the phase.

    PYTHONPATH=build/python python3 bench/memory.py [--features 8192] [--device reference|gpu]
        [--compiles 1000] [--phases load,compile,save,repeat] [--json FILE]

Prints one line per phase and a markdown table; exit status 1 when a target is missed.
"""
import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile

MIB = 1 << 20


def status_bytes(field):
    """A size field of /proc/self/status (VmRSS, VmHWM), in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no %s in /proc/self/status" % field)


def rss():
    return status_bytes("VmRSS")


def hwm():
    return status_bytes("VmHWM")


def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def settled_rss():
    gc.collect()
    return rss()


def rolled_model():
    """A scripted Linear followed by aten::logcumsumexp, which trtorch does not convert."""
    import torch

    class Rolled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(16, 16)

        def forward(self, x):
            return torch.logcumsumexp(self.lin(x), 1)
    return torch.jit.script(Rolled().eval())


def model(features):
    import torch
    torch.manual_seed(0)
    return torch.jit.script(torch.nn.Linear(features, features).eval())


def spec(args):
    import torch
    return {"input_shapes": [[2, args.features]], "device": args.device, "op_precision": torch.float32}


def phase(args):
    """Runs one phase in this process; returns its figures."""
    import torch
    import trtorch
    weights = args.features * args.features * 4
    out = {"phase": args.phase, "weights_bytes": weights}
    dev = "cuda" if args.device == "gpu" else "cpu"
    if args.phase in ("load", "load_torchscript"):
        path = args.path
        base = settled_rss()
        m = torch.jit.load(path, map_location=dev)
        out["rss_added_bytes"] = settled_rss() - base
        with torch.no_grad():
            m(torch.randn(2, args.features, device=dev))  # the module runs (lazy work done)
        out["rss_added_after_run_bytes"] = settled_rss() - base
    elif args.phase == "compile":
        m = model(args.features)
        if dev == "cuda":
            m = m.cuda()
        base = settled_rss()
        reset_peak()
        trt = trtorch.compile(m, spec(args))
        out["peak_above_bytes"] = hwm() - base
        out["rss_added_bytes"] = settled_rss() - base
        del trt
    elif args.phase == "save":
        m = model(args.features)
        trt = trtorch.compile(m, spec(args))
        del m
        base = settled_rss()
        reset_peak()
        torch.jit.save(trt, args.path)
        out["peak_above_bytes"] = hwm() - base
    elif args.phase == "repeat":
        # A compile, an op-support check and a failing compile (an unsupported op with
        # require_full_compilation), each --compiles times.
        small = torch.jit.script(torch.nn.Sequential(torch.nn.Linear(16, 16), torch.nn.ReLU()).eval())
        s = {"input_shapes": [[2, 16]], "device": args.device, "op_precision": torch.float32}
        rolled = rolled_model()

        def one_round():
            trtorch.compile(small, s)
            trtorch.check_method_op_support(small, "forward")
            try:
                trtorch.compile(rolled, dict(s, require_full_compilation=True))
            except RuntimeError:
                pass
            else:
                raise AssertionError("the compile of a model with aten::logcumsumexp and require_full_compilation succeeded")

        for _ in range(20):  # warm-up: caches, allocator pools, first-use initialisation
            one_round()
        base = settled_rss()
        for _ in range(args.compiles):
            one_round()
        out["compiles"] = args.compiles
        out["rss_growth_bytes"] = settled_rss() - base
        out["bytes_per_compile"] = out["rss_growth_bytes"] / args.compiles
    return out


def run_phase(args, name, path):
    cmd = [sys.executable, os.path.abspath(__file__), "--phase", name, "--path", path, "--features",
           str(args.features), "--device", args.device, "--compiles", str(args.compiles)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("phase %s failed:\n%s" % (name, r.stderr[-3000:]))
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--features", type=int, default=8192, help="Linear(F, F): weights of F*F*4 bytes")
    ap.add_argument("--device", choices=["reference", "gpu"], default="reference")
    ap.add_argument("--compiles", type=int, default=1000)
    ap.add_argument("--phases", default="load,compile,save,repeat")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        print(json.dumps(phase(args)))
        return 0
    import torch
    import trtorch
    phases = args.phases.split(",")
    results = {}
    problems = []
    weights = args.features * args.features * 4
    with tempfile.TemporaryDirectory() as tmp:
        ts_path, trt_path = os.path.join(tmp, "ts.pt"), os.path.join(tmp, "trt.pt")
        if "load" in phases or "save" in phases:
            results["save"] = run_phase(args, "save", trt_path)  # also writes the compiled module
        if "load" in phases:
            m = model(args.features)
            torch.jit.save(m, ts_path)
            del m
            results["load"] = run_phase(args, "load", trt_path)
            results["load_torchscript"] = run_phase(args, "load_torchscript", ts_path)
        if "compile" in phases:
            results["compile"] = run_phase(args, "compile", trt_path)
        if "repeat" in phases:
            results["repeat"] = run_phase(args, "repeat", trt_path)
    rows = []
    if "load" in results:
        added = results["load"]["rss_added_after_run_bytes"]
        ok = added <= 1.1 * weights
        rows.append(("RSS after torch.jit.load and one run", "%.0f MiB (%.2fx weights); TorchScript %.0f MiB" % (
            added / MIB, added / weights, results["load_torchscript"]["rss_added_after_run_bytes"] / MIB),
            "<= 1.1x weights", ok))
        problems += [] if ok else ["load"]
    if "compile" in results:
        peak = results["compile"]["peak_above_bytes"]
        ok = peak <= 3 * weights
        rows.append(("peak RSS of trtorch.compile", "%.0f MiB (%.2fx weights)" % (peak / MIB, peak / weights),
                     "<= 3x weights", ok))
        problems += [] if ok else ["compile"]
    if "save" in results:
        peak = results["save"]["peak_above_bytes"]
        rows.append(("peak RSS of torch.jit.save", "%.0f MiB (%.2fx weights)" % (peak / MIB, peak / weights), "-", True))
    if "repeat" in results:
        r = results["repeat"]
        ok = r["bytes_per_compile"] < 1024
        rows.append(("RSS growth over %d compiles" % r["compiles"], "%.0f kB (%.0f bytes per compile)" % (
            r["rss_growth_bytes"] / 1024, r["bytes_per_compile"]), "flat (< 1 kB per compile)", ok))
        problems += [] if ok else ["repeat"]
    print("Host memory, %s backend, Linear(%d, %d) (weights %.0f MiB), torch %s" % (
        args.device, args.features, args.features, weights / MIB, torch.__version__))
    print("| what | measured | target | met |\n|---|---|---|---|")
    for what, measured, target, ok in rows:
        print("| %s | %s | %s | %s |" % (what, measured, target, "yes" if ok else "no"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
