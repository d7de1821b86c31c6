# One timm model (argv: name): scripted (traced where scripting fails), compiled whole on the reference
# backend at its input size (at most 224), compared with TorchScript. Prints one RESULT line (JSON).
# Run by bench/model_survey/run.sh.
import sys, time, json, warnings
warnings.simplefilter("ignore")
import torch, timm, trtorch
name = sys.argv[1]
torch.manual_seed(0)
res = {"model": name}
t0 = time.time()
try:
    m = timm.create_model(name, pretrained=False, num_classes=10).eval()
    c, h, w = m.pretrained_cfg.get("input_size", (3, 224, 224))
    h, w = min(h, 224), min(w, 224)
    if "fixed_input_size" in m.pretrained_cfg and m.pretrained_cfg["fixed_input_size"]:
        h, w = m.pretrained_cfg["input_size"][1:]
    x = torch.randn(1, c, h, w)
    how = "script"
    try:
        s = torch.jit.script(m)
    except Exception:
        how = "trace"
        s = torch.jit.trace(m, (x,), check_trace=False)
    res["how"] = how
    try:
        cm = trtorch.compile(s, {"input_shapes": [list(x.shape)], "device": "reference", "require_full_compilation": True})
        with torch.no_grad():
            want, got = s(x), cm(x)
        err = ((got - want).abs().max() / want.abs().max()).item()
        res["ok"] = err < 1e-3; res["err"] = "rel err %.3g, max %.3g" % (err, want.abs().max().item())
    except Exception as e:
        res["ok"] = False; res["err"] = str(e)[:700]
except Exception as e:
    res["ok"] = None; res["err"] = "harness: " + repr(e)[:300]
res["s"] = round(time.time() - t0, 1)
print("RESULT " + json.dumps(res), flush=True)
