"""How far medpfl's own DLG/iDLG runs spread from one fixed problem (developer tool; torch_spread.py's twin).

Runs `medpfl attack --weights --update --start` (one start) on a fixture written by torch_crosscheck.py,
under every OpenBLAS kernel a machine of this kind may pick (OPENBLAS_CORETYPE=Haswell, SkylakeX, Zen,
Cooperlake; the variable is set here only to emulate other machines, never by medpfl, its tests or CI),
and from the same one-ulp perturbations of the start as torch_spread.py (x * (1 + 2^-23 * n), n ~ N(0, 1)
from torch's generator, seeds 1..K). Prints one line per run: SSIM, final loss, iterations.

Usage: python3 medpfl_spread.py FIXTURE_DIR IMAGE LABEL [--perturbations 10] [--bin .build/release/medpfl]
Needs torch and safetensors (developer tools only).
"""
import argparse
import json
import os
import subprocess
import tempfile

import torch
from safetensors.torch import load_file, save_file

KERNELS = ['Haswell', 'SkylakeX', 'Zen', 'Cooperlake']


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('fixture')
    ap.add_argument('image')
    ap.add_argument('label')
    ap.add_argument('--perturbations', type=int, default=10)
    ap.add_argument('--bin', default='.build/release/medpfl')
    a = ap.parse_args()
    t = json.load(open(os.path.join(a.fixture, 'trajectory.json')))
    start = load_file(os.path.join(a.fixture, 'start.safetensors'))
    work = tempfile.mkdtemp(prefix='medpfl-spread-')
    starts = [('fixture start', os.path.join(a.fixture, 'start.safetensors'))]
    for k in range(1, a.perturbations + 1):
        g = torch.Generator().manual_seed(k)
        s = {n: (v * (1 + 2.0 ** -23 * torch.randn(v.shape, generator=g))).contiguous() for n, v in start.items()}
        path = os.path.join(work, 'start-%d.safetensors' % k)
        save_file(s, path)
        starts.append(('ulp seed %d' % k, path))
    runs = [(kern, name, path) for kern in KERNELS for name, path in starts[:1]] + \
           [('default', name, path) for name, path in starts]
    for kern, name, path in runs:
        env = dict(os.environ)
        if kern != 'default':
            env['OPENBLAS_CORETYPE'] = kern
        r = subprocess.run([a.bin, 'attack', '--json', '--quiet', '--restarts', '1', '--jobs', '1', '--attack', t['attack'],
                            '--model', 'lenet', '--weights', os.path.join(a.fixture, 'weights.safetensors'),
                            '--update', os.path.join(a.fixture, 'update.safetensors'), '--start', path,
                            '--image', a.image, '--label', a.label], capture_output=True, text=True, env=env)
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        o = json.loads(r.stdout)['samples'][0]
        print('%-10s %-14s SSIM %.4f  final %.3g  iterations %d' % (kern, name, o['ssim'], o['finalLoss'], o['iterations']),
              flush=True)


if __name__ == '__main__':
    main()
