"""A model whose only unsupported op sits in the middle (issue 17, item 8): ResNet-50 with
torch.roll between layer2 and layer3, forced to TorchScript (torch_executed_ops; trtorch converts
aten::roll since issue 18, and before that had no converter for it), so that it runs in
TorchScript between two engine segments. Times eager, TorchScript (frozen) and trtorch side by
side on one GPU, in one process, with CUDA events (median of --iters runs after warm-up), and
checks trtorch's output against TorchScript's.

    PYTHONPATH=build/python python3 bench/middle_op.py [--batch 32] [--precision fp16] [--iters 200]
"""
import argparse
import statistics

import torch
import torchvision

import trtorch


class RolledResNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torchvision.models.resnet50(weights=None).eval()

    def forward(self, x):
        n = self.net
        x = n.maxpool(n.relu(n.bn1(n.conv1(x))))
        x = n.layer2(n.layer1(x))
        x = torch.roll(x, shifts=1, dims=3)  # the op left to TorchScript
        x = n.layer4(n.layer3(x))
        return n.fc(torch.flatten(n.avgpool(x), 1))


def median_ms(fn, x, iters):
    with torch.no_grad():
        for _ in range(20):
            fn(x)
        torch.cuda.synchronize()
        times = []
        for _ in range(iters):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn(x)
            b.record()
            b.synchronize()
            times.append(a.elapsed_time(b))
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--precision", choices=["fp16", "fp32"], default="fp16")
    ap.add_argument("--iters", type=int, default=200)
    args = ap.parse_args()
    torch.manual_seed(0)
    dtype = torch.float16 if args.precision == "fp16" else torch.float32
    model = RolledResNet().cuda().eval()
    x32 = torch.randn(args.batch, 3, 224, 224, device="cuda")
    with torch.no_grad():
        ref = model(x32)
    half = RolledResNet().cuda().eval()
    half.load_state_dict(model.state_dict())
    half = half.to(dtype)
    ts = torch.jit.freeze(torch.jit.script(half))
    scripted32 = torch.jit.script(model)
    trt = trtorch.compile(scripted32, {"input_shapes": [list(x32.shape)], "op_precision": dtype,
                                       "torch_executed_ops": ["aten::roll"]})
    engines = sum(1 for n in trt.graph.findAllNodes("trtorch::execute_engine"))
    x = x32.to(dtype)
    rows = []
    for name, fn, inp in (("eager", half, x), ("torchscript", ts, x), ("trtorch", trt, x32)):
        with torch.no_grad():
            y = fn(inp).float()
        err = float((y - ref).abs().max() / ref.abs().max())
        rows.append((name, median_ms(fn, inp, args.iters), err))
    gpu = torch.cuda.get_device_name()
    print("GPU: %s, torch %s; ResNet-50 with aten::roll between layer2 and layer3, batch %d, %s; "
          "trtorch: %d engine segments (the partially compiled module takes FP32 input: TorchScript's own)"
          % (gpu, torch.__version__, args.batch, args.precision, engines))
    print("| backend | median ms | max rel err vs eager FP32 |")
    print("|---|---|---|")
    for name, ms, err in rows:
        print("| %s | %.3f | %.4g |" % (name, ms, err))


if __name__ == "__main__":
    main()
