"""Writes model_repository/resnet50_trtorch/1/model.pt: torchvision's ResNet-50 compiled by
trtorch for GPU 0, FP16, batch 1 to 32 (the range the config's dynamic batching uses).

    PYTHONPATH=build/python python3 examples/serving/export.py [--weights DEFAULT]
"""
import argparse
import os

import torch
import torchvision

import trtorch


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--weights", default=None, help="torchvision weights name (default: random weights)")
    args = p.parse_args()
    model = torchvision.models.resnet50(weights=args.weights).eval()
    scripted = torch.jit.script(model)
    trt = trtorch.compile(scripted, {
        "inputs": [trtorch.Input(min_shape=[1, 3, 224, 224], opt_shape=[16, 3, 224, 224], max_shape=[32, 3, 224, 224],
                                 dtype=torch.half)],
        "enabled_precisions": {torch.half},
        "device": trtorch.Device(gpu_id=0),
    })
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "model_repository", "resnet50_trtorch", "1", "model.pt")
    torch.jit.save(trt, out)
    print("wrote", out)


if __name__ == "__main__":
    main()
