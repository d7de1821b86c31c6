"""Several GPUs in one machine (issue 23): where engines are built, loaded and run.

- The engine placement setting (``trtorch.set_engine_placement``, the op of the same name, the
  environment variable ``TRTORCH_ENGINE_PLACEMENT``): checked on any machine.
- One GPU: an engine that records a GPU this machine lacks runs on the current device under the
  placement "inputs" and is refused, naming the GPU and the count, under "recorded".
- Two GPUs or more (skipped with the reason on fewer): a build on GPU 1 times there and records it
  and leaves the caller's current device alone; a module follows its inputs to another GPU, after
  ``.to("cuda:1")`` too; one module called from a thread per GPU gives every GPU the single-GPU
  result; "recorded" refuses inputs on another GPU, naming both.
"""
import io
import struct
import threading

import pytest
import torch
from torch import nn

import trtorch
from conftest import run_python
from test_fuzz import HEADER, saved_engines, with_device_record

GPUS = torch.cuda.device_count() if torch.cuda.is_available() else 0
needs_gpu = pytest.mark.skipif(GPUS < 1, reason="needs a CUDA GPU (issue 23)")
needs_two_gpus = pytest.mark.skipif(GPUS < 2, reason="needs 2 CUDA GPUs (issue 23); this machine has %d" % GPUS)


@pytest.fixture(autouse=True)
def restore_placement():
    before = trtorch.get_engine_placement()
    yield
    trtorch.set_engine_placement(before)


def small_net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(16, 10)).eval()


def compiled_on(gpu, batch=4):
    m = torch.jit.script(small_net())
    spec = {"input_shapes": [[batch, 3, 16, 16]], "device": {"device_type": "gpu", "gpu_id": gpu},
            "op_precision": torch.float32}
    return m, trtorch.compile(m.to("cuda:%d" % gpu), spec)


def reload(module):
    buf = io.BytesIO()
    torch.jit.save(module, buf)
    buf.seek(0)
    return torch.jit.load(buf)


# ---- the setting (any machine) ----

def test_placement_setting_is_checked_and_round_trips():
    assert trtorch.get_engine_placement() == "inputs"  # the default
    trtorch.set_engine_placement("recorded")
    assert trtorch.get_engine_placement() == "recorded"
    assert torch.ops.trtorch.engine_placement() == "recorded"
    torch.ops.trtorch.set_engine_placement("inputs")
    assert trtorch.get_engine_placement() == "inputs"
    with pytest.raises(ValueError, match=r"expected one of 'inputs', 'recorded', got 'gpu0'"):
        trtorch.set_engine_placement("gpu0")
    with pytest.raises(RuntimeError, match=r"unknown engine placement 'gpu0'.*'inputs'.*'recorded'"):
        torch.ops.trtorch.set_engine_placement("gpu0")
    assert trtorch.get_engine_placement() == "inputs"


_PLACEMENT_CHILD = r'''
import trtorch
try:
    print(trtorch.get_engine_placement())
except RuntimeError as e:
    print("error:", " ".join(str(e).split()))
trtorch.set_engine_placement("recorded")  # the API overrides the environment, a bad value too
print(trtorch.get_engine_placement())
'''


@pytest.mark.parametrize("value,want", [("recorded", "recorded"), ("inputs", "inputs"), ("", "inputs")])
def test_placement_from_the_environment(value, want, monkeypatch):
    monkeypatch.setenv("TRTORCH_ENGINE_PLACEMENT", value)
    out = run_python(_PLACEMENT_CHILD)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [want, "recorded"]


def test_bad_placement_in_the_environment_is_an_error_naming_it(monkeypatch):
    monkeypatch.setenv("TRTORCH_ENGINE_PLACEMENT", "everywhere")
    out = run_python(_PLACEMENT_CHILD)
    assert out.returncode == 0, out.stderr
    first, last = out.stdout.strip().splitlines()
    assert "TRTORCH_ENGINE_PLACEMENT" in first and "unknown engine placement 'everywhere'" in first, first
    assert last == "recorded"


# ---- one GPU ----

@needs_gpu
def test_engine_recorded_for_a_missing_gpu_runs_on_the_current_one_unless_pinned():
    m, trt = compiled_on(0)
    x = torch.randn(4, 3, 16, 16, device="cuda:0")
    with torch.no_grad():
        want = trt(x)
    eng, = saved_engines(trt)
    moved = with_device_record(eng, gpu_id=GPUS + 3)  # built on a GPU this machine does not have
    engine = trtorch._C.load_engine(moved)
    assert engine.devices() == ["cuda:0"]
    with torch.no_grad():
        torch.testing.assert_close(torch.ops.trtorch.execute_engine([x], engine)[0], want, rtol=0, atol=0)
    trtorch.set_engine_placement("recorded")
    with pytest.raises(RuntimeError, match=r"is to run on CUDA device %d but this process sees %d CUDA device"
                       % (GPUS + 3, GPUS)):
        trtorch._C.load_engine(moved)
    # The engine's own GPU still loads under "recorded".
    assert trtorch._C.load_engine(eng).devices() == ["cuda:0"]


@needs_gpu
def test_inputs_on_the_cpu_are_refused_naming_both_devices():
    _, trt = compiled_on(0)
    with pytest.raises(RuntimeError, match=r"input 0 .* is on cpu but the engine runs on cuda:0"):
        trt(torch.randn(4, 3, 16, 16))


# ---- two GPUs or more ----

@needs_two_gpus
def test_build_on_gpu_1_records_it_and_leaves_the_current_device():
    torch.cuda.set_device(0)
    _, trt = compiled_on(1)
    assert torch.cuda.current_device() == 0
    eng, = saved_engines(trt)
    dev_type, gpu_id, _ = struct.unpack_from("<BiI", eng, HEADER)
    assert gpu_id == 1
    assert "CUDA device 1" in trt.trtorch_engine_0.info()
    x = torch.randn(4, 3, 16, 16, device="cuda:1")
    with torch.no_grad():
        assert trt(x).device == torch.device("cuda:1")
    assert torch.cuda.current_device() == 0


@needs_two_gpus
def test_module_follows_its_inputs_and_to_moves_it():
    m, trt = compiled_on(0)
    x0 = torch.randn(4, 3, 16, 16, device="cuda:0")
    with torch.no_grad():
        want = trt(x0)
        loaded = reload(trt)  # prepared on the current device, cuda:0
        got = loaded(x0.to("cuda:1"))
        assert got.device == torch.device("cuda:1")
        torch.testing.assert_close(got.cpu(), want.cpu(), rtol=0, atol=0)
        # No call ran on cuda:0: the engine moved rather than copied.
        assert loaded.trtorch_engine_0.devices() == ["cuda:1"]
        torch.testing.assert_close(loaded(x0).cpu(), want.cpu(), rtol=0, atol=0)
        assert loaded.trtorch_engine_0.devices() == ["cuda:0", "cuda:1"]
        moved = reload(trt).to("cuda:1")
        torch.testing.assert_close(moved(x0.to("cuda:1")).cpu(), want.cpu(), rtol=0, atol=0)


@needs_two_gpus
def test_one_module_a_thread_per_gpu_matches_single_gpu_runs():
    _, trt = compiled_on(0, batch=8)
    module = reload(trt)
    xs = [torch.randn(8, 3, 16, 16, device="cuda:0") for _ in range(4)]
    with torch.no_grad():
        want = [module(x).cpu() for x in xs]
    results, errors = {}, []

    def worker(gpu):
        try:
            with torch.no_grad(), torch.cuda.device(gpu):
                ins = [x.to("cuda:%d" % gpu) for x in xs]
                for it in range(50):
                    outs = [module(x) for x in ins]
                torch.cuda.synchronize(gpu)
                results[gpu] = [o.cpu() for o in outs]
        except Exception as e:  # reported below, with the GPU
            errors.append("GPU %d: %r" % (gpu, e))

    threads = [threading.Thread(target=worker, args=(g,)) for g in range(GPUS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for gpu in range(GPUS):
        for got, w in zip(results[gpu], want):
            torch.testing.assert_close(got, w, rtol=0, atol=0)


@needs_two_gpus
def test_recorded_placement_refuses_inputs_on_another_gpu():
    trtorch.set_engine_placement("recorded")
    _, trt = compiled_on(0)
    loaded = reload(trt)
    with pytest.raises(RuntimeError, match=r"input 0 .* is on cuda:1 but the engine runs on cuda:0"):
        loaded(torch.randn(4, 3, 16, 16, device="cuda:1"))


class _MiddleUnsupported(nn.Module):
    """Engines on either side of an op trtorch leaves to TorchScript, whose segment holds a tensor
    constant (frozen into the graph: .to() does not move it, map_location does)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.a = nn.Linear(16, 16)
        self.b = nn.Linear(16, 8)
        self.register_buffer("offset", torch.randn(16))

    def forward(self, x):
        y = torch.logcumsumexp(self.a(x), 1) + self.offset
        return self.b(torch.relu(y))


@needs_two_gpus
def test_partially_compiled_module_loads_onto_another_gpu_with_map_location():
    m = torch.jit.script(_MiddleUnsupported().eval())
    trt = trtorch.compile(m.to("cuda:0"), {"input_shapes": [[4, 16]], "device": "gpu", "op_precision": torch.float32})
    x = torch.randn(4, 16, device="cuda:0")
    with torch.no_grad():
        want = trt(x).cpu()
        buf = io.BytesIO()
        torch.jit.save(trt, buf)
        buf.seek(0)
        on1 = torch.jit.load(buf, map_location="cuda:1")
        got = on1(x.to("cuda:1"))
    assert got.device == torch.device("cuda:1")
    torch.testing.assert_close(got.cpu(), want, rtol=0, atol=0)
