"""Corners of torch's semantics that a compiled module must keep (found by hunting for silent
differences against TorchScript): type promotion of integer tensors with float scalars, NaN in
min/argmin, circular padding with a cropped side, addmm with beta = 0, random ops, in-place writes
through chunk/split/unbind views. Each case compiles on the reference backend (and on the GPU
where there is one) and is compared with TorchScript on the same inputs."""
from typing import List

import pytest
import torch
from torch import nn

import trtorch

DEVICES = ["reference"] + (["gpu"] if torch.cuda.is_available() else [])


def compile_for(m, device, shapes, **settings):
    dev = "cuda" if device == "gpu" else "cpu"
    m = m.to(dev)
    spec = {"input_shapes": shapes, "device": device, "min_block_size": 1}
    spec.update(settings)
    return trtorch.compile(m, spec), dev


def assert_same(got, want):
    if isinstance(want, (tuple, list)):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert_same(g, w)
        return
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6, equal_nan=True)


class IntWithFloatScalars(nn.Module):
    def forward(self, i):
        return (i + 1.5, i * 0.5, 0.5 - i, torch.where(i > 1, i, 0.5), torch.add(i, 2.5, alpha=2), i * 2,
                torch.abs(i - 2), -i)


@pytest.mark.parametrize("device", DEVICES)
def test_an_integer_tensor_with_a_float_scalar_computes_in_float(device):
    m = torch.jit.script(IntWithFloatScalars().eval())
    trt, dev = compile_for(m, device, [[3, 4]], input_dtypes=[torch.int64], require_full_compilation=True)
    i = torch.randint(-4, 5, (3, 4), device=dev)
    assert_same(trt(i), m(i))


class MinMaxWithNaN(nn.Module):
    def forward(self, x):
        v, j = x.min(0)
        w, k = x.max(1)
        return v, j, x.argmin(0), x.argmin(), w, k, x.argmax(1)


@pytest.mark.parametrize("device", DEVICES)
def test_min_and_argmin_propagate_nan_like_max(device):
    m = torch.jit.script(MinMaxWithNaN().eval())
    trt, dev = compile_for(m, device, [[4, 3]], require_full_compilation=True)
    nan = float("nan")
    x = torch.tensor([[1.0, nan, 5.0], [nan, 2.0, -1.0], [3.0, 4.0, nan], [0.5, -2.0, 7.0]], device=dev)
    assert_same(trt(x), m(x))
    y = torch.randn(4, 3, device=dev)  # no NaN: ordinary minima
    assert_same(trt(y), m(y))


class CircularPads(nn.Module):
    def forward(self, x):
        f = nn.functional
        return (f.pad(x, [-1, 1, 0, 0], mode="circular"), f.pad(x, [2, -1, 1, -2], mode="circular"),
                f.pad(x, [1, 2, 2, 1], mode="circular"))


@pytest.mark.parametrize("device", DEVICES)
def test_circular_padding_wraps_around_what_a_negative_side_leaves(device):
    m = torch.jit.script(CircularPads().eval())
    trt, dev = compile_for(m, device, [[1, 2, 4, 5]], require_full_compilation=True)
    x = torch.arange(40.0, device=dev).view(1, 2, 4, 5)
    assert_same(trt(x), m(x))


class AddmmBetaZero(nn.Module):
    def forward(self, s, a, b):
        return torch.addmm(s, a, b, beta=0.0, alpha=2.0), torch.addmm(s, a, b, beta=0.5)


@pytest.mark.parametrize("device", DEVICES)
def test_addmm_with_beta_zero_ignores_self(device):
    m = torch.jit.script(AddmmBetaZero().eval())
    trt, dev = compile_for(m, device, [[2, 3], [2, 4], [4, 3]], require_full_compilation=True)
    s = torch.full((2, 3), float("nan"), device=dev)
    a, b = torch.randn(2, 4, device=dev), torch.randn(4, 3, device=dev)
    got, want = trt(s, a, b), m(s, a, b)
    assert not torch.isnan(want[0]).any()
    assert_same(got, want)


class AddsNoise(nn.Module):
    def forward(self, x):
        return x * 2.0 + torch.rand(3, device=x.device)


@pytest.mark.parametrize("device", DEVICES)
def test_random_ops_are_not_frozen_at_compile_time(device):
    m = torch.jit.script(AddsNoise().eval())
    trt, dev = compile_for(m, device, [[2, 3]])
    x = torch.zeros(2, 3, device=dev)
    assert not torch.equal(trt(x), trt(x)), "two calls gave the same random numbers"
    assert "aten::rand" in str(trt.graph), trt.graph  # left to TorchScript
    with pytest.raises(RuntimeError, match="aten::rand"):
        compile_for(m, device, [[2, 3]], require_full_compilation=True)


class WriteThroughChunk(nn.Module):
    def forward(self, x):
        x = x.clone()
        a, b = x.chunk(2, -1)
        a.mul_(0.0)
        c: List[torch.Tensor] = x.split(1, 0)
        c[1].add_(10.0)
        u = x.unbind(0)
        u[0].sub_(1.0)
        return x * 2.0


@pytest.mark.parametrize("device", DEVICES)
def test_writes_through_chunk_split_and_unbind_reach_the_tensor(device):
    m = torch.jit.script(WriteThroughChunk().eval())
    trt, dev = compile_for(m, device, [[2, 4]])
    x = torch.arange(8.0, device=dev).view(2, 4)
    assert_same(trt(x), m(x))
    with pytest.raises(RuntimeError, match="in-place operation"):
        compile_for(m, device, [[2, 4]], require_full_compilation=True)


class CatMixedDtypes(nn.Module):
    def forward(self, x, i, b):
        return (torch.cat([x, i], 1), torch.stack([i, x]), torch.cat([b, i], 0), torch.cat([i.int(), i], 1),
                torch.stack([b, b.logical_not()], -1))


@pytest.mark.parametrize("device", DEVICES)
def test_cat_and_stack_promote_mixed_dtypes(device):
    m = torch.jit.script(CatMixedDtypes().eval())
    trt, dev = compile_for(m, device, [[2, 3], [2, 3], [2, 3]], input_dtypes=[torch.float, torch.int64, torch.bool],
                           require_full_compilation=True)
    x = torch.randn(2, 3, device=dev)
    i = torch.randint(-5, 5, (2, 3), device=dev)
    b = torch.rand(2, 3, device=dev) > 0.5
    assert_same(trt(x, i, b), m(x, i, b))
