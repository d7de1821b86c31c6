"""INT8 speed on the GPU (issue 19, item 5): ResNet-50, MobileNetV2 and EfficientNet-B0 (bench.py's
random-weight models with estimated batch-norm statistics), trtorch INT8 (entropy calibration) against
trtorch FP16 and torch.compile(mode="max-autotune") FP16 (channels-last, as an expert runs it), at
several batch sizes, side by side in one process on one GPU. Each row also gives the engine's INT8
layer count, its output's relative error against eager FP32 (max |y - y32| / max |y32|) and top-1
agreement, how many INT8 layers the build's timing kept in float (and the speed of the engine
with every fitting layer in INT8, `int8_timing_choice=False`, beside it), and the calibration time (about `--calib-images` images at the row's batch size: a
calibration is made for one input shape).

    PYTHONPATH=build/python python3 bench/int8_speed.py [--models resnet50,mobilenet_v2,efficientnet_b0]
        [--batches 1,32,256] [--calib-images 500] [--iters 100] [--with-compile] [--json out.json]
"""
import argparse
import json
import os
import re
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

import trtorch  # noqa: E402


def calibration_batches(name, n, batch, seed):
    """About n samples in batches: random images, or for BERT random token ids (with its mask and
    token types) as tuples."""
    out = []
    for k in range(max(1, n // batch)):
        xs = [x.cpu() for x in bench.make_inputs(name, batch, seed=seed + k, device="cpu")]
        out.append(xs[0] if len(xs) == 1 else tuple(xs))
    return out


def rel_error(y, ref):
    return float((y.float() - ref).abs().max() / ref.abs().max().clamp_min(1e-12))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="resnet50,mobilenet_v2,efficientnet_b0",
                   help="also bert (BERT-base: INT8 linear layers, attention in FP16)")
    p.add_argument("--batches", default="1,32,256")
    p.add_argument("--calib-images", type=int, default=500)
    p.add_argument("--iters", type=int, default=100)
    p.add_argument("--with-compile", action="store_true", help="also torch.compile(mode='max-autotune') FP16")
    p.add_argument("--json", default="")
    args = p.parse_args()
    gpu = torch.cuda.get_device_name()
    print(f"GPU: {gpu}; torch {torch.__version__}", flush=True)
    rows = []
    for name in args.models.split(","):
        model = bench.make_model(name)  # FP32 on the GPU
        transformer = name in bench.TRANSFORMERS
        for batch in [int(b) for b in args.batches.split(",")]:
            xs32 = bench.make_inputs(name, batch, seed=5)
            copy = bench.cpu_fp32_copy(name, model)
            scripted = (torch.jit.trace(copy, [x.cpu() for x in xs32]) if transformer
                        else torch.jit.script(copy)).eval()
            with torch.no_grad(), bench.exact_fp32():
                ref = model(*xs32).float()
            xs16 = [x.half() if x.is_floating_point() else x for x in xs32]
            spec_inputs = [trtorch.Input(list(x.shape)) if x.is_floating_point()
                           else trtorch.Input(list(x.shape), dtype=x.dtype) for x in xs32]
            row = {"model": name, "batch": batch, "gpu": gpu}
            # trtorch FP16.
            t = time.time()
            fp16 = trtorch.compile(scripted, {"inputs": spec_inputs, "op_precision": torch.half, "device": "gpu"})
            row["fp16_build_s"] = time.time() - t
            row["fp16_ms"] = bench.median_ms(fp16, xs16, args.iters)
            with torch.no_grad():
                row["fp16_err"] = rel_error(fp16(*xs16), ref)
            del fp16
            # trtorch INT8, calibrated on about --calib-images images at this batch size.
            cache = os.path.join(tempfile.mkdtemp(), "calib.cache")
            calibrator = trtorch.ptq.DataLoaderCalibrator(
                calibration_batches(name, args.calib_images, batch, 11), cache_file=cache, use_cache=False,
                algo_type=trtorch.ptq.CalibrationAlgo.ENTROPY_CALIBRATION_2)
            t = time.time()
            settings = {"inputs": spec_inputs, "device": "gpu",
                        "enabled_precisions": {torch.int8, torch.half}, "calibrator": calibrator}
            int8, log = bench.task_models.compile_logged(trtorch, scripted, settings)
            row["int8_build_s"] = time.time() - t
            m = re.search(r"INT8 calibration \(\w+\): \d+ activation scales from (\d+) batches in ([0-9.e+-]+) s", log)
            row["calibration_s"] = float(m.group(2)) if m else None
            row["calibration_images"] = int(m.group(1)) * batch if m else None
            info = int8.trtorch_engine_0.info()
            m = re.search(r"int8 layers: (\d+) of (\d+)", info)
            row["int8_layers"] = f"{m.group(1)}/{m.group(2)}" if m else "?"
            m = re.search(r"INT8 layer choice by timing: (\d+) of (\d+) INT8 layers are faster in float", log)
            row["faster_in_float"] = f"{m.group(1)}/{m.group(2)}" if m else "?"
            m = re.search(r"keeping the (chosen|all-INT8) engine", log)
            row["kept"] = m.group(1) if m else "all-INT8"
            # The builder's own per-node sums (eager launches): all INT8, all float, chosen.
            m = re.search(r"engines: all INT8 ([0-9.e+-]+) ms, float ([0-9.e+-]+) ms", log)
            if m:
                row["choice_all_int8_ms"], row["choice_float_ms"] = float(m.group(1)), float(m.group(2))
            m = re.search(r"layers in float takes ([0-9.e+-]+) ms", log)
            if m:
                row["choice_chosen_ms"] = float(m.group(1))
            row["choice_log"] = [line for line in log.splitlines() if "INT8 layer choice" in line]
            row["int8_ms"] = bench.median_ms(int8, xs16, args.iters)
            with torch.no_grad():
                y8 = int8(*xs16).float()
            row["int8_err"] = rel_error(y8, ref)
            # Classifiers: top-1 agreement; BERT's hidden states: the argmax over the features.
            row["int8_top1_agree"] = float((y8.argmax(-1) == ref.argmax(-1)).float().mean())
            del int8
            # The same scales, every layer that fits in INT8 (no choice by timing).
            settings.update(calibrator=trtorch.ptq.CacheCalibrator(cache), int8_timing_choice=False)
            t = time.time()
            every = trtorch.compile(scripted, settings)
            row["int8_all_build_s"] = time.time() - t
            row["int8_all_ms"] = bench.median_ms(every, xs16, args.iters)
            del every
            if args.with_compile:
                torch._dynamo.reset()
                m16 = bench.cpu_fp32_copy(name, model).cuda().half()
                xc = xs16
                if not transformer:
                    m16 = m16.to(memory_format=torch.channels_last)
                    xc = [xs16[0].to(memory_format=torch.channels_last)]
                c = torch.compile(m16, mode="max-autotune")
                t = time.time()
                with torch.no_grad():
                    c(*xc)
                row["compile_build_s"] = time.time() - t
                row["compile_ms"] = bench.median_ms(c, xc, args.iters)
                with torch.no_grad():
                    row["compile_err"] = rel_error(c(*xc), ref)
                del c, m16
            row["int8_vs_fp16"] = row["fp16_ms"] / row["int8_ms"]
            row["int8_images_per_s"] = batch / row["int8_ms"] * 1e3
            rows.append(row)
            print(json.dumps(row), flush=True)
            torch.cuda.empty_cache()
    print(f"\n| model | batch | trtorch FP16 ms | trtorch INT8 ms | INT8 / FP16 speed-up | INT8 images/s |"
          f"{' max-autotune FP16 ms |' if args.with_compile else ''} INT8 layers | faster in float | "
          f"INT8 all layers ms | INT8 err | top-1 agree | INT8 build s | calibration |")
    print("|---|---|---|---|---|---|" + ("---|" if args.with_compile else "") + "---|---|---|---|---|---|---|")
    for r in rows:
        comp = f" {r['compile_ms']:.3f} |" if args.with_compile else ""
        print(f"| {r['model']} | {r['batch']} | {r['fp16_ms']:.3f} | {r['int8_ms']:.3f} | {r['int8_vs_fp16']:.2f}x | "
              f"{r['int8_images_per_s']:.0f} |{comp} {r['int8_layers']} | {r['faster_in_float']} ({r['kept']}) | "
              f"{r['int8_all_ms']:.3f} | {r['int8_err']:.3f} | {r['int8_top1_agree']:.2f} | "
              f"{r['int8_build_s']:.1f} | {r['calibration_s']:.1f} s, {r['calibration_images']} images |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
