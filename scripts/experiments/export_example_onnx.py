"""Exports the bundled example site model, audits/models/densenet-site.onnx: torchvision's DenseNet class at
64 px for the 6 classes of the bundled images, as a site would export its own (dev-only; torch 2.15,
torchvision 0.29.2). The two lines a site runs are the torch.onnx.export call below (and model.eval())."""
import sys, types, torch
sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")  # see make_torchvision_keys.py
import torchvision
torch.manual_seed(2024)
model = torchvision.models.DenseNet(growth_rate=8, block_config=(2, 2), num_init_features=16, bn_size=2, num_classes=6)
# A site's model has trained batch-norm statistics; give these non-trivial ones (as the goldens do).
with torch.no_grad():
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.mul_(0).add_(1 + 0.2 * torch.randn_like(m.weight)); m.bias.copy_(0.1 * torch.randn_like(m.bias))
            m.running_mean.copy_(0.1 * torch.randn_like(m.running_mean)); m.running_var.copy_(0.5 + torch.rand_like(m.running_var))
# What a site runs (eval mode, a dynamic batch, the weights inside the file):
model.eval()
torch.onnx.export(model, torch.rand(1, 3, 64, 64), "audits/models/densenet-site.onnx", input_names=["input"], output_names=["logits"],
                  dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17, do_constant_folding=False, dynamo=False)
if len(sys.argv) > 1 and sys.argv[1] == "--folded-fixture":
    # The export with torch's default constant folding (batch norm folded into the convolutions): medpfl refuses it.
    torch.onnx.export(model, torch.rand(1, 3, 64, 64), "Tests/CLITests/Fixtures/onnx-folded-bn.onnx", input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17, dynamo=False)
torch.save(model.state_dict(), "/tmp/densenet-site.pt")   # for a side-by-side check; not committed
print("wrote audits/models/densenet-site.onnx")
