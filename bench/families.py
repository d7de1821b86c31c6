"""The model families of issue 18 on the GPU: eager, TorchScript (frozen), torch.compile
(mode="max-autotune", optional) and trtorch, FP16, side by side on one GPU, timed with CUDA events
(median of --iters runs after warm-up), with each output's relative error against eager FP32
(max |y - y32| / max |y32|) checked alongside, and each build's wall time. The baselines of the
convolutional models (r3d_18, fcn_resnet50, unet, raft_small) run channels-last, weights and
inputs, as an expert sets them up for FP16 tensor cores; trtorch takes the plain NCHW input a user
hands it and picks its own layouts.

    PYTHONPATH=build/python python3 bench/families.py [--models r3d_18,swin_t,...] [--batches 1,8]
        [--iters 100] [--with-compile] [--budget-s 560] [--json out.json]

Each model runs in a child process of its own (one after the other, never two at once on the GPU):
inside it the backends are built and timed one after the other, torch.compile last, so that a
model whose max-autotune build overruns the time left (--budget-s for the whole run) still gives
its other rows; the overrun is reported as such. Each child starts with an empty CUDA JIT cache
(CUDA_CACHE_PATH), as on a user's fresh machine.

Models (random weights, FP16; shapes per sample):
  r3d_18       video ResNet, [3, 16, 112, 112]
  mvit_v2_s    video transformer, [3, 16, 224, 224]
  swin_t       windowed transformer, [3, 224, 224]
  fcn_resnet50 segmentation, its "out", [3, 384, 384]
  unet         tests/python/test_model_families.py's U-Net, 64 channels at the top, [3, 256, 256]
  raft_small   optical flow, two frames [3, 256, 256], 12 refinement steps, the last flow
  roberta      RoBERTa-base (transformers' default config), 128 token ids, traced
  wav2vec2     Wav2Vec2-base (default config), 1 s of 16 kHz audio, traced
Prints a markdown table.
"""
import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench import median_ms  # noqa: E402  (CUDA-event median after warm-up, as every benchmark times)
CONV = {"r3d_18": torch.channels_last_3d, "fcn_resnet50": torch.channels_last, "unet": torch.channels_last,
        "raft_small": torch.channels_last}  # the baselines' memory format
MODELS = ["r3d_18", "swin_t", "fcn_resnet50", "unet", "raft_small", "roberta", "wav2vec2", "mvit_v2_s"]


class _FinalFlow(torch.nn.Module):
    def __init__(self, m, updates):
        super().__init__()
        self.m, self.updates = m, updates

    def forward(self, a, b):
        return self.m(a, b, self.updates)[-1]


class _FirstOutput(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x, return_dict=False)[0]


def make(name, batch):
    """(module, inputs, traced): FP32 module on the GPU and its FP32 (or int64) inputs."""
    import torchvision
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)

    def img(*shape):
        return torch.randn([batch, *shape], generator=g)
    if name == "r3d_18":
        m, xs = torchvision.models.video.r3d_18(weights=None), [img(3, 16, 112, 112)]
    elif name == "mvit_v2_s":
        m, xs = torchvision.models.video.mvit_v2_s(weights=None), [img(3, 16, 224, 224)]
    elif name == "swin_t":
        m, xs = torchvision.models.swin_t(weights=None), [img(3, 224, 224)]
    elif name == "fcn_resnet50":
        m = torchvision.models.segmentation.fcn_resnet50(weights=None, weights_backbone=None)
        xs = [img(3, 384, 384)]
    elif name == "unet":
        sys.path.insert(0, os.path.join(HERE, "..", "tests", "python"))
        from test_model_families import UNet
        m, xs = UNet(3, 64, 2), [img(3, 256, 256)]
    elif name == "raft_small":
        m = _FinalFlow(torchvision.models.optical_flow.raft_small(weights=None), 12)
        xs = [img(3, 256, 256), img(3, 256, 256)]
    elif name == "roberta":
        import transformers as T
        m = _FirstOutput(T.RobertaModel(T.RobertaConfig()))
        xs = [torch.randint(3, 50000, (batch, 128), generator=g)]
    elif name == "wav2vec2":
        import transformers as T
        m, xs = _FirstOutput(T.Wav2Vec2Model(T.Wav2Vec2Config())), [torch.randn(batch, 16000, generator=g)]
    else:
        raise SystemExit("unknown model " + name)
    return m.eval().cuda(), [x.cuda() for x in xs], name in ("roberta", "wav2vec2")


def out(y):
    return y["out"] if isinstance(y, dict) else y


def rel_err(y, ref):
    y, ref = out(y).float(), out(ref).float()
    return ((y - ref).abs().max() / ref.abs().max()).item()


def one_model(name, batches, iters, with_compile):
    """Child process: prints one JSON row per line for each (batch, backend)."""
    import trtorch
    for batch in batches:
        model, xs, traced = make(name, batch)
        with torch.no_grad(), torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
            torch.backends.cuda.matmul.allow_tf32 = False
            ref = model(*xs)
        half = copy.deepcopy(model).half()
        xh = [x.half() if x.is_floating_point() else x for x in xs]
        xb = xh  # the baselines' inputs
        if name in CONV:
            half = half.to(memory_format=CONV[name])
            xb = [x.contiguous(memory_format=CONV[name]) for x in xh]

        def build(kind):
            t = time.time()
            if kind == "eager":
                fn = half
            elif kind == "torchscript":
                with torch.no_grad():
                    s = torch.jit.trace(half, tuple(xb), strict=False) if traced else torch.jit.script(half)
                    fn = torch.jit.freeze(s.eval())
            elif kind == "torch.compile max-autotune":
                torch._dynamo.reset()
                fn = torch.compile(half, mode="max-autotune")
            else:
                with torch.no_grad():
                    s = torch.jit.trace(model, tuple(xs), strict=False) if traced else torch.jit.script(model)
                settings = {"input_shapes": [list(x.shape) for x in xs], "op_precision": torch.half,
                            "require_full_compilation": True}
                if traced:
                    settings["input_dtypes"] = [x.dtype for x in xs]
                fn = trtorch.compile(s, settings)
            inputs = xh if kind == "trtorch" else xb
            with torch.no_grad():
                y = fn(*inputs)  # torch.compile builds at its first call
            torch.cuda.synchronize()
            return fn, inputs, y, time.time() - t
        kinds = ["eager", "torchscript", "trtorch"] + (["torch.compile max-autotune"] if with_compile else [])
        for kind in kinds:
            row = {"model": name, "batch": batch, "backend": kind}
            try:
                fn, inputs, y, secs = build(kind)
                row.update(ms=median_ms(fn, inputs, iters), err=rel_err(y, ref), build_s=secs)
            except Exception as e:  # a failure is a row of its own, named
                row["error"] = "%s: %s" % (type(e).__name__, str(e).splitlines()[0][:200] if str(e) else "")
            print(json.dumps(row), flush=True)
            fn = y = None
            torch.cuda.empty_cache()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--batches", default="1,8")
    p.add_argument("--iters", type=int, default=100)
    p.add_argument("--with-compile", action="store_true")
    p.add_argument("--budget-s", type=float, default=1e9, help="wall time for the whole run")
    p.add_argument("--json", help="also write the rows here")
    p.add_argument("--one", help=argparse.SUPPRESS)
    args = p.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    if args.one:
        return one_model(args.one, batches, args.iters, args.with_compile)
    t0, rows = time.time(), []
    for name in args.models.split(","):
        left = args.budget_s - (time.time() - t0)
        if left < 20:
            rows.append({"model": name, "batch": 0, "backend": "-", "error": "not run: the time budget was spent"})
            continue
        cmd = [sys.executable, os.path.abspath(__file__), "--one", name, "--batches", args.batches,
               "--iters", str(args.iters)] + (["--with-compile"] if args.with_compile else [])
        try:
            with tempfile.TemporaryDirectory() as cache:  # a cold CUDA JIT cache for each model
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=left,
                                   env=dict(os.environ, CUDA_CACHE_PATH=cache))
            stdout, note = r.stdout, "" if r.returncode == 0 else "exit %d: %s" % (
                r.returncode, (r.stderr.strip().splitlines() or [""])[-1][:200])
        except subprocess.TimeoutExpired as e:
            stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            note = "stopped after %.0f s (the run's time budget)" % left
        got = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
        for r in got:
            print(r, flush=True)
        rows += got
        if note:
            rows.append({"model": name, "batch": 0, "backend": "-", "error": note})
            print(rows[-1], flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    print("\nGPU: %s, torch %s; FP16; median ms of CUDA-event-timed runs; error vs eager FP32 (TF32 off)\n"
          % (torch.cuda.get_device_name(), torch.__version__))
    print("| model | batch | backend | median ms | vs TorchScript | build s | max rel err |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print("| %s | %s | %s | %s | | | |" % (r["model"], r["batch"] or "", r["backend"], r["error"]))
            continue
        ts = [q["ms"] for q in rows if q["model"] == r["model"] and q["batch"] == r["batch"]
              and q["backend"] == "torchscript" and "ms" in q]
        print("| %s | %d | %s | %.3f | %s | %.1f | %.2g |" % (
            r["model"], r["batch"], r["backend"], r["ms"], "%.2fx" % (ts[0] / r["ms"]) if ts else "",
            r["build_s"], r["err"]))


if __name__ == "__main__":
    main()
