"""Small models for the partial-compilation tests (tests/python/test_partitioning.py).

Each model mixes operators trtorch converts with operators it does not (checked against
docs/supported_ops.md: aten::logcumsumexp, aten::special_i0e, aten::cummax, aten::bucketize and
aten::signbit are not there; aten::scatter_reduce is, but refuses reduce="amax"; the custom op
trtorch_test::mysin is not), so that a compile with fallback splits them into engine segments and
TorchScript.

The docstrings count the operations of each supported island *after lowering* (freezing,
inlining, constant propagation, common subexpression elimination), since that is what the
partitioner sees and what min_block_size counts: prim::Constant, prim::GetAttr and list/tuple
plumbing are not counted. Every island the tests expect to become an engine has at least 3
operations (the default min_block_size), every island they expect to stay in TorchScript fewer.

Defined in a file so that torch.jit.script can read their source. Importing this module
registers the custom operator trtorch_test::mysin.
"""

from typing import Dict, List, Tuple

import torch
import torch.nn.functional as F
from torch import nn

C = 4  # channels of every conv chain; inputs are [N, C, H, W]


# --- A custom operator (torch.library), used inside a scripted model -------------------------

_LIBRARY = None  # keeps a torch.library.Library registration alive when custom_op is missing


def _register_custom_op():
    try:
        torch.ops.trtorch_test.mysin  # already registered (the module was imported twice)
        return
    except (AttributeError, RuntimeError):
        pass
    if hasattr(torch.library, "custom_op"):
        # No device_types: the implementation (torch.sin) runs on any device, so that the GPU
        # variants of the tests can use it too.
        @torch.library.custom_op("trtorch_test::mysin", mutates_args=())
        def mysin(x: torch.Tensor) -> torch.Tensor:
            return torch.sin(x)

        @mysin.register_fake
        def _(x):
            return torch.empty_like(x)
    else:  # older torch: the low-level API
        global _LIBRARY
        _LIBRARY = torch.library.Library("trtorch_test", "DEF")
        _LIBRARY.define("mysin(Tensor x) -> Tensor")
        _LIBRARY.impl("mysin", lambda x: torch.sin(x), "CompositeExplicitAutograd")


_register_custom_op()

CUSTOM_OP = "trtorch_test::mysin"


# --- The unsupported operators, as submodules (one per kind) --------------------------------

class LogCumSumExp(nn.Module):
    def forward(self, x):
        return torch.logcumsumexp(x, 3)


class I0e(nn.Module):
    def forward(self, x):
        return torch.special.i0e(x)


class ConvTranspose(nn.Module):
    """aten::conv_transpose2d; stride 1, so the shape is kept. trtorch converts it; the tests that
    need a TorchScript op with weights force it to Torch (torch_executed_ops)."""

    def __init__(self):
        super().__init__()
        self.ct = nn.ConvTranspose2d(C, C, 3, padding=1)

    def forward(self, x):
        return self.ct(x)


class Upsample(nn.Module):
    """F.interpolate(nearest, x2): aten::upsample_nearest2d, inside the prim::If chain on
    x.dim() that F.interpolate scripts to (the conditions are known once the rank is). trtorch
    converts it where the spatial dims are static."""

    def forward(self, x):
        return F.interpolate(x, scale_factor=2.0, mode="nearest")


# name -> (the op kind that must stay in TorchScript, the submodule class)
UNSUPPORTED = {
    "logcumsumexp": ("aten::logcumsumexp", LogCumSumExp),
    "special_i0e": ("aten::special_i0e", I0e),
}


# --- 1. An unsupported op at the start, in the middle, at the end ----------------------------

class UnsupportedAtStart(nn.Module):
    """odd -> [conv, relu, conv, relu, mean, linear]: one engine, after the Torch op."""

    def __init__(self, odd):
        super().__init__()
        self.odd = odd
        self.conv1 = nn.Conv2d(C, C, 3, padding=1)
        self.conv2 = nn.Conv2d(C, C, 3, padding=1)
        self.fc = nn.Linear(C, 5)

    def forward(self, x):
        y = self.odd(x)
        y = torch.relu(self.conv1(y))
        y = torch.relu(self.conv2(y))
        return self.fc(y.mean([2, 3]))


class UnsupportedInMiddle(nn.Module):
    """[conv, relu, conv, add] -> odd -> [conv, relu, mean, linear]: two engines."""

    def __init__(self, odd):
        super().__init__()
        self.conv1 = nn.Conv2d(C, C, 3, padding=1)
        self.conv2 = nn.Conv2d(C, C, 3, padding=1)
        self.odd = odd
        self.conv3 = nn.Conv2d(C, C, 3, padding=1)
        self.fc = nn.Linear(C, 5)

    def forward(self, x):
        y = torch.relu(self.conv1(x))
        y = self.conv2(y) + 1.0
        y = self.odd(y)
        y = torch.relu(self.conv3(y))
        return self.fc(y.mean([2, 3]))


class UnsupportedAtEnd(nn.Module):
    """[conv, relu, conv, sigmoid] -> odd (the module's output): one engine, before the Torch op."""

    def __init__(self, odd):
        super().__init__()
        self.conv1 = nn.Conv2d(C, C, 3, padding=1)
        self.conv2 = nn.Conv2d(C, C, 3, padding=1)
        self.odd = odd

    def forward(self, x):
        y = torch.relu(self.conv1(x))
        y = torch.sigmoid(self.conv2(y))
        return self.odd(y)


POSITIONS = {"start": (UnsupportedAtStart, 1), "middle": (UnsupportedInMiddle, 2), "end": (UnsupportedAtEnd, 1)}


def unsupported_at(position, odd_name):
    """(scripted model, the op kind left to Torch, expected number of engines)."""
    cls, engines = POSITIONS[position]
    kind, odd_cls = UNSUPPORTED[odd_name]
    torch.manual_seed(0)
    return torch.jit.script(cls(odd_cls()).eval()), kind, engines


class LogCumSumExpAndI0e(nn.Module):
    """[conv, relu, conv] -> logcumsumexp -> [conv, tanh, mul] -> special_i0e -> [mean, linear, sigmoid]: two
    different unsupported ops (what require_full_compilation and check_method_op_support must
    both list); three engines with fallback."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(C, C, 3, padding=1)
        self.conv2 = nn.Conv2d(C, C, 3, padding=1)
        self.conv3 = nn.Conv2d(C, C, 3, padding=1)
        self.fc = nn.Linear(C, 3)

    def forward(self, x):
        y = self.conv2(torch.relu(self.conv1(x)))
        y = torch.logcumsumexp(y, 3)
        y = torch.tanh(self.conv3(y)) * 0.5
        y = torch.special.i0e(y)
        return torch.sigmoid(self.fc(y.mean([2, 3])))


def logcumsumexp_and_i0e():
    torch.manual_seed(0)
    return torch.jit.script(LogCumSumExpAndI0e().eval())


class FullySupported(nn.Module):
    """conv, batch_norm, relu, conv, relu, mean, linear: every op converts; one engine."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(C, C, 3, padding=1)
        self.bn = nn.BatchNorm2d(C)
        self.conv2 = nn.Conv2d(C, C, 3, padding=1)
        self.fc = nn.Linear(C, 5)

    def forward(self, x):
        y = torch.relu(self.bn(self.conv1(x)))
        y = torch.relu(self.conv2(y))
        return self.fc(y.mean([2, 3]))


def _randomize_bn(bn):
    with torch.no_grad():
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)


def fully_supported():
    torch.manual_seed(0)
    m = FullySupported().eval()
    _randomize_bn(m.bn)
    return torch.jit.script(m)


class TinyUNet(nn.Module):
    """The U-Net of issue 17: Conv2d, ConvTranspose2d (aten::conv_transpose2d), F.interpolate
    (aten::upsample_nearest2d) and torch.cat of a skip connection. Compiled whole since issue 18."""

    def __init__(self):
        super().__init__()
        self.enc1 = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.enc2 = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
                                  nn.Conv2d(16, 16, 3, padding=1), nn.ReLU())
        self.bottleneck = nn.Sequential(nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
                                        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU())
        self.up1 = nn.ConvTranspose2d(32, 16, 2, stride=2)
        self.dec1 = nn.Sequential(nn.Conv2d(32, 16, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(16, 16, 3, padding=1), nn.ReLU())
        self.dec2 = nn.Sequential(nn.Conv2d(24, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 2, 1))

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        b = self.bottleneck(e2)
        d1 = self.dec1(torch.cat([self.up1(b), e2], 1))
        d2 = F.interpolate(d1, scale_factor=2.0, mode="nearest")
        return self.dec2(torch.cat([d2, e1], 1))


def tiny_unet():
    torch.manual_seed(0)
    m = TinyUNet().eval()
    _randomize_bn(m.enc1[1])
    return torch.jit.script(m)


# --- 2. An op and a submodule forced to Torch ----------------------------------------------

class ForcedOps(nn.Module):
    """[conv, batch_norm, mul.Scalar] relu [conv, tanh, add.Scalar] relu [mean, linear, sigmoid].
    Fully supported (one engine); with aten::relu forced to Torch, three engines and two
    aten::relu nodes in TorchScript. add.Scalar is the only aten::add."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(C, C, 3, padding=1)
        self.bn = nn.BatchNorm2d(C)
        self.conv2 = nn.Conv2d(C, C, 3, padding=1)
        self.fc = nn.Linear(C, 5)

    def forward(self, x):
        y = self.bn(self.conv1(x)) * 0.5
        y = torch.relu(y)
        y = torch.tanh(self.conv2(y)) + 1.0
        y = torch.relu(y)
        return torch.sigmoid(self.fc(y.mean([2, 3])))


def forced_ops():
    torch.manual_seed(0)
    m = ForcedOps().eval()
    _randomize_bn(m.bn)
    return torch.jit.script(m)


class ForcedBlock(nn.Module):
    """conv, relu, conv, sigmoid: all supported, forced to Torch by class name in the tests."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(C, C, 3, padding=1)
        self.conv2 = nn.Conv2d(C, C, 3, padding=1)

    def forward(self, x):
        return torch.sigmoid(self.conv2(torch.relu(self.conv1(x))))


class Middle(nn.Module):
    """conv, relu, mul: three supported ops between the two ForcedBlocks."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(C, C, 3, padding=1)

    def forward(self, x):
        return torch.relu(self.conv(x)) * 2.0


class WithForcedBlocks(nn.Module):
    """stem [conv, batch_norm, relu] -> ForcedBlock -> [Middle: conv, relu, mul] ->
    ForcedBlock (nested in an nn.Sequential) -> head [mean, linear, tanh].
    Fully supported: one engine. With ForcedBlock forced: three engines, the blocks' four
    convolutions and two sigmoids in TorchScript."""

    def __init__(self):
        super().__init__()
        self.stem_conv = nn.Conv2d(C, C, 3, padding=1)
        self.stem_bn = nn.BatchNorm2d(C)
        self.block1 = ForcedBlock()
        self.rest = nn.Sequential(Middle(), ForcedBlock())
        self.fc = nn.Linear(C, 5)

    def forward(self, x):
        y = torch.relu(self.stem_bn(self.stem_conv(x)))
        y = self.block1(y)
        y = self.rest(y)
        return torch.tanh(self.fc(y.mean([2, 3])))


def with_forced_blocks():
    torch.manual_seed(0)
    m = WithForcedBlocks().eval()
    _randomize_bn(m.stem_bn)
    return torch.jit.script(m)


# --- 3. A custom operator ------------------------------------------------------------------

class WithCustomOp(nn.Module):
    """[conv, relu, conv, mul] -> trtorch_test::mysin -> [relu, mean, linear, sigmoid]."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(C, C, 3, padding=1)
        self.conv2 = nn.Conv2d(C, C, 3, padding=1)
        self.fc = nn.Linear(C, 5)

    def forward(self, x):
        y = self.conv2(torch.relu(self.conv1(x))) * 0.5
        y = torch.ops.trtorch_test.mysin(y)
        return torch.sigmoid(self.fc(torch.relu(y).mean([2, 3])))


def with_custom_op():
    torch.manual_seed(0)
    return torch.jit.script(WithCustomOp().eval())


# --- 4. Data-dependent control flow ----------------------------------------------------------

class Stem(nn.Module):
    """conv, batch_norm, relu."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(C, C, 3, padding=1)
        self.bn = nn.BatchNorm2d(C)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)))


class Head(nn.Module):
    """mean, linear, sigmoid."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(C, 5)

    def forward(self, x):
        return torch.sigmoid(self.fc(x.mean([2, 3])))


class DataDependentIf(nn.Module):
    """stem -> if x.sum() > 0: [conv, relu, conv, add] else: [conv, sigmoid, conv, mul] -> head.
    The condition is a value of the input: the prim::If stays in TorchScript; engines: stem and
    head at the top level (x.sum() > 0 may join the stem's engine), one in each branch."""

    def __init__(self):
        super().__init__()
        self.stem = Stem()
        self.a1 = nn.Conv2d(C, C, 3, padding=1)
        self.a2 = nn.Conv2d(C, C, 3, padding=1)
        self.b1 = nn.Conv2d(C, C, 3, padding=1)
        self.b2 = nn.Conv2d(C, C, 3, padding=1)
        self.head = Head()

    def forward(self, x):
        y = self.stem(x)
        if x.sum() > 0:
            y = self.a2(torch.relu(self.a1(y))) + y
        else:
            y = self.b2(torch.sigmoid(self.b1(y))) * y
        return self.head(y)


def data_dependent_if():
    torch.manual_seed(0)
    m = DataDependentIf().eval()
    _randomize_bn(m.stem.bn)
    return torch.jit.script(m)


class TensorTripCountLoop(nn.Module):
    """stem -> for _ in range(int(n.item())): [conv, tanh, mul, add] -> head. n is an int64
    tensor input; the prim::Loop stays in TorchScript, its body is one engine."""

    def __init__(self):
        super().__init__()
        self.stem = Stem()
        self.conv = nn.Conv2d(C, C, 3, padding=1)
        self.head = Head()

    def forward(self, x, n):
        y = self.stem(x)
        for _ in range(int(n.item())):
            y = torch.tanh(self.conv(y)) * 0.5 + y
        return self.head(y)


def tensor_trip_count_loop():
    torch.manual_seed(0)
    m = TensorTripCountLoop().eval()
    _randomize_bn(m.stem.bn)
    return torch.jit.script(m)


class TensorConditionWhile(nn.Module):
    """stem -> while |y|.amax() > 0.3 (and at most 6 times): [conv, tanh, mul] -> head.
    The loop condition is recomputed from a tensor in the body (abs, amax, gt: they may join the
    body's engine); engines: stem and head at the top level, one in the body."""

    def __init__(self):
        super().__init__()
        self.stem = Stem()
        self.conv = nn.Conv2d(C, C, 3, padding=1)
        self.head = Head()

    def forward(self, x):
        y = self.stem(x)
        i = 0
        while bool(y.abs().amax() > 0.3) and i < 6:
            y = torch.tanh(self.conv(y)) * 0.6
            i += 1
        return self.head(y)


def tensor_condition_while():
    torch.manual_seed(0)
    m = TensorConditionWhile().eval()
    _randomize_bn(m.stem.bn)
    return torch.jit.script(m)


def while_trip_count(m, x):
    """How many times TensorConditionWhile's loop runs for x (eager Python on the scripted
    module's submodules), and the smallest distance of |y|.amax() to the threshold on the way
    (the tests pick inputs far from it, so that rounding cannot change the trip count)."""
    with torch.no_grad():
        y = m.stem(x)
        i, margin = 0, float("inf")
        while True:
            a = float(y.abs().amax())
            margin = min(margin, abs(a - 0.3))
            if not (a > 0.3 and i < 6):
                return i, margin
            y = torch.tanh(m.conv(y)) * 0.6
            i += 1


# --- 5. min_block_size ------------------------------------------------------------------------

class SmallIsland(nn.Module):
    """[conv, batch_norm, relu] -> logcumsumexp -> [sigmoid, mul] -> special_i0e -> [conv, relu, mean, linear].
    The middle island has 2 operations: with min_block_size 3 it stays in TorchScript (two
    engines), with min_block_size 1 or 2 it is an engine of its own (three engines)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(C, C, 3, padding=1)
        self.bn = nn.BatchNorm2d(C)
        self.conv2 = nn.Conv2d(C, C, 3, padding=1)
        self.fc = nn.Linear(C, 5)

    def forward(self, x):
        y = torch.relu(self.bn(self.conv1(x)))
        y = torch.logcumsumexp(y, 3)
        y = torch.sigmoid(y) * 2.0
        y = torch.special.i0e(y)
        return self.fc(torch.relu(self.conv2(y)).mean([2, 3]))


def small_island():
    torch.manual_seed(0)
    m = SmallIsland().eval()
    _randomize_bn(m.bn)
    return torch.jit.script(m)


# --- 6. int64 and bool tensors crossing a boundary -------------------------------------------

class EngineToTorchIntBool(nn.Module):
    """One engine computes a float tensor h, an int64 index tensor idx (from comparisons of the
    input: exact) and a bool mask; TorchScript consumes them: aten::scatter_reduce with
    reduce="amax" (float h, int64 idx; trtorch converts only "sum") and aten::cummax of the bool
    mask. Outputs: float, bool and int64 (idx itself)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(C, C, 3, padding=1)

    def forward(self, x):
        h = torch.relu(self.conv(x)) * 2.0
        idx = (x > 0).to(torch.int64) * 3 + (x < -1.0).to(torch.int64)  # values 0, 1, 3
        mask = x * 2.0 + 1.0 > 0.5  # bool, computed in the engine
        g = torch.scatter_reduce(h, 3, idx, h, "amax")
        f = torch.cummax(mask, 2)[0]
        return g, f, idx


def engine_to_torch_int_bool():
    torch.manual_seed(0)
    return torch.jit.script(EngineToTorchIntBool().eval())


class TorchToEngineIntBool(nn.Module):
    """TorchScript computes an int64 tensor (aten::bucketize) and a bool tensor (aten::signbit) of
    the input; one engine consumes both: casts, where, int64 arithmetic, int64 == scalar,
    logical ops, conv, linear. Outputs: float, bool (computed in the engine), int64 (computed in
    the engine)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(C, C, 3, padding=1)
        self.fc = nn.Linear(C, 5)
        self.register_buffer("bounds", torch.tensor([-1.0, 0.0, 0.5]))

    def forward(self, x):
        order = torch.bucketize(x, self.bounds)  # Torch: int64 in 0..3
        neg = torch.signbit(x)  # Torch: bool
        y = torch.where(neg, x * -1.0, x) + order.to(torch.float32) * 0.25
        y = torch.relu(self.conv(y))
        first = (order == 0) & torch.logical_not(neg)
        rank2 = order * 2 + 1
        return self.fc(y.mean([2, 3])), first, rank2


def torch_to_engine_int_bool():
    torch.manual_seed(0)
    return torch.jit.script(TorchToEngineIntBool().eval())


# --- 7. Collections in and out ---------------------------------------------------------------

class ListInput(nn.Module):
    """xs: List[Tensor] of two [N, 2, H, W] -> [cat, conv, relu, add] -> logcumsumexp ->
    [conv, relu, mean, linear, sigmoid]."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(C, C, 3, padding=1)
        self.conv2 = nn.Conv2d(C, C, 3, padding=1)
        self.fc = nn.Linear(C, 5)

    def forward(self, xs: List[torch.Tensor]):
        y = torch.relu(self.conv1(torch.cat(xs, 1))) + 1.0
        y = torch.logcumsumexp(y, 3)
        return torch.sigmoid(self.fc(torch.relu(self.conv2(y)).mean([2, 3])))


class TupleInput(nn.Module):
    """xy: Tuple[Tensor, Tensor] and a plain tensor z -> [conv, relu, mul, add] -> special_i0e ->
    [conv, tanh, mean, linear]."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(C, C, 3, padding=1)
        self.conv2 = nn.Conv2d(C, C, 3, padding=1)
        self.fc = nn.Linear(C, 5)

    def forward(self, xy: Tuple[torch.Tensor, torch.Tensor], z: torch.Tensor):
        x, s = xy
        y = torch.relu(self.conv1(x)) * s + z
        y = torch.special.i0e(y)
        return self.fc(torch.tanh(self.conv2(y)).mean([2, 3]))


class DictInput(nn.Module):
    """d: Dict[str, Tensor] with "a_image" [N, C, H, W] and "b_scale" [N, C, 1, 1] ->
    [conv, relu, mul] -> logcumsumexp -> [conv, relu, mean, linear]. The keys' sorted order, insertion
    order in the tests and first use here agree."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(C, C, 3, padding=1)
        self.conv2 = nn.Conv2d(C, C, 3, padding=1)
        self.fc = nn.Linear(C, 5)

    def forward(self, d: Dict[str, torch.Tensor]):
        y = torch.relu(self.conv1(d["a_image"])) * d["b_scale"]
        y = torch.logcumsumexp(y, 3)
        return self.fc(torch.relu(self.conv2(y)).mean([2, 3]))


class NestedOutput(nn.Module):
    """[conv, relu, conv] -> logcumsumexp -> [relu, mul, mean, linear, ...]; returns
    Tuple[Tensor, Tuple[Tensor, List[Tensor]]] mixing engine outputs and a Torch output."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(C, C, 3, padding=1)
        self.conv2 = nn.Conv2d(C, C, 3, padding=1)
        self.fc = nn.Linear(C, 5)

    def forward(self, x) -> Tuple[torch.Tensor, Tuple[torch.Tensor, List[torch.Tensor]]]:
        a = self.conv2(torch.relu(self.conv1(x)))
        f = torch.logcumsumexp(a, 3)
        b = torch.relu(f) * 0.5
        p = self.fc(b.mean([2, 3]))
        return p, (f, [torch.sigmoid(p), b])


class DetectionLike(nn.Module):
    """A detection-style output, List[Dict[str, Tensor]] (boxes, scores, labels per image):
    [conv, relu, conv, relu, mean, linear, sigmoid, linear, view, sigmoid, mul, topk] (topk's
    labels int64) -> per image a dict, built in a TorchScript loop over the batch."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(C, C, 3, padding=1)
        self.conv2 = nn.Conv2d(C, C, 3, padding=1)
        self.cls = nn.Linear(C, 6)
        self.box = nn.Linear(C, 24)

    def forward(self, x) -> List[Dict[str, torch.Tensor]]:
        f = torch.relu(self.conv2(torch.relu(self.conv1(x)))).mean([2, 3])
        probs = torch.sigmoid(self.cls(f))
        boxes = torch.sigmoid(self.box(f)).view(-1, 6, 4) * 16.0
        scores, labels = torch.topk(probs, 3, 1)
        out: List[Dict[str, torch.Tensor]] = []
        for i in range(x.size(0)):
            out.append({"boxes": boxes[i].index_select(0, labels[i]), "scores": scores[i], "labels": labels[i]})
        return out


def scripted(cls):
    torch.manual_seed(0)
    return torch.jit.script(cls().eval())


# --- 8. Dynamic shapes with fallback ---------------------------------------------------------

class DynamicMiddle(nn.Module):
    """stem [conv, batch_norm, relu] -> odd (changes H and W: ConvTranspose2d stride 2, or
    F.interpolate x2) -> [conv, relu, mean, linear]: the boundary after the Torch op has shapes
    [N, C, 2H, 2W] for every N, H, W of the input range. Both odd ops convert only with static
    spatial dims, so with a dynamic H and W their conversion fails and they run in TorchScript."""

    def __init__(self, odd):
        super().__init__()
        self.stem = Stem()
        self.odd = odd
        self.conv = nn.Conv2d(C, C, 3, padding=1)
        self.fc = nn.Linear(C, 5)

    def forward(self, x):
        y = self.odd(self.stem(x))
        return self.fc(torch.relu(self.conv(y)).mean([2, 3]))


class StridedConvTranspose(nn.Module):
    def __init__(self):
        super().__init__()
        self.ct = nn.ConvTranspose2d(C, C, 2, stride=2)

    def forward(self, x):
        return self.ct(x)


DYNAMIC_ODD = {"conv_transpose2d": ("aten::conv_transpose2d", StridedConvTranspose),
               "upsample_nearest2d": ("aten::upsample_nearest2d", Upsample)}


def dynamic_middle(odd_name):
    kind, odd_cls = DYNAMIC_ODD[odd_name]
    torch.manual_seed(0)
    m = DynamicMiddle(odd_cls()).eval()
    _randomize_bn(m.stem.bn)
    return torch.jit.script(m), kind
