"""The PyTorch update of the golden lenet on one bundled image with ImageNet normalisation in the input
pipeline (transforms.Normalize's arithmetic: (x - mean) / std per channel), computed in float64 from the
stored float32 values as the golden files are (../shared/golden/README.md), saved as float32:
Tests/CLITests/Fixtures/lenet-imagenet-update.safetensors. Developer-only (torch, safetensors, Pillow).

    python3 scripts/experiments/make_normalised_fixture.py
"""
import os

import numpy as np
import torch
import torch.nn as nn
from PIL import Image
from safetensors.torch import load_file, save_file

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, "..", "..")
sd = load_file(os.path.join(root, "..", "shared", "golden", "lenet", "weights-train.safetensors"))

class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        act = nn.Sigmoid
        self.body = nn.Sequential(nn.Conv2d(3, 12, 5, padding=2, stride=2), act(), nn.Conv2d(12, 12, 5, padding=2, stride=2), act(),
                                  nn.Conv2d(12, 12, 5, padding=2, stride=1), act())
        self.fc = nn.Sequential(nn.Linear(768, 6))
    def forward(self, x):
        return self.fc(self.body(x).flatten(1))

m = LeNet().double()
m.load_state_dict({k: v.double() for k, v in sd.items()})
img = np.asarray(Image.open(os.path.join(root, "data", "medical-sample", "32", "ultrasound", "echo4c_f012.png")).convert("RGB"))
x = torch.tensor(img, dtype=torch.float32).permute(2, 0, 1).unsqueeze(0) / 255.0
mean = torch.tensor([0.485, 0.456, 0.406], dtype=torch.float32).view(1, 3, 1, 1)
std = torch.tensor([0.229, 0.224, 0.225], dtype=torch.float32).view(1, 3, 1, 1)
xn = ((x.double() - mean.double()) / std.double())
loss = nn.functional.cross_entropy(m(xn), torch.tensor([4]))
grads = torch.autograd.grad(loss, list(m.parameters()))
out = {name: g.float().contiguous() for (name, _), g in zip(m.named_parameters(), grads)}
save_file(out, os.path.join(root, "Tests", "CLITests", "Fixtures", "lenet-imagenet-update.safetensors"))
print("loss", loss.item())
