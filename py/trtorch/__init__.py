"""trtorch: ahead-of-time compilation of TorchScript modules into optimized engines.

trtorch builds its own engines (its own IR, passes and backends); it does not use NVIDIA
TensorRT. Until the CUDA backend lands, engines run on the reference (CPU) backend.

    import torch, trtorch
    ts = torch.jit.script(model.eval())
    trt = trtorch.compile(ts, {"input_shapes": [[1, 3, 224, 224]], "op_precision": torch.half})
    out = trt(x.half())
    torch.jit.save(trt, "model_trt.ts")   # loads wherever trtorch is imported

Importing trtorch loads its runtime library, so ``torch.jit.load`` of compiled modules works.
"""

import torch as _torch

from trtorch import _build_info


def _check_torch_version(built):
    """Before any native library is loaded (one built for another torch may not even load)."""
    running = _torch.__version__.split("+")[0]
    if built.split(".")[:2] != running.split(".")[:2]:
        raise ImportError("trtorch was built against torch %s but torch %s is imported; rebuild "
                          "trtorch with this torch (scripts/build.sh, or pip install --no-build-isolation .)"
                          % (built, _torch.__version__))


_check_torch_version(_build_info.TORCH_VERSION)

from trtorch._runtime import (  # noqa: E402
    get_engine_placement, library_dir, load_runtime, runtime_library_path, set_engine_placement)

load_runtime()

from trtorch import _C  # noqa: E402  (needs the runtime loaded first)

__version__ = "0.1.0"

from trtorch import logging, ptq  # noqa: E402
from trtorch._C import Error  # noqa: E402
from trtorch._compile_spec import DeviceType  # noqa: E402
from trtorch._input import Device, Input  # noqa: E402
from trtorch._compiler import (  # noqa: E402
    check_method_op_support, compile, convert_method_to_trt_engine, load_engine)


def get_build_info():
    """Version and build information: trtorch version, engine format, torch it was built
    against, available backends."""
    return _C.get_build_info()


def dump_build_info():
    """Prints ``get_build_info()``."""
    print(get_build_info())


__all__ = [
    "compile", "convert_method_to_trt_engine", "check_method_op_support", "load_engine", "DeviceType", "Device",
    "Input", "Error",
    "logging", "ptq", "get_build_info", "dump_build_info", "runtime_library_path", "library_dir",
    "set_engine_placement", "get_engine_placement",
    "__version__",
]
