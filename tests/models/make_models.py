"""Writes the whole-model test inputs: torchvision classification models (random weights, eval
mode), each scripted and traced, and Hugging Face transformers models (BERT, GPT-2; default
configs, random weights, traced: transformers' models do not script), as TorchScript files.

    python3 make_models.py OUTDIR [--size 112] [name ...]

OUTDIR/<name>_scripted.ts and OUTDIR/<name>_traced.ts (transformers models: _traced only);
existing files are kept (delete OUTDIR to regenerate). Prints one line per model written.

scripts/setup.sh installs the pinned transformers. Where it is missing (a machine set up by
other means), the transformers models are not written: OUTDIR/<name>.skipped says why, and
model_test skips them; a missing model file without that note is a test failure.
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

# Transformers models: batch 2 of SEQ_LEN tokens; model_test.cpp makes the same inputs (token ids
# below the configs' default vocabulary sizes, an attention mask with padding at the end of the
# second sequence, token types 0 then 1).
SEQ_LEN = 128


class _TransformerWrapper(torch.nn.Module):
    """forward(input_ids[, attention_mask[, token_type_ids]]) -> the last hidden state."""

    def __init__(self, model, names):
        super().__init__()
        self.model = model
        self.names = names

    def forward(self, *args):
        return self.model(**dict(zip(self.names, args)), return_dict=False)[0]


def transformer_inputs(names, vocab_size):
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(0, vocab_size, (2, SEQ_LEN), generator=g)
    mask = torch.ones(2, SEQ_LEN, dtype=torch.long)
    mask[1, SEQ_LEN * 3 // 4:] = 0
    types = torch.zeros(2, SEQ_LEN, dtype=torch.long)
    types[:, SEQ_LEN // 2:] = 1
    by_name = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return tuple(by_name[n] for n in names)


def bert():
    import transformers
    model = transformers.BertModel(transformers.BertConfig()).eval()
    return model, ("input_ids", "attention_mask", "token_type_ids"), model.config.vocab_size


def gpt2(names):
    def make():
        import transformers
        model = transformers.GPT2Model(transformers.GPT2Config()).eval()
        return model, names, model.config.vocab_size
    return make


# name -> () -> (model, forward's input names, vocabulary size)
TRANSFORMERS = {
    "bert": bert,
    "gpt2": gpt2(("input_ids",)),
    "gpt2_padded": gpt2(("input_ids", "attention_mask")),
}


def write_transformer(name, outdir):
    path = os.path.join(outdir, f"{name}_traced.ts")
    skipped = os.path.join(outdir, f"{name}.skipped")
    if os.path.exists(path):
        return
    try:
        import transformers  # noqa: F401
    except ImportError as e:
        with open(skipped, "w") as f:
            f.write(f"transformers is not installed ({e}); scripts/setup.sh installs it\n")
        print(f"skipped {name}: transformers is not installed", flush=True)
        return
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, names, vocab = TRANSFORMERS[name]()
        wrapper = _TransformerWrapper(model, names).eval()
        with torch.no_grad():
            torch.jit.trace(wrapper, transformer_inputs(names, vocab), check_trace=False).save(path + ".tmp")
    os.replace(path + ".tmp", path)
    if os.path.exists(skipped):
        os.remove(skipped)
    print(f"wrote {name}", flush=True)


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
    names = args.names or list(MODELS) + list(TRANSFORMERS)
    for name in names:
        if name in TRANSFORMERS:
            write_transformer(name, args.outdir)
            continue
        if name not in MODELS:
            sys.exit(f"unknown model {name}; known: {', '.join(list(MODELS) + list(TRANSFORMERS))}")
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
