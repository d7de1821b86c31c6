"""Shared set-up of the Python tests.

CTest (scripts/test.sh) runs them with PYTHONPATH=build/python and TRTORCH_BIN_DIR=build/bin.
Run by hand after `scripts/build.sh trtorch_python trtorchc`:

    PYTHONPATH=build/python python3 -m pytest -q tests/python
"""

import os
import subprocess
import sys

import pytest

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_BUILD = os.environ.get("BUILD_DIR", os.path.join(_REPO, "build"))
if not os.path.isabs(_BUILD):
    _BUILD = os.path.join(_REPO, _BUILD)

try:
    import trtorch  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(_BUILD, "python"))
    try:
        import trtorch  # noqa: F401
    except ImportError as e:
        raise ImportError("cannot import trtorch (%s): build it with `scripts/build.sh trtorch_python "
                          "trtorchc` and run with PYTHONPATH=build/python" % e) from e

import trtorch  # noqa: E402

PYTHONPATH = os.path.dirname(os.path.dirname(os.path.abspath(trtorch.__file__)))
BIN_DIR = os.environ.get("TRTORCH_BIN_DIR", os.path.join(_BUILD, "bin"))


def pytest_configure(config):
    # torch 2.11 marks torch.jit.script/trace deprecated; TorchScript is what trtorch compiles.
    config.addinivalue_line("filterwarnings", "ignore:`torch.jit.[a-z_]+` is deprecated:DeprecationWarning")


def run_python(code, *args, with_pythonpath=True, cwd=None):
    """Runs `code` in a fresh Python process; returns the CompletedProcess (text output)."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if with_pythonpath:
        env["PYTHONPATH"] = PYTHONPATH
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def run_trtorchc(*args, cwd=None):
    """Runs build/bin/trtorchc with `args`; returns the CompletedProcess (text output)."""
    exe = os.path.join(BIN_DIR, "trtorchc")
    if not os.path.exists(exe):
        pytest.fail("trtorchc is not built at %s (scripts/build.sh trtorchc)" % exe)
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)


def max_rel_error(got, want):
    """max|got - want| / max|want| (scaled error, robust to values near zero)."""
    got, want = got.detach().double(), want.detach().double()
    assert got.shape == want.shape, (got.shape, want.shape)
    return ((got - want).abs().max() / want.abs().max().clamp_min(1e-30)).item()


def graph_kinds(graph):
    """The kinds of every node of a TorchScript graph, nested blocks included, in order."""
    out = []
    for n in graph.nodes():
        out.append(n.kind())
        for b in n.blocks():
            out += graph_kinds(b)
    return out
