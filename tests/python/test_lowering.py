"""Lowering: dicts filled in place (core/frontend/lowering/remove_dict_mutation.cpp), writes into
slices (functionalize_view_writes.cpp) and the check for writes that are read again.

A dict written and read with constant keys becomes values: the model compiles whole into one
engine and returns the dict rebuilt (same keys, same order, overwritten keys keeping their first
position). Dicts the pass must leave alone (a write in a loop, len() between writes, a key
computed at run time) keep their writes in TorchScript and still give TorchScript's results."""
from typing import Dict, List, Optional, Tuple, Union

import pytest
import torch
from torch import nn

import trtorch
from conftest import graph_kinds as kinds

ENGINE = "trtorch::execute_engine"


def compile_ref(m, shapes, **settings):
    return trtorch.compile(m, dict({"input_shapes": shapes, "device": "reference"}, **settings))


def assert_same(got, want):
    assert type(got) is type(want), (type(got), type(want))
    if isinstance(want, dict):
        assert list(got) == list(want), (list(got), list(want))
        for k in want:
            assert_same(got[k], want[k])
    elif isinstance(want, (tuple, list)):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert_same(g, w)
    elif isinstance(want, torch.Tensor):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    else:
        assert got == want, (got, want)


class FeaturesThenHeads(nn.Module):
    """IntermediateLayerGetter's pattern: features written into a dict, read back by the heads,
    the result another dict; one key overwritten (it keeps its first position)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, padding=1)
        self.b = nn.Conv2d(4, 4, 3, padding=1)
        self.head = nn.Conv2d(4, 2, 1)

    def forward(self, x) -> Dict[str, torch.Tensor]:
        feats: Dict[str, torch.Tensor] = {}
        feats["low"] = torch.relu(self.a(x))
        feats["high"] = torch.relu(self.b(feats["low"]))
        result: Dict[str, torch.Tensor] = {"out": x[:, :2]}
        result["aux"] = self.head(feats["low"])
        result["out"] = self.head(feats["high"]) * 2.0
        return result


class IntKeys(nn.Module):
    def forward(self, x) -> Tuple[torch.Tensor, Dict[int, torch.Tensor]]:
        d: Dict[int, torch.Tensor] = {}
        d[3] = x * 2.0
        d[1] = torch.sigmoid(d[3])
        return d[1] + d[3], d


def test_filled_dicts_compile_whole():
    x = torch.randn(2, 3, 8, 8)
    for m in (torch.jit.script(FeaturesThenHeads().eval()), torch.jit.script(IntKeys().eval())):
        trt = compile_ref(m, [list(x.shape)], require_full_compilation=True)
        k = kinds(trt.graph)
        assert k.count(ENGINE) == 1 and "aten::_set_item" not in k and "aten::__getitem__" not in k, trt.graph
        assert_same(trt(x), m(x))


class WrittenInLoop(nn.Module):
    """A write inside a loop whose trip count is known only once the input's shape is (a use in a
    nested block at lowering): left to TorchScript."""

    def forward(self, x) -> Dict[str, torch.Tensor]:
        d: Dict[str, torch.Tensor] = {}
        d["a"] = torch.relu(x) * 2.0 + 1.0
        for _ in range(x.size(0)):
            d["a"] = d["a"] * 3.0 - 1.0
        return d


class LenBetweenWrites(nn.Module):
    """len() reads the dict between two writes (a use other than a constant-key write or read
    before the last write): left to TorchScript."""

    def forward(self, x) -> Tuple[torch.Tensor, List[str]]:
        d: Dict[str, torch.Tensor] = {}
        d["a"] = torch.relu(x) * 2.0 + 1.0
        n = len(d)
        d["b"] = d["a"] * float(n + 2)
        return d["b"], list(d.keys())


class KeysAfterWrites(nn.Module):
    """keys() after the last write reads the final entries: rewritten (a dict built once)."""

    def forward(self, x) -> Tuple[torch.Tensor, List[str]]:
        d: Dict[str, torch.Tensor] = {}
        d["b"] = torch.relu(x) * 2.0 + 1.0
        d["a"] = d["b"] * 3.0
        return d["a"], list(d.keys())


class RuntimeKey(nn.Module):
    def forward(self, x, names: List[str]) -> Dict[str, torch.Tensor]:
        d: Dict[str, torch.Tensor] = {}
        d[names[0]] = torch.relu(x) * 2.0 + 1.0
        return d


def test_dicts_the_pass_leaves_alone_keep_torchscript_semantics():
    x = torch.randn(2, 3, 4)
    for cls in (WrittenInLoop, LenBetweenWrites):
        m = torch.jit.script(cls().eval())
        trt = compile_ref(m, [list(x.shape)])
        assert "aten::_set_item" in kinds(trt.graph), trt.graph
        assert_same(trt(x), m(x))
    m = torch.jit.script(KeysAfterWrites().eval())
    trt = compile_ref(m, [list(x.shape)])
    assert "aten::_set_item" not in kinds(trt.graph) and kinds(trt.graph).count(ENGINE) == 1, trt.graph
    assert_same(trt(x), m(x))
    m = torch.jit.script(RuntimeKey().eval())
    assert "aten::_set_item" in kinds(m.graph)
    report = trtorch.check_method_op_support(m, "forward")
    assert report is False or report is True  # it reports, it does not raise


# --- Writes into slices ------------------------------------------------------------------------

class SliceWrites(nn.Module):
    """Writes into slices and elements of a computed tensor (copy_, +=, *=, a scalar fill, a
    strided slice, a chain select-slice-select), then reads of the whole tensor."""

    def forward(self, x, z):
        y = x * 2.0
        y[:, 1:3] = z
        y[0] += z[0, 0]
        y[:, -1] *= 3.0
        y[:, :, ::2] = 0.5
        y[1, 2:4, 1] = torch.relu(z[1, :, 0])
        return torch.softmax(y, -1)


class WriteInLoop(nn.Module):
    """torchvision's batch_images: a write into a row of a new tensor inside a loop (the base comes
    from the enclosing block): left in place, so in TorchScript."""

    def forward(self, x):
        out = torch.zeros_like(x)
        for i in range(x.size(0)):
            out[i].copy_(torch.relu(x[i]) + 1.0)
        return out * 2.0


class WriteReadThroughOldView(nn.Module):
    """A view taken before the write and read after it sees the write (it shares memory): left
    in place."""

    def forward(self, x):
        y = x * 2.0
        row = y[0]
        y[0, 1:3] = 5.0
        return row + 1.0, y


def test_writes_into_slices_become_pure_ops():
    x, z = torch.randn(2, 5, 6), torch.randn(2, 2, 6)
    m = torch.jit.script(SliceWrites().eval())
    trt = compile_ref(m, [[2, 5, 6], [2, 2, 6]], require_full_compilation=True)
    k = kinds(trt.graph)
    assert k.count(ENGINE) == 1 and "aten::copy_" not in k and "aten::add_" not in k, trt.graph
    assert_same(trt(x, z), m(x, z))


def test_writes_the_pass_leaves_alone_stay_in_torchscript():
    x = torch.randn(3, 4, 5)
    for cls, op in ((WriteInLoop, "aten::copy_"), (WriteReadThroughOldView, "aten::copy_")):
        m = torch.jit.script(cls().eval())
        trt = compile_ref(m, [list(x.shape)])
        assert op in kinds(trt.graph), trt.graph
        assert_same(trt(x), m(x))
        with pytest.raises(RuntimeError, match="in-place"):
            compile_ref(m, [list(x.shape)], require_full_compilation=True)


class TracedViewUpdates(nn.Module):
    """BEiT's relative position index: `rc[:, :, 0] += k` on a tensor the call makes, which the
    tracer records as the in-place op on a view followed by a copy_ of its result into the same
    view, then a read of the whole tensor; and the same on a tensor computed from the input."""

    def forward(self, x):
        g = torch.flatten(torch.stack(torch.meshgrid(torch.arange(3), torch.arange(4), indexing="ij")), start_dim=1)
        rc = (g[:, :, None] - g[:, None, :]).permute(1, 2, 0).contiguous()
        rc[:, :, 0] += 2
        rc[:, :, 1] += 3
        rc[:, :, 0] *= 7
        y = x * 2.0
        y[:, 1:3] -= x[:, :2]
        y[0] *= 0.5
        return y + rc.sum(-1).float(), y


def test_traced_view_updates_become_pure_ops():
    torch.manual_seed(0)
    x = torch.randn(12, 12)
    traced = torch.jit.trace(TracedViewUpdates().eval(), (x,), check_trace=False)
    assert "aten::copy_" in kinds(traced.graph)  # the tracer's write-back
    trt = compile_ref(traced, [[12, 12]], require_full_compilation=True)
    k = kinds(trt.graph)
    assert k.count(ENGINE) == 1 and "aten::copy_" not in k, trt.graph
    x2 = torch.randn(12, 12)
    assert_same(trt(x2), TracedViewUpdates()(x2))


class IndexWrites(nn.Module):
    """Writes by index tensors: a mask computed from the input (index_put_ with a list holding an
    engine tensor, which torch's RemoveTensorMutation leaves), `+=` at an index list through a
    whole-dim slice, an argmax-chosen position; the written tensors are returned in a tuple next
    to the input (a container with other elements is no alias of the written tensor)."""

    def forward(self, x):
        w = x * 3.0
        w[x > 0.5] = 0.0
        z = x * 2.0
        z[:, torch.argmax(x[0], 0)] += 1.5
        return w, z, x


def test_writes_by_index_become_scatter_ops():
    x = torch.randn(4, 5)
    m = torch.jit.script(IndexWrites().eval())
    trt = compile_ref(m, [[4, 5]], require_full_compilation=True)
    k = kinds(trt.graph)
    assert k.count(ENGINE) == 1 and "aten::index_put_" not in k, trt.graph
    for seed in (0, 1):
        x = torch.randn(4, 5, generator=torch.Generator().manual_seed(seed))
        assert_same(trt(x), m(x))


class _Store(nn.Module):
    def __init__(self):
        super().__init__()
        self.saved: List[torch.Tensor] = [torch.zeros(1)]
        self.scale = torch.ones(1)

    def build(self, x):
        self.saved = [x, x * 2.0]
        self.scale = x.mean().reshape(1)

    def read(self, i: int):
        return self.saved[i] * self.scale


class AttributesWrittenThenRead(nn.Module):
    """A submodule keeps results between two of its methods (RAFT's correlation block): written
    and read back in one call, so the attributes become values and the model compiles whole."""

    def __init__(self):
        super().__init__()
        self.store = _Store()

    def forward(self, x):
        self.store.build(torch.relu(x))
        return self.store.read(0) + self.store.read(1)


class AttributeCarriedAcrossCalls(nn.Module):
    """An attribute read before it is written: the previous call's value (state). Left alone."""

    def __init__(self):
        super().__init__()
        self.last = torch.zeros(2, 3)

    def forward(self, x):
        y = x + self.last
        self.last = x * 1.0
        return y * 2.0


class AttributeWrittenInLoop(nn.Module):
    """An attribute written before a loop and again inside it, after the body reads it: each
    iteration reads the previous one's value (a running state over the loop)."""

    def __init__(self):
        super().__init__()
        self.acc = torch.zeros(2, 3)

    def forward(self, x):
        self.acc = x * 1.0
        for i in range(x.size(0)):  # a trip count lowering does not know (the loop stays a loop)
            y = self.acc * 2.0 + float(i)
            self.acc = y
        return self.acc + 1.0


def test_attributes_written_then_read_in_one_call_become_values():
    m = torch.jit.script(AttributesWrittenThenRead().eval())
    trt = compile_ref(m, [[2, 3]], require_full_compilation=True)
    k = kinds(trt.graph)
    assert k.count(ENGINE) == 1 and "prim::SetAttr" not in k, trt.graph
    for seed in (0, 1):
        x = torch.randn(2, 3, generator=torch.Generator().manual_seed(seed))
        assert_same(trt(x), m(x))
    m = torch.jit.script(AttributeWrittenInLoop().eval())
    trt = compile_ref(m, [[2, 3]])
    x = torch.randn(2, 3)
    assert_same(trt(x), m(x))
    ref, m = (torch.jit.script(AttributeCarriedAcrossCalls().eval()) for _ in range(2))
    trt = compile_ref(m, [[2, 3]])
    assert "prim::SetAttr" in kinds(trt.graph), trt.graph
    for seed in (0, 1, 2):  # each call sees the one before
        x = torch.randn(2, 3, generator=torch.Generator().manual_seed(seed))
        assert_same(trt(x), ref(x))


class TrainingOnlyState(nn.Module):
    """A buffer a submodule updates only in training mode (an observer's running range, a
    QAT weight scale): in eval mode nothing writes it, but freezing keeps the read."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)
        self.register_buffer("scale", torch.linspace(0.5, 1.5, 3))

    def forward(self, x):
        if self.training:
            self.scale = x.detach().abs().amax(0)
        return self.lin(x) * self.scale


class WithTrainingOnlyState(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = TrainingOnlyState()

    def forward(self, x):
        return torch.relu(self.inner(x))


def test_attributes_written_only_in_training_are_constants_in_eval():
    m = torch.jit.script(WithTrainingOnlyState().eval())
    trt = compile_ref(m, [[2, 3]], require_full_compilation=True)
    assert kinds(trt.graph).count(ENGINE) == 1, trt.graph
    x = torch.randn(2, 3)
    assert_same(trt(x), m(x))
    # The compile read the buffer; the module's own state is untouched.
    torch.testing.assert_close(m.inner.scale, torch.linspace(0.5, 1.5, 3))


class WriteIntoState(nn.Module):
    """A write into a slice of a buffer: module state that the next call sees. Left in place."""

    def __init__(self):
        super().__init__()
        self.register_buffer("count", torch.zeros(4))

    def forward(self, x):
        self.count[0:2] += 1.0
        return x * self.count[1] + self.count[3]


class WriteIntoInputView(nn.Module):
    """A write into a view of the caller's tensor: the caller sees it. Left in place."""

    def forward(self, x):
        y = x.view(-1)
        y[0:2] = 0.0
        return x * 2.0


def test_writes_into_state_or_inputs_stay_in_place():
    torch.manual_seed(0)
    ref, m = torch.jit.script(WriteIntoState().eval()), torch.jit.script(WriteIntoState().eval())
    trt = compile_ref(m, [[2, 3]])
    # Compiling (its sample runs find the shapes at engine boundaries) leaves the state as it was.
    assert float(m.count.abs().sum()) == 0.0, m.count
    x = torch.randn(2, 3)
    for _ in range(3):  # the count goes on from call to call in both
        assert_same(trt(x), ref(x))
    m = torch.jit.script(WriteIntoInputView().eval())
    trt = compile_ref(m, [[2, 3]])
    x1, x2 = torch.randn(2, 3), None
    x2 = x1.clone()
    assert_same(trt(x1), m(x2))
    assert_same(x1, x2)  # the caller's tensor written the same way
    assert float(x1.view(-1)[0]) == 0.0


class WriteIntoInputNotReadAgain(nn.Module):
    """An in-place op on the caller's tensor that nothing in the method reads afterwards (a
    normalization of the input written as x.mul_(...))."""

    def forward(self, x):
        y = torch.relu(x) * 2.0
        x.mul_(3.0)
        return y + 1.0


def test_a_write_into_an_input_not_read_again_is_said_or_kept_on_request(capfd):
    m = torch.jit.script(WriteIntoInputNotReadAgain().eval())
    torch.manual_seed(0)
    x = torch.randn(2, 3)
    # By default it runs in the engine as its functional op: TorchScript's result, the caller's
    # tensor unchanged, and a warning that says so (keeping it in TorchScript would keep every
    # reader of the input there too).
    trt = compile_ref(m, [[2, 3]], require_full_compilation=True)
    assert "writes the method's input %x" in capfd.readouterr().err
    assert kinds(trt.graph).count(ENGINE) == 1, trt.graph
    x1, x2 = x.clone(), x.clone()
    assert_same(trt(x1), m(x2))
    assert_same(x1, x)
    # torch_executed_ops keeps the write, and what reads the input before it, in TorchScript.
    trt = compile_ref(m, [[2, 3]], torch_executed_ops=["aten::mul_"], min_block_size=1)
    assert "aten::mul_" in kinds(trt.graph), trt.graph
    x1, x2 = x.clone(), x.clone()
    assert_same(trt(x1), m(x2))  # y is computed from the input before the write
    assert_same(x1, x2)  # and the caller's tensor is written the same way


class _ScaledSwish(torch.autograd.Function):
    """A custom activation as an autograd Function (the way BLOOM writes its GELU); `scale` is a
    non-tensor argument the trace bakes in."""

    @staticmethod
    def forward(ctx, x, gate, scale):
        ctx.save_for_backward(x)
        return x * torch.sigmoid(gate * 1.702) * scale, gate.abs()

    @staticmethod
    def backward(ctx, gy, gz):
        return gy, gz, None


class _WithFunction(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(8, 8)
        self.b = nn.Linear(8, 8)

    def forward(self, x):
        y, z = _ScaledSwish.apply(self.a(x), self.b(x), 0.5)
        return y + z


def test_traced_autograd_functions_compile_as_the_trace_of_their_forward(tmp_path):
    # The tracer keeps a Function's forward as a subgraph of its prim::PythonOp; lowering replaces
    # the op by it, so that the model compiles whole, and the result can be saved (a module
    # holding a PythonOp cannot).
    torch.manual_seed(0)
    m = _WithFunction().eval()
    x = torch.randn(3, 8)
    traced = torch.jit.trace(m, (x,), check_trace=False)
    assert "prim::PythonOp" in kinds(traced.inlined_graph)
    trt = compile_ref(traced, [[3, 8]], require_full_compilation=True)
    assert kinds(trt.graph).count(ENGINE) == 1, trt.graph
    with torch.no_grad():
        want = m(x)
        torch.testing.assert_close(trt(x), want, rtol=1e-5, atol=1e-5)
        path = str(tmp_path / "m.ts")
        torch.jit.save(trt, path)
        torch.testing.assert_close(torch.jit.load(path)(x), want, rtol=1e-5, atol=1e-5)
    # The op support check agrees.
    assert trtorch.check_method_op_support(traced)


class _Aliases(nn.Module):
    def forward(self, x, y):
        a = torch.multiply(x, y) + torch.subtract(x, y, alpha=2) + torch.divide(x, y.abs() + 1) + torch.true_divide(x, 3)
        b = torch.clip(x, -0.5, 0.5) + torch.negative(y) + torch.absolute(x) + torch.fix(x * 3)
        c = torch.greater(x, y).float() + torch.less_equal(x, y).float() + torch.not_equal(x, y).float()
        return torch.concatenate([a, b, c], 0)


class _InSubmodule(nn.Module):
    def __init__(self):
        super().__init__()
        self.m = _Aliases()

    def forward(self, x, y):
        return self.m(x, y)


def test_traced_op_aliases_compile_as_their_canonical_ops():
    # A traced submodule keeps the alias it called (aten::multiply, aten::clip, ...; the tracer
    # normalizes only the top-level method); lowering maps each to its canonical op, as scripting does.
    x, y = torch.randn(3, 4), torch.randn(3, 4)
    traced = torch.jit.trace(_InSubmodule().eval(), (x, y), check_trace=False)
    assert {"aten::multiply", "aten::clip", "aten::greater"} <= set(kinds(traced.inlined_graph))
    trt = compile_ref(traced, [[3, 4], [3, 4]], require_full_compilation=True)
    x2, y2 = torch.randn(3, 4), torch.randn(3, 4)
    assert_same(trt(x2, y2), _Aliases()(x2, y2))


class _DefaultedArgs(nn.Module):
    """timm's VisionTransformer.forward_features(x, attn_mask=None, is_causal=False): arguments with
    defaults that steer control flow."""

    def forward(self, x, mask: Optional[torch.Tensor] = None, scale: float = 2.0, causal: bool = False):
        if mask is not None or causal:
            x = x + (mask if mask is not None else torch.zeros_like(x))
        return torch.relu(x) * scale


def test_arguments_beyond_the_given_inputs_keep_their_defaults(capfd):
    m = torch.jit.script(_DefaultedArgs().eval())
    x, mask = torch.randn(2, 5), torch.randn(2, 5)
    # One input given: mask, scale and causal are their defaults, folded into one engine, and the
    # compiled forward takes x alone.
    before = trtorch.logging.get_reportable_log_level()
    trtorch.logging.set_reportable_log_level(trtorch.logging.Level.Info)
    try:
        trt = compile_ref(m, [[2, 5]], require_full_compilation=True)
    finally:
        trtorch.logging.set_reportable_log_level(before)
    logs = capfd.readouterr()
    assert kinds(trt.graph).count(ENGINE) == 1 and "prim::If" not in kinds(trt.graph), trt.graph
    assert_same(trt(x), m(x))
    with pytest.raises(RuntimeError):
        trt(x, mask)
    # The log names what was fixed.
    assert "keep their defaults" in "".join(logs), logs



def test_tensor_attributes_that_require_grad_become_constants():
    # timm's EVA-02: freezing leaves its class token (a parameter, which requires grad) as an
    # attribute read; lowering makes it a constant, detached (TorchScript refuses constants that
    # require grad: this compile failed with "Unsupported value kind: Tensor"). timm is on the GPU
    # machine's image, not a dependency of the project.
    timm = pytest.importorskip("timm")
    torch.manual_seed(0)
    m = timm.create_model("eva02_tiny_patch14_224", pretrained=False, num_classes=10).eval()
    s = torch.jit.script(m)
    assert any(n.s("name") == "cls_token" for n in torch.jit.freeze(s).graph.findAllNodes("prim::GetAttr"))
    x = torch.randn(1, 3, 224, 224)
    trt = compile_ref(s, [[1, 3, 224, 224]], require_full_compilation=True)
    assert kinds(trt.graph).count(ENGINE) == 1
    with torch.no_grad():
        torch.testing.assert_close(trt(x), s(x), rtol=1e-4, atol=1e-4)


class _EitherInput(nn.Module):
    def forward(self, x: Union[torch.Tensor, List[torch.Tensor]]) -> torch.Tensor:
        if isinstance(x, torch.Tensor):
            feats = [x]
        else:
            feats = x
        return torch.cat(feats, 1).sum(1, keepdim=True)


class _DenseStyle(nn.Module):
    """timm's DenseNet: a layer taking Union[Tensor, List[Tensor]] that tests which it got."""

    def __init__(self):
        super().__init__()
        self.a = _EitherInput()
        self.b = _EitherInput()

    def forward(self, x):
        y = self.a(x)
        return self.b([x, y, x * 2.0])


def test_isinstance_on_a_static_type_is_decided_at_compile_time():
    m = torch.jit.script(_DenseStyle().eval())
    assert "prim::isinstance" in kinds(m.inlined_graph)
    x = torch.randn(2, 3, 4)
    trt = compile_ref(m, [[2, 3, 4]], require_full_compilation=True)
    assert kinds(trt.graph).count(ENGINE) == 1, trt.graph
    assert_same(trt(x), m(x))


class _ResidualThenSplit(nn.Module):
    """timm's SKNet: `x += shortcut; x = relu_(x)`, and the next block splits x (a list of views)."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(4, 4, 3, padding=1)
        self.c2 = nn.Conv2d(2, 2, 1)

    def forward(self, x):
        shortcut = x
        y = self.c1(x)
        y += shortcut
        y = torch.relu_(y)
        parts = torch.split(y, 2, 1)
        return self.c2(parts[0]) + parts[1], y


def test_reads_after_a_chain_of_in_place_ops_see_the_new_values():
    m = torch.jit.script(_ResidualThenSplit().eval())
    x = torch.randn(2, 4, 5, 5)
    trt = compile_ref(m, [[2, 4, 5, 5]], require_full_compilation=True)
    assert kinds(trt.graph).count(ENGINE) == 1, trt.graph
    with torch.no_grad():
        assert_same(trt(x), m(x))


class _ListConcat(nn.Module):
    """timm's DLA: the features of a tree level joined with `[x2, x1] + children`."""

    def forward(self, x):
        children: List[torch.Tensor] = []
        children.append(x * 2.0)
        a = torch.relu(x)
        feats = [a, x + 1.0] + children
        more = feats + [a * a]
        return torch.cat(more, 1), len(more)


def test_list_concatenation_of_engine_tensors():
    m = torch.jit.script(_ListConcat().eval())
    x = torch.randn(2, 3)
    trt = compile_ref(m, [[2, 3]], require_full_compilation=True)
    assert kinds(trt.graph).count(ENGINE) == 1, trt.graph
    assert_same(trt(x), m(x))


class _MemoBias(nn.Module):
    """timm's LeViT: attention biases memoized in a dict attribute keyed by the input's device."""
    cache: Dict[str, torch.Tensor]

    def __init__(self):
        super().__init__()
        self.biases = nn.Parameter(torch.randn(3, 10))
        self.register_buffer("idxs", torch.randint(0, 10, (4, 4)), persistent=False)
        self.cache = {}

    def get_biases(self, device: torch.device) -> torch.Tensor:
        if self.training:
            return self.biases[:, self.idxs]
        key = str(device)
        if key not in self.cache:
            self.cache[key] = self.biases[:, self.idxs]
        return self.cache[key]

    def forward(self, x):
        return torch.softmax(x + self.get_biases(x.device), -1)


def test_a_memo_in_a_dict_attribute_reads_as_its_value():
    m = torch.jit.script(_MemoBias().eval())
    x = torch.randn(2, 3, 4, 4)
    trt = compile_ref(m, [[2, 3, 4, 4]], require_full_compilation=True)
    k = kinds(trt.graph)
    assert k.count(ENGINE) == 1 and "prim::If" not in k, trt.graph
    with torch.no_grad():
        assert_same(trt(x), m(x))
        assert_same(trt(x), m(x))  # the second call of the original reads its memo


class _AssertsEvenWidth(nn.Module):
    def forward(self, x):
        torch._assert(x.shape[1] % 2 == 0, "")  # timm's _assert, with an empty message
        return x * 2.0


def test_an_assertion_from_a_builtin_names_the_models_line():
    # torch._assert's code has no file of its own ("<string>"): the error names the model's line.
    m = torch.jit.script(_AssertsEvenWidth().eval())
    with pytest.raises(RuntimeError) as e:
        compile_ref(m, [[2, 3]], require_full_compilation=True)
    assert "raises an exception" in str(e.value) and "test_lowering.py" in str(e.value), str(e.value)
