#!/usr/bin/env bash
# GradInversion, medpfl beside breaching, on identical inputs (issue 16's evidence; developer tool).
# For each case MODEL:SIZE:BATCH:PRIOR (PRIOR = bn or nobn) it makes the case with breaching_gradinversion.py
# (weights, the intercepted update, the start, the true batch; breaching's run of seethroughgradients from that
# start), then runs `medpfl attack --attack gradinversion` on the same weights, update and start with the same
# settings (breaching's defaults are medpfl's), and scores both engines' 8-bit reconstructions with
# `medpfl metrics` against the same 8-bit originals, image k against image k (the labels of a case are distinct,
# so each slot rebuilds the image of its label in both engines). Prints one JSON line per case and engine.
# Needs torch, torchvision, safetensors, pillow, hydra-core, and breaching at $BREACHING (its repository root).
# Usage: BREACHING=/path/to/breaching ITERS=2000 scripts/experiments/gradinversion-side-by-side.sh OUT resnet18:64:1:bn ...
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$1; shift
iters=${ITERS:-2000}
bin=${MEDPFL:-.build/release/medpfl}
mkdir -p "$out"
for spec in "$@"; do
  IFS=: read -r model size batch prior <<<"$spec"
  dir="$out/$model-$size-b$batch-$prior"
  flag=(); param=()
  if [ "$prior" = nobn ]; then flag=(--no-bn-prior); param=(--param bn_prior=0); fi
  PYTHONPATH="${BREACHING:?set BREACHING}" python3 -P scripts/experiments/breaching_gradinversion.py "$dir" --model "$model" \
    --size "$size" --batch "$batch" --iters "$iters" "${flag[@]}" ${WEIGHTS:+--weights "$WEIGHTS"} > "$dir.breaching.log" 2>&1
  labels=$(python3 -c "import json,sys; print(' '.join('--label %d' % l for l in json.load(open('$dir/labels.json'))['labels']))")
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086
  "$bin" attack --attack gradinversion --model "$model" --size "$size" --classes 6 --weights "$dir/weights.pt" \
    --update "$dir/update.safetensors" --start "$dir/start.safetensors" --tensor "$dir/x.safetensors" $labels \
    --batch "$batch" --count "$batch" --iterations "$iters" "${param[@]}" --json --quiet --out "$dir/medpfl" > "$dir/medpfl.json"
  t1=$(date +%s.%N)
  python3 - "$dir" "$bin" "$spec" "$iters" "$t0" "$t1" <<'EOF'
import glob, json, os, subprocess, sys
d, binary, spec, iters, t0, t1 = sys.argv[1:]
def ssim(ref, cand):
    return json.loads(subprocess.check_output([binary, 'metrics', '--reference', ref, '--candidate', cand, '--json']))
br = json.load(open(os.path.join(d, 'breaching.json')))
me = json.load(open(os.path.join(d, 'medpfl.json')))
batch = br['batch']
rows = {'breaching': [ssim(os.path.join(d, 'original-%d.png' % k), os.path.join(d, 'breaching-%d.png' % k)) for k in range(batch)]}
# medpfl writes its reconstructions already matched to their originals (Hungarian on SSIM, as the audit scores).
rows['medpfl'] = [ssim(os.path.join(d, 'medpfl', '%03d-original.png' % k), os.path.join(d, 'medpfl', '%03d-reconstruction.png' % k))
                  for k in range(batch)]
secs = {'breaching': br['seconds'], 'medpfl': float(t1) - float(t0)}
for engine, r in rows.items():
    s = [x['ssim'] for x in r]
    print(json.dumps(dict(case=spec, engine=engine, iterations=int(iters), mean_ssim=round(sum(s) / len(s), 4),
                          best_ssim=round(max(s), 4), ssim=[round(x, 4) for x in s],
                          mean_mse=round(sum(x['mse'] for x in r) / len(r), 5), seconds=round(secs[engine], 1),
                          final_loss=br['final_objective'] if engine == 'breaching' else me['samples'][0]['finalLoss'])), flush=True)
EOF
done
