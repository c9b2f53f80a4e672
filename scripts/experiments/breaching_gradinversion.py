"""GradInversion side by side: breaching's `seethroughgradients` attack (Geiping et al.'s library, the reference
implementation issue 16 compares against) on exactly the inputs medpfl's `gradinversion` gets (developer tool;
needs torch, torchvision, safetensors, pillow, hydra-core and breaching on PYTHONPATH; medpfl never uses them).

Builds torchvision's MODEL with 6 classes (seeded init, or --weights: a `.pt` state dict, or the safetensors that
`medpfl train --save` writes), takes BATCH bundled images (data/medical-sample/full, the first images of the
classes in sorted order, round robin), resized with PIL's antialiased bilinear to SIZE (medpfl's `--resize
bilinear`), computes the client's update in train-mode BN (mean cross-entropy), and writes into OUTDIR:
  weights.pt         the model's state dict before the client's step (what the server sent; BN buffers included)
  update.safetensors the intercepted gradient, by torchvision's parameter names (medpfl attack --update)
  start.safetensors  'x': the randn start both engines begin from (medpfl attack --start)
  x.safetensors      'x': the true batch (medpfl attack --tensor), labels.json its labels
  original-K.png, breaching-K.png  the originals and breaching's reconstruction (8-bit)
  breaching.json     breaching's settings, its final objective and seconds
Then it runs breaching's attacker with its seethroughgradients configuration (Euclidean matching x 1e-4, BN
statistics prior 0.1 with the first BN x10, TV 1e-4, L2 1e-6, Adam 0.1 boxed, warm-up 50 then cosine decay,
Langevin noise 0.01) for ITERS iterations from that start, the true labels given (both engines get the labels:
the comparison is of image recovery). With --no-bn-prior the prior's scale is 0 (medpfl: --param bn_prior=0).

BN statistics: breaching puts the rebuilt model in eval mode when the server's payload carries buffers, which
would match a train-mode update with eval-mode gradients; here the model stays in train mode (as the client
computed the update) and the prior compares the batch's statistics with the running statistics the server
sent, which is what the paper describes and what medpfl does.

Usage: PYTHONPATH=/path/to/breaching python3 breaching_gradinversion.py OUTDIR [--model resnet18] [--size 64]
       [--batch 1] [--iters 2000] [--seed 1234] [--weights W.pt] [--no-bn-prior] [--threads 2]
scripts/experiments/gradinversion-side-by-side.sh runs it and medpfl on the same folder and scores both.
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torchvision
from PIL import Image
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, '..', '..', 'data', 'medical-sample', 'full')


def pick_images(batch):
    classes = sorted(d for d in os.listdir(DATA) if os.path.isdir(os.path.join(DATA, d)))
    files = {c: sorted(f for f in os.listdir(os.path.join(DATA, c)) if f.endswith('.png')) for c in classes}
    out = []
    for i in range(batch):
        c = i % len(classes)
        out.append((os.path.join(DATA, classes[c], files[classes[c]][i // len(classes)]), c))
    return out


def load(path, size):
    img = Image.open(path).convert('RGB').resize((size, size), Image.BILINEAR)
    a = np.asarray(img, dtype=np.uint8).astype(np.float32) / 255.0
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))


def png(t, path):
    a = (t.clamp(0, 1).detach().numpy().transpose(1, 2, 0) * 255.0).round().astype(np.uint8)
    Image.fromarray(a).save(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('outdir')
    ap.add_argument('--model', default='resnet18')
    ap.add_argument('--size', type=int, default=64)
    ap.add_argument('--batch', type=int, default=1)
    ap.add_argument('--iters', type=int, default=2000)
    ap.add_argument('--seed', type=int, default=1234)
    ap.add_argument('--weights')
    ap.add_argument('--no-bn-prior', action='store_true')
    ap.add_argument('--threads', type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.outdir, exist_ok=True)

    torch.manual_seed(a.seed)
    net = getattr(torchvision.models, a.model)(num_classes=6)
    if a.weights:
        if a.weights.endswith('.safetensors'):
            # `medpfl train --save` writes safetensors by torchvision's names, without the BN batch counters
            # (which no forward pass here reads): those keep the fresh model's values.
            from safetensors.torch import load_file
            state = dict(net.state_dict())
            loaded = load_file(a.weights)
            unknown = sorted(set(loaded) - set(state))
            if unknown:
                raise SystemExit('%s: names the model does not have: %s' % (a.weights, ', '.join(unknown[:5])))
            state.update(loaded)
            net.load_state_dict(state)
        else:
            net.load_state_dict(torch.load(a.weights, map_location='cpu'))
    sent = {k: v.detach().clone() for k, v in net.state_dict().items()}
    torch.save(sent, os.path.join(a.outdir, 'weights.pt'))

    picked = pick_images(a.batch)
    x = torch.stack([load(p, a.size) for p, _ in picked])
    y = torch.tensor([c for _, c in picked])
    net.train()
    names = [n for n, _ in net.named_parameters()]
    params = list(net.parameters())
    target = [g.detach().clone() for g in torch.autograd.grad(torch.nn.functional.cross_entropy(net(x), y), params)]
    net.load_state_dict(sent)   # the forward pass moved the running statistics: back to what the server sent
    save_file({n: g.contiguous() for n, g in zip(names, target)}, os.path.join(a.outdir, 'update.safetensors'),
              metadata={'batch': str(a.batch), 'kind': 'fedsgd-gradient', 'clients': '1'})
    g = torch.Generator().manual_seed(a.seed + 1)
    start = torch.randn(x.shape, generator=g)
    save_file({'x': start.contiguous()}, os.path.join(a.outdir, 'start.safetensors'))
    save_file({'x': x.contiguous()}, os.path.join(a.outdir, 'x.safetensors'))
    json.dump(dict(labels=y.tolist(), images=[os.path.relpath(p, DATA) for p, _ in picked]),
              open(os.path.join(a.outdir, 'labels.json'), 'w'))
    for k in range(a.batch):
        png(x[k], os.path.join(a.outdir, 'original-%d.png' % k))
    if a.iters == 0:
        return

    import breaching
    from omegaconf import OmegaConf
    cfg = breaching.get_attack_config('seethroughgradients')
    cfg.optim.max_iterations = a.iters
    cfg.optim.callback = max(1, a.iters // 10)
    if a.no_bn_prior:
        cfg.regularization.deep_inversion.scale = 0.0
    setup = dict(device=torch.device('cpu'), dtype=torch.float)
    attacker = breaching.attacks.prepare_attack(net, torch.nn.CrossEntropyLoss(), cfg, setup)
    build = attacker._construct_models_from_payload_and_buffers

    def construct(server_payload, shared_data):
        models = build(server_payload, shared_data)   # no buffers in the payload: train mode, running stats reset
        for m in models:
            with torch.no_grad():
                for (n, b) in m.named_buffers():
                    if n in sent:
                        b.copy_(sent[n])       # the running statistics the server sent, for the prior
        return models

    attacker._construct_models_from_payload_and_buffers = construct
    meta = OmegaConf.create(dict(modality='vision', shape=[3, a.size, a.size], mean=[0.0, 0.0, 0.0],
                                 std=[1.0, 1.0, 1.0], classes=6))
    payload = [dict(parameters=[p.detach().clone() for p in net.parameters()], buffers=None, metadata=meta)]
    shared = [dict(gradients=target, buffers=None,
                   metadata=dict(num_data_points=a.batch, labels=y.clone(), local_hyperparams=None))]
    t = time.time()
    rec, stats = attacker.reconstruct(payload, shared, {}, initial_data=start.clone(), dryrun=False)
    seconds = time.time() - t
    out = rec['data'].detach()
    for k in range(a.batch):
        png(out[k], os.path.join(a.outdir, 'breaching-%d.png' % k))
    vals = stats.get('Trial_0_Val', [])
    json.dump(dict(model=a.model, size=a.size, batch=a.batch, iters=a.iters, seed=a.seed, bn_prior=not a.no_bn_prior,
                   trained=bool(a.weights), seconds=seconds, final_objective=vals[-1] if vals else None,
                   best_objective=min(vals) if vals else None, torch=torch.__version__,
                   mse=float(((out.clamp(0, 1) - x) ** 2).mean())),
              open(os.path.join(a.outdir, 'breaching.json'), 'w'))


if __name__ == '__main__':
    main()
