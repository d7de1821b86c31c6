"""Locating and loading the trtorch native libraries.

The runtime library (libtrtorch_runtime.so) registers the TorchScript class
``torch.classes.trtorch.Engine`` and the op ``trtorch::execute_engine`` that compiled modules
call. It must be loaded before ``torch.jit.load`` of a compiled module; ``import trtorch`` does
that, and a process that needs only the runtime can do
``torch.ops.load_library(trtorch.runtime_library_path())`` instead.
"""

import os

import torch

_LIB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib")


def library_dir():
    """The folder holding libtrtorch.so, libtrtorch_runtime.so and libtrtorch_core.so."""
    return _LIB_DIR


def runtime_library_path():
    """Path of libtrtorch_runtime.so, for ``torch.ops.load_library`` in processes that only run
    compiled modules."""
    return os.path.join(_LIB_DIR, "libtrtorch_runtime.so")


def load_runtime():
    """Loads the runtime library into this process the way ``torch.ops.load_library`` does (and
    records it in ``torch.ops.loaded_libraries``). Loading it twice is harmless."""
    path = runtime_library_path()
    if not os.path.exists(path):
        raise ImportError(
            "trtorch: the runtime library is missing at %s; build it with "
            "`scripts/build.sh trtorch_python` (it is linked there from build/lib)" % path)
    if os.path.realpath(path) in {os.path.realpath(p) for p in torch.ops.loaded_libraries}:
        return
    torch.ops.load_library(path)


_PLACEMENTS = ("inputs", "recorded")


def set_engine_placement(placement):
    """Where CUDA engines run, for the whole process (C++: ``trtorch::runtime::set_engine_placement``;
    environment: ``TRTORCH_ENGINE_PLACEMENT``).

    ``"inputs"`` (the default): an engine runs on any GPU with the compute capability it was built
    for. A loaded engine is prepared on the current CUDA device, and a call whose inputs are on
    another GPU prepares it there as well (once), so ``module.to("cuda:1")`` and one module called
    from a thread per GPU work. ``"recorded"``: only on the GPU it was built on, as its engine
    records (``device={"gpu_id": N}`` at compile time); inputs elsewhere are an error.
    """
    if placement not in _PLACEMENTS:
        raise ValueError("set_engine_placement: expected one of %s, got %r" % (", ".join(map(repr, _PLACEMENTS)),
                                                                            placement))
    torch.ops.trtorch.set_engine_placement(placement)


def get_engine_placement():
    """The engine placement in effect: ``"inputs"`` or ``"recorded"`` (see ``set_engine_placement``)."""
    return torch.ops.trtorch.engine_placement()
