"""INT8 (issue 19, docs/int8.md): post-training calibration with trtorch.ptq (the algorithms, the
calibration cache and its reuse), quantization-aware models compiled with op_precision torch.int8,
and the errors of each misuse. On the reference backend here, and on the GPU where there is one."""

import re

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import trtorch
from conftest import max_rel_error, run_python
from test_model_families import QATConvNet

DEVICES = ["reference"] + (["gpu"] if torch.cuda.is_available() else [])
SHAPE = [4, 3, 16, 16]


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


class SmallCNN(nn.Module):
    """Convolutions with batch norm (folded before the weights are quantized), a residual add,
    pooling and a linear head: every kind of layer the INT8 build quantizes."""

    def __init__(self):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16)
        self.c2, self.b2 = nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16)
        self.fc = nn.Linear(16, 10)
        g = torch.Generator().manual_seed(5)
        for b in (self.b1, self.b2):
            b.running_mean.copy_(torch.randn(16, generator=g) * 0.1)
            b.running_var.copy_(torch.rand(16, generator=g) + 0.5)

    def forward(self, x):
        h = torch.relu(self.b1(self.c1(x)))
        h = torch.relu(self.b2(self.c2(h)) + h)
        return self.fc(h.mean([2, 3]))


def model():
    torch.manual_seed(0)
    return torch.jit.script(SmallCNN().eval())


def data(n=6, seed=0):
    """(images, labels) pairs, as a classification data loader gives them."""
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(SHAPE, generator=g), torch.randint(0, 10, (SHAPE[0],), generator=g)) for _ in range(n)]


def compile_int8(m, device, calibrator, **extra):
    """An INT8 build with every fitting layer in INT8 (int8_timing_choice off: on the GPU, the
    choice by timing could keep a layer of these small models in FP16, from one build to the next;
    test_int8_layer_choice_by_timing covers it)."""
    dev = "cuda" if device == "gpu" else "cpu"
    settings = {"inputs": [trtorch.Input(SHAPE)], "enabled_precisions": {torch.int8, torch.half},
                "device": device, "calibrator": calibrator, "require_full_compilation": True,
                "int8_timing_choice": False}
    settings.update(extra)
    return trtorch.compile(m.to(dev), settings)


def run(trt, device, x):
    dev = "cuda" if device == "gpu" else "cpu"
    with torch.no_grad():
        return trt(x.to(dev).half()).float().cpu()


def cache_scales(path):
    lines = open(path).read().splitlines()
    assert lines[0] == "trtorch-int8-calibration 1" and lines[1].startswith("fingerprint ")
    scales = {}
    for line in lines[3:]:
        value, key = line.split("\t")
        scales[key] = float.fromhex(value)
    return lines[2].split()[1], scales


class _Untouchable:
    """A data loader that fails when read: a cached calibration must not read the data."""

    def __iter__(self):
        raise AssertionError("the data loader was read although the calibration cache exists")


@pytest.mark.parametrize("algo", ["ENTROPY_CALIBRATION_2", "MINMAX_CALIBRATION", "PERCENTILE_CALIBRATION"])
def test_post_training_quantization_matches_fp32(device, algo, tmp_path):
    m = model()
    cache = tmp_path / "calib.cache"
    calib = trtorch.ptq.DataLoaderCalibrator(data(), cache_file=str(cache),
                                             algo_type=getattr(trtorch.ptq.CalibrationAlgo, algo))
    trt = compile_int8(m, device, calib)
    info = trt.trtorch_engine_0.info()
    assert "int8=%s;int8_layers=all" % trtorch.ptq.CalibrationAlgo[algo].value in info, info
    # c2 (16 -> 16 channels) runs as an INT8 layer; c1 (3 input channels) and fc (10 outputs) are not
    # multiples of 16 / 8: float layers that read their float inputs (calibrated all the same).
    assert ("int8 layers: 1 of 3 convolution / linear / matmul layers run in INT8 "
            "(0 more read dequantized int8 inputs)") in info, info
    # The scales: one per convolution / linear layer, keyed by op and source line.
    name, scales = cache_scales(cache)
    assert name == trtorch.ptq.CalibrationAlgo[algo].value
    assert sorted(k.split()[0] for k in scales) == ["Conv2d#0", "Conv2d#1", "Linear#0"], scales
    assert all(s > 0 for s in scales.values())
    x = data(1, seed=9)[0][0]
    want = m.cpu()(x)
    err = max_rel_error(run(trt, device, x), want)
    # 8-bit activations and weights through two convolutions: a few percent of the largest
    # logit, far from the 100% of a wrong scale (the FP16 engine alone is ~1e-3).
    assert err < 0.04, err


def test_int8_layer_choice_by_timing(device, capfd):
    """The default: on the GPU the build times each INT8 layer against its FP16 version and says
    what it chose; the reference backend (no timing) runs every fitting layer in INT8."""
    level = trtorch.logging.get_reportable_log_level()
    trtorch.logging.set_reportable_log_level(trtorch.logging.Level.Info)
    try:
        trt = compile_int8(model(), device, trtorch.ptq.DataLoaderCalibrator(data()), int8_timing_choice=True)
    finally:
        trtorch.logging.set_reportable_log_level(level)
    log = capfd.readouterr().err
    info = trt.trtorch_engine_0.info()
    m = model()
    x = data(1, seed=9)[0][0]
    assert max_rel_error(run(trt, device, x), m.cpu()(x)) < 0.04
    if device == "reference":
        assert "int8_layers=all" in info and "INT8 layer choice by timing" not in log, info
        assert "int8 layers: 1 of 3" in info, info
        return
    assert "int8_layers=timing" in info, info
    # c2 is the one layer that fits; it runs in INT8 unless its FP16 version timed faster.
    chose = re.search(r"INT8 layer choice by timing: (\d) of 1 INT8 layers are faster in float", log)
    assert chose, log
    kept = re.search(r"keeping the (chosen|all-INT8) engine", log)
    in_float = int(chose.group(1)) == 1 and kept and kept.group(1) == "chosen"
    assert ("int8 layers: %d of 3" % (0 if in_float else 1)) in info, (info, log)


def test_algorithms_order_their_thresholds(tmp_path):
    """Min-max keeps every value (the largest scale); percentile and entropy clip."""
    got = {}
    for algo in ("MINMAX_CALIBRATION", "PERCENTILE_CALIBRATION", "ENTROPY_CALIBRATION_2"):
        cache = tmp_path / (algo + ".cache")
        compile_int8(model(), "reference", trtorch.ptq.DataLoaderCalibrator(
            data(), cache_file=str(cache), algo_type=getattr(trtorch.ptq.CalibrationAlgo, algo)))
        got[algo] = cache_scales(cache)[1]
    for key, s in got["MINMAX_CALIBRATION"].items():
        assert got["PERCENTILE_CALIBRATION"][key] <= s and got["ENTROPY_CALIBRATION_2"][key] <= s * 1.001, key


def test_cache_is_reused_without_the_data(device, tmp_path):
    cache = tmp_path / "calib.cache"
    m = model()
    first = compile_int8(m, device, trtorch.ptq.DataLoaderCalibrator(data(), cache_file=str(cache)))
    text = cache.read_text()
    x = data(1, seed=3)[0][0]
    want = run(first, device, x)
    again = compile_int8(model(), device, trtorch.ptq.DataLoaderCalibrator(_Untouchable(), cache_file=str(cache),
                                                                           use_cache=True))
    assert torch.equal(run(again, device, x), want)
    from_cache = compile_int8(model(), device, trtorch.ptq.CacheCalibrator(str(cache)))
    assert torch.equal(run(from_cache, device, x), want)
    assert cache.read_text() == text  # read, not rewritten
    # use_cache=False calibrates again (and rewrites the same scales).
    compile_int8(model(), device, trtorch.ptq.DataLoaderCalibrator(data(), cache_file=str(cache), use_cache=False))
    assert cache.read_text() == text


def test_broken_and_foreign_caches_are_clear_errors(tmp_path):
    cache = tmp_path / "calib.cache"
    cache.write_text("trtorch-int8-calibration 1\nfingerprint 0123456789abcdef\nalgorithm entropy\n0x1p-4 no tab\n")
    with pytest.raises(RuntimeError, match=r"calib.cache' line 4: expected '<scale>\\t<key>'"):
        compile_int8(model(), "reference", trtorch.ptq.CacheCalibrator(str(cache)))
    # A cache of another model (the same model at another input shape here) names both fingerprints.
    compile_int8(model(), "reference", trtorch.ptq.DataLoaderCalibrator(data(), cache_file=str(cache)))
    with pytest.raises(RuntimeError, match="made for another model or input shape"):
        trtorch.compile(model(), {"input_shapes": [[2, 3, 16, 16]], "op_precision": torch.int8,
                                  "device": "reference", "calibrator": trtorch.ptq.CacheCalibrator(str(cache))})
    with pytest.raises(FileNotFoundError):
        trtorch.ptq.CacheCalibrator(str(tmp_path / "missing.cache"))


def test_edited_or_misplaced_caches(tmp_path, capfd):
    cache = tmp_path / "calib.cache"
    m = model()
    x = data(1, seed=3)[0][0]
    want = run(compile_int8(m, "reference", trtorch.ptq.DataLoaderCalibrator(data(), cache_file=str(cache))),
               "reference", x)
    text = cache.read_text()
    # Lines ending in CR LF (a checkout with Windows line endings) read as written.
    crlf = tmp_path / "crlf.cache"
    crlf.write_bytes(text.replace("\n", "\r\n").encode())
    assert torch.equal(run(compile_int8(model(), "reference", trtorch.ptq.CacheCalibrator(str(crlf))), "reference", x),
                       want)
    # A truncated cache names the file and a missing layer.
    cut = tmp_path / "cut.cache"
    cut.write_text("\n".join(text.splitlines()[:-1]) + "\n")
    with pytest.raises(RuntimeError, match=r"read from '.*cut.cache' has no scale for .*truncated or edited cache"):
        compile_int8(model(), "reference", trtorch.ptq.CacheCalibrator(str(cut)))
    with pytest.raises(RuntimeError, match="is a directory"):
        compile_int8(model(), "reference", trtorch.ptq.CacheCalibrator(str(tmp_path)))
    # Calibration data that never reaches a layer (all zeros) leaves it scale 1: said, naming it.
    capfd.readouterr()
    zeros = [(torch.zeros(SHAPE), torch.zeros(SHAPE[0], dtype=torch.long))]
    compile_int8(model(), "reference", trtorch.ptq.DataLoaderCalibrator(zeros))
    err = capfd.readouterr().err
    assert "was zero in every calibration batch" in err and "Conv2d#0" in err, err


class _Logcumsumexp(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 16, 3, padding=1)

    def forward(self, x):
        return torch.logcumsumexp(self.c(x), 1)


def test_calibrating_a_partial_method_names_the_op():
    m = torch.jit.script(_Logcumsumexp().eval())
    with pytest.raises(RuntimeError, match=r"compiles only partially \(cannot convert .*aten::logcumsumexp"):
        trtorch.compile(m, {"inputs": [trtorch.Input(SHAPE)], "enabled_precisions": {torch.int8, torch.half},
                            "device": "reference", "calibrator": trtorch.ptq.DataLoaderCalibrator(data())})


def test_misuse_is_a_clear_error():
    with pytest.raises(RuntimeError, match="INT8 needs a calibrator .* or a quantization-aware model"):
        trtorch.compile(model(), {"input_shapes": [SHAPE], "op_precision": torch.int8, "device": "reference"})
    with pytest.raises(ValueError, match="calibrator: INT8 is not enabled"):
        trtorch.compile(model(), {"input_shapes": [SHAPE], "op_precision": torch.half, "device": "reference",
                                  "calibrator": trtorch.ptq.DataLoaderCalibrator(data())})
    with pytest.raises(TypeError, match="calibrator: expected a trtorch.ptq"):
        trtorch.compile(model(), {"input_shapes": [SHAPE], "op_precision": torch.int8, "calibrator": data()})
    with pytest.raises(ValueError, match="algo_type"):
        trtorch.ptq.DataLoaderCalibrator(data(), algo_type="fancy")
    bad = data(2)
    bad[1][0][0, 0, 0, 0] = float("nan")
    with pytest.raises(RuntimeError, match="batch 1 gives a NaN or infinite value in the input of Conv2d#0"):
        compile_int8(model(), "reference", trtorch.ptq.DataLoaderCalibrator(bad))
    with pytest.raises(ValueError, match="gave no batches"):
        compile_int8(model(), "reference", trtorch.ptq.DataLoaderCalibrator([]))
    with pytest.raises(TypeError, match="calibration batch 0"):
        compile_int8(model(), "reference", trtorch.ptq.DataLoaderCalibrator([("not", "tensors")]))
    wrong = data(2)
    wrong[1] = (torch.randn(4, 3, 20, 16), wrong[1][1])
    with pytest.raises(RuntimeError, match=r"INT8 calibration: running batch 1 of the calibrator: .*dimension 2 must "
                                           r"be 16.*got 20"):
        compile_int8(model(), "reference", trtorch.ptq.DataLoaderCalibrator(wrong))
    with pytest.raises(ValueError, match="conflicting settings"):
        trtorch.compile(model(), {"inputs": [trtorch.Input(SHAPE)], "op_precision": torch.float,
                                  "enabled_precisions": {torch.int8, torch.half}})


def test_int8_with_fp32_for_the_rest(tmp_path):
    """enabled_precisions={torch.int8}: INT8 layers, FP32 for every other op (FP32 inputs)."""
    trt = trtorch.compile(model(), {"inputs": [trtorch.Input(SHAPE)], "enabled_precisions": {torch.int8},
                                    "device": "reference", "calibrator": trtorch.ptq.DataLoaderCalibrator(data())})
    info = trt.trtorch_engine_0.info()
    assert "precision=f32" in info and "int8=entropy" in info, info
    x = data(1, seed=4)[0][0]
    assert max_rel_error(trt(x), model()(x)) < 0.04


def test_quantization_aware_model_in_int8(device):
    """A QAT model needs no calibrator: its own scales (Quantize / Dequantize in the engine)."""
    torch.manual_seed(0)
    m = torch.jit.script(QATConvNet().eval())
    dev = "cuda" if device == "gpu" else "cpu"
    trt = trtorch.compile(m.to(dev), {"input_shapes": [[2, 3, 12, 12]], "op_precision": torch.int8,
                                      "device": device, "require_full_compilation": True})
    assert "int8=qat" in trt.trtorch_engine_0.info()
    x = torch.randn(2, 3, 12, 12, generator=torch.Generator().manual_seed(1)).to(dev)
    with torch.no_grad():
        err = max_rel_error(trt(x.half()).float(), m(x))
    assert err < 2e-2, err


class QATResidualNet(nn.Module):
    """Quantization-aware, as pytorch-quantization exports it, with channels in multiples of 16: every
    layer becomes an INT8 layer. The block's residual add reads the quantized block input, and each
    quantized activation has one reader but the block input (an int8 output where it has one)."""

    def __init__(self):
        super().__init__()
        self.c0, self.c1 = nn.Conv2d(16, 32, 3, padding=1), nn.Conv2d(32, 32, 3, padding=1)
        self.c2, self.fc = nn.Conv2d(32, 32, 1), nn.Linear(32, 16)
        self.register_buffer("z32", torch.zeros(32, dtype=torch.int32))  # buffers: they follow .to(device)
        self.register_buffer("z16", torch.zeros(16, dtype=torch.int32))

    @staticmethod
    def fq(x, s: float):
        return torch.fake_quantize_per_tensor_affine(x, s, 0, -128, 127)

    @staticmethod
    def fqw(w, z):
        s = (w.detach().abs().amax(list(range(1, w.dim()))) / 127.0).contiguous()
        return torch.fake_quantize_per_channel_affine(w, s, z, 0, -127, 127)

    def forward(self, x):
        x = self.fq(x, 0.03)
        h = self.fq(torch.relu(F.conv2d(x, self.fqw(self.c0.weight, self.z32), self.c0.bias, padding=1)), 0.05)
        r = self.fq(torch.relu(F.conv2d(h, self.fqw(self.c1.weight, self.z32), self.c1.bias, padding=1)), 0.05)
        y = self.fq(torch.relu(F.conv2d(r, self.fqw(self.c2.weight, self.z32), self.c2.bias) + h), 0.08)
        return F.linear(self.fq(y.mean([2, 3]), 0.02), self.fqw(self.fc.weight, self.z16), self.fc.bias)


def test_quantization_aware_layers_run_in_int8(device):
    torch.manual_seed(0)
    m = torch.jit.script(QATResidualNet().eval())
    dev = "cuda" if device == "gpu" else "cpu"
    trt = trtorch.compile(m.to(dev), {"inputs": [trtorch.Input([2, 16, 10, 10])], "op_precision": torch.int8,
                                      "device": device, "require_full_compilation": True})
    info = trt.trtorch_engine_0.info()
    assert "int8 layers: 4 of 4 convolution / linear / matmul layers run in INT8" in info, info
    # Which ops run in which precision: the convolutions write int8 (QConv2d 3 under i8), the head
    # FP16 (QLinear under f16).
    by_precision = dict(part.split(": ") for part in info.split("ops by precision: ")[1].split("; "))
    assert "QConv2d 3" in by_precision["i8"] and "QLinear 1" in by_precision["f16"], by_precision
    x = torch.randn(2, 16, 10, 10, generator=torch.Generator().manual_seed(1)).to(dev)
    with torch.no_grad():
        want = m(x)
        err = max_rel_error(trt(x.half()).float(), want)
    # The engine computes what the model's fake quantization says; it may differ by one step of an
    # activation where a value lies within rounding of a half step (FP16 against torch's FP32).
    assert err < 3e-2, err


def test_saved_int8_module_runs_in_a_fresh_process(tmp_path):
    trt = compile_int8(model(), "reference", trtorch.ptq.DataLoaderCalibrator(data()))
    x = data(1, seed=6)[0][0].half()
    here = trt(x)
    path, xin, out = tmp_path / "int8.ts", tmp_path / "x.pt", tmp_path / "y.pt"
    torch.jit.save(trt, str(path))
    torch.save(x, xin)
    r = run_python("import sys, torch, trtorch\n"
                   "m = torch.jit.load(sys.argv[1]); torch.save(m(torch.load(sys.argv[2])), sys.argv[3])\n",
                   str(path), str(xin), str(out))
    assert r.returncode == 0, r.stderr
    assert torch.equal(torch.load(out), here)


def test_dynamic_batch_calibrates_and_runs_across_the_range(device):
    """Calibration batches of several sizes within a dynamic batch range; the engine then runs at
    any size in it."""
    m = model()
    dev = "cuda" if device == "gpu" else "cpu"
    g = torch.Generator().manual_seed(2)
    batches = [torch.randn(b, 3, 16, 16, generator=g) for b in (2, 4, 8, 3)]
    trt = trtorch.compile(m.to(dev), {"inputs": [trtorch.Input(min_shape=[1, 3, 16, 16], opt_shape=[4, 3, 16, 16],
                                                               max_shape=[8, 3, 16, 16])],
                                      "op_precision": torch.int8, "device": device,
                                      "calibrator": trtorch.ptq.DataLoaderCalibrator(batches)})
    for b in (1, 5, 8):
        x = torch.randn(b, 3, 16, 16, generator=g)
        with torch.no_grad():
            got = trt(x.to(dev).half()).float().cpu()
        assert got.shape == (b, 10)
        assert max_rel_error(got, m.cpu()(x)) < 0.04
        m.to(dev)


class _QATWithUnsupported(nn.Module):
    """A QAT model with an op trtorch leaves to TorchScript (forced) between its layers."""

    def __init__(self):
        super().__init__()
        self.net = QATConvNet()

    def forward(self, x):
        n = self.net
        x = torch.fake_quantize_per_tensor_affine(x, 0.03, 0, -128, 127)
        x = torch.relu(n.conv1(x))
        x = torch.cumsum(x, 3) * 0.25  # forced to TorchScript below
        x = torch.fake_quantize_per_tensor_affine(x, 0.05, 0, -128, 127)
        return n.fc(torch.relu(n.conv2(x)).mean([2, 3]))


def test_quantization_aware_model_compiles_partially_in_int8():
    torch.manual_seed(0)
    m = torch.jit.script(_QATWithUnsupported().eval())
    trt = trtorch.compile(m, {"input_shapes": [[2, 3, 12, 12]], "op_precision": torch.int8, "device": "reference",
                              "torch_executed_ops": ["aten::cumsum"], "min_block_size": 1})
    kinds = [n.kind() for n in trt.graph.nodes()]
    assert "aten::cumsum" in kinds and kinds.count("trtorch::execute_engine") == 2, trt.graph
    x = torch.randn(2, 3, 12, 12, generator=torch.Generator().manual_seed(1))
    assert max_rel_error(trt(x).float(), m(x)) < 2e-2
    # A calibrator needs the whole method in one engine.
    with pytest.raises(RuntimeError, match="INT8 calibration needs the whole method in one engine"):
        trtorch.compile(model(), {"input_shapes": [SHAPE], "op_precision": torch.int8, "device": "reference",
                                  "torch_executed_ops": ["aten::relu"], "min_block_size": 1,
                                  "calibrator": trtorch.ptq.DataLoaderCalibrator(data())})
