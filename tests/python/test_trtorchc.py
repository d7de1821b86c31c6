"""trtorchc end to end: compile, save, check, engines, operator reports, errors and exit codes."""

import os
import re
import resource
import signal
import stat
import subprocess

import pytest
import torch

import tiny_models
import trtorch
from conftest import BIN_DIR, max_rel_error, run_trtorchc

OK, USAGE, IO_ERROR, UNSUPPORTED, COMPILE_ERROR, CHECK_FAILED = 0, 1, 2, 3, 4, 5


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("trtorchc")
    conv, unsupported = d / "conv.ts", d / "unsupported.ts"
    torch.jit.save(tiny_models.conv_net(), str(conv))
    torch.jit.save(tiny_models.unsupported(), str(unsupported))
    elementwise = d / "elementwise.ts"
    torch.jit.save(tiny_models.elementwise(), str(elementwise))
    return {"conv": conv, "unsupported": unsupported, "elementwise": elementwise}


def test_help_lists_options_and_exit_codes():
    r = run_trtorchc("--help")
    assert r.returncode == OK
    for text in ["-p, --op-precision", "--check-method-support", "--save-engine", "--threshold", "--no-check",
                 "--workspace-size", "--num-min-timing-iters", "--num-avg-timing-iters", "--allow-tf32", "-v, --verbose",
                 "--debug", "[(min);(opt);(max)]", "exit codes", "--timing-cache-file PATH", "--no-fp32-conv-bias",
                 "--calibration-cache-file PATH",
                 "--no-channels-last", "--no-cuda-graphs", "--conv-candidates N", "--build-threads N",
                 "--conv-runtime-compilation MODE",
                 "--require-full-compilation", "--min-block-size N", "--torch-executed-op OP",
                 "--torch-executed-module NAME", "--torch-executed-mod NAME",
                 "fallback to TorchScript is on by default"]:
        assert text in r.stdout
    for code in range(6):
        assert re.search(r"^  %d  " % code, r.stdout, re.M), code
    r = run_trtorchc("--version")
    assert r.returncode == OK and r.stdout.strip() == trtorch.get_build_info()


@pytest.mark.parametrize("precision,dtype", [("f32", torch.float), ("f16", torch.half), ("half", torch.half),
                                             ("bf16", torch.bfloat16)])
def test_compile_save_and_run_in_python(models, tmp_path, precision, dtype):
    out = tmp_path / "conv_trt.ts"
    r = run_trtorchc(models["conv"], out, "(2,3,16,16)", "-p", precision)
    assert r.returncode == OK, r.stderr
    for stage in ["load", "check operators", "compile", "save", "check"]:
        assert re.search(r"^\[trtorchc\] %s: .*\(\d+\.\d+ s, total \d+\.\d+ s\)$" % stage, r.stdout, re.M), r.stdout
    assert "max|trtorch - torchscript| / max|torchscript|" in r.stdout
    compiled = torch.jit.load(str(out))
    x = torch.randn(2, 3, 16, 16)
    got = compiled(x.to(dtype))
    assert got.dtype == dtype
    ref = torch.jit.load(str(models["conv"]))(x)
    assert max_rel_error(got.float(), ref) <= (1e-5 if dtype == torch.float else 5e-2)


def test_input_shape_flag_and_build_options(models, tmp_path):
    out = tmp_path / "conv_trt.ts"
    r = run_trtorchc(models["conv"], out, "--input-shape", " ( 1, 3, 8, 8 ) ", "--device", "reference",
                     "--workspace-size", "1048576", "--num-min-timing-iters", "1", "--num-avg-timing-iters=3",
                     "--allow-tf32", "--threshold", "1e-3", "-q")
    assert r.returncode == OK, r.stderr
    assert r.stdout == ""  # -q: no progress
    assert out.exists()


def _options_line(stdout):
    m = re.search(r"^\[trtorchc\] engine build options: (\S+)$", stdout, re.M)
    assert m, stdout
    return m.group(1)


def test_engine_knob_flags_reach_the_engine(models, tmp_path):
    out = tmp_path / "conv.engine"
    r = run_trtorchc(models["conv"], out, "(2,3,16,16)", "--device", "reference", "--save-engine")
    assert r.returncode == OK, r.stderr
    defaults = ("precision=f32;allow_tf32=0;fp32_conv_bias=1;channels_last=1;cuda_graphs=1;conv_candidates=6;"
                "workspace_size=0;num_min_timing_iters=2;num_avg_timing_iters=1")
    assert _options_line(r.stdout) == defaults
    assert trtorch.load_engine(out.read_bytes()).info().endswith("; build options: " + defaults)

    cache = tmp_path / "timing_cache.txt"
    r = run_trtorchc(models["conv"], out, "(2,3,16,16)", "--device", "reference", "--save-engine", "-p", "f16",
                     "--no-fp32-conv-bias", "--no-channels-last", "--no-cuda-graphs", "--conv-candidates", "3",
                     "--build-threads=2", "--timing-cache-file", cache, "--workspace-size", "4096",
                     "--conv-runtime-compilation", "auto")
    assert r.returncode == OK, r.stderr
    chosen = ("precision=f16;allow_tf32=0;fp32_conv_bias=0;channels_last=0;cuda_graphs=0;conv_candidates=3;"
              "workspace_size=4096;num_min_timing_iters=2;num_avg_timing_iters=1;conv_runtime_compilation=auto")
    assert _options_line(r.stdout) == chosen
    assert trtorch.load_engine(out.read_bytes()).info().endswith("; build options: " + chosen)

    # A compiled module records them too.
    module = tmp_path / "conv_trt.ts"
    r = run_trtorchc(models["conv"], module, "(2,3,16,16)", "--device", "reference", "--conv-candidates", "16")
    assert r.returncode == OK, r.stderr
    assert "conv_candidates=16;" in _options_line(r.stdout)
    assert "conv_candidates=16;" in torch.jit.load(str(module)).trtorch_engine_0.info()


def test_timing_cache_file_flag_reaches_the_gpu_builder(models, tmp_path):
    if not ("CUDA" in trtorch.get_build_info() and torch.cuda.is_available()):
        pytest.skip("needs the CUDA backend and a GPU (the reference backend keeps no timing cache)")
    cache = tmp_path / "timing_cache.txt"
    r = run_trtorchc(models["conv"], tmp_path / "o.ts", "(1,3,8,8)", "--device", "gpu", "--timing-cache-file", cache)
    assert r.returncode == OK, r.stderr
    assert cache.exists() and cache.stat().st_size > 0


@pytest.mark.parametrize("args,message", [
    (["--conv-candidates", "0"], "--conv-candidates expects 1 to 16, got '0'"),
    (["--conv-runtime-compilation", "never"], "--conv-runtime-compilation expects auto, always or fallback, got 'never'"),
    (["--conv-candidates", "17"], "--conv-candidates expects 1 to 16, got '17'"),
    (["--conv-candidates", "six"], "--conv-candidates expects a non-negative integer, got 'six'"),
    (["--build-threads", "65"], "--build-threads expects 0 to 64, got '65'"),
    (["--build-threads=-1"], "--build-threads expects a non-negative integer, got '-1'"),
    (["--no-cuda-graphs=1"], "--no-cuda-graphs takes no value"),
    (["--no-channels-last=0"], "--no-channels-last takes no value"),
    (["--no-fp32-conv-bias=yes"], "--no-fp32-conv-bias takes no value"),
    (["--timing-cache-file="], "--timing-cache-file needs a file path"),
    (["--timing-cache-file"], "--timing-cache-file needs a value"),
])
def test_bad_engine_knob_flags_are_usage_errors(models, tmp_path, args, message):
    r = run_trtorchc(models["conv"], tmp_path / "o.ts", "(1,3,8,8)", *args)
    assert r.returncode == USAGE, r.stdout + r.stderr
    assert message in r.stderr, r.stderr
    assert not (tmp_path / "o.ts").exists()


def _partition_line(stdout):
    m = re.search(r"^\[trtorchc\] partition settings: (.*)$", stdout, re.M)
    assert m, stdout
    return m.group(1)


def test_partition_flags_reach_the_compile_spec(models, tmp_path):
    out = tmp_path / "conv_trt.ts"
    r = run_trtorchc(models["conv"], out, "(1,3,8,8)", "--device", "reference")
    assert r.returncode == OK, r.stderr
    assert _partition_line(r.stdout) == \
        "require_full_compilation=0;min_block_size=3;torch_executed_ops=[];torch_executed_modules=[]"

    r = run_trtorchc(models["conv"], out, "(1,3,8,8)", "--device", "reference", "--require-full-compilation",
                     "--min-block-size", "1073741824")
    assert r.returncode == OK, r.stderr
    assert _partition_line(r.stdout) == \
        "require_full_compilation=1;min_block_size=1073741824;torch_executed_ops=[];torch_executed_modules=[]"

    r = run_trtorchc(models["conv"], out, "(1,3,8,8)", "--device", "reference", "--min-block-size=1",
                     "--torch-executed-op", "aten::relu", "--torch-executed-op=aten::add.Tensor",
                     "--torch-executed-op", "aten::relu(Tensor self) -> Tensor",
                     "--torch-executed-module", "torch.nn.modules.conv.Conv2d",
                     "--torch-executed-mod=__torch__.tiny_models.ConvNet")
    assert r.returncode == OK, r.stderr
    assert _partition_line(r.stdout) == (
        "require_full_compilation=0;min_block_size=1;"
        "torch_executed_ops=[aten::relu; aten::add.Tensor; aten::relu(Tensor self) -> Tensor];"
        "torch_executed_modules=[torch.nn.modules.conv.Conv2d; __torch__.tiny_models.ConvNet]")
    x = torch.randn(1, 3, 8, 8)
    assert max_rel_error(torch.jit.load(str(out))(x), torch.jit.load(str(models["conv"]))(x)) <= 1e-5


@pytest.mark.parametrize("args,message", [
    (["--min-block-size", "0"], "--min-block-size expects 1 to 1073741824, got '0'"),
    (["--min-block-size", "x"], "--min-block-size expects a non-negative integer, got 'x'"),
    (["--min-block-size=-3"], "--min-block-size expects a non-negative integer, got '-3'"),
    (["--min-block-size", "1073741825"], "--min-block-size expects 1 to 1073741824, got '1073741825'"),
    (["--min-block-size"], "--min-block-size needs a value"),
    (["--require-full-compilation=1"], "--require-full-compilation takes no value"),
    (["--torch-executed-op"], "--torch-executed-op needs a value"),
    (["--torch-executed-op", "relu"], "--torch-executed-op: 'relu' is not an op name"),
    (["--torch-executed-op", "aten::no_such_op"], "--torch-executed-op: unknown operator 'aten::no_such_op'"),
    (["--torch-executed-op=aten::relu.nope"], "--torch-executed-op: operator 'aten::relu' has no overload 'nope'"),
    (["--torch-executed-op="], "--torch-executed-op: an empty op name"),
    (["--torch-executed-module", "my module"], "--torch-executed-module: 'my module' is not a qualified class name"),
    (["--torch-executed-mod="], "--torch-executed-module: an empty module name"),
    (["--require-full-compilation", "--torch-executed-op", "aten::relu"],
     "conflicting flags: --require-full-compilation, yet --torch-executed-op / --torch-executed-module"),
    (["--torch-executed-mod", "a.A", "--require-full-compilation"], "conflicting flags: --require-full-compilation"),
])
def test_bad_partition_flags_are_usage_errors(models, tmp_path, args, message):
    r = run_trtorchc(models["conv"], tmp_path / "o.ts", "(1,3,8,8)", *args)
    assert r.returncode == USAGE, r.stdout + r.stderr
    assert message in r.stderr, r.stderr
    assert "compile:" not in r.stdout
    assert not (tmp_path / "o.ts").exists()


def test_range_compiles_one_engine_for_the_range(models, tmp_path):
    out = tmp_path / "conv_trt.ts"
    r = run_trtorchc(models["conv"], out, "[(1,3,16,16);(4,3,16,16);(8,3,16,16)]", "--device", "reference")
    assert r.returncode == OK, r.stderr
    assert re.search(r"check: max\|trtorch - torchscript\| / max\|torchscript\| = \S+ at min, \S+ at opt, \S+ at max",
                     r.stdout), r.stdout
    trt, ref = torch.jit.load(str(out)), torch.jit.load(str(models["conv"]))
    for b in (1, 5, 8):
        x = torch.randn(b, 3, 16, 16)
        assert max_rel_error(trt(x), ref(x)) <= 1e-5, b
    with pytest.raises(RuntimeError, match=r"dimension 0 must be in the range \[1, 8\], got 9"):
        trt(torch.randn(9, 3, 16, 16))


@pytest.mark.parametrize("shape,message", [
    ("(1,3,x,8)", "'x' is not an integer"),
    ("(1,3,0,8)", "dimension 0 is not positive"),
    ("1,3,8,8", "is not a parenthesized list"),
    ("()", "the shape is empty"),
    ("[(1,3);(2,3)]", "exactly three shapes"),
    ("[(1,3);(2,3);(4,3)", "must end with ']'"),
    ("[(4,3);(2,3);(8,3)]", "dimension 0 needs min <= opt <= max"),
    ("[(1,3);(2,3,1);(4,3)]", "different ranks"),
])
def test_bad_shapes_are_usage_errors(models, tmp_path, shape, message):
    r = run_trtorchc(models["conv"], tmp_path / "o.ts", shape)
    assert r.returncode == USAGE
    assert message in r.stderr and shape.strip() in r.stderr, r.stderr


@pytest.mark.parametrize("args,message", [
    ([], "missing input shapes"),
    (["(1,3,8,8)", "--bogus"], "unknown option '--bogus'"),
    (["(1,3,8,8)", "--calibration-cache-file", "c.cache"], "--calibration-cache-file is for INT8 builds"),
    (["(1,3,8,8)", "-p", "i8", "--int8-all-layers"], "--int8-all-layers is for INT8 builds with"),
    (["(1,3,8,8)", "-p", "f64"], "unknown precision 'f64'"),
    (["(1,3,8,8)", "--device", "tpu"], "unknown device 'tpu'"),
    (["(1,3,8,8)", "--workspace-size", "-5"], "--workspace-size expects a non-negative integer"),
    (["(1,3,8,8)", "--threshold", "abc"], "--threshold expects a positive number"),
    (["(1,3,8,8)", "--num-avg-timing-iters", "0"], "must be at least 1"),
    (["(1,3,8,8)", "--threshold"], "--threshold needs a value"),
])
def test_bad_command_lines(models, tmp_path, args, message):
    r = run_trtorchc(models["conv"], tmp_path / "o.ts", *args)
    assert r.returncode == USAGE
    assert message in r.stderr, r.stderr
    assert r.stdout.count("compile:") == 0


def test_no_arguments_is_a_usage_error():
    r = run_trtorchc()
    assert r.returncode == USAGE and "missing INPUT.ts" in r.stderr


def test_check_method_support(models):
    r = run_trtorchc(models["conv"], "--check-method-support")
    assert r.returncode == OK, r.stderr
    assert "every operator of" in r.stdout
    r = run_trtorchc(models["unsupported"], "--check-method-support=forward")
    assert r.returncode == UNSUPPORTED
    assert "aten::logcumsumexp" in r.stdout and "aten::relu" not in r.stdout
    r = run_trtorchc(models["conv"], "--check-method-support=nope")
    assert r.returncode == COMPILE_ERROR and "nope" in r.stderr


def test_compiling_unsupported_ops_reports_them(models, tmp_path):
    r = run_trtorchc(models["unsupported"], tmp_path / "o.ts", "(2,3)", "--require-full-compilation")
    assert r.returncode == UNSUPPORTED
    assert "aten::logcumsumexp" in r.stdout and "unsupported operators listed above" in r.stderr
    # By default they run in TorchScript and the rest is compiled.
    r = run_trtorchc(models["unsupported"], tmp_path / "p.ts", "(2,3)")
    assert r.returncode == OK, r.stderr
    assert "aten::logcumsumexp" in r.stdout and "run in TorchScript" in r.stdout
    m, p = torch.jit.load(str(models["unsupported"])), torch.jit.load(str(tmp_path / "p.ts"))
    x = torch.randn(2, 3)
    torch.testing.assert_close(p(x), m(x))


def test_save_engine_writes_runnable_engine_bytes(models, tmp_path):
    out = tmp_path / "conv.engine"
    r = run_trtorchc(models["conv"], out, "(2,3,16,16)", "--save-engine", "-p", "f16")
    assert r.returncode == OK, r.stderr
    assert re.search(r"save: \d+ bytes", r.stdout)
    data = out.read_bytes()
    assert data.startswith(b"TRTORCH")
    engine = trtorch.load_engine(data)
    assert "precision f16" in engine.info()
    x = torch.randn(2, 3, 16, 16)
    got = torch.ops.trtorch.execute_engine([x.half()], engine)[0]
    assert max_rel_error(got.float(), torch.jit.load(str(models["conv"]))(x)) <= 1e-2


def test_input_and_output_problems(models, tmp_path):
    r = run_trtorchc(tmp_path / "missing.ts", tmp_path / "o.ts", "(1,3,8,8)")
    assert r.returncode == IO_ERROR and "missing.ts" in r.stderr and "no such file" in r.stderr
    garbage = tmp_path / "garbage.ts"
    garbage.write_bytes(b"this is not a zip archive")
    r = run_trtorchc(garbage, tmp_path / "o.ts", "(1,3,8,8)")
    assert r.returncode == IO_ERROR and "cannot load" in r.stderr and "garbage.ts" in r.stderr
    r = run_trtorchc(models["conv"], tmp_path / "no_such_dir" / "o.ts", "(1,3,8,8)")
    assert r.returncode == IO_ERROR and "cannot write the compiled module" in r.stderr
    r = run_trtorchc(tmp_path, tmp_path / "o.ts", "(1,3,8,8)")
    assert r.returncode == IO_ERROR and "it is a directory" in r.stderr
    # OUTPUT naming INPUT (the same path, or a link to it) would replace the source module.
    source = tmp_path / "source.ts"
    source.write_bytes(models["conv"].read_bytes())
    link = tmp_path / "link.ts"
    link.symlink_to(source)
    for out in (source, link):
        r = run_trtorchc(source, out, "(1,3,8,8)")
        assert r.returncode == USAGE and "would replace the source module" in r.stderr, r.stderr
        assert source.read_bytes() == models["conv"].read_bytes()


def test_recompiling_a_compiled_module_warns(models, tmp_path):
    first = tmp_path / "first.ts"
    assert run_trtorchc(models["conv"], first, "(1,3,8,8)").returncode == OK
    r = run_trtorchc(first, tmp_path / "second.ts", "(1,3,8,8)")
    assert "compiled by trtorch" in r.stderr and "Compile the original TorchScript module" in r.stderr


def test_a_range_too_large_for_a_tensor_names_the_input(models, tmp_path):
    r = run_trtorchc(models["conv"], tmp_path / "o.ts", "[(1,3,8,8);(2,3,8,8);(9223372036854775807,3,8,8)]")
    assert r.returncode == COMPILE_ERROR
    assert "input 0 max shape [9223372036854775807, 3, 8, 8]" in r.stderr and "more than a tensor can hold" in r.stderr


def test_shapes_that_do_not_fit_the_model_are_compile_errors(models, tmp_path):
    r = run_trtorchc(models["conv"], tmp_path / "o.ts", "(1,4,8,8)")
    assert r.returncode == COMPILE_ERROR
    assert "compile failed" in r.stderr and "4 channels" in r.stderr
    r = run_trtorchc(models["conv"], tmp_path / "o.ts", "(1,3,8,8)", "(1,3,8,8)")
    assert r.returncode == COMPILE_ERROR and "takes 1 inputs" in r.stderr


def test_gpu_device_without_cuda_backend(models, tmp_path):
    r = run_trtorchc(models["conv"], tmp_path / "o.ts", "(1,3,8,8)", "--device", "gpu")
    if "CUDA" in trtorch.get_build_info() and torch.cuda.is_available():
        assert r.returncode == OK, r.stderr
    else:
        assert r.returncode == COMPILE_ERROR and "device GPU was requested" in r.stderr


def test_threshold_check_and_no_check(models, tmp_path):
    r = run_trtorchc(models["conv"], tmp_path / "o.ts", "(1,3,8,8)", "--threshold", "1e-30")
    assert r.returncode == CHECK_FAILED
    assert "check failed" in r.stderr and "threshold 1e-30" in r.stderr
    r = run_trtorchc(models["conv"], tmp_path / "o.ts", "(1,3,8,8)", "--threshold", "1e-30", "--no-check")
    assert r.returncode == OK, r.stderr
    assert "check:" not in r.stdout


def test_verbose_and_debug_logging(models, tmp_path):
    r = run_trtorchc(models["conv"], tmp_path / "o.ts", "(1,3,8,8)", "-v")
    assert r.returncode == OK and "[trtorch INFO] engine built" in r.stderr
    assert "[trtorch DEBUG]" not in r.stderr
    r = run_trtorchc(models["conv"], tmp_path / "o.ts", "(1,3,8,8)", "--debug")
    assert r.returncode == OK and "[trtorch DEBUG]" in r.stderr
    r = run_trtorchc(models["conv"], tmp_path / "o.ts", "(1,3,8,8)")
    assert r.returncode == OK and "[trtorch" not in r.stderr


def test_input_dtype_suffix_compiles_a_saved_traced_token_model(tmp_path):
    path = tmp_path / "tokens.ts"
    m, (ids, mask) = tiny_models.saved_and_loaded_traced_token_model(path)
    out = tmp_path / "tokens_trt.ts"
    r = run_trtorchc(path, out, "(2,5)@i64", "(2,5)@int64", "--device", "reference")
    assert r.returncode == OK, r.stdout + r.stderr
    assert max_rel_error(torch.jit.load(str(out))(ids, mask), m(ids, mask)) <= 1e-6
    r = run_trtorchc(path, out, "(2,5)@i8", "(2,5)@i64")
    assert r.returncode == USAGE and "unknown dtype 'i8'" in r.stderr, r.stderr


@pytest.mark.parametrize("args,message", [
    (["--gpu-id", "4294967296"], "--gpu-id expects 0 to 2147483647, got '4294967296'"),
    (["--gpu-id=2147483648"], "--gpu-id expects 0 to 2147483647, got '2147483648'"),
    (["--num-min-timing-iters", "9223372036854775807"],
     "--num-min-timing-iters expects 0 to 1000, got '9223372036854775807'"),
    (["--num-avg-timing-iters", "1001"], "--num-avg-timing-iters expects 1 to 1000, got '1001'"),
    (["--num-avg-timing-iters", "0"], "--num-avg-timing-iters must be at least 1 (1 to 1000), got '0'"),
    (["--workspace-size", "18446744073709551616"],
     "--workspace-size expects 0 to 1099511627776, got '18446744073709551616'"),
    (["--conv-candidates", "18446744073709551617"], "--conv-candidates expects 1 to 16, got '18446744073709551617'"),
    (["--build-threads", "4294967360"], "--build-threads expects 0 to 64, got '4294967360'"),
    (["--seed", "18446744073709551616"], "--seed expects 0 to 18446744073709551615, got '18446744073709551616'"),
    (["--seed", "+5"], "--seed expects a non-negative integer, got '+5'"),
])
def test_count_flags_outside_their_range_are_usage_errors(models, tmp_path, args, message):
    r = run_trtorchc(models["conv"], tmp_path / "o.ts", "(1,3,8,8)", *args)
    assert r.returncode == USAGE, r.stdout + r.stderr
    assert message in r.stderr, r.stderr
    assert not (tmp_path / "o.ts").exists()


def test_count_flags_at_their_limits_are_accepted(models, tmp_path):
    r = run_trtorchc(models["conv"], tmp_path / "o.ts", "(1,3,8,8)", "--device", "reference", "--gpu-id", "2147483647",
                     "--workspace-size", "1099511627776", "--num-min-timing-iters", "1000", "--num-avg-timing-iters",
                     "1000", "--seed", "18446744073709551615")
    assert r.returncode == OK, r.stdout + r.stderr
    assert "num_min_timing_iters=1000;num_avg_timing_iters=1000" in r.stdout


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("engine", [False, True])
def test_full_disk_is_an_output_error(models, engine):
    # /dev/full fails every write with ENOSPC, like a full disk; it exists and is not a regular
    # file, so trtorchc writes to it in place (and must not replace it).
    extra = ["--save-engine"] if engine else []
    r = run_trtorchc(models["conv"], "/dev/full", "(1,3,8,8)", "--device", "reference", *extra)
    assert r.returncode == IO_ERROR, (r.returncode, r.stderr)
    what = "the engine" if engine else "the compiled module"
    assert "cannot write %s to '/dev/full'" % what in r.stderr, r.stderr
    assert "No space left on device" in r.stderr, r.stderr
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def _run_trtorchc_with_file_size_limit(limit, *args):
    """trtorchc with RLIMIT_FSIZE = `limit` bytes (SIGXFSZ ignored): writes past it fail with EFBIG."""
    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return subprocess.run([os.path.join(BIN_DIR, "trtorchc"), *map(str, args)], capture_output=True, text=True,
                          timeout=300, preexec_fn=limit_file_size)


@pytest.mark.parametrize("engine", [False, True])
def test_failed_write_keeps_the_old_output_and_leaves_no_temporary(models, tmp_path, engine):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "o.ts"
    out.write_bytes(b"previous output")
    extra = ["--save-engine"] if engine else []
    r = _run_trtorchc_with_file_size_limit(64, models["conv"], out, "(1,3,8,8)", "--device", "reference", *extra)
    assert r.returncode == IO_ERROR, (r.returncode, r.stderr)
    assert "cannot write" in r.stderr and str(out) in r.stderr, r.stderr
    assert "File too large" in r.stderr, r.stderr
    assert out.read_bytes() == b"previous output"
    assert sorted(os.listdir(out_dir)) == ["o.ts"]


def test_output_is_replaced_whole_with_the_usual_permissions(models, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "o.ts"
    r = run_trtorchc(models["conv"], out, "(1,3,8,8)", "--device", "reference")
    assert r.returncode == OK, r.stderr
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o666 & ~umask
    assert sorted(os.listdir(out_dir)) == ["o.ts"]
    torch.jit.load(str(out))
    assert re.search(r"^\[trtorchc\] save: done ", r.stdout, re.M), r.stdout
    # A link to a file: the file gets the new output, the link stays a link.
    target, link = out_dir / "target.ts", out_dir / "link.ts"
    target.write_bytes(b"old")
    link.symlink_to(target)
    r = run_trtorchc(models["conv"], link, "(1,3,8,8)", "--device", "reference")
    assert r.returncode == OK, r.stderr
    assert link.is_symlink() and target.read_bytes() == out.read_bytes()
    assert sorted(os.listdir(out_dir)) == ["link.ts", "o.ts", "target.ts"]
    r = run_trtorchc(models["conv"], out_dir, "(1,3,8,8)", "--device", "reference")
    assert r.returncode == IO_ERROR and "it is a directory" in r.stderr, r.stderr
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    r = run_trtorchc(models["conv"], not_a_dir / "o.ts", "(1,3,8,8)", "--device", "reference")
    assert r.returncode == IO_ERROR and str(not_a_dir / "o.ts") in r.stderr, r.stderr


def test_failures_inside_the_check_are_check_failures(models, tmp_path):
    # The compile succeeds (an elementwise engine allocates nothing at build time), but the check's
    # random input of 2**60 floats (4 EiB) cannot be allocated: the check failed, not the compile.
    out = tmp_path / "o.ts"
    r = run_trtorchc(models["elementwise"], out, "(1,1048576,1048576,1048576)", "--device", "reference")
    assert r.returncode == CHECK_FAILED, (r.returncode, r.stdout + r.stderr)
    assert "compile: done" in r.stdout and "check:" in r.stdout
    assert "check failed: cannot make its random inputs at the opt shapes" in r.stderr, r.stderr
    assert "allocate" in r.stderr, r.stderr
    assert out.exists()
    # A range: the min and opt checks run, the max shape's inputs cannot be made.
    r = run_trtorchc(models["elementwise"], out, "[(1,1,1);(2,2,2);(1048576,1048576,1048576)]", "--device", "reference")
    assert r.returncode == CHECK_FAILED, (r.returncode, r.stdout + r.stderr)
    assert "check failed: cannot make its random inputs at the max shapes" in r.stderr, r.stderr


def test_int8_from_a_calibration_cache(models, tmp_path):
    """-p i8 with the cache an earlier (Python) calibration wrote; without one, the compile says what
    INT8 needs."""
    cache = tmp_path / "conv.cache"
    shape = [2, 3, 16, 16]
    g = torch.Generator().manual_seed(0)
    calib = trtorch.ptq.DataLoaderCalibrator([torch.randn(shape, generator=g) for _ in range(4)], cache_file=str(cache))
    trtorch.compile(torch.jit.load(str(models["conv"])), {"input_shapes": [shape], "op_precision": torch.int8,
                                                          "device": "reference", "calibrator": calib})
    out = tmp_path / "conv_i8.ts"
    r = run_trtorchc(models["conv"], out, "(2,3,16,16)", "-p", "i8", "--calibration-cache-file", str(cache),
                     "--device", "reference")
    assert r.returncode == OK, r.stderr
    assert "int8=entropy" in torch.jit.load(str(out)).trtorch_engine_0.info()
    r = run_trtorchc(models["conv"], tmp_path / "no_cache.ts", "(2,3,16,16)", "-p", "i8", "--device", "reference")
    assert r.returncode == COMPILE_ERROR and "INT8 needs a calibrator" in r.stderr, r.stderr
