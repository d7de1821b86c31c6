"""One Hugging Face transformers architecture (argv: name) in a tiny configuration, random
weights, traced: see common.py. Run by bench/model_survey/run.sh."""
import sys

import torch
import transformers as T

from common import report

name = sys.argv[1]
S = dict(num_hidden_layers=2, num_attention_heads=4, intermediate_size=128, hidden_size=64)
A = dict(conv_dim=(32, 32, 32), conv_stride=(5, 2, 2), conv_kernel=(10, 3, 3), num_conv_pos_embeddings=16,
         num_conv_pos_embedding_groups=4)
E = dict(d_model=64, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4,
         encoder_ffn_dim=128, decoder_ffn_dim=128, vocab_size=1000)


def ids():
    return torch.randint(3, 900, (2, 16), generator=torch.Generator().manual_seed(0))


def img(s=64):
    return torch.randn(2, 3, s, s, generator=torch.Generator().manual_seed(0))


def aud():
    return torch.randn(2, 4000, generator=torch.Generator().manual_seed(0))


def model():
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
    if name == "gptj": return T.GPTJModel(T.GPTJConfig(vocab_size=1000, n_layer=2, n_head=4, n_embd=64, rotary_dim=8)), ids()
    if name == "gpt_neox": return T.GPTNeoXModel(T.GPTNeoXConfig(vocab_size=1000, **S)), ids()
    if name == "gpt_bigcode": return T.GPTBigCodeModel(T.GPTBigCodeConfig(vocab_size=1000, n_layer=2, n_head=4, n_embd=64)), ids()
    if name == "codegen": return T.CodeGenModel(T.CodeGenConfig(vocab_size=1000, n_layer=2, n_head=4, n_embd=64, rotary_dim=8)), ids()
    if name == "stablelm": return T.StableLmModel(T.StableLmConfig(vocab_size=1000, num_key_value_heads=2, **S)), ids()
    if name == "phi3": return T.Phi3Model(T.Phi3Config(vocab_size=1000, num_key_value_heads=2, pad_token_id=0, **S)), ids()
    if name == "qwen3": return T.Qwen3Model(T.Qwen3Config(vocab_size=1000, num_key_value_heads=2, head_dim=16, **S)), ids()
    if name == "gemma2": return T.Gemma2Model(T.Gemma2Config(vocab_size=1000, num_key_value_heads=2, head_dim=16, **S)), ids()
    if name == "olmo": return T.OlmoModel(T.OlmoConfig(vocab_size=1000, pad_token_id=0, **S)), ids()
    if name == "mpt": return T.MptModel(T.MptConfig(vocab_size=1000, n_layers=2, n_heads=4, d_model=64)), ids()
    if name == "convbert": return T.ConvBertModel(T.ConvBertConfig(vocab_size=1000, embedding_size=64, **S)), ids()
    if name == "roformer": return T.RoFormerModel(T.RoFormerConfig(vocab_size=1000, embedding_size=64, **S)), ids()
    if name == "ernie": return T.ErnieModel(T.ErnieConfig(vocab_size=1000, **S)), ids()
    if name == "nezha": return T.NezhaModel(T.NezhaConfig(vocab_size=1000, **S)), ids()
    if name == "funnel": return T.FunnelModel(T.FunnelConfig(vocab_size=1000, block_sizes=[1, 1], d_model=64, n_head=4, d_head=16, d_inner=128)), ids()
    if name == "xlnet": return T.XLNetModel(T.XLNetConfig(vocab_size=1000, n_layer=2, n_head=4, d_model=64, d_inner=128)), ids()
    if name == "data2vec_text": return T.Data2VecTextModel(T.Data2VecTextConfig(vocab_size=1000, **S)), ids()
    if name == "wavlm": return T.WavLMModel(T.WavLMConfig(**A, **S)), aud()
    if name == "unispeech": return T.UniSpeechModel(T.UniSpeechConfig(**A, **S)), aud()
    if name == "sew": return T.SEWModel(T.SEWConfig(**A, **S)), aud()
    if name == "data2vec_audio": return T.Data2VecAudioModel(T.Data2VecAudioConfig(**A, **S)), aud()
    if name == "ast": return T.ASTModel(T.ASTConfig(num_mel_bins=16, max_length=64, frequency_stride=10, time_stride=10, **S)), torch.randn(2, 64, 16)
    if name == "speech_to_text_enc": return T.Speech2TextModel(T.Speech2TextConfig(input_feat_per_channel=16, max_source_positions=100, **E)).get_encoder(), torch.randn(2, 40, 16)
    if name == "bit": return T.BitModel(T.BitConfig(hidden_sizes=[16, 32], depths=[1, 1], embedding_size=16)), img()
    if name == "cvt": return T.CvtModel(T.CvtConfig(embed_dim=[16, 32], num_heads=[1, 2], depth=[1, 1], patch_sizes=[7, 3], patch_stride=[4, 2], patch_padding=[2, 1], mlp_ratio=[2.0, 2.0], attention_drop_rate=[0.0, 0.0], drop_rate=[0.0, 0.0], drop_path_rate=[0.0, 0.0], qkv_bias=[True, True], cls_token=[False, True], qkv_projection_method=["dw_bn", "dw_bn"], kernel_qkv=[3, 3], padding_kv=[1, 1], stride_kv=[2, 2], padding_q=[1, 1], stride_q=[1, 1])), img()
    if name == "pvt_v2": return T.PvtV2Model(T.PvtV2Config(hidden_sizes=[16, 32, 48, 64], num_attention_heads=[1, 2, 2, 4], depths=[1, 1, 1, 1])), img()
    if name == "focalnet": return T.FocalNetModel(T.FocalNetConfig(embed_dim=16, depths=[1, 1], focal_levels=[2, 2], focal_windows=[3, 3])), img()
    if name == "van": return T.VanModel(T.VanConfig(hidden_sizes=[16, 32, 48, 64], depths=[1, 1, 1, 1])), img()
    if name == "mobilevitv2": return T.MobileViTV2Model(T.MobileViTV2Config(image_size=64, width_multiplier=0.5)), img()
    if name == "efficientformer": return T.EfficientFormerModel(T.EfficientFormerConfig(image_size=64, depths=[1, 1, 1, 2], hidden_sizes=[16, 32, 48, 64], num_meta3d_blocks=1)), img()
    if name == "swiftformer": return T.SwiftFormerModel(T.SwiftFormerConfig(depths=[1, 1, 1, 1], embed_dims=[16, 32, 48, 64])), img()
    if name == "dpt": return T.DPTModel(T.DPTConfig(image_size=64, patch_size=8, **S)), img()
    if name == "glpn": return T.GLPNModel(T.GLPNConfig(num_encoder_blocks=2, depths=[1, 1], sr_ratios=[2, 1], hidden_sizes=[16, 32], num_attention_heads=[1, 2], patch_sizes=[7, 3], strides=[4, 2], mlp_ratios=[2, 2])), img()
    if name == "hiera": return T.HieraModel(T.HieraConfig(image_size=[64, 64], embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 2, 2, 4])), img()
    if name == "siglip_vision": return T.SiglipVisionModel(T.SiglipVisionConfig(image_size=64, patch_size=8, **S)), img()
    if name == "siglip_text": return T.SiglipTextModel(T.SiglipTextConfig(vocab_size=1000, **S)), ids()
    if name == "owlvit_vision": return T.OwlViTVisionModel(T.OwlViTVisionConfig(image_size=64, patch_size=8, **S)), img()
    if name == "blip_vision": return T.BlipVisionModel(T.BlipVisionConfig(image_size=64, patch_size=8, **S)), img()
    if name == "vit_msn": return T.ViTMSNModel(T.ViTMSNConfig(image_size=64, patch_size=8, **S)), img()
    if name == "yolos": return T.YolosModel(T.YolosConfig(image_size=[64, 64], patch_size=8, num_detection_tokens=10, **S)), img()
    if name == "mobilenet_v1": return T.MobileNetV1Model(T.MobileNetV1Config(image_size=64, depth_multiplier=0.25)), img()
    if name == "regnet_hf": return T.RegNetModel(T.RegNetConfig(hidden_sizes=[16, 32], depths=[1, 1], embedding_size=16, groups_width=8)), img()
    if name == "upernet_convnext":
        return T.UperNetForSemanticSegmentation(T.UperNetConfig(backbone_config=T.ConvNextConfig(hidden_sizes=[16, 32, 48, 64], depths=[1, 1, 1, 1], out_features=["stage1", "stage2", "stage3", "stage4"]), hidden_size=32, auxiliary_in_channels=48)), img()
    if name == "segformer_seg": return T.SegformerForSemanticSegmentation(T.SegformerConfig(num_encoder_blocks=2, depths=[1, 1], sr_ratios=[2, 1], hidden_sizes=[16, 32], num_attention_heads=[1, 2], patch_sizes=[7, 3], strides=[4, 2], mlp_ratios=[2, 2], decoder_hidden_size=32)), img()
    if name == "t5_full": return T.T5Model(T.T5Config(vocab_size=1000, d_model=64, d_kv=16, d_ff=128, num_layers=2, num_heads=4)), ids()
    raise SystemExit("unknown architecture " + name)


class First(torch.nn.Module):
    """The model's first output (its hidden states), from token ids, pixels or audio."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        if name == "t5_full":
            return self.m(input_ids=x, decoder_input_ids=x, return_dict=False)[0]
        return self.m(x, return_dict=False)[0]


def build():
    m, x = model()
    return torch.jit.trace(First(m.eval()).eval(), (x,), strict=False, check_trace=False), (x,), "trace"


report(name, build)
