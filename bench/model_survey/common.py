"""The model survey's shared step (bench/model_survey/run.sh): a TorchScript module compiled whole
(require_full_compilation) on the reference backend and compared with TorchScript on its inputs;
one RESULT line (JSON) per model: ok (true: matched within 1e-3 of the output's largest value;
false: refused or off, with the reason; null: the survey could not build the model)."""
import json
import time
import warnings

import torch

import trtorch

warnings.simplefilter("ignore")


def tensors(out):
    """The tensors of an output (nested tuples, lists and dicts), in order."""
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    return [t for o in out for t in tensors(o)] if isinstance(out, (tuple, list)) else []


def compile_and_compare(module, inputs):
    """(matched, detail) for `module` (scripted or traced) on the tuple `inputs`: the largest
    difference over the output's tensors, relative to the largest value."""
    spec = {"input_shapes": [list(x.shape) for x in inputs], "device": "reference", "require_full_compilation": True}
    if any(x.dtype != torch.float32 for x in inputs):
        spec["input_dtypes"] = [x.dtype for x in inputs]
    compiled = trtorch.compile(module, spec)
    with torch.no_grad():
        want, got = tensors(module(*inputs)), tensors(compiled(*inputs))
    if len(want) != len(got) or any(w.shape != g.shape for w, g in zip(want, got)):
        return False, "the outputs' structure or shapes differ"
    diff = max((g.float() - w.float()).abs().max().item() for w, g in zip(want, got))
    top = max(w.float().abs().max().item() for w in want)
    err = diff / top if top > 0 else (0.0 if diff == 0 else float("inf"))
    return err < 1e-3, "rel err %.3g, max %.3g" % (err, top)


def report(name, build, **extra):
    """Prints the RESULT line of model `name`: build() gives (module, inputs, how it was made)."""
    res = dict({"model": name}, **extra)
    t0 = time.time()
    try:
        torch.manual_seed(0)
        module, inputs, how = build()
        res["how"] = how
    except Exception as e:
        res["ok"], res["err"] = None, "harness: " + repr(e)[:300]
    else:
        try:
            res["ok"], res["err"] = compile_and_compare(module, inputs)
        except Exception as e:
            res["ok"], res["err"] = False, str(e)[:700]
    res["s"] = round(time.time() - t0, 1)
    print("RESULT " + json.dumps(res), flush=True)


def script_or_trace(model, inputs):
    """(module, how): scripted where TorchScript can, else traced on `inputs`."""
    try:
        return torch.jit.script(model), "script"
    except Exception:
        return torch.jit.trace(model, inputs, check_trace=False, strict=False), "trace"
