"""Writes the whole-model test inputs: torchvision classification models (random weights, eval
mode), each scripted and traced, as TorchScript files.

    python3 make_models.py OUTDIR [--size 112] [name ...]

OUTDIR/<name>_scripted.ts and OUTDIR/<name>_traced.ts; existing files are kept (delete OUTDIR to
regenerate). Prints one line per model written.
"""
import argparse
import os
import sys
import warnings

import torch
import torchvision

MODELS = {
    "resnet18": lambda: torchvision.models.resnet18(),
    "resnet50": lambda: torchvision.models.resnet50(),
    "resnext50_32x4d": lambda: torchvision.models.resnext50_32x4d(),
    "wide_resnet50_2": lambda: torchvision.models.wide_resnet50_2(),
    "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(),
    "mobilenet_v3_large": lambda: torchvision.models.mobilenet_v3_large(),
    "vgg16": lambda: torchvision.models.vgg16(),
    "alexnet": lambda: torchvision.models.alexnet(),
    "squeezenet1_1": lambda: torchvision.models.squeezenet1_1(),
    "densenet121": lambda: torchvision.models.densenet121(),
    "shufflenet_v2_x1_0": lambda: torchvision.models.shufflenet_v2_x1_0(),
    "efficientnet_b0": lambda: torchvision.models.efficientnet_b0(),
    "regnet_y_400mf": lambda: torchvision.models.regnet_y_400mf(),
    "googlenet": lambda: torchvision.models.googlenet(init_weights=True),
    "vit_b_16": lambda: torchvision.models.vit_b_16(),
}
# Models with a fixed input resolution.
SIZES = {"vit_b_16": 224}


def randomize_batchnorm(model):
    """Fresh models have identity batch-norm statistics; give them real ones so that folding
    and batch-norm kernels are exercised with non-trivial numbers. ViT's classifier head starts
    at zero (a zero output compares trivially): give it random weights."""
    g = torch.Generator().manual_seed(1)
    if isinstance(model, torchvision.models.VisionTransformer):
        model.heads.head.weight.data.copy_(torch.randn(model.heads.head.weight.shape, generator=g) * 0.02)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=g) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(c, generator=g) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(c, generator=g) * 0.1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--size", type=int, default=112)
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    names = args.names or list(MODELS)
    for name in names:
        if name not in MODELS:
            sys.exit(f"unknown model {name}; known: {', '.join(MODELS)}")
        paths = {k: os.path.join(args.outdir, f"{name}_{k}.ts") for k in ("scripted", "traced")}
        if all(os.path.exists(p) for p in paths.values()):
            continue
        torch.manual_seed(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = MODELS[name]().eval()
            randomize_batchnorm(model)
            size = SIZES.get(name, args.size)
            example = torch.randn(1, 3, size, size)
            with torch.no_grad():
                torch.jit.script(model).save(paths["scripted"] + ".tmp")
                torch.jit.trace(model, example, check_trace=False).save(paths["traced"] + ".tmp")
        for p in paths.values():
            os.replace(p + ".tmp", p)
        print(f"wrote {name}", flush=True)


if __name__ == "__main__":
    main()
