"""How far PyTorch's own DLG/iDLG runs spread from one fixed problem (developer tool).

A float32 L-BFGS run of thousands of iterations without line search is chaotic: a different BLAS kernel,
thread count or summation order on another machine changes the rounding of every evaluation, and the
run can end at a different image. This script measures that spread for a fixture written by
torch_crosscheck.py (weights.safetensors, update.safetensors, start.safetensors, trajectory.json): it
reruns torch's attack from the fixture's start at 1 and 2 threads, and from `--perturbations` copies of
the start moved by about one float32 ulp (x * (1 + 2^-23 * n), n ~ N(0, 1), seeds 1..K), which stands in
for another machine's rounding. For every run it records the loss at the start and after the first
step, the final loss, the iteration count and the SSIM of the clamped reconstruction against the
original (skimage, Gaussian window sigma 1.5, population covariance: medpfl's SSIM). The result goes to
spread.json beside the fixture; Tests/AttacksTests/TorchTrajectoryTests read it.

Usage: python3 torch_spread.py FIXTURE_DIR IMAGE [--perturbations 10] [--first-seed 1] [--steps 300] [--out FILE]
Needs torch, safetensors, numpy, pillow, scikit-image (not needed by medpfl itself).
"""
import argparse
import json
import os

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file
from skimage.metrics import structural_similarity

from torch_crosscheck import LeNet, lbfgs_attack


def ssim(a, b):
    return float(structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                       data_range=1.0, channel_axis=-1))


def run(net, target, start, label, idlg, steps):
    dummy = start['x'].clone().requires_grad_(True)
    logits = None if idlg else start['logits'].clone().requires_grad_(True)
    closure, steps_log, evals = lbfgs_attack(net, target, dummy, logits, label, steps)
    final = float(closure().item())
    rec = dummy.detach()[0].clamp(0, 1).numpy().transpose(1, 2, 0)
    out = dict(start_loss=evals[0], step1_loss=steps_log[1]['loss'] if len(steps_log) > 1 else None, final_loss=final,
               iterations=steps_log[-1]['n_iter'], reconstruction=rec)
    if not idlg:
        out['recovered_label'] = int(torch.argmax(logits.detach(), dim=-1).item())
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('fixture')
    ap.add_argument('image')
    ap.add_argument('--perturbations', type=int, default=10)
    ap.add_argument('--first-seed', type=int, default=1, help='perturbation seeds first-seed .. first-seed + K - 1')
    ap.add_argument('--steps', type=int, default=300)
    ap.add_argument('--out', default=None, help='where to write (default FIXTURE_DIR/spread.json)')
    a = ap.parse_args()
    t = json.load(open(os.path.join(a.fixture, 'trajectory.json')))
    weights = load_file(os.path.join(a.fixture, 'weights.safetensors'))
    update = load_file(os.path.join(a.fixture, 'update.safetensors'))
    start = load_file(os.path.join(a.fixture, 'start.safetensors'))
    classes = weights['fc.0.bias'].shape[0]
    net = LeNet(classes, convs=3)
    net.load_state_dict(weights)
    names = [n for n, _ in net.named_parameters()]
    target = [update[n] for n in names]
    idlg = t['attack'] == 'idlg'
    label = t['inferred_label'] if idlg else None
    gt = np.asarray(Image.open(a.image).convert('RGB'), dtype=np.uint8).astype(np.float32) / 255.0

    runs = []
    cases = [('threads=1', 1, None), ('threads=2', 2, None)] + \
            [('ulp seed %d' % k, 1, k) for k in range(a.first_seed, a.first_seed + a.perturbations)]
    for name, threads, seed in cases:
        torch.set_num_threads(threads)
        s = {k: v.clone() for k, v in start.items()}
        if seed is not None:
            g = torch.Generator().manual_seed(seed)
            for k in s:
                s[k] = s[k] * (1 + 2.0 ** -23 * torch.randn(s[k].shape, generator=g))
        r = run(net, target, s, label, idlg, a.steps)
        r['ssim'] = ssim(gt, r.pop('reconstruction'))
        r['case'] = name
        runs.append(r)
        print('%-12s start %.6g  step1 %.6g  final %.3g  iterations %d  SSIM %.4f' %
              (name, r['start_loss'], r['step1_loss'], r['final_loss'], r['iterations'], r['ssim']), flush=True)
    out = dict(image=t['image'], attack=t['attack'], steps=a.steps, torch=torch.__version__,
               perturbation='x * (1 + 2^-23 * N(0,1)) per entry of the start', runs=runs)
    json.dump(out, open(a.out or os.path.join(a.fixture, 'spread.json'), 'w'), indent=1)


if __name__ == '__main__':
    main()
