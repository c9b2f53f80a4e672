#!/bin/bash
# Merges the shard logs of a sharded audit into one audit log. Queue it with
#   sbatch --dependency=afterok:<array job id> --kill-on-invalid-dep=yes audits/cluster/slurm-merge.sh audit.sqlite shards
# (slurm-submit.sh does): it starts only once every shard task succeeded, and is cancelled when one failed,
# so a partial audit never looks complete (`afterok` alone would leave it pending forever).
#SBATCH --job-name=medpfl-merge
#SBATCH --cpus-per-task=1
#SBATCH --mem=2G
#SBATCH --time=01:00:00
#SBATCH --output=medpfl-merge-%j.log
set -euo pipefail
umask 077
OUT=${1:?usage: slurm-merge.sh OUT.sqlite [SHARD_DIR]}
SHARDS=${2:-shards}
MEDPFL=${MEDPFL:-medpfl}
"$MEDPFL" merge "$OUT" "$SHARDS"/shard-*.sqlite
"$MEDPFL" history --db "$OUT"
