"""Batch label restoration beside the authors' code (issue 16's evidence; developer tool, medpfl never uses it).

For each batch size B it builds torchvision's MODEL with 6 classes (seeded init), takes B bundled images
(--images, default data/medical-sample/full; round robin over the classes in sorted order),
resizes them with PIL's bilinear to SIZE, computes the client's update (mean cross-entropy) with batch norm in
train mode (what a client sends) and, separately, in eval mode (what the authors' main.py does: `model.eval()`),
and restores the batch's label counts from each update twice:
  reference  the authors' own functions, imported from their repository at $ILRG (mankasto/iLRG, methods.py:
             `get_emb` for each class's embedding, `model.fc(emb) * alpha` with alpha 1 and softmax as their
             `post_process_emb`, then `iLRG`), both the raw rounded counts their metrics use and the corrected
             `mod_res`;
  medpfl     `medpfl attack --attack ilrg --weights weights.pt --update update.safetensors --tensor x.safetensors`
             (and `--param method=llg` for the LLG+ estimate).
It prints one JSON line per case and engine: the restored counts, label-existence and label-count accuracy (over the
6 classes) and the fraction of the batch recovered as a multiset, as the paper reports them.

Needs torch, torchvision, safetensors, pillow, numpy; the authors' repository root in $ILRG.
Usage: ILRG=/path/to/iLRG python3 scripts/experiments/ilrg_reference.py OUT [--model resnet18] [--size 64]
       [--batches 8,32,128] [--images DIR] [--medpfl .build/release/medpfl]
(batches above 18 need more images than the bundled sample: --images ../shared/datasets/medical-sample/full)
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import torch
import torchvision
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from breaching_gradinversion import DATA, load  # noqa: E402  (same resize)


def pick_images(batch, root):
    """BATCH images of ROOT (one sub-folder per class), round robin over the classes in sorted order, each class's
    files in sorted order (the first images are those breaching_gradinversion.py takes)."""
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    files = [sorted(f for f in os.listdir(os.path.join(root, c)) if f.endswith('.png')) for c in classes]
    if batch > sum(map(len, files)):
        sys.exit('%s holds %d images, fewer than %d' % (root, sum(map(len, files)), batch))
    out, k = [], 0
    while len(out) < batch:
        c, i = k % len(classes), k // len(classes)
        if i < len(files[c]):
            out.append((os.path.join(root, classes[c], files[c][i]), c))
        k += 1
    return out


def reference_module():
    root = os.environ.get('ILRG')
    if not root:
        sys.exit('set ILRG to the root of a checkout of mankasto/iLRG')
    spec = importlib.util.spec_from_file_location('ilrg_methods', os.path.join(root, 'methods.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def accuracy(counts, truth, classes=6):
    counts, truth = list(counts), list(truth)
    exist = sum((counts[c] > 0) == (truth[c] > 0) for c in range(classes)) / classes
    count = sum(counts[c] == truth[c] for c in range(classes)) / classes
    multiset = sum(min(counts[c], truth[c]) for c in range(classes)) / max(sum(truth), 1)
    return round(exist, 4), round(count, 4), round(multiset, 4)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('outdir')
    ap.add_argument('--model', default='resnet18')
    ap.add_argument('--size', type=int, default=64)
    ap.add_argument('--batches', default='8,32,128')
    ap.add_argument('--seed', type=int, default=1234)
    ap.add_argument('--images', default=DATA, help='an ImageFolder (default: the 18 bundled full-size images)')
    ap.add_argument('--medpfl', default=os.path.join(HERE, '..', '..', '.build', 'release', 'medpfl'))
    a = ap.parse_args()
    ref = reference_module()
    torch.set_num_threads(2)
    for batch in [int(b) for b in a.batches.split(',')]:
        for mode in ('train', 'eval'):
            d = os.path.join(a.outdir, '%s-%d-b%d-%s' % (a.model, a.size, batch, mode))
            os.makedirs(d, exist_ok=True)
            torch.manual_seed(a.seed)
            net = getattr(torchvision.models, a.model)(num_classes=6)
            sent = {k: v.detach().clone() for k, v in net.state_dict().items()}
            torch.save(sent, os.path.join(d, 'weights.pt'))
            picked = pick_images(batch, a.images)
            x = torch.stack([load(p, a.size) for p, _ in picked])
            y = torch.tensor([c for _, c in picked])
            net.train(mode == 'train')
            names = [n for n, _ in net.named_parameters()]
            grads = torch.autograd.grad(torch.nn.functional.cross_entropy(net(x), y), list(net.parameters()))
            grads = {n: g.detach().clone().contiguous() for n, g in zip(names, grads)}
            net.load_state_dict(sent)
            save_file(grads, os.path.join(d, 'update.safetensors'),
                      metadata={'batch': str(batch), 'kind': 'fedsgd-gradient', 'clients': '1'})
            save_file({'x': x.contiguous()}, os.path.join(d, 'x.safetensors'))
            truth = np.bincount(y.numpy(), minlength=6)

            # The authors' pipeline, their functions on the same update.
            w_grad, b_grad = grads['fc.weight'], grads['fc.bias']
            with torch.no_grad():
                probs = [torch.softmax(net.fc(ref.get_emb(w_grad[i], b_grad[i])) * 1.0, dim=-1) for i in range(6)]
            raw, mod = ref.iLRG(probs, b_grad.numpy(), 6, batch)
            for engine, counts in (('reference-raw', raw), ('reference', mod)):
                e, c, m = accuracy(counts, truth)
                print(json.dumps(dict(case='%s %dpx b%d bn-%s' % (a.model, a.size, batch, mode), engine=engine,
                                      counts=[int(v) for v in counts], truth=truth.tolist(), existence=e, count=c,
                                      multiset=m)), flush=True)
            labels = sum((['--label', str(int(v))] for v in y), [])
            for method in ('ilrg', 'llg'):
                cmd = [a.medpfl, 'attack', '--attack', 'ilrg', '--param', 'method=' + method, '--model', a.model,
                       '--size', str(a.size), '--classes', '6', '--bn', mode, '--weights', os.path.join(d, 'weights.pt'),
                       '--update', os.path.join(d, 'update.safetensors'), '--tensor', os.path.join(d, 'x.safetensors'),
                       '--batch', str(batch), '--count', str(batch), '--json', '--quiet'] + labels
                out = json.loads(subprocess.check_output(cmd))
                restored = [smp['recoveredLabel'] for smp in out['samples']]   # the restored multiset, one per image
                counts = np.bincount(np.asarray(restored, dtype=int), minlength=6)
                e, c, m = accuracy(counts, truth)
                print(json.dumps(dict(case='%s %dpx b%d bn-%s' % (a.model, a.size, batch, mode),
                                      engine='medpfl-' + method, counts=counts.tolist(), truth=truth.tolist(),
                                      existence=e, count=c, multiset=m)), flush=True)


if __name__ == '__main__':
    main()
