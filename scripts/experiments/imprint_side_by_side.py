"""The malicious server's imprint attack, medpfl beside breaching's ImprintBlock (issue 16's evidence; developer
tool: needs torch, torchvision, safetensors, pillow, scipy, scikit-image and breaching's repository root at
$BREACHING; medpfl never uses them).

For each case B:K:BINS (batch per client, clients under secure aggregation, bins of the block) it takes K x B
images of --images (round robin over the classes in sorted order, each class's files sorted), and
  breaching  puts breaching's own `ImprintBlock` (breaching/cases/malicious_modifications/imprint.py) in front of
             torchvision's resnet18 (6 classes, train mode), on inputs normalised as breaching's image cases do
             (ImageNet mean/std), in two configurations: `rtf` = its `malicious-model-rtf` case (linfunc fourier,
             mode 32, Laplace bins, gain 1) and `avg` = the paper's mean-brightness query (linfunc avg, Gaussian
             bins); each of the K clients computes its mean cross-entropy gradient, the attacker sees their mean,
             and breaching's own read-out runs on the block's gradients (`ImprintAttacker`'s cumulative
             differences, `invert_fc_layer`, `reduce_hits` with its `imprint` attack defaults: weight reduction,
             zero padding), then un-normalises and clamps as its `reformat_data` does;
  medpfl     `medpfl attack --attack imprint --param bins=BINS --model resnet18-cifar --tensor x.safetensors
             --batch B [--defense secagg:clients=K]` on the same K x B images.
Both engines' reconstructions are quantised to 8 bits and scored the same way here: SSIM (Gaussian window 11,
sigma 1.5, as medpfl's) of every reconstruction against every original, matched by the Hungarian method on SSIM;
"rebuilt" = SSIM >= 0.9 after matching, "exact" = every pixel within one 8-bit step. One JSON line per case and
engine; medpfl's own figures (its SSIM, its matching) are printed beside for a cross-check.

Usage: BREACHING=/path/to/breaching python3 scripts/experiments/imprint_side_by_side.py OUT 8:1:64 64:1:64 ...
       [--images data/medical-sample/32] [--size 32] [--medpfl .build/release/medpfl]
"""
import argparse
import json
import os
import subprocess
import sys
import types

import numpy as np
import torch
import torchvision
from PIL import Image
from safetensors.torch import save_file
from scipy.ndimage import gaussian_filter
from scipy.optimize import linear_sum_assignment
from skimage.metrics import structural_similarity

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, '..', '..')
IMAGENET = (torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))


def pick(count, root, size):
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    files = [sorted(f for f in os.listdir(os.path.join(root, c)) if f.endswith('.png')) for c in classes]
    if count > sum(map(len, files)):
        sys.exit('%s holds %d images, fewer than %d' % (root, sum(map(len, files)), count))
    xs, ys, k = [], [], 0
    while len(ys) < count:
        c, i = k % len(classes), k // len(classes)
        k += 1
        if i >= len(files[c]):
            continue
        img = Image.open(os.path.join(root, classes[c], files[c][i])).convert('RGB')
        if img.size != (size, size):
            img = img.resize((size, size), Image.BILINEAR)
        xs.append(torch.from_numpy(np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0))
        ys.append(c)
    return torch.stack(xs), torch.tensor(ys)


def breaching_engine(x, y, batch, clients, bins, linfunc):
    from breaching.attacks.analytic_attack import AnalyticAttacker, ImprintAttacker
    from breaching.cases.malicious_modifications.imprint import ImprintBlock
    size = x.shape[-1]
    torch.manual_seed(1234)
    block = ImprintBlock((3, size, size), bins, connection='linear', gain=1.0,
                         linfunc=linfunc, mode=32 if linfunc == 'fourier' else 0)
    net = torch.nn.Sequential(block, torchvision.models.resnet18(num_classes=6)).train()
    mean, std = IMAGENET
    params = [block.linear0.weight, block.linear0.bias]
    wg, bg = torch.zeros_like(params[0]), torch.zeros_like(params[1])
    for k in range(clients):
        xs, ys = (x[k * batch:(k + 1) * batch] - mean) / std, y[k * batch:(k + 1) * batch]
        g = torch.autograd.grad(torch.nn.functional.cross_entropy(net(xs), ys), params)
        wg += g[0] / clients
        bg += g[1] / clients
    # breaching's read-out, its own functions: ImprintAttacker.reconstruct for a "cumulative" block.
    wg, bg = wg.detach().clone(), bg.detach().clone()
    for i in reversed(range(1, wg.shape[0])):
        wg[i] -= wg[i - 1]
        bg[i] -= bg[i - 1]
    me = types.SimpleNamespace(cfg=types.SimpleNamespace(breach_padding=True, breach_reduction='weight'))
    inputs = AnalyticAttacker.invert_fc_layer(me, wg, bg, [])
    shared = [dict(metadata=dict(num_data_points=clients * batch))]
    inputs = ImprintAttacker.reduce_hits(me, inputs, wg, bg, shared)
    rec = inputs.reshape(inputs.shape[0], 3, size, size)
    rec = torch.max(torch.min(rec, (1 - mean) / std), -mean / std)
    hits = int((bg != 0).sum())
    return (rec * std + mean).clamp(0, 1), hits


def quantise(t):
    return (t.clamp(0, 1).detach().numpy() * 255).round().astype(np.uint8)


def _filter(a):
    """skimage's SSIM window: a Gaussian of sigma 1.5 truncated at 3.5 sigma (11 taps), reflected borders, over
    the last two axes."""
    return gaussian_filter(a, sigma=(0,) * (a.ndim - 2) + (1.5, 1.5), truncate=3.5, mode='reflect')


def ssim_matrix(o, r):
    """SSIM of every reconstruction (rows) against every original (columns), vectorised over the originals;
    the same numbers as skimage's structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=1, channel_axis=0), checked on the first pairs."""
    c1, c2, pad = 0.01 ** 2, 0.03 ** 2, 5
    ux, uxx = _filter(o), _filter(o * o)
    out = np.zeros((len(r), len(o)))
    for i in range(len(r)):
        y = r[i][None]
        uy, uyy, uxy = _filter(y), _filter(y * y), _filter(o * y)
        vx, vy, vxy = uxx - ux * ux, uyy - uy * uy, uxy - ux * uy
        s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
        out[i] = s[..., pad:-pad, pad:-pad].mean(axis=(1, 2, 3))
    for i, j in ((0, 0), (0, len(o) - 1), (len(r) - 1, 0)):
        ref = structural_similarity(o[j], r[i], data_range=1.0, channel_axis=0, gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False)
        assert abs(ref - out[i, j]) < 1e-6, (ref, out[i, j])
    return out


def score(orig, rec):
    """Hungarian matching on SSIM (8-bit images, N x 3 x H x W) -> (rebuilt, exact, mean SSIM)."""
    o = orig.astype(np.float64) / 255
    r = rec.astype(np.float64) / 255
    n = len(o)
    s = ssim_matrix(o, r)
    rows, cols = linear_sum_assignment(-s)
    matched = s[rows, cols]
    exact = sum(int(np.abs(rec[i].astype(int) - orig[j].astype(int)).max() <= 1) for i, j in zip(rows, cols))
    return int((matched >= 0.9).sum()), exact, float(matched.sum() / n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('outdir')
    ap.add_argument('cases', nargs='+', help='B:K:BINS')
    ap.add_argument('--images', default=os.path.join(ROOT, 'data', 'medical-sample', '32'))
    ap.add_argument('--size', type=int, default=32)
    ap.add_argument('--medpfl', default=os.path.join(ROOT, '.build', 'release', 'medpfl'))
    a = ap.parse_args()
    sys.path.insert(0, os.environ.get('BREACHING') or sys.exit('set BREACHING to the root of a breaching checkout'))
    torch.set_num_threads(2)
    for spec in a.cases:
        batch, clients, bins = (int(v) for v in spec.split(':'))
        n = batch * clients
        d = os.path.join(a.outdir, 'b%d-k%d-n%d' % (batch, clients, bins))
        os.makedirs(d, exist_ok=True)
        x, y = pick(n, a.images, a.size)
        save_file({'x': x.contiguous()}, os.path.join(d, 'x.safetensors'))
        orig = quantise(x)
        case = dict(batch=batch, clients=clients, bins=bins, images=n)
        for linfunc, name in (('fourier', 'breaching-rtf'), ('avg', 'breaching-avg')):
            rec, hits = breaching_engine(x, y, batch, clients, bins, linfunc)
            rebuilt, exact, mean = score(orig, quantise(rec))
            print(json.dumps(dict(case, engine=name, gaps_fired=hits, rebuilt=rebuilt, exact=exact,
                                  mean_ssim=round(mean, 4))), flush=True)
        cmd = [a.medpfl, 'attack', '--attack', 'imprint', '--param', 'bins=%d' % bins, '--model', 'resnet18-cifar',
               '--size', str(a.size), '--classes', '6', '--tensor', os.path.join(d, 'x.safetensors'),
               '--count', str(n), '--batch', str(batch), '--json', '--quiet', '--out', os.path.join(d, 'medpfl')]
        cmd += sum((['--label', str(int(v))] for v in y), [])
        if clients > 1:
            cmd += ['--defense', 'secagg:clients=%d' % clients]
        out = json.loads(subprocess.check_output(cmd))
        rec = np.stack([np.asarray(Image.open(os.path.join(d, 'medpfl', '%03d-reconstruction.png' % k)).convert('RGB'))
                        .transpose(2, 0, 1) for k in range(n)])
        rebuilt, exact, mean = score(orig, rec)
        agg = out['aggregate']
        print(json.dumps(dict(case, engine='medpfl', rebuilt=rebuilt, exact=exact, mean_ssim=round(mean, 4),
                              own_rebuilt=agg['statistics']['successes'], own_mean_ssim=round(agg['meanSSIM'], 4))), flush=True)


if __name__ == '__main__':
    main()
