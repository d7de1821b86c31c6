"""One torchvision model (argv: name, kind), random weights, scripted (traced where scripting
fails): see common.py. Detection models are only checked for op support (their post-processing
is data-dependent: partial compilation leaves it to TorchScript). Run by bench/model_survey/run.sh."""
import sys

import torch
from torchvision import models as M

import trtorch
from common import report, script_or_trace

name, kind = sys.argv[1], sys.argv[2]
SIZES = {"classification": [(1, 3, 224, 224)], "segmentation": [(1, 3, 224, 224)], "detection": [(1, 3, 320, 320)],
         "video": [(1, 3, 8, 112, 112)], "optical_flow": [(1, 3, 128, 128)] * 2}


def build():
    kw = {"weights": None}
    if kind in ("detection", "segmentation"):
        kw["weights_backbone"] = None
    if name in ("googlenet", "inception_v3"):
        kw.update(init_weights=False, aux_logits=False)
    m = M.get_model(name, **kw).eval()
    x = tuple(torch.randn(*s) for s in SIZES[kind])
    module, how = script_or_trace(m, x)
    return module, x, how


if kind == "detection":
    import json
    module, _, how = build()
    ok, text = trtorch.check_method_op_support(module, report=True)
    print("RESULT " + json.dumps({"model": name, "kind": kind, "how": how, "ok": ok, "err": text[:600]}), flush=True)
else:
    report(name, build, kind=kind)
