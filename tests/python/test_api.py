"""trtorch's Python API: compile, engines, operator support, build information, log levels."""

import pytest
import torch

import tiny_models
import trtorch
from conftest import max_rel_error


def test_compile_fp32_matches_torchscript():
    m = tiny_models.conv_net()
    x = torch.randn(2, 3, 16, 16)
    trt = trtorch.compile(m, {"input_shapes": [[2, 3, 16, 16]]})
    assert isinstance(trt, torch.jit.ScriptModule)
    assert "trtorch::execute_engine" in str(trt.graph)
    assert max_rel_error(trt(x), m(x)) <= 1e-5


@pytest.mark.parametrize("dtype", [torch.half, torch.float16, torch.bfloat16])
def test_compile_reduced_precision_takes_and_returns_that_dtype(dtype):
    m = tiny_models.conv_net()
    x = torch.randn(2, 3, 16, 16)
    trt = trtorch.compile(m, {"input_shapes": [[2, 3, 16, 16]], "op_precision": dtype})
    out = trt(x.to(dtype))
    assert out.dtype == dtype
    assert max_rel_error(out.float(), m(x)) <= (1e-2 if dtype == torch.float16 else 5e-2)
    with pytest.raises(RuntimeError, match="input 0.*got Float"):
        trt(x)


def test_traced_module_with_two_inputs_and_tuple_output():
    eager = tiny_models.TwoInOut().eval()
    x, y = torch.randn(3, 6), torch.randn(3, 4)
    m = torch.jit.script(eager)
    traced = torch.jit.trace(eager, (x, y))
    for mod in (m, traced):
        trt = trtorch.compile(mod, {"input_shapes": [[3, 6], torch.Size([3, 4])],
                                    "op_precision": torch.float32})
        got, want = trt(x, y), m(x, y)
        assert isinstance(got, tuple) and len(got) == 2
        for g, w in zip(got, want):
            assert max_rel_error(g, w) <= 1e-5


def test_all_settings_are_accepted():
    m = tiny_models.conv_net()
    x = torch.randn(1, 3, 8, 8)
    settings = {
        "input_shapes": [{"min": [1, 3, 8, 8], "opt": [1, 3, 8, 8], "max": [1, 3, 8, 8]}],
        "op_precision": torch.float,
        "device": {"device_type": trtorch.DeviceType.REFERENCE, "gpu_id": 0},
        "workspace_size": 1 << 20,
        "num_min_timing_iters": 1,
        "num_avg_timing_iters": 2,
        "debug": False,
    }
    trt = trtorch.compile(m, settings)
    assert max_rel_error(trt(x), m(x)) <= 1e-5


def test_torchvision_resnet18_small_input():
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    m = torch.jit.script(torchvision.models.resnet18().eval())
    x = torch.randn(1, 3, 64, 64)
    trt = trtorch.compile(m, {"input_shapes": [list(x.shape)]})
    got, want = trt(x), m(x)
    assert max_rel_error(got, want) <= 1e-4
    assert got.argmax() == want.argmax()


def test_convert_method_to_trt_engine_returns_runnable_engine_bytes():
    m = tiny_models.conv_net()
    x = torch.randn(2, 3, 16, 16)
    engine = trtorch.convert_method_to_trt_engine(m, "forward", {"input_shapes": [[2, 3, 16, 16]]})
    assert isinstance(engine, bytes) and engine.startswith(b"TRTORCH")
    obj = trtorch.load_engine(engine)
    assert "reference backend" in obj.info() and "f32[2,3,16,16]" in obj.info()
    out = torch.ops.trtorch.execute_engine([x], obj)
    assert len(out) == 1 and max_rel_error(out[0], m(x)) <= 1e-5


def test_corrupt_truncated_and_foreign_engine_bytes_are_rejected():
    m = tiny_models.conv_net()
    engine = trtorch.convert_method_to_trt_engine(m, "forward", {"input_shapes": [[1, 3, 8, 8]]})
    with pytest.raises(trtorch.Error, match="truncated"):
        trtorch.load_engine(engine[: len(engine) // 2])
    flipped = bytearray(engine)
    flipped[-3] ^= 0x5A
    with pytest.raises(trtorch.Error, match="checksum"):
        trtorch.load_engine(bytes(flipped))
    with pytest.raises(trtorch.Error, match="not a trtorch engine"):
        trtorch.load_engine(b"definitely not an engine")
    with pytest.raises(TypeError, match="expected bytes"):
        trtorch.load_engine("TRTORCH")


def test_check_method_op_support():
    assert trtorch.check_method_op_support(tiny_models.conv_net(), "forward") is True
    ok, report = trtorch.check_method_op_support(tiny_models.unsupported(), "forward", report=True)
    assert ok is False
    assert "aten::logcumsumexp" in report and "aten::relu" not in report
    assert trtorch.check_method_op_support(tiny_models.unsupported(), "forward") is False
    with pytest.raises(ValueError, match="no method 'backward'.*forward"):
        trtorch.check_method_op_support(tiny_models.conv_net(), "backward")


def test_compile_unsupported_op_is_a_trtorch_error_naming_the_op():
    # Only when full compilation is required; by default the op runs in TorchScript.
    m = tiny_models.unsupported()
    with pytest.raises(trtorch.Error, match="require_full_compilation(.|\n)*aten::logcumsumexp"):
        trtorch.compile(m, {"input_shapes": [[2, 3]], "require_full_compilation": True})
    trt = trtorch.compile(m, {"input_shapes": [[2, 3]]})
    x = torch.randn(2, 3)
    torch.testing.assert_close(trt(x), m(x))


def test_cpp_errors_are_runtime_errors_with_the_cpp_message():
    assert issubclass(trtorch.Error, RuntimeError)
    m = tiny_models.conv_net()
    # A shape that does not fit the model: the converter's message, with the source location.
    with pytest.raises(trtorch.Error, match="input has 4 channels.*expects 3") as e:
        trtorch.compile(m, {"input_shapes": [[1, 4, 8, 8]]})
    assert "Traceback" not in str(e.value)  # no C++ backtrace
    with pytest.raises(trtorch.Error, match="takes 1 inputs but the compile spec gives 2"):
        trtorch.compile(m, {"input_shapes": [[1, 3, 8, 8], [1, 3, 8, 8]]})


def test_wrong_input_at_run_time_names_the_input():
    m = tiny_models.conv_net()
    trt = trtorch.compile(m, {"input_shapes": [[2, 3, 16, 16]]})
    with pytest.raises(RuntimeError, match="input 0.*dimension 0 must be 2.*got 3"):
        trt(torch.randn(3, 3, 16, 16))


def test_the_compiled_forward_keeps_the_argument_names():
    m = tiny_models.conv_net()
    trt = trtorch.compile(m, {"input_shapes": [[2, 3, 16, 16]]})
    want = [a.name for a in m.forward.schema.arguments]
    assert [a.name for a in trt.forward.schema.arguments] == want, (trt.forward.schema, m.forward.schema)
    with pytest.raises(RuntimeError, match="argument '%s'" % want[1]):
        trt("not a tensor")


def test_version_and_build_info(capsys):
    info = trtorch.get_build_info()
    assert info.startswith("trtorch %s " % trtorch.__version__)
    assert "torch " + torch.__version__.split("+")[0] in info
    assert "reference" in info
    trtorch.dump_build_info()
    assert capsys.readouterr().out.strip() == info


def test_log_levels(capfd):
    Level = trtorch.logging.Level
    old = trtorch.logging.get_reportable_log_level()
    try:
        trtorch.logging.set_reportable_log_level(Level.Info)
        assert trtorch.logging.get_reportable_log_level() == Level.Info
        trtorch.compile(tiny_models.conv_net(), {"input_shapes": [[1, 3, 8, 8]]})
        assert "[trtorch INFO] engine built" in capfd.readouterr().err
        trtorch.logging.set_reportable_log_level(Level.Error)
        trtorch.compile(tiny_models.conv_net(), {"input_shapes": [[1, 3, 8, 8]]})
        assert "[trtorch" not in capfd.readouterr().err
        with pytest.raises(TypeError, match="trtorch.logging.Level"):
            trtorch.logging.set_reportable_log_level(7)
    finally:
        trtorch.logging.set_reportable_log_level(old)


def test_runtime_library_path():
    import os
    path = trtorch.runtime_library_path()
    assert os.path.isfile(path) and path.endswith("libtrtorch_runtime.so")
    assert any(os.path.realpath(p) == os.path.realpath(path) for p in torch.ops.loaded_libraries)


def test_input_dtypes_for_a_saved_traced_module(tmp_path):
    m, (ids, mask) = tiny_models.saved_and_loaded_traced_token_model(tmp_path / "tokens.ts")
    want = m(ids, mask)
    # Without dtypes the loaded module's inputs are plain Tensors, taken as float: the embedding
    # rejects float indices by name.
    with pytest.raises(RuntimeError, match="indices must be int32 or int64"):
        trtorch.compile(m, {"input_shapes": [[2, 5], [2, 5]]})
    trt = trtorch.compile(m, {"input_shapes": [[2, 5], [2, 5]], "input_dtypes": [torch.int64, torch.int64]})
    assert max_rel_error(trt(ids, mask), want) <= 1e-6
    with pytest.raises(RuntimeError, match="input 0.*Long|input 0.*int64"):
        trt(ids.to(torch.int32), mask)


def test_input_dtypes_are_validated():
    m = tiny_models.conv_net()
    with pytest.raises(ValueError, match="input_dtypes: 2 dtypes for 1 input shapes"):
        trtorch.compile(m, {"input_shapes": [[1, 3, 8, 8]], "input_dtypes": [torch.float, torch.float]})
    with pytest.raises(TypeError, match=r"input_dtypes\[0\]: expected"):
        trtorch.compile(m, {"input_shapes": [[1, 3, 8, 8]], "input_dtypes": [torch.float16]})
    with pytest.raises(TypeError, match="input_dtypes: expected a list"):
        trtorch.compile(m, {"input_shapes": [[1, 3, 8, 8]], "input_dtypes": torch.float})
    # A declared type and the spec's must agree.
    ids = torch.tensor([[1, 2, 3, 4, 0]])
    traced = torch.jit.trace(tiny_models.TokenModel().eval(), (ids, ids))
    with pytest.raises(RuntimeError, match="input 0 .*compile spec gives i32 but the method declares Long"):
        trtorch.compile(traced, {"input_shapes": [[1, 5], [1, 5]], "input_dtypes": [torch.int32, None]})


def test_training_mode_module_compiles_as_eval_with_a_warning(capfd):
    # Issue 21, item 4: compiled for inference as in eval mode, and said so.
    m = tiny_models.conv_net()
    m.train()
    trt = trtorch.compile(m, {"input_shapes": [[2, 3, 16, 16]], "device": "reference"})
    assert "training mode" in capfd.readouterr().err
    m.eval()
    x = torch.randn(2, 3, 16, 16)
    torch.testing.assert_close(trt(x), m(x), rtol=1e-4, atol=1e-5)


def test_negated_view_input_is_resolved_and_sparse_input_is_named():
    m = tiny_models.conv_net()
    trt = trtorch.compile(m, {"input_shapes": [[2, 3, 16, 16]], "device": "reference"})
    x = torch.randn(2, 3, 16, 16)
    neg = torch._neg_view(x)  # the neg bit: the bytes still hold x
    assert neg.is_neg()
    torch.testing.assert_close(trt(neg), m(-x), rtol=1e-4, atol=1e-5)
    with pytest.raises(RuntimeError, match="input 0.*Sparse.*dense"):
        trt(x.to_sparse())


class _SharedSubmodule(torch.nn.Module):
    """One Linear reached under two names (self.a and self.b)."""

    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(8, 8)
        self.b = self.a

    def forward(self, x):
        return self.b(torch.relu(self.a(x)))


def test_compile_leaves_the_callers_module_as_it_was():
    # The compile clones the module (sharing its tensors) into a compilation unit of its own and
    # freezes the clone: the caller's module keeps its mode, its attributes and its weights, and a
    # submodule shared under two names is one module in the compiled result too.
    torch.manual_seed(0)
    m = torch.jit.script(_SharedSubmodule())  # left in training mode
    weight = m.a.weight.detach().clone()
    x = torch.randn(2, 8)
    trt = trtorch.compile(m, {"input_shapes": [[2, 8]], "device": "reference"})
    assert m.training and m.a.training
    assert torch.equal(m.a.weight, weight) and m.a.weight.device.type == "cpu"
    with torch.no_grad():
        torch.testing.assert_close(trt(x), m(x), rtol=1e-4, atol=1e-5)
    m.eval()
    trt = trtorch.compile(m, {"input_shapes": [[2, 8]], "device": "reference"})
    with torch.no_grad():
        torch.testing.assert_close(trt(x), m(x), rtol=1e-4, atol=1e-5)


def test_conv1d_model_with_a_dynamic_length():
    # 1-D convolutions (nn.Conv1d: Wav2Vec2's feature extractor, Whisper's encoder stem) compile as
    # 2-D ones over a height of 1, for fixed and dynamic lengths.
    torch.manual_seed(0)
    m = torch.jit.script(torch.nn.Sequential(
        torch.nn.Conv1d(4, 8, 3, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.Conv1d(8, 8, 5, groups=2, dilation=2, padding=4), torch.nn.GELU()).eval())
    trt = trtorch.compile(m, {"input_shapes": [{"min": [1, 4, 16], "opt": [2, 4, 40], "max": [4, 4, 64]}],
                              "device": "reference", "require_full_compilation": True})
    for shape in ([1, 4, 16], [2, 4, 40], [3, 4, 33], [4, 4, 64]):
        x = torch.randn(*shape)
        with torch.no_grad():
            torch.testing.assert_close(trt(x), m(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("norm", ["group", "instance", "instance_running"])
def test_group_and_instance_norm_models(norm):
    # nn.GroupNorm (Wav2Vec2, U-Nets) and nn.InstanceNorm2d (RAFT's encoders, style transfer).
    torch.manual_seed(0)
    layer = {"group": lambda: torch.nn.GroupNorm(4, 8),
             "instance": lambda: torch.nn.InstanceNorm2d(8, affine=True),
             "instance_running": lambda: torch.nn.InstanceNorm2d(8, affine=True, track_running_stats=True)}[norm]()
    if norm == "instance_running":
        layer.running_mean.uniform_(-0.5, 0.5)
        layer.running_var.uniform_(0.5, 1.5)
    with torch.no_grad():
        if getattr(layer, "weight", None) is not None:
            layer.weight.uniform_(0.5, 1.5)
            layer.bias.uniform_(-0.5, 0.5)
    m = torch.jit.script(torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), layer, torch.nn.ReLU()).eval())
    # (InstanceNorm2d with running statistics keeps a GetAttr of num_batches_tracked, which its
    # training branch updates, so that model compiles partially; the norm itself is in an engine.)
    trt = trtorch.compile(m, {"input_shapes": [[2, 3, 12, 10]], "device": "reference",
                              "require_full_compilation": norm != "instance_running"})
    kinds = {n.kind() for n in trt.graph.nodes()}
    assert not kinds & {"aten::group_norm", "aten::instance_norm", "aten::batch_norm"}, trt.graph
    x = torch.randn(2, 3, 12, 10)
    with torch.no_grad():
        torch.testing.assert_close(trt(x), m(x), rtol=1e-4, atol=1e-4)
