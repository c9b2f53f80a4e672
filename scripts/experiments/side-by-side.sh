#!/usr/bin/env bash
# medpfl and PyTorch CPU measured in one run on this machine (the speed ratios of the README), using the
# PyTorch anchor scripts of ../shared/anchors unchanged: one double-backward evaluation (lenet batch 1/4/8,
# resnet18-cifar = one Inverting-Gradients iteration), and DLG/iDLG on the anchors' 12 images (300 L-BFGS
# steps, torch's defaults). Needs torch, torchvision, scikit-image, pillow (developer tools, not medpfl's).
# Usage: scripts/experiments/side-by-side.sh [OUTDIR]   (~12 min on 2 cores; keep the machine otherwise idle)
#
# PART=224 (or PART=all) runs the site-scale comparison instead (or as well): one Inverting Gradients
# iteration of resnet18, resnet50, densenet121, efficientnet_b0 and mobilenet_v2 at 224 px, batch 1 and 8
# (MODELS / BATCHES override), at 1 and 2 threads, in PyTorch CPU (torchvision's classes,
# scripts/experiments/torch_gradinv224.py) right before `medpfl bench --gradinv --threads 1,2` on the same
# model and batch, then prints the ratios (scripts/experiments/tabulate224.py). ~40 min for all of it.
source "$(dirname "$0")/common.sh"
OUT="${1:-experiments/side-by-side}"
PART="${PART:-small}"
if [ "$PART" = 224 ] || [ "$PART" = all ]; then
  python3 -c "import torch, torchvision" 2>/dev/null || { echo "needs torch and torchvision" >&2; exit 2; }
  # -P: the script's folder holds tabulate.py, which would shadow the tabulate package torch imports at exit.
  mkdir -p "$OUT/224"
  write_meta "$OUT/224" start
  for m in ${MODELS:-resnet18 resnet50 densenet121 efficientnet_b0 mobilenet_v2}; do
    for b in ${BATCHES:-1 8}; do
      reps=$([ "$b" -gt 1 ] && echo 3 || echo 5)
      echo "== $m batch $b at 224 px: PyTorch (1, 2 threads), then medpfl (1, 2 threads)" >&2
      python3 -P scripts/experiments/torch_gradinv224.py "$m:224:$b:1:$reps" "$m:224:$b:2:$reps" > "$OUT/224/pytorch-$m-$b.jsonl"
      "$B" bench --gradinv --only "$m:$b:224" --threads 1,2 --reps "$reps" > "$OUT/224/medpfl-$m-$b.json"
    done
  done
  write_meta "$OUT/224" end
  python3 scripts/experiments/tabulate224.py "$OUT/224"
  [ "$PART" = 224 ] && exit 0
fi
ANCHORS="${ANCHORS:-../shared/anchors}"
python3 -c "import torch, torchvision, skimage, PIL" 2>/dev/null || { echo "needs torch, torchvision, scikit-image, pillow" >&2; exit 2; }
[ -f "$ANCHORS/dlg.py" ] || { echo "no PyTorch anchor scripts at $ANCHORS" >&2; exit 2; }
ROOT="$(pwd)"; PT="$ROOT/$OUT/pytorch"; mkdir -p "$PT"
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
cp "$ANCHORS"/*.py "$WORK/"
write_meta "$OUT" start
echo "== one double-backward evaluation: PyTorch (1 and 2 threads), then medpfl (1 thread)" >&2
(cd "$WORK" && python3 microbench.py --classes 6 --reps 50 --warmup 10 --out "$PT/microbench.json") >&2
(cd "$WORK" && python3 invgrad.py --images "$ROOT/$D" --index 0 --seed 1234 --bench-threads 1,2 --warmup 5 --timed 30 \
   --out "$PT/invgrad.json" --outdir "$WORK/invgrad_img") >&2
"$B" bench --json > "$OUT/medpfl-bench.json"
echo "== DLG and iDLG on the 12 anchor images: PyTorch (2 threads, one image at a time), then medpfl" >&2
(cd "$WORK" && python3 dlg.py --images "$ROOT/$D" --count 12 --save-images 0 --steps 300 --seed 1234 --threads 2 --out "$PT/dlg.json") >&2
(cd "$WORK" && python3 dlg.py --idlg --images "$ROOT/$D" --count 12 --save-images 0 --steps 300 --seed 1234 --threads 2 --out "$PT/idlg.json") >&2
bash scripts/experiments/anchor-images.sh "$OUT/medpfl-anchor-images" > /dev/null
write_meta "$OUT" end
python3 scripts/experiments/tabulate.py bench "$OUT" "$PT"
python3 scripts/experiments/tabulate.py anchors "$OUT/medpfl-anchor-images" "$PT"
