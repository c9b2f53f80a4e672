"""Cross-check medpfl's DLG/iDLG/CPL L-BFGS against torch.optim.LBFGS on identical inputs (developer tool).

Builds the anchor LeNet (../shared/anchors/dlg.py: every weight and bias U(-0.5, 0.5) after
torch.manual_seed(seed)), the intercepted gradient of one real image, and the dummy start (randn image,
randn label logits, drawn in the anchor's order); writes them as safetensors so medpfl can start from
exactly the same point (`medpfl attack --weights W --update U --start S`), runs torch's attack and records
every closure value. Needs torch, safetensors, numpy, pillow (not needed by medpfl itself).

With --cpl LEVEL it follows ../shared/anchors/defence.py instead (the MedPFL Table III setting): the 4-conv
LeNet, Laplace(0, 1/LEVEL) noise on every gradient tensor (LEVEL 0: none), the iDLG label from the noisy
update, the 'patterned' start (rand(3,16,16) tiled 2x2), image-only L-BFGS; the noisy update is written.

Usage: python3 torch_crosscheck.py IMAGE LABEL OUTDIR [--idlg | --cpl LEVEL] [--steps 300] [--seed 1234] [--classes 6]
(--steps 0: write the inputs only). Tests/AttacksTests/Fixtures/torch-* were made with this script.
"""
import argparse
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save_file


class LeNet(nn.Module):
    def __init__(self, num_classes, convs=3):
        super().__init__()
        layers = []
        for i in range(convs):
            layers += [nn.Conv2d(3 if i == 0 else 12, 12, kernel_size=5, padding=2, stride=2 if i < 2 else 1), nn.Sigmoid()]
        self.body = nn.Sequential(*layers)
        self.fc = nn.Sequential(nn.Linear(768, num_classes))

    def forward(self, x):
        return self.fc(self.body(x).flatten(1))


def weights_init(m):
    if hasattr(m, 'weight'):
        m.weight.data.uniform_(-0.5, 0.5)
    if hasattr(m, 'bias'):
        m.bias.data.uniform_(-0.5, 0.5)


def soft_ce(pred, target):
    return torch.mean(torch.sum(-target * F.log_softmax(pred, dim=-1), 1))


def lbfgs_attack(net, target, dummy, logits, inferred, steps):
    """The anchors' DLG / iDLG loop: torch.optim.LBFGS (defaults) on the dummy images (and, for DLG, the dummy
    label logits: give `logits` and no `inferred` label) matching `target` in squared L2, `steps` steps.
    Returns the closure (for a final evaluation), one dict per step (loss, evals, n_iter) and every closure value."""
    opt = torch.optim.LBFGS([dummy] if logits is None else [dummy, logits])
    evals = []

    def closure():
        opt.zero_grad()
        pred = net(dummy)
        loss = F.cross_entropy(pred, torch.tensor([inferred])) if logits is None else soft_ce(pred, F.softmax(logits, dim=-1))
        g = torch.autograd.grad(loss, net.parameters(), create_graph=True)
        diff = sum(((gx - gy) ** 2).sum() for gx, gy in zip(g, target))
        diff.backward()
        evals.append(float(diff.item()))
        return diff

    steps_log = []
    for _ in range(steps):
        l = opt.step(closure)
        st = opt.state[opt.param_groups[0]['params'][0]]
        steps_log.append(dict(loss=float(l.detach()), evals=len(evals), n_iter=int(st['n_iter'])))
    return closure, steps_log, evals


def make_case(image, label, outdir, attack='dlg', level=0, steps=300, seed=1234, classes=6):
    """Writes weights/update/start (and, with steps > 0, torch's run as trajectory.json) to outdir.

    attack: 'dlg', 'idlg' (anchors/dlg.py) or 'cpl' (anchors/defence.py, Laplace level `level`).
    Returns the trajectory dict."""
    os.makedirs(outdir, exist_ok=True)
    cpl = attack == 'cpl'
    idlg = attack != 'dlg'
    net = LeNet(classes, convs=4 if cpl else 3)
    torch.manual_seed(seed)
    net.apply(weights_init)
    img = np.asarray(Image.open(image).convert('RGB'), dtype=np.uint8).astype(np.float32) / 255.0
    gt = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).view(1, 3, 32, 32)
    onehot = torch.zeros(1, classes)
    onehot[0, label] = 1.0
    target = [g.detach().clone() for g in torch.autograd.grad(soft_ce(net(gt), onehot), net.parameters())]
    if cpl:
        if level > 0:
            lap = torch.distributions.Laplace(0.0, 1.0 / level)
            target = [t + lap.sample(t.shape) for t in target]
        dummy = torch.rand(1, 3, 16, 16).repeat(1, 1, 2, 2).clone().requires_grad_(True)
    else:
        dummy = torch.randn(gt.size()).requires_grad_(True)
    logits = torch.randn(onehot.size()).requires_grad_(True)

    names = [n for n, _ in net.named_parameters()]
    save_file({n: p.detach().contiguous() for n, p in net.named_parameters()}, os.path.join(outdir, 'weights.safetensors'))
    save_file({n: g.contiguous() for n, g in zip(names, target)}, os.path.join(outdir, 'update.safetensors'),
              metadata={'batch': '1', 'kind': 'fedsgd-gradient', 'clients': '1'})
    start = {'x': dummy.detach().clone()}
    if not idlg:
        start['logits'] = logits.detach().clone()
    save_file(start, os.path.join(outdir, 'start.safetensors'))

    inferred = int(torch.argmin(torch.sum(target[-2], dim=-1), dim=-1).item()) if idlg else None
    closure, steps_log, evals = lbfgs_attack(net, target, dummy, None if idlg else logits, inferred, steps)
    traj = dict(image=os.path.basename(image), label=label, inferred_label=inferred, attack=attack, level=level if cpl else None,
                seed=seed, torch=torch.__version__)
    if steps > 0:
        final = float(closure().item())
        traj.update(step_loss=[s['loss'] for s in steps_log], step_evals=[s['evals'] for s in steps_log],
                    step_iterations=[s['n_iter'] for s in steps_log], final_loss=final,
                    recovered_label=None if idlg else int(torch.argmax(logits.detach(), dim=-1).item()),
                    reconstruction=dummy.detach()[0].numpy())
        out = {k: v for k, v in traj.items() if k != 'reconstruction'}
        json.dump(out, open(os.path.join(outdir, 'trajectory.json'), 'w'))
    return traj


def make_gradinv_case(image, label, outdir, iters=1000, seed=1234, classes=6, anchors='../shared/anchors', run=True):
    """Inverting Gradients as ../shared/anchors/invgrad.py runs it (its model and attack are imported from
    there): ResNet-18 (CIFAR stem, BN eval), cosine + TV 1e-4, signed Adam, `iters` iterations. Writes its
    weights (keys renamed to torchvision's layerN.*), the update and the randn start; with run=True also
    torch's loss per iteration and final image metrics to trajectory.json."""
    import sys
    sys.path.insert(0, os.path.abspath(anchors))
    import invgrad
    os.makedirs(outdir, exist_ok=True)
    img = np.asarray(Image.open(image).convert('RGB'), dtype=np.uint8).astype(np.float32) / 255.0
    gt = np.ascontiguousarray(img.transpose(2, 0, 1))
    atk = invgrad.Attack(gt, label, classes, seed, iters=iters, tv=1e-4, lr=0.1)

    def key(k):
        if k.startswith('layers.'):
            _, i, rest = k.split('.', 2)
            return 'layer%d.%s' % (int(i) + 1, rest)
        return k
    state = {key(k): v.detach().contiguous() for k, v in atk.model.state_dict().items()}
    save_file(state, os.path.join(outdir, 'weights.safetensors'))
    names = [key(n) for n, _ in atk.model.named_parameters()]
    save_file({n: g.contiguous() for n, g in zip(names, atk.input_gradient)}, os.path.join(outdir, 'update.safetensors'),
              metadata={'batch': '1', 'kind': 'fedsgd-gradient', 'clients': '1'})
    save_file({'x': atk.x_init.contiguous()}, os.path.join(outdir, 'start.safetensors'))
    traj = dict(image=os.path.basename(image), label=label, attack='gradinv', iterations=iters, seed=seed)
    if run:
        traj['loss'] = [atk.step() for _ in range(iters)]
        traj.update(invgrad.common.image_metrics(gt, atk.image01()))
        json.dump(traj, open(os.path.join(outdir, 'trajectory.json'), 'w'))
    return traj


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('image')
    ap.add_argument('label', type=int)
    ap.add_argument('outdir')
    ap.add_argument('--idlg', action='store_true')
    ap.add_argument('--cpl', type=int, default=None, metavar='LEVEL', help='CPL on lenet4 under Laplace(1/LEVEL) noise')
    ap.add_argument('--gradinv', default=None, metavar='ANCHORS', help='Inverting Gradients as ANCHORS/invgrad.py (steps = iterations)')
    ap.add_argument('--steps', type=int, default=300)
    ap.add_argument('--seed', type=int, default=1234)
    ap.add_argument('--classes', type=int, default=6)
    ap.add_argument('--threads', type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.gradinv:
        t = make_gradinv_case(a.image, a.label, a.outdir, a.steps, a.seed, a.classes, a.gradinv, run=a.steps > 0)
        if a.steps > 0:
            print('final loss %.4g, SSIM %.4f' % (t['loss'][-1], t['ssim_gaussian']))
        return
    attack = 'cpl' if a.cpl is not None else ('idlg' if a.idlg else 'dlg')
    t = make_case(a.image, a.label, a.outdir, attack, a.cpl or 0, a.steps, a.seed, a.classes)
    if a.steps > 0:
        print('final loss %.4g after %d iterations' % (t['final_loss'], t['step_iterations'][-1]))


if __name__ == '__main__':
    main()
