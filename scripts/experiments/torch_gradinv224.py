"""One Inverting Gradients iteration in PyTorch CPU, timed as medpfl's `bench --gradinv` times it: forward of
the dummy batch through a torchvision classifier in train-mode BN, parameter gradients with their graph,
1 - (one global cosine over all parameter gradients) + 1e-4 TV, gradient to the dummy input. Labels known
(0, 1, ..., batch-1 mod 6), 6 classes, as ../shared/anchors/scale224.py (which does batch 1 only).
Usage: python3 torch_gradinv224.py MODEL:SIZE:BATCH:THREADS:REPS ...   (prints one JSON line per spec)"""
import json, statistics, sys, time
import torch, torchvision

def tv(x):
    return (x[:, :, :, :-1] - x[:, :, :, 1:]).abs().mean() + (x[:, :, :-1, :] - x[:, :, 1:, :]).abs().mean()

def run(name, size, batch, threads, reps):
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    net = getattr(torchvision.models, name)(num_classes=6)
    net.train()
    params = list(net.parameters())
    x = torch.rand(batch, 3, size, size)
    y = torch.arange(batch) % 6
    target = [g.detach() for g in torch.autograd.grad(torch.nn.functional.cross_entropy(net(x), y), params)]
    d = torch.randn(batch, 3, size, size, requires_grad=True)

    def iteration():
        gs = torch.autograd.grad(torch.nn.functional.cross_entropy(net(d), y), params, create_graph=True)
        num = sum((a * b).sum() for a, b in zip(gs, target))
        na = sum((a * a).sum() for a in gs)
        nb = sum((b * b).sum() for b in target)
        loss = 1 - num / (na.sqrt() * nb.sqrt()) + 1e-4 * tv(d)
        return torch.autograd.grad(loss, [d])[0]

    for _ in range(2):
        iteration()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        iteration()
        ts.append(time.perf_counter() - t)
    return dict(model=name, size=size, batch=batch, threads=threads, reps=reps,
                median_ms=1000 * statistics.median(ts), min_ms=1000 * min(ts), torch=torch.__version__)

if __name__ == "__main__":
    for spec in sys.argv[1:]:
        name, size, batch, threads, reps = spec.split(":")
        print(json.dumps(run(name, int(size), int(batch), int(threads), int(reps))), flush=True)
