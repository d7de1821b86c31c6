"""Writes the bundled example's model: torchvision ResNet-18 (random weights, eval mode) as a
scripted TorchScript module."""
import sys

import torch
import torchvision

torch.manual_seed(0)
model = torchvision.models.resnet18().eval()
torch.jit.script(model).save(sys.argv[1])
print(f"wrote {sys.argv[1]}")
