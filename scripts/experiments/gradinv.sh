#!/usr/bin/env bash
# Inverting Gradients on the CIFAR ResNet-18, in the setting of /work/shared/anchors/invgrad.json:
# BN in eval mode, 1000 Adam iterations, TV 1e-4, image ct/ct693_r00c01.png (+ the MRI and X-ray images of
# defence.json; two attacks run side by side, one per core). Three steps:
#   1. `medpfl bench` of one ResNet-18 batch-1 double backward (1 thread; PyTorch: 266 ms at 1 thread);
#   2. `medpfl train` of the ResNet-18 on the sample for ROUNDS rounds (FedAvg, 4 clients, LOCAL steps),
#      saving trained.safetensors and reporting its test accuracy;
#   3. the attack on the untrained (seeded init) and on the trained weights.
# Usage: scripts/experiments/gradinv.sh [ROUNDS] [LOCAL] [OUTDIR]
source "$(dirname "$0")/common.sh"
ROUNDS="${1:-15}"; LOCAL="${2:-3}"; OUT="${3:-experiments/gradinv}"
mkdir -p "$OUT"; write_meta "$OUT" start
IMAGES=(--image "$D/ct/ct693_r00c01.png" --label 0 --image "$D/mri/emri_f0.png" --label 3
        --image "$D/xray/rg1chest_r00c00.png" --label 5)
SETTING=(--attack gradinv --model resnet18-cifar --bn eval --iterations 1000 --tv 1e-4 --json --quiet)
echo "== bench resnet18-cifar:1" >&2
"$B" bench --only resnet18-cifar:1 --reps "${BENCH_REPS:-50}" > "$OUT/bench.json"
echo "== train resnet18-cifar ($ROUNDS rounds x $LOCAL local steps)" >&2
"$B" train --model resnet18-cifar --images "$D" --rounds "$ROUNDS" --local-steps "$LOCAL" \
  --save "$OUT/trained.safetensors" --json --quiet ${XT[@]+"${XT[@]}"} > "$OUT/train.json"
echo "== gradinv, untrained" >&2
"$B" attack "${SETTING[@]}" "${IMAGES[@]}" ${XA[@]+"${XA[@]}"} > "$OUT/attack-untrained.json"
echo "== gradinv, trained" >&2
"$B" attack "${SETTING[@]}" "${IMAGES[@]}" --weights "$OUT/trained.safetensors" ${XA[@]+"${XA[@]}"} > "$OUT/attack-trained.json"
write_meta "$OUT" end
python3 scripts/experiments/tabulate.py gradinv "$OUT"
