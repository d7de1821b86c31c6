"""One timm model (argv: name), scripted (traced where scripting fails), at its input size (at most
224 x 224, batch 1): see common.py. Run by bench/model_survey/run.sh."""
import sys

import torch
import timm

from common import report, script_or_trace


def build():
    m = timm.create_model(sys.argv[1], pretrained=False, num_classes=10).eval()
    c, h, w = m.pretrained_cfg.get("input_size", (3, 224, 224))
    if not m.pretrained_cfg.get("fixed_input_size"):
        h, w = min(h, 224), min(w, 224)
    x = (torch.randn(1, c, h, w),)
    module, how = script_or_trace(m, x)
    return module, x, how


report(sys.argv[1], build)
