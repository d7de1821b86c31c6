"""Reliability on the GPU (issue 21, item 7): long runs, threads, streams, CUDA-graph replay with
concurrent callers, running out of GPU memory, engines moved between GPUs of one architecture.

Every test needs a CUDA GPU and is skipped without one (the reason is stated). Results are compared
with single-threaded runs of the same module on the same inputs.
"""
import contextlib
import gc
import io
import os
import sys
import threading

import pytest
import torch
from torch import nn

import trtorch
from test_fuzz import saved_engines, with_device_record

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
from memory import rss  # noqa: E402

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (issue 21, item 7)")


def small_net(seed, features=64):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(16, features), nn.GELU(), nn.Linear(features, 10)).eval()


def compiled(seed=0, precision=torch.float32, batch=4, **extra):
    m = torch.jit.script(small_net(seed)).cuda()
    spec = {"input_shapes": [[batch, 3, 16, 16]], "device": "gpu", "op_precision": precision}
    spec.update(extra)
    return m, trtorch.compile(m, spec)


def inputs(n, batch=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, 3, 16, 16, generator=g).cuda() for _ in range(n)]


def close(a, b):
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_100000_inferences_keep_gpu_memory_and_host_memory_flat():
    _, trt = compiled(precision=torch.half)
    x = inputs(1)[0].half()
    with torch.no_grad():
        for _ in range(1000):
            trt(x)
        torch.cuda.synchronize()
        gc.collect()
        alloc, reserved, host = torch.cuda.memory_allocated(), torch.cuda.memory_reserved(), rss()
        for _ in range(100000):
            trt(x)
        torch.cuda.synchronize()
    gc.collect()
    assert torch.cuda.memory_allocated() == alloc
    assert torch.cuda.memory_reserved() == reserved
    assert rss() - host < 8 << 20, "host memory grew by %d bytes over 100,000 calls" % (rss() - host)


def run_threads(work, n):
    errors = []

    def guarded(i):
        try:
            work(i)
        except BaseException as e:  # noqa: BLE001  (reported by the main thread)
            errors.append(e)
    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a thread did not finish"
    if errors:
        raise errors[0]


def test_eight_threads_calling_one_module():
    _, trt = compiled()
    xs = inputs(64)
    with torch.no_grad():
        want = [trt(x).clone() for x in xs]
    got = [[None] * len(xs) for _ in range(8)]

    def work(t):
        with torch.no_grad():
            for rep in range(5):
                for i in range(len(xs)):
                    got[t][i] = trt(xs[(i + t) % len(xs)])
                torch.cuda.synchronize()
                for i in range(len(xs)):
                    close(got[t][i], want[(i + t) % len(xs)])
    run_threads(work, 8)


def run_modules_in_threads(mods, xs, reps, streams=None):
    """Thread t calls mods[t] on every input, reps times (on streams[t] when given), and compares
    each result with a single-threaded run of the same module on the same input."""
    with torch.no_grad():
        want = [[m(x).clone() for x in xs] for m in mods]
    torch.cuda.synchronize()

    def work(t):
        on_stream = torch.cuda.stream(streams[t]) if streams else contextlib.nullcontext()
        with torch.no_grad(), on_stream:
            for _ in range(reps):
                outs = [mods[t](x) for x in xs]
                if streams:
                    streams[t].synchronize()
                else:
                    torch.cuda.synchronize()
                for i, o in enumerate(outs):
                    close(o, want[t][i])
    run_threads(work, len(mods))


def test_eight_threads_calling_eight_modules():
    run_modules_in_threads([compiled(seed=s)[1] for s in range(8)], inputs(32), 5)


def test_two_modules_on_two_streams_at_once():
    run_modules_in_threads([compiled(seed=s)[1] for s in range(2)], inputs(32), 10,
                           [torch.cuda.Stream() for _ in range(2)])


def test_one_module_on_two_streams_from_two_threads():
    # Each stream has its own activation arena: the engine's CUDA graph meets two workspaces.
    trt = compiled()[1]
    run_modules_in_threads([trt, trt], inputs(16), 5, [torch.cuda.Stream() for _ in range(2)])


def fill_gpu(leave_bytes):
    """Takes all but about `leave_bytes` of the GPU's free memory; returns the filler tensors."""
    torch.cuda.empty_cache()
    fillers = []
    free, _ = torch.cuda.mem_get_info()
    while free > leave_bytes + (64 << 20):
        take = min(free - leave_bytes, 8 << 30)
        try:
            fillers.append(torch.empty(int(take), dtype=torch.uint8, device="cuda"))
        except torch.OutOfMemoryError:
            break
        free, _ = torch.cuda.mem_get_info()
    return fillers


def big_activation_model():
    # 64 x 256 x 128 x 128 FP32 activations: 1 GiB per tensor.
    return torch.jit.script(nn.Sequential(nn.Conv2d(3, 256, 3, padding=1), nn.ReLU(),
                                          nn.Conv2d(256, 256, 3, padding=1)).eval()).cuda()


def test_out_of_gpu_memory_during_build_is_a_clear_error_and_nothing_leaks():
    m = big_activation_model()
    spec = {"input_shapes": [[64, 3, 128, 128]], "device": "gpu", "op_precision": torch.float32}
    torch.cuda.synchronize()
    free_before, _ = torch.cuda.mem_get_info()
    fillers = fill_gpu(256 << 20)
    try:
        with pytest.raises(RuntimeError, match=r"(?i)out of memory|cudaErrorMemoryAllocation|CUDNN_STATUS_ALLOC"):
            trtorch.compile(m, spec)
    finally:
        del fillers
        gc.collect()
        torch.cuda.empty_cache()
    torch.cuda.synchronize()
    free_after, _ = torch.cuda.mem_get_info()
    assert free_before - free_after < 128 << 20, "the failed build kept %d bytes" % (free_before - free_after)
    # The process goes on: the same build succeeds now.
    trt = trtorch.compile(m, spec)
    x = torch.randn(64, 3, 128, 128, device="cuda")
    with torch.no_grad():
        torch.testing.assert_close(trt(x), m(x), rtol=1e-3, atol=1e-3)


def test_out_of_gpu_memory_at_run_time_is_a_clear_error_and_the_module_runs_afterwards():
    m = big_activation_model()
    x = torch.randn(64, 3, 128, 128, device="cuda")
    with torch.no_grad():
        want = m(x)
    buf = io.BytesIO()
    torch.jit.save(trtorch.compile(m, {"input_shapes": [[64, 3, 128, 128]], "device": "gpu",
                                       "op_precision": torch.float32}), buf)
    gc.collect()
    torch.cuda.empty_cache()
    buf.seek(0)
    loaded = torch.jit.load(buf)  # a fresh load: its activation arena is allocated at the first call
    allocated = torch.cuda.memory_allocated()
    fillers = fill_gpu(256 << 20)
    try:
        with torch.no_grad(), pytest.raises(RuntimeError, match=r"(?i)out of memory"):
            loaded(x)
    finally:
        del fillers
        gc.collect()
        torch.cuda.empty_cache()
    assert torch.cuda.memory_allocated() <= allocated + (1 << 20)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), want, rtol=1e-3, atol=1e-3)


def test_engine_from_another_gpu_of_the_same_architecture_runs_and_another_architecture_is_refused():
    m, trt = compiled()
    x = inputs(1)[0]
    with torch.no_grad():
        want = trt(x)
    eng, = saved_engines(trt)
    major, minor = torch.cuda.get_device_capability()
    # An engine recorded on another GPU of this architecture (an H100's engine on an H200) runs.
    other_name = "NVIDIA H200" if "H100" in torch.cuda.get_device_name() else "NVIDIA H100 80GB HBM3"
    same_arch = trtorch._C.load_engine(with_device_record(eng, other_name, major, minor))
    with torch.no_grad():
        close(torch.ops.trtorch.execute_engine([x], same_arch)[0], want)
    # One recorded for another architecture is refused, naming both.
    with pytest.raises(RuntimeError, match=r"the engine was built for .*A100.* but CUDA device 0 is .*sm_%d%d.*rebuild"
                       % (major, minor)):
        trtorch._C.load_engine(with_device_record(eng, "NVIDIA A100-SXM4-80GB", 8, 0))
