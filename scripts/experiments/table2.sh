#!/usr/bin/env bash
# README "Results" table (after the MedPFL paper's Table II): attack x model on bundled real images.
# Usage: scripts/experiments/table2.sh [COUNT] [OUTDIR]   (release build; ~10-20 min on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT="${1:-6}"; OUT="${2:-experiments/table2}"
umask 077; mkdir -p "$OUT"
B="$(swift build -c release --show-bin-path)/medpfl"
D=data/medical-sample/32
for model in lenet lenet4 cnn7; do
  for attack in dlg idlg cpl; do
    echo "== $attack on $model" >&2
    "$B" attack --attack "$attack" --model "$model" --images-dir "$D" --count "$COUNT" --json --quiet > "$OUT/$attack-$model.json"
  done
done
python3 scripts/experiments/tabulate.py "$OUT"/*.json
