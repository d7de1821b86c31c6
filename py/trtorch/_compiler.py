"""The compile entry points: trtorch.compile, convert_method_to_trt_engine, check_method_op_support."""

import torch

from trtorch import _C
from trtorch._compile_spec import parse_compile_spec


def _cpp_module(module, fn):
    if isinstance(module, torch.jit.ScriptModule):
        return module._c
    if isinstance(module, torch.nn.Module):
        raise TypeError("trtorch.%s: expected a torch.jit.ScriptModule, got the eager module %s; "
                        "convert it first with torch.jit.script(module) or torch.jit.trace(module, "
                        "example_inputs)" % (fn, type(module).__name__))
    raise TypeError("trtorch.%s: expected a torch.jit.ScriptModule, got %s" % (fn, type(module).__name__))


def _method_name(name, module, fn):
    if not isinstance(name, str):
        raise TypeError("trtorch.%s: method_name must be a str, got %s" % (fn, type(name).__name__))
    if not hasattr(module, name):
        methods = module._c._method_names()
        raise ValueError("trtorch.%s: the module has no method %r (its methods: %s)"
                         % (fn, name, ", ".join(methods) or "none"))
    return name


def _settings(compile_spec, kwargs, fn):
    """The settings dictionary from the dict and/or keyword form (a key may not come twice)."""
    if compile_spec is None:
        compile_spec = {}
    elif not isinstance(compile_spec, dict):
        return compile_spec  # parse_compile_spec names the problem
    twice = sorted(set(compile_spec) & set(kwargs))
    if twice:
        raise ValueError("%s: %s given both in the settings dictionary and as keyword argument(s)"
                         % (fn, ", ".join(repr(k) for k in twice)))
    return dict(compile_spec, **kwargs)


class _ProgressBars:
    """progress(stage, done, total, item) from the compiler, shown as one tqdm bar per stage."""

    def __init__(self):
        import tqdm
        self._tqdm = tqdm.tqdm
        self._bar = None
        self._stage = None

    def __call__(self, stage, done, total, item):
        if stage != self._stage:
            self.close()
            self._stage = stage
            self._bar = self._tqdm(total=total, desc="trtorch: " + stage, unit="step", leave=True, dynamic_ncols=True)
        self._bar.n = done
        if item:
            self._bar.set_postfix_str(item, refresh=False)
        self._bar.refresh()
        if done >= total:
            self.close()

    def close(self):
        if self._bar is not None:
            self._bar.close()
        self._bar, self._stage = None, None


def _run_with_progress(settings, fn):
    """fn(progress) with a progress callback when settings ask for one (progress=True)."""
    if not (isinstance(settings, dict) and settings.get("progress") is True):
        return fn(None)
    bars = _ProgressBars()
    try:
        return fn(bars)
    finally:
        bars.close()


def compile(module, compile_spec=None, **kwargs):
    """Compiles ``module.forward`` into a trtorch engine.

    ``module`` is a ``torch.jit.ScriptModule`` (scripted or traced); ``compile_spec`` is the
    settings dictionary (see ``trtorch._compile_spec``), or the settings come as keyword arguments,
    Torch-TensorRT's form: ``trtorch.compile(ts, inputs=[trtorch.Input((1, 3, 224, 224))],
    enabled_precisions={torch.half})``. Returns a ``torch.jit.ScriptModule``
    whose ``forward`` runs the engine; it saves with ``torch.jit.save`` and loads in any process
    that has imported ``trtorch`` or loaded ``trtorch.runtime_library_path()``.

    With ``op_precision=torch.half`` (or ``torch.bfloat16``) the compiled module takes and
    returns tensors of that dtype. Raises ``trtorch.Error`` for what the compiler rejects
    (unsupported operators, shapes that do not fit the model, ops that need a dynamic size at
    compile time) and ``TypeError``/``ValueError`` for a malformed settings dictionary.
    """
    cpp = _cpp_module(module, "compile")
    settings = _settings(compile_spec, kwargs, "compile")
    spec = parse_compile_spec(settings)
    return _run_with_progress(settings, lambda progress: torch.jit._recursive.wrap_cpp_module(
        _C.compile_graph(cpp, spec, progress)))


def convert_method_to_trt_engine(module, method_name, compile_spec=None, **kwargs):
    """Compiles one method of ``module`` and returns the serialized engine (``bytes``), without the
    TorchScript wrapper. The bytes start with the magic ``TRTORCH``."""
    cpp = _cpp_module(module, "convert_method_to_trt_engine")
    _method_name(method_name, module, "convert_method_to_trt_engine")
    settings = _settings(compile_spec, kwargs, "convert_method_to_trt_engine")
    spec = parse_compile_spec(settings)
    return _run_with_progress(settings, lambda progress: _C.convert_graph_to_trt_engine(cpp, method_name, spec,
                                                                                         progress))


def check_method_op_support(module, method_name="forward", report=False):
    """True when every operation of the method can be compiled. Unsupported operations are
    logged as warnings (op, schema, source location); with ``report=True`` returns
    ``(supported, report_text)`` instead, one line per unsupported operation."""
    cpp = _cpp_module(module, "check_method_op_support")
    _method_name(method_name, module, "check_method_op_support")
    ok, text = _C.check_method_op_support(cpp, method_name)
    return (ok, text) if report else ok


def load_engine(engine):
    """Deserializes engine bytes (from ``convert_method_to_trt_engine`` or ``trtorchc
    --save-engine``) into a ``torch.classes.trtorch.Engine``; run it with
    ``torch.ops.trtorch.execute_engine(list_of_inputs, engine)``, which returns a list of tensors.
    Truncated, corrupted or foreign bytes raise ``trtorch.Error`` saying what is wrong."""
    if not isinstance(engine, (bytes, bytearray, memoryview)):
        raise TypeError("trtorch.load_engine: expected bytes, got %s" % type(engine).__name__)
    return _C.load_engine(bytes(engine))
