"""Writes Tests/NNTests/Fixtures/torchvision-state-dicts.json: torchvision's state_dict keys and shapes (in
state_dict order) and named_parameters() order for the zoo's torchvision names, num_classes=6.
Dev-only (torchvision 0.29.2); medpfl's tests read the committed file."""
import json, sys, types
import torch
# This machine's torchvision wheel was built against another torch: its C ops (nms, ...) do not register.
# The classifiers need none of them, so skip the registrations.
sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")
import torchvision
out = {"torch": torch.__version__, "torchvision": torchvision.__version__, "classes": 6, "models": {}}
for name in ["resnet18", "resnet34", "resnet50", "densenet121", "mobilenet_v2", "efficientnet_b0"]:
    m = getattr(torchvision.models, name)(num_classes=6)
    out["models"][name] = {
        "state_dict": [[k, list(v.shape)] for k, v in m.state_dict().items()],
        "parameters": [k for k, _ in m.named_parameters()],
        "parameter_count": sum(p.numel() for p in m.parameters()),
    }
json.dump(out, open("Tests/NNTests/Fixtures/torchvision-state-dicts.json", "w"), separators=(",", ":"))
print({k: v["parameter_count"] for k, v in out["models"].items()})
