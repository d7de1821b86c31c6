"""Model families of issue 18 compiled whole against TorchScript, FP32 and FP16, on the reference
backend and (where there is one) the GPU: video (torchvision's r3d_18, mc3_18, r2plus1d_18:
3-D convolution and pooling; mvit_v2_s: tensor_split, einsum, a write into a slice of the attention
scores), windowed transformers (swin_t: roll and pad; swin_v2_t: vector norms; maxvit_t: einsum), U-Net decoders (transposed convolution, bilinear and nearest
interpolation, reflect padding, group norm), a DCGAN generator (strided transposed convolutions),
a 1-D audio encoder-decoder (1-D convolution, transposed convolution and pooling, linear
interpolation), segmentation (fcn_resnet50 and its dict output), and Hugging Face encoders (small
random configurations of RoBERTa: torch.gather of its token types; BART's encoder; Wav2Vec2:
1-D convolutions, group norm; Whisper's encoder: 1-D convolutions), traced.
Random weights; batch-norm statistics made non-trivial so that folding them is checked."""
import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

import trtorch
from conftest import graph_kinds as kinds, max_rel_error

DEVICES = ["reference"] + (["gpu"] if torch.cuda.is_available() else [])
ENGINE = "trtorch::execute_engine"
TOL = {torch.float32: 1e-4, torch.half: 2e-2}  # max |trtorch - TorchScript| / max |TorchScript|


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


def randomize_norms(m):
    g = torch.Generator().manual_seed(3)
    for mod in m.modules():
        if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
            mod.running_mean.copy_(torch.randn(mod.num_features, generator=g) * 0.1)
            mod.running_var.copy_(torch.rand(mod.num_features, generator=g) + 0.5)
        if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm)) and mod.affine:
            mod.weight.data.copy_(torch.rand(mod.weight.shape, generator=g) + 0.5)
            mod.bias.data.copy_(torch.randn(mod.bias.shape, generator=g) * 0.1)
    return m


def compile_and_check(m, shape, device, precision, whole=True, seeds=(0, 1)):
    """Compiles the scripted module m, checks it against TorchScript on two inputs and returns it."""
    dev = "cuda" if device == "gpu" else "cpu"
    m = m.to(dev)
    settings = {"input_shapes": [shape], "device": device, "op_precision": precision}
    if whole:
        settings["require_full_compilation"] = True
    trt = trtorch.compile(m, settings)
    for seed in seeds:
        x = torch.randn(shape, generator=torch.Generator().manual_seed(seed)).to(dev)
        # The reference in true FP32: torch runs cuDNN convolutions in TF32 by default, which
        # differs from FP32 by more than the FP32 tolerance.
        with torch.no_grad(), torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
            want = m(x)
            got = trt(x if precision == torch.float32 else x.half())
        if isinstance(want, dict):  # the same keys in the same order
            assert isinstance(got, dict) and list(got) == list(want), got
        else:
            got, want = {"": got}, {"": want}
        for key in want:
            assert got[key].shape == want[key].shape, key
            err = max_rel_error(got[key], want[key])
            assert err <= TOL[precision], "%s: relative error %g (tolerance %g)" % (key, err, TOL[precision])
    if whole:
        assert kinds(trt.graph).count(ENGINE) == 1, trt.graph
    return trt


@pytest.mark.parametrize("precision", [torch.float32, torch.half])
@pytest.mark.parametrize("name", ["r3d_18", "mc3_18", "r2plus1d_18"])
def test_video_resnets(device, precision, name):
    torch.manual_seed(0)
    m = randomize_norms(getattr(torchvision.models.video, name)(weights=None).eval())
    trt = compile_and_check(torch.jit.script(m), [1, 3, 8, 48, 48], device, precision)
    assert "aten::conv3d" not in kinds(trt.graph)


@pytest.mark.parametrize("precision", [torch.float32, torch.half])
@pytest.mark.parametrize("name", ["swin_t", "swin_v2_t", "maxvit_t", "mvit_v2_s"])
def test_windowed_transformers(device, precision, name):
    torch.manual_seed(0)
    video = name.startswith("mvit")
    m = getattr(torchvision.models.video if video else torchvision.models, name)(weights=None).eval()
    shape = [1, 3, 16, 224, 224] if video else [1, 3, 224, 224]
    trt = compile_and_check(torch.jit.script(m), shape, device, precision, seeds=(0,))
    k = kinds(trt.graph)
    assert "aten::roll" not in k and "aten::einsum" not in k, trt.graph


class UNet(nn.Module):
    """A two-level U-Net: reflect-padded convolutions with group norm, a transposed convolution and
    a bilinear (align_corners) upsampling on the way up, skip connections by concatenation."""

    def __init__(self, cin=3, base=8, classes=2):
        super().__init__()

        def block(i, o):
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, padding_mode="reflect"), nn.GroupNorm(2, o), nn.SiLU(),
                                 nn.Conv2d(o, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU())

        self.enc1, self.enc2, self.mid = block(cin, base), block(base, 2 * base), block(2 * base, 4 * base)
        self.up2 = nn.ConvTranspose2d(4 * base, 2 * base, 2, stride=2)
        self.dec2 = block(4 * base, 2 * base)
        self.dec1 = block(3 * base, base)
        self.head = nn.Conv2d(base, classes, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        m = self.mid(F.max_pool2d(e2, 2))
        d2 = self.dec2(torch.cat([self.up2(m), e2], 1))
        d1 = F.interpolate(d2, scale_factor=2.0, mode="bilinear", align_corners=True)
        d1 = self.dec1(torch.cat([d1, e1], 1))
        return self.head(F.pad(d1, [1, 1, 1, 1], mode="replicate"))


class DCGANGenerator(nn.Module):
    """DCGAN's generator: a latent (N, z, 1, 1) up to (N, 3, 32, 32) by strided transposed
    convolutions (kernel 4, stride 2, padding 1) with batch norm."""

    def __init__(self, z=16, f=8):
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(z, 4 * f, 4, 1, 0, bias=False), nn.BatchNorm2d(4 * f), nn.ReLU(),
            nn.ConvTranspose2d(4 * f, 2 * f, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * f), nn.ReLU(),
            nn.ConvTranspose2d(2 * f, f, 4, 2, 1, bias=False), nn.BatchNorm2d(f), nn.ReLU(),
            nn.ConvTranspose2d(f, 3, 4, 2, 1), nn.Tanh())

    def forward(self, x):
        return self.net(x)


class UNet3D(nn.Module):
    """A volumetric (medical-imaging style) U-Net level: 3-D convolutions with batch norm, a 3-D
    max pool down, a strided 3-D transposed convolution up, a skip connection."""

    def __init__(self, c=4):
        super().__init__()
        self.enc = nn.Sequential(nn.Conv3d(1, c, 3, padding=1), nn.BatchNorm3d(c), nn.ReLU())
        self.mid = nn.Sequential(nn.Conv3d(c, 2 * c, 3, padding=1), nn.ReLU())
        self.up = nn.ConvTranspose3d(2 * c, c, 2, stride=2)
        self.head = nn.Conv3d(2 * c, 2, 1)

    def forward(self, x):
        e = self.enc(x)
        return self.head(torch.cat([self.up(self.mid(F.max_pool3d(e, 2))), e], 1))


class AudioAutoencoder(nn.Module):
    """1-D: strided convolutions and pooling down, a transposed convolution and linear
    interpolation up (waveform models' building blocks)."""

    def __init__(self, c=8):
        super().__init__()
        self.down = nn.Sequential(nn.Conv1d(1, c, 9, stride=2, padding=4), nn.BatchNorm1d(c), nn.GELU(),
                                  nn.MaxPool1d(3, 2, 1), nn.Conv1d(c, 2 * c, 5, padding=2), nn.ReLU())
        self.up = nn.ConvTranspose1d(2 * c, c, 4, stride=2, padding=1)
        self.out = nn.Conv1d(c, 1, 3, padding=1)

    def forward(self, x):
        y = self.up(self.down(x))
        y = F.interpolate(y, size=x.shape[-1], mode="linear", align_corners=False)
        return self.out(F.avg_pool1d(y, 3, 1, 1)) + x


@pytest.mark.parametrize("precision", [torch.float32, torch.half])
@pytest.mark.parametrize("name", ["unet", "unet3d", "dcgan", "audio"])
def test_decoders(device, precision, name):
    torch.manual_seed(0)
    model, shape = {"unet": (UNet, [2, 3, 32, 32]), "unet3d": (UNet3D, [1, 1, 8, 16, 16]),
                    "dcgan": (DCGANGenerator, [2, 16, 1, 1]), "audio": (AudioAutoencoder, [2, 1, 400])}[name]
    m = torch.jit.script(randomize_norms(model().eval()))
    trt = compile_and_check(m, shape, device, precision)
    left = set(kinds(trt.graph))
    for op in ("aten::conv_transpose1d", "aten::conv_transpose2d", "aten::conv_transpose3d",
               "aten::upsample_bilinear2d", "aten::upsample_linear1d", "aten::pad"):
        assert op not in left, trt.graph


@pytest.mark.parametrize("precision", [torch.float32, torch.half])
def test_fcn_segmentation_dict_output(device, precision):
    """fcn_resnet50 (with its auxiliary head) returns {"out": ..., "aux": ...}, built by writes
    into dicts (IntermediateLayerGetter's features, the result): compiled whole, one engine, the
    dict rebuilt around it."""
    torch.manual_seed(0)
    m = randomize_norms(torchvision.models.segmentation.fcn_resnet50(weights=None, weights_backbone=None,
                                                                    aux_loss=True).eval())
    trt = compile_and_check(torch.jit.script(m), [1, 3, 64, 64], device, precision, seeds=(0,))
    k = kinds(trt.graph)
    assert "aten::_set_item" not in k and "aten::upsample_bilinear2d" not in k and "aten::conv2d" not in k, trt.graph


class _FinalFlow(nn.Module):
    """RAFT's last flow estimate after `updates` refinement steps."""

    def __init__(self, m, updates):
        super().__init__()
        self.m = m
        self.updates = updates

    def forward(self, a, b):
        return self.m(a, b, self.updates)[-1]


@pytest.mark.parametrize("precision", [torch.float32, torch.half])
def test_optical_flow_raft_small(device, precision):
    """raft_small: instance norm, a correlation pyramid kept on a submodule between two of its
    methods (written and read back in one call), grid sampling of the pyramid at the flow's
    coordinates in every refinement step, bilinear upsampling of the flow; compiled whole."""
    torch.manual_seed(0)
    m = torchvision.models.optical_flow.raft_small(weights=None).eval()
    s = torch.jit.script(_FinalFlow(m, 3).eval())
    dev = "cuda" if device == "gpu" else "cpu"
    s = s.to(dev)
    shape = [1, 3, 128, 128]
    trt = trtorch.compile(s, {"input_shapes": [shape, shape], "device": device, "op_precision": precision,
                              "require_full_compilation": True})
    assert kinds(trt.graph).count(ENGINE) == 1 and "aten::grid_sampler" not in kinds(trt.graph), trt.graph
    for seed in (0, 1):
        g = torch.Generator().manual_seed(seed)
        a, b = torch.randn(shape, generator=g).to(dev), torch.randn(shape, generator=g).to(dev)
        with torch.no_grad(), torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
            want = s(a, b)
            got = trt(a, b) if precision == torch.float32 else trt(a.half(), b.half())
        err = max_rel_error(got, want)
        assert err <= TOL[precision], "relative error %g (tolerance %g)" % (err, TOL[precision])


def _hf_encoder(name):
    import transformers as T
    small = dict(num_hidden_layers=2, num_attention_heads=4, intermediate_size=128, hidden_size=64)
    seq = dict(d_model=64, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4,
               encoder_ffn_dim=128, decoder_ffn_dim=128, vocab_size=1000)
    if name == "roberta":
        m = T.RobertaModel(T.RobertaConfig(vocab_size=1000, max_position_embeddings=130, **small))
        return m, torch.randint(3, 1000, (2, 16), generator=torch.Generator().manual_seed(0))
    if name == "bart_encoder":
        m = T.BartModel(T.BartConfig(max_position_embeddings=130, **seq)).get_encoder()
        return m, torch.randint(3, 1000, (2, 16), generator=torch.Generator().manual_seed(0))
    if name == "wav2vec2":
        m = T.Wav2Vec2Model(T.Wav2Vec2Config(conv_dim=(32, 32, 32), conv_stride=(5, 2, 2), conv_kernel=(10, 3, 3),
                                             num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4, **small))
        return m, torch.randn(2, 4000, generator=torch.Generator().manual_seed(0))
    ids = torch.randint(3, 1000, (2, 16), generator=torch.Generator().manual_seed(0))
    img = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    if name == "falcon":  # multi-query attention: one key/value head broadcast over the query heads
        return T.FalconModel(T.FalconConfig(vocab_size=1000, num_hidden_layers=2, num_attention_heads=4,
                                            hidden_size=64)), ids
    if name == "bloom":  # its GELU is a torch.autograd.Function; baddbmm; softmax(..., dtype=float32)
        return T.BloomModel(T.BloomConfig(vocab_size=1000, n_layer=2, n_head=4, hidden_size=64)), ids
    if name == "beit":  # relative position index written in place through views (traced)
        return T.BeitModel(T.BeitConfig(image_size=64, patch_size=8, use_relative_position_bias=True, **small)), img
    if name == "levit":  # reshape_as, attention biases gathered by index
        return T.LevitModel(T.LevitConfig(image_size=64)), img
    m = T.WhisperModel(T.WhisperConfig(num_mel_bins=16, max_source_positions=50, pad_token_id=1, bos_token_id=0,
                                       eos_token_id=2, decoder_start_token_id=0, **seq)).get_encoder()
    return m, torch.randn(2, 16, 100, generator=torch.Generator().manual_seed(0))


class _FirstOutput(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x, return_dict=False)[0]


@pytest.mark.parametrize("precision", [torch.float32, torch.half])
@pytest.mark.parametrize("name", ["roberta", "bart_encoder", "wav2vec2", "whisper_encoder", "falcon", "bloom", "beit",
                                  "levit"])
def test_transformer_encoders(device, precision, name):
    pytest.importorskip("transformers")  # installed by scripts/setup.sh on both machines
    torch.manual_seed(0)
    m, x = _hf_encoder(name)
    dev = "cuda" if device == "gpu" else "cpu"
    # Traced on the device it runs on: a trace records the tensors it creates (positions, masks)
    # as constants on the tracing device.
    m, x = m.to(dev), x.to(dev)
    # (check_trace off: LeViT caches its attention biases, which the trace check cannot re-trace)
    traced = torch.jit.trace(_FirstOutput(m.eval()).eval(), (x,), strict=False, check_trace=False)
    settings = {"input_shapes": [list(x.shape)], "device": device, "op_precision": precision,
                "require_full_compilation": True}
    if x.dtype == torch.int64:  # token ids (a traced module's inputs are plain tensors)
        settings["input_dtypes"] = [x.dtype]
    trt = trtorch.compile(traced, settings)
    with torch.no_grad(), torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        want = traced(x)
        got = trt(x if x.dtype == torch.int64 or precision == torch.float32 else x.half())
    err = max_rel_error(got, want)
    tol = TOL[precision]
    if name == "levit" and precision == torch.half:
        # This randomly initialized LeViT is itself far off in FP16 (PyTorch's own half model: about
        # 11% on the CPU): the bound is what PyTorch's FP16 gives, not FP16's usual error.
        fresh, _ = _hf_encoder(name)
        fresh.load_state_dict(m.state_dict())
        with torch.no_grad():
            eager_half = _FirstOutput(fresh.to(dev).half().eval())(x.half())
        tol = max(tol, 1.25 * max_rel_error(eager_half, want))
    assert err <= tol, "relative error %g (tolerance %g)" % (err, tol)
    assert kinds(trt.graph).count(ENGINE) == 1, trt.graph


class _Refused(nn.Module):
    def __init__(self, form):
        super().__init__()
        self.form = form

    def forward(self, x, g):
        if self.form == "bicubic":
            return F.grid_sample(x, g, mode="bicubic", align_corners=False)
        if self.form == "amax":
            return torch.scatter_reduce(x, 3, torch.argsort(x, 3), x, "amax")
        # 5-D: the input with a depth of 1, the grid's points with a third coordinate.
        return F.grid_sample(x.unsqueeze(2), torch.cat([g, g[..., :1]], -1).unsqueeze(1), align_corners=False)


@pytest.mark.parametrize("form,reason", [("bicubic", "bicubic grid sampling is not supported"),
                                         ("amax", 'reduce="amax" is not supported'),
                                         ("volumetric", "volumetric grid sampling is not")])
def test_refused_forms_name_the_reason(form, reason):
    """Forms the converters do not take are refused up front with the reason (and run in
    TorchScript when fallback is allowed)."""
    m = torch.jit.script(_Refused(form).eval())
    x, g = torch.randn(1, 2, 5, 6), torch.rand(1, 4, 3, 2) * 2 - 1
    with pytest.raises(RuntimeError, match=reason):
        trtorch.compile(m, {"input_shapes": [[1, 2, 5, 6], [1, 4, 3, 2]], "device": "reference",
                            "require_full_compilation": True})
    trt = trtorch.compile(m, {"input_shapes": [[1, 2, 5, 6], [1, 4, 3, 2]], "device": "reference"})
    torch.testing.assert_close(trt(x, g), m(x, g), rtol=1e-5, atol=1e-5)


class QATConvNet(nn.Module):
    """A quantization-aware model as NVIDIA's pytorch-quantization exports it for TensorRT:
    fake quantization of every convolution's input (per tensor, INT8 range) and weight (per output
    channel, symmetric)."""

    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1)
        self.fc = nn.Linear(8, 4)
        # Buffers, so that .to(device) moves them with the weights.
        self.register_buffer("s1", (self.conv1.weight.detach().abs().amax((1, 2, 3)) / 127.0).contiguous())
        self.register_buffer("s2", (self.conv2.weight.detach().abs().amax((1, 2, 3)) / 127.0).contiguous())
        self.register_buffer("z", torch.zeros(8, dtype=torch.int32))

    def forward(self, x):
        x = torch.fake_quantize_per_tensor_affine(x, 0.03, 0, -128, 127)
        w1 = torch.fake_quantize_per_channel_affine(self.conv1.weight, self.s1, self.z, 0, -127, 127)
        x = torch.relu(F.conv2d(x, w1, self.conv1.bias, padding=1))
        x = torch.fake_quantize_per_tensor_affine(x, 0.02, 0, -128, 127)
        w2 = torch.fake_quantize_per_channel_affine(self.conv2.weight, self.s2, self.z, 0, -127, 127)
        x = torch.relu(F.conv2d(x, w2, self.conv2.bias, padding=1))
        return self.fc(x.mean([2, 3]))


def test_quantization_aware_model_compiles_whole(device):
    """Fake quantization compiles (as floating-point arithmetic, see the README) and the weights'
    fake quantization folds into the constant weights at compile time."""
    torch.manual_seed(0)
    m = torch.jit.script(QATConvNet().eval())
    trt = compile_and_check(m, [2, 3, 12, 12], device, torch.float32)
    assert "aten::fake_quantize_per_tensor_affine" not in kinds(trt.graph), trt.graph


class _Recurrent(nn.Module):
    """nn.LSTM and nn.GRU as models use them: two bidirectional layers, batch_first, zero initial
    states (created in forward), given states, an unbatched sequence."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(6, 8, num_layers=2, batch_first=True, bidirectional=True)
        self.gru = nn.GRU(16, 5, num_layers=2)
        self.cell = nn.LSTM(6, 4, bias=False)

    def forward(self, x, h0, c0):
        y, (h, c) = self.lstm(x)
        z, hz = self.gru(y.transpose(0, 1))
        w, (hw, cw) = self.cell(x[0], (h0, c0))
        return y, h, c, z, hz, w, hw, cw


@pytest.mark.parametrize("precision", [torch.float32, torch.half])
def test_recurrent_layers(device, precision):
    torch.manual_seed(0)
    m = torch.jit.script(_Recurrent().eval())
    dev = "cuda" if device == "gpu" else "cpu"
    m = m.to(dev)
    x, h0, c0 = torch.randn(3, 7, 6, device=dev), torch.randn(1, 4, device=dev), torch.randn(1, 4, device=dev)
    trt = trtorch.compile(m, {"input_shapes": [[3, 7, 6], [1, 4], [1, 4]], "device": device, "op_precision": precision,
                              "require_full_compilation": True})
    assert kinds(trt.graph).count(ENGINE) == 1, trt.graph
    # (cuDNN's recurrent layers would otherwise run on TF32, PyTorch's default: not FP32.)
    with torch.no_grad(), torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        want = m(x, h0, c0)
        ins = (x, h0, c0) if precision == torch.float32 else (x.half(), h0.half(), c0.half())
        got = trt(*ins)
    for w, g in zip(want, got):
        err = max_rel_error(g.float(), w)
        assert err <= TOL[precision], "relative error %g (tolerance %g)" % (err, TOL[precision])
