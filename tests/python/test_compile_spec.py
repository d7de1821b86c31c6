"""The settings dictionary of trtorch.compile: every malformed setting gives an error that names it."""

import pytest
import torch

import tiny_models
import trtorch
from trtorch import _C
from trtorch._compile_spec import VALID_KEYS, parse_compile_spec


@pytest.fixture(scope="module")
def model():
    return tiny_models.conv_net()


def test_unknown_key_lists_the_valid_keys(model):
    with pytest.raises(ValueError) as e:
        trtorch.compile(model, {"input_shapes": [[1, 3, 8, 8]], "max_batch_size": 4})
    msg = str(e.value)
    assert "'max_batch_size'" in msg
    for k in VALID_KEYS:
        assert k in msg
    assert set(VALID_KEYS) == {"input_shapes", "inputs", "enabled_precisions", "input_dtypes", "op_precision", "device", "workspace_size",
                               "num_min_timing_iters", "num_avg_timing_iters", "allow_tf32", "debug",
                               "timing_cache_path", "fp32_conv_bias", "channels_last", "cuda_graphs",
                               "conv_candidates", "build_threads", "require_full_compilation", "min_block_size", "progress",
                               "torch_executed_ops", "torch_executed_modules", "torch_fallback", "calibrator",
                               "int8_timing_choice", "conv_runtime_compilation"}


def test_input_shapes_required_and_well_formed(model):
    with pytest.raises(ValueError, match=r"'input_shapes' \(or 'inputs'\) is required"):
        trtorch.compile(model, {"op_precision": torch.float})
    with pytest.raises(TypeError, match="expected a dict"):
        trtorch.compile(model, [[1, 3, 8, 8]])
    with pytest.raises(TypeError, match="input_shapes: expected a list"):
        trtorch.compile(model, {"input_shapes": "1,3,8,8"})
    with pytest.raises(ValueError, match="input_shapes: the list is empty"):
        trtorch.compile(model, {"input_shapes": []})
    with pytest.raises(TypeError, match=r"input_shapes\[0\]: dimension 2 is float"):
        trtorch.compile(model, {"input_shapes": [[1, 3, 8.0, 8]]})
    with pytest.raises(ValueError, match=r"input_shapes\[0\]: dimension 0 is 0"):
        trtorch.compile(model, {"input_shapes": [[0, 3, 8, 8]]})
    with pytest.raises(TypeError, match=r"input_shapes\[0\]: expected a shape"):
        trtorch.compile(model, {"input_shapes": [8]})
    with pytest.raises(ValueError, match=r"input_shapes\[0\]: the shape is empty"):
        trtorch.compile(model, {"input_shapes": [[]]})


def test_range_dicts_are_checked(model):
    with pytest.raises(ValueError, match=r"input_shapes\[0\].*missing max"):
        trtorch.compile(model, {"input_shapes": [{"min": [1, 3, 8, 8], "opt": [1, 3, 8, 8]}]})
    with pytest.raises(ValueError, match=r"input_shapes\[0\].*unknown batch"):
        trtorch.compile(model, {"input_shapes": [{"min": [1], "opt": [1], "max": [1], "batch": 1}]})
    with pytest.raises(ValueError, match="different ranks"):
        trtorch.compile(model, {"input_shapes": [{"min": [1, 3], "opt": [1, 3, 8, 8], "max": [1, 3, 8, 8]}]})
    with pytest.raises(ValueError, match="dimension 0 must satisfy min <= opt <= max, got 4, 2, 8"):
        trtorch.compile(model, {"input_shapes": [{"min": [4, 3, 8, 8], "opt": [2, 3, 8, 8], "max": [8, 3, 8, 8]}]})


def test_op_precision(model):
    for dt, want in [(torch.float, "kFloat"), (torch.float32, "kFloat"), (torch.half, "kHalf"),
                     (torch.float16, "kHalf"), (torch.bfloat16, "kBFloat16"), (torch.int8, "kInt8")]:
        spec = parse_compile_spec({"input_shapes": [[1, 3, 8, 8]], "op_precision": dt})
        assert spec.op_precision.name == want
    # INT8 of a model without quantization nodes needs a calibrator (test_int8.py has the rest).
    with pytest.raises(RuntimeError, match="INT8 needs a calibrator"):
        trtorch.compile(model, {"input_shapes": [[1, 3, 8, 8]], "op_precision": torch.int8, "device": "reference"})
    with pytest.raises(TypeError, match="op_precision: expected torch.float"):
        trtorch.compile(model, {"input_shapes": [[1, 3, 8, 8]], "op_precision": torch.float64})
    with pytest.raises(TypeError, match="op_precision"):
        trtorch.compile(model, {"input_shapes": [[1, 3, 8, 8]], "op_precision": "fp16"})


@pytest.mark.parametrize("device,kind,gpu_id", [
    ({"device_type": trtorch.DeviceType.GPU, "gpu_id": 0}, "kGPU", 0),
    ({"device_type": trtorch.DeviceType.GPU, "gpu_id": 1}, "kGPU", 1),
    ({"device_type": "reference"}, "kReference", 0),
    (trtorch.DeviceType.AUTO, "kAuto", 0),
    ("gpu", "kGPU", 0), ("cuda", "kGPU", 0), ("cuda:2", "kGPU", 2), ("GPU", "kGPU", 0),
    ("reference", "kReference", 0), ("cpu", "kReference", 0), ("auto", "kAuto", 0),
    (torch.device("cuda", 1), "kGPU", 1), (torch.device("cpu"), "kReference", 0),
])
def test_device_forms(device, kind, gpu_id):
    spec = parse_compile_spec({"input_shapes": [[1]], "device": device})
    assert (spec.device_type.name, spec.gpu_id) == (kind, gpu_id)


def test_bad_devices(model):
    with pytest.raises(ValueError, match="device: unknown key.*'gpu'.*valid keys"):
        parse_compile_spec({"input_shapes": [[1]], "device": {"device_type": "gpu", "gpu": 0}})
    with pytest.raises(ValueError, match="needs 'device_type'"):
        parse_compile_spec({"input_shapes": [[1]], "device": {"gpu_id": 0}})
    with pytest.raises(ValueError, match="device: expected trtorch.DeviceType.*'tpu'"):
        parse_compile_spec({"input_shapes": [[1]], "device": "tpu"})
    with pytest.raises(ValueError, match=r"device\['gpu_id'\]: expected a non-negative int"):
        parse_compile_spec({"input_shapes": [[1]], "device": {"device_type": "gpu", "gpu_id": -1}})
    with pytest.raises(TypeError, match="device: expected a dict"):
        parse_compile_spec({"input_shapes": [[1]], "device": 0})


def test_gpu_request_without_cuda_backend_is_a_clear_error(model):
    settings = {"input_shapes": [[1, 3, 8, 8]],
                "device": {"device_type": trtorch.DeviceType.GPU, "gpu_id": 0}}
    if "CUDA" in trtorch.get_build_info() and torch.cuda.is_available():
        trtorch.compile(model, settings)
    else:
        with pytest.raises(trtorch.Error, match="device GPU was requested"):
            trtorch.compile(model, settings)


def test_counts_and_debug(model):
    base = {"input_shapes": [[1, 3, 8, 8]]}
    with pytest.raises(TypeError, match="workspace_size: expected an int"):
        parse_compile_spec(dict(base, workspace_size="1GB"))
    with pytest.raises(ValueError, match="workspace_size: must be >= 0"):
        parse_compile_spec(dict(base, workspace_size=-1))
    with pytest.raises(ValueError, match="num_avg_timing_iters: must be >= 1"):
        parse_compile_spec(dict(base, num_avg_timing_iters=0))
    with pytest.raises(TypeError, match="num_min_timing_iters: expected an int, got bool"):
        parse_compile_spec(dict(base, num_min_timing_iters=True))
    with pytest.raises(TypeError, match="debug: expected a bool"):
        parse_compile_spec(dict(base, debug=1))
    with pytest.raises(TypeError, match="allow_tf32: expected a bool"):
        parse_compile_spec(dict(base, allow_tf32="yes"))
    spec = parse_compile_spec(dict(base, workspace_size=123, num_min_timing_iters=0,
                                   num_avg_timing_iters=3, allow_tf32=True, debug=True))
    assert (spec.workspace_size, spec.num_min_timing_iters, spec.num_avg_timing_iters, spec.allow_tf32,
            spec.debug) == (123, 0, 3, True, True)
    defaults = parse_compile_spec(base)
    assert (defaults.op_precision.name, defaults.device_type.name, defaults.workspace_size,
            defaults.num_min_timing_iters, defaults.num_avg_timing_iters, defaults.allow_tf32, defaults.debug) == \
        ("kFloat", "kAuto", 0, 2, 1, False, False)
    assert defaults.input_ranges == [([1, 3, 8, 8], [1, 3, 8, 8], [1, 3, 8, 8])]


def test_engine_knobs_are_checked(model):
    base = {"input_shapes": [[1, 3, 8, 8]]}
    for key in ("fp32_conv_bias", "channels_last", "cuda_graphs"):
        with pytest.raises(TypeError, match="%s: expected a bool, got int 0" % key):
            parse_compile_spec(dict(base, **{key: 0}))
        with pytest.raises(TypeError, match="%s: expected a bool, got NoneType" % key):
            trtorch.compile(model, dict(base, **{key: None}))
    with pytest.raises(TypeError, match="conv_candidates: expected an int, got float"):
        parse_compile_spec(dict(base, conv_candidates=4.0))
    with pytest.raises(TypeError, match="conv_candidates: expected an int, got bool"):
        parse_compile_spec(dict(base, conv_candidates=True))
    with pytest.raises(ValueError, match="conv_candidates: must be 1 to 16, got 0"):
        parse_compile_spec(dict(base, conv_candidates=0))
    with pytest.raises(ValueError, match="conv_candidates: must be 1 to 16, got 17"):
        trtorch.compile(model, dict(base, conv_candidates=17))
    with pytest.raises(TypeError, match="build_threads: expected an int, got str"):
        parse_compile_spec(dict(base, build_threads="4"))
    with pytest.raises(ValueError, match="build_threads: must be 0 to 64, got -1"):
        parse_compile_spec(dict(base, build_threads=-1))
    with pytest.raises(ValueError, match="build_threads: must be 0 to 64, got 65"):
        parse_compile_spec(dict(base, build_threads=65))
    with pytest.raises(TypeError, match="timing_cache_path: expected a file path"):
        parse_compile_spec(dict(base, timing_cache_path=3))
    with pytest.raises(TypeError, match="timing_cache_path: expected a file path"):
        parse_compile_spec(dict(base, timing_cache_path=b"/tmp/cache.txt"))
    with pytest.raises(TypeError, match="timing_cache_path: expected a str path, got bytes"):
        parse_compile_spec(dict(base, timing_cache_path=_BytesPath()))
    with pytest.raises(ValueError, match="timing_cache_path: the path contains a NUL"):
        parse_compile_spec(dict(base, timing_cache_path="a\0b"))

    spec = parse_compile_spec(dict(base, fp32_conv_bias=False, channels_last=False, cuda_graphs=False,
                                   conv_candidates=16, build_threads=64, timing_cache_path="/tmp/cache.txt"))
    assert (spec.fp32_conv_bias, spec.channels_last, spec.cuda_graphs, spec.conv_candidates, spec.build_threads,
            spec.timing_cache_path) == (False, False, False, 16, 64, "/tmp/cache.txt")
    defaults = parse_compile_spec(base)
    assert (defaults.fp32_conv_bias, defaults.channels_last, defaults.cuda_graphs, defaults.conv_candidates,
            defaults.build_threads, defaults.timing_cache_path) == (True, True, True, 6, 0, "")
    assert parse_compile_spec(dict(base, timing_cache_path=None)).timing_cache_path == ""
    assert defaults.int8_timing_choice is True
    assert parse_compile_spec(dict(base, int8_timing_choice=False)).int8_timing_choice is False
    assert defaults.conv_runtime_compilation == trtorch._C.ConvRuntimeCompilation.kFallback
    for mode in ("always", "fallback", "auto"):
        got = parse_compile_spec(dict(base, conv_runtime_compilation=mode)).conv_runtime_compilation
        assert got.name == "k" + mode.capitalize()
    for bad in ("never", True, None):
        with pytest.raises(ValueError, match="conv_runtime_compilation: expected one of 'auto', 'always', 'fallback'"):
            parse_compile_spec(dict(base, conv_runtime_compilation=bad))
    with pytest.raises(TypeError, match="int8_timing_choice: expected a bool"):
        parse_compile_spec(dict(base, int8_timing_choice=1))


class _BytesPath:
    """An os.PathLike whose path is bytes (trtorch wants a str path)."""

    def __fspath__(self):
        return b"/tmp/cache.txt"


def _recorded_options(model, settings):
    """The build options the engine compiled with `settings` records (its summary's last part)."""
    engine = trtorch.load_engine(trtorch.convert_method_to_trt_engine(model, "forward", settings))
    info = engine.info()
    assert "; build options: " in info, info
    return dict(kv.split("=") for kv in info.split("; build options: ")[1].split(";"))


def test_engine_knobs_reach_the_engine(model, tmp_path):
    base = {"input_shapes": [[1, 3, 8, 8]], "device": "reference"}
    assert _recorded_options(model, base) == {
        "precision": "f32", "allow_tf32": "0", "fp32_conv_bias": "1", "channels_last": "1", "cuda_graphs": "1",
        "conv_candidates": "6", "workspace_size": "0", "num_min_timing_iters": "2", "num_avg_timing_iters": "1"}
    got = _recorded_options(model, dict(base, op_precision=torch.half, allow_tf32=True, fp32_conv_bias=False,
                                        channels_last=False, cuda_graphs=False, conv_candidates=3, build_threads=2,
                                        workspace_size=4096, num_min_timing_iters=0, num_avg_timing_iters=4,
                                        timing_cache_path=tmp_path / "cache.txt"))
    assert got == {
        "precision": "f16", "allow_tf32": "1", "fp32_conv_bias": "0", "channels_last": "0", "cuda_graphs": "0",
        "conv_candidates": "3", "workspace_size": "4096", "num_min_timing_iters": "0", "num_avg_timing_iters": "4"}


def test_timing_cache_path_reaches_the_gpu_builder(model, tmp_path):
    if not ("CUDA" in trtorch.get_build_info() and torch.cuda.is_available()):
        pytest.skip("needs the CUDA backend and a GPU (the reference backend keeps no timing cache)")
    cache = tmp_path / "timing_cache.txt"
    trtorch.compile(model, {"input_shapes": [[1, 3, 8, 8]], "device": "gpu", "timing_cache_path": str(cache)})
    assert cache.exists() and cache.stat().st_size > 0


def test_debug_compile_logs_and_still_works(model, capfd):
    old = trtorch.logging.get_reportable_log_level()
    try:
        trt = trtorch.compile(model, {"input_shapes": [[1, 3, 8, 8]], "debug": True})
        x = torch.randn(1, 3, 8, 8)
        assert torch.allclose(trt(x), model(x), atol=1e-5)
        assert "[trtorch DEBUG]" in capfd.readouterr().err
    finally:
        trtorch.logging.set_reportable_log_level(old)


def test_eager_module_is_rejected_with_advice():
    with pytest.raises(TypeError, match="torch.jit.script"):
        trtorch.compile(tiny_models.ConvNet(), {"input_shapes": [[1, 3, 8, 8]]})
    with pytest.raises(TypeError, match="expected a torch.jit.ScriptModule, got str"):
        trtorch.convert_method_to_trt_engine("model.ts", "forward", {"input_shapes": [[1]]})


def test_integers_beyond_their_range_name_the_key(model):
    """Python ints too large for the C++ side give a ValueError naming the key and range, not pybind's
    "incompatible constructor arguments"."""
    base = {"input_shapes": [[1, 3, 8, 8]]}
    with pytest.raises(ValueError, match=r"input_shapes\[0\]: dimension 1 is 9223372036854775808; "
                                         r"dimensions must be 1 to 9223372036854775807"):
        trtorch.compile(model, {"input_shapes": [[1, 2**63, 8, 8]]})
    with pytest.raises(ValueError, match=r"input_shapes\[0\]\['max'\]: dimension 0 is 18446744073709551616"):
        parse_compile_spec({"input_shapes": [{"min": [1], "opt": [1], "max": [2**64]}]})
    with pytest.raises(ValueError, match=r"device\['gpu_id'\]: expected a non-negative int, 0 to 2147483647 "
                                         r"\(2\*\*31 - 1\), got 1099511627776"):
        trtorch.compile(model, dict(base, device={"device_type": "gpu", "gpu_id": 2**40}))
    with pytest.raises(ValueError, match=r"device: expected a non-negative int, 0 to 2147483647"):
        parse_compile_spec(dict(base, device="cuda:4294967296"))
    with pytest.raises(ValueError, match=r"workspace_size: must be >= 0 and <= 1099511627776 \(1 TiB\), "
                                         r"got 18446744073709551616"):
        trtorch.compile(model, dict(base, workspace_size=2**64))
    with pytest.raises(ValueError, match=r"num_min_timing_iters: must be >= 0 and <= 1000"):
        parse_compile_spec(dict(base, num_min_timing_iters=2**63 - 1))
    with pytest.raises(ValueError, match=r"num_avg_timing_iters: must be >= 1 and <= 1000"):
        parse_compile_spec(dict(base, num_avg_timing_iters=2**70))
    with pytest.raises(ValueError, match=r"conv_candidates: must be 1 to 16, got 18446744073709551616"):
        parse_compile_spec(dict(base, conv_candidates=2**64))
    with pytest.raises(ValueError, match=r"build_threads: must be 0 to 64, got 4294967296"):
        parse_compile_spec(dict(base, build_threads=2**32))


def test_integers_at_their_limits_are_accepted():
    spec = parse_compile_spec({"input_shapes": [[2**63 - 1]], "device": {"device_type": "gpu", "gpu_id": 2**31 - 1},
                               "workspace_size": 2**40, "num_min_timing_iters": 1000, "num_avg_timing_iters": 1000})
    assert spec.input_ranges == [([2**63 - 1], [2**63 - 1], [2**63 - 1])]
    assert (spec.gpu_id, spec.workspace_size, spec.num_min_timing_iters, spec.num_avg_timing_iters) == \
        (2**31 - 1, 2**40, 1000, 1000)


# ---- partial compilation: require_full_compilation, min_block_size, torch_executed_ops/modules and
# TRTorch v0.4's "torch_fallback" ----

def _partition(spec):
    return (spec.require_full_compilation, spec.min_block_size, spec.torch_executed_ops, spec.torch_executed_modules)


def test_partition_defaults_keep_fallback_on():
    assert _C.MAX_MIN_BLOCK_SIZE == 2**30
    assert _partition(parse_compile_spec({"input_shapes": [[1]]})) == (False, 3, [], [])
    assert _partition(parse_compile_spec({"input_shapes": [[1]], "torch_fallback": None})) == (False, 3, [], [])


def test_partition_keys_reach_the_cpp_compile_spec():
    spec = parse_compile_spec({"input_shapes": [[1]], "min_block_size": 1,
                               "torch_executed_ops": ["aten::relu", "aten::add.Tensor", "aten::relu"],
                               "torch_executed_modules": ("torchvision.models.resnet.BasicBlock",)})
    assert _partition(spec) == (False, 1, ["aten::relu", "aten::add.Tensor"],
                                ["torchvision.models.resnet.BasicBlock"])
    spec = parse_compile_spec({"input_shapes": [[1]], "require_full_compilation": True,
                               "min_block_size": 2**30, "torch_executed_ops": [], "torch_executed_modules": set()})
    assert _partition(spec) == (True, 2**30, [], [])
    # A set has no order: sorted.
    spec = parse_compile_spec({"input_shapes": [[1]], "torch_executed_ops": {"aten::sigmoid", "aten::add"},
                               "torch_executed_modules": frozenset({"b.B", "a.A"})})
    assert (spec.torch_executed_ops, spec.torch_executed_modules) == (["aten::add", "aten::sigmoid"], ["a.A", "b.B"])
    # A full schema names one operator.
    spec = parse_compile_spec({"input_shapes": [[1]], "torch_executed_ops": ["aten::relu(Tensor self) -> Tensor"]})
    assert spec.torch_executed_ops == ["aten::relu(Tensor self) -> Tensor"]


@pytest.mark.parametrize("fallback,want", [
    ({"enabled": True}, (False, 3, [], [])),
    ({"enabled": False}, (True, 3, [], [])),
    ({"enabled": True, "min_block_size": 7, "forced_fallback_ops": ["aten::relu"],
      "forced_fallback_modules": ["torchvision.models.resnet.BasicBlock"]},
     (False, 7, ["aten::relu"], ["torchvision.models.resnet.BasicBlock"])),
    ({"enabled": False, "min_block_size": 1, "forced_fallback_ops": [], "forced_fallback_modules": ()},
     (True, 1, [], [])),
])
def test_torch_fallback_of_trtorch_v04(fallback, want):
    assert _partition(parse_compile_spec({"input_shapes": [[1]], "torch_fallback": fallback})) == want


def test_both_spellings_may_be_given_when_they_agree():
    spec = parse_compile_spec({"input_shapes": [[1]], "require_full_compilation": False, "min_block_size": 5,
                               "torch_executed_ops": ["aten::relu", "aten::sigmoid"],
                               "torch_executed_modules": ["a.A"],
                               "torch_fallback": {"enabled": True, "min_block_size": 5,
                                                  "forced_fallback_ops": ["aten::sigmoid", "aten::relu"],
                                                  "forced_fallback_modules": ["a.A"]}})
    assert _partition(spec) == (False, 5, ["aten::relu", "aten::sigmoid"], ["a.A"])
    spec = parse_compile_spec({"input_shapes": [[1]], "require_full_compilation": True,
                               "torch_fallback": {"enabled": False}})
    assert spec.require_full_compilation is True
    # Keys given in one spelling only are merged with the other's.
    spec = parse_compile_spec({"input_shapes": [[1]], "min_block_size": 4,
                               "torch_fallback": {"enabled": True, "forced_fallback_ops": ["aten::relu"]}})
    assert _partition(spec) == (False, 4, ["aten::relu"], [])


@pytest.mark.parametrize("settings,message", [
    ({"require_full_compilation": True, "torch_fallback": {"enabled": True}},
     r"conflicting settings: require_full_compilation=True and torch_fallback\['enabled'\]=True disagree"),
    ({"require_full_compilation": False, "torch_fallback": {"enabled": False}},
     r"conflicting settings: require_full_compilation=False and torch_fallback\['enabled'\]=False disagree"),
    ({"min_block_size": 3, "torch_fallback": {"enabled": True, "min_block_size": 5}},
     r"conflicting settings: min_block_size=3 and torch_fallback\['min_block_size'\]=5 disagree"),
    ({"torch_executed_ops": ["aten::relu"], "torch_fallback": {"enabled": True, "forced_fallback_ops": ["aten::add"]}},
     r"conflicting settings: torch_executed_ops=\['aten::relu'\] and torch_fallback\['forced_fallback_ops'\]"),
    ({"torch_executed_modules": ["a.A"], "torch_fallback": {"enabled": True, "forced_fallback_modules": []}},
     r"conflicting settings: torch_executed_modules=\['a.A'\] and torch_fallback\['forced_fallback_modules'\]=\[\]"),
    ({"require_full_compilation": True, "torch_executed_ops": ["aten::relu"]},
     r"conflicting settings: require_full_compilation=True asks for full compilation, yet "
     r"torch_executed_ops=\['aten::relu'\] asks for ops to run in TorchScript"),
    ({"require_full_compilation": True, "torch_executed_modules": ["a.A"]},
     r"conflicting settings: require_full_compilation=True .* torch_executed_modules=\['a.A'\]"),
    ({"torch_fallback": {"enabled": False, "forced_fallback_ops": ["aten::relu"]}},
     r"conflicting settings: torch_fallback\['enabled'\]=False asks for full compilation, yet "
     r"torch_fallback\['forced_fallback_ops'\]=\['aten::relu'\]"),
    ({"require_full_compilation": True, "torch_fallback": {"enabled": False, "forced_fallback_modules": ["a.A"]}},
     r"conflicting settings: require_full_compilation=True .* torch_fallback\['forced_fallback_modules'\]"),
])
def test_conflicting_settings_name_both_keys(model, settings, message):
    with pytest.raises(ValueError, match=message):
        parse_compile_spec(dict(settings, input_shapes=[[1]]))
    with pytest.raises(ValueError, match="conflicting settings"):
        trtorch.compile(model, dict(settings, input_shapes=[[1, 3, 8, 8]]))


@pytest.mark.parametrize("settings,error,message", [
    ({"require_full_compilation": 1}, TypeError, "require_full_compilation: expected a bool, got int 1"),
    ({"require_full_compilation": None}, TypeError, "require_full_compilation: expected a bool, got NoneType"),
    ({"min_block_size": "3"}, TypeError, "min_block_size: expected an int, got str"),
    ({"min_block_size": True}, TypeError, "min_block_size: expected an int, got bool"),
    ({"min_block_size": 3.0}, TypeError, "min_block_size: expected an int, got float"),
    ({"min_block_size": 0}, ValueError, "min_block_size: must be 1 to 1073741824, got 0"),
    ({"min_block_size": -1}, ValueError, "min_block_size: must be 1 to 1073741824, got -1"),
    ({"min_block_size": 2**30 + 1}, ValueError, "min_block_size: must be 1 to 1073741824, got 1073741825"),
    ({"min_block_size": 2**64}, ValueError, "min_block_size: must be 1 to 1073741824, got 18446744073709551616"),
    ({"torch_executed_ops": "aten::relu"}, TypeError, "torch_executed_ops: expected a list of names .str., got str"),
    ({"torch_executed_ops": None}, TypeError, "torch_executed_ops: expected a list of names"),
    ({"torch_executed_ops": ["aten::relu", 3]}, TypeError, r"torch_executed_ops\[1\]: expected a str, got int 3"),
    ({"torch_executed_ops": [""]}, ValueError, r"torch_executed_ops\[0\]: the name is empty"),
    ({"torch_executed_modules": {"a.A": 1}}, TypeError, "torch_executed_modules: expected a list of names"),
    ({"torch_executed_modules": [b"a.A"]}, TypeError, r"torch_executed_modules\[0\]: expected a str, got bytes"),
    ({"torch_fallback": True}, TypeError, "torch_fallback: expected a dict"),
    ({"torch_fallback": {"enabled": True, "forced_fallback_operators": ["aten::relu"]}}, ValueError,
     "torch_fallback: unknown key.s. 'forced_fallback_operators'; valid keys: 'enabled', 'min_block_size', "
     "'forced_fallback_ops', 'forced_fallback_modules'"),
    ({"torch_fallback": {"min_block_size": 3}}, ValueError, "torch_fallback: 'enabled' is required"),
    ({"torch_fallback": {"enabled": "yes"}}, TypeError, r"torch_fallback\['enabled'\]: expected a bool, got str"),
    ({"torch_fallback": {"enabled": True, "min_block_size": 0}}, ValueError,
     r"torch_fallback\['min_block_size'\]: must be 1 to 1073741824, got 0"),
    ({"torch_fallback": {"enabled": True, "min_block_size": "2"}}, TypeError,
     r"torch_fallback\['min_block_size'\]: expected an int, got str"),
    ({"torch_fallback": {"enabled": True, "forced_fallback_ops": "aten::relu"}}, TypeError,
     r"torch_fallback\['forced_fallback_ops'\]: expected a list of names"),
    ({"torch_fallback": {"enabled": True, "forced_fallback_modules": [None]}}, TypeError,
     r"torch_fallback\['forced_fallback_modules'\]\[0\]: expected a str, got NoneType"),
])
def test_bad_partition_settings_name_the_key(settings, error, message):
    with pytest.raises(error, match=message):
        parse_compile_spec(dict(settings, input_shapes=[[1]]))


@pytest.mark.parametrize("settings,message", [
    ({"torch_executed_ops": ["relu"]}, "torch_executed_ops: 'relu' is not an op name"),
    ({"torch_executed_ops": ["aten::no_such_op"]}, "torch_executed_ops: unknown operator 'aten::no_such_op'"),
    ({"torch_executed_ops": ["aten::relu.nope"]}, "torch_executed_ops: operator 'aten::relu' has no overload 'nope'"),
    ({"torch_executed_ops": ["aten::relu(Tensor self"]},
     r"torch_executed_ops: 'aten::relu\(Tensor self' is not a valid schema"),
    ({"torch_executed_ops": ["aten::relu.nope(Tensor self) -> Tensor"]},
     r"torch_executed_ops: no operator has the schema 'aten::relu.nope\(Tensor self\) -> Tensor'"),
    ({"torch_fallback": {"enabled": True, "forced_fallback_ops": ["relu"]}}, "'relu' is not an op name"),
    ({"torch_executed_modules": ["my module"]}, "torch_executed_modules: 'my module' is not a qualified class name"),
])
def test_op_and_module_names_are_checked_when_parsing(settings, message):
    with pytest.raises(ValueError, match=message):
        parse_compile_spec(dict(settings, input_shapes=[[1]]))


def test_the_compile_checks_the_cpp_compile_spec_too(model):
    """The C++ API checks the fields itself: a spec built without the dictionary's checks is refused
    with trtorch.Error naming the field."""
    spec = parse_compile_spec({"input_shapes": [[1, 3, 8, 8]], "device": "reference"})
    spec.min_block_size = 0
    with pytest.raises(trtorch.Error, match="min_block_size must be 1 to 1073741824, got 0"):
        _C.compile_graph(model._c, spec)
    spec.min_block_size = 2**40
    with pytest.raises(trtorch.Error, match="min_block_size must be 1 to 1073741824, got 1099511627776"):
        _C.compile_graph(model._c, spec)
    spec.min_block_size = 3
    spec.torch_executed_ops = ["relu"]
    with pytest.raises(trtorch.Error, match="'relu' is not an op name"):
        _C.convert_graph_to_trt_engine(model._c, "forward", spec)
    spec.torch_executed_ops = ["aten::relu"]
    spec.require_full_compilation = True
    with pytest.raises(trtorch.Error, match="conflicting settings"):
        _C.compile_graph(model._c, spec)


def test_compiling_with_partition_settings_still_works(model):
    x = torch.randn(1, 3, 8, 8)
    for extra in ({"require_full_compilation": True},
                  {"min_block_size": 1, "torch_executed_ops": ["aten::relu"]},
                  {"torch_fallback": {"enabled": True, "min_block_size": 2}}):
        trt = trtorch.compile(model, dict({"input_shapes": [[1, 3, 8, 8]], "device": "reference"}, **extra))
        assert torch.allclose(trt(x), model(x), atol=1e-5), extra
