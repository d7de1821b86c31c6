"""Parsing and validation of the settings dictionary of ``trtorch.compile`` (the dictionary of the
original TRTorch README) into the C++ ``CompileSpec``.

    {
        "input_shapes": [[1, 3, 224, 224],                          # a fixed shape, or
                         {"min": [1, 3, 224, 224], "opt": [...], "max": [...]}],  # a range
        "input_dtypes": [torch.int64, ...],  # optional, one per input: torch.float, torch.int32,
                                             # torch.int64, torch.bool or None (from the method)
        "op_precision": torch.half,          # torch.float (default), torch.half, torch.bfloat16, or
                                             # torch.int8 (INT8 convolutions and linear layers, FP16
                                             # for the rest; needs "calibrator" or a QAT model)
        "calibrator": None,                  # INT8: trtorch.ptq.DataLoaderCalibrator / CacheCalibrator
        "int8_timing_choice": True,          # calibrated INT8 on a GPU: a layer runs in INT8 only
                                             # where that times faster than in float (False: every
                                             # layer that can)
        "device": {"device_type": trtorch.DeviceType.GPU, "gpu_id": 0},   # or "gpu", "reference", ...
                                             # gpu_id: 0 to 2**31 - 1
        "workspace_size": 0,                 # bytes of scratch per kernel, 0 to 2**40 (1 TiB);
                                             # 0 = default
        "num_min_timing_iters": 2,           # tactic timing: warm-up runs per candidate (0 to 1000)
        "num_avg_timing_iters": 1,           # tactic timing: averaged runs per candidate (1 to 1000)
        "allow_tf32": False,                 # FP32 engines: TF32 tensor cores for convs/GEMMs
        "debug": False,                      # debug logging, IR verified after every pass
        "timing_cache_path": None,           # a file of tactic choices kept between builds (str
                                             # or os.PathLike); None or "" = no cache
        # Engine knobs (each is recorded in the engine: trtorch.load_engine(bytes).info() lists them)
        "fp32_conv_bias": True,              # f16/bf16 engines: convolution biases stay FP32
        "channels_last": True,               # GPU: f16/bf16 convolution activations in NHWC
        "cuda_graphs": True,                 # GPU: replay the engine's launches as a CUDA graph
        "conv_candidates": 6,                # GPU: cuDNN configs timed per convolution (1 to 16)
        "conv_runtime_compilation": "fallback",  # GPU: where cuDNN's runtime-compiled convolution
                                             # configs race the kernels compiled ahead of time:
                                             # "fallback" (only convolutions CUTLASS does not
                                             # take: the fastest builds), "auto" (also where those
                                             # are over 2x the roofline time), "always" (slowest)
        "build_threads": 0,                  # GPU: host threads building them (0 = the host's
                                             # cores, up to 16; at most 64); build time only
        # Partial compilation (fallback to TorchScript is on by default)
        "require_full_compilation": False,   # True: every op must compile into one engine (no
                                             # fallback); False: unsupported ops run in TorchScript
        "min_block_size": 3,                 # engine segments with fewer ops stay in TorchScript
                                             # (1 to 2**30)
        "torch_executed_ops": [],            # ops to run in TorchScript: "aten::relu" (every
                                             # overload), "aten::add.Tensor" or a full schema
        "torch_executed_modules": [],        # submodule classes run in TorchScript, by qualified
                                             # name ("torchvision.models.resnet.BasicBlock")
        "progress": False,                   # True: progress bars (tqdm) on stderr while it builds
    }

TRTorch v0.4 / Torch-TensorRT's spelling of the inputs, precisions and device is accepted too
(instead of input_shapes / input_dtypes / op_precision):

        "inputs": [trtorch.Input((1, 3, 224, 224)),          # or min_shape=, opt_shape=, max_shape=;
                   trtorch.Input((1, 128), dtype=torch.int64), #    dtype=, format=torch.channels_last
                   example_tensor],                            # an example tensor: its shape and dtype
        "enabled_precisions": {torch.half},  # the engine precision: the lowest floating one given;
                                             # torch.int8 in the set adds INT8 ({torch.int8} alone:
                                             # FP32 for the ops not in INT8)
        "device": trtorch.Device("cuda:0"),  # or trtorch.Device(gpu_id=0)

An input of dtype torch.float stays FP32 at the engine's boundary in an FP16/BF16 engine (the engine
casts it); one of dtype torch.half / torch.bfloat16 must match the precision.

TRTorch v0.4's spelling of the partial-compilation settings is accepted too:

        "torch_fallback": {"enabled": True,                  # required; False = require_full_compilation
                           "min_block_size": 3,              # = min_block_size
                           "forced_fallback_ops": [...],     # = torch_executed_ops
                           "forced_fallback_modules": [...]} # = torch_executed_modules

Both spellings may be given when they agree; values that disagree are a "conflicting settings"
``ValueError`` naming both keys.

Every problem raises ``TypeError`` (wrong type) or ``ValueError`` (wrong value) naming the key;
every integer is checked against its range here, before it reaches the C++ side (a dimension is 1
to 2**63 - 1). Op names are checked against the registered operators here too, module names for
their form.
"""

import enum
import os

import torch

from trtorch import _C


class DeviceType(enum.Enum):
    """Where the engine runs. ``AUTO``: the GPU when trtorch has its CUDA backend and a GPU is
    present, else the reference (CPU) backend. ``GPU``: a CUDA GPU, an error where there is none.
    ``REFERENCE``: the CPU reference backend."""
    AUTO = "auto"
    GPU = "gpu"
    REFERENCE = "reference"


_DEVICE_TYPES = {
    DeviceType.AUTO: _C.DeviceType.kAuto,
    DeviceType.GPU: _C.DeviceType.kGPU,
    DeviceType.REFERENCE: _C.DeviceType.kReference,
}

_DEVICE_NAMES = {
    "auto": DeviceType.AUTO,
    "gpu": DeviceType.GPU,
    "cuda": DeviceType.GPU,
    "reference": DeviceType.REFERENCE,
    "cpu": DeviceType.REFERENCE,
}

_PRECISIONS = {
    torch.float32: _C.DataType.kFloat,
    torch.float16: _C.DataType.kHalf,
    torch.bfloat16: _C.DataType.kBFloat16,
    torch.int8: _C.DataType.kInt8,
}

_INPUT_TYPES = {
    None: _C.InputType.kAuto,
    torch.float32: _C.InputType.kFloat,
    torch.int32: _C.InputType.kInt32,
    torch.int64: _C.InputType.kInt64,
    torch.bool: _C.InputType.kBool,
}

_DEFAULTS = {
    "inputs": None,
    "enabled_precisions": None,
    "input_dtypes": None,
    "op_precision": torch.float32,
    "device": "auto",
    "workspace_size": 0,
    "num_min_timing_iters": 2,
    "num_avg_timing_iters": 1,
    "allow_tf32": False,
    "debug": False,
    "timing_cache_path": None,
    "fp32_conv_bias": True,
    "channels_last": True,
    "cuda_graphs": True,
    "conv_candidates": 6,
    "build_threads": 0,
    "require_full_compilation": False,
    "min_block_size": 3,
    "torch_executed_ops": (),
    "torch_executed_modules": (),
    "torch_fallback": None,
    "progress": False,
    "calibrator": None,
    "int8_timing_choice": True,
    "conv_runtime_compilation": "fallback",
}

# The ranges of the integer settings (the builder's limits come from C++: trtorch::plan in builder.h).
MAX_DIM = 2**63 - 1                 # dimensions are int64
MAX_GPU_ID = 2**31 - 1              # the C++ gpu_id is an int
MAX_WORKSPACE_SIZE = _C.MAX_WORKSPACE_SIZE  # 1 TiB, more than any GPU has
MAX_TIMING_ITERS = _C.MAX_TIMING_ITERS      # per candidate; more only makes builds slower
MAX_MIN_BLOCK_SIZE = _C.MAX_MIN_BLOCK_SIZE  # 2**30: no method has that many ops

_BOOL_KEYS = ("allow_tf32", "debug", "fp32_conv_bias", "channels_last", "cuda_graphs", "int8_timing_choice")
_CONV_RUNTIME_COMPILATION = {"auto": _C.ConvRuntimeCompilation.kAuto, "always": _C.ConvRuntimeCompilation.kAlways,
                             "fallback": _C.ConvRuntimeCompilation.kFallback}

VALID_KEYS = ("input_shapes",) + tuple(_DEFAULTS)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _shape(value, where):
    if isinstance(value, torch.Size):
        value = list(value)
    if not isinstance(value, (list, tuple)):
        raise TypeError("%s: expected a shape (a list of positive ints), got %s %r"
                        % (where, type(value).__name__, value))
    if len(value) == 0:
        raise ValueError("%s: the shape is empty" % where)
    for i, d in enumerate(value):
        if not _is_int(d):
            raise TypeError("%s: dimension %d is %s %r; dimensions must be ints"
                            % (where, i, type(d).__name__, d))
        if d <= 0:
            raise ValueError("%s: dimension %d is %d; dimensions must be positive" % (where, i, d))
        if d > MAX_DIM:
            raise ValueError("%s: dimension %d is %d; dimensions must be 1 to %d (2**63 - 1)"
                             % (where, i, d, MAX_DIM))
    return [int(d) for d in value]


def _input_range(item, i):
    where = "input_shapes[%d]" % i
    if isinstance(item, dict):
        keys = set(item)
        if keys != {"min", "opt", "max"}:
            missing = sorted({"min", "opt", "max"} - keys)
            extra = sorted(str(k) for k in keys - {"min", "opt", "max"})
            raise ValueError("%s: a shape range needs exactly the keys 'min', 'opt', 'max'%s%s"
                             % (where, "; missing " + ", ".join(missing) if missing else "",
                                "; unknown " + ", ".join(extra) if extra else ""))
        mn = _shape(item["min"], where + "['min']")
        opt = _shape(item["opt"], where + "['opt']")
        mx = _shape(item["max"], where + "['max']")
        if not len(mn) == len(opt) == len(mx):
            raise ValueError("%s: 'min', 'opt' and 'max' have different ranks (%d, %d, %d)"
                             % (where, len(mn), len(opt), len(mx)))
        for d in range(len(opt)):
            if not mn[d] <= opt[d] <= mx[d]:
                raise ValueError("%s: dimension %d must satisfy min <= opt <= max, got %d, %d, %d"
                                 % (where, d, mn[d], opt[d], mx[d]))
        return (mn, opt, mx)
    fixed = _shape(item, where)
    return (fixed, fixed, fixed)


def _input_ranges(value):
    if not isinstance(value, (list, tuple)):
        raise TypeError("input_shapes: expected a list with one shape or {'min', 'opt', 'max'} "
                        "range per input, got %s" % type(value).__name__)
    if len(value) == 0:
        raise ValueError("input_shapes: the list is empty; give one shape per input of forward")
    return [_input_range(item, i) for i, item in enumerate(value)]


def _input_types(value, n):
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise TypeError("input_dtypes: expected a list with one dtype (or None) per input, got %s"
                        % type(value).__name__)
    if len(value) != n:
        raise ValueError("input_dtypes: %d dtypes for %d input shapes" % (len(value), n))
    out = []
    for i, t in enumerate(value):
        if not (t is None or isinstance(t, torch.dtype)) or t not in _INPUT_TYPES:
            raise TypeError("input_dtypes[%d]: expected torch.float, torch.int32, torch.int64, "
                            "torch.bool or None, got %r" % (i, t))
        out.append(_INPUT_TYPES[t])
    return out


def _precision(value):
    if not isinstance(value, torch.dtype) or value not in _PRECISIONS:
        raise TypeError("op_precision: expected torch.float (torch.float32), torch.half "
                        "(torch.float16), torch.bfloat16 or torch.int8, got %r" % (value,))
    return _PRECISIONS[value]


def _calibrator(value, int8, n_inputs):
    """The C++ calibrator of the "calibrator" setting (None: none)."""
    from trtorch.ptq import _Calibrator
    if value is None:
        return None
    if not isinstance(value, _Calibrator):
        raise TypeError("calibrator: expected a trtorch.ptq.DataLoaderCalibrator or CacheCalibrator, got %s"
                        % type(value).__name__)
    if not int8:
        raise ValueError("calibrator: INT8 is not enabled (op_precision=torch.int8 or torch.int8 in "
                         "enabled_precisions)")
    return value._to_c(n_inputs)


def _device_type(value, where):
    if isinstance(value, DeviceType):
        return value
    if isinstance(value, str) and value.lower() in _DEVICE_NAMES:
        return _DEVICE_NAMES[value.lower()]
    raise ValueError("%s: expected trtorch.DeviceType.GPU/REFERENCE/AUTO or one of %s, got %r"
                     % (where, ", ".join(repr(n) for n in _DEVICE_NAMES), value))


def _gpu_id(value, where):
    if not _is_int(value) or not 0 <= value <= MAX_GPU_ID:
        raise ValueError("%s: expected a non-negative int, 0 to %d (2**31 - 1), got %r" % (where, MAX_GPU_ID, value))
    return value


def _device(value):
    """(DeviceType, gpu_id) from a dict, a DeviceType, a string ("cuda:1" too) or a torch.device."""
    if isinstance(value, dict):
        unknown = sorted(str(k) for k in set(value) - {"device_type", "gpu_id"})
        if unknown:
            raise ValueError("device: unknown key(s) %s; valid keys: 'device_type', 'gpu_id'"
                             % ", ".join(repr(k) for k in unknown))
        if "device_type" not in value:
            raise ValueError("device: the dictionary needs 'device_type'")
        return (_device_type(value["device_type"], "device['device_type']"),
                _gpu_id(value.get("gpu_id", 0), "device['gpu_id']"))
    if isinstance(value, torch.device):
        kind = DeviceType.GPU if value.type == "cuda" else _device_type(value.type, "device")
        return kind, _gpu_id(value.index or 0, "device")
    if isinstance(value, str) and ":" in value:
        name, _, index = value.partition(":")
        if not index.isdigit():
            raise ValueError("device: %r: expected NAME or NAME:INDEX such as 'cuda:0'" % value)
        return _device_type(name, "device"), _gpu_id(int(index), "device")
    if isinstance(value, (str, DeviceType)):
        return _device_type(value, "device"), 0
    raise TypeError("device: expected a dict {'device_type': trtorch.DeviceType.GPU, 'gpu_id': 0}, "
                    "a trtorch.DeviceType, a string ('gpu', 'cuda', 'reference', 'cpu', 'auto') "
                    "or a torch.device, got %s %r" % (type(value).__name__, value))


def _count(value, key, minimum, maximum):
    """An int in [minimum, maximum]."""
    if not _is_int(value):
        raise TypeError("%s: expected an int, got %s %r" % (key, type(value).__name__, value))
    if not minimum <= value <= maximum:
        raise ValueError("%s: must be %d to %d, got %d" % (key, minimum, maximum, value))
    return value


def _bounded(value, key, minimum, maximum, maximum_text):
    """An int >= minimum, at most maximum (a limit set here rather than by the builder)."""
    if not _is_int(value):
        raise TypeError("%s: expected an int, got %s %r" % (key, type(value).__name__, value))
    if not minimum <= value <= maximum:
        raise ValueError("%s: must be >= %d and <= %d (%s), got %d" % (key, minimum, maximum, maximum_text, value))
    return value


def _bool(value, key):
    if not isinstance(value, bool):
        raise TypeError("%s: expected a bool, got %s %r" % (key, type(value).__name__, value))
    return value


def _path(value, key):
    if value is None:
        return ""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError("%s: expected a file path (str or os.PathLike) or None, got %s %r"
                        % (key, type(value).__name__, value))
    path = os.fspath(value)
    if not isinstance(path, str):
        raise TypeError("%s: expected a str path, got %s %r" % (key, type(path).__name__, path))
    if "\0" in path:
        raise ValueError("%s: the path contains a NUL character" % key)
    return path


# TRTorch v0.4's "torch_fallback" keys and the current keys they stand for.
_FALLBACK_KEYS = {
    "enabled": "require_full_compilation",
    "min_block_size": "min_block_size",
    "forced_fallback_ops": "torch_executed_ops",
    "forced_fallback_modules": "torch_executed_modules",
}


def _names(value, key):
    """A list, tuple or set of non-empty strs, as a list without repeats (a set in sorted order)."""
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise TypeError("%s: expected a list of names (str), got %s %r" % (key, type(value).__name__, value))
    items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else list(value)
    out = []
    for i, name in enumerate(items):
        if not isinstance(name, str):
            raise TypeError("%s[%d]: expected a str, got %s %r" % (key, i, type(name).__name__, name))
        if not name.strip():
            raise ValueError("%s[%d]: the name is empty" % (key, i))
        if name not in out:
            out.append(name)
    return out


def _torch_fallback(value):
    """The partial-compilation settings of TRTorch v0.4's "torch_fallback" dict, under the
    current keys (only those it gives)."""
    key = "torch_fallback"
    if not isinstance(value, dict):
        raise TypeError("%s: expected a dict {'enabled': bool, 'min_block_size': int, 'forced_fallback_ops': "
                        "[...], 'forced_fallback_modules': [...]}, got %s %r" % (key, type(value).__name__, value))
    unknown = sorted(str(k) for k in set(value) - set(_FALLBACK_KEYS))
    if unknown:
        raise ValueError("%s: unknown key(s) %s; valid keys: %s" % (
            key, ", ".join(repr(k) for k in unknown), ", ".join(repr(k) for k in _FALLBACK_KEYS)))
    if "enabled" not in value:
        raise ValueError("%s: 'enabled' is required (True: what trtorch cannot compile runs in TorchScript; "
                         "False: the whole method must compile, as require_full_compilation=True)" % key)
    out = {"require_full_compilation": not _bool(value["enabled"], key + "['enabled']")}
    if "min_block_size" in value:
        out["min_block_size"] = _count(value["min_block_size"], key + "['min_block_size']", 1, MAX_MIN_BLOCK_SIZE)
    for old in ("forced_fallback_ops", "forced_fallback_modules"):
        if old in value:
            out[_FALLBACK_KEYS[old]] = _names(value[old], "%s['%s']" % (key, old))
    return out


def _partition(settings):
    """(require_full_compilation, min_block_size, torch_executed_ops, torch_executed_modules) from
    the current keys and TRTorch v0.4's "torch_fallback", which must agree where both are given."""
    given = {}  # key -> (value, the setting's text for messages)
    if "require_full_compilation" in settings:
        v = _bool(settings["require_full_compilation"], "require_full_compilation")
        given["require_full_compilation"] = (v, "require_full_compilation=%r" % v)
    if "min_block_size" in settings:
        v = _count(settings["min_block_size"], "min_block_size", 1, MAX_MIN_BLOCK_SIZE)
        given["min_block_size"] = (v, "min_block_size=%d" % v)
    for key in ("torch_executed_ops", "torch_executed_modules"):
        if key in settings:
            v = _names(settings[key], key)
            given[key] = (v, "%s=%r" % (key, v))
    old = {}
    if settings.get("torch_fallback") is not None:
        old_key = {new: old for old, new in _FALLBACK_KEYS.items()}
        for key, v in _torch_fallback(settings["torch_fallback"]).items():
            shown = (not v) if key == "require_full_compilation" else v
            old[key] = (v, "torch_fallback['%s']=%r" % (old_key[key], shown))
    for key, (v, text) in old.items():
        if key in given:
            mine, mine_text = given[key]
            if (set(v) != set(mine)) if isinstance(v, list) else (v != mine):
                raise ValueError("conflicting settings: %s and %s disagree (give one of them, or the same value)"
                                 % (mine_text, text))
    merged = {k: (_DEFAULTS[k], None) for k in _FALLBACK_KEYS.values()}
    merged.update(old)
    merged.update(given)
    full, full_text = merged["require_full_compilation"]
    forced = [text for key in ("torch_executed_ops", "torch_executed_modules")
              for value, text in [merged[key]] if value]
    if full and forced:
        raise ValueError("conflicting settings: %s asks for full compilation, yet %s ask%s for ops to run in "
                         "TorchScript" % (full_text, " and ".join(forced), "s" if len(forced) == 1 else ""))
    return (full, merged["min_block_size"][0], list(merged["torch_executed_ops"][0]),
            list(merged["torch_executed_modules"][0]))


_V04_PRECISIONS = {torch.float32: 0, torch.bfloat16: 1, torch.float16: 2}  # the lowest one given wins


def _enabled_precisions(value):
    """(op_precision, int8) from Torch-TensorRT's "enabled_precisions" set: the engine's lowest floating
    precision (FP32 when the set has none), and whether INT8 is in it."""
    key = "enabled_precisions"
    if isinstance(value, torch.dtype):
        value = {value}
    if not isinstance(value, (set, frozenset, list, tuple)) or not value:
        raise TypeError("%s: expected a non-empty set of dtypes such as {torch.half}, got %r" % (key, value))
    for t in value:
        if not isinstance(t, torch.dtype) or (t not in _V04_PRECISIONS and t != torch.int8):
            raise TypeError("%s: each dtype must be torch.float, torch.half, torch.bfloat16 or torch.int8, got %r"
                            % (key, t))
    if torch.float16 in value and torch.bfloat16 in value:
        raise ValueError("%s: torch.half and torch.bfloat16 together; an engine has one reduced precision, "
                         "choose one" % key)
    floats = [t for t in value if t != torch.int8] or [torch.float32]
    return max(floats, key=lambda t: _V04_PRECISIONS[t]), torch.int8 in value


def _v04_settings(settings):
    """The settings with TRTorch v0.4 / Torch-TensorRT's keys ("inputs" of trtorch.Input or example
    tensors, "enabled_precisions", a trtorch.Device) spelled as the seed's."""
    from trtorch._input import Device, Input
    s = dict(settings)
    if s.get("enabled_precisions") is not None:
        prec, int8 = _enabled_precisions(s.pop("enabled_precisions"))
        same = (s.get("op_precision") == torch.int8 and int8 and prec == torch.float16) or (
            s.get("op_precision") == prec)
        if "op_precision" in s and not same:
            raise ValueError("conflicting settings: op_precision=%r and enabled_precisions (engine precision %r%s) "
                             "disagree (give one of them)" % (s["op_precision"], prec, " with INT8" if int8 else ""))
        s["op_precision"] = prec
        s["_int8"] = int8
    s.pop("enabled_precisions", None)
    if isinstance(s.get("device"), Device):
        s["device"] = s["device"].setting()
    if s.get("inputs") is None:
        s.pop("inputs", None)
        return s
    inputs = s.pop("inputs")
    for key in ("input_shapes", "input_dtypes"):
        if key in s:
            raise ValueError("conflicting settings: 'inputs' and '%s' both describe the inputs (give one of them)" % key)
    if not isinstance(inputs, (list, tuple)):
        raise TypeError("inputs: expected a list of trtorch.Input or example tensors, got %s" % type(inputs).__name__)
    if not inputs:
        raise ValueError("inputs: the list is empty; give one trtorch.Input (or example tensor) per input of forward")
    prec = s.get("op_precision", torch.float32)
    if prec == torch.int8:
        prec = torch.float16  # INT8's other ops run in FP16
    shapes, dtypes = [], []
    for i, item in enumerate(inputs):
        if isinstance(item, torch.Tensor):
            item = Input.from_tensor(item)
        if not isinstance(item, Input):
            raise TypeError("inputs[%d]: expected a trtorch.Input or a torch.Tensor, got %s %r"
                            % (i, type(item).__name__, item))
        shapes.append(item.shape_setting())
        t = item.dtype
        if t in (torch.float16, torch.bfloat16):
            if t != prec:
                raise ValueError("inputs[%d]: dtype %s needs the engine precision %s (enabled_precisions={%s}); "
                                 "the precision is %s" % (i, t, t, t, prec))
            t = None  # floating inputs take the engine precision
        dtypes.append(t)
    s["input_shapes"] = shapes
    if any(t is not None for t in dtypes):
        s["input_dtypes"] = dtypes
    return s


def parse_compile_spec(settings):
    """Validates ``settings`` and returns the ``trtorch._C.CompileSpec`` it describes."""
    if not isinstance(settings, dict):
        raise TypeError("compile settings: expected a dict with keys %s, got %s"
                        % (", ".join(VALID_KEYS), type(settings).__name__))
    unknown = [k for k in settings if k not in VALID_KEYS]
    if unknown:
        raise ValueError("compile settings: unknown key(s) %s; valid keys are: %s"
                         % (", ".join(repr(k) for k in unknown), ", ".join(VALID_KEYS)))
    settings = _v04_settings(settings)
    if "input_shapes" not in settings:
        raise ValueError("compile settings: 'input_shapes' (or 'inputs') is required (one shape or "
                         "{'min', 'opt', 'max'} range, or one trtorch.Input, per input of forward)")
    s = dict(_DEFAULTS)
    s.update(settings)

    ranges = _input_ranges(s["input_shapes"])
    spec = _C.CompileSpec(ranges)
    spec.input_types = _input_types(s["input_dtypes"], len(ranges))
    spec.op_precision = _precision(s["op_precision"])
    spec.enable_int8 = bool(s.get("_int8", False))
    spec.ptq_calibrator = _calibrator(s["calibrator"], spec.enable_int8 or s["op_precision"] == torch.int8,
                                      len(ranges))
    kind, gpu_id = _device(s["device"])
    spec.device_type = _DEVICE_TYPES[kind]
    spec.gpu_id = gpu_id
    spec.workspace_size = _bounded(s["workspace_size"], "workspace_size", 0, MAX_WORKSPACE_SIZE, "1 TiB")
    for key, minimum in (("num_min_timing_iters", 0), ("num_avg_timing_iters", 1)):
        setattr(spec, key, _bounded(s[key], key, minimum, MAX_TIMING_ITERS, "runs per candidate"))
    for key in _BOOL_KEYS:
        setattr(spec, key, _bool(s[key], key))
    spec.timing_cache_path = _path(s["timing_cache_path"], "timing_cache_path")
    mode = s["conv_runtime_compilation"]
    if not isinstance(mode, str) or mode not in _CONV_RUNTIME_COMPILATION:
        raise ValueError("conv_runtime_compilation: expected one of %s, got %r"
                         % (", ".join(repr(k) for k in _CONV_RUNTIME_COMPILATION), mode))
    spec.conv_runtime_compilation = _CONV_RUNTIME_COMPILATION[mode]
    _bool(s["progress"], "progress")  # read by trtorch.compile
    spec.conv_candidates = _count(s["conv_candidates"], "conv_candidates", 1, _C.MAX_CONV_CANDIDATES)
    spec.build_threads = _count(s["build_threads"], "build_threads", 0, _C.MAX_BUILD_THREADS)
    (spec.require_full_compilation, spec.min_block_size, spec.torch_executed_ops,
     spec.torch_executed_modules) = _partition(settings)
    try:
        _C.check_partition_settings(spec)  # op names against the registered operators
    except _C.Error as e:
        raise ValueError(str(e)) from None
    return spec
