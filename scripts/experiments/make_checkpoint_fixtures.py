"""Writes the PyTorch checkpoint fixtures of Tests/CLITests/Fixtures from the golden lenet weights
(../shared/golden/lenet/weights-train.safetensors): developer-only (needs torch and safetensors); the tests
read the committed files.

    python3 scripts/experiments/make_checkpoint_fixtures.py
"""
import collections
import os

import torch
from safetensors.torch import load_file

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, "..", "..")
sd = load_file(os.path.join(root, "..", "shared", "golden", "lenet", "weights-train.safetensors"))
sd = collections.OrderedDict((k, v) for k, v in sd.items())
out = os.path.join(root, "Tests", "CLITests", "Fixtures")
os.makedirs(out, exist_ok=True)
# A training checkpoint as sites keep them: DataParallel prefix, under a custom key, with optimizer state.
wrapped = collections.OrderedDict(("module." + k, v) for k, v in sd.items())
opt = {"state": {0: {"momentum_buffer": torch.zeros(3)}}, "param_groups": [{"lr": 0.01, "momentum": 0.9, "params": [0]}]}
torch.save({"epoch": 7, "ema_weights": wrapped, "optimizer": opt, "note": "lenet golden"}, os.path.join(out, "lenet-training.pth.tar"))
# A non-contiguous tensor (a transposed view saved as such) is stored with strides.
t = sd["fc.0.weight"]
sd_view = collections.OrderedDict(sd)
sd_view["fc.0.weight"] = t.t().contiguous().t()
assert not sd_view["fc.0.weight"].is_contiguous()
torch.save(sd_view, os.path.join(out, "lenet-strided.pt"))
print("wrote", sorted(os.listdir(out)))
