"""INT8 accuracy on a trained model with real data (issue 19, item 4; docs/int8.md): the digits
ResNet of int8_digits.py, trained here on the CPU (seconds), compiled in FP32, FP16 and INT8 (PTQ
with each calibration algorithm, and QAT), evaluated on the held-out split."""
import os

import pytest
import torch

import int8_digits

DEVICES = ["reference"] + (["gpu"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
def test_int8_keeps_the_trained_models_accuracy(device):
    assert os.path.exists(int8_digits.DATA), "the digits data set is missing: run scripts/setup.sh"
    r, text = int8_digits.table(device)
    print("\n" + text)
    fp32 = r["eager FP32"][0]
    assert fp32 >= 97.0, text  # the model learned the task
    assert r["trtorch FP32"][1] < 1e-4 and r["trtorch FP16"][1] < 1e-2, text
    int8 = [k for k in r if "INT8" in k]
    assert len(int8) == 4, text
    for k in int8:
        acc, err = r[k]
        # The bar: INT8 within one point of FP32 top-1. The logits move by the
        # quantization (more than FP16's rounding) but by a few percent, not by a wrong scale.
        assert acc >= fp32 - 1.0, (k, text)
        assert r["trtorch FP16"][1] < err < 0.15, (k, text)
