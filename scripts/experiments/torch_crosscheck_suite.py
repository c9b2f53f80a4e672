"""Is medpfl's attack as strong as PyTorch's? Two experiments, written to OUT/*.json and printed as tables.

1. same-start: PyTorch's own weights, intercepted update (noise included) and dummy start for every anchor case
   (DLG and iDLG on the 12 anchor images, seed 1234; CPL on lenet4 under Laplace noise, 6 images x levels
   0..400), attacked by medpfl (`--weights --update --start`, one start) and compared per case with PyTorch's
   result on the same inputs (../shared/anchors/*.json when present, else PyTorch is run here).
2. seeds: the single-start success rate over many random draws (network weights, start, noise), once with the
   draws of PyTorch's generator and once with medpfl's own (`--seed`), both attacked by medpfl: shows whether
   medpfl's seeded draws make the attack systematically easier or harder than PyTorch's.

Needs torch, safetensors, numpy, pillow, scikit-image (developer tools; medpfl itself needs none of them).
Usage: python3 scripts/experiments/torch_crosscheck_suite.py [--out experiments/torch-crosscheck] [--seeds 10]
       (run from the repository root after `swift build -c release`; ~15 min on 2 cores)
"""
import argparse
import concurrent.futures as cf
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_crosscheck as tc  # noqa: E402

DATA = 'data/medical-sample/32'
CLASSES = ['ct', 'fundus', 'histology', 'mri', 'ultrasound', 'xray']
ANCHOR12 = ['ct/ct693_r00c01', 'fundus/retina_r00c03', 'histology/ihc_r00c00', 'mri/emri_f0', 'ultrasound/echo4c_f000',
            'xray/rg1chest_r00c00', 'ct/ct693_r00c02', 'fundus/retina_r00c04', 'histology/ihc_r00c01', 'mri/emri_f1',
            'ultrasound/echo4c_f003', 'xray/rg1chest_r00c01']
LEVELS = [0, 100, 200, 300, 400]
BIN = '.build/release/medpfl'


def label_of(img):
    return CLASSES.index(img.split('/')[0])


def medpfl(args):
    r = subprocess.run([BIN, 'attack', '--json', '--quiet', '--restarts', '1', '--jobs', '1'] + args,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError('medpfl %s: %s' % (' '.join(args), r.stderr.strip()))
    return json.loads(r.stdout)['samples'][0]


def model_of(attack):
    return 'lenet4' if attack == 'cpl' else 'lenet'


def ours_from(case_dir, attack, img):
    return medpfl(['--attack', attack, '--model', model_of(attack), '--weights', case_dir + '/weights.safetensors',
                   '--update', case_dir + '/update.safetensors', '--start', case_dir + '/start.safetensors',
                   '--image', '%s/%s.png' % (DATA, img), '--label', str(label_of(img))])


def ours_seeded(attack, img, seed, level):
    extra = ['--defense', 'laplace:level=%d' % level] if attack == 'cpl' and level > 0 else []
    return medpfl(['--attack', attack, '--model', model_of(attack), '--seed', str(seed),
                   '--image', '%s/%s.png' % (DATA, img), '--label', str(label_of(img))] + extra)


def torch_reference(anchors, attack, img, level, case_dir):
    """PyTorch's result on the case: from the anchor files when they hold it, else computed here."""
    name = {'dlg': 'dlg.json', 'idlg': 'idlg.json', 'cpl': 'defence.json'}[attack]
    path = os.path.join(anchors, name)
    if os.path.exists(path):
        for r in json.load(open(path))['results']:
            if r['image'] == img + '.png' and (attack != 'cpl' or r['level'] == level):
                return dict(ssim=r['ssim_gaussian'], final_loss=r['final_loss'], source='anchors/' + name)
    from skimage.metrics import structural_similarity
    t = tc.make_case('%s/%s.png' % (DATA, img), label_of(img), case_dir, attack, level, steps=300)
    gt = tc.np.asarray(tc.Image.open('%s/%s.png' % (DATA, img)).convert('RGB'), dtype=np.float64) / 255
    rec = np.clip(t['reconstruction'].astype(np.float64), 0, 1).transpose(1, 2, 0)
    s = structural_similarity(gt, rec, channel_axis=-1, data_range=1.0, gaussian_weights=True, sigma=1.5,
                              use_sample_covariance=False)
    return dict(ssim=float(s), final_loss=t['final_loss'], source='run here')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default='experiments/torch-crosscheck')
    ap.add_argument('--anchors', default='../shared/anchors')
    ap.add_argument('--seeds', type=int, default=10)
    ap.add_argument('--jobs', type=int, default=2)
    ap.add_argument('--skip-same-start', action='store_true')
    ap.add_argument('--skip-seeds', action='store_true')
    a = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(a.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix='medpfl-crosscheck-')
    pool = cf.ThreadPoolExecutor(a.jobs)

    if not a.skip_same_start:
        cases = [(att, img, 0) for att in ('dlg', 'idlg') for img in ANCHOR12]
        cases += [('cpl', img, lv) for img in ANCHOR12[:6] for lv in LEVELS]
        rows = []
        for att, img, lv in cases:
            d = os.path.join(work, 'same', '%s-%d-%s' % (att, lv, img.replace('/', '_')))
            ref = torch_reference(a.anchors, att, img, lv, d)
            if not os.path.exists(d + '/start.safetensors'):
                tc.make_case('%s/%s.png' % (DATA, img), label_of(img), d, att, lv, steps=0)
            rows.append(dict(attack=att, image=img, level=lv, torch=ref, dir=d))
        futs = [pool.submit(ours_from, r['dir'], r['attack'], r['image']) for r in rows]
        for r, f in zip(rows, futs):
            o = f.result()
            r['medpfl'] = dict(ssim=o['ssim'], final_loss=o['finalLoss'], iterations=o['iterations'], label=o['recoveredLabel'])
            del r['dir']
        json.dump(rows, open(os.path.join(a.out, 'same-start.json'), 'w'), indent=1)
        print('\n## Same inputs as PyTorch (weights, update, start), one start each\n')
        print('| attack | level | cases | PyTorch ASR | medpfl ASR | PyTorch mean SSIM | medpfl mean SSIM | cases with |SSIM diff| < 0.01 |')
        print('|---|---|---|---|---|---|---|---|')
        for att, lv in [('dlg', 0), ('idlg', 0)] + [('cpl', lv) for lv in LEVELS]:
            sel = [r for r in rows if r['attack'] == att and r['level'] == lv]
            ts = [r['torch']['ssim'] for r in sel]
            ms = [r['medpfl']['ssim'] for r in sel]
            print('| %s | %s | %d | %d/%d | %d/%d | %.3f | %.3f | %d/%d |' % (
                att, lv if att == 'cpl' else '-', len(sel), sum(s >= 0.9 for s in ts), len(sel),
                sum(s >= 0.9 for s in ms), len(sel), np.mean(ts), np.mean(ms),
                sum(abs(x - y) < 0.01 for x, y in zip(ts, ms)), len(sel)))

    if not a.skip_seeds:
        jobs = []
        for seed in range(1, a.seeds + 1):
            for att, imgs, levels in [('dlg', ANCHOR12, [0]), ('idlg', ANCHOR12, [0]), ('cpl', ANCHOR12[:6], [400])]:
                for img in imgs:
                    for lv in levels:
                        d = os.path.join(work, 'seeds', '%s-%d-%d-%s' % (att, lv, seed, img.replace('/', '_')))
                        tc.make_case('%s/%s.png' % (DATA, img), label_of(img), d, att, lv, steps=0, seed=seed)
                        jobs.append((att, img, lv, seed, 'torch draw', pool.submit(ours_from, d, att, img)))
                        jobs.append((att, img, lv, seed, 'medpfl draw', pool.submit(ours_seeded, att, img, seed, lv)))
        rows = []
        for att, img, lv, seed, draw, f in jobs:
            o = f.result()
            rows.append(dict(attack=att, image=img, level=lv, seed=seed, draw=draw, ssim=o['ssim'], final_loss=o['finalLoss'],
                             iterations=o['iterations']))
        json.dump(rows, open(os.path.join(a.out, 'seeds.json'), 'w'), indent=1)
        print('\n## Single-start attacks over %d seeds: PyTorch\'s random draws vs medpfl\'s (both attacked by medpfl)\n' % a.seeds)
        print('| attack | level | draws | runs | ASR | mean SSIM | stalled (< 1500 iterations) |')
        print('|---|---|---|---|---|---|---|')
        for att, lv in [('dlg', 0), ('idlg', 0), ('cpl', 400)]:
            for draw in ('torch draw', 'medpfl draw'):
                sel = [r for r in rows if r['attack'] == att and r['level'] == lv and r['draw'] == draw]
                print('| %s | %s | %s | %d | %.2f | %.3f | %d |' % (
                    att, lv if att == 'cpl' else '-', draw, len(sel), np.mean([r['ssim'] >= 0.9 for r in sel]),
                    np.mean([r['ssim'] for r in sel]), sum(r['iterations'] < 1500 for r in sel)))


if __name__ == '__main__':
    main()
