"""Dynamic input shapes: one engine for a range of shapes (min / opt / max).

Each engine runs at min, opt, max and sizes in between and is compared with TorchScript; an input
outside its range is a clear error. The reference backend runs everywhere; the CUDA backend
(FP32 and FP16) where a GPU is present.
"""
import pytest
import torch
import torch.nn as nn

import trtorch
from conftest import max_rel_error

DEVICES = ["reference"] + (["gpu"] if torch.cuda.is_available() else [])


class SmallCNN(nn.Module):
    """Conv / BN / ReLU / strided conv with a residual / max pool / adaptive pool / flatten /
    linear, reshaped with x.size(0): every size follows the input's batch, height and width."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.down = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.skip = nn.Conv2d(8, 16, 1, stride=2)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        x = self.stem(x)
        x = torch.relu(self.down(x) + self.skip(x))
        x = self.pool(x)
        x = nn.functional.adaptive_avg_pool2d(x, 1)
        return self.head(x.view(x.size(0), -1))


class TinyEncoder(nn.Module):
    """A transformer layer over [batch, seq, 32]: heads split with view(b, s, h, d) from the
    input's sizes, attention with a padding mask, positions sliced to the sequence length."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(50, 32)
        self.pos = nn.Parameter(torch.randn(1, 64, 32) * 0.1)
        self.qkv = nn.Linear(32, 96)
        self.out = nn.Linear(32, 32)
        self.norm = nn.LayerNorm(32)
        self.ffn = nn.Sequential(nn.Linear(32, 64), nn.GELU(), nn.Linear(64, 32))

    def forward(self, ids, mask):
        b, s = ids.size(0), ids.size(1)
        x = self.embed(ids) + self.pos[:, :s]
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q = q.view(b, s, 4, 8).transpose(1, 2)
        k = k.view(b, s, 4, 8).transpose(1, 2)
        v = v.view(b, s, 4, 8).transpose(1, 2)
        bias = (1.0 - mask[:, None, None, :].float()) * -10000.0
        a = torch.softmax(q @ k.transpose(-1, -2) * 8 ** -0.5 + bias, dim=-1) @ v
        x = self.norm(x + self.out(a.transpose(1, 2).reshape(b, s, 32)))
        return x + self.ffn(x)


def cnn():
    torch.manual_seed(0)
    m = SmallCNN().eval()
    with torch.no_grad():  # non-trivial batch-norm statistics
        m.stem[1].running_mean.uniform_(-0.5, 0.5)
        m.stem[1].running_var.uniform_(0.5, 2.0)
    return torch.jit.script(m)


def encoder_inputs(b, s):
    torch.manual_seed(b * 100 + s)
    ids = torch.randint(0, 50, (b, s))  # within every vocabulary here
    mask = torch.ones(b, s, dtype=torch.long)
    mask[0, s // 2:] = 0
    return ids, mask


def encoder():
    torch.manual_seed(0)
    m = TinyEncoder().eval()
    return torch.jit.trace(m, encoder_inputs(2, 12))


def tolerance(device, dtype):
    return 1e-4 if dtype == torch.float32 else 2e-2


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_cnn_dynamic_batch_and_resolution(device, dtype):
    if device == "reference" and dtype == torch.float16:
        pytest.skip("FP16 is covered on the GPU; the reference backend runs it too slowly to add anything")
    m = cnn()
    spec = {"input_shapes": [{"min": [1, 3, 16, 16], "opt": [4, 3, 32, 32], "max": [8, 3, 48, 40]}],
            "op_precision": dtype, "device": device}
    trt = trtorch.compile(m, spec)
    dev = "cuda" if device == "gpu" else "cpu"
    for shape in [(1, 3, 16, 16), (4, 3, 32, 32), (8, 3, 48, 40), (3, 3, 17, 23), (5, 3, 33, 16), (1, 3, 48, 40)]:
        x = torch.randn(*shape)
        want = m(x)
        got = trt(x.to(dev, dtype)).float().cpu()
        assert got.shape == want.shape, shape
        assert max_rel_error(got, want) <= tolerance(device, dtype), shape
    with pytest.raises(RuntimeError, match=r"input 0 \('x[.0-9]*'\) dimension 0 must be in the range \[1, 8\], got 9"):
        trt(torch.randn(9, 3, 16, 16).to(dev, dtype))
    with pytest.raises(RuntimeError, match=r"dimension 2 must be in the range \[16, 48\], got 15"):
        trt(torch.randn(2, 3, 15, 16).to(dev, dtype))


@pytest.mark.parametrize("device", DEVICES)
def test_transformer_dynamic_batch_and_sequence(device):
    m = encoder()
    spec = {"input_shapes": [{"min": [1, 4], "opt": [2, 16], "max": [4, 64]}] * 2, "device": device,
            "input_dtypes": [torch.long, torch.long]}
    trt = trtorch.compile(m, spec)
    dev = "cuda" if device == "gpu" else "cpu"
    for b, s in [(1, 4), (2, 16), (4, 64), (3, 7), (1, 33)]:
        ids, mask = encoder_inputs(b, s)
        want = m(ids, mask)
        got = trt(ids.to(dev), mask.to(dev)).cpu()
        assert max_rel_error(got, want) <= 1e-4, (b, s)
    ids, mask = encoder_inputs(2, 8)
    with pytest.raises(RuntimeError, match=r"input 1 \('mask'\) dimension 1 must equal input 0 \('ids'\) dimension 1"):
        trt(ids.to(dev), mask[:, :6].contiguous().to(dev))


def test_dynamic_engine_saves_and_loads(tmp_path):
    m = cnn()
    trt = trtorch.compile(m, {"input_shapes": [{"min": [1, 3, 16, 16], "opt": [2, 3, 16, 16], "max": [4, 3, 16, 16]}],
                              "device": "reference"})
    path = str(tmp_path / "dyn.ts")
    torch.jit.save(trt, path)
    loaded = torch.jit.load(path)
    for b in (1, 3, 4):
        x = torch.randn(b, 3, 16, 16)
        assert max_rel_error(loaded(x), m(x)) <= 1e-5


def test_shape_logic_on_a_dynamic_dim_that_needs_a_value_is_a_clear_error():
    class NeedsValue(nn.Module):
        def forward(self, x):
            if x.size(0) > 2:  # control flow on a dynamic size: not decidable at compile time
                return x * 2
            return x

    settings = {"input_shapes": [{"min": [1, 3], "opt": [2, 3], "max": [4, 3]}], "device": "reference"}
    m = torch.jit.script(NeedsValue())
    with pytest.raises(trtorch.Error, match=r"comparing the sizes s0 \(range \[1, 4\]\) and 2 .*depends on the input shape"):
        trtorch.compile(m, dict(settings, require_full_compilation=True))
    # With fallback (the default) the branch on the size stays in TorchScript.
    trt = trtorch.compile(m, settings)
    for b in (1, 2, 3, 4):
        x = torch.randn(b, 3)
        torch.testing.assert_close(trt(x), m(x))


def test_squeeze_of_a_dynamic_dim_that_may_be_1_stays_in_torchscript():
    class SqueezeDims(nn.Module):
        def forward(self, x):
            y = x * 2.0
            return y.squeeze(0) + 1.0, y.squeeze(2) - 1.0  # dim 0 may be 1; dim 2 always is

    settings = {"input_shapes": [{"min": [1, 3, 1], "opt": [2, 3, 1], "max": [4, 3, 1]}], "device": "reference",
                "min_block_size": 1}
    m = torch.jit.script(SqueezeDims())
    with pytest.raises(trtorch.Error, match=r"squeeze of dynamic dim 0 of .*which may be 1"):
        trtorch.compile(m, dict(settings, require_full_compilation=True))
    trt = trtorch.compile(m, settings)  # the squeeze(0) runs in TorchScript, where torch decides
    for b in (1, 2, 4):
        x = torch.randn(b, 3, 1)
        got, want = trt(x), m(x)
        for g, w in zip(got, want):
            assert g.shape == w.shape, (b, g.shape, w.shape)
            torch.testing.assert_close(g, w)


def hf_model(name):
    transformers = pytest.importorskip("transformers")  # installed by scripts/setup.sh
    torch.manual_seed(0)
    if name == "bert":
        model = transformers.BertModel(transformers.BertConfig(num_hidden_layers=2), add_pooling_layer=False)
    else:
        model = transformers.GPT2Model(transformers.GPT2Config(n_layer=2))

    class LastHiddenState(nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, ids, mask, types):
            if name == "bert":  # traced with token types, as BERT is used
                return self.m(input_ids=ids, attention_mask=mask, token_type_ids=types, return_dict=False)[0]
            return self.m(input_ids=ids, attention_mask=mask, return_dict=False)[0]

    return LastHiddenState(model.eval()).eval()


def hf_inputs(b, s):
    ids, mask = encoder_inputs(b, s)
    types = torch.zeros(b, s, dtype=torch.long)
    types[:, s // 2:] = 1
    return ids, mask, types


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["bert", "gpt2"])
def test_transformers_models_with_dynamic_batch_and_sequence(device, name):
    """transformers' BERT and GPT-2 (2 layers, traced): their masks come from aranges of the
    sequence length and an index by aranges, positions from an arange: all dynamic here."""
    import warnings
    warnings.simplefilter("ignore")  # the tracer's warnings about transformers' Python-level checks
    m = hf_model(name)
    traced = torch.jit.trace(m, hf_inputs(2, 16))
    spec = {"input_shapes": [{"min": [1, 8], "opt": [2, 64], "max": [4, 128]}] * 3, "device": device,
            "input_dtypes": [torch.long] * 3}
    trt = trtorch.compile(traced, spec)
    dev = "cuda" if device == "gpu" else "cpu"
    for b, s in [(1, 8), (2, 64), (4, 128), (3, 37)]:
        xs = hf_inputs(b, s)
        with torch.no_grad():
            want = m(*xs)
        got = trt(*[x.to(dev) for x in xs]).cpu()
        assert max_rel_error(got, want) <= 1e-4, (b, s)


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "efficientnet_b0", "squeezenet1_1", "vit_b_16"])
def test_torchvision_models_with_dynamic_batch_and_resolution(name):
    """Scripted torchvision models on the reference backend: dynamic batch, and height/width where
    the model allows it (ViT's patch grid is fixed); squeezenet has ceil_mode pooling, ViT a class
    token expanded to the batch and nn.MultiheadAttention."""
    import torchvision
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)().eval()
    if name == "vit_b_16":  # torchvision zero-initialises the classifier
        torch.nn.init.normal_(model.heads.head.weight, std=0.02)
    m = torch.jit.script(model)
    fixed_hw = name == "vit_b_16"
    lo, opt, hi = (224, 224, 224) if fixed_hw else (48, 64, 96)
    trt = trtorch.compile(m, {"input_shapes": [{"min": [1, 3, lo, lo], "opt": [2, 3, opt, opt], "max": [3, 3, hi, hi]}],
                              "device": "reference"})
    for shape in [(1, 3, lo, lo), (3, 3, hi, hi), (2, 3, opt, lo if fixed_hw else 71)]:
        x = torch.randn(*shape)
        with torch.no_grad():
            want = m(x)
        assert want.abs().max() > 0
        assert max_rel_error(trt(x), want) <= 1e-4, shape
