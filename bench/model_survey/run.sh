#!/usr/bin/env bash
# Compiles one model per family of torchvision, Hugging Face transformers and timm with
# require_full_compilation on the reference backend (each in its own process, 240 s each) and
# compares it with TorchScript; one RESULT line (JSON) per model in OUT/{torchvision,hf,timm}.txt.
#   bench/model_survey/run.sh OUT [torchvision] [hf] [timm]
# timm is not a dependency of the project: install it where it is missing (pip install --target DIR
# timm, then PYTHONPATH=DIR), the GPU machine's image has it. Random weights: a model whose output is
# all zeros (a zero-initialised head) or whose FP32 result is chaotic (FP64 differs) is reported as
# it is; see docs/supported_ops.md, "Model survey".
set -u
cd "$(dirname "$0")/../.."
OUT=${1:?OUT folder}; shift
mkdir -p "$OUT"
export PYTHONPATH=$PWD/build/python${PYTHONPATH:+:$PYTHONPATH} TRTORCH_DEFAULT_DEVICE=reference OMP_NUM_THREADS=1
S=bench/model_survey
one() {  # script, args...
  timeout 240 python3 "$@" 2>/dev/null | grep RESULT || echo "RESULT {\"model\": \"$2\", \"ok\": null, \"err\": \"timeout or crash\"}"
}
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(torchvision hf timm)
for part in "${parts[@]}"; do
  case $part in
    torchvision)
      python3 -c "
from torchvision import models as M
for k, mod in (('classification', M), ('segmentation', M.segmentation), ('detection', M.detection), ('video', M.video), ('optical_flow', M.optical_flow)):
    for n in M.list_models(module=mod): print(n, k)" | while read -r n k; do one $S/torchvision_one.py "$n" "$k"; done > "$OUT/torchvision.txt" ;;
    hf)
      for n in bert distilbert albert electra deberta_v2 deberta xlm_roberta mpnet mobilebert squeezebert gpt2 gpt_neo opt bloom llama mistral qwen2 phi gemma falcon t5_encoder vit deit beit dinov2 swin swinv2 convnext convnextv2 mobilevit segformer levit poolformer resnet regnet clip_vision clip_text hubert mobilenet_v2; do
        one $S/hf_one.py "$n"; done > "$OUT/hf.txt"
      for n in gptj gpt_neox gpt_bigcode codegen stablelm phi3 qwen3 gemma2 olmo mpt convbert roformer ernie funnel xlnet data2vec_text wavlm unispeech sew data2vec_audio ast speech_to_text_enc pvt_v2 focalnet mobilevitv2 efficientformer swiftformer dpt glpn hiera siglip_vision siglip_text owlvit_vision blip_vision vit_msn yolos mobilenet_v1 upernet_convnext segformer_seg t5_full; do
        one $S/hf_one.py "$n"; done >> "$OUT/hf.txt" ;;
    timm)
      for n in $(cat $S/timm_families.txt); do one $S/timm_one.py "$n"; done > "$OUT/timm.txt" ;;
  esac
done
for f in "$OUT"/*.txt; do echo "$f: $(grep -c '"ok": true' "$f") of $(grep -c RESULT "$f") compiled whole and matched"; done
