# One Hugging Face architecture (argv: name), tiny config, traced, compiled whole on the reference
# backend, compared with the trace. Prints one RESULT line (JSON). Run by bench/model_survey/run.sh.
import sys, time, json, warnings
warnings.simplefilter("ignore")
import torch
import transformers as T
import trtorch
name = sys.argv[1]
torch.manual_seed(0)
S = dict(num_hidden_layers=2, num_attention_heads=4, intermediate_size=128, hidden_size=64)
ids = lambda: torch.randint(3, 900, (2, 16), generator=torch.Generator().manual_seed(0))
img = lambda s=64: torch.randn(2, 3, s, s, generator=torch.Generator().manual_seed(0))
def build():
    if name == "bert": return T.BertModel(T.BertConfig(vocab_size=1000, **S)), ids()
    if name == "distilbert": return T.DistilBertModel(T.DistilBertConfig(vocab_size=1000, n_layers=2, n_heads=4, dim=64, hidden_dim=128)), ids()
    if name == "albert": return T.AlbertModel(T.AlbertConfig(vocab_size=1000, embedding_size=32, **S)), ids()
    if name == "electra": return T.ElectraModel(T.ElectraConfig(vocab_size=1000, embedding_size=32, **S)), ids()
    if name == "deberta_v2": return T.DebertaV2Model(T.DebertaV2Config(vocab_size=1000, **S)), ids()
    if name == "deberta": return T.DebertaModel(T.DebertaConfig(vocab_size=1000, **S)), ids()
    if name == "xlm_roberta": return T.XLMRobertaModel(T.XLMRobertaConfig(vocab_size=1000, **S)), ids()
    if name == "mpnet": return T.MPNetModel(T.MPNetConfig(vocab_size=1000, **S)), ids()
    if name == "mobilebert": return T.MobileBertModel(T.MobileBertConfig(vocab_size=1000, num_hidden_layers=2, hidden_size=64, embedding_size=32, intra_bottleneck_size=32, true_hidden_size=32, num_attention_heads=4, intermediate_size=64)), ids()
    if name == "squeezebert": return T.SqueezeBertModel(T.SqueezeBertConfig(vocab_size=1000, embedding_size=64, **S)), ids()
    if name == "gpt2": return T.GPT2Model(T.GPT2Config(vocab_size=1000, n_layer=2, n_head=4, n_embd=64)), ids()
    if name == "gpt_neo": return T.GPTNeoModel(T.GPTNeoConfig(vocab_size=1000, num_layers=2, attention_types=[[["global", "local"], 1]], num_heads=4, hidden_size=64, window_size=8)), ids()
    if name == "opt": return T.OPTModel(T.OPTConfig(vocab_size=1000, num_hidden_layers=2, num_attention_heads=4, hidden_size=64, ffn_dim=128, word_embed_proj_dim=64)), ids()
    if name == "bloom": return T.BloomModel(T.BloomConfig(vocab_size=1000, n_layer=2, n_head=4, hidden_size=64)), ids()
    if name == "llama": return T.LlamaModel(T.LlamaConfig(vocab_size=1000, num_key_value_heads=2, **S)), ids()
    if name == "mistral": return T.MistralModel(T.MistralConfig(vocab_size=1000, num_key_value_heads=2, **S)), ids()
    if name == "qwen2": return T.Qwen2Model(T.Qwen2Config(vocab_size=1000, num_key_value_heads=2, **S)), ids()
    if name == "phi": return T.PhiModel(T.PhiConfig(vocab_size=1000, **S)), ids()
    if name == "gemma": return T.GemmaModel(T.GemmaConfig(vocab_size=1000, num_key_value_heads=2, head_dim=16, **S)), ids()
    if name == "falcon": return T.FalconModel(T.FalconConfig(vocab_size=1000, num_hidden_layers=2, num_attention_heads=4, hidden_size=64)), ids()
    if name == "t5_encoder": return T.T5EncoderModel(T.T5Config(vocab_size=1000, d_model=64, d_kv=16, d_ff=128, num_layers=2, num_heads=4)), ids()
    if name == "vit": return T.ViTModel(T.ViTConfig(image_size=64, patch_size=8, **S)), img()
    if name == "deit": return T.DeiTModel(T.DeiTConfig(image_size=64, patch_size=8, **S)), img()
    if name == "beit": return T.BeitModel(T.BeitConfig(image_size=64, patch_size=8, use_relative_position_bias=True, **S)), img()
    if name == "dinov2": return T.Dinov2Model(T.Dinov2Config(image_size=64, patch_size=8, **S)), img()
    if name == "swin": return T.SwinModel(T.SwinConfig(image_size=64, patch_size=4, embed_dim=16, depths=[1, 1], num_heads=[2, 2], window_size=4)), img()
    if name == "swinv2": return T.Swinv2Model(T.Swinv2Config(image_size=64, patch_size=4, embed_dim=16, depths=[1, 1], num_heads=[2, 2], window_size=4)), img()
    if name == "convnext": return T.ConvNextModel(T.ConvNextConfig(hidden_sizes=[16, 32], depths=[1, 1], num_stages=2)), img()
    if name == "convnextv2": return T.ConvNextV2Model(T.ConvNextV2Config(hidden_sizes=[16, 32], depths=[1, 1], num_stages=2)), img()
    if name == "mobilevit": return T.MobileViTModel(T.MobileViTConfig(image_size=64)), img()
    if name == "segformer": return T.SegformerModel(T.SegformerConfig(num_encoder_blocks=2, depths=[1, 1], sr_ratios=[2, 1], hidden_sizes=[16, 32], num_attention_heads=[1, 2], patch_sizes=[7, 3], strides=[4, 2], mlp_ratios=[2, 2])), img()
    if name == "levit": return T.LevitModel(T.LevitConfig(image_size=64)), img()
    if name == "poolformer": return T.PoolFormerModel(T.PoolFormerConfig(depths=[1, 1, 1, 1], hidden_sizes=[16, 32, 48, 64])), img()
    if name == "resnet": return T.ResNetModel(T.ResNetConfig(hidden_sizes=[16, 32], depths=[1, 1], embedding_size=16)), img()
    if name == "regnet": return T.RegNetModel(T.RegNetConfig(hidden_sizes=[16, 32], depths=[1, 1], embedding_size=16, groups_width=8)), img()
    if name == "efficientnet": return T.EfficientNetModel(T.EfficientNetConfig(image_size=64, width_coefficient=0.25, depth_coefficient=0.25)), img()
    if name == "clip_vision": return T.CLIPVisionModel(T.CLIPVisionConfig(image_size=64, patch_size=8, **S)), img()
    if name == "clip_text": return T.CLIPTextModel(T.CLIPTextConfig(vocab_size=1000, **S)), ids()
    if name == "whisper_encoder": return T.WhisperModel(T.WhisperConfig(num_mel_bins=16, max_source_positions=50, d_model=64, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=128, decoder_ffn_dim=128, vocab_size=1000)).get_encoder(), torch.randn(2, 16, 100)
    if name == "hubert": return T.HubertModel(T.HubertConfig(conv_dim=(32, 32, 32), conv_stride=(5, 2, 2), conv_kernel=(10, 3, 3), num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4, **S)), torch.randn(2, 4000)
    if name == "mobilenet_v2": return T.MobileNetV2Model(T.MobileNetV2Config(image_size=64, depth_multiplier=0.35)), img()
    if name == "bart_decoder": return T.BartModel(T.BartConfig(vocab_size=1000, d_model=64, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=128, decoder_ffn_dim=128)), ids()
    raise SystemExit("unknown " + name)
class First(torch.nn.Module):
    def __init__(s, m): super().__init__(); s.m = m
    def forward(s, x): return s.m(x, return_dict=False)[0]
res = {"model": name}
t0 = time.time()
try:
    m, x = build()
    m = First(m.eval()).eval()
    tr = torch.jit.trace(m, (x,), strict=False, check_trace=False)
    st = {"input_shapes": [list(x.shape)], "device": "reference", "require_full_compilation": True}
    if x.dtype == torch.int64: st["input_dtypes"] = [x.dtype]
    try:
        c = trtorch.compile(tr, st)
        with torch.no_grad():
            w, g = tr(x), c(x)
        err = ((g - w).abs().max() / w.abs().max()).item()
        res["ok"] = err < 1e-3; res["err"] = "rel err %.3g" % err
    except Exception as e:
        res["ok"] = False; res["err"] = str(e)[:700]
except Exception as e:
    res["ok"] = None; res["err"] = "harness: " + repr(e)[:300]
res["s"] = round(time.time() - t0, 1)
print("RESULT " + json.dumps(res), flush=True)
