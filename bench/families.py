"""The model families of issue 18 on the GPU: eager, TorchScript (frozen) and trtorch, FP16, side by
side in one process on one GPU, timed with CUDA events (median of --iters runs after warm-up), with
each output's relative error against eager FP32 (max |y - y32| / max |y32|) checked alongside.
torch.compile is not run here (bench/bench.py runs it for the models it knows).

    PYTHONPATH=build/python python3 bench/families.py [--models r3d_18,swin_t,unet,fcn_resnet50]
        [--batches 1,8] [--iters 50]

Models (random weights): r3d_18 (video, [N, 3, 16, 112, 112]), swin_t ([N, 3, 224, 224]), unet
(tests/python/test_model_families.py's U-Net, 64 channels at the top, [N, 3, 256, 256]),
fcn_resnet50 (segmentation, its "out", [N, 3, 384, 384]). Prints a markdown table.
"""
import argparse
import copy
import os
import sys

import torch
import torchvision

import trtorch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "python"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from middle_op import median_ms  # noqa: E402  (CUDA-event median, as the other benchmarks time)


def make(name):
    torch.manual_seed(0)
    if name == "r3d_18":
        return torchvision.models.video.r3d_18(weights=None), [3, 16, 112, 112]
    if name == "swin_t":
        return torchvision.models.swin_t(weights=None), [3, 224, 224]
    if name == "fcn_resnet50":
        return torchvision.models.segmentation.fcn_resnet50(weights=None, weights_backbone=None), [3, 384, 384]
    if name == "unet":
        from test_model_families import UNet
        return UNet(3, 64, 2), [3, 256, 256]
    raise SystemExit("unknown model " + name)


def out(y):
    return y["out"] if isinstance(y, dict) else y


def rel_err(y, ref):
    y, ref = out(y).float(), out(ref).float()
    return ((y - ref).abs().max() / ref.abs().max()).item()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--models", default="r3d_18,swin_t,unet,fcn_resnet50")
    p.add_argument("--batches", default="1,8")
    p.add_argument("--iters", type=int, default=50)
    args = p.parse_args()
    rows = []
    for name in args.models.split(","):
        model, shape = make(name)
        model = model.eval().cuda()
        for batch in [int(b) for b in args.batches.split(",")]:
            x = torch.randn([batch] + shape, generator=torch.Generator().manual_seed(1)).cuda()
            with torch.no_grad():
                ref = model(x)
            half = copy.deepcopy(model).half()
            ts = torch.jit.freeze(torch.jit.script(half))
            trt = trtorch.compile(torch.jit.script(model), {"input_shapes": [list(x.shape)], "op_precision": torch.half,
                                                            "require_full_compilation": True})
            xh = x.half()
            for backend, fn in (("eager", half), ("torchscript", ts), ("trtorch", trt)):
                with torch.no_grad():
                    err = rel_err(fn(xh), ref)
                rows.append((name, batch, backend, median_ms(fn, xh, args.iters), err))
                print(rows[-1], flush=True)
            del half, ts, trt
            torch.cuda.empty_cache()
    print("\nGPU: %s, torch %s; FP16; median ms of CUDA-event-timed runs; error vs eager FP32\n"
          % (torch.cuda.get_device_name(), torch.__version__))
    print("| model | batch | backend | median ms | max rel err |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| %s | %d | %s | %.3f | %.2g |" % r)


if __name__ == "__main__":
    main()
