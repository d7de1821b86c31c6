"""Compiled modules saved with torch.jit.save load and run in a fresh process, with either
`import trtorch` or only the runtime library loaded, and give the same results."""

import pytest
import torch

import tiny_models
import trtorch
from conftest import max_rel_error, run_python

_RUN_SAVED = r"""
import sys, torch
mode, runtime_lib, module_path, inputs_path, outputs_path = sys.argv[1:]
if mode == "import":
    import trtorch
elif mode == "load_library":
    torch.ops.load_library(runtime_lib)
m = torch.jit.load(module_path)
out = m(*torch.load(inputs_path))
torch.save(out if isinstance(out, tuple) else (out,), outputs_path)
"""


def _run_saved(mode, module_path, inputs, tmp_path):
    """Runs the saved module in a fresh process. mode: "import" (import trtorch), "load_library"
    (only torch.ops.load_library of the runtime, trtorch not on the path) or "bare" (neither)."""
    inputs_path, outputs_path = tmp_path / "inputs.pt", tmp_path / ("outputs_%s.pt" % mode)
    torch.save(tuple(inputs), inputs_path)
    r = run_python(_RUN_SAVED, mode, trtorch.runtime_library_path(), module_path, inputs_path, outputs_path,
                   with_pythonpath=(mode == "import"))
    return r, (torch.load(outputs_path) if r.returncode == 0 else None)


@pytest.mark.parametrize("mode", ["import", "load_library"])
@pytest.mark.parametrize("dtype", [torch.float, torch.half])
def test_saved_module_runs_in_fresh_process(tmp_path, mode, dtype):
    m = tiny_models.two_in_out()
    x, y = torch.randn(3, 6), torch.randn(3, 4)
    trt = trtorch.compile(m, {"input_shapes": [[3, 6], [3, 4]], "op_precision": dtype})
    inputs = (x.to(dtype), y.to(dtype))
    here = trt(*inputs)
    path = tmp_path / "two_in_out_trt.ts"
    torch.jit.save(trt, str(path))
    r, there = _run_saved(mode, path, inputs, tmp_path)
    assert r.returncode == 0, r.stderr
    assert len(there) == 2
    for a, b in zip(there, here):
        assert a.dtype == dtype and torch.equal(a, b)  # same engine, same inputs: identical
    for a, w in zip(there, m(x, y)):
        assert max_rel_error(a.float(), w) <= (1e-5 if dtype == torch.float else 1e-2)


def test_loading_without_runtime_names_the_missing_class(tmp_path):
    trt = trtorch.compile(tiny_models.conv_net(), {"input_shapes": [[1, 3, 8, 8]]})
    path = tmp_path / "conv_trt.ts"
    torch.jit.save(trt, str(path))
    r, _ = _run_saved("bare", path, [torch.randn(1, 3, 8, 8)], tmp_path)
    assert r.returncode != 0
    assert "trtorch" in r.stderr and "Engine" in r.stderr, r.stderr


def test_corrupt_engine_in_saved_module_fails_on_load(tmp_path):
    trt = trtorch.compile(tiny_models.conv_net(), {"input_shapes": [[1, 3, 8, 8]]})
    path = tmp_path / "conv_trt.ts"
    torch.jit.save(trt, str(path))
    data = bytearray(path.read_bytes())
    at = data.find(b"TRTORCH")
    assert at >= 0, "the engine bytes are stored verbatim in the archive"
    data[at + 40] ^= 0x11
    bad = tmp_path / "conv_trt_corrupt.ts"
    bad.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match="checksum"):
        torch.jit.load(str(bad))


def test_missing_and_non_module_files():
    with pytest.raises((RuntimeError, ValueError, FileNotFoundError), match="no_such_model.ts"):
        torch.jit.load("/nonexistent/no_such_model.ts")


_LOAD_LOGGED = r"""
import sys, torch, trtorch
trtorch.logging.set_reportable_log_level(trtorch.logging.Level.Debug)
m = torch.jit.load(sys.argv[1])
torch.save(m(torch.load(sys.argv[2])), sys.argv[3])
"""


class _ConvAndChain(torch.nn.Module):
    """Fused convolutions on cuDNN (20 channels: the CUTLASS kernels want multiples of 8; built with
    conv_runtime_compilation "always", so runtime-fused epilogues in FP16) and a chain of
    elementwise ops that fuse_pointwise turns into one generated (NVRTC) kernel."""

    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(16, 20, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(20)
        self.c2 = torch.nn.Conv2d(20, 20, 1)

    def forward(self, x):
        y = torch.relu(self.bn(self.c1(x)))
        z = self.c2(y) + y
        return torch.tanh(z) * 0.5 + torch.sigmoid(z) * z - 0.25


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (saved cuDNN plans and NVRTC kernels)")
def test_saved_gpu_module_loads_its_saved_plans_without_compiling(tmp_path):
    """Issue 20: a saved CUDA engine carries its convolutions' cuDNN plans and its generated
    kernels' cubins; a fresh process restores them instead of compiling, with identical results."""
    torch.manual_seed(0)
    m = torch.jit.script(_ConvAndChain().eval())
    x = torch.randn(8, 16, 24, 24)
    trt = trtorch.compile(m, {"input_shapes": [list(x.shape)], "device": "gpu", "op_precision": torch.half,
                              "conv_runtime_compilation": "always"})
    xh = x.half().cuda()
    with torch.no_grad():
        here = trt(xh)
    path, inputs, outputs = tmp_path / "conv_chain.ts", tmp_path / "x.pt", tmp_path / "y.pt"
    torch.jit.save(trt, str(path))
    torch.save(xh, inputs)
    r = run_python(_LOAD_LOGGED, path, inputs, outputs)
    assert r.returncode == 0, r.stderr
    assert torch.equal(torch.load(outputs), here)  # the same plans and kernels: identical outputs
    assert "NVRTC: loaded a saved generated kernel" in r.stderr, r.stderr
    assert "NVRTC: compiled" not in r.stderr, r.stderr
    assert "saved plan" in r.stderr and "cannot be restored" not in r.stderr, r.stderr
    assert max_rel_error(here.float().cpu(), m(x)) <= 2e-2
