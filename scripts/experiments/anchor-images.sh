#!/usr/bin/env bash
# Same images as the PyTorch DLG/iDLG anchors (/work/shared/anchors/dlg.json, idlg.json): the 12 images
# picked round-robin over the classes, LeNet, 300 L-BFGS steps; once with medpfl's default (up to 4 starts
# when a start stalls) and once with one start (--restarts 1: exactly the original procedure, as PyTorch ran).
# Usage: scripts/experiments/anchor-images.sh [OUTDIR]   (~2 min on 2 cores)
source "$(dirname "$0")/common.sh"
OUT="${1:-experiments/anchor-images}"
IMAGES=("${ANCHOR_IMAGES[@]}"
        --image "$D/ct/ct693_r00c02.png" --label 0 --image "$D/fundus/retina_r00c04.png" --label 1
        --image "$D/histology/ihc_r00c01.png" --label 2 --image "$D/mri/emri_f1.png" --label 3
        --image "$D/ultrasound/echo4c_f003.png" --label 4 --image "$D/xray/rg1chest_r00c01.png" --label 5)
mkdir -p "$OUT"; write_meta "$OUT" start
for attack in dlg idlg; do
  for starts in default 1; do
    echo "== $attack on lenet, 12 anchor images, starts: $starts" >&2
    extra=(); [ "$starts" = default ] || extra=(--restarts "$starts")
    "$B" attack --attack "$attack" --model lenet "${IMAGES[@]}" ${extra[@]+"${extra[@]}"} --json --quiet ${XA[@]+"${XA[@]}"} \
      > "$OUT/$attack-lenet-starts-$starts.json"
  done
done
write_meta "$OUT" end
python3 scripts/experiments/tabulate.py anchors "$OUT"
