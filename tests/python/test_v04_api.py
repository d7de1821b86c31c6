"""TRTorch v0.4 / Torch-TensorRT's Python API beside the seed's dictionary (issue 22, item 3):
trtorch.Input, "inputs", "enabled_precisions", trtorch.Device and the keyword form of compile."""
import pytest
import torch
from torch import nn

import trtorch

X = (2, 3, 16, 16)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return torch.jit.script(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(),
                                          nn.Linear(8 * 16 * 16, 10)).eval())


def engine_inputs(trt):
    info = trt.trtorch_engine_0.info()
    return info[info.index("inputs:"):info.index("; build options")]


def close(got, want, tol=1e-4):
    torch.testing.assert_close(got.float(), want.float(), rtol=tol, atol=tol)


def test_input_and_keyword_form_match_the_dictionary(model):
    x = torch.randn(*X)
    a = trtorch.compile(model, inputs=[trtorch.Input(X)], device="reference")
    b = trtorch.compile(model, {"input_shapes": [list(X)], "device": "reference"})
    with torch.no_grad():
        close(a(x), model(x))
        close(a(x), b(x), 0)


def test_input_range_is_dynamic(model):
    flat = torch.jit.script(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()).eval())
    trt = trtorch.compile(flat, {"inputs": [trtorch.Input(min_shape=(1, 3, 16, 16), opt_shape=X, max_shape=(4, 3, 16, 16))],
                                 "device": "reference"})
    for n in (1, 3, 4):
        x = torch.randn(n, 3, 16, 16)
        with torch.no_grad():
            close(trt(x), flat(x))
    with pytest.raises(RuntimeError, match="dimension 0"):
        trt(torch.randn(5, 3, 16, 16))


def test_enabled_precisions_takes_the_lowest(model):
    trt = trtorch.compile(model, inputs=[trtorch.Input(X)], enabled_precisions={torch.float, torch.half},
                          device="reference")
    assert "precision f16" in trt.trtorch_engine_0.info()
    assert "f16[2,3,16,16]" in engine_inputs(trt)  # dtype None: the engine precision
    x = torch.randn(*X)
    with torch.no_grad():
        close(trt(x.half()), model(x), 3e-2)


def test_fp32_input_of_an_fp16_engine_stays_fp32(model):
    trt = trtorch.compile(model, inputs=[trtorch.Input(X, dtype=torch.float)], enabled_precisions={torch.half},
                          device="reference")
    assert "f32[2,3,16,16]" in engine_inputs(trt), engine_inputs(trt)
    x = torch.randn(*X)
    with torch.no_grad():
        close(trt(x), model(x), 3e-2)


def test_example_tensors_give_shape_dtype_and_format(model):
    x = torch.randn(*X).to(memory_format=torch.channels_last)
    inp = trtorch.Input.from_tensor(x)
    assert inp.shape == X and inp.dtype == torch.float32 and inp.format == torch.channels_last
    trt = trtorch.compile(model, inputs=[x], device="reference")
    with torch.no_grad():
        close(trt(x), model(x))
        close(trt(x.contiguous()), model(x))


def test_integer_inputs_by_dtype():
    emb = torch.jit.trace(nn.Embedding(50, 8).eval(), torch.zeros(2, 5, dtype=torch.long))
    trt = trtorch.compile(emb, inputs=[trtorch.Input((2, 5), dtype=torch.int64)], device="reference")
    ids = torch.randint(0, 50, (2, 5))
    with torch.no_grad():
        close(trt(ids), emb(ids))


@pytest.mark.parametrize("make, error, pattern", [
    (lambda: trtorch.Input(X, min_shape=X), ValueError, "either shape or min_shape"),
    (lambda: trtorch.Input(min_shape=X, opt_shape=X), ValueError, "missing max_shape"),
    (lambda: trtorch.Input(X, dtype=torch.int8), TypeError, "dtype must be"),
    (lambda: trtorch.Input(X, format="nhwc"), ValueError, "format must be"),
    (lambda: trtorch.Input((2, 3), format=torch.channels_last), ValueError, "4-D"),
    (lambda: trtorch.Input("2x3"), TypeError, "expected a shape"),
    (lambda: trtorch.Device("cuda:0", gpu_id=1), ValueError, "not both"),
    (lambda: trtorch.Device(gpu_id=0, dla_core=0), ValueError, "no DLA"),
    (lambda: trtorch.Device("tpu"), ValueError, "expected trtorch.DeviceType"),
])
def test_input_and_device_errors(make, error, pattern):
    with pytest.raises(error, match=pattern):
        make()


@pytest.mark.parametrize("settings, error, pattern", [
    ({"inputs": [trtorch.Input(X)], "input_shapes": [list(X)]}, ValueError, "conflicting settings: 'inputs' and 'input_shapes'"),
    ({"inputs": [trtorch.Input(X)], "enabled_precisions": {torch.int8}}, RuntimeError, "INT8 needs a calibrator"),
    ({"inputs": [trtorch.Input(X)], "enabled_precisions": {torch.half, torch.bfloat16}}, ValueError, "choose one"),
    ({"inputs": [trtorch.Input(X)], "enabled_precisions": {torch.half}, "op_precision": torch.float},
     ValueError, "conflicting settings: op_precision"),
    ({"inputs": [trtorch.Input(X, dtype=torch.half)]}, ValueError, r"inputs\[0\]: dtype torch.float16 needs"),
    ({"inputs": [[2, 3, 16, 16]]}, TypeError, r"inputs\[0\]: expected a trtorch.Input"),
    ({"inputs": []}, ValueError, "the list is empty"),
    ({"inputs": [trtorch.Input((2, 0, 16, 16))]}, ValueError, r"input_shapes\[0\]: dimension 1 is 0"),
    ({"enabled_precisions": {torch.half}}, ValueError, "'input_shapes' \\(or 'inputs'\\) is required"),
])
def test_v04_settings_errors_name_the_problem(model, settings, error, pattern):
    with pytest.raises(error, match=pattern):
        trtorch.compile(model, dict(settings, device="reference"))


def test_a_key_given_twice_is_an_error(model):
    with pytest.raises(ValueError, match="'device' given both"):
        trtorch.compile(model, {"input_shapes": [list(X)], "device": "reference"}, device="reference")


def test_device_forms():
    assert trtorch.Device("cuda:1").gpu_id == 1
    assert trtorch.Device(gpu_id=2).device_type == trtorch.DeviceType.GPU
    assert trtorch.Device(device_type=trtorch.DeviceType.REFERENCE).device_type == trtorch.DeviceType.REFERENCE
    assert trtorch.Device(torch.device("cuda", 3)).gpu_id == 3
