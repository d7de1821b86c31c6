"""Serving a compiled module under NVIDIA Triton Inference Server (issue 22, item 5), with PyTriton
(nvidia-pytriton, which ships tritonserver and its Python backend), on loopback.

A small CNN is compiled with a dynamic batch (1 to 32) on the reference backend (the GPU where
there is one) and bound with dynamic batching, beside the TorchScript module served the same way;
for each, 32 concurrent clients, half over HTTP and half over gRPC (tritonclient), send requests of
mixed batch sizes (1 to 4); every answer is compared with TorchScript's for the same input. The
server stops at the end. Throughput and p50/p99 latency of both are printed (pytest -s shows them). Runs in the virtual environment scripts/setup.sh makes for it
(.venv-serving, with the system's torch): see tests/serving/run.sh.
"""
import os
import random
import socket
import statistics
import sys
import sysconfig
import threading
import time

import numpy as np
import pytest
import torch

import trtorch

CLIENTS = 32
REQUESTS_PER_CLIENT = 12
MAX_BATCH = 32


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmallCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.BatchNorm2d(16), torch.nn.ReLU(),
            torch.nn.Conv2d(16, 32, 3, stride=2, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1))
        self.head = torch.nn.Linear(32, 10)

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))


def test_served_module_answers_like_torchscript():
    from pytriton.decorators import batch
    from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
    from pytriton.triton import Triton, TritonConfig
    import tritonclient.grpc as grpcclient
    import tritonclient.http as httpclient

    # The Python backend stub links a libpython3.x of its own choosing; it must be the one of the
    # interpreter whose standard library it runs with.
    libdir = sysconfig.get_config_var("LIBDIR")
    os.environ["LD_LIBRARY_PATH"] = libdir + (":" + os.environ["LD_LIBRARY_PATH"] if os.environ.get("LD_LIBRARY_PATH") else "")

    gpu = torch.cuda.is_available()
    dev = "cuda" if gpu else "cpu"
    if gpu:
        # The compiled module runs FP32 as FP32; TorchScript's convolutions would otherwise run on
        # TF32 (PyTorch's default), a different precision to compare against.
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(0)
    ts = torch.jit.script(SmallCNN().eval()).to(dev)
    trt = trtorch.compile(ts, {"input_shapes": [{"min": [1, 3, 16, 16], "opt": [8, 3, 16, 16], "max": [MAX_BATCH, 3, 16, 16]}],
                               "device": "gpu" if gpu else "reference", "require_full_compilation": True})
    batch_sizes = {"cnn_trtorch": [], "cnn_torchscript": []}

    def infer_with(name, module):
        @batch
        def infer(x):
            batch_sizes[name].append(x.shape[0])
            with torch.no_grad():
                y = module(torch.from_numpy(x).to(dev))
            return {"logits": y.cpu().numpy()}
        return infer

    http_port, grpc_port, metrics_port = free_port(), free_port(), free_port()
    cfg = TritonConfig(http_address="127.0.0.1", grpc_address="127.0.0.1", http_port=http_port,
                       grpc_port=grpc_port, metrics_port=metrics_port, log_verbose=0)
    errors, latencies = [], []
    lock = threading.Lock()

    def client(i, model):
        rng = random.Random(i)
        http = i % 2 == 0
        c = (httpclient.InferenceServerClient("127.0.0.1:%d" % http_port) if http
             else grpcclient.InferenceServerClient("127.0.0.1:%d" % grpc_port))
        mod = httpclient if http else grpcclient
        for r in range(REQUESTS_PER_CLIENT):
            n = rng.randint(1, 4)
            x = np.random.default_rng(1000 * i + r).standard_normal((n, 3, 16, 16)).astype(np.float32)
            inp = mod.InferInput("x", list(x.shape), "FP32")
            inp.set_data_from_numpy(x)
            t0 = time.perf_counter()
            res = c.infer(model, [inp], outputs=[mod.InferRequestedOutput("logits")])
            dt = time.perf_counter() - t0
            got = res.as_numpy("logits")
            with torch.no_grad():
                want = ts(torch.from_numpy(x).to(dev)).cpu().numpy()
            with lock:
                latencies.append(dt)
                if got.shape != want.shape or not np.allclose(got, want, rtol=1e-4, atol=1e-4):
                    errors.append("%s client %d request %d: max abs diff %s" % (model, i, r, np.abs(got - want).max()))
        c.close()

    figures = {}
    with Triton(config=cfg) as triton:
        for name, module in (("cnn_trtorch", trt), ("cnn_torchscript", ts)):
            triton.bind(model_name=name, infer_func=infer_with(name, module),
                        inputs=[Tensor(name="x", dtype=np.float32, shape=(3, 16, 16))],
                        outputs=[Tensor(name="logits", dtype=np.float32, shape=(10,))],
                        config=ModelConfig(max_batch_size=MAX_BATCH,
                                           batcher=DynamicBatcher(max_queue_delay_microseconds=2000)))
        triton.run()
        for name in ("cnn_trtorch", "cnn_torchscript"):
            latencies.clear()
            threads = [threading.Thread(target=client, args=(i, name)) for i in range(CLIENTS)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
            assert len(latencies) == CLIENTS * REQUESTS_PER_CLIENT, name
            lat = sorted(latencies)
            figures[name] = (wall, len(lat) / wall, lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))])
    assert not errors, errors[:5]
    where = ("CUDA backend, " + torch.cuda.get_device_name()) if gpu else "reference backend, CPU"
    for name, (wall, rps, p50, p99) in figures.items():
        b = batch_sizes[name]
        print("\nserving %s (%s): %d clients x %d requests of 1-4 samples in %.2f s: %.0f requests/s; latency p50 "
              "%.2f ms, p99 %.2f ms; server batches: mean %.1f samples, largest %d"
              % (name, where, CLIENTS, REQUESTS_PER_CLIENT, wall, rps, p50 * 1e3, p99 * 1e3, statistics.mean(b), max(b)))
        # Dynamic batching put requests of several clients together.
        assert max(b) > 4, (name, b)
