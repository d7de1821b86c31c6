"""Fuzz tests of what a user hands trtorch besides engine bytes (issue 21, item 8):

* the settings dictionary of trtorch.compile: random mutations of valid settings (hostile values
  of every type in every key, unknown keys, missing keys, malformed shapes and fallback settings);
* the saved-module container: a compiled module saved with torch.jit.save whose engines (strings
  in the archive's data.pkl) are mutated -- bytes changed with the engine checksum resealed, cut
  short, extended, swapped between engine slots, emptied -- then loaded with torch.jit.load and run.

Every case must end in success or in a clean Python exception (ValueError, TypeError or
RuntimeError, the last being trtorch.Error / torch's error) with a message: never a crash, a hang,
or another exception type. Each fuzzer runs in a child process that writes the case it is about to
try to a file, so that a case that kills the process is reported with its input. Deterministic
(seed TRTORCH_FUZZ_SEED, default fixed); each fuzzer runs for half of TRTORCH_FUZZ_SECONDS (default
20, as the engine fuzz test).

    PYTHONPATH=build/python python3 -m pytest tests/python/test_fuzz.py
"""
import io
import json
import os
import random
import resource
import struct
import subprocess
import sys
import time
import zipfile

import pytest
import torch

CLEAN = (ValueError, TypeError, RuntimeError)
SEED = int(os.environ.get("TRTORCH_FUZZ_SEED", "20261206"))
SECONDS = float(os.environ.get("TRTORCH_FUZZ_SECONDS", "20")) / 2  # per fuzzer
HEADER = 8 + 4 + 8 + 8  # engine header: magic, version, payload size, payload checksum


# --- the child processes ------------------------------------------------------------------------

def hostile_values(rng):
    """Values of every kind a settings dictionary can hold, most of them wrong somewhere."""
    return [None, True, False, 0, 1, -1, 2, 3, 7, 2**31 - 1, 2**31, 2**32, 2**62, 2**63 - 1, 2**63, 2**64,
            -2**63, -2**63 - 1, 10**30, 0.0, -0.0, 1.5, float("nan"), float("inf"), -float("inf"),
            "", "abc", "auto", "gpu", "cuda", "reference", "cpu", "\x00", "x" * 10000, "aten::relu",
            "aten::roll", "aten::roll.default", "torch.nn.ReLU", "nn.Linear", "__torch__.X", b"bytes",
            [], [[]], [1], [2, 8], [[2, 8]], [[2, 8], [2, 8]], [[0, 8]], [[-1, 8]], [[2**63, 8]], [[2.0, 8]],
            [["2", 8]], [[True, 8]], [{"min": [1, 8], "opt": [2, 8], "max": [4, 8]}],
            [{"min": [4, 8], "opt": [2, 8], "max": [1, 8]}], [{"min": [1, 8]}], [{"opt": 3}],
            {}, {"enabled": True}, {"enabled": "yes"}, {"min_block_size": -1}, {"forced_fallback_ops": 5},
            {"enabled": True, "forced_fallback_ops": ["aten::relu"], "forced_fallback_modules": ["nope"]},
            (), ("aten::relu",), ["aten::relu", 5], ["aten::nonexistent_op"], ["torch.nn.Linear"],
            {"device_type": "gpu"}, {"gpu_id": 2**40}, torch.float32, torch.half, torch.bfloat16, torch.int8,
            torch.int64, torch.bool, torch.complex64, [torch.float32], [torch.int64], [torch.uint8],
            object(), rng.random(), rng.randint(-2**70, 2**70), [rng.randint(-5, 10) for _ in range(rng.randint(0, 6))],
            {"k%d" % rng.randint(0, 9): rng.randint(0, 9)}]


def mutate_settings(rng, base, keys):
    spec = dict(base)
    for _ in range(rng.randint(1, 3)):
        what = rng.random()
        if what < 0.6:
            spec[rng.choice(keys)] = rng.choice(hostile_values(rng))
        elif what < 0.7 and spec:
            del spec[rng.choice(list(spec))]
        elif what < 0.8:
            spec[rng.choice(["max_batch_size", "inputs", "", "INPUT_SHAPES", "op_precision "])] = 1
        elif what < 0.9:
            shape = [rng.choice([1, 2, 8, 0, -1, 2**40, 2**63, 3]) for _ in range(rng.randint(0, 4))]
            spec["input_shapes"] = [shape] * rng.randint(0, 3)
        else:
            spec["torch_fallback"] = {rng.choice(["enabled", "min_block_size", "forced_fallback_ops",
                                                  "forced_fallback_modules", "other"]): rng.choice(hostile_values(rng))}
    return spec


def describe(value):
    try:
        return repr(value)[:2000]
    except Exception as e:  # noqa: BLE001  (a value whose repr fails is described by its type)
        return "<%s: repr failed: %s>" % (type(value).__name__, e)


def child_settings(case_file, deadline, seed):
    import trtorch
    from trtorch._compile_spec import VALID_KEYS
    rng = random.Random(seed)
    torch.manual_seed(0)
    model = torch.jit.script(torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8)).eval())
    base = {"input_shapes": [[2, 8]], "device": "reference", "op_precision": torch.float32}
    keys = list(VALID_KEYS)
    counts = {"cases": 0, "compiled": 0, "errors": 0}
    while time.time() < deadline:
        spec = mutate_settings(rng, base, keys)
        if "timing_cache_path" in spec and isinstance(spec["timing_cache_path"], str) and spec["timing_cache_path"]:
            spec["timing_cache_path"] = os.path.join(os.path.dirname(case_file), "cache_" + str(len(spec["timing_cache_path"])))
        with open(case_file, "w") as f:
            f.write(describe(spec))
        counts["cases"] += 1
        try:
            trtorch.compile(model, spec)
            counts["compiled"] += 1
        except CLEAN as e:
            if not str(e).strip():
                raise AssertionError("%s without a message for settings %s" % (type(e).__name__, describe(spec)))
            counts["errors"] += 1
    return counts


def fnv1a64(data):
    # The engine format's checksum (core/plan/engine.cpp): FNV-1a's prime with the offset basis
    # 1469598103934665603 (the format's own, pinned by its version).
    h = 1469598103934665603
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def reseal(engine):
    """Recomputes the engine header's payload size and checksum, so that a mutation reaches the parser."""
    if len(engine) < HEADER:
        return engine
    payload = engine[HEADER:]
    return engine[:12] + struct.pack("<QQ", len(payload), fnv1a64(payload)) + payload


def with_device_record(engine, name=None, major=None, minor=None, gpu_id=None):
    """The engine with fields of its device record (the payload's first field: u8 type, i32 gpu_id,
    str name, i32 sm major, i32 sm minor) changed, the others kept, resealed."""
    p = HEADER
    dev_type, old_gpu, n = struct.unpack_from("<BiI", engine, p)
    old_name = engine[p + 9:p + 9 + n].decode()
    old_major, old_minor = struct.unpack_from("<ii", engine, p + 9 + n)
    name = old_name if name is None else name
    record = (struct.pack("<BiI", dev_type, old_gpu if gpu_id is None else gpu_id, len(name)) + name.encode() +
              struct.pack("<ii", old_major if major is None else major, old_minor if minor is None else minor))
    return reseal(engine[:p] + record + engine[p + 9 + n + 8:])


def mutate_engine(rng, engine, others):
    b = bytearray(engine)
    what = rng.randrange(8)
    if what <= 2 and len(b) > HEADER:  # change bytes of the payload, reseal
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(HEADER, len(b))
            b[i] = rng.choice([0, 1, 0x7f, 0x80, 0xff, rng.randrange(256), b[i] ^ (1 << rng.randrange(8))])
        return reseal(bytes(b))
    if what == 3 and len(b) > HEADER + 8:  # an aligned 4 or 8 bytes set to an interesting integer
        i = rng.randrange(HEADER, len(b) - 8)
        v = rng.choice([0, 1, 2**31 - 1, 2**31, 2**32 - 1, 2**63 - 1, 2**64 - 1, 4096])
        width = rng.choice([4, 8])
        b[i:i + width] = (v & ((1 << (8 * width)) - 1)).to_bytes(width, "little")
        return reseal(bytes(b))
    if what == 4:  # cut short (resealed or not)
        cut = bytes(b[:rng.randrange(len(b) + 1)])
        return reseal(cut) if rng.random() < 0.5 else cut
    if what == 5:  # extended
        return reseal(bytes(b) + bytes(rng.randrange(256) for _ in range(rng.randint(1, 64))))
    if what == 6:  # another engine of the module (mismatched inputs and outputs)
        return rng.choice(others)
    return rng.choice([b"", b"TRTORCH\x00", bytes(64), engine[:HEADER]])


def find_engines(pkl):
    """(offset of the length field, length) of each engine string in data.pkl (BINUNICODE, 'X')."""
    found, at = [], 0
    while True:
        i = pkl.find(b"TRTORCH\x00", at)
        if i < 0:
            return found
        if i >= 5 and pkl[i - 5:i - 4] == b"X":
            found.append((i - 4, struct.unpack("<I", pkl[i - 4:i])[0]))
        at = i + 1


def saved_engines(module):
    """The bytes of each engine of a compiled module, as torch.jit.save writes them."""
    buf = io.BytesIO()
    torch.jit.save(module, buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        pkl = z.read(next(n for n in z.namelist() if n.endswith("/data.pkl")))
    return [pkl[o + 4:o + 4 + n] for o, n in find_engines(pkl)]


def rebuild_archive(entries, pkl_name, pkl):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for name, data in entries:
            z.writestr(name, pkl if name == pkl_name else data)
    return out.getvalue()


def child_container(case_file, deadline, seed):
    import trtorch
    torch.manual_seed(0)
    # Two engine segments (the ReLU forced to TorchScript between them), so engines can be swapped.
    model = torch.jit.script(torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4),
                                                 torch.nn.Sigmoid()).eval())
    trt = trtorch.compile(model, {"input_shapes": [[2, 8]], "device": "reference", "min_block_size": 1,
                                  "torch_executed_ops": ["aten::relu"]})
    buf = io.BytesIO()
    torch.jit.save(trt, buf)
    archive = buf.getvalue()
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        entries = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    pkl_name = next(n for n, _ in entries if n.endswith("/data.pkl"))
    pkl = dict(entries)[pkl_name]
    slots = find_engines(pkl)
    assert len(slots) == 2, "expected two engines in %s, found %d" % (pkl_name, len(slots))
    engines = [pkl[o + 4:o + 4 + n] for o, n in slots]
    x = torch.randn(2, 8)
    with torch.no_grad():
        want = model(x)
    # The untouched archive, rebuilt by this test's zip writer, loads and gives TorchScript's result.
    m = torch.jit.load(io.BytesIO(rebuild_archive(entries, pkl_name, pkl)))
    torch.testing.assert_close(m(x), want, rtol=1e-4, atol=1e-5)
    rng = random.Random(seed)
    counts = {"cases": 0, "loaded": 0, "ran": 0, "errors": 0}
    while time.time() < deadline:
        k = rng.randrange(len(slots))
        new = mutate_engine(rng, engines[k], [e for j, e in enumerate(engines) if j != k])
        o, n = slots[k]
        mutated_pkl = pkl[:o] + struct.pack("<I", len(new)) + new + pkl[o + 4 + n:]
        with open(case_file, "w") as f:
            f.write("engine %d replaced by %d bytes (hex): %s" % (k, len(new), new.hex()))
        counts["cases"] += 1
        try:
            m = torch.jit.load(io.BytesIO(rebuild_archive(entries, pkl_name, mutated_pkl)))
            counts["loaded"] += 1
            with torch.no_grad():
                m(x)
            counts["ran"] += 1
        except CLEAN as e:
            if not str(e).strip():
                raise AssertionError("%s without a message" % type(e).__name__)
            counts["errors"] += 1
    return counts


def child_main():
    kind, case_file, seconds, seed = sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
    # A mutated engine must fail cleanly, not allocate the machine away.
    limit = 16 << 30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    fn = {"settings": child_settings, "container": child_container}[kind]
    counts = fn(case_file, time.time() + seconds, seed)
    print(json.dumps(counts))


# --- the tests ------------------------------------------------------------------------------------

def run_child(kind, tmp_path, seconds, seed):
    case_file = str(tmp_path / ("case_" + kind))
    env = dict(os.environ)
    env.setdefault("PYTHONPATH", os.pathsep.join(p for p in sys.path if p))
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", kind, case_file, str(seconds), str(seed)],
                       capture_output=True, text=True, timeout=seconds + 300, env=env)
    if p.returncode != 0:
        case = open(case_file).read() if os.path.exists(case_file) else "(none recorded)"
        how = "killed by signal %d" % -p.returncode if p.returncode < 0 else "exit status %d" % p.returncode
        pytest.fail("%s fuzz: the child process ended with %s on this case:\n%s\nstderr (end):\n%s"
                    % (kind, how, case[:4000], p.stderr[-4000:]))
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_settings_dictionary_fuzz(tmp_path):
    counts = run_child("settings", tmp_path, SECONDS, SEED)
    print("settings fuzz:", counts)
    # The fuzzer reached both outcomes: some mutations leave valid settings, most do not.
    assert counts["cases"] >= 50 and counts["compiled"] > 0 and counts["errors"] > 0, counts


def test_saved_module_container_fuzz(tmp_path):
    counts = run_child("container", tmp_path, SECONDS, SEED + 1)
    print("container fuzz:", counts)
    assert counts["cases"] >= 50 and counts["errors"] > 0 and counts["ran"] > 0, counts


def test_reseal_matches_the_engine_checksum():
    # The test's own checksum agrees with the engine format's: a resealed, unchanged engine loads.
    import trtorch
    m = torch.jit.script(torch.nn.Linear(4, 4).eval())
    trt = trtorch.compile(m, {"input_shapes": [[1, 4]], "device": "reference"})
    engine, = saved_engines(trt)
    assert reseal(engine) == engine
    broken = engine[:-1] + bytes([engine[-1] ^ 1])
    with pytest.raises(RuntimeError, match="checksum"):
        trtorch._C.load_engine(broken)
    try:
        trtorch._C.load_engine(reseal(broken))
    except RuntimeError as e:
        assert "checksum" not in str(e), e


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--child":
    child_main()
