"""Build progress (issue 22, item 4): the compiler reports its slow stages (done of total, the
current item) to Python (progress=True: tqdm bars; or a callback) and to trtorchc (a live bar on a
terminal, plain lines otherwise)."""
import collections

import pytest
import torch

import partition_models as pm
import trtorch
from conftest import run_trtorchc
from trtorch._compile_spec import parse_compile_spec

X = [2, pm.C, 8, 8]


def events_of(module, **settings):
    spec = parse_compile_spec(dict({"input_shapes": [X], "device": "reference"}, **settings))
    events = []
    trtorch._C.compile_graph(module._c, spec, lambda *e: events.append(e))
    return events


def check_stages(events):
    """Each stage's reports count up from 0 and end at done == total."""
    by_stage = collections.defaultdict(list)
    for stage, done, total, item in events:
        by_stage[stage].append((done, total))
    for stage, reports in by_stage.items():
        dones = [d for d, _ in reports]
        assert dones == sorted(dones), (stage, reports)
        assert reports[-1][0] == reports[-1][1], "stage %s does not end at done == total: %s" % (stage, reports)
    return by_stage


def test_whole_engine_reports_lowering_converting_building():
    m = torch.jit.script(pm.UnsupportedInMiddle(torch.nn.ReLU()).eval())
    stages = check_stages(events_of(m))
    assert {"lowering", "converting", "building"} <= set(stages), stages


def test_partial_compilation_reports_each_engine_segment():
    m = torch.jit.script(pm.UnsupportedInMiddle(pm.LogCumSumExp()).eval())
    events = events_of(m)
    stages = check_stages(events)
    assert [d for d, _ in stages["engine segments"]] == [0, 1, 2], stages
    assert any(item.startswith("segment 0, ") for s, _, _, item in events if s == "engine segments")


def test_progress_true_shows_bars_on_stderr(capfd):
    m = torch.jit.script(pm.UnsupportedInMiddle(pm.LogCumSumExp()).eval())
    trt = trtorch.compile(m, {"input_shapes": [X], "device": "reference", "progress": True})
    err = capfd.readouterr().err
    assert "trtorch: engine segments" in err and "2/2" in err, err
    x = torch.randn(*X)
    with torch.no_grad():
        torch.testing.assert_close(trt(x), m(x), rtol=1e-4, atol=1e-5)


def test_progress_setting_must_be_a_bool():
    m = torch.jit.script(pm.UnsupportedInMiddle(torch.nn.ReLU()).eval())
    with pytest.raises(TypeError, match="progress"):
        trtorch.compile(m, {"input_shapes": [X], "device": "reference", "progress": "yes"})


def test_a_callback_that_raises_stops_the_compile():
    m = torch.jit.script(pm.UnsupportedInMiddle(torch.nn.ReLU()).eval())
    spec = parse_compile_spec({"input_shapes": [X], "device": "reference"})

    def stop(*_):
        raise KeyboardInterrupt("stopped by the user")
    with pytest.raises(KeyboardInterrupt, match="stopped by the user"):
        trtorch._C.compile_graph(m._c, spec, stop)
    # The next compile (without a callback) is unaffected.
    trtorch._C.compile_graph(m._c, spec)


def test_trtorchc_prints_progress_lines_and_quiet_silences_them(tmp_path):
    src, out = tmp_path / "m.ts", tmp_path / "m_trt.ts"
    torch.jit.save(torch.jit.script(pm.UnsupportedInMiddle(pm.LogCumSumExp()).eval()), str(src))
    r = run_trtorchc(str(src), str(out), "-p", "f32", "--device", "reference", "(%s)" % ",".join(map(str, X)))
    assert r.returncode == 0, r.stderr
    assert "lowering 1/1" in r.stdout and "engine segments 2/2" in r.stdout, r.stdout
    r = run_trtorchc(str(src), str(out), "-q", "-p", "f32", "--device", "reference", "(%s)" % ",".join(map(str, X)))
    assert r.returncode == 0 and "engine segments" not in r.stdout, r.stdout
