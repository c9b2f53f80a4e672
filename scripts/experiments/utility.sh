#!/usr/bin/env bash
# Privacy-utility table: for each defence, iDLG and CPL on LeNet (the six anchor images; with secure
# aggregation over 3 clients, two updates of 3 images each), and FedAvg training of LeNet on the sample
# with the same defence (defaults: 40 rounds, 4 clients, 5 local steps; seeds 1 2 3, each against the
# same training without defence).
# Usage: scripts/experiments/utility.sh [OUTDIR]   (~10 min on 2 cores)
source "$(dirname "$0")/common.sh"
OUT="${1:-experiments/utility}"
SPECS=(none laplace:level=400 laplace:level=100 gaussian:relative=0.5 dp:clip=1,sigma=1 prune:p=90
       quantize:bits=4 quantize:sign secagg:clients=3)
mkdir -p "$OUT"; write_meta "$OUT" start
for spec in "${SPECS[@]}"; do
  tag=$(echo "$spec" | tr ':=,' '___')
  for attack in idlg cpl; do
    echo "== $attack on lenet, $spec" >&2
    "$B" attack --attack "$attack" --model lenet "${ANCHOR_IMAGES[@]}" --defense "$spec" --json --quiet ${XA[@]+"${XA[@]}"} > "$OUT/attack-$attack-$tag.json"
  done
  for seed in 1 2 3; do
    echo "== train lenet, $spec, seed $seed" >&2
    "$B" train --model lenet --images "$D" --defense "$spec" --seed "$seed" --json --quiet ${XT[@]+"${XT[@]}"} > "$OUT/train-$tag-seed$seed.json"
  done
done
write_meta "$OUT" end
python3 scripts/experiments/tabulate.py utility "$OUT"
