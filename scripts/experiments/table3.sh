#!/usr/bin/env bash
# MedPFL paper's Table III: CPL on LeNet4 against Laplace noise of level none/100/200/300/400 (Laplace
# scale b = 1/level, as the MedPFL code defines it: a higher level is LESS noise), on the six images of
# /work/shared/anchors/defence.json (one per class). Default CPL settings (300 L-BFGS steps, patterned
# start, up to 4 starts when a start stalls).
# Usage: scripts/experiments/table3.sh [OUTDIR]   (~5-10 min on 2 cores)
source "$(dirname "$0")/common.sh"
OUT="${1:-experiments/table3}"
mkdir -p "$OUT"; write_meta "$OUT" start
for level in none 100 200 300 400; do
  spec=$([ "$level" = none ] && echo none || echo "laplace:level=$level")
  echo "== cpl on lenet4, $spec" >&2
  "$B" attack --attack cpl --model lenet4 "${ANCHOR_IMAGES[@]}" --defense "$spec" --json --quiet ${XA[@]+"${XA[@]}"} > "$OUT/cpl-lenet4-$level.json"
done
write_meta "$OUT" end
python3 scripts/experiments/tabulate.py table3 "$OUT"
