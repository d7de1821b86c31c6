"""The Python example of the README (the original TRTorch README's), run as written with a model
defined here."""

import pytest
import torch
from torch import nn

import trtorch
from conftest import max_rel_error, run_python


class SmallNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                      nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


@pytest.fixture
def torch_script_module():
    torch.manual_seed(0)
    return torch.jit.script(SmallNet().eval())


def test_readme_example_with_range(torch_script_module, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    input_data = torch.randn(1, 3, 224, 224)
    compile_settings = {
        "input_shapes": [
            {
                "min": [1, 3, 224, 224],
                "opt": [1, 3, 512, 512],
                "max": [1, 3, 1024, 1024],
            },  # For static size [1, 3, 224, 224]
        ],
        "op_precision": torch.half,  # Run with FP16
    }
    trt_ts_module = trtorch.compile(torch_script_module, compile_settings)
    result = trt_ts_module(input_data.half())
    torch.jit.save(trt_ts_module, "trt_torchscript_module.ts")
    assert result.dtype == torch.half and result.shape == (1, 10)
    assert max_rel_error(result.float(), torch_script_module(input_data)) <= 1e-2
    wider = torch.randn(1, 3, 300, 640)  # another shape in the range, same engine
    assert max_rel_error(trt_ts_module(wider.half()).float(), torch_script_module(wider)) <= 1e-2
    with pytest.raises(RuntimeError, match=r"dimension 2 must be in the range \[224, 1024\], got 100"):
        trt_ts_module(torch.randn(1, 3, 100, 224).half())


def test_readme_example_with_fixed_shape(torch_script_module, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    input_data = torch.randn(1, 3, 224, 224)
    compile_settings = {
        "input_shapes": [[1, 3, 224, 224]],
        "op_precision": torch.half,  # Run with FP16
    }
    trt_ts_module = trtorch.compile(torch_script_module, compile_settings)
    result = trt_ts_module(input_data.half())
    torch.jit.save(trt_ts_module, "trt_torchscript_module.ts")

    assert result.dtype == torch.half and result.shape == (1, 10)
    assert max_rel_error(result.float(), torch_script_module(input_data)) <= 1e-2
    torch.save(input_data.half(), "input.pt")
    r = run_python("import sys, torch, trtorch\n"
                   "m = torch.jit.load('trt_torchscript_module.ts')\n"
                   "torch.save(m(torch.load('input.pt')), 'result.pt')\n", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert torch.equal(torch.load(tmp_path / "result.pt"), result)
