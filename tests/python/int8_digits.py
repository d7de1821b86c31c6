"""INT8 accuracy on a trained model with real data (issue 19, item 4): a small ResNet trained on the
UCI handwritten digits (1797 8x8 images as scikit-learn ships them; scripts/setup.sh unpacks them
into third_party/datasets), on the CPU with a fixed seed, then compiled by trtorch in FP32, FP16 and
INT8 (post-training quantization with each calibration algorithm, and a quantization-aware
fine-tune) and evaluated on the held-out split. Used by test_int8_accuracy.py and, for the table in
docs/int8.md, by bench/int8_accuracy.py.
"""
import gzip
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "third_party", "datasets", "digits.csv.gz")


def load_digits():
    """(x_train, y_train, x_test, y_test): images [N, 1, 8, 8] scaled to [0, 1], a fixed 80/20
    split (seeded permutation)."""
    with gzip.open(DATA) as f:
        d = np.loadtxt(f, delimiter=",", dtype=np.float32)
    x = torch.from_numpy(d[:, :-1].reshape(-1, 1, 8, 8) / 16.0)
    y = torch.from_numpy(d[:, -1].astype(np.int64))
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    cut = int(0.8 * len(y))
    tr, te = perm[:cut], perm[cut:]
    return x[tr], y[tr], x[te], y[te]


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
        self.c2, self.b2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        h = F.relu(self.b1(self.c1(x)))
        h = self.b2(self.c2(h))
        return F.relu(h + (x if self.down is None else self.down(x)))


class DigitsResNet(nn.Module):
    def __init__(self, width=32):
        super().__init__()
        self.stem, self.bn = nn.Conv2d(1, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width)
        self.layers = nn.Sequential(Block(width, width, 1), Block(width, 2 * width, 2), Block(2 * width, 2 * width, 1))
        self.fc = nn.Linear(2 * width, 10)

    def forward(self, x):
        x = self.layers(F.relu(self.bn(self.stem(x))))
        return self.fc(x.mean([2, 3]))


def fit(m, opt, epochs, seed, sched=None):
    """Trains m on the training split with cross entropy, batches of 64 in a seeded order."""
    xtr, ytr, _, _ = load_digits()
    g = torch.Generator().manual_seed(seed)
    m.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(ytr), generator=g).split(64):
            opt.zero_grad()
            F.cross_entropy(m(xtr[idx]), ytr[idx]).backward()
            opt.step()
            if sched is not None:
                sched.step()
    return m.eval()


def train(epochs=12, seed=0):
    """The FP32 model, trained on the training split (about ten seconds on two cores)."""
    torch.manual_seed(seed)
    xtr, ytr, _, _ = load_digits()
    m = DigitsResNet()
    opt = torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=epochs * ((len(ytr) + 63) // 64))
    return fit(m, opt, epochs, seed, sched)


def evaluate(fn, x, y, dtype=torch.float32, batch=64):
    """(top-1 accuracy in percent, logits [N, 10] as FP32 on the CPU) of fn over (x, y), batch by
    batch (the last batch padded to a full one, for engines built for one batch size)."""
    correct, logits = 0, []
    with torch.no_grad():
        for i in range(0, len(y), batch):
            xb = x[i:i + batch]
            n = len(xb)
            if n < batch:
                xb = torch.cat([xb, xb.new_zeros((batch - n,) + tuple(xb.shape[1:]))])
            out = fn(xb.to(dtype)).float()[:n].cpu()
            logits.append(out)
            correct += (out.argmax(1) == y[i:i + n]).sum().item()
    return 100.0 * correct / len(y), torch.cat(logits)


# ---- quantization-aware fine-tuning -------------------------------------------------------------

class QuantConv2d(nn.Conv2d):
    """A convolution (batch norm folded in) with fake-quantized input (per tensor, the scale fixed
    from calibration) and weights (per output channel, symmetric), as NVIDIA's pytorch-quantization
    makes them for TensorRT."""

    def __init__(self, conv, act_scale):
        super().__init__(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                         bias=True)
        self.weight.data.copy_(conv.weight.data)
        self.bias.data.copy_(conv.bias.data if conv.bias is not None else torch.zeros(conv.out_channels))
        self.act_scale = float(act_scale)
        self.register_buffer("zero", torch.zeros(conv.out_channels, dtype=torch.int32))

    def forward(self, x):
        # The weight scales follow the weights (a constant of the frozen model once trained).
        w_scale = (self.weight.detach().abs().amax((1, 2, 3)) / 127.0).clamp_min(1e-8)
        x = torch.fake_quantize_per_tensor_affine(x, self.act_scale, 0, -128, 127)
        w = torch.fake_quantize_per_channel_affine(self.weight, w_scale, self.zero, 0, -127, 127)
        return F.conv2d(x, w, self.bias, self.stride, self.padding)


class QuantLinear(nn.Linear):
    def __init__(self, fc, act_scale):
        super().__init__(fc.in_features, fc.out_features)
        self.weight.data.copy_(fc.weight.data)
        self.bias.data.copy_(fc.bias.data)
        self.act_scale = float(act_scale)
        self.register_buffer("zero", torch.zeros(fc.out_features, dtype=torch.int32))

    def forward(self, x):
        w_scale = (self.weight.detach().abs().amax(1) / 127.0).clamp_min(1e-8)
        x = torch.fake_quantize_per_tensor_affine(x, self.act_scale, 0, -128, 127)
        w = torch.fake_quantize_per_channel_affine(self.weight, w_scale, self.zero, 0, -127, 127)
        return F.linear(x, w, self.bias)


def _fold(conv, bn):
    return torch.nn.utils.fusion.fuse_conv_bn_eval(conv.eval(), bn.eval())


def quantization_aware(m, epochs=3, seed=0):
    """A copy of m with batch norms folded into the convolutions and every convolution and linear
    layer fake-quantized (activation scales from the largest magnitude over the training data),
    fine-tuned for a few epochs with the straight-through estimator."""
    import copy
    m = copy.deepcopy(m).eval()
    xtr, ytr, _, _ = load_digits()
    # Fold: stem+bn, and each block's c1+b1, c2+b2, down.
    m.stem, m.bn = _fold(m.stem, m.bn), nn.Identity()
    for b in m.layers:
        b.c1, b.b1 = _fold(b.c1, b.b1), nn.Identity()
        b.c2, b.b2 = _fold(b.c2, b.b2), nn.Identity()
        if b.down is not None:
            b.down = nn.Sequential(_fold(b.down[0], b.down[1]))
    # Activation scales: max |input| of each layer over the training data.
    amax = {}
    hooks = []
    for name, mod in m.named_modules():
        if isinstance(mod, (nn.Conv2d, nn.Linear)):
            def hook(mod, inp, out, name=name):
                amax[name] = max(amax.get(name, 0.0), inp[0].abs().max().item())
            hooks.append(mod.register_forward_hook(hook))
    with torch.no_grad():
        m(xtr)
    for h in hooks:
        h.remove()

    def replace(parent, prefix=""):
        for child_name, child in parent.named_children():
            full = prefix + child_name
            if isinstance(child, nn.Conv2d):
                setattr(parent, child_name, QuantConv2d(child, amax[full] / 127.0))
            elif isinstance(child, nn.Linear):
                setattr(parent, child_name, QuantLinear(child, amax[full] / 127.0))
            else:
                replace(child, full + ".")
    replace(m)
    torch.manual_seed(seed)
    return fit(m, torch.optim.SGD(m.parameters(), lr=0.005, momentum=0.9), epochs, seed + 1)


def results(device="reference", batch=64, calib_batches=8):
    """{configuration: (top-1 accuracy in percent on the test split, max |logits - FP32 logits| /
    max |FP32 logits|)}: eager FP32, and trtorch FP32, FP16, INT8 PTQ (entropy, min-max,
    percentile; calibrated on calib_batches training batches) and INT8 QAT (against the QAT model's
    own eager logits)."""
    import copy
    import trtorch
    xtr, ytr, xte, yte = load_digits()
    m = train()
    dev = "cuda" if device == "gpu" else "cpu"
    shape = [batch, 1, 8, 8]
    acc32, ref = evaluate(m, xte, yte, batch=batch)
    out = {"eager FP32": (acc32, 0.0)}
    # Scripted from a copy: compiling for the GPU moves the scripted module there, and m stays on
    # the CPU for the quantization-aware fine-tune below.
    scripted = torch.jit.script(copy.deepcopy(m))

    def build(module, settings):
        settings = dict({"input_shapes": [shape], "device": device, "require_full_compilation": True}, **settings)
        return trtorch.compile(module.to(dev), settings)

    def run(name, fn, dtype, want):
        acc, logits = evaluate(lambda x: fn(x.to(dev, dtype)), xte, yte, batch=batch)
        out[name] = (acc, ((logits - want).abs().max() / want.abs().max()).item())
    run("trtorch FP32", build(scripted, {}), torch.float32, ref)
    run("trtorch FP16", build(scripted, {"op_precision": torch.half}), torch.half, ref)
    calib_data = [xtr[i * batch:(i + 1) * batch] for i in range(calib_batches)]
    for algo in ("ENTROPY_CALIBRATION_2", "MINMAX_CALIBRATION", "PERCENTILE_CALIBRATION"):
        c = trtorch.ptq.DataLoaderCalibrator(calib_data, algo_type=getattr(trtorch.ptq.CalibrationAlgo, algo))
        run("trtorch INT8 PTQ %s" % trtorch.ptq.CalibrationAlgo[algo].value,
            build(scripted, {"op_precision": torch.int8, "calibrator": c}), torch.half, ref)
    q = quantization_aware(m)
    acc_q, ref_q = evaluate(q, xte, yte, batch=batch)
    out["eager QAT (fake quantization, FP32)"] = (acc_q, ((ref_q - ref).abs().max() / ref.abs().max()).item())
    run("trtorch INT8 QAT", build(torch.jit.script(q), {"op_precision": torch.int8}), torch.half, ref_q)
    return out


def table(device="reference"):
    r = results(device)
    lines = ["| configuration | top-1 (%) | max rel. logit error |", "|---|---|---|"]
    lines += ["| %s | %.2f | %.4f |" % (k, a, e) for k, (a, e) in r.items()]
    return r, "\n".join(lines)


if __name__ == "__main__":
    import argparse
    p = argparse.ArgumentParser(description="INT8 accuracy on the digits model (a markdown table)")
    p.add_argument("--device", default="reference", choices=["reference", "gpu"])
    args = p.parse_args()
    _, text = table(args.device)
    where = torch.cuda.get_device_name() if args.device == "gpu" else "the reference backend (CPU)"
    print("trtorch on %s, torch %s; test split of %d images\n" % (where, torch.__version__, len(load_digits()[3])))
    print(text)
