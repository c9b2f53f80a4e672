#!/usr/bin/env bash
# Table after the MedPFL paper's Table II: DLG / iDLG / CPL x LeNet / LeNet4 / CNN7 on the bundled real
# images (COUNT images drawn evenly over the 6 classes; default attack settings: 300 L-BFGS steps, up to 4
# starts when a start stalls). Each image is attacked on one core (--jobs = all cores, side by side).
# Usage: scripts/experiments/table2.sh [COUNT] [OUTDIR]   (release build; ~5-10 min on 2 cores)
source "$(dirname "$0")/common.sh"
COUNT="${1:-6}"; OUT="${2:-experiments/table2}"
mkdir -p "$OUT"; write_meta "$OUT" start
for model in lenet lenet4 cnn7; do
  for attack in dlg idlg cpl; do
    echo "== $attack on $model" >&2
    "$B" attack --attack "$attack" --model "$model" --images "$D" --count "$COUNT" --json --quiet ${XA[@]+"${XA[@]}"} > "$OUT/$attack-$model.json"
  done
done
write_meta "$OUT" end
python3 scripts/experiments/tabulate.py table2 "$OUT"
