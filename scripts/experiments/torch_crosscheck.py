"""Cross-check medpfl's DLG/iDLG L-BFGS against torch.optim.LBFGS on identical inputs (developer tool).

Builds the anchor LeNet (../shared/anchors/dlg.py: every weight and bias U(-0.5, 0.5) after
torch.manual_seed(seed)), the intercepted gradient of one real image, and the dummy start (randn image,
randn label logits, drawn in the anchor's order); writes them as safetensors so medpfl can start from
exactly the same point (`medpfl attack --weights W --update U --start S`), runs torch's attack and records
every closure value. Needs torch, safetensors, numpy, pillow (not needed by medpfl itself).

Usage: python3 torch_crosscheck.py IMAGE LABEL OUTDIR [--idlg] [--steps 300] [--seed 1234] [--classes 6]
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
    def __init__(self, num_classes):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 12, kernel_size=5, padding=2, stride=2), nn.Sigmoid(),
            nn.Conv2d(12, 12, kernel_size=5, padding=2, stride=2), nn.Sigmoid(),
            nn.Conv2d(12, 12, kernel_size=5, padding=2, stride=1), nn.Sigmoid())
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('image')
    ap.add_argument('label', type=int)
    ap.add_argument('outdir')
    ap.add_argument('--idlg', action='store_true')
    ap.add_argument('--steps', type=int, default=300)
    ap.add_argument('--seed', type=int, default=1234)
    ap.add_argument('--classes', type=int, default=6)
    ap.add_argument('--threads', type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.outdir, exist_ok=True)

    net = LeNet(a.classes)
    torch.manual_seed(a.seed)
    net.apply(weights_init)
    img = np.asarray(Image.open(a.image).convert('RGB'), dtype=np.uint8).astype(np.float32) / 255.0
    gt = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).view(1, 3, 32, 32)
    onehot = torch.zeros(1, a.classes)
    onehot[0, a.label] = 1.0
    target = [g.detach().clone() for g in torch.autograd.grad(soft_ce(net(gt), onehot), net.parameters())]
    dummy = torch.randn(gt.size()).requires_grad_(True)
    logits = torch.randn(onehot.size()).requires_grad_(True)

    names = [n for n, _ in net.named_parameters()]
    save_file({n: p.detach().contiguous() for n, p in net.named_parameters()}, os.path.join(a.outdir, 'weights.safetensors'))
    save_file({n: g.contiguous() for n, g in zip(names, target)}, os.path.join(a.outdir, 'update.safetensors'),
              metadata={'batch': '1', 'kind': 'fedsgd-gradient', 'clients': '1'})
    start = {'x': dummy.detach().clone()}
    if not a.idlg:
        start['logits'] = logits.detach().clone()
    save_file(start, os.path.join(a.outdir, 'start.safetensors'))

    if a.idlg:
        label = int(torch.argmin(torch.sum(target[-2], dim=-1), dim=-1).item())
        opt = torch.optim.LBFGS([dummy])
    else:
        label = None
        opt = torch.optim.LBFGS([dummy, logits])
    evals = []

    def closure():
        opt.zero_grad()
        pred = net(dummy)
        loss = F.cross_entropy(pred, torch.tensor([label])) if a.idlg else soft_ce(pred, F.softmax(logits, dim=-1))
        g = torch.autograd.grad(loss, net.parameters(), create_graph=True)
        diff = sum(((gx - gy) ** 2).sum() for gx, gy in zip(g, target))
        diff.backward()
        evals.append(float(diff.item()))
        return diff

    steps = []
    for _ in range(a.steps):
        l = opt.step(closure)
        st = opt.state[opt.param_groups[0]['params'][0]]
        steps.append(dict(loss=float(l.detach()), evals=len(evals), n_iter=int(st['n_iter'])))
    final = float(closure().item())
    json.dump(dict(image=os.path.basename(a.image), label=a.label, inferred_label=label, attack='idlg' if a.idlg else 'dlg',
                   seed=a.seed, step_loss=[s['loss'] for s in steps], step_evals=[s['evals'] for s in steps],
                   step_iterations=[s['n_iter'] for s in steps], final_loss=final,
                   recovered_label=None if a.idlg else int(torch.argmax(logits.detach(), dim=-1).item()),
                   torch=torch.__version__),
              open(os.path.join(a.outdir, 'trajectory.json'), 'w'))
    print('final loss %.4g after %d iterations (%d evaluations)' % (final, steps[-1]['n_iter'] if steps else 0, len(evals) - 1))


if __name__ == '__main__':
    main()
