# One torchvision model (argv: name, kind): scripted (traced where scripting fails), compiled whole on the
# reference backend, compared with TorchScript; detection models are only checked for op support.
# Prints one RESULT line (JSON). Run by bench/model_survey/run.sh.
import sys, time, traceback, warnings, json
warnings.simplefilter("ignore")
import torch, torchvision
import trtorch
name, kind = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
from torchvision import models as M
size = {"classification": (1, 3, 224, 224), "segmentation": (1, 3, 224, 224), "detection": (1, 3, 320, 320),
        "video": (1, 3, 8, 112, 112), "optical_flow": None}[kind]
t0 = time.time()
res = {"model": name, "kind": kind}
try:
    kw = {}
    if kind == "detection": kw = dict(weights=None, weights_backbone=None)
    elif kind == "segmentation": kw = dict(weights=None, weights_backbone=None)
    else: kw = dict(weights=None)
    if name in ("googlenet", "inception_v3"): kw["init_weights"] = False; kw["aux_logits"] = False
    m = M.get_model(name, **kw).eval()
    how = "script"
    try:
        sm = torch.jit.script(m)
    except Exception as e:
        how = "trace"
        if kind == "optical_flow":
            x = (torch.randn(1, 3, 128, 128), torch.randn(1, 3, 128, 128))
        else:
            x = (torch.randn(*size),)
        sm = torch.jit.trace(m, x, check_trace=False, strict=False)
    res["how"] = how
    if kind == "optical_flow":
        shapes = [[1, 3, 128, 128], [1, 3, 128, 128]]
    elif kind == "detection":
        shapes = None
    else:
        shapes = [list(size)]
    if kind == "detection":
        ok, text = trtorch.check_method_op_support(sm, report=True)
        res["ok"] = ok; res["err"] = text[:600]
    else:
        try:
            trtorch.compile(sm, {"input_shapes": shapes, "device": "reference", "require_full_compilation": True})
            res["ok"] = True
        except Exception as e:
            res["ok"] = False; res["err"] = str(e)[:800]
except Exception as e:
    res["ok"] = None; res["err"] = "harness: " + repr(e)[:400]
res["s"] = round(time.time() - t0, 1)
print("RESULT " + json.dumps(res), flush=True)
