"""Partial compilation (issue 17): what trtorch cannot compile (or what the settings force to
Torch) stays in TorchScript, the rest becomes engine segments, in one TorchScript module.

Every test compares the compiled module with the TorchScript module it came from, on the same
inputs (FP32; the reference backend everywhere, the CUDA backend too where a GPU is present), and
checks the structure of the result: how many `trtorch::execute_engine` calls its forward graph
has (nested prim::If / prim::Loop blocks included) and which ops stay in TorchScript.

The models live in partition_models.py; their docstrings count the operations of each
supported island after lowering, which is what the expected engine counts follow from.

API this file relies on (the contract of issue 17):
- settings keys `require_full_compilation` (default False), `min_block_size` (default 3),
  `torch_executed_ops`, `torch_executed_modules`, and TRTorch v0.4's
  `torch_fallback: {enabled, min_block_size, forced_fallback_ops, forced_fallback_modules}`;
- the compiled forward graph holds one `trtorch::execute_engine` node per engine segment, and
  the TorchScript segments inline (ordinary aten/prim nodes in the same graph and its blocks);
- collection inputs (List/Tuple/Dict of tensors) take their shapes from `input_shapes` given
  flat, one entry per tensor in the order the tensors appear in the flattened forward
  arguments (see `_flat_shapes_note` below);
- settings errors are ValueError/TypeError (Python checks) or trtorch.Error (a RuntimeError, C++
  checks) naming the problem; compile errors are trtorch.Error.
"""

import collections
import re

import pytest
import torch
from torch import nn
from typing import List

import partition_models as pm
import trtorch
from conftest import run_python

DEVICES = ["reference"] + (["gpu"] if torch.cuda.is_available() else [])
ENGINE = "trtorch::execute_engine"
# FP32 against TorchScript: the engines' convolutions and GEMMs sum in another order.
RTOL, ATOL = 1e-4, 1e-5
# What a problem in the settings dictionary may raise: the Python checks raise ValueError /
# TypeError, the C++ checks trtorch.Error (a RuntimeError). Either way the message names it.
SETTINGS_ERRORS = (ValueError, TypeError, RuntimeError)

X_SHAPE = [2, pm.C, 8, 8]


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


def _torch_device(device):
    return "cuda" if device == "gpu" else "cpu"


def to_device(value, device):
    """Moves every tensor of a (nested) tuple / list / dict to the device."""
    dev = _torch_device(device)
    if isinstance(value, torch.Tensor):
        return value.to(dev)
    if isinstance(value, tuple):
        return tuple(to_device(v, device) for v in value)
    if isinstance(value, list):
        return [to_device(v, device) for v in value]
    if isinstance(value, dict):
        return {k: to_device(v, device) for k, v in value.items()}
    return value


def randn(*shape, seed=0, scale=1.0, shift=0.0):
    torch.manual_seed(seed)
    return torch.randn(*shape) * scale + shift


def compile_for(m, device, input_shapes, **settings):
    """trtorch.compile(m) for the device in FP32, with the extra settings. On the GPU the
    TorchScript module is moved there first (its Torch segments and the comparison run there)."""
    if device == "gpu":
        m.to("cuda")
    spec = {"input_shapes": input_shapes, "device": device, "op_precision": torch.float32}
    spec.update(settings)
    return trtorch.compile(m, spec)


def assert_same(got, want, where="output"):
    """The compiled module's result against TorchScript's: the same nesting of tuples, lists and
    dicts (same keys, same order), tensors of the same dtype, shape and device; floating-point
    tensors within RTOL/ATOL, integer and bool tensors equal."""
    if isinstance(want, torch.Tensor):
        assert isinstance(got, torch.Tensor), "%s: got %s, expected a Tensor" % (where, type(got).__name__)
        assert got.dtype == want.dtype, "%s: dtype %s, expected %s" % (where, got.dtype, want.dtype)
        assert got.shape == want.shape, "%s: shape %s, expected %s" % (where, tuple(got.shape), tuple(want.shape))
        assert got.device == want.device, "%s: device %s, expected %s" % (where, got.device, want.device)
        if want.is_floating_point():
            torch.testing.assert_close(got, want, rtol=RTOL, atol=ATOL, msg=lambda m: "%s: %s" % (where, m))
        else:
            assert torch.equal(got, want), "%s: %s values differ" % (where, want.dtype)
    elif isinstance(want, (tuple, list)):
        assert type(got) is type(want), "%s: got %s, expected %s" % (where, type(got).__name__, type(want).__name__)
        assert len(got) == len(want), "%s: %d elements, expected %d" % (where, len(got), len(want))
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, "%s[%d]" % (where, i))
    elif isinstance(want, dict):
        assert isinstance(got, dict), "%s: got %s, expected a dict" % (where, type(got).__name__)
        assert list(got) == list(want), "%s: keys %s, expected %s" % (where, list(got), list(want))
        for k in want:
            assert_same(got[k], want[k], "%s[%r]" % (where, k))
    else:
        assert got == want, "%s: %r, expected %r" % (where, got, want)


def check_against_torchscript(m, trt, *inputs):
    with torch.no_grad():
        want = m(*inputs)
        got = trt(*inputs)
    assert_same(got, want)
    return got


# --- The structure of a compiled module --------------------------------------------------------

def all_nodes(block):
    """Every node of a graph or block, nested blocks included."""
    for n in block.nodes():
        yield n
        for b in n.blocks():
            yield from all_nodes(b)


def engine_count(module_or_block):
    """`trtorch::execute_engine` calls in a module's forward graph (or one block), nested
    blocks included."""
    block = module_or_block.graph if isinstance(module_or_block, torch.jit.ScriptModule) else module_or_block
    return sum(1 for n in all_nodes(block) if n.kind() == ENGINE)


def direct_engine_count(block):
    """Engine calls directly in this graph/block, not in its nested blocks."""
    return sum(1 for n in block.nodes() if n.kind() == ENGINE)


def torch_ops(module):
    """Counter of the kinds of the nodes that stay in TorchScript (nested blocks included)."""
    return collections.Counter(n.kind() for n in all_nodes(module.graph) if n.kind() != ENGINE)


CONV = ("aten::conv2d", "aten::_convolution", "aten::convolution")


def count_kinds(module, kinds):
    ops = torch_ops(module)
    return sum(ops[k] for k in kinds)


def assert_engines(trt, expected):
    n = engine_count(trt)
    assert n == expected, "%d engine calls, expected %d; compiled graph:\n%s" % (n, expected, trt.graph)


def with_engines(node):
    """The blocks of a prim::If / prim::Loop node that hold engine calls."""
    return [b for b in node.blocks() if engine_count(b) > 0]


def control_flow_with_engines(trt, kind):
    """Top-level nodes of `kind` (prim::If or prim::Loop) whose blocks hold engine calls."""
    return [n for n in trt.graph.nodes() if n.kind() == kind and with_engines(n)]


# --- 1. An unsupported op at the start, in the middle, at the end -----------------------------

@pytest.mark.parametrize("odd", list(pm.UNSUPPORTED))
@pytest.mark.parametrize("position", list(pm.POSITIONS))
def test_unsupported_op_at_start_middle_end(device, position, odd):
    m, kind, engines = pm.unsupported_at(position, odd)
    graph_before = str(m.graph)
    trt = compile_for(m, device, [X_SHAPE])
    assert str(m.graph) == graph_before, "compiling must not change the TorchScript module"
    x = to_device(randn(*X_SHAPE), device)
    check_against_torchscript(m, trt, x)
    assert_engines(trt, engines)
    ops = torch_ops(trt)
    assert ops[kind] >= 1, "%s must stay in TorchScript; compiled graph:\n%s" % (kind, trt.graph)
    # Every supported compute op went into an engine.
    for supported in CONV + ("aten::linear", "aten::relu", "aten::mean", "aten::sigmoid", "aten::add"):
        assert ops[supported] == 0, "%s left in TorchScript; compiled graph:\n%s" % (supported, trt.graph)
    # Other inputs of the same shape give the same results as TorchScript too.
    check_against_torchscript(m, trt, to_device(randn(*X_SHAPE, seed=1, scale=3.0), device))


def test_fully_supported_model_is_one_engine(device):
    m = pm.fully_supported()
    x = to_device(randn(*X_SHAPE), device)
    for settings in ({}, {"require_full_compilation": True}, {"require_full_compilation": False},
                     {"torch_fallback": {"enabled": True}}, {"torch_fallback": {"enabled": False}}):
        trt = compile_for(m, device, [X_SHAPE], **settings)
        check_against_torchscript(m, trt, x)
        assert_engines(trt, 1)
        assert count_kinds(trt, CONV + ("aten::linear",)) == 0


def test_unet_from_the_issue(device):
    """Issue 17's example: a small U-Net refused whole before partial compilation, because of
    aten::conv_transpose2d and aten::upsample_nearest2d; since issue 18 both convert, and the
    U-Net compiles whole, with and without require_full_compilation."""
    m = pm.tiny_unet()
    for settings in ({}, {"require_full_compilation": True}):
        trt = compile_for(m, device, [[1, 3, 16, 16]], **settings)
        for seed in (0, 1):
            check_against_torchscript(m, trt, to_device(randn(1, 3, 16, 16, seed=seed), device))
        assert_engines(trt, 1)
        assert count_kinds(trt, CONV + ("aten::conv_transpose2d", "aten::upsample_nearest2d")) == 0, trt.graph
    # Forced to Torch, the two ops split it: the encoder, decoder block and output convolutions
    # are engines; no convolution stays.
    trt = compile_for(m, device, [[1, 3, 16, 16]],
                      torch_executed_ops=["aten::conv_transpose2d", "aten::upsample_nearest2d"])
    check_against_torchscript(m, trt, to_device(randn(1, 3, 16, 16, seed=2), device))
    ops = torch_ops(trt)
    assert ops["aten::conv_transpose2d"] == 1 and ops["aten::upsample_nearest2d"] >= 1, trt.graph
    assert engine_count(trt) >= 2, trt.graph
    assert count_kinds(trt, CONV) == 0, trt.graph


# --- 2. An op and a submodule forced to Torch --------------------------------------------------

@pytest.mark.parametrize("spelling", ["op_name", "schema", "torch_fallback"])
def test_torch_executed_ops_forces_an_op_to_torch(device, spelling):
    m = pm.forced_ops()
    x = to_device(randn(*X_SHAPE), device)
    # Fully supported: one engine, without a relu in TorchScript.
    trt = compile_for(m, device, [X_SHAPE])
    assert_engines(trt, 1)
    assert torch_ops(trt)["aten::relu"] == 0
    settings = {
        "op_name": {"torch_executed_ops": ["aten::relu"]},
        "schema": {"torch_executed_ops": ["aten::relu(Tensor self) -> Tensor"]},
        "torch_fallback": {"torch_fallback": {"enabled": True, "forced_fallback_ops": ["aten::relu"]}},
    }[spelling]
    trt = compile_for(m, device, [X_SHAPE], **settings)
    check_against_torchscript(m, trt, x)
    # [conv, batch_norm, mul] relu [conv, tanh, add] relu [mean, linear, sigmoid]
    assert_engines(trt, 3)
    assert torch_ops(trt)["aten::relu"] == 2, trt.graph
    assert count_kinds(trt, CONV + ("aten::linear", "aten::tanh")) == 0, trt.graph


def test_torch_executed_ops_overload_names_only_that_overload(device):
    """"aten::add.Tensor" does not force the model's only add (add.Scalar: y + 1.0);
    "aten::add.Scalar" does: [conv, batch_norm, mul, relu, conv, tanh] add [relu, mean, linear,
    sigmoid]."""
    m = pm.forced_ops()
    x = to_device(randn(*X_SHAPE), device)
    trt = compile_for(m, device, [X_SHAPE], torch_executed_ops=["aten::add.Tensor"])
    check_against_torchscript(m, trt, x)
    assert_engines(trt, 1)
    trt = compile_for(m, device, [X_SHAPE], torch_executed_ops=["aten::add.Scalar"])
    check_against_torchscript(m, trt, x)
    assert_engines(trt, 2)
    assert torch_ops(trt)["aten::add"] == 1, trt.graph


def forced_block_name(m):
    """The qualified class name of ForcedBlock as TorchScript reports it
    ("__torch__.partition_models.ForcedBlock")."""
    name = m.block1._c._type().qualified_name()
    assert name.startswith("__torch__.") and name.endswith("ForcedBlock"), name
    return name


@pytest.mark.parametrize("spelling", ["qualified", "without_prefix", "torch_fallback"])
def test_torch_executed_modules_forces_a_submodule_to_torch(device, spelling):
    m = pm.with_forced_blocks()
    x = to_device(randn(*X_SHAPE), device)
    trt = compile_for(m, device, [X_SHAPE])
    assert_engines(trt, 1)
    name = forced_block_name(m)
    settings = {
        "qualified": {"torch_executed_modules": [name]},
        "without_prefix": {"torch_executed_modules": [name[len("__torch__."):]]},
        "torch_fallback": {"torch_fallback": {"enabled": True, "forced_fallback_modules": [name]}},
    }[spelling]
    trt = compile_for(m, device, [X_SHAPE], **settings)
    check_against_torchscript(m, trt, x)
    # stem | ForcedBlock | Middle | ForcedBlock (inside an nn.Sequential) | head
    assert_engines(trt, 3)
    ops = torch_ops(trt)
    # Both blocks' ops stay in TorchScript: 4 convolutions, 2 relus, 2 sigmoids; the stem's,
    # Middle's and the head's ops are in engines.
    assert count_kinds(trt, CONV) == 4, trt.graph
    assert ops["aten::sigmoid"] == 2 and ops["aten::relu"] == 2, trt.graph
    assert ops["aten::linear"] == 0 and ops["aten::batch_norm"] == 0 and ops["aten::tanh"] == 0, trt.graph


# --- 3. A custom operator registered with torch.library ----------------------------------------

@pytest.mark.parametrize("forced", [False, True])
def test_custom_op_stays_in_torch(device, forced):
    m = pm.with_custom_op()
    settings = {"torch_executed_ops": [pm.CUSTOM_OP]} if forced else {}
    trt = compile_for(m, device, [X_SHAPE], **settings)
    for seed in (0, 1):
        check_against_torchscript(m, trt, to_device(randn(*X_SHAPE, seed=seed), device))
    # [conv, relu, conv, mul] mysin [relu, mean, linear, sigmoid]
    assert_engines(trt, 2)
    assert torch_ops(trt)[pm.CUSTOM_OP] == 1, trt.graph
    assert count_kinds(trt, CONV + ("aten::linear",)) == 0, trt.graph


# --- 4. Data-dependent control flow -------------------------------------------------------------

def test_data_dependent_if(device):
    m = pm.data_dependent_if()
    trt = compile_for(m, device, [X_SHAPE])
    positive = to_device(randn(*X_SHAPE, seed=0, shift=1.0), device)  # x.sum() > 0: first branch
    negative = to_device(randn(*X_SHAPE, seed=1, shift=-1.0), device)  # x.sum() < 0: second branch
    assert float(positive.sum()) > 100 and float(negative.sum()) < -100
    out_pos = check_against_torchscript(m, trt, positive)
    out_neg = check_against_torchscript(m, trt, negative)
    assert not torch.allclose(out_pos, out_neg)
    # The prim::If stays in TorchScript, each branch's [conv, relu|sigmoid, conv, add|mul] is an
    # engine of its own; the stem (with x.sum() > 0 or without) and the head are engines.
    ifs = control_flow_with_engines(trt, "prim::If")
    assert len(ifs) == 1, trt.graph
    assert [engine_count(b) for b in ifs[0].blocks()] == [1, 1], trt.graph
    assert direct_engine_count(trt.graph) == 2, trt.graph
    assert_engines(trt, 4)
    assert count_kinds(trt, CONV) == 0, trt.graph


def test_loop_with_trip_count_from_a_tensor(device):
    m = pm.tensor_trip_count_loop()
    trt = compile_for(m, device, [X_SHAPE, [1]], input_dtypes=[torch.float32, torch.int64])
    x = to_device(randn(*X_SHAPE), device)
    outs = []
    for n in (0, 1, 3):
        outs.append(check_against_torchscript(m, trt, x, to_device(torch.tensor([n]), device)))
    assert not torch.allclose(outs[0], outs[2])
    # The prim::Loop stays in TorchScript, its body [conv, tanh, mul, add] is one engine; stem
    # and head are engines at the top level.
    loops = control_flow_with_engines(trt, "prim::Loop")
    assert len(loops) == 1, trt.graph
    assert [engine_count(b) for b in loops[0].blocks()] == [1], trt.graph
    assert direct_engine_count(trt.graph) == 2, trt.graph
    assert_engines(trt, 3)


def test_while_loop_on_a_tensor_condition(device):
    m = pm.tensor_condition_while()
    trt = compile_for(m, device, [X_SHAPE])
    trips = set()
    for scale, seed in ((0.0, 0), (0.3, 0), (10.0, 0)):
        x = to_device(randn(*X_SHAPE, seed=seed, scale=scale), device)
        n, margin = pm.while_trip_count(m, x)
        assert margin > 1e-3, "the input must not sit on the loop's threshold"
        trips.add(n)
        check_against_torchscript(m, trt, x)
    assert len(trips) == 3, "the inputs must take the loop 3 different numbers of times: %s" % trips
    # The body [conv, tanh, mul, abs, amax, gt] is one engine; stem (+ the first condition) and
    # head are engines at the top level.
    loops = control_flow_with_engines(trt, "prim::Loop")
    assert len(loops) == 1, trt.graph
    assert direct_engine_count(trt.graph) == 2, trt.graph
    assert_engines(trt, 3)


# --- 5. min_block_size -------------------------------------------------------------------------

@pytest.mark.parametrize("settings, engines", [
    ({}, 2),                                                   # default 3: the 2-op island stays
    ({"min_block_size": 3}, 2),
    ({"min_block_size": 2}, 3),
    ({"min_block_size": 1}, 3),
    ({"torch_fallback": {"enabled": True, "min_block_size": 1}}, 3),
    ({"torch_fallback": {"enabled": True, "min_block_size": 3}}, 2),
], ids=["default", "3", "2", "1", "torch_fallback_1", "torch_fallback_3"])
def test_min_block_size(device, settings, engines):
    m = pm.small_island()
    trt = compile_for(m, device, [X_SHAPE], **settings)
    for seed in (0, 1):
        check_against_torchscript(m, trt, to_device(randn(*X_SHAPE, seed=seed), device))
    assert_engines(trt, engines)
    ops = torch_ops(trt)
    # The island [sigmoid, mul] is in TorchScript exactly when it is not an engine.
    in_torch = 1 if engines == 2 else 0
    assert ops["aten::sigmoid"] == in_torch and ops["aten::mul"] == in_torch, trt.graph
    assert ops["aten::logcumsumexp"] == 1 and ops["aten::special_i0e"] == 1


def test_min_block_size_larger_than_every_island_leaves_everything_in_torch(tmp_path, device):
    """No segment is big enough: the compiled module has no engine and is the TorchScript
    code, still correct and still saveable."""
    m = pm.small_island()
    trt = compile_for(m, device, [X_SHAPE], min_block_size=1000)
    x = to_device(randn(*X_SHAPE), device)
    check_against_torchscript(m, trt, x)
    assert_engines(trt, 0)
    assert count_kinds(trt, CONV) == 2
    path = str(tmp_path / "no_engines.ts")
    torch.jit.save(trt, path)
    check_against_torchscript(m, torch.jit.load(path), x)


# --- 6. int64 and bool tensors crossing a boundary ---------------------------------------------

def test_int64_and_bool_from_an_engine_to_torch(device):
    """The engine computes an int64 index tensor and a bool mask; aten::scatter_reduce (int64 index) and
    aten::cummax (bool) consume them in TorchScript; int64 and bool are module outputs too."""
    m = pm.engine_to_torch_int_bool()
    trt = compile_for(m, device, [X_SHAPE])
    for seed in (0, 1):
        got = check_against_torchscript(m, trt, to_device(randn(*X_SHAPE, seed=seed), device))
        assert [t.dtype for t in got] == [torch.float32, torch.bool, torch.int64]
    assert_engines(trt, 1)
    ops = torch_ops(trt)
    assert ops["aten::scatter_reduce"] == 1 and ops["aten::cummax"] == 1, trt.graph
    assert count_kinds(trt, CONV) == 0, trt.graph


def test_int64_and_bool_from_torch_to_an_engine(device):
    """TorchScript computes an int64 tensor (aten::bucketize) and a bool tensor (aten::signbit);
    the engine consumes both (casts, where, int64 arithmetic and comparison, logical ops) and
    returns float, bool and int64 tensors."""
    m = pm.torch_to_engine_int_bool()
    trt = compile_for(m, device, [X_SHAPE])
    for seed in (0, 1):
        got = check_against_torchscript(m, trt, to_device(randn(*X_SHAPE, seed=seed), device))
        assert [t.dtype for t in got] == [torch.float32, torch.bool, torch.int64]
    assert_engines(trt, 1)
    ops = torch_ops(trt)
    assert ops["aten::bucketize"] == 1 and ops["aten::signbit"] == 1, trt.graph
    for kind in CONV + ("aten::where", "aten::eq", "aten::__and__", "aten::logical_not", "aten::linear"):
        assert ops[kind] == 0, "%s left in TorchScript:\n%s" % (kind, trt.graph)


# --- 7. Collections in and out -----------------------------------------------------------------
#
# _flat_shapes_note: `input_shapes` has no nested form today (py/trtorch/_compile_spec.py takes
# one shape or {min, opt, max} range per entry). These tests give the shapes flat, one entry per
# tensor, in the order the tensors appear in the flattened forward arguments: a List[Tensor]
# argument contributes one entry per list element (the list's length at run time must be that
# count), a Tuple one per element, a Dict[str, Tensor] one per key in the order of the dict the
# module is called with (here: sorted order = insertion order = first use in forward). If the
# implementation adds a nested form for input_shapes (e.g. [[shape, shape]] for a list argument,
# {"key": shape} for a dict argument), these tests are to be switched to it.

def test_list_of_tensors_input(device):
    m = pm.scripted(pm.ListInput)
    shape = [2, 2, 8, 8]
    trt = compile_for(m, device, [shape, shape])  # flat: xs[0], xs[1]
    for seed in (0, 1):
        xs = to_device([randn(*shape, seed=seed), randn(*shape, seed=seed + 10)], device)
        check_against_torchscript(m, trt, xs)
    assert_engines(trt, 2)  # [cat, conv, relu, add] logcumsumexp [conv, relu, mean, linear, sigmoid]
    assert count_kinds(trt, CONV + ("aten::cat",)) == 0, trt.graph


def test_tuple_input_and_a_plain_tensor(device):
    m = pm.scripted(pm.TupleInput)
    trt = compile_for(m, device, [X_SHAPE, X_SHAPE, X_SHAPE])  # flat: xy[0], xy[1], z
    for seed in (0, 1):
        xy = to_device((randn(*X_SHAPE, seed=seed), randn(*X_SHAPE, seed=seed + 10)), device)
        z = to_device(randn(*X_SHAPE, seed=seed + 20), device)
        check_against_torchscript(m, trt, xy, z)
    assert_engines(trt, 2)  # [conv, relu, mul, add] special_i0e [conv, tanh, mean, linear]
    assert count_kinds(trt, CONV) == 0, trt.graph


def test_dict_input(device):
    m = pm.scripted(pm.DictInput)
    scale_shape = [2, pm.C, 1, 1]
    trt = compile_for(m, device, [X_SHAPE, scale_shape])  # flat: d["a_image"], d["b_scale"]
    for seed in (0, 1):
        d = to_device({"a_image": randn(*X_SHAPE, seed=seed), "b_scale": randn(*scale_shape, seed=seed + 10)},
                      device)
        check_against_torchscript(m, trt, d)
    assert_engines(trt, 2)  # [conv, relu, mul] logcumsumexp [conv, relu, mean, linear]
    assert count_kinds(trt, CONV) == 0, trt.graph


def test_nested_tuple_and_list_output(device):
    m = pm.scripted(pm.NestedOutput)
    trt = compile_for(m, device, [X_SHAPE])
    got = check_against_torchscript(m, trt, to_device(randn(*X_SHAPE), device))
    # Tuple[Tensor, Tuple[Tensor, List[Tensor]]]; assert_same checked the nesting, here it is
    # spelled out.
    assert isinstance(got, tuple) and isinstance(got[1], tuple) and isinstance(got[1][1], list)
    assert_engines(trt, 2)  # [conv, relu, conv] logcumsumexp [relu, mul, mean, linear, sigmoid]


def test_list_of_dicts_output_like_a_detection_model(device):
    m = pm.scripted(pm.DetectionLike)
    trt = compile_for(m, device, [X_SHAPE])
    for seed in (0, 1):
        x = to_device(randn(*X_SHAPE, seed=seed), device)
        with torch.no_grad():  # topk's order must not hinge on rounding: well-separated scores
            probs = torch.sigmoid(m.cls(torch.relu(m.conv2(torch.relu(m.conv1(x)))).mean([2, 3])))
            top4 = torch.topk(probs, 4, 1)[0]
            assert float((top4[:, :-1] - top4[:, 1:]).min()) > 1e-4
        got = check_against_torchscript(m, trt, x)
        assert isinstance(got, list) and len(got) == 2
        assert all(list(d) == ["boxes", "scores", "labels"] for d in got)
        assert got[0]["labels"].dtype == torch.int64
    # The features, both heads, topk and the per-image loop (over a fixed batch, so unrolled) are
    # one engine; the list of dicts is built around it.
    assert_engines(trt, 1)
    assert torch_ops(trt)["aten::topk"] == 0 and torch_ops(trt)["prim::Loop"] == 0, trt.graph


# --- 8. Dynamic shapes with fallback -----------------------------------------------------------

@pytest.mark.parametrize("odd", list(pm.DYNAMIC_ODD))
def test_dynamic_shapes_with_an_unsupported_op_in_the_middle(device, odd):
    m, kind = pm.dynamic_middle(odd)
    trt = compile_for(m, device, [{"min": [1, pm.C, 4, 4], "opt": [2, pm.C, 8, 8], "max": [4, pm.C, 12, 12]}])
    assert_engines(trt, 2)  # [conv, batch_norm, relu] odd [conv, relu, mean, linear]
    assert torch_ops(trt)[kind] >= 1, trt.graph
    for i, shape in enumerate([(1, pm.C, 4, 4), (2, pm.C, 8, 8), (4, pm.C, 12, 12), (3, pm.C, 5, 7),
                               (4, pm.C, 4, 12), (1, pm.C, 12, 4), (2, pm.C, 8, 8)]):
        check_against_torchscript(m, trt, to_device(randn(*shape, seed=i), device))
    # Outside the range: an error (from the first engine's input checks), not a wrong result.
    with pytest.raises(RuntimeError, match="range"):
        trt(to_device(randn(5, pm.C, 8, 8), device))


# --- 9. Saved, loaded in a fresh process with the runtime only ------------------------------

_RUN_SAVED = r"""
import sys, torch
mode, runtime_lib, module_path, inputs_path, outputs_path = sys.argv[1:]
if mode == "import":
    import trtorch
else:  # only the runtime library, trtorch not on the path
    torch.ops.load_library(runtime_lib)
m = torch.jit.load(module_path)
with torch.no_grad():
    torch.save([m(*args) for args in torch.load(inputs_path)], outputs_path)
"""


def _saved_cases(name, device):
    """(model, input_shapes, compile settings, list of argument tuples)."""
    x0, x1 = randn(*X_SHAPE, seed=0), randn(*X_SHAPE, seed=1, scale=2.0)
    if name == "middle":
        m, _, _ = pm.unsupported_at("middle", "logcumsumexp")
        return m, [X_SHAPE], {}, [(x0,), (x1,)]
    if name == "if":
        return pm.data_dependent_if(), [X_SHAPE], {}, [(x0 + 1.0,), (x1 - 2.0,)]
    if name == "forced_module":
        m = pm.with_forced_blocks()
        return m, [X_SHAPE], {"torch_executed_modules": [forced_block_name(m)]}, [(x0,), (x1,)]
    if name == "detection":
        return pm.scripted(pm.DetectionLike), [X_SHAPE], {}, [(x0,), (x1,)]
    if name == "dynamic":
        m, _ = pm.dynamic_middle("upsample_nearest2d")
        spec = [{"min": [1, pm.C, 4, 4], "opt": [2, pm.C, 8, 8], "max": [4, pm.C, 12, 12]}]
        return m, spec, {}, [(randn(1, pm.C, 4, 4),), (randn(3, pm.C, 9, 12, seed=2),)]
    raise AssertionError(name)


@pytest.mark.parametrize("mode", ["import", "load_library"])
@pytest.mark.parametrize("name", ["middle", "if", "forced_module", "detection", "dynamic"])
def test_partitioned_module_saves_and_runs_in_a_fresh_process(tmp_path, device, mode, name):
    m, shapes, settings, cases = _saved_cases(name, device)
    trt = compile_for(m, device, shapes, **settings)
    assert engine_count(trt) >= 1, trt.graph
    cases = to_device(cases, device)
    with torch.no_grad():
        here = [trt(*args) for args in cases]
        want = [m(*args) for args in cases]
    path, inputs_path, outputs_path = tmp_path / "partitioned.ts", tmp_path / "in.pt", tmp_path / "out.pt"
    torch.jit.save(trt, str(path))
    torch.save(cases, str(inputs_path))
    r = run_python(_RUN_SAVED, mode, trtorch.runtime_library_path(), path, inputs_path, outputs_path,
                   with_pythonpath=(mode == "import"))
    assert r.returncode == 0, r.stderr
    there = torch.load(str(outputs_path))
    assert len(there) == len(cases)
    for t, h, w in zip(there, here, want):
        assert_same(t, w)
        assert_same(t, h)
    # Loaded here too, the module has the same structure.
    loaded = torch.jit.load(str(path))
    assert engine_count(loaded) == engine_count(trt)


# --- 10. Settings errors -----------------------------------------------------------------------

def expect_settings_error(compile_fn, error, pattern, **settings):
    """compile_fn(**settings) raises `error` with a message matching `pattern`, and not because
    the key itself is unknown (the settings dictionary before issue 17 rejects the new keys with
    "compile settings: unknown key(s) ...", which would otherwise match a pattern naming the key)."""
    with pytest.raises(error, match=pattern) as e:
        compile_fn(**settings)
    assert "compile settings: unknown key" not in str(e.value), str(e.value)
    return e


def _compile_logcumsumexp_and_i0e(**settings):
    return trtorch.compile(pm.logcumsumexp_and_i0e(), dict({"input_shapes": [X_SHAPE], "device": "reference"}, **settings))


@pytest.mark.parametrize("ops, message", [
    (["aten::definitely_not_an_op"], r"torch_executed_ops.*aten::definitely_not_an_op"),
    (["aten::relu", "trtorch_test::no_such_op"], r"torch_executed_ops.*trtorch_test::no_such_op"),
    (["aten::relu.no_such_overload"], r"torch_executed_ops.*aten::relu.*no_such_overload"),
    (["relu"], r"torch_executed_ops.*'relu'"),
    ([""], r"torch_executed_ops.*empty"),
    (["aten::relu(Tensor self, int nope) -> Tensor"], r"torch_executed_ops.*aten::relu\(Tensor self, int nope\)"),
])
def test_unknown_op_name_in_torch_executed_ops(ops, message):
    expect_settings_error(_compile_logcumsumexp_and_i0e, SETTINGS_ERRORS, message, torch_executed_ops=ops)
    expect_settings_error(_compile_logcumsumexp_and_i0e, SETTINGS_ERRORS,
                          message.replace("torch_executed_ops", "(torch_executed_ops|forced_fallback_ops)"),
                          torch_fallback={"enabled": True, "forced_fallback_ops": ops})


@pytest.mark.parametrize("name", [
    "partition_models.NotInThisModel",            # no such class
    "__torch__.partition_models.ForcedBlock",     # a class of this file, but not in this model
    "torchvision.models.resnet.BasicBlock",
])
def test_unknown_module_name_in_torch_executed_modules(name):
    expect_settings_error(_compile_logcumsumexp_and_i0e, SETTINGS_ERRORS, r"torch_executed_modules.*" + re.escape(name),
                          torch_executed_modules=[name])
    expect_settings_error(_compile_logcumsumexp_and_i0e, SETTINGS_ERRORS,
                          r"(torch_executed_modules|forced_fallback_modules).*" + re.escape(name),
                          torch_fallback={"enabled": True, "forced_fallback_modules": [name]})


def test_malformed_module_name_in_torch_executed_modules():
    expect_settings_error(_compile_logcumsumexp_and_i0e, SETTINGS_ERRORS,
                          r"torch_executed_modules.*not a qualified class name",
                          torch_executed_modules=["partition_models.Forced Block"])
    expect_settings_error(_compile_logcumsumexp_and_i0e, SETTINGS_ERRORS, r"torch_executed_modules.*empty",
                          torch_executed_modules=[""])


@pytest.mark.parametrize("settings", [
    {"require_full_compilation": True, "torch_executed_ops": ["aten::relu"]},
    {"require_full_compilation": True, "torch_executed_modules": ["__torch__.partition_models.ForcedBlock"]},
    {"torch_fallback": {"enabled": False, "forced_fallback_ops": ["aten::relu"]}},
    {"torch_fallback": {"enabled": False, "forced_fallback_modules": ["__torch__.partition_models.ForcedBlock"]}},
], ids=["ops", "modules", "torch_fallback_ops", "torch_fallback_modules"])
def test_full_compilation_conflicts_with_forced_ops_and_modules(settings):
    def compile_forced_blocks(**settings):
        return trtorch.compile(pm.with_forced_blocks(), dict({"input_shapes": [X_SHAPE], "device": "reference"},
                                                             **settings))

    expect_settings_error(compile_forced_blocks, SETTINGS_ERRORS, "conflicting settings", **settings)


@pytest.mark.parametrize("settings, pattern", [
    ({"require_full_compilation": True, "torch_fallback": {"enabled": True}},
     r"require_full_compilation.*torch_fallback|torch_fallback.*require_full_compilation"),
    ({"min_block_size": 2, "torch_fallback": {"enabled": True, "min_block_size": 5}},
     r"min_block_size.*torch_fallback|torch_fallback.*min_block_size"),
], ids=["full_vs_enabled", "min_block_size"])
def test_both_spellings_disagreeing_is_an_error(settings, pattern):
    """A setting given twice with different values (new key and v0.4 spelling) is not silently
    resolved one way."""
    expect_settings_error(_compile_logcumsumexp_and_i0e, SETTINGS_ERRORS, pattern, **settings)


@pytest.mark.parametrize("settings, error, pattern", [
    pytest.param({"min_block_size": 0}, SETTINGS_ERRORS, r"min_block_size.*0", id="min_block_size_0"),
    pytest.param({"min_block_size": -3}, SETTINGS_ERRORS, r"min_block_size.*-3", id="min_block_size_negative"),
    pytest.param({"min_block_size": 2**40}, SETTINGS_ERRORS, r"min_block_size", id="min_block_size_huge"),
    pytest.param({"min_block_size": "3"}, TypeError, r"min_block_size", id="min_block_size_str"),
    pytest.param({"min_block_size": True}, TypeError, r"min_block_size", id="min_block_size_bool"),
    pytest.param({"require_full_compilation": 1}, TypeError, r"require_full_compilation", id="full_int"),
    pytest.param({"torch_executed_ops": "aten::relu"}, TypeError, r"torch_executed_ops", id="ops_str"),
    pytest.param({"torch_executed_ops": [torch.relu]}, TypeError, r"torch_executed_ops", id="ops_function"),
    pytest.param({"torch_executed_modules": "partition_models.ForcedBlock"}, TypeError, r"torch_executed_modules",
                 id="modules_str"),
    pytest.param({"torch_fallback": True}, TypeError, r"torch_fallback", id="torch_fallback_bool"),
    pytest.param({"torch_fallback": {"enabled": True, "min_block_siz": 2}}, ValueError,
                 r"torch_fallback.*min_block_siz", id="torch_fallback_unknown_key"),
    pytest.param({"torch_fallback": {"enabled": "yes"}}, TypeError, r"enabled", id="torch_fallback_enabled_str"),
    pytest.param({"torch_fallback": {"enabled": True, "min_block_size": 0}}, SETTINGS_ERRORS, r"min_block_size",
                 id="torch_fallback_min_block_size_0"),
])
def test_malformed_partition_settings(settings, error, pattern):
    expect_settings_error(_compile_logcumsumexp_and_i0e, error, pattern, **settings)


@pytest.mark.parametrize("settings", [{"require_full_compilation": True}, {"torch_fallback": {"enabled": False}}],
                         ids=["require_full_compilation", "torch_fallback_disabled"])
def test_full_compilation_fails_listing_every_unsupported_op(settings):
    with pytest.raises(trtorch.Error) as e:
        _compile_logcumsumexp_and_i0e(**settings)
    message = str(e.value)
    for op in ("aten::logcumsumexp", "aten::special_i0e"):
        schema = str(torch._C._jit_get_schemas_for_operator(op)[0])
        assert schema in message, "%r not in the message:\n%s" % (schema, message)
    assert "partition_models.py" in message  # the source line of each
    for supported in ("aten::conv2d", "aten::linear", "aten::tanh"):
        assert supported not in message, message


def test_full_compilation_lists_a_custom_op():
    with pytest.raises(trtorch.Error, match=re.escape(pm.CUSTOM_OP) + r"\(Tensor x\) -> Tensor"):
        trtorch.compile(pm.with_custom_op(), {"input_shapes": [X_SHAPE], "device": "reference",
                                              "require_full_compilation": True})


# --- 11. check_method_op_support ---------------------------------------------------------------

def test_check_method_op_support_lists_the_unsupported_ops_of_a_partial_model():
    m = pm.logcumsumexp_and_i0e()
    assert trtorch.check_method_op_support(m, "forward") is False
    ok, report = trtorch.check_method_op_support(m, "forward", report=True)
    assert ok is False
    lines = [line for line in report.splitlines() if line.strip()]
    assert len(lines) == 2, report
    assert "aten::logcumsumexp" in report and "aten::special_i0e" in report
    for supported in ("aten::conv2d", "aten::relu", "aten::linear", "aten::tanh", "aten::mean"):
        assert supported not in report, report
    ok, report = trtorch.check_method_op_support(pm.with_custom_op(), "forward", report=True)
    assert ok is False and pm.CUSTOM_OP in report and "aten::conv2d" not in report
    # Forcing is a compile setting: a fully supported model is still fully supported.
    assert trtorch.check_method_op_support(pm.forced_ops(), "forward") is True


# --- 12. The compile's summary (INFO log) -------------------------------------------------------

def test_compile_logs_what_stays_in_torch_and_why(capfd):
    """Issue 17, point 5: each op left to Torch is logged with its reason. With aten::tanh
    forced, logcumsumexp_and_i0e has: aten::logcumsumexp and aten::special_i0e unsupported, aten::tanh forced, and the
    one-op islands around the tanh (conv, then mul) too small for min_block_size 3."""
    Level = trtorch.logging.Level
    old = trtorch.logging.get_reportable_log_level()
    try:
        trtorch.logging.set_reportable_log_level(Level.Info)
        capfd.readouterr()
        trt = _compile_logcumsumexp_and_i0e(torch_executed_ops=["aten::tanh"])
        err = capfd.readouterr().err
    finally:
        trtorch.logging.set_reportable_log_level(old)
    assert_engines(trt, 2)  # [conv, relu, conv] logcumsumexp conv tanh mul special_i0e [mean, linear, sigmoid]
    lines = err.splitlines()

    def logged(op, *reasons):
        return any(op in line and any(r in line.lower() for r in reasons) for line in lines)

    assert logged("aten::logcumsumexp", "unsupported"), err
    assert logged("aten::special_i0e", "unsupported"), err
    assert logged("aten::tanh", "forced", "torch_executed_ops"), err
    assert logged("aten::mul", "min_block_size", "too small", "small block"), err


# ---- branches fixed by the compile spec -------------------------------------------------------

class _SizeBranch(nn.Module):
    """Branches on the input's batch size, then on the size of a data-dependent intermediate."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(pm.C, pm.C, 3, padding=1)
        self.fc = nn.Linear(pm.C, 4)

    def forward(self, x):
        if x.size(0) > 1:  # fixed by a static spec: inlined
            y = torch.relu(self.conv(x)) * 2.0
        else:
            y = torch.logcumsumexp(x, 3)
        z = y[y > 0.5]  # data-dependent size: the branch below must stay a branch
        if z.size(0) > 0:
            w = z.sum()
        else:
            w = z.new_zeros(())
        return torch.relu(self.fc(y.mean([2, 3]))) + w


def test_branches_fixed_by_the_spec_are_inlined_and_data_dependent_ones_kept(device):
    m = torch.jit.script(_SizeBranch().eval())
    trt = compile_for(m, device, [X_SHAPE])
    kinds = [n.kind() for n in all_nodes(trt.graph)]
    # The batch-size test is gone with its untaken branch (logcumsumexp); the test on the intermediate's
    # size stays.
    assert "aten::logcumsumexp" not in kinds, trt.graph
    # (Not counting the check on entry that a floating input is given a floating tensor.)
    branches = [n for n in all_nodes(trt.graph)
                if n.kind() == "prim::If" and n.inputsAt(0).node().kind() != "aten::is_floating_point"]
    assert len(branches) == 1, trt.graph
    for seed, shift in ((0, 0.0), (1, -100.0), (2, 100.0)):  # some, none and all above the threshold
        check_against_torchscript(m, trt, to_device(randn(*X_SHAPE, seed=seed, shift=shift), device))


def test_interpolate_rank_tests_leave_only_the_op_that_runs(device):
    class Up(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(pm.C, pm.C, 3, padding=1)
            self.c2 = nn.Conv2d(pm.C, pm.C, 3, padding=1)

        def forward(self, x):
            y = torch.relu(self.c1(x)) + 1.0
            y = torch.nn.functional.interpolate(y, scale_factor=2.0, mode="nearest")
            return torch.relu(self.c2(y)) * 2.0

    m = torch.jit.script(Up().eval())
    # Forced to Torch (it converts since issue 18), the op that runs stays; the rank tests around it go.
    trt = compile_for(m, device, [X_SHAPE], torch_executed_ops=["aten::upsample_nearest2d"])
    kinds = [n.kind() for n in all_nodes(trt.graph)]
    assert "aten::upsample_nearest1d" not in kinds and "aten::upsample_nearest3d" not in kinds, trt.graph
    assert_engines(trt, 2)
    check_against_torchscript(m, trt, to_device(randn(*X_SHAPE), device))
    trt = compile_for(m, device, [X_SHAPE])  # not forced: one engine
    assert_engines(trt, 1)
    check_against_torchscript(m, trt, to_device(randn(*X_SHAPE), device))


def test_fp16_build_takes_fp32_and_fp16_input(device):
    # A partially compiled module takes what the TorchScript module takes (FP32), and FP16 too, as a
    # whole engine built in FP16 does; engines cast at their boundaries.
    torch.manual_seed(0)
    # conv_transpose2d (FP32 weights, forced to TorchScript) reads the input first.
    m = torch.jit.script(pm.UnsupportedAtStart(pm.ConvTranspose()).eval())
    trt = compile_for(m, device, [X_SHAPE], op_precision=torch.half, torch_executed_ops=["aten::conv_transpose2d"])
    assert engine_count(trt) == 1, trt.graph
    x = to_device(randn(*X_SHAPE), device)
    with torch.no_grad():
        want = m(x)
        for inp in (x, x.half()):
            got = trt(inp)
            assert got.dtype == want.dtype
            torch.testing.assert_close(got.float(), want.float(), rtol=2e-2, atol=2e-2)


def test_fp16_engines_take_and_give_fp32_where_torchscript_holds_fp32(device):
    # FP16 engines between FP32 TorchScript ops cast at their own boundaries, inside the engine (where
    # the casts join the engine's kernels and CUDA graph): no aten::to around an engine call, only the
    # entry cast of an FP16 argument to the FP32 the TorchScript module computes in.
    torch.manual_seed(0)
    m = torch.jit.script(nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                                       nn.Linear(16, 16)).eval())
    trt = compile_for(m, device, [[4, 16]], op_precision=torch.half, torch_executed_ops=["aten::relu"],
                      min_block_size=1)
    assert_engines(trt, 3)
    casts = [n for n in trt.graph.nodes() if n.kind() == "aten::to"]
    entry = list(trt.graph.inputs())[1].debugName()  # after self
    for n in trt.graph.nodes():
        if n.kind() == ENGINE:
            for v in n.inputsAt(0).node().inputs():  # the engine's input list
                assert v.node().kind() != "aten::to" or v.node().inputsAt(0).debugName() == entry, trt.graph
    assert len(casts) <= 1, trt.graph  # the entry cast (an FP16 argument to FP32) at most
    for i in range(3):
        info = getattr(trt, "trtorch_engine_%d" % i).info()
        assert "precision f16" in info and ":f32[4,16]" in info, info
    x = to_device(randn(4, 16), device)
    with torch.no_grad():
        want = m(x)
        for inp in (x, x.half()):
            got = trt(inp)
            assert got.dtype == torch.float32
            torch.testing.assert_close(got, want, rtol=2e-2, atol=2e-2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU: a module on the CPU compiled for it")
def test_module_on_the_cpu_compiled_for_the_gpu_runs_its_torchscript_segments_there():
    # The weights of the TorchScript segments (here the transposed convolution's, forced to Torch)
    # move to the GPU with the engines; the caller's module stays on the CPU.
    torch.manual_seed(0)
    m = torch.jit.script(pm.UnsupportedInMiddle(pm.ConvTranspose()).eval())
    trt = trtorch.compile(m, {"input_shapes": [X_SHAPE], "device": "gpu", "op_precision": torch.float32,
                              "torch_executed_ops": ["aten::conv_transpose2d"]})
    assert_engines(trt, 2)
    assert all(p.device.type == "cpu" for p in m.parameters())
    x = randn(*X_SHAPE)
    with torch.no_grad():
        want = m(x)
        got = trt(x.cuda())
    torch.testing.assert_close(got.cpu(), want, rtol=1e-3, atol=1e-3)


class _WriteIntoView(nn.Module):
    """torchvision's batch_images: engine work, then a write into a slice of a new tensor with
    copy_, then engine work on the whole tensor. The view, its base and the write stay in
    TorchScript (an engine's outputs are fresh tensors: a write into one would be lost)."""

    def forward(self, images: List[torch.Tensor]) -> torch.Tensor:
        imgs = [torch.relu(i * 2.0 + 1.0) for i in images]
        batched = imgs[0].new_full([len(imgs), 3, 8, 8], 0)
        for i in range(batched.shape[0]):
            img = imgs[i]
            batched[i, : img.shape[0], : img.shape[1], : img.shape[2]].copy_(img)
        return torch.relu(batched * 3.0 - 1.0).sum(1)


def test_write_into_a_view_keeps_its_base_in_torchscript(device):
    m = torch.jit.script(_WriteIntoView().eval())
    trt = compile_for(m, device, [[3, 8, 8], [3, 8, 8]], min_block_size=1)
    for seed in (0, 1):
        xs = [to_device(randn(3, 8, 8, seed=seed), device), to_device(randn(3, 8, 8, seed=seed + 5), device)]
        check_against_torchscript(m, trt, xs)


class _CappedDetections(nn.Module):
    """Boxes above a threshold (a data-dependent count), capped at 4 by topk, then engine work on
    them. On random samples the cap is always reached, so the sample runs see one shape; with
    other data fewer boxes pass. The tensors after the mask must stay in TorchScript."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, scores, boxes):
        keep = torch.nonzero(scores > -100.0).squeeze(1)  # every sample passes: always 64 of 64
        s, b = scores[keep], boxes[keep]
        top = torch.topk(s, min(4, int(s.size(0))))[1]
        b = b[top]
        return torch.relu(self.fc(b) * 2.0 + 1.0).sum(1)


def test_shapes_that_depend_on_the_data_stay_in_torchscript_even_when_samples_agree(device):
    m = torch.jit.script(_CappedDetections().eval())
    trt = compile_for(m, device, [[64], [64, 4]], min_block_size=1)
    scores = to_device(randn(64), device)
    boxes = to_device(randn(64, 4, seed=3), device)
    check_against_torchscript(m, trt, scores, boxes)
    few = scores.clone()
    few[2:] = -1000.0  # only 2 boxes pass: a shape the samples never saw
    check_against_torchscript(m, trt, few, boxes)


_ERROR_IN_TORCHSCRIPT_PART = r'''
import re, torch, trtorch
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.l = torch.nn.Linear(4, 5)
    def forward(self, x):
        return torch.sin(self.l(x)) + 1
c = trtorch.compile(torch.jit.script(M().eval()), {"input_shapes": [[2, 3, 4]], "device": "reference",
                                                   "torch_executed_ops": ["aten::linear"], "min_block_size": 1})
c(torch.randn(2, 3, 4))
for _ in range(20):
    try:
        c(torch.randn(2, 3, 5))
    except RuntimeError as e:
        frames = re.findall(r'linear\.py", line \d+, in (\w+)', str(e))
        assert frames and all(f == "forward" for f in frames), str(e)
    else:
        raise AssertionError("no error")
print("ok")
'''


def test_an_error_in_the_torchscript_part_names_its_function(tmp_path):
    """The compiled module's TorchScript nodes carry the call stacks of their inlining; the functions
    they name must outlive the compile (they did not: a wrong function in the traceback, or a crash
    reading freed memory). In a fresh process, from a file (torch.jit.script reads the source)."""
    script = tmp_path / "error_in_torchscript_part.py"
    script.write_text(_ERROR_IN_TORCHSCRIPT_PART)
    r = run_python("import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')", script)
    assert r.returncode == 0 and "ok" in r.stdout, (r.returncode, r.stdout, r.stderr[-2000:])


class _WriteThroughViewThenSlice(nn.Module):
    """An in-place write through a returned view of h, then a slice write into h, then a read of h:
    the read must come after both writes (it came before the slice write: the read of h was not
    ordered against writes into views of h)."""

    def forward(self, x):
        h = (x * 2).relu() + 1
        s = h[:, 0]
        s.mul_(2)
        h[:, 2] = (h[:, 1] * 5).tanh()
        return h * 3 + 1, s


class _WriteThroughViewAroundUnsupported(nn.Module):
    def forward(self, x):
        h = (x * 2).relu() + 1
        s = h.select(1, 0)
        s.sigmoid_()
        g = torch.sin(h)
        h[:, 2] = g[:, 1] * 5
        return (h * 3).tanh() + 1, s


@pytest.mark.parametrize("cls", [_WriteThroughViewThenSlice, _WriteThroughViewAroundUnsupported])
@pytest.mark.parametrize("min_block_size", [3, 1])
def test_reads_of_a_tensor_keep_their_place_around_writes_through_its_views(device, cls, min_block_size):
    m = torch.jit.script(cls().eval())
    trt = compile_for(m, device, [[2, 3, 4]], min_block_size=min_block_size)
    check_against_torchscript(m, trt, to_device(randn(2, 3, 4, seed=4), device))


class _ReturnsDynamicSizes(nn.Module):
    def forward(self, x):
        y = x.relu() * 2 + 1
        return y, y.size(0), {"area": y.size(0) * y.size(1)}


def test_returned_dynamic_sizes_stay_in_torchscript(device):
    """A returned size of a dynamic dim cannot be an engine output: with fallback on, the size
    arithmetic runs in TorchScript and the rest in the engine (the compile used to fail)."""
    m = torch.jit.script(_ReturnsDynamicSizes().eval())
    trt = compile_for(m, device, [{"min": [1, 3, 4], "opt": [2, 3, 4], "max": [4, 3, 4]}])
    assert engine_count(trt) == 1
    for n in (1, 3, 4):
        check_against_torchscript(m, trt, to_device(randn(n, 3, 4, seed=n), device))
    with pytest.raises(RuntimeError, match="returns the dynamic size"):
        compile_for(m, device, [{"min": [1, 3, 4], "opt": [2, 3, 4], "max": [4, 3, 4]}],
                    require_full_compilation=True)


class _Prints(nn.Module):
    def forward(self, x):
        h = (x * 2).relu() + 1
        print("shape", x.shape[0])
        return h.relu()


def test_print_in_a_whole_engine_is_said_to_be_dropped(capfd):
    m = torch.jit.script(_Prints().eval())
    capfd.readouterr()
    trt = compile_for(m, "reference", [[2, 3]])
    err = capfd.readouterr().err
    assert "1 print / warnings.warn call" in err and "do not run" in err and "test_partitioning.py" in err, err
    check_against_torchscript(m, trt, randn(2, 3))


class _LinearThenSin(nn.Module):
    def __init__(self):
        super().__init__()
        self.l = nn.Linear(3, 3)

    def forward(self, x):
        return torch.sin(self.l(x).relu() * 2 + 1).tanh()


def test_a_partial_module_refuses_an_integer_tensor_for_a_floating_input():
    """Floating inputs are cast to the compiled dtype on entry (FP16 in works); an integer tensor is
    refused with the input's name, as TorchScript's ops refuse it, not cast."""
    m = torch.jit.script(_LinearThenSin().eval())
    trt = compile_for(m, "reference", [[2, 3]])
    assert engine_count(trt) == 1
    check_against_torchscript(m, trt, randn(2, 3))
    with pytest.raises(Exception, match=r"input 0 \('x'\) must be a floating-point tensor"):
        trt(torch.randint(0, 5, (2, 3)))
    with pytest.raises(Exception, match="must be a floating-point tensor"):
        trt(torch.ones(2, 3, dtype=torch.bool))


class _CachedTableAttention(nn.Module):
    """timm's ConViT attention: a table attribute rebuilt in a branch when the input's size changes
    (the write stays in TorchScript), then read by another method and used by engine work."""

    def __init__(self):
        super().__init__()
        self.register_buffer("table", torch.zeros(1, 1, 1), persistent=False)
        self.l = nn.Linear(6, 6)

    def forward(self, x):
        n = x.shape[1]
        if self.table.shape[1] != n:
            self.table = self.make_table(n)
        return self.scores(x)

    def make_table(self, n: int):
        return (torch.arange(n * n, dtype=torch.float32).reshape(1, n, n) / float(n * n)).to(self.l.weight.device)

    def scores(self, x):
        y = self.l(x)
        return torch.relu(y @ y.transpose(1, 2) + self.table.expand(x.shape[0], -1, -1) * 3.0)


class _CachedTable(nn.Module):
    def __init__(self):
        super().__init__()
        self.pre = nn.LayerNorm(6)
        self.attn = _CachedTableAttention()
        self.out = nn.Linear(6, 6)

    def forward(self, x):
        # The layer norm is engine work before the branch, in the segment that uses the table.
        return self.out(self.attn(self.pre(x)) + x).sin()


@pytest.mark.parametrize("device", DEVICES)
def test_an_attribute_written_in_a_branch_is_read_after_the_write(device):
    """The attribute read feeding an engine stays after the branch that writes it (the segments are
    ordered by dependencies, and an attribute write orders the reads of its object): before, the
    engine received the table as it was before the first call."""
    m = torch.jit.script(_CachedTable().eval())
    x = randn(2, 6, 6)
    trt = compile_for(m, device, [[2, 6, 6]])
    assert engine_count(trt) >= 1
    fresh = torch.jit.script(_CachedTable().eval())
    fresh.load_state_dict(m.state_dict())
    if device == "gpu":
        fresh.to("cuda")
    for _ in range(2):  # the first call writes the table, the second reads the written one
        check_against_torchscript(fresh, trt, x.to("cuda") if device == "gpu" else x)
