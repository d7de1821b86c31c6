"""INT8 against FP32 on the model zoo (issue 19, item 4): random-weight classifiers with batch-norm
statistics estimated on random images (bench.py's make_model), calibrated with trtorch.ptq on random
images, then compared with eager FP32 on other random images: the INT8 output's relative error
(max |y - y32| / max |y32|, per batch, the largest) and the top-1 agreement with FP32. Random
weights and inputs make this a check of how far quantization moves a network's outputs, not of
accuracy (tests/python/int8_digits.py measures that on a trained model).

    PYTHONPATH=build/python python3 bench/int8_zoo.py [--device reference|gpu]
        [--models resnet18,resnet50,mobilenet_v2,efficientnet_b0] [--batch 8] [--calib-batches 4]
        [--eval-batches 4] [--algos entropy,minmax,percentile]
"""
import argparse
import os
import re
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

import trtorch  # noqa: E402

ALGOS = {"entropy": "ENTROPY_CALIBRATION_2", "minmax": "MINMAX_CALIBRATION", "percentile": "PERCENTILE_CALIBRATION"}


def images(n, batch, seed):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, 3, 224, 224, generator=g) for _ in range(n)]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="reference", choices=["reference", "gpu"])
    p.add_argument("--models", default="resnet18,resnet50,mobilenet_v2,efficientnet_b0")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--calib-batches", type=int, default=4)
    p.add_argument("--eval-batches", type=int, default=4)
    p.add_argument("--algos", default="entropy,minmax,percentile")
    args = p.parse_args()
    dev = "cuda" if args.device == "gpu" else "cpu"
    calib, evals = images(args.calib_batches, args.batch, 11), images(args.eval_batches, args.batch, 12)
    rows = []
    for name in args.models.split(","):
        model = bench.make_model(name, device=dev)
        scripted = torch.jit.script(model)
        with torch.no_grad():
            refs = [model(x.to(dev)).float().cpu() for x in evals]
        variants = [("FP16", {"op_precision": torch.half}, None)]
        variants += [("INT8 " + a, {"op_precision": torch.int8}, a) for a in args.algos.split(",")]
        for label, settings, algo in variants:
            if algo:
                settings["calibrator"] = trtorch.ptq.DataLoaderCalibrator(
                    calib, algo_type=getattr(trtorch.ptq.CalibrationAlgo, ALGOS[algo]))
            t = time.time()
            trt = trtorch.compile(scripted, dict({"input_shapes": [[args.batch, 3, 224, 224]], "device": args.device,
                                                  "require_full_compilation": True}, **settings))
            build_s = time.time() - t
            err, agree, total = 0.0, 0, 0
            with torch.no_grad():
                for x, ref in zip(evals, refs):
                    y = trt(x.to(dev).half()).float().cpu()
                    err = max(err, ((y - ref).abs().max() / ref.abs().max()).item())
                    agree += (y.argmax(1) == ref.argmax(1)).sum().item()
                    total += len(ref)
            m = re.search(r"int8 layers: (\d+) of (\d+)", trt.trtorch_engine_0.info())
            layers = "%s of %s" % m.groups() if m else "-"
            rows.append((name, label, err, 100.0 * agree / total, build_s, layers))
            print(rows[-1], flush=True)
    where = torch.cuda.get_device_name() if args.device == "gpu" else "the reference backend (CPU)"
    print("\ntrtorch on %s, torch %s; batch %d at 224x224; calibration %d batches, comparison %d batches of "
          "random images\n" % (where, torch.__version__, args.batch, args.calib_batches, args.eval_batches))
    print("| model | precision | max rel. error vs eager FP32 | top-1 agreement with FP32 | build s (incl. calibration) "
          "| layers run in INT8 |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %s | %.4f | %.1f%% | %.1f | %s |" % r)


if __name__ == "__main__":
    main()
